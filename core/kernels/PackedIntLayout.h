#pragma once

// Internal to core/kernels: the bit planes of the packed integer layout (kernels/PackedInt.h
// describes it) and the entry points of the lane kernels, one set per variant
// (PackedIntVec128.cpp, PackedIntAvx2.cpp, PackedIntAvx512.cpp, all built from
// PackedIntLanes.inc). PackedInt.cpp packs, checks arguments, gathers inputs and dispatches.

#include <cstdint>

namespace qs::packedint {

/// Planes of a code of `bits` bits, low plane first: widths 8, 4, 2 or 1. Plane i occupies
/// planeWidth words of a chunk starting at word planeBase, and holds the code's bits from
/// planeBase up (word offset and bit offset coincide because a plane of width p takes p words).
constexpr int planeCount(int bits)
{
    return bits == 7 ? 3 : (bits == 3 || bits == 5 || bits == 6) ? 2 : 1;
}
constexpr int planeWidth(int bits, int plane)
{
    constexpr int widths[9][3] = {{0, 0, 0}, {0, 0, 0}, {2, 0, 0}, {2, 1, 0}, {4, 0, 0},
                                  {4, 1, 0}, {4, 2, 0}, {4, 2, 1}, {8, 0, 0}};
    return widths[bits][plane];
}
constexpr int planeBase(int bits, int plane)
{
    return plane == 0 ? 0 : planeBase(bits, plane - 1) + planeWidth(bits, plane - 1);
}

/// Byte offset of the word holding row `lane` of a tile, column `col` (0…31) of a chunk, in
/// plane `plane`; and the bit where that column's field starts inside the word.
struct FieldPos
{
    int word, shift;
};
constexpr FieldPos fieldPos(int bits, int plane, int col)
{
    const int p = planeWidth(bits, plane), perWord = 8 / p, e = col / 4, i = col % 4;
    return {planeBase(bits, plane) + e / perWord, 8 * i + p * (e % perWord)};
}

/// Inputs are gathered once per product into the packed column order (zero padded) and cut into
/// pieces of tokens: blocks of kTokenBlock tokens (a block's inputs stay in L2 while every row of
/// the call streams past), each block cut into pieces of the variant's maxTokens, then halves. A
/// piece of t tokens from t0 on holds its inputs transposed, [column][t], at t0 · (row length)
/// (f32 inputs: one float a column; int8: one word of four columns), so a kernel finds every input
/// it broadcasts at a constant offset from one pointer.
constexpr std::int64_t kTokenBlock = 64;
constexpr int kMaxTokensScalar = 16, kMaxTokensVec128 = 2, kMaxTokensAvx2 = 2, kMaxTokensAvx512 = 4;

/// Tokens in the piece that starts `remaining` tokens before its block ends.
inline int pieceTokens(std::int64_t remaining, int maxTokens)
{
    int t = maxTokens;
    while (t > remaining)
        t /= 2;
    return t;
}

/// fn(t0, t) for every piece of n tokens, in order.
template <class F>
void forEachPiece(std::int64_t n, int maxTokens, F&& fn)
{
    for (std::int64_t b0 = 0; b0 < n; b0 += kTokenBlock) {
        const std::int64_t b1 = b0 + kTokenBlock < n ? b0 + kTokenBlock : n;
        for (std::int64_t t0 = b0; t0 < b1;) {
            const int t = pieceTokens(b1 - t0, maxTokens);
            fn(t0, t);
            t0 += t;
        }
    }
}

/// What a lane kernel needs of a matrix and of the prepared inputs.
struct KernelArgs
{
    int bits = 0;
    std::int64_t chunksPerRow = 0, chunksPerGroup = 0, groups = 0;
    const std::uint8_t* codes = nullptr;
    const float* scales = nullptr;
    const float* zeros = nullptr;
    std::int64_t n = 0;                   ///< tokens
    std::int64_t ldx = 0;                 ///< padded columns (chunksPerRow · 32)
    int maxTokens = 0;                    ///< the pieces' size
    const float* x = nullptr;             ///< f32 path: pieces of floats
    const float* xSums = nullptr;         ///< f32 path: Σx per [token, group]
    const std::uint32_t* xq = nullptr;    ///< int8 path: pieces of words
    const std::int32_t* xqSums = nullptr; ///< int8 path: Σq per [token, group]
    const float* xScales = nullptr;       ///< int8 path: [token]
    float* y = nullptr;
    std::int64_t ldy = 0;
    std::int64_t r0 = 0, r1 = 0; ///< rows written
};

/// Rows [r0, r1): float inputs, or int8 inputs (vnni: vpdpbusd, else maddubs).
void floatRowsVec128(const KernelArgs& a);
void int8RowsVec128(const KernelArgs& a);
#if defined(__x86_64__) || defined(__i386__)
void floatRowsAvx2(const KernelArgs& a);
void int8RowsAvx2(const KernelArgs& a);
void int8RowsAvxVnni(const KernelArgs& a);
void floatRowsAvx512(const KernelArgs& a);
void int8RowsAvx512(const KernelArgs& a);
void int8RowsAvx512Vnni(const KernelArgs& a);
#endif

} // namespace qs::packedint
