#pragma once

#include "eval/Evaluation.h"
#include "jobs/Job.h"
#include "quant/QuantizeJob.h"
#include "recipe/LayerPlan.h"
#include "recipe/Recipe.h"
#include "results/RunResults.h"

#include <QJsonObject>
#include <QString>
#include <QStringList>
#include <memory>
#include <optional>

namespace qs {

class Model;

/// Everything one experiment needs: quantize `model` with `plan`, evaluate the result against the
/// float model, summarise it and save it. The GUI's Run and `quantscope-cli quantize` both fill
/// one of these; neither composes the steps itself.
struct ExperimentParams
{
    std::shared_ptr<const Model> model;
    Recipe recipe;                   ///< saved with the checkpoint
    LayerPlan plan;                  ///< what is run (the recipe resolved, or an edited plan)
    QStringList planWarnings;        ///< from resolving the plan; carried into the result
    CalibrationSettings calibration; ///< its text as a usable path
    QString name;                    ///< the run's name
    /// Shown beside the name; empty: named from what ran (schemesLabel of the quantized layers'
    /// specs, e.g. "gptq w3 g64"), never from a preset's name that may no longer describe the plan.
    QString recipeSummary;
    /// Evaluation of the quantized model; an empty textPath skips it. kldBasePath may name a base
    /// stored earlier (eval --save-base); saveBasePath is not used.
    EvaluationParams evaluation;
    /// When set (and evaluating): the float model is evaluated once per model folder, text and
    /// chunk count, its logits kept in this folder as the KLD base and its summary beside it, so
    /// later experiments and sessions reuse both; the run is compared against that base.
    QString baselineCacheDir;
    /// The checkpoint folder (packed weights + run.json, written atomically); empty: not saved.
    QString outDir;
    /// Progress per step (each step's own 0–1, stage, detail and ETA) instead of one scale over
    /// all steps with the step named in the detail: a terminal prints one line per step.
    bool progressPerStep = false;
};

/// What one experiment produced. Failures of the experiment itself are exceptions (qs::Error,
/// qs::Cancelled); a checkpoint that could not be saved is not one: the measurements stand.
struct ExperimentResult
{
    QuantizeResult quantize; ///< warnings: the quantizer's, then the plan's and the pre-run checks'
    std::optional<EvaluationResult> evaluation;
    std::optional<RunSummary> baseline; ///< the float baseline (from the cache or measured now)
    RunSummary summary;                 ///< the run for tables and plots; source: the checkpoint when saved
    QJsonObject run;                    ///< run.json: name, model, recipe_summary, sizes, bpw, time, eval
    QString checkpoint;                 ///< the saved folder; empty when none was saved
    QString checkpointError;            ///< why saving failed (empty when it did not); also a warning
    QStringList warnings;               ///< all of them: quantize's, the evaluation's, a failed save
};

/// Warnings known before the experiment runs (the CLI prints them first): the plan's, and
/// `calibration-is-evaluation` when the calibration text is the evaluation text.
QStringList experimentPreflightWarnings(const ExperimentParams& params);

/// The KLD base file for `params` in params.baselineCacheDir (its summary: path + ".baseline.json").
/// Keyed by architecture, model folder, evaluation text and chunk count: two fine-tunes share an
/// architecture fingerprint, not their logits.
QString experimentBaselinePath(const ExperimentParams& params);

/// Runs the experiment: the float baseline when asked (cached), quantization, evaluation, the
/// summary and the checkpoint, reporting progress by step and honouring `job`'s cancel token.
/// Throws qs::Error (bad plan, missing text, not enough memory, KLD base of another model) or
/// qs::Cancelled.
ExperimentResult runExperiment(const ExperimentParams& params, const JobContext& job = {});
/// The same, filling `result` step by step: a caller that catches the exception keeps what was
/// done (the float baseline of a run that was cancelled or failed later).
void runExperiment(const ExperimentParams& params, ExperimentResult& result, const JobContext& job);

} // namespace qs
