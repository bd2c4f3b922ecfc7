#include "io/QuantizedLayerReader.h"

#include "io/HfQuantReader.h"
#include "io/TensorStore.h"
#include "kernels/BitPacking.h"
#include "kernels/GgmlQuants.h"
#include "tensor/GgmlTypes.h"
#include "util/Error.h"
#include "util/StreamBuffer.h"
#include "util/Threads.h"

#include <algorithm>
#include <cstring>

namespace qs {

QuantizedTensor readQuantizedTensor(const TensorStore& ts, const QString& module, const QuantSpec& spec,
                                    std::int64_t rows, std::int64_t cols)
{
    if (isHfQuantLayer(ts, module)) // GPTQ/AWQ int32 packing (quant/HfQuantExport)
        return readHfQuantLayer(ts, module, rows, cols);
    QuantizedTensor q;
    q.spec = spec;
    q.rows = rows;
    q.cols = cols;
    auto fail = [&](const QString& what) {
        return Error::inFile(ts.fileOf(module + u".qweight"), u"layer '" + module + u"': " + what);
    };
    if (spec.method == QuantMethod::Float) {
        q.floatWeights = ts.readF32(module + u".weight", FiniteCheck::Throw);
        return q;
    }
    if (spec.method == QuantMethod::Ggml) { // our .qweight, or a GGUF file's weight itself
        const QString name = module + (ts.contains(module + u".qweight") ? u".qweight" : u".weight");
        const std::size_t expected = std::size_t(rows) * ggmlRowBytes(spec.ggmlType, cols);
        if (ts.info(name).bytes() != expected)
            throw Error::inFile(ts.fileOf(name),
                                QStringLiteral("layer '%1': %2 has %3 bytes, expected %4 for %5×%6 %7")
                                    .arg(module, name)
                                    .arg(ts.info(name).bytes())
                                    .arg(expected)
                                    .arg(rows)
                                    .arg(cols)
                                    .arg(ggmlTypeName(spec.ggmlType)));
        q.ggmlData = ts.readRawRows(name);
        return q;
    }
    const QString qw = module + u".qweight";
    if (!ts.contains(qw))
        throw Error(u"quantized layer '" + module + u"' has no .qweight tensor");
    const TensorInfo& qi = ts.info(qw);
    const std::size_t count = std::size_t(rows * cols);
    if (qi.dtype != DType::U8 || qi.bytes() != (count * std::size_t(spec.bits) + 7) / 8)
        throw fail(QStringLiteral(".qweight has %1 bytes, expected %2 for %3×%4 %5-bit codes")
                       .arg(qi.bytes())
                       .arg((count * std::size_t(spec.bits) + 7) / 8)
                       .arg(rows)
                       .arg(cols)
                       .arg(spec.bits));
    // Unpacked from where the stream lies (its size checked above), pieces of 2^20 codes over the compute
    // threads: a multiple of 8 codes starts on a whole byte.
    const unsigned char* raw = ts.rawData(qw);
    resizeOnHugePages(q.codes, count);
    constexpr std::size_t kPiece = std::size_t(1) << 20;
    const std::size_t bits = std::size_t(spec.bits);
    forEachRowRange(std::int64_t((count + kPiece - 1) / kPiece), std::int64_t(kPiece),
                    [&](std::int64_t first, std::int64_t pieces) {
                        for (std::size_t k = std::size_t(first); k < std::size_t(first + pieces); ++k)
                            unpackCodesInto(raw + k * kPiece * bits / 8, std::min(kPiece, count - k * kPiece),
                                            spec.bits, q.codes.data() + k * kPiece);
                    });
    auto ints = [&](const QString& name) {
        if (ts.info(name).dtype != DType::I32)
            throw Error::inFile(ts.fileOf(name), name + QStringLiteral(" must hold int32 values"));
        std::vector<std::int32_t> v(std::size_t(ts.info(name).numel()));
        std::memcpy(v.data(), ts.rawData(name), v.size() * 4);
        return v;
    };
    if (spec.usesCodebook()) { // SqueezeLLM: codebooks per row and an optional sparse matrix
        const QString cb = module + u".codebook";
        if (!ts.contains(cb))
            throw fail(QStringLiteral("the spec says %1 but .codebook is missing").arg(spec.label()));
        q.codebook = ts.readF32(cb, FiniteCheck::Throw);
        const QString rs = module + u".sparse_row_start", sc = module + u".sparse_cols",
                      sv = module + u".sparse_values";
        if (ts.contains(rs) || ts.contains(sc) || ts.contains(sv)) {
            for (const QString& name : {rs, sc, sv})
                if (!ts.contains(name))
                    throw fail(name.mid(module.size()) +
                               QStringLiteral(" is missing (the sparse matrix is partial)"));
            q.sparseRowStart = ints(rs);
            q.sparseColumns = ints(sc);
            q.sparseValues = ts.readF32(sv, FiniteCheck::Throw);
        }
        try {
            q.checkCodebook(QStringLiteral("layer '%1'").arg(module));
        } catch (const Error& e) {
            throw Error::inFile(ts.fileOf(cb), e.message());
        }
        return q;
    }
    const std::int64_t nScales =
        spec.granularity == Granularity::PerTensor ? 1 : rows * spec.groupsPerRow(cols);
    q.scales = ts.readF32(module + u".scales", FiniteCheck::Throw);
    if (std::int64_t(q.scales.size()) != nScales)
        throw fail(QStringLiteral(".scales has %1 values, expected %2").arg(q.scales.size()).arg(nScales));
    if (spec.symmetric) {
        q.zeros.assign(q.scales.size(), float((spec.qmax() + 1) / 2));
    } else if (spec.floatZeros) {
        q.zeros = ts.readF32(module + u".zeros", FiniteCheck::Throw);
    } else {
        const QString zn = module + u".qzeros";
        const unsigned char* zr = ts.rawData(zn);
        const std::vector<std::uint8_t> z = unpackCodes(
            std::vector<std::uint8_t>(zr, zr + ts.info(zn).bytes()), spec.bits, std::size_t(nScales));
        q.zeros.assign(z.begin(), z.end());
    }
    if (ts.contains(module + u".g_idx"))
        q.groupIndex = ints(module + u".g_idx");
    if (ts.contains(module + u".input_scales"))
        q.inputScales = ts.readF32(module + u".input_scales", FiniteCheck::Throw);
    if (ts.contains(module + u".outlier_cols")) {
        q.outlierColumns = ints(module + u".outlier_cols");
        q.outlierWeights = ts.readF32(module + u".outlier_weight", FiniteCheck::Throw);
    }
    if (spec.incoherence == Incoherence::Hadamard) {
        const QString sn = module + u".rotation_signs", mn = module + u".rotation_matrix";
        if (!ts.contains(sn))
            throw fail(QStringLiteral("the spec says hadamard incoherence but .rotation_signs is missing"));
        if (ts.info(sn).dtype != DType::U8 || ts.info(sn).bytes() != std::size_t((cols + 7) / 8))
            throw fail(QStringLiteral(".rotation_signs has %1 bytes, expected %2 (one bit per input)")
                           .arg(ts.info(sn).bytes())
                           .arg((cols + 7) / 8));
        const unsigned char* sr = ts.rawData(sn);
        const std::vector<std::uint8_t> neg =
            unpackCodes(std::vector<std::uint8_t>(sr, sr + ts.info(sn).bytes()), 1, std::size_t(cols));
        std::vector<float> signs(neg.size());
        for (std::size_t k = 0; k < neg.size(); ++k)
            signs[k] = neg[k] ? -1.0f : 1.0f;
        std::vector<float> small;
        if (ts.contains(mn))
            small = ts.readF32(mn, FiniteCheck::Throw);
        try {
            q.rotation = std::make_shared<const Rotation>(
                Rotation::fromParts(cols, std::move(signs), std::move(small), "rotation"));
        } catch (const Error& e) {
            throw fail(e.message());
        }
    }
    if (spec.usesAdditive()) {
        const QString cb = module + u".codebook";
        if (!ts.contains(cb))
            throw fail(QStringLiteral("the spec says %1 but .codebook is missing").arg(spec.label()));
        q.codebook = ts.readF32(cb, FiniteCheck::Throw);
        try {
            q.checkCodebook(QStringLiteral("layer '%1'").arg(module));
        } catch (const Error& e) {
            throw Error::inFile(ts.fileOf(cb), e.message());
        }
    }
    if (spec.usesLattice()) {
        try {
            q.checkCodebook(QStringLiteral("layer '%1'").arg(module));
        } catch (const Error& e) {
            throw Error::inFile(ts.fileOf(module + u".scales"), e.message());
        }
    }
    for (std::int32_t g : q.groupIndex)
        if (g < 0 || g >= spec.groupsPerRow(cols))
            throw fail(QStringLiteral(".g_idx holds group %1 outside 0..%2")
                           .arg(g)
                           .arg(spec.groupsPerRow(cols) - 1));
    for (std::int32_t c : q.outlierColumns)
        if (c < 0 || c >= cols)
            throw fail(QStringLiteral(".outlier_cols holds column %1 outside 0..%2").arg(c).arg(cols - 1));
    return q;
}

} // namespace qs
