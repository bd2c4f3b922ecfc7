#pragma once

#include "eval/Calibration.h"
#include "quant/Gptq.h"
#include "recipe/Recipe.h"
#include "results/PlotData.h"
#include "spec/QuantSpec.h"
#include "train/LearnedRounding.h"

#include <QString>
#include <array>
#include <cstdint>
#include <memory>
#include <vector>

/// The teaching playground's numbers: one row of values (a real weight row or a synthetic
/// distribution) quantized with one spec through the real quantizers, and everything a lesson
/// shows about it. Pure functions, no widgets; the GUI page only adapts them.
namespace qs {

class Model;
class Tokenizer;

/// The group sizes the playground offers (smaller than a run's: a lesson shows a group of 8).
inline constexpr std::array<int, 6> kPlaygroundGroupSizes{8, 16, 32, 64, 128, 256};

enum class SyntheticDistribution { Gaussian, Laplace, Uniform };

/// A synthetic row: `count` values with standard deviation `sigma`, plus `outliers` values at
/// ±`outlierMagnitude`·sigma placed at distinct random positions (signs random). Deterministic
/// for a seed on every platform (its own generator and transforms, not <random>'s distributions).
struct SyntheticRowSpec
{
    SyntheticDistribution distribution = SyntheticDistribution::Gaussian;
    std::int64_t count = 256;
    double sigma = 1.0;
    std::uint64_t seed = 1;
    std::int64_t outliers = 0;
    double outlierMagnitude = 10.0;
};
inline constexpr std::int64_t kMaxPlaygroundValues = 1 << 16;

/// Throws qs::Error when count is outside [1, kMaxPlaygroundValues], sigma is not positive,
/// or there are more outliers than values.
std::vector<float> syntheticRow(const SyntheticRowSpec& spec);

/// Row `row` of linear layer `layer`'s weight, read through Model::tensors() (one row only).
/// Throws qs::Error naming the layer for an unknown layer, a row out of range or a layer that
/// the checkpoint stores quantized.
std::vector<float> modelRow(const Model& model, const QString& layer, std::int64_t row);

/// A way to quantize one row: a method of kQuantMethods plus the RTN clipping search flag.
struct PlaygroundMethod
{
    QuantMethod method = QuantMethod::Rtn;
    bool clipSearch = false;
    QString name;        ///< "rtn", "rtn+clip"
    QString displayName; ///< the method's (kQuantMethods); front ends name the clipping search
};
/// The methods that apply to a single row: those of kQuantMethods that need no calibration and
/// leave activations alone (a new such row of the table appears here by itself), each also with the
/// clipping search where the method supports it; then the calibrated methods whose own structure (a
/// codebook, a lattice, a rotation) shows on one row even when the inputs are taken as isotropic
/// (SqueezeLLM, QuIP#, AQLM; see quantizeRow). GPTQ and AWQ are not among them: with isotropic inputs
/// both are RTN, so GPTQ has its own demonstration on a real row with the layer's statistics.
std::vector<PlaygroundMethod> playgroundMethods();

/// What the controls of one side of the playground set; playgroundSpec turns them into a spec.
struct PlaygroundSettings
{
    int bits = 4;
    int groupSize = 32; ///< 0: per channel (the whole row)
    bool symmetric = false;
    bool rotate = false;         ///< incoherence processing (Hadamard), where the method takes it
    int codebookBits = 4;        ///< AQLM: bits of one codebook's index (playgroundCodebookBits)
    double sparsePercent = 0.45; ///< SqueezeLLM: the share of the row kept exact
};
/// Which controls mean something for a method (the others are disabled).
struct PlaygroundControls
{
    bool groups = true;          ///< group size and symmetry
    bool rotation = false;       ///< the rotation can be switched on
    bool rotationAlways = false; ///< the method always rotates (QuIP#)
    bool codebookBits = false;   ///< AQLM's codebook size
    bool sparse = false;         ///< SqueezeLLM's exact share
    bool bitsFixTheType = false; ///< gguf: the bits pick a llama.cpp type
};
PlaygroundControls playgroundControls(const PlaygroundMethod& method);
/// The spec of `method` under `settings`: gguf's type from the bits, QuIP# and AQLM with what they fix
/// (one symmetric scale per row; QuIP# rotated), HQQ with real-valued zeros as in a run, the AQLM
/// codebook size clamped into the bits' choices. The caller validates (quantizeRow does).
QuantSpec playgroundSpec(const PlaygroundMethod& method, const PlaygroundSettings& settings);
/// AQLM's codebook sizes the playground offers at `bits` bits: even B of 4 to 8 whose books fill the
/// group's 8·bits bits (larger books have more entries than a row has vectors).
std::vector<int> playgroundCodebookBits(int bits);
/// The longest row a method that needs the inputs' Hessian (QuIP#, AQLM) takes in the playground: the
/// assumed XᵀX is n × n doubles (128 MiB at this length).
inline constexpr std::int64_t kMaxPlaygroundHessianValues = 4096;

/// A method the playground cannot show, and why (QT_TRANSLATE_NOOP("Playground", …) text).
struct UnavailableMethod
{
    QString displayName;
    const char* reason = "";
};
std::vector<UnavailableMethod> unavailablePlaygroundMethods();

/// Where a calibrated method's input statistics came from.
enum class PlaygroundInputs { None, Isotropic, Layer };

/// Pairs of weights in the space a method quantizes in (after its rotation), and the points such a pair
/// can be reconstructed to: for a scalar method the product of the shown group's levels with itself, for
/// a vector codebook (QuIP#'s E8P lattice, AQLM's sums of codebook entries) the projections of its points
/// on coordinates 0 and 1 of a vector of 8, with the pairs (0, 1) of every vector of the row.
struct PlaygroundPairs
{
    std::vector<double> pointX, pointY;                 ///< reachable (distinct) points
    std::vector<double> weightX, weightY;               ///< the pairs of the row
    std::vector<double> reconstructedX, reconstructedY; ///< their reconstructions
    std::int64_t shownPair = -1; ///< index of the shown group's pair (vector methods), -1: none
    std::uint64_t reachable = 0; ///< how many points there are (more than drawn when sampled)
    bool sampled = false;        ///< the points are a deterministic sample of the sums
    QString what; ///< "levels of group 3 × themselves", "E8P lattice, coordinates 0 and 1", …
};

/// Everything the playground shows for one row and one spec.
struct PlaygroundResult
{
    QuantSpec spec;
    std::vector<float> original;
    std::vector<float> reconstructed;
    std::vector<float> errors; ///< original − reconstructed
    std::vector<std::uint8_t> codes;
    std::vector<float> scales; ///< one per group
    std::vector<float> zeros;  ///< one per group
    std::int64_t groupLength = 0;
    /// The levels of group `shownGroup`, from the quantizer's own scale/zero; for gguf (whose
    /// sub-blocks carry quantized scales and minimums) the distinct values the group reconstructs to.
    QuantGrid grid;
    std::int64_t shownGroup = 0;
    Histogram errorHistogram;
    double mse = 0;
    double snrDb = 0; ///< 10·log10(Σx² / Σe²); +inf when the reconstruction is exact
    double maxAbsError = 0;
    std::uint64_t bytes = 0; ///< QuantSpec::cost(1, n).total()
    double bitsPerWeight = 0;

    std::int64_t groupCount = 0;
    QString note; ///< gguf: llama.cpp's fallback when the type's block does not fit the row; a codebook
                  ///< method: that its codebooks are the layer's and dominate one row's storage

    /// A calibrated method's statistics: isotropic (XᵀX = I, every Σx² equal: the method minimises the
    /// weight error itself) unless the layer's were given.
    PlaygroundInputs inputs = PlaygroundInputs::None;
    std::int64_t inputTokens = 0; ///< the layer's statistics: calibration tokens
    /// Incoherence processing: the row as the method sees it (V·w) and its reconstruction there.
    std::vector<float> rotated, rotatedReconstructed;
    double kurtosis = 0, rotatedKurtosis = 0; ///< excess kurtosis (0 for Gaussian values)
    /// SqueezeLLM: the row's codebook (ascending) and the columns kept exact in the sparse matrix.
    std::vector<float> codebook;
    std::vector<std::int64_t> exactColumns;
    PlaygroundPairs pairs;
    bool vectorCodes() const { return spec.usesLattice() || spec.usesAdditive(); }
    std::int64_t groups() const { return groupCount; }
    /// The group a value belongs to.
    std::int64_t groupOf(std::int64_t index) const { return groupLength ? index / groupLength : 0; }
};

/// Quantizes `values` as a [1, n] weight with `spec` through quantizeWeight (the same call every
/// method goes through), keeps the grid of group `shownGroup` (clamped into range) and bins the
/// errors in `errorBins` bins. A method that needs calibration gets `stats` (the layer's, matching
/// the row) or, for those playgroundMethods() offers, isotropic inputs. SqueezeLLM's groups are the
/// row (one codebook), QuIP#'s and AQLM's the vectors of 8. Throws qs::Error for an invalid spec, a
/// calibrated method without statistics that isotropic inputs would reduce to RTN (GPTQ, AWQ), statistics
/// of another length, a Hessian method on a row longer than kMaxPlaygroundHessianValues, an empty row
/// or non-finite values; cancellable through `job` (the quantizer checks it as it goes).
PlaygroundResult quantizeRow(const std::vector<float>& values, const QuantSpec& spec,
                             std::int64_t shownGroup = 0, int errorBins = 60,
                             const LinearInputStats* stats = nullptr, const JobContext& job = {});

/// Excess kurtosis E[(x − μ)⁴]/σ⁴ − 3 of the values (0 for a Gaussian, 3 for a Laplace, −1.2 for a
/// uniform distribution; 0 for fewer than two distinct values).
double excessKurtosis(const std::vector<float>& values);

/// The levels of group `group` (clamped into range) of a result, over that group's columns only:
/// from the group's scale and zero, or for gguf the distinct values the group reconstructs to.
QuantGrid groupGrid(const PlaygroundResult& result, std::int64_t group);

/// The quantization of one weight, number by number, in the quantizer's own arithmetic
/// (quantizeValue/dequantizeValue): code = clamp(round(w/s) + z, 0, qmax) for an integer zero,
/// clamp(round(w/s + z), 0, qmax) for a real-valued one; dequantized = (code − z)·s.
struct WeightStep
{
    std::int64_t index = 0;
    std::int64_t group = 0, groupBegin = 0, groupEnd = 0; ///< the group and its columns [begin, end)
    bool hasScale = false; ///< false for gguf blocks (quantized sub-block scales): only the outcome
    bool floatZero = false;
    int qmax = 0;
    float value = 0;
    float scale = 1, zero = 0;
    float divided = 0; ///< w / s
    float shifted = 0; ///< integer zero: round(w/s) + z; real zero: w/s + z (rounded next)
    float rounded = 0; ///< before the clamp
    std::uint8_t code = 0;
    bool clamped = false; ///< the rounded value was outside [0, qmax]
    float dequantized = 0;
    float error = 0; ///< value − dequantized
    /// SqueezeLLM: the weight is kept exact in the sparse matrix (codebook value + stored difference).
    bool exact = false;
    /// The method rotates its inputs: value, dequantized and error are those of V·w, the row it quantizes.
    bool rotated = false;
    /// A table method's code of the weight or its vector ("entry 5 of the row's 16", "E8P code 41235 …",
    /// "codes 17, 203 of 2 books of 256"); empty for the scalar methods.
    QString codeText;
};
/// Throws qs::Error for an index outside the row.
WeightStep weightStep(const PlaygroundResult& result, std::int64_t index);

/// The input statistics (with XᵀX) of linear layer `layerIndex` of the float model, from the
/// calibration windows of `cal` (calibrationWindows: BOS + text tokens) run through the whole
/// model. Throws qs::Error naming the text or the layer; cancellable through `job`.
LinearInputStats layerInputStatistics(std::shared_ptr<const Model> model, const Tokenizer& tokenizer,
                                      int layerIndex, const CalibrationSettings& cal,
                                      const JobContext& job = {});

/// GPTQ on one row, column by column, from the project's GPTQ itself (gptqQuantize with a row
/// trace: the codes are GPTQ's), with RTN of the same spec beside it and the output error
/// ‖(w − ŵ)·X‖²/tokens of each as the columns are quantized.
struct GptqDemo
{
    QuantSpec spec;                      ///< the GPTQ spec
    std::vector<float> original;         ///< the row, in column order
    GptqRowTrace trace;                  ///< order, steps, U, λ
    std::vector<std::uint8_t> codes;     ///< GPTQ's final codes, column order
    std::vector<float> reconstructed;    ///< GPTQ's dequantized row
    std::vector<float> rtnReconstructed; ///< RTN of the same bits and groups
    Eigen::MatrixXd xtx;                 ///< Σ xᵀx of the layer's inputs
    std::int64_t tokens = 0;
    std::vector<std::int64_t> curveSteps;    ///< columns quantized, for the curves (0 … cols)
    std::vector<double> gptqCurve, rtnCurve; ///< output error after curveSteps[k] columns
    /// SignRound on the same row and output error: RTN's scales and zeros, each weight's rounding learned
    /// (train/LearnedRounding.h), for comparison with GPTQ's error feedback and with nearest rounding.
    LearnedRounding learned;

    std::int64_t columns() const { return std::int64_t(original.size()); }
    /// The row after `steps` columns (in quantization order) are quantized, in column order: those
    /// at their dequantized values, the rest as GPTQ's error feedback has updated them (each update
    /// applied at once; GPTQ applies those beyond its block of columns lazily, to the same effect).
    std::vector<double> weightsAfter(std::int64_t steps) const;
    /// RTN's row after `steps` columns in the same order: those rounded, the rest untouched.
    std::vector<double> rtnWeightsAfter(std::int64_t steps) const;
    /// ‖(original − w)·X‖² / tokens: the mean squared error of this row's output per token.
    double outputError(const std::vector<double>& w) const;
};
/// Throws qs::Error when the statistics do not match the row or the spec is not GPTQ.
GptqDemo gptqDemo(const std::vector<float>& row, const LinearInputStats& stats, const QuantSpec& spec,
                  const JobContext& job = {});

/// The demonstration's final row as a playground result (GPTQ's codes and reconstruction, its
/// numbers), to compare with another method on the same row.
PlaygroundResult gptqDemoResult(const GptqDemo& demo, std::int64_t shownGroup = 0, int errorBins = 60);

} // namespace qs
