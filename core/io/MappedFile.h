#pragma once

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
    ~MappedFile();
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    const QString& path() const { return m_path; }
    const unsigned char* data() const { return m_data; }
    std::uint64_t size() const { return m_size; }

private:
    MappedFile() = default;
    QString m_path;
    const unsigned char* m_data = nullptr;
    std::uint64_t m_size = 0;
};

} // namespace qs
