#pragma once

#include "spec/QuantizedTensor.h"

#include <cstdint>
#include <vector>

namespace qs {

/// The integer grid of one quantized weight [rows, cols] as training sees it: per group a scale s and a
/// zero z, an optional learned rounding offset v per weight (SignRound), and the fake-quantized weight
///   ŵ = s · (clamp(round(w/s + v) + round(z), 0, qmax) − round(z))   (integer zeros, GPTQ's convention)
///   ŵ = s · (clamp(round(w/s + v + z), 0, qmax) − z)                  (real-valued zeros, HQQ's)
/// which is exactly what QuantizedTensor::dequantize() gives for the codes quantizeValue() picks. The
/// gradients pass straight through each round (its derivative taken as 1: the straight-through
/// estimator) and stop where the clamp cuts (LSQ's rule), so with u = w/s + v + z − z_q:
///   inside the grid:  ∂ŵ/∂w = 1, ∂ŵ/∂s = (q − z_q) − w/s, ∂ŵ/∂z = 0,  ∂ŵ/∂v = s
///   clamped to c:     ∂ŵ/∂w = 0, ∂ŵ/∂s = c − z_q,         ∂ŵ/∂z = −s, ∂ŵ/∂v = 0
/// where z_q is round(z) or z. Symmetric grids keep their midpoint zero fixed.
struct FakeQuantGrid
{
    int bits = 4;
    bool symmetric = false;
    bool integerZeros = true;
    std::int64_t rows = 0, cols = 0;
    /// Scales per row (1 per channel; the group count per group; 0 for one scale for the whole tensor).
    std::int64_t groupsPerRow = 1;
    std::vector<std::int32_t> groupOfColumn; ///< [cols]

    /// The grid of a quantized tensor with integer codes (QuantSpec::hasIntegerGrid): its spec, shape
    /// and group map. Throws qs::Error naming `what` for the formats training cannot run (tables,
    /// lattices, rotations, outlier columns, ggml blocks).
    static FakeQuantGrid of(const QuantizedTensor& t, const QString& what);
    /// A grid for a float weight quantized with `spec` from scratch (RTN's groups).
    static FakeQuantGrid forSpec(const QuantSpec& spec, std::int64_t rows, std::int64_t cols);

    int qmax() const { return (1 << bits) - 1; }
    bool perTensor() const { return groupsPerRow == 0; }
    /// Number of scales (and zeros).
    std::int64_t scaleCount() const { return perTensor() ? 1 : rows * groupsPerRow; }
    std::int64_t scaleIndex(std::int64_t row, std::int64_t col) const
    {
        return perTensor() ? 0 : row * groupsPerRow + groupOfColumn[std::size_t(col)];
    }
};

/// ŵ [rows, cols] from latent weights w, scales s, zeros z and rounding offsets v (null: none).
/// Rows are independent; spread over the compute threads.
void fakeQuantForward(const FakeQuantGrid& grid, const float* w, const float* s, const float* z,
                      const float* v, float* wq);

/// Adds the straight-through gradients of ŵ (see FakeQuantGrid) for the incoming dL/dŵ `dwq` to
/// dw, ds, dz and dv (each may be null: not wanted). Deterministic for any thread count (each row's
/// sums run in column order; a per-tensor scale sums its rows in order).
void fakeQuantBackward(const FakeQuantGrid& grid, const float* w, const float* s, const float* z,
                       const float* v, const float* dwq, float* dw, float* ds, float* dz, float* dv);

/// The integer codes of fakeQuantForward ([rows, cols], one per byte), for saving a trained layer.
std::vector<std::uint8_t> fakeQuantCodes(const FakeQuantGrid& grid, const float* w, const float* s,
                                         const float* z, const float* v);

} // namespace qs
