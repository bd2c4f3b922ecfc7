// The plot layer: core plot data (Pareto front, histograms, grids, run summaries from real
// quantize runs) and every QCustomPlot adapter rendered offscreen and exported; `plot` in the CLI.
// The run diff (core and `compare --diff`); the heatmap's fixed colour scale (a third run changes
// nothing, the largest value is painted dark), the per-layer metrics as the runs stored them.
#include "DistributionPlot.h"
#include "ErrorHistogramPlot.h"
#include "LayerErrorBars.h"
#include "LayerErrorHeatmap.h"
#include "LossSizePlot.h"
#include "MemoryPlot.h"
#include "TestSupport.h"
#include "analysis/SweepKld.h"
#include "model/Model.h"
#include "quant/QuantizeJob.h"
#include "results/PlotData.h"
#include "results/RunDiff.h"
#include "results/RunResults.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>
#include <QSet>
#include <QTemporaryDir>
#include <QTest>
#include <cmath>
#include <functional>
#include <memory>
#include <random>

using namespace qs;

namespace {

/// Splits CSV text into rows of cells (quoted cells with "" escapes, as PlotTable writes them).
std::vector<QStringList> parseCsv(const QString& text)
{
    std::vector<QStringList> rows;
    QStringList row;
    QString cell;
    bool quoted = false;
    for (qsizetype i = 0; i < text.size(); ++i) {
        const QChar c = text[i];
        if (quoted) {
            if (c == u'"' && i + 1 < text.size() && text[i + 1] == u'"') {
                cell += u'"';
                ++i;
            } else if (c == u'"') {
                quoted = false;
            } else {
                cell += c;
            }
        } else if (c == u'"') {
            quoted = true;
        } else if (c == u',') {
            row << cell;
            cell.clear();
        } else if (c == u'\n') {
            row << cell;
            rows.push_back(row);
            row.clear();
            cell.clear();
        } else {
            cell += c;
        }
    }
    return rows;
}

int distinctColours(const QImage& image, int enough = 3)
{
    QSet<QRgb> colours;
    for (int y = 0; y < image.height(); y += 2) {
        for (int x = 0; x < image.width(); x += 2) {
            colours.insert(image.pixel(x, y));
            if (colours.size() >= enough)
                return int(colours.size());
        }
    }
    return int(colours.size());
}

QByteArray readAll(const QString& path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

} // namespace

class TestPlots : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void paretoFront_data();
    void paretoFront();
    void histogramCounts_data();
    void histogramCounts();
    void quantizationGridLevels();
    void runSummaryFromRealRuns();
    void plotsRenderAndExport_data();
    void plotsRenderAndExport();
    void lossPlotNumbersAndFront();
    void hoverShowsValues();
    void emptyPlotsHaveNoData();
    void badInput();
    void cliPlotWritesPng();
    void cliCompareHasEveryPlottedMetric();
    void runDiffListsDifferingLayers();
    void cliCompareDiff();
    void heatmapScaleFixedAndLabelled();
    void layerMetricsAreTheRunsValues();

private:
    QTemporaryDir m_tmp;
    QString m_model, m_text, m_baseline;
    QStringList m_runDirs;
    std::vector<RunSummary> m_runs;
    std::optional<RunSummary> m_base;
};

#define REQUIRE_RUNS()                                                                                       \
    if (m_runs.empty())                                                                                      \
        QSKIP(qPrintable(qs::test::skipMessage(QStringLiteral("stories260K"))));

void TestPlots::initTestCase()
{
    QVERIFY(m_tmp.isValid());
    m_model = qs::test::dataPath(QStringLiteral("stories260K"));
    const QString wiki = qs::test::dataPath(QStringLiteral("wikitext-2-raw/wiki.test.raw"));
    const QString calib = qs::test::dataPath(QStringLiteral("kjv/train.txt"));
    if (m_model.isEmpty() || wiki.isEmpty() || calib.isEmpty())
        return; // the data-driven tests skip
    // A subset of the WikiText-2 test text keeps tokenization short.
    m_text = m_tmp.filePath(QStringLiteral("eval.txt"));
    QVERIFY(qs::test::writeFile(m_text, readAll(wiki).left(300000)));
    const QStringList evalArgs{QStringLiteral("--ctx"),     QStringLiteral("128"),
                               QStringLiteral("--chunks"),  QStringLiteral("6"),
                               QStringLiteral("--threads"), QStringLiteral("1")};
    const QString base = m_tmp.filePath(QStringLiteral("base.qskld"));
    auto r = qs::test::runCli(QStringList{QStringLiteral("eval"), m_model, QStringLiteral("--text"), m_text,
                                          QStringLiteral("--save-base"), base, QStringLiteral("--json")} +
                              evalArgs);
    QVERIFY2(r.exitCode == 0, r.err.constData());
    m_baseline = m_tmp.filePath(QStringLiteral("base.json"));
    QVERIFY(qs::test::writeFile(m_baseline, r.out));
    const std::vector<QStringList> runs{
        {QStringLiteral("--method"), QStringLiteral("rtn"), QStringLiteral("--bits"), QStringLiteral("4"),
         QStringLiteral("--group"), QStringLiteral("32")},
        {QStringLiteral("--method"), QStringLiteral("gptq"), QStringLiteral("--bits"), QStringLiteral("3"),
         QStringLiteral("--group"), QStringLiteral("32"), QStringLiteral("--calib"), calib,
         QStringLiteral("--samples"), QStringLiteral("16"), QStringLiteral("--seq-len"),
         QStringLiteral("128")},
    };
    for (std::size_t i = 0; i < runs.size(); ++i) {
        const QString dir = m_tmp.filePath(QStringLiteral("run%1").arg(i));
        r = qs::test::runCli(QStringList{QStringLiteral("quantize"), m_model} + runs[i] +
                             QStringList{QStringLiteral("--eval"), m_text, QStringLiteral("--kld-base"), base,
                                         QStringLiteral("--out"), dir} +
                             evalArgs);
        QVERIFY2(r.exitCode == 0, r.err.constData());
        m_runDirs << dir;
        m_runs.push_back(RunSummary::load(dir));
    }
    m_base = RunSummary::load(m_baseline);
}

void TestPlots::paretoFront_data()
{
    QTest::addColumn<std::vector<double>>("sizes");
    QTest::addColumn<std::vector<double>>("losses");
    QTest::addColumn<std::vector<int>>("front");
    QTest::newRow("empty") << std::vector<double>{} << std::vector<double>{} << std::vector<int>{};
    QTest::newRow("one") << std::vector<double>{4} << std::vector<double>{10} << std::vector<int>{0};
    QTest::newRow("chain") << std::vector<double>{8, 2, 4, 3} << std::vector<double>{1, 9, 5, 7}
                           << std::vector<int>{1, 3, 2, 0};
    QTest::newRow("dominated") << std::vector<double>{2, 3, 4, 5} << std::vector<double>{9, 9.5, 5, 6}
                               << std::vector<int>{0, 2};
    QTest::newRow("same size keeps lower loss")
        << std::vector<double>{4, 4, 6} << std::vector<double>{7, 5, 4} << std::vector<int>{1, 2};
    QTest::newRow("duplicates keep the first")
        << std::vector<double>{3, 3} << std::vector<double>{2, 2} << std::vector<int>{0};
    QTest::newRow("NaN ignored") << std::vector<double>{1, 2, std::nan("")}
                                 << std::vector<double>{std::nan(""), 3, 0} << std::vector<int>{1};
}

void TestPlots::paretoFront()
{
    QFETCH(std::vector<double>, sizes);
    QFETCH(std::vector<double>, losses);
    QFETCH(std::vector<int>, front);
    std::vector<SizeLossPoint> points;
    for (std::size_t i = 0; i < sizes.size(); ++i)
        points.push_back({sizes[i], losses[i]});
    const std::vector<std::size_t> got = qs::paretoFront(points);
    QCOMPARE(got.size(), front.size());
    for (std::size_t i = 0; i < got.size(); ++i)
        QCOMPARE(int(got[i]), front[i]);
}

void TestPlots::histogramCounts_data()
{
    QTest::addColumn<int>("bins");
    QTest::addColumn<bool>("log");
    QTest::addColumn<double>("lo");
    QTest::addColumn<double>("hi");
    const double nan = std::nan("");
    QTest::newRow("linear 1 bin") << 1 << false << nan << nan;
    QTest::newRow("linear 64") << 64 << false << nan << nan;
    QTest::newRow("linear clamped range") << 10 << false << -0.5 << 0.5;
    QTest::newRow("log 40") << 40 << true << nan << nan;
    QTest::newRow("log clamped range") << 8 << true << 0.01 << 0.1;
}

void TestPlots::histogramCounts()
{
    QFETCH(int, bins);
    QFETCH(bool, log);
    QFETCH(double, lo);
    QFETCH(double, hi);
    std::mt19937 rng(7);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> v(10007);
    for (float& x : v)
        x = normal(rng);
    v[5] = 0.0f;
    v[6] = std::numeric_limits<float>::quiet_NaN();
    v[7] = std::numeric_limits<float>::infinity();
    const Histogram h =
        qs::histogram(v.data(), v.size(), bins, log ? BinScale::Log : BinScale::Linear, lo, hi);
    QCOMPARE(h.bins(), bins);
    QCOMPARE(int(h.edges.size()), bins + 1);
    QCOMPARE(h.skipped, std::uint64_t(2));
    QCOMPARE(h.total(), double(v.size() - 2));
    for (int i = 0; i < bins; ++i) {
        QVERIFY(h.upper(i) > h.lower(i));
        QVERIFY(h.center(i) > h.lower(i) && h.center(i) < h.upper(i));
    }
    if (log) {
        QVERIFY(h.lower(0) > 0);
        if (bins > 2) // geometric bins: equal ratios
            QVERIFY(std::abs(h.upper(0) / h.lower(0) - h.upper(1) / h.lower(1)) < 1e-9);
    }
    double integral = 0;
    for (int i = 0; i < bins; ++i)
        integral += h.density(i) * h.width(i);
    QVERIFY(std::abs(integral - 1.0) < 1e-9);
    QVERIFY(!qs::test::errorOf([&] { qs::histogram(v, 0); }).isEmpty());
}

void TestPlots::quantizationGridLevels()
{
    const std::vector<float> row{-0.8f, -0.1f, 0.0f, 0.3f, 0.45f, 1.2f, -0.2f, 0.05f, 2.0f, -3.0f};
    QuantSpec spec = QuantSpec::fromShortName(QStringLiteral("rtn-w4-g4"));
    QuantGrid g = qs::quantizationGrid(spec, row.data(), std::int64_t(row.size()), 1);
    QCOMPARE(g.begin, std::int64_t(4));
    QCOMPARE(g.end, std::int64_t(8));
    QCOMPARE(int(g.levels.size()), 16);
    for (std::size_t i = 1; i < g.levels.size(); ++i)
        QVERIFY(std::abs(g.levels[i] - g.levels[i - 1] - g.scale) < 1e-6);
    // Covers the group's range [-0.2, 1.2] up to half a step (the integer zero rounds); 0 is a level.
    QVERIFY(g.levels.front() <= -0.2 + g.scale / 2 && g.levels.back() >= 1.2 - g.scale / 2);
    QVERIFY(std::find(g.levels.begin(), g.levels.end(), 0.0) != g.levels.end());
    // The last group is shorter (10 = 4 + 4 + 2); a symmetric 3-bit grid has 8 levels around 0.
    spec = QuantSpec::fromShortName(QStringLiteral("rtn-w3-g4-sym"));
    g = qs::quantizationGrid(spec, row.data(), std::int64_t(row.size()), 2);
    QCOMPARE(g.end - g.begin, std::int64_t(2));
    QCOMPARE(int(g.levels.size()), 8);
    QVERIFY(g.levels.front() < 0 && g.levels.back() > 0);
    const QString err =
        qs::test::errorOf([&] { qs::quantizationGrid(spec, row.data(), std::int64_t(row.size()), 3); });
    QS_VERIFY_ERROR(err, {QStringLiteral("group 3")});
    QVERIFY(
        qs::quantizationGrid(QuantSpec::fromShortName(QStringLiteral("f16")), row.data(), 10).levels.empty());
}

void TestPlots::runSummaryFromRealRuns()
{
    REQUIRE_RUNS();
    QCOMPARE(m_runs[0].method, QStringLiteral("RTN"));
    QCOMPARE(m_runs[1].method, QStringLiteral("GPTQ"));
    const auto model = Model::open(m_model);
    for (const RunSummary& r : m_runs) {
        QVERIFY(r.hasPerplexity() && r.pplError > 0);
        QVERIFY(r.hasKld() && r.kldMean > 0 && r.top1Percent > 0 && r.top1Percent <= 100);
        // Δppl: this run's perplexity less the base's on the same tokens, with a paired error.
        QVERIFY(r.hasDeltaPpl() && r.deltaPplError > 0);
        QVERIFY2(std::abs(r.deltaPpl - (r.ppl - m_base->ppl)) < 1e-3 * r.ppl,
                 qPrintable(QStringLiteral("%1 vs %2 − %3").arg(r.deltaPpl).arg(r.ppl).arg(m_base->ppl)));
        QCOMPARE(r.params, model->totals().params);
        QCOMPARE(r.memory.total(), r.modelBytes); // every stored byte in exactly one role
        QVERIFY(r.memory.bytes[MemoryBreakdown::Overhead] > 0);
        QCOMPARE(r.memory.bytes[MemoryBreakdown::Embeddings],
                 m_base->memory.bytes[MemoryBreakdown::Embeddings]);
        QVERIFY(r.bitsPerWeight > 0 && r.bitsPerWeight < m_base->bitsPerWeight);
        QCOMPARE(r.layers.size(), model->linears().size());
        for (const LayerMetrics& l : r.layers) {
            const LinearLayerInfo* info = model->findLinear(l.name);
            QVERIFY(info);
            double n = 0;
            for (double c : l.errorHistogram)
                n += c;
            QCOMPARE(n, double(info->params())); // the histogram counts every weight
            QVERIFY(l.weightRelMse > 0 && l.histogramMax > l.histogramMin);
        }
    }
    QVERIFY(m_runs[1].ppl > m_runs[0].ppl); // 3-bit loses more than 4-bit here
    QVERIFY(m_base->isBaseline);
    QCOMPARE(m_base->method, QStringLiteral("float"));
    QCOMPARE(m_base->memory.total(), m_base->modelBytes);
    QCOMPARE(m_base->memory.bytes[MemoryBreakdown::Overhead], std::uint64_t(0));
    QVERIFY(qs::checkComparable(m_runs, &*m_base).isEmpty());
    // A checkpoint opened as a model, and the same quantization run in memory (the GUI's way),
    // give the sizes read from the run folder.
    const RunSummary fromModel = RunSummary::fromModel(*Model::open(m_runDirs[0]));
    QCOMPARE(fromModel.memory.bytes, m_runs[0].memory.bytes);
    const QuantizeResult q = runQuantization(
        model, LayerPlan::uniform(*model, QuantSpec::fromShortName(QStringLiteral("rtn-w4-g32"))),
        CalibrationSettings{}, nullptr);
    const RunSummary inMemory = RunSummary::fromResult(QStringLiteral("mem"), QStringLiteral("rtn"), *model,
                                                       q.layers, q.seconds, nullptr);
    QCOMPARE(inMemory.memory.bytes, m_runs[0].memory.bytes);
    QCOMPARE(inMemory.modelBytes, m_runs[0].modelBytes);
    QCOMPARE(inMemory.bitsPerWeight, m_runs[0].bitsPerWeight);
    QCOMPARE(inMemory.method, QStringLiteral("RTN"));
    QCOMPARE(inMemory.layers.size(), m_runs[0].layers.size());
    QCOMPARE(inMemory.layers[4].weightRelMse, m_runs[0].layers[4].weightRelMse);
    QVERIFY(!inMemory.hasPerplexity());
}

void TestPlots::plotsRenderAndExport_data()
{
    QTest::addColumn<QString>("kind");
    for (const char* k : {"loss-ppl", "loss-kld-mb", "memory", "histogram", "histogram-log", "heatmap",
                          "bars", "bars-sorted", "distribution"})
        QTest::newRow(k) << QString::fromLatin1(k);
}

void TestPlots::plotsRenderAndExport()
{
    REQUIRE_RUNS();
    QFETCH(QString, kind);
    std::unique_ptr<PlotWidget> plot;
    if (kind.startsWith(u"loss")) {
        auto w = std::make_unique<LossSizePlot>();
        if (kind == u"loss-kld-mb") {
            w->setLoss(LossSizePlot::Loss::Kld);
            w->setSize(LossSizePlot::Size::Megabytes);
        }
        w->setRuns(m_runs, m_base);
        plot = std::move(w);
    } else if (kind == u"memory") {
        auto w = std::make_unique<MemoryPlot>();
        w->setRuns(m_runs, m_base);
        plot = std::move(w);
    } else if (kind.startsWith(u"histogram")) {
        auto w = std::make_unique<ErrorHistogramPlot>();
        w->setRuns(m_runs);
        QCOMPARE(w->layerNames().size(), qsizetype(m_runs[0].layers.size()));
        w->setLayer(QStringLiteral("model.layers.2.mlp.down_proj"));
        w->setLogScale(kind.endsWith(u"log"));
        plot = std::move(w);
    } else if (kind == u"heatmap") {
        auto w = std::make_unique<LayerErrorHeatmap>();
        w->setRuns(m_runs);
        QCOMPARE(w->matrix().runs.size(), qsizetype(2));
        plot = std::move(w);
    } else if (kind.startsWith(u"bars")) {
        auto w = std::make_unique<LayerErrorBars>();
        // Output error needs calibration samples: only the GPTQ run has it (RTN's cells stay empty).
        if (!kind.endsWith(u"sorted"))
            w->setMetric(LayerErrorMetric::OutputRelMse);
        w->setSorted(kind.endsWith(u"sorted"));
        w->setRuns(m_runs);
        if (kind.endsWith(u"sorted")) { // worst layers first
            const std::vector<int> order = w->layerOrder();
            const LayerErrorMatrix& m = w->matrix();
            auto mean = [&](int l) { return (m.at(l, 0) + m.at(l, 1)) / 2; };
            for (std::size_t i = 1; i < order.size(); ++i)
                QVERIFY(mean(order[i - 1]) >= mean(order[i]));
        }
        plot = std::move(w);
    } else {
        auto w = std::make_unique<DistributionPlot>();
        const auto model = Model::open(m_model);
        std::int64_t rows = 0, cols = 0;
        const std::vector<float> weight =
            readLinearWeight(*model, QStringLiteral("model.layers.0.self_attn.q_proj"), &rows, &cols);
        QCOMPARE(std::int64_t(weight.size()), rows * cols);
        const std::vector<float> row(weight.begin(), weight.begin() + cols);
        const QuantGrid grid =
            qs::quantizationGrid(QuantSpec::fromShortName(QStringLiteral("rtn-w3-g32")), row.data(), cols);
        w->setValues(QStringLiteral("q_proj row 0"), row, grid, 40);
        QCOMPARE(w->histogram().total(), double(cols));
        plot = std::move(w);
    }
    QVERIFY(plot->hasData());
    const QImage image = plot->toPixmap(640, 420).toImage();
    QCOMPARE(image.size(), QSize(640, 420));
    QVERIFY(distinctColours(image) >= 3);

    const QString base = m_tmp.filePath(kind);
    plot->exportPng(base + u".png", 640, 420);
    plot->exportPdf(base + u".pdf", 640, 420);
    plot->exportCsv(base + u".csv");
    QVERIFY(readAll(base + u".png").startsWith("\x89PNG"));
    QVERIFY(readAll(base + u".pdf").startsWith("%PDF"));
    QVERIFY(QDir(m_tmp.path())
                .entryList({u'.' + kind + u"*"}, QDir::Files | QDir::Hidden)
                .isEmpty()); // no temp left
    const QImage png(base + u".png");
    QVERIFY(distinctColours(png) >= 3);

    // The CSV reads back to the same numbers as the table the plot shows.
    const std::vector<QStringList> csv = parseCsv(QString::fromUtf8(readAll(base + u".csv")));
    const PlotTable t = plot->table();
    QVERIFY(!t.rows.empty());
    QCOMPARE(csv.size(), t.rows.size() + 1);
    QCOMPARE(csv.front(), t.header);
    int numbers = 0;
    for (std::size_t r = 0; r < t.rows.size(); ++r) {
        QCOMPARE(csv[r + 1].size(), t.rows[r].size());
        for (int c = 0; c < int(t.rows[r].size()); ++c) {
            bool ok = false;
            const double want = t.rows[r][c].toDouble(&ok);
            if (!ok) {
                QCOMPARE(csv[r + 1][c], t.rows[r][c]);
                continue;
            }
            QCOMPARE(csv[r + 1][c].toDouble(), want);
            ++numbers;
        }
    }
    QVERIFY(numbers > 0);
    // SVG: a vector picture with the plot's title text and paths in it.
    plot->exportFile(base + u".svg", 640, 420);
    const QByteArray svg = readAll(base + u".svg");
    QVERIFY(svg.startsWith("<?xml"));
    QVERIFY(svg.contains("<svg"));
    QVERIFY(svg.count("<path") + svg.count("<polyline") + svg.count("<rect") + svg.count("<image") > 4);
    QVERIFY(svg.contains("viewBox=\"0 0 640 420\""));
    QS_VERIFY_ERROR(qs::test::errorOf([&] { plot->exportFile(base + u".tiff"); }), {QStringLiteral("tiff")});
}

void TestPlots::lossPlotNumbersAndFront()
{
    REQUIRE_RUNS();
    LossSizePlot plot;
    plot.setRuns(m_runs, m_base);
    const std::vector<QStringList> csv = parseCsv(plot.table().toCsv());
    QCOMPARE(csv.front(),
             (QStringList{QStringLiteral("run"), QStringLiteral("method"), QStringLiteral("bpw"),
                          QStringLiteral("ppl"), QStringLiteral("loss_error"), QStringLiteral("pareto")}));
    QCOMPARE(csv.size(), std::size_t(4)); // header, two runs, the baseline
    for (std::size_t i = 0; i < m_runs.size(); ++i) {
        QCOMPARE(csv[i + 1][0], m_runs[i].name);
        QCOMPARE(csv[i + 1][2].toDouble(), m_runs[i].bitsPerWeight); // exact round trip
        QCOMPARE(csv[i + 1][3].toDouble(), m_runs[i].ppl);
        QCOMPARE(csv[i + 1][4].toDouble(), m_runs[i].pplError);
    }
    QCOMPARE(csv[3][3].toDouble(), m_base->ppl);
    // Smaller and worse vs larger and better: both on the front.
    QCOMPARE(plot.front().size(), std::size_t(2));

    MemoryPlot memory;
    memory.setRuns(m_runs, m_base);
    const std::vector<QStringList> mem = parseCsv(memory.table().toCsv());
    QCOMPARE(mem.size(), std::size_t(4));
    QCOMPARE(mem[1][0], m_base->name); // the float baseline first
    QCOMPARE(mem[2].back().toDouble(), double(m_runs[0].modelBytes) / 1e6);
}

void TestPlots::hoverShowsValues()
{
    REQUIRE_RUNS();
    LossSizePlot plot;
    plot.resize(700, 450);
    plot.setRuns(m_runs, m_base);
    plot.replot();
    const RunSummary& r = m_runs[1];
    const QPoint at(int(plot.xAxis->coordToPixel(r.bitsPerWeight)) + 2,
                    int(plot.yAxis->coordToPixel(r.ppl)) - 1);
    const QString tip = plot.hoverText(at);
    // Rounded to four significant digits: the CSV export has the full numbers.
    QVERIFY2(tip.contains(r.name) && tip.contains(PlotWidget::rounded(r.ppl)), qPrintable(tip));
    QVERIFY2(!tip.contains(PlotWidget::number(r.ppl)), qPrintable(tip));
    QVERIFY(plot.hoverText(QPoint(2, 2)).isEmpty());

    LayerErrorHeatmap map;
    map.resize(700, 450);
    map.setRuns(m_runs);
    map.replot();
    const QPoint cell(int(map.xAxis->coordToPixel(3)), int(map.yAxis->coordToPixel(1)));
    const QString cellTip = map.hoverText(cell);
    QVERIFY2(cellTip.contains(map.matrix().layers[3]) && cellTip.contains(m_runs[1].name),
             qPrintable(cellTip));
}

void TestPlots::emptyPlotsHaveNoData()
{
    std::vector<std::unique_ptr<PlotWidget>> plots;
    plots.push_back(std::make_unique<LossSizePlot>());
    plots.push_back(std::make_unique<MemoryPlot>());
    plots.push_back(std::make_unique<ErrorHistogramPlot>());
    plots.push_back(std::make_unique<LayerErrorHeatmap>());
    plots.push_back(std::make_unique<LayerErrorBars>());
    plots.push_back(std::make_unique<DistributionPlot>());
    for (const auto& p : plots) {
        QVERIFY2(!p->hasData(), qPrintable(p->objectName()));
        QVERIFY(p->table().rows.empty());
        QVERIFY(!p->toPixmap(300, 200).isNull()); // renders the "no data" message
    }
    RunSummary unevaluated; // a run without evaluation has no point on a loss plot
    unevaluated.name = QStringLiteral("x");
    unevaluated.bitsPerWeight = 4;
    auto* loss = static_cast<LossSizePlot*>(plots[0].get());
    loss->setRuns({unevaluated});
    QVERIFY(!loss->hasData());
}

void TestPlots::badInput()
{
    // A folder without run.json, a file that is not JSON, a JSON that is neither kind.
    const QString empty = m_tmp.filePath(QStringLiteral("empty"));
    QVERIFY(QDir().mkpath(empty));
    QS_VERIFY_ERROR(qs::test::errorOf([&] { RunSummary::load(empty); }), {QStringLiteral("run.json")});
    const QString junk = m_tmp.filePath(QStringLiteral("junk.json"));
    QVERIFY(qs::test::writeFile(junk, "not json"));
    QS_VERIFY_ERROR(qs::test::errorOf([&] { RunSummary::load(junk); }),
                    {junk, QStringLiteral("invalid JSON")});
    const QString other = m_tmp.filePath(QStringLiteral("other.json"));
    QVERIFY(qs::test::writeFile(other, R"({"hello": 1})"));
    QS_VERIFY_ERROR(qs::test::errorOf([&] { RunSummary::load(other); }), {other, QStringLiteral("run.json")});

    REQUIRE_RUNS();
    // A baseline from another model: refused, naming both.
    QS_REQUIRE_DATA(kjv, "kjv7M");
    const auto r = qs::test::runCli(
        {QStringLiteral("eval"), kjv, QStringLiteral("--text"), m_text, QStringLiteral("--ctx"),
         QStringLiteral("64"), QStringLiteral("--chunks"), QStringLiteral("2"), QStringLiteral("--json")});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    const QString kjvJson = m_tmp.filePath(QStringLiteral("kjv-base.json"));
    QVERIFY(qs::test::writeFile(kjvJson, r.out));
    const RunSummary kjvBase = RunSummary::load(kjvJson);
    QS_VERIFY_ERROR(qs::test::errorOf([&] { qs::checkComparable(m_runs, &kjvBase); }),
                    {QStringLiteral("different models"), kjvJson, m_runDirs[0]});
    // Runs of the same model evaluated differently: a warning, not an error.
    RunSummary otherText = m_runs[1];
    otherText.evalText = QStringLiteral("/elsewhere/other.txt");
    const QStringList warnings = qs::checkComparable({m_runs[0], otherText});
    QCOMPARE(warnings.size(), qsizetype(1));
    QVERIFY(warnings.front().contains(u"different-eval-text"));
    // The CLI reports it as an error (exit 1) and writes nothing.
    const QString png = m_tmp.filePath(QStringLiteral("mixed.png"));
    const auto c = qs::test::runCli({QStringLiteral("plot"), QStringLiteral("pareto"), m_runDirs[0],
                                     QStringLiteral("--baseline"), kjvJson, QStringLiteral("--out"), png});
    QCOMPARE(c.exitCode, 1);
    QVERIFY(c.err.contains("different models"));
    QVERIFY(!QFile::exists(png));
}

void TestPlots::cliPlotWritesPng()
{
    REQUIRE_RUNS();
    const QString png = m_tmp.filePath(QStringLiteral("cli-pareto.png"));
    const QString csv = m_tmp.filePath(QStringLiteral("cli-pareto.csv"));
    auto r = qs::test::runCli(QStringList{QStringLiteral("plot"), QStringLiteral("pareto")} + m_runDirs +
                              QStringList{QStringLiteral("--baseline"), m_baseline, QStringLiteral("--y"),
                                          QStringLiteral("kld"), QStringLiteral("--out"), png,
                                          QStringLiteral("--csv"), csv});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    QVERIFY(readAll(png).startsWith("\x89PNG"));
    QVERIFY(distinctColours(QImage(png)) >= 3);
    const std::vector<QStringList> rows = parseCsv(QString::fromUtf8(readAll(csv)));
    QCOMPARE(rows.size(), std::size_t(4)); // header, two runs, the float baseline (KLD 0 by definition)
    QCOMPARE(rows[3][3].toDouble(), 0.0);
    QCOMPARE(rows[3][5], QStringLiteral("baseline"));
    for (const QString& kind :
         {QStringLiteral("memory"), QStringLiteral("histogram"), QStringLiteral("layers")}) {
        const QString pdf = m_tmp.filePath(u"cli-" + kind + u".pdf");
        r = qs::test::runCli(QStringList{QStringLiteral("plot"), kind} + m_runDirs +
                             QStringList{QStringLiteral("--out"), pdf});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        QVERIFY(readAll(pdf).startsWith("%PDF"));
    }
    // Usage errors exit 2, bad input 1.
    QCOMPARE(qs::test::runCli({QStringLiteral("plot"), QStringLiteral("nonsense"), m_runDirs[0],
                               QStringLiteral("--out"), png})
                 .exitCode,
             2);
    QCOMPARE(qs::test::runCli({QStringLiteral("plot"), QStringLiteral("pareto"), m_runDirs[0],
                               QStringLiteral("--out"), m_tmp.filePath(QStringLiteral("x.tiff"))})
                 .exitCode,
             2);
    QCOMPARE(qs::test::runCli({QStringLiteral("plot"), QStringLiteral("pareto"), m_runDirs[0],
                               QStringLiteral("--out"), m_tmp.filePath(QStringLiteral("x.svg"))})
                 .exitCode,
             0);
    QVERIFY(readAll(m_tmp.filePath(QStringLiteral("x.svg"))).contains("<svg"));
    r = qs::test::runCli({QStringLiteral("plot"), QStringLiteral("histogram"), m_runDirs[0],
                          QStringLiteral("--layer"), QStringLiteral("no.such.layer"), QStringLiteral("--out"),
                          png});
    QCOMPARE(r.exitCode, 1);
    QVERIFY(r.err.contains("no.such.layer"));
}

void TestPlots::cliCompareHasEveryPlottedMetric()
{
    // Every metric the quality plot offers is in `compare`'s output, as the runs hold it.
    REQUIRE_RUNS();
    auto r = qs::test::runCli(QStringList{QStringLiteral("compare"), QStringLiteral("--json")} + m_runDirs);
    QVERIFY2(r.exitCode == 0, r.err.constData());
    const QJsonArray rows = QJsonDocument::fromJson(r.out).array();
    QCOMPARE(rows.size(), qsizetype(m_runs.size()));
    for (qsizetype i = 0; i < rows.size(); ++i) {
        const QJsonObject row = rows[i].toObject();
        const RunSummary& run = m_runs[std::size_t(i)];
        QCOMPARE(row.value(u"ppl").toDouble(), run.ppl);
        QCOMPARE(row.value(u"delta_ppl").toDouble(), run.deltaPpl);
        QCOMPARE(row.value(u"delta_ppl_error").toDouble(), run.deltaPplError);
        QCOMPARE(row.value(u"kld").toDouble(), run.kldMean);
        QCOMPARE(row.value(u"top1_percent").toDouble(), run.top1Percent);
        QCOMPARE(row.value(u"top1_error").toDouble(), run.top1Error);
        QVERIFY(run.top1Error > 0);
        QCOMPARE(row.value(u"bpw").toDouble(), run.bitsPerWeight);
    }
    r = qs::test::runCli(QStringList{QStringLiteral("compare"), QStringLiteral("--csv")} + m_runDirs);
    QVERIFY2(r.exitCode == 0, r.err.constData());
    const std::vector<QStringList> csv = parseCsv(QString::fromUtf8(r.out));
    for (const char* column : {"ppl", "delta_ppl", "delta_ppl_error", "kld", "top1_percent", "bpw", "MB",
                               "decode_tokens_per_second"})
        QVERIFY2(csv.front().contains(QLatin1String(column)), column);
}

namespace {

/// `run` with the layers whose name matches `pattern` given `spec` (their label follows).
RunSummary withLayersAs(RunSummary run, const QString& pattern, const QuantSpec& spec)
{
    run.name += QStringLiteral(" (changed)");
    const QRegularExpression re(pattern);
    for (LayerMetrics& l : run.layers)
        if (re.match(l.name).hasMatch()) {
            l.spec = spec;
            l.label = spec.label();
        }
    return run;
}

QStringList layersMatching(const RunSummary& run, const QString& pattern)
{
    QStringList out;
    const QRegularExpression re(pattern);
    for (const LayerMetrics& l : run.layers)
        if (re.match(l.name).hasMatch())
            out << l.name;
    return out;
}

} // namespace

void TestPlots::runDiffListsDifferingLayers()
{
    REQUIRE_RUNS();
    // RTN w4 g32 against GPTQ w3 g32: every layer differs, in method and bits only.
    const RunDiff real = diffRuns(m_runs[0], m_runs[1]);
    QCOMPARE(real.layers.size(), m_runs[0].layers.size());
    QCOMPARE(real.differingLayers().size(), qsizetype(m_runs[0].layers.size()));
    for (const RunLayerDiff& l : real.layers) {
        QCOMPARE(l.differing, (std::vector<SchemeField>{SchemeField::Method, SchemeField::Bits}));
        QCOMPARE(l.fieldsA.join(u' '), QStringLiteral("rtn 4 g32 asym int"));
        QCOMPARE(l.fieldsB.at(int(SchemeField::Bits)), QStringLiteral("3"));
        QCOMPARE(l.a->weightRelMse, m_runs[0].findLayer(l.layer)->weightRelMse);
        QCOMPARE(l.b->bytes, m_runs[1].findLayer(l.layer)->bytes);
        QVERIFY(l.b->bytes > 0);
    }
    // A run against itself: nothing differs. With the down projections in 8 bits: exactly those.
    QVERIFY(diffRuns(m_runs[0], m_runs[0]).differingLayers().isEmpty());
    QuantSpec eight = *m_runs[0].layers.front().spec;
    eight.bits = 8;
    const QString down = QStringLiteral("down_proj$");
    const RunSummary changed = withLayersAs(m_runs[0], down, eight);
    const RunDiff d = diffRuns(m_runs[0], changed);
    QCOMPARE(d.differingLayers(), layersMatching(m_runs[0], down));
    QVERIFY(!d.differingLayers().isEmpty());
    for (const RunLayerDiff& l : d.layers)
        if (l.schemeDiffers())
            QCOMPARE(l.differing, std::vector<SchemeField>{SchemeField::Bits});
    // A run kept before specs were stored: its label still gives the scheme.
    RunSummary old = changed;
    for (LayerMetrics& l : old.layers)
        l.spec.reset();
    QCOMPARE(diffRuns(m_runs[0], old).differingLayers(), d.differingLayers());
    // The whole-run metrics are the runs' own.
    for (const RunMetricPair& m : runMetricPairs(m_runs[0], m_runs[1]))
        if (m.key == u"kld") {
            QCOMPARE(m.a, m_runs[0].kldMean);
            QCOMPARE(m.b, m_runs[1].kldMean);
        }
}

void TestPlots::cliCompareDiff()
{
    REQUIRE_RUNS();
    // A third run: RTN w4 g32 with the down projections in 8 bits.
    const QString recipeFile = m_tmp.filePath(QStringLiteral("down8.json"));
    QVERIFY(qs::test::writeFile(recipeFile, R"({"version": 1, "defaults": {"method": "rtn", "bits": 4,
        "group_size": 32}, "rules": [{"match": "mlp\\.down_proj$", "bits": 8}]})"));
    const QString dir = m_tmp.filePath(QStringLiteral("run-down8"));
    auto r = qs::test::runCli({QStringLiteral("quantize"), m_model, QStringLiteral("--recipe"), recipeFile,
                               QStringLiteral("--out"), dir});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    r = qs::test::runCli(
        {QStringLiteral("compare"), QStringLiteral("--diff"), m_runDirs[0], dir, QStringLiteral("--json")});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    const QJsonObject o = QJsonDocument::fromJson(r.out).object();
    QStringList differing;
    for (const QJsonValue& v : o.value(u"differing_layers").toArray())
        differing << v.toString();
    QCOMPARE(differing, layersMatching(m_runs[0], QStringLiteral("down_proj$")));
    const QJsonArray layers = o.value(u"layers").toArray();
    QCOMPARE(layers.size(), differing.size()); // only the differing ones without --all-layers
    const RunSummary b = RunSummary::load(dir);
    for (const QJsonValue& v : layers) {
        const QJsonObject l = v.toObject();
        const QJsonObject scheme = l.value(u"scheme").toObject();
        QCOMPARE(scheme.value(u"bits").toArray().at(0).toString(), QStringLiteral("4"));
        QCOMPARE(scheme.value(u"bits").toArray().at(1).toString(), QStringLiteral("8"));
        QCOMPARE(scheme.value(u"method").toArray().at(1).toString(), QStringLiteral("rtn"));
        const QString name = l.value(u"layer").toString();
        QCOMPARE(l.value(u"weight_rel_mse").toArray().at(1).toDouble(), b.findLayer(name)->weightRelMse);
        QCOMPARE(l.value(u"bytes").toArray().at(0).toDouble(), double(m_runs[0].findLayer(name)->bytes));
    }
    // The text form names both runs and marks the differing field.
    r = qs::test::runCli({QStringLiteral("compare"), QStringLiteral("--diff"), m_runDirs[0], dir});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    const QString text = QString::fromUtf8(r.out);
    QVERIFY2(text.contains(QStringLiteral("%1 of %2 layers quantized differently")
                               .arg(differing.size())
                               .arg(m_runs[0].layers.size())),
             r.out.constData());
    QVERIFY2(text.contains(QStringLiteral("*4 → 8")) && text.contains(differing.front()), r.out.constData());
    QVERIFY(!text.contains(layersMatching(m_runs[0], QStringLiteral("q_proj$")).front()));
    // --diff takes exactly two runs.
    r = qs::test::runCli({QStringLiteral("compare"), QStringLiteral("--diff"), m_runDirs[0]});
    QCOMPARE(r.exitCode, 2);
    QVERIFY2(r.err.contains("two runs"), r.err.constData());
}

void TestPlots::heatmapScaleFixedAndLabelled()
{
    REQUIRE_RUNS();
    LayerErrorHeatmap map;
    map.resize(800, 500);
    map.setRuns({m_runs[0], m_runs[1]});
    const QCPRange before = map.colorRange();
    // A third run with errors 100 times larger: the colours of the others do not move.
    RunSummary worse = m_runs[1];
    worse.name = QStringLiteral("worse");
    double top = 0;
    for (LayerMetrics& l : worse.layers) {
        l.weightRelMse *= 100;
        top = std::max(top, l.weightRelMse);
    }
    map.setRuns({m_runs[0], m_runs[1], worse});
    QCOMPARE(map.colorRange().lower, before.lower);
    QCOMPARE(map.colorRange().upper, before.upper);
    QCOMPARE(map.colorOf(m_runs[0].layers[2].weightRelMse).rgba(),
             LayerErrorHeatmap().colorOf(m_runs[0].layers[2].weightRelMse).rgba());
    // The largest value is drawn dark, not white, and so is the top of the scale; as painted too.
    for (double v : {top, map.colorRange().upper, map.colorRange().upper * 10}) {
        const QColor c = map.colorOf(v);
        QVERIFY2(c.lightness() < 160, qPrintable(c.name()));
    }
    map.replot();
    const QImage image = map.toPixmap(800, 500).toImage();
    int worstLayer = 0;
    for (int l = 0; l < int(map.matrix().layers.size()); ++l)
        if (map.matrix().at(l, 2) > map.matrix().at(worstLayer, 2))
            worstLayer = l;
    const QColor painted =
        image.pixelColor(int(map.xAxis->coordToPixel(worstLayer)), int(map.yAxis->coordToPixel(2)));
    QVERIFY2(painted.lightness() < 200, qPrintable(painted.name()));
    QCOMPARE(painted.rgb(), map.colorOf(map.matrix().at(worstLayer, 2)).rgb());
    // A user's range is kept as given; the colour bar names the metric and its unit.
    map.setDecades(-4, -1);
    QCOMPARE(map.colorRange().lower, 1e-4);
    map.setRuns({m_runs[0]});
    QCOMPARE(map.colorRange().upper, 1e-1);
    QVERIFY2(map.scaleLabel().contains(LayerErrorHeatmap::metricName(LayerErrorMetric::WeightRelMse)) &&
                 map.scaleLabel().contains(QStringLiteral("no unit")),
             qPrintable(map.scaleLabel()));
    map.setMetric(LayerErrorMetric::KldContribution);
    QVERIFY2(map.scaleLabel().contains(QStringLiteral("nats")), qPrintable(map.scaleLabel()));
}

void TestPlots::layerMetricsAreTheRunsValues()
{
    REQUIRE_RUNS();
    // The output error as the runs stored it (measured on the calibration sample; NaN without one).
    LayerErrorHeatmap map;
    map.setRuns(m_runs);
    map.setMetric(LayerErrorMetric::OutputRelMse);
    const LayerErrorMatrix& m = map.matrix();
    QCOMPARE(m.runs, (QStringList{m_runs[0].name, m_runs[1].name}));
    int measured = 0;
    for (int l = 0; l < int(m.layers.size()); ++l)
        for (int r = 0; r < 2; ++r) {
            const double stored = m_runs[std::size_t(r)].findLayer(m.layers[l])->outputRelMse;
            if (std::isnan(stored)) {
                QVERIFY(std::isnan(m.at(l, r)));
            } else {
                QCOMPARE(m.at(l, r), stored);
                ++measured;
            }
        }
    QVERIFY(measured >= int(m_runs[1].layers.size())); // GPTQ had calibration inputs
    // The histogram of the metric counts each measured layer once.
    ErrorHistogramPlot hist;
    hist.setRuns(m_runs);
    hist.setMetric(LayerErrorMetric::OutputRelMse);
    QVERIFY(hist.hasData());
    double layers = 0;
    for (const QStringList& row : hist.table().rows)
        layers += row.at(3).toDouble();
    QCOMPARE(int(layers), measured);
    // No sweep: no KLD contribution, nothing made up.
    hist.setMetric(LayerErrorMetric::KldContribution);
    QVERIFY(!hist.hasData());
    map.setMetric(LayerErrorMetric::KldContribution);
    QVERIFY(!map.hasData());
    // A sweep that measured one layer with RTN w4 g32 gives exactly that number to that layer.
    SensitivityResult sweep;
    sweep.modelFingerprint = m_runs[0].fingerprint;
    sweep.schemes.push_back(
        {QStringLiteral("rtn-w4-g32"), QuantSpec::fromShortName(QStringLiteral("rtn-w4-g32"))});
    SensitivityEntry e;
    e.unit = m_runs[0].layers[3].name;
    e.scheme = QStringLiteral("rtn-w4-g32");
    e.kld = 0.0123;
    sweep.entries.push_back(e);
    std::vector<RunSummary> runs = m_runs;
    QCOMPARE(attachSweepKld(runs, sweep), 1);
    map.setRuns(runs);
    QCOMPARE(map.matrix().at(3, 0), 0.0123);
    QVERIFY(std::isnan(map.matrix().at(3, 1))); // GPTQ w3's scheme was not swept
    // The CLI draws the same: `plot layers --metric kld --sweep F`, on the colour range asked for.
    const QString sweepFile = m_tmp.filePath(QStringLiteral("one-layer-sweep.json"));
    sweep.units.push_back({e.unit, {3}, 1024}); // what a saved sweep also says: its unit and sizes
    sweep.linearParams = 1024;
    sweep.save(sweepFile);
    const QString csv = m_tmp.filePath(QStringLiteral("layers-kld.csv"));
    const QString png = m_tmp.filePath(QStringLiteral("layers-kld.png"));
    auto cli = qs::test::runCli(QStringList{QStringLiteral("plot"), QStringLiteral("layers")} + m_runDirs +
                                QStringList{QStringLiteral("--metric"), QStringLiteral("kld"),
                                            QStringLiteral("--sweep"), sweepFile, QStringLiteral("--decades"),
                                            QStringLiteral("-4:-1"), QStringLiteral("--csv"), csv,
                                            QStringLiteral("--out"), png});
    QVERIFY2(cli.exitCode == 0, cli.err.constData());
    QVERIFY(readAll(png).startsWith("\x89PNG"));
    int valued = 0;
    for (const QStringList& row : parseCsv(QString::fromUtf8(readAll(csv)))) {
        if (row.front() == m_runs[0].layers[3].name) {
            QCOMPARE(row.at(1).toDouble(), 0.0123);
            ++valued;
        } else if (row.front() != u"layer") {
            for (qsizetype c = 1; c < row.size(); ++c)
                QVERIFY2(row.at(c).isEmpty(), qPrintable(row.join(u','))); // no sweep value: no number
        }
    }
    QCOMPARE(valued, 1);
    // kld needs a sweep; the range must be LOW < HIGH.
    QCOMPARE(qs::test::runCli(QStringList{QStringLiteral("plot"), QStringLiteral("layers"), m_runDirs[0],
                                          QStringLiteral("--metric"), QStringLiteral("kld"),
                                          QStringLiteral("--csv"), csv})
                 .exitCode,
             2);
    QCOMPARE(qs::test::runCli(QStringList{QStringLiteral("plot"), QStringLiteral("layers"), m_runDirs[0],
                                          QStringLiteral("--decades"), QStringLiteral("0:-3"),
                                          QStringLiteral("--csv"), csv})
                 .exitCode,
             2);
    // Another model's sweep gives nothing.
    sweep.modelFingerprint = QStringLiteral("another");
    QCOMPARE(attachSweepKld(runs, sweep), 0);
}

QTEST_MAIN(TestPlots)
#include "tst_plots.moc"
