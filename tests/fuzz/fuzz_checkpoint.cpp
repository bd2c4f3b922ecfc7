// Fuzz target for run folders / packed checkpoints (checkpoint/QuantizedModelIO,
// io/QuantizedLayerReader, results/RunResults): the input is three files joined by
// kPartSeparator — run.json, config.json, model.safetensors (our packed layers with their specs
// in __metadata__) — written per execution to a folder on /dev/shm, then read as the runs page
// and the loader read a quantize --out folder: RunSummary::load, Model::open, every linear built.
// Any input either loads or fails with qs::Error. Seed: a synthetic model quantized with RTN and
// saved by saveQuantizedModel, with a run.json as ExperimentJob writes it.
#include "FuzzTarget.h"
#include "ModelFolder.h"
#include "checkpoint/QuantizedModelIO.h"
#include "model/Model.h"
#include "quant/QuantizeJob.h"
#include "results/RunResults.h"

#include <QDir>
#include <QJsonDocument>
#include <QJsonObject>

namespace {

const QString kFiles[] = {QStringLiteral("run.json"), QStringLiteral("config.json"),
                          QStringLiteral("model.safetensors")};

void one(const std::uint8_t* data, std::size_t size)
{
    const qs::fuzz::ScratchFolder& f = qs::fuzz::ScratchFolder::instance();
    const std::vector<QByteArray> parts = qs::fuzz::splitParts(data, size, std::size(kFiles));
    for (std::size_t i = 0; i < parts.size(); ++i)
        f.write(kFiles[i], parts[i]);
    (void)qs::RunSummary::load(f.path());
    qs::fuzz::openModelFolder(f.path());
}

std::vector<qs::fuzz::Seed> seeds()
{
    std::vector<qs::fuzz::Seed> out;
    qs::fuzz::withQuantizedSyntheticModel(
        [&](const qs::Model& base, const qs::QuantizeResult& r, const QString& tmp) {
            const QString dir = QDir(tmp).filePath(QStringLiteral("run"));
            const QJsonObject run{
                {QStringLiteral("name"), QStringLiteral("rtn4")},
                {QStringLiteral("model"), base.path()},
                {QStringLiteral("recipe_summary"), QStringLiteral("rtn int4 g32 asym")},
                {QStringLiteral("model_bytes"), qint64(r.modelBytes)},
                {QStringLiteral("bpw"), 8.0 * double(r.modelBytes) / double(base.totals().params)},
                {QStringLiteral("linear_bpw"), r.linearBitsPerWeight},
                {QStringLiteral("quantize_seconds"), r.seconds}};
            qs::saveQuantizedModel(dir, base, r, QJsonObject(), QJsonObject{{QStringLiteral("run"), run}});
            out.push_back({QStringLiteral("rtn4-g32.run"),
                           qs::fuzz::joinParts({QJsonDocument(run).toJson(), qs::fuzz::fileIn(dir, kFiles[1]),
                                                qs::fuzz::fileIn(dir, kFiles[2])})});
        });
    return out;
}

std::vector<QByteArray> dictionary()
{
    std::vector<QByteArray> d = qs::fuzz::jsonDictionary();
    for (const char* k : {"\"qweight\"", "\"scales\"", "\"qzeros\"", "\"zeros\"", "\"g_idx\"", "\"bits\"",
                          "\"group_size\"", "\"quantscope-quantized\"", "\"model_bytes\"", "\"bpw\"",
                          "\"U8\"", "\"F16\"", "\"I32\"", qs::fuzz::kPartSeparator})
        d.emplace_back(k);
    return d;
}

} // namespace

const qs::fuzz::Target& qs::fuzz::target()
{
    static const Target t{"checkpoint", one, seeds, dictionary};
    return t;
}
