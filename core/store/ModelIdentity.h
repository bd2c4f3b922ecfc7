#pragma once

#include <QDateTime>
#include <QString>

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
    /// A short hex digest of path, size and time: the store's key for the model.
    QString key() const;
    bool operator==(const ModelIdentity& o) const = default;
};

} // namespace qs
