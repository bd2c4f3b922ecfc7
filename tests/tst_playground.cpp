// The teaching playground and side-by-side generation: the core (rows, quantizing one row, the
// numbers it reports) as data-driven tests, then the real main window offscreen — live updates
// from the controls, synthetic outliers, presentation mode, every plot rendering and exporting,
// bad input, and generation streaming on worker threads with the float side equal to core's
// generate() while the event loop stays responsive.
#include "GenerationPanel.h"
#include "GuiTestSupport.h"
#include "MainWindow.h"
#include "PlaygroundPanel.h"
#include "PlaygroundPlots.h"
#include "RunsPanel.h"
#include "TestSupport.h"
#include "analysis/Playground.h"
#include "checkpoint/QuantizedModelIO.h"
#include "eval/Calibration.h"
#include "kernels/GgmlQuants.h"
#include "model/Generate.h"
#include "model/Model.h"
#include "model/Transformer.h"
#include "quant/QuantizeJob.h"
#include "quant/Quantizer.h"
#include "recipe/LayerPlan.h"
#include "results/RunResults.h"
#include "tokenizer/Tokenizer.h"

#include <QAction>
#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QSlider>
#include <QSpinBox>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>
#include <QToolButton>
#include <cmath>
#include <map>
#include <set>
#include <string_view>

using namespace qs;

namespace {

QuantSpec rtn(int bits, int group, bool symmetric = false, bool clip = false)
{
    QuantSpec s;
    s.method = QuantMethod::Rtn;
    s.bits = bits;
    s.symmetric = symmetric;
    s.clipSearch = clip;
    if (group > 0) {
        s.granularity = Granularity::PerGroup;
        s.groupSize = group;
    } else {
        s.granularity = Granularity::PerChannel;
    }
    return s;
}

std::vector<float> gaussian(std::int64_t n, std::uint64_t seed, std::int64_t outliers = 0,
                            double magnitude = 10)
{
    SyntheticRowSpec s;
    s.count = n;
    s.seed = seed;
    s.outliers = outliers;
    s.outlierMagnitude = magnitude;
    return syntheticRow(s);
}

/// Σ error² of each group.
std::vector<double> groupSquaredErrors(const PlaygroundResult& r)
{
    std::vector<double> e(std::size_t(r.groups()), 0.0);
    for (std::size_t i = 0; i < r.errors.size(); ++i)
        e[std::size_t(r.groupOf(std::int64_t(i)))] += double(r.errors[i]) * double(r.errors[i]);
    return e;
}

int distinctColours(const QImage& image)
{
    std::set<QRgb> colours;
    for (int y = 0; y < image.height(); y += 3)
        for (int x = 0; x < image.width(); x += 3)
            colours.insert(image.pixel(x, y));
    return int(colours.size());
}

using qs::test::loadInto;
using qs::test::StallProbe;

/// Shows the window, loads the model and opens the Playground page (null when the model fails).
/// The playground's method named `name` ("rtn", "aqlm", …); fails the test when there is none.
PlaygroundMethod methodNamed(const char* name)
{
    for (const PlaygroundMethod& m : playgroundMethods())
        if (m.name == QLatin1String(name))
            return m;
    qFatal("no playground method %s", name);
}

PlaygroundPanel* openPlayground(MainWindow& w, const QString& path)
{
    w.show();
    if (!loadInto(w, path))
        return nullptr;
    w.showPage(QStringLiteral("playground"));
    return w.playgroundPanel();
}

/// openPlayground with `calibrationText` for the GPTQ demonstration's statistics.
PlaygroundPanel* openPlayground(MainWindow& w, const QString& path, const QString& calibrationText)
{
    PlaygroundPanel* panel = openPlayground(w, path);
    if (panel)
        panel->setCalibrationText(calibrationText);
    return panel;
}

} // namespace

class TestPlayground : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void initTestCase()
    {
        Q_INIT_RESOURCE(quantscope);
        QCoreApplication::setOrganizationName(QStringLiteral("QuantScopeTest"));
        QSettings().clear();
    }

    // ---- core ----------------------------------------------------------------------------

    void syntheticRows_data()
    {
        QTest::addColumn<int>("distribution");
        QTest::newRow("gaussian") << int(SyntheticDistribution::Gaussian);
        QTest::newRow("laplace") << int(SyntheticDistribution::Laplace);
        QTest::newRow("uniform") << int(SyntheticDistribution::Uniform);
    }
    void syntheticRows()
    {
        QFETCH(int, distribution);
        SyntheticRowSpec s;
        s.distribution = SyntheticDistribution(distribution);
        s.count = 20000;
        s.sigma = 0.5;
        s.seed = 7;
        const std::vector<float> v = syntheticRow(s);
        QCOMPARE(v.size(), std::size_t(20000));
        QCOMPARE(syntheticRow(s), v); // deterministic for a seed
        s.seed = 8;
        QVERIFY(syntheticRow(s) != v);
        double sum = 0, sq = 0;
        for (float x : v) {
            sum += x;
            sq += double(x) * x;
        }
        const double mean = sum / double(v.size()), sd = std::sqrt(sq / double(v.size()) - mean * mean);
        QVERIFY2(std::fabs(mean) < 0.02 && std::fabs(sd - 0.5) < 0.02,
                 qPrintable(QStringLiteral("mean %1 sd %2").arg(mean).arg(sd)));

        // Outliers: exactly that many values at ±magnitude·sigma, at distinct places.
        s.count = 500;
        s.outliers = 7;
        s.outlierMagnitude = 12;
        const std::vector<float> o = syntheticRow(s);
        int found = 0;
        for (float x : o)
            found += std::fabs(std::fabs(double(x)) - 6.0) < 1e-5 ? 1 : 0;
        QCOMPARE(found, 7);
    }

    void badInput()
    {
        SyntheticRowSpec s;
        s.count = 0;
        QS_VERIFY_ERROR(test::errorOf([&] { syntheticRow(s); }), {QStringLiteral("1 to")});
        s.count = 10;
        s.outliers = 11;
        QS_VERIFY_ERROR(test::errorOf([&] { syntheticRow(s); }), {QStringLiteral("11 outliers")});
        s.outliers = 0;
        s.sigma = 0;
        QS_VERIFY_ERROR(test::errorOf([&] { syntheticRow(s); }), {QStringLiteral("standard deviation")});
        QS_VERIFY_ERROR(test::errorOf([&] { quantizeRow({}, rtn(4, 32)); }), {QStringLiteral("empty")});
        QS_VERIFY_ERROR(test::errorOf([&] {
                            quantizeRow({1.0f, NAN}, rtn(4, 32));
                        }),
                        {QStringLiteral("non-finite")});
        QuantSpec bad = rtn(9, 32);
        QVERIFY(!test::errorOf([&] { quantizeRow(gaussian(64, 1), bad); }).isEmpty());
    }

    void methodsThatApplyToOneRow()
    {
        const std::vector<PlaygroundMethod> methods = playgroundMethods();
        QStringList names;
        for (const PlaygroundMethod& m : methods)
            names << m.name;
        QVERIFY(names.contains(QStringLiteral("rtn")));
        QVERIFY(names.contains(QStringLiteral("rtn+clip")));
        // Every offered method really quantizes a row; every absent one says why.
        QVERIFY(names.contains(QStringLiteral("gguf")));
        for (const PlaygroundMethod& m : methods) {
            const QuantSpec s = playgroundSpec(m, PlaygroundSettings{});
            QCOMPARE(s.clipSearch, m.clipSearch);
            if (m.method == QuantMethod::Ggml)
                QCOMPARE(s, QuantSpec::ggml(QuantSpec::ggmlTypeForBits(4)));
            QVERIFY(quantizeRow(gaussian(256, 3), s).mse > 0);
        }
        QStringList absent;
        for (const UnavailableMethod& u : unavailablePlaygroundMethods()) {
            absent << u.displayName;
            QVERIFY(std::string_view(u.reason).size() > 10);
        }
        QVERIFY(absent.contains(QStringLiteral("GPTQ")));
        QVERIFY(absent.contains(QStringLiteral("AWQ")));
        QuantSpec gptq = rtn(4, 32);
        gptq.method = QuantMethod::Gptq;
        QS_VERIFY_ERROR(test::errorOf([&] { quantizeRow(gaussian(64, 1), gptq); }),
                        {QStringLiteral("calibration")});
        // The calibrated methods whose structure shows on one row, through the controls' spec.
        for (const char* name : {"squeezellm", "quipsharp", "aqlm"}) {
            QVERIFY2(names.contains(QLatin1String(name)), name);
            QVERIFY(!absent.contains(QLatin1String(quantMethodInfo(methodNamed(name).method).displayName)));
            for (int bits = 2; bits <= 4; ++bits) {
                PlaygroundSettings settings;
                settings.bits = bits;
                const QuantSpec spec = playgroundSpec(methodNamed(name), settings);
                QVERIFY2(spec.validate().isEmpty(), qPrintable(spec.validate()));
                const PlaygroundResult r = quantizeRow(gaussian(256, 3), spec);
                QVERIFY(r.mse > 0 && r.snrDb > 3);
                QCOMPARE(r.inputs, PlaygroundInputs::Isotropic);
                QCOMPARE(r.bytes, spec.cost(1, 256).total());
            }
        }
    }

    void isotropicAndLayerInputs()
    {
        // The layer's statistics replace the assumed ones; a mismatch, GPTQ without statistics and a
        // Hessian method on a row too long for its n × n Hessian are refused with the reason.
        const std::vector<float> v = gaussian(64, 9);
        LinearInputStats stats;
        stats.inFeatures = 64;
        stats.tokens = 100;
        stats.xtx = Eigen::MatrixXd::Identity(64, 64) * 100.0;
        stats.xtx(5, 5) = 1e5; // input 5 carries most of the signal
        stats.sumSquares.assign(64, 100.0);
        stats.sumSquares[5] = 1e5;
        PlaygroundSettings settings;
        settings.bits = 2;
        const QuantSpec aqlm = playgroundSpec(methodNamed("aqlm"), settings);
        const PlaygroundResult layer = quantizeRow(v, aqlm, 0, 60, &stats);
        QCOMPARE(layer.inputs, PlaygroundInputs::Layer);
        QCOMPARE(layer.inputTokens, std::int64_t(100));
        const PlaygroundResult assumed = quantizeRow(v, aqlm);
        // Weighted by the layer's inputs, input 5's weight is kept far better than without.
        QVERIFY2(std::fabs(layer.errors[5]) < 0.2 * std::fabs(assumed.errors[5]) + 1e-4,
                 qPrintable(QStringLiteral("%1 vs %2").arg(layer.errors[5]).arg(assumed.errors[5])));
        LinearInputStats other = stats;
        other.inFeatures = 32;
        other.xtx = Eigen::MatrixXd::Identity(32, 32);
        other.sumSquares.assign(32, 1.0);
        QS_VERIFY_ERROR(test::errorOf([&] { quantizeRow(v, aqlm, 0, 60, &other); }),
                        {QStringLiteral("32 inputs"), QStringLiteral("64")});
        const QuantSpec quip = playgroundSpec(methodNamed("quipsharp"), settings);
        QS_VERIFY_ERROR(
            test::errorOf([&] { quantizeRow(gaussian(kMaxPlaygroundHessianValues + 8, 1), quip); }),
            {QStringLiteral("4096"), QStringLiteral("Hessian")});
        QuantSpec awq = rtn(4, 32);
        awq.method = QuantMethod::Awq;
        QS_VERIFY_ERROR(test::errorOf([&] { quantizeRow(v, awq); }),
                        {QStringLiteral("awq"), QStringLiteral("statistics")});
    }

    void kurtosisOfDistributions()
    {
        auto row = [](SyntheticDistribution d) {
            SyntheticRowSpec s;
            s.distribution = d;
            s.count = 60000;
            s.seed = 4;
            return syntheticRow(s);
        };
        QVERIFY(std::fabs(excessKurtosis(row(SyntheticDistribution::Gaussian))) < 0.15);
        QVERIFY(std::fabs(excessKurtosis(row(SyntheticDistribution::Laplace)) - 3.0) < 0.5);
        QVERIFY(std::fabs(excessKurtosis(row(SyntheticDistribution::Uniform)) + 1.2) < 0.05);
        QCOMPARE(excessKurtosis({2.0f, 2.0f, 2.0f}), 0.0);
    }

    void rotationMakesOutliersHarmless()
    {
        // A Gaussian row with four outliers at 20 σ: the rotated row the quantizer sees is near-Gaussian
        // (kurtosis from ~60 to ~0), and per channel RTN + Hadamard loses far less than RTN, which spends
        // its levels on the outliers' range. The step-through follows the rotated value.
        const std::vector<float> v = gaussian(512, 21, 4, 20);
        PlaygroundSettings settings;
        settings.bits = 4;
        settings.groupSize = 0;
        const PlaygroundMethod rtnMethod = methodNamed("rtn");
        const PlaygroundResult plain = quantizeRow(v, playgroundSpec(rtnMethod, settings));
        settings.rotate = true;
        const PlaygroundResult rotated = quantizeRow(v, playgroundSpec(rtnMethod, settings));
        QCOMPARE(rotated.spec.incoherence, Incoherence::Hadamard);
        QVERIFY(plain.rotated.empty() && plain.note.isEmpty());
        QVERIFY(rotated.note.contains(QStringLiteral("rotation")));
        QCOMPARE(rotated.rotated.size(), v.size());
        QVERIFY2(rotated.kurtosis > 20 && std::fabs(rotated.rotatedKurtosis) < 1,
                 qPrintable(QStringLiteral("%1 -> %2").arg(rotated.kurtosis).arg(rotated.rotatedKurtosis)));
        QVERIFY2(rotated.mse < 0.5 * plain.mse,
                 qPrintable(QStringLiteral("%1 vs %2").arg(rotated.mse).arg(plain.mse)));
        // ‖V·w‖ = ‖w‖ and the rotated reconstruction is on the rotated grid.
        double a = 0, b = 0;
        for (std::size_t i = 0; i < v.size(); ++i) {
            a += double(v[i]) * v[i];
            b += double(rotated.rotated[i]) * rotated.rotated[i];
        }
        QVERIFY(std::fabs(a - b) < 1e-4 * a);
        for (std::int64_t i : {0, 77, 511}) {
            const WeightStep s = weightStep(rotated, i);
            QVERIFY(s.rotated && s.hasScale);
            QCOMPARE(s.value, rotated.rotated[std::size_t(i)]);
            QVERIFY(std::fabs(s.dequantized - rotated.rotatedReconstructed[std::size_t(i)]) < 1e-4);
        }
        // HQQ takes the rotation too; gguf does not offer it.
        QVERIFY(playgroundControls(methodNamed("hqq")).rotation);
        QVERIFY(!playgroundControls(methodNamed("gguf")).rotation);
        QVERIFY(playgroundControls(methodNamed("quipsharp")).rotationAlways);
    }

    void squeezeLlmRowCodebook()
    {
        // One non-uniform codebook for the row: the grid is it, every dense weight reconstructs to an
        // entry, and the outliers are kept exact (to f16) in the sparse matrix.
        const std::vector<float> v = gaussian(512, 8, 3, 12);
        PlaygroundSettings settings;
        settings.bits = 3;
        settings.sparsePercent = 1.0;
        const PlaygroundResult r = quantizeRow(v, playgroundSpec(methodNamed("squeezellm"), settings));
        QCOMPARE(r.groups(), std::int64_t(1));
        QCOMPARE(r.codebook.size(), std::size_t(8));
        QCOMPARE(r.grid.levels.size(), std::size_t(8));
        QCOMPARE(r.exactColumns.size(), std::size_t(r.spec.sparseCount(1, 512)));
        int outliers = 0;
        for (std::size_t i = 0; i < v.size(); ++i) {
            const bool exact =
                std::binary_search(r.exactColumns.begin(), r.exactColumns.end(), std::int64_t(i));
            QCOMPARE(weightStep(r, std::int64_t(i)).exact, exact);
            if (std::fabs(v[i]) > 11) {
                ++outliers;
                QVERIFY(exact);
            }
            if (exact)
                QVERIFY(std::fabs(r.reconstructed[i] - v[i]) < 2e-3 * std::fabs(v[i]) + 1e-3);
            else
                QVERIFY(std::binary_search(r.grid.levels.begin(), r.grid.levels.end(),
                                           double(r.reconstructed[i])));
        }
        QCOMPARE(outliers, 3);
        // Non-uniform: the spacing of the levels differs (k-means follows the Gaussian's density).
        const std::vector<double>& l = r.grid.levels;
        QVERIFY(l[4] - l[3] < 0.8 * (l[7] - l[6]));
        QCOMPARE(r.pairs.pointX.size(), std::size_t(64));
        QVERIFY(weightStep(r, 10).codeText.contains(QStringLiteral("of the row's 8")));
    }

    void vectorCodebookPoints_data()
    {
        QTest::addColumn<QString>("method");
        QTest::addColumn<int>("bits");
        QTest::addColumn<int>("codebookBits");
        QTest::newRow("quip# 2") << "quipsharp" << 2 << 0;
        QTest::newRow("quip# 3") << "quipsharp" << 3 << 0;
        QTest::newRow("aqlm 2x8") << "aqlm" << 2 << 8;
        QTest::newRow("aqlm 4x4") << "aqlm" << 2 << 4;
        QTest::newRow("aqlm 6x4 (sampled)") << "aqlm" << 3 << 4;
    }
    void vectorCodebookPoints()
    {
        // Each vector of 8's pair (0, 1), reconstructed, is one of the points the codebook reaches there
        // (unless the points are a sample); the shown vector is marked; the step names its codes.
        QFETCH(QString, method);
        QFETCH(int, bits);
        QFETCH(int, codebookBits);
        PlaygroundSettings settings;
        settings.bits = bits;
        settings.codebookBits = codebookBits;
        const PlaygroundResult r = quantizeRow(
            gaussian(260, 2), playgroundSpec(methodNamed(method.toLatin1().constData()), settings), 3);
        QCOMPARE(r.groups(), std::int64_t(33)); // 32 vectors and a tail of 4
        QVERIFY(r.grid.levels.empty());
        QCOMPARE(r.rotated.empty(), method == u"aqlm");
        const PlaygroundPairs& p = r.pairs;
        QCOMPARE(p.weightX.size(), std::size_t(32));
        QCOMPARE(p.shownPair, std::int64_t(3));
        QVERIFY(!p.pointX.empty() && p.pointX.size() <= 65536);
        QCOMPARE(p.sampled, bits == 3 && method == u"aqlm");
        QVERIFY(p.reachable >= p.pointX.size());
        if (!p.sampled) {
            double scale = 0;
            for (double x : p.pointX)
                scale = std::max(scale, std::fabs(x));
            for (std::size_t k = 0; k < p.reconstructedX.size(); ++k) {
                double best = 1e30;
                for (std::size_t j = 0; j < p.pointX.size(); ++j)
                    best = std::min(best, std::hypot(p.pointX[j] - p.reconstructedX[k],
                                                     p.pointY[j] - p.reconstructedY[k]));
                QVERIFY2(best < 1e-4 * scale,
                         qPrintable(QStringLiteral("pair %1 is %2 off").arg(k).arg(best)));
            }
        }
        const WeightStep s = weightStep(r, 26);
        QVERIFY(!s.hasScale);
        QCOMPARE(s.group, std::int64_t(3));
        QVERIFY(s.codeText.contains(method == u"aqlm" ? QStringLiteral("codebooks") : QStringLiteral("E8P")));
        const std::vector<float>& rec = r.rotated.empty() ? r.reconstructed : r.rotatedReconstructed;
        QCOMPARE(s.dequantized, rec[26]);
        if (method == u"aqlm" && codebookBits == 8) // 2 × 256 entries of 8 f16 on a row of 260
            QVERIFY(r.note.contains(QStringLiteral("codebooks")));
    }

    void commandLine()
    {
        // quantscope-cli playground: the same numbers as quantizeRow, a real row with the layer's
        // statistics, the values as CSV, and bad input refused with the reason.
        test::CliResult r = test::runCli(
            {QStringLiteral("playground"), QStringLiteral("--synthetic"), QStringLiteral("gaussian"),
             QStringLiteral("--count"), QStringLiteral("512"), QStringLiteral("--outliers"),
             QStringLiteral("4"), QStringLiteral("--magnitude"), QStringLiteral("20"),
             QStringLiteral("--scheme"), QStringLiteral("rtn-w4-ch-had"), QStringLiteral("--json")});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        const QJsonObject o = QJsonDocument::fromJson(r.out).object();
        SyntheticRowSpec synth;
        synth.count = 512;
        synth.outliers = 4;
        synth.outlierMagnitude = 20;
        const PlaygroundResult direct =
            quantizeRow(syntheticRow(synth), QuantSpec::fromShortName(QStringLiteral("rtn-w4-ch-had")));
        QCOMPARE(o.value(QStringLiteral("mse")).toDouble(), direct.mse);
        QCOMPARE(o.value(QStringLiteral("bits_per_weight")).toDouble(), direct.bitsPerWeight);
        QCOMPARE(o.value(QStringLiteral("rotated_kurtosis")).toDouble(), direct.rotatedKurtosis);
        QCOMPARE(o.value(QStringLiteral("levels")).toArray().size(), qsizetype(16));

        QS_REQUIRE_DATA(path, "stories260K");
        QS_REQUIRE_DATA(text, "kjv/train.txt");
        QTemporaryDir tmp;
        const QString csv = tmp.filePath(QStringLiteral("row.csv"));
        r = test::runCli({QStringLiteral("playground"), path, QStringLiteral("--layer"),
                          QStringLiteral("model.layers.0.self_attn.q_proj"), QStringLiteral("--row"),
                          QStringLiteral("5"), QStringLiteral("--scheme"), QStringLiteral("aqlm-w2-4x4"),
                          QStringLiteral("--calib"), text, QStringLiteral("--samples"), QStringLiteral("4"),
                          QStringLiteral("--values"), csv});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        QVERIFY2(r.out.contains("the layer's statistics (") &&
                     r.out.contains("sums of 4 codebooks of 16 entries"),
                 r.out.constData());
        QFile f(csv);
        QVERIFY(f.open(QIODevice::ReadOnly));
        QCOMPARE(f.readAll().count('\n'), qsizetype(64 + 1));

        r = test::runCli({QStringLiteral("playground"), QStringLiteral("--synthetic"),
                          QStringLiteral("cauchy"), QStringLiteral("--scheme"),
                          QStringLiteral("rtn-w4-g32")});
        QCOMPARE(r.exitCode, 1);
        QVERIFY(r.err.contains("--synthetic cauchy"));
        r = test::runCli({QStringLiteral("playground"), QStringLiteral("--synthetic"),
                          QStringLiteral("gaussian"), QStringLiteral("--scheme"),
                          QStringLiteral("gptq-w4-g32")});
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains("calibration statistics"), r.err.constData());
        r = test::runCli({QStringLiteral("playground"), path, QStringLiteral("--layer"),
                          QStringLiteral("nope"), QStringLiteral("--scheme"), QStringLiteral("rtn-w4-g32")});
        QCOMPARE(r.exitCode, 1);
        QVERIFY(r.err.contains("no linear layer named 'nope'"));
    }

    void ggufRow()
    {
        // A llama.cpp type on one row: ggml's own bytes and values, sub-blocks as groups, the
        // levels a sub-block reconstructs to, and llama.cpp's fallback for a row it does not fit.
        const std::vector<float> v = gaussian(512, 5);
        const PlaygroundResult r = quantizeRow(v, QuantSpec::ggml(GgmlType::Q4_K), 3);
        std::vector<std::uint8_t> blocks(ggmlRowBytes(GgmlType::Q4_K, 512));
        ggmlQuantizeRows(GgmlType::Q4_K, v.data(), blocks.data(), 1, 512);
        std::vector<float> expected(v.size());
        ggmlDequantizeRow(GgmlType::Q4_K, blocks.data(), expected.data(), 512);
        QVERIFY(r.reconstructed == expected);
        QCOMPARE(r.bytes, std::uint64_t(2 * 144));
        QCOMPARE(int(r.groups()), 16); // 32-value sub-blocks
        QCOMPARE(r.grid.begin, std::int64_t(96));
        QVERIFY(!r.grid.levels.empty() && r.grid.levels.size() <= 16);
        for (std::int64_t i = r.grid.begin; i < r.grid.end; ++i)
            QVERIFY(std::binary_search(r.grid.levels.begin(), r.grid.levels.end(),
                                       double(r.reconstructed[std::size_t(i)])));
        QVERIFY(quantizeRow(v, QuantSpec::ggml(GgmlType::Q2_K)).snrDb < r.snrDb);
        const PlaygroundResult small = quantizeRow(gaussian(64, 5), QuantSpec::ggml(GgmlType::Q4_K));
        QCOMPARE(small.spec, QuantSpec::ggml(GgmlType::Q5_0));
        QVERIFY(small.note.contains(QStringLiteral("fallback")));
    }

    void snrRisesWithBits_data()
    {
        QTest::addColumn<int>("group");
        QTest::addColumn<bool>("symmetric");
        QTest::newRow("g32 asym") << 32 << false;
        QTest::newRow("g128 sym") << 128 << true;
        QTest::newRow("channel asym") << 0 << false;
    }
    void snrRisesWithBits()
    {
        QFETCH(int, group);
        QFETCH(bool, symmetric);
        const std::vector<float> v = gaussian(1024, 11);
        double last = -1e9;
        for (int bits = 2; bits <= 8; ++bits) {
            const PlaygroundResult r = quantizeRow(v, rtn(bits, group, symmetric));
            QVERIFY2(
                r.snrDb > last + 3,
                qPrintable(QStringLiteral("%1 bits: %2 dB after %3 dB").arg(bits).arg(r.snrDb).arg(last)));
            last = r.snrDb;
            // The reported numbers agree with the errors.
            double sq = 0, mx = 0;
            for (std::size_t i = 0; i < v.size(); ++i) {
                QCOMPARE(r.errors[i], v[i] - r.reconstructed[i]);
                sq += double(r.errors[i]) * r.errors[i];
                mx = std::max(mx, std::fabs(double(r.errors[i])));
            }
            QVERIFY(std::fabs(r.mse - sq / 1024) <= 1e-12 * std::max(1.0, r.mse));
            QCOMPARE(r.maxAbsError, mx);
            QCOMPARE(r.errorHistogram.total(), 1024.0);
        }
    }

    void clipSearchNeverWorseThanRtn_data()
    {
        QTest::addColumn<int>("distribution");
        QTest::addColumn<int>("bits");
        QTest::addColumn<bool>("symmetric");
        QTest::addColumn<int>("outliers");
        for (int d : {0, 1, 2})
            for (int bits : {2, 3, 4, 8})
                for (bool sym : {false, true})
                    QTest::addRow("d%d w%d %s%s", d, bits, sym ? "sym" : "asym", d == 1 ? " outliers" : "")
                        << d << bits << sym << (d == 1 ? 5 : 0);
    }
    void clipSearchNeverWorseThanRtn()
    {
        QFETCH(int, distribution);
        QFETCH(int, bits);
        QFETCH(bool, symmetric);
        QFETCH(int, outliers);
        for (std::uint64_t seed = 1; seed <= 5; ++seed) {
            SyntheticRowSpec s;
            s.distribution = SyntheticDistribution(distribution);
            s.count = 1000; // the last group of 64 is shorter
            s.seed = seed;
            s.outliers = outliers;
            const std::vector<float> v = syntheticRow(s);
            const std::vector<double> plain = groupSquaredErrors(quantizeRow(v, rtn(bits, 64, symmetric)));
            const std::vector<double> clip =
                groupSquaredErrors(quantizeRow(v, rtn(bits, 64, symmetric, true)));
            QCOMPARE(plain.size(), clip.size());
            for (std::size_t g = 0; g < plain.size(); ++g)
                QVERIFY2(clip[g] <= plain[g] * (1 + 1e-12),
                         qPrintable(QStringLiteral("group %1: %2 > %3").arg(g).arg(clip[g]).arg(plain[g])));
        }
    }

    void perGroupBeatsPerTensorWithOutliers()
    {
        const std::vector<float> v = gaussian(2048, 5, 4, 25);
        QuantSpec tensor = rtn(4, 0);
        tensor.granularity = Granularity::PerTensor;
        const PlaygroundResult whole = quantizeRow(v, tensor);
        const PlaygroundResult channel = quantizeRow(v, rtn(4, 0));
        const PlaygroundResult grouped = quantizeRow(v, rtn(4, 32));
        QCOMPARE(int(whole.groups()), 1);
        QCOMPARE(int(channel.groups()), 1);
        QCOMPARE(int(grouped.groups()), 64);
        QVERIFY2(grouped.mse < 0.5 * whole.mse,
                 qPrintable(QStringLiteral("g32 %1 vs tensor %2").arg(grouped.mse).arg(whole.mse)));
        QVERIFY(grouped.mse < channel.mse);
        // …and pays for it in bytes.
        QVERIFY(grouped.bytes > whole.bytes);
    }

    void symmetricGridIsSymmetric_data()
    {
        QTest::addColumn<int>("bits");
        for (int b = 2; b <= 8; ++b)
            QTest::addRow("w%d", b) << b;
    }
    void symmetricGridIsSymmetric()
    {
        QFETCH(int, bits);
        const std::vector<float> v = gaussian(256, 9, 2, 6);
        const PlaygroundResult r = quantizeRow(v, rtn(bits, 64, true), 2);
        const std::vector<double>& l = r.grid.levels;
        const int qmax = (1 << bits) - 1;
        QCOMPARE(int(l.size()), qmax + 1);
        QCOMPARE(r.grid.zero, double(1 << (bits - 1))); // the middle code, fixed
        QCOMPARE(int(r.grid.begin), 128);
        QCOMPARE(int(r.grid.end), 192);
        // Zero is a level, and the levels mirror about it: level i and level qmax+1-i. With an
        // even number of codes the GPTQ convention keeps one extra negative level (code 0).
        QVERIFY(std::find(l.begin(), l.end(), 0.0) != l.end());
        for (int i = 1; i <= qmax; ++i)
            QCOMPARE(l[std::size_t(i)], -l[std::size_t(qmax + 1 - i)]);
        QVERIFY(l.front() < -l.back());
        // Asymmetric grids are not mirrored in general, but include zero as well.
        const PlaygroundResult a = quantizeRow(v, rtn(bits, 64, false), 2);
        QVERIFY(std::find(a.grid.levels.begin(), a.grid.levels.end(), 0.0) != a.grid.levels.end());
    }

    void reconstructionIsOnTheGrid()
    {
        const std::vector<float> v = gaussian(300, 4);
        for (bool clip : {false, true}) {
            const PlaygroundResult r = quantizeRow(v, rtn(3, 128, false, clip), 1);
            QCOMPARE(int(r.shownGroup), 1);
            QCOMPARE(int(r.grid.levels.size()), 8);
            for (std::int64_t i = r.grid.begin; i < r.grid.end; ++i) {
                const double x = r.reconstructed[std::size_t(i)];
                const bool onGrid = std::any_of(r.grid.levels.begin(), r.grid.levels.end(),
                                                [&](double level) { return std::fabs(level - x) < 1e-6; });
                QVERIFY2(onGrid, qPrintable(QString::number(x)));
            }
            QCOMPARE(int(quantizeRow(v, rtn(3, 128), 99).shownGroup), 2); // clamped into range (3 groups)
        }
    }

    void bytesEqualCost_data()
    {
        QTest::addColumn<QString>("scheme");
        QTest::addColumn<int>("count");
        for (const char* s :
             {"rtn-w4-g128", "rtn-w3-g32-sym", "rtn-w2-g64-clip", "rtn-w8-ch", "rtn-w5-tensor"})
            for (int n : {64, 300, 4096}) {
                const QByteArray tag = QByteArray(s) + QByteArray(" n") + QByteArray::number(n);
                QTest::newRow(tag.constData()) << QString::fromLatin1(s) << n;
            }
    }
    void bytesEqualCost()
    {
        QFETCH(QString, scheme);
        QFETCH(int, count);
        const QuantSpec spec = QuantSpec::fromShortName(scheme);
        const std::vector<float> v = gaussian(count, 2);
        const PlaygroundResult r = quantizeRow(v, spec);
        QCOMPARE(r.bytes, spec.cost(1, count).total());
        QCOMPARE(r.bitsPerWeight, spec.cost(1, count).bitsPerWeight(count));
        QuantizeRequest request;
        request.weight = v.data();
        request.rows = 1;
        request.cols = count;
        request.spec = spec;
        const QuantizedTensor q = quantizeWeight(request);
        QCOMPARE(r.bytes, q.storageBytes());
        QCOMPARE(r.reconstructed, q.dequantize()); // the same call every method goes through
    }

    void realRowMatchesModel()
    {
        QS_REQUIRE_DATA(path, "stories260K");
        const auto model = Model::open(path);
        for (const QString& layer : {QStringLiteral("model.layers.0.self_attn.q_proj"),
                                     QStringLiteral("model.layers.4.mlp.down_proj")}) {
            std::int64_t rows = 0, cols = 0;
            const std::vector<float> w = readLinearWeight(*model, layer, &rows, &cols);
            for (std::int64_t row : {std::int64_t(0), std::int64_t(3), rows - 1}) {
                const std::vector<float> got = modelRow(*model, layer, row);
                QCOMPARE(std::int64_t(got.size()), cols);
                QVERIFY(std::equal(got.begin(), got.end(), w.begin() + row * cols));
            }
            QS_VERIFY_ERROR(test::errorOf([&] { modelRow(*model, layer, rows); }),
                            {layer, QStringLiteral("out of range"), QString::number(rows - 1)});
            QS_VERIFY_ERROR(test::errorOf([&] { modelRow(*model, layer, -1); }), {layer});
        }
        QS_VERIFY_ERROR(test::errorOf([&] { modelRow(*model, QStringLiteral("nope"), 0); }),
                        {QStringLiteral("nope")});
        // A real row quantizes like any other.
        const PlaygroundResult r =
            quantizeRow(modelRow(*model, QStringLiteral("model.layers.0.mlp.up_proj"), 5), rtn(4, 32));
        QVERIFY(r.snrDb > 10 && std::isfinite(r.snrDb));
    }

    void groupSizeEight_data()
    {
        QTest::addColumn<int>("bits");
        QTest::addColumn<bool>("symmetric");
        QTest::newRow("4-bit asymmetric") << 4 << false;
        QTest::newRow("3-bit symmetric") << 3 << true;
        QTest::newRow("2-bit asymmetric") << 2 << false;
    }
    void groupSizeEight()
    {
        QFETCH(int, bits);
        QFETCH(bool, symmetric);
        QVERIFY(std::find(kPlaygroundGroupSizes.begin(), kPlaygroundGroupSizes.end(), 8) !=
                kPlaygroundGroupSizes.end());
        const std::vector<float> v = gaussian(100, 7, 2, 6); // 12 groups of 8 and one of 4
        const QuantSpec spec = rtn(bits, 8, symmetric);
        const PlaygroundResult r = quantizeRow(v, spec);
        QCOMPARE(r.groups(), std::int64_t(13));
        QCOMPARE(r.groupLength, std::int64_t(8));
        for (std::int64_t g = 0; g < r.groups(); ++g) {
            // Each group's parameters are those of its own values only.
            const std::int64_t b = g * 8, n = std::min<std::int64_t>(8, 100 - b);
            const GroupParams p = groupParams(v.data() + b, n, 1, spec);
            QCOMPARE(r.scales[std::size_t(g)], p.scale);
            QCOMPARE(r.zeros[std::size_t(g)], p.zero);
            const QuantGrid grid = groupGrid(r, g);
            QCOMPARE(grid.begin, b);
            QCOMPARE(grid.end, b + n);
            for (std::int64_t i = b; i < b + n; ++i) // every value lands on its own group's grid
                QVERIFY(std::find(grid.levels.begin(), grid.levels.end(),
                                  double(r.reconstructed[std::size_t(i)])) != grid.levels.end());
        }
        // Groups of 8 fit their values better than groups of 32 (outliers stay in their group).
        QVERIFY(r.mse < quantizeRow(v, rtn(bits, 32, symmetric)).mse);
    }

    void stepThroughReproducesDequantized_data()
    {
        QTest::addColumn<QuantSpec>("spec");
        QTest::newRow("rtn 4 g8") << rtn(4, 8);
        QTest::newRow("rtn 3 sym g32") << rtn(3, 32, true);
        QTest::newRow("rtn+clip 2 g16") << rtn(2, 16, false, true);
        QuantSpec hqq = rtn(4, 16);
        hqq.method = QuantMethod::Hqq;
        hqq.floatZeros = true;
        QTest::newRow("hqq 4 g16 (real zeros)") << hqq;
        QTest::newRow("gguf Q4_K") << QuantSpec::ggml(GgmlType::Q4_K);
    }
    void stepThroughReproducesDequantized()
    {
        QFETCH(QuantSpec, spec);
        const std::vector<float> v = gaussian(256, 11, 3, 8);
        const PlaygroundResult r = quantizeRow(v, spec);
        int clamped = 0;
        for (std::int64_t i = 0; i < std::int64_t(v.size()); ++i) {
            const WeightStep s = weightStep(r, i);
            QCOMPARE(s.value, v[std::size_t(i)]);
            QCOMPARE(s.dequantized, r.reconstructed[std::size_t(i)]);
            QCOMPARE(s.error, r.errors[std::size_t(i)]);
            if (!r.codes.empty())
                QCOMPARE(s.code, r.codes[std::size_t(i)]);
            QVERIFY(s.groupBegin <= i && i < s.groupEnd);
            if (!s.hasScale)
                continue;
            // The numbers chain: w/s, (+z), round, clamp, (q − z)·s.
            QCOMPARE(s.divided, s.value / s.scale);
            QCOMPARE(double(s.rounded), std::nearbyint(double(s.rounded)));
            QCOMPARE(int(s.code), int(std::clamp(s.rounded, 0.0f, float(s.qmax))));
            QCOMPARE(s.clamped, s.rounded < 0 || s.rounded > float(s.qmax));
            QCOMPARE(s.dequantized, (float(s.code) - s.zero) * s.scale);
            clamped += s.clamped ? 1 : 0;
        }
        if (spec.clipSearch) // the clipping search shrinks ranges: some values clip
            QVERIFY(clamped > 0);
        QS_VERIFY_ERROR(test::errorOf([&] { weightStep(r, 256); }), {QStringLiteral("256")});
    }

    void gptqDemoEqualsGptq_data()
    {
        QTest::addColumn<QString>("layer");
        QTest::addColumn<int>("row");
        QTest::addColumn<QuantSpec>("spec");
        QuantSpec g = rtn(4, 32);
        g.method = QuantMethod::Gptq;
        g.blockSize = 64; // lazy batches end inside the row: their GEMM is part of what is checked
        QTest::newRow("down_proj 4-bit g32") << QStringLiteral("model.layers.1.mlp.down_proj") << 5 << g;
        QuantSpec sym = rtn(3, 0, true);
        sym.method = QuantMethod::Gptq;
        sym.actOrder = true;
        QTest::newRow("q_proj 3-bit per channel act-order")
            << QStringLiteral("model.layers.0.self_attn.q_proj") << 17 << sym;
    }
    void gptqDemoEqualsGptq()
    {
        QFETCH(QString, layer);
        QFETCH(int, row);
        QFETCH(QuantSpec, spec);
        QS_REQUIRE_DATA(path, "stories260K");
        QS_REQUIRE_DATA(text, "kjv/train.txt");
        const auto model = Model::open(path);
        const auto tokenizer = Tokenizer::load(path);
        int index = -1;
        for (std::size_t i = 0; i < model->linears().size(); ++i)
            if (model->linears()[i].name == layer)
                index = int(i);
        QVERIFY(index >= 0);
        CalibrationSettings cal;
        cal.text = text;
        cal.samples = 4;
        cal.seqLen = 64;
        const LinearInputStats stats = layerInputStatistics(model, *tokenizer, index, cal);
        QCOMPARE(stats.tokens, std::int64_t(4 * 64));
        const std::vector<float> w = modelRow(*model, layer, row);
        QCOMPARE(stats.xtx.rows(), Eigen::Index(w.size()));
        QVERIFY(stats.xtx.isApprox(stats.xtx.transpose()));

        const GptqDemo d = gptqDemo(w, stats, spec);
        // The project's GPTQ on the same row, H and settings.
        QuantizeRequest request;
        request.layerName = layer;
        request.weight = w.data();
        request.rows = 1;
        request.cols = std::int64_t(w.size());
        request.stats = &stats;
        request.spec = spec;
        const QuantizedTensor gptq = quantizeWeight(request);
        QCOMPARE(d.codes, gptq.unpackedCodes());
        QCOMPARE(d.reconstructed, gptq.dequantize());
        // The whole layer through GPTQ: this row's codes are the same.
        std::int64_t rows = 0, cols = 0;
        const std::vector<float> all = readLinearWeight(*model, layer, &rows, &cols);
        request.weight = all.data();
        request.rows = rows;
        const std::vector<std::uint8_t> layerCodes = quantizeWeight(request).unpackedCodes();
        QVERIFY(std::equal(d.codes.begin(), d.codes.end(), layerCodes.begin() + std::ptrdiff_t(row * cols)));

        // The steps are GPTQ's: each column once, its code the final one; after the last step the
        // row is the reconstruction, and the curves end at each method's output error.
        std::set<std::int64_t> seen;
        for (const GptqColumnStep& st : d.trace.steps) {
            seen.insert(st.column);
            QCOMPARE(st.code, d.codes[std::size_t(st.column)]);
        }
        QCOMPARE(std::int64_t(seen.size()), cols);
        const std::vector<double> last = d.weightsAfter(cols);
        for (std::int64_t c = 0; c < cols; ++c)
            QCOMPARE(last[std::size_t(c)], double(d.reconstructed[std::size_t(c)]));
        QCOMPARE(d.curveSteps.back(), cols);
        QCOMPARE(d.gptqCurve.back(), d.outputError(last));
        QCOMPARE(d.gptqCurve.front(), 0.0);
        QVERIFY(d.rtnCurve.back() > 0);
        // Before any step, the first column quantized has its original value; later ones moved.
        QCOMPARE(d.trace.steps.front().weight, w[std::size_t(d.trace.order.front())]);
        int moved = 0;
        for (std::int64_t i = 1; i < cols; ++i) {
            const GptqColumnStep& st = d.trace.steps[std::size_t(i)];
            moved += st.weight != w[std::size_t(st.column)] ? 1 : 0;
        }
        QVERIFY(moved > cols / 2);

        // SignRound on the same output error: nearest rounding is RTN's row; the learned codes are each
        // within one step of nearest's, the error is the form's value for them and never above nearest's,
        // and on a real layer's inputs some weights round the other way and the error falls.
        const LearnedRounding& lr = d.learned;
        QCOMPARE(lr.nearestError, d.rtnCurve.back());
        std::vector<double> learnedRow(lr.reconstructed.begin(), lr.reconstructed.end());
        QVERIFY(std::abs(lr.learnedError - d.outputError(learnedRow)) <= 1e-9 * (1 + lr.learnedError));
        std::int64_t flipped = 0;
        for (std::size_t c = 0; c < lr.codes.size(); ++c) {
            QVERIFY(std::abs(int(lr.codes[c]) - int(lr.nearestCodes[c])) <= 1);
            flipped += lr.codes[c] != lr.nearestCodes[c];
        }
        QCOMPARE(flipped, lr.roundedUp + lr.roundedDown);
        QCOMPARE(int(lr.curve.size()), 201);
        QVERIFY(flipped > 0);
        QVERIFY2(lr.learnedError < 0.95 * lr.nearestError,
                 qPrintable(QStringLiteral("%1 vs nearest %2").arg(lr.learnedError).arg(lr.nearestError)));
        qInfo("learned rounding: %lld of %lld weights flipped, output error %.5g (nearest %.5g, GPTQ %.5g)",
              qlonglong(flipped), qlonglong(cols), lr.learnedError, lr.nearestError, d.gptqCurve.back());

        // As a playground result (for A/B): GPTQ's row and its numbers, measured as any other.
        const PlaygroundResult asResult = gptqDemoResult(d, 1);
        QCOMPARE(asResult.reconstructed, d.reconstructed);
        QCOMPARE(asResult.codes, d.codes);
        double sq = 0;
        for (std::int64_t c = 0; c < cols; ++c)
            sq += std::pow(double(w[std::size_t(c)] - d.reconstructed[std::size_t(c)]), 2); // f32 errors
        QCOMPARE(asResult.mse, sq / double(cols));
        QCOMPARE(asResult.bitsPerWeight, spec.cost(1, cols).bitsPerWeight(cols));
        for (std::int64_t c = 0; c < cols; ++c) { // every value on its group's levels
            const QuantGrid grid = groupGrid(asResult, asResult.groupOf(c));
            QVERIFY(std::find(grid.levels.begin(), grid.levels.end(),
                              double(d.reconstructed[std::size_t(c)])) != grid.levels.end());
            QVERIFY(!weightStep(asResult, c).hasScale); // GPTQ's code is of the updated value, not of w
            QCOMPARE(weightStep(asResult, c).dequantized, d.reconstructed[std::size_t(c)]);
        }

        QuantSpec notGptq = spec;
        notGptq.method = QuantMethod::Rtn;
        QS_VERIFY_ERROR(test::errorOf([&] { gptqDemo(w, stats, notGptq); }), {QStringLiteral("GPTQ")});
        QS_VERIFY_ERROR(test::errorOf([&] { gptqDemo(std::vector<float>(3, 1.0f), stats, spec); }),
                        {QStringLiteral("3 values")});
        cal.text = QStringLiteral("/nonexistent/cal.txt");
        QS_VERIFY_ERROR(test::errorOf([&] { layerInputStatistics(model, *tokenizer, index, cal); }),
                        {QStringLiteral("/nonexistent/cal.txt")});
    }

    // ---- GUI -----------------------------------------------------------------------------

    void playgroundLiveUpdates()
    {
        QS_REQUIRE_DATA(path, "stories260K");
        MainWindow w;
        w.show();
        QVERIFY(loadInto(w, path));
        w.showPage(QStringLiteral("playground"));
        auto* panel = w.findChild<PlaygroundPanel*>(QStringLiteral("playgroundPanel"));
        QVERIFY(panel);
        QCOMPARE(w.findChild<QTabWidget*>(QStringLiteral("workbenchTabs"))->currentWidget(), panel);
        auto* source = panel->findChild<QComboBox*>(QStringLiteral("playgroundSource"));
        QCOMPARE(source->currentIndex(), 0); // a loaded model starts on its real rows
        auto* layer = panel->findChild<QComboBox*>(QStringLiteral("playgroundLayer"));
        QCOMPARE(layer->count(), int(w.model()->linears().size()));
        layer->setCurrentText(QStringLiteral("model.layers.1.mlp.down_proj"));
        panel->findChild<QSpinBox*>(QStringLiteral("playgroundRow"))->setValue(7);
        QVERIFY2(panel->result(), qPrintable(panel->problem()));
        QCOMPARE(panel->result()->original,
                 modelRow(*w.model(), QStringLiteral("model.layers.1.mlp.down_proj"), 7));

        auto* mse = panel->findChild<QLabel*>(QStringLiteral("playgroundMse"));
        auto* snr = panel->findChild<QLabel*>(QStringLiteral("playgroundSnr"));
        auto* bytes = panel->findChild<QLabel*>(QStringLiteral("playgroundBytes"));
        auto* values = panel->findChild<PlaygroundValuesPlot*>();
        auto* errors = panel->findChild<PlaygroundErrorPlot*>();
        auto* bits = panel->findChild<QSlider*>(QStringLiteral("playgroundBits"));
        QCOMPARE(bits->minimum(), 2);
        QCOMPARE(bits->maximum(), 8);
        bits->setValue(8);
        const QString mse8 = mse->text(), snr8 = snr->text(), bytes8 = bytes->text();
        const double snrDb8 = panel->result()->snrDb;
        const PlotTable values8 = values->table(), errors8 = errors->table();
        QCOMPARE(int(values->table().rows.size()), 172 + 256); // the row's values, then 2^8 levels
        // One slider step: everything follows at once (no timer, no worker).
        QSignalSpy changed(panel, &PlaygroundPanel::resultChanged);
        bits->setValue(2);
        QCOMPARE(changed.count(), 1);
        QVERIFY(mse->text() != mse8);
        QVERIFY(snr->text() != snr8);
        QVERIFY(bytes->text() != bytes8);
        QVERIFY(panel->result()->snrDb < snrDb8);
        QVERIFY(values->table().rows != values8.rows);
        QVERIFY(errors->table().rows != errors8.rows);
        QCOMPARE(int(values->table().rows.size()), 172 + 4);
        QCOMPARE(panel->result()->spec.bits, 2);
        QVERIFY2(panel->lastComputeMilliseconds() < 20,
                 qPrintable(QString::number(panel->lastComputeMilliseconds())));

        // Group size, symmetry, method and the shown group reach the spec.
        auto* group = panel->findChild<QComboBox*>(QStringLiteral("playgroundGroupSize"));
        group->setCurrentIndex(group->findData(64));
        QCOMPARE(int(panel->result()->groups()), 3); // 172 = 64 + 64 + 44
        panel->findChild<QSpinBox*>(QStringLiteral("playgroundShownGroup"))->setValue(2);
        QCOMPARE(int(panel->result()->grid.begin), 128);
        QCOMPARE(int(panel->result()->grid.end), 172);
        panel->findChild<QCheckBox*>(QStringLiteral("playgroundSymmetric"))->setChecked(true);
        QVERIFY(panel->result()->spec.symmetric);
        auto* method = panel->findChild<QComboBox*>(QStringLiteral("playgroundMethod"));
        QCOMPARE(method->count(), int(playgroundMethods().size()));
        const double plainMse = panel->result()->mse;
        method->setCurrentIndex(1);
        QVERIFY(panel->result()->spec.clipSearch);
        QVERIFY(panel->result()->mse <= plainMse);
        QVERIFY(panel->findChild<QLabel*>(QStringLiteral("playgroundMethodNote"))->text().contains(u"GPTQ"));
        panel->findChild<QCheckBox*>(QStringLiteral("playgroundSorted"))->setChecked(true);
        QVERIFY(values->sorted());
        const PlotTable sorted = values->table(); // sorted within each group of 64: groups stay in place
        for (std::size_t i = 1; i < 172; ++i) {
            QCOMPARE(sorted.rows[i][5].toInt(), int(i / 64));
            if (i % 64 != 0)
                QVERIFY(sorted.rows[i - 1][2].toDouble() <= sorted.rows[i][2].toDouble());
        }

        // A row out of range: the controls say so, the numbers and plots empty, nothing breaks.
        auto* row = panel->findChild<QSpinBox*>(QStringLiteral("playgroundRow"));
        row->setValue(100000);
        QVERIFY(!panel->result());
        auto* message = panel->findChild<QLabel*>(QStringLiteral("playgroundMessage"));
        QVERIFY(message->isVisible());
        QVERIFY2(message->text().contains(u"out of range"), qPrintable(message->text()));
        QCOMPARE(mse->text(), QStringLiteral("–"));
        QVERIFY(!values->hasData());
        QVERIFY(!values->toPixmap(300, 200).isNull());
        values->replot(); // an empty legend below the axes must not narrow them
        QVERIFY2(
            values->axisRect()->width() > values->width() / 2,
            qPrintable(QStringLiteral("%1 of %2").arg(values->axisRect()->width()).arg(values->width())));
        row->setValue(0);
        QVERIFY(panel->result());
        QVERIFY(!message->isVisible());
    }

    void syntheticOutliersAndNoModel()
    {
        MainWindow w; // no model at all
        w.show();
        auto* panel = w.findChild<PlaygroundPanel*>(QStringLiteral("playgroundPanel"));
        QVERIFY(panel);
        auto* source = panel->findChild<QComboBox*>(QStringLiteral("playgroundSource"));
        QCOMPARE(source->currentIndex(), 1); // synthetic works without a model
        QVERIFY(panel->result());
        source->setCurrentIndex(0);
        QVERIFY(!panel->result());
        QVERIFY(panel->problem().contains(u"No model"));
        QVERIFY(panel->findChild<QLabel*>(QStringLiteral("playgroundRowInfo"))->text().contains(u"No model"));
        source->setCurrentIndex(1);
        QVERIFY(panel->result());

        panel->findChild<QSpinBox*>(QStringLiteral("playgroundCount"))->setValue(1024);
        panel->findChild<QDoubleSpinBox*>(QStringLiteral("playgroundOutlierMagnitude"))->setValue(30);
        panel->findChild<QSpinBox*>(QStringLiteral("playgroundOutliers"))->setValue(3);
        QCOMPARE(panel->result()->original.size(), std::size_t(1024));
        int big = 0;
        for (float x : panel->result()->original)
            big += std::fabs(x) > 29.9f ? 1 : 0;
        QCOMPARE(big, 3);
        auto* group = panel->findChild<QComboBox*>(QStringLiteral("playgroundGroupSize"));
        group->setCurrentIndex(group->findData(32));
        const double grouped = panel->result()->mse;
        group->setCurrentIndex(group->count() - 1); // per channel: one scale for the whole row
        QCOMPARE(int(panel->result()->groups()), 1);
        QVERIFY(panel->result()->mse > grouped);
        auto* distribution = panel->findChild<QComboBox*>(QStringLiteral("playgroundDistribution"));
        distribution->setCurrentIndex(1);
        QVERIFY(panel->result());
        // More outliers than values: said, not crashed.
        panel->findChild<QSpinBox*>(QStringLiteral("playgroundCount"))->setValue(2);
        QVERIFY(!panel->result());
        QVERIFY(panel->problem().contains(u"outliers"));
        panel->findChild<QSpinBox*>(QStringLiteral("playgroundOutliers"))->setValue(0);
        QVERIFY(panel->result());
    }

    void presentationModeAndPlots()
    {
        QS_REQUIRE_DATA(path, "stories260K");
        MainWindow w;
        w.show();
        QVERIFY(loadInto(w, path));
        w.showPage(QStringLiteral("overview"));
        auto* panel = w.playgroundPanel();
        auto* mse = panel->findChild<QLabel*>(QStringLiteral("playgroundMse"));
        auto* values = panel->findChild<PlaygroundValuesPlot*>();
        const double labelSize = QFontInfo(mse->font()).pointSizeF();
        const double axisSize = values->xAxis->labelFont().pointSizeF();
        const double lineWidth = values->graph(values->graphCount() - 1)->pen().widthF();
        // The View menu's action (F5) shows the page and enlarges it.
        QAction* action = w.findChild<QAction*>(QStringLiteral("actionPresentationMode"));
        QVERIFY(action);
        QVERIFY(action->shortcuts().contains(QKeySequence(Qt::Key_F5)));
        action->trigger();
        QVERIFY(panel->presentationMode());
        QCOMPARE(w.findChild<QTabWidget*>(QStringLiteral("workbenchTabs"))->currentWidget(), panel);
        QVERIFY(panel->findChild<QPushButton*>(QStringLiteral("playgroundPresentation"))->isChecked());
        QVERIFY2(
            QFontInfo(mse->font()).pointSizeF() > 1.4 * labelSize,
            qPrintable(QStringLiteral("%1 → %2").arg(labelSize).arg(QFontInfo(mse->font()).pointSizeF())));
        QVERIFY(values->xAxis->labelFont().pointSizeF() > 1.4 * axisSize);
        QVERIFY(values->graph(values->graphCount() - 1)->pen().widthF() > 1.4 * lineWidth);
        QCOMPARE(values->presentationScale(), panel->findChild<PlaygroundErrorPlot*>()->presentationScale());

        // Every plot renders (also in presentation mode) and exports PNG, PDF and CSV.
        QTemporaryDir tmp;
        const QList<PlaygroundPlot*> plots = panel->findChildren<PlaygroundPlot*>();
        QCOMPARE(plots.size(), qsizetype(4)); // row, error, codebook points, rotation
        for (PlaygroundPlot* plot : plots) {
            QVERIFY(plot->hasData());
            const QImage image = plot->toPixmap(640, 420).toImage();
            QCOMPARE(image.size(), QSize(640, 420));
            QVERIFY2(distinctColours(image) >= 3, qPrintable(plot->objectName()));
            const QString base = tmp.filePath(plot->objectName());
            plot->exportPng(base + u".png", 640, 420);
            plot->exportPdf(base + u".pdf", 640, 420);
            plot->exportCsv(base + u".csv");
            QFile png(base + u".png"), pdf(base + u".pdf"), csv(base + u".csv");
            QVERIFY(png.open(QIODevice::ReadOnly) && png.read(4).startsWith("\x89PNG"));
            QVERIFY(pdf.open(QIODevice::ReadOnly) && pdf.read(4).startsWith("%PDF"));
            QVERIFY(csv.open(QIODevice::ReadOnly));
            QCOMPARE(int(csv.readAll().count('\n')), int(plot->table().rows.size()) + 1);
        }
        panel->findChild<QPushButton*>(QStringLiteral("playgroundPresentation"))->click();
        QVERIFY(!panel->presentationMode());
        QVERIFY(!action->isChecked());
        QCOMPARE(QFontInfo(mse->font()).pointSizeF(), labelSize);
        QCOMPARE(values->xAxis->labelFont().pointSizeF(), axisSize);
    }

    void compareTwoMethods()
    {
        QS_REQUIRE_DATA(path, "stories260K");
        MainWindow w;
        PlaygroundPanel* panel = openPlayground(w, path);
        QVERIFY(panel);
        panel->findChild<QComboBox*>(QStringLiteral("playgroundLayer"))
            ->setCurrentText(QStringLiteral("model.layers.2.mlp.down_proj"));
        panel->findChild<QSpinBox*>(QStringLiteral("playgroundRow"))->setValue(3);
        QVERIFY(panel->result());
        QVERIFY(!panel->comparisonResult());
        auto* mseB = panel->findChild<QLabel*>(QStringLiteral("playgroundMseB"));
        QVERIFY(!mseB->isVisible());
        panel->findChild<QCheckBox*>(QStringLiteral("playgroundCompare"))->setChecked(true);
        QVERIFY(panel->comparisonResult());
        QVERIFY(mseB->isVisible());
        const std::vector<float> row =
            modelRow(*w.model(), QStringLiteral("model.layers.2.mlp.down_proj"), 3);
        auto* methodB = panel->findChild<QComboBox*>(QStringLiteral("playgroundMethodB"));
        auto* bitsB = panel->findChild<QSlider*>(QStringLiteral("playgroundBitsB"));
        auto* groupB = panel->findChild<QComboBox*>(QStringLiteral("playgroundGroupSizeB"));
        const std::vector<PlaygroundMethod> methods = playgroundMethods();
        std::size_t clipIndex = 0, ggmlIndex = 0;
        for (std::size_t i = 0; i < methods.size(); ++i) {
            if (methods[i].clipSearch)
                clipIndex = i;
            if (methods[i].method == QuantMethod::Ggml)
                ggmlIndex = i;
        }
        auto* values = panel->findChild<PlaygroundValuesPlot*>();
        auto* errors = panel->findChild<PlaygroundErrorPlot*>();
        struct Case
        {
            std::size_t method;
            int bits, group;
        };
        for (const Case& c : {Case{clipIndex, 3, 16}, Case{0, 4, 8}, Case{ggmlIndex, 4, 32}}) {
            methodB->setCurrentIndex(int(c.method));
            bitsB->setValue(c.bits);
            groupB->setCurrentIndex(groupB->findData(c.group));
            // Each side equals the single-method result of its own spec.
            const PlaygroundResult a = quantizeRow(row, panel->result()->spec, panel->result()->shownGroup);
            const PlaygroundResult b = quantizeRow(row, panel->comparisonResult()->spec);
            QCOMPARE(panel->result()->reconstructed, a.reconstructed);
            QCOMPARE(panel->result()->mse, a.mse);
            QCOMPARE(panel->comparisonResult()->reconstructed, b.reconstructed);
            QCOMPARE(panel->comparisonResult()->mse, b.mse);
            QCOMPARE(panel->comparisonResult()->bitsPerWeight, b.bitsPerWeight);
            if (methods[c.method].method != QuantMethod::Ggml) { // gguf: llama.cpp's fallback for 172 values
                QCOMPARE(panel->comparisonResult()->spec.method, methods[c.method].method);
                QCOMPARE(panel->comparisonResult()->spec.clipSearch, methods[c.method].clipSearch);
            }
            QCOMPARE(mseB->text(), QString::number(b.mse, 'g', 4));
            QCOMPARE(panel->findChild<QLabel*>(QStringLiteral("playgroundBpwB"))->text(),
                     QString::number(b.bitsPerWeight, 'f', 3));
            const QString winner = panel->findChild<QLabel*>(QStringLiteral("playgroundWinner"))->text();
            QVERIFY2(winner.startsWith(a.mse < b.mse ? u"A wins" : u"B wins"), qPrintable(winner));
            QVERIFY2(panel->lastComputeMilliseconds() < 20,
                     qPrintable(QString::number(panel->lastComputeMilliseconds())));
            qInfo("A/B of %s and %s on %zu values: %.3f ms", qPrintable(a.spec.label()),
                  qPrintable(b.spec.label()), row.size(), panel->lastComputeMilliseconds());
            // Both drawn: a graph with B's reconstruction, and B's histogram over A's bins.
            bool drawn = false;
            for (int g = 0; g < values->graphCount(); ++g)
                if (values->graph(g)->name().startsWith(u"reconstructed B"))
                    drawn = values->graph(g)->dataCount() == int(row.size());
            QVERIFY(drawn);
            const PlotTable t = errors->table();
            QCOMPARE(t.header.last(), QStringLiteral("count_b"));
            double countA = 0, countB = 0;
            for (const QStringList& r : t.rows) {
                countA += r[2].toDouble();
                countB += r[3].toDouble();
            }
            QCOMPARE(countA, double(row.size()));
            QCOMPARE(countB, double(row.size()));
        }
        panel->findChild<QCheckBox*>(QStringLiteral("playgroundCompare"))->setChecked(false);
        QVERIFY(!panel->comparisonResult());
        QCOMPARE(errors->table().header.size(), qsizetype(3));
    }

    void levelsOverTheirGroupAndFixedAxes()
    {
        QS_REQUIRE_DATA(path, "stories260K");
        MainWindow w;
        PlaygroundPanel* panel = openPlayground(w, path);
        QVERIFY(panel);
        panel->findChild<QComboBox*>(QStringLiteral("playgroundLayer"))
            ->setCurrentText(QStringLiteral("model.layers.0.mlp.down_proj"));
        auto* group = panel->findChild<QComboBox*>(QStringLiteral("playgroundGroupSize"));
        QCOMPARE(group->itemData(0).toInt(), 8);
        group->setCurrentIndex(group->findData(8));
        auto* bits = panel->findChild<QSlider*>(QStringLiteral("playgroundBits"));
        bits->setValue(2);
        QCOMPARE(panel->result()->groupLength, std::int64_t(8));
        auto* shown = panel->findChild<QSpinBox*>(QStringLiteral("playgroundShownGroup"));
        shown->setValue(5);
        auto* values = panel->findChild<PlaygroundValuesPlot*>();
        // Every level segment spans its own group's columns, and group 5's are all there.
        const PlaygroundResult& r = *panel->result();
        std::map<qlonglong, int> segments;
        for (int i = 0; i < values->itemCount(); ++i) {
            auto* line = qobject_cast<QCPItemLine*>(values->item(i));
            if (!line || !line->property("group").isValid())
                continue;
            const qlonglong g = line->property("group").toLongLong();
            const QuantGrid grid = groupGrid(r, g);
            QCOMPARE(line->start->coords().x(), double(grid.begin) - 0.5);
            QCOMPARE(line->end->coords().x(), double(grid.end) - 0.5);
            QCOMPARE(line->start->coords().y(), line->end->coords().y());
            QVERIFY(std::find(grid.levels.begin(), grid.levels.end(), line->start->coords().y()) !=
                    grid.levels.end());
            ++segments[g];
        }
        QCOMPARE(segments[5], int(r.grid.levels.size()));
        QCOMPARE(int(segments.size()), 1); // the shown group's as items, the others' as one graph
        // 2 bits: every other group's levels too, each over its own columns (one curve, NaN between
        // segments).
        QCPCurve* others = nullptr;
        for (int i = 0; i < values->plottableCount(); ++i)
            if (values->plottable(i)->objectName() == u"otherGroupLevels")
                others = qobject_cast<QCPCurve*>(values->plottable(i));
        QVERIFY(others);
        std::map<std::int64_t, int> otherSegments;
        const auto& data = *others->data();
        QCOMPARE(data.size() % 3, 0);
        for (int k = 0; k + 2 < data.size(); k += 3) {
            const double begin = data.at(k)->key + 0.5, end = data.at(k + 1)->key + 0.5;
            QVERIFY(std::isnan(data.at(k + 2)->value));
            QCOMPARE(data.at(k)->value, data.at(k + 1)->value);
            const std::int64_t g = std::int64_t(begin) / r.groupLength;
            const QuantGrid grid = groupGrid(r, g);
            QCOMPARE(begin, double(grid.begin));
            QCOMPARE(end, double(grid.end));
            QVERIFY(std::find(grid.levels.begin(), grid.levels.end(), data.at(k)->value) !=
                    grid.levels.end());
            ++otherSegments[g];
        }
        QCOMPARE(int(otherSegments.size()), int(r.groups()) - 1);
        QVERIFY(!otherSegments.count(5));
        QCOMPARE(r.grid.begin, std::int64_t(40));
        bits->setValue(8); // 256 levels × 22 groups: only the shown group's
        segments.clear();
        for (int i = 0; i < values->itemCount(); ++i)
            if (auto* line = qobject_cast<QCPItemLine*>(values->item(i));
                line && line->property("group").isValid()) {
                QCOMPARE(line->property("group").toLongLong(), 5);
                ++segments[5];
            }
        QCOMPARE(segments[5], 256);

        // Fixed axes: bits, group size and method change the data, not the axes.
        bits->setValue(4);
        const QCPRange y = values->yAxis->range();
        auto* errors = panel->findChild<PlaygroundErrorPlot*>();
        const QCPRange e = errors->xAxis->range();
        bits->setValue(8);
        QCOMPARE(values->yAxis->range(), y);
        QCOMPARE(errors->xAxis->range(), e);
        group->setCurrentIndex(group->findData(64));
        panel->findChild<QComboBox*>(QStringLiteral("playgroundMethod"))->setCurrentIndex(1);
        QCOMPARE(values->yAxis->range(), y);
        QCOMPARE(errors->xAxis->range(), e);
        // Reset fits them to the row as it is now (8-bit errors are far smaller).
        panel->findChild<QPushButton*>(QStringLiteral("playgroundResetAxes"))->click();
        QVERIFY(errors->xAxis->range().size() < e.size() / 4);
        // Another row: the axes fit the new row.
        panel->findChild<QSpinBox*>(QStringLiteral("playgroundRow"))->setValue(9);
        double lo = 0, hi = 0;
        for (float v : panel->result()->original) {
            lo = std::min(lo, double(v));
            hi = std::max(hi, double(v));
        }
        QVERIFY(values->yAxis->range().lower <= lo && values->yAxis->range().upper >= hi);
        QVERIFY(values->yAxis->range().size() < 1.5 * (hi - lo));
    }

    void stepThroughOneWeight()
    {
        QS_REQUIRE_DATA(path, "stories260K");
        MainWindow w;
        PlaygroundPanel* panel = openPlayground(w, path);
        QVERIFY(panel);
        auto* group = panel->findChild<QComboBox*>(QStringLiteral("playgroundGroupSize"));
        group->setCurrentIndex(group->findData(8));
        auto* weight = panel->findChild<QSpinBox*>(QStringLiteral("playgroundWeight"));
        auto* shown = panel->findChild<QSpinBox*>(QStringLiteral("playgroundShownGroup"));
        auto* text = panel->findChild<QLabel*>(QStringLiteral("playgroundStepText"));
        auto* values = panel->findChild<PlaygroundValuesPlot*>();
        weight->setValue(21);
        QCOMPARE(shown->value(), 2); // the weight's group is the one drawn
        QCOMPARE(values->selectedIndex(), 21);
        const WeightStep s = weightStep(*panel->result(), 21);
        for (double v : {double(s.scale), double(s.divided), double(s.dequantized), double(s.error)})
            QVERIFY2(text->text().contains(QString::number(v, 'g', 5)), qPrintable(text->text()));
        QVERIFY(text->text().contains(QStringLiteral("columns 16–23")));
        panel->findChild<QToolButton*>(QStringLiteral("playgroundNextWeight"))->click();
        QCOMPARE(weight->value(), 22);
        panel->findChild<QToolButton*>(QStringLiteral("playgroundNextWeight"))->click();
        panel->findChild<QToolButton*>(QStringLiteral("playgroundNextWeight"))->click();
        QCOMPARE(weight->value(), 24);
        QCOMPARE(shown->value(), 3);
        QCOMPARE(values->selectedIndex(), 24);
        panel->findChild<QToolButton*>(QStringLiteral("playgroundPreviousWeight"))->click();
        QCOMPARE(shown->value(), 2);
        shown->setValue(0); // choosing a group moves the weight into it
        QCOMPARE(weight->value(), 0);
        // While two methods are compared the steps can follow B: B's own scale and outcome.
        auto* stepOf = panel->findChild<QComboBox*>(QStringLiteral("playgroundStepOf"));
        QVERIFY(!stepOf->isEnabled()); // no B yet
        panel->findChild<QCheckBox*>(QStringLiteral("playgroundCompare"))->setChecked(true);
        panel->findChild<QSlider*>(QStringLiteral("playgroundBitsB"))->setValue(2);
        QVERIFY(panel->comparisonResult());
        QVERIFY(stepOf->isEnabled());
        weight->setValue(5);
        const WeightStep a = weightStep(*panel->result(), 5);
        const WeightStep b = weightStep(*panel->comparisonResult(), 5);
        QVERIFY(a.scale != b.scale);
        QVERIFY(text->text().contains(QString::number(double(a.scale), 'g', 5)));
        stepOf->setCurrentIndex(1);
        QVERIFY2(text->text().contains(QString::number(double(b.scale), 'g', 5)), qPrintable(text->text()));
        QVERIFY(text->text().contains(QString::number(double(b.dequantized), 'g', 5)));
        QVERIFY(text->text().startsWith(QStringLiteral("<p>B (")));
    }

    void gptqDemonstrationAsAJob()
    {
        QS_REQUIRE_DATA(path, "stories260K");
        QS_REQUIRE_DATA(text, "kjv/train.txt");
        MainWindow w;
        PlaygroundPanel* panel = openPlayground(w, path, text);
        QVERIFY(panel);
        const QString layer = QStringLiteral("model.layers.3.mlp.down_proj");
        panel->findChild<QComboBox*>(QStringLiteral("playgroundLayer"))->setCurrentText(layer);
        panel->findChild<QSpinBox*>(QStringLiteral("playgroundRow"))->setValue(11);
        QSignalSpy ready(panel, &PlaygroundPanel::gptqDemoChanged);
        StallProbe probe(200);
        panel->findChild<QPushButton*>(QStringLiteral("playgroundGptqStart"))->click();
        QVERIFY(panel->gptqRunning());
        QVERIFY(ready.wait(60000));
        QVERIFY2(probe.windowAnswered(), probe.report().constData());
        const auto demo = panel->gptqDemo();
        QVERIFY(demo);
        QCOMPARE(demo->original, modelRow(*w.model(), layer, 11));
        QCOMPARE(demo->spec.bits, panel->result()->spec.bits);
        QCOMPARE(demo->spec.groupSize, panel->result()->spec.groupSize);
        // Its codes are GPTQ's on the same row and statistics (recomputed here the same way).
        const auto model = Model::open(path);
        const auto tokenizer = Tokenizer::load(path);
        int index = 0;
        while (model->linears()[std::size_t(index)].name != layer)
            ++index;
        CalibrationSettings cal;
        cal.text = text;
        cal.samples = 16;
        cal.seqLen = 128;
        const LinearInputStats stats = layerInputStatistics(model, *tokenizer, index, cal);
        QCOMPARE(demo->tokens, stats.tokens);
        QuantizeRequest request;
        request.layerName = layer;
        request.weight = demo->original.data();
        request.rows = 1;
        request.cols = demo->columns();
        request.stats = &stats;
        request.spec = demo->spec;
        QCOMPARE(demo->codes, quantizeWeight(request).unpackedCodes());

        // Stepping: the numbers follow the step.
        auto* step = panel->findChild<QSpinBox*>(QStringLiteral("playgroundGptqStep"));
        auto* numbers = panel->findChild<QLabel*>(QStringLiteral("playgroundGptqText"));
        QCOMPARE(step->maximum(), int(demo->columns()));
        const QString first = numbers->text();
        panel->findChild<QToolButton*>(QStringLiteral("playgroundGptqNext"))->click();
        QCOMPARE(step->value(), 2);
        QVERIFY(numbers->text() != first);
        QVERIFY(numbers->text().contains(QString::number(demo->trace.steps[1].column)));
        auto* rowPlot = panel->findChild<PlaygroundGptqRowPlot*>();
        QVERIFY(rowPlot->hasData());
        QCOMPARE(int(rowPlot->table().rows.size()), int(demo->columns()));

        // B = GPTQ's result on the same row: RTN vs GPTQ side by side, GPTQ's numbers exact.
        panel->findChild<QCheckBox*>(QStringLiteral("playgroundCompare"))->setChecked(true);
        auto* methodB = panel->findChild<QComboBox*>(QStringLiteral("playgroundMethodB"));
        methodB->setCurrentIndex(methodB->count() - 1);
        QVERIFY(panel->comparisonResult());
        QCOMPARE(panel->comparisonResult()->spec.method, QuantMethod::Gptq);
        QCOMPARE(panel->comparisonResult()->reconstructed, demo->reconstructed);
        QCOMPARE(panel->comparisonResult()->mse, gptqDemoResult(*demo).mse);
        QCOMPARE(panel->result()->spec.method, QuantMethod::Rtn);
        const QString winner = panel->findChild<QLabel*>(QStringLiteral("playgroundWinner"))->text();
        QVERIFY(winner.contains(u"wins"));
        QVERIFY2(winner.contains(QString::number(demo->gptqCurve.back(), 'g', 3)) &&
                     winner.contains(QString::number(demo->rtnCurve.back(), 'g', 3)),
                 qPrintable(winner)); // and the output errors, which GPTQ minimises
        QVERIFY2(panel->lastComputeMilliseconds() < 20,
                 qPrintable(QString::number(panel->lastComputeMilliseconds())));

        // Other bits: the statistics are reused, the demonstration follows (a job again), and B with it.
        ready.clear();
        panel->findChild<QSlider*>(QStringLiteral("playgroundBits"))->setValue(3);
        QVERIFY(!panel->comparisonResult()); // until GPTQ has run with 3 bits
        QVERIFY(panel->findChild<QLabel*>(QStringLiteral("playgroundMessage"))->text().contains(u"GPTQ"));
        QVERIFY(ready.wait(30000));
        QCOMPARE(panel->gptqDemo()->spec.bits, 3);
        QVERIFY(panel->comparisonResult());
        QCOMPARE(panel->comparisonResult()->spec.bits, 3);
        QCOMPARE(panel->comparisonResult()->reconstructed, panel->gptqDemo()->reconstructed);
        panel->findChild<QCheckBox*>(QStringLiteral("playgroundCompare"))->setChecked(false);

        // Another layer needs its own statistics: Cancel stops the job, the shown demonstration stays.
        const auto before = panel->gptqDemo();
        panel->findChild<QComboBox*>(QStringLiteral("playgroundLayer"))
            ->setCurrentText(QStringLiteral("model.layers.4.mlp.down_proj"));
        QSignalSpy finished(panel, &PlaygroundPanel::gptqFinished);
        panel->findChild<QPushButton*>(QStringLiteral("playgroundGptqStart"))->click();
        QVERIFY(panel->gptqRunning());
        auto* cancel = panel->findChild<QPushButton*>(QStringLiteral("playgroundGptqCancel"));
        QVERIFY(cancel->isEnabled());
        cancel->click();
        QVERIFY(finished.wait(30000));
        QVERIFY(!panel->gptqRunning());
        QCOMPARE(panel->gptqDemo(), before);
        QVERIFY2(
            panel->findChild<QLabel*>(QStringLiteral("playgroundGptqStatus"))->text().contains(u"Cancelled"),
            qPrintable(panel->findChild<QLabel*>(QStringLiteral("playgroundGptqStatus"))->text()));

        // A synthetic row cannot be shown: said, nothing started.
        panel->findChild<QComboBox*>(QStringLiteral("playgroundSource"))->setCurrentIndex(1);
        panel->findChild<QPushButton*>(QStringLiteral("playgroundGptqStart"))->click();
        QVERIFY(!panel->gptqRunning());
        QVERIFY(
            panel->findChild<QLabel*>(QStringLiteral("playgroundGptqStatus"))->text().contains(u"real row"));
    }

    void codebookMethodsAndRotationInTheGui()
    {
        // The new methods from the controls: AQLM and QuIP# as a job (the window answers), with their
        // own controls and the inputs they were given; SqueezeLLM's exact share; RTN with and without the
        // rotation side by side on a row with outliers; the codebook view and the step-through follow.
        QS_REQUIRE_DATA(path, "stories260K");
        QS_REQUIRE_DATA(text, "kjv/train.txt");
        MainWindow w;
        PlaygroundPanel* panel = openPlayground(w, path, text);
        QVERIFY(panel);
        auto* codebook = panel->findChild<QComboBox*>(QStringLiteral("playgroundCodebook"));
        auto* sparse = panel->findChild<QDoubleSpinBox*>(QStringLiteral("playgroundSparse"));
        auto* rotate = panel->findChild<QCheckBox*>(QStringLiteral("playgroundRotate"));
        auto* inputs = panel->findChild<QLabel*>(QStringLiteral("playgroundInputsNote"));
        auto* group = panel->findChild<QComboBox*>(QStringLiteral("playgroundGroupSize"));
        auto* stepText = panel->findChild<QLabel*>(QStringLiteral("playgroundStepText"));
        auto* pairs = panel->findChild<PlaygroundPairsPlot*>();
        auto* rotation = panel->findChild<PlaygroundRotationPlot*>();
        QVERIFY(codebook && sparse && rotate && inputs && pairs && rotation);

        StallProbe probe(200);
        QCOMPARE(
            panel->applySettings(QStringLiteral("distribution=laplace,count=4096,seed=3,method=aqlm,bits=2,"
                                                "codebook=8,weight=20,view=codebook")),
            QString());
        QVERIFY(panel->rowRunning());
        QTRY_VERIFY_WITH_TIMEOUT(!panel->rowRunning() && panel->result() &&
                                     panel->result()->spec.method == QuantMethod::Aqlm,
                                 60000);
        QVERIFY2(probe.windowAnswered(), probe.report().constData());
        QCOMPARE(panel->result()->spec.codebookBits, 8);
        QCOMPARE(panel->result()->original.size(), std::size_t(4096));
        QVERIFY(codebook->isVisible() && codebook->isEnabled() && !sparse->isVisible());
        QVERIFY(rotate->isVisible() && rotate->isEnabled() && !group->isEnabled());
        QVERIFY(inputs->isVisible() && inputs->text().contains(QStringLiteral("isotropic")));
        QCOMPARE(pairs->result(), panel->result().get());
        QVERIFY(pairs->table().rows.size() > 512 * 2);
        QVERIFY(stepText->text().contains(QStringLiteral("codebooks of 256 entries")));
        QVERIFY2(stepText->text().contains(QStringLiteral("vector 2")), qPrintable(stepText->text()));

        // QuIP# always rotates: the box is ticked and fixed, the distribution before and after is shown.
        QCOMPARE(panel->applySettings(QStringLiteral("method=quipsharp")), QString());
        QTRY_VERIFY_WITH_TIMEOUT(!panel->rowRunning() && panel->result() &&
                                     panel->result()->spec.method == QuantMethod::QuipSharp,
                                 60000);
        QVERIFY(rotate->isChecked() && !rotate->isEnabled() && !codebook->isVisible());
        QVERIFY(rotation->table().header.contains(QStringLiteral("rotated")));
        QVERIFY(std::fabs(panel->result()->rotatedKurtosis) < 0.5 * panel->result()->kurtosis);
        QVERIFY(stepText->text().contains(QStringLiteral("E8P")));
        QVERIFY(stepText->text().contains(QStringLiteral("rotated")));

        // A new setting while one runs replaces it: only the last one's result arrives.
        panel->applySettings(QStringLiteral("bits=3"));
        panel->applySettings(QStringLiteral("bits=4"));
        QTRY_VERIFY_WITH_TIMEOUT(!panel->rowRunning() && panel->result()->spec.bits == 4, 60000);
        // Leaving QuIP# gives the rotation box back as the user left it (unticked): HQQ does not rotate.
        QCOMPARE(panel->applySettings(QStringLiteral("method=hqq")), QString());
        QVERIFY(!rotate->isChecked() && rotate->isEnabled());
        QCOMPARE(panel->result()->spec.incoherence, Incoherence::None);

        // SqueezeLLM (quick: on the UI thread) keeps its outliers exact.
        QCOMPARE(
            panel->applySettings(QStringLiteral("distribution=gaussian,count=512,outliers=3,magnitude=15,"
                                                "method=squeezellm,bits=3,sparse=1")),
            QString());
        QVERIFY(!panel->rowRunning());
        QCOMPARE(panel->result()->spec.method, QuantMethod::SqueezeLlm);
        QCOMPARE(panel->result()->spec.sparsePercent, 1.0);
        QVERIFY(sparse->isVisible() && !rotate->isVisible());
        QCOMPARE(panel->result()->exactColumns.size(), std::size_t(5));
        QCOMPARE(panel->result()->grid.levels.size(), std::size_t(8));

        // RTN per channel with the rotation (A) against without (B): A wins on the outliers' row.
        QCOMPARE(panel->applySettings(QStringLiteral("method=rtn,bits=4,group=channel,rotate=1,compare=rtn,"
                                                     "bitsB=4,groupB=channel,rotateB=0")),
                 QString());
        QVERIFY(panel->result() && panel->comparisonResult());
        QCOMPARE(panel->result()->spec.incoherence, Incoherence::Hadamard);
        QCOMPARE(panel->comparisonResult()->spec.incoherence, Incoherence::None);
        QVERIFY(panel->result()->mse < 0.5 * panel->comparisonResult()->mse);
        QVERIFY(!inputs->isVisible());
        QVERIFY(rotation->table().header.contains(QStringLiteral("rotated")));
        QVERIFY(panel->findChild<QLabel*>(QStringLiteral("playgroundWinner"))->text().startsWith(u'A'));
        for (PlaygroundPlot* plot :
             {static_cast<PlaygroundPlot*>(pairs), static_cast<PlaygroundPlot*>(rotation)})
            QVERIFY2(distinctColours(plot->toPixmap(640, 420).toImage()) >= 3,
                     qPrintable(plot->objectName()));

        // A calibrated method on a real row is given isotropic inputs until the GPTQ demonstration computes
        // the layer's statistics; then it is computed again with them, by itself.
        QCOMPARE(
            panel->applySettings(QStringLiteral("compare=off,rotate=0,layer=model.layers.1.mlp.up_proj,row=2,"
                                                "group=32,method=aqlm,bits=2,codebook=4")),
            QString());
        QTRY_VERIFY_WITH_TIMEOUT(!panel->rowRunning() && panel->result()->spec.method == QuantMethod::Aqlm,
                                 60000);
        QCOMPARE(panel->result()->inputs, PlaygroundInputs::Isotropic);
        QSignalSpy done(panel, &PlaygroundPanel::gptqFinished);
        panel->startGptqDemo();
        QVERIFY(done.wait(60000));
        QTRY_VERIFY_WITH_TIMEOUT(!panel->rowRunning() && panel->result()->inputs == PlaygroundInputs::Layer,
                                 60000);
        QCOMPARE(panel->result()->spec.method, QuantMethod::Aqlm);
        QVERIFY(panel->result()->inputTokens > 1000);
        QVERIFY(inputs->text().contains(QStringLiteral("layer's statistics")));
    }

    void scriptedSettingsAndControlsSwitch()
    {
        QS_REQUIRE_DATA(path, "stories260K");
        MainWindow w;
        PlaygroundPanel* panel = openPlayground(w, path);
        QVERIFY(panel);
        const QString problems = panel->applySettings(QStringLiteral(
            "layer=model.layers.2.self_attn.o_proj,row=4,group=16,bits=3,symmetric=1,compare=hqq,"
            "bitsB=4,groupB=channel,weight=37,nonsense=1,group=7"));
        QCOMPARE(problems, QStringLiteral("nonsense=1, group=7"));
        QVERIFY(panel->result() && panel->comparisonResult());
        QCOMPARE(panel->result()->original,
                 modelRow(*w.model(), QStringLiteral("model.layers.2.self_attn.o_proj"), 4));
        QCOMPARE(panel->result()->spec.groupSize, 16);
        QCOMPARE(panel->result()->spec.bits, 3);
        QVERIFY(panel->result()->spec.symmetric);
        QCOMPARE(panel->comparisonResult()->spec.method, QuantMethod::Hqq);
        QCOMPARE(panel->comparisonResult()->spec.granularity, Granularity::PerChannel);
        QCOMPARE(panel->findChild<QSpinBox*>(QStringLiteral("playgroundWeight"))->value(), 37);
        QCOMPARE(panel->result()->shownGroup, std::int64_t(2));
        // The Controls switch puts the controls away and brings them back.
        auto* controls = panel->findChild<QToolButton*>(QStringLiteral("playgroundShowControls"));
        auto* bits = panel->findChild<QSlider*>(QStringLiteral("playgroundBits"));
        QVERIFY(bits->isVisible());
        const int plotWidth = panel->findChild<PlaygroundValuesPlot*>()->width();
        controls->click();
        QVERIFY(!bits->isVisible());
        QTRY_VERIFY(panel->findChild<PlaygroundValuesPlot*>()->width() > plotWidth);
        controls->click();
        QVERIFY(bits->isVisible());
    }

    void generationSideBySide()
    {
        QS_REQUIRE_DATA(path, "stories260K");
        MainWindow w;
        w.show();
        QVERIFY(loadInto(w, path));
        w.showPage(QStringLiteral("generate"));
        auto* panel = w.generationPanel();
        QCOMPARE(w.findChild<QTabWidget*>(QStringLiteral("workbenchTabs"))->currentWidget(), panel);

        // A 2-bit RTN checkpoint (no calibration needed), as a run would leave it.
        QTemporaryDir tmp;
        const auto model = w.model();
        const auto tokenizer = Tokenizer::load(model->path());
        const QuantizeResult q = runQuantization(model, LayerPlan::uniform(*model, rtn(2, 32)),
                                                 CalibrationSettings{}, tokenizer.get());
        const QString folder = tmp.filePath(QStringLiteral("rtn-w2"));
        saveQuantizedModel(folder, *model, q, QJsonObject());
        panel->addQuantizedModel(QStringLiteral("rtn w2"), folder);
        QCOMPARE(panel->quantizedModelCount(), 1);

        const QString prompt = QStringLiteral("Once upon a time, there was a little");
        panel->findChild<QLineEdit*>(QStringLiteral("generatePrompt"))->setText(prompt);
        panel->findChild<QSpinBox*>(QStringLiteral("generateMaxTokens"))->setValue(24);
        QVERIFY(panel->findChild<QCheckBox*>(QStringLiteral("generateGreedy"))->isChecked());
        QSignalSpy finished(panel, &GenerationPanel::generationFinished);
        StallProbe probe;
        panel->findChild<QPushButton*>(QStringLiteral("generateStart"))->click();
        QVERIFY(panel->isRunning());
        QVERIFY(finished.wait(60000));
        QVERIFY2(probe.windowAnswered(), probe.report().constData());
        QVERIFY2(finished.front().front().toBool(),
                 qPrintable(panel->findChild<QLabel*>(QStringLiteral("generateQuantStatus"))->text()));

        // The float side is exactly core's greedy generate().
        GenerateOptions opt;
        opt.maxTokens = 24;
        opt.temperature = 0;
        const GenerateResult want = generate(Transformer(model), *tokenizer, prompt.toStdString(), opt);
        QVERIFY(panel->floatResult().has_value());
        QCOMPARE(panel->floatResult()->tokens, want.tokens);
        QCOMPARE(panel->findChild<QPlainTextEdit*>(QStringLiteral("generateFloatText"))->toPlainText(),
                 prompt + QString::fromStdString(want.text));
        // The quantized side is the checkpoint's own generate(), and the first difference is marked.
        const GenerateResult wantQ =
            generate(Transformer(Model::open(folder)), *tokenizer, prompt.toStdString(), opt);
        QVERIFY(panel->quantizedResult().has_value());
        QCOMPARE(panel->quantizedResult()->tokens, wantQ.tokens);
        std::size_t k = 0;
        while (k < want.tokens.size() && k < wantQ.tokens.size() && want.tokens[k] == wantQ.tokens[k])
            ++k;
        auto* divergence = panel->findChild<QLabel*>(QStringLiteral("generateDivergence"));
        QVERIFY(want.tokens != wantQ.tokens); // 2 bits change what a 260K-parameter model says
        QCOMPARE(panel->divergence(), int(k));
        QVERIFY(divergence->text().contains(QString::number(k + 1)));
        for (const char* name : {"generateFloatText", "generateQuantText"}) {
            auto* text = panel->findChild<QPlainTextEdit*>(QLatin1String(name));
            QCOMPARE(text->extraSelections().size(), qsizetype(1));
            const QTextCursor marked = text->extraSelections().front().cursor;
            QVERIFY(marked.hasSelection());
            QVERIFY(marked.selectionStart() >= int(prompt.size()));
        }
        // The marked span is the diverging token's text.
        const QString quantText = panel->findChild<QPlainTextEdit*>(QStringLiteral("generateQuantText"))
                                      ->extraSelections()
                                      .front()
                                      .cursor.selectedText()
                                      .replace(QChar::ParagraphSeparator, u'\n');
        const std::vector<int> upTo(wantQ.tokens.begin(), wantQ.tokens.begin() + std::ptrdiff_t(k));
        std::vector<int> through = upTo;
        through.push_back(wantQ.tokens[k]);
        QCOMPARE(quantText, QString::fromStdString(tokenizer->decode(through))
                                .mid(QString::fromStdString(tokenizer->decode(upTo)).size()));

        // Stop cancels both sides mid-generation; the panel is ready again afterwards.
        panel->findChild<QSpinBox*>(QStringLiteral("generateMaxTokens"))->setValue(4000);
        panel->findChild<QCheckBox*>(QStringLiteral("generateGreedy"))->setChecked(false);
        finished.clear();
        panel->findChild<QPushButton*>(QStringLiteral("generateStart"))->click();
        QTRY_VERIFY_WITH_TIMEOUT(
            panel->findChild<QPlainTextEdit*>(QStringLiteral("generateFloatText"))->toPlainText().size() >
                prompt.size() + 5,
            20000);
        panel->findChild<QPushButton*>(QStringLiteral("generateStop"))->click();
        QTRY_VERIFY_WITH_TIMEOUT(finished.count() == 1, 20000); // stopped (or done just before)
        QVERIFY(!panel->isRunning());
        QVERIFY(panel->findChild<QPushButton*>(QStringLiteral("generateStart"))->isEnabled());
    }

    void runsAppearOnTheGeneratePage()
    {
        QS_REQUIRE_DATA(path, "stories260K");
        QS_REQUIRE_DATA(text, "wikitext-2-raw/wiki.test.raw");
        MainWindow w;
        w.show();
        QVERIFY(loadInto(w, path));
        RunsPanel* runs = w.runsPanel();
        runs->findChild<QLineEdit*>(QStringLiteral("runEvalText"))->setText(text);
        runs->findChild<QSpinBox*>(QStringLiteral("runChunks"))->setValue(4);
        QSignalSpy finished(runs, &RunsPanel::runFinished);
        QVERIFY(w.runCurrentPlan() >= 0);
        QVERIFY(finished.wait(120000));
        QVERIFY2(finished.front().front().toBool(), qPrintable(finished.front().at(1).toString()));
        // The run's checkpoint is offered on the Generate page and opens as a quantized model.
        GenerationPanel* panel = w.generationPanel();
        QCOMPARE(panel->quantizedModelCount(), 1);
        const QString folder =
            panel->findChild<QComboBox*>(QStringLiteral("generateQuantModel"))->currentData().toString();
        QCOMPARE(folder, runs->runs().front().source);
        QVERIFY(Model::open(folder)->isQuantized());
        panel->findChild<QSpinBox*>(QStringLiteral("generateMaxTokens"))->setValue(8);
        QSignalSpy generated(panel, &GenerationPanel::generationFinished);
        panel->start();
        QVERIFY(generated.wait(30000));
        QVERIFY(generated.front().front().toBool());
        QVERIFY(panel->quantizedResult().has_value());
    }

    void generationWithoutModelOrQuantizedModel()
    {
        MainWindow w;
        w.show();
        auto* panel = w.generationPanel();
        QVERIFY(!panel->findChild<QPushButton*>(QStringLiteral("generateStart"))->isEnabled());
        QVERIFY(
            panel->findChild<QLabel*>(QStringLiteral("generateMessage"))->text().contains(u"Open a model"));
        panel->start(); // no model: nothing happens
        QVERIFY(!panel->isRunning());
        QS_REQUIRE_DATA(path, "stories260K");
        QVERIFY(loadInto(w, path));
        QVERIFY(panel->findChild<QLabel*>(QStringLiteral("generateMessage"))->text().contains(u"quantized"));
        panel->findChild<QSpinBox*>(QStringLiteral("generateMaxTokens"))->setValue(8);
        // A folder that is no model: the right side says so, the left side still generates.
        QTemporaryDir tmp;
        panel->addQuantizedModel(QStringLiteral("broken"), tmp.path());
        QSignalSpy finished(panel, &GenerationPanel::generationFinished);
        panel->start();
        QVERIFY(finished.wait(30000));
        QCOMPARE(finished.front().front().toBool(), false);
        QVERIFY(panel->floatResult().has_value());
        QVERIFY(
            panel->findChild<QLabel*>(QStringLiteral("generateQuantStatus"))->text().startsWith(u"Failed"));
    }
};

QTEST_MAIN(TestPlayground)
#include "tst_playground.moc"
