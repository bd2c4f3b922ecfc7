#include "JobRunner.h"

#include <QCoreApplication>
#include <QMetaObject>
#include <QThread>
#include <QThreadPool>
#include <algorithm>

namespace qs {

void JobHandle::cancel() const
{
    if (m_state)
        m_state->cancel->cancel();
}

bool JobHandle::isRunning() const
{
    if (!m_state || m_state->delivered)
        return false;
    // Without its watcher (guard gone, outcome dropped) the job runs as long as its worker does.
    return m_state->watcher || !m_state->future.isFinished();
}

void JobHandle::discard() const
{
    if (!m_state)
        return;
    m_state->delivered = true;
    delete m_state->watcher.data(); // its finished signal, and so the done-handler, goes with it
}

void JobHandle::waitForFinished() const
{
    if (m_state)
        m_state->future.waitForFinished();
}

QThreadPool* jobPool()
{
    static QThreadPool* pool = [] {
        auto* p = new QThreadPool(QCoreApplication::instance()); // ends its threads before the app goes
        // Jobs are mostly one thread each (their compute uses the compute pool): several may run
        // side by side (a model's profile, a weight distribution, a sweep) without queueing.
        p->setMaxThreadCount(std::max(4, QThread::idealThreadCount()));
        return p;
    }();
    return pool;
}

namespace detail {

void postToApplicationThread(std::function<void()> call)
{
    if (QCoreApplication* app = QCoreApplication::instance())
        QMetaObject::invokeMethod(app, std::move(call), Qt::QueuedConnection);
}

} // namespace detail

} // namespace qs
