#include "util/SystemInfo.h"

#include "util/Error.h"
#include "util/Paths.h"

#include <QByteArray>
#include <QFile>
#include <QStringList>
#include <algorithm>

namespace qs {

namespace {

/// The value in kB of a "Key:   1234 kB" line of a /proc file, in bytes.
double procValue(const char* file, const char* key)
{
    QFile f(QString::fromLatin1(file));
    if (!f.open(QIODevice::ReadOnly))
        return 0;
    const QByteArray k(key);
    for (const QByteArray& line : f.readAll().split('\n')) {
        if (line.startsWith(k))
            return line.mid(k.size()).trimmed().split(' ').front().toDouble() * 1024.0;
    }
    return 0;
}

} // namespace

double peakRssBytes()
{
    return procValue("/proc/self/status", "VmHWM:");
}
double currentRssBytes()
{
    return procValue("/proc/self/status", "VmRSS:");
}
double availableMemoryBytes()
{
    return procValue("/proc/meminfo", "MemAvailable:");
}

} // namespace qs

namespace qs {

double MemoryNeed::total() const
{
    double t = 0;
    for (const auto& p : parts)
        t += p.second;
    return t;
}

QString MemoryNeed::describe() const
{
    QStringList out;
    for (const auto& [label, bytes] : parts)
        out << label + u' ' + formatBytes(bytes);
    return out.join(QStringLiteral(", "));
}

double usableMemoryBytes()
{
    double avail = availableMemoryBytes();
    bool ok = false;
    const double limit = qEnvironmentVariable("QUANTSCOPE_MEMORY_LIMIT").toDouble(&ok);
    if (ok && limit > 0)
        avail = avail > 0 ? std::min(avail, limit) : limit;
    return avail;
}

void requireMemory(const QString& what, const MemoryNeed& need, const QString& advice)
{
    const double avail = usableMemoryBytes();
    if (avail <= 0 || need.total() <= avail)
        return;
    throw Error(QStringLiteral("not enough memory: %1 needs about %2 (%3) but %4 is available%5")
                    .arg(what, formatBytes(need.total()), need.describe(), formatBytes(avail),
                         advice.isEmpty() ? QString() : QStringLiteral("; ") + advice));
}

} // namespace qs
