#include "store/ModelIdentity.h"

#include <QCryptographicHash>
#include <QDir>
#include <QDirIterator>
#include <QFileInfo>

namespace qs {

ModelIdentity ModelIdentity::of(const QString& modelPath)
{
    const QFileInfo info(modelPath);
    ModelIdentity id;
    if (!info.exists())
        return id;
    id.path = info.canonicalFilePath();
    QDateTime newest;
    auto add = [&](const QFileInfo& f) {
        id.bytes += f.size();
        const QDateTime t = f.lastModified().toUTC();
        if (!newest.isValid() || t > newest)
            newest = t;
    };
    if (info.isDir()) {
        QDirIterator it(id.path, QDir::Files | QDir::NoDotAndDotDot);
        while (it.hasNext()) {
            it.next();
            add(it.fileInfo());
        }
    } else {
        add(info);
    }
    id.modified = newest.isValid() ? newest : info.lastModified().toUTC();
    return id;
}

QString ModelIdentity::key() const
{
    const QString text =
        path + u'|' + QString::number(bytes) + u'|' + QString::number(modified.toMSecsSinceEpoch());
    return QString::fromLatin1(
        QCryptographicHash::hash(text.toUtf8(), QCryptographicHash::Sha1).toHex().left(20));
}

} // namespace qs
