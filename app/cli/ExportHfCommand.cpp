#include "Cli.h"
#include "CliOptions.h"
#include "checkpoint/HfQuantExport.h"
#include "model/Model.h"

#include <QCommandLineParser>
#include <QJsonArray>
#include <QJsonObject>

namespace cli {

/// quantscope-cli export-hf RUN_DIR --format gptq|awq --out DIR [--checkpoint-format gptq|gptq_v2] [--json]
int runExportHf(const QStringList& args)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral(
        "Exports a quantized run (a folder written by `quantize --out`) as a Hugging Face GPTQ or AWQ "
        "checkpoint (AutoGPTQ/GPTQModel \"gptq\" packing, AutoAWQ GEMM packing) with "
        "quantization_config in config.json. AWQ input scales are folded into the preceding norms / "
        "projections."));
    p.addHelpOption();
    p.addPositionalArgument(QStringLiteral("RUN_DIR"),
                            QStringLiteral("quantized model folder (quantize --out)"));
    p.addOption({QStringLiteral("format"), QStringLiteral("gptq or awq."), QStringLiteral("FORMAT")});
    p.addOption({QStringLiteral("out"), QStringLiteral("Output folder (replaced atomically)."),
                 QStringLiteral("DIR")});
    p.addOption({QStringLiteral("checkpoint-format"),
                 QStringLiteral("GPTQ zero convention: gptq (zero - 1, AutoGPTQ legacy; default) or gptq_v2 "
                                "(GPTQModel, zero as is)."),
                 QStringLiteral("FMT"), QStringLiteral("gptq")});
    p.addOption({QStringLiteral("json"), QStringLiteral("Print the written quantization_config as JSON.")});
    p.process(args);
    const QString format = p.value(QStringLiteral("format")).toLower();
    const QString cf = p.value(QStringLiteral("checkpoint-format")).toLower();
    QString m = usageProblem(p, 1, QStringLiteral("one RUN_DIR"), {QStringLiteral("out")});
    if (format != u"gptq" && format != u"awq")
        m = joinProblems(m, QStringLiteral("--format is gptq or awq, not '%1'").arg(format));
    if (cf != u"gptq" && cf != u"gptq_v2")
        m = joinProblems(m, QStringLiteral("--checkpoint-format is gptq or gptq_v2, not '%1'").arg(cf));
    if (!m.isEmpty())
        return usageError(p, m);
    qs::HfExportOptions o;
    o.format = format == u"gptq" ? qs::HfQuantFormat::Gptq : qs::HfQuantFormat::Awq;
    o.checkpointFormat = cf == u"gptq" ? qs::GptqCheckpointFormat::Gptq : qs::GptqCheckpointFormat::GptqV2;
    const auto model = qs::Model::open(p.positionalArguments().front());
    const auto tensors = qs::readModelQuantizedTensors(*model);
    const QString outDir = p.value(QStringLiteral("out"));
    const qs::HfExportReport r = qs::exportHfQuantized(outDir, *model, tensors, o);
    if (p.isSet(QStringLiteral("json"))) {
        QJsonObject j;
        j.insert(QStringLiteral("out"), outDir);
        j.insert(QStringLiteral("quantization_config"), r.quantizationConfig);
        j.insert(QStringLiteral("quantized_layers"), r.quantizedLayers);
        j.insert(QStringLiteral("float_layers"), r.floatLayers);
        j.insert(QStringLiteral("folded"), QJsonArray::fromStringList(r.foldedTensors));
        printJson(QJsonDocument(j));
        return kExitOk;
    }
    out() << "wrote " << format << " checkpoint to " << outDir << ": " << r.quantizedLayers
          << " quantized layers, " << r.floatLayers << " float layers";
    if (!r.foldedTensors.isEmpty())
        out() << ", AWQ scales folded into " << r.foldedTensors.size() << " tensors";
    out() << '\n';
    out().flush();
    return kExitOk;
}

} // namespace cli
