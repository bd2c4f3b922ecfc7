#include "PlanItemDelegate.h"

#include "PlanTableModel.h"

#include <QComboBox>

namespace qs {

QWidget* PlanItemDelegate::createEditor(QWidget* parent, const QStyleOptionViewItem& option,
                                        const QModelIndex& index) const
{
    const QStringList choices = index.data(PlanTableModel::ChoicesRole).toStringList();
    if (choices.isEmpty())
        return QStyledItemDelegate::createEditor(parent, option, index);
    auto* combo = new QComboBox(parent);
    combo->setObjectName(QStringLiteral("planCellEditor"));
    combo->addItems(choices);
    connect(combo, &QComboBox::activated, this, [this, combo] {
        auto* self = const_cast<PlanItemDelegate*>(this);
        Q_EMIT self->commitData(combo);
        Q_EMIT self->closeEditor(combo);
    });
    return combo;
}

void PlanItemDelegate::setEditorData(QWidget* editor, const QModelIndex& index) const
{
    if (auto* combo = qobject_cast<QComboBox*>(editor)) {
        const int i = combo->findText(index.data(Qt::EditRole).toString());
        combo->setCurrentIndex(std::max(0, i));
        return;
    }
    QStyledItemDelegate::setEditorData(editor, index);
}

void PlanItemDelegate::setModelData(QWidget* editor, QAbstractItemModel* model,
                                    const QModelIndex& index) const
{
    if (auto* combo = qobject_cast<QComboBox*>(editor)) {
        if (combo->currentText() != index.data(Qt::EditRole).toString())
            model->setData(index, combo->currentText());
        return;
    }
    QStyledItemDelegate::setModelData(editor, model, index);
}

} // namespace qs
