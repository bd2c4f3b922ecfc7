#include "Cli.h"
#include "CliOptions.h"
#include "analysis/Allocation.h"
#include "analysis/AllocationStudy.h"
#include "analysis/Sensitivity.h"
#include "analysis/SweepShards.h"
#include "model/Model.h"
#include "tokenizer/Tokenizer.h"
#include "util/AtomicFile.h"
#include "util/Error.h"
#include "util/Threads.h"

#include <QCommandLineParser>
#include <QFileInfo>
#include <QJsonArray>
#include <cmath>
#include <csignal>
#include <functional>

namespace cli {

namespace {

/// Ctrl-C cancels the running job cleanly (the sweep keeps what it finished) instead of killing it.
std::shared_ptr<qs::CancelToken> g_cancel;
extern "C" void onInterrupt(int)
{
    if (g_cancel)
        g_cancel->cancel();
}

qs::JobContext interruptibleJob(bool quiet)
{
    qs::JobContext job;
    job.progress = terminalProgress(quiet);
    g_cancel = job.cancel;
    std::signal(SIGINT, onInterrupt);
    return job;
}

QString absolute(const QString& path)
{
    return path.isEmpty() ? path : QFileInfo(path).absoluteFilePath();
}

void writeJsonFile(const QString& path, const QJsonObject& o)
{
    qs::writeFileAtomically(path, QJsonDocument(o).toJson(QJsonDocument::Indented));
}

/// One row per measurement; "stored as" names llama-quantize's fallback where a gguf scheme's
/// block does not fit the unit's rows (sensitivityFallback), so such a row is not read as the scheme.
QString entriesTable(const qs::SensitivityResult& r, const qs::Model& model)
{
    QString s = QStringLiteral("%1 %2 %3 %4 %5 %6 %7 %8\n")
                    .arg(QStringLiteral("unit"), -42)
                    .arg(QStringLiteral("scheme"), -16)
                    .arg(QStringLiteral("stored as"), -14)
                    .arg(QStringLiteral("bpw"), 6)
                    .arg(QStringLiteral("ppl"), 10)
                    .arg(QStringLiteral("KLD"), 9)
                    .arg(QStringLiteral("w.relMSE"), 9)
                    .arg(QStringLiteral("out.relMSE"), 10);
    for (const qs::SensitivityEntry& e : r.entries) {
        QString stored = QStringLiteral("-");
        for (const qs::SensitivityUnit& u : r.units) {
            for (const qs::SensitivityScheme& k : r.schemes) {
                if (u.name == e.unit && k.name == e.scheme &&
                    !qs::sensitivityFallback(model, u, k.spec).isEmpty())
                    stored = qs::sensitivityFallback(model, u, k.spec);
            }
        }
        s += QStringLiteral("%1 %2 %3 %4 %5 %6 %7 %8\n")
                 .arg(e.unit, -42)
                 .arg(e.scheme, -16)
                 .arg(stored, -14)
                 .arg(e.bitsPerWeight, 6, 'f', 3)
                 .arg(e.ppl, 10, 'f', 4)
                 .arg(e.kld, 9, 'f', 5)
                 .arg(e.weightRelMse, 9, 'e', 2)
                 .arg(std::isfinite(e.outputRelMse) ? QString::number(e.outputRelMse, 'e', 2)
                                                    : QStringLiteral("–"),
                      10);
    }
    return s;
}

/// sensitivity --dry-run --shards N: what each shard measures and costs (one block timing for all).
int printShardCosts(const std::shared_ptr<const qs::Model>& modelPtr, const qs::Tokenizer& tokenizer,
                    qs::SensitivitySettings settings, int count, bool json)
{
    const qs::Model& model = *modelPtr;
    settings.shard = {};
    qs::SensitivityCost whole = qs::estimateSensitivityCost(model, tokenizer, settings);
    qs::timeSensitivityForwards(modelPtr, settings, whole);
    QJsonArray shards;
    double slowest = 0;
    for (int i = 0; i < count; ++i) {
        settings.shard = {i, count};
        qs::SensitivityCost c = qs::estimateSensitivityCost(model, tokenizer, settings);
        qs::addForwardSeconds(c, settings, model.config().numLayers, whole.secondsPerTokenBlock);
        slowest = std::max(slowest, c.forwardSeconds);
        shards.append(c.toJson());
        if (!json)
            out() << "shard " << settings.shard.toText() << ": " << c.toText() << '\n';
    }
    if (json)
        printJson(QJsonDocument(
            QJsonObject{{QStringLiteral("sweep"), whole.toJson()}, {QStringLiteral("shards"), shards}}));
    else
        out() << QStringLiteral("whole sweep in one process: forward passes about %1; in %2 shards at once: "
                                "about %3 (the slowest shard). Times are for this machine at %4 threads; "
                                "scale them to the nodes' speed and --cpus.\n")
                     .arg(qs::roughDuration(whole.forwardSeconds))
                     .arg(count)
                     .arg(qs::roughDuration(slowest))
                     .arg(qs::computeThreads());
    return kExitOk;
}

} // namespace

int runSensitivity(const QStringList& args)
{
    QCommandLineParser p;
    p.setApplicationDescription(
        QStringLiteral("Layer sensitivity sweep: for every linear layer (or group) and every candidate "
                       "scheme, quantize only that "
                       "unit, evaluate the sample, record Δ perplexity, KLD and cheap proxies. The result "
                       "file is written after "
                       "each unit, so Ctrl-C or a crash keeps what was finished; --resume continues it."));
    p.addHelpOption();
    p.addPositionalArgument(QStringLiteral("MODEL"), QStringLiteral("float model folder"));
    p.addOptions({
        {QStringLiteral("schemes"),
         QStringLiteral("Comma-separated candidate schemes, e.g. gguf-q2_k,gguf-q3_k,gguf-q4_k,gguf-q6_k or "
                        "gptq-w2-ch,gptq-w4-ch: gguf-TYPE[-imat] with TYPE one of %1; "
                        "METHOD-wB-gN|ch|tensor[-sym][-clip][-act][-had] with METHOD one of %2; f16 keeps a "
                        "layer float.")
             .arg(qs::QuantSpec::ggmlTypeChoices().join(u", ").toLower(),
                  qs::quantMethodNames(false).join(u", ")),
         QStringLiteral("LIST")},
        {QStringLiteral("eval"), QStringLiteral("Evaluation text (the sample: see --ctx/--chunks)."),
         QStringLiteral("FILE")},
        {QStringLiteral("calib"),
         QStringLiteral("Calibration text (needed by GPTQ/AWQ schemes and the proxies)."),
         QStringLiteral("FILE")},
        {QStringLiteral("samples"), QStringLiteral("Calibration samples (default 128)."), QStringLiteral("N"),
         QStringLiteral("128")},
        {QStringLiteral("seq-len"), QStringLiteral("Calibration sequence length (default 128)."),
         QStringLiteral("N"), QStringLiteral("128")},
        {QStringLiteral("seed"), QStringLiteral("Calibration seed."), QStringLiteral("S"),
         QStringLiteral("1234")},
        {QStringLiteral("layers"), QStringLiteral("Only layers whose name matches this regex."),
         QStringLiteral("REGEX")},
        {QStringLiteral("group"),
         QStringLiteral("Quantize the layers matching REGEX together as one unit (repeatable)."),
         QStringLiteral("REGEX")},
        {QStringLiteral("out"), QStringLiteral("Result JSON (written atomically after every unit)."),
         QStringLiteral("S.json")},
        {QStringLiteral("resume"),
         QStringLiteral("Continue the sweep in --out, computing only what is missing.")},
        {QStringLiteral("dry-run"),
         QStringLiteral(
             "Print the cost of the sweep (size, memory, time of its forward passes from one block timed "
             "here) and stop.")},
        {QStringLiteral("shard"),
         QStringLiteral("Measure only shard I of N (I 0-based, e.g. ${SLURM_ARRAY_TASK_ID}/N): the sweep's "
                        "entries dealt round-robin; join the shard files with `merge`."),
         QStringLiteral("I/N")},
        {QStringLiteral("shards"), QStringLiteral("With --dry-run: print the cost of each of N shards."),
         QStringLiteral("N")},
        {QStringLiteral("json"), QStringLiteral("Print JSON.")},
        threadsOption(),
    });
    p.addOptions(perplexityOptions());
    p.process(args);
    if (p.isSet(QStringLiteral("shards")) && !p.isSet(QStringLiteral("dry-run"))) {
        err() << "--shards N goes with --dry-run; a run measures one shard: --shard I/N\n";
        return kExitUsage;
    }
    if (const QString m = joinProblems(usageProblem(p, 1, QStringLiteral("one MODEL"),
                                                    {QStringLiteral("schemes"), QStringLiteral("eval")}),
                                       !p.isSet(QStringLiteral("out")) && !p.isSet(QStringLiteral("dry-run"))
                                           ? QStringLiteral("--out is required (or --dry-run)")
                                           : QString());
        !m.isEmpty())
        return usageError(p, m);
    qs::setComputeThreads(p.value(QStringLiteral("threads")).toInt());
    qs::SensitivitySettings settings;
    settings.schemes = qs::parseSchemes(p.value(QStringLiteral("schemes")));
    settings.layerFilter = p.value(QStringLiteral("layers"));
    settings.groupPatterns = p.values(QStringLiteral("group"));
    settings.evalText = absolute(p.value(QStringLiteral("eval")));
    // A sweep needs a sample, not the whole text: default to 32 chunks of 128 tokens.
    settings.eval = perplexityOptionsFrom(p);
    if (!p.isSet(QStringLiteral("ctx")))
        settings.eval.ctx = 128;
    if (!p.isSet(QStringLiteral("chunks")))
        settings.eval.maxChunks = 32;
    settings.calibration.text = absolute(p.value(QStringLiteral("calib")));
    settings.calibration.samples = positiveInt(p, QStringLiteral("samples"), 1);
    settings.calibration.seqLen =
        positiveInt(p, QStringLiteral("seq-len"), qs::CalibrationSettings::kMinSeqLen);
    settings.calibration.seed = std::uint32_t(positiveInt(p, QStringLiteral("seed"), 0));
    if (p.isSet(QStringLiteral("shard")))
        settings.shard = qs::parseSweepShard(p.value(QStringLiteral("shard")));
    const QString outPath = p.value(QStringLiteral("out"));
    const bool json = p.isSet(QStringLiteral("json"));

    const auto model = qs::Model::open(p.positionalArguments().front());
    const auto tokenizer = qs::Tokenizer::load(model->path());
    std::optional<qs::SensitivityResult> previous;
    if (p.isSet(QStringLiteral("resume")) && QFileInfo::exists(outPath))
        previous = qs::SensitivityResult::load(outPath);
    qs::SensitivityCost cost =
        qs::estimateSensitivityCost(*model, *tokenizer, settings, previous ? &*previous : nullptr);
    if (p.isSet(QStringLiteral("dry-run")) && p.isSet(QStringLiteral("shards")))
        return printShardCosts(model, *tokenizer, settings, positiveInt(p, QStringLiteral("shards"), 1),
                               json);
    const QString costLabel = settings.shard.sharded()
                                  ? QStringLiteral("shard %1 cost: ").arg(settings.shard.toText())
                                  : QStringLiteral("sweep cost: ");
    if (p.isSet(QStringLiteral("dry-run"))) {
        qs::timeSensitivityForwards(model, settings, cost);
        if (json)
            printJson(QJsonDocument(cost.toJson()));
        else
            out() << costLabel << cost.toText() << '\n';
        return kExitOk;
    }
    if (!json)
        err() << costLabel << cost.toText() << '\n';
    if (!previous && QFileInfo::exists(outPath))
        err() << "note: " << outPath << " exists and will be replaced (use --resume to continue it)\n";

    const qs::JobContext job = interruptibleJob(json);
    qs::SensitivityResult result;
    try {
        result = qs::runSensitivity(model, *tokenizer, settings, previous ? &*previous : nullptr, job,
                                    [&](const qs::SensitivityResult& partial) { partial.save(outPath); });
    } catch (const qs::Cancelled&) {
        err() << "\ncancelled: " << outPath
              << " keeps the finished units; run again with --resume to continue\n";
        return kExitFailure;
    }
    result.save(outPath);
    if (!json)
        err() << '\n';
    if (json) {
        printJson(QJsonDocument(result.toJson()));
    } else {
        out() << entriesTable(result, *model);
        out() << QStringLiteral("base ppl %1 on %2 scored tokens; %3 entries in %4 s → %5\n")
                     .arg(result.basePpl, 0, 'f', 4)
                     .arg(result.evalTokens)
                     .arg(result.entries.size())
                     .arg(result.seconds, 0, 'f', 1)
                     .arg(outPath);
    }
    return kExitOk;
}

namespace {

QList<QCommandLineOption> allocateOptions()
{
    return {
        {QStringLiteral("bpw"),
         QStringLiteral("Budget: average bits per weight over the swept layers (comma list with --measure)."),
         QStringLiteral("B")},
        {QStringLiteral("bytes"), QStringLiteral("Budget: total bytes of the swept layers."),
         QStringLiteral("N")},
        {QStringLiteral("max-loss"),
         QStringLiteral("Target: the smallest plan with predicted loss at most X."), QStringLiteral("X")},
        {QStringLiteral("metric"), QStringLiteral("Loss added up: kld (default) or nll (log ppl ratio)."),
         QStringLiteral("M"), QStringLiteral("kld")},
        {QStringLiteral("schemes"), QStringLiteral("Use only these measured schemes (comma list)."),
         QStringLiteral("LIST")},
        {QStringLiteral("model"), QStringLiteral("Model folder (default: the one the sweep was run on)."),
         QStringLiteral("DIR")},
        {QStringLiteral("out"), QStringLiteral("Recipe JSON to write (the first budget's plan)."),
         QStringLiteral("R.json")},
        {QStringLiteral("front"), QStringLiteral("Print the predicted Pareto front.")},
        {QStringLiteral("measure"), QStringLiteral("Quantize + evaluate plans; needs --eval.")},
        {QStringLiteral("front-points"),
         QStringLiteral("With --measure: plans sampled along the front (default 8)."), QStringLiteral("N"),
         QStringLiteral("8")},
        {QStringLiteral("eval"), QStringLiteral("With --measure: held-out evaluation text."),
         QStringLiteral("FILE")},
        {QStringLiteral("report"), QStringLiteral("With --measure: write the study JSON here."),
         QStringLiteral("FILE")},
        {QStringLiteral("json"), QStringLiteral("Print JSON.")},
        threadsOption(),
    };
}

/// allocate --front: the predicted Pareto front, printed and as JSON.
QJsonArray printFront(const qs::Allocator& alloc, bool json)
{
    QJsonArray frontJson;
    const std::vector<qs::AllocationPlan> front = alloc.paretoFront();
    if (!json)
        out() << QStringLiteral("predicted Pareto front (%1 plans, %2 to %3 bpw):\n")
                     .arg(front.size())
                     .arg(alloc.minBitsPerWeight(), 0, 'f', 3)
                     .arg(alloc.maxBitsPerWeight(), 0, 'f', 3);
    for (const qs::AllocationPlan& pl : front) {
        frontJson.append(QJsonObject{{QStringLiteral("bpw"), pl.bitsPerWeight},
                                     {QStringLiteral("bytes"), qint64(pl.bytes)},
                                     {QStringLiteral("predicted_loss"), pl.predictedLoss}});
        if (!json)
            out() << QStringLiteral("  %1 bpw  %2\n")
                         .arg(pl.bitsPerWeight, 8, 'f', 4)
                         .arg(pl.predictedLoss, 12, 'g', 5);
    }
    return frontJson;
}

/// allocate --measure: quantizes and evaluates the plans at the budgets, the uniform plans and
/// points along the front; the study's JSON.
QJsonObject measurePlans(const QCommandLineParser& p, const qs::SensitivityResult& sens,
                         const qs::Allocator& alloc, const std::vector<double>& budgets,
                         const std::function<std::shared_ptr<const qs::Model>()>& openModel, bool json)
{
    if (!p.isSet(QStringLiteral("eval")))
        throw qs::Error(QStringLiteral("--measure needs --eval (held-out text)"));
    qs::EvaluationParams ep;
    ep.textPath = p.value(QStringLiteral("eval"));
    ep.perplexity = perplexityOptionsFrom(p);
    if (!p.isSet(QStringLiteral("ctx")))
        ep.perplexity.ctx = sens.eval.ctx;
    if (!p.isSet(QStringLiteral("skip-chunks")) &&
        QFileInfo(ep.textPath).absoluteFilePath() == sens.calibration.text)
        err() << "warning: the evaluation text is the calibration text\n";
    const auto tokenizer = qs::Tokenizer::load(openModel()->path());
    const qs::JobContext job = interruptibleJob(json);
    const qs::AllocationStudy study = qs::measureAllocation(
        openModel(), *tokenizer, alloc, budgets, positiveInt(p, QStringLiteral("front-points"), 0), ep, job);
    if (!json)
        out() << '\n' << study.toText();
    if (p.isSet(QStringLiteral("report")))
        writeJsonFile(p.value(QStringLiteral("report")), study.toJson(sens));
    return study.toJson(sens);
}

} // namespace

int runAllocate(const QStringList& args)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral(
        "Mixed precision under a budget from a sensitivity sweep: one scheme per unit minimising the summed "
        "per-unit loss (exact multiple-choice knapsack by dynamic programming; assumes losses add up). "
        "Writes a "
        "normal recipe; --front prints the predicted Pareto front; --measure quantizes and evaluates the "
        "plans "
        "at the budgets, the uniform plans and points along the front, and reports predicted vs measured."));
    p.addHelpOption();
    p.addPositionalArgument(QStringLiteral("S.json"), QStringLiteral("sensitivity results"));
    p.addOptions(allocateOptions());
    p.addOptions(perplexityOptions());
    p.process(args);
    const int targets = int(p.isSet(QStringLiteral("bpw"))) + int(p.isSet(QStringLiteral("bytes"))) +
                        int(p.isSet(QStringLiteral("max-loss")));
    if (const QString m = joinProblems(
            usageProblem(p, 1, QStringLiteral("one S.json")),
            targets > 1 ? QStringLiteral("give one of --bpw, --bytes and --max-loss")
            : targets == 0 && !p.isSet(QStringLiteral("front")) && !p.isSet(QStringLiteral("measure"))
                ? QStringLiteral("a target is required: --bpw, --bytes or --max-loss (or --front, --measure)")
                : QString());
        !m.isEmpty())
        return usageError(p, m);
    qs::setComputeThreads(p.value(QStringLiteral("threads")).toInt());
    const QString sPath = p.positionalArguments().front();
    const qs::SensitivityResult sens = qs::SensitivityResult::load(sPath);
    const QStringList schemes = p.value(QStringLiteral("schemes")).split(u',', Qt::SkipEmptyParts);
    const qs::Allocator alloc(sens, qs::lossMetricFromName(p.value(QStringLiteral("metric"))), schemes);
    const bool json = p.isSet(QStringLiteral("json"));

    auto number = [&](const QString& v, const QString& what) {
        bool ok = false;
        const double d = v.trimmed().toDouble(&ok);
        if (!ok || !std::isfinite(d))
            throw qs::Error(QStringLiteral("--%1: '%2' is not a number").arg(what, v));
        return d;
    };
    std::vector<double> budgets;
    for (const QString& b : p.value(QStringLiteral("bpw")).split(u',', Qt::SkipEmptyParts))
        budgets.push_back(number(b, QStringLiteral("bpw")));
    std::vector<qs::AllocationPlan> plans;
    for (double b : budgets)
        plans.push_back(alloc.forBitsPerWeight(b));
    if (p.isSet(QStringLiteral("bytes")))
        plans.push_back(alloc.forBytes(number(p.value(QStringLiteral("bytes")), QStringLiteral("bytes"))));
    if (p.isSet(QStringLiteral("max-loss")))
        plans.push_back(
            alloc.forLoss(number(p.value(QStringLiteral("max-loss")), QStringLiteral("max-loss"))));

    std::shared_ptr<const qs::Model> model;
    auto openModel = [&] {
        if (!model) {
            const QString dir =
                p.isSet(QStringLiteral("model")) ? p.value(QStringLiteral("model")) : sens.modelPath;
            model = qs::Model::open(dir);
            if (model->architectureFingerprint() != sens.modelFingerprint)
                throw qs::Error::inFile(
                    dir, QStringLiteral("%1 was measured on another model (%2)").arg(sPath, sens.modelName));
        }
        return model;
    };
    QJsonObject report{{QStringLiteral("sensitivity"), sPath},
                       {QStringLiteral("metric"), qs::lossMetricName(alloc.metric())},
                       {QStringLiteral("min_bpw"), alloc.minBitsPerWeight()},
                       {QStringLiteral("max_bpw"), alloc.maxBitsPerWeight()}};
    QJsonArray planJson;
    for (const qs::AllocationPlan& pl : plans)
        planJson.append(pl.toJson(sens));
    report.insert(QStringLiteral("plans"), planJson);
    if (!plans.empty() && p.isSet(QStringLiteral("out"))) {
        const qs::Recipe recipe =
            alloc.toRecipe(plans.front(), *openModel(),
                           QStringLiteral("mixed %1 bpw").arg(plans.front().bitsPerWeight, 0, 'f', 3));
        recipe.saveFile(p.value(QStringLiteral("out")));
        report.insert(QStringLiteral("recipe"), p.value(QStringLiteral("out")));
    }
    if (!json) {
        for (const qs::AllocationPlan& pl : plans)
            out() << QStringLiteral("plan: %1 bpw, %2 bytes, predicted %3 %4\n")
                         .arg(pl.bitsPerWeight, 0, 'f', 4)
                         .arg(pl.bytes)
                         .arg(qs::lossMetricName(alloc.metric()))
                         .arg(pl.predictedLoss, 0, 'g', 5);
        if (p.isSet(QStringLiteral("out")) && !plans.empty())
            out() << "recipe written to " << p.value(QStringLiteral("out")) << '\n';
    }
    if (p.isSet(QStringLiteral("front")))
        report.insert(QStringLiteral("front"), printFront(alloc, json));
    if (p.isSet(QStringLiteral("measure")))
        report.insert(QStringLiteral("study"), measurePlans(p, sens, alloc, budgets, openModel, json));
    if (json)
        printJson(QJsonDocument(report));
    return kExitOk;
}

} // namespace cli
