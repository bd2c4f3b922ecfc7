#pragma once

#include <QByteArray>
#include <QString>
#include <cstdint>
#include <memory>

namespace qs {

/// A read-only memory mapping of a whole file. Pages are touched only when read, so opening a
/// multi-gigabyte checkpoint costs nothing until its data is used.
class MappedFile
{
public:
    /// Throws qs::Error naming the file when it cannot be opened or mapped.
    static std::shared_ptr<const MappedFile> open(const QString& path);
    /// Bytes already in memory, presented as a file named `path` (what errors name): the parsers
    /// built on MappedFile read them as they would read the file, without a copy on disk.
    static std::shared_ptr<const MappedFile> fromBytes(QByteArray bytes, const QString& path);
    ~MappedFile();
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    const QString& path() const { return m_path; }
    const unsigned char* data() const { return m_data; }
    std::uint64_t size() const { return m_size; }
    /// Copies `bytes` bytes from `at` (inside data()) into dst by reading the file (pread), not
    /// the map: the mapping's pages stay out of the resident set. For scattered rows (embedding
    /// lookups): through the map every fault makes up to 64 KB around it resident. Throws
    /// qs::Error naming the file when the read fails or comes up short.
    void read(const unsigned char* at, std::uint64_t bytes, void* dst) const;

private:
    MappedFile() = default;
    QString m_path;
    QByteArray m_bytes; ///< fromBytes: the data (nothing is mapped)
    int m_fd = -1;      ///< open: the file, for read()
    const unsigned char* m_data = nullptr;
    std::uint64_t m_size = 0;
};

/// Drops the pages of a mapped range from this process's resident set (madvise DONTNEED on the
/// whole pages inside [begin, begin + bytes)); the data stays in the file and is read again if
/// touched. For memory bounds: a quantizer releases a float layer once its packed form replaced it.
void releaseMappedPages(const void* begin, std::uint64_t bytes);

} // namespace qs
