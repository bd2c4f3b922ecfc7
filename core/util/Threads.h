#pragma once

#include <cstdint>
#include <functional>

namespace qs {

/// Sets the number of compute threads, for the whole process: the row ranges below and the OpenMP
/// loops of the calling thread. n <= 0 means all hardware threads. Kernels own no threads themselves.
void setComputeThreads(int n);
int computeThreads();

/// Background threads' niceness: once set above 0, the compute pool's workers and every thread that
/// calls lowerThreadPriority() run at this nice value, so an interactive thread (the GUI's) wins
/// the CPU over the jobs it started when they compete for the cores (a 2-core machine running a
/// 2-thread job otherwise left the UI thread waiting a scheduler slice). Linux only, where nice is
/// per thread and new threads inherit it; elsewhere nothing changes. 0 (the default) changes nothing.
void setBackgroundNice(int nice);
/// Applies the background niceness to the calling thread (once per thread; never raises priority).
void lowerThreadPriority();

/// Splits rows [0, rows) into consecutive ranges and calls fn(firstRow, rowCount) once per range,
/// spread over the compute threads; the way callers run a row-range kernel such as
/// ggmlQuantizeChunk. A range holds about 64K values (`valuesPerRow` sizes it, at least one row),
/// so small calls stay on the calling thread. When rows are independent the result cannot depend
/// on the thread count. The first exception fn throws is rethrown here once every range has run
/// or been skipped.
///
/// The compute threads are a pool of persistent workers plus the caller, which take ranges from a
/// shared counter: the call returns once every range is done, without waiting for a worker that
/// took none (one descheduled by a busy machine, say). Calls from inside a range, from an OpenMP
/// region, or while another thread's call holds the pool run in order on the calling thread.
void forEachRowRange(std::int64_t rows, std::int64_t valuesPerRow,
                     const std::function<void(std::int64_t firstRow, std::int64_t rowCount)>& fn);

/// Calls fn(firstRow, rowCount) for the fixed tiles [k·tile, (k+1)·tile) ∩ [0, rows), spread over
/// the compute threads when `parallel` (dynamic schedule), else in order on the calling thread.
/// Tile boundaries never depend on the thread count, so a kernel whose result for a row depends
/// only on its tile gives the same numbers on any number of threads. Exceptions as forEachRowRange.
void forEachRowTile(std::int64_t rows, std::int64_t tile, bool parallel,
                    const std::function<void(std::int64_t firstRow, std::int64_t rowCount)>& fn);

} // namespace qs
