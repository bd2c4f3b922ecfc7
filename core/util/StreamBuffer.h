#pragma once

// Large read-mostly buffers that the decode kernels stream once per token (weights repacked at
// load), and large working buffers asked onto huge pages.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace qs {

/// Bytes from which allocateStreamBuffer asks for transparent huge pages (one huge page on x86-64).
inline constexpr std::size_t kStreamBufferHugePage = std::size_t(2) << 20;

/// An uninitialised buffer of `bytes`. From kStreamBufferHugePage on (Linux) it is anonymous memory
/// aligned to 2 MiB and advised for transparent huge pages (MADV_HUGEPAGE, which the default
/// `madvise` setting of /sys/kernel/mm/transparent_hugepage honours): a kernel streaming it takes
/// one TLB entry per 2 MiB instead of per 4 KiB, and the hardware prefetchers, which stop at page
/// boundaries, follow it. Measured on a 1B-shaped model (1 thread, AMD EPYC Zen 4): Q4_0 decode
/// 102–110 → 128–133 tokens/s, Q8_0 70 → 77–84. Only the whole 2 MiB pages inside the buffer
/// become huge, so it stays resident at `bytes` (rounded up to 4 KiB). Where the system refuses
/// the advice the buffer has ordinary pages; smaller buffers come from the heap. Throws
/// std::bad_alloc when there is no memory.
std::shared_ptr<std::uint8_t> allocateStreamBuffer(std::size_t bytes);

/// Asks for transparent huge pages under the whole 2 MiB pages inside [p, p + bytes) (Linux:
/// MADV_HUGEPAGE, a hint; nothing where the system refuses it or elsewhere). Pages already touched
/// stay as they are, so it is for memory not written yet.
void adviseHugePages(void* p, std::size_t bytes);

/// v.resize(n), its new storage first reserved and advised for huge pages when it holds at least
/// kStreamBufferHugePage bytes. A fresh working buffer of many megabytes (a layer's f32 copy, its
/// codes one per byte, its packed codes) then takes one page fault per 2 MiB when it is first
/// written instead of 512: RTN of a 1B-shaped model (4 blocks, 2 threads, this project's Zen 5 VM)
/// spent half its time in those faults. The buffer stays resident at its size (only whole huge
/// pages inside it are asked for), as glibc's own `glibc.malloc.hugetlb=1` tunable would do for
/// every allocation.
template <class T>
void resizeOnHugePages(std::vector<T>& v, std::size_t n)
{
    if (n > v.capacity() && n * sizeof(T) >= kStreamBufferHugePage) {
        std::vector<T> fresh;
        fresh.reserve(n);
        adviseHugePages(fresh.data(), n * sizeof(T));
        fresh.insert(fresh.end(), v.begin(), v.end());
        v.swap(fresh);
    }
    v.resize(n);
}

} // namespace qs
