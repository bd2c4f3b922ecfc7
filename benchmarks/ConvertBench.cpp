#include "Benchmarks.h"

#include "kernels/Convert.h"

#include <QJsonArray>

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <vector>

namespace qs::bench {

namespace {

// Best of `reps` passes converting n elements, split in row chunks across `threads` threads.
double bestSeconds(int threads, int reps, const std::function<void(std::size_t, std::size_t)>& chunk, std::size_t n)
{
    double best = 1e30;
    for (int r = 0; r < reps; ++r) {
        const double t0 = nowSeconds();
        const std::size_t rows = 4096;
        const std::size_t per = (n + rows - 1) / rows;
#pragma omp parallel for num_threads(threads) schedule(static)
        for (std::size_t i = 0; i < rows; ++i) {
            const std::size_t b = i * per, e = std::min(n, b + per);
            if (b < e)
                chunk(b, e);
        }
        best = std::min(best, nowSeconds() - t0);
    }
    return best;
}

} // namespace

QJsonObject convertThroughput(const Options& opt)
{
    const std::size_t n = opt.quick ? (std::size_t(8) << 20) : (std::size_t(64) << 20); // elements
    const int reps = opt.quick ? 3 : 7;
    std::vector<std::uint16_t> half(n);
    std::vector<float> out(n), src(n);
    std::mt19937 rng(7);
    std::normal_distribution<float> dist(0.f, 1.f);
    for (std::size_t i = 0; i < n; ++i) {
        src[i] = dist(rng);
        half[i] = ref::f32ToF16(src[i]);
    }
    QJsonArray rows;
    for (int threads : {1, 2}) {
        auto report = [&](const char* what, double secs, double inBytesPerElem, double outBytesPerElem) {
            const double inGB = double(n) * inBytesPerElem / 1e9, outGB = double(n) * outBytesPerElem / 1e9;
            rows.append(QJsonObject{{QStringLiteral("op"), QLatin1String(what)},
                                    {QStringLiteral("threads"), threads},
                                    {QStringLiteral("elements"), qint64(n)},
                                    {QStringLiteral("seconds"), secs},
                                    {QStringLiteral("input_GBps"), inGB / secs},
                                    {QStringLiteral("output_GBps"), outGB / secs},
                                    {QStringLiteral("traffic_GBps"), (inGB + outGB) / secs}});
            if (opt.log)
                opt.log(QStringLiteral("convert %1 threads=%2: %3 GB/s in+out")
                            .arg(QLatin1String(what))
                            .arg(threads)
                            .arg((inGB + outGB) / secs, 0, 'f', 2));
        };
        report("f16->f32", bestSeconds(threads, reps, [&](std::size_t b, std::size_t e) {
            convertToF32(DType::F16, half.data() + b, out.data() + b, e - b);
        }, n), 2, 4);
        report("bf16->f32", bestSeconds(threads, reps, [&](std::size_t b, std::size_t e) {
            convertToF32(DType::BF16, half.data() + b, out.data() + b, e - b);
        }, n), 2, 4);
        report("f16->f32 scalar reference", bestSeconds(threads, reps, [&](std::size_t b, std::size_t e) {
            ref::convertRow(DType::F16, half.data() + b, out.data() + b, e - b);
        }, n), 2, 4);
        report("memcpy f32 (memory-speed yardstick)", bestSeconds(threads, reps, [&](std::size_t b, std::size_t e) {
            std::memcpy(out.data() + b, src.data() + b, (e - b) * 4);
        }, n), 4, 4);
    }
    return QJsonObject{{QStringLiteral("benchmark"), QStringLiteral("convert")},
                       {QStringLiteral("variant"), QLatin1String(convertVariantName())},
                       {QStringLiteral("machine"), machineInfo()},
                       {QStringLiteral("results"), rows}};
}

} // namespace qs::bench
