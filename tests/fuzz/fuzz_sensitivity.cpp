// Fuzz target for saved sensitivity sweeps (analysis/SensitivityResult): any bytes either give a
// sweep — whose own JSON reads back — or fail with qs::Error. Seed: SensitivityResult::toJson of
// a sweep with schemes, single and group units and an entry.
#include "FuzzTarget.h"
#include "SessionSeeds.h"

#include <QJsonDocument>

namespace {

void one(const std::uint8_t* data, std::size_t size)
{
    const qs::SensitivityResult s = qs::SensitivityResult::fromBytes(
        QByteArray::fromRawData(reinterpret_cast<const char*>(data), qsizetype(size)),
        QStringLiteral("sweep.json"));
    try {
        (void)qs::SensitivityResult::fromBytes(QJsonDocument(s.toJson()).toJson(QJsonDocument::Compact),
                                               QStringLiteral("rewritten.json"));
    } catch (const qs::Error& e) {
        qs::fuzz::broken(u"the JSON of an accepted sweep is rejected: " + e.message());
    }
    for (const qs::SensitivityEntry& e : s.entries)
        (void)s.find(e.unit, e.scheme);
}

std::vector<qs::fuzz::Seed> seeds()
{
    return {{QStringLiteral("sweep.json"), QJsonDocument(qs::fuzz::sampleSweep().toJson()).toJson()}};
}

std::vector<QByteArray> dictionary()
{
    std::vector<QByteArray> d = qs::fuzz::jsonDictionary();
    for (const char* k : {"\"schemes\"", "\"units\"", "\"entries\"", "\"linears\"", "\"spec\"", "\"unit\"",
                          "\"scheme\"", "\"version\"", "\"eval\"", "\"calibration\""})
        d.emplace_back(k);
    return d;
}

} // namespace

const qs::fuzz::Target& qs::fuzz::target()
{
    static const Target t{"sensitivity", one, seeds, dictionary};
    return t;
}
