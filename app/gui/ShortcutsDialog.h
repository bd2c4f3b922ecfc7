#pragma once

#include <QDialog>

namespace qs {

/// Help › Keyboard Shortcuts (F1): every action of a window that has a shortcut, read from the
/// actions themselves, so the list can never disagree with the keys that work; sorted by name.
class ShortcutsDialog : public QDialog
{
    Q_OBJECT
public:
    explicit ShortcutsDialog(QWidget* window, QWidget* parent = nullptr);
};

} // namespace qs
