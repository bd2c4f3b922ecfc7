// The f32 GEMMs of two BLAS libraries beside floatMatMul on the linears of a Llama-1B-shaped forward
// (scripts/gemm-yardstick.sh builds and runs it; docs/benchmarks.md has the figures). One block's seven
// products — q, k, v, o (2048 × 2048, 512 × 2048 twice, 2048 × 2048), gate, up (8192 × 2048), down
// (2048 × 8192) — for four blocks, each with its own weights (640 MB of f32, so every block's weights come
// from memory, as in the model), y[n, rows] = x[n, cols] · Wᵀ with W row-major: cblas_sgemm on f32 W,
// floatMatMul on f32 W and on f16 W. One thread (the library's count set by the script). Prints one JSON
// object a line: {"n": …, "gemm": …, "gflops": …, "rep": …}.
#include "kernels/Convert.h"
#include "kernels/FloatMatMul.h"

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

extern "C" void cblas_sgemm(int order, int transA, int transB, int m, int n, int k, float alpha,
                            const float* a, int lda, const float* b, int ldb, float beta, float* c, int ldc);

namespace {

constexpr int kRowMajor = 101, kNoTrans = 111, kTrans = 112;

struct Shape
{
    int rows, cols;
};

} // namespace

int main(int argc, char** argv)
{
    const int n = argc > 1 ? std::atoi(argv[1]) : 128, reps = argc > 2 ? std::atoi(argv[2]) : 4;
    const std::vector<Shape> block = {{2048, 2048}, {512, 2048},  {512, 2048}, {2048, 2048},
                                      {8192, 2048}, {8192, 2048}, {2048, 8192}};
    const int blocks = 4;
    std::vector<std::vector<float>> f32;
    std::vector<std::vector<std::uint16_t>> f16;
    double flops = 0;
    std::uint32_t seed = 1;
    for (int b = 0; b < blocks; ++b)
        for (const Shape& s : block) {
            std::vector<float> w(std::size_t(s.rows) * std::size_t(s.cols));
            std::vector<std::uint16_t> h(w.size());
            for (std::size_t i = 0; i < w.size(); ++i) {
                seed = seed * 1664525u + 1013904223u;
                w[i] = float(seed >> 8) / 16777216.f - 0.5f;
                h[i] = qs::ref::f32ToF16(w[i]);
            }
            f32.push_back(std::move(w));
            f16.push_back(std::move(h));
            flops += 2.0 * n * s.rows * s.cols;
        }
    std::vector<float> x(std::size_t(n) * 8192), y(std::size_t(n) * 8192);
    for (std::size_t i = 0; i < x.size(); ++i)
        x[i] = float(i % 97) / 97.f - 0.5f;
    const char* names[] = {"blas-sgemm-f32", "floatMatMul-f32", "floatMatMul-f16"};
    for (int rep = 0; rep < reps; ++rep)
        for (int g = 0; g < 3; ++g) {
            const auto t0 = std::chrono::steady_clock::now();
            std::size_t i = 0;
            for (int b = 0; b < blocks; ++b)
                for (const Shape& s : block) {
                    if (g == 0)
                        cblas_sgemm(kRowMajor, kNoTrans, kTrans, n, s.rows, s.cols, 1.f, x.data(), s.cols,
                                    f32[i].data(), s.cols, 0.f, y.data(), s.rows);
                    else if (g == 1)
                        qs::floatMatMul(qs::DType::F32, f32[i].data(), s.cols, 0, s.rows, x.data(), n,
                                        y.data(), s.rows);
                    else
                        qs::floatMatMul(qs::DType::F16, f16[i].data(), s.cols, 0, s.rows, x.data(), n,
                                        y.data(), s.rows);
                    ++i;
                }
            const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            std::printf("{\"n\": %d, \"gemm\": \"%s\", \"gflops\": %.1f, \"rep\": %d}\n", n, names[g],
                        flops / s * 1e-9, rep);
        }
    return 0;
}
