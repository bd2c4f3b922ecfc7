#include "results/RunResults.h"

#include "checkpoint/QuantizedModelIO.h"
#include "eval/Evaluation.h"
#include "model/Model.h"
#include "quant/QuantizeJob.h"
#include "util/Error.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QRegularExpression>
#include <algorithm>
#include <functional>
#include <numeric>
#include <optional>

namespace qs {

namespace {

constexpr std::array<const char*, MemoryBreakdown::RoleCount> kRoleKeys{
    "embeddings", "attention", "mlp", "head", "norms", "overhead"};

MemoryBreakdown::Role roleOf(LinearKind kind)
{
    if (kind == LinearKind::Head)
        return MemoryBreakdown::Head;
    return QLatin1String(linearKindInfo(kind).module) == u"mlp" ? MemoryBreakdown::Mlp
                                                                : MemoryBreakdown::Attention;
}

/// Splits each linear's bytes into codes (its role) and overhead; `storage(i)` gives linear i's
/// spec (nullopt: stored as float) and stored bytes.
MemoryBreakdown
breakdown(const Model& model,
          const std::function<std::pair<std::optional<QuantSpec>, std::uint64_t>(std::size_t)>& storage)
{
    MemoryBreakdown m;
    std::uint64_t baseLinearBytes = 0;
    for (std::size_t i = 0; i < model.linears().size(); ++i) {
        const LinearLayerInfo& l = model.linears()[i];
        baseLinearBytes += l.bytes();
        const auto [spec, bytes] = storage(i);
        std::uint64_t codes = bytes;
        if (spec && spec->method != QuantMethod::Float)
            codes = std::min(bytes, spec->cost(l.outFeatures, l.inFeatures).codeBytes);
        m.bytes[roleOf(l.kind)] += codes;
        m.bytes[MemoryBreakdown::Overhead] += bytes - codes;
    }
    const std::uint64_t embeddings = model.tensors().info(model.embeddingTensor()).bytes();
    m.bytes[MemoryBreakdown::Embeddings] = embeddings;
    const std::uint64_t rest = model.totals().bytes - std::min(model.totals().bytes, baseLinearBytes);
    m.bytes[MemoryBreakdown::Norms] = rest - std::min(rest, embeddings);
    return m;
}

double numberOr(const QJsonValue& v, double fallback)
{
    return v.isDouble() ? v.toDouble() : fallback;
}

QJsonObject readJsonObject(const QString& file)
{
    QFile f(file);
    if (!f.open(QIODevice::ReadOnly))
        throw Error::inFile(file, u"cannot open: " + f.errorString());
    QJsonParseError perr{};
    const QJsonDocument doc = QJsonDocument::fromJson(f.readAll(), &perr);
    if (perr.error != QJsonParseError::NoError)
        throw Error::inFile(file, u"invalid JSON: " + perr.errorString());
    if (!doc.isObject() || doc.object().isEmpty())
        throw Error::inFile(file,
                            QStringLiteral("expected a JSON object (a run.json or an eval --json file)"));
    return doc.object();
}

std::int64_t paramsFromSize(std::uint64_t bytes, double bpw)
{
    return bpw > 0 ? std::int64_t(std::llround(8.0 * double(bytes) / bpw)) : 0;
}

} // namespace

std::uint64_t MemoryBreakdown::total() const
{
    return std::accumulate(bytes.begin(), bytes.end(), std::uint64_t(0));
}

const char* MemoryBreakdown::key(Role r)
{
    return kRoleKeys[std::size_t(r)];
}

QJsonObject MemoryBreakdown::toJson() const
{
    QJsonObject o;
    for (int r = 0; r < RoleCount; ++r)
        o.insert(QLatin1String(kRoleKeys[std::size_t(r)]), qint64(bytes[std::size_t(r)]));
    return o;
}

MemoryBreakdown MemoryBreakdown::fromJson(const QJsonObject& o)
{
    MemoryBreakdown m;
    for (int r = 0; r < RoleCount; ++r)
        m.bytes[std::size_t(r)] =
            std::uint64_t(std::max<qint64>(0, o.value(QLatin1String(kRoleKeys[std::size_t(r)])).toInteger()));
    return m;
}

MemoryBreakdown memoryBreakdown(const Model& model)
{
    return breakdown(model, [&](std::size_t i) {
        const LinearLayerInfo& l = model.linears()[i];
        return std::make_pair(l.quant, l.bytes());
    });
}

MemoryBreakdown memoryBreakdown(const Model& base, const std::vector<LayerReport>& layers)
{
    std::vector<const LayerReport*> byIndex(base.linears().size(), nullptr);
    for (const LayerReport& r : layers) {
        if (r.linearIndex >= 0 && std::size_t(r.linearIndex) < byIndex.size())
            byIndex[std::size_t(r.linearIndex)] = &r;
    }
    return breakdown(base, [&](std::size_t i) {
        if (const LayerReport* r = byIndex[i])
            return std::make_pair(std::optional<QuantSpec>(r->spec), r->bytes);
        const LinearLayerInfo& l = base.linears()[i];
        return std::make_pair(l.quant, l.bytes());
    });
}

std::optional<QuantSpec> LayerMetrics::specFromJson(const QJsonValue& v)
{
    if (!v.isObject())
        return std::nullopt;
    try {
        return QuantSpec::fromJson(v.toObject(), QString());
    } catch (const Error&) {
        return std::nullopt; // a spec this version cannot read: the label still names it
    }
}

std::optional<QuantSpec> LayerMetrics::scheme() const
{
    if (spec)
        return spec;
    const QStringList t = label.split(u' ', Qt::SkipEmptyParts);
    if (t.isEmpty())
        return std::nullopt;
    try {
        if (t.size() == 1) { // a float layer: "f16"
            const QuantSpec s = QuantSpec::fromShortName(t.front());
            return s.method == QuantMethod::Float ? std::optional(s) : std::nullopt;
        }
        if (t.front() == u"gguf") { // "gguf Q4_K [imatrix]"
            const auto type = ggmlTypeFromName(t[1]);
            return type ? std::optional(QuantSpec::ggml(*type, t.contains(QStringLiteral("imatrix"))))
                        : std::nullopt;
        }
    } catch (const Error&) {
        return std::nullopt;
    }
    // "gptq int4 g128 asym act-order", "smoothquant w8a8 channel sym", … (QuantSpec::label)
    QuantSpec s;
    if (!quantMethodFromName(t.front(), s.method))
        return std::nullopt;
    static const QRegularExpression intBits(QStringLiteral("^int(\\d+)$")),
        actBits(QStringLiteral("^w(\\d+)a(\\d+)$")), group(QStringLiteral("^g(\\d+)$"));
    for (const QString& token : t.mid(1)) {
        if (const auto m = intBits.match(token); m.hasMatch()) {
            s.bits = m.captured(1).toInt();
        } else if (const auto a = actBits.match(token); a.hasMatch()) {
            s.bits = a.captured(1).toInt();
            s.activationBits = a.captured(2).toInt();
        } else if (const auto g = group.match(token); g.hasMatch()) {
            s.granularity = Granularity::PerGroup;
            s.groupSize = g.captured(1).toInt();
        } else if (token == granularityName(Granularity::PerChannel)) {
            s.granularity = Granularity::PerChannel;
        } else if (token == granularityName(Granularity::PerTensor)) {
            s.granularity = Granularity::PerTensor;
        } else if (token == u"sym" || token == u"asym") {
            s.symmetric = token == u"sym";
        } else if (token == u"act-order") {
            s.actOrder = true;
        } else if (token == u"clip") {
            s.clipSearch = true;
        } else if (token == u"hadamard") {
            s.incoherence = Incoherence::Hadamard;
        } else {
            return std::nullopt;
        }
    }
    return s;
}

LayerMetrics LayerMetrics::fromJson(const QJsonObject& o)
{
    LayerMetrics m;
    m.name = o.value(u"name").toString();
    m.kind = o.value(u"kind").toString();
    m.block = o.value(u"block").toInt(-1);
    m.label = o.value(u"label").toString();
    m.method = o.value(u"spec").toObject().value(u"method").toString();
    m.bitsPerWeight = o.value(u"bpw").toDouble();
    m.bytes = std::uint64_t(std::max<qint64>(0, o.value(u"bytes").toInteger()));
    m.spec = specFromJson(o.value(u"spec"));
    m.weightRelMse = numberOr(o.value(u"weight_rel_mse"), m.weightRelMse);
    m.outputRelMse = numberOr(o.value(u"output_rel_mse"), m.outputRelMse);
    m.maxAbsError = o.value(u"max_abs_error").toDouble();
    m.histogramMin = o.value(u"histogram_min").toDouble();
    m.histogramMax = o.value(u"histogram_max").toDouble();
    for (const QJsonValue& v : o.value(u"error_histogram").toArray())
        m.errorHistogram.push_back(v.toDouble());
    return m;
}

QString methodLabel(const std::vector<LayerMetrics>& layers)
{
    QStringList methods;
    for (const LayerMetrics& l : layers) {
        if (l.method != u"float" && !methods.contains(l.method))
            methods << l.method;
    }
    if (methods.isEmpty())
        return QStringLiteral("float");
    if (methods.size() > 1)
        return QStringLiteral("mixed");
    QuantMethod m{};
    return quantMethodFromName(methods.front(), m) ? QString::fromUtf8(quantMethodInfo(m).displayName)
                                                   : methods.front();
}

const LayerMetrics* RunSummary::findLayer(const QString& layer) const
{
    for (const LayerMetrics& l : layers) {
        if (l.name == layer)
            return &l;
    }
    return nullptr;
}

void RunSummary::readEvaluation(const QJsonObject& e)
{
    const QJsonObject pp = e.value(u"perplexity").toObject();
    ppl = numberOr(pp.value(u"ppl"), ppl);
    pplError = numberOr(pp.value(u"ppl_error"), pplError);
    if (pp.contains(u"protocol"))
        evalProtocol = QStringLiteral("%1 ctx %2 × %3")
                           .arg(pp.value(u"protocol").toString())
                           .arg(pp.value(u"n_ctx").toInt())
                           .arg(pp.value(u"chunks").toInt());
    evalText = e.value(u"text").toString(evalText);
    tokenizer = e.value(u"tokenizer").toString(tokenizer);
    if (e.contains(u"warnings")) {
        warnings.clear();
        for (const QJsonValue& w : e.value(u"warnings").toArray())
            warnings << w.toString();
    }
    const QJsonObject kld = e.value(u"kld").toObject();
    kldMean = numberOr(kld.value(u"mean_kld"), kldMean);
    kldError = numberOr(kld.value(u"mean_kld_error"), kldError);
    top1Percent = numberOr(kld.value(u"same_top_percent"), top1Percent);
    top1Error = numberOr(kld.value(u"same_top_error"), top1Error);
    deltaPpl = numberOr(kld.value(u"delta_ppl"), deltaPpl);
    deltaPplError = numberOr(kld.value(u"delta_ppl_error"), deltaPplError);
    if (modelBytes == 0)
        modelBytes = std::uint64_t(std::max<qint64>(0, e.value(u"model_bytes").toInteger()));
    if (bitsPerWeight == 0)
        bitsPerWeight = e.value(u"bpw").toDouble();
    if (linearBitsPerWeight == 0)
        linearBitsPerWeight = e.value(u"linear_bpw").toDouble();
    if (modelPath.isEmpty())
        modelPath = e.value(u"model").toString();
    if (e.contains(u"speed")) {
        const SpeedMeasurement sp = SpeedMeasurement::fromJson(e.value(u"speed").toObject());
        prefillTokensPerSecond = sp.prefillTokensPerSecond;
        decodeTokensPerSecond = sp.decodeTokensPerSecond;
        speedThreads = sp.threads;
        residentBytes = sp.weightBytes;
    }
}

RunSummary RunSummary::fromModel(const Model& model)
{
    RunSummary r;
    r.name = model.displayName();
    r.source = model.path();
    r.modelPath = model.path();
    r.fingerprint = model.architectureFingerprint();
    r.params = model.totals().params;
    r.memory = memoryBreakdown(model);
    r.modelBytes = model.totals().bytes;
    r.bitsPerWeight = model.totals().bitsPerWeight();
    std::int64_t linearParams = 0;
    for (const LinearLayerInfo& l : model.linears()) {
        r.linearBytes += l.bytes();
        linearParams += l.params();
    }
    r.linearBitsPerWeight = linearParams ? 8.0 * double(r.linearBytes) / double(linearParams) : 0;
    r.isBaseline = !model.isQuantized();
    r.method = model.isQuantized() ? QStringLiteral("mixed") : QStringLiteral("float");
    r.recipeSummary = model.weightDtypeName();
    if (model.isQuantized()) {
        for (const QJsonValue& v :
             model.quantizationInfo().value(u"result").toObject().value(u"layers").toArray())
            r.layers.push_back(LayerMetrics::fromJson(v.toObject()));
        r.method = methodLabel(r.layers);
    }
    return r;
}

RunSummary RunSummary::fromResult(const QString& name, const QString& recipeSummary, const Model& base,
                                  const std::vector<LayerReport>& layers, double quantizeSeconds,
                                  const EvaluationResult* eval)
{
    RunSummary r;
    r.name = name;
    r.recipeSummary = recipeSummary;
    r.source = name;
    r.modelPath = base.path();
    r.fingerprint = base.architectureFingerprint();
    r.params = base.totals().params;
    r.memory = memoryBreakdown(base, layers);
    r.modelBytes = r.memory.total();
    r.bitsPerWeight = r.params ? 8.0 * double(r.modelBytes) / double(r.params) : 0;
    std::int64_t linearParams = 0;
    for (const LayerReport& l : layers) {
        r.linearBytes += l.bytes;
        linearParams += base.linears()[std::size_t(l.linearIndex)].params();
        r.layers.push_back(LayerMetrics::fromJson(l.toJson()));
    }
    r.linearBitsPerWeight = linearParams ? 8.0 * double(r.linearBytes) / double(linearParams) : 0;
    r.quantizeSeconds = quantizeSeconds;
    r.method = methodLabel(r.layers);
    if (eval)
        r.readEvaluation(eval->toJson());
    return r;
}

RunSummary RunSummary::load(const QString& path)
{
    const QFileInfo info(path);
    const QString file = info.isDir() ? QDir(path).filePath(QStringLiteral("run.json")) : path;
    if (!QFileInfo::exists(file))
        throw Error::inFile(file, info.isDir()
                                      ? QStringLiteral("missing (a quantize --out folder has run.json)")
                                      : QStringLiteral("no such file"));
    const QJsonObject o = readJsonObject(file);
    RunSummary r;
    r.source = path;
    if (o.contains(u"perplexity") &&
        !o.contains(u"eval")) { // eval --json: a baseline (or an evaluated checkpoint)
        r.readEvaluation(o);
        r.name = QFileInfo(r.modelPath).fileName();
        if (r.name.isEmpty())
            r.name = QFileInfo(file).completeBaseName();
        r.params = paramsFromSize(r.modelBytes, r.bitsPerWeight);
        r.isBaseline = r.linearBitsPerWeight >= 16;
        r.method = r.isBaseline ? QStringLiteral("float") : QStringLiteral("eval");
        if (!r.modelPath.isEmpty() &&
            QFileInfo::exists(QDir(r.modelPath).filePath(QStringLiteral("config.json")))) {
            const auto model = Model::open(r.modelPath);
            const RunSummary m = fromModel(*model);
            r.fingerprint = m.fingerprint;
            r.params = m.params;
            r.memory = m.memory;
            r.linearBytes = m.linearBytes;
            r.layers = m.layers;
            r.isBaseline = !model->isQuantized();
            r.method = m.method;
            r.recipeSummary = m.recipeSummary;
        }
        return r;
    }
    if (!o.contains(u"model_bytes") || !o.contains(u"bpw"))
        throw Error::inFile(
            file, QStringLiteral("neither a run.json (quantize --out) nor an eval JSON (eval --json): "
                                 "no model_bytes/bpw"));
    r.name = o.value(u"name").toString(QFileInfo(QFileInfo(file).absolutePath()).fileName());
    r.recipeSummary = o.value(u"recipe_summary").toString();
    r.modelPath = o.value(u"model").toString();
    r.modelBytes = std::uint64_t(std::max<qint64>(0, o.value(u"model_bytes").toInteger()));
    r.bitsPerWeight = o.value(u"bpw").toDouble();
    r.linearBitsPerWeight = o.value(u"linear_bpw").toDouble();
    r.quantizeSeconds = numberOr(o.value(u"quantize_seconds"), r.quantizeSeconds);
    r.params = paramsFromSize(r.modelBytes, r.bitsPerWeight);
    if (o.contains(u"eval"))
        r.readEvaluation(o.value(u"eval").toObject());
    // The checkpoint beside run.json holds the per-layer measurements and the stored sizes.
    const QString dir = QFileInfo(file).absolutePath();
    if (QFileInfo::exists(QDir(dir).filePath(QStringLiteral("config.json")))) {
        const auto model = Model::open(dir);
        const RunSummary m = fromModel(*model);
        r.fingerprint = m.fingerprint;
        r.params = m.params;
        r.memory = m.memory;
        r.linearBytes = m.linearBytes;
        r.layers = m.layers;
        r.method = m.method;
    } else {
        // From the summary's schemes ("gptq w4 g128 ×20 + rtn w8 ch ×15"): one method, or mixed.
        QStringList methods;
        for (const QString& part : r.recipeSummary.split(QStringLiteral(" + ")))
            if (!methods.contains(part.section(u' ', 0, 0)))
                methods << part.section(u' ', 0, 0);
        QuantMethod method{};
        r.method = methods.size() == 1 && quantMethodFromName(methods.front(), method)
                       ? QString::fromUtf8(quantMethodInfo(method).displayName)
                       : QStringLiteral("mixed");
    }
    return r;
}

QStringList checkComparable(const std::vector<RunSummary>& runs, const RunSummary* baseline)
{
    QStringList warnings;
    std::vector<const RunSummary*> all;
    if (baseline)
        all.push_back(baseline);
    for (const RunSummary& r : runs)
        all.push_back(&r);
    if (all.size() < 2)
        return warnings;
    const RunSummary& ref = *all.front();
    auto canonical = [](const QString& p) {
        const QString c = QFileInfo(p).canonicalFilePath();
        return c.isEmpty() ? p : c;
    };
    for (std::size_t i = 1; i < all.size(); ++i) {
        const RunSummary& r = *all[i];
        if (ref.params > 0 && r.params > 0 &&
            double(std::llabs(ref.params - r.params)) > 1e-3 * double(std::max(ref.params, r.params)))
            throw Error(
                QStringLiteral("'%1' and '%2' come from different models (%3 vs %4 parameters; %5 vs %6)")
                    .arg(ref.source, r.source)
                    .arg(ref.params)
                    .arg(r.params)
                    .arg(ref.modelPath, r.modelPath));
        if (!ref.fingerprint.isEmpty() && !r.fingerprint.isEmpty() && ref.fingerprint != r.fingerprint)
            throw Error(
                QStringLiteral("'%1' and '%2' come from different models (architecture or tokenizer differ; "
                               "%3 vs %4)")
                    .arg(ref.source, r.source, ref.modelPath, r.modelPath));
        const bool bothEvaluated = !ref.evalText.isEmpty() && !r.evalText.isEmpty();
        if (bothEvaluated && canonical(ref.evalText) != canonical(r.evalText))
            warnings << QStringLiteral(
                            "different-eval-text: '%1' was evaluated on %2, '%3' on %4; their losses are not "
                            "comparable")
                            .arg(ref.source, ref.evalText, r.source, r.evalText);
        else if (bothEvaluated && ref.evalProtocol != r.evalProtocol)
            warnings << QStringLiteral(
                            "different-eval-protocol: '%1' used %2, '%3' %4; their losses are not comparable")
                            .arg(ref.source, ref.evalProtocol, r.source, r.evalProtocol);
    }
    return warnings;
}

double layerError(const LayerMetrics& layer, LayerErrorMetric metric)
{
    switch (metric) {
    case LayerErrorMetric::WeightRelMse:
        return layer.weightRelMse;
    case LayerErrorMetric::OutputRelMse:
        return layer.outputRelMse;
    case LayerErrorMetric::KldContribution:
        return layer.kldContribution;
    }
    return std::numeric_limits<double>::quiet_NaN();
}

bool LayerErrorMatrix::hasValues() const
{
    return std::any_of(values.begin(), values.end(), [](double v) { return std::isfinite(v); });
}

std::vector<int> LayerErrorMatrix::layersByMeanError() const
{
    std::vector<double> mean(std::size_t(layers.size()), -std::numeric_limits<double>::infinity());
    for (int l = 0; l < int(layers.size()); ++l) {
        double sum = 0;
        int n = 0;
        for (int r = 0; r < int(runs.size()); ++r) {
            if (std::isfinite(at(l, r))) {
                sum += at(l, r);
                ++n;
            }
        }
        if (n)
            mean[std::size_t(l)] = sum / n;
    }
    std::vector<int> order(std::size_t(layers.size()));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int a, int b) { return mean[std::size_t(a)] > mean[std::size_t(b)]; });
    return order;
}

LayerErrorMatrix layerErrorMatrix(const std::vector<RunSummary>& runs, LayerErrorMetric metric)
{
    LayerErrorMatrix m;
    for (const RunSummary& r : runs) {
        m.runs << r.name;
        for (const LayerMetrics& l : r.layers) {
            if (!m.layers.contains(l.name))
                m.layers << l.name;
        }
    }
    m.values.assign(std::size_t(m.layers.size()) * std::size_t(m.runs.size()),
                    std::numeric_limits<double>::quiet_NaN());
    for (std::size_t r = 0; r < runs.size(); ++r) {
        for (const LayerMetrics& l : runs[r].layers)
            m.values[std::size_t(m.layers.indexOf(l.name)) * runs.size() + r] = layerError(l, metric);
    }
    return m;
}

std::vector<float> readLinearWeight(const Model& model, const QString& layer, std::int64_t* rows,
                                    std::int64_t* cols)
{
    const LinearLayerInfo* l = model.findLinear(layer);
    if (!l)
        throw Error::inFile(model.path(), u"no linear layer named '" + layer + u"'");
    if (rows)
        *rows = l->outFeatures;
    if (cols)
        *cols = l->inFeatures;
    if (l->quant)
        return readQuantizedTensor(model.tensors(), l->name, *l->quant, l->outFeatures, l->inFeatures)
            .dequantize();
    return model.tensors().readF32(l->weight);
}

} // namespace qs
