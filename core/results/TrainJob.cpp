#include "results/TrainJob.h"

#include "checkpoint/QuantizedModelIO.h"
#include "model/Model.h"
#include "model/QuantizedLinear.h"
#include "model/Transformer.h"
#include "quant/QuantizeJob.h"
#include "recipe/LayerPlan.h"
#include "results/RunResults.h"
#include "tokenizer/Tokenizer.h"
#include "util/Error.h"

#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <algorithm>

namespace qs {

QJsonObject TrainJobResult::toJson() const
{
    QJsonObject o = training.toJson();
    if (blockwise)
        o.insert(QStringLiteral("blockwise"), blockwise->toJson());
    if (heldOutBefore >= 0)
        o.insert(QStringLiteral("held_out_before"), heldOutBefore);
    if (heldOutAfter >= 0)
        o.insert(QStringLiteral("held_out_after"), heldOutAfter);
    o.insert(QStringLiteral("trainable_parameters"), qint64(trainableParameters));
    o.insert(QStringLiteral("latent_from_float"), latentFromFloat);
    o.insert(QStringLiteral("peak_rss_bytes"), peakRssBytes);
    if (!checkpoint.isEmpty())
        o.insert(QStringLiteral("checkpoint"), checkpoint);
    o.insert(QStringLiteral("warnings"), QJsonArray::fromStringList(warnings));
    if (evaluation)
        o.insert(QStringLiteral("eval"), evaluation->toJson());
    return o;
}

const std::vector<TrainMethodInfo>& trainMethods()
{
    static const std::vector<TrainMethodInfo> table{
        {TrainMethod::Qat, "e2e", "qat", QT_TRANSLATE_NOOP("TrainJob", "QAT"),
         QT_TRANSLATE_NOOP("TrainJob", "QAT (end to end)"),
         QT_TRANSLATE_NOOP("TrainJob", "Weights, scales and zeros tuned together, end to end: on the KL "
                                       "divergence from the float model when it is there (distillation), "
                                       "else on the training text's next-token loss."),
         200, false},
        {TrainMethod::BlockAp, "blockwise", "block-ap", QT_TRANSLATE_NOOP("TrainJob", "Block-AP"),
         QT_TRANSLATE_NOOP("TrainJob", "Block-AP (block-wise)"),
         QT_TRANSLATE_NOOP("TrainJob", "Block after block, weights, scales and zeros fitted to the float "
                                       "model's block outputs."),
         300, true},
        {TrainMethod::SignRound, "signround", "signround", QT_TRANSLATE_NOOP("TrainJob", "SignRound"),
         QT_TRANSLATE_NOOP("TrainJob", "SignRound (learned rounding)"),
         QT_TRANSLATE_NOOP("TrainJob", "Block after block, each weight's rounding (up or down) learned by "
                                       "signed descent; scales and zeros by AdamW."),
         200, true},
    };
    return table;
}

const TrainMethodInfo& trainMethodInfo(TrainMethod method)
{
    for (const TrainMethodInfo& m : trainMethods())
        if (m.method == method)
            return m;
    return trainMethods().front();
}

std::optional<TrainMethod> trainMethodFromKey(const QString& key)
{
    for (const TrainMethodInfo& m : trainMethods())
        if (key == QLatin1String(m.key) || key == QLatin1String(m.slug))
            return m.method;
    return std::nullopt;
}

TrainMethod trainMethodOf(const TrainJobParams& p)
{
    return p.mode == TrainJobParams::Mode::EndToEnd ? TrainMethod::Qat
           : p.trainable.rounding                   ? TrainMethod::SignRound
                                                    : TrainMethod::BlockAp;
}

TrainJobParams trainPreset(TrainMethod method, int steps, std::optional<double> learningRate)
{
    const bool signRound = method == TrainMethod::SignRound;
    TrainJobParams p;
    p.mode = method == TrainMethod::Qat ? TrainJobParams::Mode::EndToEnd : TrainJobParams::Mode::Blockwise;
    p.calibration.samples = 128;
    p.calibration.seqLen = 128;
    p.heldOut = p.calibration;
    p.heldOut.samples = 32;
    TrainingSettings& t = p.training;
    t.batch = 4;
    t.evalEvery = 10;
    t.keepBest = true;
    OptimizerSettings& o = t.optimizer;
    o.steps = steps > 0 ? steps : trainMethodInfo(method).defaultSteps;
    o.warmupSteps = signRound ? 0 : std::min(10, o.steps - 1);
    // At 2e-5 the latent weights barely cross a rounding boundary. On kjv7M int2 g64 (docs/training.md):
    // QAT 300 steps at 1e-4 KLD 0.0257 against 0.0438 at 2e-5; Block-AP 2e-4 × 300 steps per block 0.0229
    // against 0.0295 at 5e-4 × 100 and 0.0320 at 1e-3 with scales at 1e-4 × 200.
    o.learningRate = learningRate                     ? *learningRate
                     : signRound                      ? 1.0 / o.steps
                     : method == TrainMethod::BlockAp ? 2e-4
                                                      : 1e-4;
    o.minLearningRateRatio = 0.1;
    o.weightDecay = 0;
    o.clipNorm = 1;
    // Scales and zeros learn faster than weights; SignRound's at 1e-4 whatever the rounding's rate.
    const double scaleLr = signRound ? 1e-4 / o.learningRate : 5.0;
    o.kindScale[std::size_t(ParamKind::Scale)] = scaleLr;
    o.kindScale[std::size_t(ParamKind::Zero)] = scaleLr;
    // Table layers' codebooks move like weights (SignRound's too: at 1e-4, not at the rounding's rate).
    o.kindScale[std::size_t(ParamKind::Codebook)] = signRound ? 1e-4 / o.learningRate : 1.0;
    o.signDescent[std::size_t(ParamKind::Rounding)] = signRound;
    p.trainable = {};
    p.trainable.weights = !signRound;
    p.trainable.scales = p.trainable.zeros = true;
    p.trainable.rounding = signRound;
    return p;
}

namespace {

/// What the source run's row says it ran: its run.json's summary (a tuned run's "… + qat"), else the
/// schemes of its layers ("rtn w2 g32"), else the weights' type.
QString sourceRecipeSummary(const Model& m)
{
    QFile file(QDir(m.path()).filePath(QStringLiteral("run.json")));
    if (file.open(QIODevice::ReadOnly)) {
        const QString summary = QJsonDocument::fromJson(file.readAll())
                                    .object()
                                    .value(QStringLiteral("recipe_summary"))
                                    .toString();
        if (!summary.isEmpty())
            return summary;
    }
    const RunSummary source = RunSummary::fromModel(m);
    std::vector<QuantSpec> specs;
    for (const LayerMetrics& l : source.layers)
        if (const std::optional<QuantSpec> s = l.scheme())
            specs.push_back(*s);
    return specs.empty() ? source.recipeSummary : schemesLabel(specs);
}

} // namespace

MemoryNeed trainingMemory(const Model& model, const TrainJobParams& p)
{
    const ModelConfig& c = model.config();
    double all = double(model.totals().params), trained = 0;
    for (const LinearLayerInfo& l : model.linears())
        if (l.quant && l.quant->method != QuantMethod::Float) {
            const double groups = l.quant->granularity == Granularity::PerTensor
                                      ? 1.0
                                      : double(l.outFeatures) * double(l.quant->groupsPerRow(l.inFeatures));
            const double weights = double(l.params());
            all += 2 * groups + weights; // scales, zeros, and the fake-quantized copy the forward runs
            trained += (p.trainable.weights ? weights : 0) + (p.trainable.scales ? groups : 0) +
                       (p.trainable.zeros ? groups : 0);
            if (p.trainable.rounding) {
                all += weights;
                trained += weights;
            }
        }
    if (p.trainable.embedding)
        trained += double(c.vocabSize) * c.hiddenSize;
    const double tokens = double(p.training.batch) * double(std::max(2, p.calibration.seqLen));
    MemoryNeed need;
    need.add(QStringLiteral("parameters (f32)"), 4.0 * all);
    need.add(QStringLiteral("gradients and optimiser moments"), 12.0 * trained);
    need.add(QStringLiteral("block inputs kept"), 4.0 * tokens * c.hiddenSize * (c.numLayers + 1));
    need.add(QStringLiteral("one block's activations"),
             4.0 * tokens * (8.0 * c.hiddenSize + 6.0 * c.intermediateSize + 4.0 * c.numHeads * c.headDim) +
                 8.0 * double(std::max(2, p.calibration.seqLen)) * std::max(2, p.calibration.seqLen));
    need.add(QStringLiteral("logits and their gradient"), 8.0 * tokens * c.vocabSize);
    if (p.distill || p.mode == TrainJobParams::Mode::Blockwise)
        need.add(QStringLiteral("the float model's logits (distillation, the head's fit)"),
                 4.0 * tokens * c.vocabSize);
    if (p.mode == TrainJobParams::Mode::Blockwise || p.distill)
        need.add(QStringLiteral("float model (targets, teacher)"), 4.0 * double(model.totals().params));
    if (p.mode == TrainJobParams::Mode::Blockwise) {
        need.add(QStringLiteral("hidden states of the windows (both models, and the targets)"),
                 12.0 * double(p.calibration.samples) * double(std::max(2, p.calibration.seqLen)) *
                     c.hiddenSize);
    }
    if (!p.heldOut.text.isEmpty() && p.training.keepBest)
        need.add(QStringLiteral("the best step's parameters (keep best)"), 4.0 * trained);
    need.add(QStringLiteral("the quantized model as it runs (evaluation, saving)"),
             modelRunMemory(model, 0, 0).total());
    need.add(QStringLiteral("largest layer's gradient"), [&] {
        double largest = 0;
        for (const LinearLayerInfo& l : model.linears())
            largest = std::max(largest, double(l.params()));
        return 12.0 * largest;
    }());
    return need;
}

TrainJobResult runTrainJob(const TrainJobParams& p, const JobContext& job,
                           const std::function<void(const TrainingPoint&)>& onPoint,
                           const std::function<void(const BlockFit&)>& onBlock)
{
    if (!p.model)
        throw Error(QStringLiteral("no model to train"));
    const Model& m = *p.model;
    if (!m.isQuantized())
        throw Error::inFile(m.path(),
                            QStringLiteral("training needs a quantized model: quantize it first (quantize "
                                           "--out DIR), then train that folder"));
    const QString problem = p.training.optimizer.validate();
    if (!problem.isEmpty())
        throw Error(problem);
    if (!p.outDir.isEmpty() &&
        QFileInfo(p.outDir).canonicalFilePath() == QFileInfo(m.path()).canonicalFilePath())
        throw Error::inFile(p.outDir,
                            QStringLiteral("is the model being trained: choose another output folder"));
    requireMemory(QStringLiteral("training %1").arg(m.displayName()), trainingMemory(m, p),
                  QStringLiteral("try a smaller --batch or --seq-len, or close other programs"));

    job.report(-1, QStringLiteral("loading"), m.displayName());
    const auto tokenizer = Tokenizer::load(m.path());
    const int bos = tokenizer->bosId() >= 0 ? tokenizer->bosId() : std::max(0, m.config().bosTokenId);
    const std::vector<std::vector<int>> windows = calibrationWindows(*tokenizer, p.calibration, bos);
    std::vector<std::vector<int>> heldOut;
    if (!p.heldOut.text.isEmpty())
        heldOut = calibrationWindows(*tokenizer, p.heldOut, bos);
    if (!p.evaluation.textPath.isEmpty()) // before the training, not after it: a wrong KLD base, a short text
        checkEvaluationInputs(m, *tokenizer, p.evaluation);
    Transformer t(p.model, Transformer::MemoryCheck::CallerEstimated);
    // Each layer's stored tensor; null for a layer stored as a plain float weight (a GPTQ/AWQ folder's
    // unquantized lm_head), which stays as stored.
    std::vector<std::shared_ptr<const QuantizedTensor>> tensors(m.linears().size());
    for (std::size_t i = 0; i < tensors.size(); ++i) {
        const auto* q = dynamic_cast<const QuantizedLinear*>(&t.linear(int(i)));
        if (q)
            tensors[i] = q->tensorPtr();
        else if (m.linears()[i].quant)
            throw Error::inFile(m.path(),
                                QStringLiteral("%1 is stored as %2; training runs integer grids and float "
                                               "layers")
                                    .arg(m.linears()[i].name, t.linear(int(i)).describe()));
    }
    TrainModel model(t, p.trainable);
    TrainJobResult r;
    if (p.floatModel && p.latentFromFloatModel) {
        const Model& f = *p.floatModel;
        if (f.config().hiddenSize != m.config().hiddenSize || f.linears().size() != m.linears().size())
            throw Error::inFile(f.path(),
                                QStringLiteral("is not the float model of %1 (other shape)").arg(m.path()));
        for (std::size_t i = 0; i < m.linears().size(); ++i) {
            const QuantMethod method = tensors[i] ? tensors[i]->spec.method : QuantMethod::Float;
            if (method != QuantMethod::Rtn && method != QuantMethod::Hqq && method != QuantMethod::Awq)
                continue;
            job.checkCancelled();
            job.report(-1, QStringLiteral("loading"),
                       QStringLiteral("float weights of %1").arg(m.linears()[i].name));
            const auto l = std::find_if(model.linears().begin(), model.linears().end(),
                                        [&](const TrainModel::Linear& x) { return x.index == int(i); });
            const std::vector<float> stored = l->weight->value;
            model.setLatentWeight(int(i), readLinearWeight(f, m.linears()[i].name));
            // The float weights must give the stored codes (they do for our RTN, HQQ and AWQ layers; an AWQ
            // folder from elsewhere has its scales folded into the previous norm, so they do not): else the
            // layer keeps its dequantized weights.
            const std::vector<std::uint8_t> codes = fakeQuantCodes(
                *l->grid, l->weight->value.data(), l->scale->value.data(), l->zero->value.data(), nullptr);
            const std::vector<std::uint8_t> want = tensors[i]->unpackedCodes();
            std::size_t differ = 0;
            for (std::size_t k = 0; k < codes.size(); ++k)
                differ += codes[k] != want[k];
            if (differ > codes.size() / 1000) {
                l->weight->value = stored;
                model.refreshWeights();
                r.warnings << QStringLiteral(
                                  "%1: the float model's weights give %2 % other codes than stored; the "
                                  "layer starts from its dequantized weights")
                                  .arg(m.linears()[i].name)
                                  .arg(100.0 * double(differ) / double(codes.size()), 0, 'f', 1);
                continue;
            }
            ++r.latentFromFloat;
        }
    }

    r.trainableParameters = model.trainableCount();
    // Layers whose latent weights sit on their grid points (GPTQ's, or any without the float model): there
    // the straight-through scale gradient Σ dL/dŵ·((q − z) − w/s) is zero and then follows the weights'
    // small moves, not the scale's real effect; measured on kjv7M GPTQ int2 g64 (QAT, distillation, 200
    // steps) the held-out KL divergence rose from 0.0445 to 0.285 and the best step was the start.
    const int onGrid =
        int(std::count_if(tensors.begin(), tensors.end(),
                          [](const auto& q) {
                              return q && q->spec.method != QuantMethod::Float && !q->spec.decodesCodes();
                          })) -
        r.latentFromFloat;
    if (onGrid > 0 && p.trainable.scales && p.mode == TrainJobParams::Mode::EndToEnd)
        r.warnings << QStringLiteral(
                          "%1 quantized layers start from their dequantized weights (GPTQ layers, or no "
                          "float model): their scale gradients are zero on the grid points and then "
                          "mislead; QAT from a GPTQ checkpoint made kjv7M int2 worse (the start was "
                          "kept). Train a round-to-nearest checkpoint, or only weights.")
                          .arg(onGrid);
    const bool blockwise = p.mode == TrainJobParams::Mode::Blockwise;
    if ((blockwise || p.distill) && !p.floatModel)
        throw Error::inFile(m.path(),
                            blockwise ? QStringLiteral("block-wise reconstruction needs the float model the "
                                                       "checkpoint was quantized from (--float-model)")
                                      : QStringLiteral("distillation needs the float model the checkpoint "
                                                       "was quantized from (--float-model)"));
    // The float model, f32: block-wise targets and the distillation teacher.
    std::unique_ptr<TrainModel> reference;
    if (p.floatModel && (blockwise || p.distill)) {
        const ModelConfig &a = p.floatModel->config(), &b = m.config();
        if (a.vocabSize != b.vocabSize || a.hiddenSize != b.hiddenSize || a.numLayers != b.numLayers ||
            a.intermediateSize != b.intermediateSize || a.numHeads != b.numHeads ||
            a.numKvHeads != b.numKvHeads)
            throw Error::inFile(
                p.floatModel->path(),
                QStringLiteral("is not the float model of %1 (another shape or vocabulary)").arg(m.path()));
        const Transformer floatRun(p.floatModel, Transformer::MemoryCheck::CallerEstimated);
        TrainableSet none;
        none.weights = none.scales = none.zeros = false;
        reference = std::make_unique<TrainModel>(floatRun, none);
    }
    TrainModel* teacher = p.distill ? reference.get() : nullptr;
    if (!blockwise) {
        r.training =
            trainModel(model, windows, heldOut, p.training, job.part(0.0, 0.97, {}), onPoint, teacher);
        r.heldOutBefore = r.training.startHeldOut;
        r.heldOutAfter = r.training.keptBest || r.training.curve.empty() ? r.training.bestHeldOut
                                                                         : r.training.curve.back().heldOut;
    } else {
        if (!heldOut.empty())
            r.heldOutBefore = meanLoss(model, heldOut, p.training.batch, teacher);
        const bool e2e = p.endToEnd.has_value();
        r.blockwise = trainBlockwise(model, *reference, windows, p.training,
                                     job.part(0.0, e2e ? 0.8 : 0.97, {}), [&](const BlockFit& f) {
                                         if (!f.stopReason.isEmpty())
                                             r.warnings << f.stopReason;
                                         if (onBlock)
                                             onBlock(f);
                                     });
        if (e2e && !p.training.stopRequested()) { // E2E-QP: the scales and zeros alone, end to end
            for (ParamKind k : {ParamKind::Weight, ParamKind::Rounding, ParamKind::Norm, ParamKind::Bias,
                                ParamKind::Embedding, ParamKind::Codebook})
                model.setTrainable(k, false);
            model.setTrainable(ParamKind::Scale, true);
            model.setTrainable(ParamKind::Zero, true);
            r.training =
                trainModel(model, windows, heldOut, *p.endToEnd, job.part(0.8, 0.97, {}), onPoint, teacher);
        }
        if (!heldOut.empty())
            r.heldOutAfter = meanLoss(model, heldOut, p.training.batch, teacher);
    }
    if (r.training.diverged)
        throw Error(r.training.stopReason +
                    QStringLiteral(": no earlier parameters were kept (no held-out text), so "
                                   "nothing is saved"));
    if (!r.training.stopReason.isEmpty())
        r.warnings << r.training.stopReason;
    job.checkCancelled();
    // The trained layers, packed as a checkpoint stores them; the model runs them for the evaluation.
    const std::vector<std::shared_ptr<const QuantizedTensor>> trained = trainedTensors(model, tensors);
    QuantizeResult saved;
    saved.tensors = tensors;
    for (std::size_t i = 0; i < trained.size(); ++i)
        if (trained[i]) {
            saved.tensors[i] = trained[i];
            t.setLinear(int(i), std::make_shared<QuantizedLinear>(trained[i], t.linear(int(i)).bias()));
        }
    if (!p.evaluation.textPath.isEmpty()) {
        job.checkCancelled();
        r.evaluation =
            runEvaluation(t, *tokenizer, p.evaluation, job.part(0.97, 0.995, QStringLiteral("evaluating")));
        r.warnings << r.evaluation->warnings;
    }
    job.checkCancelled(); // a cancelled run leaves nothing behind
    if (!p.outDir.isEmpty()) {
        job.report(0.995, QStringLiteral("saving"), p.outDir);
        saved.calibration = p.calibration;
        saved.seconds = r.training.seconds + (r.blockwise ? r.blockwise->seconds : 0.0);
        saved.warnings = r.warnings;
        QJsonObject info;
        info.insert(QStringLiteral("training"), r.toJson());
        info.insert(QStringLiteral("trained_from"), m.path());
        const QJsonValue base = m.quantizationInfo().value(QStringLiteral("base_model"));
        if (base.isString())
            info.insert(QStringLiteral("base_model"), base);
        // run.json as an experiment writes it: the folder is a run of its own, next to its source.
        const RunSummary source = RunSummary::fromModel(m);
        const QString mode = QLatin1String(trainMethodInfo(trainMethodOf(p)).slug);
        QJsonObject run{
            {QStringLiteral("name"), p.name.isEmpty() ? QFileInfo(p.outDir).fileName() : p.name},
            {QStringLiteral("model"), base.isString() ? base.toString() : m.path()},
            {QStringLiteral("recipe_summary"), QStringLiteral("%1 + %2").arg(sourceRecipeSummary(m), mode)},
            {QStringLiteral("model_bytes"), qint64(source.modelBytes)},
            {QStringLiteral("bpw"), source.bitsPerWeight},
            {QStringLiteral("linear_bpw"), source.linearBitsPerWeight},
            {QStringLiteral("quantize_seconds"), saved.seconds},
            {QStringLiteral("peak_rss_bytes"), peakRssBytes()},
            {QStringLiteral("trained_from"), m.path()}};
        if (r.evaluation)
            run.insert(QStringLiteral("eval"), r.evaluation->toJson());
        saveQuantizedModel(p.outDir, m, saved,
                           m.quantizationInfo().value(QStringLiteral("recipe")).toObject(), info, run);
        r.checkpoint = p.outDir;
        r.summary = RunSummary::load(p.outDir);
    }
    r.peakRssBytes = peakRssBytes();
    job.report(1.0, QStringLiteral("done"), QStringLiteral("%1 steps").arg(r.training.steps));
    return r;
}

} // namespace qs
