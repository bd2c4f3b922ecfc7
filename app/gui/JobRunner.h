#pragma once

#include "jobs/Job.h"
#include "util/Threads.h"

#include <QFuture>
#include <QFutureWatcher>
#include <QObject>
#include <QPointer>
#include <QString>
#include <QThreadPool>
#include <QtConcurrent/QtConcurrentRun>
#include <functional>
#include <memory>
#include <type_traits>
#include <utility>

namespace qs {

/// How a job ended, as data for the UI thread. `value` is what the body filled in: all of it when
/// the job succeeded, what it had so far when it was cancelled or failed (a sweep keeps what it
/// measured, a generation the model it loaded).
template <typename T>
struct JobOutcome
{
    T value{};
    bool cancelled = false;
    QString error; ///< the failure's message; empty unless it failed
    bool succeeded() const { return !cancelled && error.isEmpty(); }
};

/// The value of a job that only has effects (it writes a file): its outcome is cancelled/failed.
struct NoResult
{};

/// A job started by runJob. Copies share the job; a default-constructed handle has none.
class JobHandle
{
public:
    JobHandle() = default;
    /// Asks the job to stop at its next check (its outcome then says cancelled).
    void cancel() const;
    /// Started, and its outcome neither delivered nor dropped yet.
    bool isRunning() const;
    /// Drops the outcome: the done-handler will not run (the worker still finishes on its own).
    void discard() const;
    /// Blocks until the worker returns. Only for destructors whose members the worker uses.
    void waitForFinished() const;

    struct State
    {
        std::shared_ptr<CancelToken> cancel;
        QFuture<void> future;
        QPointer<QObject> watcher; ///< gone with the guard, or once the outcome is delivered
        bool delivered = false;    ///< touched on the UI thread only
    };
    explicit JobHandle(std::shared_ptr<State> state) : m_state(std::move(state)) {}

private:
    std::shared_ptr<State> m_state;
};

/// Where and how runJob starts a job.
struct JobOptions
{
    QThreadPool* pool = nullptr;         ///< null: the jobs' pool (jobPool())
    std::shared_ptr<CancelToken> cancel; ///< one token for several jobs (one Stop); null: a new one
    ProgressFn progress;                 ///< called on the UI thread, queued, while the guard lives
};

/// Where jobs run unless JobOptions names a pool: the application's own, never Qt's global pool.
/// Qt's raster paint engine (Qt 6.4) splits large fills and image conversions over the global
/// pool and the UI thread waits for those parts; a job holding a global-pool thread made a repaint
/// wait for the job (a 56 ms stall after opening a 1B-shaped model, two jobs on both threads).
QThreadPool* jobPool();

namespace detail {
/// Queues `call` to the application's thread (from any thread).
void postToApplicationThread(std::function<void()> call);
} // namespace detail

/// A function for worker threads that runs `onUiThread(value)` on the UI thread, queued, while
/// `guard` lives (progress reports, streamed text). The value is copied.
template <typename Arg>
std::function<void(const Arg&)>
queuedWhileAlive(QObject* guard, std::type_identity_t<std::function<void(const Arg&)>> onUiThread)
{
    // The guard is checked on the UI thread, where it is destroyed, so a call never reaches a
    // dead receiver; the application object that carries the call outlives every guard.
    return [alive = QPointer<QObject>(guard), f = std::move(onUiThread)](const Arg& value) {
        detail::postToApplicationThread([alive, f, value] {
            if (alive)
                f(value);
        });
    };
}

/// Runs `body(out, ctx)` on a worker thread and hands its outcome to `done` on the UI thread
/// (Qt Creator's onFinished(future, guard, f) idea). `guard` is a QObject of the UI thread: once
/// it is destroyed, neither progress nor the outcome is delivered. The body reports progress and
/// checks cancel through `ctx`; qs::Cancelled and every exception become the outcome's data.
/// Nothing here blocks the UI thread.
template <typename T>
JobHandle runJob(QObject* guard, std::function<void(T&, const JobContext&)> body,
                 std::function<void(const JobOutcome<T>&)> done, JobOptions options = {})
{
    auto state = std::make_shared<JobHandle::State>();
    state->cancel = options.cancel ? options.cancel : std::make_shared<CancelToken>();
    JobContext ctx;
    ctx.cancel = state->cancel;
    if (options.progress)
        ctx.progress = queuedWhileAlive<JobProgress>(guard, std::move(options.progress));
    auto* watcher = new QFutureWatcher<JobOutcome<T>>(guard); // dies with the guard: no delivery
    state->watcher = watcher;
    QObject::connect(watcher, &QFutureWatcherBase::finished, guard, [watcher, state, done = std::move(done)] {
        state->delivered = true;
        const JobOutcome<T> outcome = watcher->result();
        watcher->deleteLater();
        if (done)
            done(outcome);
    });
    QThreadPool* pool = options.pool ? options.pool : jobPool();
    const QFuture<JobOutcome<T>> future = QtConcurrent::run(pool, [body = std::move(body), ctx] {
        lowerThreadPriority(); // the UI thread goes first when the cores are busy
        JobOutcome<T> out;
        runCapturingOutcome([&] { body(out.value, ctx); }, out.cancelled, out.error);
        return out;
    });
    state->future = QFuture<void>(future);
    watcher->setFuture(future);
    return JobHandle(state);
}

} // namespace qs
