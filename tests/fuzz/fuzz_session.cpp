// Fuzz target for session files (session/Session): any bytes either give a session whose own
// JSON reads back, or fail with qs::Error. The session holds the recipe, run summaries, the float
// baseline and a sensitivity sweep, so their readers are fuzzed through it too. Seeds: sessions
// written by Session::toJson (empty, and with every part set).
#include "FuzzTarget.h"
#include "SessionSeeds.h"

#include <QJsonDocument>

namespace {

void one(const std::uint8_t* data, std::size_t size)
{
    const qs::Session s =
        qs::Session::fromJson(QByteArray::fromRawData(reinterpret_cast<const char*>(data), qsizetype(size)),
                              QStringLiteral("session.json"));
    try {
        (void)qs::Session::fromJson(QJsonDocument(s.toJson()).toJson(QJsonDocument::Compact),
                                    QStringLiteral("rewritten.json"));
    } catch (const qs::Error& e) {
        qs::fuzz::broken(u"the JSON of an accepted session is rejected: " + e.message());
    }
}

std::vector<qs::fuzz::Seed> seeds()
{
    qs::Session full;
    full.modelPath = QStringLiteral("/models/stories260K");
    full.recipe = qs::Recipe::fromJson(qs::Recipe::templateJson(), QStringLiteral("template"));
    full.page = QStringLiteral("runsPage");
    full.runs.push_back({qs::fuzz::sampleRun(QStringLiteral("rtn4"), false), qs::Recipe(), true});
    full.runs.push_back({qs::fuzz::sampleRun(QStringLiteral("rtn4-b"), false), qs::Recipe(), false});
    full.baseline = qs::fuzz::sampleRun(QStringLiteral("float"), true);
    full.sensitivity = qs::fuzz::sampleSweep();
    return {{QStringLiteral("empty.json"), QJsonDocument(qs::Session().toJson()).toJson()},
            {QStringLiteral("full.json"), QJsonDocument(full.toJson()).toJson()}};
}

std::vector<QByteArray> dictionary()
{
    std::vector<QByteArray> d = qs::fuzz::jsonDictionary();
    for (const char* k : {"\"format\"", "\"quantscope-session\"", "\"version\"", "\"runs\"", "\"recipe\"",
                          "\"baseline\"", "\"sensitivity\"", "\"layers\"", "\"shown\"", "\"entries\"",
                          "\"units\"", "\"schemes\"", "\"error_histogram\""})
        d.emplace_back(k);
    return d;
}

} // namespace

const qs::fuzz::Target& qs::fuzz::target()
{
    static const Target t{"session", one, seeds, dictionary};
    return t;
}
