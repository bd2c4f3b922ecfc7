#pragma once

#include <QString>
#include <QStringList>
#include <QVariant>

namespace qs {

/// Sets one QSettings value on a background thread, where its write and fdatasync happen (on a busy
/// disk a settings flush on the UI thread held the window 120 ms: bench gui, load phase). Writes
/// run one at a time in call order; a QSettings read right after may still see the old value;
/// waitForBackgroundSettings() waits for those queued. The application waits for them at exit.
void writeSettingInBackground(const QString& key, const QVariant& value);
void waitForBackgroundSettings();

/// The user's preferences, stored with QSettings under the application's organization and name
/// (tests set their own names and QStandardPaths' test mode, so they never touch real settings).
/// Empty folders mean "the default", which follows the environment (QUANTSCOPE_DATA, the cache
/// location) rather than being frozen into the settings file.
struct AppSettings
{
    enum class Theme { System, Light, Dark };

    int threads = 0; ///< compute threads of core kernels; 0 = all cores
    QString dataDirectory;
    QString cacheDirectory;
    QString language; ///< "" = English (built in); else a translation's code, e.g. "de"
    Theme theme = Theme::System;

    static AppSettings load();
    void save() const;
    /// Applies the thread count and the theme to the running application. The language is
    /// applied by installTranslator() before the window is built (it takes effect on restart).
    void apply() const;

    QString effectiveDataDirectory() const;
    QString effectiveCacheDirectory() const;
    /// $QUANTSCOPE_DATA, else ../shared/data next to the source tree, the executable's folder or
    /// a folder above it, or the working directory.
    static QString defaultDataDirectory();
    /// The files of the evaluation and calibration texts the Runs and Mixed precision pages start
    /// with, relative to the data folder.
    static constexpr const char* kEvaluationText = "wikitext-2-raw/wiki.test.raw";
    static constexpr const char* kCalibrationText = "kjv/train.txt";
    /// QStandardPaths::CacheLocation (KLD bases, float baselines).
    static QString defaultCacheDirectory();
    /// Where the session is autosaved by default (QStandardPaths::AppDataLocation/session.json).
    static QString defaultSessionFile();
    /// Where finished runs are kept (the results database and checkpoints): ResultsDb::defaultFolder().
    static QString defaultRunStoreDirectory();

    /// Codes of the compiled translations embedded under ":/i18n/" (quantscope_<code>.qm),
    /// sorted; empty when none are built in. English needs none.
    static QStringList availableLanguages();
    /// The language's own name ("Deutsch"), for the settings dialog.
    static QString languageName(const QString& code);
    /// Installs the translation of `code` (removing any earlier one); "" restores English.
    /// Returns false when no such translation is embedded (English stays).
    static bool installTranslator(const QString& code);

    static QString themeKey(Theme theme);
    static Theme themeFromKey(const QString& key);
};

} // namespace qs
