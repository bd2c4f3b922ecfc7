#include "util/SystemInfo.h"

#include "util/Error.h"
#include "util/Paths.h"

#include <QByteArray>
#include <QFile>
#include <QRegularExpression>
#include <QStringList>
#include <algorithm>
#include <cmath>

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
double anonHugePageBytes()
{
    return procValue("/proc/self/smaps_rollup", "AnonHugePages:");
}
double loadAverage()
{
    QFile f(QStringLiteral("/proc/loadavg"));
    if (!f.open(QIODevice::ReadOnly))
        return -1.0;
    bool ok = false;
    const double v = f.readLine().split(' ').value(0).toDouble(&ok);
    return ok ? v : -1.0;
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

namespace {

/// QUANTSCOPE_MEMORY_LIMIT: bytes, or a number with K, M, G or T (powers of 1024, "B"/"iB" may
/// follow: 512M, 8GiB, 1.5G). Unset or empty: 0 (no limit). Anything else is an error, not ignored.
double memoryLimitFromEnvironment()
{
    const QString text = qEnvironmentVariable("QUANTSCOPE_MEMORY_LIMIT").trimmed();
    if (text.isEmpty())
        return 0;
    static const QRegularExpression re(QStringLiteral("^([0-9]+(?:\\.[0-9]+)?)\\s*([KMGT]?)(?:i?B)?$"),
                                       QRegularExpression::CaseInsensitiveOption);
    const QRegularExpressionMatch m = re.match(text);
    if (!m.hasMatch() || m.captured(1).toDouble() <= 0)
        throw Error(QStringLiteral("QUANTSCOPE_MEMORY_LIMIT=%1 is not a memory size (examples: 8G, 512M, "
                                   "1073741824)")
                        .arg(text));
    const QString suffix = m.captured(2).toUpper();
    const int power = suffix.isEmpty() ? 0 : int(QStringLiteral("KMGT").indexOf(suffix)) + 1;
    return m.captured(1).toDouble() * std::pow(1024.0, power);
}

} // namespace

double usableMemoryBytes()
{
    double avail = availableMemoryBytes();
    const double limit = memoryLimitFromEnvironment();
    if (limit > 0)
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
