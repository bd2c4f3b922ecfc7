#include "kernels/PackedInt.h"

#include "kernels/AdditiveCodes.h"
#include "kernels/CpuFeatures.h"
#include "kernels/PackedIntLayout.h"
#include "util/Error.h"
#include "util/StreamBuffer.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>

namespace qs {

using namespace packedint;

namespace {

constexpr std::int64_t kMaxSide = std::int64_t(1) << 31; ///< rows and cols below this
constexpr std::int64_t kMaxInt8Group = 65536;            ///< 127 · 255 · this stays within int32

[[noreturn]] void fail(const char* where, const QString& what)
{
    throw Error(QLatin1String(where) + u": " + what);
}

std::int64_t ceilDiv(std::int64_t a, std::int64_t b)
{
    return (a + b - 1) / b;
}

/// Byte offset of word `word` of row `row`, chunk `chunk`.
std::size_t wordOffset(int bits, std::int64_t chunksPerRow, std::int64_t row, std::int64_t chunk, int word)
{
    const std::int64_t tile = row / kPackedTileRows, lane = row % kPackedTileRows;
    return std::size_t(((tile * chunksPerRow + chunk) * bits + word) * 64 + lane * 4);
}

std::uint32_t readWord(const std::uint8_t* p)
{
    std::uint32_t w;
    std::memcpy(&w, p, 4);
    return w;
}

/// The code at row `row`, packed column `pos` (group order, padding included).
int codeAt(const std::uint8_t* codes, int bits, std::int64_t chunksPerRow, std::int64_t row, std::int64_t pos)
{
    const int col = int(pos % kPackedChunkCols);
    int code = 0;
    for (int p = 0; p < planeCount(bits); ++p) {
        const FieldPos f = fieldPos(bits, p, col);
        const std::uint32_t w =
            readWord(codes + wordOffset(bits, chunksPerRow, row, pos / kPackedChunkCols, f.word));
        code |= int((w >> f.shift) & ((1u << planeWidth(bits, p)) - 1u)) << planeBase(bits, p);
    }
    return code;
}

/// The packed column of each original column.
std::vector<std::int64_t> packedPositions(const PackedIntMatrix& m)
{
    std::vector<std::int64_t> pos(std::size_t(m.cols));
    const std::int64_t groupCols = m.chunksPerGroup() * kPackedChunkCols;
    for (std::int64_t k = 0; k < m.cols; ++k) {
        const std::int64_t col = m.columnOrder.empty() ? k : m.columnOrder[std::size_t(k)];
        pos[std::size_t(col)] = (k / m.groupLength) * groupCols + k % m.groupLength;
    }
    return pos;
}

/// The shape and array sizes of a matrix it did not pack itself: O(1).
void checkShape(const char* where, const PackedIntMatrix& m)
{
    if (m.bits < 2 || m.bits > 8)
        fail(where, QStringLiteral("%1 bits per code (2 … 8 are packed)").arg(m.bits));
    if (m.rows < 1 || m.cols < 1 || m.rows >= kMaxSide || m.cols >= kMaxSide || m.groupLength < 1 ||
        m.groupLength > m.cols)
        fail(where, QStringLiteral("bad shape [%1, %2] with groups of %3")
                        .arg(m.rows)
                        .arg(m.cols)
                        .arg(m.groupLength));
    const std::size_t codeBytes = std::size_t(m.rowTiles() * m.chunksPerRow() * m.bits * 64);
    const std::size_t params = std::size_t(m.rowTiles() * m.groups() * kPackedTileRows);
    if (m.codes.size() != codeBytes || m.scales.size() != params || m.zeros.size() != params ||
        (!m.columnOrder.empty() && std::int64_t(m.columnOrder.size()) != m.cols))
        fail(where,
             QStringLiteral("the packed arrays do not match the shape [%1, %2]").arg(m.rows).arg(m.cols));
}

/// And its column order: O(cols), where inputs are gathered.
void checkMatrix(const char* where, const PackedIntMatrix& m)
{
    checkShape(where, m);
    std::vector<char> seen(std::size_t(m.cols), 0);
    for (std::int32_t c : m.columnOrder) {
        if (c < 0 || c >= m.cols || seen[std::size_t(c)])
            fail(where, QStringLiteral("the column order is not a permutation of 0 … %1").arg(m.cols - 1));
        seen[std::size_t(c)] = 1;
    }
}

void checkVariant(const char* where, SimdVariant v)
{
    if (!simdVariantSupported(v))
        fail(where,
             QStringLiteral("this CPU cannot run the %1 kernels").arg(QLatin1String(simdVariantName(v))));
}

int maxTokensOf(SimdVariant v)
{
    switch (v) {
    case SimdVariant::Scalar:
        return kMaxTokensScalar;
    case SimdVariant::Vec128:
        return kMaxTokensVec128;
    case SimdVariant::Avx2:
        return kMaxTokensAvx2;
    case SimdVariant::Avx512:
        return kMaxTokensAvx512;
    }
    return kMaxTokensScalar;
}

PackedIntInput inputFor(const char* where, SimdVariant v, const PackedIntMatrix& m, std::int64_t n, bool int8)
{
    checkMatrix(where, m);
    checkVariant(where, v);
    if (n < 0)
        fail(where, QStringLiteral("%1 tokens").arg(n));
    PackedIntInput in;
    in.variant = v;
    in.int8 = int8;
    in.n = n;
    in.cols = m.cols;
    in.groupLength = m.groupLength;
    in.paddedCols = m.paddedCols();
    in.actOrder = !m.columnOrder.empty();
    return in;
}

/// Packed columns [first, end) of group g.
std::pair<std::int64_t, std::int64_t> groupColumns(std::int64_t g, std::int64_t chunksPerGroup,
                                                   std::int64_t chunksPerRow)
{
    const std::int64_t k0 = g * chunksPerGroup, k1 = std::min(k0 + chunksPerGroup, chunksPerRow);
    return {k0 * kPackedChunkCols, k1 * kPackedChunkCols};
}

/// Each token's inputs in the packed column order (zero padded), handed to put(t0, t, ti, row)
/// with the piece (t0, t) it belongs to.
template <class T, class Put>
void gather(const PackedIntMatrix& m, const PackedIntInput& in, const T* x, Put&& put)
{
    const std::vector<std::int64_t> pos = packedPositions(m);
    std::vector<T> row(std::size_t(in.paddedCols));
    forEachPiece(in.n, maxTokensOf(in.variant), [&](std::int64_t t0, int t) {
        for (int ti = 0; ti < t; ++ti) {
            std::fill(row.begin(), row.end(), T(0));
            const T* src = x + (t0 + ti) * m.cols;
            for (std::int64_t c = 0; c < m.cols; ++c)
                row[std::size_t(pos[std::size_t(c)])] = src[c];
            put(t0, t, ti, row);
        }
    });
}

KernelArgs kernelArgs(const PackedIntMatrix& m, const PackedIntInput& in, std::int64_t r0, std::int64_t r1,
                      float* y, std::int64_t ldy)
{
    KernelArgs a;
    a.bits = m.bits;
    a.chunksPerRow = m.chunksPerRow();
    a.chunksPerGroup = m.chunksPerGroup();
    a.groups = m.groups();
    a.codes = m.codes.data();
    a.scales = m.scales.data();
    a.zeros = m.zeros.data();
    a.n = in.n;
    a.ldx = in.paddedCols;
    a.maxTokens = maxTokensOf(in.variant);
    a.x = in.x.data();
    a.xSums = in.sums.data();
    a.xq = in.xq.data();
    a.xqSums = in.qsums.data();
    a.xScales = in.scales.data();
    a.y = y;
    a.ldy = ldy;
    a.r0 = r0;
    a.r1 = r1;
    return a;
}

// ---- Scalar twins: the order of operations every variant follows ----------------------------------

std::size_t paramIndex(const KernelArgs& a, std::int64_t r, std::int64_t g)
{
    return std::size_t(((r / kPackedTileRows) * a.groups + g) * kPackedTileRows + r % kPackedTileRows);
}

void floatRowsScalar(const KernelArgs& a)
{
    forEachPiece(a.n, a.maxTokens, [&](std::int64_t t0, int t) {
        const float* piece = a.x + t0 * a.ldx;
        for (int ti = 0; ti < t; ++ti)
            for (std::int64_t r = a.r0; r < a.r1; ++r) {
                float tot = 0;
                for (std::int64_t g = 0; g < a.groups; ++g) {
                    const auto [c0, c1] = groupColumns(g, a.chunksPerGroup, a.chunksPerRow);
                    float acc = 0;
                    for (std::int64_t c = c0; c < c1; ++c)
                        acc = std::fma(float(codeAt(a.codes, a.bits, a.chunksPerRow, r, c)),
                                       piece[c * t + ti], acc);
                    const float s = a.scales[paramIndex(a, r, g)], z = a.zeros[paramIndex(a, r, g)];
                    tot = std::fma(s, acc, tot);
                    tot = std::fma(-(s * z), a.xSums[(t0 + ti) * a.groups + g], tot);
                }
                a.y[(t0 + ti) * a.ldy + r] = tot;
            }
    });
}

void int8RowsScalar(const KernelArgs& a)
{
    const float qmax = float((1 << a.bits) - 1);
    forEachPiece(a.n, a.maxTokens, [&](std::int64_t t0, int t) {
        const std::uint32_t* piece = a.xq + t0 * (a.ldx / 4);
        for (int ti = 0; ti < t; ++ti)
            for (std::int64_t r = a.r0; r < a.r1; ++r) {
                float tot = 0;
                for (std::int64_t g = 0; g < a.groups; ++g) {
                    const auto [c0, c1] = groupColumns(g, a.chunksPerGroup, a.chunksPerRow);
                    std::int64_t dot = 0;
                    for (std::int64_t c = c0; c < c1; ++c) {
                        std::int8_t xc;
                        std::memcpy(
                            &xc, reinterpret_cast<const std::uint8_t*>(piece + (c / 4) * t + ti) + c % 4, 1);
                        dot += std::int64_t(xc) * codeAt(a.codes, a.bits, a.chunksPerRow, r, c);
                    }
                    const float s = a.scales[paramIndex(a, r, g)], z = a.zeros[paramIndex(a, r, g)];
                    const float zr = std::nearbyint(std::clamp(z, 0.0f, qmax));
                    const std::int32_t sumX = a.xqSums[(t0 + ti) * a.groups + g];
                    const auto d = std::int32_t(dot - std::int64_t(zr) * sumX);
                    tot = std::fma(s, std::fma(-(z - zr), float(sumX), float(d)), tot);
                }
                a.y[(t0 + ti) * a.ldy + r] = tot * a.xScales[t0 + ti];
            }
    });
}

using RowsFn = void (*)(const KernelArgs&);

RowsFn floatRows(SimdVariant v)
{
    switch (v) {
    case SimdVariant::Scalar:
        return floatRowsScalar;
    case SimdVariant::Vec128:
        return floatRowsVec128;
#if defined(__x86_64__) || defined(__i386__)
    case SimdVariant::Avx2:
        return floatRowsAvx2;
    case SimdVariant::Avx512:
        return floatRowsAvx512;
#else
    default:
        break;
#endif
    }
    return floatRowsScalar;
}

RowsFn int8Rows(SimdVariant v, Int8Dot dot)
{
    const bool vnni = dot == Int8Dot::Vnni || (dot == Int8Dot::Auto && int8DotSupported(v, Int8Dot::Vnni));
    switch (v) {
    case SimdVariant::Scalar:
        return int8RowsScalar;
    case SimdVariant::Vec128:
        return int8RowsVec128;
#if defined(__x86_64__) || defined(__i386__)
    case SimdVariant::Avx2:
        return vnni ? int8RowsAvxVnni : int8RowsAvx2;
    case SimdVariant::Avx512:
        return vnni ? int8RowsAvx512Vnni : int8RowsAvx512;
#else
    default:
        break;
#endif
    }
    (void)vnni;
    return int8RowsScalar;
}

} // namespace

// ---- The matrix -----------------------------------------------------------------------------------------

std::int64_t PackedIntMatrix::chunksPerRow() const
{
    const std::int64_t g = groups();
    if (g == 0)
        return 0;
    const std::int64_t last = cols - (g - 1) * groupLength;
    return (g - 1) * chunksPerGroup() + ceilDiv(last, kPackedChunkCols);
}

std::uint64_t PackedIntMatrix::bytes() const
{
    return codes.size() + sizeof(float) * (scales.size() + zeros.size()) +
           sizeof(std::int32_t) * columnOrder.size();
}

PackedIntMatrix packIntLayout(int bits, std::int64_t rows, std::int64_t cols, std::int64_t groupLength,
                              const float* scales, const float* zeros, const std::int32_t* groupIndex)
{
    constexpr const char* where = "packIntMatrix";
    if (bits < 2 || bits > 8)
        fail(where, QStringLiteral("%1 bits per code (2 … 8 are packed)").arg(bits));
    if (rows < 1 || cols < 1 || rows >= kMaxSide || cols >= kMaxSide || groupLength < 0)
        fail(where,
             QStringLiteral("bad shape [%1, %2] with groups of %3").arg(rows).arg(cols).arg(groupLength));
    if (!scales)
        fail(where, QStringLiteral("null codes or scales"));
    PackedIntMatrix m;
    m.bits = bits;
    m.rows = rows;
    m.cols = cols;
    const bool perTensor = groupLength == 0;
    m.groupLength = perTensor ? cols : std::min(groupLength, cols);
    const std::int64_t groups = m.groups();

    if (groupIndex) {
        std::vector<std::int64_t> count(std::size_t(groups), 0);
        for (std::int64_t c = 0; c < cols; ++c) {
            if (groupIndex[c] < 0 || groupIndex[c] >= groups)
                fail(where, QStringLiteral("g_idx[%1] = %2 outside 0 … %3")
                                .arg(c)
                                .arg(groupIndex[c])
                                .arg(groups - 1));
            ++count[std::size_t(groupIndex[c])];
        }
        for (std::int64_t g = 0; g < groups; ++g) {
            const std::int64_t want = std::min(m.groupLength, cols - g * m.groupLength);
            if (count[std::size_t(g)] != want)
                fail(where,
                     QStringLiteral("g_idx puts %1 columns in group %2, not %3 (groups must be equal-sized)")
                         .arg(count[std::size_t(g)])
                         .arg(g)
                         .arg(want));
        }
        std::vector<std::int64_t> next(static_cast<std::size_t>(groups));
        for (std::int64_t g = 0; g < groups; ++g)
            next[std::size_t(g)] = g * m.groupLength;
        m.columnOrder.resize(std::size_t(cols));
        bool identity = true;
        for (std::int64_t c = 0; c < cols; ++c) {
            const std::int64_t k = next[std::size_t(groupIndex[c])]++;
            m.columnOrder[std::size_t(k)] = std::int32_t(c);
            identity = identity && k == c;
        }
        if (identity)
            m.columnOrder.clear();
    }

    resizeOnHugePages(m.codes, std::size_t(m.rowTiles() * m.chunksPerRow() * bits * 64)); // zeros

    const std::size_t params = std::size_t(m.rowTiles() * groups * kPackedTileRows);
    m.scales.assign(params, 0.0f);
    m.zeros.assign(params, 0.0f);
    for (std::int64_t r = 0; r < rows; ++r)
        for (std::int64_t g = 0; g < groups; ++g) {
            const std::int64_t src = perTensor ? 0 : r * groups + g;
            const float s = scales[src], z = zeros ? zeros[src] : 0.0f;
            if (!std::isfinite(s) || !std::isfinite(z))
                fail(where, QStringLiteral("scale %1 or zero %2 of row %3, group %4 is not finite")
                                .arg(double(s))
                                .arg(double(z))
                                .arg(r)
                                .arg(g));
            const std::size_t dst =
                std::size_t(((r / kPackedTileRows) * groups + g) * kPackedTileRows + r % kPackedTileRows);
            m.scales[dst] = s;
            m.zeros[dst] = z;
        }
    return m;
}

PackedIntMatrix packIntMatrix(int bits, std::int64_t rows, std::int64_t cols, std::int64_t groupLength,
                              const std::uint8_t* codes, const float* scales, const float* zeros,
                              const std::int32_t* groupIndex)
{
    if (!codes || !scales)
        fail("packIntMatrix", QStringLiteral("null codes or scales"));
    PackedIntMatrix m = packIntLayout(bits, rows, cols, groupLength, scales, zeros, groupIndex);
    packIntCodeRows(m, 0, rows, codes);
    return m;
}

std::vector<std::uint8_t> unpackIntCodes(const PackedIntMatrix& m)
{
    checkMatrix("unpackIntCodes", m);
    std::vector<std::uint8_t> out(std::size_t(m.rows * m.cols));
    unpackIntCodeRows(m, 0, m.rows, out.data());
    return out;
}

namespace {

/// One chunk's 32 codes of `Bits` bits (planes as planeWidth/planeBase say) from its words into dst[32]:
/// the layout's fields with every shift a constant, for the widths the table formats use.
template <int Bits>
struct ChunkFields
{
    struct Field
    {
        std::uint8_t word, shift, mask, base;
    };
    std::array<std::array<Field, kPackedChunkCols>, planeCount(Bits)> at{};
    constexpr ChunkFields()
    {
        for (int p = 0; p < planeCount(Bits); ++p)
            for (int col = 0; col < kPackedChunkCols; ++col) {
                const FieldPos f = fieldPos(Bits, p, col);
                at[std::size_t(p)][std::size_t(col)] = {std::uint8_t(f.word), std::uint8_t(f.shift),
                                                        std::uint8_t((1u << planeWidth(Bits, p)) - 1u),
                                                        std::uint8_t(planeBase(Bits, p))};
            }
    }
};

template <int Bits>
void unpackChunk(const std::uint8_t* codes, std::int64_t chunksPerRow, std::int64_t row, std::int64_t chunk,
                 std::uint8_t* dst)
{
    static constexpr ChunkFields<Bits> fields; // every shift a compile-time constant
    std::uint32_t words[Bits];
    for (int w = 0; w < Bits; ++w)
        words[w] = readWord(codes + wordOffset(Bits, chunksPerRow, row, chunk, w));
    for (int col = 0; col < kPackedChunkCols; ++col) {
        std::uint32_t v = 0;
        for (std::size_t p = 0; p < fields.at.size(); ++p) {
            const auto& f = fields.at[p][std::size_t(col)];
            v |= ((words[f.word] >> f.shift) & f.mask) << f.base;
        }
        dst[col] = std::uint8_t(v);
    }
}

/// Rows [r0, r1) of a matrix whose packed order is its column order (no act-order, no group padding), with
/// the chunk decoder for its bits; false when the matrix is not such a one.
bool unpackInOrder(const PackedIntMatrix& m, std::int64_t r0, std::int64_t r1, std::uint8_t* out)
{
    const bool inOrder = m.columnOrder.empty() && (m.groups() == 1 || m.groupLength % kPackedChunkCols == 0);
    if (!inOrder || m.bits < 2 || m.bits > 4)
        return false;
    const std::int64_t chunks = m.chunksPerRow(), whole = m.cols / kPackedChunkCols;
    auto decode = m.bits == 2 ? unpackChunk<2> : m.bits == 3 ? unpackChunk<3> : unpackChunk<4>;
    std::uint8_t last[kPackedChunkCols];
    for (std::int64_t r = r0; r < r1; ++r) {
        std::uint8_t* o = out + (r - r0) * m.cols;
        for (std::int64_t k = 0; k < whole; ++k)
            decode(m.codes.data(), chunks, r, k, o + k * kPackedChunkCols);
        if (whole < chunks) { // a row that ends inside its last chunk
            decode(m.codes.data(), chunks, r, whole, last);
            std::copy(last, last + (m.cols - whole * kPackedChunkCols), o + whole * kPackedChunkCols);
        }
    }
    return true;
}

/// One chunk's 32 codes (src[32], in packed order) into its `Bits` words of row `row`: the inverse of
/// unpackChunk, every word written whole.
template <int Bits>
void packChunk(const std::uint8_t* src, std::uint8_t* codes, std::int64_t chunksPerRow, std::int64_t row,
               std::int64_t chunk)
{
    static constexpr ChunkFields<Bits> fields;
    std::uint32_t words[Bits] = {};
    for (int col = 0; col < kPackedChunkCols; ++col)
        for (std::size_t p = 0; p < fields.at.size(); ++p) {
            const auto& f = fields.at[p][std::size_t(col)];
            words[f.word] |= ((std::uint32_t(src[col]) >> f.base) & f.mask) << f.shift;
        }
    for (int w = 0; w < Bits; ++w)
        std::memcpy(codes + wordOffset(Bits, chunksPerRow, row, chunk, w), &words[w], 4);
}

template <int Bits>
void packRows(PackedIntMatrix& m, std::int64_t r0, std::int64_t r1, const std::uint8_t* codes)
{
    const std::vector<std::int64_t> pos = packedPositions(m);
    const std::int64_t chunks = m.chunksPerRow();
    std::vector<std::uint8_t> row(std::size_t(chunks * kPackedChunkCols));
    for (std::int64_t r = r0; r < r1; ++r) {
        const std::uint8_t* src = codes + (r - r0) * m.cols;
        std::uint8_t high = 0;
        for (std::int64_t c = 0; c < m.cols; ++c)
            high |= std::uint8_t(src[c] >> Bits);
        if (high) {
            const std::int64_t c =
                std::find_if(src, src + m.cols, [](std::uint8_t q) { return q >> Bits; }) - src;
            fail("packIntMatrix", QStringLiteral("code %1 at [%2, %3] does not fit in %4 bits")
                                      .arg(src[c])
                                      .arg(r)
                                      .arg(c)
                                      .arg(Bits));
        }
        std::fill(row.begin(), row.end(), std::uint8_t(0)); // the groups' padding columns
        for (std::int64_t c = 0; c < m.cols; ++c)
            row[std::size_t(pos[std::size_t(c)])] = src[c];
        for (std::int64_t k = 0; k < chunks; ++k)
            packChunk<Bits>(row.data() + k * kPackedChunkCols, m.codes.data(), chunks, r, k);
    }
}

} // namespace

bool hasVectorWords2(const PackedIntMatrix& m)
{
    return m.bits == 2 && m.cols % 8 == 0 && m.columnOrder.empty() &&
           (m.groups() == 1 || m.groupLength % kPackedChunkCols == 0);
}

void vectorWords2(const PackedIntMatrix& m, std::int64_t row, std::uint16_t* out)
{
    // 2 bits: one plane, two words a chunk; column 4e + i sits in word e / 4, byte i, bits 2·(e % 4). Vector
    // v of a chunk (columns 8v … 8v + 7, e = 2v and 2v + 1) is the nibble at bit 4·(v % 2) of each byte of
    // word v / 2: its low two bits c_i, its high two c_{i+4}.
    const std::int64_t chunks = m.chunksPerRow(), vectors = m.cols / 8;
    for (std::int64_t k = 0; k < chunks; ++k) {
        const std::uint32_t words[2] = {readWord(m.codes.data() + wordOffset(2, chunks, row, k, 0)),
                                        readWord(m.codes.data() + wordOffset(2, chunks, row, k, 1))};
        for (int v = 0; v < 4 && k * 4 + v < vectors; ++v) {
            const std::uint64_t t = (words[v / 2] >> (4 * (v % 2))) & 0x0F0F0F0Fu;
            const std::uint64_t low = aq::gatherFields<2>(t), high = aq::gatherFields<2>(t >> 2);
            out[k * 4 + v] = std::uint16_t((low & 0xFFu) | ((high & 0xFFu) << 8));
        }
    }
}

void packIntCodeRows(PackedIntMatrix& m, std::int64_t r0, std::int64_t r1, const std::uint8_t* codes)
{
    constexpr const char* where = "packIntCodeRows";
    checkShape(where, m);
    if (r0 < 0 || r1 < r0 || r1 > m.rows)
        fail(where, QStringLiteral("rows %1 … %2 outside 0 … %3").arg(r0).arg(r1).arg(m.rows));
    if (r1 > r0 && !codes)
        fail(where, QStringLiteral("null codes"));
    using Pack = void (*)(PackedIntMatrix&, std::int64_t, std::int64_t, const std::uint8_t*);
    static constexpr Pack byBits[] = {packRows<2>, packRows<3>, packRows<4>, packRows<5>,
                                      packRows<6>, packRows<7>, packRows<8>}; // checkShape: 2 … 8
    byBits[m.bits - 2](m, r0, r1, codes);
}

void unpackIntCodeRows(const PackedIntMatrix& m, std::int64_t r0, std::int64_t r1, std::uint8_t* out)
{
    constexpr const char* where = "unpackIntCodeRows";
    checkMatrix(where, m);
    if (r0 < 0 || r1 < r0 || r1 > m.rows)
        fail(where, QStringLiteral("rows %1 … %2 outside 0 … %3").arg(r0).arg(r1).arg(m.rows));
    if (unpackInOrder(m, r0, r1, out))
        return;
    const std::vector<std::int64_t> pos = packedPositions(m);
    const std::int64_t chunks = m.chunksPerRow();
    // Where each of a chunk's 32 columns keeps its bits, plane by plane (the layout above), so a
    // row is decoded a chunk at a time into packed order, then gathered into the original order.
    struct Field
    {
        int word, shift;
        std::uint32_t mask;
        int base;
    };
    const int planes = planeCount(m.bits);
    std::vector<Field> fields;
    for (int p = 0; p < planes; ++p)
        for (int col = 0; col < kPackedChunkCols; ++col) {
            const FieldPos f = fieldPos(m.bits, p, col);
            fields.push_back({f.word, f.shift, (1u << planeWidth(m.bits, p)) - 1u, planeBase(m.bits, p)});
        }
    std::vector<std::uint8_t> row(std::size_t(chunks * kPackedChunkCols));
    std::uint32_t words[8];
    for (std::int64_t r = r0; r < r1; ++r) {
        for (std::int64_t k = 0; k < chunks; ++k) {
            for (int w = 0; w < m.bits; ++w)
                words[w] = readWord(m.codes.data() + wordOffset(m.bits, chunks, r, k, w));
            std::uint8_t* dst = row.data() + k * kPackedChunkCols;
            std::fill(dst, dst + kPackedChunkCols, std::uint8_t(0));
            for (int p = 0; p < planes; ++p)
                for (int col = 0; col < kPackedChunkCols; ++col) {
                    const Field& f = fields[std::size_t(p * kPackedChunkCols + col)];
                    dst[col] = std::uint8_t(dst[col] | (((words[f.word] >> f.shift) & f.mask) << f.base));
                }
        }
        std::uint8_t* o = out + (r - r0) * m.cols;
        for (std::int64_t c = 0; c < m.cols; ++c)
            o[c] = row[std::size_t(pos[std::size_t(c)])];
    }
}

namespace {
std::vector<float> unpackParams(const PackedIntMatrix& m, const std::vector<float>& packed)
{
    checkMatrix("unpackIntScales", m);
    const std::int64_t groups = m.groups();
    std::vector<float> out(std::size_t(m.rows * groups));
    for (std::int64_t r = 0; r < m.rows; ++r)
        for (std::int64_t g = 0; g < groups; ++g)
            out[std::size_t(r * groups + g)] = packed[std::size_t(
                ((r / kPackedTileRows) * groups + g) * kPackedTileRows + r % kPackedTileRows)];
    return out;
}
} // namespace

std::vector<float> unpackIntScales(const PackedIntMatrix& m)
{
    return unpackParams(m, m.scales);
}

std::vector<float> unpackIntZeros(const PackedIntMatrix& m)
{
    return unpackParams(m, m.zeros);
}

// ---- Products ------------------------------------------------------------------------------------------

SimdVariant packedIntVariant()
{
    static const SimdVariant v = [] {
        if (!qgetenv("QUANTSCOPE_KERNELS").isEmpty())
            return activeSimdVariant();
        const std::vector<SimdVariant> all = supportedSimdVariants();
        return all.back();
    }();
    return v;
}

PackedIntInput preparePackedIntInput(SimdVariant v, const PackedIntMatrix& m, const float* x, std::int64_t n)
{
    constexpr const char* where = "preparePackedIntInput";
    PackedIntInput in = inputFor(where, v, m, n, false);
    if (n > 0 && !x)
        fail(where, QStringLiteral("null input"));
    const std::int64_t groups = m.groups(), cpg = m.chunksPerGroup(), cpr = m.chunksPerRow();
    in.x.resize(std::size_t(n * in.paddedCols));
    in.sums.resize(std::size_t(n * groups));
    gather(m, in, x, [&](std::int64_t t0, int t, int ti, const std::vector<float>& row) {
        float* piece = in.x.data() + t0 * in.paddedCols;
        for (std::int64_t c = 0; c < in.paddedCols; ++c)
            piece[c * t + ti] = row[std::size_t(c)];
        for (std::int64_t g = 0; g < groups; ++g) {
            const auto [c0, c1] = groupColumns(g, cpg, cpr);
            double sum = 0;
            for (std::int64_t c = c0; c < c1; ++c)
                sum += double(row[std::size_t(c)]);
            in.sums[std::size_t((t0 + ti) * groups + g)] = float(sum);
        }
    });
    return in;
}

PackedIntInput preparePackedIntInput(SimdVariant v, const PackedIntMatrix& m, const Int8Activations& x)
{
    constexpr const char* where = "preparePackedIntInput";
    PackedIntInput in = inputFor(where, v, m, x.n, true);
    if (x.cols != m.cols || std::int64_t(x.q.size()) != x.n * x.cols || std::int64_t(x.scale.size()) != x.n)
        fail(where, QStringLiteral("activations [%1, %2] do not fit a matrix of %3 columns")
                        .arg(x.n)
                        .arg(x.cols)
                        .arg(m.cols));
    const std::int64_t groups = m.groups(), cpg = m.chunksPerGroup(), cpr = m.chunksPerRow();
    const std::int64_t words = in.paddedCols / 4;
    in.xq.resize(std::size_t(x.n * words));
    in.qsums.resize(std::size_t(x.n * groups));
    in.scales = x.scale;
    gather(m, in, x.q.data(), [&](std::int64_t t0, int t, int ti, const std::vector<std::int8_t>& row) {
        std::uint32_t* piece = in.xq.data() + t0 * words;
        for (std::int64_t c = 0; c < words; ++c)
            std::memcpy(piece + c * t + ti, row.data() + c * 4, 4);
        for (std::int64_t g = 0; g < groups; ++g) {
            const auto [c0, c1] = groupColumns(g, cpg, cpr);
            std::int32_t sum = 0;
            for (std::int64_t c = c0; c < c1; ++c)
                sum += row[std::size_t(c)];
            in.qsums[std::size_t((t0 + ti) * groups + g)] = sum;
        }
    });
    return in;
}

namespace {
bool preparedFor(const PackedIntInput& x, const PackedIntMatrix& m)
{
    const auto n = std::size_t(x.n), groups = std::size_t(m.groups()), padded = std::size_t(x.paddedCols);
    if (x.cols != m.cols || x.groupLength != m.groupLength || x.paddedCols != m.paddedCols() ||
        x.actOrder == m.columnOrder.empty())
        return false;
    if (x.int8)
        return x.xq.size() * 4 == n * padded && x.qsums.size() == n * groups && x.scales.size() == n;
    return x.x.size() == n * padded && x.sums.size() == n * groups;
}
} // namespace

void packedIntMatMul(const PackedIntMatrix& m, std::int64_t r0, std::int64_t r1, const PackedIntInput& x,
                     float* y, std::int64_t ldy, Int8Dot dot)
{
    constexpr const char* where = "packedIntMatMul";
    checkShape(where, m);
    checkVariant(where, x.variant);
    if (!preparedFor(x, m))
        fail(where, QStringLiteral("the inputs were prepared for another matrix shape"));
    if (r0 < 0 || r1 < r0 || r1 > m.rows)
        fail(where, QStringLiteral("rows %1 … %2 outside 0 … %3").arg(r0).arg(r1).arg(m.rows));
    if (x.n > 0 && r1 > r0 && !y)
        fail(where, QStringLiteral("null output"));
    if (x.n > 1 && ldy < r1)
        fail(where, QStringLiteral("output stride %1 is below the rows written (%2)").arg(ldy).arg(r1));
    if (x.int8 && !int8DotSupported(x.variant, dot))
        fail(where, QStringLiteral("the %1 kernels have no VNNI dot product on this CPU")
                        .arg(QLatin1String(simdVariantName(x.variant))));
    if (x.int8 && m.groupLength > kMaxInt8Group)
        fail(where, QStringLiteral("groups of %1 columns (at most %2 for int32 sums)")
                        .arg(m.groupLength)
                        .arg(kMaxInt8Group));
    if (r0 == r1 || x.n == 0)
        return;
    const KernelArgs a = kernelArgs(m, x, r0, r1, y, ldy);
    (x.int8 ? int8Rows(x.variant, dot) : floatRows(x.variant))(a);
}

void packedIntMatMul(SimdVariant v, const PackedIntMatrix& m, std::int64_t r0, std::int64_t r1,
                     const float* x, std::int64_t n, float* y, std::int64_t ldy)
{
    if (r0 < 0 || r1 < r0 || r1 > m.rows || (n > 1 && ldy < r1)) // before gathering
        fail("packedIntMatMul",
             QStringLiteral("rows %1 … %2 of %3 with output stride %4").arg(r0).arg(r1).arg(m.rows).arg(ldy));
    packedIntMatMul(m, r0, r1, preparePackedIntInput(v, m, x, n), y, ldy);
}

void packedIntMatMul(const PackedIntMatrix& m, std::int64_t r0, std::int64_t r1, const float* x,
                     std::int64_t n, float* y, std::int64_t ldy)
{
    packedIntMatMul(packedIntVariant(), m, r0, r1, x, n, y, ldy);
}

void quantizeActivationsInt8(const float* x, std::int64_t n, std::int64_t cols, const char* skip,
                             Int8Activations& out)
{
    if (n < 0 || cols < 1 || (n > 0 && !x))
        fail("quantizeActivationsInt8", QStringLiteral("bad shape [%1, %2]").arg(n).arg(cols));
    constexpr float qmax = 127.0f;
    out.n = n;
    out.cols = cols;
    out.q.assign(std::size_t(n * cols), 0);
    out.scale.assign(std::size_t(n), 0.0f);
    for (std::int64_t t = 0; t < n; ++t) {
        const float* row = x + t * cols;
        float amax = 0;
        for (std::int64_t c = 0; c < cols; ++c)
            if (!skip || !skip[c])
                amax = std::max(amax, std::fabs(row[c]));
        if (amax == 0)
            continue;
        const float scale = amax / qmax, inv = 1.0f / scale;
        out.scale[std::size_t(t)] = scale;
        std::int8_t* q = out.q.data() + t * cols;
        for (std::int64_t c = 0; c < cols; ++c) {
            if (skip && skip[c])
                continue;
            const float v = std::nearbyint(row[c] * inv);
            q[c] = v >= -qmax && v <= qmax ? std::int8_t(v)
                   : v > qmax              ? std::int8_t(127)
                   : v < -qmax             ? std::int8_t(-127)
                                           : std::int8_t(0);
        }
    }
}

bool int8DotSupported(SimdVariant v, Int8Dot dot)
{
    if (!simdVariantSupported(v))
        return false;
    if (dot != Int8Dot::Vnni)
        return true;
    const CpuFeatures& cpu = cpuFeatures();
    return (v == SimdVariant::Avx2 && cpu.avxvnni) || (v == SimdVariant::Avx512 && cpu.avx512vnni);
}

void packedIntMatMulInt8(SimdVariant v, Int8Dot dot, const PackedIntMatrix& m, std::int64_t r0,
                         std::int64_t r1, const Int8Activations& x, float* y, std::int64_t ldy)
{
    if (!int8DotSupported(v, dot)) // before gathering
        fail("packedIntMatMulInt8", QStringLiteral("the %1 kernels have no VNNI dot product on this CPU")
                                        .arg(QLatin1String(simdVariantName(v))));
    packedIntMatMul(m, r0, r1, preparePackedIntInput(v, m, x), y, ldy, dot);
}

void packedIntMatMulInt8(SimdVariant v, const PackedIntMatrix& m, std::int64_t r0, std::int64_t r1,
                         const Int8Activations& x, float* y, std::int64_t ldy)
{
    packedIntMatMulInt8(v, Int8Dot::Auto, m, r0, r1, x, y, ldy);
}

void packedIntMatMulInt8(const PackedIntMatrix& m, std::int64_t r0, std::int64_t r1, const Int8Activations& x,
                         float* y, std::int64_t ldy)
{
    packedIntMatMulInt8(packedIntVariant(), Int8Dot::Auto, m, r0, r1, x, y, ldy);
}

} // namespace qs
