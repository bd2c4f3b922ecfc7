// Fuzz target for the run store's per-model files (store/RunStore: StoredRuns, the legacy JSON files the results database imports): any bytes either
// give the runs of the model — whose own JSON reads back — or fail with qs::Error. Seeds: files
// written by StoredRuns::toJson (runs and a baseline; a baseline only).
#include "FuzzTarget.h"
#include "SessionSeeds.h"
#include "store/RunStore.h"

#include <QJsonDocument>
#include <QTimeZone>

namespace {

const qs::ModelIdentity& identity()
{
    static const qs::ModelIdentity id{QStringLiteral("/models/stories260K"), 1040000,
                                      QDateTime::fromSecsSinceEpoch(1764000000, QTimeZone::utc())};
    return id;
}

void one(const std::uint8_t* data, std::size_t size)
{
    const qs::StoredRuns r = qs::StoredRuns::fromJson(
        QByteArray::fromRawData(reinterpret_cast<const char*>(data), qsizetype(size)),
        QStringLiteral("runs.json"), identity());
    try {
        (void)qs::StoredRuns::fromJson(QJsonDocument(r.toJson(identity())).toJson(QJsonDocument::Compact),
                                       QStringLiteral("rewritten.json"), identity());
    } catch (const qs::Error& e) {
        qs::fuzz::broken(u"the JSON of accepted runs is rejected: " + e.message());
    }
}

std::vector<qs::fuzz::Seed> seeds()
{
    qs::StoredRuns full;
    full.runs.push_back({qs::fuzz::sampleRun(QStringLiteral("rtn4"), false),
                         qs::Recipe::fromJson(qs::Recipe::templateJson(), QStringLiteral("template")), true});
    full.baseline = qs::fuzz::sampleRun(QStringLiteral("float"), true);
    qs::StoredRuns baselineOnly;
    baselineOnly.baseline = qs::fuzz::sampleRun(QStringLiteral("float"), true);
    return {{QStringLiteral("full.json"), QJsonDocument(full.toJson(identity())).toJson()},
            {QStringLiteral("baseline.json"), QJsonDocument(baselineOnly.toJson(identity())).toJson()}};
}

std::vector<QByteArray> dictionary()
{
    std::vector<QByteArray> d = qs::fuzz::jsonDictionary();
    for (const char* k : {"\"format\"", "\"quantscope-runs\"", "\"version\"", "\"runs\"", "\"baseline\"",
                          "\"model\"", "\"layers\"", "\"recipe\""})
        d.emplace_back(k);
    return d;
}

} // namespace

const qs::fuzz::Target& qs::fuzz::target()
{
    static const Target t{"runstore", one, seeds, dictionary};
    return t;
}
