#include "tokenizer/HfPostProcessors.h"

#include "tokenizer/HfJson.h"

#include <QJsonArray>
#include <QJsonObject>

namespace qs::hf {

namespace {

std::vector<int> templatePrefix(const JsonReader& json, const QJsonObject& o, const QString& where)
{
    std::vector<int> ids;
    const QJsonObject specials = o.value(u"special_tokens").toObject();
    const QJsonArray single = o.value(u"single").toArray();
    for (const QJsonValue item : single) {
        const QJsonObject io = item.toObject();
        if (io.contains(u"Sequence"))
            break;
        const QString name = io.value(u"SpecialToken").toObject().value(u"id").toString();
        if (name.isEmpty())
            json.fail(where + u".single", QStringLiteral("expected SpecialToken or Sequence items"));
        const QJsonValue st = specials.value(name);
        if (!st.isObject())
            json.fail(where + u".special_tokens", u"no entry for '" + name + u'\'');
        for (const QJsonValue id : st.toObject().value(u"ids").toArray())
            ids.push_back(id.toInt());
    }
    return ids;
}

} // namespace

std::vector<int> readPostProcessorPrefix(const JsonReader& json, const QJsonValue& v, const QString& where)
{
    const QString type = json.typeOf(v, where);
    const QJsonObject o = v.toObject();
    std::vector<int> ids;
    if (type == u"TemplateProcessing")
        return templatePrefix(json, o, where);
    if (type == u"BertProcessing" || type == u"RobertaProcessing") {
        const QJsonArray cls = o.value(u"cls").toArray();
        if (cls.size() != 2)
            json.fail(where, QStringLiteral("\"cls\" must be [token, id]"));
        ids.push_back(cls[1].toInt());
        return ids;
    }
    if (type == u"ByteLevel")
        return ids; // offsets only
    if (type == u"Sequence") {
        const auto parts =
            json.list(o, QStringLiteral("processors"), where, [&](const QJsonValue& item, const QString& at) {
                return readPostProcessorPrefix(json, item, at);
            });
        for (const std::vector<int>& p : parts)
            ids.insert(ids.end(), p.begin(), p.end());
        return ids;
    }
    json.unsupported(
        QStringLiteral("post_processor"), type, where,
        QStringLiteral("TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel, Sequence"));
}

} // namespace qs::hf
