#include "util/Paths.h"

#include <QDir>
#include <QFileInfo>

namespace qs {

QString findDataDirectory(const QString& repoRoot)
{
    const QString env = qEnvironmentVariable("QUANTSCOPE_DATA");
    if (!env.isEmpty())
        return QFileInfo(env).isDir() ? QFileInfo(env).absoluteFilePath() : QString();
    QStringList candidates;
    if (!repoRoot.isEmpty())
        candidates << repoRoot + u"/../shared/data";
    candidates << QDir::currentPath() + u"/../shared/data" << QDir::currentPath() + u"/../../shared/data";
    for (const QString& c : candidates) {
        if (QFileInfo(c).isDir())
            return QDir(c).canonicalPath();
    }
    return {};
}

QString roughDuration(double s)
{
    if (s < 120)
        return QStringLiteral("%1 s").arg(s, 0, 'f', 1);
    if (s < 7200)
        return QStringLiteral("%1 min").arg(s / 60, 0, 'f', 1);
    return QStringLiteral("%1 h").arg(s / 3600, 0, 'f', 1);
}

QString formatBytes(double bytes)
{
    static const char* const units[] = {"B", "kB", "MB", "GB", "TB"};
    int u = 0;
    while (bytes >= 1000.0 && u < 4) {
        bytes /= 1000.0;
        ++u;
    }
    return QString::number(bytes, 'f', u == 0 ? 0 : 2) + u' ' + QLatin1String(units[u]);
}

} // namespace qs
