#pragma once

// Internal to core/kernels: the per-variant matrix-product kernels behind GgmlMatMul.h, and the
// scalar unpacking of block scales they share. Each variant lives in its own file
// (GgmlMatMulRef.cpp, GgmlMatMulAvx2.cpp, GgmlMatMulAvx512.cpp) and hands out one kernel per
// weight type; GgmlMatMul.cpp checks the arguments and picks the variant.

#include "tensor/GgmlBlocks.h"
#include "tensor/GgmlTypes.h"

#include <cstddef>
#include <cstdint>

namespace qs::ggmlmm {

/// One call's work, checked by GgmlMatMul.cpp: weight rows [r0, r1) of `w` (rows of rowBytes),
/// activation rows [0, n) of `xq` (rows of xRowBytes), cols values each, into y[t·ldy + r].
struct MatMulArgs
{
    const std::uint8_t* w;
    std::size_t rowBytes;
    std::int64_t cols;
    std::int64_t r0, r1;
    const std::uint8_t* xq;
    std::size_t xRowBytes;
    std::int64_t n;
    float* y;
    std::int64_t ldy;
    std::int64_t rows = 0; ///< interleaved kernels: all rows of the matrix ([r0, r1) in its full groups)
};
using MatMulFn = void (*)(const MatMulArgs&);

/// The kernel of a variant for a weight type; nullptr where the variant has none (or this build
/// or target lacks the instruction set).
MatMulFn scalarMatMul(GgmlType type);
MatMulFn avx2MatMul(GgmlType type);
MatMulFn avx512MatMul(GgmlType type); ///< AVX-512 F/BW/VL/DQ + VNNI

/// The kernels on the interleaved layout (GgmlMatMul.h) of Q4_0, Q8_0, IQ4_NL, Q4_K, Q6_K and IQ4_XS, for
/// rows [r0, r1) inside the full groups of a.rows rows; nullptr for other types. The checks both entry points
/// (row and interleaved layouts) make before any work: pointers present and, for several tokens, an output
/// stride past the row range (qs::Error naming the type).
void checkMatMulBuffers(GgmlType type, const void* w, const void* xq, const float* y, std::int64_t n,
                        std::int64_t ldy, std::int64_t r1);

MatMulFn scalarInterleavedMatMul(GgmlType type);
MatMulFn avx512InterleavedMatMul(GgmlType type);

/// A group's block b of the interleaved layout starts at group + b·16·S; its binary16 scales come
/// first (32 bytes), then the code chunks.
inline constexpr int kIlRows = 16;
inline constexpr int kIlScaleBytes = 2 * kIlRows;
/// Q4_K: d and dmin (32 bytes each), the 12 scale bytes in three chunks, then the 128 code bytes
/// in 32 chunks (chunk 8k + c: bytes 32k + 4c … of each row; low nibbles group 2k, high 2k+1).
inline constexpr int kIlK4Scales = 64;
inline constexpr int kIlK4Codes = 64 + 3 * 64;
/// Q6_K: d (32 bytes), the 16 int8 scales in four chunks, the 128 ql bytes in 32 chunks, the 64
/// qh bytes in 16 chunks (chunk k: bytes 4k … 4k+3 of each row).
inline constexpr int kIlK6Scales = kIlScaleBytes;
inline constexpr int kIlK6Ql = kIlK6Scales + 4 * 64;
inline constexpr int kIlK6Qh = kIlK6Ql + 32 * 64;

/// IQ4_XS: d (32 bytes), scales_h (32 bytes: 2 per row), scales_l (one chunk: 4 per row), then the
/// 128 code bytes in 32 chunks (chunk 4g + k: bytes 16g + 4k … of each row; low nibbles values
/// 4k … of group g, high nibbles values 16 + 4k …).
inline constexpr int kIlXsScalesH = kIlScaleBytes;
inline constexpr int kIlXsScalesL = 2 * kIlScaleBytes;
inline constexpr int kIlXsCodes = kIlXsScalesL + 64;

/// Code j (0–31) of row l of an interleaved Q4_0/IQ4_NL block (the nibble) or Q8_0 block (the
/// stored byte, code + 128).
inline int interleavedNibble(const std::uint8_t* block, int l, int j)
{
    const int byte = j % 16;
    const std::uint8_t v = block[kIlScaleBytes + 64 * (byte / 4) + 4 * l + byte % 4];
    return j < 16 ? (v & 0xF) : (v >> 4);
}
inline int interleavedByte(const std::uint8_t* block, int l, int j)
{
    return block[kIlScaleBytes + 64 * (j / 4) + 4 * l + j % 4];
}

/// Tiling shared by the SIMD variants: weight rows are taken in blocks small enough to stay in L2
/// while every token tile passes over them, so the activations stream once per block of rows.
inline constexpr std::int64_t kRowBlock = 64;

/// Decode streams every weight byte once from memory: the hardware prefetchers alone leave the
/// kernels waiting on DRAM (measured on the EPYC: Q8_0, Q4_0 and Q6_K
/// decode at half the rate they reach when each row prefetches 2 KiB ahead). A tile
/// of R rows reads its rows side by side; each row's stream continues, past the row's end, R rows
/// further on (the next tile's row), as the rows are contiguous. Prefetch instructions never fault,
/// so addresses past the matrix are harmless.
inline constexpr std::size_t kPrefetchBytes = 2048;
/// The same distance for the interleaved layout's decode (GgmlMatMulAvx512.cpp), where a group of
/// kIlRows rows is one stream, by vendor. 4 KiB on AMD: on the Zen 5 host, alternating `bench eval --one`
/// decode runs of the 1B-shaped model (4 blocks, 1 thread) gave Q4_K_M 126-174 tok/s against
/// 109-152 with 2 KiB (six alternations, every one higher), IQ4_XS 169-190 against 124-166 (three), Q4_0
/// 104-186 against 111-155 (four of six higher), Q4_K_M at 2 threads 238-274 against 208-236;
/// Q8_0 did not move (61-89 against 65-84; on AMD it now decodes without, IlQ8_0); 3, 6 and 8 KiB fell
/// between or level. A k-quant block of 16 rows is 2-3.4 KB: 2 KiB ahead was less than one block.
inline constexpr std::size_t kIlPrefetchBytesAmd = 4096;
/// 2 KiB elsewhere: on an Intel Xeon with AMX (2026-12-07), the same runs at 1 thread, alternating, gave
/// Q4_0 64.4-66.5 tok/s against 55.8-62.1 with 4 KiB (three), Q4_K_M 52.5-52.8 against 42.1-45.0, IQ4_XS
/// 64.9-67.5 against 60.8-63.5, Q8_0 40.0-41.4 against 38.5-38.6 (two each); 8 KiB was slower (Q4_0
/// 47.9-51.5 against 51.1-56.0); at 2 threads level (Q4_0 129.7-138.5 against 131.4-143.2, Q4_K_M
/// 110.2-113.3 against 100.3-116.5).
inline constexpr std::size_t kIlPrefetchBytesOther = 2048;
/// Groups of kIlRows rows that the legacy formats' decode (Q4_0, Q8_0, IQ4_NL) reads side by side, except
/// on AMD (its tuning predates this and was not remeasured): one core reads faster following several streams
/// at once (an Intel Xeon with AMX, 1 GiB summed with 64-byte loads: 14.1 GB/s as one stream, 14.9 as four,
/// 15.3 as eight or sixteen). There, alternating `bench eval --one` decode runs of the 1B-shaped model (4
/// blocks) with llama-bench in the same loop: Q8_0 at 1 thread 43.8-45.3 tok/s against 40.3-42.6 one group
/// at a time (llama.cpp 36.5-37.1), at 2 threads 86.1-93.2 against 79.7-82.1 (llama.cpp 71.1-75.9); Q4_0 at
/// 1 thread 66.2-67.1 against 60.7-65.1 (4 groups 64.0-64.8). Q8_0 with 4, 12 and 16 groups 40.6-43.7,
/// 40.6-42.1, 39.3-43.3 against 42.3-43.3 with 8; prefetching 1 or 3 KiB ahead instead of 2 level, without
/// slower (38.7-39.3 against 41.8-42.5), adding prefetcht1 4-16 KiB ahead level or slower; IQ4_NL not
/// measured.
inline constexpr int kIlDecodeGroups = 8;
/// The same for Q4_K, whose blocks of 16 rows are 2.3 KB: 2 groups. The same runs, Q4_K_M (its Q4_K
/// layers): 1 thread 60.0-64.0 tok/s against 57.1-61.3 one group at a time (six alternations), 2 threads
/// 132.9-140.9 against 121.9-126.0 (three); 4 groups 59.0-63.2 / 127.7-138.1, 8 groups 56.4-63.7 (1
/// thread).
inline constexpr int kIlDecodeGroupsQ4K = 2;
/// And for Q6_K (3.4 KB blocks of 16 rows) and IQ4_XS (2.2 KB): 2 groups. Alternating `bench eval --one`
/// decode runs (2026-12-07, the same host), one group at a time / 2 / 4: Q4_K_M (the Q6_K layers; its
/// Q4_K ones at 2 throughout) 1 thread 53.0-55.1 / 55.5-58.3 / 55.9-56.8 tok/s, 2 threads 108.6-119.2 /
/// 121.6-128.1 / 116.2-121.1; IQ4_XS 1 thread 57.3-70.0 / 66.7-74.1 / 60.6-69.5 (five rounds, 2 never
/// below 1 in the same round), 2 threads 120.1-126.9 / 136.6-139.4 / 134.1-139.3.
inline constexpr int kIlDecodeGroupsQ6K = 2;
inline constexpr int kIlDecodeGroupsIQ4XS = 2;

template <int R>
inline const char* prefetchAddress(const void* row, std::size_t rowBytes, std::size_t pos)
{
    pos += kPrefetchBytes;
    if (pos >= rowBytes)
        pos += (R - 1) * rowBytes;
    return reinterpret_cast<const char*>(reinterpret_cast<std::uintptr_t>(row) +
                                         pos); // may lie past the matrix
}

/// The 8 six-bit scales and mins of a Q4_K/Q5_K super-block (12 packed bytes).
inline void unpackKScalesMins(const std::uint8_t* p, std::uint8_t sc[8], std::uint8_t mn[8])
{
    for (int j = 0; j < 4; ++j) {
        sc[j] = p[j] & 63;
        mn[j] = p[j + 4] & 63;
        sc[j + 4] = std::uint8_t((p[j + 8] & 0xF) | ((p[j] >> 6) << 4));
        mn[j + 4] = std::uint8_t((p[j + 8] >> 4) | ((p[j + 4] >> 6) << 4));
    }
}

/// The 16 signed group scales of a Q3_K super-block (stored +32 in 6 bits).
inline void unpackQ3Scales(const std::uint8_t* p, std::int8_t sc[16])
{
    for (int j = 0; j < 16; ++j) {
        const int low = j < 8 ? (p[j] & 0xF) : (p[j - 8] >> 4);
        sc[j] = std::int8_t((low | (((p[8 + j % 4] >> (2 * (j / 4))) & 3) << 4)) - 32);
    }
}

/// The signed scale (ls − 32) of group g of an IQ4_XS super-block.
inline int iq4xsScale(const ggml::BlockIQ4_XS& b, int g)
{
    return (((b.scalesL[g / 2] >> (4 * (g % 2))) & 0xF) | (((b.scalesH >> (2 * g)) & 3) << 4)) - 32;
}

/// IQ4_NL/IQ4_XS code book (kvalues_iq4nl).
inline constexpr std::int8_t kIq4Table[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                              1,    13,   25,  38,  53,  69,  89,  113};

} // namespace qs::ggmlmm
