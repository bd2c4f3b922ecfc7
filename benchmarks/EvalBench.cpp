// `bench eval`: prefill (pp) and decode (tg) tokens/s and peak RSS of our engine on GGUF files we
// export, each case in a fresh child process (`bench eval --one FILE`), alternated with
// llama-bench on the same file (the machine is shared and noisy), as the issue-14 targets are
// stated: ours / llama.cpp per format and thread count, peak RSS against file + KV cache + 10 %.
#include "Benchmarks.h"
#include "ComputePeak.h"
#include "checkpoint/GgufExport.h"
#include "eval/Perplexity.h"
#include "kernels/FloatMatMul.h"
#include "model/Model.h"
#include "model/SyntheticModel.h"
#include "model/Transformer.h"
#include "tokenizer/Tokenizer.h"
#include "util/Error.h"
#include "util/SystemInfo.h"
#include "util/Threads.h"

#include <QCoreApplication>
#include <QDir>
#include <QDirIterator>
#include <QFileInfo>
#include <QHash>
#include <QJsonArray>
#include <QJsonDocument>
#include <QProcess>
#include <QRegularExpression>
#include <QSaveFile>
#include <QTemporaryDir>
#include <cmath>
#include <memory>
#include <optional>
#include <random>

namespace qs::bench {

namespace {

// --- shared ------------------------------------------------------------------------------------

QJsonObject meanStd(const std::vector<double>& v)
{
    double mean = 0;
    for (double x : v)
        mean += x;
    mean /= double(std::max<std::size_t>(1, v.size()));
    double var = 0;
    for (double x : v)
        var += (x - mean) * (x - mean);
    const double sd = v.size() > 1 ? std::sqrt(var / double(v.size() - 1)) : 0.0; // as llama-bench
    return QJsonObject{{QStringLiteral("mean"), mean}, {QStringLiteral("stddev"), sd}};
}

std::vector<int> randomTokens(int n, int vocab, unsigned seed)
{
    std::mt19937 rng(seed);
    std::vector<int> t(std::size_t(std::max(0, n)));
    for (int& id : t)
        id = int(rng() % std::uint32_t(vocab));
    return t;
}

qint64 pathBytes(const QString& path)
{
    const QFileInfo info(path);
    if (!info.isDir())
        return info.size();
    qint64 total = 0;
    QDirIterator it(path, QDir::Files, QDirIterator::Subdirectories);
    while (it.hasNext()) {
        it.next();
        total += it.fileInfo().size();
    }
    return total;
}

QString tail(const QByteArray& text, int lines)
{
    const QStringList all = QString::fromUtf8(text).split(u'\n', Qt::SkipEmptyParts);
    return all.mid(std::max<qsizetype>(0, all.size() - lines)).join(u'\n');
}

/// Runs `exe args`, waits without limit; stdout returned, stderr too when asked (else forwarded).
struct ProcessResult
{
    bool ok = false;
    QByteArray out, err;
    QString error;
};

ProcessResult runProcess(const QString& exe, const QStringList& args, bool captureStderr)
{
    QProcess p;
    if (!captureStderr)
        p.setProcessChannelMode(QProcess::ForwardedErrorChannel);
    p.start(exe, args);
    ProcessResult r;
    if (!p.waitForStarted(-1)) {
        r.error = QStringLiteral("cannot start %1: %2").arg(exe, p.errorString());
        return r;
    }
    p.waitForFinished(-1);
    r.out = p.readAllStandardOutput();
    r.err = p.readAllStandardError();
    r.ok = p.exitStatus() == QProcess::NormalExit && p.exitCode() == 0;
    if (!r.ok)
        r.error = QStringLiteral("%1 failed (exit %2): %3")
                      .arg(QFileInfo(exe).fileName())
                      .arg(p.exitCode())
                      .arg(tail(r.err, 6));
    return r;
}

// --- the child: one model in this process -----------------------------------------------------

QJsonObject timePerplexity(const Transformer& t, const QString& modelPath, const QString& textPath, int ctx)
{
    QFile f(textPath);
    if (!f.open(QIODevice::ReadOnly))
        throw Error::inFile(textPath, QStringLiteral("cannot read"));
    const auto tokenizer = Tokenizer::load(modelPath);
    const std::vector<int> tokens = tokenizer->encode(f.readAll().toStdString(), true);
    PerplexityOptions po;
    po.ctx = ctx;
    po.maxChunks = 2;
    po.bosId = tokenizer->bosId();
    const PerplexityResult r = evaluatePerplexity(t, tokens, po);
    return QJsonObject{{QStringLiteral("tokens_per_second"), r.tokensPerSecond},
                       {QStringLiteral("seconds"), r.seconds},
                       {QStringLiteral("chunks"), r.chunks},
                       {QStringLiteral("ppl"), r.ppl}};
}

QString numericsName(const EvalBenchOptions& e)
{
    return e.llamaCppNumerics ? QStringLiteral("llama.cpp") : QStringLiteral("f32 inputs");
}

} // namespace

QJsonObject evalOneModel(const Options& opt)
{
    const EvalBenchOptions& e = opt.eval;
    const int threads = e.threads.value(0, 1);
    setComputeThreads(threads);
    const double t0 = nowSeconds();
    const auto model = Model::open(e.one);
    Transformer t(model);
    if (e.llamaCppNumerics)
        t.setLlamaCppNumerics();
    const double loadSeconds = nowSeconds() - t0;
    const double rssLoaded = currentRssBytes();
    const double hugeLoaded = anonHugePageBytes();
    const int vocab = t.vocabSize();
    std::vector<float> logits(static_cast<std::size_t>(vocab));
    KvCache cache = t.makeCache(std::max(e.prompt, e.gen));

    // pp: one forward of `prompt` tokens, logits for the last row only (as llama-bench).
    const std::vector<int> prompt = randomTokens(e.prompt, vocab, 1);
    std::vector<double> pp;
    for (int r = -1; r < e.reps; ++r) { // r = -1: warm-up
        cache.clear();
        const double s = nowSeconds();
        t.forward(cache, prompt.data(), e.prompt, logits.data(), e.prompt - 1);
        if (r >= 0)
            pp.push_back(e.prompt / (nowSeconds() - s));
    }
    // tg: `gen` one-token forwards from an empty cache, logits each step (as llama-bench).
    std::mt19937 rng(2);
    std::vector<double> tg;
    for (int r = -1; r < e.reps; ++r) { // r = -1: warm-up with one token
        cache.clear();
        const int n = r < 0 ? 1 : e.gen;
        const double s = nowSeconds();
        for (int i = 0; i < n; ++i) {
            const int token = int(rng() % std::uint32_t(vocab));
            t.forward(cache, &token, 1, logits.data());
        }
        if (r >= 0)
            tg.push_back(n / (nowSeconds() - s));
    }
    const ModelConfig& c = t.config();
    // What one decode step must read (every linear's weights as held, the head included) and what
    // a prefill token computes in the linears (the head runs for one row only, as in llama-bench).
    double decodeBytes = t.headLinearIndex() < 0 ? double(t.headLayer().residentBytes()) : 0.0;
    double linearMacs = 0;
    for (int i = 0; i < int(model->linears().size()); ++i) {
        decodeBytes += double(t.linear(i).residentBytes());
        if (i != t.headLinearIndex())
            linearMacs += double(t.linear(i).inFeatures()) * double(t.linear(i).outFeatures());
    }
    const double kvBytes = double(KvCache::bytesFor(c.numLayers, cache.capacity(), c.numKvHeads * c.headDim));
    const double fileBytes = double(pathBytes(e.one));
    const double budget = 1.1 * (fileBytes + kvBytes);
    QJsonObject o{{QStringLiteral("threads"), threads},
                  {QStringLiteral("numerics"), numericsName(e)},
                  {QStringLiteral("load_seconds"), loadSeconds},
                  {QStringLiteral("weights"), model->weightDtypeName()},
                  {QStringLiteral("params"), qint64(model->totals().params)},
                  {QStringLiteral("pp"), meanStd(pp)},
                  {QStringLiteral("tg"), meanStd(tg)},
                  {QStringLiteral("file_bytes"), fileBytes},
                  {QStringLiteral("kv_cache_bytes"), kvBytes},
                  {QStringLiteral("rss_after_load_bytes"), rssLoaded},
                  // Weights repacked at load sit in stream buffers (util/StreamBuffer.h): how much
                  // of them the system put on huge pages.
                  {QStringLiteral("huge_page_bytes_after_load"), hugeLoaded},
                  {QStringLiteral("decode_weight_bytes_per_token"), decodeBytes},
                  {QStringLiteral("prefill_linear_macs_per_token"), linearMacs},
                  {QStringLiteral("rss_budget_bytes"), budget}};
    if (!e.pplText.isEmpty())
        o.insert(QStringLiteral("perplexity"), timePerplexity(t, e.one, e.pplText, e.prompt));
    const double peak = peakRssBytes();
    o.insert(QStringLiteral("peak_rss_bytes"), peak);
    o.insert(QStringLiteral("rss_within_budget"), peak <= budget);
    return o;
}

QString syntheticModel(const Options& opt, const QString& work, QJsonObject& source)
{
    const EvalBenchOptions& e = opt.eval;
    const QString shape = !e.shape.isEmpty() ? e.shape
                          : opt.quick        ? QStringLiteral("tiny")
                                             : QStringLiteral("1b");
    SyntheticModelSpec spec = syntheticSpec(shape);
    if (e.layers > 0)
        spec.layers = e.layers;
    const QString folder =
        QDir(work).filePath(QStringLiteral("synthetic-%1-%2L-bf16").arg(shape).arg(spec.layers));
    source = QJsonObject{{QStringLiteral("synthetic_shape"), shape},
                         {QStringLiteral("layers"), spec.layers},
                         {QStringLiteral("dtype"), QStringLiteral("bf16")},
                         {QStringLiteral("path"), folder},
                         {QStringLiteral("safetensors_bytes"), double(syntheticWeightBytes(spec))}};
    const QString weights = QDir(folder).filePath(QStringLiteral("model.safetensors"));
    if (QFileInfo(weights).size() > 0 &&
        QFileInfo::exists(QDir(folder).filePath(QStringLiteral("tokenizer.json")))) {
        source.insert(QStringLiteral("reused"), true);
        return folder;
    }
    if (opt.log)
        opt.log(QStringLiteral("writing synthetic %1 model, %2 blocks (%3 MiB) to %4")
                    .arg(shape)
                    .arg(spec.layers)
                    .arg(syntheticWeightBytes(spec) >> 20)
                    .arg(folder));
    JobContext ctx;
    int lastTenth = -1;
    ctx.progress = [&](const JobProgress& p) {
        const int tenth = int(p.fraction * 10);
        if (opt.log && tenth != lastTenth) {
            lastTenth = tenth;
            opt.log(QStringLiteral("synthetic model: %1 %").arg(tenth * 10));
        }
    };
    const double t0 = nowSeconds();
    writeSyntheticModel(folder, spec, ctx);
    source.insert(QStringLiteral("write_seconds"), nowSeconds() - t0);
    return folder;
}

namespace {

// --- the parent: files, then ours and llama.cpp alternately -----------------------------------

struct Case
{
    QString format; ///< preset name, or "as-is" for a given GGUF file
    QString file;
    double exportSeconds = -1;
    bool reused = false;
};

std::vector<Case> prepareFiles(const Options& opt, const QString& work, QJsonObject& source)
{
    const EvalBenchOptions& e = opt.eval;
    QString src = e.model;
    if (src.isEmpty())
        src = syntheticModel(opt, work, source);
    else
        source = QJsonObject{{QStringLiteral("path"), src}};
    const bool isGguf = QFileInfo(src).isFile() && src.endsWith(QStringLiteral(".gguf"), Qt::CaseInsensitive);
    if (!QFileInfo::exists(src))
        throw Error::inFile(src, QStringLiteral("no such model"));
    QStringList formats = e.formats;
    if (formats.isEmpty() && isGguf)
        return {Case{QStringLiteral("as-is"), src}};
    if (formats.isEmpty() && !e.model.isEmpty()) { // a quantized run of ours: ours alone, as it is
        const auto run = Model::open(src);
        for (const LinearLayerInfo& l : run->linears())
            if (l.quant)
                return {Case{QStringLiteral("as-is"), src}};
    }
    if (formats.isEmpty())
        formats = opt.quick ? QStringList{QStringLiteral("Q8_0"), QStringLiteral("Q4_0")}
                            : QStringList{QStringLiteral("F16"),    QStringLiteral("BF16"),
                                          QStringLiteral("Q8_0"),   QStringLiteral("Q4_0"),
                                          QStringLiteral("Q4_K_M"), QStringLiteral("IQ4_XS")};
    std::shared_ptr<const Model> model;
    std::vector<Case> cases;
    const QString base = QFileInfo(src).completeBaseName();
    for (const QString& format : formats) {
        Case c{format, QDir(work).filePath(QStringLiteral("%1-%2.gguf").arg(base, format))};
        if (QFileInfo(c.file).size() > 0) {
            c.reused = true;
        } else {
            if (!model)
                model = Model::open(src);
            const GgufExportPlan plan = ggufPreset(*model, format, false);
            if (opt.log)
                opt.log(QStringLiteral("eval: exporting %1 to %2").arg(format, c.file));
            const double t0 = nowSeconds();
            exportGguf(*model, plan, c.file, nullptr, JobContext{});
            c.exportSeconds = nowSeconds() - t0;
        }
        cases.push_back(c);
    }
    return cases;
}

QJsonObject runOurs(const QString& file, int threads, const EvalBenchOptions& e)
{
    QStringList args{QStringLiteral("bench"),     QStringLiteral("eval"),
                     QStringLiteral("--one"),     file,
                     QStringLiteral("--threads"), QString::number(threads),
                     QStringLiteral("--prompt"),  QString::number(e.prompt),
                     QStringLiteral("--gen"),     QString::number(e.gen),
                     QStringLiteral("--reps"),    QString::number(e.reps)};
    if (!e.pplText.isEmpty())
        args << QStringLiteral("--ppl-text") << e.pplText;
    if (e.llamaCppNumerics)
        args << QStringLiteral("--llamacpp-numerics");
    const ProcessResult r = runProcess(QCoreApplication::applicationFilePath(), args, false);
    if (!r.ok)
        return QJsonObject{{QStringLiteral("error"), r.error}};
    return QJsonDocument::fromJson(r.out).object();
}

QJsonObject runLlamaBench(const QString& dir, const QString& file, int threads, const EvalBenchOptions& e)
{
    const ProcessResult r = runProcess(
        QDir(dir).filePath(QStringLiteral("llama-bench")),
        {QStringLiteral("-m"), file, QStringLiteral("-p"), QString::number(e.prompt), QStringLiteral("-n"),
         QString::number(e.gen), QStringLiteral("-t"), QString::number(threads), QStringLiteral("-r"),
         QString::number(e.reps), QStringLiteral("-o"), QStringLiteral("json")},
        true);
    if (!r.ok)
        return QJsonObject{{QStringLiteral("error"), r.error}};
    QJsonObject o;
    for (const QJsonValue& v : QJsonDocument::fromJson(r.out).array()) {
        const QJsonObject t = v.toObject();
        const QString key = t.value(u"n_gen").toInt() > 0 ? QStringLiteral("tg") : QStringLiteral("pp");
        o.insert(key, QJsonObject{{QStringLiteral("mean"), t.value(u"avg_ts").toDouble()},
                                  {QStringLiteral("stddev"), t.value(u"stddev_ts").toDouble()}});
        o.insert(QStringLiteral("build_commit"), t.value(u"build_commit"));
        o.insert(QStringLiteral("model_size"), t.value(u"model_size"));
    }
    if (!o.contains(u"pp") || !o.contains(u"tg"))
        o.insert(QStringLiteral("error"),
                 QStringLiteral("llama-bench printed no pp/tg results: %1").arg(tail(r.err, 6)));
    return o;
}

/// Seconds of a llama.cpp log timestamp ("M.SS.mmm.uuu") captured as groups 1-4 of `m`.
double logSeconds(const QRegularExpressionMatch& m)
{
    return m.captured(1).toDouble() * 60 + m.captured(2).toDouble() + m.captured(3).toDouble() / 1e3 +
           m.captured(4).toDouble() / 1e6;
}

/// llama-perplexity on the synthetic text: tokens/s over its chunk loop (all logits, scoring
/// included, as ours), from the log timestamps of "calculating perplexity" and "Final estimate".
QJsonObject runLlamaPerplexity(const QString& dir, const QString& file, int threads,
                               const EvalBenchOptions& e)
{
    const ProcessResult r =
        runProcess(QDir(dir).filePath(QStringLiteral("llama-perplexity")),
                   {QStringLiteral("-m"), file, QStringLiteral("-f"), e.pplText, QStringLiteral("-c"),
                    QString::number(e.prompt), QStringLiteral("-b"), QString::number(e.prompt),
                    QStringLiteral("--chunks"), QStringLiteral("2"), QStringLiteral("-t"),
                    QString::number(threads), QStringLiteral("--log-timestamps")},
                   true);
    if (!r.ok)
        return QJsonObject{{QStringLiteral("error"), r.error}};
    // Log lines may be glued to stdout's progress text ("ETA 0.00.292.128 I Final …"): no anchors.
    static const QRegularExpression start(QStringLiteral(
        R"((\d+)\.(\d\d)\.(\d\d\d)\.(\d\d\d) I perplexity: calculating perplexity over (\d+) chunks, n_ctx=(\d+))"));
    static const QRegularExpression done(
        QStringLiteral(R"((\d+)\.(\d\d)\.(\d\d\d)\.(\d\d\d) I Final estimate: PPL = ([\d.]+))"));
    const QString log = QString::fromUtf8(r.err);
    const auto m0 = start.match(log), m1 = done.match(log);
    const double t0 = m0.hasMatch() ? logSeconds(m0) : -1.0, t1 = m1.hasMatch() ? logSeconds(m1) : -1.0;
    const double tokens = m0.captured(5).toDouble() * m0.captured(6).toDouble();
    const double value = m1.captured(5).toDouble();
    if (t0 < 0 || t1 <= t0)
        return QJsonObject{
            {QStringLiteral("error"), QStringLiteral("no timed chunk loop in llama-perplexity's log")}};
    return QJsonObject{{QStringLiteral("tokens_per_second"), tokens / (t1 - t0)},
                       {QStringLiteral("seconds"), t1 - t0},
                       {QStringLiteral("ppl"), value}};
}

/// Mean over rounds of `path` ("pp" → mean) in each object; NaN when any round lacks it.
double roundsMean(const std::vector<QJsonObject>& rounds, const QString& key, const QString& field)
{
    double sum = 0;
    for (const QJsonObject& o : rounds) {
        const QJsonValue v = o.value(key).toObject().value(field);
        if (!v.isDouble())
            return std::nan("");
        sum += v.toDouble();
    }
    return rounds.empty() ? std::nan("") : sum / double(rounds.size());
}

QJsonValue number(double v)
{
    return std::isfinite(v) ? QJsonValue(v) : QJsonValue(QJsonValue::Null);
}

/// One engine's result over its rounds (at least one), with pp_tokens_per_second and tg_tokens_per_second
/// the mean of the rounds' means. With several rounds its `pp` and `tg` become that mean (with the spread
/// and the means themselves) and the rounds' own objects go under `rounds`, so no field holds one round's
/// figure where the other fields hold all rounds'.
QJsonObject roundsSummary(const std::vector<QJsonObject>& rounds)
{
    QJsonObject o = rounds.front();
    for (const QLatin1String key : {QLatin1String("pp"), QLatin1String("tg")}) {
        const double mean = roundsMean(rounds, QString(key), QStringLiteral("mean"));
        o.insert(key + QLatin1String("_tokens_per_second"), number(mean));
        if (rounds.size() < 2)
            continue;
        QJsonArray means;
        double ss = 0;
        for (const QJsonObject& r : rounds) {
            const double v = r.value(key).toObject().value(u"mean").toDouble(std::nan(""));
            means.append(number(v));
            ss += (v - mean) * (v - mean);
        }
        o.insert(key, QJsonObject{{QStringLiteral("mean"), number(mean)},
                                  {QStringLiteral("stddev_of_rounds"),
                                   number(std::sqrt(ss / double(rounds.size() - 1)))},
                                  {QStringLiteral("round_means"), means}});
    }
    if (rounds.size() < 2)
        return o;
    QJsonArray all;
    for (const QJsonObject& r : rounds)
        all.append(r);
    o.insert(QStringLiteral("rounds"), all);
    return o;
}

QByteArray syntheticText()
{
    // Lower-case pseudo-words (the synthetic tokenizer's merges cover letter pairs) in sentences.
    std::mt19937 rng(7);
    QByteArray text;
    while (text.size() < 24000) {
        const int letters = 2 + int(rng() % 7);
        for (int i = 0; i < letters; ++i)
            text.append(char('a' + rng() % 26));
        text.append(rng() % 11 == 0 ? ".\n" : " ");
    }
    return text;
}

/// Decode as memory traffic: tokens/s × the weight bytes a step reads, and its share of the read
/// bandwidth measured in this run at the same thread count.
void addDecodeTraffic(QJsonObject& side, double tokensPerSecond, double bytesPerToken, double readGBps)
{
    if (!(bytesPerToken > 0) || !std::isfinite(tokensPerSecond))
        return;
    const double gbps = tokensPerSecond * bytesPerToken / 1e9;
    side.insert(QStringLiteral("tg_weight_gbps"), gbps);
    if (readGBps > 0)
        side.insert(QStringLiteral("tg_share_of_read_bandwidth"), gbps / readGBps);
}

/// Which peak bounds a prefill's matmuls: the instruction that does its multiply-adds. f16 and f32 weights
/// (and bf16 ones against f32 inputs) go through f32 FMAs; bf16 weights against bf16-rounded inputs through
/// vdpbf16ps where the CPU has it (llama.cpp always rounds them so; ours under --llamacpp-numerics).
/// Quantized weights: none (their integer dot products have no yardstick here). Ours on a CPU with AMX-BF16
/// (floatMatMulTilesFast()): f16 and bf16 weights go through tdpbf16ps, with 6 (f16 weights, f32 inputs: two
/// weight planes × three input planes), 3 (bf16, f32 inputs) or 1 (bf16 inputs) tile products per
/// multiply-add of the model.
enum class PeakKind { None, F32Fma, Bf16Dot, AmxBf16 };

PeakKind prefillPeakKind(const QString& weights, bool bf16Inputs, const ComputePeak& peak, bool tiles = false)
{
    if (tiles && peak.amxBf16Gflops > 0 && (weights == u"f16" || weights == u"bf16"))
        return PeakKind::AmxBf16;
    if (weights == u"f16" || weights == u"f32")
        return PeakKind::F32Fma;
    if (weights == u"bf16")
        return bf16Inputs && peak.bf16DotGflops > 0 ? PeakKind::Bf16Dot : PeakKind::F32Fma;
    return PeakKind::None;
}

/// Prefill as arithmetic: tokens/s × 2 × the multiply-adds of a token in the linears (the head runs
/// for one row only, attention not counted), and its share of `threads` cores' peak for that arithmetic.
void addPrefillCompute(QJsonObject& side, double tokensPerSecond, double linearMacs, PeakKind kind,
                       const ComputePeak& peak, int threads, int tileProducts = 1)
{
    if (!(linearMacs > 0) || !std::isfinite(tokensPerSecond))
        return;
    const double gflops = tokensPerSecond * 2 * linearMacs / 1e9;
    side.insert(QStringLiteral("pp_linear_gflops"), gflops);
    const double perCore = kind == PeakKind::F32Fma    ? peak.f32FmaGflops
                           : kind == PeakKind::Bf16Dot ? peak.bf16DotGflops
                           : kind == PeakKind::AmxBf16 ? peak.amxBf16Gflops
                                                       : 0.0;
    if (perCore > 0) {
        side.insert(QStringLiteral("pp_peak"), kind == PeakKind::F32Fma    ? QStringLiteral("f32_fma")
                                               : kind == PeakKind::Bf16Dot ? QStringLiteral("bf16_dot")
                                                                           : QStringLiteral("amx_bf16"));
        const int products = kind == PeakKind::AmxBf16 ? tileProducts : 1;
        if (kind == PeakKind::AmxBf16)
            side.insert(QStringLiteral("pp_tile_products_per_mac"), products);
        side.insert(QStringLiteral("pp_share_of_peak"), gflops * products / (perCore * std::max(1, threads)));
    }
}

QJsonObject measureCase(const Case& c, int threads, double readGBps, const ComputePeak& peak,
                        const Options& opt)
{
    const EvalBenchOptions& e = opt.eval;
    // llama.cpp reads GGUF files only (a quantized folder of ours is measured alone).
    const bool peer =
        !e.llamaCppDir.isEmpty() && c.file.endsWith(QStringLiteral(".gguf"), Qt::CaseInsensitive);
    std::vector<QJsonObject> ours, theirs, theirsPpl;
    QJsonArray loads;
    for (int round = 0; round < e.rounds; ++round) {
        loads.append(loadAverage());
        ours.push_back(runOurs(c.file, threads, e));
        if (peer) {
            theirs.push_back(runLlamaBench(e.llamaCppDir, c.file, threads, e));
            if (!e.pplText.isEmpty())
                theirsPpl.push_back(runLlamaPerplexity(e.llamaCppDir, c.file, threads, e));
        }
    }
    QJsonObject o{{QStringLiteral("format"), c.format},
                  {QStringLiteral("file"), c.file},
                  {QStringLiteral("threads"), threads},
                  {QStringLiteral("load_average"), loads}};
    if (c.exportSeconds >= 0)
        o.insert(QStringLiteral("export_seconds"), c.exportSeconds);
    QJsonObject oursJson = roundsSummary(ours);
    const double ourPp = oursJson.value(u"pp_tokens_per_second").toDouble(std::nan(""));
    const double ourTg = oursJson.value(u"tg_tokens_per_second").toDouble(std::nan(""));
    const double bytesPerToken = oursJson.value(u"decode_weight_bytes_per_token").toDouble();
    addDecodeTraffic(oursJson, ourTg, bytesPerToken, readGBps);
    const double linearMacs = oursJson.value(u"prefill_linear_macs_per_token").toDouble();
    const QString weights = oursJson.value(u"weights").toString();
    const bool bf16Inputs = e.llamaCppNumerics && weights == u"bf16";
    addPrefillCompute(oursJson, ourPp, linearMacs,
                      prefillPeakKind(weights, e.llamaCppNumerics, peak, floatMatMulTilesFast()), peak,
                      threads,
                      weights == u"f16" ? 6
                      : bf16Inputs      ? 1
                                        : 3);
    o.insert(QStringLiteral("read_bandwidth_gbps"), readGBps);
    o.insert(QStringLiteral("ours"), oursJson);
    QString line = QStringLiteral("eval %1 t=%2: ours pp %3 tg %4 tok/s, peak RSS %5 MiB")
                       .arg(c.format)
                       .arg(threads)
                       .arg(ourPp, 0, 'f', 2)
                       .arg(ourTg, 0, 'f', 2)
                       .arg(qint64(oursJson.value(u"peak_rss_bytes").toDouble()) >> 20);
    if (peer) {
        QJsonObject theirsJson = roundsSummary(theirs);
        const double pp = theirsJson.value(u"pp_tokens_per_second").toDouble(std::nan(""));
        const double tg = theirsJson.value(u"tg_tokens_per_second").toDouble(std::nan(""));
        if (!theirsPpl.empty())
            theirsJson.insert(QStringLiteral("perplexity"), theirsPpl.front());
        addDecodeTraffic(theirsJson, tg, bytesPerToken, readGBps);
        addPrefillCompute(theirsJson, pp, linearMacs, prefillPeakKind(weights, true, peak), peak, threads);
        o.insert(QStringLiteral("llama_cpp"), theirsJson);
        o.insert(QStringLiteral("ratio"), QJsonObject{{QStringLiteral("pp"), number(ourPp / pp)},
                                                      {QStringLiteral("tg"), number(ourTg / tg)}});
        line += QStringLiteral(" | llama.cpp pp %1 tg %2 | ours/theirs pp %3 tg %4")
                    .arg(pp, 0, 'f', 2)
                    .arg(tg, 0, 'f', 2)
                    .arg(ourPp / pp, 0, 'f', 3)
                    .arg(ourTg / tg, 0, 'f', 3);
    }
    if (opt.log)
        opt.log(line);
    return o;
}

} // namespace

QJsonObject evalThroughput(const Options& options)
{
    Options opt = options;
    EvalBenchOptions& e = opt.eval;
    if (e.prompt < 1 || e.gen < 1 || e.reps < 1 || e.rounds < 1 || e.threads.isEmpty())
        throw Error(QStringLiteral("bench eval: prompt, gen, reps, rounds and threads must be positive"));
    std::optional<QTemporaryDir> tmp;
    QString work = e.workDir;
    if (work.isEmpty()) {
        tmp.emplace();
        if (!tmp->isValid())
            throw Error(QStringLiteral("bench eval: cannot create a temporary folder"));
        work = tmp->path();
    } else if (!QDir().mkpath(work)) {
        throw Error::inFile(work, QStringLiteral("cannot create folder"));
    }
    QJsonObject peer{{QStringLiteral("available"), !e.llamaCppDir.isEmpty()}};
    if (e.llamaCppDir.isEmpty()) {
        peer.insert(QStringLiteral("note"),
                    QStringLiteral("no --llama-cpp DIR given: llama.cpp columns skipped"));
    } else {
        const QString bench = QDir(e.llamaCppDir).filePath(QStringLiteral("llama-bench"));
        if (!QFileInfo(bench).isExecutable())
            throw Error::inFile(bench, QStringLiteral("no llama-bench executable here (--llama-cpp)"));
        peer.insert(QStringLiteral("dir"), e.llamaCppDir);
    }
    QJsonObject source;
    const std::vector<Case> cases = prepareFiles(opt, work, source);
    if (e.perplexity) {
        e.pplText = QDir(work).filePath(QStringLiteral("synthetic-text.txt"));
        QSaveFile f(e.pplText);
        if (!f.open(QIODevice::WriteOnly) || f.write(syntheticText()) < 0 || !f.commit())
            throw Error::inFile(e.pplText, u"cannot write: " + f.errorString());
    }
    // The memory-speed ceiling of decode, per thread count, measured now on this machine (on 2 MiB
    // pages, as the engine keeps its repacked weights; the 4 KiB-page figure for comparison).
    QHash<int, double> readGBps;
    QJsonArray readRows;
    const std::size_t readBytes = std::size_t(opt.quick ? 128 : 1024) << 20;
    for (int threads : e.threads) {
        readGBps[threads] = readBandwidthGBps(readBytes, threads, 5);
        const double small = readBandwidthGBps(readBytes, threads, 5, true);
        readRows.append(QJsonObject{{QStringLiteral("threads"), threads},
                                    {QStringLiteral("read_gbps"), readGBps[threads]},
                                    {QStringLiteral("read_gbps_4k_pages"), small}});
        if (opt.log)
            opt.log(QStringLiteral("read bandwidth t=%1: %2 GB/s (on 4 KiB pages %3)")
                        .arg(threads)
                        .arg(readGBps[threads], 0, 'f', 1)
                        .arg(small, 0, 'f', 1));
    }
    // The compute ceiling of prefill, one core's f32 FMA and vdpbf16ps peaks, measured now.
    const ComputePeak peak = measureComputePeak(opt.quick ? 0.05 : 0.5);
    const QJsonObject peakJson{{QStringLiteral("f32_isa"), QString::fromLatin1(peak.f32Isa)},
                               {QStringLiteral("f32_fma_gflops"), peak.f32FmaGflops},
                               {QStringLiteral("bf16_dot_gflops"), peak.bf16DotGflops},
                               {QStringLiteral("amx_bf16_gflops"), peak.amxBf16Gflops},
                               {QStringLiteral("threads"), 1}};
    if (opt.log)
        opt.log(QStringLiteral("compute peak, one core: f32 FMA %1 GFLOP/s, vdpbf16ps %2, AMX-BF16 tiles %3")
                    .arg(peak.f32FmaGflops, 0, 'f', 1)
                    .arg(peak.bf16DotGflops > 0 ? QString::number(peak.bf16DotGflops, 'f', 1)
                                                : QStringLiteral("not on this CPU"))
                    .arg(peak.amxBf16Gflops > 0 ? QString::number(peak.amxBf16Gflops, 'f', 1)
                                                : QStringLiteral("not on this CPU")));
    QJsonArray results;
    for (const Case& c : cases) {
        for (int threads : e.threads) {
            QJsonObject r = measureCase(c, threads, readGBps.value(threads), peak, opt);
            r.insert(QStringLiteral("reused_file"), c.reused);
            r.insert(QStringLiteral("file_bytes"), double(pathBytes(c.file)));
            if (peer.value(u"build_commit").isUndefined() &&
                r.value(u"llama_cpp").toObject().contains(u"build_commit"))
                peer.insert(QStringLiteral("build_commit"),
                            r.value(u"llama_cpp").toObject().value(u"build_commit"));
            results.append(r);
        }
    }
    return QJsonObject{
        {QStringLiteral("benchmark"), QStringLiteral("eval")},
        {QStringLiteral("machine"), machineInfo()},
        {QStringLiteral("source"), source},
        {QStringLiteral("read_bandwidth"), readRows},
        {QStringLiteral("compute_peak"), peakJson},
        {QStringLiteral("llama_cpp"), peer},
        {QStringLiteral("settings"),
         QJsonObject{
             {QStringLiteral("prompt"), e.prompt},
             {QStringLiteral("gen"), e.gen},
             {QStringLiteral("reps"), e.reps},
             {QStringLiteral("rounds"), e.rounds},
             {QStringLiteral("numerics"), numericsName(e)},
             {QStringLiteral("protocol"),
              QStringLiteral("pp: one forward of `prompt` random tokens after a warm-up (last row's logits); "
                             "tg: `gen` one-token forwards from an empty KV cache; mean ± sd over reps; "
                             "each case a fresh child process; ours then llama-bench per round")}}},
        {QStringLiteral("results"), results}};
}

} // namespace qs::bench
