#pragma once

#include "results/PlotData.h"
#include "spec/QuantSpec.h"

#include <QString>
#include <cstdint>
#include <vector>

/// The teaching playground's numbers: one row of values (a real weight row or a synthetic
/// distribution) quantized with one spec through the real quantizers, and everything a lesson
/// shows about it. Pure functions, no widgets; the GUI page only adapts them.
namespace qs {

class Model;

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
/// leave activations alone (RTN today; a new such row of the table appears here by itself), each
/// also with the clipping search where the method supports it.
std::vector<PlaygroundMethod> playgroundMethods();

/// A method the playground cannot show, and why (QT_TRANSLATE_NOOP("Playground", …) text).
struct UnavailableMethod
{
    QString displayName;
    const char* reason = "";
};
std::vector<UnavailableMethod> unavailablePlaygroundMethods();

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
    QString note; ///< gguf: llama.cpp's fallback when the type's block does not fit the row
    std::int64_t groups() const { return groupCount; }
    /// The group a value belongs to.
    std::int64_t groupOf(std::int64_t index) const { return groupLength ? index / groupLength : 0; }
};

/// Quantizes `values` as a [1, n] weight with `spec` through quantizeWeight (the same call every
/// method goes through), keeps the grid of group `shownGroup` (clamped into range) and bins the
/// errors in `errorBins` bins. Throws qs::Error for an invalid spec, a method that needs
/// calibration, an empty row or non-finite values.
PlaygroundResult quantizeRow(const std::vector<float>& values, const QuantSpec& spec,
                             std::int64_t shownGroup = 0, int errorBins = 60);

} // namespace qs
