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

/// What a lane kernel needs of a matrix and of one block of prepared inputs (tokens gathered in
/// the packed column order, zero padded; per-group input sums).
struct KernelArgs
{
    int bits = 0;
    std::int64_t chunksPerRow = 0, chunksPerGroup = 0, groups = 0;
    const std::uint8_t* codes = nullptr;
    const float* scales = nullptr;
    const float* zeros = nullptr;
    std::int64_t n = 0;                   ///< tokens in this block
    std::int64_t ldx = 0;                 ///< = chunksPerRow · 32: stride of the gathered tokens
    const float* x = nullptr;             ///< float path: [n, ldx]
    const float* xSums = nullptr;         ///< float path: [n, groups]
    const std::int8_t* xq = nullptr;      ///< int8 path: [n, ldx]
    const std::int32_t* xqSums = nullptr; ///< int8 path: [n, groups]
    const float* xScales = nullptr;       ///< int8 path: [n]
    float* y = nullptr;
    std::int64_t ldy = 0;
    std::int64_t r0 = 0, r1 = 0; ///< rows written
};

/// Rows [r0, r1) of one token block: float inputs, or int8 inputs (vnni: vpdpbusd, else maddubs).
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
