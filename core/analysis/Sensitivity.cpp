#include "analysis/Sensitivity.h"

#include "eval/Calibration.h"
#include "eval/Evaluation.h"
#include "eval/Kld.h"
#include "model/Model.h"
#include "model/Transformer.h"
#include "quant/QuantizeJob.h"
#include "model/QuantizedLinear.h"
#include "quant/Quantizer.h"
#include "tokenizer/Tokenizer.h"
#include "util/Error.h"
#include "util/Paths.h"
#include "util/SystemInfo.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QRegularExpression>
#include <QSaveFile>
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

QJsonObject evalOptionsJson(const PerplexityOptions& o)
{
    return QJsonObject{{QStringLiteral("protocol"), protocolName(o.protocol)},
                       {QStringLiteral("n_ctx"), o.ctx},
                       {QStringLiteral("chunks"), o.maxChunks},
                       {QStringLiteral("first_chunk"), o.firstChunk}};
}

QJsonObject calibrationJson(const CalibrationSettings& c)
{
    return QJsonObject{{QStringLiteral("text"), c.text},
                       {QStringLiteral("samples"), c.samples},
                       {QStringLiteral("seq_len"), c.seqLen},
                       {QStringLiteral("seed"), qint64(c.seed)}};
}

/// The float model's hidden states on the evaluation chunks at every (strided) block input, the
/// base log-probabilities for KLD, and an evaluator that re-runs only the blocks after a change.
class EvalSample
{
public:
    EvalSample(const Transformer& t, std::vector<EvalChunk> chunks, const JobContext& job)
        : m_t(t), m_chunks(std::move(chunks))
    {
        const ModelConfig& c = t.config();
        const int L = c.numLayers;
        std::int64_t tokens = 0;
        for (const EvalChunk& ch : m_chunks)
            tokens += std::int64_t(ch.tokens.size());
        // Keep hidden states at every block input when they fit in a quarter of free memory.
        const double perCheckpoint = double(tokens) * c.hiddenSize * 4.0;
        const double avail = availableMemoryBytes() > 0 ? availableMemoryBytes() : 4e9;
        const int fit = std::max(1, int(0.25 * avail / std::max(1.0, perCheckpoint)) - 1);
        m_stride = std::max(1, (L + fit - 1) / fit);
        m_hidden.assign(std::size_t(L + 1), {});
        m_base.resize(m_chunks.size());
        KvCache cache = t.makeCache(maxLength());
        std::vector<float> h, logits;
        double nll = 0;
        for (std::size_t ci = 0; ci < m_chunks.size(); ++ci) {
            job.checkCancelled();
            const EvalChunk& ch = m_chunks[ci];
            const int n = int(ch.tokens.size());
            h.resize(std::size_t(n) * std::size_t(c.hiddenSize));
            t.embed(ch.tokens.data(), n, h.data());
            cache.clear();
            for (int b = 0; b < L; ++b) {
                if (b % m_stride == 0)
                    m_hidden[std::size_t(b)].push_back(h);
                t.runBlock(b, cache, h.data(), n);
            }
            m_hidden[std::size_t(L)].push_back(h);
            const int rows = headRows(ch, h, logits);
            for (int r = 0; r < rows; ++r) {
                const float* row = logits.data() + std::size_t(r) * std::size_t(t.vocabSize());
                const int target = ch.tokens[std::size_t(ch.firstScored + r + 1)];
                m_base[ci].push_back(KldBaseRow::fromLogits(row, t.vocabSize(), target));
                nll -= double(m_base[ci].back().targetLogProb);
            }
            m_scored += rows;
            job.report(double(ci + 1) / double(m_chunks.size()), QStringLiteral("base model"),
                       QStringLiteral("chunk %1 of %2").arg(ci + 1).arg(m_chunks.size()));
        }
        m_baseNll = nll / double(std::max<std::int64_t>(1, m_scored));
    }

    double baseNll() const { return m_baseNll; }
    std::int64_t scored() const { return m_scored; }
    int stride() const { return m_stride; }

    struct Loss
    {
        double nll = 0, kld = 0, top1 = 0;
    };

    /// Runs the current model from block `from` (the first block whose layers changed) to the end.
    Loss evaluateFrom(int from, const JobContext& job) const
    {
        const ModelConfig& c = m_t.config();
        const int L = c.numLayers;
        const int start = from >= L ? L : (from / m_stride) * m_stride;
        KvCache cache = m_t.makeCache(maxLength());
        KldAccumulator acc;
        std::vector<float> h, logits;
        std::vector<int> targets;
        double nll = 0;
        for (std::size_t ci = 0; ci < m_chunks.size(); ++ci) {
            job.checkCancelled();
            const EvalChunk& ch = m_chunks[ci];
            const int n = int(ch.tokens.size());
            h = m_hidden[std::size_t(start)][ci];
            cache.clear();
            for (int b = start; b < L; ++b)
                m_t.runBlock(b, cache, h.data(), n);
            const int rows = headRows(ch, h, logits);
            targets.assign(ch.tokens.begin() + ch.firstScored + 1,
                           ch.tokens.begin() + ch.firstScored + 1 + rows);
            for (int r = 0; r < rows; ++r) {
                const float* row = logits.data() + std::size_t(r) * std::size_t(m_t.vocabSize());
                nll += logSumExp(row, m_t.vocabSize()) - double(row[targets[std::size_t(r)]]);
            }
            acc.addChunk(logits.data(), rows, m_t.vocabSize(), targets.data(), m_base[ci]);
        }
        const KldStats k = acc.finish();
        return {nll / double(std::max<std::int64_t>(1, m_scored)), k.meanKld, k.sameTopPercent};
    }

private:
    int maxLength() const
    {
        int n = 1;
        for (const EvalChunk& ch : m_chunks)
            n = std::max(n, int(ch.tokens.size()));
        return n;
    }

    /// Logits of the scored rows (firstScored … n-2) of a chunk from its final hidden states.
    int headRows(const EvalChunk& ch, const std::vector<float>& h, std::vector<float>& logits) const
    {
        const int n = int(ch.tokens.size());
        const int rows = n - 1 - ch.firstScored;
        const std::size_t H = std::size_t(m_t.config().hiddenSize);
        logits.resize(std::size_t(rows) * std::size_t(m_t.vocabSize()));
        m_t.head(h.data() + std::size_t(ch.firstScored) * H, rows, logits.data());
        return rows;
    }

    const Transformer& m_t;
    std::vector<EvalChunk> m_chunks;
    int m_stride = 1;
    std::vector<std::vector<std::vector<float>>> m_hidden; ///< [block][chunk] inputs (strided; [L] = final)
    std::vector<std::vector<KldBaseRow>> m_base;
    std::int64_t m_scored = 0;
    double m_baseNll = 0;
};

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
    const auto* dense = dynamic_cast<const DenseLinear*>(&t.linear(li));
    if (!dense)
        throw Error(info.name +
                    QStringLiteral(": the model is already quantized; sensitivity needs a float model"));
    QuantizeRequest req;
    req.layerName = info.name;
    req.weight = dense->weight().data();
    req.rows = info.outFeatures;
    req.cols = info.inFeatures;
    req.stats = stats;
    try {
        req.spec = spec.fittedTo(info.inFeatures); // gguf: llama.cpp's fallback for rows the block does not divide
    } catch (const Error& e) {
        throw Error(info.name + u": " + e.message());
    }
    auto q = std::make_shared<const QuantizedTensor>(quantizeWeight(req, job));
    auto layer = std::make_shared<const QuantizedLinear>(q, dense->bias());
    QuantizedMember m;
    m.linear = li;
    m.layer = layer;
    m.bytes = q->storageBytes();
    LayerReport rep;
    measureQuantizedLayer(rep, req.weight, *q, *layer, stats);
    m.weightNorm = rep.weightSquaredNorm;
    m.weightErr = rep.weightRelMse * rep.weightSquaredNorm;
    if (std::isfinite(rep.outputRelMse)) {
        m.outNorm = rep.outputSquaredNorm;
        m.outErr = rep.outputRelMse * rep.outputSquaredNorm;
    }
    if (stats && stats->tokens > 0) { // diag(H) ∝ Σ x_j²: each column's error weighted by its input energy
        const std::vector<float> wq = q->effectiveWeight();
        for (std::int64_t r = 0; r < req.rows; ++r) {
            for (std::int64_t j = 0; j < req.cols; ++j) {
                const double d = stats->sumSquares[std::size_t(j)] / double(stats->tokens);
                const double w = req.weight[r * req.cols + j];
                const double e = w - double(wq[std::size_t(r * req.cols + j)]);
                m.hessErr += d * e * e;
                m.hessNorm += d * w * w;
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

QJsonObject SensitivityEntry::toJson() const
{
    return QJsonObject{{QStringLiteral("unit"), unit},
                       {QStringLiteral("scheme"), scheme},
                       {QStringLiteral("bytes"), qint64(bytes)},
                       {QStringLiteral("bpw"), bitsPerWeight},
                       {QStringLiteral("ppl"), ppl},
                       {QStringLiteral("delta_nll"), deltaNll},
                       {QStringLiteral("kld"), kld},
                       {QStringLiteral("top1"), top1},
                       {QStringLiteral("weight_rel_mse"), weightRelMse},
                       {QStringLiteral("hessian_error"), hessianError},
                       {QStringLiteral("output_rel_mse"), outputRelMse},
                       {QStringLiteral("seconds"), seconds}};
}

SensitivityEntry SensitivityEntry::fromJson(const QJsonObject& o)
{
    SensitivityEntry e;
    e.unit = o.value(u"unit").toString();
    e.scheme = o.value(u"scheme").toString();
    e.bytes = std::uint64_t(o.value(u"bytes").toInteger());
    e.bitsPerWeight = o.value(u"bpw").toDouble();
    e.ppl = o.value(u"ppl").toDouble();
    e.deltaNll = o.value(u"delta_nll").toDouble();
    e.kld = o.value(u"kld").toDouble();
    e.top1 = o.value(u"top1").toDouble();
    e.weightRelMse = o.value(u"weight_rel_mse").toDouble();
    e.hessianError = o.value(u"hessian_error").toDouble();
    e.outputRelMse = o.value(u"output_rel_mse").toDouble();
    e.seconds = o.value(u"seconds").toDouble();
    return e;
}

const SensitivityEntry* SensitivityResult::find(const QString& unit, const QString& scheme) const
{
    for (const SensitivityEntry& e : entries)
        if (e.unit == unit && e.scheme == scheme)
            return &e;
    return nullptr;
}

QString SensitivityResult::mismatch(const SensitivityResult& o) const
{
    if (modelFingerprint != o.modelFingerprint || linearParams != o.linearParams)
        return QStringLiteral("it was measured on another model (%1, not %2)").arg(modelName, o.modelName);
    if (evalTextSha256 != o.evalTextSha256)
        return QStringLiteral("it was evaluated on another text");
    if (evalOptionsJson(eval) != evalOptionsJson(o.eval))
        return QStringLiteral("its evaluation settings differ (%1 vs %2)")
            .arg(QString::fromUtf8(QJsonDocument(evalOptionsJson(eval)).toJson(QJsonDocument::Compact)),
                 QString::fromUtf8(QJsonDocument(evalOptionsJson(o.eval)).toJson(QJsonDocument::Compact)));
    if (!(calibration == o.calibration))
        return QStringLiteral("its calibration settings differ");
    return {};
}

QJsonObject SensitivityResult::toJson() const
{
    QJsonArray schemesJson, unitsJson, entriesJson;
    for (const SensitivityScheme& s : schemes)
        schemesJson.append(
            QJsonObject{{QStringLiteral("name"), s.name}, {QStringLiteral("spec"), s.spec.toJson()}});
    for (const SensitivityUnit& u : units) {
        QJsonArray ls;
        for (int li : u.linears)
            ls.append(li);
        unitsJson.append(QJsonObject{{QStringLiteral("name"), u.name},
                                     {QStringLiteral("linears"), ls},
                                     {QStringLiteral("params"), qint64(u.params)}});
    }
    for (const SensitivityEntry& e : entries)
        entriesJson.append(e.toJson());
    return QJsonObject{
        {QStringLiteral("format"), QStringLiteral("quantscope-sensitivity")},
        {QStringLiteral("version"), kVersion},
        {QStringLiteral("model"), QJsonObject{{QStringLiteral("path"), modelPath},
                                              {QStringLiteral("name"), modelName},
                                              {QStringLiteral("fingerprint"), modelFingerprint},
                                              {QStringLiteral("dtype"), modelDtype},
                                              {QStringLiteral("linear_params"), qint64(linearParams)}}},
        {QStringLiteral("eval"), QJsonObject{{QStringLiteral("text_sha256"), evalTextSha256},
                                             {QStringLiteral("options"), evalOptionsJson(eval)},
                                             {QStringLiteral("scored_tokens"), qint64(evalTokens)},
                                             {QStringLiteral("base_ppl"), basePpl},
                                             {QStringLiteral("base_nll"), baseNll}}},
        {QStringLiteral("calibration"), calibrationJson(calibration)},
        {QStringLiteral("schemes"), schemesJson},
        {QStringLiteral("units"), unitsJson},
        {QStringLiteral("entries"), entriesJson},
        {QStringLiteral("complete"), complete},
        {QStringLiteral("seconds"), seconds}};
}

SensitivityResult SensitivityResult::fromJson(const QJsonObject& o, const QString& path)
{
    if (o.value(u"format").toString() != u"quantscope-sensitivity")
        throw Error::inFile(
            path,
            QStringLiteral("not a QuantScope sensitivity file (no \"format\": \"quantscope-sensitivity\")"));
    const int version = o.value(u"version").toInt();
    if (version < 1 || version > kVersion)
        throw Error::inFile(
            path, QStringLiteral("sensitivity format version %1 is not supported (this build reads 1–%2)")
                      .arg(version)
                      .arg(kVersion));
    SensitivityResult r;
    const QJsonObject m = o.value(u"model").toObject();
    r.modelPath = m.value(u"path").toString();
    r.modelName = m.value(u"name").toString();
    r.modelFingerprint = m.value(u"fingerprint").toString();
    r.modelDtype = m.value(u"dtype").toString();
    r.linearParams = m.value(u"linear_params").toInteger();
    const QJsonObject ev = o.value(u"eval").toObject();
    r.evalTextSha256 = ev.value(u"text_sha256").toString();
    const QJsonObject eo = ev.value(u"options").toObject();
    try {
        r.eval.protocol = protocolFromName(eo.value(u"protocol").toString());
    } catch (const Error& e) {
        throw Error::inFile(path, e.message());
    }
    r.eval.ctx = eo.value(u"n_ctx").toInt();
    r.eval.maxChunks = eo.value(u"chunks").toInt();
    r.eval.firstChunk = eo.value(u"first_chunk").toInt();
    r.evalTokens = ev.value(u"scored_tokens").toInteger();
    r.basePpl = ev.value(u"base_ppl").toDouble();
    r.baseNll = ev.value(u"base_nll").toDouble();
    const QJsonObject cal = o.value(u"calibration").toObject();
    r.calibration.text = cal.value(u"text").toString();
    r.calibration.samples = cal.value(u"samples").toInt();
    r.calibration.seqLen = cal.value(u"seq_len").toInt();
    r.calibration.seed = std::uint32_t(cal.value(u"seed").toInteger());
    const QJsonArray schemes = o.value(u"schemes").toArray();
    for (qsizetype i = 0; i < schemes.size(); ++i) {
        const QJsonObject s = schemes[i].toObject();
        r.schemes.push_back({s.value(u"name").toString(),
                             QuantSpec::fromJson(s.value(u"spec").toObject(),
                                                 path + QStringLiteral(": schemes[%1]").arg(i))});
    }
    for (const QJsonValue& v : o.value(u"units").toArray()) {
        const QJsonObject u = v.toObject();
        SensitivityUnit unit;
        unit.name = u.value(u"name").toString();
        unit.params = u.value(u"params").toInteger();
        for (const QJsonValue& li : u.value(u"linears").toArray())
            unit.linears.push_back(li.toInt());
        r.units.push_back(unit);
    }
    for (const QJsonValue& v : o.value(u"entries").toArray())
        r.entries.push_back(SensitivityEntry::fromJson(v.toObject()));
    r.complete = o.value(u"complete").toBool();
    r.seconds = o.value(u"seconds").toDouble();
    if (r.modelFingerprint.isEmpty() || r.linearParams <= 0 || r.units.empty())
        throw Error::inFile(path, QStringLiteral("the sensitivity file has no model key or no units"));
    return r;
}

SensitivityResult SensitivityResult::load(const QString& path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        throw Error::inFile(path, QStringLiteral("cannot open: %1").arg(f.errorString()));
    QJsonParseError pe;
    const QJsonDocument doc = QJsonDocument::fromJson(f.readAll(), &pe);
    if (pe.error != QJsonParseError::NoError || !doc.isObject())
        throw Error::inFile(
            path, QStringLiteral("not valid JSON: %1 at offset %2").arg(pe.errorString()).arg(pe.offset));
    return fromJson(doc.object(), path);
}

void SensitivityResult::save(const QString& path) const
{
    QSaveFile f(path);
    if (!f.open(QIODevice::WriteOnly))
        throw Error::inFile(path, QStringLiteral("cannot write: %1").arg(f.errorString()));
    const QByteArray bytes = QJsonDocument(toJson()).toJson(QJsonDocument::Indented);
    if (f.write(bytes) != bytes.size() || !f.commit())
        throw Error::inFile(path, QStringLiteral("cannot write: %1").arg(f.errorString()));
}

QString SensitivityCost::toText() const
{
    return QStringLiteral(
               "%1 units × %2 schemes = %3 evaluations still to run, %4 tokens each, %5% of the blocks "
               "re-run on average: %6 M token-blocks")
        .arg(units)
        .arg(schemes)
        .arg(evaluations)
        .arg(evalTokens)
        .arg(blockFraction * 100, 0, 'f', 1)
        .arg(tokenBlocks / 1e6, 0, 'f', 2);
}

QJsonObject SensitivityCost::toJson() const
{
    return QJsonObject{{QStringLiteral("units"), units},
                       {QStringLiteral("schemes"), schemes},
                       {QStringLiteral("evaluations"), evaluations},
                       {QStringLiteral("eval_tokens"), qint64(evalTokens)},
                       {QStringLiteral("block_fraction"), blockFraction},
                       {QStringLiteral("token_blocks"), tokenBlocks}};
}

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
    cost.schemes = int(settings.schemes.size());
    const int L = model.config().numLayers;
    double blocks = 0;
    for (const SensitivityUnit& u : units) {
        for (const SensitivityScheme& s : settings.schemes) {
            if (previous && previous->find(u.name, s.name))
                continue;
            ++cost.evaluations;
            blocks += double(L - unitStart(model, u)) / std::max(1, L);
        }
    }
    cost.blockFraction = cost.evaluations ? blocks / cost.evaluations : 0;
    cost.tokenBlocks = blocks * double(cost.evalTokens) * L;
    return cost;
}

SensitivityResult runSensitivity(std::shared_ptr<const Model> modelPtr, const Tokenizer& tokenizer,
                                 const SensitivitySettings& settings, const SensitivityResult* previous,
                                 const JobContext& job,
                                 const std::function<void(const SensitivityResult&)>& checkpoint)
{
    const auto t0 = Clock::now();
    const Model& model = *modelPtr;
    if (settings.schemes.empty())
        throw Error(QStringLiteral("the candidate scheme list is empty"));
    bool needStats = false, needHessian = false;
    for (const SensitivityScheme& s : settings.schemes) {
        const QString problem = s.spec.validate();
        if (!problem.isEmpty())
            throw Error(s.name + u": " + problem);
        needStats = needStats || s.spec.needsCalibration();
        needHessian = needHessian || s.spec.method == QuantMethod::Gptq;
    }
    for (const LinearLayerInfo& l : model.linears())
        if (l.quant)
            throw Error::inFile(model.path(),
                                QStringLiteral("the model is already quantized (%1); sensitivity starts "
                                               "from the float model")
                                    .arg(l.name));
    if (needStats && settings.calibration.text.isEmpty())
        throw Error(QStringLiteral(
            "schemes that need calibration (GPTQ, AWQ, …) are listed but no calibration text was given"));
    const bool calibrate = !settings.calibration.text.isEmpty();

    SensitivityResult r;
    r.modelPath = model.path();
    r.modelName = model.displayName();
    r.modelFingerprint = model.architectureFingerprint();
    r.modelDtype = dtypeName(model.linears().front().dtype);
    for (const LinearLayerInfo& l : model.linears())
        r.linearParams += l.params();
    QByteArray evalText;
    const std::vector<int> evalTokens = tokenizeEval(tokenizer, settings.evalText, &evalText);
    r.evalTextSha256 = sha256Hex(evalText);
    r.eval = settings.eval;
    r.calibration = calibrate ? settings.calibration : CalibrationSettings{};
    r.schemes = settings.schemes;
    r.units = sensitivityUnits(model, settings);
    if (previous) {
        const QString why = previous->mismatch(r);
        if (!why.isEmpty())
            throw Error(u"cannot resume from the earlier sensitivity results: " + why);
    }
    auto reusable = [&](const SensitivityUnit& u, const SensitivityScheme& s) -> const SensitivityEntry* {
        if (!previous)
            return nullptr;
        for (const SensitivityUnit& pu : previous->units)
            if (pu.name == u.name && pu.linears == u.linears)
                return previous->find(u.name, s.name);
        return nullptr;
    };

    job.report(0, QStringLiteral("loading"), model.displayName());
    Transformer t(modelPtr);
    const ModelConfig& c = model.config();
    const int L = c.numLayers;
    const std::vector<EvalChunk> chunks = makeChunks(evalTokens, withBos(settings.eval, tokenizer));
    const EvalSample sample(t, chunks, job);
    r.baseNll = sample.baseNll();
    r.basePpl = std::exp(r.baseNll);
    r.evalTokens = sample.scored();

    // Units become measurable once the block of their last member has been quantized.
    std::map<int, std::vector<std::size_t>> unitsEndingAt;
    int total = 0;
    std::set<int> needed; // linears with at least one scheme to measure
    for (std::size_t ui = 0; ui < r.units.size(); ++ui) {
        const SensitivityUnit& u = r.units[ui];
        unitsEndingAt[unitEnd(model, u)].push_back(ui);
        for (const SensitivityScheme& s : settings.schemes) {
            if (const SensitivityEntry* e = reusable(u, s)) {
                r.entries.push_back(*e);
            } else {
                ++total;
                needed.insert(u.linears.begin(), u.linears.end());
            }
        }
    }

    std::vector<std::vector<int>> windows;
    std::vector<std::vector<float>> calHidden;
    if (calibrate && total > 0) {
        job.report(0, QStringLiteral("calibrating"),
                   QStringLiteral("tokenizing %1").arg(settings.calibration.text));
        windows = calibrationWindows(tokenizer, settings.calibration,
                                     tokenizer.bosId() >= 0 ? tokenizer.bosId() : std::max(0, c.bosTokenId));
        calHidden.resize(windows.size());
        for (std::size_t s = 0; s < windows.size(); ++s) {
            calHidden[s].resize(windows[s].size() * std::size_t(c.hiddenSize));
            t.embed(windows[s].data(), int(windows[s].size()), calHidden[s].data());
        }
    }
    KvCache calCache = t.makeCache(calibrate ? settings.calibration.seqLen : 1);
    // pending[unit][scheme] = quantized members so far
    std::map<std::size_t, std::map<std::size_t, std::vector<QuantizedMember>>> pending;
    std::map<int, std::size_t> unitOf;
    for (std::size_t ui = 0; ui < r.units.size(); ++ui)
        for (int li : r.units[ui].linears)
            unitOf[li] = ui;
    int done = 0;
    const auto tSweep = Clock::now();

    auto quantizeLayers = [&](const std::vector<int>& layers, const CalibrationCollector* col) {
        for (int li : layers) {
            if (!needed.count(li) || !unitOf.count(li))
                continue;
            const std::size_t ui = unitOf[li];
            for (std::size_t si = 0; si < settings.schemes.size(); ++si) {
                if (reusable(r.units[ui], settings.schemes[si]))
                    continue;
                job.checkCancelled();
                pending[ui][si].push_back(
                    quantizeMember(t, li, settings.schemes[si].spec, col ? col->find(li) : nullptr, job));
            }
        }
    };

    auto measureUnits = [&](int block) {
        for (std::size_t ui : unitsEndingAt[block]) {
            const SensitivityUnit& u = r.units[ui];
            for (std::size_t si = 0; si < settings.schemes.size(); ++si) {
                if (reusable(u, settings.schemes[si]))
                    continue;
                const auto te = Clock::now();
                std::vector<QuantizedMember>& members = pending[ui][si];
                std::vector<std::shared_ptr<const LinearLayer>> saved;
                SensitivityEntry e;
                e.unit = u.name;
                e.scheme = settings.schemes[si].name;
                double we = 0, wn = 0, he = 0, hn = 0, oe = 0, on = 0, quantSeconds = 0;
                for (const QuantizedMember& m : members) {
                    saved.push_back(t.linearPtr(m.linear));
                    t.setLinear(m.linear, m.layer);
                    e.bytes += m.bytes;
                    we += m.weightErr, wn += m.weightNorm, he += m.hessErr, hn += m.hessNorm;
                    oe += m.outErr, on += m.outNorm, quantSeconds += m.seconds;
                }
                EvalSample::Loss loss;
                try {
                    loss = sample.evaluateFrom(unitStart(model, u), job);
                } catch (...) {
                    for (std::size_t k = 0; k < members.size(); ++k)
                        t.setLinear(members[k].linear, saved[k]);
                    throw;
                }
                for (std::size_t k = 0; k < members.size(); ++k)
                    t.setLinear(members[k].linear, saved[k]);
                e.bitsPerWeight = 8.0 * double(e.bytes) / double(std::max<std::int64_t>(1, u.params));
                e.deltaNll = loss.nll - r.baseNll;
                e.ppl = std::exp(loss.nll);
                e.kld = loss.kld;
                e.top1 = loss.top1;
                e.weightRelMse = ratio(we, wn);
                e.hessianError = ratio(he, hn);
                e.outputRelMse = ratio(oe, on);
                e.seconds = quantSeconds + since(te);
                r.entries.push_back(e);
                ++done;
                r.seconds = since(t0);
                if (checkpoint) // before the progress report: whoever sees "measuring X" can rely on X being
                                // kept
                    checkpoint(r);
                const double elapsed = since(tSweep), frac = double(done) / std::max(1, total);
                job.report(frac, QStringLiteral("measuring"), e.unit + u' ' + e.scheme,
                           elapsed / frac - elapsed);
            }
            pending.erase(ui);
        }
    };

    for (int b = 0; b < L && done < total; ++b) {
        const auto& arr = model.blocks()[std::size_t(b)].linears;
        const std::vector<int> blockLinears(arr.begin(), arr.end());
        bool any = false;
        for (int li : blockLinears)
            any = any || needed.count(li);
        if (!calibrate) {
            quantizeLayers(blockLinears, nullptr);
        } else {
            CalibrationOptions opt;
            opt.hessian = needHessian;
            opt.sampleRows = kSampleRows;
            opt.seed = settings.calibration.seed + std::uint64_t(b) * 16;
            std::set<int> capture;
            for (int li : blockLinears)
                if (needed.count(li))
                    capture.insert(li);
            CalibrationCollector col(model, capture, opt);
            for (std::size_t s = 0; s < windows.size(); ++s) { // float model: capture and advance in one pass
                job.checkCancelled();
                calCache.clear();
                t.runBlock(b, calCache, calHidden[s].data(), int(windows[s].size()), any ? &col : nullptr);
            }
            quantizeLayers(blockLinears, &col);
        }
        measureUnits(b);
    }
    const int headIndex = t.headLinearIndex();
    if (done < total && headIndex >= 0) {
        if (calibrate && needed.count(headIndex)) {
            CalibrationOptions opt;
            opt.hessian = needHessian;
            opt.sampleRows = kSampleRows;
            opt.seed = settings.calibration.seed + 7919;
            CalibrationCollector col(model, {headIndex}, opt);
            collectHeadStatistics(t, headIndex, calHidden, col, job);
            quantizeLayers({headIndex}, &col);
        } else {
            quantizeLayers({headIndex}, nullptr);
        }
    }
    measureUnits(L);
    // Entries in unit order then scheme order, whatever was reused.
    std::vector<SensitivityEntry> ordered;
    for (const SensitivityUnit& u : r.units)
        for (const SensitivityScheme& s : r.schemes)
            if (const SensitivityEntry* e = r.find(u.name, s.name))
                ordered.push_back(*e);
    r.entries = std::move(ordered);
    r.complete = r.entries.size() == r.units.size() * r.schemes.size();
    r.seconds = since(t0);
    job.report(1.0, QStringLiteral("done"), model.displayName());
    return r;
}

} // namespace qs
