#include "quant/QuantizeJob.h"

#include "eval/Calibration.h"
#include "eval/Evaluation.h"
#include "model/Transformer.h"
#include "quant/AwqQuantizer.h"
#include "model/QuantizedLinear.h"
#include "quant/Quantizer.h"
#include "tokenizer/Tokenizer.h"
#include "util/Error.h"
#include "util/Paths.h"
#include "util/SystemInfo.h"

#include <QFile>
#include <QJsonArray>
#include <chrono>
#include <cmath>
#include <random>

namespace qs {

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0)
{
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

constexpr int kSampleRows = 512; ///< reservoir rows per layer (AWQ search, output error)
constexpr int kHistogramBins = 41;

/// The true-sequential groups of a block, as indices into DecoderBlockInfo::linears.
const std::vector<std::vector<int>>& sequentialGroups()
{
    static const std::vector<std::vector<int>> groups{{0, 1, 2}, {3}, {4, 5}, {6}};
    return groups;
}

} // namespace

void measureQuantizedLayer(LayerReport& rep, const float* w, const QuantizedTensor& q,
                           const LinearLayer& layer, const LinearInputStats* stats)
{
    const std::vector<float> wq = q.effectiveWeight();
    double num = 0, den = 0, mx = 0;
    for (std::size_t i = 0; i < wq.size(); ++i) {
        const double e = double(w[i]) - double(wq[i]);
        num += e * e;
        den += double(w[i]) * double(w[i]);
        mx = std::max(mx, std::fabs(e));
    }
    rep.weightRelMse = den > 0 ? num / den : 0;
    rep.weightSquaredNorm = den;
    rep.maxAbsError = mx;
    rep.histogramMin = -mx;
    rep.histogramMax = mx;
    rep.errorHistogram.assign(kHistogramBins, 0.0);
    for (std::size_t i = 0; i < wq.size(); ++i) {
        const double e = double(w[i]) - double(wq[i]);
        const int bin = mx > 0 ? std::clamp(int((e + mx) / (2 * mx) * kHistogramBins), 0, kHistogramBins - 1)
                               : kHistogramBins / 2;
        rep.errorHistogram[std::size_t(bin)] += 1;
    }
    rep.outputRelMse = std::nan("");
    if (stats && stats->sampleRows > 0) {
        const std::int64_t n = stats->sampleRows, rows = q.rows, cols = q.cols;
        std::vector<float> y(std::size_t(n * rows)), yq(std::size_t(n * rows));
        gemmXWt(stats->sampleInputs.data(), n, cols, w, rows, y.data());
        layer.forward(stats->sampleInputs.data(), n, yq.data());
        double en = 0, ed = 0;
        for (std::size_t i = 0; i < y.size(); ++i) {
            en += double(y[i] - yq[i]) * double(y[i] - yq[i]);
            ed += double(y[i]) * double(y[i]);
        }
        rep.outputRelMse = ed > 0 ? en / ed : 0;
        rep.outputSquaredNorm = ed;
    }
}

std::vector<std::vector<int>> calibrationWindows(const Tokenizer& tok, const CalibrationSettings& cal,
                                                 int bos)
{
    const QByteArray text = readTextFile(cal.text);
    std::vector<int> ids;
    try {
        ids = tok.encode(std::string_view(text.constData(), std::size_t(text.size())), false);
    } catch (const Error& e) {
        throw Error::inFile(cal.text, e.message());
    }
    const std::size_t need = std::size_t(cal.seqLen - 1);
    if (ids.size() < need + 1)
        throw Error::inFile(cal.text,
                            QStringLiteral("calibration text too short: %1 tokens, one window needs %2")
                                .arg(ids.size())
                                .arg(cal.seqLen));
    std::mt19937_64 rng(cal.seed);
    std::uniform_int_distribution<std::size_t> start(0, ids.size() - need);
    std::vector<std::vector<int>> windows;
    for (int s = 0; s < cal.samples; ++s) {
        const std::size_t b = start(rng);
        std::vector<int> w{bos};
        w.insert(w.end(), ids.begin() + std::ptrdiff_t(b), ids.begin() + std::ptrdiff_t(b + need));
        windows.push_back(std::move(w));
    }
    return windows;
}

QJsonObject LayerReport::toJson() const
{
    QJsonArray hist;
    for (double h : errorHistogram)
        hist.append(h);
    QJsonObject o{{QStringLiteral("name"), name},
                  {QStringLiteral("block"), block},
                  {QStringLiteral("kind"), kind},
                  {QStringLiteral("spec"), spec.toJson()},
                  {QStringLiteral("label"), spec.label()},
                  {QStringLiteral("bytes"), qint64(bytes)},
                  {QStringLiteral("bpw"), bitsPerWeight},
                  {QStringLiteral("weight_rel_mse"), weightRelMse},
                  {QStringLiteral("max_abs_error"), maxAbsError},
                  {QStringLiteral("histogram_min"), histogramMin},
                  {QStringLiteral("histogram_max"), histogramMax},
                  {QStringLiteral("error_histogram"), hist},
                  {QStringLiteral("seconds"), seconds}};
    if (std::isfinite(outputRelMse))
        o.insert(QStringLiteral("output_rel_mse"), outputRelMse);
    if (!note.isEmpty())
        o.insert(QStringLiteral("note"), note);
    return o;
}

QJsonObject QuantizeResult::toJson() const
{
    QJsonArray ls;
    for (const LayerReport& l : layers)
        ls.append(l.toJson());
    return QJsonObject{
        {QStringLiteral("layers"), ls},
        {QStringLiteral("seconds"), seconds},
        {QStringLiteral("calibration_seconds"), calibrationSeconds},
        {QStringLiteral("model_bytes"), qint64(modelBytes)},
        {QStringLiteral("linear_bytes"), qint64(linearBytes)},
        {QStringLiteral("linear_bpw"), linearBitsPerWeight},
        {QStringLiteral("peak_rss_bytes"), peakRssBytes},
        {QStringLiteral("calibration"), QJsonObject{{QStringLiteral("text"), calibration.text},
                                                    {QStringLiteral("samples"), calibration.samples},
                                                    {QStringLiteral("seq_len"), calibration.seqLen},
                                                    {QStringLiteral("seed"), qint64(calibration.seed)}}},
        {QStringLiteral("warnings"), QJsonArray::fromStringList(warnings)}};
}

MemoryEstimate estimateQuantizationMemory(const Model& model, const LayerPlan& plan,
                                          const CalibrationSettings& cal)
{
    const ModelConfig& c = model.config();
    MemoryEstimate e;
    for (const LinearLayerInfo& l : model.linears())
        e.modelCopy += double(l.params()) * 4.0;
    if (model.headTied())
        e.modelCopy += double(model.totals().embeddingParams) * 4.0;
    const bool calibrate = plan.needsCalibration() || !cal.text.isEmpty();
    if (calibrate)
        e.calibrationStates = double(cal.samples) * cal.seqLen * c.hiddenSize * 4.0;
    // One block: Hessians of a sequential group (f64), reservoirs, one window's activations.
    double hessians = 0;
    for (const auto& group : sequentialGroups()) {
        double g = 0;
        for (int k : group) {
            const LinearLayerInfo& l =
                model.linears()[std::size_t(model.blocks().front().linears[std::size_t(k)])];
            g += double(l.inFeatures) * double(l.inFeatures) * 8.0 * 2 +
                 kSampleRows * double(l.inFeatures + l.outFeatures) * 4.0;
        }
        hessians = std::max(hessians, g);
    }
    e.blockWorkingSet = hessians +
                        double(cal.seqLen) * (3.0 * c.intermediateSize + 4.0 * c.hiddenSize) * 4.0 +
                        double(cal.seqLen) * cal.seqLen * c.numHeads * 4.0;
    return e;
}

QuantizeResult runQuantization(std::shared_ptr<const Model> modelPtr, const LayerPlan& plan,
                               const CalibrationSettings& cal, const Tokenizer* tokenizer,
                               const JobContext& job)
{
    const auto t0 = Clock::now();
    const Model& model = *modelPtr;
    if (plan.entries.size() != model.linears().size())
        throw Error(QStringLiteral("the plan has %1 layers but the model %2")
                        .arg(plan.entries.size())
                        .arg(model.linears().size()));
    for (const LayerPlanEntry& e : plan.entries) {
        const QString problem = e.spec.validate();
        if (!problem.isEmpty())
            throw Error(e.name + u": " + problem);
    }
    const bool calibrate = plan.needsCalibration() || !cal.text.isEmpty();
    if (plan.needsCalibration() && cal.text.isEmpty())
        throw Error(
            QStringLiteral("the plan uses methods that need calibration (GPTQ, AWQ, SmoothQuant, LLM.int8) "
                           "but no calibration text was given"));
    if (calibrate &&
        (cal.samples < 1 || cal.seqLen < 16 || cal.seqLen > model.config().maxPositionEmbeddings))
        throw Error(QStringLiteral("calibration needs samples >= 1 and 16 <= seq_len <= %1")
                        .arg(model.config().maxPositionEmbeddings));
    if (calibrate && !tokenizer)
        throw Error(QStringLiteral("calibration needs the model's tokenizer"));

    const MemoryEstimate mem = estimateQuantizationMemory(model, plan, cal);
    // QUANTSCOPE_MEMORY_LIMIT (bytes) caps what a run may use below what the system has free.
    double avail = availableMemoryBytes();
    bool limitOk = false;
    const double limit = qEnvironmentVariable("QUANTSCOPE_MEMORY_LIMIT").toDouble(&limitOk);
    if (limitOk && limit > 0)
        avail = avail > 0 ? std::min(avail, limit) : limit;
    if (avail > 0 && mem.total() > avail)
        throw Error(
            QStringLiteral(
                "not enough memory: this run needs about %1 (model copy %2, calibration states %3, "
                "one block %4) but %5 is available; use fewer calibration samples or a shorter seq_len")
                .arg(formatBytes(mem.total()), formatBytes(mem.modelCopy), formatBytes(mem.calibrationStates),
                     formatBytes(mem.blockWorkingSet), formatBytes(avail)));

    QuantizeResult result;
    result.plan = plan;
    result.calibration = cal;
    job.report(0, QStringLiteral("loading"), model.displayName());
    result.model = std::make_shared<Transformer>(modelPtr);
    Transformer& t = *result.model;
    result.tensors.resize(model.linears().size());
    result.layers.resize(model.linears().size());

    const ModelConfig& c = model.config();
    const int H = c.hiddenSize;
    std::vector<std::vector<int>> windows;
    std::vector<std::vector<float>> hidden;
    if (calibrate) {
        job.report(0, QStringLiteral("calibrating"), QStringLiteral("tokenizing %1").arg(cal.text));
        const auto tc = Clock::now();
        windows = calibrationWindows(
            *tokenizer, cal, tokenizer->bosId() >= 0 ? tokenizer->bosId() : std::max(0, c.bosTokenId));
        hidden.resize(windows.size());
        for (std::size_t s = 0; s < windows.size(); ++s) {
            hidden[s].resize(windows[s].size() * std::size_t(H));
            t.embed(windows[s].data(), int(windows[s].size()), hidden[s].data());
        }
        result.calibrationSeconds += since(tc);
    }
    KvCache cache = t.makeCache(cal.seqLen);
    const int totalLayers = int(model.linears().size());
    int done = 0;

    auto quantizeLayer = [&](int li, const LinearInputStats* stats, const std::vector<float>* awqScales,
                             double awqAlpha) {
        job.checkCancelled();
        const auto tl = Clock::now();
        const LinearLayerInfo& info = model.linears()[std::size_t(li)];
        const LayerPlanEntry& entry = plan.entries[std::size_t(li)];
        const auto* dense = dynamic_cast<const DenseLinear*>(&t.linear(li));
        if (!dense)
            throw Error(info.name + QStringLiteral(": already quantized"));
        QuantizeRequest req;
        req.layerName = info.name;
        req.weight = dense->weight().data();
        req.rows = info.outFeatures;
        req.cols = info.inFeatures;
        req.stats = stats;
        req.spec = entry.spec;
        std::shared_ptr<QuantizedTensor> q;
        if (awqScales)
            q = std::make_shared<QuantizedTensor>(
                awqQuantizeWithScales(req.weight, req.rows, req.cols, req.spec, *awqScales, *stats));
        else
            q = std::make_shared<QuantizedTensor>(quantizeWeight(req, job));
        auto layer = std::make_shared<QuantizedLinear>(q, dense->bias());
        LayerReport& rep = result.layers[std::size_t(li)];
        rep.linearIndex = li;
        rep.name = info.name;
        rep.block = info.block;
        rep.kind = linearKindName(info.kind);
        rep.spec = entry.spec;
        rep.bytes = q->storageBytes();
        rep.bitsPerWeight = q->bitsPerWeight();
        measureQuantizedLayer(rep, req.weight, *q, *layer, stats);
        if (awqScales)
            rep.note = QStringLiteral("awq alpha %1 (shared scales)").arg(awqAlpha);
        rep.seconds = since(tl);
        result.tensors[std::size_t(li)] = q;
        t.setLinear(li, layer); // the float copy of this layer is released here
        ++done;
        const double elapsed = since(t0), frac = double(done) / totalLayers;
        job.report(frac, QStringLiteral("quantizing"), info.name, elapsed / frac - elapsed);
    };

    /// Quantizes a group of layers that read the same input; AWQ layers with one spec share scales.
    auto quantizeGroup = [&](const std::vector<int>& group, CalibrationCollector* col) {
        std::vector<int> awq;
        for (int li : group)
            if (plan.entries[std::size_t(li)].spec.method == QuantMethod::Awq)
                awq.push_back(li);
        const LinearInputStats* firstStats = (col && !awq.empty()) ? col->find(awq.front()) : nullptr;
        bool shared = awq.size() > 1 && firstStats;
        for (int li : awq)
            shared =
                shared && plan.entries[std::size_t(li)].spec == plan.entries[std::size_t(awq.front())].spec;
        AwqSearchResult search;
        if (shared) {
            std::vector<AwqLayer> layers;
            for (int li : awq)
                layers.push_back({dynamic_cast<const DenseLinear&>(t.linear(li)).weight().data(),
                                  model.linears()[std::size_t(li)].outFeatures});
            // The layers share one input, so the statistics of the first describe all of them.
            search = awqSearchScales(layers, model.linears()[std::size_t(awq.front())].inFeatures,
                                     *firstStats, plan.entries[std::size_t(awq.front())].spec);
        }
        for (int li : group) {
            const bool inShared = shared && std::find(awq.begin(), awq.end(), li) != awq.end();
            quantizeLayer(li, col ? col->find(li) : nullptr, inShared ? &search.scales : nullptr,
                          search.alpha);
        }
    };

    auto runBlockOnAll = [&](int b, ForwardHooks* hooks, bool update) {
        std::vector<float> tmp;
        for (std::size_t s = 0; s < windows.size(); ++s) {
            job.checkCancelled();
            cache.clear();
            float* h = hidden[s].data();
            if (!update) {
                tmp = hidden[s];
                h = tmp.data();
            }
            t.runBlock(b, cache, h, int(windows[s].size()), hooks);
        }
    };

    for (int b = 0; b < c.numLayers; ++b) {
        const DecoderBlockInfo& blk = model.blocks()[std::size_t(b)];
        for (const std::vector<int>& g : sequentialGroups()) {
            std::vector<int> group;
            for (int k : g)
                group.push_back(blk.linears[std::size_t(k)]);
            if (!calibrate) {
                quantizeGroup(group, nullptr);
                continue;
            }
            const auto tc = Clock::now();
            bool wantHessian = false;
            for (int li : group)
                wantHessian = wantHessian || plan.entries[std::size_t(li)].spec.method == QuantMethod::Gptq;
            CalibrationOptions opt;
            opt.hessian = wantHessian;
            opt.sampleRows = kSampleRows;
            opt.seed = cal.seed + std::uint64_t(b) * 16 + std::uint64_t(g.front());
            CalibrationCollector col(model, std::set<int>(group.begin(), group.end()), opt);
            job.report(double(done) / totalLayers, QStringLiteral("calibrating"),
                       QStringLiteral("block %1").arg(b));
            runBlockOnAll(b, &col, false);
            result.calibrationSeconds += since(tc);
            quantizeGroup(group, &col);
        }
        if (calibrate) { // hidden states move on through the quantized block
            const auto tc = Clock::now();
            runBlockOnAll(b, nullptr, true);
            result.calibrationSeconds += since(tc);
        }
    }
    const int headIndex = t.headLinearIndex();
    if (headIndex >= 0) {
        if (calibrate) {
            CalibrationOptions opt;
            opt.hessian = plan.entries[std::size_t(headIndex)].spec.method == QuantMethod::Gptq;
            opt.sampleRows = kSampleRows;
            opt.seed = cal.seed + 7919;
            CalibrationCollector col(model, {headIndex}, opt);
            collectHeadStatistics(t, headIndex, hidden, col, job);
            quantizeGroup({headIndex}, &col);
        } else {
            quantizeGroup({headIndex}, nullptr);
        }
    }
    result.linearBytes = plan.linearBytes(model);
    result.modelBytes = plan.modelBytes(model);
    result.linearBitsPerWeight = plan.linearBitsPerWeight(model);
    result.seconds = since(t0);
    result.peakRssBytes = peakRssBytes();
    job.report(1.0, QStringLiteral("done"), model.displayName());
    return result;
}

} // namespace qs
