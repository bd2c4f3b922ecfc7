#include "train/FakeQuant.h"

#include "util/Error.h"
#include "util/Threads.h"

#include <cmath>

namespace qs {

namespace {

bool trainableMethod(QuantMethod m)
{
    return m == QuantMethod::Rtn || m == QuantMethod::Gptq || m == QuantMethod::Awq || m == QuantMethod::Hqq;
}

/// One weight on the grid: its code and whether the clamp cut it.
struct GridPoint
{
    float code; ///< q, in [0, qmax]
    float zero; ///< z_q: round(z) for integer zeros, z for real-valued ones
    bool clamped;
};

inline GridPoint onGrid(const FakeQuantGrid& g, float w, float s, float z, float v)
{
    const float zq = g.integerZeros ? std::nearbyint(z) : z;
    // quantizeValue's two conventions: the integer zero outside the rounding, a real one inside.
    const float u = g.integerZeros ? std::nearbyint(w / s + v) + zq : std::nearbyint(w / s + v + z);
    const float qmax = float(g.qmax());
    if (u < 0)
        return {0.0f, zq, true};
    if (u > qmax)
        return {qmax, zq, true};
    return {u, zq, false};
}

} // namespace

FakeQuantGrid FakeQuantGrid::of(const QuantizedTensor& t, const QString& what)
{
    const QuantSpec& s = t.spec;
    if (!trainableMethod(s.method))
        throw Error(QStringLiteral("%1: %2 layers cannot be trained (training runs integer grids: RTN, GPTQ, "
                                   "AWQ and HQQ layers; the tables of SqueezeLLM, QuIP# and AQLM layers; and "
                                   "float layers)")
                        .arg(what, s.label()));
    if (t.rotation || s.incoherence != Incoherence::None)
        throw Error(QStringLiteral("%1: layers with a Hadamard rotation cannot be trained yet").arg(what));
    if (!t.outlierColumns.empty())
        throw Error(QStringLiteral("%1: layers with 16-bit outlier columns cannot be trained").arg(what));
    if (t.scales.empty() || t.scales.size() != t.zeros.size())
        throw Error(QStringLiteral("%1: the layer has no scales and zeros to train").arg(what));
    FakeQuantGrid g = forSpec(s, t.rows, t.cols);
    if (!t.groupIndex.empty()) {
        if (std::int64_t(t.groupIndex.size()) != t.cols)
            throw Error(QStringLiteral("%1: the group index has %2 entries for %3 columns")
                            .arg(what)
                            .arg(t.groupIndex.size())
                            .arg(t.cols));
        g.groupOfColumn = t.groupIndex;
        for (std::int32_t gi : g.groupOfColumn)
            if (gi < 0 || gi >= g.groupsPerRow)
                throw Error(
                    QStringLiteral("%1: group index %2 outside 0…%3").arg(what).arg(gi).arg(g.groupsPerRow));
    }
    if (std::int64_t(t.scales.size()) != g.scaleCount())
        throw Error(QStringLiteral("%1: %2 scales for a grid of %3")
                        .arg(what)
                        .arg(t.scales.size())
                        .arg(g.scaleCount()));
    return g;
}

FakeQuantGrid FakeQuantGrid::forSpec(const QuantSpec& spec, std::int64_t rows, std::int64_t cols)
{
    FakeQuantGrid g;
    g.bits = spec.bits;
    g.symmetric = spec.symmetric;
    g.integerZeros = !spec.floatZeros;
    g.rows = rows;
    g.cols = cols;
    g.groupsPerRow = spec.granularity == Granularity::PerTensor ? 0 : spec.groupsPerRow(cols);
    const std::int64_t length = spec.groupLength(cols);
    g.groupOfColumn.resize(std::size_t(cols));
    for (std::int64_t c = 0; c < cols; ++c)
        g.groupOfColumn[std::size_t(c)] =
            std::int32_t(spec.granularity == Granularity::PerTensor ? 0 : c / length);
    return g;
}

void fakeQuantForward(const FakeQuantGrid& g, const float* w, const float* s, const float* z, const float* v,
                      float* wq)
{
    forEachRowRange(g.rows, g.cols, [&](std::int64_t first, std::int64_t count) {
        for (std::int64_t r = first; r < first + count; ++r)
            for (std::int64_t c = 0; c < g.cols; ++c) {
                const std::int64_t i = r * g.cols + c, si = g.scaleIndex(r, c);
                const GridPoint p = onGrid(g, w[i], s[si], z[si], v ? v[i] : 0.0f);
                wq[i] = (p.code - p.zero) * s[si];
            }
    });
}

void fakeQuantBackward(const FakeQuantGrid& g, const float* w, const float* s, const float* z, const float* v,
                       const float* dwq, float* dw, float* ds, float* dz, float* dv)
{
    // Per-row partial sums of the scale and zero gradients, in column order; a per-tensor grid then
    // adds its rows in order, so no sum depends on how rows were split over threads.
    const std::int64_t perRow = g.perTensor() ? 1 : g.groupsPerRow;
    std::vector<double> rowDs, rowDz;
    if (ds)
        rowDs.assign(std::size_t(g.rows * perRow), 0.0);
    if (dz)
        rowDz.assign(std::size_t(g.rows * perRow), 0.0);
    forEachRowRange(g.rows, g.cols, [&](std::int64_t first, std::int64_t count) {
        for (std::int64_t r = first; r < first + count; ++r)
            for (std::int64_t c = 0; c < g.cols; ++c) {
                const std::int64_t i = r * g.cols + c, si = g.scaleIndex(r, c);
                const std::int64_t local = r * perRow + (g.perTensor() ? 0 : g.groupOfColumn[std::size_t(c)]);
                const float sc = s[si];
                const GridPoint p = onGrid(g, w[i], sc, z[si], v ? v[i] : 0.0f);
                const double d = dwq[i];
                if (p.clamped) {
                    if (ds)
                        rowDs[std::size_t(local)] += d * double(p.code - p.zero);
                    if (dz && !g.symmetric)
                        rowDz[std::size_t(local)] -= d * double(sc);
                } else {
                    if (dw)
                        dw[i] += float(d);
                    if (ds)
                        rowDs[std::size_t(local)] +=
                            d * (double(p.code - p.zero) - double(w[i]) / double(sc));
                    if (dv)
                        dv[i] += float(d * double(sc));
                }
            }
    });
    auto reduce = [&](const std::vector<double>& parts, float* out) {
        if (!out)
            return;
        if (g.perTensor()) {
            double total = 0;
            for (double p : parts)
                total += p;
            out[0] += float(total);
        } else {
            for (std::size_t k = 0; k < parts.size(); ++k)
                out[k] += float(parts[k]);
        }
    };
    reduce(rowDs, ds);
    reduce(rowDz, dz);
}

std::vector<std::uint8_t> fakeQuantCodes(const FakeQuantGrid& g, const float* w, const float* s,
                                         const float* z, const float* v)
{
    std::vector<std::uint8_t> codes(std::size_t(g.rows * g.cols));
    for (std::int64_t r = 0; r < g.rows; ++r)
        for (std::int64_t c = 0; c < g.cols; ++c) {
            const std::int64_t i = r * g.cols + c, si = g.scaleIndex(r, c);
            codes[std::size_t(i)] = std::uint8_t(onGrid(g, w[i], s[si], z[si], v ? v[i] : 0.0f).code);
        }
    return codes;
}

} // namespace qs
