#include "AppSettings.h"

#include "store/ResultsDb.h"
#include "util/Paths.h"
#include "util/Threads.h"

#include <QApplication>
#include <QDir>
#include <QLibraryInfo>
#include <QLocale>
#include <QPalette>
#include <QSettings>
#include <QStandardPaths>
#include <QStyle>
#include <QStyleFactory>
#include <QThreadPool>
#include <QTranslator>
#include <algorithm>
#include <memory>
#include <optional>

namespace qs {

namespace {

const QLatin1String kThreads("threads");
const QLatin1String kData("dataDirectory");
const QLatin1String kCache("cacheDirectory");
const QLatin1String kLanguage("language");
const QLatin1String kTheme("theme");
const QLatin1String kI18n(":/i18n");
const QLatin1String kQmPrefix("quantscope_");

QPalette darkPalette()
{
    QPalette p;
    const QColor window(45, 45, 48), base(30, 30, 32), text(220, 220, 220), disabled(127, 127, 127);
    p.setColor(QPalette::Window, window);
    p.setColor(QPalette::WindowText, text);
    p.setColor(QPalette::Base, base);
    p.setColor(QPalette::AlternateBase, window);
    p.setColor(QPalette::ToolTipBase, base);
    p.setColor(QPalette::ToolTipText, text);
    p.setColor(QPalette::PlaceholderText, disabled);
    p.setColor(QPalette::Text, text);
    p.setColor(QPalette::Button, window);
    p.setColor(QPalette::ButtonText, text);
    p.setColor(QPalette::BrightText, Qt::red);
    p.setColor(QPalette::Link, QColor(90, 160, 240));
    p.setColor(QPalette::Highlight, QColor(42, 130, 218));
    p.setColor(QPalette::HighlightedText, Qt::black);
    p.setColor(QPalette::Light, QColor(70, 70, 74));
    p.setColor(QPalette::Midlight, QColor(60, 60, 64));
    p.setColor(QPalette::Mid, QColor(40, 40, 42));
    p.setColor(QPalette::Dark, QColor(25, 25, 27));
    p.setColor(QPalette::Shadow, Qt::black);
    for (QPalette::ColorRole role : {QPalette::WindowText, QPalette::Text, QPalette::ButtonText})
        p.setColor(QPalette::Disabled, role, disabled);
    p.setColor(QPalette::Disabled, QPalette::Highlight, QColor(80, 80, 80));
    return p;
}

/// The style and palette the application started with ("System" returns to them).
struct SystemLook
{
    QString style;
    QPalette palette;
};
const SystemLook& systemLook()
{
    static const SystemLook look{QApplication::style() ? QApplication::style()->name() : QString(),
                                 QApplication::palette()};
    return look;
}

std::unique_ptr<QTranslator>& appTranslator()
{
    static std::unique_ptr<QTranslator> t;
    return t;
}
std::unique_ptr<QTranslator>& qtTranslator()
{
    static std::unique_ptr<QTranslator> t;
    return t;
}

} // namespace

AppSettings AppSettings::load()
{
    const QSettings s;
    AppSettings a;
    a.threads = std::max(0, s.value(kThreads, 0).toInt());
    a.dataDirectory = s.value(kData).toString();
    a.cacheDirectory = s.value(kCache).toString();
    a.language = s.value(kLanguage).toString();
    a.theme = themeFromKey(s.value(kTheme).toString());
    return a;
}

void AppSettings::save() const
{
    QSettings s;
    s.setValue(kThreads, threads);
    s.setValue(kData, dataDirectory);
    s.setValue(kCache, cacheDirectory);
    s.setValue(kLanguage, language);
    s.setValue(kTheme, themeKey(theme));
    s.sync();
}

void AppSettings::apply() const
{
    setComputeThreads(threads);
    auto* app = qobject_cast<QApplication*>(QCoreApplication::instance());
    if (!app)
        return;
    const SystemLook& look = systemLook(); // captured before the first change
    switch (theme) {
    case Theme::System:
        if (!look.style.isEmpty())
            QApplication::setStyle(QStyleFactory::create(look.style));
        QApplication::setPalette(look.palette);
        break;
    case Theme::Light:
        QApplication::setStyle(QStyleFactory::create(QStringLiteral("Fusion")));
        QApplication::setPalette(QApplication::style()->standardPalette());
        break;
    case Theme::Dark:
        QApplication::setStyle(QStyleFactory::create(QStringLiteral("Fusion")));
        QApplication::setPalette(darkPalette());
        break;
    }
}

QString AppSettings::effectiveDataDirectory() const
{
    return dataDirectory.isEmpty() ? defaultDataDirectory() : dataDirectory;
}

QString AppSettings::effectiveCacheDirectory() const
{
    return cacheDirectory.isEmpty() ? defaultCacheDirectory() : cacheDirectory;
}

QString AppSettings::defaultDataDirectory()
{
    QStringList roots;
#ifdef QS_REPO_ROOT
    roots << QStringLiteral(QS_REPO_ROOT);
#endif
    // A build or an installation moved elsewhere: the executable's folder and every folder above
    // it (build/app → the repository root, whose ../shared/data is the data folder).
    if (QCoreApplication::instance())
        for (QDir d(QCoreApplication::applicationDirPath());;) {
            roots << d.absolutePath();
            if (!d.cdUp())
                break;
        }
    for (const QString& root : roots)
        if (const QString found = findDataDirectory(root); !found.isEmpty())
            return found;
    return findDataDirectory(); // $QUANTSCOPE_DATA or the working directory
}

QString AppSettings::defaultCacheDirectory()
{
    return QStandardPaths::writableLocation(QStandardPaths::CacheLocation);
}

QString AppSettings::defaultSessionFile()
{
    return QDir(QStandardPaths::writableLocation(QStandardPaths::AppDataLocation))
        .filePath(QStringLiteral("session.json"));
}

QString AppSettings::defaultRunStoreDirectory()
{
    return ResultsDb::defaultFolder(); // the CLI records into the same database
}

QStringList AppSettings::availableLanguages()
{
    QStringList codes;
    for (const QString& file : QDir(kI18n).entryList({QStringLiteral("*.qm")}, QDir::Files, QDir::Name)) {
        QString code = file.chopped(3); // ".qm"
        if (code.startsWith(kQmPrefix))
            code = code.mid(kQmPrefix.size());
        if (!code.isEmpty() && code != u"en" && !codes.contains(code))
            codes << code;
    }
    return codes;
}

QString AppSettings::languageName(const QString& code)
{
    if (code.isEmpty())
        return QStringLiteral("English");
    const QString native = QLocale(code).nativeLanguageName();
    return native.isEmpty() ? code : native;
}

bool AppSettings::installTranslator(const QString& code)
{
    for (auto* t : {&appTranslator(), &qtTranslator()}) {
        if (*t) {
            QCoreApplication::removeTranslator(t->get());
            t->reset();
        }
    }
    if (code.isEmpty() || !availableLanguages().contains(code))
        return code.isEmpty();
    auto t = std::make_unique<QTranslator>();
    if (!t->load(kQmPrefix + code, kI18n))
        return false;
    QCoreApplication::installTranslator(t.get());
    appTranslator() = std::move(t);
    // Qt's own strings (standard buttons, dialogs) when the system has them; optional.
    auto qt = std::make_unique<QTranslator>();
    if (qt->load(QLocale(code), QStringLiteral("qtbase"), QStringLiteral("_"),
                 QLibraryInfo::path(QLibraryInfo::TranslationsPath))) {
        QCoreApplication::installTranslator(qt.get());
        qtTranslator() = std::move(qt);
    }
    return true;
}

QString AppSettings::themeKey(Theme theme)
{
    switch (theme) {
    case Theme::Light:
        return QStringLiteral("light");
    case Theme::Dark:
        return QStringLiteral("dark");
    case Theme::System:
        break;
    }
    return QStringLiteral("system");
}

AppSettings::Theme AppSettings::themeFromKey(const QString& key)
{
    if (key == u"light")
        return Theme::Light;
    if (key == u"dark")
        return Theme::Dark;
    return Theme::System;
}

namespace {

/// One thread, so writes keep their order; parented to the application, whose end waits for them.
QThreadPool* settingsWriter()
{
    static QThreadPool* pool = [] {
        auto* p = new QThreadPool(QCoreApplication::instance());
        p->setMaxThreadCount(1);
        return p;
    }();
    return pool;
}

} // namespace

void writeSettingInBackground(const QString& key, const QVariant& value)
{
    settingsWriter()->start([key, value] {
        QSettings s;
        s.setValue(key, value);
        s.sync();
    });
}

void waitForBackgroundSettings()
{
    settingsWriter()->waitForDone();
}

} // namespace qs
