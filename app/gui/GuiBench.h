#pragma once

#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonObject>
#include <QObject>
#include <QString>
#include <QTimer>
#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

namespace qs {

class MainWindow;

/// Measures how long the UI thread goes without answering: a 1 ms precise timer on the UI thread
/// notes the time between its ticks; a gap is how late a tick came (time since the previous tick
/// minus the interval), which is what a user's click or a repaint would have waited at that moment.
/// Gaps are kept per phase (begin/end), so a benchmark can say which job stalled the window.
///
/// What held a stall up is told apart in two ways. One sentinel thread per CPU, pinned to it, of
/// the same process and priority as the UI thread, sleeps 1 ms at a time and notes how late it
/// wakes: a CPU the hypervisor took away (or a stopped process) makes the sentinel pinned there
/// late too, while the UI thread computing does not (the sentinel preempts it). And the UI thread's
/// own scheduler statistics (/proc schedstat) give the time it spent runnable but waiting for a
/// CPU. The larger of the two is the time the machine held the UI thread off a CPU; the rest of a
/// stall (the thread computing or blocked) is the window's own, and a stall whose own part is over
/// the goal is the window's.
class EventLoopMonitor : public QObject
{
    Q_OBJECT
public:
    explicit EventLoopMonitor(QObject* parent = nullptr);
    ~EventLoopMonitor() override;

    /// Ends the current phase (if any) and starts measuring `name`.
    void begin(const QString& name);
    /// Ends the current phase; its figures are appended to phases().
    void end();
    /// The stall a phase should stay under (default 50 ms): stalls_over_goal counts the ones above.
    void setGoalMs(double ms) { m_goalMs = ms; }
    double goalMs() const { return m_goalMs; }
    /// One object per ended phase: name, seconds, ticks, max_stall_ms, p99_stall_ms,
    /// stalls_over_goal, worst_at_s (seconds into the phase of the longest stall), the sentinels'
    /// machine_max_stall_ms and machine_stalls_over_goal (any CPU), window_stalls_over_goal (the UI
    /// stalls whose own part is over the goal), marks: [{at_s, what}] and over_goal, for each UI
    /// stall over the goal (the first 20): at_s, ms; machine_ms, the lateness of the sentinels on
    /// the CPUs the UI thread was on at the stall's two ends (cpus); wait_ms, its time waiting for
    /// a CPU; cpu_ms, its CPU time; frozen_ms, the time its CPUs did not run at all (MachineView);
    /// own_ms = ms − max(machine_ms, wait_ms + frozen_ms); major_faults and
    /// sleeps, its page faults served from disk and its voluntary context switches (at least one:
    /// the wait for the tick itself), which tell a thread blocked on I/O or a lock from one that
    /// computed; ui_thread_in, where the UI thread was every 50 ms of the stall past the goal (its
    /// state letter and kernel wait channel from /proc, e.g. "D io_schedule", "S futex_wait_queue").
    const QJsonArray& phases() const { return m_phases; }
    /// The longest stall of every ended phase (ms).
    double maxStallMs() const;
    /// The UI stalls, in every ended phase, whose own part was over the goal.
    qint64 windowStallsOverGoal() const;
    /// Notes an event of the current phase (its "marks": at_s and what), to line stalls up with.
    void mark(const QString& what);

private:
    void tick();
    /// A sentinel thread's loop, pinned to `cpu` (-1: not pinned); the one that `samples` also
    /// notes where the UI thread is while it is silent for over the goal (ui_thread_in).
    void watch(int cpu, bool samples);
    /// What the sentinels saw of the machine during [from, to] (ns) on CPU `a` or `b`: the longest
    /// lateness of those pinned there (and of unpinned ones) among their late wakes that overlap it,
    /// and the most time one of those CPUs did not run at all (frozen: a pinned sentinel late without
    /// waiting on its run queue, as when the hypervisor deschedules the virtual CPU), summed over its
    /// late wakes within [from, to].
    struct MachineView
    {
        double lateMs = 0;
        double frozenMs = 0;
    };
    MachineView machineView(qint64 from, qint64 to, int a, int b) const;
    /// The UI thread's time runnable but waiting for a CPU so far (ns; 0 where the kernel does
    /// not say).
    qint64 runDelayNs() const;
    /// The same for the calling thread from its schedstat file `fd` (-1: 0).
    static qint64 runDelayFromFd(int fd);
    /// The calling thread's /proc schedstat file, opened read-only (-1 where it cannot be).
    static int openOwnSchedstat();

    struct Late
    {
        qint64 due = 0;      ///< when the sentinel should have woken (ns on m_clock)
        double ms = 0;       ///< how late it woke
        double frozenMs = 0; ///< of that, the time it was not waiting on its run queue either
        int cpu = -1;        ///< the CPU it is pinned to
    };
    struct Stall
    {
        qint64 from = 0, to = 0; ///< ns on m_clock
        double ms = 0;
        double cpuMs = 0;             ///< the UI thread's CPU time meanwhile: working
        double waitMs = 0;            ///< its time runnable but without a CPU: the machine's load
        int cpuFrom = -1, cpuTo = -1; ///< the CPU it ran on at the last tick before and after
        qint64 majorFaults = 0;       ///< its page faults that read from disk meanwhile
        qint64 sleeps = 0;            ///< its voluntary context switches (blocking, sleeping) meanwhile
    };

    QTimer m_timer;
    QElapsedTimer m_clock;
    QString m_name;
    qint64 m_phaseStart = 0;
    qint64 m_last = 0;
    /// What the UI thread's counters said at one tick; a stall is the difference of two.
    struct ThreadSnapshot
    {
        qint64 cpuNs = 0;  ///< its CPU time
        qint64 waitNs = 0; ///< its run delay
        int on = -1;       ///< the CPU it ran on
        qint64 faults = 0; ///< its major page faults
        qint64 sleeps = 0; ///< its voluntary context switches
    };
    ThreadSnapshot snapshot() const;
    ThreadSnapshot m_lastSnapshot; ///< at m_last
    mutable int m_schedstat = -1;  ///< the UI thread's /proc schedstat (-1: not yet open, -2: absent)
    QJsonArray m_marks;
    double m_goalMs = 50;
    double m_worst = 0; ///< the current phase's longest stall so far (ms)
    qint64 m_worstAt = 0;
    std::vector<double> m_stalls;  ///< ms late, one per tick of the current phase
    std::vector<Stall> m_overGoal; ///< the current phase's stalls over the goal
    QJsonArray m_phases;

    mutable std::mutex m_sentinelMutex;
    std::vector<Late> m_sentinelLate; ///< the sentinels' wakes over 1 ms late (guarded)
    std::atomic<bool> m_stopSentinel{false};
    std::vector<std::thread> m_sentinels;
    struct UiSample
    {
        qint64 at = 0; ///< ns on m_clock
        QString where; ///< state letter and kernel wait channel, e.g. "D io_schedule"
    };
    std::vector<UiSample> m_uiSamples;   ///< guarded by m_sentinelMutex
    std::atomic<qint64> m_uiTid{0};      ///< the UI thread (the one that ticks)
    std::atomic<qint64> m_lastTickNs{0}; ///< its last tick (ns on m_clock)
    std::atomic<bool> m_phaseActive{false};
    qint64 m_lastSampleNs = 0; ///< the sampling sentinel's own
};

/// `quantscope --bench-gui FILE`: drives the real window through what its users do with a model,
/// measuring the event loop's stalls in each phase (EventLoopMonitor): open the model, the start
/// page's "compare RTN, GPTQ and Q4_K" (three queued quantize + evaluate runs), a sensitivity
/// sweep, Apply, Export GGUF of the plan, and a visit of every page. Writes the figures as JSON
/// to FILE and quits; `quantscope-cli bench gui` runs it on kjv7M and a 1B-shaped model.
class GuiBench : public QObject
{
    Q_OBJECT
public:
    struct Options
    {
        QString model;  ///< folder or GGUF file to open
        QString output; ///< JSON file to write
        int chunks = 2; ///< evaluation chunks of the runs and the sweep
        double goalMs = 50;
    };
    GuiBench(MainWindow* window, Options options, QObject* parent = nullptr);

    /// Starts the scenario; finished() when it has ended (the JSON is written by then).
    void start();

Q_SIGNALS:
    void finished(bool ok, const QString& message);

private:
    void loaded();
    void runsEnded();
    void sweepEnded(bool ok, const QString& message);
    void exportEnded(bool ok, const QString& message);
    void visitPages();
    void fail(const QString& message);
    void finish(bool ok, const QString& message);

    MainWindow* m_window;
    Options m_options;
    EventLoopMonitor m_monitor;
    QElapsedTimer m_total;
    QString m_exportFile;
    QJsonObject m_notes;
    bool m_done = false;
};

} // namespace qs
