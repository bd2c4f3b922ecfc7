// AQLM (Egiazarian et al. 2024, "Extreme Compression of Large Language Models via Additive Quantization").
// A row is cut into groups of 8 input weights; each group is s_r · Σ_m C_m[code_m], one entry of each of the
// layer's M codebooks (kernels/AdditiveCodes.h) times the row's scale. What is minimised is the layer's
// output error on the calibration inputs, Σ_r (w_r − ŵ_r)·H·(w_r − ŵ_r)ᵀ with H = 2·XᵀX/n (damped as GPTQ's),
// which couples the groups of a row through H's off-diagonal blocks. quantizeWeight() has rotated the inputs
// first when the spec asks for incoherence. The phases:
// - start: the row scale is the row's root mean square; the codebooks come from residual k-means over the
//   scaled groups (each coordinate weighted by s_r²·H_jj, the diagonal part of the objective): one 256-entry
//   stage per byte of a group's code, on a sample of at most 32768 groups. A 16-bit codebook starts as the
//   sums of two such stages (2^16 pairs), so 1x16 begins where a 2x8 residual quantizer ends.
// - rounds of three steps, each of which cannot raise the objective (AqlmTrace records it):
//   * codes: for each group of each row, a beam search over the codebooks (the paper's encoder): the
//     `beamSize` best partial sums are extended by every entry of the next codebook, scored by the exact
//     change of the row's objective (with the other groups fixed, through the row's E·H, kept current as in
//     GPTQ's lazy batches); then one pass of exact coordinate descent over the codebooks from the better of
//     the beam's best and the current codes. A group changes only when its objective falls.
//   * codebooks: with the codes fixed the objective is quadratic in the codebook entries; a few steps of
//     conjugate gradients, preconditioned by each entry's own 8×8 block (Σ 2·s_r²·H_JJ over the groups that
//     use it), move all entries at once (the paper uses Adam; CG reaches the same minimiser in fewer passes).
//     The entries are then rounded to f16, as stored.
//   * scales: each row's scale by least squares, s = w·H·uᵀ / u·H·uᵀ (u the row's decoded groups), in f16.
// A row that does not split into whole groups ends in a piece rounded value by value (AdditiveCodes.h).
#include "quant/AqlmQuantizer.h"

#include "eval/Calibration.h"
#include "kernels/AdditiveCodes.h"
#include "quant/Gptq.h"
#include "util/Error.h"
#include "util/Threads.h"

#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>

namespace qs {

namespace {

using MatrixF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Vec8 = Eigen::Matrix<float, aq::kDim, 1>;
using Mat8 = Eigen::Matrix<float, aq::kDim, aq::kDim>;
using Entries = Eigen::Matrix<float, Eigen::Dynamic, aq::kDim, Eigen::RowMajor>;

constexpr int kDim = aq::kDim;
constexpr std::int64_t kRowTile = 64;
constexpr std::int64_t kGroupBatch = 16; ///< groups whose E·H updates outside the batch wait for one GEMM
constexpr int kLloydSteps = 15;
constexpr std::int64_t kKmeansSample = 32768;
constexpr int kCgSteps = 6;
constexpr int kMaxBooks = 8;

class Aqlm
{
public:
    Aqlm(const QuantizeRequest& r, const JobContext& job, AqlmTrace* trace)
        : m_r(r), m_job(job), m_trace(trace), m_rows(r.rows), m_cols(r.cols), m_groups(r.cols / kDim),
          m_bits(r.spec.bits), m_B(r.spec.codebookBits), m_M(r.spec.additiveCodebooks()),
          m_K(std::int64_t(1) << r.spec.codebookBits)
    {
        m_W = Eigen::Map<const MatrixF>(r.weight, m_rows, m_cols);
        const std::vector<double> diag = hessianDiagonal(r, "AQLM", m_W);
        double meanDiag = 0;
        for (double d : diag)
            meanDiag += d / double(diag.size());
        const double hScale = 2.0 / double(r.stats->tokens);
        m_H = (r.stats->xtx * hScale).cast<float>();
        for (std::int64_t i = 0; i < m_cols; ++i)
            m_H(i, i) = float(diag[std::size_t(i)] + r.spec.dampPercent * meanDiag);
        m_blocks.resize(std::size_t(m_groups));
        for (std::int64_t g = 0; g < m_groups; ++g)
            m_blocks[std::size_t(g)] = m_H.block<kDim, kDim>(g * kDim, g * kDim);
        m_WH = timesH(m_W);
        m_energy = 0;
        for (std::int64_t row = 0; row < m_rows; ++row)
            m_energy += m_W.row(row).cast<double>().dot(m_WH.row(row).cast<double>());
        if (!(m_energy > 0))
            m_energy = 1;
    }

    QuantizedTensor run()
    {
        start();
        for (int round = 1; round <= m_r.spec.rounds; ++round) {
            searchCodes();
            const double searched = objectiveOfCurrent();
            record(QStringLiteral("beam search %1").arg(round), searched);
            record(QStringLiteral("codebooks %1").arg(round), refitCodebooks(searched));
            refitScales(round);
        }
        return tensor();
    }

private:
    const QuantizeRequest& m_r;
    const JobContext& m_job;
    AqlmTrace* m_trace;
    const std::int64_t m_rows, m_cols, m_groups;
    const int m_bits, m_B, m_M;
    const std::int64_t m_K;
    MatrixF m_W, m_H, m_WH;
    MatrixF m_U, m_UH; ///< the rows decoded without their scales, and U·H
    std::vector<Mat8> m_blocks;
    double m_energy = 0;
    std::vector<float> m_scale;
    std::vector<std::uint32_t> m_codes; ///< [row][group][book]
    std::vector<std::uint8_t> m_tail;   ///< [row][value of the piece after the last whole group]
    std::vector<float> m_book;          ///< [book][entry][8]

    std::int64_t tailLength() const { return m_cols - m_groups * kDim; }
    const float* entry(int m, std::uint32_t k) const
    {
        return m_book.data() + (std::int64_t(m) * m_K + k) * kDim;
    }
    std::uint32_t* codesOf(std::int64_t row, std::int64_t g)
    {
        return m_codes.data() + (row * m_groups + g) * m_M;
    }

    void record(const QString& phase, double objective) const
    {
        if (m_trace)
            m_trace->steps.push_back({phase, objective / m_energy});
    }

    /// A · H, row tiles in parallel.
    MatrixF timesH(const MatrixF& A) const
    {
        MatrixF out(A.rows(), m_cols);
        forEachRowTile(A.rows(), kRowTile, true, [&](std::int64_t first, std::int64_t count) {
            out.middleRows(first, count).noalias() = A.middleRows(first, count) * m_H;
        });
        m_job.checkCancelled();
        return out;
    }

    /// Row `row` decoded without its scale into out[cols].
    void decodeRow(std::int64_t row, float* out) const
    {
        for (std::int64_t g = 0; g < m_groups; ++g) {
            const std::uint32_t* c = m_codes.data() + (row * m_groups + g) * m_M;
            float* o = out + g * kDim;
            std::fill(o, o + kDim, 0.0f);
            for (int m = 0; m < m_M; ++m) {
                const float* e = entry(m, c[m]);
                for (int k = 0; k < kDim; ++k)
                    o[k] += e[k];
            }
        }
        const std::int64_t t = tailLength();
        for (std::int64_t j = 0; j < t; ++j)
            out[m_groups * kDim + j] = aq::gaussianLevelValue(m_bits, aq::kGaussianUniformStep[m_bits],
                                                              m_tail[std::size_t(row * t + j)]);
    }

    void decodeAll()
    {
        m_U.resize(m_rows, m_cols);
        forEachRowRange(m_rows, m_cols * m_M, [&](std::int64_t first, std::int64_t count) {
            for (std::int64_t row = first; row < first + count; ++row)
                decodeRow(row, m_U.row(row).data());
        });
        m_UH = timesH(m_U);
    }

    /// Σ_r e_r·(E·H)_r with e_r = w_r − s_r·u_r and (E·H)_r = (W·H)_r − s_r·(U·H)_r, in double: the error is
    /// small next to W, so it is formed before the products are summed (w·H·wᵀ − 2s·w·H·uᵀ + s²·u·H·uᵀ
    /// would lose it to cancellation).
    double objectiveOfCurrent() const
    {
        std::vector<double> perRow(std::size_t(m_rows), 0.0);
        forEachRowRange(m_rows, m_cols, [&](std::int64_t first, std::int64_t count) {
            for (std::int64_t row = first; row < first + count; ++row) {
                const double s = m_scale[std::size_t(row)];
                double f = 0;
                for (std::int64_t c = 0; c < m_cols; ++c)
                    f += (double(m_W(row, c)) - s * double(m_U(row, c))) *
                         (double(m_WH(row, c)) - s * double(m_UH(row, c)));
                perRow[std::size_t(row)] = f;
            }
        });
        return std::accumulate(perRow.begin(), perRow.end(), 0.0);
    }

    // ---- start: scales, the piece after the last group, residual k-means ----

    void start()
    {
        m_scale.resize(std::size_t(m_rows));
        const std::int64_t t = tailLength();
        m_tail.assign(std::size_t(m_rows * t), 0);
        const float step = aq::kGaussianUniformStep[m_bits];
        for (std::int64_t row = 0; row < m_rows; ++row) {
            const double rms = std::sqrt(double(m_W.row(row).squaredNorm()) / double(m_cols));
            const float s = roundToStorage(float(rms), m_r.spec.scaleType);
            m_scale[std::size_t(row)] = s > 0 && std::isfinite(s) ? s : 1.0f;
            for (std::int64_t j = 0; j < t; ++j) {
                float v = 0;
                m_tail[std::size_t(row * t + j)] = aq::gaussianLevel(
                    m_bits, step, m_W(row, m_groups * kDim + j) / m_scale[std::size_t(row)], v);
            }
        }
        m_codes.assign(std::size_t(m_rows * m_groups * m_M), 0);
        m_book.assign(std::size_t(m_M * m_K * kDim), 0.0f);
        if (m_groups > 0)
            residualKmeans();
        decodeAll();
        record(QStringLiteral("k-means"), objectiveOfCurrent());
    }

    /// The index of the entry of `centroids` nearest to each of the vectors V[first, first + n) under the
    /// per-coordinate weights Om: Σ ω(v − c)² = const − 2·(ω∘v)·c + ω·(c∘c).
    static void nearest(const MatrixF& V, const MatrixF& Om, std::int64_t first, std::int64_t n,
                        const Entries& centroids, std::uint32_t* out)
    {
        const MatrixF wv = V.middleRows(first, n).cwiseProduct(Om.middleRows(first, n));
        const Entries sq = centroids.cwiseProduct(centroids);
        const MatrixF d = Om.middleRows(first, n) * sq.transpose() - 2.0f * wv * centroids.transpose();
        for (std::int64_t i = 0; i < n; ++i) {
            Eigen::Index k = 0;
            d.row(i).minCoeff(&k);
            out[i] = std::uint32_t(k);
        }
    }

    static void nearestAll(const MatrixF& V, const MatrixF& Om, const Entries& centroids, std::uint32_t* out)
    {
        forEachRowTile(V.rows(), 4096, true, [&](std::int64_t first, std::int64_t count) {
            nearest(V, Om, first, count, centroids, out + first);
        });
    }

    void residualKmeans()
    {
        const std::int64_t n = m_rows * m_groups;
        MatrixF R(n, kDim), Om(n, kDim);
        for (std::int64_t row = 0; row < m_rows; ++row) {
            const float s = m_scale[std::size_t(row)];
            for (std::int64_t g = 0; g < m_groups; ++g)
                for (int k = 0; k < kDim; ++k) {
                    R(row * m_groups + g, k) = m_W(row, g * kDim + k) / s;
                    Om(row * m_groups + g, k) = s * s * m_H(g * kDim + k, g * kDim + k);
                }
        }
        std::mt19937_64 rng(std::uint64_t(m_rows) * 1000003u ^ std::uint64_t(m_cols) * 7919u);
        std::vector<std::int64_t> order(static_cast<std::size_t>(n));
        std::iota(order.begin(), order.end(), 0);
        std::shuffle(order.begin(), order.end(), rng);
        const std::int64_t ns = std::min(n, kKmeansSample);
        MatrixF SR(ns, kDim), SOm(ns, kDim);
        for (std::int64_t i = 0; i < ns; ++i)
            SOm.row(i) = Om.row(order[std::size_t(i)]);

        // Stages of at most 8 bits: a book of B ≤ 8 bits is one stage, a larger one two of B/2 bits.
        const int per = (m_B + 7) / 8, stageBits = m_B / per, stages = m_M * per;
        const std::int64_t stageEntries = std::int64_t(1) << stageBits;
        std::vector<Entries> stageBook(static_cast<std::size_t>(stages));
        std::vector<std::vector<std::uint32_t>> stageCode(static_cast<std::size_t>(stages));
        std::normal_distribution<float> normal(0.f, 1.f);
        std::vector<std::uint32_t> assign(static_cast<std::size_t>(ns));
        for (int t = 0; t < stages; ++t) {
            for (std::int64_t i = 0; i < ns; ++i)
                SR.row(i) = R.row(order[std::size_t(i)]);
            const float spread = std::sqrt(SR.squaredNorm() / float(ns * kDim)) + 1e-12f;
            Entries C(stageEntries, kDim);
            for (std::int64_t k = 0; k < stageEntries; ++k) { // distinct sample groups, jittered if too few
                C.row(k) = SR.row(k % ns);
                if (k >= ns)
                    for (int d = 0; d < kDim; ++d)
                        C(k, d) += 0.1f * spread * normal(rng);
            }
            for (int step = 0; step < kLloydSteps; ++step) {
                nearestAll(SR, SOm, C, assign.data());
                Entries sum = Entries::Zero(stageEntries, kDim), weight = Entries::Zero(stageEntries, kDim);
                for (std::int64_t i = 0; i < ns; ++i) {
                    sum.row(assign[std::size_t(i)]) += SR.row(i).cwiseProduct(SOm.row(i));
                    weight.row(assign[std::size_t(i)]) += SOm.row(i);
                }
                for (std::int64_t k = 0; k < stageEntries; ++k)
                    for (int d = 0; d < kDim; ++d)
                        if (weight(k, d) > 0) // an empty cluster keeps its centroid
                            C(k, d) = sum(k, d) / weight(k, d);
                m_job.checkCancelled();
            }
            std::vector<std::uint32_t>& code = stageCode[std::size_t(t)];
            code.resize(std::size_t(n));
            nearestAll(R, Om, C, code.data());
            for (std::int64_t i = 0; i < n; ++i)
                R.row(i) -= C.row(code[std::size_t(i)]);
            stageBook[std::size_t(t)] = std::move(C);
        }
        // Book m from stage m, or from stages 2m and 2m + 1: entry (a << B/2) | b = A[a] + B[b].
        for (int m = 0; m < m_M; ++m) {
            for (std::int64_t k = 0; k < m_K; ++k) {
                Vec8 v = Vec8::Zero();
                for (int p = 0; p < per; ++p) {
                    const std::int64_t part = (k >> (stageBits * (per - 1 - p))) & (stageEntries - 1);
                    v += stageBook[std::size_t(m * per + p)].row(part).transpose();
                }
                for (int d = 0; d < kDim; ++d)
                    m_book[std::size_t((m * m_K + k) * kDim + d)] = roundToStorage(v[d], DType::F16);
            }
            for (std::int64_t i = 0; i < n; ++i) {
                std::uint32_t c = 0;
                for (int p = 0; p < per; ++p)
                    c = (c << stageBits) | stageCode[std::size_t(m * per + p)][std::size_t(i)];
                m_codes[std::size_t(i * m_M + m)] = c;
            }
        }
    }

    // ---- codes: beam search and coordinate descent per group, E·H kept current per row tile ----

    struct Hypothesis
    {
        Vec8 sum = Vec8::Zero();
        std::uint32_t code[kMaxBooks] = {};
        float score = 0;
    };

    struct Candidate
    {
        float score;
        int parent;
        std::uint32_t k;
    };

    /// searchGroup's buffers, one set per tile of rows (reused by every group: no allocation per group).
    struct SearchScratch
    {
        std::vector<float> scores; ///< K
        std::vector<Hypothesis> hyps, next;
        std::vector<Candidate> best;
    };

    /// What one group of one row sees: Δ(u) = −2s·g·(u − u0) + s²·(u − u0)ᵀ·H_JJ·(u − u0), the change of the
    /// row's objective when the group's unscaled values u0 become u, g = (E·H)_J.
    struct GroupView
    {
        const Mat8* HJJ;
        Vec8 g, u0;
        float s, s2;
        /// Scores of every entry c of book `m` added to the partial sum p: Δ(p + c) = base + lin·c + s²·q_c.
        void score(const float* book, const float* q, std::int64_t K, const Vec8& p, float* out) const
        {
            const Vec8 a = p - u0;
            const Vec8 Ha = *HJJ * a;
            const Vec8 lin = 2.0f * s2 * Ha - 2.0f * s * g;
            const float base = -2.0f * s * g.dot(a) + s2 * a.dot(Ha);
            Eigen::Map<Eigen::VectorXf> o(out, K);
            o.noalias() = Eigen::Map<const Entries>(book, K, kDim) * lin;
            o.array() += base + s2 * Eigen::Map<const Eigen::ArrayXf>(q, K);
        }
    };

    /// The group's new codes (into `codes`, M of them) and the change of the objective they bring (≤ 0; 0
    /// when the current codes stay). `q` holds q_c = cᵀ·H_JJ·c for every entry of every book.
    float searchGroup(const GroupView& v, const float* q, std::uint32_t* codes, SearchScratch& work)
    {
        const int beam = m_r.spec.beamSize;
        std::vector<float>& scratch = work.scores;
        std::vector<Hypothesis>&hyps = work.hyps, &next = work.next;
        std::vector<Candidate>& best = work.best;
        hyps.assign(1, Hypothesis{});
        best.reserve(std::size_t(beam) + 1);
        for (int m = 0; m < m_M; ++m) {
            best.clear();
            for (int h = 0; h < int(hyps.size()); ++h) {
                v.score(entry(m, 0), q + m * m_K, m_K, hyps[std::size_t(h)].sum, scratch.data());
                for (std::int64_t k = 0; k < m_K; ++k) {
                    const float sc = scratch[std::size_t(k)];
                    if (int(best.size()) == beam && !(sc < best.back().score))
                        continue;
                    const Candidate c{sc, h, std::uint32_t(k)};
                    best.insert(std::upper_bound(
                                    best.begin(), best.end(), c,
                                    [](const Candidate& a, const Candidate& b) { return a.score < b.score; }),
                                c);
                    if (int(best.size()) > beam)
                        best.pop_back();
                }
            }
            next.clear();
            for (const Candidate& c : best) {
                Hypothesis h = hyps[std::size_t(c.parent)];
                h.sum += Eigen::Map<const Vec8>(entry(m, c.k));
                h.code[m] = c.k;
                h.score = c.score;
                next.push_back(h);
            }
            hyps.swap(next);
        }
        // Coordinate descent from the better of the beam's best and the current codes.
        Hypothesis at;
        if (hyps.front().score < 0) {
            at = hyps.front();
        } else {
            at.score = 0;
            at.sum = v.u0;
            std::copy(codes, codes + m_M, at.code);
        }
        if (m_M > 1) {
            for (int m = 0; m < m_M; ++m) {
                const Vec8 rest = at.sum - Eigen::Map<const Vec8>(entry(m, at.code[m]));
                v.score(entry(m, 0), q + m * m_K, m_K, rest, scratch.data());
                const std::int64_t k =
                    std::min_element(scratch.begin(), scratch.begin() + m_K) - scratch.begin();
                if (scratch[std::size_t(k)] < at.score) {
                    at.score = scratch[std::size_t(k)];
                    at.code[m] = std::uint32_t(k);
                    at.sum = rest + Eigen::Map<const Vec8>(entry(m, std::uint32_t(k)));
                }
            }
        }
        if (!(at.score < 0) || std::equal(codes, codes + m_M, at.code))
            return 0;
        std::copy(at.code, at.code + m_M, codes);
        return at.score;
    }

    void searchCodes()
    {
        // q_c for every group and entry is shared by all rows: computed per group inside each tile (cheaper
        // than holding groups × M × K floats for 16-bit books).
        const std::int64_t tiles = (m_rows + kRowTile - 1) / kRowTile;
        forEachRowTile(tiles, 1, true, [&](std::int64_t tile, std::int64_t) {
            if (m_job.cancel->isCancelled())
                return;
            const std::int64_t r0 = tile * kRowTile, nr = std::min(kRowTile, m_rows - r0);
            MatrixF G = m_WH.middleRows(r0, nr) -
                        Eigen::Map<const Eigen::VectorXf>(m_scale.data() + r0, nr).asDiagonal() *
                            m_UH.middleRows(r0, nr);
            std::vector<float> q(static_cast<std::size_t>(m_M * m_K));
            SearchScratch scratch;
            scratch.scores.resize(static_cast<std::size_t>(m_K));
            for (std::int64_t g0 = 0; g0 < m_groups; g0 += kGroupBatch) {
                const std::int64_t g1 = std::min(m_groups, g0 + kGroupBatch);
                const std::int64_t c0 = g0 * kDim, w = (g1 - g0) * kDim;
                MatrixF D = MatrixF::Zero(nr, w);
                for (std::int64_t g = g0; g < g1; ++g) {
                    const std::int64_t J = g * kDim;
                    const Mat8& HJJ = m_blocks[std::size_t(g)];
                    for (int m = 0; m < m_M; ++m) {
                        const Eigen::Map<const Entries> C(entry(m, 0), m_K, kDim);
                        Eigen::Map<Eigen::VectorXf>(q.data() + m * m_K, m_K) =
                            (C * HJJ).cwiseProduct(C).rowwise().sum();
                    }
                    for (std::int64_t rr = 0; rr < nr; ++rr) {
                        const std::int64_t row = r0 + rr;
                        GroupView v{&HJJ, G.row(rr).segment<kDim>(J).transpose(),
                                    m_U.row(row).segment<kDim>(J).transpose(), m_scale[std::size_t(row)], 0};
                        v.s2 = v.s * v.s;
                        std::uint32_t* codes = codesOf(row, g);
                        if (searchGroup(v, q.data(), codes, scratch) == 0)
                            continue;
                        Vec8 u = Vec8::Zero();
                        for (int m = 0; m < m_M; ++m)
                            u += Eigen::Map<const Vec8>(entry(m, codes[m]));
                        const Vec8 d = v.s * (u - v.u0); // the change of ŵ_J; E falls by it
                        D.row(rr).segment<kDim>(J - c0) = d.transpose();
                        G.row(rr).segment(c0, w).noalias() -= d.transpose() * m_H.block(J, c0, kDim, w);
                        m_U.row(row).segment<kDim>(J) = u.transpose();
                    }
                }
                if (c0 > 0)
                    G.leftCols(c0).noalias() -= D * m_H.block(c0, 0, w, c0);
                if (c0 + w < m_cols)
                    G.rightCols(m_cols - c0 - w).noalias() -= D * m_H.block(c0, c0 + w, w, m_cols - c0 - w);
            }
        });
        m_job.checkCancelled();
        m_UH = timesH(m_U);
    }

    // ---- codebooks: preconditioned conjugate gradients on the quadratic in the entries ----

    /// out[book][entry] += factor · s_r · A[r, J_g] over every group of every row using that entry.
    void scatter(const MatrixF& A, float factor, std::vector<float>& out) const
    {
        for (std::int64_t row = 0; row < m_rows; ++row) {
            const float f = factor * m_scale[std::size_t(row)];
            for (std::int64_t g = 0; g < m_groups; ++g) {
                const std::uint32_t* c = m_codes.data() + (row * m_groups + g) * m_M;
                const float* a = A.row(row).data() + g * kDim;
                for (int m = 0; m < m_M; ++m) {
                    float* o = out.data() + (std::int64_t(m) * m_K + c[m]) * kDim;
                    for (int k = 0; k < kDim; ++k)
                        o[k] += f * a[k];
                }
            }
        }
    }

    /// The rows a change `p` of the entries makes in Ŵ: δ[r, J_g] = s_r · Σ_m p[m][code], the piece 0.
    MatrixF expand(const std::vector<float>& p) const
    {
        MatrixF d = MatrixF::Zero(m_rows, m_cols);
        forEachRowRange(m_rows, m_cols * m_M, [&](std::int64_t first, std::int64_t count) {
            for (std::int64_t row = first; row < first + count; ++row) {
                const float s = m_scale[std::size_t(row)];
                for (std::int64_t g = 0; g < m_groups; ++g) {
                    const std::uint32_t* c = m_codes.data() + (row * m_groups + g) * m_M;
                    float* o = d.row(row).data() + g * kDim;
                    for (int m = 0; m < m_M; ++m) {
                        const float* e = p.data() + (std::int64_t(m) * m_K + c[m]) * kDim;
                        for (int k = 0; k < kDim; ++k)
                            o[k] += s * e[k];
                    }
                }
            }
        });
        return d;
    }

    /// One refit of the codebooks (the objective `fBefore` before it); returns the objective after it.
    double refitCodebooks(double fBefore)
    {
        if (m_groups == 0)
            return fBefore;
        const std::int64_t slots = m_M * m_K;
        // Each entry's own block: 2·Σ s_r²·H_JJ over its uses; unused entries keep the identity (and no
        // gradient, so they stay where they are).
        std::vector<Mat8> precond(std::size_t(slots), Mat8::Zero());
        std::vector<char> used(std::size_t(slots), 0);
        for (std::int64_t row = 0; row < m_rows; ++row) {
            const float s2 = 2.0f * m_scale[std::size_t(row)] * m_scale[std::size_t(row)];
            for (std::int64_t g = 0; g < m_groups; ++g) {
                const std::uint32_t* c = m_codes.data() + (row * m_groups + g) * m_M;
                for (int m = 0; m < m_M; ++m) {
                    const std::size_t slot = std::size_t(m * m_K + c[m]);
                    precond[slot] += s2 * m_blocks[std::size_t(g)];
                    used[slot] = 1;
                }
            }
        }
        for (std::int64_t i = 0; i < slots; ++i) {
            Mat8& P = precond[std::size_t(i)];
            if (!used[std::size_t(i)]) {
                P.setIdentity();
                continue;
            }
            P.diagonal().array() += 1e-6f * P.trace() / float(kDim) + std::numeric_limits<float>::min();
            const Eigen::LLT<Mat8> llt(P);
            P = llt.info() == Eigen::Success ? Mat8(llt.solve(Mat8::Identity())) : Mat8(Mat8::Identity());
        }
        auto apply = [&](const std::vector<float>& r, std::vector<float>& z) {
            for (std::int64_t i = 0; i < slots; ++i)
                Eigen::Map<Vec8>(z.data() + i * kDim) =
                    precond[std::size_t(i)] * Eigen::Map<const Vec8>(r.data() + i * kDim);
        };
        auto dot = [](const std::vector<float>& a, const std::vector<float>& b) {
            double s = 0;
            for (std::size_t i = 0; i < a.size(); ++i)
                s += double(a[i]) * double(b[i]);
            return s;
        };
        const std::size_t n = std::size_t(slots * kDim);
        // The residual of A·x = −∇f at x = 0: −∇f = 2·Σ s_r·(E·H)[r, J_g], E·H = W·H − S·U·H.
        const MatrixF EH =
            m_WH - Eigen::Map<const Eigen::VectorXf>(m_scale.data(), m_rows).asDiagonal() * m_UH;
        std::vector<float> r(n, 0.0f), z(n), p(n), x(n, 0.0f), Ap(n);
        scatter(EH, 2.0f, r);
        apply(r, z);
        p = z;
        double rz = dot(r, z);
        for (int step = 0; step < kCgSteps && rz > 0; ++step) {
            std::fill(Ap.begin(), Ap.end(), 0.0f);
            scatter(timesH(expand(p)), 2.0f, Ap);
            const double pAp = dot(p, Ap);
            if (!(pAp > 0))
                break;
            const float alpha = float(rz / pAp);
            for (std::size_t i = 0; i < n; ++i) {
                x[i] += alpha * p[i];
                r[i] -= alpha * Ap[i];
            }
            apply(r, z);
            const double rzNext = dot(r, z);
            const float beta = float(rzNext / rz);
            rz = rzNext;
            for (std::size_t i = 0; i < n; ++i)
                p[i] = z[i] + beta * p[i];
        }
        std::vector<float> before = m_book;
        for (std::size_t i = 0; i < n; ++i)
            m_book[i] = roundToStorage(m_book[i] + x[i], DType::F16);
        decodeAll();
        const double fAfter = objectiveOfCurrent();
        if (fAfter > fBefore) { // f16 rounding of a step too small to matter: keep the entries as they were
            m_book = std::move(before);
            decodeAll();
            return fBefore;
        }
        return fAfter;
    }

    // ---- scales: least squares per row ----

    void refitScales(int round)
    {
        std::vector<float> next = m_scale;
        for (std::int64_t row = 0; row < m_rows; ++row) {
            const double wu = m_W.row(row).cast<double>().dot(m_UH.row(row).cast<double>());
            const double uu = m_U.row(row).cast<double>().dot(m_UH.row(row).cast<double>());
            if (!(uu > 0))
                continue;
            const float s = roundToStorage(float(wu / uu), m_r.spec.scaleType);
            const double old = m_scale[std::size_t(row)];
            // The row's objective is the parabola w·H·wᵀ − 2s·wu + s²·uu; moving from the old scale to s
            // changes it by (s − old)·((s + old)·uu − 2·wu). Kept only when that does not raise it.
            if (s > 0 && std::isfinite(s) && (double(s) - old) * ((double(s) + old) * uu - 2.0 * wu) <= 0)
                next[std::size_t(row)] = s;
        }
        m_scale = std::move(next);
        record(QStringLiteral("scales %1").arg(round), objectiveOfCurrent());
    }

    QuantizedTensor tensor()
    {
        QuantizedTensor t;
        t.spec = m_r.spec;
        t.rows = m_rows;
        t.cols = m_cols;
        t.codes.assign(std::size_t(m_rows * m_cols), 0);
        const std::int64_t tl = tailLength();
        for (std::int64_t row = 0; row < m_rows; ++row) {
            std::uint8_t* chunks = t.codes.data() + row * m_cols;
            for (std::int64_t g = 0; g < m_groups; ++g)
                aq::packGroup(m_bits, m_B, m_M, codesOf(row, g), chunks + g * kDim);
            std::copy_n(m_tail.data() + row * tl, tl, chunks + m_groups * kDim);
        }
        t.scales = m_scale;
        t.zeros.assign(std::size_t(m_rows), float((m_r.spec.qmax() + 1) / 2)); // what a symmetric spec reads
        t.codebook = m_book;
        return t;
    }
};

class AqlmQuantizer final : public Quantizer
{
public:
    QuantizedTensor quantize(const QuantizeRequest& r, const JobContext& job) const override
    {
        return Aqlm(r, job, nullptr).run();
    }
};

} // namespace

QuantizedTensor aqlmQuantize(const QuantizeRequest& request, const JobContext& job, AqlmTrace* trace)
{
    const QString problem = request.spec.validate();
    if (!problem.isEmpty())
        throw Error(request.layerName + u": " + problem);
    if (request.spec.method != QuantMethod::Aqlm)
        throw Error(request.layerName + QStringLiteral(": aqlmQuantize needs an AQLM spec"));
    return Aqlm(request, job, trace).run();
}

const Quantizer& aqlmQuantizer();
const Quantizer& aqlmQuantizer()
{
    static const AqlmQuantizer q;
    return q;
}

} // namespace qs
