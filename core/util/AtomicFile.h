#pragma once

#include <QSaveFile>
#include <QString>

namespace qs {

/// A file replaced atomically, every step checked. QSaveFile alone is not enough (Qt 6.4, shown by
/// tests/tst_faults with write failures injected): a buffered write that fails when commit()
/// flushes it is not reported, nor is a failed fsync, so on a full disk the old file was replaced by
/// a truncated one while the save said it succeeded. AtomicFile writes through QSaveFile unbuffered
/// (a failed write throws where it happens), fsyncs the temporary file itself and checks it, then
/// renames it over the target and syncs the folder. Every failure is a qs::Error naming the target
/// and the system's reason; until commit() succeeds the previous file is untouched, and a file that
/// is never committed leaves nothing behind.
class AtomicFile
{
public:
    explicit AtomicFile(const QString& path);
    AtomicFile(const AtomicFile&) = delete;
    AtomicFile& operator=(const AtomicFile&) = delete;

    void write(const void* data, qint64 size);
    void write(const QByteArray& bytes) { write(bytes.constData(), bytes.size()); }
    /// Moves the write position (a hole reads back as zeros) and sets the file's size.
    void seek(qint64 pos);
    void resize(qint64 size);
    /// For code that streams into a QIODevice (an image writer, say): its writes are checked again
    /// by commit(), which refuses a device in an error state.
    QIODevice& device() { return m_file; }
    void commit();
    const QString& path() const { return m_path; }

private:
    QSaveFile m_file;
    QString m_path;
};

/// fsync of a file or folder by name: 0, or the errno of the open or of the fsync that failed
/// (`opened` says which).
int syncPath(const QString& path, bool* opened = nullptr);
/// The system's text for an errno value.
QString systemErrorText(int error);

/// The whole of `bytes` as the new content of `path`, through AtomicFile.
void writeFileAtomically(const QString& path, const QByteArray& bytes);

} // namespace qs
