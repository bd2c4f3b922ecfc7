#include "kernels/CpuFeatures.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define QS_X86 1
#if defined(__linux__) && defined(__x86_64__)
#include <sys/syscall.h>
#include <unistd.h>
#define QS_AMX_LINUX 1
#endif
#endif

namespace qs {

namespace {

CpuFeatures detect()
{
    CpuFeatures f;
#ifdef QS_X86
    // cpuid rather than __builtin_cpu_supports, whose feature names differ between compilers.
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (!__get_cpuid(0, &a, &b, &c, &d))
        return f;
    f.amd = b == 0x68747541u && d == 0x69746e65u && c == 0x444d4163u; // "AuthenticAMD"
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return f;
    const bool osxsave = (c >> 27) & 1u, avx = (c >> 28) & 1u;
    if (!osxsave || !avx)
        return f;
    unsigned xlo = 0, xhi = 0;
    __asm__("xgetbv" : "=a"(xlo), "=d"(xhi) : "c"(0));
    if ((xlo & 0x6u) != 0x6u) // the OS saves XMM and YMM state
        return f;
    f.fma = (c >> 12) & 1u;
    f.f16c = (c >> 29) & 1u;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
        return f;
    f.avx2 = (b >> 5) & 1u;
    if ((xlo & 0xe0u) == 0xe0u) { // and the opmask and ZMM state
        f.avx512f = (b >> 16) & 1u;
        f.avx512dq = (b >> 17) & 1u;
        f.avx512bw = (b >> 30) & 1u;
        f.avx512vl = (b >> 31) & 1u;
        f.avx512vnni = (c >> 11) & 1u;
    }
    const bool zmm = (xlo & 0xe0u) == 0xe0u;
    const bool tiles = (xlo & 0x60000u) == 0x60000u; // XTILECFG and XTILEDATA
    f.amxTile = zmm && tiles && ((d >> 24) & 1u);
    f.amxBf16 = f.amxTile && ((d >> 22) & 1u);
    f.amxInt8 = f.amxTile && ((d >> 25) & 1u);
    if (a >= 1 && __get_cpuid_count(7, 1, &a, &b, &c, &d)) {
        f.avxvnni = (a >> 4) & 1u;
        f.avx512bf16 = zmm && ((a >> 5) & 1u);
    }
#endif
    return f;
}

} // namespace

const CpuFeatures& cpuFeatures()
{
    static const CpuFeatures features = detect();
    return features;
}

bool amxTileStateGranted()
{
#ifdef QS_AMX_LINUX
    static const bool granted = [] {
        if (!cpuFeatures().amxTile)
            return false;
        constexpr long kReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
        return syscall(SYS_arch_prctl, kReqXcompPerm, kXfeatureXtiledata) == 0;
    }();
    return granted;
#else
    return false;
#endif
}

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("arch=x86-64"))) const char* missingBaselineCpuFeatures()
{
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return nullptr;
    return "QuantScope: this build needs a CPU with AVX2 and FMA (x86-64-v3: Intel Haswell / AMD Excavator "
           "or "
           "newer); this CPU lacks them.\n";
}
#else
const char* missingBaselineCpuFeatures()
{
    return nullptr;
}
#endif

} // namespace qs
