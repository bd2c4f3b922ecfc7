#include "quant/QuantizeJob.h"

#include "eval/Calibration.h"
#include "eval/Evaluation.h"
#include "io/SafetensorsWriter.h"
#include "io/TensorStore.h"
#include "model/QuantizedLinear.h"
#include "model/Transformer.h"
#include "quant/AwqQuantizer.h"
#include "quant/Quantizer.h"
#include "tokenizer/Tokenizer.h"
#include "util/Error.h"
#include "util/Paths.h"
#include "util/StreamBuffer.h"
#include "util/SystemInfo.h"
#include "util/Threads.h"

#include <QFile>
#include <QJsonArray>
#include <atomic>
#include <chrono>
#include <cmath>
#include <mutex>
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

/// Bytes of the f32 working copies made by floatLayerRequest that are alive (liveWorkingCopyBytes).
std::atomic<std::uint64_t> g_liveWorkingCopyBytes{0};
/// Bytes of a stored tensor the checkpoint writer copies at a time (SafetensorsWriter::kChunkBytes).
constexpr std::uint64_t kWritePieceBytes = SafetensorsWriter::kChunkBytes;
constexpr std::int64_t kMeasureBlockValues = std::int64_t(1) << 20; ///< weights per measured row block

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
    measureWeightError(rep, w, q);
    measureOutputError(rep, w, layer, stats);
}

void measureWeightError(LayerReport& rep, const float* w, const QuantizedTensor& q)
{
    // Two passes over the reconstructed weight, a block of rows at a time (never a whole
    // dequantized copy: the head of a large model is gigabytes in f32): the errors and their
    // maximum, then their histogram over [-max, max]. Rows spread over the compute threads; the sums
    // are each row's own, added in row order, and the histogram counts whole numbers, so the report
    // is the same on any number of threads.
    const std::int64_t cols = q.cols, blockRows = std::max<std::int64_t>(1, kMeasureBlockValues / cols);
    std::vector<float> wq;
    resizeOnHugePages(wq, std::size_t(std::min(blockRows, q.rows) * cols));
    struct RowSums
    {
        double num = 0, den = 0, max = 0;
    };
    std::vector<RowSums> rowSums(std::size_t(std::min(blockRows, q.rows)));
    double num = 0, den = 0, mx = 0;
    for (std::int64_t r0 = 0; r0 < q.rows; r0 += blockRows) {
        const std::int64_t r1 = std::min(q.rows, r0 + blockRows);
        q.effectiveRows(r0, r1, wq.data());
        forEachRowRange(r1 - r0, cols, [&](std::int64_t first, std::int64_t count) {
            for (std::int64_t i = first; i < first + count; ++i) {
                const float *x = w + (r0 + i) * cols, *y = wq.data() + i * cols;
                RowSums s;
                for (std::int64_t c = 0; c < cols; ++c) {
                    const double e = double(x[c]) - double(y[c]);
                    s.num += e * e;
                    s.den += double(x[c]) * double(x[c]);
                    s.max = std::max(s.max, std::fabs(e));
                }
                rowSums[std::size_t(i)] = s;
            }
        });
        for (std::int64_t i = 0; i < r1 - r0; ++i) {
            num += rowSums[std::size_t(i)].num;
            den += rowSums[std::size_t(i)].den;
            mx = std::max(mx, rowSums[std::size_t(i)].max);
        }
    }
    rep.weightRelMse = den > 0 ? num / den : 0;
    rep.weightSquaredNorm = den;
    rep.maxAbsError = mx;
    rep.histogramMin = -mx;
    rep.histogramMax = mx;
    rep.errorHistogram.assign(kHistogramBins, 0.0);
    std::mutex merge;
    for (std::int64_t r0 = 0; r0 < q.rows; r0 += blockRows) {
        const std::int64_t r1 = std::min(q.rows, r0 + blockRows);
        if (q.rows > blockRows) // else the one block is still in wq
            q.effectiveRows(r0, r1, wq.data());
        forEachRowRange(r1 - r0, cols, [&](std::int64_t first, std::int64_t count) {
            std::vector<double> bins(kHistogramBins, 0.0);
            const float *x = w + (r0 + first) * cols, *y = wq.data() + first * cols;
            for (std::int64_t i = 0; i < count * cols; ++i) {
                const double e = double(x[i]) - double(y[i]);
                const int bin =
                    mx > 0 ? std::clamp(int((e + mx) / (2 * mx) * kHistogramBins), 0, kHistogramBins - 1)
                           : kHistogramBins / 2;
                bins[std::size_t(bin)] += 1;
            }
            const std::lock_guard<std::mutex> lock(merge);
            for (int k = 0; k < kHistogramBins; ++k)
                rep.errorHistogram[std::size_t(k)] += bins[std::size_t(k)];
        });
    }
}

void measureOutputError(LayerReport& rep, const float* w, const LinearLayer& layer,
                        const LinearInputStats* stats)
{
    rep.outputRelMse = std::nan("");
    if (stats && stats->sampleRows > 0) {
        const std::int64_t n = stats->sampleRows, rows = layer.outFeatures(), cols = layer.inFeatures();
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

MemoryNeed MemoryEstimate::need() const
{
    MemoryNeed n;
    n.add(QStringLiteral("quantized layers"), quantizedLayers);
    n.add(QStringLiteral("one layer while it is quantized"), layerCopy);
    n.add(QStringLiteral("float parts"), floatParts);
    if (calibrationStates > 0)
        n.add(QStringLiteral("calibration states"), calibrationStates);
    if (blockWorkingSet > 0)
        n.add(QStringLiteral("one block"), blockWorkingSet);
    return n;
}

namespace {

/// Bytes a finished layer keeps for the rest of the run: an integer layer its packed codes (bits/8 a
/// weight) with scales and zeros held twice in f32 (the tensor's, for saving, and the kernel's),
/// a gguf layer its blocks, a float-kept one its f32 values plus the copy at its type that runs.
double keptBytes(const LinearLayerInfo& l, const QuantSpec& spec)
{
    const QuantSpec::Cost cost = spec.cost(l.outFeatures, l.inFeatures);
    const double params = double(l.params());
    switch (spec.method) {
    case QuantMethod::Float:
        return params * (spec.floatType == DType::F32 ? 4.0 : 4.0 + double(dtypeInfo(spec.floatType).bytes));
    case QuantMethod::Ggml:
        return double(cost.total());
    case QuantMethod::QuipSharp: // codes, a scale per row twice (tensor and layer); the transform's signs
        return double(cost.codeBytes) + double(l.outFeatures) * 8.0 + 8.0 * double(l.inFeatures);
    case QuantMethod::Aqlm: // codes, scales twice, the codebooks in f32 (the layer reads the tensor's)
        return double(cost.codeBytes) + double(l.outFeatures) * 8.0 +
               double(spec.additiveCodebooks()) * double(std::int64_t(1) << spec.codebookBits) * 32.0 +
               (spec.incoherence != Incoherence::None ? 8.0 * double(l.inFeatures) : 0.0);
    case QuantMethod::SqueezeLlm: { // codebooks and the sparse matrix in f32/int32 (the layer reads the
                                    // tensor's)
        const double nnz = double(spec.sparseCount(l.outFeatures, l.inFeatures));
        return double(cost.codeBytes) + double(l.outFeatures) * (16.0 + 4.0 * double(1 << spec.bits) + 4.0) +
               8.0 * nnz;
    }
    default: {
        const double groups =
            spec.granularity == Granularity::PerTensor ? 1.0 : double(spec.groupsPerRow(l.inFeatures));
        return double(cost.codeBytes) + double(l.outFeatures) * groups * 16.0 + 2.0 * double(cost.extraBytes);
    }
    }
}

/// Bytes a layer needs while it is quantized, beyond what it keeps: its stored pages while they
/// are read, the f32 working copy, the codes one per byte until they are packed, and the methods'
/// own copies (a scaled or masked weight, GPTQ's and AWQ's f32 matrices). The weight error is
/// measured a block of rows at a time.
double workingBytes(const LinearLayerInfo& l, const QuantSpec& spec)
{
    const double params = double(l.params());
    double perParam = 4.0; // the working copy
    switch (spec.method) {
    case QuantMethod::Float:
    case QuantMethod::Ggml:
        break;
    case QuantMethod::Rtn:
    case QuantMethod::Dynamic:
    case QuantMethod::Hqq:
        perParam += 1.0;
        break;
    case QuantMethod::SqueezeLlm: // codes, the sparse mask, and the scores while the sparse part is chosen
        perParam += 1.0 + 1.0 + 8.0;
        break;
    case QuantMethod::Aqlm: // W·H, U, U·H and the codebook step's two matrices in f32, codes per group
        perParam += 5 * 4.0 + 2.0;
        break;
    case QuantMethod::Gptq:
    case QuantMethod::QuipSharp:
    case QuantMethod::Awq:
    case QuantMethod::SmoothQuant:
    case QuantMethod::LlmInt8:
        perParam += 4.0 + 1.0;
        break;
    }
    double extra = 0;
    if (spec.incoherence != Incoherence::None &&
        spec.method != QuantMethod::Float) { // the rotated copy; GPTQ's rotated XᵀX beside the original
        extra += params * 4.0;
        if (spec.needsHessian())
            extra += double(l.inFeatures) * double(l.inFeatures) * 8.0;
    }
    if (spec.method == QuantMethod::Aqlm) { // H in f32, the k-means copies, the step's vectors and blocks
        const double slots = double(spec.additiveCodebooks()) * double(std::int64_t(1) << spec.codebookBits);
        extra += double(l.inFeatures) * double(l.inFeatures) * 4.0 + params / 8.0 * 64.0 + slots * 8 * 4 * 5 +
                 slots * 64 * 4;
    }
    return double(l.bytes()) + params * perParam + extra + double(kMeasureBlockValues) * 5.0;
}

} // namespace

MemoryEstimate estimateQuantizationMemory(const Model& model, const LayerPlan& plan,
                                          const CalibrationSettings& cal)
{
    const ModelConfig& c = model.config();
    MemoryEstimate e;
    for (std::size_t i = 0; i < model.linears().size(); ++i) {
        const LinearLayerInfo& l = model.linears()[i];
        const QuantSpec& spec = plan.entries.at(i).spec;
        e.quantizedLayers += keptBytes(l, spec);
        e.layerCopy = std::max(e.layerCopy, workingBytes(l, spec));
    }
    // AWQ with scales shared in a group holds the group's working copies during the search.
    double awqGroup = 0;
    for (const DecoderBlockInfo& b : model.blocks())
        for (const auto& group : sequentialGroups()) {
            double copies = 0;
            for (int k : group) {
                const int li = b.linears[std::size_t(k)];
                if (plan.entries.at(std::size_t(li)).spec.method == QuantMethod::Awq)
                    copies += 4.0 * double(model.linears()[std::size_t(li)].params());
            }
            awqGroup = std::max(awqGroup, copies);
        }
    e.layerCopy += awqGroup;
    // Embeddings and norms stay in the mapped file: the norms are read, the embeddings only where
    // calibration tokens look them up and, a piece at a time, when the checkpoint is written.
    const bool calibrate = plan.needsCalibration() || !cal.text.isEmpty();
    double embeddings = 0;
    for (const QString& name : model.tensors().names()) {
        const TensorInfo& t = model.tensors().info(name);
        if (name == model.embeddingTensor())
            embeddings = double(t.bytes());
        else
            e.floatParts += double(t.bytes());
    }
    for (const LinearLayerInfo& l : model.linears())
        if (l.weight != model.embeddingTensor())
            e.floatParts -= double(l.bytes());
    const double embeddingRow = c.vocabSize > 0 ? embeddings / double(c.vocabSize) : 0.0;
    e.floatParts +=
        std::min(embeddings, double(kWritePieceBytes) +
                                 (calibrate ? double(cal.samples) * cal.seqLen * embeddingRow : 0.0));
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
    // The block's float layers, read from the map as the calibration windows run through it.
    double blockStored = 0;
    for (int li : model.blocks().front().linears)
        blockStored += double(model.linears()[std::size_t(li)].bytes());
    if (calibrate) // without calibration no block runs: layers are quantized straight from the map
        e.blockWorkingSet = hessians + blockStored +
                            double(cal.seqLen) * (3.0 * c.intermediateSize + 4.0 * c.hiddenSize) * 4.0 +
                            double(cal.seqLen) * cal.seqLen * c.numHeads * 4.0;
    return e;
}

namespace {

/// The pipeline, as named steps: check the plan and settings, check memory, embed the calibration
/// windows, then block by block and group by group (true-sequential: q/k/v, o, gate/up, down)
/// capture the group's statistics with the earlier groups already quantized, quantize it, and move
/// the hidden states on through the quantized block; the head last.
class QuantizationPipeline
{
public:
    QuantizationPipeline(std::shared_ptr<const Model> model, const LayerPlan& plan,
                         const CalibrationSettings& cal, const Tokenizer* tokenizer, const JobContext& job)
        : m_modelPtr(std::move(model)), m_model(*m_modelPtr), m_plan(plan), m_cal(cal),
          m_tokenizer(tokenizer), m_job(job)
    {}

    QuantizeResult run(int blockLimit)
    {
        m_t0 = Clock::now();
        checkInputs();
        checkMemory();
        m_result.plan = m_plan;
        m_result.calibration = m_cal;
        m_job.report(0, QStringLiteral("loading"), m_model.displayName());
        // checkMemory() covered the run: the float model is never resident as a whole.
        m_result.model = std::make_shared<Transformer>(m_modelPtr, Transformer::MemoryCheck::CallerEstimated);
        m_result.tensors.resize(m_model.linears().size());
        m_result.layers.resize(m_model.linears().size());
        embedCalibrationWindows();
        m_cache = m_result.model->makeCache(m_cal.seqLen);
        const int blocks = m_model.config().numLayers;
        for (int b = 0; b < (blockLimit >= 0 ? std::min(blockLimit, blocks) : blocks); ++b)
            quantizeBlock(b);
        if (blockLimit < 0 || blockLimit >= blocks)
            quantizeHead();
        return finish();
    }

private:
    void checkInputs()
    {
        if (m_plan.entries.size() != m_model.linears().size())
            throw Error(QStringLiteral("the plan has %1 layers but the model %2")
                            .arg(m_plan.entries.size())
                            .arg(m_model.linears().size()));
        for (const LayerPlanEntry& e : m_plan.entries) {
            const QString problem = e.spec.validate();
            if (!problem.isEmpty())
                throw Error(e.name + u": " + problem);
        }
        m_calibrate = m_plan.needsCalibration() || !m_cal.text.isEmpty();
        if (m_plan.needsCalibration() && m_cal.text.isEmpty())
            throw Error(QStringLiteral(
                "the plan uses methods that need calibration (GPTQ, AWQ, SmoothQuant, LLM.int8) "
                "but no calibration text was given"));
        if (m_calibrate &&
            (m_cal.samples < 1 || m_cal.seqLen < 16 || m_cal.seqLen > m_model.config().maxPositionEmbeddings))
            throw Error(QStringLiteral("calibration needs samples >= 1 and 16 <= seq_len <= %1")
                            .arg(m_model.config().maxPositionEmbeddings));
        if (m_calibrate && !m_tokenizer)
            throw Error(QStringLiteral("calibration needs the model's tokenizer"));
    }

    /// QUANTSCOPE_MEMORY_LIMIT (bytes) caps what a run may use below what the system has free.
    void checkMemory() const
    {
        requireMemory(QStringLiteral("this run"), estimateQuantizationMemory(m_model, m_plan, m_cal).need(),
                      m_calibrate ? QStringLiteral("use fewer calibration samples or a shorter seq_len")
                                  : QStringLiteral("close other programs"));
    }

    void embedCalibrationWindows()
    {
        if (!m_calibrate)
            return;
        const ModelConfig& c = m_model.config();
        m_job.report(0, QStringLiteral("calibrating"), QStringLiteral("tokenizing %1").arg(m_cal.text));
        const auto tc = Clock::now();
        m_windows =
            calibrationWindows(*m_tokenizer, m_cal,
                               m_tokenizer->bosId() >= 0 ? m_tokenizer->bosId() : std::max(0, c.bosTokenId));
        m_hidden.resize(m_windows.size());
        for (std::size_t s = 0; s < m_windows.size(); ++s) {
            m_hidden[s].resize(m_windows[s].size() * std::size_t(c.hiddenSize));
            m_result.model->embed(m_windows[s].data(), int(m_windows[s].size()), m_hidden[s].data());
        }
        m_result.calibrationSeconds += since(tc);
    }

    void quantizeBlock(int b)
    {
        const DecoderBlockInfo& blk = m_model.blocks()[std::size_t(b)];
        for (const std::vector<int>& g : sequentialGroups()) {
            std::vector<int> group;
            for (int k : g)
                group.push_back(blk.linears[std::size_t(k)]);
            if (!m_calibrate) {
                quantizeGroup(group, nullptr);
                continue;
            }
            const auto tc = Clock::now();
            CalibrationCollector col(
                m_model, std::set<int>(group.begin(), group.end()),
                calibrationOptions(group, std::uint64_t(b) * 16 + std::uint64_t(g.front())));
            m_job.report(double(m_done) / totalLayers(), QStringLiteral("calibrating"),
                         QStringLiteral("block %1").arg(b));
            runBlockOnAll(b, &col, false);
            m_result.calibrationSeconds += since(tc);
            quantizeGroup(group, &col);
        }
        if (m_calibrate) { // hidden states move on through the quantized block
            const auto tc = Clock::now();
            runBlockOnAll(b, nullptr, true);
            m_result.calibrationSeconds += since(tc);
        }
    }

    /// A separate head, from the final hidden states of the calibration windows.
    void quantizeHead()
    {
        const int headIndex = m_result.model->headLinearIndex();
        if (headIndex < 0)
            return;
        if (!m_calibrate) {
            quantizeGroup({headIndex}, nullptr);
            return;
        }
        CalibrationCollector col(m_model, {headIndex}, calibrationOptions({headIndex}, 7919));
        collectHeadStatistics(*m_result.model, headIndex, m_hidden, col, m_job);
        quantizeGroup({headIndex}, &col);
    }

    CalibrationOptions calibrationOptions(const std::vector<int>& group, std::uint64_t seedOffset) const
    {
        CalibrationOptions opt;
        opt.hessian = false; // XᵀX (in² doubles, updated per window) for GPTQ and QuIP# only
        for (int li : group)
            opt.hessian = opt.hessian || m_plan.entries[std::size_t(li)].spec.needsHessian();
        opt.sampleRows = kSampleRows;
        opt.seed = m_cal.seed + seedOffset;
        return opt;
    }

    /// Runs block b over every calibration window; `update` moves the hidden states on, otherwise
    /// the block runs on a copy (statistics capture only).
    void runBlockOnAll(int b, ForwardHooks* hooks, bool update)
    {
        std::vector<float> tmp;
        for (std::size_t s = 0; s < m_windows.size(); ++s) {
            m_job.checkCancelled();
            m_cache.clear();
            float* h = m_hidden[s].data();
            if (!update) {
                tmp = m_hidden[s];
                h = tmp.data();
            }
            m_result.model->runBlock(b, m_cache, h, int(m_windows[s].size()), hooks);
        }
    }

    /// Quantizes a group of layers that read the same input; AWQ layers with one spec share scales.
    void quantizeGroup(const std::vector<int>& group, CalibrationCollector* col)
    {
        const Transformer& t = *m_result.model;
        std::vector<int> awq;
        for (int li : group)
            if (m_plan.entries[std::size_t(li)].spec.method == QuantMethod::Awq)
                awq.push_back(li);
        const LinearInputStats* firstStats = (col && !awq.empty()) ? col->find(awq.front()) : nullptr;
        bool shared = awq.size() > 1 && firstStats;
        for (int li : awq)
            shared = shared &&
                     m_plan.entries[std::size_t(li)].spec == m_plan.entries[std::size_t(awq.front())].spec;
        AwqSearchResult search;
        if (shared) { // the group's working copies live for the search only
            std::vector<AwqLayer> layers;
            std::vector<QuantizeRequest> weights; // f32 working copies of the group's layers
            for (int li : awq) {
                weights.push_back(floatLayerRequest(t, li, m_plan.entries[std::size_t(li)].spec, nullptr,
                                                    QStringLiteral("already quantized")));
                layers.push_back({weights.back().weight, m_model.linears()[std::size_t(li)].outFeatures});
            }
            // The layers share one input, so the statistics of the first describe all of them.
            search = awqSearchScales(layers, m_model.linears()[std::size_t(awq.front())].inFeatures,
                                     *firstStats, m_plan.entries[std::size_t(awq.front())].spec);
        }
        for (int li : group) {
            const bool inShared = shared && std::find(awq.begin(), awq.end(), li) != awq.end();
            quantizeLayer(li, col ? col->find(li) : nullptr, inShared ? &search.scales : nullptr,
                          search.alpha);
        }
    }

    void quantizeLayer(int li, const LinearInputStats* stats, const std::vector<float>* awqScales,
                       double awqAlpha)
    {
        m_job.checkCancelled();
        const auto tl = Clock::now();
        const LinearLayerInfo& info = m_model.linears()[std::size_t(li)];
        const LayerPlanEntry& entry = m_plan.entries[std::size_t(li)];
        LayerReport& rep = m_result.layers[std::size_t(li)];
        rep.linearIndex = li;
        rep.name = info.name;
        rep.block = info.block;
        rep.kind = linearKindName(info.kind);
        rep.spec = entry.spec;
        m_result.model->setLinear(li, quantizeAndMeasure(li, stats, awqScales, rep));
        if (awqScales)
            rep.note = QStringLiteral("awq alpha %1 (shared scales)").arg(awqAlpha);
        // The float layer was read in place from the map; drop its pages from the resident set.
        m_model.tensors().releasePages(info.weight);
        rep.seconds = since(tl);
        ++m_done;
        const double elapsed = since(m_t0), frac = double(m_done) / totalLayers();
        m_job.report(frac, QStringLiteral("quantizing"), info.name, elapsed / frac - elapsed);
    }

    /// One layer from its f32 working copy to the packed layer that replaces it. What the layer
    /// needed on the way (the working copy, the codes one per byte) is gone when this returns: the
    /// run keeps the packed form (result.tensors shares it with the layer) and the report.
    std::shared_ptr<const LinearLayer> quantizeAndMeasure(int li, const LinearInputStats* stats,
                                                          const std::vector<float>* awqScales,
                                                          LayerReport& rep)
    {
        const Transformer& t = *m_result.model;
        const QuantizeRequest req =
            floatLayerRequest(t, li, rep.spec, stats, QStringLiteral("already quantized"));
        std::shared_ptr<QuantizedTensor> q;
        if (awqScales)
            q = std::make_shared<QuantizedTensor>(
                awqQuantizeWithScales(req.weight, req.rows, req.cols, req.spec, *awqScales, *stats));
        else
            q = std::make_shared<QuantizedTensor>(quantizeWeight(req, m_job));
        rep.bytes = q->storageBytes();
        rep.bitsPerWeight = q->bitsPerWeight();
        measureWeightError(rep, req.weight, *q); // from the codes, while they are one per byte
        q->releaseCodesToPacked();               // the run keeps the layer at its packed size
        auto layer = std::make_shared<QuantizedLinear>(q, t.linear(li).bias());
        measureOutputError(rep, req.weight, *layer, stats);
        m_result.tensors[std::size_t(li)] = q;
        return layer;
    }

    int totalLayers() const { return int(m_model.linears().size()); }

    QuantizeResult finish()
    {
        m_result.linearBytes = m_plan.linearBytes(m_model);
        m_result.modelBytes = m_plan.modelBytes(m_model);
        m_result.linearBitsPerWeight = m_plan.linearBitsPerWeight(m_model);
        m_result.seconds = since(m_t0);
        m_result.peakRssBytes = peakRssBytes();
        m_job.report(1.0, QStringLiteral("done"), m_model.displayName());
        return std::move(m_result);
    }

    std::shared_ptr<const Model> m_modelPtr;
    const Model& m_model;
    const LayerPlan& m_plan;
    const CalibrationSettings& m_cal;
    const Tokenizer* m_tokenizer;
    const JobContext& m_job;

    QuantizeResult m_result;
    Clock::time_point m_t0;
    bool m_calibrate = false;
    std::vector<std::vector<int>> m_windows;
    std::vector<std::vector<float>> m_hidden; ///< calibration hidden states at the current block's input
    KvCache m_cache;
    int m_done = 0;
};

} // namespace

std::uint64_t liveWorkingCopyBytes()
{
    return g_liveWorkingCopyBytes.load();
}

QuantizeRequest floatLayerRequest(const Transformer& t, int li, const QuantSpec& spec,
                                  const LinearInputStats* stats, const QString& whenQuantized)
{
    const LinearLayerInfo& info = t.model().linears()[std::size_t(li)];
    // A layer read in place from the map is copied from the file with pread (TensorStore::readF32), so
    // its mapped pages never become part of this process's resident set (for an 8B head, 1 GB of bf16
    // rows beside its f32 copy); any other float layer converts its own rows.
    const auto* dense = dynamic_cast<const DenseLinear*>(&t.linear(li));
    auto* copy = new std::vector<float>(dense && dense->mapped() ? t.model().tensors().readF32(info.weight)
                                                                 : t.linear(li).floatWeight());
    const std::uint64_t bytes = copy->capacity() * sizeof(float);
    g_liveWorkingCopyBytes += bytes;
    const std::shared_ptr<const std::vector<float>> weight(copy, [bytes](const std::vector<float>* p) {
        g_liveWorkingCopyBytes -= bytes;
        delete p;
    });
    if (weight->empty())
        throw Error(info.name + u": " + whenQuantized);
    if (weight->size() != std::size_t(info.params()))
        throw Error(QStringLiteral("%1: %2 weight values read, not %3 × %4")
                        .arg(info.name)
                        .arg(weight->size())
                        .arg(info.outFeatures)
                        .arg(info.inFeatures));
    QuantizeRequest req;
    req.layerName = info.name;
    req.weight = weight->data();
    req.weightCopy = std::move(weight);
    req.rows = info.outFeatures;
    req.cols = info.inFeatures;
    req.stats = stats;
    req.spec = spec;
    return req;
}

QuantizeResult runQuantization(std::shared_ptr<const Model> model, const LayerPlan& plan,
                               const CalibrationSettings& cal, const Tokenizer* tokenizer,
                               const JobContext& job, int blockLimit)
{
    return QuantizationPipeline(std::move(model), plan, cal, tokenizer, job).run(blockLimit);
}

} // namespace qs
