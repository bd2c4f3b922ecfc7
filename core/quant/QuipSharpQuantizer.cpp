// QuIP# (Tseng et al. 2024, "QuIP#: Even Better LLM Quantization with Hadamard Incoherence and Lattice
// Codebooks"). quantizeWeight() has already rotated the inputs (spec.incoherence is always hadamard for this
// method: W·Vᵀ arrives here with V·XᵀX·Vᵀ), so what is left is:
// - one scale per output row, kScaleOverRms[bits] times the row's root mean square (kernels/E8Lattice.h);
// - LDLQ: the columns are taken 8 at a time; each row's 8 values are rounded together to the lattice
//   codebook (E8P, plus a residual stage at 3 and 4 bits), and the block's rounding error E is pushed onto
//   the columns not yet rounded as GPTQ does for one column, here for a block F of 8: ΔW_R = −E·U_FF⁻¹·U_FR
//   with U the upper Cholesky factor of H⁻¹ (the optimal update when the 8 columns are fixed at once);
//   lazy batches of `blockSize` columns turn most of it into one GEMM, as in GPTQ;
// - a row that does not split into whole vectors of 8 ends in a piece rounded value by value (E8Lattice.h).
// QuIP# itself rotates both sides of W and keeps one scale per matrix; here only the inputs are rotated and
// each row has its own scale, which takes the output-side transform's job of evening out row magnitudes
// (16 bits a row: 0.06 bits a weight at 256 inputs).
#include "eval/Calibration.h"
#include "kernels/E8Lattice.h"
#include "quant/Gptq.h"
#include "quant/Quantizer.h"
#include "util/Error.h"
#include "util/Threads.h"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <numeric>

namespace qs {

namespace {

using MatrixF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

class QuipSharpQuantizer final : public Quantizer
{
public:
    QuantizedTensor quantize(const QuantizeRequest& r, const JobContext& job) const override
    {
        const QuantSpec& spec = r.spec;
        const std::int64_t rows = r.rows, cols = r.cols;
        const int bits = spec.bits;
        MatrixF W = Eigen::Map<const MatrixF>(r.weight, rows, cols);
        const std::vector<double> diag = hessianDiagonal(r, "QuIP#", W);
        std::vector<std::int64_t> identity(static_cast<std::size_t>(cols));
        std::iota(identity.begin(), identity.end(), 0);
        double dampUsed = 0;
        const Eigen::MatrixXf U = dampedInverseFactor(r, identity, diag, dampUsed, job);

        QuantizedTensor t;
        t.spec = spec;
        t.rows = rows;
        t.cols = cols;
        t.codes.assign(std::size_t(rows * cols), 0);
        t.scales.resize(std::size_t(rows));
        t.zeros.assign(std::size_t(rows), float((spec.qmax() + 1) / 2)); // what a symmetric spec reads back
        for (std::int64_t row = 0; row < rows; ++row) {
            const double rms = std::sqrt(double(W.row(row).squaredNorm()) / double(cols));
            float s = roundToStorage(float(rms * double(e8::kScaleOverRms[bits])), spec.scaleType);
            t.scales[std::size_t(row)] = s > 0 && std::isfinite(s) ? s : 1.0f;
        }

        // The inverse of each 8×8 diagonal block of U (upper triangular), for E·U_FF⁻¹.
        const std::int64_t pieces = (cols + e8::kDim - 1) / e8::kDim;
        std::vector<Eigen::MatrixXf> blockInverse(static_cast<std::size_t>(pieces));
        for (std::int64_t p = 0; p < pieces; ++p) {
            const std::int64_t j0 = p * e8::kDim, len = std::min<std::int64_t>(e8::kDim, cols - j0);
            blockInverse[std::size_t(p)] = U.block(j0, j0, len, len)
                                               .triangularView<Eigen::Upper>()
                                               .solve(Eigen::MatrixXf::Identity(len, len));
        }

        const std::int64_t B = spec.blockSize; // a multiple of 8 (validate())
        constexpr std::int64_t kRowTile = 64;
        const std::int64_t tiles = (rows + kRowTile - 1) / kRowTile;
        forEachRowTile(tiles, 1, true, [&](std::int64_t tile, std::int64_t) {
            if (job.cancel->isCancelled())
                return;
            const std::int64_t r0 = tile * kRowTile, nr = std::min(kRowTile, rows - r0);
            MatrixF Wt = W.middleRows(r0, nr);
            MatrixF Err(nr, B);
            float v[e8::kDim], point[e8::kDim];
            Eigen::Matrix<float, 1, Eigen::Dynamic> e(e8::kDim), adjusted(e8::kDim);
            for (std::int64_t i1 = 0; i1 < cols; i1 += B) {
                const std::int64_t i2 = std::min(cols, i1 + B), bw = i2 - i1;
                for (std::int64_t j0 = i1; j0 < i2; j0 += e8::kDim) {
                    const std::int64_t len = std::min<std::int64_t>(e8::kDim, cols - j0);
                    const Eigen::MatrixXf& inv = blockInverse[std::size_t(j0 / e8::kDim)];
                    e.resize(len);
                    for (std::int64_t rr = 0; rr < nr; ++rr) {
                        const std::int64_t row = r0 + rr;
                        const float s = t.scales[std::size_t(row)];
                        for (std::int64_t k = 0; k < len; ++k)
                            v[k] = Wt(rr, j0 + k) / s;
                        e8::encodeQuip(bits, v, int(len), t.codes.data() + row * cols + j0, point);
                        for (std::int64_t k = 0; k < len; ++k)
                            e[k] = Wt(rr, j0 + k) - point[k] * s;
                        adjusted.noalias() = e * inv; // E·U_FF⁻¹
                        Err.block(rr, j0 - i1, 1, len) = adjusted;
                        // Within the batch: the columns still to come in it.
                        if (j0 + len < i2)
                            Wt.block(rr, j0 + len, 1, i2 - j0 - len).noalias() -=
                                adjusted * U.block(j0, j0 + len, len, i2 - j0 - len);
                    }
                }
                if (i2 < cols) // lazy batch: one GEMM pushes the batch's error onto the rest
                    Wt.rightCols(cols - i2).noalias() -= Err.leftCols(bw) * U.block(i1, i2, bw, cols - i2);
            }
        });
        job.checkCancelled();
        return t;
    }
};

} // namespace

const Quantizer& quipSharpQuantizer();
const Quantizer& quipSharpQuantizer()
{
    static const QuipSharpQuantizer q;
    return q;
}

} // namespace qs
