#pragma once

#include "spec/QuantSpec.h"
#include "recipe/LayerPlan.h"

#include <QByteArray>
#include <QJsonObject>
#include <QString>
#include <QStringList>
#include <cstdint>
#include <vector>

namespace qs {

class Model;

/// A per-layer override: every linear layer whose module name ("model.layers.3.mlp.down_proj")
/// CONTAINS a match of `match` gets the QuantSpec fields of `overrides`.
///
/// `match` is a QRegularExpression (PCRE2 syntax) used as a SEARCH, not a full match — the way
/// llama.cpp's `--tensor-type` and GPTQModel's `dynamic` keys treat their patterns. Anchor it
/// yourself where it matters: "layers\\.1\\." (block 1 only, not 10–19), "down_proj$", "^lm_head$".
struct RecipeRule
{
    QString match;
    /// QuantSpec fields as QuantSpec::fromJson reads them (method, bits, symmetric, granularity,
    /// group_size, …), exactly as written in the recipe; a "comment" string is allowed and ignored.
    QJsonObject overrides;
    bool operator==(const RecipeRule&) const = default;
};

/// Layers kept in floating point: method float, stored as `dtype` (f16 unless the entry says).
/// Written as a plain regex string, or {"match": "...", "dtype": "bf16"}.
struct KeepFloatRule
{
    QString match;
    DType dtype = DType::F16;
    bool operator==(const KeepFloatRule&) const = default;
};

/// The calibration set for methods that need activation statistics (GPTQ, AWQ, SmoothQuant, …).
struct CalibrationSettings
{
    static constexpr int kMinSamples = 32;
    static constexpr int kMaxSamples = 512;
    static constexpr int kMinSeqLen = 16;
    QString text;      ///< UTF-8 text file; relative paths are relative to the recipe file's folder
    int samples = 128; ///< sequences drawn from the text (32–512)
    int seqLen = 512;  ///< tokens per sequence (>= 16)
    std::uint32_t seed = 1234;
    bool operator==(const CalibrationSettings&) const = default;
};

/// A quantization recipe: which QuantSpec every linear layer of a model gets. Stored as versioned
/// JSON (see templateJson() for a complete example):
///
///     { "version": 1, "name": "…", "description": "…", "seed": 1234,
///       "defaults": { "method": "rtn", "bits": 4, "group_size": 128, "symmetric": false },
///       "rules": [ { "match": "self_attn\\.(q|k)_proj$", "method": "gptq", "bits": 4 }, … ],
///       "keep_float": [ "^lm_head$", { "match": "layers\\.0\\.mlp", "dtype": "bf16" } ],
///       "calibration": { "text": "calib.txt", "samples": 128, "seq_len": 512, "seed": 1234 } }
///
/// Resolution, per layer: start from `defaults`; apply EVERY matching rule in order, each one over
/// the spec so far (QuantSpec::fromJson with that spec as base), so rules override field by field
/// and for each field the LAST matching rule that sets it wins; then a matching keep_float entry
/// turns the layer into a float layer (keep_float wins over rules; the last matching entry gives
/// the dtype).
///
/// Validation (fromJson): unknown keys, wrong types, out-of-range values and invalid regexes are
/// errors naming the file and JSON path ("R.json: rules[2].bits: bits 9 is outside rtn's range
/// 2–8"). Each rule must give a valid spec when applied to `defaults` alone; combinations of rules
/// are checked again by resolve(), which names the layer. A newer `version` than kCurrentVersion is
/// an error. Whether a calibration text is present is not a parse error — problemsForRun() says
/// so when the plan uses a method that needs one.
struct Recipe
{
    static constexpr int kCurrentVersion = 1;

    int version = kCurrentVersion;
    QString name;
    QString description;
    QuantSpec defaults; ///< RTN int4 g128 asym unless the recipe says otherwise
    std::vector<RecipeRule> rules;
    std::vector<KeepFloatRule> keepFloat;
    CalibrationSettings calibration;
    std::uint32_t seed = 1234; ///< seeds anything random in quantization besides calibration sampling
    /// Where the recipe was read from (error messages, relative calibration path). Not stored in
    /// the JSON and not compared by operator==.
    QString origin;

    /// Parses and validates; throws Error naming `pathForErrors` and the JSON path.
    static Recipe fromJson(const QByteArray& json, const QString& pathForErrors);
    static Recipe fromFile(const QString& path);
    /// Canonical JSON: reading it back gives an equal recipe.
    QJsonObject toJson() const;
    /// Validates, then writes atomically (AtomicFile); throws Error on failure.
    void saveFile(const QString& path) const;
    /// Throws Error as fromJson would for this recipe's JSON (for recipes built in code).
    void validate() const;

    /// One entry per linear of `model`, in Model::linears() order. matchedRule is the index of the
    /// last matching rule, rules.size() + k for keep_float[k], -1 for defaults (see sourceName()).
    /// `warnings` gets one line per rule / keep_float entry that matches no layer. Throws Error
    /// when a combination of rules gives an invalid spec for a layer.
    LayerPlan resolve(const Model& model, QStringList* warnings = nullptr) const;
    /// "defaults", "rules[2]" or "keep_float[0]" for a LayerPlanEntry::matchedRule.
    QString sourceName(int matchedRule) const;

    /// What stops a quantization run with this recipe (empty: none): a method that needs
    /// calibration in the defaults or any rule while calibration.text is empty, or a calibration
    /// text that does not exist. The plan overload looks only at the methods the plan uses.
    QStringList problemsForRun() const;
    QStringList problemsForRun(const LayerPlan& plan) const;
    /// calibration.text resolved against the recipe file's folder (empty when no text is set).
    QString resolvedCalibrationText() const;

    /// A valid example recipe using several rules (what `quantscope-cli recipe template` prints).
    static QByteArray templateJson();

    bool operator==(const Recipe& o) const;
};

} // namespace qs
