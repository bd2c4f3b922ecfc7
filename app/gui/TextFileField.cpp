#include "TextFileField.h"

#include <QBoxLayout>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QLineEdit>
#include <QPushButton>

namespace qs {

TextFileField::TextFileField(const QString& objectName, const QString& label, const QString& relativeDefault,
                             QWidget* parent)
    : QWidget(parent), m_label(label), m_relativeDefault(relativeDefault)
{
    m_edit = new QLineEdit;
    m_edit->setObjectName(objectName);
    m_edit->setPlaceholderText(
        tr("a text file (%1 in the data folder: Edit › Preferences)").arg(relativeDefault));
    m_browse = new QPushButton(tr("Browse…"));
    m_browse->setObjectName(objectName + QStringLiteral("Browse"));
    connect(m_browse, &QPushButton::clicked, this, &TextFileField::browse);
    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_edit, 1);
    layout->addWidget(m_browse);
    setFocusProxy(m_edit);
}

QString TextFileField::path() const
{
    return m_edit->text().trimmed();
}

void TextFileField::setPath(const QString& path)
{
    m_edit->setText(path);
}

QString TextFileField::defaultPath() const
{
    return m_dataDirectory.isEmpty() ? QString() : QDir(m_dataDirectory).filePath(m_relativeDefault);
}

void TextFileField::setDataDirectory(const QString& dataDirectory)
{
    const bool following = path().isEmpty() || path() == defaultPath();
    m_dataDirectory = dataDirectory;
    if (following)
        m_edit->setText(defaultPath());
}

QString TextFileField::problem(const QString& path)
{
    if (path.trimmed().isEmpty())
        return tr("not set");
    const QFileInfo info(path);
    if (!info.exists())
        return tr("%1 does not exist").arg(path);
    if (info.isDir())
        return tr("%1 is a folder, not a text file").arg(path);
    if (!info.isReadable())
        return tr("%1 cannot be read").arg(path);
    if (info.size() == 0)
        return tr("%1 is empty").arg(path);
    return {};
}

QString TextFileField::message(const QString& path, const QString& page) const
{
    return tr("%1: %2.").arg(m_label, problem(path)) + QStringLiteral("\n\n") +
           tr("Choose a text file with Browse… next to “%1” on the %2 page, or set the data folder "
              "(it holds %3) in Edit › Preferences.")
               .arg(m_label, page, m_relativeDefault);
}

void TextFileField::focusForFix()
{
    m_edit->setFocus();
    m_edit->selectAll();
}

void TextFileField::browse()
{
    QString start = QFileInfo(path()).absolutePath();
    if (path().isEmpty() || !QFileInfo(start).isDir())
        start = m_dataDirectory;
    const QString file = QFileDialog::getOpenFileName(this, tr("Choose %1").arg(m_label), start,
                                                      tr("Text files (*.txt *.raw);;All files (*)"));
    if (!file.isEmpty())
        m_edit->setText(file);
}

} // namespace qs
