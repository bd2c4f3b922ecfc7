// `bench kernels`: the matmul kernels per weight format against two yardsticks measured in the same run, a
// memcpy (bytes read + written) and the read bandwidth on 2 MiB pages (readBandwidthGBps, the ceiling of a
// decode GEMV). GEMV (n = 1, decode) is memory-bound: its weight GB/s and the ratios say how close to the
// memory it runs; for the 14336-row shape the caches are flushed before every pass (at 4 bits the matrix is
// about the size of a 32 MB L3), the 4096-row shape is meant to run from the caches. GEMM (prefill) is
// compute-bound: GFLOP/s, and its fraction of the core's peak (a register-only FMA loop, ComputePeak.h,
// measured in the same run; × threads for the 2-thread rows). Both at 1 and 2 threads, the caller splitting
// rows in fixed tiles over OpenMP threads, as the model does.
#include "Benchmarks.h"
#include "ComputePeak.h"
#include "kernels/Convert.h"
#include "kernels/FloatMatMul.h"
#include "kernels/GgmlMatMul.h"
#include "kernels/GgmlQuants.h"
#include "kernels/PackedInt.h"
#include "kernels/SimdVariant.h"
#include "model/PackedLinear.h"
#include "quant/Quantizer.h"
#include "spec/QuantizedTensor.h"
#include "util/Error.h"
#include "util/StreamBuffer.h"

#include <Eigen/Dense>
#include <QJsonArray>
#include <algorithm>
#include <cstring>
#include <functional>
#include <memory>
#include <numeric>
#include <omp.h>
#include <random>
#include <vector>

namespace qs::bench {

namespace {

/// y[t*rows + r] for r in [r0, r1), t < n, with x [n, cols]: one format's kernel over a prepared weight
/// (which the function owns, captured).
using MatMulFn =
    std::function<void(std::int64_t r0, std::int64_t r1, const float* x, std::int64_t n, float* y)>;

/// One row per weight format: adding a format to the benchmark is adding a row here.
struct KernelFormat
{
    const char* name;
    /// Bytes of a [rows, cols] weight in this format (what GEMV has to read).
    std::size_t (*bytes)(std::int64_t rows, std::int64_t cols);
    /// Makes the weight from `values` ([rows, cols] f32, the same for every format) and returns its kernel.
    MatMulFn (*setup)(const std::vector<float>& values, std::int64_t rows, std::int64_t cols);
};

/// The callers' row split: OpenMP threads take consecutive runs of these tiles.
constexpr std::int64_t kRowTile = kFloatMatMulRowTile;

template <DType D>
std::size_t denseBytes(std::int64_t rows, std::int64_t cols)
{
    return std::size_t(rows * cols) * std::size_t(dtypeInfo(D).bytes);
}

/// The weight's bytes as D.
template <DType D>
std::shared_ptr<std::vector<char>> storedAs(const std::vector<float>& values, std::int64_t rows,
                                            std::int64_t cols)
{
    auto stored = std::make_shared<std::vector<char>>(denseBytes<D>(rows, cols));
    for (std::size_t i = 0; i < values.size(); ++i) {
        if constexpr (D == DType::F32) {
            std::memcpy(stored->data() + i * 4, &values[i], 4);
        } else {
            const std::uint16_t h = D == DType::F16 ? ref::f32ToF16(values[i]) : ref::f32ToBf16(values[i]);
            std::memcpy(stored->data() + i * 2, &h, 2);
        }
    }
    return stored;
}

/// floatMatMul over the weight stored as D, used where it lies.
template <DType D>
MatMulFn floatWeight(const std::vector<float>& values, std::int64_t rows, std::int64_t cols)
{
    auto stored = storedAs<D>(values, rows, cols);
    return [stored, rows, cols](std::int64_t r0, std::int64_t r1, const float* x, std::int64_t n, float* y) {
        floatMatMul(D, stored->data(), cols, r0, r1, x, n, y, rows);
    };
}

/// BF16 weights with inputs rounded to bf16 and summed by vdpbf16ps (floatMatMulBf16Inputs), as a BF16 layer
/// runs under --llamacpp-numerics and llama.cpp runs BF16 everywhere. Absent (no row) without AVX512-BF16.
MatMulFn bf16InputsWeight(const std::vector<float>& values, std::int64_t rows, std::int64_t cols)
{
    if (!floatMatMulBf16InputsFast())
        return {};
    auto stored = storedAs<DType::BF16>(values, rows, cols);
    return [stored, rows, cols](std::int64_t r0, std::int64_t r1, const float* x, std::int64_t n, float* y) {
        floatMatMulBf16Inputs(stored->data(), cols, r0, r1, x, n, y, rows);
    };
}

/// The yardstick of the float rows: Eigen on an f32 copy, as model/LinearLayer.cpp gemmXWt multiplies today.
MatMulFn eigenF32(const std::vector<float>& values, std::int64_t rows, std::int64_t cols)
{
    using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    auto stored = std::make_shared<std::vector<float>>(values);
    return [stored, rows, cols](std::int64_t r0, std::int64_t r1, const float* x, std::int64_t n, float* y) {
        Eigen::Map<const RowMajor> X(x, n, cols);
        Eigen::Map<const RowMajor> W(stored->data() + r0 * cols, r1 - r0, cols);
        Eigen::Map<RowMajor, 0, Eigen::OuterStride<>> Y(y + r0, n, r1 - r0, Eigen::OuterStride<>(rows));
        Y.noalias() = X * W.transpose();
    };
}

template <GgmlType T>
std::size_t ggmlBytes(std::int64_t rows, std::int64_t cols)
{
    return std::size_t(rows) * ggmlRowBytes(T, cols);
}

/// A ggml block weight as GgmlLinear runs it: the inputs rounded to the type's activation blocks
/// (part of every product, so timed), then integer block dot products — on the interleaved layout
/// where the loader would rewrite the rows into it (ggmlPrefersInterleaved).
template <GgmlType T>
MatMulFn ggmlWeight(const std::vector<float>& values, std::int64_t rows, std::int64_t cols)
{
    // In a stream buffer (huge pages where granted), as the loader keeps the rows it rewrites.
    const std::shared_ptr<std::uint8_t> stored = allocateStreamBuffer(ggmlBytes<T>(rows, cols));
    ggmlQuantizeRows(T, values.data(), stored.get(), rows, cols);
    const bool interleaved = ggmlPrefersInterleaved(T);
    if (interleaved)
        ggmlInterleaveRows(T, stored.get(), rows, cols, stored.get());
    return [stored, rows, cols, interleaved](std::int64_t r0, std::int64_t r1, const float* x, std::int64_t n,
                                             float* y) {
        std::vector<std::uint8_t> xq(std::size_t(n) * ggmlActivationRowBytes(T, cols));
        ggmlQuantizeActivations(T, x, 0, n, cols, xq.data());
        if (interleaved)
            ggmlMatMulInterleaved(T, stored.get(), rows, cols, r0, r1, xq.data(), n, y, rows);
        else
            ggmlMatMul(T, stored.get(), cols, r0, r1, xq.data(), n, y, rows);
    };
}

/// Our integer format `scheme` (an RTN short name) as PackedIntLinear runs it; with `int8Inputs`
/// the inputs are quantized per token to int8 first (W8A8 / dynamic), inside the timed product.
template <const char* Scheme, bool Int8Inputs>
MatMulFn packedIntWeight(const std::vector<float>& values, std::int64_t rows, std::int64_t cols)
{
    const QuantizedTensor q =
        rtnQuantize(values.data(), rows, cols, QuantSpec::fromShortName(QLatin1String(Scheme)));
    std::shared_ptr<const PackedIntMatrix> packed = q.packedCodes();
    return [packed, rows, cols](std::int64_t r0, std::int64_t r1, const float* x, std::int64_t n, float* y) {
        if constexpr (Int8Inputs) {
            Int8Activations xa;
            quantizeActivationsInt8(x, n, cols, nullptr, xa);
            packedIntMatMulInt8(*packed, r0, r1, xa, y, rows);
        } else {
            packedIntMatMul(*packed, r0, r1, x, n, y, rows);
        }
    };
}

template <const char* Scheme>
std::size_t packedIntBytes(std::int64_t rows, std::int64_t cols)
{
    return QuantSpec::fromShortName(QLatin1String(Scheme)).cost(rows, cols).total();
}

/// A table format (QuIP#, AQLM, SqueezeLLM) as CodebookLinear runs it (tableMatMul), over random codes and
/// tables of the format (its speed does not depend on what was quantized); `Fused` false forces the decoded
/// tiles a prefill takes, so both paths of a decode step are measured in one run.
template <const char* Scheme, bool Fused>
MatMulFn tableWeight(const std::vector<float>&, std::int64_t rows, std::int64_t cols)
{
    auto q = std::make_shared<QuantizedTensor>(
        syntheticTableTensor(QuantSpec::fromShortName(QLatin1String(Scheme)), rows, cols, 1));
    std::shared_ptr<const PackedIntMatrix> packed = q->packedCodes();
    q->codes = {}; // the layer holds its codes packed only
    return [q, packed, rows](std::int64_t r0, std::int64_t r1, const float* x, std::int64_t n, float* y) {
        tableMatMul(*q, *packed, r0, r1, x, n, y, rows, Fused);
    };
}

constexpr char kQuip2[] = "quipsharp-w2";
constexpr char kAqlm2x8[] = "aqlm-w2-2x8";
constexpr char kAqlm1x16[] = "aqlm-w2-1x16";
constexpr char kSqueeze3[] = "squeezellm-w3-ch-sp0";
constexpr char kInt4G128[] = "rtn-w4-g128";
constexpr char kInt8Channel[] = "rtn-w8-ch-sym";
constexpr char kInt3G128[] = "rtn-w3-g128";
constexpr char kInt2G64[] = "rtn-w2-g64";

const KernelFormat kFormats[] = {
    {"f32", denseBytes<DType::F32>, floatWeight<DType::F32>},
    {"f16", denseBytes<DType::F16>, floatWeight<DType::F16>},
    {"bf16", denseBytes<DType::BF16>, floatWeight<DType::BF16>},
    {"bf16-a16", denseBytes<DType::BF16>, bf16InputsWeight},
    {"eigen-f32", denseBytes<DType::F32>, eigenF32},
    {"q8_0", ggmlBytes<GgmlType::Q8_0>, ggmlWeight<GgmlType::Q8_0>},
    {"q4_0", ggmlBytes<GgmlType::Q4_0>, ggmlWeight<GgmlType::Q4_0>},
    {"q4_k", ggmlBytes<GgmlType::Q4_K>, ggmlWeight<GgmlType::Q4_K>},
    {"q5_k", ggmlBytes<GgmlType::Q5_K>, ggmlWeight<GgmlType::Q5_K>},
    {"q6_k", ggmlBytes<GgmlType::Q6_K>, ggmlWeight<GgmlType::Q6_K>},
    {"q3_k", ggmlBytes<GgmlType::Q3_K>, ggmlWeight<GgmlType::Q3_K>},
    {"q2_k", ggmlBytes<GgmlType::Q2_K>, ggmlWeight<GgmlType::Q2_K>},
    {"iq4_xs", ggmlBytes<GgmlType::IQ4_XS>, ggmlWeight<GgmlType::IQ4_XS>},
    {"int4-g128", packedIntBytes<kInt4G128>, packedIntWeight<kInt4G128, false>},
    {"int3-g128", packedIntBytes<kInt3G128>, packedIntWeight<kInt3G128, false>},
    {"int2-g64", packedIntBytes<kInt2G64>, packedIntWeight<kInt2G64, false>},
    {"int8-ch", packedIntBytes<kInt8Channel>, packedIntWeight<kInt8Channel, false>},
    {"int8-ch-a8 (w8a8)", packedIntBytes<kInt8Channel>, packedIntWeight<kInt8Channel, true>},
    {"int4-g128-a8", packedIntBytes<kInt4G128>, packedIntWeight<kInt4G128, true>},
    {"quipsharp-w2", packedIntBytes<kQuip2>, tableWeight<kQuip2, true>},
    {"quipsharp-w2-tiles", packedIntBytes<kQuip2>, tableWeight<kQuip2, false>},
    {"aqlm-w2-2x8", packedIntBytes<kAqlm2x8>, tableWeight<kAqlm2x8, true>},
    {"aqlm-w2-2x8-tiles", packedIntBytes<kAqlm2x8>, tableWeight<kAqlm2x8, false>},
    {"aqlm-w2-1x16", packedIntBytes<kAqlm1x16>, tableWeight<kAqlm1x16, true>},
    {"squeezellm-w3", packedIntBytes<kSqueeze3>, tableWeight<kSqueeze3, true>},
    {"squeezellm-w3-tiles", packedIntBytes<kSqueeze3>, tableWeight<kSqueeze3, false>},
};

std::vector<float> randomValues(std::size_t count, unsigned seed, float sigma)
{
    std::mt19937 g(seed);
    std::normal_distribution<float> normal(0.f, sigma);
    std::vector<float> v(count);
    for (float& x : v)
        x = normal(g);
    return v;
}

/// Best of `reps` wall-clock runs of the whole matmul, rows cut into kRowTile tiles and each of `threads`
/// threads taking a consecutive run of them.
double bestMatMulSeconds(const MatMulFn& fn, std::int64_t rows, const float* x, std::int64_t n, float* y,
                         int threads, int reps, const std::vector<std::uint64_t>* evict = nullptr)
{
    const std::int64_t tiles = (rows + kRowTile - 1) / kRowTile;
    double best = 1e30;
    std::uint64_t evicted = 0;
    for (int rep = 0; rep < reps; ++rep) {
        if (evict) // untimed: the weights of the last pass leave the caches
            evicted += std::accumulate(evict->begin(), evict->end(), std::uint64_t(0));
        const double t0 = nowSeconds();
#pragma omp parallel for num_threads(threads) schedule(static)
        for (int part = 0; part < threads; ++part) {
            const std::int64_t r0 = std::min(rows, tiles * part / threads * kRowTile);
            const std::int64_t r1 = std::min(rows, tiles * (part + 1) / threads * kRowTile);
            if (r0 < r1)
                fn(r0, r1, x, n, y);
        }
        best = std::min(best, nowSeconds() - t0);
    }
    return evicted == 1 ? 0.0 : best; // keeps the eviction reads alive
}

/// memcpy of a buffer larger than the caches, split in chunks over `threads` threads: bytes read + written
/// per second.
double memcpyTrafficGBps(std::size_t bytes, int threads, int reps)
{
    std::vector<char> src(bytes, 1), dst(bytes, 2);
    constexpr int kChunks = 256;
    const std::size_t chunk = bytes / kChunks;
    double best = 1e30;
    for (int rep = 0; rep < reps; ++rep) {
        const double t0 = nowSeconds();
#pragma omp parallel for num_threads(threads) schedule(static)
        for (int c = 0; c < kChunks; ++c)
            std::memcpy(dst.data() + std::size_t(c) * chunk, src.data() + std::size_t(c) * chunk, chunk);
        best = std::min(best, nowSeconds() - t0);
    }
    return 2.0 * double(chunk * kChunks) / best / 1e9;
}

struct Shape
{
    std::int64_t rows, cols;
};

} // namespace

QJsonObject kernelThroughput(const Options& opt)
{
    const std::vector<Shape> shapes =
        opt.quick ? std::vector<Shape>{{1024, 1024}} : std::vector<Shape>{{4096, 4096}, {14336, 4096}};
    const std::int64_t gemmTokens = opt.quick ? 64 : 512;
    const int gemvReps = opt.quick ? 5 : 15, gemmReps = opt.quick ? 2 : 3;
    const int threadCounts[] = {1, 2};
    auto log = [&](const QString& line) {
        if (opt.log)
            opt.log(line);
    };

    // Two yardsticks per thread count: a memcpy (bytes read + written) and the read ceiling of a decode
    // GEMV, summing a buffer on 2 MiB pages as the loader keeps the repacked weights (readBandwidthGBps).
    const std::size_t memcpyBytes = std::size_t(opt.quick ? 128 : 512) << 20;
    double memcpyGBps[3] = {}, readGBps[3] = {};
    QJsonArray memcpyRows, readRows;
    for (int threads : threadCounts) {
        memcpyGBps[threads] = memcpyTrafficGBps(memcpyBytes, threads, opt.quick ? 3 : 5);
        readGBps[threads] = readBandwidthGBps(memcpyBytes, threads, opt.quick ? 2 : 5);
        const QJsonObject common{{QStringLiteral("threads"), threads},
                                 {QStringLiteral("bytes"), qint64(memcpyBytes)}};
        QJsonObject m = common, r = common;
        m.insert(QStringLiteral("traffic_gbps"), memcpyGBps[threads]);
        r.insert(QStringLiteral("read_gbps"), readGBps[threads]);
        memcpyRows.append(m);
        readRows.append(r);
        log(QStringLiteral("kernels memcpy threads=%1: %2 GB/s read+written; read: %3 GB/s")
                .arg(threads)
                .arg(memcpyGBps[threads], 0, 'f', 1)
                .arg(readGBps[threads], 0, 'f', 1));
    }
    // Read between GEMV passes of a matrix meant to come from memory: at 4 bits a 14336 × 4096 matrix
    // (29–33 MB) is about the size of a 32 MB L3, and repeated passes found much of it still there.
    const std::vector<std::uint64_t> evict(opt.quick ? 0 : (std::size_t(128) << 20) / sizeof(std::uint64_t),
                                           1);

    const ComputePeak peak = measureComputePeak(opt.quick ? 0.05 : 0.5);
    const QJsonObject peakJson{{QStringLiteral("threads"), 1},
                               {QStringLiteral("f32_isa"), QLatin1String(peak.f32Isa)},
                               {QStringLiteral("f32_fma_gflops"), peak.f32FmaGflops},
                               {QStringLiteral("bf16_dot_gflops"), peak.bf16DotGflops},
                               {QStringLiteral("amx_bf16_gflops"), peak.amxBf16Gflops}};
    log(QStringLiteral(
            "kernels compute peak threads=1: f32 %1 %2 GFLOP/s, avx512bf16 vdpbf16ps %3, AMX-BF16 %4")
            .arg(QLatin1String(peak.f32Isa))
            .arg(peak.f32FmaGflops, 0, 'f', 1)
            .arg(peak.bf16DotGflops > 0 ? QStringLiteral("%1 GFLOP/s").arg(peak.bf16DotGflops, 0, 'f', 1)
                                        : QStringLiteral("absent"))
            .arg(peak.amxBf16Gflops > 0 ? QStringLiteral("%1 GFLOP/s").arg(peak.amxBf16Gflops, 0, 'f', 1)
                                        : QStringLiteral("absent")));

    for (const QString& name : opt.kernelFormats) {
        const bool known = std::any_of(std::begin(kFormats), std::end(kFormats),
                                       [&](const KernelFormat& f) { return name == QLatin1String(f.name); });
        if (!known) {
            QStringList names;
            for (const KernelFormat& f : kFormats)
                names << QLatin1String(f.name);
            throw Error(QStringLiteral("bench kernels: unknown format '%1' (known: %2)")
                            .arg(name, names.join(QStringLiteral(", "))));
        }
    }
    QJsonArray interleavedTypes; // the ggml types run on the interleaved layout (as the loader would)
    for (const GgmlTypeInfo& info : kGgmlTypes)
        if (ggmlPrefersInterleaved(info.type))
            interleavedTypes.append(QLatin1String(info.name));
    QJsonArray rows;
    for (const Shape& shape : shapes) {
        const std::vector<float> values = randomValues(std::size_t(shape.rows * shape.cols), 1, 0.02f);
        const std::vector<float> x = randomValues(std::size_t(gemmTokens * shape.cols), 2, 1.f);
        std::vector<float> y(std::size_t(gemmTokens * shape.rows));
        for (const KernelFormat& format : kFormats) {
            if (!opt.kernelFormats.isEmpty() && !opt.kernelFormats.contains(QLatin1String(format.name)))
                continue;
            const MatMulFn fn = format.setup(values, shape.rows, shape.cols);
            if (!fn)
                continue; // this CPU lacks the format's instructions
            const double weightBytes = double(format.bytes(shape.rows, shape.cols));
            for (int threads : threadCounts) {
                const bool fromMemory = shape.rows > 4096 && !evict.empty();
                const double gemv = bestMatMulSeconds(fn, shape.rows, x.data(), 1, y.data(), threads,
                                                      gemvReps, fromMemory ? &evict : nullptr);
                const double gemm =
                    bestMatMulSeconds(fn, shape.rows, x.data(), gemmTokens, y.data(), threads, gemmReps);
                const double gbps = weightBytes / gemv / 1e9;
                const double gflops = 2.0 * double(shape.rows * shape.cols) * double(gemmTokens) / gemm / 1e9;
                const double ofPeak = peak.f32FmaGflops > 0 ? gflops / (peak.f32FmaGflops * threads) : 0;
                rows.append(QJsonObject{{QStringLiteral("format"), QLatin1String(format.name)},
                                        {QStringLiteral("rows"), qint64(shape.rows)},
                                        {QStringLiteral("cols"), qint64(shape.cols)},
                                        {QStringLiteral("threads"), threads},
                                        {QStringLiteral("weight_bytes"), weightBytes},
                                        {QStringLiteral("gemv_seconds"), gemv},
                                        {QStringLiteral("gemv_gbps"), gbps},
                                        {QStringLiteral("gemv_vs_memcpy"), gbps / memcpyGBps[threads]},
                                        {QStringLiteral("gemv_vs_read"), gbps / readGBps[threads]},
                                        {QStringLiteral("gemv_caches_flushed"), fromMemory},
                                        {QStringLiteral("gemm_tokens"), qint64(gemmTokens)},
                                        {QStringLiteral("gemm_seconds"), gemm},
                                        {QStringLiteral("gemm_gflops"), gflops},
                                        {QStringLiteral("gemm_vs_f32_peak"), ofPeak}});
                log(QStringLiteral(
                        "kernels %1 %2x%3 threads=%4: gemv %5 GB/s (%6 of memcpy, %10 of read), gemm n=%7 %8 "
                        "GFLOP/s (%9 of f32 peak)")
                        .arg(QLatin1String(format.name))
                        .arg(shape.rows)
                        .arg(shape.cols)
                        .arg(threads)
                        .arg(gbps, 0, 'f', 1)
                        .arg(gbps / memcpyGBps[threads], 0, 'f', 2)
                        .arg(gemmTokens)
                        .arg(gflops, 0, 'f', 1)
                        .arg(ofPeak, 0, 'f', 2)
                        .arg(gbps / readGBps[threads], 0, 'f', 2));
            }
        }
    }
    return QJsonObject{
        {QStringLiteral("benchmark"), QStringLiteral("kernels")},
        {QStringLiteral("float_variant"), QLatin1String(simdVariantName(floatMatMulVariant()))},
        {QStringLiteral("ggml_variant"), QLatin1String(simdVariantName(ggmlMatMulVariant()))},
        {QStringLiteral("ggml_interleaved"), interleavedTypes},
        {QStringLiteral("packed_int_variant"), QLatin1String(simdVariantName(packedIntVariant()))},
        {QStringLiteral("row_tile"), qint64(kRowTile)},
        {QStringLiteral("machine"), machineInfo()},
        {QStringLiteral("load_average"), loadAverage()},
        {QStringLiteral("memcpy"), memcpyRows},
        {QStringLiteral("read"), readRows},
        {QStringLiteral("compute_peak"), peakJson},
        {QStringLiteral("results"), rows}};
}

} // namespace qs::bench
