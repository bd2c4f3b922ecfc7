#include "kernels/Rotation.h"

#include "util/Error.h"

#include <Eigen/Householder>
#include <Eigen/QR>
#include <cmath>
#include <random>

namespace qs {

namespace {

template <typename T>
void whtRows(T* x, std::int64_t p, std::int64_t m)
{
    for (std::int64_t h = 1; h < p; h *= 2) {
        for (std::int64_t i = 0; i < p; i += 2 * h) {
            for (std::int64_t k = i; k < i + h; ++k) {
                T* a = x + k * m;
                T* b = x + (k + h) * m;
                for (std::int64_t j = 0; j < m; ++j) {
                    const T u = a[j], v = b[j];
                    a[j] = u + v;
                    b[j] = u - v;
                }
            }
        }
    }
}

/// One vector: signs (before, or after when `transposed`), the Hadamard along rows, R_m (or R_mᵀ) along
/// columns, the 1/√p normalisation. `tmp` holds m values.
template <typename T>
void transform(const Rotation& r, T* x, bool transposed, std::vector<T>& tmp)
{
    if (!transposed)
        for (std::int64_t i = 0; i < r.n; ++i)
            x[i] *= T(r.signs[std::size_t(i)]);
    whtRows(x, r.p, r.m);
    if (r.m > 1) {
        tmp.resize(std::size_t(r.m));
        for (std::int64_t i = 0; i < r.p; ++i) {
            T* row = x + i * r.m;
            for (std::int64_t a = 0; a < r.m; ++a) {
                double s = 0;
                for (std::int64_t b = 0; b < r.m; ++b) // R[a, b] (R·row) or R[b, a] (Rᵀ·row)
                    s += double(transposed ? r.small[std::size_t(b * r.m + a)]
                                           : r.small[std::size_t(a * r.m + b)]) *
                         double(row[b]);
                tmp[std::size_t(a)] = T(s);
            }
            std::copy(tmp.begin(), tmp.end(), row);
        }
    }
    const T norm = T(1.0 / std::sqrt(double(r.p)));
    for (std::int64_t i = 0; i < r.n; ++i)
        x[i] *= norm;
    if (transposed)
        for (std::int64_t i = 0; i < r.n; ++i)
            x[i] *= T(r.signs[std::size_t(i)]);
}

template <typename T>
void transformAll(const Rotation& r, T* x, std::int64_t count, std::int64_t stride, bool transposed)
{
    std::vector<T> tmp;
    for (std::int64_t v = 0; v < count; ++v)
        transform(r, x + v * stride, transposed, tmp);
}

void splitPowerOfTwo(std::int64_t n, std::int64_t& p, std::int64_t& m)
{
    p = 1;
    while (n % (2 * p) == 0)
        p *= 2;
    m = n / p;
}

} // namespace

void walshHadamardRows(float* x, std::int64_t p, std::int64_t m)
{
    whtRows(x, p, m);
}

void walshHadamardRows(double* x, std::int64_t p, std::int64_t m)
{
    whtRows(x, p, m);
}

Rotation Rotation::make(std::int64_t n, std::uint64_t seed)
{
    if (n < 1)
        throw Error(QStringLiteral("Rotation: length %1 must be positive").arg(n));
    Rotation r;
    r.n = n;
    splitPowerOfTwo(n, r.p, r.m);
    if (r.m > kMaxOddFactor)
        throw Error(
            QStringLiteral("incoherence processing: width %1 = %2 × %3 has an odd factor above %4 (widths "
                           "of the form 2^k·m with m ≤ %4 are handled)")
                .arg(n)
                .arg(r.p)
                .arg(r.m)
                .arg(kMaxOddFactor));
    std::mt19937_64 rng(seed);
    r.signs.resize(std::size_t(n));
    for (float& s : r.signs)
        s = (rng() >> 63) ? -1.0f : 1.0f;
    if (r.m > 1) {
        // Gaussian entries by Box–Muller from 53-bit uniforms, then Q of a Householder QR with the signs of
        // R's diagonal moved into Q (so Q is Haar-distributed and depends on nothing but the seed).
        auto uniform = [&] { return (double(rng() >> 11) + 0.5) * 0x1.0p-53; };
        Eigen::MatrixXd g(r.m, r.m);
        for (Eigen::Index i = 0; i < g.size(); i += 2) {
            const double rad = std::sqrt(-2.0 * std::log(uniform())), ang = 2.0 * M_PI * uniform();
            g.data()[i] = rad * std::cos(ang);
            if (i + 1 < g.size())
                g.data()[i + 1] = rad * std::sin(ang);
        }
        const Eigen::HouseholderQR<Eigen::MatrixXd> qr(g);
        Eigen::MatrixXd q = qr.householderQ() * Eigen::MatrixXd::Identity(r.m, r.m);
        const Eigen::MatrixXd upper = qr.matrixQR().triangularView<Eigen::Upper>();
        for (Eigen::Index j = 0; j < r.m; ++j)
            if (upper(j, j) < 0)
                q.col(j) *= -1.0;
        r.small.resize(std::size_t(r.m * r.m));
        for (Eigen::Index a = 0; a < r.m; ++a)
            for (Eigen::Index b = 0; b < r.m; ++b)
                r.small[std::size_t(a * r.m + b)] = float(q(a, b));
    }
    return r;
}

std::uint64_t Rotation::storedBytes(std::int64_t n)
{
    std::int64_t p = 1, m = 1;
    splitPowerOfTwo(n, p, m);
    return std::uint64_t((n + 7) / 8) + (m > 1 ? std::uint64_t(m * m) * 4 : 0);
}

Rotation Rotation::fromParts(std::int64_t n, std::vector<float> signs, std::vector<float> small,
                             const char* what)
{
    const QString name = QLatin1String(what);
    Rotation r;
    r.n = n;
    splitPowerOfTwo(n, r.p, r.m);
    if (n < 1 || std::int64_t(signs.size()) != n)
        throw Error(
            QStringLiteral("%1: %2 signs for a transform of length %3").arg(name).arg(signs.size()).arg(n));
    for (float s : signs)
        if (s != 1.0f && s != -1.0f)
            throw Error(QStringLiteral("%1: a sign is %2, not ±1").arg(name).arg(double(s)));
    const std::size_t want = r.m > 1 ? std::size_t(r.m * r.m) : 0;
    if (small.size() != want)
        throw Error(
            QStringLiteral("%1: the odd factor of length %2 is %3, which needs a %3×%3 matrix, got %4 values")
                .arg(name)
                .arg(n)
                .arg(r.m)
                .arg(small.size()));
    for (std::int64_t a = 0; a < r.m && want; ++a)
        for (std::int64_t b = 0; b < r.m; ++b) {
            double dot = 0;
            for (std::int64_t k = 0; k < r.m; ++k)
                dot += double(small[std::size_t(a * r.m + k)]) * double(small[std::size_t(b * r.m + k)]);
            if (std::fabs(dot - (a == b ? 1.0 : 0.0)) > 1e-4)
                throw Error(
                    QStringLiteral("%1: the stored %2×%2 matrix is not orthogonal").arg(name).arg(r.m));
        }
    r.signs = std::move(signs);
    r.small = std::move(small);
    return r;
}

void Rotation::apply(float* x, std::int64_t count, std::int64_t stride) const
{
    transformAll(*this, x, count, stride, false);
}

void Rotation::applyTransposed(float* x, std::int64_t count, std::int64_t stride) const
{
    transformAll(*this, x, count, stride, true);
}

void Rotation::apply(double* x, std::int64_t count, std::int64_t stride) const
{
    transformAll(*this, x, count, stride, false);
}

} // namespace qs
