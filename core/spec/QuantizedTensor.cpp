#include "spec/QuantizedTensor.h"

#include "kernels/Convert.h"
#include "kernels/GgmlQuants.h"
#include "util/Error.h"
#include "util/Threads.h"

#include <algorithm>
#include <cmath>

namespace qs {

float roundToStorage(float v, DType type)
{
    switch (type) {
    case DType::F16:
        return ref::f16ToF32(ref::f32ToF16(v));
    case DType::BF16:
        return ref::bf16ToF32(ref::f32ToBf16(v));
    default:
        return v;
    }
}

GroupParams groupParams(const float* w, std::int64_t n, std::int64_t stride, const QuantSpec& spec,
                        float shrink)
{
    float lo = 0, hi = 0; // the grid always contains 0 (as GPTQ's quantizer does)
    for (std::int64_t i = 0; i < n; ++i) {
        lo = std::min(lo, w[i * stride]);
        hi = std::max(hi, w[i * stride]);
    }
    lo *= shrink;
    hi *= shrink;
    const int qmax = spec.qmax();
    GroupParams p;
    if (spec.symmetric) {
        const float amax = std::max(-lo, hi);
        p.scale = amax > 0 ? 2.0f * amax / float(qmax) : 1.0f;
        p.scale = roundToStorage(p.scale, spec.scaleType);
        if (p.scale == 0)
            p.scale = 1;
        p.zero = float((qmax + 1) / 2);
    } else {
        p.scale = hi > lo ? (hi - lo) / float(qmax) : 1.0f;
        p.scale = roundToStorage(p.scale, spec.scaleType);
        if (p.scale == 0)
            p.scale = 1;
        p.zero = spec.floatZeros ? roundToStorage(-lo / p.scale, spec.scaleType)
                                 : std::clamp(std::nearbyint(-lo / p.scale), 0.0f, float(qmax));
    }
    return p;
}

GroupParams searchGroupParams(const float* w, std::int64_t n, std::int64_t stride, const QuantSpec& spec,
                              const float* importance)
{
    GroupParams best = groupParams(w, n, stride, spec);
    if (!spec.clipSearch)
        return best;
    const int qmax = spec.qmax();
    auto error = [&](const GroupParams& p) {
        double e = 0;
        for (std::int64_t i = 0; i < n; ++i) {
            const float x = w[i * stride];
            const double d = double(x) - double(dequantizeValue(quantizeValue(x, p, qmax), p));
            e += (importance ? double(importance[i]) : 1.0) * d * d;
        }
        return e;
    };
    double bestErr = error(best);
    constexpr int kSteps = 20;
    for (int s = 1; s <= kSteps; ++s) {
        const GroupParams p = groupParams(w, n, stride, spec, 1.0f - 0.5f * float(s) / kSteps);
        const double e = error(p);
        if (e < bestErr) {
            bestErr = e;
            best = p;
        }
    }
    return best;
}

int QuantizedTensor::groupOf(std::int64_t col) const
{
    if (!groupIndex.empty())
        return groupIndex[std::size_t(col)];
    return int(col / spec.groupLength(cols));
}

std::int64_t QuantizedTensor::scaleIndex(std::int64_t row, std::int64_t col) const
{
    if (spec.granularity == Granularity::PerTensor)
        return 0;
    return row * spec.groupsPerRow(cols) + groupOf(col);
}

std::vector<std::uint8_t> QuantizedTensor::unpackedCodes() const
{
    return codes.empty() && packed ? unpackIntCodes(*packed) : codes;
}

std::shared_ptr<const PackedIntMatrix> QuantizedTensor::packedCodes() const
{
    if (packed)
        return packed;
    if (spec.method == QuantMethod::Float || spec.method == QuantMethod::Ggml)
        throw Error(QStringLiteral("a %1 tensor has no integer codes to pack").arg(spec.label()));
    // groupLength 0: per-tensor, one scale and zero (packIntMatrix spreads them over the rows).
    const std::int64_t groupLength = spec.granularity == Granularity::PerTensor ? 0 : spec.groupLength(cols);
    return std::make_shared<const PackedIntMatrix>(
        packIntMatrix(spec.bits, rows, cols, groupLength, codes.data(), scales.data(), zeros.data(),
                      groupIndex.empty() ? nullptr : groupIndex.data()));
}

void QuantizedTensor::releaseCodesToPacked()
{
    if (spec.method == QuantMethod::Float || spec.method == QuantMethod::Ggml || codes.empty())
        return;
    packed = packedCodes();
    codes = {};
}

std::vector<float> QuantizedTensor::dequantize() const
{
    if (spec.method == QuantMethod::Float)
        return floatWeights;
    std::vector<float> w(std::size_t(rows * cols));
    if (spec.method == QuantMethod::Ggml) {
        const std::size_t rowBytes = ggmlRowBytes(spec.ggmlType, cols);
        forEachRowRange(rows, cols, [&](std::int64_t first, std::int64_t count) {
            for (std::int64_t r = first; r < first + count; ++r)
                ggmlDequantizeRow(spec.ggmlType, ggmlData.data() + std::size_t(r) * rowBytes,
                                  w.data() + r * cols, cols);
        });
        return w;
    }
    const std::vector<std::uint8_t> unpacked = codes.empty() ? unpackedCodes() : std::vector<std::uint8_t>();
    const std::vector<std::uint8_t>& q = codes.empty() ? unpacked : codes;
    for (std::int64_t r = 0; r < rows; ++r) {
        for (std::int64_t c = 0; c < cols; ++c) {
            const std::int64_t si = scaleIndex(r, c);
            const GroupParams p{scales[std::size_t(si)], zeros[std::size_t(si)]};
            w[std::size_t(r * cols + c)] = dequantizeValue(q[std::size_t(r * cols + c)], p);
        }
    }
    const std::size_t k = outlierColumns.size();
    for (std::size_t j = 0; j < k; ++j) {
        for (std::int64_t r = 0; r < rows; ++r)
            w[std::size_t(r * cols + outlierColumns[j])] = outlierWeights[std::size_t(r) * k + j];
    }
    return w;
}

std::vector<float> QuantizedTensor::effectiveWeight() const
{
    std::vector<float> w = dequantize();
    if (!inputScales.empty()) {
        for (std::int64_t r = 0; r < rows; ++r) {
            for (std::int64_t c = 0; c < cols; ++c)
                w[std::size_t(r * cols + c)] /= inputScales[std::size_t(c)];
        }
    }
    return w;
}

} // namespace qs
