#include "Cli.h"
#include "CliOptions.h"
#include "model/Model.h"
#include "results/TrainJob.h"
#include "util/Error.h"
#include "util/Threads.h"

#include <QCommandLineParser>
#include <QFileInfo>
#include <QJsonObject>
#include <algorithm>
#include <chrono>
#include <optional>

namespace cli {

namespace {

double finiteValue(const QCommandLineParser& p, const QString& name)
{
    bool ok = false;
    const double v = p.value(name).toDouble(&ok);
    if (!ok || !std::isfinite(v))
        throw qs::Error(QStringLiteral("--%1: \"%2\" is not a number").arg(name, p.value(name)));
    return v;
}

/// The --mode values, from the method table: "e2e, blockwise, signround".
QString methodKeys()
{
    QStringList keys;
    for (const qs::TrainMethodInfo& m : qs::trainMethods())
        keys << QString::fromLatin1(m.key);
    return keys.join(QStringLiteral(", "));
}

} // namespace

int runTrain(const QStringList& args)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral(
        "Trains a quantized model's layers, which run fake-quantized from latent f32 weights with gradients "
        "passed straight through the rounding. --mode e2e (QAT): weights, scales and zeros tuned by AdamW on "
        "next-token cross-entropy over windows of a text. --mode blockwise (EfficientQAT's Block-AP): block "
        "after block, the same parameters fitted to the float block's outputs (mean squared error), then "
        "optionally --e2e-steps on scales and zeros alone. --mode signround: block-wise, the rounding of "
        "every "
        "weight learned by signed gradient descent (SignRound/AutoRound), scales and zeros by AdamW. The "
        "result is saved as the same checkpoint format. Quantize first (quantize --out DIR), then train "
        "DIR."));
    p.addHelpOption();
    p.addPositionalArgument(QStringLiteral("MODEL"),
                            QStringLiteral("quantized model folder (from quantize --out)"));
    const auto opt = [](const char* name, const char* help, const char* value = nullptr,
                        const char* def = nullptr) {
        return QCommandLineOption(QString::fromLatin1(name), QString::fromUtf8(help),
                                  value ? QString::fromLatin1(value) : QString(),
                                  def ? QString::fromLatin1(def) : QString());
    };
    p.addOptions({
        opt("calib", "Training text (UTF-8).", "FILE"),
        opt("samples", "Training windows drawn from the text (default 128).", "N", "128"),
        opt("seq-len", "Tokens per window (default 128).", "N", "128"),
        opt("seed", "Seed of the windows' positions (default 1234).", "S", "1234"),
        opt("held-out", "Held-out text scored during training (the best step is kept).", "FILE"),
        opt("held-out-samples", "Held-out windows (default 32).", "N", "32"),
        QCommandLineOption(QStringLiteral("mode"), QStringLiteral("%1 (default e2e).").arg(methodKeys()),
                           QStringLiteral("MODE"), QStringLiteral("e2e")),
        opt("steps", "Optimiser steps (default: e2e 200; per block: blockwise 300, signround 200).", "N"),
        opt("e2e-steps", "blockwise/signround: end-to-end steps on scales and zeros afterwards (default 0).",
            "N", "0"),
        opt("batch", "Windows per step (default 4).", "N", "4"),
        opt("lr",
            "Peak learning rate of the latent weights (default e2e 1e-4, blockwise 2e-4; signround: of the "
            "rounding offsets, "
            "default 1/steps).",
            "X"),
        opt("scale-lr",
            "Learning rate of scales and zeros, relative to --lr (default 5; signround: 1e-4 absolute).",
            "X"),
        opt("warmup", "Linear warm-up steps (default 10).", "N", "10"),
        opt("final-lr", "Learning rate at the end of the cosine, relative to the peak (default 0.1).", "X",
            "0.1"),
        opt("weight-decay", "AdamW's decoupled weight decay on weights (default 0).", "X", "0"),
        opt("clip", "Clip the gradient's global norm to this (default 1; 0: off).", "X", "1"),
        opt("eval-every", "Score the held-out text every N steps (default 10).", "N", "10"),
        opt("train",
            "What learns, comma-separated: weights, scales, zeros, rounding, codebooks (SqueezeLLM's and "
            "AQLM's tables; default weights,scales,zeros,codebooks).",
            "LIST", "weights,scales,zeros,codebooks"),
        opt("last", "Keep the last step's parameters instead of the best held-out step's."),
        opt("checkpoint",
            "Save parameters and optimiser state here every --checkpoint-every steps and resume "
            "from it when it exists.",
            "FILE"),
        opt("checkpoint-every", "Steps between checkpoints (default 50).", "N", "50"),
        opt("float-model",
            "The float model the checkpoint was quantized from (default: the one it names, when "
            "it exists): RTN, HQQ and AWQ layers start from its weights.",
            "DIR"),
        opt("from-quantized", "Start every layer from its dequantized weights, not the float model's."),
        opt("objective",
            "kd: KL divergence from the float model's next-token distributions (distillation; the "
            "default when the float model is there); ce: cross-entropy on the text.",
            "OBJ", "kd"),
        opt("out", "Folder for the trained model (written atomically, with run.json).", "DIR"),
        opt("name", "The trained run's name (default: the folder's).", "NAME"),
        opt("eval", "Evaluate the trained model on this text (perplexity; KLD with --kld-base).", "FILE"),
        opt("kld-base", "KLD base stored by eval --save-base from the float model.", "FILE"),
        opt("json", "Print JSON (with the whole loss curve)."),
        threadsOption(),
    });
    p.addOptions(perplexityOptions());
    p.process(args);
    if (const QString m = usageProblem(p, 1, QStringLiteral("one MODEL"), {QStringLiteral("calib")});
        !m.isEmpty())
        return usageError(p, m);
    qs::setComputeThreads(p.value(QStringLiteral("threads")).toInt());
    const QString mode = p.value(QStringLiteral("mode"));
    const std::optional<qs::TrainMethod> method = qs::trainMethodFromKey(mode);
    if (!method)
        throw qs::Error(QStringLiteral("--mode: unknown \"%1\" (%2)").arg(mode, methodKeys()));
    const bool signRound = *method == qs::TrainMethod::SignRound;
    // The method's preset (core: the GUI starts from the same), then what the options set.
    qs::TrainJobParams params = qs::trainPreset(
        *method, p.isSet(QStringLiteral("steps")) ? positiveInt(p, QStringLiteral("steps"), 1) : 0,
        p.isSet(QStringLiteral("lr")) ? std::optional<double>(finiteValue(p, QStringLiteral("lr")))
                                      : std::nullopt);
    params.calibration.text = p.value(QStringLiteral("calib"));
    params.calibration.samples = positiveInt(p, QStringLiteral("samples"), 1);
    params.calibration.seqLen = positiveInt(p, QStringLiteral("seq-len"), 2);
    params.calibration.seed = std::uint32_t(p.value(QStringLiteral("seed")).toUInt());
    params.heldOut = {};
    if (p.isSet(QStringLiteral("held-out"))) {
        params.heldOut = params.calibration;
        params.heldOut.text = p.value(QStringLiteral("held-out"));
        params.heldOut.samples = positiveInt(p, QStringLiteral("held-out-samples"), 1);
    }
    qs::TrainingSettings& t = params.training;
    t.batch = positiveInt(p, QStringLiteral("batch"), 1);
    t.evalEvery = positiveInt(p, QStringLiteral("eval-every"), 1);
    t.keepBest = !p.isSet(QStringLiteral("last"));
    t.checkpointPath = p.value(QStringLiteral("checkpoint"));
    t.checkpointEvery =
        t.checkpointPath.isEmpty() ? 0 : positiveInt(p, QStringLiteral("checkpoint-every"), 1);
    qs::OptimizerSettings& o = t.optimizer;
    if (!signRound) // SignRound takes no warm-up
        o.warmupSteps = std::min(p.value(QStringLiteral("warmup")).toInt(), o.steps - 1);
    o.minLearningRateRatio = finiteValue(p, QStringLiteral("final-lr"));
    o.weightDecay = finiteValue(p, QStringLiteral("weight-decay"));
    o.clipNorm = finiteValue(p, QStringLiteral("clip"));
    if (p.isSet(QStringLiteral("scale-lr"))) {
        const double scaleLr = finiteValue(p, QStringLiteral("scale-lr"));
        o.kindScale[std::size_t(qs::ParamKind::Scale)] = scaleLr;
        o.kindScale[std::size_t(qs::ParamKind::Zero)] = scaleLr;
    }
    const int e2eSteps = p.value(QStringLiteral("e2e-steps")).toInt();
    if (e2eSteps < 0 || (e2eSteps > 0 && *method == qs::TrainMethod::Qat))
        throw qs::Error(
            QStringLiteral("--e2e-steps follows --mode blockwise or signround and must be at least 0"));
    if (e2eSteps > 0) {
        qs::TrainingSettings e2e = t;
        e2e.optimizer = {};
        e2e.optimizer.steps = e2eSteps;
        e2e.optimizer.learningRate = 1e-4;
        e2e.optimizer.warmupSteps = std::min(e2eSteps - 1, 10);
        e2e.optimizer.minLearningRateRatio = o.minLearningRateRatio;
        params.endToEnd = e2e;
    }
    if (p.isSet(QStringLiteral("train"))) {
        qs::TrainableSet& set = params.trainable;
        set = {};
        set.weights = set.scales = set.zeros = set.codebooks = false;
        for (const QString& item : p.value(QStringLiteral("train")).split(u',', Qt::SkipEmptyParts)) {
            const QString w = item.trimmed();
            if (w == u"weights")
                set.weights = true;
            else if (w == u"scales")
                set.scales = true;
            else if (w == u"zeros")
                set.zeros = true;
            else if (w == u"rounding")
                set.rounding = true;
            else if (w == u"codebooks")
                set.codebooks = true;
            else
                throw qs::Error(
                    QStringLiteral("--train: unknown \"%1\" (weights, scales, zeros, rounding, codebooks)")
                        .arg(w));
        }
    }
    params.outDir = p.value(QStringLiteral("out"));
    params.name = p.value(QStringLiteral("name"));
    if (p.isSet(QStringLiteral("eval"))) {
        params.evaluation.textPath = p.value(QStringLiteral("eval"));
        params.evaluation.perplexity = perplexityOptionsFrom(p);
        params.evaluation.kldBasePath = p.value(QStringLiteral("kld-base"));
    } else if (p.isSet(QStringLiteral("kld-base"))) {
        throw qs::Error(QStringLiteral("--kld-base needs --eval"));
    }
    params.model = qs::Model::open(p.positionalArguments().front());
    params.latentFromFloatModel = !p.isSet(QStringLiteral("from-quantized"));
    QString floatPath = p.value(QStringLiteral("float-model"));
    if (floatPath.isEmpty()) {
        floatPath = params.model->quantizationInfo().value(QStringLiteral("base_model")).toString();
        if (!floatPath.isEmpty() && !QFileInfo::exists(floatPath)) {
            err() << "note: the float model " << floatPath
                  << " is gone: every layer starts from its dequantized weights, the loss is cross-entropy\n";
            floatPath.clear();
        }
    }
    if (!floatPath.isEmpty())
        params.floatModel = qs::Model::open(floatPath);
    const QString objective = p.value(QStringLiteral("objective"));
    if (objective != u"kd" && objective != u"ce")
        throw qs::Error(QStringLiteral("--objective: unknown \"%1\" (kd, ce)").arg(objective));
    params.distill = objective == u"kd" && params.floatModel;
    if (objective == u"kd" && !params.floatModel && p.isSet(QStringLiteral("objective")))
        throw qs::Error(QStringLiteral("--objective kd needs the float model (--float-model)"));

    const bool json = p.isSet(QStringLiteral("json"));
    qs::JobContext job;
    job.progress = [json, last = std::chrono::steady_clock::time_point()](const qs::JobProgress& pr) mutable {
        const auto now = std::chrono::steady_clock::now();
        if (!json && !pr.detail.isEmpty() &&
            (now - last > std::chrono::milliseconds(250) || pr.fraction >= 1.0)) {
            last = now;
            err() << '\r' << pr.stage << ": " << pr.detail << "   ";
            err().flush();
        }
    };
    const auto onPoint = [json](const qs::TrainingPoint& pt) {
        if (json || pt.heldOut < 0)
            return;
        err() << '\n'
              << QStringLiteral("step %1: held-out loss %2").arg(pt.step).arg(pt.heldOut, 0, 'f', 5)
              << (pt.loss >= 0 ? QStringLiteral(", training loss %1").arg(pt.loss, 0, 'f', 5) : QString())
              << '\n';
        err().flush();
    };
    const qs::TrainJobResult r = qs::runTrainJob(params, job, onPoint);
    if (json) {
        printJson(QJsonDocument(r.toJson()));
        return kExitOk;
    }
    err() << '\n';
    for (const QString& w : r.warnings)
        err() << "warning: " << w << '\n';
    if (r.blockwise)
        out() << QStringLiteral("block-wise: %1 blocks%2 in %3 s\n")
                     .arg(std::count_if(r.blockwise->blocks.begin(), r.blockwise->blocks.end(),
                                        [](const qs::BlockFit& f) { return !f.head; }))
                     .arg(std::any_of(r.blockwise->blocks.begin(), r.blockwise->blocks.end(),
                                      [](const qs::BlockFit& f) { return f.head; })
                              ? QStringLiteral(" and the head")
                              : QString())
                     .arg(r.blockwise->seconds, 0, 'f', 1);
    if (r.training.resumedFrom > 0)
        out() << QStringLiteral("resumed from step %1 of the checkpoint\n").arg(r.training.resumedFrom);
    out() << QStringLiteral(
                 "%1 end-to-end steps in %2 s, %3 trainable parameters (%5 layers from the float weights), "
                 "peak RSS %4 MB\n")
                 .arg(r.training.steps)
                 .arg(r.training.seconds, 0, 'f', 1)
                 .arg(r.trainableParameters)
                 .arg(r.peakRssBytes / 1e6, 0, 'f', 0)
                 .arg(r.latentFromFloat);
    if (r.blockwise)
        for (const qs::BlockFit& f : r.blockwise->blocks)
            out() << QStringLiteral("%1: %2 %3 → %4%5 (%6 s)\n")
                         .arg(f.head ? QStringLiteral("lm_head") : QStringLiteral("block %1").arg(f.block),
                              f.head ? QStringLiteral("kl") : QStringLiteral("mse"))
                         .arg(f.startLoss, 0, 'g', 5)
                         .arg(f.endLoss, 0, 'g', 5)
                         .arg(f.kept ? QString() : QStringLiteral(" (worse: start kept)"))
                         .arg(f.seconds, 0, 'f', 1);
    if (r.heldOutBefore >= 0)
        out() << QStringLiteral("held-out loss before %1, after %2\n")
                     .arg(r.heldOutBefore, 0, 'f', 5)
                     .arg(r.heldOutAfter, 0, 'f', 5);
    if (r.training.startHeldOut >= 0)
        out() << QStringLiteral("held-out loss %1 → %2 (best at step %3%4)\n")
                     .arg(r.training.startHeldOut, 0, 'f', 5)
                     .arg(r.training.bestHeldOut, 0, 'f', 5)
                     .arg(r.training.bestStep)
                     .arg(r.training.keptBest ? QStringLiteral(", kept") : QString());
    if (r.evaluation)
        out() << r.evaluation->toText();
    if (!r.checkpoint.isEmpty())
        out() << "saved " << r.checkpoint << '\n';
    out().flush();
    return kExitOk;
}

} // namespace cli
