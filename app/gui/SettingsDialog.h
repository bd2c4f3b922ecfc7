#pragma once

#include "AppSettings.h"

#include <QDialog>

class QComboBox;
class QLineEdit;
class QSpinBox;

namespace qs {

/// Edit › Preferences: worker threads, data and cache folders, language and theme. It only edits
/// an AppSettings value; the window stores and applies it when the dialog is accepted.
class SettingsDialog : public QDialog
{
    Q_OBJECT
public:
    explicit SettingsDialog(const AppSettings& settings, QWidget* parent = nullptr);

    /// The settings as the dialog shows them now.
    AppSettings settings() const;

private:
    QLineEdit* folderRow(const QString& objectName, const QString& value, const QString& defaultPath,
                         QWidget** row);

    QSpinBox* m_threads = nullptr;
    QLineEdit* m_data = nullptr;
    QLineEdit* m_cache = nullptr;
    QComboBox* m_language = nullptr;
    QComboBox* m_theme = nullptr;
};

} // namespace qs
