#include "model/LinearLayer.h"

#include "util/Error.h"

#include <Eigen/Core>

#include <algorithm>

namespace qs {

using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

void gemmXWt(const float* x, std::int64_t n, std::int64_t in, const float* w, std::int64_t out, float* y,
             const float* bias)
{
    // Output features are cut in fixed tiles, one single-threaded Eigen GEMM each, spread over the
    // OpenMP threads. Tile shapes never depend on the thread count, so neither do the results
    // (Eigen's own threading picks blocking sizes by thread count and changes the sums' order).
    constexpr std::int64_t kTile = 128;
    const std::int64_t tiles = (out + kTile - 1) / kTile;
    Eigen::Map<const RowMajor> X(x, n, in);
#pragma omp parallel for schedule(dynamic) if (tiles > 1 && n * in * out >= (1 << 20))
    for (std::int64_t t = 0; t < tiles; ++t) {
        const std::int64_t o0 = t * kTile, cols = std::min(kTile, out - o0);
        Eigen::Map<const RowMajor> W(w + o0 * in, cols, in);
        Eigen::Map<RowMajor, 0, Eigen::OuterStride<>> Y(y + o0, n, cols, Eigen::OuterStride<>(out));
        Y.noalias() = X * W.transpose();
        if (bias)
            Y.rowwise() += Eigen::Map<const Eigen::RowVectorXf>(bias + o0, cols);
    }
}

DenseLinear::DenseLinear(std::int64_t in, std::int64_t out, std::vector<float> weight, std::vector<float> bias,
                         std::uint64_t storageBytes, QString label)
    : m_in(in), m_out(out), m_weight(std::move(weight)), m_bias(std::move(bias)),
      m_storageBytes(storageBytes ? storageBytes : std::uint64_t(in * out) * 4), m_label(std::move(label))
{
    if (std::int64_t(m_weight.size()) != in * out || (!m_bias.empty() && std::int64_t(m_bias.size()) != out))
        throw Error(QStringLiteral("DenseLinear: weight/bias sizes do not match [%1, %2]").arg(out).arg(in));
}

void DenseLinear::forward(const float* x, std::int64_t nTokens, float* y) const
{
    gemmXWt(x, nTokens, m_in, m_weight.data(), m_out, y, m_bias.empty() ? nullptr : m_bias.data());
}

} // namespace qs
