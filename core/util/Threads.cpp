#include "util/Threads.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <omp.h>

namespace qs {

void setComputeThreads(int n)
{
    if (n <= 0)
        n = omp_get_num_procs();
    omp_set_num_threads(n);
}

int computeThreads()
{
    return omp_get_max_threads();
}

namespace {

/// Runs fn(range) for ranges [0, ranges) over the OpenMP threads. An exception may not leave an
/// OpenMP region: the first is kept, the ranges not yet begun are skipped, and it is rethrown.
void parallelRanges(std::int64_t ranges, const std::function<void(std::int64_t)>& fn)
{
    std::exception_ptr failure;
    std::atomic<bool> failed{false};
#pragma omp parallel for schedule(dynamic, 1)
    for (std::int64_t r = 0; r < ranges; ++r) {
        if (failed.load(std::memory_order_relaxed))
            continue;
        try {
            fn(r);
        } catch (...) {
#pragma omp critical(qs_for_each_row_range)
            if (!failed.exchange(true))
                failure = std::current_exception();
        }
    }
    if (failure)
        std::rethrow_exception(failure);
}

} // namespace

void forEachRowRange(std::int64_t rows, std::int64_t valuesPerRow,
                     const std::function<void(std::int64_t, std::int64_t)>& fn)
{
    if (rows <= 0)
        return;
    constexpr std::int64_t kValuesPerRange = std::int64_t(1) << 16;
    const std::int64_t perRange =
        std::max<std::int64_t>(1, kValuesPerRange / std::max<std::int64_t>(1, valuesPerRow));
    const std::int64_t ranges = (rows + perRange - 1) / perRange;
    if (ranges == 1) {
        fn(0, rows);
        return;
    }
    parallelRanges(ranges, [&](std::int64_t r) {
        const std::int64_t first = r * perRange;
        fn(first, std::min(perRange, rows - first));
    });
}

void forEachRowTile(std::int64_t rows, std::int64_t tile, bool parallel,
                    const std::function<void(std::int64_t, std::int64_t)>& fn)
{
    if (rows <= 0)
        return;
    tile = std::max<std::int64_t>(1, tile);
    const std::int64_t tiles = (rows + tile - 1) / tile;
    const auto one = [&](std::int64_t k) { fn(k * tile, std::min(tile, rows - k * tile)); };
    if (!parallel || tiles == 1 || computeThreads() == 1) {
        for (std::int64_t k = 0; k < tiles; ++k)
            one(k);
        return;
    }
    parallelRanges(tiles, one);
}

} // namespace qs
