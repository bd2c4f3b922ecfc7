#include "util/SystemInfo.h"

#include <QByteArray>
#include <QFile>

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

double peakRssBytes() { return procValue("/proc/self/status", "VmHWM:"); }
double currentRssBytes() { return procValue("/proc/self/status", "VmRSS:"); }
double availableMemoryBytes() { return procValue("/proc/meminfo", "MemAvailable:"); }

} // namespace qs
