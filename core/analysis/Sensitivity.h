#pragma once

#include "analysis/SensitivityResult.h"
#include "jobs/Job.h"

#include <QJsonObject>
#include <QString>
#include <QStringList>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace qs {

class Model;
class Tokenizer;

/// Parses "gptq-w2-g128,gptq-w3-g128,…" (QuantSpec::fromShortName); throws on an empty list,
/// duplicates or a bad scheme.
std::vector<SensitivityScheme> parseSchemes(const QString& commaSeparated);

/// What a unit's layers really store under `spec` after llama-quantize's row fallback
/// (QuantSpec::fittedTo), so a fallback never passes for the scheme asked: empty when every layer
/// keeps the spec, else "Q4_K → Q5_0" (several fitted types "/"-joined; "refused" when a type has
/// no fallback), with `why` set to the reason for each layer that changes.
QString sensitivityFallback(const Model& model, const SensitivityUnit& unit, const QuantSpec& spec,
                            QString* why = nullptr);

/// Units of `model` for the settings (filter, groups); throws when none matches or a group matches nothing.
std::vector<SensitivityUnit> sensitivityUnits(const Model& model, const SensitivitySettings& settings);

/// The sweep: for each unit and scheme, quantize only that unit (calibration statistics from the
/// float model), evaluate the sample from the first block the unit touches (hidden states of the
/// float model at each block input are cached), record loss and proxies, restore the float layer.
/// Layers are processed block by block, so calibration memory is one block's statistics.
/// `previous` (same key) supplies entries already measured. `checkpoint` is called after each
/// measurement with the result so far (the CLI saves it, so a cancelled or crashed sweep keeps what it
/// finished). With settings.shard, only that shard's entries are measured (the base pass and calibration
/// are the whole sweep's, so each entry equals the unsharded sweep's). Throws qs::Error (bad settings, text
/// too short) or qs::Cancelled.
SensitivityResult runSensitivity(std::shared_ptr<const Model> model, const Tokenizer& tokenizer,
                                 const SensitivitySettings& settings,
                                 const SensitivityResult* previous = nullptr, const JobContext& job = {},
                                 const std::function<void(const SensitivityResult&)>& checkpoint = {});

/// The cost of the sweep: its size, and the memory it will hold at its peak (no model forward passes;
/// tokenizes the evaluation text). runSensitivity checks that memory before it starts.
SensitivityCost estimateSensitivityCost(const Model& model, const Tokenizer& tokenizer,
                                        const SensitivitySettings& settings,
                                        const SensitivityResult* previous = nullptr);
/// Adds the time of the sweep's forward passes to `cost`: one block timed on 64 tokens (best of 3, loading
/// the model), times the token-blocks of the re-runs, the base pass and the calibration pass.
void timeSensitivityForwards(std::shared_ptr<const Model> model, const SensitivitySettings& settings,
                             SensitivityCost& cost);
/// Sets the forward-pass time of `cost` from a block timing (timeSensitivityForwards' arithmetic), so the
/// shards of a sweep can share one timing.
void addForwardSeconds(SensitivityCost& cost, const SensitivitySettings& settings, int numLayers,
                       double secondsPerTokenBlock);

} // namespace qs
