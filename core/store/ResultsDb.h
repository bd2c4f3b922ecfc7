#pragma once

#include "analysis/SensitivityResult.h"
#include "session/Session.h"
#include "store/ModelIdentity.h"

#include <QDateTime>
#include <QJsonObject>
#include <QList>
#include <QString>
#include <QStringList>
#include <functional>
#include <limits>
#include <optional>
#include <vector>

class QSqlQuery;

namespace qs {

/// Which runs a query returns; every field left at its default matches everything.
struct RunFilter
{
    QString text;     ///< substring of the name, recipe summary, model path or a tag (any case)
    QString model;    ///< substring of the model path (any case)
    QString modelKey; ///< exactly this model identity (ModelIdentity::key)
    QString method;   ///< the method label, any case ("GPTQ", "mixed", "float", …)
    QString tag;      ///< runs carrying this tag
    int bits = 0;     ///< the recipe's default bits (mixed recipes count by their default); 0: any
    double minBpw = std::numeric_limits<double>::quiet_NaN();
    double maxBpw = std::numeric_limits<double>::quiet_NaN();
    QDateTime since;        ///< created at or after (invalid: no bound)
    QDateTime until;        ///< created before
    bool trash = false;     ///< the deleted runs (kept for undo) instead of the live ones
    bool baselines = false; ///< include float baselines
};

/// One run as the database keeps it: the run itself and what the store adds around it.
struct StoredRun
{
    qint64 id = 0;      ///< the row number: stable, never reused (`runs show ID`)
    QString uid;        ///< RunSummary::id
    QDateTime created;  ///< UTC
    QString modelKey;   ///< ModelIdentity::key of the model it was made from
    QString modelPath;  ///< that model's canonical path
    QString checkpoint; ///< the kept checkpoint folder (empty: none kept)
    qint64 checkpointBytes = 0;
    QString toolVersion;
    QStringList tags;
    bool deleted = false;
    SessionRun run;

    /// Flat JSON for `runs export` / `runs show`: the columns, then "summary" and "recipe".
    QJsonObject toJson(bool withDetail) const;
};

/// One sensitivity sweep kept in the database.
struct StoredSweep
{
    qint64 id = 0;
    QDateTime created;
    QString source; ///< the file it was imported from
    QString modelPath;
    QString schemes; ///< comma-separated
    int entries = 0;
    double basePpl = 0;
};

/// The results database: every run and sweep, across sessions, in one SQLite file through Qt SQL
/// (`results.sqlite` in the runs folder, beside the kept checkpoints).
///
/// - Versioned schema (PRAGMA user_version) brought up to date by migrations on open; a database
///   of a newer schema is refused, never migrated down.
/// - WAL journal, synchronous=FULL, a busy timeout: the GUI and any number of CLI processes read
///   and write it at once; every change is one transaction, so a failed write (disk full, I/O
///   error, a lock held too long) leaves the previous state as it was.
/// - An integrity check on open: a damaged file is moved aside (with its -wal/-shm) and a new
///   database started, and openWarning() says so and names the backup; an error that is not damage
///   (locked, read-only, no permission) throws and touches nothing.
///
/// One instance is one connection: use it from the thread that made it.
class ResultsDb
{
public:
    static constexpr int kSchemaVersion = 2;

    /// $QUANTSCOPE_RUNS when set, else the GUI's data folder (…/QuantScope/QuantScope/runs), so the
    /// GUI and the CLI share one history.
    static QString defaultFolder();
    /// The database file in a runs folder.
    static QString fileIn(const QString& folder);

    /// Opens (creating and migrating when needed) the database `file`; empty: a database in memory.
    /// Throws Error naming the file: cannot create or open it, newer schema, locked beyond the
    /// busy timeout, damaged and not movable.
    explicit ResultsDb(const QString& file = {}, int busyTimeoutMs = 5000);
    ~ResultsDb();
    ResultsDb(const ResultsDb&) = delete;
    ResultsDb& operator=(const ResultsDb&) = delete;

    const QString& file() const { return m_file; }
    bool inMemory() const { return m_file.isEmpty(); }
    /// Set when the file was damaged and moved aside on open (names the backup), else empty.
    const QString& openWarning() const { return m_openWarning; }
    int schemaVersion() const;
    /// How long a statement waits for another connection's write before it fails ("locked").
    void setBusyTimeout(int ms);

    /// Records a run (or a float baseline) of `model`; a run already kept (same RunSummary::id,
    /// assigned here when empty) is updated, keeping its tags, creation time and deletion state.
    /// Returns its row id. With a checkpoint folder and its size on disk (`checkpointBytes` >= 0),
    /// both are recorded in the same transaction; an empty `checkpoint` keeps the one recorded.
    qint64 putRun(const SessionRun& run, const ModelIdentity& model, const QString& checkpoint = {},
                  qint64 checkpointBytes = -1);
    std::vector<StoredRun> runs(const RunFilter& filter = {}) const;
    /// The RunSummary ids of the runs `filter` selects, without reading the runs themselves.
    QStringList runUids(const RunFilter& filter = {}) const;
    /// Every method recorded outside the trash (distinct, non-empty, sorted case-insensitively).
    QStringList methods() const;
    /// The checkpoint folders the database keeps (trash included): how many, and their bytes.
    struct CheckpointUsage
    {
        int runs = 0;
        qint64 bytes = 0;
    };
    CheckpointUsage checkpointUsage() const;
    std::optional<StoredRun> run(qint64 id) const;
    std::optional<StoredRun> runByUid(const QString& uid) const;
    /// The newest float baseline recorded for a model (none: nullopt).
    std::optional<StoredRun> baselineOf(const QString& modelKey) const;
    void rename(qint64 id, const QString& name);
    void setTags(qint64 id, const QStringList& tags);
    void setShown(const QString& uid, bool shown);
    /// Moves runs to the trash (deleted = true) or back (undo).
    void setDeleted(const QList<qint64>& ids, bool deleted);
    /// Removes runs for good; returns their checkpoint folders for the caller to delete.
    QStringList purge(const QList<qint64>& ids);
    void setCheckpoint(qint64 id, const QString& folder, qint64 bytes);

    /// Records a sweep (the same sweep imported twice is kept once); returns its row id.
    qint64 putSweep(const SensitivityResult& sweep, const QString& source);
    std::vector<StoredSweep> sweeps() const;
    SensitivityResult sweep(qint64 id) const;

    /// Runs several writes as one transaction: all of them are recorded, or (on any Error, which
    /// is rethrown) none.
    void atomically(const QString& what, const std::function<void()>& writes);

    /// "ok", or what SQLite's integrity check reports.
    QString integrityCheck() const;

private:
    /// A prepared SELECT of `columns` over the runs `filter` selects, ordered by id.
    QSqlQuery selectRuns(const QString& columns, const RunFilter& filter) const;
    void openFile(int busyTimeoutMs);
    void migrate();
    QString m_file;
    QString m_connection;
    QString m_openWarning;
    int m_depth = 0; ///< open Transactions (the outermost owns the SQLite transaction)
};

/// A new RunSummary::id.
QString newRunId();
/// The id a run without one gets: a digest of its results and recipe, so the same run imported
/// twice (or by two processes) is one row.
QString derivedRunId(const SessionRun& run);
/// The recipe's bits for filters: its default spec's bits (0 for a float run).
int recipeBits(const SessionRun& run);

} // namespace qs
