#include "SchemePicker.h"

#include "util/Error.h"

#include <QCheckBox>
#include <QComboBox>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>

namespace qs {

namespace {

/// A scheme as the sweep names it (QuantSpec::shortName); the text itself when it does not parse.
QString normalised(const QString& scheme)
{
    try {
        return QuantSpec::fromShortName(scheme).shortName();
    } catch (const Error&) {
        return scheme.trimmed();
    }
}

QStringList items(const QString& text)
{
    QStringList out;
    for (const QString& part : text.split(u',', Qt::SkipEmptyParts)) {
        if (!part.trimmed().isEmpty())
            out << part.trimmed();
    }
    return out;
}

/// A grouped method's scheme with nothing but bits and granularity ("gptq-w4-g128").
QString plainName(QuantMethod method, int bits, const QString& token)
{
    return QStringLiteral("%1-w%2-%3").arg(quantMethodName(method)).arg(bits).arg(token);
}

/// The granularity token of a spec's short name: "ch", "tensor", "g128".
QString tokenOf(const QuantSpec& s)
{
    if (s.granularity == Granularity::PerGroup)
        return QStringLiteral("g%1").arg(s.groupSize);
    return s.granularity == Granularity::PerChannel ? QStringLiteral("ch") : QStringLiteral("tensor");
}

/// "channel", "tensor", "128" (quantGroupChoices) as a short-name token.
QString groupToken(const QString& choice)
{
    if (choice == u"channel")
        return QStringLiteral("ch");
    if (choice == u"tensor")
        return choice;
    return u'g' + choice;
}

} // namespace

SchemePicker::SchemePicker(QWidget* parent) : QWidget(parent)
{
    setObjectName(QStringLiteral("schemePicker"));
    auto* grid = new QGridLayout(this);
    grid->setContentsMargins(0, 0, 0, 0);
    grid->setVerticalSpacing(2);
    int row = 0;

    auto* ggmlRow = new QHBoxLayout;
    for (const QString& name : QuantSpec::ggmlTypeChoices()) {
        const GgmlType type = *ggmlTypeFromName(name);
        auto* box = new QCheckBox(name);
        box->setObjectName(QStringLiteral("scheme_") + name.toLower());
        box->setToolTip(tr("llama.cpp's %1 (%2-value blocks); a plan of these exports as GGUF")
                            .arg(name)
                            .arg(ggmlTypeInfo(type).blockSize));
        ggmlRow->addWidget(box);
        m_ggml.emplace_back(type, box);
        connect(box, &QCheckBox::toggled, this, [this, type](bool on) { toggle(ggmlName(type), on); });
    }
    m_imatrix = new QCheckBox(tr("imatrix"));
    m_imatrix->setObjectName(QStringLiteral("schemeImatrix"));
    m_imatrix->setToolTip(tr("Weight the rounding by the calibration text's activations, as llama-quantize "
                             "--imatrix (needs a calibration text)"));
    connect(m_imatrix, &QCheckBox::toggled, this, [this](bool on) {
        if (m_syncing)
            return;
        // Every gguf scheme of the list switches spelling (gguf-q4_k ↔ gguf-q4_k-imat).
        QStringList list = items(m_text->text());
        for (QString& s : list) {
            try {
                const QuantSpec spec = QuantSpec::fromShortName(s);
                if (spec.method == QuantMethod::Ggml)
                    s = QuantSpec::ggml(spec.ggmlType, on).shortName();
            } catch (const Error&) {
            }
        }
        list.removeDuplicates();
        m_text->setText(list.join(u','));
    });
    ggmlRow->addWidget(m_imatrix);
    ggmlRow->addStretch(1);
    grid->addWidget(new QLabel(QLatin1String(quantMethodInfo(QuantMethod::Ggml).displayName)), row, 0);
    grid->addLayout(ggmlRow, row++, 1, 1, 2);

    for (const QuantMethodInfo& info : kQuantMethods) {
        if (!info.grouped || info.quantizesActivations)
            continue; // the sweep compares weight-only schemes
        const int index = int(m_methods.size());
        MethodRow m;
        m.method = info.method;
        m.group = new QComboBox;
        m.group->setObjectName(QStringLiteral("schemeGroup_") + QLatin1String(info.name));
        m.group->addItems(quantGroupChoices(info.method));
        m.group->setCurrentText(QStringLiteral("128"));
        m.group->setToolTip(tr("Granularity of the checked %1 schemes").arg(QLatin1String(info.displayName)));
        auto* bitsRow = new QHBoxLayout;
        for (const QString& b : quantBitChoices(info.method)) {
            auto* box = new QCheckBox(tr("%1-bit").arg(b));
            box->setObjectName(QStringLiteral("scheme_%1_w%2").arg(QLatin1String(info.name), b));
            bitsRow->addWidget(box);
            m.bits.emplace_back(b.toInt(), box);
            connect(box, &QCheckBox::toggled, this, [this, index, bits = b.toInt()](bool on) {
                toggle(methodName(m_methods[std::size_t(index)], bits), on);
            });
        }
        bitsRow->addStretch(1);
        // A new granularity renames the row's checked schemes (those the row spells: no -sym, -clip, …).
        connect(m.group, &QComboBox::currentTextChanged, this, [this, index] {
            const MethodRow& r = m_methods[std::size_t(index)];
            for (const auto& [bits, box] : r.bits)
                box->setEnabled(!methodName(r, bits).isEmpty());
            if (m_syncing)
                return;
            QStringList kept;
            for (const QString& s : items(m_text->text())) {
                bool mine = false;
                try {
                    const QuantSpec spec = QuantSpec::fromShortName(s);
                    mine = spec.method == r.method &&
                           normalised(s) == plainName(spec.method, spec.bits, tokenOf(spec));
                } catch (const Error&) {
                }
                if (!mine)
                    kept << s;
            }
            for (const auto& [bits, box] : r.bits) {
                if (box->isChecked() && !methodName(r, bits).isEmpty())
                    kept << methodName(r, bits);
            }
            m_text->setText(kept.join(u','));
        });
        grid->addWidget(new QLabel(QLatin1String(info.displayName)), row, 0);
        grid->addLayout(bitsRow, row, 1);
        grid->addWidget(m.group, row++, 2);
        m_methods.push_back(m);
    }

    m_float = new QCheckBox(tr("keep f16 (the reference a layer can stay at)"));
    m_float->setObjectName(QStringLiteral("schemeF16"));
    connect(m_float, &QCheckBox::toggled, this, [this](bool on) { toggle(QStringLiteral("f16"), on); });
    grid->addWidget(new QLabel(QLatin1String(quantMethodInfo(QuantMethod::Float).displayName)), row, 0);
    grid->addWidget(m_float, row++, 1, 1, 2);

    m_text = new QLineEdit;
    m_text->setObjectName(QStringLiteral("sweepSchemes"));
    m_text->setToolTip(
        tr("The candidate schemes, comma-separated (advanced): gguf-TYPE[-imat], "
           "method-wBITS-gGROUP|ch|tensor[-sym][-clip][-act][-had], or f16. The checkboxes above edit "
           "this list."));
    connect(m_text, &QLineEdit::textChanged, this, [this](const QString& t) {
        syncBoxes();
        Q_EMIT changed(t);
    });
    grid->addWidget(new QLabel(tr("List")), row, 0);
    grid->addWidget(m_text, row++, 1, 1, 2);
    grid->setColumnStretch(1, 1);

    setText(defaultSchemes());
}

QString SchemePicker::defaultSchemes()
{
    QStringList names;
    for (const GgmlType t : {GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::Q4_K, GgmlType::Q6_K})
        names << QuantSpec::ggml(t).shortName();
    return names.join(u',');
}

QString SchemePicker::text() const
{
    return m_text->text();
}

void SchemePicker::setText(const QString& schemes)
{
    m_text->setText(schemes);
    syncBoxes(); // also when the text did not change
}

QString SchemePicker::ggmlName(GgmlType type) const
{
    return QuantSpec::ggml(type, m_imatrix->isChecked()).shortName();
}

QString SchemePicker::methodName(const MethodRow& row, int bits) const
{
    const QString name = plainName(row.method, bits, groupToken(row.group->currentText()));
    return normalised(name) == name ? name : QString(); // normalised() keeps a name it cannot parse
}

void SchemePicker::toggle(const QString& name, bool on)
{
    if (m_syncing || name.isEmpty())
        return;
    QStringList list = items(m_text->text());
    const qsizetype at = [&] {
        for (qsizetype i = 0; i < list.size(); ++i) {
            if (normalised(list[i]) == name)
                return i;
        }
        return qsizetype(-1);
    }();
    if (on && at < 0)
        list << name;
    else if (!on && at >= 0)
        list.removeAt(at);
    else
        return;
    m_text->setText(list.join(u','));
}

void SchemePicker::syncBoxes()
{
    QStringList names;
    for (const QString& s : items(m_text->text()))
        names << normalised(s);
    m_syncing = true;
    // imatrix follows the gguf schemes of the list (any -imat one checks it).
    bool imat = false;
    for (const QString& n : names)
        imat = imat || (n.startsWith(QStringLiteral("gguf-")) && n.endsWith(QStringLiteral("-imat")));
    m_imatrix->setChecked(imat);
    for (const auto& [type, box] : m_ggml)
        box->setChecked(names.contains(ggmlName(type)));
    for (MethodRow& r : m_methods) {
        // The row shows the granularity of its method's first scheme in the list.
        for (const QString& n : names) {
            try {
                const QuantSpec s = QuantSpec::fromShortName(n);
                if (s.method != r.method)
                    continue;
                const QString token = tokenOf(s);
                const QString g = token == u"ch"           ? QStringLiteral("channel")
                                  : token.startsWith(u'g') ? token.mid(1)
                                                           : token;
                if (r.group->findText(g) >= 0)
                    r.group->setCurrentText(g);
                break;
            } catch (const Error&) {
            }
        }
        for (const auto& [bits, box] : r.bits) {
            box->setChecked(names.contains(methodName(r, bits)));
            box->setEnabled(!methodName(r, bits).isEmpty());
        }
    }
    m_float->setChecked(names.contains(QStringLiteral("f16")));
    m_syncing = false;
}

} // namespace qs
