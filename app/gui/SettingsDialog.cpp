#include "SettingsDialog.h"

#include <QBoxLayout>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QThread>

namespace qs {

SettingsDialog::SettingsDialog(const AppSettings& s, QWidget* parent) : QDialog(parent)
{
    setObjectName(QStringLiteral("settingsDialog"));
    setWindowTitle(tr("Preferences"));

    m_threads = new QSpinBox;
    m_threads->setObjectName(QStringLiteral("settingsThreads"));
    m_threads->setRange(0, 4096);
    m_threads->setSpecialValueText(tr("All cores (%1)").arg(QThread::idealThreadCount()));
    m_threads->setValue(s.threads);
    m_threads->setToolTip(tr("Threads the quantization and evaluation kernels use. Results do not "
                             "depend on this number."));

    QWidget* dataRow = nullptr;
    QWidget* cacheRow = nullptr;
    m_data = folderRow(QStringLiteral("settingsDataFolder"), s.dataDirectory,
                       AppSettings::defaultDataDirectory(), &dataRow);
    m_data->setToolTip(tr("Where the demo model and the default evaluation and calibration texts are "
                          "found. Empty: QUANTSCOPE_DATA or ../shared/data."));
    m_cache = folderRow(QStringLiteral("settingsCacheFolder"), s.cacheDirectory,
                        AppSettings::defaultCacheDirectory(), &cacheRow);
    m_cache->setToolTip(tr("Where KLD bases and float baselines are kept between sessions."));

    m_language = new QComboBox;
    m_language->setObjectName(QStringLiteral("settingsLanguage"));
    m_language->addItem(AppSettings::languageName({}), QString());
    for (const QString& code : AppSettings::availableLanguages())
        m_language->addItem(AppSettings::languageName(code), code);
    const int lang = m_language->findData(s.language);
    if (lang < 0 && !s.language.isEmpty()) // stored, but not built into this binary
        m_language->addItem(tr("%1 (not available)").arg(s.language), s.language);
    m_language->setCurrentIndex(std::max(0, m_language->findData(s.language)));

    m_theme = new QComboBox;
    m_theme->setObjectName(QStringLiteral("settingsTheme"));
    m_theme->addItem(tr("System"), AppSettings::themeKey(AppSettings::Theme::System));
    m_theme->addItem(tr("Light"), AppSettings::themeKey(AppSettings::Theme::Light));
    m_theme->addItem(tr("Dark"), AppSettings::themeKey(AppSettings::Theme::Dark));
    m_theme->setCurrentIndex(std::max(0, m_theme->findData(AppSettings::themeKey(s.theme))));

    auto* form = new QFormLayout;
    form->addRow(tr("Worker threads"), m_threads);
    form->addRow(tr("Data folder"), dataRow);
    form->addRow(tr("Cache folder"), cacheRow);
    form->addRow(tr("Language"), m_language);
    form->addRow(QString(), new QLabel(tr("A new language applies when QuantScope starts again.")));
    form->addRow(tr("Theme"), m_theme);

    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel |
                                         QDialogButtonBox::RestoreDefaults);
    buttons->setObjectName(QStringLiteral("settingsButtons"));
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    connect(buttons->button(QDialogButtonBox::RestoreDefaults), &QPushButton::clicked, this, [this] {
        m_threads->setValue(0);
        m_data->clear();
        m_cache->clear();
        m_language->setCurrentIndex(0);
        m_theme->setCurrentIndex(0);
    });

    auto* layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(buttons);
    resize(560, sizeHint().height());
}

QLineEdit* SettingsDialog::folderRow(const QString& objectName, const QString& value,
                                     const QString& defaultPath, QWidget** row)
{
    auto* edit = new QLineEdit(value);
    edit->setObjectName(objectName);
    edit->setPlaceholderText(defaultPath.isEmpty() ? tr("(none found)") : tr("default: %1").arg(defaultPath));
    edit->setClearButtonEnabled(true);
    auto* browse = new QPushButton(tr("Browse…"));
    connect(browse, &QPushButton::clicked, this, [this, edit, defaultPath] {
        const QString dir = QFileDialog::getExistingDirectory(
            this, tr("Choose Folder"), edit->text().isEmpty() ? defaultPath : edit->text());
        if (!dir.isEmpty())
            edit->setText(dir);
    });
    *row = new QWidget;
    auto* h = new QHBoxLayout(*row);
    h->setContentsMargins(0, 0, 0, 0);
    h->addWidget(edit, 1);
    h->addWidget(browse);
    return edit;
}

AppSettings SettingsDialog::settings() const
{
    AppSettings s;
    s.threads = m_threads->value();
    s.dataDirectory = m_data->text().trimmed();
    s.cacheDirectory = m_cache->text().trimmed();
    s.language = m_language->currentData().toString();
    s.theme = AppSettings::themeFromKey(m_theme->currentData().toString());
    return s;
}

} // namespace qs
