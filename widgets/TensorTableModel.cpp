#include "TensorTableModel.h"

#include "model/Model.h"
#include "model/ModelSummary.h"
#include "util/Paths.h"

#include <QLocale>

namespace qs {

TensorTableModel::TensorTableModel(QObject* parent) : QAbstractTableModel(parent) {}

void TensorTableModel::setModel(std::shared_ptr<const Model> model)
{
    beginResetModel();
    m_model = std::move(model);
    m_names = m_model ? m_model->tensors().names() : QStringList();
    m_roles.clear();
    for (const QString& n : m_names)
        m_roles << tensorRole(*m_model, n);
    endResetModel();
}

int TensorTableModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : int(m_names.size()); }

int TensorTableModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QVariant TensorTableModel::data(const QModelIndex& index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const QString& name = m_names[index.row()];
    const TensorInfo& t = m_model->tensors().info(name);
    if (role == Qt::TextAlignmentRole)
        return index.column() >= Params ? QVariant(Qt::AlignRight | Qt::AlignVCenter) : QVariant();
    if (role == Qt::ToolTipRole)
        return m_model->tensors().fileOf(name);
    if (role != Qt::DisplayRole && role != Qt::UserRole)
        return {};
    const bool sortKey = role == Qt::UserRole;
    switch (index.column()) {
    case Name:
        return name;
    case Role:
        return m_roles[index.row()];
    case DTypeCol:
        return t.typeName();
    case Shape:
        return shapeString(t.shape);
    case Params:
        return sortKey ? QVariant(qint64(t.numel())) : QVariant(QLocale().toString(qint64(t.numel())));
    case Bytes:
        return sortKey ? QVariant(qint64(t.bytes())) : QVariant(formatBytes(double(t.bytes())));
    default:
        return {};
    }
}

QVariant TensorTableModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (section) {
    case Name:
        return tr("Tensor");
    case Role:
        return tr("Role");
    case DTypeCol:
        return tr("Type");
    case Shape:
        return tr("Shape");
    case Params:
        return tr("Parameters");
    case Bytes:
        return tr("Size");
    default:
        return {};
    }
}

} // namespace qs
