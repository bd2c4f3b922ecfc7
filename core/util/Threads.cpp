#include "util/Threads.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <omp.h>
#if defined(__linux__)
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace qs {

namespace {

std::atomic<int> g_threads{0}; // 0: not set, all hardware threads
std::atomic<int> g_backgroundNice{0};

inline void cpuRelax()
{
#if defined(__x86_64__) || defined(__i386__)
    _mm_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
}

/// The compute threads behind forEachRowRange / forEachRowTile: computeThreads() − 1 persistent
/// workers plus the calling thread, which hand out the ranges of one call through an atomic ticket.
///
/// Why not an OpenMP loop (which this replaced): `omp parallel for` ends in a barrier that waits for
/// every thread of the team to arrive, so when another process holds a core and one of our threads is
/// descheduled, each of the hundreds of parallel regions of a decode step waits a scheduler slice for
/// it (measured: 2-thread decode fell to a tenth of the 1-thread speed on a loaded 2-core machine).
/// Here the caller waits only for ranges that were actually taken: a worker that has not woken yet
/// finds nothing left and the caller has done its share.
///
/// A job is published as (generation, ranges); a ticket is the generation in the high 24 bits and a
/// range index in the low 40, taken by compare-exchange only when its generation is the taker's, so
/// a worker that wakes late for a finished job finds a ticket of another generation and leaves it.
class ComputePool
{
public:
    static ComputePool& instance()
    {
        static ComputePool pool;
        return pool;
    }

    ~ComputePool()
    {
        m_stop.store(true);
        m_generation.fetch_add(1);
        {
            const std::lock_guard<std::mutex> lock(m_sleep);
            m_wake.notify_all();
        }
        for (std::thread& t : m_workers)
            t.join();
    }

    /// Runs fn(r) for r in [0, ranges) on the caller and up to `threads` − 1 workers. Returns false
    /// (running nothing) when the pool is busy with another caller's job; that caller runs serially.
    bool run(std::int64_t ranges, int threads, const std::function<void(std::int64_t)>& fn)
    {
        std::unique_lock<std::mutex> busy(m_busy, std::try_to_lock);
        if (!busy.owns_lock())
            return false;
        resize(threads - 1);
        const std::uint64_t gen = (m_generation.load(std::memory_order_relaxed) + 1) & kGenMask;
        m_fn = &fn;
        m_failure = nullptr;
        m_failed.store(false, std::memory_order_relaxed);
        m_done.store(0, std::memory_order_relaxed);
        m_jobThreads.store(threads, std::memory_order_relaxed);
        m_job.store(gen << kIndexBits | std::uint64_t(ranges), std::memory_order_relaxed);
        m_ticket.store(gen << kIndexBits, std::memory_order_release);
        m_generation.store(gen); // seq_cst: pairs with the sleepers count (see worker())
        if (m_sleepers.load() > 0) {
            const std::lock_guard<std::mutex> lock(m_sleep);
            m_wake.notify_all();
        }

        work(gen, ranges);
        // Wait for the ranges other threads took; yield soon, in case the one holding a range waits
        // for this core.
        for (int spin = 0; m_done.load(std::memory_order_acquire) < ranges; ++spin) {
            if (spin < 2000)
                cpuRelax();
            else
                std::this_thread::yield();
        }
        m_fn = nullptr;
        if (m_failure)
            std::rethrow_exception(m_failure);
        return true;
    }

private:
    static constexpr int kIndexBits = 40;
    static constexpr std::uint64_t kIndexMask = (std::uint64_t(1) << kIndexBits) - 1;
    static constexpr std::uint64_t kGenMask = (std::uint64_t(1) << (64 - kIndexBits)) - 1;

    void resize(int workers)
    {
        workers = std::max(0, workers);
        if (int(m_workers.size()) >= workers)
            return; // workers beyond a job's thread count sit it out
        while (int(m_workers.size()) < workers) {
            const int index = int(m_workers.size()) + 1; // the caller is thread 0
            m_workers.emplace_back([this, index] { worker(index); });
        }
    }

    /// Takes and runs ranges of job `gen` until none is left. Ranges are skipped (counted done,
    /// not run) once one has thrown.
    void work(std::uint64_t gen, std::int64_t ranges)
    {
        t_inPool = true;
        std::uint64_t t = m_ticket.load(std::memory_order_acquire);
        for (;;) {
            // Take ticket t only while it is of this job and a range is left: a thread still looking
            // for work of an earlier job must not use up (and lose) a range of the current one.
            if ((t >> kIndexBits) != gen || std::int64_t(t & kIndexMask) >= ranges)
                break;
            if (!m_ticket.compare_exchange_weak(t, t + 1, std::memory_order_acq_rel,
                                                std::memory_order_acquire))
                continue; // t now holds the current ticket
            const std::int64_t range = std::int64_t(t & kIndexMask);
            ++t; // the likely next ticket; the exchange corrects it
            if (!m_failed.load(std::memory_order_relaxed)) {
                try {
                    (*m_fn)(range);
                } catch (...) {
                    std::lock_guard<std::mutex> lock(m_failureLock);
                    if (!m_failed.exchange(true))
                        m_failure = std::current_exception();
                }
            }
            m_done.fetch_add(1, std::memory_order_acq_rel);
        }
        t_inPool = false;
    }

    void worker(int index)
    {
        lowerThreadPriority();
        std::uint64_t seen = m_generation.load();
        for (;;) {
            // A worker started (by a late run() on another thread) after the pool began to stop must not
            // take the stop's generation for its first one and sleep through it.
            if (m_stop.load())
                return;
            // Spin a little (a decode step publishes a job every few microseconds), then sleep.
            std::uint64_t gen = m_generation.load(std::memory_order_acquire);
            for (int spin = 0; gen == seen && spin < 20000; ++spin) {
                cpuRelax();
                gen = m_generation.load(std::memory_order_acquire);
            }
            if (gen == seen) {
                // Asleep until a job or the stop (a process ending on an error hung in exit joining a worker
                // that had started after the stop's generation and slept through it: tst_faults, about one
                // run in five beside other work).
                std::unique_lock<std::mutex> lock(m_sleep);
                m_sleepers.fetch_add(
                    1); // seq_cst, then the re-check: run() stores before it reads m_sleepers
                m_wake.wait(lock, [&] { return m_stop.load() || m_generation.load() != seen; });
                m_sleepers.fetch_sub(1);
                continue;
            }
            seen = gen;
            if (m_stop.load())
                return;
            const std::uint64_t job = m_job.load(std::memory_order_acquire);
            if ((job >> kIndexBits) != (gen & kGenMask) ||
                index >= m_jobThreads.load(std::memory_order_relaxed))
                continue; // published while we looked (the next pass sees it), or not ours
            work(gen & kGenMask, std::int64_t(job & kIndexMask));
        }
    }

    static thread_local bool t_inPool;

    std::mutex m_busy;
    std::vector<std::thread> m_workers;
    std::atomic<std::uint64_t> m_generation{0};
    std::atomic<std::uint64_t> m_job{0};
    std::atomic<int> m_jobThreads{0};
    std::atomic<std::uint64_t> m_ticket{0};
    std::atomic<std::int64_t> m_done{0};
    std::atomic<int> m_sleepers{0};
    std::mutex m_sleep;
    std::condition_variable m_wake;
    std::atomic<bool> m_stop{false};
    std::atomic<bool> m_failed{false};
    const std::function<void(std::int64_t)>* m_fn = nullptr;
    std::mutex m_failureLock;
    std::exception_ptr m_failure;

public:
    static bool inPool() { return t_inPool; }
};

thread_local bool ComputePool::t_inPool = false;

/// Runs fn(range) for ranges [0, ranges) over the compute threads, in order on this thread when
/// there is one thread, one range, or when called from inside a range (nested) or an OpenMP region.
/// The first exception fn throws is rethrown once every range has run or been skipped.
void parallelRanges(std::int64_t ranges, const std::function<void(std::int64_t)>& fn)
{
    const int threads = computeThreads();
    if (ranges > 1 && threads > 1 && !ComputePool::inPool() && !omp_in_parallel() &&
        ComputePool::instance().run(ranges, int(std::min<std::int64_t>(threads, ranges)), fn))
        return;
    for (std::int64_t r = 0; r < ranges; ++r)
        fn(r);
}

} // namespace

void setComputeThreads(int n)
{
    if (n <= 0)
        n = omp_get_num_procs();
    g_threads.store(n);
    omp_set_num_threads(n);
}

void setBackgroundNice(int nice)
{
    g_backgroundNice.store(std::clamp(nice, 0, 19));
}

void lowerThreadPriority()
{
#if defined(__linux__)
    thread_local int applied = 0;
    const int nice = g_backgroundNice.load();
    if (nice <= applied)
        return;
    const auto tid = id_t(syscall(SYS_gettid));
    errno = 0;
    const int now = getpriority(PRIO_PROCESS, tid);
    if (errno == 0 && now < nice)
        setpriority(PRIO_PROCESS, tid, nice); // failing leaves the thread as it was: harmless
    applied = nice;
#endif
}

int computeThreads()
{
    const int n = g_threads.load();
    return n > 0 ? n : omp_get_max_threads();
}

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
    if (!parallel || tiles == 1) {
        for (std::int64_t k = 0; k < tiles; ++k)
            one(k);
        return;
    }
    parallelRanges(tiles, one);
}

} // namespace qs
