#pragma once

#include "analysis/Sensitivity.h"
#include "recipe/Recipe.h"
#include "results/RunResults.h"
#include "results/RunSummaryJson.h"

#include <QByteArray>
#include <QDateTime>
#include <QJsonArray>
#include <QJsonObject>
#include <QString>
#include <optional>
#include <vector>

namespace qs {

/// One finished run as the session keeps it: what it measured and the recipe that produced it
/// (the plan is resolved again on restore). The quantized model itself lived only in memory
/// during the run and is not part of the session.
struct SessionRun
{
    RunSummary summary;
    Recipe recipe;
    bool shown = true; ///< checked in the runs table (drawn in the plots)

    /// The summary's JSON with "recipe" and "shown" added (sessions and the run store).
    QJsonObject toJson() const;
    /// Reads toJson's object; throws Error naming `where` when it is not one.
    static SessionRun fromJson(const QJsonObject& o, const QString& where);
};

/// The object of a versioned QuantScope JSON file (sessions, run stores): throws qs::Error naming `path`
/// for bad JSON, not an object, a "format" other than `format` ("not a QuantScope KIND") or a "version"
/// outside 1 … maxVersion.
QJsonObject readVersionedJson(const QByteArray& json, const QString& path, QLatin1String format,
                              const QString& kind, int maxVersion);

/// The "runs" array of a session or run store; throws qs::Error naming `path` and the entry.
std::vector<SessionRun> sessionRunsFromJson(const QJsonArray& runs, const QString& path);

/// What the workbench restores on start: the open model, the plan being edited (a recipe), the
/// page shown, the finished runs with their float baseline, and the sensitivity sweep. Versioned
/// JSON ("format": "quantscope-session"); written atomically, so the file at the path is always a
/// whole session. Reading throws qs::Error naming the file and what is wrong (bad JSON, another
/// format, a newer version, a field of the wrong type).
struct Session
{
    static constexpr int kVersion = 1;

    QString modelPath;            ///< empty: no model was open
    std::optional<Recipe> recipe; ///< the plan (absent without a model)
    QString page;                 ///< the objectName of the page shown
    std::vector<SessionRun> runs;
    std::optional<RunSummary> baseline;
    std::optional<SensitivityResult> sensitivity;

    QJsonObject toJson() const;
    static Session fromJson(const QByteArray& json, const QString& pathForErrors);
    static Session load(const QString& path);
    /// Writes atomically (AtomicFile: a temporary beside the file, synced, renamed over it); throws Error.
    void save(const QString& path) const;

    /// Moves a session file that cannot be restored aside to `<name>.corrupt-<timestamp>.json` in
    /// the same folder (never overwriting an earlier backup) and returns the backup's path.
    /// Throws Error when it cannot be moved.
    static QString moveAside(const QString& path, const QDateTime& when = QDateTime::currentDateTime());
};

} // namespace qs
