#include "Benchmarks.h"

#include "model/Model.h"
#include "quant/QuantizeJob.h"
#include "tokenizer/Tokenizer.h"
#include "util/Paths.h"

#include <QDir>
#include <QFileInfo>

namespace qs::bench {

QJsonObject quantizeModel(const Options& opt)
{
    const QString data = opt.dataDir.isEmpty() ? findDataDirectory() : opt.dataDir;
    const QString modelPath = QDir(data).filePath(QStringLiteral("stories260K"));
    const QString calib = QDir(data).filePath(QStringLiteral("kjv/train.txt"));
    if (data.isEmpty() || !QFileInfo(modelPath).isDir() || !QFileInfo::exists(calib))
        return QJsonObject{{QStringLiteral("benchmark"), QStringLiteral("gptq-model")},
                           {QStringLiteral("skipped"), QStringLiteral("stories260K or kjv/train.txt not found")}};
    const auto model = Model::open(modelPath);
    const auto tok = Tokenizer::load(modelPath);
    QuantSpec spec;
    spec.method = QuantMethod::Gptq;
    spec.bits = 4;
    spec.groupSize = 32;
    CalibrationSettings cal;
    cal.text = calib;
    cal.samples = opt.quick ? 32 : 128;
    cal.seqLen = opt.quick ? 128 : 512;
    const double rss0 = peakRssBytes();
    const QuantizeResult r = runQuantization(model, LayerPlan::uniform(*model, spec), cal, tok.get());
    double quantSeconds = 0;
    for (const LayerReport& l : r.layers)
        quantSeconds += l.seconds;
    if (opt.log)
        opt.log(QStringLiteral("gptq-model: %1 s total, %2 s calibration forward passes, %3 s quantizing")
                    .arg(r.seconds, 0, 'f', 2)
                    .arg(r.calibrationSeconds, 0, 'f', 2)
                    .arg(quantSeconds, 0, 'f', 2));
    return QJsonObject{{QStringLiteral("benchmark"), QStringLiteral("gptq-model")},
                       {QStringLiteral("model"), QStringLiteral("stories260K")},
                       {QStringLiteral("spec"), spec.label()},
                       {QStringLiteral("calibration_tokens"), QStringLiteral("%1 x %2").arg(cal.samples).arg(cal.seqLen)},
                       {QStringLiteral("seconds"), r.seconds},
                       {QStringLiteral("calibration_seconds"), r.calibrationSeconds},
                       {QStringLiteral("quantize_seconds"), quantSeconds},
                       {QStringLiteral("peak_rss_bytes"), peakRssBytes()},
                       {QStringLiteral("peak_rss_bytes_before"), rss0},
                       {QStringLiteral("machine"), machineInfo()}};
}

} // namespace qs::bench
