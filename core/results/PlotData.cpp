#include "results/PlotData.h"

#include "spec/QuantizedTensor.h"
#include "util/Error.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace qs {

std::vector<std::size_t> paretoFront(const std::vector<SizeLossPoint>& points)
{
    std::vector<std::size_t> order;
    for (std::size_t i = 0; i < points.size(); ++i) {
        if (std::isfinite(points[i].size) && std::isfinite(points[i].loss))
            order.push_back(i);
    }
    // Size ascending, then loss ascending, then input order: a sweep keeps each point that is
    // strictly better than every smaller (or equal-sized, earlier) one.
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        if (points[a].size != points[b].size)
            return points[a].size < points[b].size;
        if (points[a].loss != points[b].loss)
            return points[a].loss < points[b].loss;
        return a < b;
    });
    std::vector<std::size_t> front;
    double best = std::numeric_limits<double>::infinity();
    for (std::size_t i : order) {
        if (points[i].loss < best) {
            front.push_back(i);
            best = points[i].loss;
        }
    }
    return front;
}

double Histogram::center(int i) const
{
    if (scale == BinScale::Log && lower(i) > 0)
        return std::sqrt(lower(i) * upper(i));
    return 0.5 * (lower(i) + upper(i));
}

double Histogram::total() const
{
    return std::accumulate(counts.begin(), counts.end(), 0.0);
}

double Histogram::density(int i) const
{
    const double t = total(), w = width(i);
    return t > 0 && w > 0 ? counts[std::size_t(i)] / (t * w) : 0.0;
}

Histogram Histogram::fromCounts(double min, double max, std::vector<double> counts)
{
    Histogram h;
    h.counts = std::move(counts);
    if (!(max > min)) { // a histogram of one value: give its bins a width
        const double pad = min != 0 ? std::abs(min) * 0.5 : 0.5;
        min -= pad;
        max += pad;
    }
    const int n = int(h.counts.size());
    h.edges.resize(std::size_t(n) + 1);
    for (int i = 0; i <= n; ++i)
        h.edges[std::size_t(i)] = n ? min + (max - min) * double(i) / double(n) : min;
    if (n)
        h.edges.back() = max;
    return h;
}

Histogram histogram(const float* values, std::size_t n, int bins, BinScale scale, double lo, double hi)
{
    if (bins < 1)
        throw Error(QStringLiteral("a histogram needs at least one bin, got %1").arg(bins));
    Histogram h;
    h.scale = scale;
    const bool log = scale == BinScale::Log;
    auto mapped = [&](float v) { return log ? std::abs(double(v)) : double(v); };
    if (!(std::isfinite(lo) && std::isfinite(hi))) {
        lo = std::numeric_limits<double>::infinity();
        hi = -std::numeric_limits<double>::infinity();
        for (std::size_t i = 0; i < n; ++i) {
            if (!std::isfinite(values[i]))
                continue;
            const double v = mapped(values[i]);
            if (log && v == 0)
                continue;
            lo = std::min(lo, v);
            hi = std::max(hi, v);
        }
        if (!std::isfinite(lo)) // no (non-zero) finite values
            lo = hi = log ? 1.0 : 0.0;
    }
    if (log && lo <= 0)
        throw Error(
            QStringLiteral("log-scale histogram bins need a positive range, got [%1, %2]").arg(lo).arg(hi));
    if (!(hi > lo)) {
        if (log) {
            lo /= 2;
            hi = std::max(hi, lo * 4);
        } else {
            const double pad = lo != 0 ? std::abs(lo) * 0.5 : 0.5;
            lo -= pad;
            hi += pad;
        }
    }
    h.edges.resize(std::size_t(bins) + 1);
    const double llo = log ? std::log(lo) : lo, lhi = log ? std::log(hi) : hi;
    for (int i = 0; i <= bins; ++i) {
        const double t = llo + (lhi - llo) * double(i) / double(bins);
        h.edges[std::size_t(i)] = log ? std::exp(t) : t;
    }
    h.edges.front() = lo;
    h.edges.back() = hi;
    h.counts.assign(std::size_t(bins), 0.0);
    const double step = (lhi - llo) / double(bins);
    for (std::size_t i = 0; i < n; ++i) {
        if (!std::isfinite(values[i])) {
            ++h.skipped;
            continue;
        }
        const double v = mapped(values[i]);
        int b = 0;
        if (!log || v > 0) {
            const double t = ((log ? std::log(v) : v) - llo) / step;
            b = t <= 0 ? 0 : (t >= double(bins) ? bins - 1 : int(t));
        }
        h.counts[std::size_t(b)] += 1;
    }
    return h;
}

QuantGrid quantizationGrid(const QuantSpec& spec, const float* row, std::int64_t cols, std::int64_t group)
{
    QuantGrid g;
    const std::int64_t len = spec.groupLength(cols);
    const std::int64_t groups = spec.groupsPerRow(cols);
    if (group < 0 || group >= groups)
        throw Error(QStringLiteral("group %1 is outside the row's %2 groups (%3 columns, %4)")
                        .arg(group)
                        .arg(groups)
                        .arg(cols)
                        .arg(spec.label()));
    g.begin = group * len;
    g.end = std::min(cols, g.begin + len);
    if (spec.method == QuantMethod::Float)
        return g;
    const GroupParams p = spec.clipSearch ? searchGroupParams(row + g.begin, g.end - g.begin, 1, spec)
                                          : groupParams(row + g.begin, g.end - g.begin, 1, spec);
    g.scale = p.scale;
    g.zero = p.zero;
    g.levels.reserve(std::size_t(spec.qmax()) + 1);
    for (int q = 0; q <= spec.qmax(); ++q)
        g.levels.push_back(double(dequantizeValue(std::uint8_t(q), p)));
    return g;
}

} // namespace qs
