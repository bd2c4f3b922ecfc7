#pragma once

#include "eval/Perplexity.h"
#include "recipe/Recipe.h"
#include "spec/QuantSpec.h"
#include "util/Paths.h"
#include "util/SystemInfo.h"

#include <QJsonObject>
#include <QString>
#include <QStringList>
#include <vector>

namespace qs {

// The data of a sensitivity sweep: what was measured and under which settings, saved as JSON and
// read back for resume and allocation. The sweep itself is in analysis/Sensitivity.h.

/// A candidate way to quantize a unit, named by QuantSpec::shortName() ("gptq-w3-g128").
struct SensitivityScheme
{
    QString name;
    QuantSpec spec;
};

/// What is quantized together: one linear layer, or every layer matched by a group regex
/// ("down_proj$" → all down projections), always with one scheme for all its members.
struct SensitivityUnit
{
    QString name;             ///< the layer name, or the group's regex
    std::vector<int> linears; ///< indices into Model::linears()
    std::int64_t params = 0;
};

/// The measured cost of quantizing one unit with one scheme while every other layer stays float.
struct SensitivityEntry
{
    QString unit;
    QString scheme;
    std::uint64_t bytes = 0; ///< storage of the unit under this scheme (codes, scales, zeros, extras)
    double bitsPerWeight = 0;
    double ppl = 0;
    double deltaNll = 0; ///< mean NLL − base mean NLL (nats) = log(ppl / base ppl)
    double kld = 0;      ///< mean KL(base ‖ this) over the scored positions
    double top1 = 0;     ///< % of positions with the same argmax as the base
    // Proxies, no evaluation needed (summed over the unit's members):
    double weightRelMse = 0; ///< Σ‖W − Ŵ‖² / Σ‖W‖²
    double hessianError =
        0; ///< Σ_j diag(H)_j Σ_i (W − Ŵ)²_ij / Σ_j diag(H)_j Σ_i W²_ij (H = E[xxᵀ] on calibration)
    double outputRelMse = 0; ///< Σ‖XWᵀ − XŴᵀ‖² / Σ‖XWᵀ‖² on sampled calibration inputs
    double seconds = 0;
    QJsonObject toJson() const;
    static SensitivityEntry fromJson(const QJsonObject& o);
};

/// Which part of a sweep a run measures. The sweep's entries in canonical order (unit by unit, each
/// unit's schemes in the order given) are dealt round-robin: entry k belongs to shard k mod count, so
/// every shard gets a similar mix of early (costly to re-run) and late units. `index` is 0-based, as
/// SLURM_ARRAY_TASK_ID is for --array=0-(N-1). Merging is in analysis/SweepShards.h.
struct SweepShard
{
    int index = 0;
    int count = 1; ///< 1: the whole sweep
    bool sharded() const { return count > 1; }
    bool owns(std::size_t entry) const { return int(entry % std::size_t(count)) == index; }
    QString toText() const { return QStringLiteral("%1/%2").arg(index).arg(count); }
    bool operator==(const SweepShard&) const = default;
};

struct SensitivitySettings
{
    std::vector<SensitivityScheme> schemes;
    QString layerFilter;       ///< regex: only layers whose name it matches (empty: all linear layers)
    QStringList groupPatterns; ///< each regex makes the layers it matches one unit
    QString evalText;          ///< evaluation sample (llama.cpp protocol options below)
    PerplexityOptions eval;    ///< default ctx 128, 32 chunks (set by the caller)
    CalibrationSettings
        calibration;  ///< used when a scheme needs statistics (GPTQ, AWQ, …) and for the proxies
    SweepShard shard; ///< measure only this shard's entries
};

/// The whole sweep, saved as JSON and reloadable: a later run with the same key resumes from it
/// (only missing unit × scheme pairs are computed), allocation reads it.
struct SensitivityResult
{
    static constexpr int kVersion = 1;
    // Key: what the numbers are valid for.
    QString modelPath;
    QString modelName;
    QString modelFingerprint;
    QString modelDtype;            ///< the float storage of the original linears ("f32", "bf16")
    std::int64_t linearParams = 0; ///< all linear layers of the model
    QString evalTextSha256;
    PerplexityOptions eval;
    std::int64_t evalTokens = 0; ///< scored positions per evaluation
    CalibrationSettings calibration;
    // Base (float) model on the sample.
    double basePpl = 0, baseNll = 0;
    std::vector<SensitivityScheme> schemes;
    std::vector<SensitivityUnit> units;
    std::vector<SensitivityEntry> entries;
    bool complete = false; ///< every entry (of the shard, for a shard) is measured
    double seconds = 0;
    // Identity, so shards of one sweep can be told from another's.
    QString sweepId;     ///< identity(): the same for the whole sweep and each of its shards
    QString toolVersion; ///< QuantScope version that measured it
    SweepShard shard;    ///< count 1: the whole sweep

    /// SHA-256 of the key (model, texts, settings) and the entry list (schemes, units): what must agree
    /// for shards to be parts of one sweep. The shard and the tool version are not part of it.
    QString identity() const;
    /// Indices of the shard's entries in canonical order (unit-major).
    std::vector<std::size_t> ownedEntries() const;
    const SensitivityEntry* find(const QString& unit, const QString& scheme) const;
    /// Keys that must agree for a resume or for reuse by allocation (and the shard); empty when they do.
    QString mismatch(const SensitivityResult& other) const;
    QJsonObject toJson() const;
    static SensitivityResult fromJson(const QJsonObject& o, const QString& pathForErrors);
    static SensitivityResult load(const QString& path);
    /// load() on the file's bytes; `path` is what errors name.
    static SensitivityResult fromBytes(const QByteArray& json, const QString& path);
    /// Atomic write (temp file + rename).
    void save(const QString& path) const;
};

/// The size of a sweep, reported before it starts.
struct SensitivityCost
{
    int units = 0;
    int schemes = 0;
    SweepShard shard;            ///< the part of the sweep costed (count 1: all of it)
    int evaluations = 0;         ///< unit × scheme pairs still to measure (in the shard)
    std::int64_t evalTokens = 0; ///< tokens fed per evaluation (whole chunks)
    double blockFraction = 0;    ///< average share of the blocks re-run per evaluation
    double tokenBlocks = 0;      ///< evaluations × tokens × block fraction: the work that dominates
    /// What the sweep will hold at its peak (model run, hidden-state checkpoints, calibration activations
    /// and one block's statistics, the quantized copies of one block): checked before a sweep starts.
    MemoryNeed memory;
    double usableBytes = 0; ///< what the machine has for it (usableMemoryBytes(); 0 unknown)
    /// Seconds of forward passes (the base pass, calibration and the re-runs), from one block timed on this
    /// machine; quantizing the layers comes on top. −1 when not measured.
    double forwardSeconds = -1;
    double secondsPerTokenBlock = -1;
    QString toText() const;
    QJsonObject toJson() const;
};

} // namespace qs
