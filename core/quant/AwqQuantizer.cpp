#include "quant/AwqQuantizer.h"

#include "eval/Calibration.h"
#include "model/LinearLayer.h"
#include "quant/Quantizer.h"
#include "util/Error.h"

#include <algorithm>
#include <cmath>

namespace qs {

namespace {

std::vector<float> scalesFor(const std::vector<double>& meanAbs, double alpha)
{
    std::vector<double> s(meanAbs.size());
    double mx = 0, mn = INFINITY;
    for (std::size_t j = 0; j < s.size(); ++j) {
        s[j] = std::pow(std::max(meanAbs[j], 1e-4), alpha);
        mx = std::max(mx, s[j]);
        mn = std::min(mn, s[j]);
    }
    const double norm = std::sqrt(mx * mn);
    std::vector<float> out(s.size());
    for (std::size_t j = 0; j < s.size(); ++j)
        out[j] = roundToStorage(float(s[j] / norm), DType::F16);
    return out;
}

/// X·Wᵀ on the sampled calibration inputs.
std::vector<float> sampleOutputs(const float* w, std::int64_t rows, std::int64_t cols, const LinearInputStats& stats)
{
    std::vector<float> y(std::size_t(stats.sampleRows * rows));
    gemmXWt(stats.sampleInputs.data(), stats.sampleRows, cols, w, rows, y.data());
    return y;
}

/// ‖X Wᵀ − X Ŵᵀ‖² / (n·rows) on the sampled inputs, Ŵ = Q(W·s)/s; `reference` is X Wᵀ.
double outputError(const std::vector<float>& reference, std::int64_t cols, const QuantizedTensor& q,
                   const LinearInputStats& stats)
{
    const std::vector<float> yq = sampleOutputs(q.effectiveWeight().data(), q.rows, cols, stats);
    double e = 0;
    for (std::size_t i = 0; i < reference.size(); ++i)
        e += double(reference[i] - yq[i]) * double(reference[i] - yq[i]);
    return e / double(reference.size());
}

QuantizedTensor scaledRtn(const float* w, std::int64_t rows, std::int64_t cols, const QuantSpec& spec,
                          const std::vector<float>& s, const float* importance)
{
    std::vector<float> ws(w, w + rows * cols);
    for (std::int64_t r = 0; r < rows; ++r)
        for (std::int64_t c = 0; c < cols; ++c)
            ws[std::size_t(r * cols + c)] *= s[std::size_t(c)];
    QuantizedTensor t = rtnQuantize(ws.data(), rows, cols, spec, importance);
    t.inputScales = s;
    return t;
}

} // namespace

AwqSearchResult awqSearchScales(const std::vector<AwqLayer>& layers, std::int64_t cols, const LinearInputStats& stats,
                                const QuantSpec& spec)
{
    if (stats.sampleRows <= 0)
        throw Error(QStringLiteral("AWQ needs sampled calibration inputs"));
    QuantSpec plain = spec;
    plain.clipSearch = false; // the scale search compares plain rounding; clipping comes after
    const std::vector<double> meanAbs = stats.meanAbs();
    // The float outputs do not depend on α: computed once, compared at every grid point.
    std::vector<std::vector<float>> reference;
    for (const AwqLayer& l : layers)
        reference.push_back(sampleOutputs(l.weight, l.rows, cols, stats));
    AwqSearchResult best;
    best.loss = INFINITY;
    for (int k = 0; k <= spec.awqGrid; ++k) {
        const double alpha = double(k) / double(spec.awqGrid);
        const std::vector<float> s = scalesFor(meanAbs, alpha);
        double loss = 0;
        for (std::size_t i = 0; i < layers.size(); ++i)
            loss += outputError(reference[i], cols, scaledRtn(layers[i].weight, layers[i].rows, cols, plain, s, nullptr),
                                stats);
        if (k == 0)
            best.lossNoScale = loss;
        if (loss < best.loss) {
            best.loss = loss;
            best.alpha = alpha;
            best.scales = s;
        }
    }
    return best;
}

QuantizedTensor awqQuantizeWithScales(const float* weight, std::int64_t rows, std::int64_t cols, const QuantSpec& spec,
                                      const std::vector<float>& scales, const LinearInputStats& stats)
{
    // The clipping search weighs each input column by E[x²] of the scaled input (x/s)².
    std::vector<float> importance(static_cast<std::size_t>(cols));
    for (std::int64_t c = 0; c < cols; ++c)
        importance[std::size_t(c)] = float(stats.sumSquares[std::size_t(c)] / double(std::max<std::int64_t>(1, stats.tokens)) /
                                           (double(scales[std::size_t(c)]) * double(scales[std::size_t(c)])));
    return scaledRtn(weight, rows, cols, spec, scales, spec.clipSearch ? importance.data() : nullptr);
}

namespace {

class AwqQuantizer final : public Quantizer
{
public:
    QuantizedTensor quantize(const QuantizeRequest& r, const JobContext&) const override
    {
        const AwqSearchResult s = awqSearchScales({{r.weight, r.rows}}, r.cols, *r.stats, r.spec);
        return awqQuantizeWithScales(r.weight, r.rows, r.cols, r.spec, s.scales, *r.stats);
    }
};

} // namespace

const Quantizer& awqQuantizer();
const Quantizer& awqQuantizer()
{
    static const AwqQuantizer q;
    return q;
}

} // namespace qs
