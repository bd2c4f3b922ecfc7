// SqueezeLLM (Kim et al. 2023, "SqueezeLLM: Dense-and-Sparse Quantization"). Two parts:
// - Sparse: a small share of the weights (spec.sparsePercent, default 0.45 %) is taken out before the
//   codebooks are fitted and kept exact: 8/9 of them the largest |w| of the layer (the paper's 0.40 %
//   outliers, which would stretch a row's codebook), 1/9 the most sensitive of the rest (its 0.05 %).
// - Dense: each output row gets its own codebook of 2^bits values from k-means over the row's remaining
//   weights, each weighted by its sensitivity. The paper's sensitivity is the diagonal of the Fisher
//   information, the mean squared gradient of the loss with respect to the weight. Without a backward pass
//   we use the proxy the Hessian of the layer's own output error gives for weight (r, c): the calibration
//   inputs' mean x_c² (the diagonal of XᵀX / tokens, the same for every row). The sensitive weights of the
//   sparse part are ranked by x_c²·w², the output error their removal would cause.
// One-dimensional k-means is exact and cheap on sorted values: a cluster is a run of consecutive values,
// and with prefix sums of the weights and weighted values each Lloyd step costs O(K log n). The codebook is
// rounded to f16 (what is stored), every weight of the row then takes its nearest entry, and a sparse
// weight stores w − codebook[q] in f16, so the dense and sparse parts add up to w to f16 precision.
#include "eval/Calibration.h"
#include "quant/Quantizer.h"
#include "util/Error.h"
#include "util/Threads.h"

#include <algorithm>
#include <cmath>
#include <functional>

namespace qs {

namespace {

constexpr int kMaxLloydSteps = 100;

/// The codebook (K entries, ascending) of weighted 1-D k-means over sorted values v[0..n) with weights
/// w[0..n) > 0: weighted-quantile start, then Lloyd steps until the centroids stop moving.
std::vector<double> kmeans1d(const std::vector<float>& v, const std::vector<double>& w, int K)
{
    const std::size_t n = v.size();
    std::vector<double> cw(n + 1, 0.0), cwv(n + 1, 0.0); // prefix sums
    for (std::size_t i = 0; i < n; ++i) {
        cw[i + 1] = cw[i] + w[i];
        cwv[i + 1] = cwv[i] + w[i] * double(v[i]);
    }
    std::vector<double> c(std::size_t(K), 0.0);
    if (n == 0)
        return c;
    const double total = cw[n];
    for (int k = 0; k < K; ++k) { // the value at the (k + ½)/K weighted quantile
        const double target = total * (double(k) + 0.5) / double(K);
        const std::size_t i =
            std::size_t(std::upper_bound(cw.begin() + 1, cw.end(), target) - cw.begin() - 1);
        c[std::size_t(k)] = double(v[std::min(i, n - 1)]);
    }
    std::vector<std::size_t> edge(std::size_t(K) + 1);
    for (int step = 0; step < kMaxLloydSteps; ++step) {
        // Cluster k holds v[edge[k] .. edge[k+1]): the values nearer to c[k] than to its neighbours.
        edge.front() = 0;
        edge.back() = n;
        for (int k = 1; k < K; ++k) {
            const double mid = 0.5 * (c[std::size_t(k) - 1] + c[std::size_t(k)]);
            edge[std::size_t(k)] = std::size_t(
                std::upper_bound(v.begin(), v.end(), mid, [](double m, float x) { return m < double(x); }) -
                v.begin());
            edge[std::size_t(k)] = std::max(edge[std::size_t(k)], edge[std::size_t(k) - 1]);
        }
        bool moved = false;
        for (int k = 0; k < K; ++k) {
            const std::size_t a = edge[std::size_t(k)], b = edge[std::size_t(k) + 1];
            const double wk = cw[b] - cw[a];
            if (wk <= 0)
                continue; // an empty cluster keeps its centroid
            const double next = (cwv[b] - cwv[a]) / wk;
            moved = moved || next != c[std::size_t(k)];
            c[std::size_t(k)] = next;
        }
        std::sort(c.begin(), c.end());
        if (!moved)
            break;
    }
    return c;
}

/// The index of the entry of `book` (ascending) nearest to x (ties to the lower one).
inline std::uint8_t nearest(const float* book, int K, float x)
{
    const float* hi = std::lower_bound(book, book + K, x);
    if (hi == book)
        return 0;
    if (hi == book + K)
        return std::uint8_t(K - 1);
    return std::uint8_t((x - hi[-1] <= *hi - x ? hi - 1 : hi) - book);
}

class SqueezeLlmQuantizer final : public Quantizer
{
public:
    QuantizedTensor quantize(const QuantizeRequest& r, const JobContext& job) const override
    {
        const QuantSpec& spec = r.spec;
        const std::int64_t rows = r.rows, cols = r.cols;
        if (!r.stats || std::int64_t(r.stats->sumSquares.size()) != cols || r.stats->tokens <= 0)
            throw Error(r.layerName +
                        QStringLiteral(": SqueezeLLM needs calibration statistics (Σx² per input)"));
        // The sensitivity of column c: mean x_c², floored so a column calibration never excited still counts.
        std::vector<double> fisher(static_cast<std::size_t>(cols));
        double mean = 0;
        for (std::int64_t c = 0; c < cols; ++c) {
            fisher[std::size_t(c)] = r.stats->sumSquares[std::size_t(c)] / double(r.stats->tokens);
            mean += fisher[std::size_t(c)] / double(cols);
        }
        const double floor = mean > 0 ? mean * 1e-6 : 1.0;
        for (double& f : fisher)
            f = std::max(f, floor);

        // The sparse part: the largest |w|, then the most sensitive x²·w² of the rest.
        const std::int64_t total = spec.sparseCount(rows, cols);
        const std::int64_t byMagnitude = std::llround(double(total) * 0.40 / 0.45);
        std::vector<char> sparse(std::size_t(rows * cols), 0);
        // The k highest scores among the weights not yet taken (ties to the lower index): the k-th
        // highest found by nth_element on a copy, 8 bytes a weight while it runs.
        auto takeTop = [&](std::int64_t k, auto score) {
            if (k <= 0)
                return;
            std::vector<float> scores(std::size_t(rows * cols));
            for (std::int64_t i = 0; i < rows * cols; ++i)
                scores[std::size_t(i)] = sparse[std::size_t(i)] ? -1.0f : float(score(i));
            std::vector<float> sorted = scores;
            k = std::min<std::int64_t>(k, std::int64_t(sorted.size()));
            std::nth_element(sorted.begin(), sorted.begin() + (k - 1), sorted.end(), std::greater<float>());
            const float kth = sorted[std::size_t(k - 1)];
            std::vector<float>().swap(sorted);
            std::int64_t above = 0;
            for (float x : scores)
                above += x > kth;
            std::int64_t ties = k - above;
            for (std::int64_t i = 0; i < rows * cols; ++i) {
                const float x = scores[std::size_t(i)];
                if (x > kth || (x == kth && ties-- > 0))
                    sparse[std::size_t(i)] = 1;
            }
        };
        takeTop(byMagnitude, [&](std::int64_t i) { return double(std::fabs(r.weight[i])); });
        takeTop(total - byMagnitude, [&](std::int64_t i) {
            const double w = r.weight[i];
            return fisher[std::size_t(i % cols)] * w * w;
        });
        job.checkCancelled();

        QuantizedTensor t;
        t.spec = spec;
        t.rows = rows;
        t.cols = cols;
        const int K = 1 << spec.bits;
        t.codes.resize(std::size_t(rows * cols));
        t.codebook.resize(std::size_t(rows) * std::size_t(K));
        forEachRowRange(rows, cols * 8, [&](std::int64_t first, std::int64_t count) {
            std::vector<std::int64_t> order;
            std::vector<float> v;
            std::vector<double> w;
            for (std::int64_t row = first; row < first + count; ++row) {
                if (job.cancel->isCancelled())
                    return;
                const float* wr = r.weight + row * cols;
                order.clear();
                for (std::int64_t c = 0; c < cols; ++c)
                    if (!sparse[std::size_t(row * cols + c)])
                        order.push_back(c);
                std::sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) {
                    return wr[a] < wr[b] || (wr[a] == wr[b] && a < b);
                });
                v.resize(order.size());
                w.resize(order.size());
                for (std::size_t i = 0; i < order.size(); ++i) {
                    v[i] = wr[order[i]];
                    w[i] = fisher[std::size_t(order[i])];
                }
                const std::vector<double> centroids = kmeans1d(v, w, K);
                float* book = t.codebook.data() + row * K;
                for (int k = 0; k < K; ++k)
                    book[k] = roundToStorage(float(centroids[std::size_t(k)]), DType::F16);
                std::sort(book, book + K);
                for (std::int64_t c = 0; c < cols; ++c)
                    t.codes[std::size_t(row * cols + c)] = nearest(book, K, wr[c]);
            }
        });
        job.checkCancelled();

        if (total > 0) {
            t.sparseRowStart.assign(std::size_t(rows) + 1, 0);
            t.sparseColumns.reserve(std::size_t(total));
            t.sparseValues.reserve(std::size_t(total));
            for (std::int64_t row = 0; row < rows; ++row) {
                for (std::int64_t c = 0; c < cols; ++c) {
                    const std::size_t i = std::size_t(row * cols + c);
                    if (!sparse[i])
                        continue;
                    const float dense = t.codebook[std::size_t(row * K) + t.codes[i]];
                    t.sparseColumns.push_back(std::int32_t(c));
                    t.sparseValues.push_back(roundToStorage(r.weight[i] - dense, DType::F16));
                }
                t.sparseRowStart[std::size_t(row) + 1] = std::int32_t(t.sparseColumns.size());
            }
        }
        return t;
    }
};

} // namespace

const Quantizer& squeezeLlmQuantizer();
const Quantizer& squeezeLlmQuantizer()
{
    static const SqueezeLlmQuantizer q;
    return q;
}

} // namespace qs
