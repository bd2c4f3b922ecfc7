#pragma once

#include <cstdint>
#include <vector>

namespace qs {

/// A randomized orthogonal transform of vectors of length n for incoherence processing (QuIP, QuIP#,
/// QuaRot): V = (H_p / √p ⊗ R_m) · diag(signs), where n = p·m with p the largest power of two dividing n,
/// H_p the Sylvester–Hadamard matrix (applied by the fast Walsh–Hadamard transform, O(n log p)), R_m a
/// random orthogonal m×m matrix (m odd; none when m = 1) and signs random ±1. A vector x is seen as a
/// p×m row-major matrix X: V x = vec(H X Rᵀ)/√p after the signs. Orthogonal, so ‖Vx‖ = ‖x‖ and Vᵀ undoes V.
/// make() draws signs and R_m from a seed with a fully specified generator (mt19937_64, Box–Muller, a
/// Householder QR), so the same seed gives the same transform; checkpoints store signs and R_m anyway.
struct Rotation
{
    std::int64_t n = 0, p = 1, m = 1;
    std::vector<float> signs; ///< [n], each +1 or −1
    std::vector<float> small; ///< [m, m] row-major R_m (empty when m = 1)

    /// The largest odd factor handled: R_m costs m multiply-adds per value (Llama-family widths have
    /// m ≤ 43: 4096 = 2¹², 11008 = 2⁸·43, 14336 = 2¹¹·7, 13824 = 2⁹·27).
    static constexpr std::int64_t kMaxOddFactor = 255;
    /// The transform of length n drawn from `seed`. qs::Error for n < 1 and for an odd factor above
    /// kMaxOddFactor.
    static Rotation make(std::int64_t n, std::uint64_t seed);
    /// From stored parts; qs::Error naming `what` when they do not form one (sizes, signs not ±1, R_m not
    /// orthogonal to 1e-4).
    static Rotation fromParts(std::int64_t n, std::vector<float> signs, std::vector<float> small,
                              const char* what);

    /// x ← V x for `count` vectors of n floats, `stride` floats apart.
    void apply(float* x, std::int64_t count, std::int64_t stride) const;
    /// x ← Vᵀ x (the inverse).
    void applyTransposed(float* x, std::int64_t count, std::int64_t stride) const;
    /// The same in double (transforming a Hessian).
    void apply(double* x, std::int64_t count, std::int64_t stride) const;
    /// Bytes a checkpoint stores for the transform of length n: the signs as bits and R_m in f32.
    static std::uint64_t storedBytes(std::int64_t n);
};

/// In place, unnormalised fast Walsh–Hadamard transform of the p rows of X [p, m] (row stride m): for each
/// butterfly, rows i and i + h become their sum and difference. p must be a power of two.
void walshHadamardRows(float* x, std::int64_t p, std::int64_t m);
void walshHadamardRows(double* x, std::int64_t p, std::int64_t m);

} // namespace qs
