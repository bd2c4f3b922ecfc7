#pragma once

#include <QAbstractTableModel>

#include <memory>

namespace qs {
class Model;

/// Read-only table of a model's tensors: name, role, dtype, shape, parameters, bytes.
class TensorTableModel : public QAbstractTableModel
{
    Q_OBJECT
public:
    enum Column { Name, Role, DTypeCol, Shape, Params, Bytes, ColumnCount };

    explicit TensorTableModel(QObject* parent = nullptr);
    void setModel(std::shared_ptr<const Model> model);

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    std::shared_ptr<const Model> m_model;
    QStringList m_names;
    QStringList m_roles;
};

} // namespace qs
