#include "model/QuantizedLinear.h"

#include "kernels/Convert.h"
#include "kernels/GgmlQuants.h"
#include "model/PackedLinear.h"
#include "util/Error.h"
#include "util/Threads.h"

#include <algorithm>
#include <cmath>
#include <optional>

namespace qs {

namespace {

/// One row rounded to `qmax` levels of its absolute maximum (columns flagged in `skip` untouched).
void fakeQuantizeRow(float* row, std::int64_t cols, float qmax, const char* skip)
{
    float amax = 0;
    for (std::int64_t c = 0; c < cols; ++c) {
        if (!skip || !skip[c])
            amax = std::max(amax, std::fabs(row[c]));
    }
    if (amax == 0)
        return;
    const float scale = amax / qmax, inv = 1.0f / scale;
    for (std::int64_t c = 0; c < cols; ++c) {
        if (!skip || !skip[c])
            row[c] = std::nearbyint(row[c] * inv) * scale;
    }
}

} // namespace

void fakeQuantizeActivations(float* x, std::int64_t n, std::int64_t cols, int bits, const char* skip)
{
    const float qmax = float((1 << (bits - 1)) - 1);
    forEachRowRange(n, cols, [&](std::int64_t first, std::int64_t count) {
        for (std::int64_t t = first; t < first + count; ++t)
            fakeQuantizeRow(x + t * cols, cols, qmax, skip);
    });
}

QuantizedLinear::QuantizedLinear(std::shared_ptr<const QuantizedTensor> tensor, std::vector<float> bias)
    : m_tensor(std::move(tensor))
{
    if (!bias.empty() && std::int64_t(bias.size()) != m_tensor->rows)
        throw Error(QStringLiteral("QuantizedLinear: bias has %1 entries, expected %2")
                        .arg(bias.size())
                        .arg(m_tensor->rows));
    m_inner = makePackedLayer(m_tensor, std::move(bias));
}

std::uint64_t QuantizedLinear::residentBytes() const
{
    // The parts the running layer reads in place are counted once, by it.
    const QuantizedTensor& q = *m_tensor;
    std::uint64_t shared = q.packed ? q.packed->bytes() : 0;
    if (q.spec.method == QuantMethod::Ggml)
        shared += q.ggmlData.capacity();
    if (q.spec.method == QuantMethod::Float && q.spec.floatType == DType::F32)
        shared += q.floatWeights.capacity() * sizeof(float);
    if (q.spec.decodesCodes())
        shared += CodebookLinear::codebookBytes(q);
    return m_inner->residentBytes() + (q.ownedBytes() - std::min(shared, q.ownedBytes()));
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
    // bf16 × bf16 products are exact: a BF16 layer may sum them with vdpbf16ps, as llama.cpp does (the kernel
    // rounds the inputs itself).
    if (*rowType == GgmlType::BF16 && m_inner->forwardBf16Inputs(x, n, y))
        return;
    std::vector<float> rounded(x, x + n * cols);
    if (*rowType == GgmlType::F16) {
        roundToF16(rounded.data(), rounded.size());
    } else if (*rowType == GgmlType::BF16) {
        roundToBf16(rounded.data(), rounded.size());
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
