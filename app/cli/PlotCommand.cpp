#include "Cli.h"
#include "CliOptions.h"
#include "DistributionPlot.h"
#include "ErrorHistogramPlot.h"
#include "LayerErrorBars.h"
#include "LayerErrorHeatmap.h"
#include "LossSizePlot.h"
#include "MemoryPlot.h"
#include "ParetoFrontPlot.h"
#include "analysis/SweepKld.h"
#include "model/Model.h"
#include "results/PlotData.h"
#include "results/RunResults.h"
#include "util/Error.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <map>
#include <optional>

namespace cli {

namespace {

const char* const kPlotKinds =
    "  pareto RUN... [--baseline EVAL.json] [--y ppl|dppl|kld|top1] [--x bpw|mb|decode|prefill|resident]\n"
    "        [--no-front]  perplexity (or KLD) vs bits per weight, MB, or as measured on the\n"
    "        running model: decode or prefill tokens/s, resident weight MB; one series per\n"
    "        method, error bars, Pareto front, float baseline line\n"
    "  allocation STUDY.json\n"
    "        predicted vs measured loss of an allocation study (allocate --measure --report)\n"
    "  memory RUN... [--baseline EVAL.json|MODEL]\n"
    "        stacked bytes by role per run next to the float model (default: the\n"
    "        runs' base model when it is still there)\n"
    "  histogram RUN... [--layer NAME] [--log]\n"
    "        weight-error histograms of one layer, overlaid across runs\n"
    "  layers RUN... [--metric weight|output|kld --sweep SWEEP.json] [--decades LOW:HIGH]\n"
    "        [--bars [--sorted] [--top N] [--linear]]\n"
    "        per-layer error across runs: heatmap on a fixed log colour scale (default\n"
    "        10^-6..10^0) or grouped bars; kld: each layer's KLD contribution, from a\n"
    "        sensitivity sweep of the same model that measured the run's scheme\n"
    "  weights MODEL --layer NAME [--row R] [--group G] [--spec SCHEME] [--log]\n"
    "        a weight row's distribution with the quantization grid of SCHEME\n"
    "        (e.g. rtn-w4-g32) for group G drawn over it\n"
    "RUN is a quantize --out folder (or its run.json) or an eval --json file.\n"
    "Every kind takes --out FILE.png|.pdf|.svg and/or --csv FILE.csv, --width, --height, --title.\n";

std::vector<qs::RunSummary> loadRuns(const QStringList& paths)
{
    std::vector<qs::RunSummary> runs;
    for (const QString& p : paths)
        runs.push_back(qs::RunSummary::load(p));
    return runs;
}

bool isModelFolder(const QString& path)
{
    return QFileInfo(path).isDir() && QFileInfo::exists(QDir(path).filePath(QStringLiteral("config.json"))) &&
           !QFileInfo::exists(QDir(path).filePath(QStringLiteral("run.json")));
}

/// --baseline: an eval JSON, a run, or a model folder (sizes and memory only).
std::optional<qs::RunSummary> loadBaseline(const QString& path)
{
    if (path.isEmpty())
        return std::nullopt;
    if (isModelFolder(path))
        return qs::RunSummary::fromModel(*qs::Model::open(path));
    return qs::RunSummary::load(path);
}

void warnAll(const QStringList& warnings)
{
    for (const QString& w : warnings)
        err() << "warning: " << w << '\n';
    err().flush();
}

/// A command line that asks for something the kind cannot do: printed, exit code kExitUsage.
struct UsageError
{
    const char* message;
};

/// A quality metric (ppl, Δppl, KLD, top-1) vs size or speed, one series per run, Pareto front, float
/// baseline.
std::unique_ptr<qs::PlotWidget> paretoPlot(const QCommandLineParser& p, const QStringList& inputs)
{
    const QString y = p.value(QStringLiteral("y")), x = p.value(QStringLiteral("x"));
    using Size = qs::LossSizePlot::Size;
    const std::map<QString, Size> sizes{{QStringLiteral("bpw"), Size::BitsPerWeight},
                                        {QStringLiteral("mb"), Size::Megabytes},
                                        {QStringLiteral("decode"), Size::DecodeSpeed},
                                        {QStringLiteral("prefill"), Size::PrefillSpeed},
                                        {QStringLiteral("resident"), Size::ResidentMegabytes}};
    using Loss = qs::LossSizePlot::Loss;
    const std::map<QString, Loss> losses{{QStringLiteral("ppl"), Loss::Perplexity},
                                         {QStringLiteral("dppl"), Loss::DeltaPerplexity},
                                         {QStringLiteral("kld"), Loss::Kld},
                                         {QStringLiteral("top1"), Loss::Top1}};
    if (!losses.count(y) || !sizes.count(x)) {
        throw UsageError{"--y takes ppl, dppl, kld or top1, --x bpw, mb, decode, prefill or resident\n"};
    }
    std::vector<qs::RunSummary> runs = loadRuns(inputs);
    const std::optional<qs::RunSummary> baseline = loadBaseline(p.value(QStringLiteral("baseline")));
    warnAll(qs::checkComparable(runs, baseline ? &*baseline : nullptr));
    auto w = std::make_unique<qs::LossSizePlot>();
    w->setLoss(losses.at(y));
    w->setSize(sizes.at(x));
    w->setParetoVisible(!p.isSet(QStringLiteral("no-front")));
    w->setRuns(std::move(runs), baseline);
    return w;
}

/// Stacked bytes by role per run next to the float model.
std::unique_ptr<qs::PlotWidget> memoryPlot(const QCommandLineParser& p, const QStringList& inputs)
{
    std::vector<qs::RunSummary> runs = loadRuns(inputs);
    QString basePath = p.value(QStringLiteral("baseline"));
    if (basePath.isEmpty() && !runs.empty() && isModelFolder(runs.front().modelPath))
        basePath = runs.front().modelPath;
    const std::optional<qs::RunSummary> baseline = loadBaseline(basePath);
    warnAll(qs::checkComparable(runs, baseline ? &*baseline : nullptr));
    auto w = std::make_unique<qs::MemoryPlot>();
    w->setRuns(std::move(runs), baseline);
    return w;
}

/// Weight-error histograms of one layer, overlaid across runs.
std::unique_ptr<qs::PlotWidget> histogramPlot(const QCommandLineParser& p, const QStringList& inputs)
{
    std::vector<qs::RunSummary> runs = loadRuns(inputs);
    warnAll(qs::checkComparable(runs));
    const QString layer = p.value(QStringLiteral("layer"));
    bool found = layer.isEmpty();
    for (const qs::RunSummary& r : runs)
        found = found || r.findLayer(layer);
    if (!found)
        throw qs::Error(u"no run has a layer named '" + layer + u"'");
    auto w = std::make_unique<qs::ErrorHistogramPlot>();
    w->setRuns(std::move(runs));
    w->setLayer(layer);
    w->setLogScale(p.isSet(QStringLiteral("log")));
    return w;
}

/// Per-layer error across runs: heatmap or grouped bars.
std::unique_ptr<qs::PlotWidget> layersPlot(const QCommandLineParser& p, const QStringList& inputs)
{
    const QString m = p.value(QStringLiteral("metric"));
    const std::map<QString, qs::LayerErrorMetric> metrics{
        {QStringLiteral("weight"), qs::LayerErrorMetric::WeightRelMse},
        {QStringLiteral("output"), qs::LayerErrorMetric::OutputRelMse},
        {QStringLiteral("kld"), qs::LayerErrorMetric::KldContribution}};
    if (!metrics.count(m))
        throw UsageError{"--metric takes weight, output or kld\n"};
    const qs::LayerErrorMetric metric = metrics.at(m);
    const QString sweepPath = p.value(QStringLiteral("sweep"));
    if (metric == qs::LayerErrorMetric::KldContribution && sweepPath.isEmpty())
        throw UsageError{"--metric kld needs --sweep SWEEP.json (a sensitivity sweep of the runs' model)\n"};
    int lowDecade = -6, highDecade = 0;
    if (p.isSet(QStringLiteral("decades"))) {
        const QStringList parts = p.value(QStringLiteral("decades")).split(u':');
        bool okLow = false, okHigh = false;
        if (parts.size() == 2) {
            lowDecade = parts[0].toInt(&okLow);
            highDecade = parts[1].toInt(&okHigh);
        }
        if (!okLow || !okHigh || lowDecade >= highDecade)
            throw UsageError{
                "--decades takes LOW:HIGH, two whole powers of ten with LOW < HIGH (e.g. -6:0)\n"};
    }
    std::vector<qs::RunSummary> runs = loadRuns(inputs);
    warnAll(qs::checkComparable(runs));
    if (!sweepPath.isEmpty()) {
        const qs::SensitivityResult sweep = qs::SensitivityResult::load(sweepPath);
        if (qs::attachSweepKld(runs, sweep) == 0)
            warnAll({u"no-kld: " + sweepPath +
                     u" has no layer measured alone with a scheme of these runs (another model, or "
                     u"other schemes): the KLD contributions stay empty"});
    }
    if (p.isSet(QStringLiteral("bars"))) {
        auto w = std::make_unique<qs::LayerErrorBars>();
        w->setMetric(metric);
        w->setSorted(p.isSet(QStringLiteral("sorted")));
        w->setLogScale(!p.isSet(QStringLiteral("linear")));
        w->setMaxLayers(positiveInt(p, QStringLiteral("top"), 0));
        w->setRuns(std::move(runs));
        return w;
    } else {
        auto w = std::make_unique<qs::LayerErrorHeatmap>();
        w->setMetric(metric);
        w->setDecades(lowDecade, highDecade);
        w->setRuns(std::move(runs));
        return w;
    }
}

/// Predicted vs measured loss of an allocation study.
std::unique_ptr<qs::PlotWidget> allocationPlot(const QCommandLineParser&, const QStringList& inputs)
{
    // A study written by `allocate --measure --report F`: predicted front points and every
    // measured plan (predicted vs measured loss, with the rank correlation in the title).
    if (inputs.size() != 1) {
        throw UsageError{"plot allocation takes one STUDY.json (allocate --measure --report)\n"};
    }
    QFile f(inputs.front());
    if (!f.open(QIODevice::ReadOnly))
        throw qs::Error::inFile(inputs.front(), QStringLiteral("cannot open: %1").arg(f.errorString()));
    const QJsonObject study = QJsonDocument::fromJson(f.readAll()).object();
    if (!study.contains(QStringLiteral("plans")) || !study.contains(QStringLiteral("spearman")))
        throw qs::Error::inFile(inputs.front(),
                                QStringLiteral("not an allocation study (no plans / spearman)"));
    std::vector<qs::ParetoFrontPlot::Point> predicted, uniform, measured;
    for (const QJsonValue& v : study.value(QStringLiteral("plans")).toArray()) {
        const QJsonObject o = v.toObject();
        const QString name = o.value(QStringLiteral("name")).toString();
        const double bpw = o.value(QStringLiteral("bpw")).toDouble();
        (o.value(QStringLiteral("kind")).toString() == u"uniform" ? uniform : predicted)
            .push_back({name, bpw, o.value(QStringLiteral("predicted_loss")).toDouble()});
        measured.push_back({name, bpw, o.value(QStringLiteral("measured_loss")).toDouble()});
    }
    std::sort(predicted.begin(), predicted.end(), [](const auto& a, const auto& b) { return a.bpw < b.bpw; });
    auto w = std::make_unique<qs::ParetoFrontPlot>();
    w->setData(predicted, uniform, study.value(QStringLiteral("metric")).toString());
    w->setMeasured(measured);
    w->setTitle(QStringLiteral("Predicted vs measured %1 (Spearman %2)")
                    .arg(study.value(QStringLiteral("metric")).toString())
                    .arg(study.value(QStringLiteral("spearman")).toDouble(), 0, 'f', 3));
    return w;
}

/// A weight row's distribution with a quantization grid drawn over it.
std::unique_ptr<qs::PlotWidget> weightsPlot(const QCommandLineParser& p, const QStringList& inputs)
{
    if (inputs.size() != 1 || !p.isSet(QStringLiteral("layer"))) {
        throw UsageError{"plot weights takes one MODEL and --layer NAME\n"};
    }
    const auto model = qs::Model::open(inputs.front());
    const QString layer = p.value(QStringLiteral("layer"));
    std::int64_t rows = 0, cols = 0;
    const std::vector<float> w = qs::readLinearWeight(*model, layer, &rows, &cols);
    const int row = positiveInt(p, QStringLiteral("row"), 0);
    if (row >= rows)
        throw qs::Error::inFile(
            inputs.front(),
            QStringLiteral("layer '%1' has %2 rows; --row %3 is outside").arg(layer).arg(rows).arg(row));
    const float* values = w.data() + std::int64_t(row) * cols;
    qs::QuantGrid grid;
    std::optional<qs::QuantSpec> spec;
    if (p.isSet(QStringLiteral("spec")))
        spec = qs::QuantSpec::fromShortName(p.value(QStringLiteral("spec")));
    else if (const qs::LinearLayerInfo* l = model->findLinear(layer); l && l->quant)
        spec = *l->quant;
    if (spec)
        grid = qs::quantizationGrid(*spec, values, cols, positiveInt(p, QStringLiteral("group"), 0));
    auto plotW = std::make_unique<qs::DistributionPlot>();
    plotW->setLogScale(p.isSet(QStringLiteral("log")));
    const QString what = spec ? QStringLiteral("%1, row %2, grid of %3 for columns %4–%5")
                                    .arg(layer)
                                    .arg(row)
                                    .arg(spec->label())
                                    .arg(grid.begin)
                                    .arg(grid.end - 1)
                              : QStringLiteral("%1, row %2").arg(layer).arg(row);
    plotW->setValues(what, std::vector<float>(values, values + cols), grid,
                     positiveInt(p, QStringLiteral("bins"), 1));
    return plotW;
}

using PlotBuilder = std::unique_ptr<qs::PlotWidget> (*)(const QCommandLineParser&, const QStringList&);

struct PlotKind
{
    const char* name;
    PlotBuilder build;
};

constexpr PlotKind kPlotBuilders[] = {
    {"pareto", paretoPlot}, {"memory", memoryPlot},         {"histogram", histogramPlot},
    {"layers", layersPlot}, {"allocation", allocationPlot}, {"weights", weightsPlot},
};

void addPlotOptions(QCommandLineParser& p)
{
    p.addOptions({
        {QStringLiteral("out"), QStringLiteral("Picture to write: .png, .pdf or .svg."),
         QStringLiteral("FILE")},
        {QStringLiteral("csv"), QStringLiteral("Write the plotted numbers as CSV."), QStringLiteral("FILE")},
        {QStringLiteral("width"), QStringLiteral("Picture width in pixels (default 900)."),
         QStringLiteral("W"), QStringLiteral("900")},
        {QStringLiteral("height"), QStringLiteral("Picture height in pixels (default 560)."),
         QStringLiteral("H"), QStringLiteral("560")},
        {QStringLiteral("title"), QStringLiteral("Title above the plot."), QStringLiteral("TEXT")},
        {QStringLiteral("baseline"),
         QStringLiteral("pareto/memory: the float model's eval JSON (or model folder)."),
         QStringLiteral("FILE")},
        {QStringLiteral("y"),
         QStringLiteral(
             "pareto: ppl, dppl (Δ perplexity vs float, paired error), kld or top1 (default ppl)."),
         QStringLiteral("LOSS"), QStringLiteral("ppl")},
        {QStringLiteral("x"), QStringLiteral("pareto: bpw, mb, decode, prefill or resident (default bpw)."),
         QStringLiteral("SIZE"), QStringLiteral("bpw")},
        {QStringLiteral("no-front"), QStringLiteral("pareto: do not draw the Pareto front.")},
        {QStringLiteral("layer"), QStringLiteral("histogram/weights: the layer (module name)."),
         QStringLiteral("NAME")},
        {QStringLiteral("log"), QStringLiteral("histogram/weights: logarithmic y axis.")},
        {QStringLiteral("metric"),
         QStringLiteral("layers: weight or output relative MSE, or kld (each layer's KLD contribution, "
                        "needs --sweep); default weight."),
         QStringLiteral("M"), QStringLiteral("weight")},
        {QStringLiteral("sweep"),
         QStringLiteral(
             "layers: a sensitivity sweep (sensitivity --out) of the runs' model, for --metric kld."),
         QStringLiteral("SWEEP.json")},
        {QStringLiteral("decades"),
         QStringLiteral("layers: the heatmap's fixed colour range in powers of ten (default -6:0)."),
         QStringLiteral("LOW:HIGH")},
        {QStringLiteral("bars"), QStringLiteral("layers: grouped bars instead of a heatmap.")},
        {QStringLiteral("sorted"), QStringLiteral("layers --bars: worst layers first.")},
        {QStringLiteral("top"), QStringLiteral("layers --bars: show only the first N layers."),
         QStringLiteral("N"), QStringLiteral("0")},
        {QStringLiteral("linear"), QStringLiteral("layers --bars: linear y axis (default log).")},
        {QStringLiteral("row"), QStringLiteral("weights: the row (output feature), default 0."),
         QStringLiteral("R"), QStringLiteral("0")},
        {QStringLiteral("group"), QStringLiteral("weights: the group whose grid is drawn, default 0."),
         QStringLiteral("G"), QStringLiteral("0")},
        {QStringLiteral("spec"),
         QStringLiteral("weights: the scheme of the grid, e.g. rtn-w4-g32 (default: the layer's own "
                        "spec in a quantized checkpoint, else none)."),
         QStringLiteral("SCHEME")},
        {QStringLiteral("bins"), QStringLiteral("weights: histogram bins (default 120)."),
         QStringLiteral("N"), QStringLiteral("120")},
    });
}

/// Writes the picture and/or the CSV of a built plot.
void writePlot(qs::PlotWidget& plot, const QCommandLineParser& p, const QString& outFile, const QString& csv,
               int width, int height)
{
    if (p.isSet(QStringLiteral("title")))
        plot.setTitle(p.value(QStringLiteral("title")));
    if (!plot.hasData())
        warnAll({QStringLiteral(
            "no-data: nothing to plot for these inputs (runs without evaluation, layers or memory?)")});
    plot.resize(width, height);
    if (!outFile.isEmpty()) {
        plot.exportFile(outFile, width, height);
        out() << "wrote " << outFile << '\n';
    }
    if (!csv.isEmpty()) {
        plot.exportCsv(csv);
        out() << "wrote " << csv << '\n';
    }
}

} // namespace

std::unique_ptr<QCoreApplication> makePlotApplication(int& argc, char** argv)
{
    // Plots render with Qt Widgets; without a display they render offscreen.
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM") && qEnvironmentVariableIsEmpty("DISPLAY") &&
        qEnvironmentVariableIsEmpty("WAYLAND_DISPLAY"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    return std::make_unique<QApplication>(argc, argv);
}

int runPlot(const QStringList& args)
{
    QCommandLineParser p;
    p.setApplicationDescription(
        QStringLiteral(
            "Renders comparison plots of runs headless (PNG or PDF) and exports their data (CSV).\n\n") +
        QString::fromUtf8(kPlotKinds));
    p.addHelpOption();
    p.addPositionalArgument(QStringLiteral("KIND"),
                            QStringLiteral("pareto, memory, histogram, layers or weights"));
    p.addPositionalArgument(QStringLiteral("RUN"),
                            QStringLiteral("run folders / eval JSON files (weights: a model)"),
                            QStringLiteral("RUN..."));
    addPlotOptions(p);
    p.process(args);
    const QStringList pos = p.positionalArguments();
    const QString outFile = p.value(QStringLiteral("out")), csv = p.value(QStringLiteral("csv"));
    if (pos.size() < 2 || (outFile.isEmpty() && csv.isEmpty()))
        return usageError(
            p, joinProblems(pos.size() < 2 ? QStringLiteral("expected a KIND and at least one RUN, got %1 "
                                                            "argument(s)")
                                                 .arg(pos.size())
                                           : QString(),
                            outFile.isEmpty() && csv.isEmpty() ? QStringLiteral("--out or --csv is required")
                                                               : QString()));
    if (!outFile.isEmpty() &&
        !QStringList{QStringLiteral("png"), QStringLiteral("pdf"), QStringLiteral("svg")}.contains(
            QFileInfo(outFile).suffix().toLower())) {
        err() << "--out must end in .png, .pdf or .svg: " << outFile << '\n';
        return kExitUsage;
    }
    const int width = positiveInt(p, QStringLiteral("width"), 64),
              height = positiveInt(p, QStringLiteral("height"), 64);
    const QString kind = pos.front();
    const QStringList inputs = pos.mid(1);

    for (const PlotKind& pk : kPlotBuilders) {
        if (kind != QLatin1String(pk.name))
            continue;
        std::unique_ptr<qs::PlotWidget> plot;
        try {
            plot = pk.build(p, inputs);
        } catch (const UsageError& e) {
            err() << e.message;
            return kExitUsage;
        }
        writePlot(*plot, p, outFile, csv, width, height);
        return kExitOk;
    }
    err() << "unknown plot kind '" << kind << "'\n\n" << kPlotKinds;
    return kExitUsage;
}

} // namespace cli
