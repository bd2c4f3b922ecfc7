#include "analysis/Sensitivity.h"

#include "analysis/BlockRestartEvaluator.h"
#include "eval/Calibration.h"
#include "eval/Evaluation.h"
#include "eval/Kld.h"
#include "model/Model.h"
#include "model/QuantizedLinear.h"
#include "model/Transformer.h"
#include "quant/QuantizeJob.h"
#include "quant/Quantizer.h"
#include "tokenizer/Tokenizer.h"
#include "util/Error.h"
#include "util/Paths.h"
#include "util/SystemInfo.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QRegularExpression>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <set>

namespace qs {

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0)
{
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

constexpr int kSampleRows = 512; ///< calibration rows kept per layer (AWQ search, output error proxy)

QRegularExpression compiled(const QString& pattern, const QString& what)
{
    QRegularExpression re(pattern);
    if (!re.isValid())
        throw Error(QStringLiteral("%1 '%2' is not a valid regular expression: %3")
                        .arg(what, pattern, re.errorString()));
    return re;
}

/// Block where a layer's effect starts (the head comes after the last block).
int startBlock(const Model& model, int linear)
{
    const int b = model.linears()[std::size_t(linear)].block;
    return b < 0 ? model.config().numLayers : b;
}

int unitStart(const Model& model, const SensitivityUnit& u)
{
    int s = model.config().numLayers;
    for (int li : u.linears)
        s = std::min(s, startBlock(model, li));
    return s;
}

int unitEnd(const Model& model, const SensitivityUnit& u)
{
    int e = 0;
    for (int li : u.linears)
        e = std::max(e, startBlock(model, li));
    return e;
}

std::vector<int> tokenizeEval(const Tokenizer& tokenizer, const QString& path, QByteArray* textOut)
{
    const QByteArray text = readTextFile(path);
    if (textOut)
        *textOut = text;
    try {
        return tokenizer.encode(std::string_view(text.constData(), std::size_t(text.size())), true);
    } catch (const Error& e) {
        throw Error::inFile(path, e.message());
    }
}

PerplexityOptions withBos(PerplexityOptions o, const Tokenizer& tokenizer)
{
    if (tokenizer.bosId() >= 0)
        o.bosId = tokenizer.bosId();
    return o;
}

/// One quantized member of a unit under one scheme, with its error sums (for exact unit ratios).
struct QuantizedMember
{
    int linear = 0;
    std::shared_ptr<const LinearLayer> layer;
    std::uint64_t bytes = 0;
    double weightErr = 0, weightNorm = 0, hessErr = 0, hessNorm = 0, outErr = 0, outNorm = 0;
    double seconds = 0;
};

QuantizedMember quantizeMember(const Transformer& t, int li, const QuantSpec& spec,
                               const LinearInputStats* stats, const JobContext& job)
{
    const auto t0 = Clock::now();
    const LinearLayerInfo& info = t.model().linears()[std::size_t(li)];
    QuantSpec fitted;
    try {
        fitted =
            spec.fittedTo(info.inFeatures); // gguf: llama.cpp's fallback for rows the block does not divide
    } catch (const Error& e) {
        throw Error(info.name + u": " + e.message());
    }
    const QuantizeRequest req =
        floatLayerRequest(t, li, fitted, stats,
                          QStringLiteral("the model is already quantized; sensitivity needs a float model"));
    auto q = std::make_shared<QuantizedTensor>(quantizeWeight(req, job));
    LayerReport rep;
    measureWeightError(rep, req.weight, *q); // from the codes, before they are packed and freed
    q->releaseCodesToPacked();
    auto layer = std::make_shared<const QuantizedLinear>(q, t.linear(li).bias());
    measureOutputError(rep, req.weight, *layer, stats);
    QuantizedMember m;
    m.linear = li;
    m.layer = layer;
    m.bytes = q->storageBytes();
    m.weightNorm = rep.weightSquaredNorm;
    m.weightErr = rep.weightRelMse * rep.weightSquaredNorm;
    if (std::isfinite(rep.outputRelMse)) {
        m.outNorm = rep.outputSquaredNorm;
        m.outErr = rep.outputRelMse * rep.outputSquaredNorm;
    }
    if (stats && stats->tokens > 0) { // diag(H) ∝ Σ x_j²: each column's error weighted by its input energy
        // A block of rows at a time: no dequantized copy of the whole layer.
        const std::int64_t block = std::max<std::int64_t>(1, (std::int64_t(1) << 20) / req.cols);
        std::vector<float> wq(std::size_t(std::min(block, req.rows) * req.cols));
        for (std::int64_t r0 = 0; r0 < req.rows; r0 += block) {
            const std::int64_t r1 = std::min(req.rows, r0 + block);
            q->effectiveRows(r0, r1, wq.data());
            for (std::int64_t r = r0; r < r1; ++r) {
                for (std::int64_t j = 0; j < req.cols; ++j) {
                    const double d = stats->sumSquares[std::size_t(j)] / double(stats->tokens);
                    const double w = req.weight[r * req.cols + j];
                    const double e = w - double(wq[std::size_t((r - r0) * req.cols + j)]);
                    m.hessErr += d * e * e;
                    m.hessNorm += d * w * w;
                }
            }
        }
    }
    m.seconds = since(t0);
    return m;
}

double ratio(double num, double den)
{
    return den > 0 ? num / den : 0;
}

} // namespace

std::vector<SensitivityScheme> parseSchemes(const QString& list)
{
    std::vector<SensitivityScheme> out;
    for (const QString& raw : list.split(u',', Qt::SkipEmptyParts)) {
        const QString part = raw.trimmed();
        if (part.isEmpty())
            continue;
        const QuantSpec spec = QuantSpec::fromShortName(part);
        const QString name = spec.shortName();
        for (const SensitivityScheme& s : out)
            if (s.name == name)
                throw Error(QStringLiteral("scheme %1 is listed twice").arg(name));
        out.push_back({name, spec});
    }
    if (out.empty())
        throw Error(QStringLiteral(
            "the candidate scheme list is empty (give e.g. gptq-w2-g128,gptq-w3-g128,gptq-w4-g128)"));
    return out;
}

QString sensitivityFallback(const Model& model, const SensitivityUnit& unit, const QuantSpec& spec,
                            QString* why)
{
    QStringList fitted, reasons;
    for (const int li : unit.linears) {
        const LinearLayerInfo& l = model.linears()[std::size_t(li)];
        QString note, name;
        try {
            const QuantSpec f = spec.fittedTo(l.inFeatures, &note);
            if (note.isEmpty())
                continue;
            name =
                f.method == QuantMethod::Ggml ? ggmlTypeName(f.ggmlType) : dtypeName(f.floatType).toUpper();
        } catch (const Error& e) {
            name = QStringLiteral("refused");
            note = e.message();
        }
        if (!fitted.contains(name))
            fitted << name;
        const QString reason = unit.linears.size() > 1 ? l.name + QStringLiteral(": ") + note : note;
        if (!reasons.contains(reason))
            reasons << reason;
    }
    if (fitted.isEmpty())
        return {};
    if (why)
        *why = reasons.join(u'\n');
    return ggmlTypeName(spec.ggmlType) + QStringLiteral(" → ") + fitted.join(u'/');
}

std::vector<SensitivityUnit> sensitivityUnits(const Model& model, const SensitivitySettings& settings)
{
    const QRegularExpression filter = compiled(settings.layerFilter, QStringLiteral("layer filter"));
    std::vector<QRegularExpression> groups;
    for (const QString& g : settings.groupPatterns)
        groups.push_back(compiled(g, QStringLiteral("group")));
    std::vector<SensitivityUnit> units(groups.size());
    for (std::size_t g = 0; g < groups.size(); ++g)
        units[g].name = settings.groupPatterns[qsizetype(g)];
    const auto& linears = model.linears();
    for (int li = 0; li < int(linears.size()); ++li) {
        const LinearLayerInfo& info = linears[std::size_t(li)];
        if (!settings.layerFilter.isEmpty() && !filter.match(info.name).hasMatch())
            continue;
        int group = -1;
        for (std::size_t g = 0; g < groups.size(); ++g)
            if (groups[g].match(info.name).hasMatch())
                group = int(g); // last match wins, as in recipes
        if (group < 0)
            units.push_back({info.name, {li}, info.params()});
        else {
            units[std::size_t(group)].linears.push_back(li);
            units[std::size_t(group)].params += info.params();
        }
    }
    for (std::size_t g = 0; g < groups.size(); ++g)
        if (units[g].linears.empty())
            throw Error(QStringLiteral("group '%1' matches no linear layer of %2")
                            .arg(units[g].name, model.displayName()));
    if (units.empty())
        throw Error(QStringLiteral("layer filter '%1' matches no linear layer of %2")
                        .arg(settings.layerFilter, model.displayName()));
    return units;
}

namespace {

/// What a sweep holds at its peak, for evaluation chunks already made: the model running one chunk, the
/// float hidden states the evaluator keeps, the base log-probabilities, the calibration activations, and one
/// block's statistics and quantized copies under every scheme.
MemoryNeed sweepMemory(const Model& model, const SensitivitySettings& settings,
                       const std::vector<EvalChunk>& chunks)
{
    const ModelConfig& c = model.config();
    MemoryNeed need;
    std::int64_t tokens = 0;
    int longest = 1;
    double scored = 0; // positions whose base log-probabilities are kept for KLD
    for (const EvalChunk& ch : chunks) {
        tokens += std::int64_t(ch.tokens.size());
        longest = std::max(longest, int(ch.tokens.size()));
        scored += std::max(0.0, double(ch.tokens.size()) - ch.firstScored - 1);
    }
    for (const auto& [label, bytes] : modelRunMemory(model, longest, longest).parts)
        need.add(label, bytes);
    need.add(QStringLiteral("hidden states at block inputs"),
             BlockRestartEvaluator::checkpointBytes(c, tokens));
    // 16 bits per vocabulary entry and scored position (KldBaseRow)
    need.add(QStringLiteral("base log-probabilities"), scored * double(c.vocabSize) * 2.0);
    if (!settings.calibration.text.isEmpty())
        need.add(QStringLiteral("calibration activations"),
                 double(settings.calibration.samples) * settings.calibration.seqLen * c.hiddenSize * 4.0);
    bool hessian = false;
    for (const SensitivityScheme& s : settings.schemes)
        hessian = hessian || s.spec.needsHessian();
    std::map<int, std::pair<double, double>> perBlock; // block → statistics, quantized copies
    double largest = 0;
    for (const LinearLayerInfo& l : model.linears()) {
        auto& [stats, copies] = perBlock[l.block];
        if (hessian)
            stats += double(l.inFeatures) * double(l.inFeatures) * 8.0;
        if (!settings.calibration.text.isEmpty()) // sampled input and output rows for the proxies
            stats += double(kSampleRows) * double(l.inFeatures + l.outFeatures) * 4.0;
        for (const SensitivityScheme& s : settings.schemes)
            copies += double(s.spec.cost(l.outFeatures, l.inFeatures).total());
        largest = std::max(largest, double(l.params()));
    }
    double stats = 0, copies = 0;
    for (const auto& [block, sc] : perBlock) {
        stats = std::max(stats, sc.first);
        copies = std::max(copies, sc.second);
    }
    if (stats > 0)
        need.add(QStringLiteral("one block's calibration statistics"), stats);
    need.add(QStringLiteral("one block quantized under every scheme"), copies);
    need.add(QStringLiteral("working copies of the largest layer"), largest * 9.0);
    return need;
}

} // namespace

SensitivityCost estimateSensitivityCost(const Model& model, const Tokenizer& tokenizer,
                                        const SensitivitySettings& settings,
                                        const SensitivityResult* previous)
{
    SensitivityCost cost;
    const std::vector<SensitivityUnit> units = sensitivityUnits(model, settings);
    const std::vector<EvalChunk> chunks =
        makeChunks(tokenizeEval(tokenizer, settings.evalText, nullptr), withBos(settings.eval, tokenizer));
    for (const EvalChunk& c : chunks)
        cost.evalTokens += std::int64_t(c.tokens.size());
    cost.units = int(units.size());
    cost.shard = settings.shard;
    cost.schemes = int(settings.schemes.size());
    const int L = model.config().numLayers;
    double blocks = 0;
    std::size_t entry = 0;
    for (const SensitivityUnit& u : units) {
        for (const SensitivityScheme& s : settings.schemes) {
            if (!settings.shard.owns(entry++) || (previous && previous->find(u.name, s.name)))
                continue;
            ++cost.evaluations;
            blocks += double(L - unitStart(model, u)) / std::max(1, L);
        }
    }
    cost.blockFraction = cost.evaluations ? blocks / cost.evaluations : 0;
    cost.tokenBlocks = blocks * double(cost.evalTokens) * L;

    cost.usableBytes = usableMemoryBytes();
    cost.memory = sweepMemory(model, settings, chunks);
    return cost;
}

void timeSensitivityForwards(std::shared_ptr<const Model> model, const SensitivitySettings& settings,
                             SensitivityCost& cost)
{
    const Transformer t(std::move(model));
    const ModelConfig& c = t.config();
    constexpr int kTokens = 64;
    std::vector<int> tokens(kTokens);
    for (int i = 0; i < kTokens; ++i)
        tokens[std::size_t(i)] = (i * 7 + 1) % t.vocabSize();
    std::vector<float> h(std::size_t(kTokens) * std::size_t(c.hiddenSize));
    KvCache cache = t.makeCache(kTokens);
    double best = 1e30;
    for (int rep = 0; rep < 3; ++rep) { // the first pages the block's weights in
        cache.clear();
        t.embed(tokens.data(), kTokens, h.data());
        const auto t0 = Clock::now();
        t.runBlock(0, cache, h.data(), kTokens);
        best = std::min(best, std::chrono::duration<double>(Clock::now() - t0).count());
    }
    addForwardSeconds(cost, settings, c.numLayers, best / kTokens);
}

void addForwardSeconds(SensitivityCost& cost, const SensitivitySettings& settings, int numLayers,
                       double secondsPerTokenBlock)
{
    cost.secondsPerTokenBlock = secondsPerTokenBlock;
    const double calibration = settings.calibration.text.isEmpty()
                                   ? 0.0
                                   : double(settings.calibration.samples) * settings.calibration.seqLen;
    cost.forwardSeconds =
        (cost.tokenBlocks + (double(cost.evalTokens) + calibration) * numLayers) * cost.secondsPerTokenBlock;
}

namespace {

/// One sweep, as named steps: check the settings, key the result, plan what is still to measure,
/// capture the calibration inputs, then go block by block (quantize the block's layers under every
/// scheme, measure each unit whose last member is now quantized), then the head, then order.
class SensitivitySweep
{
public:
    SensitivitySweep(std::shared_ptr<const Model> model, const Tokenizer& tokenizer,
                     const SensitivitySettings& settings, const SensitivityResult* previous,
                     const JobContext& job, const std::function<void(const SensitivityResult&)>& checkpoint)
        : m_modelPtr(std::move(model)), m_model(*m_modelPtr), m_tokenizer(tokenizer), m_settings(settings),
          m_previous(previous), m_job(job), m_checkpoint(checkpoint)
    {}

    SensitivityResult run()
    {
        m_t0 = Clock::now();
        checkSettings();
        keyResult();
        m_job.report(0, QStringLiteral("loading"), m_model.displayName());
        m_transformer = std::make_unique<Transformer>(m_modelPtr);
        measureBase();
        planMeasurements();
        captureCalibrationInputs();
        const int L = m_model.config().numLayers;
        for (int b = 0; b < L && m_done < m_total; ++b) {
            sweepBlock(b);
            measureUnits(b);
        }
        sweepHead();
        measureUnits(L);
        return finish();
    }

private:
    /// Every scheme valid, calibration text present when a scheme needs statistics, a float model.
    void checkSettings()
    {
        if (m_settings.schemes.empty())
            throw Error(QStringLiteral("the candidate scheme list is empty"));
        bool needStats = false;
        for (const SensitivityScheme& s : m_settings.schemes) {
            const QString problem = s.spec.validate();
            if (!problem.isEmpty())
                throw Error(s.name + u": " + problem);
            needStats = needStats || s.spec.needsCalibration();
            m_needHessian = m_needHessian || s.spec.needsHessian();
        }
        for (const LinearLayerInfo& l : m_model.linears())
            if (l.quant)
                throw Error::inFile(m_model.path(),
                                    QStringLiteral("the model is already quantized (%1); sensitivity starts "
                                                   "from the float model")
                                        .arg(l.name));
        if (needStats && m_settings.calibration.text.isEmpty())
            throw Error(QStringLiteral(
                "schemes that need calibration (GPTQ, AWQ, …) are listed but no calibration text was given"));
        m_calibrate = !m_settings.calibration.text.isEmpty();
        const SweepShard& sh = m_settings.shard;
        if (sh.count < 1 || sh.index < 0 || sh.index >= sh.count)
            throw Error(
                QStringLiteral("shard %1 does not exist (0-based index below the count)").arg(sh.toText()));
    }

    /// What the numbers are valid for (model, texts, settings); a resume must match it.
    void keyResult()
    {
        SensitivityResult& r = m_result;
        r.modelPath = m_model.path();
        r.modelName = m_model.displayName();
        r.modelFingerprint = m_model.architectureFingerprint();
        r.modelDtype = dtypeName(m_model.linears().front().dtype);
        for (const LinearLayerInfo& l : m_model.linears())
            r.linearParams += l.params();
        QByteArray evalText;
        m_evalTokens = tokenizeEval(m_tokenizer, m_settings.evalText, &evalText);
        r.evalTextSha256 = sha256Hex(evalText);
        r.eval = m_settings.eval;
        r.calibration = m_calibrate ? m_settings.calibration : CalibrationSettings{};
        r.schemes = m_settings.schemes;
        r.units = sensitivityUnits(m_model, m_settings);
        r.shard = m_settings.shard;
        r.sweepId = r.identity();
        r.toolVersion = QStringLiteral(QUANTSCOPE_VERSION);
        if (m_previous) {
            const QString why = m_previous->mismatch(r);
            if (!why.isEmpty())
                throw Error(u"cannot resume from the earlier sensitivity results: " + why);
        }
    }

    /// Whether this run measures entry (unit ui, scheme si): its shard's, and not measured before.
    bool measures(std::size_t ui, std::size_t si) const
    {
        return m_settings.shard.owns(ui * m_settings.schemes.size() + si) &&
               !reusable(m_result.units[ui], m_settings.schemes[si]);
    }

    /// The entry measured by the run we resume from, if any.
    const SensitivityEntry* reusable(const SensitivityUnit& u, const SensitivityScheme& s) const
    {
        if (!m_previous)
            return nullptr;
        for (const SensitivityUnit& pu : m_previous->units)
            if (pu.name == u.name && pu.linears == u.linears)
                return m_previous->find(u.name, s.name);
        return nullptr;
    }

    /// The float model on the evaluation chunks: base loss, and the cached block inputs.
    void measureBase()
    {
        const std::vector<EvalChunk> chunks = makeChunks(m_evalTokens, withBos(m_settings.eval, m_tokenizer));
        // Before the first large allocation (the evaluator's hidden states), on the chunks made here.
        requireMemory(
            QStringLiteral("the sensitivity sweep"), sweepMemory(m_model, m_settings, chunks),
            QStringLiteral("sweep fewer schemes at once, evaluate fewer chunks or calibrate on fewer "
                           "samples"));
        m_sample = std::make_unique<BlockRestartEvaluator>(*m_transformer, chunks, m_job);
        m_result.baseNll = m_sample->baseNll();
        m_result.basePpl = std::exp(m_result.baseNll);
        m_result.evalTokens = m_sample->scored();
    }

    /// Reuses what the earlier run measured; notes which layers still need quantizing and where each
    /// unit becomes measurable (once the block of its last member has been quantized).
    void planMeasurements()
    {
        SensitivityResult& r = m_result;
        for (std::size_t ui = 0; ui < r.units.size(); ++ui) {
            const SensitivityUnit& u = r.units[ui];
            m_unitsEndingAt[unitEnd(m_model, u)].push_back(ui);
            for (int li : u.linears)
                m_unitOf[li] = ui;
            for (std::size_t si = 0; si < m_settings.schemes.size(); ++si) {
                const SensitivityScheme& s = m_settings.schemes[si];
                const SensitivityEntry* e = reusable(u, s);
                if (!e) // as the whole sweep would: see sweepBlock
                    m_captured.insert(u.linears.begin(), u.linears.end());
                if (!m_settings.shard.owns(ui * m_settings.schemes.size() + si))
                    continue;
                if (e) {
                    r.entries.push_back(*e);
                } else {
                    ++m_total;
                    m_needed.insert(u.linears.begin(), u.linears.end());
                }
            }
        }
    }

    /// Calibration windows embedded once; each block advances them in place.
    void captureCalibrationInputs()
    {
        const ModelConfig& c = m_model.config();
        if (m_calibrate && m_total > 0) {
            m_job.report(0, QStringLiteral("calibrating"),
                         QStringLiteral("tokenizing %1").arg(m_settings.calibration.text));
            m_windows = calibrationWindows(m_tokenizer, m_settings.calibration,
                                           m_tokenizer.bosId() >= 0 ? m_tokenizer.bosId()
                                                                    : std::max(0, c.bosTokenId));
            m_calHidden.resize(m_windows.size());
            for (std::size_t s = 0; s < m_windows.size(); ++s) {
                m_calHidden[s].resize(m_windows[s].size() * std::size_t(c.hiddenSize));
                m_transformer->embed(m_windows[s].data(), int(m_windows[s].size()), m_calHidden[s].data());
            }
        }
        m_calCache = m_transformer->makeCache(m_calibrate ? m_settings.calibration.seqLen : 1);
        m_tSweep = Clock::now();
    }

    CalibrationOptions calibrationOptions(std::uint64_t seedOffset) const
    {
        CalibrationOptions opt;
        opt.hessian = m_needHessian;
        opt.sampleRows = kSampleRows;
        opt.seed = m_settings.calibration.seed + seedOffset;
        return opt;
    }

    /// Block b's statistics from the float model (capture and advance in one pass), then its layers
    /// quantized under every scheme still to measure.
    void sweepBlock(int b)
    {
        const auto& arr = m_model.blocks()[std::size_t(b)].linears;
        const std::vector<int> blockLinears(arr.begin(), arr.end());
        if (!m_calibrate) {
            quantizeLayers(blockLinears, nullptr);
            return;
        }
        // The layers the whole sweep would capture, not only this shard's: the collector's row sampling
        // draws from one generator in layer order, so the sampled rows (output proxy, AWQ) and with them
        // a shard's numbers equal the unsharded sweep's only when the same layers are captured.
        std::set<int> capture;
        for (int li : blockLinears)
            if (m_captured.count(li))
                capture.insert(li);
        CalibrationCollector col(m_model, capture, calibrationOptions(std::uint64_t(b) * 16));
        for (std::size_t s = 0; s < m_windows.size(); ++s) {
            m_job.checkCancelled();
            m_calCache.clear();
            m_transformer->runBlock(b, m_calCache, m_calHidden[s].data(), int(m_windows[s].size()),
                                    capture.empty() ? nullptr : &col);
        }
        quantizeLayers(blockLinears, &col);
    }

    /// A separate head is quantized last, from the final hidden states of the calibration windows.
    void sweepHead()
    {
        const int headIndex = m_transformer->headLinearIndex();
        if (m_done >= m_total || headIndex < 0)
            return;
        if (m_calibrate && m_needed.count(headIndex)) {
            CalibrationCollector col(m_model, {headIndex}, calibrationOptions(7919));
            collectHeadStatistics(*m_transformer, headIndex, m_calHidden, col, m_job);
            quantizeLayers({headIndex}, &col);
        } else {
            quantizeLayers({headIndex}, nullptr);
        }
    }

    void quantizeLayers(const std::vector<int>& layers, const CalibrationCollector* col)
    {
        for (int li : layers) {
            if (!m_needed.count(li) || !m_unitOf.count(li))
                continue;
            const std::size_t ui = m_unitOf[li];
            for (std::size_t si = 0; si < m_settings.schemes.size(); ++si) {
                if (!measures(ui, si))
                    continue;
                m_job.checkCancelled();
                m_pending[ui][si].push_back(quantizeMember(*m_transformer, li, m_settings.schemes[si].spec,
                                                           col ? col->find(li) : nullptr, m_job));
            }
        }
    }

    /// Every unit whose last member is in `block`, under every scheme still to measure.
    void measureUnits(int block)
    {
        for (std::size_t ui : m_unitsEndingAt[block]) {
            const SensitivityUnit& u = m_result.units[ui];
            for (std::size_t si = 0; si < m_settings.schemes.size(); ++si) {
                if (!measures(ui, si))
                    continue;
                const SensitivityEntry e = measureUnit(u, m_settings.schemes[si], m_pending[ui][si]);
                m_result.entries.push_back(e);
                ++m_done;
                m_result.seconds = since(m_t0);
                if (m_checkpoint) // before the progress report: whoever sees "measuring X" can rely on X
                                  // being kept
                    m_checkpoint(m_result);
                const double elapsed = since(m_tSweep), frac = double(m_done) / std::max(1, m_total);
                m_job.report(frac, QStringLiteral("measuring"), e.unit + u' ' + e.scheme,
                             elapsed / frac - elapsed);
            }
            m_pending.erase(ui);
        }
    }

    /// Puts the unit's quantized members in place, evaluates from its first block, restores the
    /// float layers (also when the evaluation throws) and sums the members' error proxies.
    SensitivityEntry measureUnit(const SensitivityUnit& u, const SensitivityScheme& scheme,
                                 const std::vector<QuantizedMember>& members)
    {
        Transformer& t = *m_transformer;
        const auto te = Clock::now();
        std::vector<std::shared_ptr<const LinearLayer>> saved;
        SensitivityEntry e;
        e.unit = u.name;
        e.scheme = scheme.name;
        double we = 0, wn = 0, he = 0, hn = 0, oe = 0, on = 0, quantSeconds = 0;
        for (const QuantizedMember& m : members) {
            saved.push_back(t.linearPtr(m.linear));
            t.setLinear(m.linear, m.layer);
            e.bytes += m.bytes;
            we += m.weightErr, wn += m.weightNorm, he += m.hessErr, hn += m.hessNorm;
            oe += m.outErr, on += m.outNorm, quantSeconds += m.seconds;
        }
        BlockRestartEvaluator::Loss loss;
        try {
            loss = m_sample->evaluateFrom(unitStart(m_model, u), m_job);
        } catch (...) {
            for (std::size_t k = 0; k < members.size(); ++k)
                t.setLinear(members[k].linear, saved[k]);
            throw;
        }
        for (std::size_t k = 0; k < members.size(); ++k)
            t.setLinear(members[k].linear, saved[k]);
        e.bitsPerWeight = 8.0 * double(e.bytes) / double(std::max<std::int64_t>(1, u.params));
        e.deltaNll = loss.nll - m_result.baseNll;
        e.ppl = std::exp(loss.nll);
        e.kld = loss.kld;
        e.top1 = loss.top1;
        e.weightRelMse = ratio(we, wn);
        e.hessianError = ratio(he, hn);
        e.outputRelMse = ratio(oe, on);
        e.seconds = quantSeconds + since(te);
        return e;
    }

    /// Entries in unit order then scheme order, whatever was reused.
    SensitivityResult finish()
    {
        SensitivityResult& r = m_result;
        std::vector<SensitivityEntry> ordered;
        for (const SensitivityUnit& u : r.units)
            for (const SensitivityScheme& s : r.schemes)
                if (const SensitivityEntry* e = r.find(u.name, s.name))
                    ordered.push_back(*e);
        r.entries = std::move(ordered);
        r.complete = r.entries.size() == r.ownedEntries().size();
        r.seconds = since(m_t0);
        m_job.report(1.0, QStringLiteral("done"), m_model.displayName());
        return std::move(m_result);
    }

    std::shared_ptr<const Model> m_modelPtr;
    const Model& m_model;
    const Tokenizer& m_tokenizer;
    const SensitivitySettings& m_settings;
    const SensitivityResult* m_previous;
    const JobContext& m_job;
    const std::function<void(const SensitivityResult&)>& m_checkpoint;

    SensitivityResult m_result;
    Clock::time_point m_t0, m_tSweep;
    bool m_needHessian = false;
    bool m_calibrate = false;
    std::vector<int> m_evalTokens;
    std::unique_ptr<Transformer> m_transformer;
    std::unique_ptr<BlockRestartEvaluator> m_sample;
    std::map<int, std::vector<std::size_t>> m_unitsEndingAt;
    std::map<int, std::size_t> m_unitOf;
    std::set<int> m_needed;   ///< linears with at least one scheme to measure (in this shard)
    std::set<int> m_captured; ///< linears with at least one scheme to measure in the whole sweep
    int m_total = 0, m_done = 0;
    std::vector<std::vector<int>> m_windows;
    std::vector<std::vector<float>> m_calHidden;
    KvCache m_calCache;
    /// m_pending[unit][scheme] = the unit's members quantized so far
    std::map<std::size_t, std::map<std::size_t, std::vector<QuantizedMember>>> m_pending;
};

} // namespace

SensitivityResult runSensitivity(std::shared_ptr<const Model> model, const Tokenizer& tokenizer,
                                 const SensitivitySettings& settings, const SensitivityResult* previous,
                                 const JobContext& job,
                                 const std::function<void(const SensitivityResult&)>& checkpoint)
{
    return SensitivitySweep(std::move(model), tokenizer, settings, previous, job, checkpoint).run();
}

} // namespace qs
