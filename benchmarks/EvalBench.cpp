#include "Benchmarks.h"

#include "eval/Perplexity.h"
#include "model/SyntheticModel.h"
#include "model/Transformer.h"
#include "util/Paths.h"
#include "util/Threads.h"

#include <QDir>
#include <QFileInfo>
#include <QJsonArray>
#include <QTemporaryDir>

#include <random>

namespace qs::bench {

namespace {

QJsonObject measure(const QString& label, const QString& folder, int ctx, int chunks, const Options& opt)
{
    const double rssBefore = peakRssBytes();
    const auto model = Model::open(folder);
    const Transformer t(model);
    std::mt19937 rng(3);
    std::vector<int> tokens(std::size_t(ctx) * std::size_t(chunks) + 1);
    for (int& id : tokens)
        id = int(rng() % std::uint32_t(t.vocabSize()));
    tokens[0] = 1;
    QJsonArray runs;
    for (int threads : {1, 2}) {
        setComputeThreads(threads);
        PerplexityOptions po;
        po.ctx = ctx;
        po.maxChunks = chunks;
        evaluatePerplexity(t, std::vector<int>(tokens.begin(), tokens.begin() + ctx + 1), po); // warm-up
        const PerplexityResult r = evaluatePerplexity(t, tokens, po);
        runs.append(QJsonObject{{QStringLiteral("threads"), threads},
                                {QStringLiteral("tokens"), qint64(std::int64_t(ctx) * r.chunks)},
                                {QStringLiteral("seconds"), r.seconds},
                                {QStringLiteral("prefill_tokens_per_second"), r.tokensPerSecond}});
        if (opt.log)
            opt.log(QStringLiteral("eval %1 threads=%2: %3 tokens/s").arg(label).arg(threads).arg(r.tokensPerSecond, 0, 'f', 1));
    }
    setComputeThreads(0);
    return QJsonObject{{QStringLiteral("model"), label},
                       {QStringLiteral("params"), qint64(model->totals().params)},
                       {QStringLiteral("weights"), model->weightDtypeName()},
                       {QStringLiteral("n_ctx"), ctx},
                       {QStringLiteral("chunks"), chunks},
                       {QStringLiteral("protocol"), QStringLiteral("llamacpp (logits for the second half)")},
                       {QStringLiteral("runs"), runs},
                       {QStringLiteral("peak_rss_bytes"), peakRssBytes()},
                       {QStringLiteral("peak_rss_bytes_before"), rssBefore}};
}

} // namespace

QJsonObject evalThroughput(const Options& opt)
{
    QJsonArray results;
    const QString data = opt.dataDir.isEmpty() ? findDataDirectory() : opt.dataDir;
    const QString stories = data.isEmpty() ? QString() : QDir(data).filePath(QStringLiteral("stories260K"));
    if (!stories.isEmpty() && QFileInfo(stories).isDir())
        results.append(measure(QStringLiteral("stories260K"), stories, 128, opt.quick ? 4 : 40, opt));
    else if (opt.log)
        opt.log(QStringLiteral("eval: stories260K not found, skipped"));

    QTemporaryDir tmp;
    SyntheticModelSpec spec;
    spec.hidden = opt.quick ? 512 : 2048;
    spec.intermediate = opt.quick ? 1408 : 5632;
    spec.layers = 4;
    spec.heads = opt.quick ? 8 : 16;
    spec.kvHeads = opt.quick ? 8 : 16;
    spec.vocab = opt.quick ? 8000 : 32000;
    spec.dtype = DType::F32;
    if (opt.log)
        opt.log(QStringLiteral("eval: writing synthetic Llama (hidden %1, 4 blocks, ffn %2, vocab %3)")
                    .arg(spec.hidden)
                    .arg(spec.intermediate)
                    .arg(spec.vocab));
    writeSyntheticModel(tmp.path(), spec);
    results.append(measure(QStringLiteral("synthetic-llama-h%1").arg(spec.hidden), tmp.path(), 512, opt.quick ? 1 : 2, opt));
    return QJsonObject{{QStringLiteral("benchmark"), QStringLiteral("eval")},
                       {QStringLiteral("machine"), machineInfo()},
                       {QStringLiteral("results"), results}};
}

} // namespace qs::bench
