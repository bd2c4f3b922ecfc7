#pragma once

#include <cstdint>
#include <functional>

namespace qs {

/// Sets the number of compute threads used by core kernels (OpenMP loops, GEMM tiles included).
/// n <= 0 means all hardware threads. Kernels own no threads themselves.
void setComputeThreads(int n);
int computeThreads();

/// Splits rows [0, rows) into consecutive ranges and calls fn(firstRow, rowCount) once per range,
/// spread over the compute threads (OpenMP); the way callers run a row-range kernel such as
/// ggmlQuantizeChunk. A range holds about 64K values (`valuesPerRow` sizes it, at least one row),
/// so small calls stay on the calling thread. When rows are independent the result cannot depend
/// on the thread count. The first exception fn throws is rethrown here once every range has run
/// or been skipped.
void forEachRowRange(std::int64_t rows, std::int64_t valuesPerRow,
                     const std::function<void(std::int64_t firstRow, std::int64_t rowCount)>& fn);

/// Calls fn(firstRow, rowCount) for the fixed tiles [k·tile, (k+1)·tile) ∩ [0, rows), spread over
/// the compute threads when `parallel` (dynamic schedule), else in order on the calling thread.
/// Tile boundaries never depend on the thread count, so a kernel whose result for a row depends
/// only on its tile gives the same numbers on any number of threads. Exceptions as forEachRowRange.
void forEachRowTile(std::int64_t rows, std::int64_t tile, bool parallel,
                    const std::function<void(std::int64_t firstRow, std::int64_t rowCount)>& fn);

} // namespace qs
