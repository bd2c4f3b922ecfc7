#include "results/RunSummaryJson.h"

#include "util/Error.h"

#include <QJsonArray>
#include <algorithm>
#include <cmath>
#include <limits>

namespace qs {

namespace {

QJsonValue number(double v)
{
    return std::isfinite(v) ? QJsonValue(v) : QJsonValue(QJsonValue::Null);
}

double numberOr(const QJsonValue& v, double fallback = std::numeric_limits<double>::quiet_NaN())
{
    return v.isDouble() ? v.toDouble() : fallback;
}

QJsonObject layerToJson(const LayerMetrics& l)
{
    QJsonArray histogram;
    for (double c : l.errorHistogram)
        histogram.append(c);
    return {{QStringLiteral("name"), l.name},
            {QStringLiteral("kind"), l.kind},
            {QStringLiteral("block"), l.block},
            {QStringLiteral("label"), l.label},
            {QStringLiteral("method"), l.method},
            {QStringLiteral("bpw"), number(l.bitsPerWeight)},
            {QStringLiteral("bytes"), qint64(l.bytes)},
            {QStringLiteral("spec"), l.spec ? QJsonValue(l.spec->toJson()) : QJsonValue()},
            {QStringLiteral("weight_rel_mse"), number(l.weightRelMse)},
            {QStringLiteral("output_rel_mse"), number(l.outputRelMse)},
            {QStringLiteral("max_abs_error"), number(l.maxAbsError)},
            {QStringLiteral("histogram_min"), number(l.histogramMin)},
            {QStringLiteral("histogram_max"), number(l.histogramMax)},
            {QStringLiteral("error_histogram"), histogram}};
}

LayerMetrics layerFromJson(const QJsonObject& o)
{
    LayerMetrics l;
    l.name = o.value(u"name").toString();
    l.kind = o.value(u"kind").toString();
    l.block = o.value(u"block").toInt(-1);
    l.label = o.value(u"label").toString();
    l.method = o.value(u"method").toString();
    l.bitsPerWeight = numberOr(o.value(u"bpw"), 0);
    l.bytes = std::uint64_t(std::max<qint64>(0, o.value(u"bytes").toInteger()));
    l.spec = LayerMetrics::specFromJson(o.value(u"spec"));
    l.weightRelMse = numberOr(o.value(u"weight_rel_mse"), 0);
    l.outputRelMse = numberOr(o.value(u"output_rel_mse"));
    l.maxAbsError = numberOr(o.value(u"max_abs_error"), 0);
    l.histogramMin = numberOr(o.value(u"histogram_min"), 0);
    l.histogramMax = numberOr(o.value(u"histogram_max"), 0);
    for (const QJsonValue& v : o.value(u"error_histogram").toArray())
        l.errorHistogram.push_back(v.toDouble());
    return l;
}

} // namespace

QJsonObject runSummaryToJson(const RunSummary& r)
{
    QJsonArray layers;
    for (const LayerMetrics& l : r.layers)
        layers.append(layerToJson(l));
    QJsonObject o{{QStringLiteral("name"), r.name},
                  {QStringLiteral("method"), r.method},
                  {QStringLiteral("recipe_summary"), r.recipeSummary},
                  {QStringLiteral("source"), r.source},
                  {QStringLiteral("model"), r.modelPath},
                  {QStringLiteral("fingerprint"), r.fingerprint},
                  {QStringLiteral("params"), qint64(r.params)},
                  {QStringLiteral("is_baseline"), r.isBaseline},
                  {QStringLiteral("bpw"), number(r.bitsPerWeight)},
                  {QStringLiteral("linear_bpw"), number(r.linearBitsPerWeight)},
                  {QStringLiteral("model_bytes"), qint64(r.modelBytes)},
                  {QStringLiteral("linear_bytes"), qint64(r.linearBytes)},
                  {QStringLiteral("ppl"), number(r.ppl)},
                  {QStringLiteral("ppl_error"), number(r.pplError)},
                  {QStringLiteral("kld_mean"), number(r.kldMean)},
                  {QStringLiteral("kld_error"), number(r.kldError)},
                  {QStringLiteral("top1_percent"), number(r.top1Percent)},
                  {QStringLiteral("top1_error"), number(r.top1Error)},
                  {QStringLiteral("delta_ppl"), number(r.deltaPpl)},
                  {QStringLiteral("delta_ppl_error"), number(r.deltaPplError)},
                  {QStringLiteral("quantize_seconds"), number(r.quantizeSeconds)},
                  {QStringLiteral("prefill_tokens_per_second"), number(r.prefillTokensPerSecond)},
                  {QStringLiteral("decode_tokens_per_second"), number(r.decodeTokensPerSecond)},
                  {QStringLiteral("speed_threads"), r.speedThreads},
                  {QStringLiteral("resident_bytes"), qint64(r.residentBytes)},
                  {QStringLiteral("eval_text"), r.evalText},
                  {QStringLiteral("eval_protocol"), r.evalProtocol},
                  {QStringLiteral("tokenizer"), r.tokenizer},
                  {QStringLiteral("warnings"), QJsonArray::fromStringList(r.warnings)},
                  {QStringLiteral("memory"), r.memory.toJson()},
                  {QStringLiteral("layers"), layers}};
    if (!r.id.isEmpty())
        o.insert(QStringLiteral("id"), r.id);
    return o;
}

QJsonObject runMetricsJson(const RunSummary& s)
{
    auto num = [](double v) { return std::isfinite(v) ? QJsonValue(v) : QJsonValue(); };
    return {{QStringLiteral("bpw"), num(s.bitsPerWeight)},
            {QStringLiteral("linear_bpw"), num(s.linearBitsPerWeight)},
            {QStringLiteral("MB"), s.megabytes()},
            {QStringLiteral("ppl"), num(s.ppl)},
            {QStringLiteral("ppl_error"), num(s.pplError)},
            {QStringLiteral("delta_ppl"), num(s.deltaPpl)},
            {QStringLiteral("delta_ppl_error"), num(s.deltaPplError)},
            {QStringLiteral("kld"), num(s.kldMean)},
            {QStringLiteral("top1_percent"), num(s.top1Percent)},
            {QStringLiteral("top1_error"), num(s.top1Error)},
            {QStringLiteral("prefill_tokens_per_second"), num(s.prefillTokensPerSecond)},
            {QStringLiteral("decode_tokens_per_second"), num(s.decodeTokensPerSecond)},
            {QStringLiteral("resident_MB"),
             s.residentBytes > 0 ? QJsonValue(double(s.residentBytes) / 1e6) : QJsonValue()},
            {QStringLiteral("threads"), s.speedThreads > 0 ? QJsonValue(s.speedThreads) : QJsonValue()},
            {QStringLiteral("quantize_seconds"), num(s.quantizeSeconds)}};
}

RunSummary runSummaryFromJson(const QJsonObject& o, const QString& where)
{
    if (!o.value(u"name").isString() || !o.value(u"model_bytes").isDouble())
        throw Error(where + QStringLiteral(": not a run summary (needs name and model_bytes)"));
    RunSummary r;
    r.id = o.value(u"id").toString();
    r.name = o.value(u"name").toString();
    r.method = o.value(u"method").toString();
    r.recipeSummary = o.value(u"recipe_summary").toString();
    r.source = o.value(u"source").toString();
    r.modelPath = o.value(u"model").toString();
    r.fingerprint = o.value(u"fingerprint").toString();
    r.params = o.value(u"params").toInteger();
    r.isBaseline = o.value(u"is_baseline").toBool();
    r.bitsPerWeight = numberOr(o.value(u"bpw"), 0);
    r.linearBitsPerWeight = numberOr(o.value(u"linear_bpw"), 0);
    r.modelBytes = std::uint64_t(std::max<qint64>(0, o.value(u"model_bytes").toInteger()));
    r.linearBytes = std::uint64_t(std::max<qint64>(0, o.value(u"linear_bytes").toInteger()));
    r.ppl = numberOr(o.value(u"ppl"));
    r.pplError = numberOr(o.value(u"ppl_error"));
    r.kldMean = numberOr(o.value(u"kld_mean"));
    r.kldError = numberOr(o.value(u"kld_error"));
    r.top1Percent = numberOr(o.value(u"top1_percent"));
    r.top1Error = numberOr(o.value(u"top1_error"));
    r.deltaPpl = numberOr(o.value(u"delta_ppl"));
    r.deltaPplError = numberOr(o.value(u"delta_ppl_error"));
    r.quantizeSeconds = numberOr(o.value(u"quantize_seconds"));
    r.prefillTokensPerSecond = numberOr(o.value(u"prefill_tokens_per_second"));
    r.decodeTokensPerSecond = numberOr(o.value(u"decode_tokens_per_second"));
    r.speedThreads = o.value(u"speed_threads").toInt();
    r.residentBytes = std::uint64_t(std::max<qint64>(0, o.value(u"resident_bytes").toInteger()));
    r.evalText = o.value(u"eval_text").toString();
    r.evalProtocol = o.value(u"eval_protocol").toString();
    r.tokenizer = o.value(u"tokenizer").toString();
    for (const QJsonValue& w : o.value(u"warnings").toArray())
        r.warnings << w.toString();
    r.memory = MemoryBreakdown::fromJson(o.value(u"memory").toObject());
    for (const QJsonValue& v : o.value(u"layers").toArray())
        r.layers.push_back(layerFromJson(v.toObject()));
    return r;
}

} // namespace qs
