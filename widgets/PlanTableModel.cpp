#include "PlanTableModel.h"

#include "PlanDocument.h"
#include "ThemeColors.h"
#include "model/Model.h"
#include "util/Error.h"
#include "util/Paths.h"

#include <QApplication>
#include <QBrush>
#include <QColor>
#include <QLocale>
#include <algorithm>
#include <cmath>

namespace qs {

namespace {
QString groupText(const QuantSpec& s)
{
    if (s.method == QuantMethod::Float)
        return {};
    if (s.method == QuantMethod::Ggml) // the type's block (fixed by the type)
        return QString::number(ggmlTypeInfo(s.ggmlType).blockSize);
    if (s.granularity == Granularity::PerGroup)
        return QString::number(s.groupSize);
    return granularityName(s.granularity);
}
} // namespace

PlanTableModel::PlanTableModel(PlanDocument* doc, QObject* parent) : QAbstractTableModel(parent), m_doc(doc)
{
    connect(doc, &PlanDocument::planChanged, this, &PlanTableModel::reload);
    reload();
}

void PlanTableModel::reload()
{
    const int rows = m_doc->model() ? int(m_doc->model()->linears().size()) : 0;
    if (rows != m_rows) {
        beginResetModel();
        m_rows = rows;
        m_measured.clear();
        m_measuredSpecs.clear();
        m_measuredRun.clear();
        endResetModel();
    } else if (rows > 0) {
        Q_EMIT dataChanged(index(0, 0), index(rows - 1, ColumnCount - 1));
    }
}

void PlanTableModel::setHighlight(const QString& pattern)
{
    m_highlight = QRegularExpression(pattern);
    if (pattern.isEmpty() || !m_highlight.isValid())
        m_highlight = QRegularExpression();
    if (m_rows > 0)
        Q_EMIT dataChanged(index(0, 0), index(m_rows - 1, ColumnCount - 1),
                           {Qt::BackgroundRole, HighlightRole});
}

int PlanTableModel::highlightedCount() const
{
    int n = 0;
    for (int r = 0; r < m_rows; ++r)
        n += data(index(r, Name), HighlightRole).toBool() ? 1 : 0;
    return n;
}

void PlanTableModel::setMeasurements(const std::vector<LayerReport>& layers, const QString& run,
                                     const std::vector<QuantSpec>& specs)
{
    m_measured = layers;
    m_measuredRun = layers.empty() ? QString() : run;
    m_measuredSpecs = specs;
    if (m_rows > 0)
        Q_EMIT dataChanged(index(0, WeightError), index(m_rows - 1, OutputError));
    Q_EMIT headerDataChanged(Qt::Horizontal, WeightError, OutputError);
}

int PlanTableModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : m_rows;
}

int PlanTableModel::columnCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QStringList PlanTableModel::choices(int row, int column) const
{
    const QuantSpec& s = m_doc->plan().entries[std::size_t(row)].spec;
    QStringList out;
    switch (column) {
    case Method:
        out = quantMethodNames(false);
        out << QStringLiteral("f16") << QStringLiteral("bf16") << QStringLiteral("f32"); // kept float
        break;
    case Bits:
        if (s.method == QuantMethod::Ggml)
            out = QuantSpec::ggmlTypeChoices(); // a gguf layer's "bits" are its type
        else
            out = quantBitChoices(s.method);
        break;
    case Group:
        out = quantGroupChoices(s.method);
        break;
    default:
        break;
    }
    return out;
}

QVariant PlanTableModel::data(const QModelIndex& index, int role) const
{
    if (!index.isValid() || !m_doc->model() || index.row() >= m_rows)
        return {};
    const int r = index.row();
    const LinearLayerInfo& l = m_doc->model()->linears()[std::size_t(r)];
    const LayerPlanEntry& e = m_doc->plan().entries[std::size_t(r)];
    const QuantSpec& s = e.spec;
    // A row's error counts only while the plan still holds the scheme it was measured with.
    const bool measured = std::size_t(r) < m_measured.size() && !m_measured[std::size_t(r)].name.isEmpty() &&
                          (std::size_t(r) >= m_measuredSpecs.size() ||
                           m_measuredSpecs[std::size_t(r)] == m_doc->plan().entries[std::size_t(r)].spec);
    const QuantSpec::Cost cost = s.cost(l.outFeatures, l.inFeatures);
    const std::uint64_t bytes = s.method == QuantMethod::Float
                                    ? std::uint64_t(l.params()) * std::uint64_t(dtypeInfo(s.floatType).bytes)
                                    : cost.total();
    const bool highlighted =
        m_highlight.isValid() && !m_highlight.pattern().isEmpty() && m_highlight.match(l.name).hasMatch();
    if (role == HighlightRole)
        return highlighted;
    if (role == Qt::BackgroundRole && highlighted)
        return QBrush(theme::matchTint(QApplication::palette()));
    if (role == Qt::BackgroundRole) // a type llama.cpp fell back to is tinted, its note the tooltip
        return index.column() == Bits && !e.note.isEmpty()
                   ? QVariant(QBrush(theme::fallbackTint(QApplication::palette())))
                   : QVariant();
    if (role == ChoicesRole)
        return choices(r, index.column());
    if (role == Qt::CheckStateRole && index.column() == Symmetric && s.method != QuantMethod::Float &&
        s.method != QuantMethod::Ggml)
        return s.symmetric ? Qt::Checked : Qt::Unchecked;
    if (role == Qt::TextAlignmentRole && index.column() != Name && index.column() != Source &&
        index.column() != Kind && index.column() != Method)
        return int(Qt::AlignRight | Qt::AlignVCenter);
    if (role == Qt::ToolTipRole && index.column() == Method)
        return e.note.isEmpty() ? s.label() : s.label() + u'\n' + e.note;
    if (role == Qt::ToolTipRole && index.column() == Bits && !e.note.isEmpty())
        return e.note;
    const bool sort = role == SortRole;
    if (role != Qt::DisplayRole && role != Qt::EditRole && !sort)
        return {};
    const QLocale loc;
    switch (index.column()) {
    case Name:
        return l.name;
    case Block:
        return l.block >= 0 ? QVariant(l.block) : QVariant(sort ? 1 << 20 : QVariant(tr("head")));
    case Kind:
        return linearKindName(l.kind);
    case Shape:
        return sort ? QVariant(qint64(l.params()))
                    : QVariant(QStringLiteral("%1 × %2").arg(l.outFeatures).arg(l.inFeatures));
    case Params:
        return sort ? QVariant(qint64(l.params())) : QVariant(loc.toString(qint64(l.params())));
    case Method:
        return s.method == QuantMethod::Float ? dtypeName(s.floatType) : quantMethodName(s.method);
    case Bits:
        if (s.method == QuantMethod::Ggml && !sort)
            return ggmlTypeName(s.ggmlType);
        return s.method == QuantMethod::Float ? QVariant(8 * dtypeInfo(s.floatType).bytes) : QVariant(s.bits);
    case Group:
        return groupText(s);
    case Symmetric:
        return {};
    case Bytes:
        return sort ? QVariant(qint64(bytes)) : QVariant(formatBytes(double(bytes)));
    case Bpw:
        return sort ? QVariant(8.0 * double(bytes) / double(l.params()))
                    : QVariant(QLocale().toString(8.0 * double(bytes) / double(l.params()), 'f', 3));
    case Source:
        return m_doc->recipe().sourceName(e.matchedRule);
    case WeightError:
        if (!measured)
            return sort ? QVariant(-1.0) : QVariant();
        return sort ? QVariant(m_measured[std::size_t(r)].weightRelMse)
                    : QVariant(QLocale().toString(m_measured[std::size_t(r)].weightRelMse, 'e', 2));
    case OutputError: {
        const double v = measured ? m_measured[std::size_t(r)].outputRelMse : std::nan("");
        if (!std::isfinite(v))
            return sort ? QVariant(-1.0) : QVariant();
        return sort ? QVariant(v) : QVariant(QLocale().toString(v, 'e', 2));
    }
    default:
        return {};
    }
}

QVariant PlanTableModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    const bool error = section == WeightError || section == OutputError;
    if (orientation == Qt::Horizontal && role == Qt::ToolTipRole && error)
        return m_measuredRun.isEmpty()
                   ? tr("Measured by a run (Plan › Run Plan); empty until one finishes")
                   : tr("Measured by the run “%1”; a layer whose scheme changed since shows none")
                         .arg(m_measuredRun);
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    if (error && !m_measuredRun.isEmpty())
        return (section == WeightError ? tr("Weight rel. MSE (%1)") : tr("Output rel. MSE (%1)"))
            .arg(m_measuredRun);
    switch (section) {
    case Name:
        return tr("Layer");
    case Block:
        return tr("Block");
    case Kind:
        return tr("Kind");
    case Shape:
        return tr("Shape");
    case Params:
        return tr("Parameters");
    case Method:
        return tr("Method");
    case Bits:
        return tr("Bits");
    case Group:
        return tr("Group");
    case Symmetric:
        return tr("Sym");
    case Bytes:
        return tr("Est. size");
    case Bpw:
        return tr("bpw");
    case Source:
        return tr("Set by");
    case WeightError:
        return tr("Weight rel. MSE");
    case OutputError:
        return tr("Output rel. MSE");
    default:
        return {};
    }
}

Qt::ItemFlags PlanTableModel::flags(const QModelIndex& index) const
{
    Qt::ItemFlags f = QAbstractTableModel::flags(index);
    if (!index.isValid())
        return f;
    const QuantMethod method = m_doc->plan().entries[std::size_t(index.row())].spec.method;
    const bool isFloat = method == QuantMethod::Float, isGgml = method == QuantMethod::Ggml;
    switch (index.column()) {
    case Method:
        return f | Qt::ItemIsEditable;
    case Bits:
        return isFloat ? f : f | Qt::ItemIsEditable;
    case Group:
    case Symmetric: // a gguf type fixes its groups and symmetry
        return isFloat || isGgml
                   ? f
                   : f | (index.column() == Group ? Qt::ItemIsEditable : Qt::ItemIsUserCheckable);
    default:
        return f;
    }
}

bool PlanTableModel::setData(const QModelIndex& index, const QVariant& value, int role)
{
    if (!index.isValid() || !m_doc->model())
        return false;
    std::vector<int> rows{index.row()};
    if (std::find(m_editRows.begin(), m_editRows.end(), index.row()) != m_editRows.end())
        rows = m_editRows;
    const QString layerText = rows.size() == 1 ? m_doc->model()->linears()[std::size_t(rows.front())].name
                                               : tr("%n layers", nullptr, int(rows.size()));
    QJsonObject fields;
    QString what;
    switch (index.column()) {
    case Method: {
        const QString m = value.toString();
        bool isDtype = false;
        for (const DTypeInfo& d : kDTypes)
            if (d.isFloat && m == QLatin1String(d.name)) {
                fields.insert(QStringLiteral("method"), QStringLiteral("float"));
                fields.insert(QStringLiteral("dtype"), m);
                isDtype = true;
            }
        if (!isDtype) {
            fields.insert(QStringLiteral("method"), m);
            QuantMethod method;
            if (quantMethodFromName(m, method) && method == QuantMethod::Ggml) {
                const int bits = m_doc->plan().entries[std::size_t(index.row())].spec.bits;
                fields.insert(QStringLiteral("type"), ggmlTypeName(QuantSpec::ggmlTypeForBits(bits)));
            } else if (quantMethodFromName(m, method) && method != QuantMethod::Float) {
                // Keep the bits inside the method's range (W8A8 methods are 8-bit only).
                const int bits = m_doc->plan().entries[std::size_t(index.row())].spec.bits;
                const QuantMethodInfo& info = quantMethodInfo(method);
                if (bits < info.minBits || bits > info.maxBits)
                    fields.insert(QStringLiteral("bits"), std::clamp(bits, info.minBits, info.maxBits));
                if (info.quantizesActivations)
                    fields.insert(QStringLiteral("symmetric"), true);
            }
        }
        what = tr("method %1").arg(m);
        break;
    }
    case Bits:
        if (const auto type = ggmlTypeFromName(value.toString())) { // a gguf layer: its type
            fields.insert(QStringLiteral("method"), QStringLiteral("gguf"));
            fields.insert(QStringLiteral("type"), ggmlTypeName(*type));
            what = ggmlTypeName(*type);
        } else if (m_doc->plan().entries[std::size_t(index.row())].spec.method == QuantMethod::Ggml) {
            fields.insert(QStringLiteral("type"), ggmlTypeName(QuantSpec::ggmlTypeForBits(value.toInt())));
            what = ggmlTypeName(QuantSpec::ggmlTypeForBits(value.toInt()));
        } else {
            fields.insert(QStringLiteral("bits"), value.toInt());
            what = tr("%1-bit").arg(value.toInt());
        }
        break;
    case Group: {
        const QString g = value.toString();
        if (g == u"channel" || g == u"tensor") {
            fields.insert(QStringLiteral("granularity"), g);
        } else {
            fields.insert(QStringLiteral("granularity"), QStringLiteral("group"));
            fields.insert(QStringLiteral("group_size"), g.toInt());
        }
        what = tr("group %1").arg(g);
        break;
    }
    case Symmetric:
        if (role != Qt::CheckStateRole)
            return false;
        fields.insert(QStringLiteral("symmetric"), value.toInt() == Qt::Checked);
        what = value.toInt() == Qt::Checked ? tr("symmetric") : tr("asymmetric");
        break;
    default:
        return false;
    }
    try {
        m_doc->setField(rows, fields, tr("Set %1 to %2").arg(layerText, what));
        m_lastError.clear();
    } catch (const Error& e) {
        m_lastError = e.message();
        Q_EMIT editFailed(e.message());
        return false;
    }
    return true;
}

} // namespace qs
