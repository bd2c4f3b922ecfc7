#include "Benchmarks.h"

#include "util/StreamBuffer.h"

#include <QFile>
#include <QSysInfo>
#include <QThread>
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

namespace qs::bench {

const std::vector<Benchmark>& all()
{
    static const std::vector<Benchmark> table{
        {"convert", "bf16/f16 → f32 row conversion throughput (GB/s) at 1 and 2 threads vs memcpy",
         convertThroughput},
        {"inspect", "model open + summary time on sparse synthetic checkpoints of growing size",
         inspectScaling},
        {"gptq-model",
         "whole-model GPTQ int4 g32 on stories260K, 128 x 512 calibration tokens: seconds, peak RSS",
         quantizeModel},
        {"eval",
         "pp512/tg128 tokens/s and peak RSS per GGUF format (1 and 2 threads) vs llama-bench (--llama-cpp)",
         evalThroughput},
        {"gptq", "GPTQ int4 g128 on a 4096×11008 down_proj (1 and 2 threads) vs a per-column implementation",
         gptqThroughput},
        {"ggml-quant",
         "ggml block quantization (Q4_0 … Q6_K, IQ4) of 1024×4096 f32 rows: MB/s in, 1 and 2 threads, ± "
         "imatrix",
         ggmlQuantThroughput},
        {"kernels",
         "matmul per weight format (f32, f16, bf16; Eigen f32 yardstick), 4096×4096 and 14336×4096: GEMV "
         "GB/s vs memcpy and read bandwidth (caches flushed for the large shape), GEMM n=512 GFLOP/s vs a "
         "1-core f32 FMA (and vdpbf16ps) peak, 1 and 2 threads",
         kernelThroughput},
        {"gui",
         "longest event-loop stall of the window (offscreen) per phase: load, RTN/GPTQ/Q4_K runs, sweep, "
         "Export GGUF, page visits; kjv7M and a 1B-shaped model (4 blocks; --layers); goal <= 50 ms",
         guiStalls},
    };
    return table;
}

const Benchmark* find(const QString& name)
{
    for (const Benchmark& b : all()) {
        if (name == QLatin1String(b.name))
            return &b;
    }
    return nullptr;
}

QString listText()
{
    QString s;
    for (const Benchmark& b : all())
        s += QStringLiteral("  %1 %2\n")
                 .arg(QString::fromLatin1(b.name).leftJustified(10), QString::fromUtf8(b.summary));
    return s;
}

double nowSeconds()
{
    using namespace std::chrono;
    return duration<double>(steady_clock::now().time_since_epoch()).count();
}

QJsonObject machineInfo()
{
    return QJsonObject{{QStringLiteral("cpu_threads"), QThread::idealThreadCount()},
                       {QStringLiteral("kernel"), QSysInfo::kernelVersion()},
                       {QStringLiteral("arch"), QSysInfo::currentCpuArchitecture()}};
}

double readBandwidthGBps(std::size_t bytes, int threads, int reps, bool smallPages)
{
    threads = std::max(1, threads);
    const std::size_t words = bytes / sizeof(std::uint64_t);
    std::vector<std::uint64_t> heap(smallPages ? words : 0);
    const std::shared_ptr<std::uint8_t> stream =
        smallPages ? nullptr : allocateStreamBuffer(words * sizeof(std::uint64_t));
    std::uint64_t* const buffer = smallPages ? heap.data() : reinterpret_cast<std::uint64_t*>(stream.get());
    for (std::size_t i = 0; i < words; ++i)
        buffer[i] = i * 0x9E3779B97F4A7C15ull;
    std::vector<std::uint64_t> sums(static_cast<std::size_t>(threads));
    // Two ways of reading, the better one counts: the plain loop (the hardware prefetcher alone),
    // and one that also asks for the line 4 KiB ahead (with one thread the hardware prefetcher
    // leaves bandwidth unused, as the decode kernels found).
    const auto sumPart = [&](int part, bool prefetch) {
        const std::size_t first = words * std::size_t(part) / std::size_t(threads);
        const std::size_t last = words * std::size_t(part + 1) / std::size_t(threads);
        std::uint64_t acc[8] = {};
        std::size_t i = first;
        constexpr std::size_t ahead = 4096 / sizeof(std::uint64_t);
        for (; i + 8 <= last; i += 8) {
            if (prefetch)
                __builtin_prefetch(buffer + std::min(i + ahead, words - 1), 0, 3);
            for (int k = 0; k < 8; ++k)
                acc[k] += buffer[i + std::size_t(k)];
        }
        for (; i < last; ++i)
            acc[0] += buffer[i];
        std::uint64_t s = 0;
        for (std::uint64_t a : acc)
            s += a;
        sums[std::size_t(part)] = s;
    };
    double best = 1e30;
    for (int rep = 0; rep < 2 * reps; ++rep) {
        const bool prefetch = rep % 2 == 1;
        const double t0 = nowSeconds();
        std::vector<std::thread> pool;
        for (int part = 1; part < threads; ++part)
            pool.emplace_back(sumPart, part, prefetch);
        sumPart(0, prefetch);
        for (std::thread& t : pool)
            t.join();
        best = std::min(best, nowSeconds() - t0);
    }
    std::uint64_t check = 0; // keeps the sums alive
    for (std::uint64_t s : sums)
        check ^= s;
    return check == 1 ? 0.0 : double(words * sizeof(std::uint64_t)) / best / 1e9;
}

} // namespace qs::bench
