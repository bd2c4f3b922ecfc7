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
