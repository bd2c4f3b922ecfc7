#include "model/QuantizedLinear.h"

#include "kernels/Convert.h"
#include "kernels/GgmlQuants.h"
#include "util/Error.h"
#include "util/Threads.h"

#include <algorithm>
#include <cmath>
#include <optional>

namespace qs {

void fakeQuantizeActivations(float* x, std::int64_t n, std::int64_t cols, int bits, const char* skip)
{
    const float qmax = float((1 << (bits - 1)) - 1);
#pragma omp parallel for schedule(static) if (n * cols >= 65536)
    for (std::int64_t t = 0; t < n; ++t) {
        float* row = x + t * cols;
        float amax = 0;
        for (std::int64_t c = 0; c < cols; ++c) {
            if (!skip || !skip[c])
                amax = std::max(amax, std::fabs(row[c]));
        }
        if (amax == 0)
            continue;
        const float scale = amax / qmax, inv = 1.0f / scale;
        for (std::int64_t c = 0; c < cols; ++c) {
            if (!skip || !skip[c])
                row[c] = std::nearbyint(row[c] * inv) * scale;
        }
    }
}

QuantizedLinear::QuantizedLinear(std::shared_ptr<const QuantizedTensor> tensor, std::vector<float> bias)
    : m_tensor(std::move(tensor)), m_bias(std::move(bias))
{
    if (!m_bias.empty() && std::int64_t(m_bias.size()) != m_tensor->rows)
        throw Error(QStringLiteral("QuantizedLinear: bias has %1 entries, expected %2")
                        .arg(m_bias.size())
                        .arg(m_tensor->rows));
    m_weight = m_tensor->dequantize();
    for (float s : m_tensor->inputScales)
        m_invScales.push_back(1.0f / s);
    if (quantMethodInfo(m_tensor->spec.method).quantizesActivations)
        m_activationBits = m_tensor->spec.activationBits;
    if (!m_tensor->outlierColumns.empty()) {
        m_isOutlier.assign(std::size_t(m_tensor->cols), 0);
        for (std::int32_t c : m_tensor->outlierColumns)
            m_isOutlier[std::size_t(c)] = 1;
    }
}

void QuantizedLinear::forward(const float* x, std::int64_t n, float* y) const
{
    const std::int64_t cols = m_tensor->cols;
    const float* input = x;
    std::vector<float> tmp;
    if (!m_invScales.empty() || m_activationBits > 0) {
        tmp.assign(x, x + n * cols);
        if (!m_invScales.empty()) {
            for (std::int64_t t = 0; t < n; ++t)
                for (std::int64_t c = 0; c < cols; ++c)
                    tmp[std::size_t(t * cols + c)] *= m_invScales[std::size_t(c)];
        }
        if (m_activationBits > 0)
            fakeQuantizeActivations(tmp.data(), n, cols, m_activationBits,
                                    m_isOutlier.empty() ? nullptr : m_isOutlier.data());
        input = tmp.data();
    }
    gemmXWt(input, n, cols, m_weight.data(), m_tensor->rows, y, m_bias.empty() ? nullptr : m_bias.data());
}

GgmlVecDotLinear::GgmlVecDotLinear(std::shared_ptr<const LinearLayer> inner, GgmlType weightType)
    : m_inner(std::move(inner)), m_weightType(weightType)
{}

void GgmlVecDotLinear::forward(const float* x, std::int64_t n, float* y) const
{
    const std::int64_t cols = inFeatures();
    // The type ggml quantizes the input rows to. Q8_1 (for Q4_1/Q5_1) holds the same values as
    // Q8_0 plus a sum we do not need; f32 rows are used as they are.
    std::optional<GgmlType> rowType = ggmlTypeInfo(m_weightType).vecDotType;
    if (rowType == GgmlType::Q8_1)
        rowType = GgmlType::Q8_0;
    if (rowType == GgmlType::F32)
        rowType = std::nullopt;
    if (!rowType || cols % ggmlTypeInfo(*rowType).blockSize != 0) {
        m_inner->forward(x, n, y);
        return;
    }
    std::vector<float> rounded(x, x + n * cols);
    if (*rowType == GgmlType::F16 || *rowType == GgmlType::BF16) {
        for (float& v : rounded)
            v = *rowType == GgmlType::F16 ? ref::f16ToF32(ref::f32ToF16(v))
                                          : ref::bf16ToF32(ref::f32ToBf16(v));
    } else {
        std::vector<std::uint8_t> blocks(std::size_t(n) * ggmlRowBytes(*rowType, cols));
        forEachRowRange(n, cols, [&](std::int64_t first, std::int64_t count) {
            ggmlQuantizeChunk(*rowType, x, blocks.data(), first, count, cols);
        });
        ggmlDequantizeRow(*rowType, blocks.data(), rounded.data(), n * cols);
    }
    m_inner->forward(rounded.data(), n, y);
}

} // namespace qs
