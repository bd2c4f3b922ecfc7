#include "eval/Perplexity.h"

#include "model/Transformer.h"
#include "util/Error.h"

#include <QJsonArray>

#include <chrono>
#include <cmath>

namespace qs {

QString protocolName(PerplexityProtocol p)
{
    return p == PerplexityProtocol::LlamaCpp ? QStringLiteral("llamacpp") : QStringLiteral("windows");
}

PerplexityProtocol protocolFromName(const QString& name)
{
    if (name == u"llamacpp" || name == u"llama.cpp")
        return PerplexityProtocol::LlamaCpp;
    if (name == u"windows")
        return PerplexityProtocol::Windows;
    throw Error(u"unknown perplexity protocol '" + name + u"' (use llamacpp or windows)");
}

double logSumExp(const float* x, int n)
{
    float mx = -INFINITY;
    for (int i = 0; i < n; ++i)
        mx = std::max(mx, x[i]);
    double s = 0;
    for (int i = 0; i < n; ++i)
        s += std::exp(double(x[i]) - double(mx));
    return double(mx) + std::log(s);
}

std::vector<EvalChunk> makeChunks(const std::vector<int>& tokens, const PerplexityOptions& opt)
{
    if (opt.ctx < 4)
        throw Error(QStringLiteral("context %1 is too small (at least 4 tokens)").arg(opt.ctx));
    if (opt.firstChunk < 0)
        throw Error(QStringLiteral("first chunk %1 is negative").arg(opt.firstChunk));
    const std::size_t first = std::size_t(opt.firstChunk);
    auto range = [&](std::size_t available) {
        if (first >= available)
            throw Error(QStringLiteral("the text has %1 chunks of %2 tokens; skipping %3 leaves none")
                            .arg(available)
                            .arg(opt.ctx)
                            .arg(first));
        const std::size_t left = available - first;
        return first + (opt.maxChunks > 0 ? std::min(left, std::size_t(opt.maxChunks)) : left);
    };
    std::vector<EvalChunk> chunks;
    const std::size_t ctx = std::size_t(opt.ctx);
    if (opt.protocol == PerplexityProtocol::LlamaCpp) {
        const std::size_t available = tokens.size() / ctx;
        if (available == 0)
            throw Error(QStringLiteral("the text has %1 tokens, fewer than one chunk of %2 (llama.cpp protocol "
                                       "needs at least n_ctx tokens)")
                            .arg(tokens.size())
                            .arg(ctx));
        const std::size_t end = range(available);
        for (std::size_t c = first; c < end; ++c) {
            EvalChunk ch;
            ch.tokens.assign(tokens.begin() + std::ptrdiff_t(c * ctx), tokens.begin() + std::ptrdiff_t((c + 1) * ctx));
            ch.tokens[0] = opt.bosId;
            ch.firstScored = int(ctx / 2);
            chunks.push_back(std::move(ch));
        }
    } else {
        const std::size_t textStart = (!tokens.empty() && tokens[0] == opt.bosId) ? 1 : 0;
        const std::size_t piece = ctx - 1;
        const std::size_t available = (tokens.size() - textStart) / piece;
        if (available == 0)
            throw Error(QStringLiteral("the text has %1 tokens, fewer than one window of %2").arg(tokens.size()).arg(ctx));
        const std::size_t end = range(available);
        for (std::size_t c = first; c < end; ++c) {
            EvalChunk ch;
            ch.tokens.push_back(opt.bosId);
            const auto b = tokens.begin() + std::ptrdiff_t(textStart + c * piece);
            ch.tokens.insert(ch.tokens.end(), b, b + std::ptrdiff_t(piece));
            ch.firstScored = 0;
            chunks.push_back(std::move(ch));
        }
    }
    return chunks;
}

QJsonObject PerplexityResult::toJson() const
{
    QJsonArray cum;
    for (double p : cumulativePpl)
        cum.append(p);
    return QJsonObject{{QStringLiteral("protocol"), protocol},
                       {QStringLiteral("n_ctx"), ctx},
                       {QStringLiteral("chunks"), chunks},
                       {QStringLiteral("text_tokens"), qint64(textTokens)},
                       {QStringLiteral("tokens_scored"), qint64(scored)},
                       {QStringLiteral("mean_nll"), meanNll},
                       {QStringLiteral("ppl"), ppl},
                       {QStringLiteral("ppl_error"), pplError},
                       {QStringLiteral("ppl_cumulative"), cum},
                       {QStringLiteral("seconds"), seconds},
                       {QStringLiteral("tokens_per_second"), tokensPerSecond}};
}

PerplexityResult evaluatePerplexity(const Transformer& model, const std::vector<int>& tokens,
                                    const PerplexityOptions& opt, const JobContext& job, const LogitsSink& sink)
{
    if (opt.ctx > model.config().maxPositionEmbeddings)
        throw Error(QStringLiteral("context %1 exceeds the model's max_position_embeddings (%2)")
                        .arg(opt.ctx)
                        .arg(model.config().maxPositionEmbeddings));
    const std::vector<EvalChunk> chunks = makeChunks(tokens, opt);
    const int vocab = model.vocabSize();
    PerplexityResult r;
    r.protocol = protocolName(opt.protocol);
    r.ctx = opt.ctx;
    r.textTokens = std::int64_t(tokens.size());
    KvCache cache = model.makeCache(opt.ctx);
    double nll = 0, nll2 = 0;
    std::int64_t fed = 0;
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<float> logits;
    std::vector<int> targets;
    for (std::size_t c = 0; c < chunks.size(); ++c) {
        job.checkCancelled();
        const EvalChunk& ch = chunks[c];
        const int n = int(ch.tokens.size());
        const int rows = n - 1 - ch.firstScored; // rows firstScored … n-2
        logits.resize(std::size_t(n - ch.firstScored) * std::size_t(vocab));
        cache.clear();
        model.forward(cache, ch.tokens.data(), n, logits.data(), ch.firstScored);
        fed += n;
        targets.assign(ch.tokens.begin() + ch.firstScored + 1, ch.tokens.end());
        for (int i = 0; i < rows; ++i) {
            const float* row = logits.data() + std::size_t(i) * std::size_t(vocab);
            const double v = logSumExp(row, vocab) - double(row[targets[std::size_t(i)]]);
            nll += v;
            nll2 += v * v;
        }
        r.scored += rows;
        r.cumulativePpl.push_back(std::exp(nll / double(r.scored)));
        if (sink)
            sink(int(c), logits.data(), rows, vocab, targets.data());
        const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        const double done = double(c + 1) / double(chunks.size());
        job.report(done, QStringLiteral("evaluating"),
                   QStringLiteral("chunk %1/%2, ppl %3").arg(c + 1).arg(chunks.size()).arg(r.cumulativePpl.back(), 0, 'f', 4),
                   elapsed / done - elapsed);
    }
    r.chunks = int(chunks.size());
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    r.tokensPerSecond = r.seconds > 0 ? double(fed) / r.seconds : 0;
    const double count = double(r.scored);
    r.meanNll = nll / count;
    r.ppl = std::exp(r.meanNll);
    const double var = nll2 / count - r.meanNll * r.meanNll; // llama.cpp's error estimate
    r.pplError = (var > 0 && count > 1) ? std::sqrt(var / (count - 1)) * r.ppl : 0.0;
    return r;
}

} // namespace qs
