#include "FuzzTarget.h"
#include "TestSupport.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace qs::fuzz {

void broken(const QString& what)
{
    std::fprintf(stderr, "fuzz_%s: INVARIANT BROKEN: %s\n", target().name, qPrintable(what));
    std::abort();
}

QByteArray dataFile(const QString& relative)
{
    const QString path = test::dataPath(relative);
    if (path.isEmpty())
        throw MissingData{test::skipMessage(relative)};
    return readBack(path);
}

QByteArray dataFileIfPresent(const QString& relative)
{
    const QString path = test::dataPath(relative);
    return path.isEmpty() ? QByteArray() : readBack(path);
}

QByteArray readBack(const QString& path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) {
        std::fprintf(stderr, "fuzz_%s: cannot read %s\n", target().name, qPrintable(path));
        std::abort();
    }
    return f.readAll();
}

std::vector<QByteArray> jsonDictionary()
{
    return {"{",
            "}",
            "[",
            "]",
            ",",
            ":",
            "\"",
            "\"\"",
            "null",
            "true",
            "false",
            "0",
            "-1",
            "1e308",
            "-0",
            "0.5",
            "1e-7",
            "2147483648",
            "-2147483649",
            "9007199254740993",
            "18446744073709551616",
            "\"\\u0000\"",
            "{}",
            "[]",
            "\"x\"",
            "[[]]",
            "\"\\ud800\""};
}

QByteArray joinParts(const std::vector<QByteArray>& parts)
{
    QByteArray out;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        if (i > 0)
            out += kPartSeparator;
        out += parts[i];
    }
    return out;
}

std::vector<QByteArray> splitParts(const std::uint8_t* data, std::size_t size, std::size_t n)
{
    const QByteArray all = QByteArray::fromRawData(reinterpret_cast<const char*>(data), qsizetype(size));
    const qsizetype sepLen = qsizetype(std::strlen(kPartSeparator));
    std::vector<QByteArray> parts;
    qsizetype from = 0;
    while (parts.size() + 1 < n) {
        const qsizetype at = all.indexOf(kPartSeparator, from);
        if (at < 0)
            break;
        parts.push_back(all.mid(from, at - from));
        from = at + sepLen;
    }
    parts.push_back(from <= all.size() ? all.mid(from) : QByteArray());
    parts.resize(n);
    return parts;
}

ScratchFolder& ScratchFolder::instance()
{
    static ScratchFolder folder;
    return folder;
}

ScratchFolder::ScratchFolder()
{
    const QString base =
        QFileInfo(QStringLiteral("/dev/shm")).isWritable() ? QStringLiteral("/dev/shm") : QDir::tempPath();
    m_path = QDir(base).filePath(
        QStringLiteral("quantscope-fuzz-%1-%2").arg(QLatin1String(target().name)).arg(::getpid()));
    QDir(m_path).removeRecursively();
    if (!QDir().mkpath(m_path)) {
        std::fprintf(stderr, "fuzz_%s: cannot create %s\n", target().name, qPrintable(m_path));
        std::abort();
    }
}

ScratchFolder::~ScratchFolder()
{
    QDir(m_path).removeRecursively();
}

QString ScratchFolder::file(const QString& name) const
{
    return QDir(m_path).filePath(name);
}

void ScratchFolder::write(const QString& name, const QByteArray& bytes) const
{
    const auto held = m_written.find(name);
    if (held != m_written.end() && held->second == bytes)
        return;
    const QByteArray native = QFile::encodeName(file(name));
    // A fresh file each time: truncating and rewriting one makes ext4 flush it on close (auto_da_alloc).
    ::unlink(native.constData());
    const int fd = ::open(native.constData(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    bool ok = fd >= 0;
    for (qsizetype done = 0; ok && done < bytes.size();) {
        const ssize_t n = ::write(fd, bytes.constData() + done, std::size_t(bytes.size() - done));
        ok = n > 0;
        done += n > 0 ? qsizetype(n) : 0;
    }
    if (fd >= 0)
        ok = ::close(fd) == 0 && ok;
    if (!ok) {
        std::fprintf(stderr, "fuzz_%s: cannot write %s\n", target().name, qPrintable(file(name)));
        std::abort();
    }
    // A deep copy: a part may be a view of the fuzzer's input buffer (fromRawData), gone after this run.
    m_written.insert_or_assign(name, QByteArray(bytes.constData(), bytes.size()));
}

} // namespace qs::fuzz
