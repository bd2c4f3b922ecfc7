// RTN and the methods that are RTN after a transformation of weights or inputs:
// SmoothQuant (per-input-channel migration), LLM.int8 (outlier columns kept in 16-bit) and
// dynamic quantization (per-token activations at run time).
#include "eval/Calibration.h"
#include "kernels/Convert.h"
#include "quant/Quantizer.h"
#include "util/Error.h"
#include "util/StreamBuffer.h"
#include "util/Threads.h"

#include <algorithm>
#include <cmath>

namespace qs {

QuantizedTensor quantizeGroups(const float* w, std::int64_t rows, std::int64_t cols, const QuantSpec& spec,
                               const GroupParamsFn& params, int workPerValue, const JobContext* job)
{
    QuantizedTensor t;
    t.spec = spec;
    t.rows = rows;
    t.cols = cols;
    resizeOnHugePages(t.codes, std::size_t(rows * cols));
    const int qmax = spec.qmax();
    if (spec.granularity == Granularity::PerTensor) {
        const GroupParams p = params(w, rows * cols, 0);
        t.scales = {p.scale};
        t.zeros = {p.zero};
        for (std::int64_t i = 0; i < rows * cols; ++i)
            t.codes[std::size_t(i)] = quantizeValue(w[i], p, qmax);
        return t;
    }
    const std::int64_t g = spec.groupLength(cols), groups = spec.groupsPerRow(cols);
    t.scales.resize(std::size_t(rows * groups));
    t.zeros.resize(std::size_t(rows * groups));
    forEachRowRange(rows, cols * workPerValue, [&](std::int64_t first, std::int64_t count) {
        for (std::int64_t r = first; r < first + count; ++r) {
            if (job && job->cancel->isCancelled())
                return;
            for (std::int64_t gi = 0; gi < groups; ++gi) {
                const std::int64_t c0 = gi * g, n = std::min(g, cols - c0);
                const float* src = w + r * cols + c0;
                const GroupParams p = params(src, n, c0);
                t.scales[std::size_t(r * groups + gi)] = p.scale;
                t.zeros[std::size_t(r * groups + gi)] = p.zero;
                for (std::int64_t c = 0; c < n; ++c)
                    t.codes[std::size_t(r * cols + c0 + c)] = quantizeValue(src[c], p, qmax);
            }
        }
    });
    if (job)
        job->checkCancelled();
    return t;
}

QuantizedTensor rtnQuantize(const float* w, std::int64_t rows, std::int64_t cols, const QuantSpec& spec,
                            const float* columnImportance)
{
    // Per tensor: the min–max range (the clipping search is per group).
    return quantizeGroups(w, rows, cols, spec, [&](const float* values, std::int64_t n, std::int64_t c0) {
        return spec.granularity == Granularity::PerTensor
                   ? groupParams(values, n, 1, spec)
                   : searchGroupParams(values, n, 1, spec,
                                       columnImportance ? columnImportance + c0 : nullptr);
    });
}

namespace {

class RtnQuantizer final : public Quantizer
{
public:
    QuantizedTensor quantize(const QuantizeRequest& r, const JobContext&) const override
    {
        return rtnQuantize(r.weight, r.rows, r.cols, r.spec);
    }
};

class FloatKeeper final : public Quantizer
{
public:
    QuantizedTensor quantize(const QuantizeRequest& r, const JobContext&) const override
    {
        QuantizedTensor t;
        t.spec = r.spec;
        t.rows = r.rows;
        t.cols = r.cols;
        t.floatWeights.assign(r.weight, r.weight + r.rows * r.cols);
        for (float& v : t.floatWeights)
            v = roundToStorage(v, r.spec.floatType);
        return t;
    }
};

/// SmoothQuant: s_j = max|x_j|^α / max|W_:,j|^(1-α) moves activation outliers into the weights;
/// the layer then sees x/s (per-token int8) and W·s (per-channel int8).
class SmoothQuantQuantizer final : public Quantizer
{
public:
    QuantizedTensor quantize(const QuantizeRequest& r, const JobContext&) const override
    {
        const double alpha = r.spec.smoothAlpha;
        std::vector<float> s(static_cast<std::size_t>(r.cols));
        std::vector<float> scaled(r.weight, r.weight + r.rows * r.cols);
        for (std::int64_t c = 0; c < r.cols; ++c) {
            double wmax = 0;
            for (std::int64_t row = 0; row < r.rows; ++row)
                wmax = std::max(wmax, double(std::fabs(r.weight[row * r.cols + c])));
            const double xmax = r.stats->maxAbs[std::size_t(c)];
            double v = (xmax > 0 && wmax > 0) ? std::pow(xmax, alpha) / std::pow(wmax, 1.0 - alpha) : 1.0;
            v = std::clamp(v, 1e-5, 1e5);
            s[std::size_t(c)] = roundToStorage(float(v), DType::F16);
            for (std::int64_t row = 0; row < r.rows; ++row)
                scaled[std::size_t(row * r.cols + c)] *= s[std::size_t(c)];
        }
        QuantizedTensor t = rtnQuantize(scaled.data(), r.rows, r.cols, r.spec);
        t.inputScales = std::move(s);
        return t;
    }
};

/// LLM.int8(): input features whose calibration |x| exceeds the threshold stay in 16-bit
/// (weights and activations); the rest is int8 vector-wise (per-row weights, per-token inputs).
class LlmInt8Quantizer final : public Quantizer
{
public:
    QuantizedTensor quantize(const QuantizeRequest& r, const JobContext&) const override
    {
        std::vector<std::int32_t> outliers;
        for (std::int64_t c = 0; c < r.cols; ++c) {
            if (r.stats->maxAbs[std::size_t(c)] > r.spec.outlierThreshold)
                outliers.push_back(std::int32_t(c));
        }
        // Outlier columns are excluded from the int8 ranges: zero them for the RTN pass.
        std::vector<float> rest(r.weight, r.weight + r.rows * r.cols);
        for (std::int32_t c : outliers) {
            for (std::int64_t row = 0; row < r.rows; ++row)
                rest[std::size_t(row * r.cols + c)] = 0;
        }
        QuantizedTensor t = rtnQuantize(rest.data(), r.rows, r.cols, r.spec);
        t.outlierColumns = outliers;
        t.outlierWeights.resize(std::size_t(r.rows) * outliers.size());
        for (std::int64_t row = 0; row < r.rows; ++row) {
            for (std::size_t j = 0; j < outliers.size(); ++j)
                t.outlierWeights[std::size_t(row) * outliers.size() + j] =
                    roundToStorage(r.weight[row * r.cols + outliers[j]], DType::F16);
        }
        return t;
    }
};

} // namespace

const Quantizer& gptqQuantizer();
const Quantizer& awqQuantizer();
const Quantizer& ggmlQuantizer();
const Quantizer& hqqQuantizer();
const Quantizer& squeezeLlmQuantizer();
const Quantizer& quipSharpQuantizer();
const Quantizer& aqlmQuantizer();

const Quantizer& quantizerFor(QuantMethod method)
{
    static const FloatKeeper keep;
    static const RtnQuantizer rtn;
    static const SmoothQuantQuantizer smooth;
    static const LlmInt8Quantizer int8;
    switch (method) {
    case QuantMethod::Float:
        return keep;
    case QuantMethod::Rtn:
    case QuantMethod::Dynamic: // weights as RTN; the layer quantizes activations per token
        return rtn;
    case QuantMethod::Gptq:
        return gptqQuantizer();
    case QuantMethod::Awq:
        return awqQuantizer();
    case QuantMethod::SmoothQuant:
        return smooth;
    case QuantMethod::LlmInt8:
        return int8;
    case QuantMethod::Ggml:
        return ggmlQuantizer();
    case QuantMethod::Hqq:
        return hqqQuantizer();
    case QuantMethod::SqueezeLlm:
        return squeezeLlmQuantizer();
    case QuantMethod::QuipSharp:
        return quipSharpQuantizer();
    case QuantMethod::Aqlm:
        return aqlmQuantizer();
    }
    return rtn;
}

namespace {

/// A seed per layer that does not depend on the process (qHash is salted): FNV-1a of the name, mixed with
/// the spec's seed.
std::uint64_t layerSeed(const QString& name, int seed)
{
    std::uint64_t h = 1469598103934665603ull;
    for (char c : name.toUtf8()) {
        h ^= std::uint8_t(c);
        h *= 1099511628211ull;
    }
    return h ^ (std::uint64_t(std::uint32_t(seed)) * 0x9e3779b97f4a7c15ull);
}

/// Incoherence processing around the method: W·Vᵀ quantized (GPTQ and QuIP# with V·XᵀX·Vᵀ), V kept with the
/// codes.
QuantizedTensor quantizeIncoherent(const QuantizeRequest& r, const JobContext& job)
{
    std::shared_ptr<const Rotation> rotation;
    try {
        rotation = std::make_shared<const Rotation>(
            Rotation::make(r.cols, layerSeed(r.layerName, r.spec.incoherenceSeed)));
    } catch (const Error& e) {
        throw Error(r.layerName + u": " + e.message());
    }
    std::vector<float> rotated(r.weight, r.weight + r.rows * r.cols);
    forEachRowRange(r.rows, r.cols * 16, [&](std::int64_t first, std::int64_t count) {
        rotation->apply(rotated.data() + first * r.cols, count, r.cols);
    });
    QuantizeRequest inner = r;
    inner.weight = rotated.data();
    inner.weightCopy = nullptr;
    LinearInputStats stats;
    if (r.stats && r.spec.needsHessian()) {
        stats.inFeatures = r.stats->inFeatures;
        stats.outFeatures = r.stats->outFeatures;
        stats.tokens = r.stats->tokens;
        stats.xtx = r.stats->xtx; // symmetric: V·(V·XᵀX)ᵀ = V·XᵀX·Vᵀ, one column at a time
        for (int pass = 0; pass < 2; ++pass) {
            const std::int64_t n = stats.xtx.rows();
            forEachRowRange(n, n * 16, [&](std::int64_t first, std::int64_t count) {
                rotation->apply(stats.xtx.data() + first * n, count, n);
            });
            if (pass == 0)
                stats.xtx.transposeInPlace();
        }
        inner.stats = &stats;
    }
    job.checkCancelled();
    QuantizedTensor t = quantizerFor(r.spec.method).quantize(inner, job);
    t.rotation = std::move(rotation);
    return t;
}

} // namespace

QuantizedTensor quantizeWeight(const QuantizeRequest& r, const JobContext& job)
{
    const QString problem = r.spec.validate();
    if (!problem.isEmpty())
        throw Error(r.layerName + u": " + problem);
    if (r.spec.needsCalibration() && (!r.stats || r.stats->tokens == 0))
        throw Error(QStringLiteral("%1: %2 needs calibration statistics, and none were collected")
                        .arg(r.layerName, quantMethodName(r.spec.method)));
    std::size_t first = 0; // the first non-finite value, found by the vector scan
    if (countNonFinite(r.weight, std::size_t(r.rows * r.cols), &first) > 0)
        throw Error(QStringLiteral("%1: weight has a non-finite value at row %2, column %3")
                        .arg(r.layerName)
                        .arg(std::int64_t(first) / r.cols)
                        .arg(std::int64_t(first) % r.cols));
    job.checkCancelled();
    // A float layer keeps its weight as it is, whatever rotation the spec it came from asked for.
    if (r.spec.incoherence == Incoherence::Hadamard && r.spec.method != QuantMethod::Float)
        return quantizeIncoherent(r, job);
    return quantizerFor(r.spec.method).quantize(r, job);
}

} // namespace qs
