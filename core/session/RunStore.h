#pragma once

#include "results/RunResults.h"
#include "session/Session.h"

#include <QDateTime>
#include <QHash>
#include <QJsonObject>
#include <QSet>
#include <QString>
#include <optional>
#include <vector>

namespace qs {

/// A model's files as the run store tells them apart: the canonical path, the total size and the
/// newest modification time of its files (a folder: the files directly in it; a .gguf: the file).
/// Runs of a model whose files changed belong to the old files, not to the new ones.
struct ModelIdentity
{
    QString path; ///< canonical; empty: no such model
    qint64 bytes = 0;
    QDateTime modified; ///< UTC

    /// The identity of the model at `modelPath` now (empty path when it does not exist).
    static ModelIdentity of(const QString& modelPath);
    bool isValid() const { return !path.isEmpty(); }
    /// A short hex digest of path, size and time: the store's file name.
    QString key() const;
    bool operator==(const ModelIdentity& o) const = default;
};

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

/// Finished runs kept per model across model switches and restarts (until a results database
/// exists): one JSON file per model identity (`<key>.json`, "format": "quantscope-runs") in a
/// folder, written atomically on every change, and a copy in memory, so a model switch keeps
/// them even without a folder or after a failed write. A file that cannot be read is moved aside
/// (Session::moveAside), never overwritten, and the error names both files.
///
/// Several QuantScope windows (or processes) may share the folder: a save holds the file's lock
/// (`<key>.json.lock`, QLockFile: a dead holder's lock is taken over) and merges what another
/// instance wrote since this one last read the file — a run on disk that this store has never
/// seen is kept, a run it has seen and no longer holds was removed here and stays removed — so
/// two windows adding runs to one model keep both, and neither loses the other's.
class RunStore
{
public:
    static constexpr int kVersion = 1;

    /// Folder of the files; empty (the default): memory only.
    void setFolder(const QString& folder);
    QString folder() const { return m_folder; }
    /// The file of `model`'s runs; empty without a folder.
    QString fileFor(const ModelIdentity& model) const;
    /// The runs kept for `model` (none: empty). Throws Error when its file cannot be read, after
    /// moving it aside: the message names the file and the backup.
    StoredRuns load(const ModelIdentity& model);
    /// Keeps `runs` as `model`'s (in memory, then in its file). Throws Error when the file cannot
    /// be written; the memory copy stays. Nothing is written for a model that never had runs.
    /// The runs written can be more than `runs` (another instance's, see above): load() returns them.
    void save(const ModelIdentity& model, const StoredRuns& runs);
    /// How long save() waits for another instance's lock before it gives up (an Error).
    void setLockTimeout(int ms) { m_lockTimeoutMs = ms; }

private:
    QString m_folder;
    QHash<QString, StoredRuns> m_memory;     ///< by ModelIdentity::key
    QHash<QString, QSet<QByteArray>> m_seen; ///< by key: the runs read from or written to its file
    QSet<QString> m_unmovable;               ///< keys whose unreadable file could not be moved aside
    int m_lockTimeoutMs = 10000;
};

} // namespace qs
