// HQQ (Badri & Shaji 2023, "Half-Quadratic Quantization of Large Machine Learning Models"): calibration-free.
// Per group the scale stays the min–max one and the zero point z is optimised against the l_p error
// Σ|w − (q − z)·s|^p with p < 1, which tolerates a few large errors (outliers) in exchange for many small
// ones. Half-quadratic splitting introduces the error e as its own variable and alternates two easy steps:
//   e ← shrink_p(w − (q − z)·s, β)          (the generalised soft threshold of the l_p proximal operator)
//   z ← mean(q − (w − e)/s)                 (least squares in z with e fixed; q = clamp(round(w/s + z)))
// with β growing by κ each step; a group stops when its l_p error no longer falls, keeping the best z.
#include "quant/Quantizer.h"

#include <algorithm>
#include <cmath>

namespace qs {

namespace {

constexpr double kBeta0 = 10.0, kKappa = 1.01; // the paper's defaults

/// The l_p proximal step: sign(x)·max(0, |x| − |x|^(p−1)/β) (0 stays 0).
inline float shrink(float x, float beta, float pm1)
{
    const float a = std::fabs(x);
    if (a == 0)
        return 0;
    const float v = a - std::pow(a, pm1) / beta;
    return v > 0 ? std::copysign(v, x) : 0.0f;
}

inline float code(float w, float scale, float zero, float qmax)
{
    return std::clamp(std::nearbyint(w / scale + zero), 0.0f, qmax);
}

/// Σ|w − (q − z)·s|^p over a group.
double lpError(const float* w, std::int64_t n, float scale, float zero, float qmax, float p)
{
    double e = 0;
    for (std::int64_t i = 0; i < n; ++i)
        e += std::pow(std::fabs(w[i] - (code(w[i], scale, zero, qmax) - zero) * scale), p);
    return e;
}

/// The optimised parameters of one group (min–max scale, HQQ zero, rounded to the spec's storage).
GroupParams hqqGroup(const float* w, std::int64_t n, const QuantSpec& spec)
{
    GroupParams g = groupParams(w, n, 1, spec);
    const float qmax = float(spec.qmax()), p = float(spec.hqqLpNorm), pm1 = p - 1.0f, s = g.scale;
    float z = g.zero, bestZ = z;
    double best = lpError(w, n, s, z, qmax, p);
    double beta = kBeta0;
    for (int it = 0; it < spec.hqqIterations; ++it) {
        double sum = 0;
        for (std::int64_t i = 0; i < n; ++i) {
            const float q = code(w[i], s, z, qmax);
            const float e = shrink(w[i] - (q - z) * s, float(beta), pm1);
            sum += double(q) - double(w[i] - e) / double(s);
        }
        z = float(sum / double(n));
        beta *= kKappa;
        const double err = lpError(w, n, s, z, qmax, p);
        if (!(err < best))
            break;
        best = err;
        bestZ = z;
    }
    g.zero = spec.floatZeros ? roundToStorage(bestZ, spec.scaleType)
                             : std::clamp(std::nearbyint(bestZ), 0.0f, qmax);
    return g;
}

class HqqQuantizer final : public Quantizer
{
public:
    QuantizedTensor quantize(const QuantizeRequest& r, const JobContext& job) const override
    {
        const QuantSpec& spec = r.spec;
        return quantizeGroups(
            r.weight, r.rows, r.cols, spec,
            [&](const float* values, std::int64_t n, std::int64_t) { return hqqGroup(values, n, spec); },
            spec.hqqIterations, &job);
    }
};

} // namespace

const Quantizer& hqqQuantizer();
const Quantizer& hqqQuantizer()
{
    static const HqqQuantizer q;
    return q;
}

} // namespace qs
