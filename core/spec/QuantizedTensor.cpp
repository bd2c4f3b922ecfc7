#include "spec/QuantizedTensor.h"

#include "kernels/AdditiveCodes.h"
#include "kernels/Convert.h"
#include "kernels/E8Lattice.h"
#include "kernels/GgmlQuants.h"
#include "kernels/TokenCount.h"
#include "util/Error.h"
#include "util/Threads.h"

#include <algorithm>
#include <cmath>
#include <random>

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

void QuantizedTensor::codeRows(std::int64_t r0, std::int64_t r1, std::uint8_t* out) const
{
    if (r0 < 0 || r1 < r0 || r1 > rows)
        throw Error(QStringLiteral("codeRows: rows %1 … %2 outside 0 … %3").arg(r0).arg(r1).arg(rows));
    if (!codes.empty()) {
        std::copy(codes.begin() + std::ptrdiff_t(r0 * cols), codes.begin() + std::ptrdiff_t(r1 * cols), out);
        return;
    }
    if (!packed)
        throw Error(QStringLiteral("a %1 tensor has no integer codes").arg(spec.label()));
    unpackIntCodeRows(*packed, r0, r1, out);
}

std::shared_ptr<const PackedIntMatrix> QuantizedTensor::packedCodes() const
{
    if (packed)
        return packed;
    if (spec.method == QuantMethod::Float || spec.method == QuantMethod::Ggml)
        throw Error(QStringLiteral("a %1 tensor has no integer codes to pack").arg(spec.label()));
    if (codes.size() != std::size_t(rows * cols))
        throw Error(QStringLiteral("a %1 tensor [%2, %3] has %4 codes")
                        .arg(spec.label())
                        .arg(rows)
                        .arg(cols)
                        .arg(codes.size()));
    // The layout first (parameters, column order), then the codes a range of rows at a time over the compute
    // threads (each row's words are its own: the bytes of packIntMatrix on any number of threads).
    auto m = std::make_shared<PackedIntMatrix>();
    if (spec.decodesCodes()) { // the codes alone, per row: scale 1 and zero 0 (the layer decodes them itself)
        const std::vector<float> ones(std::size_t(rows), 1.0f);
        *m = packIntLayout(spec.bits, rows, cols, cols, ones.data(), nullptr, nullptr);
    } else {
        // groupLength 0: per-tensor, one scale and zero (packIntLayout spreads them over the rows).
        const std::int64_t groupLength =
            spec.granularity == Granularity::PerTensor ? 0 : spec.groupLength(cols);
        *m = packIntLayout(spec.bits, rows, cols, groupLength, scales.data(), zeros.data(),
                           groupIndex.empty() ? nullptr : groupIndex.data());
    }
    forEachRowRange(rows, cols, [&](std::int64_t first, std::int64_t count) {
        packIntCodeRows(*m, first, first + count, codes.data() + first * cols);
    });
    return m;
}

void QuantizedTensor::releaseCodesToPacked()
{
    if (spec.method == QuantMethod::Float || spec.method == QuantMethod::Ggml || codes.empty())
        return;
    packed = packedCodes();
    // Swap, not `codes = {}`: assigning an empty list keeps the capacity (one byte per code).
    std::vector<std::uint8_t>().swap(codes);
}

std::vector<float> QuantizedTensor::dequantize() const
{
    if (spec.method == QuantMethod::Float)
        return floatWeights;
    std::vector<float> w(std::size_t(rows * cols));
    dequantizeRows(0, rows, w.data());
    return w;
}

void QuantizedTensor::dequantizeRows(std::int64_t r0, std::int64_t r1, float* out) const
{
    if (r0 < 0 || r1 < r0 || r1 > rows)
        throw Error(QStringLiteral("dequantizeRows: rows %1 … %2 outside 0 … %3").arg(r0).arg(r1).arg(rows));
    const std::int64_t n = r1 - r0;
    if (spec.method == QuantMethod::Float) {
        std::copy(floatWeights.begin() + std::ptrdiff_t(r0 * cols),
                  floatWeights.begin() + std::ptrdiff_t(r1 * cols), out);
        return;
    }
    if (spec.method == QuantMethod::Ggml) {
        const std::size_t rowBytes = ggmlRowBytes(spec.ggmlType, cols);
        forEachRowRange(n, cols, [&](std::int64_t first, std::int64_t count) {
            for (std::int64_t r = r0 + first; r < r0 + first + count; ++r)
                ggmlDequantizeRow(spec.ggmlType, ggmlData.data() + std::size_t(r) * rowBytes,
                                  out + (r - r0) * cols, cols);
        });
        return;
    }
    std::vector<std::uint8_t> unpacked; // only these rows, when the codes were released
    const std::uint8_t* q = codes.data() + r0 * cols;
    if (codes.empty() && packed) {
        unpacked.resize(std::size_t(n * cols));
        unpackIntCodeRows(*packed, r0, r1, unpacked.data());
        q = unpacked.data();
    }
    if (spec.decodesCodes()) {
        decodeCodeRows(r0, r1, q, out);
    } else {
        // (q − zero) · scale with each value's group parameters (scaleIndex), a group's run of columns at a
        // time; rows spread over the compute threads (each value on its own: the same bytes on any count).
        const bool perTensor = spec.granularity == Granularity::PerTensor;
        const std::int64_t groups = perTensor ? 1 : spec.groupsPerRow(cols),
                           g = perTensor ? cols : spec.groupLength(cols);
        forEachRowRange(n, cols, [&](std::int64_t first, std::int64_t count) {
            for (std::int64_t r = r0 + first; r < r0 + first + count; ++r) {
                const std::uint8_t* qr = q + (r - r0) * cols;
                float* o = out + (r - r0) * cols;
                const std::size_t base = perTensor ? 0 : std::size_t(r * groups);
                if (!perTensor && !groupIndex.empty()) {
                    for (std::int64_t c = 0; c < cols; ++c) {
                        const std::size_t si = base + std::size_t(groupIndex[std::size_t(c)]);
                        o[c] = dequantizeValue(qr[c], GroupParams{scales[si], zeros[si]});
                    }
                    continue;
                }
                for (std::int64_t gi = 0; gi < groups; ++gi) {
                    const GroupParams p{scales[base + std::size_t(gi)], zeros[base + std::size_t(gi)]};
                    for (std::int64_t c = gi * g, end = std::min(cols, c + g); c < end; ++c)
                        o[c] = dequantizeValue(qr[c], p);
                }
            }
        });
    }
    const std::size_t k = outlierColumns.size();
    for (std::size_t j = 0; j < k; ++j) {
        for (std::int64_t r = r0; r < r1; ++r)
            out[(r - r0) * cols + outlierColumns[j]] = outlierWeights[std::size_t(r) * k + j];
    }
    if (rotation) // rows of Q·V: each row r of Q becomes Vᵀ·r (as a column)
        forEachRowRange(n, cols, [&](std::int64_t first, std::int64_t count) {
            rotation->applyTransposed(out + first * cols, count, cols);
        });
}

void QuantizedTensor::decodeCodeRows(std::int64_t r0, std::int64_t r1, const std::uint8_t* q,
                                     float* out) const
{
    if (spec.usesLattice()) {
        for (std::int64_t r = r0; r < r1; ++r)
            e8::decodeQuipRow(spec.bits, q + (r - r0) * cols, cols, scales[std::size_t(r)],
                              out + (r - r0) * cols);
        return;
    }
    if (spec.usesAdditive()) {
        const int books = spec.additiveCodebooks();
        for (std::int64_t r = r0; r < r1; ++r) {
            const float s = scales[std::size_t(r)];
            float* o = out + (r - r0) * cols;
            aq::decodeRow(spec.bits, spec.codebookBits, books, codebook.data(), q + (r - r0) * cols, cols, o);
            for (std::int64_t c = 0; c < cols; ++c)
                o[c] *= s;
        }
        return;
    }
    const std::int64_t entries = std::int64_t(1) << spec.bits;
    for (std::int64_t r = r0; r < r1; ++r) {
        const float* book = codebook.data() + r * entries;
        float* o = out + (r - r0) * cols;
        const std::uint8_t* qr = q + (r - r0) * cols;
        std::int64_t c = 0;
#if defined(__AVX2__) && defined(__FMA__)
        if (entries <= 16) { // the row's levels in two registers, 8 codes looked up at a time
            const kernels::RegisterLevels levels(book, entries);
            for (; c + 8 <= cols; c += 8)
                _mm256_storeu_ps(o + c, levels.lookup(qr + c));
        }
#endif
        for (; c < cols; ++c)
            o[c] = book[qr[c]];
        if (!sparseRowStart.empty())
            for (std::int32_t k = sparseRowStart[std::size_t(r)]; k < sparseRowStart[std::size_t(r) + 1]; ++k)
                o[sparseColumns[std::size_t(k)]] += sparseValues[std::size_t(k)];
    }
}

QuantizedTensor syntheticTableTensor(const QuantSpec& spec, std::int64_t rows, std::int64_t cols,
                                     std::uint64_t seed)
{
    if (!spec.decodesCodes() || !spec.validate().isEmpty() || rows < 1 || cols < 1)
        throw Error(
            QStringLiteral("a synthetic table tensor needs a valid codebook, lattice or additive spec and "
                           "a shape, not %1 [%2, %3]")
                .arg(spec.shortName())
                .arg(rows)
                .arg(cols));
    QuantizedTensor q;
    q.spec = spec;
    q.rows = rows;
    q.cols = cols;
    std::mt19937_64 g(seed);
    std::uniform_int_distribution<int> code(0, spec.qmax());
    std::normal_distribution<float> normal;
    q.codes.resize(std::size_t(rows * cols));
    for (std::uint8_t& c : q.codes)
        c = std::uint8_t(code(g));
    if (spec.usesCodebook()) {
        q.codebook.resize(std::size_t(rows) << spec.bits);
        for (float& v : q.codebook)
            v = normal(g);
        if (spec.sparsePercent > 0) {
            q.sparseRowStart.push_back(0);
            for (std::int64_t r = 0; r < rows; ++r) {
                if (r % 5 == 0)
                    for (std::int64_t c : {std::int64_t(0), cols / 2, cols - 1})
                        if (q.sparseColumns.empty() ||
                            q.sparseRowStart.back() == std::int32_t(q.sparseColumns.size()) ||
                            q.sparseColumns.back() < c) {
                            q.sparseColumns.push_back(std::int32_t(c));
                            q.sparseValues.push_back(normal(g));
                        }
                q.sparseRowStart.push_back(std::int32_t(q.sparseColumns.size()));
            }
        }
        return q;
    }
    std::uniform_real_distribution<float> scale(0.5f, 2.5f);
    q.scales.resize(std::size_t(rows));
    for (float& s : q.scales)
        s = scale(g);
    q.zeros.assign(q.scales.size(), float(1 << (spec.bits - 1)));
    if (spec.usesAdditive()) {
        q.codebook.resize(std::size_t(spec.additiveCodebooks()) * (std::size_t(1) << spec.codebookBits) * 8);
        for (float& v : q.codebook)
            v = normal(g);
    }
    return q;
}

void QuantizedTensor::effectiveRows(std::int64_t r0, std::int64_t r1, float* out) const
{
    dequantizeRows(r0, r1, out);
    if (inputScales.empty())
        return;
    for (std::int64_t r = 0; r < r1 - r0; ++r)
        for (std::int64_t c = 0; c < cols; ++c)
            out[r * cols + c] /= inputScales[std::size_t(c)];
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

std::uint64_t QuantizedTensor::ownedBytes() const
{
    auto held = [](const auto& v) { return std::uint64_t(v.capacity() * sizeof(v[0])); };
    return held(codes) + held(scales) + held(zeros) + held(groupIndex) + held(inputScales) +
           (rotation ? held(rotation->signs) + held(rotation->small) : 0) + held(outlierColumns) +
           held(outlierWeights) + held(floatWeights) + held(ggmlData) + held(codebook) +
           held(sparseRowStart) + held(sparseColumns) + held(sparseValues) + (packed ? packed->bytes() : 0);
}

void QuantizedTensor::checkCodebook(const QString& what) const
{
    if (spec.usesLattice() || spec.usesAdditive()) {
        if (std::int64_t(scales.size()) != rows)
            throw Error(
                QStringLiteral("%1: %2 row scales for %3 rows").arg(what).arg(scales.size()).arg(rows));
        for (float s : scales)
            if (!(std::isfinite(s) && s > 0))
                throw Error(what + QStringLiteral(": a row scale is not a positive finite number"));
    }
    if (spec.usesAdditive()) {
        const std::int64_t expected =
            std::int64_t(spec.additiveCodebooks()) * (std::int64_t(1) << spec.codebookBits) * aq::kDim;
        if (std::int64_t(codebook.size()) != expected)
            throw Error(QStringLiteral("%1: the codebooks hold %2 values, expected %3 (%4 codebooks × %5 "
                                       "entries × 8)")
                            .arg(what)
                            .arg(codebook.size())
                            .arg(expected)
                            .arg(spec.additiveCodebooks())
                            .arg(std::int64_t(1) << spec.codebookBits));
        for (float v : codebook)
            if (!std::isfinite(v))
                throw Error(what + QStringLiteral(": the codebooks hold a value that is not finite"));
        if ((spec.incoherence == Incoherence::Hadamard) != bool(rotation))
            throw Error(what + (rotation ? QStringLiteral(": an input rotation the spec does not name")
                                         : QStringLiteral(": the spec rotates the inputs but the rotation is "
                                                          "missing")));
        return;
    }
    if (spec.usesLattice()) {
        if (!rotation || rotation->n != cols)
            throw Error(what + QStringLiteral(": QuIP# codes need the input rotation they were made in, and "
                                              "it is missing"));
        return;
    }
    if (!spec.usesCodebook())
        return;
    const std::int64_t entries = std::int64_t(1) << spec.bits;
    if (std::int64_t(codebook.size()) != rows * entries)
        throw Error(QStringLiteral("%1: the codebook holds %2 values, expected %3 (%4 rows × %5 entries)")
                        .arg(what)
                        .arg(codebook.size())
                        .arg(rows * entries)
                        .arg(rows)
                        .arg(entries));
    for (float v : codebook)
        if (!std::isfinite(v))
            throw Error(what + QStringLiteral(": the codebook holds a value that is not finite"));
    if (sparseRowStart.empty()) {
        if (!sparseColumns.empty() || !sparseValues.empty())
            throw Error(what + QStringLiteral(": sparse values without row starts"));
        return;
    }
    if (std::int64_t(sparseRowStart.size()) != rows + 1 || sparseRowStart.front() != 0 ||
        std::size_t(sparseRowStart.back()) != sparseColumns.size() ||
        sparseColumns.size() != sparseValues.size())
        throw Error(
            QStringLiteral("%1: the sparse matrix does not fit: %2 row starts for %3 rows, %4 columns, "
                           "%5 values")
                .arg(what)
                .arg(sparseRowStart.size())
                .arg(rows)
                .arg(sparseColumns.size())
                .arg(sparseValues.size()));
    for (std::int64_t r = 0; r < rows; ++r) {
        const std::int32_t a = sparseRowStart[std::size_t(r)], b = sparseRowStart[std::size_t(r) + 1];
        if (b < a)
            throw Error(QStringLiteral("%1: the sparse row starts fall at row %2").arg(what).arg(r));
        for (std::int32_t k = a; k < b; ++k) {
            const std::int32_t c = sparseColumns[std::size_t(k)];
            if (c < 0 || c >= cols || (k > a && c <= sparseColumns[std::size_t(k) - 1]))
                throw Error(QStringLiteral("%1: sparse column %2 in row %3 is out of range or out of order")
                                .arg(what)
                                .arg(c)
                                .arg(r));
            if (!std::isfinite(sparseValues[std::size_t(k)]))
                throw Error(QStringLiteral("%1: a sparse value in row %2 is not finite").arg(what).arg(r));
        }
    }
}

} // namespace qs
