#include "quant/QuantizeEstimate.h"

#include "model/Model.h"
#include "util/Error.h"
#include "util/Paths.h"
#include "util/Threads.h"

#include <chrono>
#include <map>

namespace qs {

namespace {

using Clock = std::chrono::steady_clock;

} // namespace

QuantizeEstimate estimateQuantization(std::shared_ptr<const Model> model, const LayerPlan& plan,
                                      const CalibrationSettings& calibration, const Tokenizer* tokenizer,
                                      const JobContext& job)
{
    QuantizeEstimate e;
    e.blocks = model->config().numLayers;
    e.threads = computeThreads();
    e.memory = estimateQuantizationMemory(*model, plan, calibration);
    // Block 0 starts with its first report (its calibration, or its first layer when nothing calibrates);
    // what came before is setup (loading, tokenizing and embedding the calibration windows).
    const auto t0 = Clock::now();
    double blockStart = -1;
    JobContext inner;
    inner.cancel = job.cancel;
    inner.progress = [&](const JobProgress& p) {
        if (blockStart < 0 && (p.detail == u"block 0" || p.stage == u"quantizing"))
            blockStart = std::chrono::duration<double>(Clock::now() - t0).count();
        if (job.progress)
            job.progress(JobProgress{-1.0, QStringLiteral("measuring block 0"), p.detail});
    };
    const bool whole = e.blocks <= 1;
    const QuantizeResult r = runQuantization(model, plan, calibration, tokenizer, inner, whole ? -1 : 1);
    e.measuredWholeRun = whole;
    e.blocks = std::max(1, e.blocks);
    e.setupSeconds = std::max(0.0, blockStart);
    e.blockSeconds = r.seconds - e.setupSeconds;
    std::map<QuantMethod, std::pair<double, double>> perMethod; // block 0's layers: seconds, weights
    double quantizing = 0, weights = 0;
    for (std::size_t i = 0; i < r.layers.size(); ++i) {
        const LinearLayerInfo& l = model->linears()[i];
        if (l.block != 0)
            continue;
        auto& m = perMethod[plan.entries[i].spec.method];
        m.first += r.layers[i].seconds;
        m.second += double(l.params());
        quantizing += r.layers[i].seconds;
        weights += double(l.params());
    }
    e.blockCalibration = std::max(0.0, e.blockSeconds - quantizing);
    if (whole)
        return e;
    for (std::size_t i = 0; i < plan.entries.size(); ++i) {
        const LinearLayerInfo& l = model->linears()[i];
        if (l.block >= 0 || plan.entries[i].spec.method == QuantMethod::Float)
            continue;
        const auto it = perMethod.find(plan.entries[i].spec.method);
        const double rate = it != perMethod.end() && it->second.second > 0
                                ? it->second.first / it->second.second
                            : weights > 0 ? quantizing / weights
                                          : 0.0;
        e.headSeconds += rate * double(l.params());
        e.headWeights += l.params();
    }
    return e;
}

QString QuantizeEstimate::toText() const
{
    QString t;
    if (measuredWholeRun)
        t = QStringLiteral("the model has one block: the whole run took %1 (calibration %2) on %3 threads")
                .arg(roughDuration(setupSeconds + blockSeconds), roughDuration(blockCalibration))
                .arg(threads);
    else
        t = QStringLiteral("block 0 measured on this machine at %1 threads: %2 (calibration %3), setup %4; "
                           "%5 blocks like it%6: about %7 in all")
                .arg(threads)
                .arg(roughDuration(blockSeconds), roughDuration(blockCalibration),
                     roughDuration(setupSeconds))
                .arg(blocks)
                .arg(headWeights > 0
                         ? QStringLiteral(" + %1 for the layers outside the blocks (%2 M weights at "
                                          "block 0's rate)")
                               .arg(roughDuration(headSeconds))
                               .arg(double(headWeights) / 1e6, 0, 'f', 1)
                         : QString())
                .arg(roughDuration(totalSeconds()));
    return t + QStringLiteral("; memory about %1 (estimate)").arg(formatBytes(memory.total()));
}

QJsonObject QuantizeEstimate::toJson() const
{
    return QJsonObject{{QStringLiteral("blocks"), blocks},
                       {QStringLiteral("threads"), threads},
                       {QStringLiteral("setup_seconds"), setupSeconds},
                       {QStringLiteral("block_seconds"), blockSeconds},
                       {QStringLiteral("block_calibration_seconds"), blockCalibration},
                       {QStringLiteral("head_seconds"), headSeconds},
                       {QStringLiteral("head_weights"), double(headWeights)},
                       {QStringLiteral("measured_whole_run"), measuredWholeRun},
                       {QStringLiteral("total_seconds"), totalSeconds()},
                       {QStringLiteral("memory_bytes"), memory.total()}};
}

} // namespace qs
