#include "kernels/Convert.h"

#include "kernels/CpuFeatures.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define QS_X86 1
#endif

namespace qs {
namespace ref {

float f16ToF32(std::uint16_t h)
{
    const std::uint32_t sign = std::uint32_t(h & 0x8000u) << 16;
    std::uint32_t exp = (h >> 10) & 0x1fu;
    std::uint32_t mant = h & 0x3ffu;
    std::uint32_t bits;
    if (exp == 0x1f) { // inf / NaN (NaNs come out quiet, as F16C's vcvtph2ps makes them)
        bits = sign | 0x7f800000u | (mant << 13) | (mant ? 0x00400000u : 0u);
    } else if (exp != 0) { // normal
        bits = sign | ((exp + 112) << 23) | (mant << 13);
    } else if (mant == 0) { // zero
        bits = sign;
    } else { // subnormal: renormalise
        exp = 113;
        while ((mant & 0x400u) == 0) {
            mant <<= 1;
            --exp;
        }
        bits = sign | (exp << 23) | ((mant & 0x3ffu) << 13);
    }
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

std::uint16_t f32ToF16(float f)
{
    std::uint32_t x;
    std::memcpy(&x, &f, 4);
    const std::uint16_t sign = std::uint16_t((x >> 16) & 0x8000u);
    const std::uint32_t absx = x & 0x7fffffffu;
    if (absx >= 0x7f800000u) // inf or NaN
        return sign | 0x7c00u | (absx > 0x7f800000u ? 0x200u : 0u);
    if (absx >= 0x477ff000u) // rounds to >= 65520: overflow
        return sign | 0x7c00u;
    if (absx < 0x38800000u) { // below the smallest normal half: subnormal or zero
        if (absx < 0x33000000u)
            return sign;
        const std::uint32_t e = absx >> 23;
        const std::uint32_t m = (absx & 0x7fffffu) | 0x800000u;
        const std::uint32_t shift = 126 - e; // 14..24
        std::uint32_t r = m >> shift;
        const std::uint32_t rem = m & ((1u << shift) - 1);
        const std::uint32_t half = 1u << (shift - 1);
        if (rem > half || (rem == half && (r & 1u)))
            ++r;
        return sign | std::uint16_t(r);
    }
    std::uint32_t r = absx - 0x38000000u; // rebias exponent 127 -> 15
    const std::uint32_t rem = r & 0x1fffu;
    r >>= 13;
    if (rem > 0x1000u || (rem == 0x1000u && (r & 1u)))
        ++r;
    return sign | std::uint16_t(r);
}

std::uint16_t f32ToBf16(float f)
{
    std::uint32_t x;
    std::memcpy(&x, &f, 4);
    if ((x & 0x7fffffffu) > 0x7f800000u)
        return std::uint16_t((x >> 16) | 0x40u);
    x += 0x7fffu + ((x >> 16) & 1u);
    return std::uint16_t(x >> 16);
}

template <typename T>
static void intRow(const void* in, float* out, std::size_t n)
{
    const auto* p = static_cast<const unsigned char*>(in);
    for (std::size_t i = 0; i < n; ++i) {
        T v;
        std::memcpy(&v, p + i * sizeof(T), sizeof(T));
        out[i] = static_cast<float>(v);
    }
}

void convertRow(DType src, const void* in, float* out, std::size_t n)
{
    const auto* p = static_cast<const unsigned char*>(in);
    switch (src) {
    case DType::F32:
        if (n > 0) // empty tensors may come with null pointers
            std::memcpy(out, in, n * 4);
        return;
    case DType::F64:
        for (std::size_t i = 0; i < n; ++i) {
            double d;
            std::memcpy(&d, p + 8 * i, 8);
            out[i] = static_cast<float>(d);
        }
        return;
    case DType::F16:
        for (std::size_t i = 0; i < n; ++i) {
            std::uint16_t h;
            std::memcpy(&h, p + 2 * i, 2);
            out[i] = f16ToF32(h);
        }
        return;
    case DType::BF16:
        for (std::size_t i = 0; i < n; ++i) {
            std::uint16_t h;
            std::memcpy(&h, p + 2 * i, 2);
            out[i] = bf16ToF32(h);
        }
        return;
    case DType::I64:
        return intRow<std::int64_t>(in, out, n);
    case DType::I32:
        return intRow<std::int32_t>(in, out, n);
    case DType::I16:
        return intRow<std::int16_t>(in, out, n);
    case DType::I8:
        return intRow<std::int8_t>(in, out, n);
    case DType::U8:
        return intRow<std::uint8_t>(in, out, n);
    case DType::Bool:
        for (std::size_t i = 0; i < n; ++i)
            out[i] = p[i] ? 1.0f : 0.0f;
        return;
    }
}

} // namespace ref

#ifdef QS_X86
__attribute__((target("avx2,f16c"))) static void f16RowAvx2(const void* in, float* out, std::size_t n)
{
    const auto* p = static_cast<const unsigned char*>(in);
    std::size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 2 * i));
        const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 2 * i + 16));
        _mm256_storeu_ps(out + i, _mm256_cvtph_ps(a));
        _mm256_storeu_ps(out + i + 8, _mm256_cvtph_ps(b));
    }
    if (i < n)
        ref::convertRow(DType::F16, p + 2 * i, out + i, n - i);
}

__attribute__((target("avx2"))) static void bf16RowAvx2(const void* in, float* out, std::size_t n)
{
    const auto* p = static_cast<const unsigned char*>(in);
    std::size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 2 * i));
        const __m256i lo = _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm256_castsi256_si128(v)), 16);
        const __m256i hi = _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm256_extracti128_si256(v, 1)), 16);
        _mm256_storeu_ps(out + i, _mm256_castsi256_ps(lo));
        _mm256_storeu_ps(out + i + 8, _mm256_castsi256_ps(hi));
    }
    if (i < n)
        ref::convertRow(DType::BF16, p + 2 * i, out + i, n - i);
}

static bool haveAvx2F16c()
{
    const CpuFeatures& cpu = cpuFeatures();
    return cpu.avx2 && cpu.f16c;
}

__attribute__((target("avx2,f16c"))) static std::size_t roundToF16Avx2(float* x, std::size_t n)
{
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m128i h =
            _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        _mm256_storeu_ps(x + i, _mm256_cvtph_ps(h));
    }
    return i;
}

__attribute__((target("avx2"))) static std::size_t roundToBf16Avx2(float* x, std::size_t n)
{
    const __m256i absMask = _mm256_set1_epi32(0x7fffffff), inf = _mm256_set1_epi32(0x7f800000),
                  one = _mm256_set1_epi32(1), bias = _mm256_set1_epi32(0x7fff),
                  high = _mm256_set1_epi32(int(0xffff0000u)), quiet = _mm256_set1_epi32(0x00400000);
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256i u = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i));
        const __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(u, absMask), inf);
        const __m256i odd = _mm256_and_si256(_mm256_srli_epi32(u, 16), one);
        const __m256i rounded = _mm256_and_si256(_mm256_add_epi32(u, _mm256_add_epi32(bias, odd)), high);
        const __m256i kept = _mm256_and_si256(_mm256_or_si256(u, quiet), high);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(x + i), _mm256_blendv_epi8(rounded, kept, nan));
    }
    return i;
}
#endif

void roundToF16(float* x, std::size_t n)
{
    std::size_t i = 0;
#ifdef QS_X86
    if (haveAvx2F16c())
        i = roundToF16Avx2(x, n);
#endif
    for (; i < n; ++i)
        x[i] = ref::f16ToF32(ref::f32ToF16(x[i]));
}

void roundToBf16(float* x, std::size_t n)
{
    std::size_t i = 0;
#ifdef QS_X86
    if (haveAvx2F16c())
        i = roundToBf16Avx2(x, n);
#endif
    for (; i < n; ++i)
        x[i] = ref::bf16ToF32(ref::f32ToBf16(x[i]));
}

void convertToF32(DType src, const void* in, float* out, std::size_t n)
{
#ifdef QS_X86
    if (haveAvx2F16c()) {
        if (src == DType::F16)
            return f16RowAvx2(in, out, n);
        if (src == DType::BF16)
            return bf16RowAvx2(in, out, n);
    }
#endif
    ref::convertRow(src, in, out, n);
}

const char* convertVariantName()
{
#ifdef QS_X86
    if (haveAvx2F16c())
        return "avx2+f16c";
#endif
    return "scalar";
}

#ifdef QS_X86
/// The index of the first 8-float vector from `i` holding a NaN or Inf (exponent all ones), or the start of
/// the tail shorter than 8.
__attribute__((target("avx2"))) static std::size_t skipFiniteAvx2(const float* x, std::size_t i,
                                                                  std::size_t n)
{
    const __m256i expMask = _mm256_set1_epi32(0x7f800000);
    for (; i + 8 <= n; i += 8) {
        const __m256i e =
            _mm256_and_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i)), expMask);
        if (!_mm256_testz_si256(_mm256_cmpeq_epi32(e, expMask), _mm256_cmpeq_epi32(e, expMask)))
            return i;
    }
    return i;
}
#endif

std::size_t countNonFinite(const float* x, std::size_t n, std::size_t* firstIndex)
{
    std::size_t count = 0;
    std::size_t first = n;
    std::size_t i = 0;
#ifdef QS_X86
    const bool simd = cpuFeatures().avx2;
#endif
    while (i < n) {
        std::size_t end = n;
#ifdef QS_X86
        if (simd) {
            i = skipFiniteAvx2(x, i, n); // whole vectors of finite values need no look
            end = std::min(n, i + 8);
        }
#endif
        for (; i < end; ++i) {
            if (!std::isfinite(x[i])) {
                if (count++ == 0)
                    first = i;
            }
        }
    }
    if (firstIndex)
        *firstIndex = first;
    return count;
}

} // namespace qs
