#pragma once

#include "spec/QuantSpec.h"

#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

/// The numbers plots show, computed apart from any plotting (widgets adapt these to QCustomPlot).
namespace qs {

/// One (size, loss) point of a loss-vs-size comparison; both are minimised.
struct SizeLossPoint
{
    double size = 0;
    double loss = 0;
};

/// Indices of the points no other point dominates (another is at most as large and at most as
/// lossy, and better in one), by size ascending (loss then strictly descending). Points with a
/// non-finite coordinate are left out; of identical points only the first is on the front.
std::vector<std::size_t> paretoFront(const std::vector<SizeLossPoint>& points);

enum class BinScale { Linear, Log };

/// Counts of values in bins. Linear bins are equal over [edges.front(), edges.back()]; log bins
/// are geometric and count magnitudes |v|.
struct Histogram
{
    BinScale scale = BinScale::Linear;
    std::vector<double> edges;  ///< bins + 1, ascending
    std::vector<double> counts; ///< per bin
    std::uint64_t skipped = 0;  ///< non-finite values, not counted

    int bins() const { return int(counts.size()); }
    double lower(int i) const { return edges[std::size_t(i)]; }
    double upper(int i) const { return edges[std::size_t(i) + 1]; }
    /// Arithmetic centre (linear) or geometric centre (log) of bin i.
    double center(int i) const;
    double width(int i) const { return upper(i) - lower(i); }
    double total() const;
    /// counts[i] / (total · width(i)): comparable across histograms of different ranges.
    double density(int i) const;
    /// Equal linear bins over [min, max] with the given counts (LayerReport::errorHistogram).
    static Histogram fromCounts(double min, double max, std::vector<double> counts);
};

/// Histogram of `n` values in `bins` bins. The range is [lo, hi] when both are finite, else the
/// values' own range (log: the smallest non-zero and the largest magnitude). Values outside the
/// range (and zeros on a log scale) count in the end bins, so the counts sum to the number of
/// finite values. A range of one value is widened so that bins have a width.
Histogram histogram(const float* values, std::size_t n, int bins, BinScale scale = BinScale::Linear,
                    double lo = std::numeric_limits<double>::quiet_NaN(),
                    double hi = std::numeric_limits<double>::quiet_NaN());
inline Histogram histogram(const std::vector<float>& values, int bins, BinScale scale = BinScale::Linear)
{
    return histogram(values.data(), values.size(), bins, scale);
}

/// The quantization grid of one group of a weight row: every value a code can reconstruct to.
struct QuantGrid
{
    std::vector<double> levels; ///< ascending; empty for float specs
    double scale = 0;
    double zero = 0;
    std::int64_t begin = 0, end = 0; ///< the group's columns [begin, end)
};

/// The grid RTN gives group `group` of a row of `cols` values under `spec` (with the clipping
/// search when the spec asks for it). GPTQ and AWQ compute theirs from updated or scaled weights,
/// so for them this is the grid of the same spec applied by rounding. Per-tensor specs use the
/// values given (pass the whole tensor as the row). Throws qs::Error for a group out of range.
QuantGrid quantizationGrid(const QuantSpec& spec, const float* row, std::int64_t cols,
                           std::int64_t group = 0);

} // namespace qs
