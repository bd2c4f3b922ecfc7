#pragma once

#include "results/RunResults.h"
#include "session/Session.h"
#include "store/ModelIdentity.h"
#include "store/ResultsDb.h"

#include <QDateTime>
#include <QHash>
#include <QJsonObject>
#include <QSet>
#include <QString>
#include <memory>
#include <optional>
#include <vector>

namespace qs {

/// The finished runs of one model and its float baseline.
struct StoredRuns
{
    std::vector<SessionRun> runs;
    std::optional<RunSummary> baseline;

    bool isEmpty() const { return runs.empty() && !baseline; }
    QJsonObject toJson(const ModelIdentity& model) const;
    /// Reads toJson's object; throws Error naming `path` (bad JSON, another format or version, a
    /// field of the wrong type, runs of another model).
    static StoredRuns fromJson(const QByteArray& json, const QString& path, const ModelIdentity& model);
};

/// Finished runs kept per model across model switches and restarts, in the results database
/// (ResultsDb: `results.sqlite` in the folder, beside the kept checkpoints under `checkpoints/`)
/// and a copy in memory, so a model switch keeps them even after a failed write. Without a folder
/// the database is in memory (nothing outlives the process).
///
/// Several QuantScope windows and CLI processes may share the folder: the database takes their
/// writes one transaction at a time, and a save merges — a run of this model that another instance
/// recorded and this one has never seen is kept, a run this one has seen and no longer holds was
/// removed here and goes to the database's trash (undo from the history), so two windows adding
/// runs to one model keep both.
///
/// The JSON files of the earlier run store (`<key>.json`, "format": "quantscope-runs") found in
/// the folder are imported once and renamed `<key>.json.imported`.
class RunStore
{
public:
    static constexpr int kVersion = 1; ///< of the legacy JSON files

    /// Folder of the database and the kept checkpoints; empty (the default): memory only.
    /// The database opens at the next use; open() opens it now.
    void setFolder(const QString& folder);
    QString folder() const { return m_folder; }
    /// The database file (empty without a folder).
    QString databaseFile() const;
    /// Where a run's checkpoint is kept: `<folder>/checkpoints/<uid>` (empty without a folder).
    QString checkpointFolderFor(const QString& uid) const;
    /// The database, opened (and legacy files imported) on first use. Throws Error when it cannot
    /// be opened; the memory copy keeps working meanwhile.
    ResultsDb& database();
    /// Set when the database was damaged and moved aside on open.
    QString openWarning() const { return m_db ? m_db->openWarning() : QString(); }
    /// Legacy JSON files that could not be imported (each with why), from the last open.
    const QStringList& importErrors() const { return m_importErrors; }
    /// The runs kept for `model` (none: empty). Throws Error when the database cannot be read.
    StoredRuns load(const ModelIdentity& model);
    /// Keeps `runs` as `model`'s (in memory, then in the database). Throws Error when the database
    /// cannot be written; the memory copy stays. Runs without an id get one (derivedRunId).
    void save(const ModelIdentity& model, const StoredRuns& runs);
    /// How long a write waits for another instance's transaction before it gives up (an Error).
    void setLockTimeout(int ms);
    /// Forgets the memory copy of a model (after the history changed its runs in the database).
    void forget(const ModelIdentity& model);

private:
    void importLegacyFiles();
    QString m_folder;
    std::unique_ptr<ResultsDb> m_db;
    QHash<QString, StoredRuns> m_memory;  ///< by ModelIdentity::key
    QHash<QString, QSet<QString>> m_seen; ///< by key: the run ids read from or written to the database
    QStringList m_importErrors;
    int m_lockTimeoutMs = 5000;
};

/// The disk a folder's files take (recursively), 0 when it does not exist.
qint64 folderBytes(const QString& folder);

} // namespace qs
