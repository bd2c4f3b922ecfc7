#pragma once

#include <QWidget>

class QLineEdit;
class QPushButton;

namespace qs {

/// A text file setting of a job (evaluation or calibration text): a path field with a Browse…
/// button and a default taken from the data folder. The default follows the data folder until the
/// user types or picks another file. problem() says, before any job is queued, what is wrong
/// with the file, and message() turns that into what to set.
class TextFileField : public QWidget
{
    Q_OBJECT
public:
    /// `objectName` names the line edit (the Browse… button gets the same name + "Browse");
    /// `label` is the field's label as the form shows it; `relativeDefault` the file inside the
    /// data folder ("kjv/train.txt").
    TextFileField(const QString& objectName, const QString& label, const QString& relativeDefault,
                  QWidget* parent = nullptr);

    QLineEdit* lineEdit() const { return m_edit; }
    QString path() const;
    void setPath(const QString& path);
    /// Sets the data folder the default comes from; the field follows it while it still shows
    /// the previous default (or nothing).
    void setDataDirectory(const QString& dataDirectory);
    QString defaultPath() const;

    /// Why the file cannot be read as a text ("not set", "… does not exist", "… is a folder, not
    /// a text file", "… cannot be read", "… is empty"); empty when it can.
    static QString problem(const QString& path);
    /// The message shown when problem(path) is not empty: the field, the problem and what to do
    /// (Browse… on `page`, or the data folder in the preferences).
    QString message(const QString& path, const QString& page) const;
    /// Shows the field as the one to fix (focus, text selected).
    void focusForFix();

private:
    void browse();

    QString m_label;
    QString m_relativeDefault;
    QString m_dataDirectory;
    QLineEdit* m_edit = nullptr;
    QPushButton* m_browse = nullptr;
};

} // namespace qs
