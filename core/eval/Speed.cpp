#include "eval/Speed.h"

#include "model/Transformer.h"
#include "util/SystemInfo.h"
#include "util/Threads.h"

#include <QJsonArray>
#include <algorithm>
#include <chrono>
#include <set>

namespace qs {

namespace {

double secondsSince(std::chrono::steady_clock::time_point t0)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

} // namespace

SpeedMeasurement measureSpeed(const Transformer& model, int prefillTokens, int decodeTokens,
                              const JobContext& job)
{
    const int maxPos = model.config().maxPositionEmbeddings;
    prefillTokens = std::max(1, std::min(prefillTokens, maxPos / 2));
    decodeTokens = std::max(1, std::min(decodeTokens, maxPos - prefillTokens));
    SpeedMeasurement m;
    m.threads = computeThreads();
    m.prefillTokens = prefillTokens;
    m.decodeTokens = decodeTokens;
    std::vector<int> ids(std::size_t(prefillTokens + decodeTokens));
    for (std::size_t i = 0; i < ids.size(); ++i) // spread over the vocabulary, deterministic
        ids[i] = int((i * 7919 + 1) % std::size_t(model.vocabSize()));
    KvCache cache = model.makeCache(prefillTokens + decodeTokens);
    m.kvCacheBytes = KvCache::bytesFor(model.config().numLayers, cache.capacity(),
                                       model.config().numKvHeads * model.config().headDim);
    std::vector<float> logits(std::size_t(model.vocabSize()));

    // Warm-up: touch every weight once (page-in of mapped files, caches) with a short prefill.
    job.report(0, QStringLiteral("measuring speed"), QStringLiteral("warm-up"));
    model.forward(cache, ids.data(), std::min(8, prefillTokens), logits.data(),
                  std::min(8, prefillTokens) - 1);
    cache.clear();
    job.checkCancelled();

    job.report(0.1, QStringLiteral("measuring speed"),
               QStringLiteral("prefill %1 tokens").arg(prefillTokens));
    auto t0 = std::chrono::steady_clock::now();
    model.forward(cache, ids.data(), prefillTokens, logits.data(), prefillTokens - 1);
    m.prefillSeconds = secondsSince(t0);
    job.checkCancelled();

    t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < decodeTokens; ++i) {
        model.forward(cache, ids.data() + prefillTokens + i, 1, logits.data(), 0);
        job.checkCancelled();
        job.report(0.5 + 0.5 * double(i + 1) / decodeTokens, QStringLiteral("measuring speed"),
                   QStringLiteral("decode %1/%2").arg(i + 1).arg(decodeTokens));
    }
    m.decodeSeconds = secondsSince(t0);
    m.prefillTokensPerSecond = m.prefillSeconds > 0 ? prefillTokens / m.prefillSeconds : 0;
    m.decodeTokensPerSecond = m.decodeSeconds > 0 ? decodeTokens / m.decodeSeconds : 0;
    m.weightBytes = model.residentBytes();
    m.rssBytes = currentRssBytes();
    std::set<QString> kernels;
    for (std::size_t i = 0; i < model.model().linears().size(); ++i)
        kernels.insert(model.linear(int(i)).kernelName());
    kernels.insert(model.headLayer().kernelName());
    for (const QString& k : kernels)
        m.kernels << k;
    return m;
}

QJsonObject SpeedMeasurement::toJson() const
{
    return QJsonObject{{QStringLiteral("threads"), threads},
                       {QStringLiteral("prefill_tokens"), prefillTokens},
                       {QStringLiteral("prefill_seconds"), prefillSeconds},
                       {QStringLiteral("prefill_tokens_per_second"), prefillTokensPerSecond},
                       {QStringLiteral("decode_tokens"), decodeTokens},
                       {QStringLiteral("decode_seconds"), decodeSeconds},
                       {QStringLiteral("decode_tokens_per_second"), decodeTokensPerSecond},
                       {QStringLiteral("weight_bytes"), qint64(weightBytes)},
                       {QStringLiteral("kv_cache_bytes"), qint64(kvCacheBytes)},
                       {QStringLiteral("rss_bytes"), rssBytes},
                       {QStringLiteral("kernels"), QJsonArray::fromStringList(kernels)}};
}

SpeedMeasurement SpeedMeasurement::fromJson(const QJsonObject& o)
{
    SpeedMeasurement m;
    m.threads = o.value(u"threads").toInt();
    m.prefillTokens = o.value(u"prefill_tokens").toInt();
    m.prefillSeconds = o.value(u"prefill_seconds").toDouble();
    m.prefillTokensPerSecond = o.value(u"prefill_tokens_per_second").toDouble(m.prefillTokensPerSecond);
    m.decodeTokens = o.value(u"decode_tokens").toInt();
    m.decodeSeconds = o.value(u"decode_seconds").toDouble();
    m.decodeTokensPerSecond = o.value(u"decode_tokens_per_second").toDouble(m.decodeTokensPerSecond);
    m.weightBytes = std::uint64_t(std::max<qint64>(0, o.value(u"weight_bytes").toInteger()));
    m.kvCacheBytes = std::uint64_t(std::max<qint64>(0, o.value(u"kv_cache_bytes").toInteger()));
    m.rssBytes = o.value(u"rss_bytes").toDouble();
    for (const QJsonValue& k : o.value(u"kernels").toArray())
        m.kernels << k.toString();
    return m;
}

QString SpeedMeasurement::toText() const
{
    return QStringLiteral("speed      prefill %1 tok/s (%2 tokens), decode %3 tok/s (%4 tokens), %5 threads\n"
                          "memory     weights %6 MB as run, KV cache %7 MB, process RSS %8 MB\n"
                          "kernels    %9\n")
        .arg(prefillTokensPerSecond, 0, 'f', 1)
        .arg(prefillTokens)
        .arg(decodeTokensPerSecond, 0, 'f', 1)
        .arg(decodeTokens)
        .arg(threads)
        .arg(double(weightBytes) / 1e6, 0, 'f', 1)
        .arg(double(kvCacheBytes) / 1e6, 0, 'f', 1)
        .arg(rssBytes / 1e6, 0, 'f', 1)
        .arg(kernels.join(QStringLiteral("; ")));
}

} // namespace qs
