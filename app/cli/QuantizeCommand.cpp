#include "Cli.h"
#include "CliOptions.h"
#include "RunsDatabase.h"
#include "model/Model.h"
#include "quant/QuantizeEstimate.h"
#include "recipe/Recipe.h"
#include "results/ExperimentJob.h"
#include "results/RunDiff.h"
#include "results/RunSummaryJson.h"
#include "tokenizer/Tokenizer.h"
#include "util/Error.h"
#include "util/Paths.h"
#include "util/Threads.h"

#include <QCommandLineParser>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonObject>
#include <QRegularExpression>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>

namespace cli {

namespace {

/// A recipe from --recipe, or a one-spec recipe from --method/--bits/… flags.
qs::Recipe recipeFromArgs(const QCommandLineParser& p)
{
    if (p.isSet(QStringLiteral("recipe")))
        return qs::Recipe::fromFile(p.value(QStringLiteral("recipe")));
    QJsonObject spec{{QStringLiteral("method"), p.value(QStringLiteral("method"))}};
    if (p.isSet(QStringLiteral("bits")))
        spec.insert(QStringLiteral("bits"), p.value(QStringLiteral("bits")).toInt());
    const QString g = p.value(QStringLiteral("group"));
    if (g == u"channel" || g == u"tensor")
        spec.insert(QStringLiteral("granularity"), g);
    else if (!g.isEmpty())
        spec.insert(QStringLiteral("group_size"), g.toInt());
    qs::QuantMethod method = qs::QuantMethod::Rtn;
    qs::quantMethodFromName(p.value(QStringLiteral("method")), method);
    if (p.isSet(QStringLiteral("sym")) ||
        (method != qs::QuantMethod::QuipSharp && method != qs::QuantMethod::Aqlm)) // symmetric by design
        spec.insert(QStringLiteral("symmetric"), p.isSet(QStringLiteral("sym")));
    if (p.isSet(QStringLiteral("act-order")))
        spec.insert(QStringLiteral("act_order"), true);
    if (p.isSet(QStringLiteral("dynamic-groups")))
        spec.insert(QStringLiteral("static_groups"), false);
    if (p.isSet(QStringLiteral("clip")))
        spec.insert(QStringLiteral("clip_search"), true);
    if (p.isSet(QStringLiteral("incoherence")))
        spec.insert(QStringLiteral("incoherence"), p.value(QStringLiteral("incoherence")));
    if (spec.value(u"method").toString() == u"gguf") { // the type decides bits, groups and symmetry
        spec = QJsonObject{
            {QStringLiteral("method"), QStringLiteral("gguf")},
            {QStringLiteral("type"),
             p.isSet(QStringLiteral("type"))
                 ? p.value(QStringLiteral("type"))
                 : qs::ggmlTypeName(qs::QuantSpec::ggmlTypeForBits(
                       p.isSet(QStringLiteral("bits")) ? p.value(QStringLiteral("bits")).toInt() : 4))}};
    } else if (p.isSet(QStringLiteral("type"))) {
        throw qs::Error(QStringLiteral("--type is for --method gguf"));
    }
    if (spec.value(u"method").toString() == u"float")
        spec = QJsonObject{{QStringLiteral("method"), QStringLiteral("float")},
                           {QStringLiteral("dtype"), p.value(QStringLiteral("bits")) == u"32"
                                                         ? QStringLiteral("f32")
                                                         : QStringLiteral("f16")}};
    const QJsonObject recipe{
        {QStringLiteral("version"), 1},
        {QStringLiteral("name"), qs::QuantSpec::fromJson(spec, QStringLiteral("<flags>")).label()},
        {QStringLiteral("defaults"), spec}};
    return qs::Recipe::fromJson(QJsonDocument(recipe).toJson(), QStringLiteral("<command-line flags>"));
}

/// terminalProgress with one line per step of the experiment: a report below 100 % after one at
/// 100 % starts the next step (quantization, then evaluation) on a new line.
qs::ProgressFn linePerStep(bool quiet)
{
    return [quiet, line = terminalProgress(quiet), finished = false](const qs::JobProgress& p) mutable {
        if (finished && p.fraction < 1.0 && !quiet)
            err() << '\n';
        finished = p.fraction >= 1.0;
        line(p);
    };
}

} // namespace

int runQuantize(const QStringList& args)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral(
        "Quantizes a model layer by layer with a recipe (or one spec given by flags), saves it with packed "
        "storage, and optionally evaluates it right away."));
    p.addHelpOption();
    p.addPositionalArgument(QStringLiteral("MODEL"), QStringLiteral("model folder"));
    p.addOptions({
        {QStringLiteral("recipe"), QStringLiteral("Recipe JSON."), QStringLiteral("R.json")},
        {QStringLiteral("method"),
         QStringLiteral("Without a recipe: %1.").arg(qs::quantMethodNames().join(u", ")), QStringLiteral("M"),
         QStringLiteral("rtn")},
        {QStringLiteral("type"),
         QStringLiteral("Without a recipe, --method gguf: the ggml type (%1; default from --bits: 4 → Q4_K).")
             .arg(qs::QuantSpec::ggmlTypeChoices().join(u", ")),
         QStringLiteral("T")},
        {QStringLiteral("bits"),
         QStringLiteral("Without a recipe: bits (%1–%2).")
             .arg(qs::quantBitRange().first)
             .arg(qs::quantBitRange().second),
         QStringLiteral("B")},
        {QStringLiteral("group"), QStringLiteral("Without a recipe: group size, or 'channel' / 'tensor'."),
         QStringLiteral("G")},
        {QStringLiteral("sym"), QStringLiteral("Without a recipe: symmetric.")},
        {QStringLiteral("act-order"), QStringLiteral("Without a recipe: GPTQ act-order.")},
        {QStringLiteral("dynamic-groups"),
         QStringLiteral("Without a recipe: GPTQ groups take their scale and zero from the weights as "
                        "updated when the group starts, as the GPTQ reference does (default: static, "
                        "from the original weights).")},
        {QStringLiteral("clip"), QStringLiteral("Without a recipe: MSE clipping search.")},
        {QStringLiteral("incoherence"),
         QStringLiteral(
             "Without a recipe, RTN/GPTQ/HQQ/AQLM (QuIP# always rotates): 'hadamard' rotates each layer's "
             "input space by a "
             "randomized Hadamard transform before quantizing (the layer rotates its inputs at run "
             "time), or 'none'."),
         QStringLiteral("KIND")},
        {QStringLiteral("calib"), QStringLiteral("Calibration text (overrides the recipe's)."),
         QStringLiteral("FILE")},
        {QStringLiteral("samples"), QStringLiteral("Calibration samples (overrides)."), QStringLiteral("N")},
        {QStringLiteral("seq-len"), QStringLiteral("Calibration sequence length (overrides)."),
         QStringLiteral("N")},
        {QStringLiteral("seed"), QStringLiteral("Calibration seed (overrides)."), QStringLiteral("S")},
        {QStringLiteral("out"), QStringLiteral("Output folder (written atomically)."), QStringLiteral("DIR")},
        {QStringLiteral("dry-run"),
         QStringLiteral(
             "Measure the first block on this machine (load, calibration, quantization, then stop) "
             "and print the time and memory the whole run would take; writes nothing.")},
        {QStringLiteral("name"), QStringLiteral("Run name for compare tables."), QStringLiteral("NAME")},
        {QStringLiteral("eval"), QStringLiteral("Evaluate the result on this text."), QStringLiteral("FILE")},
        {QStringLiteral("kld-base"), QStringLiteral("KLD base from the original model (eval --save-base)."),
         QStringLiteral("FILE")},
        {QStringLiteral("json"), QStringLiteral("Print JSON.")},
        {QStringLiteral("threads"), QStringLiteral("Compute threads (default all)."), QStringLiteral("N"),
         QStringLiteral("0")},
        speedOption(),
        recordRunsOption(),
    });
    p.addOptions(perplexityOptions());
    p.process(args);
    const bool dryRun = p.isSet(QStringLiteral("dry-run"));
    if (const QString m = joinProblems(usageProblem(p, 1, QStringLiteral("one MODEL folder")),
                                       !p.isSet(QStringLiteral("out")) && !dryRun
                                           ? QStringLiteral("--out DIR is required (the folder the quantized "
                                                            "model is written to), or --dry-run")
                                           : QString());
        !m.isEmpty())
        return usageError(p, m);
    qs::setComputeThreads(p.value(QStringLiteral("threads")).toInt());
    qs::ExperimentParams params;
    params.recipe = recipeFromArgs(p);
    params.model = qs::Model::open(p.positionalArguments().front());
    params.plan = params.recipe.resolve(*params.model, &params.planWarnings);
    qs::CalibrationSettings& cal = params.calibration;
    cal = params.recipe.calibration;
    cal.text = p.isSet(QStringLiteral("calib")) ? p.value(QStringLiteral("calib"))
                                                : params.recipe.resolvedCalibrationText();
    if (p.isSet(QStringLiteral("samples")))
        cal.samples = p.value(QStringLiteral("samples")).toInt();
    if (p.isSet(QStringLiteral("seq-len")))
        cal.seqLen = p.value(QStringLiteral("seq-len")).toInt();
    if (p.isSet(QStringLiteral("seed")))
        cal.seed = p.value(QStringLiteral("seed")).toUInt();
    params.name = p.isSet(QStringLiteral("name")) ? p.value(QStringLiteral("name")) : params.recipe.name;
    params.evaluation.textPath = p.value(QStringLiteral("eval"));
    if (!params.evaluation.textPath.isEmpty()) {
        params.evaluation.perplexity = perplexityOptionsFrom(p);
        params.evaluation.kldBasePath = p.value(QStringLiteral("kld-base"));
        applySpeedOption(p, params.evaluation);
    }
    params.outDir = p.value(QStringLiteral("out"));
    params.progressPerStep = true;
    const bool json = p.isSet(QStringLiteral("json"));
    for (const QString& w : qs::experimentPreflightWarnings(params))
        err() << "warning: " << w << '\n';
    if (dryRun) {
        qs::JobContext job;
        job.progress = terminalProgress(json);
        const auto tokenizer = qs::Tokenizer::load(params.model->path());
        const qs::QuantizeEstimate e =
            qs::estimateQuantization(params.model, params.plan, cal, tokenizer.get(), job);
        if (json) {
            printJson(QJsonDocument(e.toJson()));
        } else {
            err() << '\n';
            out() << params.model->displayName() << ": " << e.toText() << '\n';
        }
        return kExitOk;
    }

    qs::JobContext job;
    job.progress = linePerStep(json);
    const qs::ExperimentResult experiment = qs::runExperiment(params, job);
    if (!json)
        err() << '\n';
    if (!experiment.checkpointError.isEmpty()) // the folder is what this command is for
        throw qs::Error(experiment.checkpointError);
    recordQuantizeRun(runsFolderFrom(p), params, experiment, json);
    const qs::QuantizeResult& result = experiment.quantize;
    const QJsonObject& run = experiment.run;
    const auto& model = params.model;
    const QString& outDir = params.outDir;

    if (json) {
        QJsonObject full = run;
        full.insert(QStringLiteral("result"), result.toJson());
        printJson(QJsonDocument(full));
        return kExitOk;
    }
    out() << QStringLiteral(
                 "%1: %2 layers quantized in %3 s (calibration %4 s), %5, %6 bpw (linears %7), peak RSS %8\n")
                 .arg(model->displayName())
                 .arg(result.layers.size())
                 .arg(result.seconds, 0, 'f', 2)
                 .arg(result.calibrationSeconds, 0, 'f', 2)
                 .arg(qs::formatBytes(double(result.modelBytes)))
                 .arg(run.value(u"bpw").toDouble(), 0, 'f', 3)
                 .arg(result.linearBitsPerWeight, 0, 'f', 3)
                 .arg(qs::formatBytes(result.peakRssBytes));
    for (const qs::LayerReport& l : result.layers)
        out() << QStringLiteral("  %1 %2 %3 bpw  weight relMSE %4  output relMSE %5  %6\n")
                     .arg(l.name.leftJustified(36), l.spec.label().leftJustified(26))
                     .arg(l.bitsPerWeight, 6, 'f', 3)
                     .arg(l.weightRelMse, 0, 'e', 3)
                     // Measured on calibration inputs only: "–" for a method that collects none (RTN, ggml).
                     .arg(std::isfinite(l.outputRelMse) ? QString::number(l.outputRelMse, 'e', 3)
                                                        : QStringLiteral("–"))
                     .arg(l.note);
    if (run.contains(u"eval")) {
        const QJsonObject e = run.value(u"eval").toObject();
        const QJsonObject pp = e.value(u"perplexity").toObject();
        out() << QStringLiteral("PPL %1 +/- %2")
                     .arg(pp.value(u"ppl").toDouble(), 0, 'f', 4)
                     .arg(pp.value(u"ppl_error").toDouble(), 0, 'f', 5);
        if (e.contains(u"kld"))
            out() << QStringLiteral(", mean KLD %1, same top %2 %")
                         .arg(e.value(u"kld").toObject().value(u"mean_kld").toDouble(), 0, 'f', 6)
                         .arg(e.value(u"kld").toObject().value(u"same_top_percent").toDouble(), 0, 'f', 2);
        out() << '\n';
    }
    out() << "saved to " << outDir << '\n';
    return kExitOk;
}

namespace {

/// compare's row of a run kept in the results database.
QJsonObject compareRow(const qs::RunSummary& s)
{
    QJsonObject row = qs::runMetricsJson(s);
    row.insert(QStringLiteral("run"), s.name);
    return row;
}

QJsonValue finite(double v)
{
    return std::isfinite(v) ? QJsonValue(v) : QJsonValue();
}

/// compare --diff: two runs' whole-run metrics, then the layers whose scheme differs (all layers
/// with `allLayers`) with each scheme field and measurement of A beside B's.
int printRunDiff(const qs::RunSummary& a, const qs::RunSummary& b, bool json, bool allLayers)
{
    const qs::RunDiff diff = qs::diffRuns(a, b);
    const std::vector<qs::RunMetricPair> metrics = qs::runMetricPairs(a, b);
    const QStringList differing = diff.differingLayers();
    if (json) {
        QJsonArray ms, layers;
        for (const qs::RunMetricPair& m : metrics)
            ms.append(QJsonObject{{QStringLiteral("metric"), m.key},
                                  {QStringLiteral("a"), finite(m.a)},
                                  {QStringLiteral("b"), finite(m.b)},
                                  {QStringLiteral("delta"), finite(m.b - m.a)}});
        for (const qs::RunLayerDiff& l : diff.layers) {
            if (!allLayers && !l.schemeDiffers())
                continue;
            QJsonObject fields;
            for (int f = 0; f < int(qs::SchemeField::Count); ++f)
                fields.insert(qs::schemeFieldName(qs::SchemeField(f)),
                              QJsonArray{l.fieldsA[f], l.fieldsB[f]});
            auto pair = [&](auto value) {
                return QJsonArray{l.a ? finite(value(*l.a)) : QJsonValue(),
                                  l.b ? finite(value(*l.b)) : QJsonValue()};
            };
            layers.append(QJsonObject{
                {QStringLiteral("layer"), l.layer},
                {QStringLiteral("differs"), l.schemeDiffers()},
                {QStringLiteral("scheme"), fields},
                {QStringLiteral("weight_rel_mse"),
                 pair([](const qs::LayerMetrics& m) { return m.weightRelMse; })},
                {QStringLiteral("output_rel_mse"),
                 pair([](const qs::LayerMetrics& m) { return m.outputRelMse; })},
                {QStringLiteral("bpw"), pair([](const qs::LayerMetrics& m) { return m.bitsPerWeight; })},
                {QStringLiteral("bytes"),
                 pair([](const qs::LayerMetrics& m) { return m.bytes ? double(m.bytes) : std::nan(""); })}});
        }
        printJson(QJsonDocument(
            QJsonObject{{QStringLiteral("a"), a.name},
                        {QStringLiteral("b"), b.name},
                        {QStringLiteral("metrics"), ms},
                        {QStringLiteral("differing_layers"), QJsonArray::fromStringList(differing)},
                        {QStringLiteral("layers"), layers}}));
        return kExitOk;
    }
    auto num = [](double v, int prec) {
        return std::isfinite(v) ? QString::number(v, 'f', prec) : QStringLiteral("–");
    };
    auto sci = [](double v) { return std::isfinite(v) ? QString::number(v, 'e', 2) : QStringLiteral("–"); };
    out() << "A: " << a.name << " (" << a.recipeSummary << ")\n"
          << "B: " << b.name << " (" << b.recipeSummary << ")\n\n";
    out() << QStringLiteral("metric").leftJustified(16) << QStringLiteral("A").rightJustified(12)
          << QStringLiteral("B").rightJustified(12) << QStringLiteral("B - A").rightJustified(12) << '\n';
    for (const qs::RunMetricPair& m : metrics) {
        const double d = m.b - m.a;
        out() << m.label.leftJustified(16) << num(m.a, m.precision).rightJustified(12)
              << num(m.b, m.precision).rightJustified(12)
              << QString((std::isfinite(d) && d > 0 ? QStringLiteral("+") : QString()) + num(d, m.precision))
                     .rightJustified(12)
              << '\n';
    }
    out() << '\n'
          << QStringLiteral("%1 of %2 layers quantized differently")
                 .arg(differing.size())
                 .arg(diff.layers.size())
          << (allLayers || differing.isEmpty() ? QStringLiteral(":\n")
                                               : QStringLiteral(" (* marks the fields):\n"));
    if (!allLayers && differing.isEmpty())
        return kExitOk;
    int width = 5;
    for (const qs::RunLayerDiff& l : diff.layers)
        width = std::max(width, int(l.layer.size()));
    QString head = QStringLiteral("layer").leftJustified(width);
    for (int f = 0; f < int(qs::SchemeField::Count); ++f)
        head += u"  " + QStringLiteral("%1 A → B")
                            .arg(qs::schemeFieldName(qs::SchemeField(f)))
                            .leftJustified(f == 4 ? 22 : 14);
    head += QStringLiteral("  weight rMSE A → B      output rMSE A → B      bpw A → B");
    out() << head << '\n';
    for (const qs::RunLayerDiff& l : diff.layers) {
        if (!allLayers && !l.schemeDiffers())
            continue;
        QString line = l.layer.leftJustified(width);
        for (int f = 0; f < int(qs::SchemeField::Count); ++f) {
            const bool differs =
                std::find(l.differing.begin(), l.differing.end(), qs::SchemeField(f)) != l.differing.end();
            const QString cell =
                differs ? QStringLiteral("*%1 → %2").arg(l.fieldsA[f], l.fieldsB[f]) : l.fieldsA[f];
            line += u"  " + cell.leftJustified(f == 4 ? 22 : 14);
        }
        const double nan = std::nan("");
        line += u"  " + QStringLiteral("%1 → %2")
                            .arg(sci(l.a ? l.a->weightRelMse : nan), sci(l.b ? l.b->weightRelMse : nan))
                            .leftJustified(21);
        line += u"  " + QStringLiteral("%1 → %2")
                            .arg(sci(l.a ? l.a->outputRelMse : nan), sci(l.b ? l.b->outputRelMse : nan))
                            .leftJustified(21);
        line += u"  " + num(l.a ? l.a->bitsPerWeight : nan, 3) + QStringLiteral(" → ") +
                num(l.b ? l.b->bitsPerWeight : nan, 3);
        out() << line << '\n';
    }
    return kExitOk;
}

} // namespace

int runCompare(const QStringList& args)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral("Compares runs: quantize output folders (their run.json) "
                                               "and/or eval JSON files (eval --json > f.json)."));
    p.addHelpOption();
    p.addPositionalArgument(QStringLiteral("RUN"),
                            QStringLiteral("run folder, eval JSON file, or @ID of a recorded run"),
                            QStringLiteral("RUN..."));
    p.addOption({QStringLiteral("csv"), QStringLiteral("Print CSV.")});
    p.addOption({QStringLiteral("json"), QStringLiteral("Print JSON.")});
    p.addOption({QStringLiteral("diff"),
                 QStringLiteral("Two runs side by side: whole-run metrics, then the layers whose scheme "
                                "differs (method, bits, group, sym, type) with their errors and bpw.")});
    p.addOption({QStringLiteral("all-layers"),
                 QStringLiteral("With --diff: every layer, not only those that differ.")});
    p.addOption({QStringLiteral("runs"),
                 QStringLiteral("Runs folder whose results database run ids (@ID, or ID when no such file "
                                "exists) are read from (default: $QUANTSCOPE_RUNS, else the GUI's)."),
                 QStringLiteral("DIR")});
    p.process(args);
    if (p.positionalArguments().isEmpty())
        return usageError(p, QStringLiteral("no RUN given"));
    QJsonArray rows;
    std::unique_ptr<qs::ResultsDb> db;
    static const QRegularExpression runId(QStringLiteral("^@?([0-9]+)$"));
    // A recorded run named by @ID (nullopt: the argument is a path).
    auto recorded = [&](const QString& path) -> std::optional<qs::RunSummary> {
        const auto m = runId.match(path);
        if (!m.hasMatch() || QFileInfo::exists(path))
            return std::nullopt;
        if (!db)
            db = openRunsDatabase(runsFolderFrom(p));
        const auto stored = db->run(m.captured(1).toLongLong());
        if (!stored)
            throw qs::Error::inFile(db->file(), QStringLiteral("holds no run %1").arg(m.captured(1)));
        return stored->run.summary;
    };
    if (p.isSet(QStringLiteral("diff"))) {
        if (p.positionalArguments().size() != 2) {
            err() << "compare --diff takes two runs (run folders, run.json files or @ID), got "
                  << p.positionalArguments().size() << '\n';
            return kExitUsage;
        }
        std::vector<qs::RunSummary> two;
        for (const QString& path : p.positionalArguments()) {
            auto r = recorded(path);
            two.push_back(r ? std::move(*r) : qs::RunSummary::load(path));
        }
        return printRunDiff(two[0], two[1], p.isSet(QStringLiteral("json")),
                            p.isSet(QStringLiteral("all-layers")));
    }
    for (const QString& path : p.positionalArguments()) {
        if (const auto r = recorded(path)) {
            rows.append(compareRow(*r));
            continue;
        }
        const QString file = QFileInfo(path).isDir() ? QDir(path).filePath(QStringLiteral("run.json")) : path;
        QFile f(file);
        if (!f.open(QIODevice::ReadOnly))
            throw qs::Error::inFile(file,
                                    QStringLiteral("cannot open (a quantize output folder has run.json)"));
        QJsonParseError perr{};
        const QJsonObject o = QJsonDocument::fromJson(f.readAll(), &perr).object();
        if (perr.error != QJsonParseError::NoError || o.isEmpty())
            throw qs::Error::inFile(file, QStringLiteral("not a run or eval JSON file"));
        const QJsonObject e = o.contains(u"eval") ? o.value(u"eval").toObject() : o; // eval JSON itself
        const QJsonObject pp = e.value(u"perplexity").toObject();
        const QJsonObject kld = e.value(u"kld").toObject();
        const QJsonObject speed = e.value(u"speed").toObject(); // measured on the model as it runs
        QJsonObject row{
            {QStringLiteral("run"), o.value(u"name").toString(QFileInfo(path).completeBaseName())},
            {QStringLiteral("bpw"), o.contains(u"bpw") ? o.value(u"bpw") : e.value(u"bpw")},
            {QStringLiteral("linear_bpw"),
             o.contains(u"linear_bpw") ? o.value(u"linear_bpw") : e.value(u"linear_bpw")},
            {QStringLiteral("MB"),
             (o.contains(u"model_bytes") ? o.value(u"model_bytes") : e.value(u"model_bytes")).toDouble() /
                 1e6},
            {QStringLiteral("ppl"), pp.value(u"ppl")},
            {QStringLiteral("ppl_error"), pp.value(u"ppl_error")},
            {QStringLiteral("delta_ppl"), kld.value(u"delta_ppl")},
            {QStringLiteral("delta_ppl_error"), kld.value(u"delta_ppl_error")},
            {QStringLiteral("kld"), kld.value(u"mean_kld")},
            {QStringLiteral("top1_percent"), kld.value(u"same_top_percent")},
            {QStringLiteral("top1_error"), kld.value(u"same_top_error")},
            {QStringLiteral("prefill_tokens_per_second"), speed.value(u"prefill_tokens_per_second")},
            {QStringLiteral("decode_tokens_per_second"), speed.value(u"decode_tokens_per_second")},
            {QStringLiteral("resident_MB"), speed.contains(u"weight_bytes")
                                                ? QJsonValue(speed.value(u"weight_bytes").toDouble() / 1e6)
                                                : QJsonValue()},
            {QStringLiteral("threads"), speed.value(u"threads")},
            {QStringLiteral("quantize_seconds"), o.value(u"quantize_seconds")}};
        rows.append(row);
    }
    if (p.isSet(QStringLiteral("json"))) {
        printJson(QJsonDocument(rows));
        return kExitOk;
    }
    auto num = [](const QJsonValue& v, int prec) {
        return v.isDouble() ? QString::number(v.toDouble(), 'f', prec) : QString();
    };
    const bool csv = p.isSet(QStringLiteral("csv"));
    const QStringList header{
        QStringLiteral("run"),     QStringLiteral("bpw"),      QStringLiteral("lin.bpw"),
        QStringLiteral("MB"),      QStringLiteral("ppl"),      QStringLiteral("±"),
        QStringLiteral("Δppl"),    QStringLiteral("±"),        QStringLiteral("KLD"),
        QStringLiteral("top-1 %"), QStringLiteral("pp tok/s"), QStringLiteral("tg tok/s"),
        QStringLiteral("res. MB"), QStringLiteral("thr"),      QStringLiteral("time s")};
    const std::vector<int> widths{-24, 7, 8, 8, 10, 8, 9, 8, 9, 8, 9, 9, 8, 4, 8}; // negative: left-aligned
    auto line = [&](const QStringList& cells) -> QString {
        if (csv)
            return cells.join(u',') + u'\n';
        QString s;
        for (int i = 0; i < int(cells.size()); ++i)
            s += (i ? QStringLiteral(" ") : QString()) +
                 (widths[std::size_t(i)] < 0 ? cells[i].leftJustified(-widths[std::size_t(i)])
                                             : cells[i].rightJustified(widths[std::size_t(i)]));
        return s + u'\n';
    };
    out() << (csv ? QStringLiteral("run,bpw,linear_bpw,MB,ppl,ppl_error,delta_ppl,delta_ppl_error,kld,top1_"
                                   "percent,prefill_tokens_per_second,"
                                   "decode_tokens_per_second,resident_MB,threads,quantize_seconds\n")
                  : line(header));
    for (const QJsonValue& v : rows) {
        const QJsonObject r = v.toObject();
        out() << line({r.value(u"run").toString(), num(r.value(u"bpw"), 3), num(r.value(u"linear_bpw"), 3),
                       num(r.value(u"MB"), 4), num(r.value(u"ppl"), 4), num(r.value(u"ppl_error"), 4),
                       num(r.value(u"delta_ppl"), 4), num(r.value(u"delta_ppl_error"), 4),
                       num(r.value(u"kld"), 6), num(r.value(u"top1_percent"), 2),
                       num(r.value(u"prefill_tokens_per_second"), 1),
                       num(r.value(u"decode_tokens_per_second"), 1), num(r.value(u"resident_MB"), 3),
                       num(r.value(u"threads"), 0), num(r.value(u"quantize_seconds"), 2)});
    }
    return kExitOk;
}

} // namespace cli
