#include "model/PackedLinear.h"

#include "kernels/AdditiveCodes.h"
#include "kernels/Convert.h"
#include "kernels/E8Lattice.h"
#include "kernels/FloatMatMul.h"
#include "kernels/GgmlMatMul.h"
#include "kernels/GgmlQuants.h"
#include "kernels/TokenCount.h"
#include "model/QuantizedLinear.h"
#include "util/Error.h"
#include "util/Threads.h"

#include <algorithm>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#endif

namespace qs {

namespace {

/// Rows per tile when a layer's product is spread over threads: small enough that a 2048-row
/// decode step still gives every thread work, large enough that a tile streams whole pages.
constexpr std::int64_t kPackedRowTile = 64;

/// Rows per tile of an interleaved layer: each call prepares its activations' block sums once for
/// all its rows and (decode) restarts the rows' stream from memory, so tiles are long while every
/// thread still gets a few to balance. Prefill: up to 256 rows, two tiles a thread. Decode: up to
/// 512 rows, four tiles a thread (measured at 1 thread on a 1B-shaped Q4_K_M file: 90–100 tok/s
/// with 64-row tiles, 98–112 with 256 or 512). Results do not depend on the tiles.
std::int64_t interleavedTile(std::int64_t rows, bool decode)
{
    const std::int64_t perThread = rows / ((decode ? 4 : 2) * std::int64_t(computeThreads()));
    return std::clamp(perThread / kPackedRowTile * kPackedRowTile, kPackedRowTile,
                      (decode ? 8 : 4) * kPackedRowTile);
}

double macs(std::int64_t n, std::int64_t in, std::int64_t out)
{
    return double(n) * double(in) * double(out);
}

} // namespace

GgmlLinear::GgmlLinear(std::int64_t in, std::int64_t out, GgmlType type, const void* rows,
                       std::shared_ptr<const void> keepAlive, std::vector<float> bias,
                       std::uint64_t storageBytes, QString label, bool mapped, bool interleaved)
    : m_in(in), m_out(out), m_type(type), m_rows(static_cast<const std::uint8_t*>(rows)),
      m_keepAlive(std::move(keepAlive)), m_bias(std::move(bias)), m_storageBytes(storageBytes),
      m_label(std::move(label)), m_mapped(mapped), m_interleaved(interleaved),
      m_integerKernel(ggmlHasMatMul(type))
{
    if (interleaved && !ggmlHasInterleavedMatMul(type))
        throw Error(QStringLiteral("GgmlLinear: %1 has no interleaved layout").arg(ggmlTypeName(type)));
    if (!ggmlTypeInfo(type).canDequantize)
        throw Error(QStringLiteral("%1 weights cannot be run").arg(ggmlTypeName(type)));
    if (!m_bias.empty() && std::int64_t(m_bias.size()) != out)
        throw Error(
            QStringLiteral("GgmlLinear: bias has %1 entries, expected %2").arg(m_bias.size()).arg(out));
    ggmlRowBytes(type, in); // throws when the rows do not hold whole blocks
}

std::uint64_t GgmlLinear::residentBytes() const
{
    return std::uint64_t(m_out) * ggmlRowBytes(m_type, m_in) + 4 * m_bias.size();
}

QString GgmlLinear::kernelName() const
{
    const QString w = ggmlTypeName(m_type);
    QString k = m_integerKernel ? QString(w + QStringLiteral("·") + ggmlTypeName(ggmlActivationType(m_type)))
                                : QString(w + QStringLiteral(" dequantized per tile (no integer kernel)"));
    if (m_interleaved)
        k += QStringLiteral(" (interleaved)");
    return m_mapped ? k + QStringLiteral(" (mapped)") : k;
}

void GgmlLinear::forward(const float* x, std::int64_t n, float* y) const
{
    if (!m_integerKernel) {
        forwardDequantized(x, n, y);
    } else {
        const std::size_t actBytes = ggmlActivationRowBytes(m_type, m_in);
        std::vector<std::uint8_t> xq(std::size_t(n) * actBytes);
        forEachRowRange(n, m_in, [&](std::int64_t first, std::int64_t count) {
            ggmlQuantizeActivations(m_type, x, first, first + count, m_in, xq.data());
        });
        const std::int64_t tile = m_interleaved ? interleavedTile(m_out, n == 1) : kPackedRowTile;
        runRowTiles(m_out, tile, macs(n, m_in, m_out), [&](std::int64_t r0, std::int64_t r1) {
            if (m_interleaved)
                ggmlMatMulInterleaved(m_type, m_rows, m_out, m_in, r0, r1, xq.data(), n, y, m_out);
            else
                ggmlMatMul(m_type, m_rows, m_in, r0, r1, xq.data(), n, y, m_out);
        });
    }
    addBias(y, n, m_out, m_bias);
}

void GgmlLinear::forwardDequantized(const float* x, std::int64_t n, float* y) const
{
    const std::size_t rowBytes = ggmlRowBytes(m_type, m_in);
    runRowTiles(m_out, kPackedRowTile, macs(n, m_in, m_out), [&](std::int64_t r0, std::int64_t r1) {
        std::vector<float> tile(std::size_t((r1 - r0) * m_in));
        for (std::int64_t r = r0; r < r1; ++r)
            ggmlDequantizeRow(m_type, m_rows + std::size_t(r) * rowBytes, tile.data() + (r - r0) * m_in,
                              m_in);
        floatMatMul(DType::F32, tile.data(), m_in, 0, r1 - r0, x, n, y + r0, m_out);
    });
}

PackedCodesLinear::PackedCodesLinear(const QuantizedTensor& q, std::vector<float> bias)
    : m_bias(std::move(bias)), m_storageBytes(q.storageBytes()), m_label(q.spec.label())
{
    if (!m_bias.empty() && std::int64_t(m_bias.size()) != q.rows)
        throw Error(QStringLiteral("%1 layer: bias has %2 entries, expected %3")
                        .arg(m_label)
                        .arg(m_bias.size())
                        .arg(q.rows));
    m_packed = q.packedCodes();
}

PackedIntLinear::PackedIntLinear(const QuantizedTensor& q, std::vector<float> bias)
    : PackedCodesLinear(q, std::move(bias))
{
    const QuantSpec& s = q.spec;
    for (float v : q.inputScales)
        m_invScales.push_back(1.0f / v);
    if (quantMethodInfo(s.method).quantizesActivations)
        m_activationBits = s.activationBits;
    m_outlierColumns = q.outlierColumns;
    m_outlierWeights = q.outlierWeights;
    if (!m_outlierColumns.empty()) {
        m_isOutlier.assign(std::size_t(q.cols), 0);
        for (std::int32_t c : m_outlierColumns)
            m_isOutlier[std::size_t(c)] = 1;
    }
}

std::uint64_t PackedIntLinear::residentBytes() const
{
    return codesAndBiasBytes() + 4 * (m_invScales.size() + m_outlierWeights.size()) + m_isOutlier.size() +
           4 * m_outlierColumns.size();
}

QString PackedIntLinear::kernelName() const
{
    QString k = QStringLiteral("int%1").arg(m_packed->bits);
    k += m_packed->groupLength < m_packed->cols ? QStringLiteral(" g%1").arg(m_packed->groupLength)
                                                : QStringLiteral(" per-channel");
    if (!m_packed->columnOrder.empty())
        k += QStringLiteral(" act-order");
    if (m_activationBits == 8)
        k += QStringLiteral(" × int8 activations");
    else if (m_activationBits > 0)
        k += QStringLiteral(" × int%1 activations (rounded, float product)").arg(m_activationBits);
    if (!m_outlierColumns.empty())
        k += QStringLiteral(" + %1 f16 outlier columns").arg(m_outlierColumns.size());
    return k;
}

void PackedIntLinear::forward(const float* x, std::int64_t n, float* y) const
{
    const std::int64_t cols = m_packed->cols, rows = m_packed->rows;
    const char* skip = m_isOutlier.empty() ? nullptr : m_isOutlier.data();
    const float* input = x;
    std::vector<float> tmp;
    if (!m_invScales.empty() || skip || (m_activationBits > 0 && m_activationBits != 8)) {
        tmp.assign(x, x + n * cols);
        if (!m_invScales.empty())
            for (std::int64_t t = 0; t < n; ++t)
                for (std::int64_t c = 0; c < cols; ++c)
                    tmp[std::size_t(t * cols + c)] *= m_invScales[std::size_t(c)];
        input = tmp.data();
    }
    // LLM.int8: the outlier columns of the (scaled) input, multiplied apart in f32.
    const std::size_t k = m_outlierColumns.size();
    std::vector<float> outlierIn(std::size_t(n) * k), outlierOut;
    for (std::int64_t t = 0; t < n; ++t)
        for (std::size_t j = 0; j < k; ++j)
            outlierIn[std::size_t(t) * k + j] = input[t * cols + m_outlierColumns[j]];

    if (m_activationBits == 8) {
        Int8Activations xa;
        quantizeActivationsInt8(input, n, cols, skip, xa);
        // Gathered (act-order, padding, group sums) once for all row tiles.
        const PackedIntInput prepared = preparePackedIntInput(packedIntVariant(), *m_packed, xa);
        runRowTiles(rows, kPackedRowTile, macs(n, cols, rows), [&](std::int64_t r0, std::int64_t r1) {
            packedIntMatMul(*m_packed, r0, r1, prepared, y, rows);
        });
    } else {
        if (m_activationBits > 0)
            fakeQuantizeActivations(tmp.data(), n, cols, m_activationBits, skip);
        if (skip) // the codes in outlier columns are not used: those inputs go through outlierWeights
            for (std::int64_t t = 0; t < n; ++t)
                for (std::int32_t c : m_outlierColumns)
                    tmp[std::size_t(t * cols + c)] = 0;
        const PackedIntInput prepared = preparePackedIntInput(packedIntVariant(), *m_packed, input, n);
        runRowTiles(rows, kPackedRowTile, macs(n, cols, rows), [&](std::int64_t r0, std::int64_t r1) {
            packedIntMatMul(*m_packed, r0, r1, prepared, y, rows);
        });
    }
    if (k) {
        outlierOut.resize(std::size_t(n * rows));
        gemmXWt(outlierIn.data(), n, std::int64_t(k), m_outlierWeights.data(), rows, outlierOut.data());
        for (std::size_t i = 0; i < outlierOut.size(); ++i)
            y[i] += outlierOut[i];
    }
    addBias(y, n, rows, m_bias);
}

CodebookLinear::CodebookLinear(std::shared_ptr<const QuantizedTensor> q, std::vector<float> bias)
    : PackedCodesLinear(*q, std::move(bias)), m_tensor(std::move(q))
{
    m_tensor->checkCodebook(m_label);
}

std::uint64_t CodebookLinear::codebookBytes(const QuantizedTensor& q)
{
    return 4 * (q.codebook.capacity() + q.sparseRowStart.capacity() + q.sparseColumns.capacity() +
                q.sparseValues.capacity() +
                (q.spec.usesLattice() || q.spec.usesAdditive() ? q.scales.capacity() : 0));
}

std::uint64_t CodebookLinear::residentBytes() const
{
    return codesAndBiasBytes() + codebookBytes(*m_tensor);
}

QString CodebookLinear::kernelName() const
{
    if (m_tensor->spec.usesLattice())
        return QStringLiteral("int%1 e8 lattice (fused decode; f32 tiles)").arg(m_packed->bits);
    if (m_tensor->spec.usesAdditive())
        return QStringLiteral("int%1 additive %2x%3 (fused decode; f32 tiles)")
            .arg(m_packed->bits)
            .arg(m_tensor->spec.additiveCodebooks())
            .arg(m_tensor->spec.codebookBits);
    QString k = QStringLiteral("int%1 codebook (fused lut; f32 tiles)").arg(m_packed->bits);
    if (!m_tensor->sparseValues.empty())
        k += QStringLiteral(" + %1 sparse").arg(m_tensor->sparseValues.size());
    return k;
}

namespace {

#if defined(__AVX2__) && defined(__FMA__)
/// codebookRowDot's columns in whole groups of 8 for N tokens (accumulators in registers); returns the
/// columns done.
template <int N>
std::int64_t codebookGroupsDot(int bits, const float* book, const std::uint8_t* c, std::int64_t cols,
                               const float* x, std::int64_t ldx, float* acc)
{
    const kernels::RegisterLevels levels(book, std::int64_t(1) << bits);
    __m256 lanes[N];
    for (int t = 0; t < N; ++t)
        lanes[t] = _mm256_setzero_ps();
    std::int64_t j = 0;
    for (; j + 8 <= cols; j += 8) {
        const __m256 v = levels.lookup(c + j);
        for (int t = 0; t < N; ++t)
            lanes[t] = _mm256_fmadd_ps(v, _mm256_loadu_ps(x + t * ldx + j), lanes[t]);
    }
    for (int t = 0; t < N; ++t)
        acc[t] += kernels::horizontalSum(lanes[t]);
    return j;
}
#endif

/// A row of SqueezeLLM codes (one byte each) through its codebook of 2^bits entries times n ≤ 8 inputs:
/// acc[t] += Σ_j book[c_j]·x[t·ldx + j]. With AVX2 the lookups are register permutes (vpermps; 16 entries:
/// two and a blend on the code's bit 3), 8 weights at a time.
void codebookRowDot(int bits, const float* book, const std::uint8_t* c, std::int64_t cols, const float* x,
                    std::int64_t n, std::int64_t ldx, float* acc)
{
    std::int64_t j = 0;
#if defined(__AVX2__) && defined(__FMA__)
    if (n >= 1 && n <= e8::kMaxDotTokens && bits <= 4) // the levels fit two registers
        j = kernels::withTokenCount(
            n, [&](auto tokens) { return codebookGroupsDot<tokens()>(bits, book, c, cols, x, ldx, acc); });
#endif
    for (std::int64_t t = 0; t < n; ++t) {
        const float* xt = x + t * ldx;
        float sum = 0;
        for (std::int64_t i = j; i < cols; ++i)
            sum += book[c[i]] * xt[i];
        acc[t] += sum;
    }
}

} // namespace

void tableMatMul(const QuantizedTensor& q, const PackedIntMatrix& packed, std::int64_t r0, std::int64_t r1,
                 const float* x, std::int64_t n, float* y, std::int64_t ldy, bool fused)
{
    const std::int64_t cols = packed.cols;
    const QuantSpec& s = q.spec;
    // 2-bit QuIP# and AQLM (M·B = 16) at decode: each vector's 16-bit code read from the packed words.
    if (fused && n <= e8::kMaxDotTokens && hasVectorWords2(packed) &&
        (s.usesLattice() || (s.usesAdditive() && s.additiveCodebooks() * s.codebookBits == 16))) {
        thread_local std::vector<std::uint16_t> words;
        words.resize(std::size_t(cols / 8));
        for (std::int64_t r = r0; r < r1; ++r) {
            vectorWords2(packed, r, words.data());
            float acc[e8::kMaxDotTokens] = {};
            if (s.usesLattice())
                e8::dotE8PWords(words.data(), cols / 8, x, n, cols, acc);
            else
                aq::dotWords(s.codebookBits, s.additiveCodebooks(), q.codebook.data(), words.data(), cols / 8,
                             x, n, cols, acc);
            for (std::int64_t t = 0; t < n; ++t)
                y[t * ldy + r] = acc[t] * q.scales[std::size_t(r)];
        }
        return;
    }
    thread_local std::vector<std::uint8_t> codes; // a tile's codes, one byte each: kept for the next tile
    codes.resize(std::size_t((r1 - r0) * cols));
    unpackIntCodeRows(packed, r0, r1, codes.data());
    if (!fused || n > e8::kMaxDotTokens) {
        thread_local std::vector<float> tile; // kept for the next tile: no fresh pages per call
        tile.resize(codes.size());
        q.decodeCodeRows(r0, r1, codes.data(), tile.data());
        floatMatMul(DType::F32, tile.data(), cols, 0, r1 - r0, x, n, y + r0, ldy);
        return;
    }
    const std::int64_t entries = std::int64_t(1) << s.bits;
    for (std::int64_t r = r0; r < r1; ++r) {
        const std::uint8_t* c = codes.data() + (r - r0) * cols;
        float acc[e8::kMaxDotTokens] = {};
        if (s.usesLattice()) {
            e8::dotQuipRow(s.bits, c, cols, x, n, cols, acc);
        } else if (s.usesAdditive()) {
            aq::dotRow(s.bits, s.codebookBits, s.additiveCodebooks(), q.codebook.data(), c, cols, x, n, cols,
                       acc);
        } else { // SqueezeLLM: the row's codebook entry of each weight, then the sparse part
            codebookRowDot(s.bits, q.codebook.data() + r * entries, c, cols, x, n, cols, acc);
            if (!q.sparseRowStart.empty())
                for (std::int64_t t = 0; t < n; ++t)
                    for (std::int32_t k = q.sparseRowStart[std::size_t(r)];
                         k < q.sparseRowStart[std::size_t(r) + 1]; ++k)
                        acc[t] +=
                            q.sparseValues[std::size_t(k)] * x[t * cols + q.sparseColumns[std::size_t(k)]];
        }
        const float scale = s.usesLattice() || s.usesAdditive() ? q.scales[std::size_t(r)] : 1.0f;
        for (std::int64_t t = 0; t < n; ++t)
            y[t * ldy + r] = acc[t] * scale;
    }
}

void CodebookLinear::forward(const float* x, std::int64_t n, float* y) const
{
    const std::int64_t rows = m_packed->rows, cols = m_packed->cols;
    runRowTiles(rows, kPackedRowTile, macs(n, cols, rows), [&](std::int64_t r0, std::int64_t r1) {
        tableMatMul(*m_tensor, *m_packed, r0, r1, x, n, y, rows);
    });
    addBias(y, n, rows, m_bias);
}

namespace {

/// Incoherence-processed layer (QuantizedTensor::rotation): y = inner(V·x). The inputs are rotated into a
/// buffer (O(cols·log cols) per token, rows in parallel); the weight stays packed in the inner layer.
class RotatedInputLinear final : public LinearLayer
{
public:
    RotatedInputLinear(std::shared_ptr<const LinearLayer> inner, std::shared_ptr<const Rotation> rotation)
        : m_inner(std::move(inner)), m_rotation(std::move(rotation))
    {}
    std::int64_t inFeatures() const override { return m_inner->inFeatures(); }
    std::int64_t outFeatures() const override { return m_inner->outFeatures(); }
    void forward(const float* x, std::int64_t n, float* y) const override
    {
        const std::int64_t cols = inFeatures();
        std::vector<float> rotated(x, x + n * cols);
        forEachRowRange(n, cols * 16, [&](std::int64_t first, std::int64_t count) {
            m_rotation->apply(rotated.data() + first * cols, count, cols);
        });
        m_inner->forward(rotated.data(), n, y);
    }
    std::uint64_t storageBytes() const override { return m_inner->storageBytes(); }
    std::uint64_t residentBytes() const override
    {
        return m_inner->residentBytes() +
               (m_rotation->signs.size() + m_rotation->small.size()) * sizeof(float);
    }
    QString describe() const override { return m_inner->describe(); }
    QString kernelName() const override { return QStringLiteral("hadamard · ") + m_inner->kernelName(); }
    const std::vector<float>& bias() const override { return m_inner->bias(); }

private:
    std::shared_ptr<const LinearLayer> m_inner;
    std::shared_ptr<const Rotation> m_rotation;
};

} // namespace

std::shared_ptr<const LinearLayer> makePackedLayer(std::shared_ptr<const QuantizedTensor> q,
                                                   std::vector<float> bias)
{
    const QuantSpec& s = q->spec;
    if (s.method == QuantMethod::Ggml)
        return std::make_shared<GgmlLinear>(q->cols, q->rows, s.ggmlType, q->ggmlData.data(), q,
                                            std::move(bias), q->storageBytes(), s.label(), false);
    if (s.method == QuantMethod::Float) {
        if (s.floatType ==
            DType::F32) { // read in place from the tensor (kept alive by the layer): no second f32 copy
            const float* data = q->floatWeights.data();
            return std::make_shared<DenseLinear>(q->cols, q->rows, DType::F32, data, q, std::move(bias),
                                                 q->storageBytes(), s.label(), false);
        }
        // f16/bf16: the values are already rounded to the type; hold them at its width.
        auto half = std::make_shared<std::vector<std::uint16_t>>(q->floatWeights.size());
        for (std::size_t i = 0; i < half->size(); ++i)
            (*half)[i] = s.floatType == DType::F16 ? ref::f32ToF16(q->floatWeights[i])
                                                   : ref::f32ToBf16(q->floatWeights[i]);
        const void* data = half->data();
        return std::make_shared<DenseLinear>(q->cols, q->rows, s.floatType, data, std::move(half),
                                             std::move(bias), q->storageBytes(), s.label(), false);
    }
    // Integer codes; incoherence-processed ones (never float or gguf: quantizeWeight, validate) behind the
    // input rotation.
    std::shared_ptr<const LinearLayer> layer;
    if (s.decodesCodes())
        layer = std::make_shared<CodebookLinear>(q, std::move(bias));
    else
        layer = std::make_shared<PackedIntLinear>(*q, std::move(bias));
    if (q->rotation)
        return std::make_shared<RotatedInputLinear>(std::move(layer), q->rotation);
    return layer;
}

} // namespace qs
