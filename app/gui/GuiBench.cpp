#include "GuiBench.h"

#include "MainWindow.h"
#include "MixedPrecisionPanel.h"
#include "PlanExport.h"
#include "RunsPanel.h"
#include "model/Model.h"
#include "util/AtomicFile.h"
#include "util/SystemInfo.h"
#include "util/Threads.h"

#include <QAction>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QGuiApplication>
#include <QJsonDocument>
#include <QPushButton>
#include <QSpinBox>
#include <QTabWidget>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <functional>
#include <memory>
#include <utility>

#if defined(__linux__)
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace qs {

namespace {

constexpr int kTickMs = 1;

/// The calling thread's CPU time (ns).
qint64 threadCpuNs()
{
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return qint64(t.tv_sec) * 1000000000 + t.tv_nsec;
}

/// The calling thread's major page faults and voluntary context switches so far (0 where the
/// system does not say).
std::pair<qint64, qint64> threadFaultsAndSleeps()
{
#if defined(__linux__)
    rusage u{};
    if (getrusage(RUSAGE_THREAD, &u) == 0)
        return {qint64(u.ru_majflt), qint64(u.ru_nvcsw)};
#endif
    return {0, 0};
}

/// The CPU the calling thread runs on (-1 where the system does not say).
int currentCpu()
{
#if defined(__linux__)
    return sched_getcpu();
#else
    return -1;
#endif
}

/// The CPUs this process may run on (empty where the system does not say).
std::vector<int> allowedCpus()
{
    std::vector<int> cpus;
#if defined(__linux__)
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        for (int c = 0; c < CPU_SETSIZE; ++c)
            if (CPU_ISSET(c, &set))
                cpus.push_back(c);
#endif
    return cpus;
}

/// Pins the calling thread to `cpu`; false if it cannot be.
bool pinTo(int cpu)
{
#if defined(__linux__)
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return pthread_setaffinity_np(pthread_self(), sizeof set, &set) == 0;
#else
    (void)cpu;
    return false;
#endif
}

} // namespace

EventLoopMonitor::EventLoopMonitor(QObject* parent) : QObject(parent)
{
    m_timer.setTimerType(Qt::PreciseTimer);
    m_timer.setInterval(kTickMs);
    connect(&m_timer, &QTimer::timeout, this, &EventLoopMonitor::tick);
    m_clock.start();
    std::vector<int> cpus = allowedCpus();
    if (cpus.empty())
        cpus.push_back(-1);
    for (std::size_t i = 0; i < cpus.size(); ++i)
        m_sentinels.emplace_back([this, cpu = cpus[i], i] { watch(cpu, i == 0); });
}

EventLoopMonitor::~EventLoopMonitor()
{
    m_stopSentinel = true;
    for (std::thread& t : m_sentinels)
        t.join();
#if defined(__linux__)
    if (m_schedstat >= 0)
        close(m_schedstat);
#endif
}

/// Where the thread `tid` of this process is now: its state letter and the kernel function it
/// sleeps in ("S ep_poll", "D io_schedule", "S futex_wait_queue"; empty where /proc does not say).
static QString threadWhere(qint64 tid)
{
    QString where;
    QFile stat(QStringLiteral("/proc/self/task/%1/stat").arg(tid));
    if (stat.open(QIODevice::ReadOnly)) {
        const QByteArray text = stat.readAll();
        const qsizetype close = text.lastIndexOf(')'); // the name may hold spaces and parentheses
        if (close >= 0 && close + 2 < text.size())
            where = QString::fromLatin1(text.mid(close + 2, 1));
    }
    QFile wchan(QStringLiteral("/proc/self/task/%1/wchan").arg(tid));
    if (wchan.open(QIODevice::ReadOnly))
        where += u' ' + QString::fromLatin1(wchan.readAll().trimmed());
    return where.trimmed();
}

void EventLoopMonitor::watch(int cpu, bool samples)
{
    if (cpu >= 0 && !pinTo(cpu))
        cpu = -1; // unpinned, it speaks for every CPU
    // Both clocks are CLOCK_MONOTONIC: the sentinel's times are m_clock's, up to the few µs between
    // the two starts.
    const auto origin = std::chrono::steady_clock::now() - std::chrono::nanoseconds(m_clock.nsecsElapsed());
    auto due = std::chrono::steady_clock::now();
    // Its own run delay tells a wake late because others held its CPU from one late because the CPU
    // itself did not run (frozen).
    const int schedstat = openOwnSchedstat();
    qint64 waited = runDelayFromFd(schedstat);
    while (!m_stopSentinel) {
        due += std::chrono::milliseconds(kTickMs);
        std::this_thread::sleep_until(due);
        const auto now = std::chrono::steady_clock::now();
        const double late = std::chrono::duration<double, std::milli>(now - due).count();
        const qint64 waitedNow = runDelayFromFd(schedstat);
        if (late > 1) {
            // Without a schedstat file nothing is known to be frozen.
            const double frozen =
                schedstat >= 0 && cpu >= 0 ? std::max(0.0, late - double(waitedNow - waited) / 1e6) : 0.0;
            const std::lock_guard lock(m_sentinelMutex);
            m_sentinelLate.push_back(
                {std::chrono::duration_cast<std::chrono::nanoseconds>(due - origin).count(), late, frozen,
                 cpu});
        }
        waited = waitedNow;
        due = std::max(due, now);
        // The UI thread silent for over the goal: note where it is (at most every 50 ms of a stall).
        if (samples && m_phaseActive) {
            const qint64 at = m_clock.nsecsElapsed(), last = m_lastTickNs;
            if (at - last > qint64(m_goalMs * 1e6) && at - m_lastSampleNs > 50000000) {
                m_lastSampleNs = at;
                const QString where = threadWhere(m_uiTid);
                const std::lock_guard lock(m_sentinelMutex);
                m_uiSamples.push_back({at, where});
            }
        }
    }
#if defined(__linux__)
    if (schedstat >= 0)
        close(schedstat);
#endif
}

EventLoopMonitor::MachineView EventLoopMonitor::machineView(qint64 from, qint64 to, int a, int b) const
{
    const std::lock_guard lock(m_sentinelMutex);
    MachineView v;
    double frozenA = 0, frozenB = 0;
    for (const Late& l : m_sentinelLate) {
        const qint64 end = l.due + qint64(l.ms * 1e6);
        if (l.due > to || end < from)
            continue;
        if (l.cpu < 0 || a < 0 || b < 0 || l.cpu == a || l.cpu == b)
            v.lateMs = std::max(v.lateMs, l.ms);
        // A frozen stretch counts only as far as the late wake lies inside the stall.
        const double inside = double(std::min(end, to) - std::max(l.due, from)) / 1e6;
        const double frozen = std::min(l.frozenMs, std::max(0.0, inside));
        if (l.cpu >= 0 && l.cpu == a)
            frozenA += frozen;
        if (l.cpu >= 0 && l.cpu == b && b != a)
            frozenB += frozen;
    }
    v.frozenMs = std::max(frozenA, frozenB);
    return v;
}

int EventLoopMonitor::openOwnSchedstat()
{
#if defined(__linux__)
    const QByteArray path =
        QStringLiteral("/proc/self/task/%1/schedstat").arg(qint64(syscall(SYS_gettid))).toLocal8Bit();
    return open(path.constData(), O_RDONLY | O_CLOEXEC);
#else
    return -1;
#endif
}

qint64 EventLoopMonitor::runDelayFromFd(int fd)
{
#if defined(__linux__)
    if (fd < 0)
        return 0;
    char text[96];
    const ssize_t n = pread(fd, text, sizeof text - 1, 0);
    if (n <= 0)
        return 0;
    text[n] = 0;
    unsigned long long onCpu = 0, waiting = 0;
    if (std::sscanf(text, "%llu %llu", &onCpu, &waiting) != 2)
        return 0;
    return qint64(waiting);
#else
    (void)fd;
    return 0;
#endif
}

qint64 EventLoopMonitor::runDelayNs() const
{
#if defined(__linux__)
    // The second field of /proc/<pid>/task/<tid>/schedstat: ns spent runnable on a run queue.
    // Opened once by the thread that ticks (the monitor's thread), then re-read in place.
    if (m_schedstat == -1) {
        m_schedstat = openOwnSchedstat();
        if (m_schedstat < 0)
            m_schedstat = -2; // not there: do not try again
    }
    return runDelayFromFd(m_schedstat);
#else
    return 0;
#endif
}

void EventLoopMonitor::begin(const QString& name)
{
    end();
    m_name = name;
    m_stalls.clear();
    m_overGoal.clear();
    m_marks = {};
    m_phaseStart = m_last = m_clock.nsecsElapsed();
    m_lastSnapshot = snapshot();
#if defined(__linux__)
    m_uiTid = qint64(syscall(SYS_gettid));
#endif
    m_lastTickNs = m_last;
    m_phaseActive = true;
    m_worst = 0;
    m_worstAt = 0;
    m_timer.start();
}

void EventLoopMonitor::tick()
{
    const qint64 now = m_clock.nsecsElapsed();
    const double late = std::max(0.0, double(now - m_last) / 1e6 - kTickMs);
    if (m_stalls.empty() || late > m_worst) {
        m_worst = late;
        m_worstAt = now - m_phaseStart;
    }
    m_stalls.push_back(late);
    const ThreadSnapshot t = snapshot(), &p = m_lastSnapshot;
    if (late > m_goalMs)
        m_overGoal.push_back({m_last + qint64(kTickMs) * 1000000, now, late, double(t.cpuNs - p.cpuNs) / 1e6,
                              double(t.waitNs - p.waitNs) / 1e6, p.on, t.on, t.faults - p.faults,
                              t.sleeps - p.sleeps});
    m_last = now;
    m_lastTickNs = now;
    m_lastSnapshot = t;
}

EventLoopMonitor::ThreadSnapshot EventLoopMonitor::snapshot() const
{
    const auto [faults, sleeps] = threadFaultsAndSleeps();
    return {threadCpuNs(), runDelayNs(), currentCpu(), faults, sleeps};
}

void EventLoopMonitor::end()
{
    if (m_name.isEmpty())
        return;
    m_timer.stop();
    tick(); // the time since the last tick counts too (a phase that ends in a stall)
    m_phaseActive = false;
    std::vector<double> sorted = m_stalls;
    std::sort(sorted.begin(), sorted.end());
    const double p99 = sorted[std::min(sorted.size() - 1, std::size_t(double(sorted.size()) * 0.99))];
    auto round2 = [](double v) { return std::round(v * 100) / 100; };
    QJsonArray overGoal;
    qint64 windowOnly = 0;
    for (const Stall& s : m_overGoal) {
        // The machine held the UI thread off a CPU while it waited on the run queue and while its CPU
        // did not run at all (the kernel may charge that to the thread as CPU time: a virtual CPU
        // descheduled by the host); a sentinel late on its CPU shows the same from outside, and the
        // two overlap. The rest, the thread running or blocked, is the window's own.
        const MachineView m = machineView(s.from, s.to, s.cpuFrom, s.cpuTo);
        const double machine = m.lateMs;
        const double own = std::max(0.0, s.ms - std::max(machine, s.waitMs + m.frozenMs));
        if (own > m_goalMs)
            ++windowOnly;
        QJsonArray where; // the samples taken during the stall, in order
        {
            const std::lock_guard lock(m_sentinelMutex);
            for (const UiSample& u : m_uiSamples)
                if (u.at >= s.from && u.at <= s.to)
                    where.append(u.where);
        }
        if (overGoal.size() < 20)
            overGoal.append(QJsonObject{{QStringLiteral("at_s"), round2(double(s.to - m_phaseStart) / 1e9)},
                                        {QStringLiteral("ui_thread_in"), where},
                                        {QStringLiteral("ms"), round2(s.ms)},
                                        {QStringLiteral("machine_ms"), round2(machine)},
                                        {QStringLiteral("wait_ms"), round2(s.waitMs)},
                                        {QStringLiteral("cpu_ms"), round2(s.cpuMs)},
                                        {QStringLiteral("frozen_ms"), round2(m.frozenMs)},
                                        {QStringLiteral("own_ms"), round2(own)},
                                        {QStringLiteral("major_faults"), s.majorFaults},
                                        {QStringLiteral("sleeps"), s.sleeps},
                                        {QStringLiteral("cpus"), QJsonArray{s.cpuFrom, s.cpuTo}}});
    }
    double machineMax = 0;
    qint64 machineOver = 0;
    {
        const std::lock_guard lock(m_sentinelMutex);
        for (const Late& l : m_sentinelLate) {
            if (l.due < m_phaseStart || l.due > m_last)
                continue;
            machineMax = std::max(machineMax, l.ms);
            machineOver += l.ms > m_goalMs;
        }
        m_uiSamples.clear();
        m_sentinelLate.clear();
    }
    m_phases.append(QJsonObject{
        {QStringLiteral("phase"), m_name},
        {QStringLiteral("seconds"), round2(double(m_last - m_phaseStart) / 1e9)},
        {QStringLiteral("ticks"), qint64(sorted.size())},
        {QStringLiteral("max_stall_ms"), round2(sorted.back())},
        {QStringLiteral("p99_stall_ms"), round2(p99)},
        {QStringLiteral("stalls_over_goal"), qint64(m_overGoal.size())},
        {QStringLiteral("worst_at_s"), round2(double(m_worstAt) / 1e9)},
        {QStringLiteral("machine_max_stall_ms"), round2(machineMax)},
        {QStringLiteral("machine_stalls_over_goal"), machineOver},
        {QStringLiteral("window_stalls_over_goal"), windowOnly},
        {QStringLiteral("over_goal"), overGoal},
        {QStringLiteral("marks"), m_marks},
    });
    m_name.clear();
}

double EventLoopMonitor::maxStallMs() const
{
    double worst = 0;
    for (const QJsonValue& p : m_phases)
        worst = std::max(worst, p.toObject().value(QStringLiteral("max_stall_ms")).toDouble());
    return worst;
}

void EventLoopMonitor::mark(const QString& what)
{
    if (!m_name.isEmpty())
        m_marks.append(QJsonObject{
            {QStringLiteral("at_s"), std::round(double(m_clock.nsecsElapsed() - m_phaseStart) / 1e7) / 100},
            {QStringLiteral("what"), what}});
}

qint64 EventLoopMonitor::windowStallsOverGoal() const
{
    qint64 n = 0;
    for (const QJsonValue& p : m_phases)
        n += p.toObject().value(QStringLiteral("window_stalls_over_goal")).toInteger();
    return n;
}

GuiBench::GuiBench(MainWindow* window, Options options, QObject* parent)
    : QObject(parent), m_window(window), m_options(std::move(options))
{
    m_exportFile =
        QDir(QFileInfo(m_options.output).absolutePath())
            .filePath(QFileInfo(m_options.output).completeBaseName() + QStringLiteral("-plan.gguf"));
    m_monitor.setGoalMs(m_options.goalMs);
}

void GuiBench::start()
{
    m_total.start();
    // A baseline: what the timer shows with nothing going on (scheduler noise on a shared machine).
    m_monitor.begin(QStringLiteral("idle"));
    QTimer::singleShot(1000, this, [this] {
        connect(m_window, &MainWindow::modelLoaded, this, &GuiBench::loaded, Qt::SingleShotConnection);
        connect(m_window, &MainWindow::modelLoadFailed, this, &GuiBench::fail, Qt::SingleShotConnection);
        m_monitor.begin(QStringLiteral("load"));
        m_window->openModel(m_options.model);
    });
}

void GuiBench::loaded()
{
    const Model& model = *m_window->model();
    m_notes.insert(QStringLiteral("parameters"), double(model.totals().params));
    m_notes.insert(QStringLiteral("linear_layers"), model.totals().linearLayers);
    // Settle for a second on the start page, whose weight profile runs in the background.
    m_monitor.begin(QStringLiteral("start page"));
    QTimer::singleShot(1000, this, [this] {
        if (auto* chunks = m_window->runsPanel()->findChild<QSpinBox*>(QStringLiteral("runChunks")))
            chunks->setValue(m_options.chunks);
        RunsPanel* runs = m_window->runsPanel();
        connect(runs, &RunsPanel::runFinished, this, [this, runs](bool ok, const QString& message) {
            m_monitor.mark(tr("a run finished (%n left)", nullptr, runs->pendingJobs()));
            if (!ok)
                return fail(tr("a run failed: %1").arg(message));
            if (runs->pendingJobs() == 0)
                runsEnded();
        });
        m_monitor.begin(QStringLiteral("runs (RTN, GPTQ, Q4_K)"));
        m_window->compareMethods();
        if (runs->pendingJobs() == 0)
            fail(tr("the runs were not started (see the Runs page)"));
    });
}

void GuiBench::runsEnded()
{
    disconnect(m_window->runsPanel(), &RunsPanel::runFinished, this, nullptr);
    MixedPrecisionPanel* mixed = m_window->mixedPrecisionPanel();
    m_window->showPage(QStringLiteral("mixed"));
    if (auto* chunks = mixed->findChild<QSpinBox*>(QStringLiteral("sweepChunks")))
        chunks->setValue(m_options.chunks);
    connect(mixed, &MixedPrecisionPanel::sweepFinished, this, &GuiBench::sweepEnded,
            Qt::SingleShotConnection);
    m_monitor.begin(QStringLiteral("sensitivity sweep"));
    mixed->startSweep();
}

void GuiBench::sweepEnded(bool ok, const QString& message)
{
    if (!ok)
        return fail(tr("the sweep failed: %1").arg(message));
    m_monitor.begin(QStringLiteral("apply + export GGUF"));
    m_window->mixedPrecisionPanel()->applyProposal();
    QAction* exportGguf = m_window->findChild<QAction*>(QStringLiteral("actionExportGguf"));
    if (exportGguf && !exportGguf->isEnabled())
        return fail(tr("Export GGUF is not offered: %1").arg(exportGguf->toolTip()));
    connect(m_window->planExporter(), &PlanExporter::finished, this, &GuiBench::exportEnded,
            Qt::SingleShotConnection);
    m_window->planExporter()->exportGguf(m_exportFile);
}

void GuiBench::exportEnded(bool ok, const QString& message)
{
    if (!ok)
        return fail(tr("the export failed: %1").arg(message));
    m_notes.insert(QStringLiteral("exported_bytes"), double(QFileInfo(m_exportFile).size()));
    visitPages(); // the file is removed once measuring has ended: deleting it is not the app's work
}

void GuiBench::visitPages()
{
    // Every page once, with the runs, the sweep and the plan in place: what a repaint costs.
    m_monitor.begin(QStringLiteral("page visits"));
    auto next = std::make_shared<std::function<void(int)>>();
    *next = [this, next](int i) {
        QTabWidget* tabs = m_window->tabs();
        if (i >= tabs->count())
            return finish(true, QString());
        tabs->setCurrentIndex(i);
        QTimer::singleShot(300, this, [next, i] { (*next)(i + 1); });
    };
    (*next)(0);
}

void GuiBench::fail(const QString& message)
{
    finish(false, message);
}

void GuiBench::finish(bool ok, const QString& message)
{
    if (m_done)
        return;
    m_done = true;
    m_monitor.end();
    QFile::remove(m_exportFile);
    const double worst = m_monitor.maxStallMs();
    QJsonObject out{
        {QStringLiteral("benchmark"), QStringLiteral("gui")},
        {QStringLiteral("model"), QFileInfo(m_options.model).absoluteFilePath()},
        {QStringLiteral("ok"), ok},
        {QStringLiteral("evaluation_chunks"), m_options.chunks},
        {QStringLiteral("threads"), computeThreads()},
        {QStringLiteral("seconds"), std::round(double(m_total.elapsed()) / 10) / 100},
        {QStringLiteral("tick_ms"), kTickMs},
        {QStringLiteral("phases"), m_monitor.phases()},
        {QStringLiteral("max_stall_ms"), worst},
        {QStringLiteral("goal_ms"), m_options.goalMs},
        {QStringLiteral("goal_met"), ok && worst <= m_options.goalMs},
        // The stalls over the goal that the sentinel thread did not share: the window's own.
        {QStringLiteral("window_stalls_over_goal"), m_monitor.windowStallsOverGoal()},
        {QStringLiteral("load_average"), loadAverage()},
        {QStringLiteral("platform"), QGuiApplication::platformName()},
    };
    for (auto it = m_notes.begin(); it != m_notes.end(); ++it)
        out.insert(it.key(), it.value());
    if (!ok)
        out.insert(QStringLiteral("error"), message);
    QString why = message;
    try {
        writeFileAtomically(m_options.output, QJsonDocument(out).toJson());
    } catch (const std::exception& e) {
        ok = false;
        why = QString::fromUtf8(e.what());
    }
    Q_EMIT finished(ok, why);
}

} // namespace qs
