// The compute threads (util/Threads.h): every range runs exactly once on any thread count, the
// thread count is honoured, exceptions come back to the caller, nested and concurrent calls work.

#include "util/Error.h"
#include "util/Threads.h"

#include <QtTest>
#include <atomic>
#include <cerrno>
#include <mutex>
#include <set>
#include <thread>
#include <vector>
#if defined(__linux__)
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

using namespace qs;

class TestThreads : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void cleanup() { setComputeThreads(0); }

    void everyTileOnce_data()
    {
        QTest::addColumn<int>("threads");
        QTest::addColumn<qint64>("rows");
        QTest::addColumn<qint64>("tile");
        for (int t : {1, 2, 3, 5})
            for (qint64 rows : {1, 63, 64, 65, 1000, 4097})
                QTest::addRow("t%d rows%lld", t, rows) << t << rows << qint64(64);
        QTest::addRow("tile 1") << 4 << qint64(777) << qint64(1);
    }
    void everyTileOnce()
    {
        QFETCH(int, threads);
        QFETCH(qint64, rows);
        QFETCH(qint64, tile);
        setComputeThreads(threads);
        QCOMPARE(computeThreads(), threads);
        for (int round = 0; round < 50; ++round) { // many jobs back to back: generations must not mix
            std::vector<std::atomic<int>> hits(static_cast<std::size_t>(rows));
            forEachRowTile(rows, tile, true, [&](std::int64_t first, std::int64_t count) {
                QVERIFY(first % tile == 0);
                QVERIFY(count == std::min<std::int64_t>(tile, rows - first));
                for (std::int64_t r = first; r < first + count; ++r)
                    hits[std::size_t(r)].fetch_add(1);
            });
            for (std::size_t r = 0; r < hits.size(); ++r)
                QCOMPARE(hits[r].load(), 1);
        }
    }

    /// Tiny jobs back to back: a worker finishing job g−1 meets job g's tickets. It once took one
    /// and dropped it (the caller then waited forever); now every job completes with each range once.
    void manySmallJobsBackToBack()
    {
        setComputeThreads(3);
        for (int round = 0; round < 500000; ++round) {
            std::atomic<int> hits{0};
            forEachRowTile(16, 1, true, [&](std::int64_t, std::int64_t) { hits.fetch_add(1); });
            if (hits.load() != 16)
                QFAIL(qPrintable(QStringLiteral("round %1: %2 ranges ran").arg(round).arg(hits.load())));
        }
    }

    void rowRangesCoverRows()
    {
        setComputeThreads(2);
        for (std::int64_t valuesPerRow : {1, 100, 4096, 1 << 20}) {
            const std::int64_t rows = 3001;
            std::vector<std::atomic<int>> hits(static_cast<std::size_t>(rows));
            forEachRowRange(rows, valuesPerRow, [&](std::int64_t first, std::int64_t count) {
                for (std::int64_t r = first; r < first + count; ++r)
                    hits[std::size_t(r)].fetch_add(1);
            });
            for (auto& h : hits)
                QCOMPARE(h.load(), 1);
        }
    }

    /// No more distinct threads than asked for, also after the count was higher before.
    void threadCountHonoured()
    {
        for (int threads : {4, 2, 1, 3}) {
            setComputeThreads(threads);
            std::mutex lock;
            std::set<std::thread::id> ids;
            for (int round = 0; round < 20; ++round) {
                forEachRowTile(256, 1, true, [&](std::int64_t, std::int64_t) {
                    volatile double s = 0; // a little work so that workers get a chance to join
                    for (int i = 0; i < 2000; ++i)
                        s = s + i;
                    std::lock_guard<std::mutex> g(lock);
                    ids.insert(std::this_thread::get_id());
                });
            }
            QVERIFY2(int(ids.size()) <= threads,
                     qPrintable(QStringLiteral("%1 threads ran with %2 asked").arg(ids.size()).arg(threads)));
            QVERIFY(ids.count(std::this_thread::get_id()) == 1); // the caller takes part
        }
    }

    void exceptionReachesCaller()
    {
        setComputeThreads(3);
        std::atomic<int> ran{0};
        try {
            forEachRowTile(1000, 1, true, [&](std::int64_t r, std::int64_t) {
                ran.fetch_add(1);
                if (r == 10)
                    throw Error(QStringLiteral("range 10 failed"));
            });
            QFAIL("no exception");
        } catch (const Error& e) {
            QCOMPARE(e.message(), QStringLiteral("range 10 failed"));
        }
        QVERIFY(ran.load() >= 1 && ran.load() <= 1000);
        // The pool works normally afterwards.
        std::atomic<std::int64_t> sum{0};
        forEachRowTile(1000, 1, true, [&](std::int64_t r, std::int64_t) { sum.fetch_add(r); });
        QCOMPARE(sum.load(), std::int64_t(999 * 1000 / 2));
    }

    void nestedCallsRunInline()
    {
        setComputeThreads(2);
        std::vector<std::atomic<int>> hits(64 * 64);
        forEachRowTile(64, 1, true, [&](std::int64_t outer, std::int64_t) {
            const std::thread::id self = std::this_thread::get_id();
            forEachRowTile(64, 1, true, [&](std::int64_t inner, std::int64_t) {
                QVERIFY(std::this_thread::get_id() == self); // nested: on the same thread
                hits[std::size_t(outer * 64 + inner)].fetch_add(1);
            });
        });
        for (auto& h : hits)
            QCOMPARE(h.load(), 1);
    }

    /// Two threads calling at once (two jobs of the GUI, say): both complete, each range once.
    void concurrentCallers()
    {
        setComputeThreads(2);
        constexpr std::int64_t kRows = 5000;
        std::vector<std::atomic<int>> a(kRows), b(kRows);
        const auto fill = [](std::vector<std::atomic<int>>& hits) {
            for (int round = 0; round < 30; ++round)
                forEachRowTile(kRows, 7, true, [&](std::int64_t first, std::int64_t count) {
                    for (std::int64_t r = first; r < first + count; ++r)
                        hits[std::size_t(r)].fetch_add(1);
                });
        };
        std::thread other([&] { fill(b); });
        fill(a);
        other.join();
        for (std::int64_t r = 0; r < kRows; ++r) {
            QCOMPARE(a[std::size_t(r)].load(), 30);
            QCOMPARE(b[std::size_t(r)].load(), 30);
        }
    }

    void backgroundNice()
    {
#if defined(__linux__)
        const auto niceOf = [] {
            errno = 0;
            const int n = getpriority(PRIO_PROCESS, id_t(syscall(SYS_gettid)));
            return errno == 0 ? n : -100;
        };
        const int mine = niceOf();
        if (mine > 15)
            QSKIP("this test runs at nice > 15: no room to lower a thread's priority");
        lowerThreadPriority(); // nothing set: no change
        QCOMPARE(niceOf(), mine);
        setBackgroundNice(mine + 4);
        int other = -100;
        std::thread t([&] {
            lowerThreadPriority();
            lowerThreadPriority(); // once is enough; the second changes nothing
            other = niceOf();
        });
        t.join();
        setBackgroundNice(0);
        QCOMPARE(other, mine + 4);
        QCOMPARE(niceOf(), mine); // only the thread that asked
#else
        QSKIP("per-thread niceness is Linux's");
#endif
    }
};

QTEST_GUILESS_MAIN(TestThreads)
#include "tst_threads.moc"
