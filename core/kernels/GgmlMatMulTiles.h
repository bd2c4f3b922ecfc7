#pragma once

// Internal to the SIMD files of the ggml matrix products (GgmlMatMulAvx2.cpp, GgmlMatMulAvx512.cpp):
// the loops over rows and tokens around a tile kernel. A tile kernel computes R weight rows against
// T tokens over the whole row, each (row, token) pair through its own accumulators in the same
// order of operations whatever R and T are, so a result does not depend on the tile it fell in,
// on the row range of the call, or on the number of tokens.
//
// Decode (one token) walks the rows RowsGemv at a time, streaming each weight byte once. Prefill
// takes the rows in blocks of kRowBlock (they stay in L2), and within a block runs every token
// tile over row tiles of RowsGemm: a weight block unpacked into registers meets TokensGemm tokens.

#include "kernels/GgmlMatMulKernels.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace qs::ggmlmm {

/// Tile: a class with `template <int R, int T> static void run(const std::uint8_t* const* w,
/// const std::uint8_t* const* x, std::int64_t blocks, const void* const* prepared, float* out)`
/// writing out[i·T + j]. A tile whose rows need per-block unpacking (the super-block scales) also
/// gives kPreparedBytes (per block) and `prepare(const std::uint8_t* row, std::int64_t blocks,
/// void* out)`: prefill then unpacks each row of a row block once for all its token tiles and
/// hands run() each row's prepared blocks (64-byte aligned); a one-token tile (T = 1) ignores them
/// and unpacks as it goes (decode meets each row once; its pointers are null). Both give the same
/// values.
template <class Tile>
concept PreparesRows = requires
{
    Tile::kPreparedBytes;
};

template <class Tile, int RowsGemv, int RowsGemm, int TokensGemm>
struct TiledMatMul
{
    static void run(const MatMulArgs& a, std::int64_t blocks)
    {
        if (a.n == 1) {
            std::int64_t r = a.r0;
            for (; r + RowsGemv <= a.r1; r += RowsGemv)
                tile<RowsGemv, 1>(a, blocks, r, 0, Prepared{});
            for (; r < a.r1; ++r)
                tile<1, 1>(a, blocks, r, 0, Prepared{});
            return;
        }
        std::vector<unsigned char> scratch;
        Prepared prepared;
        if constexpr (PreparesRows<Tile>) {
            prepared.stride = (std::size_t(blocks) * Tile::kPreparedBytes + 63) / 64 * 64;
            scratch.resize(prepared.stride * std::size_t(kRowBlock) + 64);
            const auto misalign = reinterpret_cast<std::uintptr_t>(scratch.data()) % 64;
            prepared.base = scratch.data() + (64 - misalign) % 64;
        }
        for (std::int64_t rb = a.r0; rb < a.r1; rb += kRowBlock) {
            const std::int64_t re = std::min(a.r1, rb + kRowBlock);
            if constexpr (PreparesRows<Tile>) {
                prepared.firstRow = rb;
                for (std::int64_t r = rb; r < re; ++r)
                    Tile::prepare(a.w + std::size_t(r) * a.rowBytes, blocks, prepared.row(r));
            }
            std::int64_t t = 0;
            for (; t + TokensGemm <= a.n; t += TokensGemm)
                rows<TokensGemm>(a, blocks, rb, re, t, prepared);
            for (; t < a.n; ++t)
                rows<1>(a, blocks, rb, re, t, prepared);
        }
    }

private:
    /// The prepared rows of the current row block (prefill of a tile that prepares rows), or none.
    struct Prepared
    {
        unsigned char* base = nullptr;
        std::size_t stride = 0;
        std::int64_t firstRow = 0;
        unsigned char* row(std::int64_t r) const
        {
            return base ? base + std::size_t(r - firstRow) * stride : nullptr;
        }
    };

    template <int T>
    static void rows(const MatMulArgs& a, std::int64_t blocks, std::int64_t rb, std::int64_t re,
                     std::int64_t t, const Prepared& prepared)
    {
        std::int64_t r = rb;
        for (; r + RowsGemm <= re; r += RowsGemm)
            tile<RowsGemm, T>(a, blocks, r, t, prepared);
        for (; r < re; ++r)
            tile<1, T>(a, blocks, r, t, prepared);
    }

    template <int R, int T>
    static void tile(const MatMulArgs& a, std::int64_t blocks, std::int64_t r, std::int64_t t,
                     const Prepared& prepared)
    {
        const std::uint8_t* w[R];
        const std::uint8_t* x[T];
        const void* prep[R];
        for (int i = 0; i < R; ++i) {
            w[i] = a.w + std::size_t(r + i) * a.rowBytes;
            prep[i] = prepared.row(r + i);
        }
        for (int j = 0; j < T; ++j)
            x[j] = a.xq + std::size_t(t + j) * a.xRowBytes;
        float out[R * T];
        Tile::template run<R, T>(w, x, blocks, prep, out);
        for (int j = 0; j < T; ++j)
            for (int i = 0; i < R; ++i)
                a.y[(t + j) * a.ldy + r + i] = out[i * T + j];
    }
};

} // namespace qs::ggmlmm
