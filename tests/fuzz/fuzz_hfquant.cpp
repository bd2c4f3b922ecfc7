// Fuzz target for GPTQ / AWQ checkpoints (io/HfQuantReader): the input is config.json (with its
// quantization_config) and model.safetensors (int32-packed qweight/qzeros, f16 scales, g_idx)
// joined by kPartSeparator, written per execution to a folder on /dev/shm and opened as the loader
// opens a model: Model::open, then every linear built (the packed words read and repacked). Any
// input either loads or fails with qs::Error. Seeds: one RTN-quantized synthetic model exported
// by exportHfQuantized as GPTQ (checkpoint_format gptq and gptq_v2) and AWQ.
#include "FuzzTarget.h"
#include "ModelFolder.h"
#include "checkpoint/HfQuantExport.h"
#include "quant/QuantizeJob.h"

#include <QDir>

namespace {

const QString kFiles[] = {QStringLiteral("config.json"), QStringLiteral("model.safetensors")};

void one(const std::uint8_t* data, std::size_t size)
{
    const qs::fuzz::ScratchFolder& f = qs::fuzz::ScratchFolder::instance();
    const std::vector<QByteArray> parts = qs::fuzz::splitParts(data, size, std::size(kFiles));
    for (std::size_t i = 0; i < parts.size(); ++i)
        f.write(kFiles[i], parts[i]);
    qs::fuzz::openModelFolder(f.path());
}

std::vector<qs::fuzz::Seed> seeds()
{
    std::vector<qs::fuzz::Seed> out;
    qs::fuzz::withQuantizedSyntheticModel([&](const qs::Model& base, const qs::QuantizeResult& r,
                                              const QString& tmp) {
        struct Variant
        {
            const char* name;
            qs::HfQuantFormat format;
            qs::GptqCheckpointFormat checkpoint;
        };
        for (const Variant& v :
             {Variant{"gptq", qs::HfQuantFormat::Gptq, qs::GptqCheckpointFormat::Gptq},
              Variant{"gptq_v2", qs::HfQuantFormat::Gptq, qs::GptqCheckpointFormat::GptqV2},
              Variant{"awq", qs::HfQuantFormat::Awq, qs::GptqCheckpointFormat::Gptq}}) {
            const QString dir = QDir(tmp).filePath(QLatin1String(v.name));
            qs::HfExportOptions o;
            o.format = v.format;
            o.checkpointFormat = v.checkpoint;
            qs::exportHfQuantized(dir, base, r, o);
            out.push_back(
                {QLatin1String(v.name) + QStringLiteral(".ckpt"),
                 qs::fuzz::joinParts({qs::fuzz::fileIn(dir, kFiles[0]), qs::fuzz::fileIn(dir, kFiles[1])})});
        }
    });
    return out;
}

std::vector<QByteArray> dictionary()
{
    std::vector<QByteArray> d = qs::fuzz::jsonDictionary();
    for (const char* k :
         {"\"quantization_config\"", "\"quant_method\"", "\"gptq\"", "\"awq\"", "\"bits\"", "\"group_size\"",
          "\"desc_act\"", "\"sym\"", "\"checkpoint_format\"", "\"gptq_v2\"", "\"dynamic\"", "\"-:\"",
          "\"+:\"", "\"qweight\"", "\"qzeros\"", "\"g_idx\"", "\"I32\"", qs::fuzz::kPartSeparator})
        d.emplace_back(k);
    return d;
}

} // namespace

const qs::fuzz::Target& qs::fuzz::target()
{
    static const Target t{"hfquant", one, seeds, dictionary};
    return t;
}
