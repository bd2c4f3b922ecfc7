#include "Benchmarks.h"
#include "kernels/GgmlQuants.h"
#include "kernels/SimdVariant.h"
#include "util/Threads.h"

#include <QJsonArray>
#include <algorithm>
#include <cstring>
#include <vector>

namespace qs::bench {

namespace {

// The generator of tests/tst_ggmlquants.cpp (and of the llama.cpp peer driver that times
// ggml_quantize_chunk on the same rows): bell-shaped rows at four magnitudes, one with outliers.
struct SplitMix
{
    std::uint64_t s;
    std::uint64_t next()
    {
        std::uint64_t z = (s += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
};

std::int32_t gaussInt(SplitMix& g)
{
    const std::uint64_t z = g.next();
    return std::int32_t(z & 0xffff) + std::int32_t((z >> 16) & 0xffff) + std::int32_t((z >> 32) & 0xffff) +
           std::int32_t(z >> 48) - 131070;
}

std::vector<float> weightRows(int rows, int cols)
{
    std::vector<float> x(std::size_t(rows) * cols);
    const int kinds[] = {0, 1, 2, 11};
    for (int r = 0; r < rows; ++r) {
        const int kind = kinds[r % 4];
        SplitMix g{(0x9E3779B97F4A7C15ull * std::uint64_t(kind + 1)) ^ 0x51A5C0DEull};
        float* row = x.data() + std::size_t(r) * cols;
        for (int i = 0; i < cols; ++i) {
            std::int32_t a = gaussInt(g);
            if (kind == 2 && g.next() % 37 == 0)
                a *= 23;
            const float scale = kind == 0 ? 2.6e-5f : kind == 1 ? 5.0e-7f : kind == 2 ? 2.0e-6f : 0.026f;
            row[i] = static_cast<float>(a) * scale;
        }
    }
    return x;
}

std::vector<float> importance(int n)
{
    std::vector<float> w(std::size_t(n), 0.f);
    SplitMix g{0xC0FFEE1234ull};
    for (int i = 0; i < n; ++i) {
        std::int32_t v = std::int32_t(1 + g.next() % 1000);
        if (i % 64 == 3)
            v *= 100;
        if (i % 97 == 5)
            v = 0;
        w[std::size_t(i)] = static_cast<float>(v) * 0.01f;
    }
    return w;
}

} // namespace

QJsonObject ggmlQuantThroughput(const Options& opt)
{
    const int rows = opt.quick ? 64 : 1024, cols = 4096;
    const int reps = opt.quick ? 1 : 5; // best of 5: the machines we compare on are shared and noisy
    const std::vector<float> x = weightRows(rows, cols);
    const std::vector<float> imp = importance(cols);
    const double mb = double(x.size()) * 4 / 1e6;
    // The scalar reference on one thread, then the variant the CPU dispatches to on 1 and 2.
    const SimdVariant dispatched = activeSimdVariant();
    struct Run
    {
        SimdVariant variant;
        int threads;
    };
    std::vector<Run> runs = {{SimdVariant::Scalar, 1}, {dispatched, 1}, {dispatched, 2}};
    if (dispatched == SimdVariant::Scalar)
        runs.erase(runs.begin());
    QJsonArray results;
    for (const GgmlTypeInfo& info : kGgmlTypes) {
        if (!info.canQuantize || !info.quantized)
            continue;
        const std::size_t rowBytes = ggmlRowBytes(info.type, cols);
        std::vector<std::uint8_t> out(rowBytes * std::size_t(rows));
        for (bool withImp : {false, true}) {
            if (withImp && !ggmlUsesImportance(info.type))
                continue;
            for (const Run& run : runs) {
                setComputeThreads(run.threads);
                double best = 1e30;
                for (int r = 0; r < reps; ++r) {
                    const double t0 = nowSeconds();
                    forEachRowRange(rows, cols, [&](std::int64_t first, std::int64_t count) {
                        ggmlQuantizeChunk(run.variant, info.type, x.data(), out.data(), first, count, cols,
                                          withImp ? imp.data() : nullptr);
                    });
                    best = std::min(best, nowSeconds() - t0);
                }
                const QString variant = QLatin1String(simdVariantName(run.variant));
                results.append(QJsonObject{{QStringLiteral("type"), QLatin1String(info.name)},
                                           {QStringLiteral("imatrix"), withImp},
                                           {QStringLiteral("threads"), run.threads},
                                           {QStringLiteral("variant"), variant},
                                           {QStringLiteral("seconds"), best},
                                           {QStringLiteral("input_MBps"), mb / best}});
                if (opt.log)
                    opt.log(QStringLiteral("ggml-quant %1%2 %3 threads=%4: %5 MB/s")
                                .arg(QLatin1String(info.name),
                                     withImp ? QStringLiteral(" imatrix") : QString(), variant)
                                .arg(run.threads)
                                .arg(mb / best, 0, 'f', 1));
            }
        }
    }
    setComputeThreads(0);
    return QJsonObject{{QStringLiteral("benchmark"), QStringLiteral("ggml-quant")},
                       {QStringLiteral("rows"), rows},
                       {QStringLiteral("cols"), cols},
                       {QStringLiteral("input_MB"), mb},
                       {QStringLiteral("variant"), QLatin1String(simdVariantName(dispatched))},
                       {QStringLiteral("machine"), machineInfo()},
                       {QStringLiteral("results"), results}};
}

} // namespace qs::bench
