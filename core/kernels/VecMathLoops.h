// Internal to core/kernels: the loops of kernels/VecMath.h, written once over `Ops` (a struct of vector
// operations of L lanes: 1 for the scalar twin, 8 for AVX2, 16 for AVX-512) and included once per variant
// with
//   QS_VM_NS      the namespace of this copy (qs::vecmath::QS_VM_NS);
//   QS_VM_TARGET  the function attribute naming the variant's instruction set (empty for the scalar twin).
// One text for all variants, so every element goes through the same operations in the same order (fused
// multiply-adds where written, nothing else fused: kernels/ builds with -ffp-contract=off), and the double
// lane sums take element i into lane i mod 16 whatever L is.
//
// Ops provides: V (a vector of L floats), I (of L int32), L, load(p), loadPart(p, k) (k < L, rest zero),
// store(p, v), storePart(p, v, k), keep(v, k) (lanes ≥ k zeroed), set1(f), add, sub, mul, div, fma(a, b, c)
// = a·b + c rounded once, neg(v) (sign flipped), max(v, m) = v > m ? v : m per lane, clampMin(v, lo) =
// v < lo ? lo : v and clampMax(v, hi) = v > hi ? hi : v (NaN lanes are taken care of by nanKeep), nanKeep(x,
// y) = x where x is NaN else y, bitsMinus(a, b) = bits(a) − bits(b) as I, half(I) (arithmetic >> 1), isub,
// pow2(I n) = 2ⁿ for n in [−126, 127], Sums (16 double lane sums), zeroSums(), addToSums(s, v, part) (v holds
// elements part·L … part·L + L − 1 of a 16-element block), total(s) (the fixed tree) and reduceMax(m)
// (the largest lane).

#include <algorithm>
#include <cstdint>

#define QS_VM_INLINE QS_VM_TARGET __attribute__((always_inline)) inline

namespace qs::vecmath::QS_VM_NS {

/// e^x as kernels/VecMath.h states it.
template <class Ops>
QS_VM_INLINE typename Ops::V exp(typename Ops::V x)
{
    using V = typename Ops::V;
    using I = typename Ops::I;
    const V xc = Ops::clampMax(Ops::clampMin(x, Ops::set1(-104.0f)), Ops::set1(89.0f));
    const V magic = Ops::set1(12582912.0f); // 1.5·2²³: adding it rounds to an integer, kept in the low bits
    const V t = Ops::fma(xc, Ops::set1(1.44269504088896341f), magic);
    const V nf = Ops::sub(t, magic);
    V r = Ops::fma(nf, Ops::set1(-0.693359375f), xc);
    r = Ops::fma(nf, Ops::set1(2.12194440e-4f), r);
    V p = Ops::set1(1.9875691500e-4f);
    p = Ops::fma(p, r, Ops::set1(1.3981999507e-3f));
    p = Ops::fma(p, r, Ops::set1(8.3334519073e-3f));
    p = Ops::fma(p, r, Ops::set1(4.1665795894e-2f));
    p = Ops::fma(p, r, Ops::set1(1.6666665459e-1f));
    p = Ops::fma(p, r, Ops::set1(5.0000001201e-1f));
    V y = Ops::add(Ops::fma(p, Ops::mul(r, r), r), Ops::set1(1.0f));
    const I n = Ops::bitsMinus(t, magic); // in [−150, 128]
    const I n1 = Ops::half(n);
    y = Ops::mul(Ops::mul(y, Ops::pow2(n1)), Ops::pow2(Ops::isub(n, n1)));
    return Ops::nanKeep(x, y);
}

template <class Ops>
QS_VM_TARGET double expShiftedSum(float* x, std::int64_t n, float shift)
{
    constexpr int L = Ops::L;
    using V = typename Ops::V;
    const V sh = Ops::set1(shift);
    typename Ops::Sums s = Ops::zeroSums();
    std::int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (int part = 0; part < 16 / L; ++part) {
            const V e = exp<Ops>(Ops::sub(Ops::load(x + i + part * L), sh));
            Ops::store(x + i + part * L, e);
            Ops::addToSums(s, e, part);
        }
    for (int part = 0; i + part * L < n; ++part) {
        float* p = x + i + part * L;
        const int k = int(std::min<std::int64_t>(L, n - i - part * L));
        const V e = Ops::keep(exp<Ops>(Ops::sub(Ops::loadPart(p, k), sh)), k);
        Ops::storePart(p, e, k);
        Ops::addToSums(s, e, part);
    }
    return Ops::total(s);
}

template <class Ops>
QS_VM_TARGET void siluMul(float* gate, const float* up, std::int64_t n)
{
    constexpr int L = Ops::L;
    using V = typename Ops::V;
    const V one = Ops::set1(1.0f);
    std::int64_t i = 0;
    for (; i + L <= n; i += L) {
        const V g = Ops::load(gate + i);
        Ops::store(gate + i, Ops::mul(Ops::div(g, Ops::add(one, exp<Ops>(Ops::neg(g)))), Ops::load(up + i)));
    }
    if (i < n) {
        const int k = int(n - i);
        const V g = Ops::loadPart(gate + i, k);
        Ops::storePart(gate + i,
                       Ops::mul(Ops::div(g, Ops::add(one, exp<Ops>(Ops::neg(g)))), Ops::loadPart(up + i, k)),
                       k);
    }
}

/// The largest of x[0, n) and `start`, NaNs ignored.
template <class Ops>
QS_VM_TARGET float maxOf(const float* x, std::int64_t n, float start)
{
    constexpr int L = Ops::L;
    typename Ops::V m = Ops::set1(start);
    std::int64_t i = 0;
    for (; i + L <= n; i += L)
        m = Ops::max(Ops::load(x + i), m);
    float out = Ops::reduceMax(m);
    for (; i < n; ++i)
        out = x[i] > out ? x[i] : out;
    return out;
}

template <class Ops>
QS_VM_TARGET void scale(float* x, std::int64_t n, float f)
{
    constexpr int L = Ops::L;
    const typename Ops::V v = Ops::set1(f);
    std::int64_t i = 0;
    for (; i + L <= n; i += L)
        Ops::store(x + i, Ops::mul(Ops::load(x + i), v));
    for (; i < n; ++i)
        x[i] *= f;
}

} // namespace qs::vecmath::QS_VM_NS

#undef QS_VM_INLINE
