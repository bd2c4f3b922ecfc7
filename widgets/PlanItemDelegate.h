#pragma once

#include <QStyledItemDelegate>

namespace qs {

/// Inline editors for the layer table: a combo box of the choices the model offers for a cell
/// (PlanTableModel::ChoicesRole: methods from the methods table, the bit range of the row's
/// method, group sizes), committed as soon as a choice is made.
class PlanItemDelegate : public QStyledItemDelegate
{
    Q_OBJECT
public:
    using QStyledItemDelegate::QStyledItemDelegate;
    QWidget* createEditor(QWidget* parent, const QStyleOptionViewItem& option,
                          const QModelIndex& index) const override;
    void setEditorData(QWidget* editor, const QModelIndex& index) const override;
    void setModelData(QWidget* editor, QAbstractItemModel* model, const QModelIndex& index) const override;
};

} // namespace qs
