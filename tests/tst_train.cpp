// The backward pass (issue 16): the trainable model's loss equals the inference model's, its gradients
// match finite differences for every parameter kind (exactly where the function is smooth; along paths
// that keep every code where rounding makes it piecewise constant), the straight-through gradients of
// the fake quantization match those of its surrogate, and nothing depends on the thread count.

#include "TestSupport.h"
#include "eval/Calibration.h"
#include "model/Model.h"
#include "model/QuantizedLinear.h"
#include "model/SyntheticModel.h"
#include "model/Transformer.h"
#include "quant/Quantizer.h"
#include "results/TrainJob.h"
#include "tokenizer/Tokenizer.h"
#include "train/FakeQuant.h"
#include "train/Optimizer.h"
#include "train/TrainModel.h"
#include "train/Training.h"
#include "util/Error.h"
#include "util/Threads.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QTest>
#include <cmath>
#include <deque>
#include <functional>
#include <limits>
#include <memory>
#include <random>

using namespace qs;

namespace {

std::vector<int> randomTokens(int count, int vocab, std::uint64_t seed)
{
    test::SplitMix rng{seed};
    std::vector<int> t(static_cast<std::size_t>(count));
    for (int& v : t)
        v = 3 + int(rng.below(std::size_t(vocab - 3)));
    return t;
}

std::vector<float> gaussian(std::size_t n, std::uint64_t seed)
{
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> d(0.0f, 1.0f);
    std::vector<float> v(n);
    for (float& x : v)
        x = d(rng);
    return v;
}

/// Replaces every linear of `t` by its quantization with `scheme`; methods that need calibration statistics
/// get those of 1,024 white Gaussian inputs.
void quantizeAll(Transformer& t, const QString& scheme)
{
    const QuantSpec spec = QuantSpec::fromShortName(scheme);
    for (std::size_t i = 0; i < t.model().linears().size(); ++i) {
        const LinearLayer& l = t.linear(int(i));
        const std::vector<float> w = l.floatWeight();
        LinearInputStats white;
        white.inFeatures = l.inFeatures();
        white.outFeatures = l.outFeatures();
        white.tokens = 1024;
        const std::vector<float> x = gaussian(std::size_t(white.tokens * l.inFeatures()), 40 + i);
        const Eigen::MatrixXd xs =
            Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
                x.data(), white.tokens, l.inFeatures())
                .cast<double>();
        white.xtx = xs.transpose() * xs;
        white.sumSquares.assign(std::size_t(l.inFeatures()), double(white.tokens));
        white.sumAbs.assign(std::size_t(l.inFeatures()), 0.8 * double(white.tokens));
        white.maxAbs.assign(std::size_t(l.inFeatures()), 3.0);
        QuantizeRequest r;
        r.stats = &white;
        r.layerName = t.model().linears()[i].name;
        r.weight = w.data();
        r.rows = l.outFeatures();
        r.cols = l.inFeatures();
        r.spec = spec;
        auto q = std::make_shared<QuantizedTensor>(quantizeWeight(r));
        t.setLinear(int(i), std::make_shared<QuantizedLinear>(q, l.bias()));
    }
}

/// A synthetic model folder of `type` (qwen2: biases; qwen3: q/k norms; mistral: a sliding window).
QString writeModel(const QTemporaryDir& dir, const QString& type, int hidden = 64, int layers = 2,
                   int window = 0)
{
    SyntheticModelSpec s;
    s.modelType = type;
    s.hidden = hidden;
    s.intermediate = hidden * 3;
    s.layers = layers;
    s.heads = 4;
    s.kvHeads = 2;
    s.vocab = 96;
    s.slidingWindow = window;
    s.seed = 7;
    const QString path = dir.filePath(type);
    writeSyntheticModel(path, s);
    return path;
}

/// A direction over all of a kind's trainable tensors: Gaussian magnitudes times `scale` of the tensor,
/// with the signs of the gradient (so the terms of Σ grad·direction add instead of cancelling), and the
/// parameters moved along it from where they stand.
struct Direction
{
    std::vector<TrainParam*> params;
    std::vector<std::vector<float>> base, step;

    Direction(TrainModel& m, ParamKind kind, std::uint64_t seed,
              const std::function<float(const TrainParam&)>& scale)
    {
        for (TrainParam& p : m.params())
            if (p.kind == kind && p.trainable) {
                std::vector<float> d = gaussian(p.value.size(), seed++);
                const float sc = scale(p);
                for (std::size_t i = 0; i < d.size(); ++i)
                    d[i] = std::copysign(d[i], p.grad[i]) * sc;
                params.push_back(&p);
                base.push_back(p.value);
                step.push_back(std::move(d));
            }
    }
    /// Σ grad · direction: the analytic directional derivative.
    double analytic() const
    {
        double sum = 0;
        for (std::size_t k = 0; k < params.size(); ++k)
            for (std::size_t i = 0; i < step[k].size(); ++i)
                sum += double(params[k]->grad[i]) * double(step[k][i]);
        return sum;
    }
    /// Parameters at base + eps·direction.
    void moveTo(double eps)
    {
        for (std::size_t k = 0; k < params.size(); ++k)
            for (std::size_t i = 0; i < base[k].size(); ++i)
                params[k]->value[i] = float(double(base[k][i]) + eps * double(step[k][i]));
    }
};

/// The derivative at 0 of f by central differences at h and 2h combined (Richardson): error O(h⁴).
template <typename F>
double richardson(F&& f, double h)
{
    const double d1 = (f(h) - f(-h)) / (2 * h), d2 = (f(2 * h) - f(-2 * h)) / (4 * h);
    return (4 * d1 - d2) / 3;
}

} // namespace

class TrainTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void fakeQuantMatchesQuantizer_data();
    void fakeQuantMatchesQuantizer();
    void fakeQuantGradientsMatchSurrogate_data();
    void fakeQuantGradientsMatchSurrogate();
    void lossMatchesTransformer_data();
    void lossMatchesTransformer();
    void gradientsMatchFiniteDifferences_data();
    void gradientsMatchFiniteDifferences();
    void quantizedPathsKeepCodes_data();
    void quantizedPathsKeepCodes();
    void sameBitsForAnyThreadCount();
    void refusesWhatItCannotTrain();
    void optimizerSchedule();
    void trainJobLearnsSavesAndReloads();
    void trainJobResumesFromCheckpoint();
    void trainJobCancelWritesNothing();
    void divergenceStopsAndKeepsParameters();
    void trainJobRefusesBadInput();
    void blockwiseFitsEveryBlock();
    void distillationLossAndGradients();
    void distillationJobLowersKld();
    void floatModelThatDoesNotFitIsNotUsed();
    void signRoundMovesCodesByOneStepAtMost();
    void blockwiseFitsTheQuantizedHead();
    void tableLayersLearnTheirTables();

private:
    /// stories260K from the shared data (empty when absent), or a synthetic model of `type` written now
    /// (hidden 64, 2 blocks; mistral with a window of 5).
    QString modelFolder(const QString& type)
    {
        if (type == u"stories260K")
            return test::dataPath(type);
        return writeModel(m_dir, type, 64, 2, type == u"mistral" ? 5 : 0);
    }
    /// The model of modelFolder(), every linear quantized with `scheme` when given (quantizeAll); null when
    /// the data is missing.
    std::unique_ptr<Transformer> openModel(const QString& type, const QString& scheme)
    {
        const QString path = modelFolder(type);
        if (path.isEmpty())
            return nullptr;
        auto t = std::make_unique<Transformer>(Model::open(path));
        if (!scheme.isEmpty())
            quantizeAll(*t, scheme);
        return t;
    }
    /// stories260K quantized with RTN int2 g32 by the command line, once (empty: data missing).
    QString quantizedStories();
    TrainJobParams jobParams(const QString& checkpoint);
    QTemporaryDir m_dir;
    QString m_quantized;
};

QString TrainTest::quantizedStories()
{
    if (!m_quantized.isEmpty())
        return m_quantized;
    const QString model = test::dataPath(QStringLiteral("stories260K"));
    if (model.isEmpty())
        return {};
    m_quantized = test::quantizeRtn(model, m_dir.filePath(QStringLiteral("rtn-w2")), 2, 32);
    return m_quantized;
}

/// Training on 8 windows of WikiText-2 and scoring the same windows (the loss the run optimises, so a
/// working backward pass must lower it), 30 steps at a rate that moves int2 codes.
TrainJobParams TrainTest::jobParams(const QString& checkpoint)
{
    TrainJobParams p;
    p.model = Model::open(checkpoint);
    p.calibration.text = test::dataPath(QStringLiteral("wikitext-2-raw/wiki.test.raw"));
    p.calibration.samples = 8;
    p.calibration.seqLen = 32;
    p.heldOut = p.calibration;
    p.training.batch = 4;
    p.training.evalEvery = 5;
    p.training.optimizer.steps = 30;
    p.training.optimizer.learningRate = 1e-3;
    p.training.optimizer.warmupSteps = 2;
    return p;
}

void TrainTest::fakeQuantMatchesQuantizer_data()
{
    QTest::addColumn<QString>("scheme");
    QTest::newRow("rtn int3 g8 asym") << QStringLiteral("rtn-w3-g8");
    QTest::newRow("rtn int4 channel sym") << QStringLiteral("rtn-w4-ch-sym");
    QTest::newRow("rtn int2 tensor") << QStringLiteral("rtn-w2-tensor");
    QTest::newRow("hqq int3 g16 (real zeros)") << QStringLiteral("hqq-w3-g16");
}

// At v = 0 the fake-quantized weight is what the quantizer's codes dequantize to, bit for bit.
void TrainTest::fakeQuantMatchesQuantizer()
{
    QFETCH(QString, scheme);
    const std::int64_t rows = 6, cols = 48;
    const std::vector<float> w = gaussian(std::size_t(rows * cols), 11);
    QuantizeRequest r;
    r.layerName = QStringLiteral("test");
    r.weight = w.data();
    r.rows = rows;
    r.cols = cols;
    r.spec = QuantSpec::fromShortName(scheme);
    const QuantizedTensor q = quantizeWeight(r);
    const FakeQuantGrid g = FakeQuantGrid::of(q, QStringLiteral("test"));
    std::vector<float> wq(w.size());
    fakeQuantForward(g, w.data(), q.scales.data(), q.zeros.data(), nullptr, wq.data());
    QCOMPARE(wq, q.dequantize());
    QCOMPARE(fakeQuantCodes(g, w.data(), q.scales.data(), q.zeros.data(), nullptr), q.unpackedCodes());
}

void TrainTest::fakeQuantGradientsMatchSurrogate_data()
{
    QTest::addColumn<int>("bits");
    QTest::addColumn<bool>("symmetric");
    QTest::addColumn<bool>("integerZeros");
    QTest::addColumn<int>("groupsPerRow");
    QTest::newRow("int3 g8 integer zeros") << 3 << false << true << 3;
    QTest::newRow("int3 g8 real zeros") << 3 << false << false << 3;
    QTest::newRow("int4 symmetric channel") << 4 << true << true << 1;
    QTest::newRow("int2 per tensor") << 2 << false << true << 0;
}

// Each gradient against central differences of the surrogate the estimator differentiates: every
// round(x) replaced by x + (round(x₀) − x₀) frozen at the point, the clamp kept. Written here in f64,
// apart from the code under test; a third of the weights lie outside the grid (clamped).
void TrainTest::fakeQuantGradientsMatchSurrogate()
{
    QFETCH(int, bits);
    QFETCH(bool, symmetric);
    QFETCH(bool, integerZeros);
    QFETCH(int, groupsPerRow);
    FakeQuantGrid g;
    g.bits = bits;
    g.symmetric = symmetric;
    g.integerZeros = integerZeros;
    g.rows = 3;
    g.cols = 24;
    g.groupsPerRow = groupsPerRow;
    g.groupOfColumn.resize(24);
    for (int c = 0; c < 24; ++c) // a scrambled group map, as act-order leaves it
        g.groupOfColumn[std::size_t(c)] = groupsPerRow ? (c * 7) % groupsPerRow : 0;
    const std::size_t n = 72, ns = std::size_t(g.scaleCount());
    std::vector<float> s(ns), z(ns), w = gaussian(n, 3), v = gaussian(n, 4), dwq = gaussian(n, 5);
    const int qmax = g.qmax();
    for (std::size_t k = 0; k < ns; ++k) {
        s[k] = 0.35f + 0.05f * float(k % 5);
        z[k] = symmetric ? float(1 << (bits - 1))
                         : float(qmax) / 2 + (integerZeros ? 0.3f : 0.1f) * float(k % 3);
    }
    // Each weight gets a code: a third far outside the grid (clamped), the rest strictly inside (the
    // ends are kinks of the surrogate, where central differences average two slopes), and a fraction
    // at least 0.05 from a rounding boundary, so the f64 steps never cross one.
    test::SplitMix rng{9};
    for (std::size_t i = 0; i < n; ++i) {
        v[i] = std::clamp(0.2f * v[i], -0.45f, 0.45f);
        const std::int64_t si = g.scaleIndex(std::int64_t(i) / 24, std::int64_t(i) % 24);
        const double zq =
            integerZeros ? std::nearbyint(double(z[std::size_t(si)])) : double(z[std::size_t(si)]);
        const int code =
            rng.below(3) == 0 ? (rng.below(2) ? qmax + 2 : -2) : 1 + int(rng.below(std::size_t(qmax - 1)));
        const double frac = double(rng.below(801)) / 1000.0 - 0.4;
        w[i] = float((double(code) - zq + frac - double(v[i])) * double(s[std::size_t(si)]));
    }
    auto surrogate = [&](const std::vector<double>& W, const std::vector<double>& S,
                         const std::vector<double>& Z, const std::vector<double>& Vv) {
        double total = 0;
        for (std::size_t i = 0; i < n; ++i) {
            const std::int64_t si = g.scaleIndex(std::int64_t(i) / 24, std::int64_t(i) % 24);
            const double x0 = double(w[i]) / double(s[std::size_t(si)]) + double(v[i]) +
                              (integerZeros ? 0.0 : double(z[std::size_t(si)]));
            const double z0 = double(z[std::size_t(si)]);
            const double zq =
                integerZeros ? Z[std::size_t(si)] + (std::nearbyint(z0) - z0) : Z[std::size_t(si)];
            const double x = W[i] / S[std::size_t(si)] + Vv[i] + (integerZeros ? 0.0 : Z[std::size_t(si)]);
            const double rounded = x + (std::nearbyint(x0) - x0);
            const double code = std::clamp(integerZeros ? rounded + zq : rounded, 0.0, double(qmax));
            total += double(dwq[i]) * (code - zq) * S[std::size_t(si)];
        }
        return total;
    };
    const std::vector<double> W(w.begin(), w.end()), S(s.begin(), s.end()), Z(z.begin(), z.end()),
        Vv(v.begin(), v.end());
    std::vector<float> dw(n, 0.0f), ds(ns, 0.0f), dz(ns, 0.0f), dv(n, 0.0f);
    fakeQuantBackward(g, w.data(), s.data(), z.data(), v.data(), dwq.data(), dw.data(), ds.data(), dz.data(),
                      dv.data());
    int clamped = 0;
    for (std::size_t i = 0; i < n; ++i)
        clamped += dw[i] == 0.0f;
    QVERIFY2(clamped >= 6, qPrintable(QStringLiteral("%1 clamped weights").arg(clamped)));
    const double h = 1e-6;
    auto check = [&](const char* what, std::vector<double> base, const std::vector<float>& analytic,
                     int which) {
        for (std::size_t i = 0; i < base.size(); ++i) {
            std::vector<double> plus = base, minus = base;
            plus[i] += h;
            minus[i] -= h;
            auto eval = [&](const std::vector<double>& p) {
                return surrogate(which == 0 ? p : W, which == 1 ? p : S, which == 2 ? p : Z,
                                 which == 3 ? p : Vv);
            };
            const double fd = (eval(plus) - eval(minus)) / (2 * h);
            const double want = (which == 2 && symmetric) ? 0.0 : fd; // a symmetric grid's zero is fixed
            QVERIFY2(std::abs(double(analytic[i]) - want) <= 1e-4 * (1 + std::abs(want)),
                     qPrintable(QStringLiteral("%1[%2]: %3 vs surrogate %4")
                                    .arg(QLatin1String(what))
                                    .arg(i)
                                    .arg(double(analytic[i]))
                                    .arg(want)));
        }
    };
    check("dw", W, dw, 0);
    check("ds", S, ds, 1);
    check("dz", Z, dz, 2);
    check("dv", Vv, dv, 3);
}

void TrainTest::lossMatchesTransformer_data()
{
    QTest::addColumn<QString>("model");
    QTest::addColumn<QString>("scheme");
    QTest::newRow("stories260K f32") << QStringLiteral("stories260K") << QString();
    QTest::newRow("stories260K rtn int4 g32")
        << QStringLiteral("stories260K") << QStringLiteral("rtn-w4-g32");
    QTest::newRow("stories260K hqq int3 g16")
        << QStringLiteral("stories260K") << QStringLiteral("hqq-w3-g16");
    QTest::newRow("stories260K squeezellm int3 + sparse")
        << QStringLiteral("stories260K") << QStringLiteral("squeezellm-w3-ch-sp0.5");
    QTest::newRow("stories260K quip# int2 (rotated)")
        << QStringLiteral("stories260K") << QStringLiteral("quipsharp-w2");
    QTest::newRow("stories260K aqlm 2x8") << QStringLiteral("stories260K") << QStringLiteral("aqlm-w2-2x8");
    QTest::newRow("qwen2 (biases)") << QStringLiteral("qwen2") << QString();
    QTest::newRow("qwen3 (q/k norms)") << QStringLiteral("qwen3") << QString();
    QTest::newRow("mistral (window 5)") << QStringLiteral("mistral") << QString();
}

// The training forward is the inference forward: the same mean cross-entropy as Transformer::forward's
// logits give, for float and fake-quantized layers and every architecture feature.
void TrainTest::lossMatchesTransformer()
{
    QFETCH(QString, model);
    QFETCH(QString, scheme);
    const std::unique_ptr<Transformer> loaded = openModel(model, scheme);
    if (!loaded)
        QSKIP(qPrintable(test::skipMessage(model)));
    const Transformer& t = *loaded;
    const int n = 40, batch = 2, V = t.vocabSize();
    const std::vector<int> tokens = randomTokens(n * batch, V, 5);
    double want = 0;
    for (int b = 0; b < batch; ++b) {
        KvCache cache = t.makeCache(n);
        std::vector<float> logits(std::size_t(n) * std::size_t(V));
        t.forward(cache, tokens.data() + b * n, n, logits.data());
        for (int i = 0; i + 1 < n; ++i) {
            const float* row = logits.data() + std::size_t(i) * std::size_t(V);
            double mx = row[0], sum = 0;
            for (int j = 0; j < V; ++j)
                mx = std::max(mx, double(row[j]));
            for (int j = 0; j < V; ++j)
                sum += std::exp(double(row[j]) - mx);
            want += mx + std::log(sum) - double(row[tokens[std::size_t(b * n + i + 1)]]);
        }
    }
    want /= double(batch * (n - 1));
    TrainModel m(t, TrainableSet{});
    const double got = m.loss(tokens.data(), batch, n, false);
    QVERIFY2(std::abs(got - want) <= 2e-6 * want,
             qPrintable(QStringLiteral("loss %1, inference %2").arg(got).arg(want)));
}

void TrainTest::gradientsMatchFiniteDifferences_data()
{
    QTest::addColumn<QString>("model");
    QTest::addColumn<int>("kind");
    const auto k = [](ParamKind p) { return int(p); };
    QTest::newRow("stories260K embedding (tied head)")
        << QStringLiteral("stories260K") << k(ParamKind::Embedding);
    QTest::newRow("stories260K norms") << QStringLiteral("stories260K") << k(ParamKind::Norm);
    QTest::newRow("stories260K weights") << QStringLiteral("stories260K") << k(ParamKind::Weight);
    QTest::newRow("qwen2 biases") << QStringLiteral("qwen2") << k(ParamKind::Bias);
    QTest::newRow("qwen2 weights") << QStringLiteral("qwen2") << k(ParamKind::Weight);
    QTest::newRow("qwen3 norms (q/k norms)") << QStringLiteral("qwen3") << k(ParamKind::Norm);
    QTest::newRow("qwen3 weights") << QStringLiteral("qwen3") << k(ParamKind::Weight);
    QTest::newRow("mistral weights (window 5)") << QStringLiteral("mistral") << k(ParamKind::Weight);
    QTest::newRow("llama untied head embedding") << QStringLiteral("llama") << k(ParamKind::Embedding);
    // Table layers (codes fixed): smooth in their tables, checked like float parameters.
    QTest::newRow("squeezellm int3 + sparse: codebooks and sparse values")
        << QStringLiteral("stories260K:squeezellm-w3-ch-sp0.5") << k(ParamKind::Codebook);
    QTest::newRow("quip# int2 (rotated): row scales")
        << QStringLiteral("stories260K:quipsharp-w2") << k(ParamKind::Scale);
    QTest::newRow("aqlm 2x8: codebooks")
        << QStringLiteral("stories260K:aqlm-w2-2x8") << k(ParamKind::Codebook);
    QTest::newRow("aqlm 2x8: row scales") << QStringLiteral("stories260K:aqlm-w2-2x8") << k(ParamKind::Scale);
}

// Float parameters: the directional derivative along a random direction of all of a kind's tensors,
// central differences of the f32 loss against Σ grad·direction, relative error ≤ 1e-3.
void TrainTest::gradientsMatchFiniteDifferences()
{
    QFETCH(QString, model);
    QFETCH(int, kind);
    const QString scheme = model.section(u':', 1); // "model:scheme": every linear quantized so
    model = model.section(u':', 0, 0);
    const std::unique_ptr<Transformer> loaded = openModel(model, scheme);
    if (!loaded)
        QSKIP(qPrintable(test::skipMessage(model)));
    const Transformer& t = *loaded;
    TrainModel m(t, TrainableSet::all());
    const int n = 24, batch = 2;
    const std::vector<int> tokens = randomTokens(n * batch, t.vocabSize(), 9);
    m.zeroGrad();
    m.loss(tokens.data(), batch, n, true);
    Direction dir(m, ParamKind(kind), 100, [](const TrainParam& p) { // each tensor's rms
        double ss = 0;
        for (float v : p.value)
            ss += double(v) * double(v);
        const float rms = float(std::sqrt(ss / double(p.value.size())));
        return rms > 0 ? rms : 1.0f;
    });
    QVERIFY(!dir.params.empty());
    const double analytic = dir.analytic();
    auto lossAt = [&](double eps) {
        dir.moveTo(eps);
        return m.loss(tokens.data(), batch, n, false);
    };
    const double fd = richardson(lossAt, 1e-3);
    lossAt(0);
    const double rel = std::abs(fd - analytic) / std::abs(analytic);
    qInfo("%s: analytic %.8g, finite difference %.8g, relative error %.2e",
          qPrintable(paramKindName(ParamKind(kind))), analytic, fd, rel);
    QVERIFY(std::abs(analytic) > 1e-6);
    QVERIFY2(rel <= 1e-3, qPrintable(QStringLiteral("relative error %1").arg(rel)));
}

void TrainTest::quantizedPathsKeepCodes_data()
{
    QTest::addColumn<QString>("scheme");
    QTest::addColumn<int>("kind");
    QTest::newRow("rtn int4 g32: scales") << QStringLiteral("rtn-w4-g32") << int(ParamKind::Scale);
    QTest::newRow("rtn int3 channel sym: scales") << QStringLiteral("rtn-w3-ch-sym") << int(ParamKind::Scale);
    QTest::newRow("hqq int3 g16: scales") << QStringLiteral("hqq-w3-g16") << int(ParamKind::Scale);
    QTest::newRow("hqq int3 g16: real zeros") << QStringLiteral("hqq-w3-g16") << int(ParamKind::Zero);
    QTest::newRow("rtn int4 g32: rounding") << QStringLiteral("rtn-w4-g32") << int(ParamKind::Rounding);
}

// Fake-quantized layers: rounding makes the loss piecewise constant in the latent weights, so the check
// moves along paths on which no code changes and the loss is smooth (latent weights set off the grid
// points by up to 0.3 of a step, a tenth of them beyond the grid's ends, so the clamp is exercised):
//   scales: s·(1 + εδ) with w·(1 + εδ) — ŵ moves by (q − z)·s·εδ;
//   real zeros: z + εδ with w − εδ·s — ŵ moves by −s·εδ;
//   rounding: v + εδ with w − εδ·s — ŵ does not move, so grad_v·δ must cancel grad_w·s·δ.
void TrainTest::quantizedPathsKeepCodes()
{
    QFETCH(QString, scheme);
    QFETCH(int, kind);
    QS_REQUIRE_DATA(path, "stories260K");
    Transformer t(Model::open(path));
    quantizeAll(t, scheme);
    TrainableSet set;
    set.rounding = ParamKind(kind) == ParamKind::Rounding;
    TrainModel m(t, set);
    test::SplitMix rng{21};
    for (const TrainModel::Linear& l : m.linears()) {
        if (!l.grid)
            continue;
        for (std::int64_t r = 0; r < l.out; ++r)
            for (std::int64_t c = 0; c < l.in; ++c) {
                const std::int64_t i = r * l.in + c;
                const float s = l.scale->value[std::size_t(l.grid->scaleIndex(r, c))];
                const double u = double(rng.below(601)) / 1000.0 - 0.3;
                const double out =
                    rng.below(10) == 0 ? (rng.below(2) ? 2.5 : -2.5) * double(l.grid->qmax()) : 0.0;
                l.weight->value[std::size_t(i)] += float((u + out) * double(s));
            }
    }
    const int n = 24, batch = 2;
    const std::vector<int> tokens = randomTokens(n * batch, t.vocabSize(), 13);
    m.zeroGrad();
    m.loss(tokens.data(), batch, n, true);

    struct Move
    {
        TrainParam* p;
        std::vector<float> base;
        std::vector<float> step; // value = base + eps·step
    };
    std::vector<Move> moves;
    double analytic = 0, magnitude = 0;
    std::uint64_t seed = 300;
    for (const TrainModel::Linear& l : m.linears()) {
        if (!l.grid)
            continue;
        TrainParam* moved = ParamKind(kind) == ParamKind::Scale  ? l.scale
                            : ParamKind(kind) == ParamKind::Zero ? l.zero
                                                                 : l.rounding;
        QVERIFY(moved && moved->trainable);
        std::vector<float> delta = gaussian(moved->value.size(), seed++);
        if (ParamKind(kind) != ParamKind::Rounding) { // signs follow each group's path derivative
            std::vector<double> slope(delta.size());
            for (std::size_t k = 0; k < delta.size(); ++k)
                slope[k] = double(moved->grad[k]) *
                           (ParamKind(kind) == ParamKind::Scale ? double(moved->value[k]) : 1.0);
            for (std::int64_t r = 0; r < l.out; ++r)
                for (std::int64_t c = 0; c < l.in; ++c) {
                    const std::size_t i = std::size_t(r * l.in + c),
                                      si = std::size_t(l.grid->scaleIndex(r, c));
                    slope[si] += double(l.weight->grad[i]) * (ParamKind(kind) == ParamKind::Scale
                                                                  ? double(l.weight->value[i])
                                                                  : -double(l.scale->value[si]));
                }
            for (std::size_t k = 0; k < delta.size(); ++k)
                delta[k] = float(std::copysign(double(delta[k]), slope[k]));
        }
        Move a{moved, moved->value, std::vector<float>(moved->value.size())};
        Move w{l.weight, l.weight->value, std::vector<float>(l.weight->value.size())};
        for (std::size_t k = 0; k < delta.size(); ++k) {
            a.step[k] = ParamKind(kind) == ParamKind::Scale ? delta[k] * moved->value[k] : delta[k];
            analytic += double(moved->grad[k]) * double(a.step[k]);
            magnitude += std::abs(double(moved->grad[k]) * double(a.step[k]));
        }
        for (std::int64_t r = 0; r < l.out; ++r)
            for (std::int64_t c = 0; c < l.in; ++c) {
                const std::size_t i = std::size_t(r * l.in + c);
                const std::size_t si = std::size_t(l.grid->scaleIndex(r, c));
                const float s = l.scale->value[si];
                const float d = ParamKind(kind) == ParamKind::Rounding ? delta[i] : delta[si];
                w.step[i] = ParamKind(kind) == ParamKind::Scale ? d * l.weight->value[i] : -d * s;
                analytic += double(l.weight->grad[i]) * double(w.step[i]);
            }
        moves.push_back(std::move(a));
        moves.push_back(std::move(w));
    }
    auto lossAt = [&](double eps) {
        for (Move& mv : moves)
            for (std::size_t i = 0; i < mv.base.size(); ++i)
                mv.p->value[i] = float(double(mv.base[i]) + eps * double(mv.step[i]));
        return m.loss(tokens.data(), batch, n, false);
    };
    // The steps move whole groups' scales by ~εδ of their value: the loss curves fast along them, so
    // a smaller step than for float parameters (h = 1e-3 is off by up to 0.8 % here, 1e-4 by < 1e-4).
    const double fd = richardson(lossAt, 1e-4);
    qInfo("%s: analytic %.8g, finite difference %.8g (Σ|grad·step| of the kind %.4g)",
          qPrintable(paramKindName(ParamKind(kind))), analytic, fd, magnitude);
    QVERIFY(magnitude > 1e-6);
    if (ParamKind(kind) == ParamKind::Rounding) {
        QVERIFY2(std::abs(analytic) <= 1e-4 * magnitude, "grad_v·δ does not cancel grad_w·s·δ");
        QVERIFY2(std::abs(fd) <= 1e-4 * magnitude, "the path moved the loss");
    } else {
        QVERIFY2(std::abs(fd - analytic) <= 1e-3 * std::abs(analytic),
                 qPrintable(
                     QStringLiteral("relative error %1").arg(std::abs(fd - analytic) / std::abs(analytic))));
    }
}

// Losses and every gradient are the same bits on one thread and on two, on a model large enough that
// the products, norms and attention split over threads.
void TrainTest::sameBitsForAnyThreadCount()
{
    QTemporaryDir dir;
    const QString path = writeModel(dir, QStringLiteral("qwen2"), 256, 2);
    Transformer t(Model::open(path));
    quantizeAll(t, QStringLiteral("rtn-w4-g64"));
    const std::vector<int> tokens = randomTokens(4 * 96, t.vocabSize(), 17);
    auto run = [&](int threads, std::vector<std::vector<float>>& grads) {
        setComputeThreads(threads);
        TrainableSet set = TrainableSet::all();
        TrainModel m(t, set);
        m.zeroGrad();
        const double loss = m.loss(tokens.data(), 4, 96, true);
        for (const TrainParam& p : m.params())
            grads.push_back(p.grad);
        return loss;
    };
    std::vector<std::vector<float>> one, two;
    const double l1 = run(1, one), l2 = run(2, two);
    setComputeThreads(0);
    QCOMPARE(l1, l2);
    QCOMPARE(one.size(), two.size());
    for (std::size_t k = 0; k < one.size(); ++k)
        QVERIFY2(one[k] == two[k], qPrintable(QStringLiteral("parameter %1 differs").arg(k)));
}

void TrainTest::refusesWhatItCannotTrain()
{
    QS_REQUIRE_DATA(path, "stories260K");
    Transformer t(Model::open(path));
    {
        Transformer q(Model::open(path));
        quantizeAll(q, QStringLiteral("rtn-w4-g32-had"));
        QS_VERIFY_ERROR(test::errorOf([&] { TrainModel m(q, TrainableSet{}); }),
                        {QStringLiteral("model.layers.0.self_attn.q_proj"), QStringLiteral("rotation")});
    }
    TrainModel m(t, TrainableSet{});
    const std::vector<int> one{5};
    QS_VERIFY_ERROR(test::errorOf([&] { m.loss(one.data(), 1, 1, false); }),
                    {QStringLiteral("at least 2 tokens")});
    const std::vector<int> bad{5, 100000};
    QS_VERIFY_ERROR(test::errorOf([&] { m.loss(bad.data(), 1, 2, false); }),
                    {QStringLiteral("100000"), QStringLiteral("vocabulary")});
}

// The schedule warms up linearly, peaks, and ends at the floor; AdamW's first step moves each parameter
// by the learning rate against its gradient's sign; the state round-trips; bad settings are refused.
void TrainTest::optimizerSchedule()
{
    OptimizerSettings s;
    s.learningRate = 0.01;
    s.steps = 11;
    s.warmupSteps = 2;
    s.minLearningRateRatio = 0.1;
    QCOMPARE(s.learningRateAt(0), 0.005);
    QCOMPARE(s.learningRateAt(1), 0.01);
    QCOMPARE(s.learningRateAt(2), 0.01);
    QVERIFY(std::abs(s.learningRateAt(10) - 0.001) < 1e-12);
    QVERIFY(s.learningRateAt(6) < 0.01 && s.learningRateAt(6) > 0.001);
    std::deque<TrainParam> params(1);
    params[0].kind = ParamKind::Scale;
    params[0].value = {1.0f, 2.0f, 3.0f};
    params[0].grad = {0.5f, -2.0f, 0.0f};
    Optimizer opt(s);
    opt.step(params);
    QVERIFY(std::abs(params[0].value[0] - (1.0f - 0.005f)) < 1e-6f);
    QVERIFY(std::abs(params[0].value[1] - (2.0f + 0.005f)) < 1e-6f);
    QCOMPARE(params[0].value[2], 3.0f);
    Optimizer copy(s);
    copy.restore(opt.save(), params);
    QCOMPARE(copy.stepsTaken(), 1);
    QCOMPARE(copy.save(), opt.save());
    std::deque<TrainParam> other(2);
    QS_VERIFY_ERROR(test::errorOf([&] { copy.restore(opt.save(), other); }),
                    {QStringLiteral("optimiser state")});
    s.learningRate = 0;
    QS_VERIFY_ERROR(test::errorOf([&] { Optimizer o(s); }), {QStringLiteral("learning rate")});
    s.learningRate = 1e-3;
    s.warmupSteps = 11;
    QS_VERIFY_ERROR(test::errorOf([&] { Optimizer o(s); }), {QStringLiteral("warm-up")});
    params[0].grad[0] = std::numeric_limits<float>::quiet_NaN();
    s.warmupSteps = 0;
    Optimizer o(s);
    const std::vector<float> before = params[0].value;
    QS_VERIFY_ERROR(test::errorOf([&] { o.step(params); }), {QStringLiteral("not finite")});
    QCOMPARE(params[0].value, before);
}

// QAT end to end on stories260K RTN int2: the loss it optimises falls, the best step is kept, the saved
// checkpoint reloads as the same format (codes, f16 scales) and computes the trained loss.
void TrainTest::trainJobLearnsSavesAndReloads()
{
    const QString q = quantizedStories();
    if (q.isEmpty())
        QSKIP("stories260K or WikiText-2 missing");
    TrainJobParams p = jobParams(q);
    p.outDir = m_dir.filePath(QStringLiteral("trained"));
    std::vector<TrainingPoint> seen;
    const TrainJobResult r = runTrainJob(p, {}, [&](const TrainingPoint& pt) { seen.push_back(pt); });
    QCOMPARE(r.training.steps, 30);
    QCOMPARE(int(seen.size()), 31); // the start and every step
    QCOMPARE(seen.front().step, 0);
    QVERIFY(r.training.startHeldOut > 0);
    QVERIFY2(r.training.bestHeldOut < 0.97 * r.training.startHeldOut,
             qPrintable(QStringLiteral("%1 → %2").arg(r.training.startHeldOut).arg(r.training.bestHeldOut)));
    QVERIFY(r.trainableParameters > 0);
    QCOMPARE(r.checkpoint, p.outDir);
    const auto reloaded = Model::open(p.outDir);
    QVERIFY(reloaded->isQuantized());
    QCOMPARE(reloaded->quantizationInfo()
                 .value(QStringLiteral("training"))
                 .toObject()
                 .value(QStringLiteral("steps"))
                 .toInt(),
             30);
    const Transformer t(reloaded);
    for (int i = 0; i < int(reloaded->linears().size()); ++i)
        QCOMPARE(t.linear(i).describe(), Transformer(p.model).linear(i).describe());
    // The saved model's loss on the same windows: the trained one, up to the f16 rounding of the scales.
    TrainJobParams scoring = jobParams(p.outDir);
    scoring.training.optimizer.steps = 1;
    scoring.training.optimizer.warmupSteps = 0;
    scoring.training.optimizer.learningRate = 1e-12;
    scoring.training.keepBest = false;
    const TrainJobResult check = runTrainJob(scoring);
    QVERIFY2(std::abs(check.training.startHeldOut - r.training.bestHeldOut) < 0.01 * r.training.bestHeldOut,
             qPrintable(QStringLiteral("saved %1, trained %2")
                            .arg(check.training.startHeldOut)
                            .arg(r.training.bestHeldOut)));
}

// A run that stops at step 10 with a checkpoint and a second run to 20 continue one training: the second
// starts at step 10 with the first one's parameters and optimiser state, and a resumed run ends where an
// uninterrupted one ends.
void TrainTest::trainJobResumesFromCheckpoint()
{
    const QString q = quantizedStories();
    if (q.isEmpty())
        QSKIP("stories260K or WikiText-2 missing");
    TrainJobParams p = jobParams(q);
    p.training.keepBest = false;
    p.training.optimizer.steps = 20;
    const TrainJobResult straight = runTrainJob(p);

    const QString state = m_dir.filePath(QStringLiteral("resume.qstrain"));
    p.training.checkpointPath = state;
    p.training.checkpointEvery = 5;
    JobContext job;
    const auto stopAt10 = [&](const TrainingPoint& pt) {
        if (pt.step == 10)
            job.cancel->cancel();
    };
    QVERIFY_THROWS_EXCEPTION(Cancelled, runTrainJob(p, job, stopAt10));
    QVERIFY(QFile::exists(state));
    std::vector<int> seen;
    const TrainJobResult resumed =
        runTrainJob(p, {}, [&](const TrainingPoint& pt) { seen.push_back(pt.step); });
    QCOMPARE(resumed.training.resumedFrom, 10);
    QCOMPARE(resumed.training.steps, 20);
    // The whole curve, the first part from the checkpoint: the start and every step once, in order.
    QCOMPARE(int(seen.size()), 21);
    for (int i = 0; i < 21; ++i)
        QCOMPARE(seen[std::size_t(i)], i);
    QCOMPARE(resumed.training.startHeldOut, straight.training.startHeldOut);
    QCOMPARE(resumed.training.curve.back().heldOut, straight.training.curve.back().heldOut);

    // Keeping the best step: the best of the whole run, also when it lies in the first part.
    p.training.keepBest = true;
    p.training.checkpointPath.clear();
    p.outDir = m_dir.filePath(QStringLiteral("best-straight"));
    const TrainJobResult bestStraight = runTrainJob(p);
    QFile::remove(state);
    p.training.checkpointPath = state;
    p.outDir = m_dir.filePath(QStringLiteral("best-resumed"));
    JobContext again;
    QVERIFY_THROWS_EXCEPTION(Cancelled, runTrainJob(p, again, [&](const TrainingPoint& pt) {
                                 if (pt.step == 10)
                                     again.cancel->cancel();
                             }));
    const TrainJobResult bestResumed = runTrainJob(p);
    QCOMPARE(bestResumed.training.bestStep, bestStraight.training.bestStep);
    QCOMPARE(bestResumed.training.bestHeldOut, bestStraight.training.bestHeldOut);
    QCOMPARE(bestResumed.heldOutAfter, bestStraight.heldOutAfter);
    QVERIFY(QFile::exists(QDir(p.outDir).filePath(QStringLiteral("run.json"))));
    // The finished checkpoint stays: the same command again takes no step and saves the same result.
    const TrainJobResult rerun = runTrainJob(p);
    QCOMPARE(rerun.training.resumedFrom, 20);
    QCOMPARE(rerun.heldOutAfter, bestStraight.heldOutAfter);
    // Scored on another held-out set, the saved losses compare with nothing: the history starts afresh
    // at the resumed step.
    p.heldOut.samples = 4;
    std::vector<int> fresh;
    const TrainJobResult other =
        runTrainJob(p, {}, [&](const TrainingPoint& pt) { fresh.push_back(pt.step); });
    QCOMPARE(fresh, std::vector<int>{20});
    QCOMPARE(other.training.bestStep, 20);
    p.heldOut.samples = p.calibration.samples;
    p.training.keepBest = false;
    // A checkpoint of other parameters is refused, naming the file.
    p.trainable.rounding = true;
    QS_VERIFY_ERROR(test::errorOf([&] { runTrainJob(p); }), {state, QStringLiteral("trainable tensors")});
}

void TrainTest::trainJobCancelWritesNothing()
{
    const QString q = quantizedStories();
    if (q.isEmpty())
        QSKIP("stories260K or WikiText-2 missing");
    TrainJobParams p = jobParams(q);
    p.outDir = m_dir.filePath(QStringLiteral("cancelled"));
    JobContext job;
    QVERIFY_THROWS_EXCEPTION(Cancelled, runTrainJob(p, job, [&](const TrainingPoint& pt) {
                                 if (pt.step == 3)
                                     job.cancel->cancel();
                             }));
    QVERIFY(!QFileInfo::exists(p.outDir));
    QVERIFY(QFileInfo::exists(q + QStringLiteral("/model.safetensors")));
}

// A loss that is not finite stops the run before the step is taken: the parameters stay as they were
// and the reason names the step.
void TrainTest::divergenceStopsAndKeepsParameters()
{
    QS_REQUIRE_DATA(path, "stories260K");
    const Transformer t(Model::open(path));
    TrainableSet floatWeights;
    floatWeights.floatWeights = true;
    TrainModel m(t, floatWeights);
    TrainParam* w = nullptr;
    for (TrainParam& p : m.params())
        if (p.kind == ParamKind::Weight && p.trainable && !w)
            w = &p;
    QVERIFY(w);
    w->value[3] = std::numeric_limits<float>::infinity();
    const std::vector<float> before = w->value;
    TrainingSettings s;
    s.optimizer.steps = 5;
    const std::vector<std::vector<int>> windows{randomTokens(16, t.vocabSize(), 1)};
    const TrainingResult r = trainModel(m, windows, {}, s);
    QCOMPARE(r.steps, 0);
    QVERIFY(r.diverged);
    QVERIFY2(r.stopReason.contains(QStringLiteral("step 1")) &&
                 r.stopReason.contains(QStringLiteral("diverged")),
             qPrintable(r.stopReason));
    QCOMPARE(w->value, before);
}

void TrainTest::trainJobRefusesBadInput()
{
    const QString q = quantizedStories();
    if (q.isEmpty())
        QSKIP("stories260K or WikiText-2 missing");
    TrainJobParams p = jobParams(q);
    p.training.optimizer.steps = 0;
    QS_VERIFY_ERROR(test::errorOf([&] { runTrainJob(p); }), {QStringLiteral("steps 0")});
    p = jobParams(q);
    p.model = Model::open(test::dataPath(QStringLiteral("stories260K")));
    QS_VERIFY_ERROR(test::errorOf([&] { runTrainJob(p); }), {QStringLiteral("quantized model")});
    p = jobParams(q);
    p.calibration.text = m_dir.filePath(QStringLiteral("missing.txt"));
    QS_VERIFY_ERROR(test::errorOf([&] { runTrainJob(p); }), {QStringLiteral("missing.txt")});
    p = jobParams(q);
    qputenv("QUANTSCOPE_MEMORY_LIMIT", "1M");
    const QString msg = test::errorOf([&] { runTrainJob(p); });
    qunsetenv("QUANTSCOPE_MEMORY_LIMIT");
    QS_VERIFY_ERROR(msg, {QStringLiteral("training"), QStringLiteral("gradients and optimiser moments")});
    // The command line: a bad learning rate, an unknown kind to train.
    const test::CliResult bad =
        test::runCli({QStringLiteral("train"), q, QStringLiteral("--calib"), p.calibration.text,
                      QStringLiteral("--lr"), QStringLiteral("-1")});
    QCOMPARE(bad.exitCode, 1);
    QVERIFY2(bad.err.contains("learning rate"), bad.err.constData());
    const test::CliResult kind =
        test::runCli({QStringLiteral("train"), q, QStringLiteral("--calib"), p.calibration.text,
                      QStringLiteral("--train"), QStringLiteral("biases")});
    QCOMPARE(kind.exitCode, 1);
    QVERIFY2(kind.err.contains("biases"), kind.err.constData());

    // A KLD base of another text is refused before any step, not after the training.
    const QString shortText = m_dir.filePath(QStringLiteral("short.txt"));
    QVERIFY(test::writeFile(shortText, readTextFile(p.calibration.text).left(20000)));
    EvaluationParams made;
    made.textPath = shortText;
    made.perplexity.ctx = 64;
    made.saveBasePath = m_dir.filePath(QStringLiteral("short.qskld"));
    made.speedPrefillTokens = made.speedDecodeTokens = 0;
    const auto floatModel = Model::open(test::dataPath(QStringLiteral("stories260K")));
    runEvaluation(Transformer(floatModel), *Tokenizer::load(floatModel->path()), made);
    p = jobParams(q);
    p.outDir = m_dir.filePath(QStringLiteral("not-written"));
    p.evaluation.textPath = p.calibration.text;
    p.evaluation.perplexity.ctx = 64;
    p.evaluation.kldBasePath = made.saveBasePath;
    int steps = 0;
    QS_VERIFY_ERROR(test::errorOf([&] { runTrainJob(p, {}, [&](const TrainingPoint&) { ++steps; }); }),
                    {made.saveBasePath, QStringLiteral("another text")});
    QCOMPARE(steps, 0);
    QVERIFY(!QFileInfo::exists(p.outDir));
}

// The distillation loss is KL(teacher ‖ model) as eval's KLD defines it: zero against the model itself,
// positive against another; its gradients match finite differences like the cross-entropy's.
void TrainTest::distillationLossAndGradients()
{
    QS_REQUIRE_DATA(path, "stories260K");
    const Transformer t(Model::open(path));
    Transformer q(Model::open(path));
    quantizeAll(q, QStringLiteral("rtn-w3-g32"));
    TrainableSet floatWeights;
    floatWeights.floatWeights = true;
    TrainModel student(t, floatWeights), self(t, TrainableSet{}), teacher(q, TrainableSet{});
    const int n = 24, batch = 2;
    const std::vector<int> tokens = randomTokens(n * batch, t.vocabSize(), 31);
    const std::vector<float> own = self.logits(tokens.data(), batch, n),
                             other = teacher.logits(tokens.data(), batch, n);
    QVERIFY(std::abs(student.loss(tokens.data(), batch, n, false, own.data())) < 1e-9);
    student.zeroGrad();
    const double kl = student.loss(tokens.data(), batch, n, true, other.data());
    QVERIFY(kl > 1e-3);
    // The same mean over positions as a direct sum of p·(log p − log q) from the two models' logits.
    const std::vector<float> mine = student.logits(tokens.data(), batch, n);
    const int V = t.vocabSize();
    double want = 0;
    for (int r = 0; r < batch * n; ++r) {
        if (r % n == n - 1)
            continue;
        auto logSoftmax = [&](const float* row, int j) {
            double mx = row[0], sum = 0;
            for (int k = 0; k < V; ++k)
                mx = std::max(mx, double(row[k]));
            for (int k = 0; k < V; ++k)
                sum += std::exp(double(row[k]) - mx);
            return double(row[j]) - mx - std::log(sum);
        };
        for (int j = 0; j < V; ++j) {
            const double lp = logSoftmax(other.data() + std::size_t(r) * V, j);
            want += std::exp(lp) * (lp - logSoftmax(mine.data() + std::size_t(r) * V, j));
        }
    }
    want /= double(batch * (n - 1));
    QVERIFY2(std::abs(kl - want) < 1e-6 * want + 1e-9,
             qPrintable(QStringLiteral("%1 vs %2").arg(kl).arg(want)));
    Direction dir(student, ParamKind::Weight, 500, [](const TrainParam&) { return 0.05f; });
    const double analytic = dir.analytic();
    const double fd = richardson(
        [&](double eps) {
            dir.moveTo(eps);
            return student.loss(tokens.data(), batch, n, false, other.data());
        },
        1e-3);
    qInfo("distillation: analytic %.8g, finite difference %.8g", analytic, fd);
    QVERIFY2(std::abs(fd - analytic) <= 1e-3 * std::abs(analytic),
             qPrintable(QStringLiteral("%1 vs %2").arg(fd).arg(analytic)));
}

// QAT by distillation: the held-out KL divergence from the float model (the score the run keeps the best
// of) falls; without the float model the objective is refused.
void TrainTest::distillationJobLowersKld()
{
    const QString q = quantizedStories();
    if (q.isEmpty())
        QSKIP("stories260K or WikiText-2 missing");
    TrainJobParams p = jobParams(q);
    p.distill = true;
    QS_VERIFY_ERROR(test::errorOf([&] { runTrainJob(p); }),
                    {QStringLiteral("distillation"), QStringLiteral("float model")});
    p.floatModel = Model::open(test::dataPath(QStringLiteral("stories260K")));
    p.training.optimizer.steps = 20;
    const TrainJobResult r = runTrainJob(p);
    qInfo("held-out KL divergence %.5f -> %.5f", r.heldOutBefore, r.heldOutAfter);
    QVERIFY(r.heldOutBefore > 0);
    QVERIFY2(r.heldOutAfter < 0.9 * r.heldOutBefore,
             qPrintable(QStringLiteral("%1 → %2").arg(r.heldOutBefore).arg(r.heldOutAfter)));
}

// A "float model" whose weights do not give the stored codes (another model of the same shape, as an AWQ
// folder with its scales folded into the norms would be) starts no layer: each falls back to its
// dequantized weights with a warning naming it; a teacher of another vocabulary is refused; the output
// folder cannot be the model itself.
void TrainTest::floatModelThatDoesNotFitIsNotUsed()
{
    const QString q = quantizedStories();
    if (q.isEmpty())
        QSKIP("stories260K or WikiText-2 missing");
    SyntheticModelSpec shape; // stories260K's shape, random weights
    shape.hidden = 64;
    shape.intermediate = 172;
    shape.layers = 5;
    shape.heads = 8;
    shape.kvHeads = 4;
    shape.vocab = 512;
    shape.tied = true;
    const QString other = m_dir.filePath(QStringLiteral("other"));
    writeSyntheticModel(other, shape);
    TrainJobParams p = jobParams(q);
    p.training.optimizer.steps = 3;
    p.floatModel = Model::open(other);
    const TrainJobResult r = runTrainJob(p);
    QCOMPARE(r.latentFromFloat, 0);
    QVERIFY2(r.warnings.size() >= 35 &&
                 r.warnings.front().contains(QStringLiteral("model.layers.0.self_attn.q_proj")) &&
                 r.warnings.front().contains(QStringLiteral("other codes")),
             qPrintable(r.warnings.join(u'\n')));
    shape.vocab = 600;
    const QString wider = m_dir.filePath(QStringLiteral("wider"));
    writeSyntheticModel(wider, shape);
    p.floatModel = Model::open(wider);
    p.latentFromFloatModel = false;
    p.distill = true;
    QS_VERIFY_ERROR(test::errorOf([&] { runTrainJob(p); }), {wider, QStringLiteral("vocabulary")});
    p = jobParams(q);
    p.outDir = q;
    QS_VERIFY_ERROR(test::errorOf([&] { runTrainJob(p); }), {QStringLiteral("the model being trained")});
}

// Block-AP on stories260K RTN int2: every block ends no worse than it started, most strictly better,
// and the model's held-out loss falls; without the float model the mode is refused.
void TrainTest::blockwiseFitsEveryBlock()
{
    const QString q = quantizedStories();
    if (q.isEmpty())
        QSKIP("stories260K or WikiText-2 missing");
    TrainJobParams p = jobParams(q);
    p.mode = TrainJobParams::Mode::Blockwise;
    QS_VERIFY_ERROR(test::errorOf([&] { runTrainJob(p); }), {QStringLiteral("float model")});
    p.floatModel = Model::open(test::dataPath(QStringLiteral("stories260K")));
    p.training.optimizer.steps = 20;
    const TrainJobResult r = runTrainJob(p);
    QVERIFY(r.blockwise);
    QCOMPARE(int(r.blockwise->blocks.size()), 5);
    int better = 0;
    for (const BlockFit& f : r.blockwise->blocks) {
        QVERIFY2(
            f.endLoss <= f.startLoss,
            qPrintable(QStringLiteral("block %1: %2 → %3").arg(f.block).arg(f.startLoss).arg(f.endLoss)));
        better += f.kept && f.endLoss < 0.95 * f.startLoss;
    }
    QVERIFY2(better >= 3, qPrintable(QStringLiteral("%1 blocks improved by 5 %").arg(better)));
    QVERIFY2(r.heldOutAfter < r.heldOutBefore,
             qPrintable(QStringLiteral("%1 → %2").arg(r.heldOutBefore).arg(r.heldOutAfter)));
}

// SignRound with the scales fixed: each weight may only round the other way, so every saved code is
// within one step of RTN's, some have moved, and the block errors fall.
void TrainTest::signRoundMovesCodesByOneStepAtMost()
{
    const QString q = quantizedStories();
    if (q.isEmpty())
        QSKIP("stories260K or WikiText-2 missing");
    TrainJobParams p = jobParams(q);
    p.mode = TrainJobParams::Mode::Blockwise;
    p.floatModel = Model::open(test::dataPath(QStringLiteral("stories260K")));
    p.trainable = {};
    p.trainable.weights = p.trainable.scales = p.trainable.zeros = false;
    p.trainable.rounding = true;
    p.training.optimizer.steps = 20;
    p.training.optimizer.warmupSteps = 0;
    p.training.optimizer.learningRate = 1.0 / 20;
    p.training.optimizer.signDescent[std::size_t(ParamKind::Rounding)] = true;
    p.outDir = m_dir.filePath(QStringLiteral("signround"));
    const TrainJobResult r = runTrainJob(p);
    QVERIFY(r.heldOutAfter < r.heldOutBefore);
    const Transformer before(p.model), after(Model::open(p.outDir));
    std::int64_t moved = 0, total = 0;
    for (int i = 0; i < int(p.model->linears().size()); ++i) {
        const auto* a = dynamic_cast<const QuantizedLinear*>(&before.linear(i));
        const auto* b = dynamic_cast<const QuantizedLinear*>(&after.linear(i));
        QVERIFY(a && b);
        for (std::size_t k = 0; k < a->tensor().scales.size(); ++k)
            QVERIFY2(b->tensor().scales[k] == a->tensor().scales[k],
                     qPrintable(QStringLiteral("layer %1 scale %2: %3 → %4")
                                    .arg(i)
                                    .arg(k)
                                    .arg(a->tensor().scales[k])
                                    .arg(b->tensor().scales[k])));
        const std::vector<std::uint8_t> ca = a->tensor().unpackedCodes(), cb = b->tensor().unpackedCodes();
        QCOMPARE(ca.size(), cb.size());
        for (std::size_t k = 0; k < ca.size(); ++k) {
            const int d = std::abs(int(ca[k]) - int(cb[k]));
            QVERIFY2(
                d <= 1,
                qPrintable(QStringLiteral("layer %1 code %2: %3 → %4").arg(i).arg(k).arg(ca[k]).arg(cb[k])));
            moved += d;
        }
        total += std::int64_t(ca.size());
    }
    qInfo("SignRound moved %lld of %lld codes by one step", qlonglong(moved), qlonglong(total));
    QVERIFY(moved > 0);
}

// A model with its own quantized head (synthetic, untied, RTN int2 g32 on every linear): after the blocks,
// block-wise training fits the head to the float model's next-token distributions (a fit of its own,
// scored by KL divergence, that never ends worse than it started), and the saved head's codes change.
// SignRound moves them by one step at most there too.
void TrainTest::blockwiseFitsTheQuantizedHead()
{
    const QString text = test::dataPath(QStringLiteral("wikitext-2-raw/wiki.test.raw"));
    if (text.isEmpty())
        QSKIP("WikiText-2 missing");
    SyntheticModelSpec s;
    s.hidden = 64;
    s.intermediate = 192;
    s.layers = 2;
    s.heads = 4;
    s.kvHeads = 2;
    s.vocab = syntheticTokenizerSize();
    s.tokenizer = true;
    s.seed = 11;
    const QString floatPath = m_dir.filePath(QStringLiteral("untied"));
    writeSyntheticModel(floatPath, s);
    const QString q = test::quantizeRtn(floatPath, m_dir.filePath(QStringLiteral("untied-rtn-w2")), 2, 32);
    QVERIFY(!q.isEmpty());
    { // The head's loss on the last block's outputs is the whole model's distillation loss, and gives the
      // head's parameters the same gradients.
        TrainModel student(Transformer(Model::open(q)), TrainableSet{}),
            alone(Transformer(Model::open(q)), TrainableSet{}),
            teacher(Transformer(Model::open(floatPath)), TrainableSet{});
        const int n = 16, batch = 2;
        const std::vector<int> tokens = randomTokens(n * batch, s.vocab, 5);
        const std::vector<float> soft = teacher.logits(tokens.data(), batch, n);
        student.zeroGrad();
        const double whole = student.loss(tokens.data(), batch, n, true, soft.data());
        std::vector<float> hidden(std::size_t(n * batch * s.hidden));
        alone.embed(tokens.data(), n * batch, hidden.data());
        for (int b = 0; b < s.layers; ++b)
            alone.blockForward(b, hidden.data(), batch, n);
        alone.zeroGrad();
        const double head = alone.headDistillationLoss(hidden.data(), batch, n, soft.data(), true);
        QVERIFY2(whole > 1e-3 && std::abs(head - whole) <= 1e-6 * whole,
                 qPrintable(QStringLiteral("%1 vs %2").arg(head).arg(whole)));
        const std::vector<TrainParam*> a = student.blockParams(s.layers), b = alone.blockParams(s.layers);
        QCOMPARE(a.size(), b.size());
        int compared = 0;
        for (std::size_t k = 0; k < a.size(); ++k) {
            if (!a[k]->trainable)
                continue;
            for (std::size_t i = 0; i < a[k]->grad.size(); ++i)
                QVERIFY2(std::abs(a[k]->grad[i] - b[k]->grad[i]) <= 1e-4f * std::abs(a[k]->grad[i]) + 1e-9f,
                         qPrintable(QStringLiteral("%1[%2]: %3 vs %4")
                                        .arg(a[k]->name)
                                        .arg(i)
                                        .arg(a[k]->grad[i])
                                        .arg(b[k]->grad[i])));
            ++compared;
        }
        QVERIFY(compared >= 2); // the head's latent weights and scales at least
    }
    for (const bool signRound : {false, true}) {
        TrainJobParams p = jobParams(q);
        p.calibration.text = p.heldOut.text = text;
        p.mode = TrainJobParams::Mode::Blockwise;
        p.floatModel = Model::open(floatPath);
        p.training.optimizer.steps = 20;
        if (signRound) { // the rounding alone: codes within one step of RTN's
            p.trainable = {};
            p.trainable.weights = p.trainable.scales = p.trainable.zeros = false;
            p.trainable.rounding = true;
            p.training.optimizer.warmupSteps = 0;
            p.training.optimizer.learningRate = 1.0 / 20;
            p.training.optimizer.signDescent[std::size_t(ParamKind::Rounding)] = true;
        }
        p.outDir = m_dir.filePath(signRound ? QStringLiteral("untied-sr") : QStringLiteral("untied-bap"));
        const TrainJobResult r = runTrainJob(p);
        QVERIFY(r.blockwise);
        QCOMPARE(int(r.blockwise->blocks.size()), 3);
        const BlockFit& head = r.blockwise->blocks.back();
        QVERIFY(head.head);
        QCOMPARE(head.block, 2);
        QCOMPARE(head.toJson().value(QStringLiteral("loss")).toString(), QStringLiteral("kl"));
        QVERIFY2(head.kept && head.endLoss < 0.9 * head.startLoss,
                 qPrintable(QStringLiteral("head KL %1 → %2").arg(head.startLoss).arg(head.endLoss)));
        const Transformer before(p.model), after(Model::open(p.outDir));
        const int h = before.headLinearIndex();
        QVERIFY(h >= 0);
        const auto* a = dynamic_cast<const QuantizedLinear*>(&before.linear(h));
        const auto* b = dynamic_cast<const QuantizedLinear*>(&after.linear(h));
        QVERIFY(a && b);
        const std::vector<std::uint8_t> ca = a->tensor().unpackedCodes(), cb = b->tensor().unpackedCodes();
        int moved = 0, far = 0;
        for (std::size_t k = 0; k < ca.size(); ++k) {
            moved += ca[k] != cb[k];
            far += std::abs(int(ca[k]) - int(cb[k])) > 1;
        }
        QVERIFY2(moved > 0, "the head's codes did not change");
        if (signRound)
            QCOMPARE(far, 0);
    }
}

// A SqueezeLLM checkpoint (row codebooks and sparse values) fine-tuned end to end: the loss falls, and the
// saved layers keep their codes exactly while their codebooks moved (codes fixed, tables learned, as AQLM's
// fine-tuning does).
void TrainTest::tableLayersLearnTheirTables()
{
    const QString model = test::dataPath(QStringLiteral("stories260K"));
    const QString text = test::dataPath(QStringLiteral("wikitext-2-raw/wiki.test.raw"));
    if (model.isEmpty() || text.isEmpty())
        QSKIP("stories260K or WikiText-2 missing");
    const QString q = m_dir.filePath(QStringLiteral("squeezellm-w3"));
    const test::CliResult made = test::runCli(
        {QStringLiteral("quantize"), model, QStringLiteral("--method"), QStringLiteral("squeezellm"),
         QStringLiteral("--bits"), QStringLiteral("3"), QStringLiteral("--calib"), text,
         QStringLiteral("--samples"), QStringLiteral("16"), QStringLiteral("--seq-len"), QStringLiteral("64"),
         QStringLiteral("--out"), q, QStringLiteral("--runs"), QStringLiteral("off")});
    QVERIFY2(made.exitCode == 0, made.err.constData());
    TrainJobParams p = jobParams(q);
    p.outDir = m_dir.filePath(QStringLiteral("squeezellm-w3-qat"));
    const TrainJobResult r = runTrainJob(p);
    QVERIFY2(r.training.bestHeldOut < 0.99 * r.training.startHeldOut,
             qPrintable(QStringLiteral("%1 → %2").arg(r.training.startHeldOut).arg(r.training.bestHeldOut)));
    const Transformer before(p.model), after(Model::open(p.outDir));
    int moved = 0;
    for (int i = 0; i < int(p.model->linears().size()); ++i) {
        const auto* a = dynamic_cast<const QuantizedLinear*>(&before.linear(i));
        const auto* b = dynamic_cast<const QuantizedLinear*>(&after.linear(i));
        QVERIFY(a && b && b->tensor().spec.usesCodebook());
        QCOMPARE(b->tensor().unpackedCodes(), a->tensor().unpackedCodes());
        QCOMPARE(b->tensor().sparseColumns, a->tensor().sparseColumns);
        moved += b->tensor().codebook != a->tensor().codebook;
    }
    QCOMPARE(moved, int(p.model->linears().size()));
}

QTEST_GUILESS_MAIN(TrainTest)
#include "tst_train.moc"
