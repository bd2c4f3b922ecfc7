#pragma once

#include "jobs/Job.h"
#include "spec/QuantizedTensor.h"

#include <QString>
#include <functional>
#include <memory>
#include <vector>

namespace qs {

struct LinearInputStats;

/// Everything a quantizer may use for one layer.
struct QuantizeRequest
{
    QString layerName;
    const float* weight = nullptr; ///< [rows = out, cols = in] row-major f32
    /// Owns `weight` when the request made an f32 working copy of a layer (floatLayerRequest).
    std::shared_ptr<const std::vector<float>> weightCopy;
    std::int64_t rows = 0, cols = 0;
    const LinearInputStats* stats = nullptr; ///< calibration statistics (required by some methods)
    QuantSpec spec;
};

/// The one quantizer interface: a method turns a float weight (plus calibration statistics)
/// into a QuantizedTensor. Stateless, thread-free at the call level (OpenMP inside), cancellable.
class Quantizer
{
public:
    virtual ~Quantizer() = default;
    virtual QuantizedTensor quantize(const QuantizeRequest& request, const JobContext& job) const = 0;
};

/// The quantizer registered for a method (one per row of kQuantMethods).
const Quantizer& quantizerFor(QuantMethod method);

/// Convenience: validates the spec and the presence of statistics, then quantizes.
QuantizedTensor quantizeWeight(const QuantizeRequest& request, const JobContext& job = {});

/// Each group's scale and zero, from its n values at `values` (first column `firstCol`; per-tensor: the
/// whole matrix, firstCol 0).
using GroupParamsFn = std::function<GroupParams(const float* values, std::int64_t n, std::int64_t firstCol)>;

/// Round-to-nearest of a whole matrix by the spec's granularity, each group's scale and zero chosen by
/// `params` (RTN's min–max or clipping search, HQQ's optimised zero). Rows in parallel; `workPerValue`
/// scales the work estimate that decides it; with `job`, a cancel stops at the next row (then
/// qs::Cancelled).
QuantizedTensor quantizeGroups(const float* w, std::int64_t rows, std::int64_t cols, const QuantSpec& spec,
                               const GroupParamsFn& params, int workPerValue = 1,
                               const JobContext* job = nullptr);

/// Round-to-nearest of a whole matrix by the spec's granularity (with the optional clipping
/// search, weighted per input column by `columnImportance` when given). Shared by RTN, AWQ,
/// SmoothQuant, LLM.int8 and dynamic quantization.
QuantizedTensor rtnQuantize(const float* w, std::int64_t rows, std::int64_t cols, const QuantSpec& spec,
                            const float* columnImportance = nullptr);

} // namespace qs
