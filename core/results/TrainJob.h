#pragma once

#include "eval/Evaluation.h"
#include "jobs/Job.h"
#include "recipe/Recipe.h"
#include "results/RunResults.h"
#include "train/Training.h"
#include "util/SystemInfo.h"

#include <QJsonObject>
#include <QString>
#include <QStringList>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace qs {

class Model;

/// Quantization-aware training of a quantized model (issue 16): the model's quantized layers run
/// fake-quantized from latent f32 weights, the loss is next-token cross-entropy on windows of a
/// calibration text, gradients pass straight through the rounding (train/FakeQuant.h), and the result
/// is saved as the same checkpoint format with the codes, scales and zeros the training reached. The
/// GUI's training page and `quantscope-cli train` both fill one of these.
struct TrainJobParams
{
    /// End to end (QAT: every trainable parameter on the language-model loss), or block-wise
    /// reconstruction against the float model (Block-AP; SignRound when the rounding offsets learn by
    /// signed descent), optionally followed by `endToEnd` steps on the scales and zeros alone (E2E-QP).
    enum class Mode { EndToEnd, Blockwise };
    Mode mode = Mode::EndToEnd;
    /// Block-wise: the end-to-end stage on scales and zeros that follows the blocks (none when unset).
    std::optional<TrainingSettings> endToEnd;
    std::shared_ptr<const Model> model; ///< a quantized checkpoint (QuantScope, GPTQ or AWQ folder)
    CalibrationSettings calibration;    ///< the training windows
    CalibrationSettings heldOut;        ///< held-out windows (empty text: none, and no "best" to keep)
    TrainingSettings training;
    TrainableSet trainable;
    /// The float model the checkpoint was quantized from: its weights become the latent weights of the
    /// round-to-nearest layers (RTN, HQQ, AWQ), which then reproduce their codes and give the scales a
    /// gradient from the first step. Null: every layer starts from its dequantized weights (GPTQ layers
    /// always do: the float weights would undo its rounding decisions).
    std::shared_ptr<const Model> floatModel;
    /// Distillation (LLM-QAT): the loss, steps and held-out score alike, is the KL divergence of the model's
    /// next-token distributions from the float model's (what `eval --kld-base` measures) instead of the
    /// text's cross-entropy; needs `floatModel`. On a small calibration text cross-entropy drifts away
    /// from the float model (kjv7M GPTQ int2 g64: held-out loss down, test KLD up 15 %).
    bool distill = false;
    /// Latent weights of RTN/HQQ/AWQ layers from `floatModel` (else every layer from its dequantized
    /// weights).
    bool latentFromFloatModel = true;
    QString outDir; ///< the trained checkpoint, written atomically; empty: not saved
    /// The saved run's name (run.json; the GUI's Runs table); empty: the folder's name.
    QString name;
    /// Evaluation of the trained model (empty textPath: none). With `outDir`, run.json beside the
    /// checkpoint holds it, so the folder loads as a run (RunSummary::load) next to the one it came from.
    EvaluationParams evaluation;
};

struct TrainJobResult
{
    TrainingResult training; ///< end to end (in block-wise mode: the E2E-QP stage, if any)
    std::optional<BlockwiseResult> blockwise;
    double heldOutBefore = -1, heldOutAfter = -1; ///< held-out loss of the model before and after the job
    QString checkpoint;                           ///< the saved folder (empty when none)
    std::optional<EvaluationResult> evaluation;
    std::optional<RunSummary> summary; ///< the saved run as the Runs table shows it (with outDir)
    std::int64_t trainableParameters = 0;
    int latentFromFloat = 0; ///< layers whose latent weights came from the float model
    double peakRssBytes = 0;
    QStringList warnings;
    QJsonObject toJson() const;
};

/// The ways to fine-tune a quantized checkpoint, one row each in trainMethods(): the CLI's --mode, the GUI's
/// method box and the trained run's name are all read from that table.
enum class TrainMethod { Qat, BlockAp, SignRound };

struct TrainMethodInfo
{
    TrainMethod method;
    const char* key;   ///< the CLI's --mode: "e2e", "blockwise", "signround"
    const char* slug;  ///< the trained folder's suffix and the recipe summary's: "qat", "block-ap", …
    const char* name;  ///< appended to the trained run's name: "QAT" (QT_TRANSLATE_NOOP("TrainJob", …))
    const char* label; ///< as a method box offers it: "QAT (end to end)" (QT_TRANSLATE_NOOP("TrainJob", …))
    const char* summary;  ///< one line on what it does (QT_TRANSLATE_NOOP("TrainJob", …))
    int defaultSteps;     ///< end to end: steps of the run; block-wise: steps per block
    bool needsFloatModel; ///< fits blocks to the float model's outputs (TrainJobParams::floatModel)
};

/// Every method, in the order a user is offered them.
const std::vector<TrainMethodInfo>& trainMethods();
const TrainMethodInfo& trainMethodInfo(TrainMethod method);
/// The method whose `key` (or slug) this is; nullopt when none.
std::optional<TrainMethod> trainMethodFromKey(const QString& key);
/// The method `params` describe (block-wise with learned rounding: SignRound).
TrainMethod trainMethodOf(const TrainJobParams& params);

/// The settings `quantscope-cli train` and the GUI start from: the method's mode, what learns and how fast.
/// QAT: weights, scales and zeros by AdamW at 1e-4 (scales and zeros 5× that), 10 warm-up steps. Block-AP:
/// the same per block at 2e-4, 300 steps per block. SignRound: rounding offsets by signed descent at 1/steps,
/// scales and zeros by AdamW at 1e-4 (absolute), no warm-up. All: cosine to 0.1 of the peak, clip 1, batch 4,
/// held-out scored every 10 steps, the best step kept; 128 windows of 128 tokens (32 held out). `steps` 0:
/// the method's default; no `learningRate`: the method's (SignRound's scales keep 1e-4 absolute for any).
/// The texts, model and output are the caller's to fill.
TrainJobParams trainPreset(TrainMethod method, int steps = 0, std::optional<double> learningRate = {});

/// What training `model` with `params` holds: each parameter in f32 (trainable ones with their gradient
/// and two optimiser moments), one block's activations, each block's input kept for the recomputation,
/// and the logits with their gradient.
MemoryNeed trainingMemory(const Model& model, const TrainJobParams& params);

/// Checks memory, builds the training windows, trains, saves. Throws qs::Error (not a trainable model,
/// bad settings, text too short, not enough memory) or qs::Cancelled (nothing is written then: the input
/// model is never touched). `onPoint` gets each point of the loss curve on the job's thread, `onBlock` each
/// block's fit as it ends (block-wise modes).
TrainJobResult runTrainJob(const TrainJobParams& params, const JobContext& job = {},
                           const std::function<void(const TrainingPoint&)>& onPoint = {},
                           const std::function<void(const BlockFit&)>& onBlock = {});

} // namespace qs
