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
#include <cstdint>

namespace qs::ggmlmm {

/// Tile: a class with `template <int R, int T> static void run(const std::uint8_t* const* w,
/// const std::uint8_t* const* x, std::int64_t blocks, float* out)` writing out[i·T + j].
template <class Tile, int RowsGemv, int RowsGemm, int TokensGemm>
struct TiledMatMul
{
    static void run(const MatMulArgs& a, std::int64_t blocks)
    {
        if (a.n == 1) {
            std::int64_t r = a.r0;
            for (; r + RowsGemv <= a.r1; r += RowsGemv)
                tile<RowsGemv, 1>(a, blocks, r, 0);
            for (; r < a.r1; ++r)
                tile<1, 1>(a, blocks, r, 0);
            return;
        }
        for (std::int64_t rb = a.r0; rb < a.r1; rb += kRowBlock) {
            const std::int64_t re = std::min(a.r1, rb + kRowBlock);
            std::int64_t t = 0;
            for (; t + TokensGemm <= a.n; t += TokensGemm)
                rows<TokensGemm>(a, blocks, rb, re, t);
            for (; t < a.n; ++t)
                rows<1>(a, blocks, rb, re, t);
        }
    }

private:
    template <int T>
    static void rows(const MatMulArgs& a, std::int64_t blocks, std::int64_t rb, std::int64_t re,
                     std::int64_t t)
    {
        std::int64_t r = rb;
        for (; r + RowsGemm <= re; r += RowsGemm)
            tile<RowsGemm, T>(a, blocks, r, t);
        for (; r < re; ++r)
            tile<1, T>(a, blocks, r, t);
    }

    template <int R, int T>
    static void tile(const MatMulArgs& a, std::int64_t blocks, std::int64_t r, std::int64_t t)
    {
        const std::uint8_t* w[R];
        const std::uint8_t* x[T];
        for (int i = 0; i < R; ++i)
            w[i] = a.w + std::size_t(r + i) * a.rowBytes;
        for (int j = 0; j < T; ++j)
            x[j] = a.xq + std::size_t(t + j) * a.xRowBytes;
        float out[R * T];
        Tile::template run<R, T>(w, x, blocks, out);
        for (int j = 0; j < T; ++j)
            for (int i = 0; i < R; ++i)
                a.y[(t + j) * a.ldy + r + i] = out[i * T + j];
    }
};

} // namespace qs::ggmlmm
