#pragma once

#include "jobs/Job.h"
#include "train/Optimizer.h"
#include "train/TrainModel.h"

#include <QJsonObject>
#include <atomic>
#include <functional>
#include <memory>
#include <vector>

namespace qs {

struct QuantizedTensor;

/// A training run over fixed windows of tokens: each step takes `batch` windows in turn (cycling), the
/// held-out windows are scored every `evalEvery` steps and at the end.
struct TrainingSettings
{
    OptimizerSettings optimizer;
    int batch = 4;
    int evalEvery = 10;
    /// Write the parameters and the optimiser's state here every `checkpointEvery` steps and after the last
    /// (atomically; 0: never) and resume from it when it exists and fits the model. It also keeps the curve
    /// so far and the best held-out step with its parameters, so a resumed run reports the whole curve and
    /// keeps the best step of the whole run. It stays after the run: the same command then gives the same
    /// result, more steps continue it; delete it to start afresh.
    QString checkpointPath;
    int checkpointEvery = 0;
    /// Put the parameters of the lowest held-out loss back at the end (else the last step's).
    bool keepBest = true;
    /// Set by whoever watches the run to end it early but keep what it learned (unlike a cancel, which
    /// discards the run): the loop stops after the current step and the run finishes as if that were the
    /// last (the best step kept, the result saved). Block-wise: the current block ends, the rest pass
    /// through untouched.
    std::shared_ptr<std::atomic<bool>> stop;
    bool stopRequested() const { return stop && stop->load(std::memory_order_relaxed); }
};

/// One point of the loss curve.
struct TrainingPoint
{
    int step = 0;        ///< steps done (1-based); 0 is the starting point
    double loss = 0;     ///< training loss of the step's batch (mean next-token cross-entropy, nats)
    double heldOut = -1; ///< held-out loss at this step (−1: not measured here)
    double learningRate = 0;
    double gradientNorm = 0;
    double seconds = 0; ///< since the run started
    QJsonObject toJson() const;
};

struct TrainingResult
{
    std::vector<TrainingPoint> curve;
    int steps = 0;       ///< steps taken (this run and any resumed from)
    int resumedFrom = 0; ///< step the run resumed at (0: a fresh start)
    int bestStep = 0;    ///< step of the lowest held-out loss (0: the start)
    double bestHeldOut = -1;
    double startHeldOut = -1;
    bool keptBest = false;     ///< the parameters are those of bestStep, not of the last step
    QString stopReason;        ///< empty when all steps ran; else why it stopped (divergence)
    bool stoppedEarly = false; ///< ended by TrainingSettings::stop before its last step
    /// A loss turned non-finite and no earlier parameters were kept to fall back to: the model holds the
    /// parameters that gave it (a caller must not save them).
    bool diverged = false;
    double seconds = 0;
    QJsonObject toJson() const;
};

/// Mean next-token loss over `windows` (equal lengths), `batch` at a time.
/// With a teacher, the mean KL divergence from the teacher's distributions (see TrainModel::loss).
double meanLoss(TrainModel& model, const std::vector<std::vector<int>>& windows, int batch,
                TrainModel* teacher = nullptr);

/// Keeps a model's trainable parameters in their valid ranges after a step: scales positive, integer
/// zeros on [0, qmax], learned rounding offsets on [−½, ½].
void constrainParameters(TrainModel& model);

/// Trains `model` on `windows` (each a sequence of equal length ≥ 2) and scores `heldOut` (may be
/// empty). The loss is next-token cross-entropy, or with a `teacher` (the float model) the KL divergence
/// from its distributions (distillation), for the steps and the held-out score alike. Reports progress and
/// the curve (`onPoint`, on the calling thread) and stops with qs::Cancelled on cancel (the model then holds
/// the last completed step's parameters). A loss or gradient that is not finite stops the run with
/// `stopReason` set and the parameters of the last good step kept. Throws qs::Error for invalid settings or
/// windows, and for a checkpoint that cannot be written or read.
TrainingResult trainModel(TrainModel& model, const std::vector<std::vector<int>>& windows,
                          const std::vector<std::vector<int>>& heldOut, const TrainingSettings& settings,
                          const JobContext& job = {},
                          const std::function<void(const TrainingPoint&)>& onPoint = {},
                          TrainModel* teacher = nullptr);

/// One block's reconstruction: the mean squared error of its output against the float block's, over all
/// windows, before and after its steps (the block keeps its starting parameters when the steps made it
/// worse). The head's fit (`head`, block = numLayers) scores the mean KL divergence of its next-token
/// distributions from the float model's instead.
struct BlockFit
{
    int block = 0;
    bool head = false;
    double startLoss = 0, endLoss = 0; ///< mean squared error (the head: mean KL divergence, nats)
    bool kept = true;                  ///< the trained parameters were kept
    double seconds = 0;
    QString stopReason;
    QJsonObject toJson() const;
};

struct BlockwiseResult
{
    std::vector<BlockFit> blocks;
    double seconds = 0;
    bool stoppedEarly = false; ///< blocks after the last fitted one passed through untouched
    QJsonObject toJson() const;
};

/// Block-wise reconstruction (EfficientQAT's Block-AP, OmniQuant; with signed descent on rounding offsets,
/// SignRound): block after block, the quantized block's trainable parameters are fitted so that its output
/// for the quantized model's own inputs (the blocks before it already fitted) matches the float block's
/// output for the float model's inputs, by `settings.optimizer.steps` steps of `settings.batch` windows on
/// the mean squared error. Then, when the head is quantized and has trainable parameters, the head (with
/// the final norm) is fitted the same way on the quantized model's last hidden states, scored by the KL
/// divergence of its next-token distributions from the float model's (AutoRound tunes a quantized
/// lm_head too; a head fitted to its logits' squared error would spend itself on logits no one samples).
/// `reference` is the float model (nothing of it is trained). Holds the windows' hidden states twice
/// ([windows·tokens, hidden] for each model) and one block's activations (or a batch's logits) at a time.
/// Cancellable between steps; reports each fit to `onBlock`.
BlockwiseResult trainBlockwise(TrainModel& quantized, TrainModel& reference,
                               const std::vector<std::vector<int>>& windows, const TrainingSettings& settings,
                               const JobContext& job = {},
                               const std::function<void(const BlockFit&)>& onBlock = {});

/// The quantized tensors of a trained model, one per quantized layer of `model` (null for float layers),
/// in Model::linears() order: `original`'s spec and layout with the codes, scales and zeros the training
/// reached (scales and real zeros rounded to the spec's storage, the codes taken against those).
std::vector<std::shared_ptr<const QuantizedTensor>>
trainedTensors(const TrainModel& model, const std::vector<std::shared_ptr<const QuantizedTensor>>& original);

} // namespace qs
