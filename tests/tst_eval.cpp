// Perplexity protocols against golden values, KLD base store/compare, calibration capture, CLI.
#include "TestSupport.h"
#include "eval/Calibration.h"
#include "eval/Evaluation.h"
#include "model/Generate.h"
#include "model/Transformer.h"
#include "tokenizer/Tokenizer.h"
#include "util/Error.h"
#include "util/Threads.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QTest>
#include <cmath>
#include <random>

using namespace qs;

namespace {

/// A copy of a layer with its weights perturbed by relative Gaussian noise.
std::shared_ptr<DenseLinear> noisy(const Transformer& t, int index, float rel, unsigned seed)
{
    const auto& d = dynamic_cast<const DenseLinear&>(t.linear(index));
    std::vector<float> w = d.floatWeight();
    std::mt19937 rng(seed);
    std::normal_distribution<float> n(0.f, 1.f);
    for (float& x : w)
        x += rel * std::fabs(x) * n(rng);
    return std::make_shared<DenseLinear>(d.inFeatures(), d.outFeatures(), std::move(w), d.bias());
}

} // namespace

class TestEval : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void perplexityGolden_data();
    void perplexityGolden();
    void chunking();
    void kldAgainstBase();
    void kldBaseMismatch();
    void calibrationStats();
    void calibrationXtxTiles();
    void generateDeterministic();
    void cliEvalAndKld();
    void tokenizerModelMismatch();
};

void TestEval::perplexityGolden_data()
{
    QTest::addColumn<QString>("model");
    QTest::addColumn<QString>("text");
    QTest::addColumn<QString>("protocol");
    QTest::addColumn<int>("ctx");
    QTest::addColumn<int>("chunks");
    QTest::addColumn<int>("scored");
    QTest::addColumn<double>("ppl");
    const QString wiki = QStringLiteral("wikitext-2-raw/wiki.test.raw");
    // Values from golden.json (float64 NumPy reference, ../shared/tools/reference_forward.py).
    QTest::newRow("stories llama.cpp ctx128x20")
        << QStringLiteral("stories260K") << wiki << QStringLiteral("llamacpp") << 128 << 20 << 1260
        << 111.96412129305186;
    QTest::newRow("stories llama.cpp ctx512x8")
        << QStringLiteral("stories260K") << wiki << QStringLiteral("llamacpp") << 512 << 8 << 2040
        << 125.73691590397374;
    QTest::newRow("stories windows 512x4")
        << QStringLiteral("stories260K") << wiki << QStringLiteral("windows") << 512 << 4 << 2044
        << 119.83147590481688;
    QTest::newRow("stories-bf16 ctx128x20")
        << QStringLiteral("stories260K-sharded") << wiki << QStringLiteral("llamacpp") << 128 << 20 << 1260
        << 111.96412129305186;
    QTest::newRow("kjv7M llama.cpp ctx256x40")
        << QStringLiteral("kjv7M") << QStringLiteral("kjv/test.txt") << QStringLiteral("llamacpp") << 256
        << 40 << 5080 << 59.57162225313616;
    QTest::newRow("kjv7M windows 512x8")
        << QStringLiteral("kjv7M") << QStringLiteral("kjv/test.txt") << QStringLiteral("windows") << 512 << 8
        << 4088 << 54.50511501525351;
}

void TestEval::perplexityGolden()
{
    QFETCH(QString, model);
    QFETCH(QString, text);
    QFETCH(QString, protocol);
    QFETCH(int, ctx);
    QFETCH(int, chunks);
    QFETCH(int, scored);
    QFETCH(double, ppl);
    const QString modelPath = test::dataPath(model), textPath = test::dataPath(text);
    if (modelPath.isEmpty() || textPath.isEmpty())
        QSKIP(qPrintable(test::skipMessage(model + u" / " + text)));
    const Transformer t(Model::open(modelPath));
    const auto tok = Tokenizer::load(modelPath);
    EvaluationParams p;
    p.textPath = textPath;
    p.perplexity.protocol = protocolFromName(protocol);
    p.perplexity.ctx = ctx;
    p.perplexity.maxChunks = chunks;
    const EvaluationResult r = runEvaluation(t, *tok, p);
    QCOMPARE(r.perplexity.chunks, chunks);
    QCOMPARE(r.perplexity.scored, std::int64_t(scored));
    const double rel = std::fabs(r.perplexity.ppl - ppl) / ppl;
    QVERIFY2(rel < 1e-4, qPrintable(QStringLiteral("ppl %1 vs golden %2 (rel %3)")
                                        .arg(r.perplexity.ppl, 0, 'f', 6)
                                        .arg(ppl, 0, 'f', 6)
                                        .arg(rel)));
    QVERIFY(r.perplexity.pplError > 0);
}

void TestEval::chunking()
{
    std::vector<int> tokens(1000);
    for (std::size_t i = 0; i < tokens.size(); ++i)
        tokens[i] = int(i % 100) + 3;
    tokens[0] = 1;
    PerplexityOptions o;
    o.ctx = 128;
    std::vector<EvalChunk> c = makeChunks(tokens, o);
    QCOMPARE(int(c.size()), 7);       // 1000 / 128
    QCOMPARE(c[1].tokens.front(), 1); // first token replaced by BOS
    QCOMPARE(c[1].tokens[1], tokens[129]);
    QCOMPARE(c[1].firstScored, 64);
    o.protocol = PerplexityProtocol::Windows;
    c = makeChunks(tokens, o);
    QCOMPARE(int(c.size()), 7); // 999 / 127
    QCOMPARE(c[0].tokens[1], tokens[1]);
    QCOMPARE(c[1].tokens[1], tokens[128]);
    o.maxChunks = 2;
    QCOMPARE(int(makeChunks(tokens, o).size()), 2);
    o.ctx = 2000;
    QVERIFY_THROWS_EXCEPTION(Error, makeChunks(tokens, o));
    QVERIFY_THROWS_EXCEPTION(Error, protocolFromName(QStringLiteral("bogus")));
}

void TestEval::kldAgainstBase()
{
    QS_REQUIRE_DATA(modelPath, "stories260K");
    QS_REQUIRE_DATA(textPath, "wikitext-2-raw/wiki.test.raw");
    QTemporaryDir tmp;
    Transformer t(Model::open(modelPath));
    const auto tok = Tokenizer::load(modelPath);
    EvaluationParams p;
    p.textPath = textPath;
    p.perplexity.ctx = 128;
    p.perplexity.maxChunks = 6;
    p.saveBasePath = tmp.filePath(QStringLiteral("base.qskld"));
    const EvaluationResult base = runEvaluation(t, *tok, p);
    QVERIFY(QFile::exists(p.saveBasePath));

    p.saveBasePath.clear();
    p.kldBasePath = tmp.filePath(QStringLiteral("base.qskld"));
    const EvaluationResult same = runEvaluation(t, *tok, p);
    QVERIFY(same.kld.has_value());
    QCOMPARE(same.kld->tokens, std::int64_t(6 * 63));
    QVERIFY2(same.kld->meanKld < 1e-6, qPrintable(QString::number(same.kld->meanKld)));
    QCOMPARE(same.kld->sameTopPercent, 100.0);
    QVERIFY(same.kld->rmsDeltaP < 1e-5);
    QCOMPARE(same.kld->basePpl, base.perplexity.ppl);
    // The paired perplexity change of a run against itself is nil, chunk by chunk.
    QCOMPARE(int(same.kld->chunkDeltaNll.size()), 6);
    QVERIFY2(std::abs(same.kld->deltaPpl) < 1e-4 * base.perplexity.ppl,
             qPrintable(QString::number(same.kld->deltaPpl)));
    QVERIFY(std::isfinite(same.kld->deltaPplError) && same.kld->deltaPplError < 1e-4);

    for (int i = 0; i < int(t.model().linears().size()); ++i)
        t.setLinear(i, noisy(t, i, 0.3f, unsigned(i + 1)));
    const EvaluationResult worse = runEvaluation(t, *tok, p);
    QVERIFY(worse.kld->meanKld > 1e-3);
    QVERIFY(worse.kld->sameTopPercent < 100.0);
    QVERIFY(worse.kld->p99Kld >= worse.kld->medianKld);
    QVERIFY(worse.kld->maxKld >= worse.kld->p99Kld);
    QVERIFY(worse.kld->rmsDeltaP > 0);
    // Δppl is the difference of the two perplexities on the same tokens (the base's target
    // log-probs are stored as f32), and its paired error is tighter than the two ± bars together.
    const KldStats& k = *worse.kld;
    QVERIFY2(std::abs(k.deltaPpl - (worse.perplexity.ppl - base.perplexity.ppl)) <
                 1e-3 * worse.perplexity.ppl,
             qPrintable(QStringLiteral("%1 vs %2 − %3")
                            .arg(k.deltaPpl)
                            .arg(worse.perplexity.ppl)
                            .arg(base.perplexity.ppl)));
    QVERIFY(k.deltaPpl > 0);
    QCOMPARE(int(k.chunkDeltaNll.size()), 6);
    double weighted = 0;
    for (std::size_t c = 0; c < k.chunkDeltaNll.size(); ++c)
        weighted += k.chunkDeltaNll[c] * k.chunkTokens[c];
    QVERIFY(std::abs(weighted / double(k.tokens) - k.deltaLnPpl) < 1e-9);
    QVERIFY(std::isfinite(k.deltaPplError) && k.deltaPplError > 0);
    QVERIFY2(k.deltaPplError < std::hypot(worse.perplexity.pplError, base.perplexity.pplError),
             qPrintable(QStringLiteral("paired %1, independent %2 and %3")
                            .arg(k.deltaPplError)
                            .arg(worse.perplexity.pplError)
                            .arg(base.perplexity.pplError)));
    QCOMPARE(k.toJson().value(u"delta_ppl").toDouble(), k.deltaPpl);
    // One chunk: no paired error, and the JSON says so with null rather than a made-up number.
    p.perplexity.maxChunks = 1;
    p.kldBasePath.clear();
    p.saveBasePath = tmp.filePath(QStringLiteral("one.qskld"));
    Transformer fresh(Model::open(modelPath));
    runEvaluation(fresh, *tok, p);
    p.saveBasePath.clear();
    p.kldBasePath = tmp.filePath(QStringLiteral("one.qskld"));
    const EvaluationResult one = runEvaluation(t, *tok, p);
    QVERIFY(std::isnan(one.kld->deltaPplError));
    QVERIFY(one.kld->toJson().value(u"delta_ppl_error").isNull());
    QVERIFY(one.toText().contains(u"no paired error"));
}

void TestEval::kldBaseMismatch()
{
    QS_REQUIRE_DATA(modelPath, "stories260K");
    QS_REQUIRE_DATA(textPath, "wikitext-2-raw/wiki.test.raw");
    QTemporaryDir tmp;
    const Transformer t(Model::open(modelPath));
    const auto tok = Tokenizer::load(modelPath);
    EvaluationParams p;
    p.textPath = textPath;
    p.perplexity.ctx = 128;
    p.perplexity.maxChunks = 2;
    p.saveBasePath = tmp.filePath(QStringLiteral("base.qskld"));
    runEvaluation(t, *tok, p);
    p.saveBasePath.clear();
    p.kldBasePath = tmp.filePath(QStringLiteral("base.qskld"));
    p.perplexity.ctx = 256; // another protocol setting
    try {
        runEvaluation(t, *tok, p);
        QFAIL("expected an error");
    } catch (const Error& e) {
        QVERIFY2(e.message().contains(u"n_ctx"), qPrintable(e.message()));
        QVERIFY(e.message().contains(p.kldBasePath));
    }
    // Truncated base: an error naming the file, never a crash.
    QFile f(p.kldBasePath);
    QVERIFY(f.open(QIODevice::ReadWrite));
    QVERIFY(f.resize(f.size() / 2));
    f.close();
    p.perplexity.ctx = 128;
    QVERIFY_THROWS_EXCEPTION(Error, runEvaluation(t, *tok, p));
    // Text too short for a chunk.
    const QString shortText = tmp.filePath(QStringLiteral("short.txt"));
    QVERIFY(test::writeFile(shortText, "Once upon a time."));
    p.kldBasePath.clear();
    p.textPath = shortText;
    QVERIFY_THROWS_EXCEPTION(Error, runEvaluation(t, *tok, p));
    const QString empty = tmp.filePath(QStringLiteral("empty.txt"));
    QVERIFY(test::writeFile(empty, "  \n"));
    p.textPath = empty;
    QVERIFY_THROWS_EXCEPTION(Error, runEvaluation(t, *tok, p));
    p.textPath = textPath;
    p.perplexity.ctx = 1024; // above max_position_embeddings (512)
    QVERIFY_THROWS_EXCEPTION(Error, runEvaluation(t, *tok, p));
}

void TestEval::calibrationStats()
{
    QS_REQUIRE_DATA(modelPath, "stories260K");
    const Transformer t(Model::open(modelPath));
    const int q0 = t.model().blocks()[1].linears[0], down = t.model().blocks()[1].linears[6];
    CalibrationOptions opt;
    opt.sampleRows = 16;
    CalibrationCollector c(t.model(), {q0, down}, opt);
    struct Capture : ForwardHooks
    {
        int index;
        std::vector<float> rows;
        void linearInput(int i, const float* x, std::int64_t n, std::int64_t in) override
        {
            if (i == index)
                rows.insert(rows.end(), x, x + n * in);
        }
    } capture;
    capture.index = down;
    struct Both : ForwardHooks
    {
        ForwardHooks *a, *b;
        void linearInput(int i, const float* x, std::int64_t n, std::int64_t in) override
        {
            a->linearInput(i, x, n, in);
            b->linearInput(i, x, n, in);
        }
        void linearOutput(int i, const float* y, std::int64_t n, std::int64_t out) override
        {
            a->linearOutput(i, y, n, out);
            b->linearOutput(i, y, n, out);
        }
    } both;
    both.a = &c;
    both.b = &capture;
    const std::vector<int> ids{1,   403, 407, 261, 378, 432, 383, 286, 261, 376,
                               298, 315, 421, 395, 317, 426, 338, 401, 396, 267};
    KvCache cache = t.makeCache(int(ids.size()));
    std::vector<float> logits(ids.size() * 512);
    t.forward(cache, ids.data(), int(ids.size()), logits.data(), 0, &both);
    QCOMPARE(c.stats(down).tokens, std::int64_t(ids.size()));
    // XᵀX is made symmetric when first read: a window after that read must be in both triangles.
    cache.clear();
    t.forward(cache, ids.data(), 12, logits.data(), 0, &both);
    const LinearInputStats& s = c.stats(down);
    QCOMPARE(s.tokens, std::int64_t(ids.size() + 12));
    QCOMPARE(s.inFeatures, std::int64_t(172));
    QCOMPARE(s.sampleRows, std::int64_t(16));
    const std::int64_t in = 172;
    const std::size_t tokens = capture.rows.size() / std::size_t(in);
    for (std::int64_t a : {0, 5, 171}) {
        for (std::int64_t b : {0, 17, 171}) {
            double ref = 0;
            for (std::size_t tkn = 0; tkn < tokens; ++tkn)
                ref += double(capture.rows[tkn * std::size_t(in) + std::size_t(a)]) *
                       capture.rows[tkn * std::size_t(in) + std::size_t(b)];
            QVERIFY(std::fabs(s.xtx(a, b) - ref) <= 1e-9 * std::max(1.0, std::fabs(ref)));
        }
        double mx = 0, sa = 0, sq = 0;
        for (std::size_t tkn = 0; tkn < tokens; ++tkn) {
            const double v = capture.rows[tkn * std::size_t(in) + std::size_t(a)];
            mx = std::max(mx, std::fabs(v));
            sa += std::fabs(v);
            sq += v * v;
        }
        QCOMPARE(s.maxAbs[std::size_t(a)], mx);
        QVERIFY(std::fabs(s.sumAbs[std::size_t(a)] - sa) < 1e-9 * std::max(1.0, sa));
        QVERIFY(std::fabs(s.sumSquares[std::size_t(a)] - sq) < 1e-9 * std::max(1.0, sq));
    }
    QVERIFY(s.hessian().isApprox(s.hessian().transpose()));
    // The reservoir keeps real rows: every sampled input row is one of the captured rows.
    for (std::int64_t r = 0; r < s.sampleRows; ++r) {
        bool found = false;
        for (std::size_t tkn = 0; tkn < tokens && !found; ++tkn)
            found = std::equal(s.sampleInputs.begin() + r * in, s.sampleInputs.begin() + (r + 1) * in,
                               capture.rows.begin() + std::ptrdiff_t(tkn) * in);
        QVERIFY(found);
    }
    QVERIFY(!c.has(0));
}

void TestEval::calibrationXtxTiles()
{
    // 700 inputs: block columns of 256, 256 and 188; two calls, so the sums accumulate.
    const std::int64_t in = 700, n0 = 29, n1 = 16;
    std::mt19937 rng(5);
    std::normal_distribution<float> normal;
    std::vector<float> x(std::size_t((n0 + n1) * in));
    for (float& v : x)
        v = normal(rng);
    auto collect = [&](int threads) {
        setComputeThreads(threads);
        Eigen::MatrixXd xtx = Eigen::MatrixXd::Zero(in, in);
        addXtxLower(xtx, x.data(), n0, in);
        addXtxLower(xtx, x.data() + n0 * in, n1, in);
        setComputeThreads(0);
        return Eigen::MatrixXd(xtx.triangularView<Eigen::Lower>());
    };
    const Eigen::MatrixXd one = collect(1), two = collect(2);
    QVERIFY(one == two); // the same sums on any thread count
    const Eigen::MatrixXd X =
        Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(x.data(),
                                                                                                n0 + n1, in)
            .cast<double>();
    const Eigen::MatrixXd ref = (X.transpose() * X).triangularView<Eigen::Lower>();
    QVERIFY((one - ref).cwiseAbs().maxCoeff() <= 1e-9 * ref.cwiseAbs().maxCoeff());
}

void TestEval::generateDeterministic()
{
    QS_REQUIRE_DATA(modelPath, "stories260K");
    const Transformer t(Model::open(modelPath));
    const auto tok = Tokenizer::load(modelPath);
    GenerateOptions o;
    o.maxTokens = 40;
    o.temperature = 0.8f;
    o.seed = 7;
    const GenerateResult a = generate(t, *tok, "Once upon a time", o);
    const GenerateResult b = generate(t, *tok, "Once upon a time", o);
    QCOMPARE(a.tokens, b.tokens);
    QVERIFY(!a.tokens.empty());
    o.temperature = 0;
    const GenerateResult g = generate(t, *tok, "Once upon a time", o);
    QVERIFY(!g.text.empty());
}

void TestEval::cliEvalAndKld()
{
    QS_REQUIRE_DATA(modelPath, "stories260K");
    QS_REQUIRE_DATA(textPath, "wikitext-2-raw/wiki.test.raw");
    QTemporaryDir tmp;
    const QString base = tmp.filePath(QStringLiteral("b.qskld"));
    test::CliResult r =
        test::runCli({QStringLiteral("eval"), modelPath, QStringLiteral("--text"), textPath,
                      QStringLiteral("--ctx"), QStringLiteral("128"), QStringLiteral("--chunks"),
                      QStringLiteral("20"), QStringLiteral("--save-base"), base, QStringLiteral("--json")});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    const QJsonObject o = QJsonDocument::fromJson(r.out).object();
    QVERIFY(std::fabs(o.value(u"perplexity").toObject().value(u"ppl").toDouble() - 111.96412129305186) <
            0.012);
    r = test::runCli({QStringLiteral("eval"), modelPath, QStringLiteral("--text"), textPath,
                      QStringLiteral("--ctx"), QStringLiteral("128"), QStringLiteral("--chunks"),
                      QStringLiteral("20"), QStringLiteral("--kld-base"), base});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    QVERIFY2(r.out.contains("Mean KLD") && r.out.contains("Same top") && r.out.contains("PPL"),
             r.out.constData());
    r = test::runCli({QStringLiteral("eval"), modelPath, QStringLiteral("--text"), textPath,
                      QStringLiteral("--ctx"), QStringLiteral("64"), QStringLiteral("--chunks"),
                      QStringLiteral("20"), QStringLiteral("--kld-base"), base});
    QCOMPARE(r.exitCode, 1);
    QVERIFY(r.err.contains("n_ctx"));
    r = test::runCli({QStringLiteral("generate"), modelPath, QStringLiteral("--prompt"),
                      QStringLiteral("Once upon a time"), QStringLiteral("-n"), QStringLiteral("20"),
                      QStringLiteral("--seed"), QStringLiteral("3")});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    QVERIFY(r.out.startsWith("Once upon a time"));
}

void TestEval::tokenizerModelMismatch()
{
    QS_REQUIRE_DATA(storiesPath, "stories260K");
    QS_REQUIRE_DATA(kjvPath, "kjv7M");
    const Transformer stories(Model::open(storiesPath));
    const auto kjvTok = Tokenizer::load(kjvPath); // 4096 tokens for a 512-row embedding table
    try {
        checkTokenizerAgainstModel(*kjvTok, stories);
        QFAIL("expected an error");
    } catch (const Error& e) {
        QVERIFY2(e.message().contains(u"4096") && e.message().contains(u"512"), qPrintable(e.message()));
    }
    const Transformer kjv(Model::open(kjvPath));
    const auto storiesTok = Tokenizer::load(storiesPath); // fewer tokens than rows: a named warning
    const QStringList w = checkTokenizerAgainstModel(*storiesTok, kjv);
    QCOMPARE(w.size(), 1);
    QVERIFY(w.front().startsWith(u"vocab-size-mismatch"));
}

QTEST_GUILESS_MAIN(TestEval)
#include "tst_eval.moc"
