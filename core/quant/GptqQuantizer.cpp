// GPTQ (Frantar et al. 2022): quantize columns one at a time and push each column's rounding
// error onto the columns not yet quantized, weighted by the inverse Hessian of the layer's
// reconstruction loss. H = 2·XᵀX/n from calibration inputs, dampened; the upper Cholesky factor
// of H⁻¹ drives the updates; lazy batches of `blockSize` columns turn most of the work into GEMMs.
#include "eval/Calibration.h"
#include "quant/Gptq.h"
#include "quant/Quantizer.h"
#include "util/Error.h"
#include "util/Threads.h"

#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <algorithm>
#include <numeric>

namespace qs {

namespace {

using MatrixF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

using MatrixC = Eigen::MatrixXf; // column-major for the factorisation

/// Panel width of the blocked factorisation below (and of the tiles of the Hessian's copy).
/// The factor of an 11008 × 11008 Hessian, 2 threads: 4.50 s with 128, 3.57 s with 256, 3.37 s with 384,
/// against 7.47 s for Eigen's own (single-threaded) LLT.
constexpr Eigen::Index kCholeskyPanel = 256;

/// In-place lower Cholesky factor of the symmetric A (only its lower triangle is read; the upper
/// holds scratch afterwards), right-looking by panels of kCholeskyPanel columns: Eigen's LLT on the
/// panel's diagonal block, then the rows below it (a triangular solve) and the trailing lower
/// triangle (A₂₂ −= L₂₁L₂₁ᵀ, one GEMM per block column) in fixed tiles over the compute threads.
/// Each tile's arithmetic is fixed, so the factor does not depend on the thread count. Eigen's own
/// LLT is blocked the same way but runs its rank updates on one thread, which for a down_proj
/// Hessian was half of the GPTQ call at 2 threads. False where A is not positive definite.
bool choleskyInPlace(MatrixC& A, const JobContext& job)
{
    const Eigen::Index n = A.rows();
    for (Eigen::Index k = 0; k < n; k += kCholeskyPanel) {
        const Eigen::Index b = std::min(kCholeskyPanel, n - k), below = n - k - b;
        auto diagonal = A.block(k, k, b, b);
        Eigen::LLT<Eigen::Ref<MatrixC>> llt(diagonal);
        if (llt.info() != Eigen::Success)
            return false;
        if (below == 0)
            break;
        job.checkCancelled();
        forEachRowTile(below, kCholeskyPanel, true, [&](std::int64_t first, std::int64_t count) {
            auto rows = A.block(k + b + first, k, count, b); // L₂₁ = A₂₁ L₁₁⁻ᵀ
            diagonal.triangularView<Eigen::Lower>().transpose().solveInPlace<Eigen::OnTheRight>(rows);
        });
        forEachRowTile(below, kCholeskyPanel, true, [&](std::int64_t first, std::int64_t count) {
            const Eigen::Index j0 = k + b + first; // block column j0 … j0+count, rows j0 … n
            A.block(j0, j0, n - j0, count).noalias() -=
                A.block(j0, k, n - j0, b) * A.block(j0, k, count, b).transpose();
        });
    }
    return true;
}

/// Upper-triangular U with H⁻¹ = UᵀU, where H = 2·XᵀX/n permuted by `perm`, dead diagonal
/// entries set to 1, plus `damp` on the diagonal. In f32, as the reference implementation works.
/// With J the exchange matrix, JHJ = L̃L̃ᵀ (one in-place factorisation) gives H = RRᵀ for R = JL̃J
/// (upper), so H⁻¹ = R⁻ᵀR⁻¹ and U = R⁻¹ = J L̃⁻¹ J: no explicit H⁻¹ and no second factorisation.
/// The copy, the factor and L̃⁻¹ (solved in column blocks of fixed width, each only below its
/// diagonal) are spread over the compute threads in fixed tiles — results do not depend on the
/// thread count. Peak memory: two n×n f32.
bool inverseCholeskyUpper(const Eigen::MatrixXd& xtx, double scale, const std::vector<std::int64_t>& perm,
                          double damp, MatrixC& U, const JobContext& job)
{
    const Eigen::Index n = xtx.rows();
    MatrixC A(n, n);
    forEachRowTile(n, kCholeskyPanel, true, [&](std::int64_t first, std::int64_t count) {
        for (Eigen::Index j = first; j < first + count; ++j) {
            const std::int64_t pj = perm[std::size_t(n - 1 - j)];
            for (Eigen::Index i = first; i < j; ++i) // the trailing updates' scratch in the diagonal blocks
                A(i, j) = 0;
            for (Eigen::Index i = j; i < n; ++i) { // the lower triangle is all the factor reads
                const std::int64_t pi = perm[std::size_t(n - 1 - i)];
                double v = xtx(pi, pj) * scale;
                if (i == j)
                    v = (v == 0 ? 1.0 : v) + damp;
                A(i, j) = float(v);
            }
        }
    });
    if (!choleskyInPlace(A, job))
        return false;
    job.checkCancelled();
    MatrixC X = MatrixC::Zero(n, n);
    constexpr Eigen::Index kBlock = 128;
    const Eigen::Index blocks = (n + kBlock - 1) / kBlock;
    forEachRowTile(blocks, 1, true, [&](std::int64_t b, std::int64_t) {
        const Eigen::Index j0 = b * kBlock, m = std::min(kBlock, n - j0);
        auto Xb = X.block(j0, j0, n - j0, m);
        Xb.topRows(m).setIdentity();
        A.block(j0, j0, n - j0, n - j0).triangularView<Eigen::Lower>().solveInPlace(Xb);
    });
    X.reverseInPlace(); // J L̃⁻¹ J
    U = std::move(X);
    return U.allFinite();
}

} // namespace

std::vector<double> hessianDiagonal(const QuantizeRequest& r, const char* method, MatrixF& W)
{
    const std::int64_t cols = r.cols;
    if (!r.stats || r.stats->xtx.rows() != cols || r.stats->tokens <= 0)
        throw Error(r.layerName + QStringLiteral(": %1 needs the input Hessian (calibration with hessian on)")
                                      .arg(QLatin1String(method)));
    const double hScale = 2.0 / double(r.stats->tokens); // H = 2·XᵀX / n
    // Dead inputs (never active in calibration): H_ii = 1 and the column is zeroed, as GPTQ does.
    std::vector<double> diag(static_cast<std::size_t>(cols));
    for (std::int64_t i = 0; i < cols; ++i) {
        diag[std::size_t(i)] = r.stats->xtx(i, i) * hScale;
        if (diag[std::size_t(i)] == 0) {
            diag[std::size_t(i)] = 1;
            W.col(i).setZero();
        }
    }
    return diag;
}

Eigen::MatrixXf dampedInverseFactor(const QuantizeRequest& r, const std::vector<std::int64_t>& perm,
                                    const std::vector<double>& diag, double& dampUsed, const JobContext& job)
{
    // Dampening λ = damp · mean(diag H); raised ×10 (at most 4 times) if H stays indefinite.
    double meanDiag = 0;
    for (double d : diag)
        meanDiag += d / double(diag.size());
    MatrixC Uf;
    double damp = r.spec.dampPercent;
    bool ok = false;
    const double hScale = 2.0 / double(r.stats->tokens);
    for (int attempt = 0; attempt < 5 && !ok; ++attempt, damp *= 10)
        ok = inverseCholeskyUpper(r.stats->xtx, hScale, perm, damp * meanDiag, Uf, job);
    if (!ok)
        throw Error(r.layerName + QStringLiteral(": the Hessian is singular even with dampening %1; "
                                                 "calibrate with more tokens")
                                      .arg(damp / 10));
    job.checkCancelled();
    dampUsed = damp / 10 * meanDiag; // the loop multiplied once more after success
    return Uf;
}

namespace {

class GptqQuantizer final : public Quantizer
{
public:
    QuantizedTensor quantize(const QuantizeRequest& r, const JobContext& job) const override
    {
        return run(r, job, nullptr);
    }

    QuantizedTensor run(const QuantizeRequest& r, const JobContext& job, GptqRowTrace* trace) const
    {
        const QuantSpec& spec = r.spec;
        const std::int64_t rows = r.rows, cols = r.cols;
        MatrixF W = Eigen::Map<const MatrixF>(r.weight, rows, cols);
        const std::vector<double> diag = hessianDiagonal(r, "GPTQ", W);
        // Act-order: columns by descending H_ii (stable, so ties keep a deterministic order).
        std::vector<std::int64_t> perm(static_cast<std::size_t>(cols));
        std::iota(perm.begin(), perm.end(), 0);
        if (spec.actOrder)
            std::stable_sort(perm.begin(), perm.end(), [&](std::int64_t a, std::int64_t b) {
                return diag[std::size_t(a)] > diag[std::size_t(b)];
            });
        MatrixF Wp(rows, cols);
        for (std::int64_t i = 0; i < cols; ++i)
            Wp.col(i) = W.col(perm[std::size_t(i)]);
        job.checkCancelled();

        double dampUsed = 0;
        const MatrixC Uf = dampedInverseFactor(r, perm, diag, dampUsed, job);
        if (trace) {
            if (trace->row < 0 || trace->row >= rows)
                throw Error(r.layerName + QStringLiteral(": row %1 is out of range").arg(trace->row));
            trace->order = perm;
            trace->steps.assign(std::size_t(cols), {});
            trace->inverseFactor = Uf;
            trace->damp = dampUsed;
        }

        QuantizedTensor t;
        t.spec = spec;
        t.rows = rows;
        t.cols = cols;
        t.codes.assign(std::size_t(rows * cols), 0);
        const std::int64_t gLen = spec.groupLength(cols), groups = spec.groupsPerRow(cols);
        const bool perTensor = spec.granularity == Granularity::PerTensor;
        t.scales.assign(std::size_t(perTensor ? 1 : rows * groups), 1.0f);
        t.zeros.assign(t.scales.size(), 0.0f);
        // Static groups (the default): a group's scale and zero come from the original weights,
        // before any update. Dynamic groups (the GPTQ reference's and GPTQModel's default): from the
        // weights as updated by the columns quantized before it, taken when its first column is
        // reached. Without act-order the groups are the column order either way; with act-order,
        // dynamic groups follow quantization order (recorded per column in g_idx), static ones the
        // original order.
        const bool dynamicGroups = !spec.staticGroups && !perTensor;
        if (spec.actOrder && !perTensor) {
            t.groupIndex.resize(std::size_t(cols));
            for (std::int64_t i = 0; i < cols; ++i)
                t.groupIndex[std::size_t(perm[std::size_t(i)])] =
                    std::int32_t(dynamicGroups ? i / gLen : perm[std::size_t(i)] / gLen);
        }
        if (perTensor) {
            const GroupParams p = groupParams(Wp.data(), rows * cols, 1, spec);
            t.scales[0] = p.scale;
            t.zeros[0] = p.zero;
        } else if (!dynamicGroups) {
            // Parameters from the (dead-column-zeroed) original weights, per original group.
            for (std::int64_t row = 0; row < rows; ++row)
                for (std::int64_t gi = 0; gi < groups; ++gi) {
                    const GroupParams p = groupParams(W.data() + row * cols + gi * gLen,
                                                      std::min(gLen, cols - gi * gLen), 1, spec);
                    t.scales[std::size_t(row * groups + gi)] = p.scale;
                    t.zeros[std::size_t(row * groups + gi)] = p.zero;
                }
        }

        // Rows are independent given U: tiles of rows run in parallel, each through all columns.
        const std::int64_t B = spec.blockSize, qmax = spec.qmax();
        constexpr std::int64_t kRowTile = 64;
        const std::int64_t tiles = (rows + kRowTile - 1) / kRowTile;
        forEachRowTile(tiles, 1, true, [&](std::int64_t tile, std::int64_t) {
            if (job.cancel->isCancelled())
                return;
            const std::int64_t r0 = tile * kRowTile, nr = std::min(kRowTile, rows - r0);
            MatrixF Wt = Wp.middleRows(r0, nr);
            MatrixF Err(nr, B);
            std::vector<GroupParams> current(static_cast<std::size_t>(nr));
            std::vector<float> group; // dynamic groups: one group's weights as updated so far
            for (std::int64_t i1 = 0; i1 < cols; i1 += B) {
                const std::int64_t i2 = std::min(cols, i1 + B), bw = i2 - i1;
                for (std::int64_t i = i1; i < i2; ++i) {
                    const std::int64_t orig = perm[std::size_t(i)];
                    const float d = Uf(i, i);
                    for (std::int64_t rr = 0; rr < nr; ++rr) {
                        const std::int64_t row = r0 + rr;
                        GroupParams p;
                        if (perTensor) {
                            p = {t.scales[0], t.zeros[0]};
                        } else if (dynamicGroups) {
                            if (i % gLen == 0) { // a new group starts: parameters from the updated weights
                                // Columns past this batch have not yet had its earlier columns' errors
                                // pushed onto them (the lazy GEMM at the batch's end): add them here.
                                const std::int64_t len = std::min(gLen, cols - i);
                                group.assign(Wt.data() + rr * cols + i, Wt.data() + rr * cols + i + len);
                                for (std::int64_t j = i2; j < i + len; ++j)
                                    for (std::int64_t k = i1; k < i; ++k)
                                        group[std::size_t(j - i)] -= Err(rr, k - i1) * Uf(k, j);
                                const GroupParams np = groupParams(group.data(), len, 1, spec);
                                current[std::size_t(rr)] = np;
                                t.scales[std::size_t(row * groups + i / gLen)] = np.scale;
                                t.zeros[std::size_t(row * groups + i / gLen)] = np.zero;
                            }
                            p = current[std::size_t(rr)];
                        } else {
                            const std::size_t si = std::size_t(row * groups + orig / gLen);
                            p = {t.scales[si], t.zeros[si]};
                        }
                        const float w = Wt(rr, i);
                        const std::uint8_t q = quantizeValue(w, p, int(qmax));
                        t.codes[std::size_t(row * cols + orig)] = q;
                        const float e = (w - dequantizeValue(q, p)) / d;
                        Err(rr, i - i1) = e;
                        if (trace && row == trace->row)
                            trace->steps[std::size_t(i)] = {
                                orig, w, p.scale, p.zero, q, dequantizeValue(q, p), e};
                        // Within the block: rank-1 update of the columns still to come.
                        for (std::int64_t j = i + 1; j < i2; ++j)
                            Wt(rr, j) -= e * Uf(i, j);
                    }
                }
                if (i2 < cols) // lazy batch: one GEMM pushes the block's error onto the rest
                    Wt.rightCols(cols - i2).noalias() -= Err.leftCols(bw) * Uf.block(i1, i2, bw, cols - i2);
            }
        });
        job.checkCancelled();
        return t;
    }
};

} // namespace

const Quantizer& gptqQuantizer();
const Quantizer& gptqQuantizer()
{
    static const GptqQuantizer q;
    return q;
}

QuantizedTensor gptqQuantize(const QuantizeRequest& request, const JobContext& job, GptqRowTrace* trace)
{
    if (request.spec.method != QuantMethod::Gptq)
        throw Error(request.layerName + QStringLiteral(": not a GPTQ spec"));
    if (!trace)
        return quantizeWeight(request, job);
    if (request.spec.incoherence != Incoherence::None)
        throw Error(request.layerName +
                    QStringLiteral(": the GPTQ trace covers plain GPTQ only (no incoherence)"));
    const QString problem = request.spec.validate();
    if (!problem.isEmpty())
        throw Error(request.layerName + u": " + problem);
    if (!request.stats || request.stats->tokens == 0)
        throw Error(request.layerName +
                    QStringLiteral(": GPTQ needs calibration statistics, and none were collected"));
    static const GptqQuantizer q;
    return q.run(request, job, trace);
}

} // namespace qs
