#include "eval/Evaluation.h"

#include "model/Transformer.h"
#include "tokenizer/Tokenizer.h"
#include "util/Error.h"
#include "util/SystemInfo.h"

#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <chrono>
#include <cmath>

namespace qs {

QByteArray readTextFile(const QString& path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        throw Error::inFile(path, u"cannot open text: " + f.errorString());
    const QByteArray text = f.readAll();
    if (text.trimmed().isEmpty())
        throw Error::inFile(path, QStringLiteral("the text is empty"));
    return text;
}

namespace {

QStringList checkTokenizerAgainstVocabulary(const Tokenizer& tokenizer, int modelVocab)
{
    QStringList warnings;
    if (tokenizer.vocabSize() > modelVocab)
        throw Error::inFile(tokenizer.path(),
                            QStringLiteral("tokenizer has %1 tokens but the model's vocabulary has "
                                           "%2: ids would fall outside the embedding table")
                                .arg(tokenizer.vocabSize())
                                .arg(modelVocab));
    if (tokenizer.vocabSize() < modelVocab)
        warnings << QStringLiteral(
                        "vocab-size-mismatch: tokenizer has %1 tokens, model %2 (extra rows unused)")
                        .arg(tokenizer.vocabSize())
                        .arg(modelVocab);
    return warnings;
}

} // namespace

QStringList checkTokenizerAgainstModel(const Tokenizer& tokenizer, const Transformer& model)
{
    return checkTokenizerAgainstVocabulary(tokenizer, model.vocabSize());
}

namespace {

/// The text as an evaluation reads it: tokenized with BOS, its chunking checked, and the key a KLD base
/// of this model, text and protocol carries.
struct EvaluationText
{
    QByteArray text;
    std::vector<int> tokens;
    PerplexityOptions options;
    KldBaseKey key;
    double tokenizeSeconds = 0;
};

EvaluationText prepareText(const Model& model, const Tokenizer& tokenizer, const EvaluationParams& params,
                           const JobContext& job)
{
    EvaluationText e;
    e.text = readTextFile(params.textPath);
    job.report(-1, QStringLiteral("tokenizing"), QFileInfo(params.textPath).fileName());
    const auto t0 = std::chrono::steady_clock::now();
    try {
        e.tokens = tokenizer.encode(std::string_view(e.text.constData(), std::size_t(e.text.size())), true);
    } catch (const Error& err) {
        throw Error::inFile(params.textPath, err.message());
    }
    e.tokenizeSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    e.options = params.perplexity;
    if (tokenizer.bosId() >= 0)
        e.options.bosId = tokenizer.bosId();
    const int chunks = int(makeChunks(e.tokens, e.options).size()); // validates length early, clearly
    e.key.modelFingerprint = model.architectureFingerprint();
    e.key.modelName = model.displayName();
    e.key.textSha256 = sha256Hex(e.text);
    e.key.protocol = protocolName(e.options.protocol);
    e.key.ctx = e.options.ctx;
    e.key.chunks = chunks;
    e.key.firstChunk = e.options.firstChunk;
    e.key.vocab = model.config().vocabSize;
    return e;
}

/// The stored base, checked against this evaluation's key.
std::unique_ptr<KldBaseReader> openKldBase(const QString& path, const KldBaseKey& key)
{
    auto reader = std::make_unique<KldBaseReader>(path);
    const QString why = reader->key().mismatch(key);
    if (!why.isEmpty())
        throw Error::inFile(path, u"cannot compare against this KLD base: " + why);
    return reader;
}

} // namespace

void checkEvaluationInputs(const Model& model, const Tokenizer& tokenizer, const EvaluationParams& params)
{
    checkTokenizerAgainstVocabulary(tokenizer, model.config().vocabSize); // its warnings come with results
    const EvaluationText e = prepareText(model, tokenizer, params, {});
    if (!params.kldBasePath.isEmpty())
        openKldBase(params.kldBasePath, e.key);
}

EvaluationResult runEvaluation(const Transformer& model, const Tokenizer& tokenizer,
                               const EvaluationParams& params, const JobContext& job)
{
    EvaluationResult r;
    r.model = model.model().path();
    r.textPath = params.textPath;
    r.tokenizer = QStringLiteral("%1 (%2)").arg(tokenizer.description(), tokenizer.path());
    r.modelBytes = model.storageBytes();
    r.bitsPerWeight = model.bitsPerWeight();
    r.linearBitsPerWeight = model.linearBitsPerWeight();
    r.warnings = checkTokenizerAgainstModel(tokenizer, model);
    if (!tokenizer.loadWarning().isEmpty()) // a fallback the user did not choose: recorded with the result
        r.warnings.prepend(tokenizer.loadWarning());
    const int ctx = std::max(params.perplexity.ctx, params.speedPrefillTokens + params.speedDecodeTokens);
    requireMemory(QStringLiteral("evaluating with n_ctx %1").arg(params.perplexity.ctx),
                  modelRunMemory(model.model(), ctx, ctx, false),
                  QStringLiteral("use a smaller --ctx or close other programs"));

    EvaluationText e = prepareText(model.model(), tokenizer, params, job);
    r.tokenizeSeconds = e.tokenizeSeconds;
    const std::vector<int>& tokens = e.tokens;
    const PerplexityOptions& opt = e.options;
    const KldBaseKey& key = e.key;

    std::unique_ptr<KldBaseWriter> writer;
    std::unique_ptr<KldBaseReader> reader;
    KldAccumulator kld;
    std::vector<KldBaseRow> baseRows;
    if (!params.saveBasePath.isEmpty())
        writer = std::make_unique<KldBaseWriter>(params.saveBasePath, key);
    if (!params.kldBasePath.isEmpty())
        reader = openKldBase(params.kldBasePath, key);
    LogitsSink sink;
    if (writer || reader) {
        sink = [&](int chunk, const float* logits, int rows, int vocab, const int* targets) {
            if (writer)
                writer->addChunk(logits, rows, vocab, targets);
            if (reader) {
                reader->readChunk(chunk, baseRows);
                kld.addChunk(logits, rows, vocab, targets, baseRows);
            }
        };
    }
    r.perplexity = evaluatePerplexity(model, tokens, opt, job, sink);
    if (writer)
        writer->commit(r.perplexity.ppl, r.perplexity.pplError);
    if (reader) {
        KldStats s = kld.finish();
        s.basePpl = reader->basePpl();
        s.basePplError = reader->basePplError();
        r.kld = s;
    }
    if (params.speedPrefillTokens > 0 && params.speedDecodeTokens > 0)
        r.speed = measureSpeed(model, params.speedPrefillTokens, params.speedDecodeTokens, job);
    return r;
}

QJsonObject EvaluationResult::toJson() const
{
    QJsonObject o{{QStringLiteral("model"), model},
                  {QStringLiteral("text"), textPath},
                  {QStringLiteral("tokenizer"), tokenizer},
                  {QStringLiteral("model_bytes"), qint64(modelBytes)},
                  {QStringLiteral("bpw"), bitsPerWeight},
                  {QStringLiteral("linear_bpw"), linearBitsPerWeight},
                  {QStringLiteral("tokenize_seconds"), tokenizeSeconds},
                  {QStringLiteral("perplexity"), perplexity.toJson()},
                  {QStringLiteral("warnings"), QJsonArray::fromStringList(warnings)}};
    if (kld)
        o.insert(QStringLiteral("kld"), kld->toJson());
    if (speed)
        o.insert(QStringLiteral("speed"), speed->toJson());
    return o;
}

QString EvaluationResult::toText() const
{
    const PerplexityResult& p = perplexity;
    QString s;
    for (const QString& w : warnings)
        s += u"warning: " + w + u'\n';
    s += QStringLiteral("model      %1\ntext       %2 (%3 tokens incl. BOS, tokenized in %4 s with %5)\n")
             .arg(model, textPath)
             .arg(p.textTokens)
             .arg(tokenizeSeconds, 0, 'f', 3)
             .arg(tokenizer);
    s += QStringLiteral("protocol   %1, n_ctx %2, %3 chunks, %4 tokens scored\n")
             .arg(p.protocol)
             .arg(p.ctx)
             .arg(p.chunks)
             .arg(p.scored);
    QStringList cum;
    for (std::size_t i = 0; i < p.cumulativePpl.size(); ++i)
        cum << QStringLiteral("[%1]%2").arg(i + 1).arg(p.cumulativePpl[i], 0, 'f', 4);
    s += u"chunks     " + cum.join(u',') + u'\n';
    s += QStringLiteral("PPL        %1 +/- %2\n").arg(p.ppl, 0, 'f', 4).arg(p.pplError, 0, 'f', 5);
    s += QStringLiteral("time       %1 s, %2 tokens/s\n")
             .arg(p.seconds, 0, 'f', 3)
             .arg(p.tokensPerSecond, 0, 'f', 1);
    if (kld) {
        const KldStats& k = *kld;
        s +=
            QStringLiteral("base PPL   %1 +/- %2\n").arg(k.basePpl, 0, 'f', 4).arg(k.basePplError, 0, 'f', 5);
        if (std::isfinite(k.deltaPplError))
            s += QStringLiteral("Δ PPL      %1 ± %2 (paired over %3 chunks; ln ratio %4 ± %5)\n")
                     .arg(k.deltaPpl, 0, 'f', 4)
                     .arg(k.deltaPplError, 0, 'f', 5)
                     .arg(k.chunkDeltaNll.size())
                     .arg(k.deltaLnPpl, 0, 'f', 6)
                     .arg(k.deltaLnPplError, 0, 'f', 6);
        else
            s += QStringLiteral("Δ PPL      %1 (one chunk: no paired error)\n").arg(k.deltaPpl, 0, 'f', 4);
        s += QStringLiteral("Mean KLD   %1 ± %2\n").arg(k.meanKld, 0, 'f', 6).arg(k.meanKldError, 0, 'f', 6);
        s += QStringLiteral("KLD pct    median %1, 90% %2, 95% %3, 99% %4, 99.9% %5, max %6\n")
                 .arg(k.medianKld, 0, 'f', 6)
                 .arg(k.p90Kld, 0, 'f', 6)
                 .arg(k.p95Kld, 0, 'f', 6)
                 .arg(k.p99Kld, 0, 'f', 6)
                 .arg(k.p999Kld, 0, 'f', 6)
                 .arg(k.maxKld, 0, 'f', 6);
        s += QStringLiteral("Same top   %1 ± %2 %\n")
                 .arg(k.sameTopPercent, 0, 'f', 3)
                 .arg(k.sameTopError, 0, 'f', 3);
        s += QStringLiteral("RMS Δp     %1 ± %2 %\n")
                 .arg(100 * k.rmsDeltaP, 0, 'f', 3)
                 .arg(100 * k.rmsDeltaPError, 0, 'f', 3);
        QStringList dp;
        for (const auto& [q, v] : k.deltaPPercentiles)
            dp << QStringLiteral("%1%: %2%").arg(q).arg(100 * v, 0, 'f', 3);
        s += u"Δp pct     " + dp.join(u", ") + u'\n';
    }
    if (speed)
        s += speed->toText();
    return s;
}

} // namespace qs
