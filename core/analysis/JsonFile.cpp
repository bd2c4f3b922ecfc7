#include "analysis/JsonFile.h"

#include "util/Error.h"

#include <QFile>
#include <QJsonDocument>

namespace qs {

QJsonObject readJsonObjectFile(const QString& path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        throw Error::inFile(path, QStringLiteral("cannot open: %1").arg(f.errorString()));
    QJsonParseError pe;
    const QJsonDocument doc = QJsonDocument::fromJson(f.readAll(), &pe);
    if (pe.error != QJsonParseError::NoError || !doc.isObject())
        throw Error::inFile(
            path, QStringLiteral("not valid JSON: %1 at offset %2").arg(pe.errorString()).arg(pe.offset));
    return doc.object();
}

} // namespace qs
