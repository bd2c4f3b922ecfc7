// Fuzz target for recipe JSON (recipe/Recipe): any bytes either give a recipe whose canonical JSON
// reads back as an equal recipe, or fail with qs::Error. Seeds: Recipe::templateJson (several
// rules, keep_float, calibration) and a minimal recipe written by Recipe::toJson.
#include "FuzzTarget.h"
#include "recipe/Recipe.h"

#include <QJsonDocument>

namespace {

void one(const std::uint8_t* data, std::size_t size)
{
    const qs::Recipe r =
        qs::Recipe::fromJson(QByteArray::fromRawData(reinterpret_cast<const char*>(data), qsizetype(size)),
                             QStringLiteral("recipe.json"));
    const QByteArray canonical = QJsonDocument(r.toJson()).toJson(QJsonDocument::Compact);
    qs::Recipe again;
    try {
        again = qs::Recipe::fromJson(canonical, QStringLiteral("canonical.json"));
    } catch (const qs::Error& e) {
        qs::fuzz::broken(u"the canonical JSON of an accepted recipe is rejected: " + e.message());
    }
    if (!(again == r))
        qs::fuzz::broken(QStringLiteral("the canonical JSON reads back as another recipe: ") +
                         QString::fromUtf8(canonical));
}

std::vector<qs::fuzz::Seed> seeds()
{
    qs::Recipe minimal;
    minimal.name = QStringLiteral("minimal");
    return {{QStringLiteral("template.json"), qs::Recipe::templateJson()},
            {QStringLiteral("minimal.json"), QJsonDocument(minimal.toJson()).toJson()}};
}

std::vector<QByteArray> dictionary()
{
    std::vector<QByteArray> d = qs::fuzz::jsonDictionary();
    for (const char* k : {"\"rules\"",  "\"match\"", "\"defaults\"",   "\"keep_float\"",  "\"calibration\"",
                          "\"method\"", "\"bits\"",  "\"group_size\"", "\"granularity\"", "\"gptq\"",
                          "\"awq\"",    "\"rtn\"",   "\"hqq\"",        "\"dtype\"",       "\"(\"",
                          "\"[\"",      "\"\\\\\"",  "\"version\"",    "\"seed\"",        "\"samples\""})
        d.emplace_back(k);
    return d;
}

} // namespace

const qs::fuzz::Target& qs::fuzz::target()
{
    static const Target t{"recipe", one, seeds, dictionary};
    return t;
}
