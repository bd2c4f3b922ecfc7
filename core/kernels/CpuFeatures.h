#pragma once

namespace qs {

/// What this CPU (and the OS, which must save the wider registers) can run, read once from cpuid.
/// The one place kernels ask before taking a SIMD path; all false on non-x86 machines.
struct CpuFeatures
{
    bool amd = false; ///< the vendor is AMD (where a kernel's tuning differs by vendor, it says so)
    bool avx2 = false;
    bool fma = false;
    bool f16c = false;
    bool avx512f = false;
    bool avx512bw = false;
    bool avx512vl = false;
    bool avx512dq = false;
    bool avx512vnni = false; ///< vpdpbusd/vpdpwssd on 128–512-bit registers (with avx512vl)
    bool avxvnni = false;    ///< the VEX-encoded 256-bit vpdpbusd/vpdpwssd
    bool avx512bf16 = false; ///< vdpbf16ps / vcvtne2ps2bf16 (bf16 pair dot products into f32 lanes)
    bool amxTile = false;    ///< AMX tile registers, with the OS saving their state (XCR0 bits 17, 18)
    bool amxBf16 = false;    ///< tdpbf16ps: 16 × 16 × 32 bf16 products into f32 tiles
    bool amxInt8 = false;    ///< tdpbssd and kin: 16 × 16 × 64 int8 products into int32 tiles

    bool hasAvx2() const { return avx2 && fma; }
    bool hasAvx512() const { return hasAvx2() && avx512f && avx512bw && avx512vl && avx512dq; }
    bool hasAvx512Vnni() const { return hasAvx512() && avx512vnni; }
    bool hasAvx512Bf16() const { return hasAvx512() && avx512bf16; }
    /// The CPU and the OS offer AMX-BF16; a process must still ask Linux for the tile data state before
    /// its first tile instruction (amxTileStateGranted below).
    bool hasAmxBf16() const { return hasAvx512Bf16() && amxTile && amxBf16; }
    bool hasAmxInt8() const { return hasAvx512Vnni() && amxTile && amxInt8; }
};

const CpuFeatures& cpuFeatures();

/// Linux hands the AMX tile data state only to a process that asks (arch_prctl ARCH_REQ_XCOMP_PERM, Linux
/// 5.16 and later); a tile instruction before that kills the process. Asks once, on the first call; true
/// when granted (false off Linux/x86 or without AMX). Kernels call it before their first tile instruction.
bool amxTileStateGranted();

/// The programs are built for x86-64-v3 (AVX2, FMA, F16C: cmake/QuantScopeBuildPolicy.cmake), so
/// compiled code anywhere may use those instructions. Called first thing in main(): on a CPU
/// without them it returns a message saying so (the caller prints it and exits) instead of letting
/// the process die on an illegal instruction later. Compiled for plain x86-64 itself. Null when fine
/// (always on non-x86 builds).
const char* missingBaselineCpuFeatures();

} // namespace qs
