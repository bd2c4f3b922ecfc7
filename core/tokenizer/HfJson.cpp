#include "tokenizer/HfJson.h"

#include "util/Error.h"

#include <limits>

namespace qs::hf {

void JsonReader::fail(const QString& where, const QString& what) const
{
    throw Error::inFile(m_file, where.isEmpty() ? what : where + u": " + what);
}

void JsonReader::unsupported(const QString& kind, const QString& type, const QString& where,
                             const QString& supported) const
{
    fail(where, u"unsupported " + kind + u" type '" + type + u"' (supported: " + supported + u')');
}

QString JsonReader::typeOf(const QJsonValue& v, const QString& where) const
{
    if (!v.isObject())
        fail(where, QStringLiteral("expected an object"));
    const QJsonValue t = v.toObject().value(u"type");
    if (!t.isString())
        fail(where, QStringLiteral("missing \"type\""));
    return t.toString();
}

std::string JsonReader::str(const QJsonObject& o, const QString& key, const QString& where,
                            const char* def) const
{
    const QJsonValue v = o.value(key);
    if ((v.isUndefined() || v.isNull()) && def)
        return def;
    if (!v.isString())
        fail(where, u"\"" + key + u"\" must be a string");
    return v.toString().toStdString();
}

int JsonReader::tokenId(const QJsonValue& v, const QString& where, const QString& what) const
{
    const qint64 id = v.isDouble() ? v.toInteger(-1) : -1;
    if (id < 0 || id >= std::numeric_limits<int>::max())
        fail(where,
             what +
                 QStringLiteral(" must be an integer from 0 to %1").arg(std::numeric_limits<int>::max() - 1));
    return int(id);
}

bool JsonReader::boolean(const QJsonObject& o, const QString& key, bool def) const
{
    const QJsonValue v = o.value(key);
    if (v.isUndefined() || v.isNull())
        return def;
    if (!v.isBool())
        fail(QString(), u"\"" + key + u"\" must be true or false");
    return v.toBool();
}

char32_t JsonReader::singleChar(const std::string& s, const QString& where, const QString& key) const
{
    std::size_t pos = 0;
    if (s.empty())
        fail(where, u"\"" + key + u"\" must be one character");
    const char32_t c = utf8::next(s, pos);
    if (pos != s.size())
        fail(where, u"\"" + key + u"\" must be one character");
    return c;
}

Pattern JsonReader::pattern(const QJsonValue& v, const QString& where) const
{
    const QJsonObject o = v.toObject();
    Pattern p;
    if (o.value(u"String").isString()) {
        p.literal = o.value(u"String").toString().toStdString();
    } else if (o.value(u"Regex").isString()) {
        try {
            p.regex = std::make_unique<Regex>(o.value(u"Regex").toString().toStdString());
        } catch (const Error& e) {
            fail(where + u".pattern", e.message());
        }
    } else {
        fail(where, QStringLiteral("\"pattern\" must be {\"String\": …} or {\"Regex\": …}"));
    }
    return p;
}

} // namespace qs::hf
