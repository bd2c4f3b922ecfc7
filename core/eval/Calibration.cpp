#include "eval/Calibration.h"

#include "util/Threads.h"

#include <algorithm>
#include <cmath>

namespace qs {

std::vector<double> LinearInputStats::meanAbs() const
{
    std::vector<double> m(sumAbs.size());
    for (std::size_t j = 0; j < m.size(); ++j)
        m[j] = tokens ? sumAbs[j] / double(tokens) : 0.0;
    return m;
}

Eigen::MatrixXd LinearInputStats::hessian() const
{
    return tokens ? Eigen::MatrixXd(xtx * (2.0 / double(tokens))) : Eigen::MatrixXd(xtx);
}

void addXtxLower(Eigen::MatrixXd& lower, const float* x, std::int64_t n, std::int64_t in)
{
    const Eigen::MatrixXd X =
        Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(x, n, in)
            .cast<double>();
    constexpr std::int64_t kTile = 256;
    forEachRowTile(in, kTile, true, [&](std::int64_t first, std::int64_t count) {
        lower.block(first, first, in - first, count).noalias() +=
            X.rightCols(in - first).transpose() * X.middleCols(first, count);
    });
}

CalibrationCollector::CalibrationCollector(const Model& model, std::set<int> layers, CalibrationOptions opt)
    : m_opt(opt), m_rng(opt.seed)
{
    for (int i : layers) {
        const LinearLayerInfo& l = model.linears().at(std::size_t(i));
        LinearInputStats s;
        s.inFeatures = l.inFeatures;
        s.outFeatures = l.outFeatures;
        if (opt.hessian) {
            s.xtx = Eigen::MatrixXd::Zero(l.inFeatures, l.inFeatures);
            m_xtxUpperStale[i] = false;
        }
        s.sumAbs.assign(std::size_t(l.inFeatures), 0.0);
        s.maxAbs.assign(std::size_t(l.inFeatures), 0.0);
        s.sumSquares.assign(std::size_t(l.inFeatures), 0.0);
        m_stats.emplace(i, std::move(s));
    }
}

void CalibrationCollector::linearInput(int index, const float* x, std::int64_t n, std::int64_t in)
{
    const auto it = m_stats.find(index);
    if (it == m_stats.end())
        return;
    LinearInputStats& s = it->second;
    for (std::int64_t t = 0; t < n; ++t) {
        const float* row = x + t * in;
        for (std::int64_t j = 0; j < in; ++j) {
            const double v = row[j], a = std::fabs(v);
            s.sumAbs[std::size_t(j)] += a;
            s.sumSquares[std::size_t(j)] += v * v;
            s.maxAbs[std::size_t(j)] = std::max(s.maxAbs[std::size_t(j)], a);
        }
    }
    if (m_opt.hessian) {
        addXtxLower(s.xtx, x, n, in); // in f64: XᵀX over many tokens loses precision in f32
        m_xtxUpperStale[index] = true;
    }
    // Reservoir sampling of rows (Algorithm R), deterministic for a seed.
    std::vector<std::int64_t>& slots = m_pendingSlots[index];
    slots.assign(std::size_t(n), -1);
    if (m_opt.sampleRows > 0) {
        const std::int64_t k = m_opt.sampleRows;
        s.sampleInputs.resize(std::size_t(k * in));
        for (std::int64_t t = 0; t < n; ++t) {
            const std::int64_t seen = s.tokens + t;
            std::int64_t slot = -1;
            if (seen < k) {
                slot = seen;
            } else {
                const std::int64_t r = std::int64_t(m_rng() % std::uint64_t(seen + 1));
                if (r < k)
                    slot = r;
            }
            if (slot >= 0) {
                std::copy(x + t * in, x + (t + 1) * in, s.sampleInputs.begin() + slot * in);
                slots[std::size_t(t)] = slot;
            }
        }
        s.sampleRows = std::min(k, s.tokens + n);
    }
    s.tokens += n;
}

void CalibrationCollector::linearOutput(int index, const float* y, std::int64_t n, std::int64_t out)
{
    const auto it = m_stats.find(index);
    if (it == m_stats.end() || m_opt.sampleRows <= 0)
        return;
    LinearInputStats& s = it->second;
    s.sampleOutputs.resize(std::size_t(m_opt.sampleRows * out));
    const std::vector<std::int64_t>& slots = m_pendingSlots[index];
    for (std::int64_t t = 0; t < n && t < std::int64_t(slots.size()); ++t) {
        if (slots[std::size_t(t)] >= 0)
            std::copy(y + t * out, y + (t + 1) * out, s.sampleOutputs.begin() + slots[std::size_t(t)] * out);
    }
}

void CalibrationCollector::completeXtx(int index) const
{
    const std::lock_guard lock(m_completeMutex);
    const auto stale = m_xtxUpperStale.find(index);
    if (stale == m_xtxUpperStale.end() || !stale->second)
        return;
    Eigen::MatrixXd& xtx = m_stats.at(index).xtx;
    xtx.triangularView<Eigen::StrictlyUpper>() = xtx.transpose(); // full and symmetric
    stale->second = false;
}

const LinearInputStats& CalibrationCollector::stats(int index) const
{
    const LinearInputStats& s = m_stats.at(index);
    completeXtx(index);
    return s;
}

const LinearInputStats* CalibrationCollector::find(int index) const
{
    const auto it = m_stats.find(index);
    if (it == m_stats.end())
        return nullptr;
    completeXtx(index);
    return &it->second;
}

LinearInputStats CalibrationCollector::take(int index)
{
    completeXtx(index);
    LinearInputStats s = std::move(m_stats.at(index));
    m_stats.erase(index);
    m_xtxUpperStale.erase(index);
    return s;
}

void collectHeadStatistics(const Transformer& t, int headIndex, const std::vector<std::vector<float>>& hidden,
                           CalibrationCollector& col, const JobContext& job)
{
    const int H = t.config().hiddenSize, V = t.config().vocabSize;
    std::vector<float> x, y;
    for (const std::vector<float>& h : hidden) {
        job.checkCancelled();
        const int n = int(h.size() / std::size_t(H));
        x.resize(std::size_t(n) * std::size_t(H));
        t.finalNorm(h.data(), n, x.data());
        col.linearInput(headIndex, x.data(), n, H);
        y.resize(std::size_t(n) * std::size_t(V));
        t.linear(headIndex).forward(x.data(), n, y.data());
        col.linearOutput(headIndex, y.data(), n, V);
    }
}

} // namespace qs
