#include "util/StreamBuffer.h"

#include <new>

#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>
#endif

namespace qs {

std::shared_ptr<std::uint8_t> allocateStreamBuffer(std::size_t bytes)
{
#if defined(__linux__)
    if (bytes >= kStreamBufferHugePage) {
        const std::size_t page = std::size_t(sysconf(_SC_PAGESIZE));
        const std::size_t length = (bytes + page - 1) / page * page;
        // Map a huge page more than needed, then unmap what lies before the first 2 MiB boundary
        // and after the buffer's end.
        const std::size_t mapped = length + kStreamBufferHugePage;
        void* m = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED)
            throw std::bad_alloc();
        const auto start = reinterpret_cast<std::uintptr_t>(m);
        const std::uintptr_t base =
            (start + kStreamBufferHugePage - 1) / kStreamBufferHugePage * kStreamBufferHugePage;
        if (base > start)
            munmap(m, base - start);
        if (const std::uintptr_t end = start + mapped, used = base + length; end > used)
            munmap(reinterpret_cast<void*>(used), end - used);
        auto* data = reinterpret_cast<std::uint8_t*>(base);
        madvise(data, length, MADV_HUGEPAGE); // refused (THP off): ordinary pages, the same bytes
        return std::shared_ptr<std::uint8_t>(data, [length](std::uint8_t* p) { munmap(p, length); });
    }
#endif
    return std::shared_ptr<std::uint8_t>(new std::uint8_t[bytes], std::default_delete<std::uint8_t[]>());
}

void adviseHugePages(void* p, std::size_t bytes)
{
#if defined(__linux__)
    const auto start = reinterpret_cast<std::uintptr_t>(p);
    const std::uintptr_t first = (start + kStreamBufferHugePage - 1) / kStreamBufferHugePage *
                                 kStreamBufferHugePage,
                         last = (start + bytes) / kStreamBufferHugePage * kStreamBufferHugePage;
    if (p && last > first)
        madvise(reinterpret_cast<void*>(first), last - first, MADV_HUGEPAGE); // a hint: refused is fine
#else
    (void)p;
    (void)bytes;
#endif
}

} // namespace qs
