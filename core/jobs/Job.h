#pragma once

#include "util/Error.h"

#include <QString>
#include <algorithm>
#include <atomic>
#include <functional>
#include <memory>
#include <new>

namespace qs {

/// A cancel flag shared between a job and whoever started it. Jobs call check() between units
/// of work (a layer, a chunk), so cancellation takes effect within one unit.
class CancelToken
{
public:
    void cancel() { m_cancelled.store(true, std::memory_order_relaxed); }
    bool isCancelled() const { return m_cancelled.load(std::memory_order_relaxed); }
    void check() const
    {
        if (isCancelled())
            throw Cancelled();
    }

private:
    std::atomic<bool> m_cancelled{false};
};

/// What a job reports: overall fraction in [0, 1] (negative = indeterminate), a stage and detail.
struct JobProgress
{
    double fraction = -1.0;
    QString stage;  ///< "calibrating", "quantizing", "evaluating", …
    QString detail; ///< current layer or chunk
    double etaSeconds = -1.0;
};

using ProgressFn = std::function<void(const JobProgress&)>;

/// Context handed to every job function: report progress, honour cancel. No job touches the GUI.
struct JobContext
{
    std::shared_ptr<CancelToken> cancel = std::make_shared<CancelToken>();
    ProgressFn progress;

    void report(double fraction, const QString& stage, const QString& detail = {}, double eta = -1.0) const
    {
        if (progress)
            progress(JobProgress{fraction, stage, detail, eta});
    }
    void checkCancelled() const { cancel->check(); }
    /// A context for one step of a multi-step job: same cancel token, its fractions mapped into
    /// [from, to] of this job and its detail prefixed with `step` ("plan 3/12: …").
    JobContext part(double from, double to, const QString& step) const
    {
        JobContext c;
        c.cancel = cancel;
        if (progress) {
            c.progress = [parent = progress, from, to, step](const JobProgress& p) {
                JobProgress q = p;
                q.fraction = p.fraction < 0 ? -1.0 : from + (to - from) * std::clamp(p.fraction, 0.0, 1.0);
                q.detail = step.isEmpty()       ? p.detail
                           : p.detail.isEmpty() ? step
                                                : step + QStringLiteral(": ") + p.detail;
                q.etaSeconds = -1.0;
                parent(q);
            };
        }
        return c;
    }
};

/// Runs a job body on a worker thread and turns how it ended into data for the thread that
/// started it: qs::Cancelled sets `cancelled`; qs::Error, running out of memory and any other
/// exception set `error` to their message. Nothing escapes (a worker must not throw).
template <typename Body>
void runCapturingOutcome(Body&& body, bool& cancelled, QString& error)
{
    try {
        body();
    } catch (const Cancelled&) {
        cancelled = true;
    } catch (const Error& e) {
        error = e.message();
    } catch (const std::bad_alloc&) {
        error = QStringLiteral("out of memory");
    } catch (const std::exception& e) {
        error = QString::fromLocal8Bit(e.what());
    }
}

} // namespace qs
