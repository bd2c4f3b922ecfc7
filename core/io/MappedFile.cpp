#include "io/MappedFile.h"

#include "util/Error.h"

#include <QFile>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace qs {

std::shared_ptr<const MappedFile> MappedFile::open(const QString& path)
{
    const QByteArray native = QFile::encodeName(path);
    const int fd = ::open(native.constData(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        throw Error::inFile(path, u"cannot open: " + QString::fromLocal8Bit(std::strerror(errno)));
    struct stat st
    {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        throw Error::inFile(path, QStringLiteral("not a regular file"));
    }
    std::shared_ptr<MappedFile> f(new MappedFile);
    f->m_path = path;
    f->m_size = static_cast<std::uint64_t>(st.st_size);
    if (f->m_size > 0) {
        void* p = ::mmap(nullptr, f->m_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            const int err = errno;
            ::close(fd);
            throw Error::inFile(path, u"cannot map: " + QString::fromLocal8Bit(std::strerror(err)));
        }
        f->m_data = static_cast<const unsigned char*>(p);
    }
    f->m_fd = fd;
    return f;
}

std::shared_ptr<const MappedFile> MappedFile::fromBytes(QByteArray bytes, const QString& path)
{
    std::shared_ptr<MappedFile> f(new MappedFile);
    f->m_path = path;
    f->m_bytes = std::move(bytes);
    f->m_size = static_cast<std::uint64_t>(f->m_bytes.size());
    if (f->m_size > 0)
        f->m_data = reinterpret_cast<const unsigned char*>(f->m_bytes.constData());
    return f;
}

MappedFile::~MappedFile()
{
    if (m_data && m_bytes.isNull())
        ::munmap(const_cast<unsigned char*>(m_data), m_size);
    if (m_fd >= 0)
        ::close(m_fd);
}

void MappedFile::read(const unsigned char* at, std::uint64_t bytes, void* dst) const
{
    const std::uint64_t offset = std::uint64_t(at - m_data);
    if (at < m_data || offset > m_size || bytes > m_size - offset)
        throw Error::inFile(m_path, QStringLiteral("read of %1 bytes at %2 is outside the file (%3 bytes)")
                                        .arg(bytes)
                                        .arg(offset)
                                        .arg(m_size));
    if (m_fd < 0) {
        std::memcpy(dst, at, bytes);
        return;
    }
    auto* out = static_cast<unsigned char*>(dst);
    for (std::uint64_t done = 0; done < bytes;) {
        const ssize_t got = ::pread(m_fd, out + done, bytes - done, off_t(offset + done));
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            throw Error::inFile(m_path, got < 0
                                            ? u"cannot read: " + QString::fromLocal8Bit(std::strerror(errno))
                                            : QStringLiteral("the file became shorter while open"));
        done += std::uint64_t(got);
    }
}

void releaseMappedPages(const void* begin, std::uint64_t bytes)
{
    const long page = sysconf(_SC_PAGESIZE);
    if (page <= 0 || bytes == 0)
        return;
    const auto b = reinterpret_cast<std::uintptr_t>(begin);
    const std::uintptr_t first = (b + std::uintptr_t(page) - 1) / std::uintptr_t(page) * std::uintptr_t(page);
    const std::uintptr_t last = (b + bytes) / std::uintptr_t(page) * std::uintptr_t(page);
    if (last > first)
        madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
}

} // namespace qs
