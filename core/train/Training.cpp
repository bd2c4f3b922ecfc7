#include "train/Training.h"

#include "spec/QuantizedTensor.h"
#include "util/Error.h"

#include <QDataStream>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QSaveFile>
#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

namespace qs {

namespace {

constexpr quint32 kCheckpointMagic = 0x51535452; // "QSTR"
constexpr quint32 kCheckpointVersion = 2;        // 2: the best step, its parameters and the curve

std::vector<std::vector<float>> snapshot(const TrainModel& m)
{
    std::vector<std::vector<float>> s;
    for (const TrainParam& p : m.params())
        if (p.trainable)
            s.push_back(p.value);
    return s;
}

void restoreSnapshot(TrainModel& m, const std::vector<std::vector<float>>& s)
{
    std::size_t k = 0;
    for (TrainParam& p : m.params())
        if (p.trainable)
            p.value = s[k++];
    m.refreshWeights();
}

} // namespace

double meanLoss(TrainModel& m, const std::vector<std::vector<int>>& windows, int batch, TrainModel* teacher)
{
    const int n = int(windows.front().size());
    double total = 0;
    for (std::size_t first = 0; first < windows.size(); first += std::size_t(batch)) {
        const int count = int(std::min(windows.size() - first, std::size_t(batch)));
        std::vector<int> tokens;
        tokens.reserve(std::size_t(count) * std::size_t(n));
        for (int i = 0; i < count; ++i)
            tokens.insert(tokens.end(), windows[first + std::size_t(i)].begin(),
                          windows[first + std::size_t(i)].end());
        const std::vector<float> soft =
            teacher ? teacher->logits(tokens.data(), count, n) : std::vector<float>();
        total += m.loss(tokens.data(), count, n, false, teacher ? soft.data() : nullptr) * double(count);
    }
    return total / double(windows.size());
}

namespace {

/// What a checkpoint keeps besides the parameters and the optimiser (written from the run's
/// TrainingResult): the curve so far and the best held-out step, with that step's parameters when the run
/// keeps the best (a resumed run then keeps the best of the whole run, not of its second part).
struct CheckpointHistory
{
    /// What the losses were measured on (heldOutKey): a run that scores another held-out text or
    /// another objective cannot compare its losses with these, and starts its history afresh.
    quint64 scoreKey = 0;
    std::vector<TrainingPoint> curve;
    int bestStep = 0;
    double bestHeldOut = -1, startHeldOut = -1;
    std::vector<std::vector<float>> best; ///< empty: not kept
};

/// FNV-1a over the held-out windows' tokens and whether a teacher scores them (distillation or not).
quint64 heldOutKey(const std::vector<std::vector<int>>& heldOut, bool teacher)
{
    quint64 h = 1469598103934665603ULL;
    const auto mix = [&](std::int64_t v) {
        for (int i = 0; i < 8; ++i) {
            h ^= quint64(v >> (8 * i)) & 0xff;
            h *= 1099511628211ULL;
        }
    };
    mix(teacher ? 1 : 0);
    mix(std::int64_t(heldOut.size()));
    for (const std::vector<int>& w : heldOut) {
        mix(std::int64_t(w.size()));
        for (int t : w)
            mix(t);
    }
    return h;
}

void writeCheckpoint(const QString& path, const TrainModel& m, const Optimizer& opt,
                     const TrainingResult& run, const std::vector<std::vector<float>>& best, quint64 scoreKey)
{
    QSaveFile f(path);
    if (!f.open(QIODevice::WriteOnly))
        throw Error::inFile(path,
                            QStringLiteral("cannot write the training checkpoint: %1").arg(f.errorString()));
    QDataStream out(&f);
    out.setVersion(QDataStream::Qt_6_0);
    out << kCheckpointMagic << kCheckpointVersion << qint32(opt.stepsTaken());
    quint32 count = 0;
    for (const TrainParam& p : m.params())
        count += p.trainable ? 1 : 0;
    out << count;
    for (const TrainParam& p : m.params()) {
        if (!p.trainable)
            continue;
        out << p.name << quint64(p.value.size());
        writeFloatArray(out, p.value);
    }
    opt.save(out);
    QJsonArray points;
    for (const TrainingPoint& p : run.curve)
        points.append(p.toJson());
    out << scoreKey << QJsonDocument(points).toJson(QJsonDocument::Compact) << qint32(run.bestStep)
        << run.bestHeldOut << run.startHeldOut << quint32(best.size());
    for (const std::vector<float>& v : best)
        writeFloatArray(out, v);
    if (out.status() != QDataStream::Ok || !f.commit())
        throw Error::inFile(path,
                            QStringLiteral("cannot write the training checkpoint: %1").arg(f.errorString()));
}

TrainingPoint pointFromJson(const QJsonObject& o)
{
    TrainingPoint p;
    p.step = o.value(u"step").toInt();
    p.loss = o.value(u"loss").toDouble(-1);
    p.heldOut = o.value(u"held_out_loss").toDouble(-1);
    p.learningRate = o.value(u"learning_rate").toDouble();
    p.gradientNorm = o.value(u"gradient_norm").toDouble();
    p.seconds = o.value(u"seconds").toDouble();
    return p;
}

/// Reads a checkpoint into the model and optimiser, and its history; throws qs::Error naming the file
/// when it is not one or was written for other parameters (nothing is changed then).
CheckpointHistory readCheckpoint(const QString& path, TrainModel& m, Optimizer& opt)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        throw Error::inFile(path,
                            QStringLiteral("cannot read the training checkpoint: %1").arg(f.errorString()));
    QDataStream in(&f);
    in.setVersion(QDataStream::Qt_6_0);
    quint32 magic = 0, version = 0, count = 0;
    qint32 step = 0;
    in >> magic >> version >> step >> count;
    if (in.status() != QDataStream::Ok || magic != kCheckpointMagic || step < 0)
        throw Error::inFile(path, QStringLiteral("not a QuantScope training checkpoint"));
    if (version != kCheckpointVersion)
        throw Error::inFile(path, QStringLiteral("a training checkpoint of format %1, not %2: delete it to "
                                                 "start the training afresh")
                                      .arg(version)
                                      .arg(kCheckpointVersion));
    std::vector<TrainParam*> trainable;
    for (TrainParam& p : m.params())
        if (p.trainable)
            trainable.push_back(&p);
    if (count != trainable.size())
        throw Error::inFile(
            path, QStringLiteral("saved for %1 trainable tensors, this run trains %2 (another model or "
                                 "other settings)")
                      .arg(count)
                      .arg(trainable.size()));
    const auto truncated = [&] {
        return Error::inFile(path, QStringLiteral("the training checkpoint is truncated"));
    };
    std::vector<std::vector<float>> values(count);
    for (quint32 k = 0; k < count; ++k) {
        QString name;
        quint64 n = 0;
        in >> name >> n;
        if (in.status() != QDataStream::Ok || name != trainable[k]->name || n != trainable[k]->value.size())
            throw Error::inFile(path,
                                QStringLiteral("tensor %1 does not match %2").arg(name, trainable[k]->name));
        values[k].resize(std::size_t(n));
        if (!readFloatArray(in, values[k]))
            throw truncated();
    }
    try {
        opt.restore(in, m.params());
    } catch (const Error& e) {
        throw Error::inFile(path, e.message());
    }
    CheckpointHistory h;
    QByteArray curve;
    qint32 bestStep = 0;
    quint32 bestCount = 0;
    in >> h.scoreKey >> curve >> bestStep >> h.bestHeldOut >> h.startHeldOut >> bestCount;
    const QJsonDocument points = QJsonDocument::fromJson(curve);
    if (in.status() != QDataStream::Ok || !points.isArray() || bestStep < 0 || bestStep > step ||
        (bestCount != 0 && bestCount != count))
        throw truncated();
    for (const QJsonValue& v : points.array())
        h.curve.push_back(pointFromJson(v.toObject()));
    h.bestStep = bestStep;
    h.best.resize(bestCount);
    for (quint32 k = 0; k < bestCount; ++k) {
        h.best[k].resize(values[k].size());
        if (!readFloatArray(in, h.best[k]))
            throw truncated();
    }
    for (quint32 k = 0; k < count; ++k)
        trainable[k]->value = std::move(values[k]);
    m.refreshWeights();
    return h;
}

} // namespace

QJsonObject TrainingPoint::toJson() const
{
    QJsonObject o{{QStringLiteral("step"), step},
                  {QStringLiteral("learning_rate"), learningRate},
                  {QStringLiteral("gradient_norm"), gradientNorm},
                  {QStringLiteral("seconds"), seconds}};
    if (loss >= 0)
        o.insert(QStringLiteral("loss"), loss);
    if (heldOut >= 0)
        o.insert(QStringLiteral("held_out_loss"), heldOut);
    return o;
}

QJsonObject TrainingResult::toJson() const
{
    QJsonArray points;
    for (const TrainingPoint& p : curve)
        points.append(p.toJson());
    QJsonObject o{{QStringLiteral("steps"), steps},        {QStringLiteral("resumed_from"), resumedFrom},
                  {QStringLiteral("best_step"), bestStep}, {QStringLiteral("kept_best"), keptBest},
                  {QStringLiteral("seconds"), seconds},    {QStringLiteral("curve"), points}};
    if (bestHeldOut >= 0)
        o.insert(QStringLiteral("best_held_out_loss"), bestHeldOut);
    if (startHeldOut >= 0)
        o.insert(QStringLiteral("start_held_out_loss"), startHeldOut);
    if (!stopReason.isEmpty())
        o.insert(QStringLiteral("stopped"), stopReason);
    return o;
}

void constrainParameters(TrainModel& model)
{
    for (const TrainModel::Linear& l : model.linears()) {
        if (l.table && l.scale) // QuIP#'s and AQLM's row scales stay positive
            for (float& s : l.scale->value)
                s = std::max(s, 1e-8f);
        if (!l.grid)
            continue;
        for (float& s : l.scale->value)
            s = std::max(s, 1e-8f);
        if (l.grid->integerZeros && !l.grid->symmetric)
            for (float& z : l.zero->value)
                z = std::clamp(z, 0.0f, float(l.grid->qmax()));
        if (l.rounding)
            for (float& v : l.rounding->value)
                v = std::clamp(v, -0.5f, 0.5f);
    }
}

TrainingResult trainModel(TrainModel& model, const std::vector<std::vector<int>>& windows,
                          const std::vector<std::vector<int>>& heldOut, const TrainingSettings& settings,
                          const JobContext& job, const std::function<void(const TrainingPoint&)>& onPoint,
                          TrainModel* teacher)
{
    Optimizer opt(settings.optimizer);
    if (settings.batch < 1 || settings.evalEvery < 1 || settings.checkpointEvery < 0)
        throw Error(QStringLiteral("batch and evaluation interval must be at least 1 (got %1 and %2)")
                        .arg(settings.batch)
                        .arg(settings.evalEvery));
    if (windows.empty())
        throw Error(QStringLiteral("no training windows: the calibration text is too short"));
    const int n = int(windows.front().size());
    for (const auto* set : {&windows, &heldOut})
        for (const std::vector<int>& w : *set)
            if (int(w.size()) != n || n < 2)
                throw Error(
                    QStringLiteral("training windows must all have the same length of at least 2 tokens"));
    if (model.trainableCount() == 0)
        throw Error(QStringLiteral("nothing to train: no parameter is trainable"));

    TrainingResult result;
    std::optional<CheckpointHistory> resumed;
    if (!settings.checkpointPath.isEmpty() && QFile::exists(settings.checkpointPath)) {
        resumed = readCheckpoint(settings.checkpointPath, model, opt);
        result.resumedFrom = result.steps = opt.stepsTaken();
    }
    const int steps = settings.optimizer.steps;
    QElapsedTimer clock;
    clock.start();
    auto emit = [&](const TrainingPoint& p) {
        result.curve.push_back(p);
        if (onPoint)
            onPoint(p);
    };
    std::vector<std::vector<float>> best;
    const quint64 scoreKey = heldOutKey(heldOut, teacher != nullptr);
    if (resumed && resumed->scoreKey != scoreKey) { // losses of another text or objective: not comparable
        resumed->curve.clear();
        resumed->startHeldOut = -1;
    }
    const double secondsBefore = resumed && !resumed->curve.empty() ? resumed->curve.back().seconds : 0.0;
    if (resumed) // the run so far, as it went
        for (const TrainingPoint& p : resumed->curve)
            emit(p);
    if (resumed && resumed->startHeldOut >= 0 && !heldOut.empty()) {
        result.startHeldOut = resumed->startHeldOut;
        result.bestHeldOut = resumed->bestHeldOut;
        result.bestStep = resumed->bestStep;
        if (settings.keepBest && !resumed->best.empty()) {
            best = std::move(resumed->best);
        } else if (settings
                       .keepBest) { // the first part kept no best parameters: the best is where it stopped
            result.bestHeldOut = meanLoss(model, heldOut, settings.batch, teacher);
            result.bestStep = opt.stepsTaken();
            best = snapshot(model);
        }
    } else if (!heldOut.empty()) {
        job.report(0.0, QStringLiteral("training"), QStringLiteral("scoring the held-out text"));
        result.startHeldOut = result.bestHeldOut = meanLoss(model, heldOut, settings.batch, teacher);
        result.bestStep = opt.stepsTaken();
        if (settings.keepBest)
            best = snapshot(model);
        TrainingPoint start;
        start.step = opt.stepsTaken();
        start.loss = -1;
        start.heldOut = result.startHeldOut;
        emit(start);
    }
    // A non-finite loss: the parameters that gave it are dropped for the best kept ones, if any.
    const auto divergedAt = [&](const QString& which, int step) {
        result.stopReason =
            QStringLiteral("the %1 loss is not finite at step %2 (diverged); lower the learning rate")
                .arg(which)
                .arg(step);
        if (!best.empty()) {
            restoreSnapshot(model, best);
            result.keptBest = true;
        } else {
            result.diverged = true;
        }
    };
    std::vector<int> tokens(std::size_t(settings.batch) * std::size_t(n));
    const int first = opt.stepsTaken();
    for (int s = first; s < steps; ++s) {
        job.checkCancelled();
        if (settings.stopRequested() && s > first) {
            result.stoppedEarly = true;
            if (!heldOut.empty() && result.curve.back().heldOut < 0) { // score where it stopped
                TrainingPoint& last = result.curve.back();
                last.heldOut = meanLoss(model, heldOut, settings.batch, teacher);
                if (last.heldOut < result.bestHeldOut) {
                    result.bestHeldOut = last.heldOut;
                    result.bestStep = last.step;
                    if (settings.keepBest)
                        best = snapshot(model);
                }
            }
            break;
        }
        for (int i = 0; i < settings.batch; ++i) {
            const std::vector<int>& w =
                windows[(std::size_t(s) * std::size_t(settings.batch) + std::size_t(i)) % windows.size()];
            std::copy(w.begin(), w.end(), tokens.begin() + std::ptrdiff_t(i) * n);
        }
        model.zeroGrad();
        TrainingPoint p;
        p.step = s + 1;
        const std::vector<float> soft =
            teacher ? teacher->logits(tokens.data(), settings.batch, n) : std::vector<float>();
        p.loss = model.loss(tokens.data(), settings.batch, n, true, teacher ? soft.data() : nullptr);
        p.learningRate = settings.optimizer.learningRateAt(s);
        if (!std::isfinite(p.loss)) { // the parameters held gave it: fall back to the best kept ones
            divergedAt(QStringLiteral("training"), s + 1);
            break;
        }
        try {
            p.gradientNorm = opt.step(model.params());
        } catch (const Error& e) {
            result.stopReason = e.message() + QStringLiteral("; the parameters of step %1 are kept").arg(s);
            break;
        }
        constrainParameters(model); // loss() fake-quantizes the moved weights again before it runs
        const bool last = s + 1 == steps;
        if (!heldOut.empty() && ((s + 1) % settings.evalEvery == 0 || last)) {
            p.heldOut = meanLoss(model, heldOut, settings.batch, teacher);
            if (!std::isfinite(p.heldOut)) {
                divergedAt(QStringLiteral("held-out"), s + 1);
                break;
            }
            if (p.heldOut < result.bestHeldOut) {
                result.bestHeldOut = p.heldOut;
                result.bestStep = s + 1;
                if (settings.keepBest)
                    best = snapshot(model);
            }
        }
        p.seconds = secondsBefore + double(clock.elapsed()) / 1000.0;
        emit(p);
        result.steps = s + 1;
        if (!settings.checkpointPath.isEmpty() && settings.checkpointEvery > 0 &&
            ((s + 1) % settings.checkpointEvery == 0 || last))
            writeCheckpoint(settings.checkpointPath, model, opt, result, best, scoreKey);
        const double done = double(s + 1 - first) / double(steps - first);
        job.report(double(s + 1) / double(steps), QStringLiteral("training"),
                   QStringLiteral("step %1/%2 · loss %3").arg(s + 1).arg(steps).arg(p.loss, 0, 'f', 4),
                   (p.seconds - secondsBefore) / done * (1.0 - done));
    }
    if (result.stopReason.isEmpty() && settings.keepBest && !best.empty() &&
        result.bestStep != result.steps) {
        restoreSnapshot(model, best);
        result.keptBest = true;
    }
    result.seconds = secondsBefore + double(clock.elapsed()) / 1000.0; // the whole run, resumed or not
    return result;
}

QJsonObject BlockFit::toJson() const
{
    QJsonObject o{{QStringLiteral("block"), block},
                  {QStringLiteral("loss"), head ? QStringLiteral("kl") : QStringLiteral("mse")},
                  {QStringLiteral("start_loss"), startLoss},
                  {QStringLiteral("end_loss"), endLoss},
                  {QStringLiteral("kept"), kept},
                  {QStringLiteral("seconds"), seconds}};
    if (!stopReason.isEmpty())
        o.insert(QStringLiteral("stopped"), stopReason);
    return o;
}

QJsonObject BlockwiseResult::toJson() const
{
    QJsonArray a;
    for (const BlockFit& b : blocks)
        a.append(b.toJson());
    return QJsonObject{{QStringLiteral("blocks"), a},
                       {QStringLiteral("seconds"), seconds},
                       {QStringLiteral("stopped_early"), stoppedEarly}};
}

BlockwiseResult trainBlockwise(TrainModel& quantized, TrainModel& reference,
                               const std::vector<std::vector<int>>& windows, const TrainingSettings& settings,
                               const JobContext& job, const std::function<void(const BlockFit&)>& onBlock)
{
    const QString problem = settings.optimizer.validate();
    if (!problem.isEmpty())
        throw Error(problem);
    if (windows.empty() || settings.batch < 1)
        throw Error(QStringLiteral("block-wise reconstruction needs windows and a batch of at least 1"));
    const ModelConfig& c = quantized.config();
    if (reference.config().hiddenSize != c.hiddenSize || reference.config().numLayers != c.numLayers)
        throw Error(QStringLiteral("the reference model has another shape than the quantized one"));
    const int n = int(windows.front().size());
    for (const std::vector<int>& w : windows)
        if (int(w.size()) != n || n < 2)
            throw Error(
                QStringLiteral("training windows must all have the same length of at least 2 tokens"));
    const int W = int(windows.size()), H = c.hiddenSize, batch = std::min(settings.batch, W);
    const std::size_t rowFloats = std::size_t(n) * std::size_t(H);
    std::vector<int> tokens;
    for (const std::vector<int>& w : windows)
        tokens.insert(tokens.end(), w.begin(), w.end());
    std::vector<float> hq(std::size_t(W) * rowFloats), hf(hq.size());
    quantized.embed(tokens.data(), int(tokens.size()), hq.data());
    reference.embed(tokens.data(), int(tokens.size()), hf.data());

    // Runs fn(first window, count) over all windows in batches.
    const auto inBatches = [&](const std::function<void(int, int)>& fn) {
        for (int first = 0; first < W; first += batch)
            fn(first, std::min(batch, W - first));
    };
    // The head is fitted after the blocks when something of it learns (its scales, zeros, latent weights
    // or rounding: a quantized head; a float head only when float weights train).
    const bool fitHead = [&] {
        const std::vector<TrainParam*> hp = quantized.blockParams(c.numLayers);
        return std::any_of(hp.begin(), hp.end(), [](const TrainParam* p) { return p->trainable; });
    }();
    const int stages = c.numLayers + (fitHead ? 1 : 0);

    BlockwiseResult result;
    QElapsedTimer clock;
    clock.start();
    std::vector<float> x(std::size_t(batch) * rowFloats), t(x.size());
    // Fits stage b's parameters: `lossOf(inputs, targets, count, backward)` scores `count` windows' rows of
    // hq (the quantized model's inputs) against the same rows of `targets`.
    const auto fitStage = [&](int b, const std::vector<float>& targets,
                              const std::function<double(const float*, const float*, int, bool)>& lossOf) {
        const auto overAll = [&] {
            double total = 0;
            inBatches([&](int first, int count) {
                total += lossOf(hq.data() + std::size_t(first) * rowFloats,
                                targets.data() + std::size_t(first) * rowFloats, count, false) *
                         double(count);
            });
            return total / double(W);
        };
        const QString stage = b < c.numLayers ? QStringLiteral("block %1").arg(b) : QStringLiteral("lm_head");
        std::vector<TrainParam*> params = quantized.blockParams(b);
        std::vector<std::vector<float>> start;
        for (TrainParam* p : params)
            start.push_back(p->value);
        quantized.refreshWeights(b);
        BlockFit fit;
        fit.block = b;
        fit.head = b == c.numLayers;
        fit.startLoss = overAll();
        Optimizer opt(settings.optimizer);
        const int steps = settings.optimizer.steps;
        for (int s = 0; s < steps && !(settings.stopRequested() && s > 0); ++s) {
            job.checkCancelled();
            for (int i = 0; i < batch; ++i) {
                const std::size_t w = (std::size_t(s) * std::size_t(batch) + std::size_t(i)) % std::size_t(W);
                std::copy_n(hq.begin() + std::ptrdiff_t(w * rowFloats), rowFloats,
                            x.begin() + std::ptrdiff_t(i * rowFloats));
                std::copy_n(targets.begin() + std::ptrdiff_t(w * rowFloats), rowFloats,
                            t.begin() + std::ptrdiff_t(i * rowFloats));
            }
            for (TrainParam* p : params)
                std::fill(p->grad.begin(), p->grad.end(), 0.0f);
            const double loss = lossOf(x.data(), t.data(), batch, true);
            if (!std::isfinite(loss)) {
                fit.stopReason =
                    QStringLiteral("%1: the loss is not finite at step %2 (diverged)").arg(stage).arg(s + 1);
                break;
            }
            try {
                opt.step(params);
            } catch (const Error& e) {
                fit.stopReason = QStringLiteral("%1: %2").arg(stage, e.message());
                break;
            }
            constrainParameters(quantized);
            quantized.refreshWeights(b);
            const double done = (double(b) + double(s + 1) / double(steps)) / double(stages);
            const double elapsed = double(clock.elapsed()) / 1000.0;
            job.report(done, QStringLiteral("reconstructing"),
                       QStringLiteral("%1/%2 (%3), step %4/%5, %6 %7")
                           .arg(b + 1)
                           .arg(stages)
                           .arg(stage)
                           .arg(s + 1)
                           .arg(steps)
                           .arg(fit.head ? QStringLiteral("kl") : QStringLiteral("mse"))
                           .arg(loss, 0, 'g', 4),
                       elapsed / done * (1.0 - done));
        }
        fit.endLoss = fit.stopReason.isEmpty() ? overAll() : INFINITY;
        if (!(fit.endLoss <= fit.startLoss)) { // never leave a stage worse than it started
            for (std::size_t k = 0; k < params.size(); ++k)
                params[k]->value = start[k];
            quantized.refreshWeights(b);
            fit.kept = false;
        }
        return fit;
    };
    const auto finish = [&](BlockFit& fit, const QElapsedTimer& stageClock) {
        fit.seconds = double(stageClock.elapsed()) / 1000.0;
        result.blocks.push_back(fit);
        if (onBlock)
            onBlock(fit);
    };

    for (int b = 0; b < c.numLayers; ++b) {
        job.checkCancelled();
        if (settings.stopRequested() && !result.blocks.empty()) { // the rest pass through as they are
            inBatches([&](int first, int count) {
                quantized.blockForward(b, hq.data() + std::size_t(first) * rowFloats, count, n);
            });
            result.stoppedEarly = true;
            continue;
        }
        QElapsedTimer blockClock;
        blockClock.start();
        // The float block's outputs for the float inputs: the targets, and the next block's float inputs.
        std::vector<float> target = hf;
        inBatches([&](int first, int count) {
            reference.blockForward(b, target.data() + std::size_t(first) * rowFloats, count, n);
        });
        BlockFit fit = fitStage(b, target, [&](const float* in, const float* want, int count, bool backward) {
            return quantized.blockReconstructionLoss(b, in, want, count, n, backward);
        });
        // The next block's inputs: this block's output with its final parameters.
        inBatches([&](int first, int count) {
            quantized.blockForward(b, hq.data() + std::size_t(first) * rowFloats, count, n);
        });
        hf = std::move(target);
        finish(fit, blockClock);
    }
    if (fitHead && !settings.stopRequested()) {
        job.checkCancelled();
        QElapsedTimer headClock;
        headClock.start();
        // hf holds the float model's last hidden states: its logits, a batch at a time, are the targets.
        BlockFit fit = fitStage(
            c.numLayers, hf, [&](const float* in, const float* floatHidden, int count, bool backward) {
                const std::vector<float> teacher = reference.headLogits(floatHidden, std::int64_t(count) * n);
                return quantized.headDistillationLoss(in, count, n, teacher.data(), backward);
            });
        finish(fit, headClock);
    } else if (fitHead) {
        result.stoppedEarly = true;
    }
    result.seconds = double(clock.elapsed()) / 1000.0;
    return result;
}

std::vector<std::shared_ptr<const QuantizedTensor>>
trainedTensors(const TrainModel& model, const std::vector<std::shared_ptr<const QuantizedTensor>>& original)
{
    std::vector<std::shared_ptr<const QuantizedTensor>> out(original.size());
    // A scale as the checkpoint stores it; below the storage's range, its smallest normal value.
    const auto storedScale = [](float v, DType type) {
        const float r = roundToStorage(v, type);
        return r > 0 ? r : type == DType::F16 ? 6.103515625e-05f : std::numeric_limits<float>::min();
    };
    for (const TrainModel::Linear& l : model.linears()) {
        if (!l.quantized() || l.index < 0)
            continue;
        const auto& src = original.at(std::size_t(l.index));
        if (!src || src->rows != l.out || src->cols != l.in)
            throw Error(
                QStringLiteral("%1: no quantized tensor of the trained shape to write into").arg(l.name));
        auto q = std::make_shared<QuantizedTensor>(*src);
        if (l.table) { // the same codes, the learned tables
            if (l.codebook)
                for (std::size_t k = 0; k < q->codebook.size(); ++k)
                    q->codebook[k] = roundToStorage(l.codebook->value[k], DType::F16);
            if (l.sparse)
                for (std::size_t k = 0; k < q->sparseValues.size(); ++k)
                    q->sparseValues[k] = roundToStorage(l.sparse->value[k], DType::F16);
            if (l.scale)
                for (std::size_t k = 0; k < q->scales.size(); ++k)
                    q->scales[k] = storedScale(l.scale->value[k], q->spec.scaleType);
            q->checkCodebook(l.name);
            out[std::size_t(l.index)] = std::move(q);
            continue;
        }
        q->packed.reset();
        const FakeQuantGrid& g = *l.grid;
        for (std::size_t k = 0; k < q->scales.size(); ++k) {
            q->scales[k] = storedScale(l.scale->value[k], q->spec.scaleType);
            if (!g.symmetric)
                q->zeros[k] = g.integerZeros
                                  ? std::clamp(std::nearbyint(l.zero->value[k]), 0.0f, float(g.qmax()))
                                  : roundToStorage(l.zero->value[k], q->spec.scaleType);
        }
        q->codes = fakeQuantCodes(g, l.weight->value.data(), q->scales.data(), q->zeros.data(),
                                  l.rounding ? l.rounding->value.data() : nullptr);
        q->releaseCodesToPacked();
        out[std::size_t(l.index)] = std::move(q);
    }
    return out;
}

} // namespace qs
