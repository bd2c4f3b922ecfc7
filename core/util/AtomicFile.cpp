#include "util/AtomicFile.h"

#include "util/Error.h"

#include <QFileInfo>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace qs {

QString systemErrorText(int error)
{
    return QString::fromLocal8Bit(std::strerror(error));
}

int syncPath(const QString& path, bool* opened)
{
    const int fd = ::open(QFile::encodeName(path).constData(), O_RDONLY | O_CLOEXEC);
    if (opened)
        *opened = fd >= 0;
    if (fd < 0)
        return errno;
    const int synced = ::fsync(fd);
    const int error = errno;
    ::close(fd);
    return synced == 0 ? 0 : error;
}

AtomicFile::AtomicFile(const QString& path) : m_file(path), m_path(path)
{
    if (!m_file.open(QIODevice::WriteOnly | QIODevice::Unbuffered))
        throw Error::inFile(path, u"cannot write: " + m_file.errorString());
}

void AtomicFile::write(const void* data, qint64 size)
{
    if (size > 0 && m_file.write(static_cast<const char*>(data), size) != size)
        throw Error::inFile(m_path, u"cannot write: " + m_file.errorString());
}

void AtomicFile::seek(qint64 pos)
{
    if (!m_file.seek(pos))
        throw Error::inFile(m_path, u"cannot write: seek failed: " + m_file.errorString());
}

void AtomicFile::resize(qint64 size)
{
    if (!m_file.resize(size))
        throw Error::inFile(m_path, u"cannot write: resize failed: " + m_file.errorString());
}

void AtomicFile::commit()
{
    if (m_file.error() != QFileDevice::NoError)
        throw Error::inFile(m_path, u"cannot write: " + m_file.errorString());
    if (::fsync(m_file.handle()) != 0)
        throw Error::inFile(m_path, u"cannot write: " + systemErrorText(errno));
    if (!m_file.commit())
        throw Error::inFile(m_path, u"cannot write: " + m_file.errorString());
    // The rename is durable once the folder's entry is: without this a crash right after the save
    // could bring back the old file.
    bool opened = false;
    const int error = syncPath(QFileInfo(m_path).absolutePath(), &opened);
    if (opened && error != 0)
        throw Error::inFile(m_path,
                            u"written, but its folder could not be synced: " + systemErrorText(error));
}

void writeFileAtomically(const QString& path, const QByteArray& bytes)
{
    AtomicFile f(path);
    f.write(bytes);
    f.commit();
}

} // namespace qs
