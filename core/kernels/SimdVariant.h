#pragma once

#include <QByteArray>
#include <vector>

namespace qs {

struct CpuFeatures;

/// The builds of a vectorized kernel: the plain scalar reference (one candidate at a time, the
/// truth the others are tested against), 4 lanes in the baseline instruction set (SSE/AVX on x86,
/// NEON elsewhere), 8 lanes for AVX2 and 16 for AVX-512. Every variant gives the same bytes.
enum class SimdVariant { Scalar, Vec128, Avx2, Avx512 };

inline constexpr SimdVariant kSimdVariants[] = {SimdVariant::Scalar, SimdVariant::Vec128, SimdVariant::Avx2,
                                                SimdVariant::Avx512};

/// "scalar", "vec128", "avx2", "avx512": the names QUANTSCOPE_KERNELS and the benchmarks use.
const char* simdVariantName(SimdVariant v);

/// Whether this build holds the variant and `cpu` can run it.
bool simdVariantSupported(SimdVariant v, const CpuFeatures& cpu);
bool simdVariantSupported(SimdVariant v);         ///< on this CPU
std::vector<SimdVariant> supportedSimdVariants(); ///< on this CPU, narrowest first

/// The variant to run: `forced` (a name, as QUANTSCOPE_KERNELS holds it) or, when empty, the
/// fastest `cpu` supports (avx2, else vec128: avx512 does not pay yet, see SimdVariant.cpp). Throws qs::Error
/// for an unknown name or one `cpu` cannot run.
SimdVariant chooseSimdVariant(const QByteArray& forced, const CpuFeatures& cpu);

/// chooseSimdVariant(QUANTSCOPE_KERNELS, this CPU), decided on the first call and kept; throws
/// qs::Error (on every call) when the variable names a variant this CPU lacks.
SimdVariant activeSimdVariant();

/// QUANTSCOPE_KERNELS names a variant: every kernel then runs that variant's code (no wider path such as the
/// AMX tiles either). Read once.
bool simdVariantForced();

/// The widest variant this CPU runs (avx512 where it has it), or activeSimdVariant() when QUANTSCOPE_KERNELS
/// names one: for the kernels whose widest variant is also their fastest (the float products, VecMath).
SimdVariant widestSimdVariant();

} // namespace qs
