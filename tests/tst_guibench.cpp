// The event-loop stall benchmark (quantscope --bench-gui, quantscope-cli bench gui): the monitor
// sees a blocked UI thread and places the stall in its phase; the scenario drives the real window
// through load, runs, sweep, export and the pages on the demo model and writes every phase. No
// timing is asserted beyond the deliberate block (the machine is shared).
#include "GuiBench.h"
#include "MainWindow.h"
#include "RunsPanel.h"
#include "TestSupport.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QSettings>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <QThread>
#include <atomic>
#include <chrono>
#include <ctime>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace qs;

class TestGuiBench : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void initTestCase()
    {
        QCoreApplication::setOrganizationName(QStringLiteral("QuantScopeTest"));
        QSettings().clear();
    }

    void monitorSeesABlockedLoop()
    {
        EventLoopMonitor monitor;
        monitor.begin(QStringLiteral("calm"));
        QTest::qWait(200);
        monitor.begin(QStringLiteral("blocked"));
        QTimer::singleShot(100, this, [] { QThread::msleep(150); });
        QTest::qWait(400);
        monitor.end();
        QCOMPARE(monitor.phases().size(), 2);
        const QJsonObject calm = monitor.phases()[0].toObject();
        const QJsonObject blocked = monitor.phases()[1].toObject();
        QCOMPARE(calm.value(QStringLiteral("phase")).toString(), QStringLiteral("calm"));
        QVERIFY(calm.value(QStringLiteral("ticks")).toInt() > 10);
        QCOMPARE(blocked.value(QStringLiteral("phase")).toString(), QStringLiteral("blocked"));
        const double stall = blocked.value(QStringLiteral("max_stall_ms")).toDouble();
        QVERIFY2(stall >= 145, qPrintable(QString::number(stall)));
        QVERIFY(blocked.value(QStringLiteral("stalls_over_goal")).toInt() >= 1);
        QCOMPARE(calm.value(QStringLiteral("stalls_over_goal")).toInt(), 0);
        // The stall began at 100 ms into the phase and was seen when the timer ran again.
        const double at = blocked.value(QStringLiteral("worst_at_s")).toDouble();
        QVERIFY2(at >= 0.24 && at <= 0.4, qPrintable(QString::number(at)));
        QCOMPARE(monitor.maxStallMs(),
                 std::max(stall, calm.value(QStringLiteral("max_stall_ms")).toDouble()));
        // Only the UI thread was blocked: the sentinel thread woke on time, so the stall is the window's.
        QVERIFY(blocked.value(QStringLiteral("window_stalls_over_goal")).toInt() >= 1);
        const QJsonArray over = blocked.value(QStringLiteral("over_goal")).toArray();
        QVERIFY(!over.isEmpty());
        const QJsonObject worst = over.last().toObject();
        QVERIFY2(worst.value(QStringLiteral("ms")).toDouble() >= 145,
                 QJsonDocument(worst).toJson().constData());
        QVERIFY2(worst.value(QStringLiteral("machine_ms")).toDouble() < 50,
                 QJsonDocument(worst).toJson().constData());
        // A sentinel looked at the silent UI thread: asleep (state S; msleep's kernel wait channel
        // where /proc names it), not running.
        const QJsonArray where = worst.value(QStringLiteral("ui_thread_in")).toArray();
        qInfo("the blocked UI thread was in: %s",
              QJsonDocument(where).toJson(QJsonDocument::Compact).constData());
        QVERIFY2(!where.isEmpty() && where[0].toString().startsWith(u'S'),
                 QJsonDocument(worst).toJson().constData());
        QCOMPARE(monitor.windowStallsOverGoal(),
                 blocked.value(QStringLiteral("window_stalls_over_goal")).toInteger());
    }

    void monitorChargesAComputingWindowToTheWindow()
    {
        // The UI thread computes for 300 ms of its own CPU time: the sentinel on its CPU gets the CPU
        // whenever it wakes (the scheduler preempts the computing thread for it), so the computing is
        // not mistaken for a frozen CPU and the stall is the window's, however long the machine also
        // kept the thread waiting. (A frozen virtual CPU may be charged as CPU time: even then at least
        // 200 ms of it is computing.)
        EventLoopMonitor monitor;
        monitor.begin(QStringLiteral("computing"));
        QTimer::singleShot(100, this, [] {
            auto cpuNs = [] {
                timespec t{};
                clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
                return qint64(t.tv_sec) * 1000000000 + t.tv_nsec;
            };
            const qint64 until = cpuNs() + 300000000;
            while (cpuNs() < until) {
            }
        });
        QTest::qWait(600);
        monitor.end();
        const QJsonObject phase = monitor.phases()[0].toObject();
        const QByteArray json = QJsonDocument(phase).toJson();
        QVERIFY2(phase.value(QStringLiteral("window_stalls_over_goal")).toInt() >= 1, json.constData());
        QJsonObject worst;
        for (const QJsonValue& v : phase.value(QStringLiteral("over_goal")).toArray())
            if (v.toObject().value(QStringLiteral("ms")).toDouble() >
                worst.value(QStringLiteral("ms")).toDouble())
                worst = v.toObject();
        QVERIFY2(worst.value(QStringLiteral("cpu_ms")).toDouble() >= 290, json.constData());
        QVERIFY2(worst.value(QStringLiteral("own_ms")).toDouble() >= 150, json.constData());
    }

    void monitorTellsTheMachinesStallFromTheWindows()
    {
        // The whole process stopped for 200 ms (SIGSTOP from outside, as a busy machine or the
        // hypervisor would hold it): the sentinel thread stalls with the UI thread, so the stall
        // is counted over the goal but not as the window's.
        // The helper starts before the phase: forking this process can itself hold the UI thread for
        // tens of milliseconds on a loaded machine, which would be the window's stall.
        EventLoopMonitor monitor;
        const QString pid = QString::number(QCoreApplication::applicationPid());
        QVERIFY(QProcess::startDetached(
            QStringLiteral("/bin/sh"),
            {QStringLiteral("-c"),
             QStringLiteral("sleep 0.3; kill -STOP %1; sleep 0.2; kill -CONT %1").arg(pid)}));
        monitor.begin(QStringLiteral("stopped"));
        QTest::qWait(1100);
        monitor.end();
        const QJsonObject stopped = monitor.phases()[0].toObject();
        QVERIFY2(stopped.value(QStringLiteral("max_stall_ms")).toDouble() >= 150,
                 QJsonDocument(stopped).toJson().constData());
        QVERIFY2(stopped.value(QStringLiteral("machine_max_stall_ms")).toDouble() >= 150,
                 QJsonDocument(stopped).toJson().constData());
        QVERIFY(stopped.value(QStringLiteral("machine_stalls_over_goal")).toInt() >= 1);
        QVERIFY2(stopped.value(QStringLiteral("window_stalls_over_goal")).toInt() == 0,
                 QJsonDocument(stopped).toJson().constData());
        QCOMPARE(monitor.windowStallsOverGoal(), 0);
    }

    void monitorChargesAThreadWaitingForACpuToTheMachine()
    {
        // A monitor ticking on a thread of the lowest priority (SCHED_IDLE, else nice 19) while
        // twice as many threads as this process has CPUs spin at normal priority: its ticks come
        // late because it waits for a CPU, not because it works or blocks. Such stalls are the
        // machine's: the thread's scheduler statistics show the wait. Nothing is pinned, so the
        // test holds where a sandbox refuses or ignores CPU affinity.
        cpu_set_t allowed;
        CPU_ZERO(&allowed);
        QCOMPARE(sched_getaffinity(0, sizeof allowed, &allowed), 0);
        const int cpus = CPU_COUNT(&allowed);
        QVERIFY(cpus >= 1);
        // The hogs take normal priority even where the test itself was started at a lower one (a
        // harness under `chrt -i` or `nice`) if they may; the test needs them well above the ticker.
        std::atomic<bool> spin{true};
        std::atomic<bool> hogIdle{false};
        std::atomic<int> hogNice{-20};
        std::vector<std::thread> hogs;
        for (int i = 0; i < 2 * cpus; ++i)
            hogs.emplace_back([&] {
                const sched_param normal{};
                const auto tid = id_t(syscall(SYS_gettid));
                if (sched_getscheduler(0) == SCHED_IDLE)
                    sched_setscheduler(0, SCHED_OTHER, &normal);
                if (getpriority(PRIO_PROCESS, tid) > 0)
                    setpriority(PRIO_PROCESS, tid, 0);
                if (sched_getscheduler(0) == SCHED_IDLE)
                    hogIdle = true;
                for (int n = getpriority(PRIO_PROCESS, tid), m = hogNice;
                     n > m && !hogNice.compare_exchange_weak(m, n);) {
                }
                while (spin.load(std::memory_order_relaxed)) {
                }
            });
        QJsonArray phases;
        qint64 windowStalls = -1;
        QString priority;
        int tickerNice = 0; // 20: SCHED_IDLE
        QThread* ticker = QThread::create([&] {
            sched_param none{};
            if (sched_setscheduler(0, SCHED_IDLE, &none) == 0) {
                priority = QStringLiteral("SCHED_IDLE");
                tickerNice = 20;
            } else {
                const auto tid = id_t(syscall(SYS_gettid));
                setpriority(PRIO_PROCESS, tid, 19);
                tickerNice = getpriority(PRIO_PROCESS, tid);
                priority = QStringLiteral("nice %1").arg(tickerNice);
            }
            EventLoopMonitor monitor;
            monitor.setGoalMs(10);
            monitor.begin(QStringLiteral("starved"));
            QEventLoop loop;
            QTimer::singleShot(1500, &loop, &QEventLoop::quit);
            loop.exec();
            monitor.end();
            phases = monitor.phases();
            windowStalls = monitor.windowStallsOverGoal();
        });
        ticker->start();
        QVERIFY(ticker->wait(60000));
        delete ticker;
        spin = false;
        for (std::thread& h : hogs)
            h.join();
        // A SCHED_IDLE thread waits behind any other; a niced one needs the hogs ten nice levels
        // (about a factor of ten in CPU share) above it.
        if (hogIdle || (tickerNice < 20 && hogNice + 10 > tickerNice))
            QSKIP("the spinning threads cannot rank well above the ticker here (the test runs at a low "
                  "priority and may not raise it)");
        QCOMPARE(phases.size(), 1);
        const QJsonObject starved = phases[0].toObject();
        const QByteArray json = QStringLiteral("%1 hogs on %2 CPUs, ticker at %3: ")
                                    .arg(2 * cpus)
                                    .arg(cpus)
                                    .arg(priority)
                                    .toUtf8() +
                                QJsonDocument(starved).toJson();
        QVERIFY2(starved.value(QStringLiteral("stalls_over_goal")).toInt() >= 1, json.constData());
        // The kernel's run-delay statistic misses a few of the waits (wait_ms exactly 0 for about
        // 1 stall in 20 on Linux 6.18); the sentinel pinned to the CPU usually covers those.
        const QJsonArray over = starved.value(QStringLiteral("over_goal")).toArray();
        qsizetype waited = 0;
        for (const QJsonValue& v : over) {
            const QJsonObject s = v.toObject();
            waited +=
                s.value(QStringLiteral("wait_ms")).toDouble() >= s.value(QStringLiteral("ms")).toDouble() / 2;
        }
        QVERIFY2(waited * 4 >= over.size() * 3, json.constData());
        const qint64 stalls = starved.value(QStringLiteral("stalls_over_goal")).toInteger();
        QVERIFY2(windowStalls * 10 <= stalls, json.constData());
    }

    void scenarioRunsEveryPhase()
    {
        QS_REQUIRE_DATA(path, "stories260K");
        QTemporaryDir tmp;
        MainWindow w;
        w.resize(1400, 950);
        w.show();
        GuiBench::Options o;
        o.model = path;
        o.output = tmp.filePath(QStringLiteral("gui.json"));
        o.chunks = 1;
        GuiBench bench(&w, o);
        QSignalSpy done(&bench, &GuiBench::finished);
        bench.start();
        QVERIFY(done.wait(600000));
        QVERIFY2(done.front().front().toBool(), qPrintable(done.front().at(1).toString()));
        QFile f(o.output);
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QJsonObject r = QJsonDocument::fromJson(f.readAll()).object();
        QVERIFY(r.value(QStringLiteral("ok")).toBool());
        QStringList names;
        for (const QJsonValue& p : r.value(QStringLiteral("phases")).toArray()) {
            names << p.toObject().value(QStringLiteral("phase")).toString();
            QVERIFY(p.toObject().value(QStringLiteral("ticks")).toInt() > 0);
            QVERIFY(p.toObject().value(QStringLiteral("max_stall_ms")).toDouble() >= 0);
        }
        QCOMPARE(names,
                 (QStringList{QStringLiteral("idle"), QStringLiteral("load"), QStringLiteral("start page"),
                              QStringLiteral("runs (RTN, GPTQ, Q4_K)"), QStringLiteral("sensitivity sweep"),
                              QStringLiteral("apply + export GGUF"), QStringLiteral("page visits")}));
        // The three runs finished and the plan was exported (the file is removed afterwards).
        QCOMPARE(w.runsPanel()->pendingJobs(), 0);
        QVERIFY(r.value(QStringLiteral("exported_bytes")).toDouble() > 100000);
        QVERIFY(!QFile::exists(tmp.filePath(QStringLiteral("gui-plan.gguf"))));
        QCOMPARE(r.value(QStringLiteral("max_stall_ms")).toDouble(), [&] {
            double worst = 0;
            for (const QJsonValue& p : r.value(QStringLiteral("phases")).toArray())
                worst = std::max(worst, p.toObject().value(QStringLiteral("max_stall_ms")).toDouble());
            return worst;
        }());
    }

    void refusesAModelThatDoesNotOpen()
    {
        QTemporaryDir tmp;
        MainWindow w;
        GuiBench::Options o;
        o.model = tmp.filePath(QStringLiteral("missing"));
        o.output = tmp.filePath(QStringLiteral("gui.json"));
        GuiBench bench(&w, o);
        QSignalSpy done(&bench, &GuiBench::finished);
        bench.start();
        QVERIFY(done.wait(60000));
        QVERIFY(!done.front().front().toBool());
        QFile f(o.output);
        QVERIFY(f.open(QIODevice::ReadOnly)); // the figures so far, with the error
        const QJsonObject r = QJsonDocument::fromJson(f.readAll()).object();
        QVERIFY(!r.value(QStringLiteral("ok")).toBool());
        QVERIFY2(r.value(QStringLiteral("error")).toString().contains(QStringLiteral("missing")),
                 qPrintable(r.value(QStringLiteral("error")).toString()));
    }
};

QTEST_MAIN(TestGuiBench)
#include "tst_guibench.moc"
