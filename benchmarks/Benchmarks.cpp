#include "Benchmarks.h"

#include "kernels/CpuFeatures.h"
#include "util/StreamBuffer.h"

#include <QFile>
#include <QSysInfo>
#include <QThread>
#include <algorithm>
#include <chrono>
#if defined(__x86_64__)
#include <immintrin.h>
#endif
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

namespace {

constexpr std::size_t kReadStreams = 8, kStreamStep = 256 / sizeof(std::uint64_t);

/// Σ of kReadStreams stretches of `stretch` words (a multiple of kStreamStep) read side by side, 256 bytes
/// of each in turn, in the widest vectors the CPU has: how many lines a core has asked for at once is
/// bounded by the instructions in flight, and with 16-byte loads the same pass read 13.3 GB/s where 64-byte
/// loads read 15.3 (the Intel host above).
std::uint64_t sumStreamsPlain(const std::uint64_t* p, std::size_t stretch)
{
    std::uint64_t acc[8] = {};
    for (std::size_t o = 0; o < stretch; o += kStreamStep)
        for (std::size_t s = 0; s < kReadStreams; ++s)
            for (std::size_t k = 0; k < kStreamStep; ++k)
                acc[k % 8] += p[s * stretch + o + k];
    std::uint64_t sum = 0;
    for (std::uint64_t a : acc)
        sum += a;
    return sum;
}

#if defined(__x86_64__)
__attribute__((target("avx512f"))) std::uint64_t sumStreamsAvx512(const std::uint64_t* p, std::size_t stretch)
{
    __m512i acc[4] = {_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512(),
                      _mm512_setzero_si512()};
    for (std::size_t o = 0; o < stretch; o += kStreamStep)
        for (std::size_t s = 0; s < kReadStreams; ++s)
            for (std::size_t k = 0; k < 4; ++k)
                acc[k] = _mm512_add_epi64(acc[k], _mm512_loadu_si512(p + s * stretch + o + 8 * k));
    alignas(64) std::uint64_t lanes[8];
    _mm512_store_si512(lanes,
                       _mm512_add_epi64(_mm512_add_epi64(acc[0], acc[1]), _mm512_add_epi64(acc[2], acc[3])));
    std::uint64_t sum = 0;
    for (std::uint64_t l : lanes)
        sum += l;
    return sum;
}

__attribute__((target("avx2"))) std::uint64_t sumStreamsAvx2(const std::uint64_t* p, std::size_t stretch)
{
    __m256i acc[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(),
                      _mm256_setzero_si256()};
    for (std::size_t o = 0; o < stretch; o += kStreamStep)
        for (std::size_t s = 0; s < kReadStreams; ++s)
            for (std::size_t k = 0; k < 8; ++k)
                acc[k % 4] = _mm256_add_epi64(acc[k % 4], _mm256_loadu_si256(reinterpret_cast<const __m256i*>(
                                                              p + s * stretch + o + 4 * k)));
    alignas(32) std::uint64_t lanes[4];
    _mm256_store_si256(reinterpret_cast<__m256i*>(lanes),
                       _mm256_add_epi64(_mm256_add_epi64(acc[0], acc[1]), _mm256_add_epi64(acc[2], acc[3])));
    return lanes[0] + lanes[1] + lanes[2] + lanes[3];
}
#endif

std::uint64_t sumStreams(const std::uint64_t* p, std::size_t stretch)
{
#if defined(__x86_64__)
    if (cpuFeatures().avx512f)
        return sumStreamsAvx512(p, stretch);
    if (cpuFeatures().avx2)
        return sumStreamsAvx2(p, stretch);
#endif
    return sumStreamsPlain(p, stretch);
}

} // namespace

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
    // Three ways of reading, the best one counts: the plain loop (the hardware prefetcher alone), one
    // that also asks for the line 4 KiB ahead (with one thread the hardware prefetcher leaves bandwidth
    // unused, as the decode kernels found), and the part cut into eight stretches read side by side, 256
    // bytes of each in turn by sumStreams (one core reads faster following several streams at once: on an
    // Intel Xeon with AMX 15.3 GB/s from 1 GiB against 14.1 as one stream, the legacy formats' decode found
    // the same).
    enum Way { Plain, Prefetch, Streams, kWays };
    const auto sumPart = [&](int part, Way way) {
        const std::size_t first = words * std::size_t(part) / std::size_t(threads);
        const std::size_t last = words * std::size_t(part + 1) / std::size_t(threads);
        std::uint64_t acc[8] = {};
        std::size_t i = first;
        if (way == Streams) {
            const std::size_t stretch = (last - first) / kReadStreams / kStreamStep * kStreamStep;
            acc[0] = sumStreams(buffer + first, stretch);
            i = first + kReadStreams * stretch;
        }
        constexpr std::size_t ahead = 4096 / sizeof(std::uint64_t);
        for (; i + 8 <= last; i += 8) {
            if (way == Prefetch)
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
    for (int rep = 0; rep < kWays * reps; ++rep) {
        const Way way = Way(rep % kWays);
        const double t0 = nowSeconds();
        std::vector<std::thread> pool;
        for (int part = 1; part < threads; ++part)
            pool.emplace_back(sumPart, part, way);
        sumPart(0, way);
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
