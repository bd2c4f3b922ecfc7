// The results database (store/ResultsDb, store/RunStore, store/StoreImport) and `quantscope-cli runs`:
// schema and migrations, a newer or damaged file, filters, trash and undo, tags, import, concurrent
// writers (this process and CLI processes at once), a locked database during a quantize run.
#include "TestSupport.h"
#include "store/ResultsDb.h"
#include "store/RunStore.h"
#include "store/StoreImport.h"
#include "util/Error.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QTest>

using namespace qs;

namespace {

SessionRun makeRun(const QString& name, const QString& method, int bits, double bpw, double ppl)
{
    SessionRun r;
    r.summary.name = name;
    r.summary.method = method;
    r.summary.modelPath = QStringLiteral("/models/m");
    r.summary.modelBytes = 1000;
    r.summary.bitsPerWeight = bpw;
    r.summary.ppl = ppl;
    r.summary.pplError = 0.1;
    r.summary.recipeSummary = method.toLower() + QStringLiteral(" w%1").arg(bits);
    r.recipe.defaults.bits = bits;
    return r;
}

ModelIdentity fakeModel(const QString& path)
{
    ModelIdentity m;
    m.path = path;
    m.bytes = 1000;
    m.modified = QDateTime::fromSecsSinceEpoch(1764000000, Qt::UTC);
    return m;
}

QStringList names(const std::vector<StoredRun>& runs)
{
    QStringList n;
    for (const StoredRun& r : runs)
        n << r.run.summary.name;
    return n;
}

QByteArray readFile(const QString& path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

/// Runs SQL on the file through a connection of its own (what another program would do).
void rawSql(const QString& file, const QStringList& statements)
{
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("raw"));
        db.setDatabaseName(file);
        QVERIFY(db.open());
        QSqlQuery q(db);
        for (const QString& s : statements)
            QVERIFY2(q.exec(s), qPrintable(s));
    }
    QSqlDatabase::removeDatabase(QStringLiteral("raw"));
}

/// A run.json as `quantize --out` writes it (no checkpoint beside it).
void writeRunJson(const QString& dir, const QString& name, double ppl)
{
    const QJsonObject run{
        {QStringLiteral("name"), name},
        {QStringLiteral("model"), QStringLiteral("/models/m")},
        {QStringLiteral("recipe_summary"), QStringLiteral("rtn w4 g128")},
        {QStringLiteral("model_bytes"), 1000},
        {QStringLiteral("bpw"), 4.5},
        {QStringLiteral("linear_bpw"), 4.25},
        {QStringLiteral("quantize_seconds"), 1.0},
        {QStringLiteral("eval"),
         QJsonObject{{QStringLiteral("perplexity"),
                      QJsonObject{{QStringLiteral("ppl"), ppl}, {QStringLiteral("ppl_error"), 0.5}}}}}};
    QVERIFY(test::writeFile(QDir(dir).filePath(QStringLiteral("run.json")), QJsonDocument(run).toJson()));
}

} // namespace

class TestResultsDb : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void freshDatabaseHasTheSchema();
    void migratesAnOlderSchemaKeepingItsRuns();
    void newerSchemaIsRefusedAndUntouched();
    void damagedFileIsMovedAsideAndReported_data();
    void damagedFileIsMovedAsideAndReported();
    void filtersTagsTrashAndPurge();
    void runStoreMergesConcurrentWriters();
    void runStoreImportsLegacyFilesOnce();
    void importsRunFoldersAndSweepsOnce();
    void guiAndCliWriteAtTheSameTime();
    void cliRunsCommands();
    void quantizeRecordsAndSurvivesALockedDatabase();
};

void TestResultsDb::freshDatabaseHasTheSchema()
{
    QTemporaryDir dir;
    const QString file = ResultsDb::fileIn(dir.path());
    {
        ResultsDb db(file);
        QCOMPARE(db.schemaVersion(), ResultsDb::kSchemaVersion);
        QVERIFY(db.openWarning().isEmpty());
        QCOMPARE(db.integrityCheck(), QStringLiteral("ok"));
        db.putRun(makeRun(QStringLiteral("a"), QStringLiteral("RTN"), 4, 4.5, 10),
                  fakeModel(QStringLiteral("/m")));
    }
    ResultsDb again(file); // reopening migrates nothing and keeps the run
    QCOMPARE(again.schemaVersion(), ResultsDb::kSchemaVersion);
    QCOMPARE(names(again.runs()), QStringList{QStringLiteral("a")});
    ResultsDb memory; // no file: in memory
    QVERIFY(memory.inMemory());
    QCOMPARE(memory.schemaVersion(), ResultsDb::kSchemaVersion);
}

void TestResultsDb::migratesAnOlderSchemaKeepingItsRuns()
{
    // A database of schema 1 as the first release wrote it, with one run: opening it migrates to
    // the current schema, and the run is there with the new columns' defaults.
    QTemporaryDir dir;
    const QString file = ResultsDb::fileIn(dir.path());
    QString summary;
    {
        ResultsDb seed; // the run's JSON as this build writes it
        SessionRun r = makeRun(QStringLiteral("old run"), QStringLiteral("GPTQ"), 3, 3.5, 12);
        r.summary.id = QStringLiteral("uid-1");
        seed.putRun(r, fakeModel(QStringLiteral("/m")));
        summary =
            QString::fromUtf8(QJsonDocument(seed.runs().front().toJson(true).value(u"summary").toObject())
                                  .toJson(QJsonDocument::Compact));
    }
    rawSql(file,
           {QStringLiteral(
                "CREATE TABLE runs(id INTEGER PRIMARY KEY AUTOINCREMENT, uid TEXT NOT NULL UNIQUE, created "
                "TEXT NOT NULL, name TEXT NOT NULL, model_path TEXT NOT NULL, model_key TEXT NOT NULL, "
                "model_bytes INTEGER, model_modified TEXT, fingerprint TEXT, params INTEGER, method TEXT, "
                "bits INTEGER, bpw REAL, linear_bpw REAL, size_bytes INTEGER, ppl REAL, ppl_error REAL, "
                "delta_ppl REAL, delta_ppl_error REAL, kld REAL, kld_error REAL, top1 REAL, top1_error "
                "REAL, prefill_tps REAL, decode_tps REAL, resident_bytes INTEGER, quantize_seconds REAL, "
                "eval_text TEXT, eval_protocol TEXT, tokenizer TEXT, calibration TEXT, checkpoint TEXT "
                "NOT NULL DEFAULT '', tool_version TEXT, baseline INTEGER NOT NULL DEFAULT 0, shown "
                "INTEGER NOT NULL DEFAULT 1, summary TEXT NOT NULL, recipe TEXT NOT NULL)"),
            QStringLiteral("CREATE INDEX runs_model ON runs(model_key)"),
            QStringLiteral(
                "CREATE TABLE sweeps(id INTEGER PRIMARY KEY AUTOINCREMENT, uid TEXT NOT NULL UNIQUE, "
                "created TEXT NOT NULL, source TEXT, model_path TEXT, fingerprint TEXT, schemes TEXT, "
                "entries INTEGER, base_ppl REAL, tool_version TEXT, result TEXT NOT NULL)"),
            QStringLiteral(
                "INSERT INTO runs(uid, created, name, model_path, model_key, method, bits, bpw, summary, "
                "recipe) VALUES('uid-1', '2026-11-01T10:00:00.000Z', 'old run', '/m', 'k', 'GPTQ', 3, 3.5, "
                "'%1', '{}')")
                .arg(summary),
            QStringLiteral("PRAGMA user_version = 1")});
    ResultsDb db(file);
    QCOMPARE(db.schemaVersion(), 2);
    const auto runs = db.runs();
    QCOMPARE(names(runs), QStringList{QStringLiteral("old run")});
    QCOMPARE(runs.front().checkpointBytes, 0);
    QVERIFY(!runs.front().deleted);
    db.setTags(runs.front().id, {QStringLiteral("from v1")}); // the new table works
    QCOMPARE(db.run(runs.front().id)->tags, QStringList{QStringLiteral("from v1")});
}

void TestResultsDb::newerSchemaIsRefusedAndUntouched()
{
    QTemporaryDir dir;
    const QString file = ResultsDb::fileIn(dir.path());
    {
        ResultsDb db(file);
    }
    rawSql(file, {QStringLiteral("PRAGMA user_version = 7")});
    const QByteArray before = readFile(file);
    const QString error = test::errorOf([&] { ResultsDb db(file); });
    QVERIFY2(test::checkMessage(error, {file, QStringLiteral("newer QuantScope"), QStringLiteral("schema 7")})
                 .isEmpty(),
             qPrintable(error));
    QCOMPARE(readFile(file), before);
    QCOMPARE(QDir(dir.path()).entryList({QStringLiteral("*.corrupt-*")}).size(), 0);
    // The CLI says the same and exits 1.
    const auto r =
        test::runCli({QStringLiteral("runs"), QStringLiteral("list"), QStringLiteral("--runs"), dir.path()});
    QCOMPARE(r.exitCode, 1);
    QVERIFY2(r.err.contains("newer QuantScope"), r.err.constData());
}

void TestResultsDb::damagedFileIsMovedAsideAndReported_data()
{
    QTest::addColumn<int>("kind");
    QTest::newRow("not a database") << 0;
    QTest::newRow("truncated mid-page") << 1;
    QTest::newRow("pages overwritten") << 2;
}

void TestResultsDb::damagedFileIsMovedAsideAndReported()
{
    QFETCH(int, kind);
    QTemporaryDir dir;
    const QString file = ResultsDb::fileIn(dir.path());
    if (kind == 0) {
        QVERIFY(test::writeFile(file, QByteArray("this is not SQLite\n").repeated(300)));
    } else {
        {
            ResultsDb db(file);
            for (int i = 0; i < 60; ++i)
                db.putRun(makeRun(QStringLiteral("run %1").arg(i), QStringLiteral("RTN"), 4, 4.5, 10 + i),
                          fakeModel(QStringLiteral("/m")));
        }
        rawSql(file, {QStringLiteral("PRAGMA wal_checkpoint(TRUNCATE)"),
                      QStringLiteral("PRAGMA journal_mode=DELETE")});
        QFile f(file);
        QVERIFY(f.open(QIODevice::ReadWrite));
        const qint64 size = f.size();
        QVERIFY(size > 16384);
        if (kind == 1) {
            QVERIFY(f.resize(size / 2 + 100));
        } else {
            QVERIFY(f.seek(4096)); // the second page on: b-tree pages become noise
            QVERIFY(f.write(QByteArray(int(size - 8192), '\x5a')) > 0);
        }
    }
    const QByteArray damaged = readFile(file);
    ResultsDb db(file);
    QVERIFY2(db.openWarning().contains(file) && db.openWarning().contains(u"moved aside"),
             qPrintable(db.openWarning()));
    const QStringList backups = QDir(dir.path()).entryList({QStringLiteral("results.sqlite.corrupt-*")});
    QCOMPARE(backups.size(), 1);
    QVERIFY(db.openWarning().contains(backups.front()));
    QCOMPARE(readFile(QDir(dir.path()).filePath(backups.front())), damaged); // kept byte for byte
    QVERIFY(db.runs().empty());
    db.putRun(makeRun(QStringLiteral("new"), QStringLiteral("RTN"), 4, 4.5, 10),
              fakeModel(QStringLiteral("/m")));
    QCOMPARE(db.integrityCheck(), QStringLiteral("ok"));
}

void TestResultsDb::filtersTagsTrashAndPurge()
{
    ResultsDb db;
    const ModelIdentity m1 = fakeModel(QStringLiteral("/models/llama")),
                        m2 = fakeModel(QStringLiteral("/models/qwen"));
    const qint64 a = db.putRun(makeRun(QStringLiteral("rtn4"), QStringLiteral("RTN"), 4, 4.5, 10), m1);
    const qint64 b = db.putRun(makeRun(QStringLiteral("gptq3"), QStringLiteral("GPTQ"), 3, 3.5, 11), m1);
    const qint64 c = db.putRun(makeRun(QStringLiteral("gptq4"), QStringLiteral("GPTQ"), 4, 4.25, 10.5), m2);
    SessionRun base = makeRun(QStringLiteral("float"), QStringLiteral("float"), 8, 32, 9);
    base.summary.isBaseline = true;
    db.putRun(base, m1);
    QCOMPARE(names(db.runs()),
             (QStringList{QStringLiteral("rtn4"), QStringLiteral("gptq3"), QStringLiteral("gptq4")}));
    RunFilter f;
    f.method = QStringLiteral("gptq");
    QCOMPARE(names(db.runs(f)), (QStringList{QStringLiteral("gptq3"), QStringLiteral("gptq4")}));
    f = {};
    f.bits = 4;
    QCOMPARE(names(db.runs(f)), (QStringList{QStringLiteral("rtn4"), QStringLiteral("gptq4")}));
    f = {};
    f.minBpw = 4.0;
    f.maxBpw = 4.4;
    QCOMPARE(names(db.runs(f)), QStringList{QStringLiteral("gptq4")});
    f = {};
    f.model = QStringLiteral("qwen");
    QCOMPARE(names(db.runs(f)), QStringList{QStringLiteral("gptq4")});
    f = {};
    f.modelKey = m1.key();
    f.baselines = true;
    QCOMPARE(names(db.runs(f)),
             (QStringList{QStringLiteral("rtn4"), QStringLiteral("gptq3"), QStringLiteral("float")}));
    QCOMPARE(db.baselineOf(m1.key())->run.summary.name, QStringLiteral("float"));
    QVERIFY(!db.baselineOf(m2.key()));
    f = {};
    f.since = QDateTime::currentDateTimeUtc().addDays(1);
    QVERIFY(db.runs(f).empty());
    f = {};
    f.until = QDateTime::currentDateTimeUtc().addDays(1);
    QCOMPARE(db.runs(f).size(), std::size_t(3));

    // Tags, search, rename (the id stays).
    db.setTags(b, {QStringLiteral("paper"), QStringLiteral("best")});
    f = {};
    f.tag = QStringLiteral("paper");
    QCOMPARE(names(db.runs(f)), QStringList{QStringLiteral("gptq3")});
    f = {};
    f.text = QStringLiteral("BES"); // a tag, any case
    QCOMPARE(names(db.runs(f)), QStringList{QStringLiteral("gptq3")});
    f.text = QStringLiteral("gptq w4"); // the recipe summary
    QCOMPARE(names(db.runs(f)), QStringList{QStringLiteral("gptq4")});
    db.rename(b, QStringLiteral("gptq3 final"));
    QCOMPARE(db.run(b)->run.summary.name, QStringLiteral("gptq3 final"));
    QCOMPARE(db.run(b)->tags, (QStringList{QStringLiteral("best"), QStringLiteral("paper")}));

    // Trash and undo; purge returns the kept checkpoint; the id is not reused.
    db.setDeleted({a, c}, true);
    QCOMPARE(names(db.runs()), QStringList{QStringLiteral("gptq3 final")});
    f = {};
    f.trash = true;
    QCOMPARE(names(db.runs(f)), (QStringList{QStringLiteral("rtn4"), QStringLiteral("gptq4")}));
    db.setDeleted({a}, false);
    QCOMPARE(names(db.runs()), (QStringList{QStringLiteral("rtn4"), QStringLiteral("gptq3 final")}));
    // What the History tab reads without reading every run: methods, kept checkpoints, ids.
    QCOMPARE(db.methods(),
             (QStringList{QStringLiteral("float"), QStringLiteral("GPTQ"), QStringLiteral("RTN")}));
    QCOMPARE(db.checkpointUsage().runs, 0);
    db.setCheckpoint(c, QStringLiteral("/runs/checkpoints/c"), 12345);
    QCOMPARE(db.run(c)->checkpointBytes, 12345);
    // A checkpoint with its size, put with the run; putting it again without one keeps both.
    SessionRun withFolder = db.run(a)->run;
    QCOMPARE(db.putRun(withFolder, m1, QStringLiteral("/runs/checkpoints/a"), 4000), a);
    QCOMPARE(db.putRun(withFolder, m1), a);
    QCOMPARE(db.run(a)->checkpoint, QStringLiteral("/runs/checkpoints/a"));
    QCOMPARE(db.run(a)->checkpointBytes, 4000);
    QCOMPARE(db.checkpointUsage().runs, 2); // c is in the trash, and counted
    QCOMPARE(db.checkpointUsage().bytes, 16345);
    f = {};
    f.trash = true;
    QCOMPARE(db.runUids(f), QStringList{db.run(c)->uid});
    QCOMPARE(db.runUids().size(), 2);
    QCOMPARE(db.purge({c}), QStringList{QStringLiteral("/runs/checkpoints/c")});
    QVERIFY(!db.run(c));
    const qint64 d = db.putRun(makeRun(QStringLiteral("later"), QStringLiteral("RTN"), 8, 8.5, 9.1), m2);
    QVERIFY(d > c);
    // Putting a run again updates it (same id), keeping its tags.
    SessionRun again = db.run(b)->run;
    again.summary.ppl = 10.75;
    QCOMPARE(db.putRun(again, m1), b);
    QCOMPARE(db.run(b)->run.summary.ppl, 10.75);
    QCOMPARE(db.run(b)->tags.size(), 2);
}

void TestResultsDb::runStoreMergesConcurrentWriters()
{
    // Two windows on one model, sharing the runs folder: each adds a run; neither loses the other's.
    QTemporaryDir dir;
    const QString modelPath = dir.filePath(QStringLiteral("model"));
    QVERIFY(test::writeFile(QDir(modelPath).filePath(QStringLiteral("config.json")), "{}"));
    const ModelIdentity model = ModelIdentity::of(modelPath);
    const QString folder = dir.filePath(QStringLiteral("runs"));
    RunStore a, b;
    a.setFolder(folder);
    b.setFolder(folder);
    QVERIFY(a.load(model).isEmpty() && b.load(model).isEmpty());
    auto run = [](const char* name) {
        return makeRun(QLatin1String(name), QStringLiteral("RTN"), 4, 4.5, 10);
    };
    StoredRuns fromA, fromB;
    fromA.runs = {run("a1")};
    fromB.runs = {run("b1")};
    a.save(model, fromA);
    b.save(model, fromB); // b never saw a1: kept
    auto kept = [&] {
        RunStore fresh;
        fresh.setFolder(folder);
        QStringList n;
        for (const SessionRun& r : fresh.load(model).runs)
            n << r.summary.name;
        n.sort();
        return n;
    };
    QCOMPARE(kept(), (QStringList{QStringLiteral("a1"), QStringLiteral("b1")}));
    fromA.runs = {run("a2")}; // a removes a1 (to the trash) and adds a2; b1 stays
    a.save(model, fromA);
    QCOMPARE(kept(), (QStringList{QStringLiteral("a2"), QStringLiteral("b1")}));
    b.save(model, fromB); // b saves again without reloading: a2 stays, a1 stays removed
    QCOMPARE(kept(), (QStringList{QStringLiteral("a2"), QStringLiteral("b1")}));
    QCOMPARE(b.load(model).runs.size(), std::size_t(2));
    b.save(model, StoredRuns{});
    QCOMPARE(kept(), QStringList{});
    RunFilter trash;
    trash.trash = true;
    QCOMPARE(a.database().runs(trash).size(), std::size_t(3)); // a1, a2, b1: undo is possible

    // Another program holds a write transaction: the save waits, then says the database is locked.
    {
        QSqlDatabase other = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("holder"));
        other.setDatabaseName(ResultsDb::fileIn(folder));
        QVERIFY(other.open());
        QSqlQuery q(other);
        QVERIFY(q.exec(QStringLiteral("BEGIN EXCLUSIVE")));
        a.setLockTimeout(300);
        const QString error = test::errorOf([&] { a.save(model, fromA); });
        QVERIFY2(error.contains(u"locked") && error.contains(u"not recorded"), qPrintable(error));
        QVERIFY(q.exec(QStringLiteral("ROLLBACK")));
    }
    QSqlDatabase::removeDatabase(QStringLiteral("holder"));
    // A deletion made elsewhere wins over a window still holding the run; new runs are kept.
    fromA.runs.push_back(run("a3"));
    a.save(model, fromA);
    QCOMPARE(kept(), (QStringList{QStringLiteral("a3")}));
}

void TestResultsDb::runStoreImportsLegacyFilesOnce()
{
    QTemporaryDir dir;
    const QString folder = dir.filePath(QStringLiteral("runs"));
    const ModelIdentity model = fakeModel(QStringLiteral("/models/legacy"));
    StoredRuns legacy;
    legacy.runs = {makeRun(QStringLiteral("json run"), QStringLiteral("RTN"), 4, 4.5, 10)};
    legacy.baseline = makeRun(QStringLiteral("float"), QStringLiteral("float"), 8, 32, 9).summary;
    legacy.baseline->isBaseline = true;
    const QString file = QDir(folder).filePath(model.key() + QStringLiteral(".json"));
    QVERIFY(test::writeFile(file, QJsonDocument(legacy.toJson(model)).toJson()));
    QVERIFY(test::writeFile(QDir(folder).filePath(QStringLiteral("broken.json")), "{ nope"));
    RunStore store;
    store.setFolder(folder);
    const StoredRuns loaded = store.load(model);
    QCOMPARE(loaded.runs.size(), std::size_t(1));
    QCOMPARE(loaded.runs.front().summary.name, QStringLiteral("json run"));
    QVERIFY(loaded.baseline && loaded.baseline->name == u"float");
    QVERIFY(!QFile::exists(file) && QFile::exists(file + QStringLiteral(".imported")));
    QCOMPARE(store.importErrors().size(), 1);
    QVERIFY2(store.importErrors().front().contains(u"broken.json"), qPrintable(store.importErrors().front()));
    RunStore again; // the next start imports nothing twice
    again.setFolder(folder);
    QCOMPARE(again.load(model).runs.size(), std::size_t(1));
}

void TestResultsDb::importsRunFoldersAndSweepsOnce()
{
    QTemporaryDir dir;
    writeRunJson(dir.filePath(QStringLiteral("old/r1")), QStringLiteral("r1"), 11);
    writeRunJson(dir.filePath(QStringLiteral("old/r2")), QStringLiteral("r2"), 12);
    QVERIFY(test::writeFile(dir.filePath(QStringLiteral("old/notes.json")), "[1,2]"));
    SensitivityResult sweep;
    sweep.modelPath = QStringLiteral("/models/m");
    sweep.modelFingerprint = QStringLiteral("llama:d64");
    sweep.linearParams = 4096;
    sweep.units = {SensitivityUnit{QStringLiteral("blk.0.q"), {0}, 4096}};
    sweep.basePpl = 9.5;
    sweep.schemes = {SensitivityScheme{QStringLiteral("rtn-w4-g128"), {}}};
    sweep.save(dir.filePath(QStringLiteral("old/sweep.json")));
    ResultsDb db;
    ImportReport r =
        importResults(db, {dir.filePath(QStringLiteral("old")), dir.filePath(QStringLiteral("nothing"))});
    QVERIFY2(r.runs == 2 && r.sweeps == 1, qPrintable(r.errors.join(u'\n')));
    QCOMPARE(r.errors.size(), 2); // notes.json is not ours; "nothing" does not exist
    QVERIFY2(r.errors.join(u'\n').contains(u"notes.json") && r.errors.join(u'\n').contains(u"nothing"),
             qPrintable(r.errors.join(u'\n')));
    r = importResults(
        db, {dir.filePath(QStringLiteral("old/r1")), dir.filePath(QStringLiteral("old/sweep.json"))});
    QCOMPARE(names(db.runs()), (QStringList{QStringLiteral("r1"), QStringLiteral("r2")}));
    QCOMPARE(db.sweeps().size(), std::size_t(1));
    QCOMPARE(db.sweep(db.sweeps().front().id).basePpl, 9.5);
    QCOMPARE(db.runs().front().run.summary.ppl, 11.0);
}

void TestResultsDb::guiAndCliWriteAtTheSameTime()
{
    // This process writes 60 runs while two CLI processes import 15 run folders each into the same
    // database: every run is there afterwards and the file is intact.
    QTemporaryDir dir;
    const QString folder = dir.filePath(QStringLiteral("runs"));
    for (int p = 0; p < 2; ++p)
        for (int i = 0; i < 15; ++i)
            writeRunJson(dir.filePath(QStringLiteral("p%1/run%2").arg(p).arg(i)),
                         QStringLiteral("cli %1.%2").arg(p).arg(i), 20 + i);
    ResultsDb db(ResultsDb::fileIn(folder));
    QList<QProcess*> procs;
    for (int p = 0; p < 2; ++p) {
        auto* proc = new QProcess(this);
        proc->setProgram(QStringLiteral(QS_CLI_PATH));
        proc->setArguments({QStringLiteral("runs"), QStringLiteral("import"), QStringLiteral("--runs"),
                            folder, dir.filePath(QStringLiteral("p%1").arg(p))});
        proc->start();
        procs << proc;
    }
    for (int i = 0; i < 60; ++i)
        db.putRun(makeRun(QStringLiteral("gui %1").arg(i), QStringLiteral("RTN"), 4, 4.5, 10 + i),
                  fakeModel(QStringLiteral("/m")));
    for (QProcess* proc : procs) {
        QVERIFY(proc->waitForFinished(120000));
        QVERIFY2(proc->exitCode() == 0, proc->readAllStandardError().constData());
        QVERIFY(proc->readAllStandardOutput().contains("15 runs and 0 sweeps imported"));
    }
    QCOMPARE(db.runs().size(), std::size_t(90));
    QCOMPARE(db.integrityCheck(), QStringLiteral("ok"));
}

void TestResultsDb::cliRunsCommands()
{
    QTemporaryDir dir;
    const QString folder = dir.filePath(QStringLiteral("runs"));
    {
        ResultsDb db(ResultsDb::fileIn(folder));
        db.putRun(makeRun(QStringLiteral("rtn4"), QStringLiteral("RTN"), 4, 4.5, 10),
                  fakeModel(QStringLiteral("/m")));
        db.putRun(makeRun(QStringLiteral("gptq3"), QStringLiteral("GPTQ"), 3, 3.5, 11),
                  fakeModel(QStringLiteral("/m")));
    }
    auto cli = [&](QStringList args) {
        args << QStringLiteral("--runs") << folder;
        return test::runCli(args);
    };
    auto r = cli({QStringLiteral("runs"), QStringLiteral("list"), QStringLiteral("--method"),
                  QStringLiteral("GPTQ"), QStringLiteral("--json")});
    QCOMPARE(r.exitCode, 0);
    const QJsonArray listed = QJsonDocument::fromJson(r.out).array();
    QCOMPARE(listed.size(), 1);
    QCOMPARE(listed.at(0).toObject().value(u"name").toString(), QStringLiteral("gptq3"));
    const QString id = QString::number(listed.at(0).toObject().value(u"id").toInteger());
    QCOMPARE(cli({QStringLiteral("runs"), QStringLiteral("tag"), id, QStringLiteral("keep")}).exitCode, 0);
    QCOMPARE(
        cli({QStringLiteral("runs"), QStringLiteral("rename"), id, QStringLiteral("gptq3 best")}).exitCode,
        0);
    r = cli({QStringLiteral("runs"), QStringLiteral("export"), QStringLiteral("--tag"),
             QStringLiteral("keep"), QStringLiteral("--format"), QStringLiteral("csv")});
    QCOMPARE(r.exitCode, 0);
    const QList<QByteArray> lines = r.out.trimmed().split('\n');
    QCOMPARE(lines.size(), 2);
    QVERIFY(lines[0].startsWith("id,created,name,model,method,bits"));
    QVERIFY2(lines[1].contains(",gptq3 best,") && lines[1].contains(",3,") && lines[1].contains("keep"),
             lines[1].constData());
    const QString out = dir.filePath(QStringLiteral("export.json"));
    QCOMPARE(cli({QStringLiteral("runs"), QStringLiteral("export"), QStringLiteral("--format"),
                  QStringLiteral("json"), QStringLiteral("--out"), out})
                 .exitCode,
             0);
    QCOMPARE(QJsonDocument::fromJson(readFile(out)).array().size(), 2);
    QVERIFY(QJsonDocument::fromJson(readFile(out)).array().at(0).toObject().contains(u"summary"));
    // compare reads ids from the store.
    r = cli({QStringLiteral("compare"), QStringLiteral("@") + id, QStringLiteral("--json")});
    QCOMPARE(r.exitCode, 0);
    QCOMPARE(QJsonDocument::fromJson(r.out).array().at(0).toObject().value(u"ppl").toDouble(), 11.0);
    // rm goes to the trash; restore undoes it; unknown ids are errors naming the database.
    QCOMPARE(cli({QStringLiteral("runs"), QStringLiteral("rm"), id}).exitCode, 0);
    r = cli({QStringLiteral("runs"), QStringLiteral("list"), QStringLiteral("--json")});
    QCOMPARE(QJsonDocument::fromJson(r.out).array().size(), 1);
    QCOMPARE(cli({QStringLiteral("runs"), QStringLiteral("restore"), id}).exitCode, 0);
    r = cli({QStringLiteral("runs"), QStringLiteral("list"), QStringLiteral("--json")});
    QCOMPARE(QJsonDocument::fromJson(r.out).array().size(), 2);
    r = cli({QStringLiteral("runs"), QStringLiteral("show"), QStringLiteral("999")});
    QCOMPARE(r.exitCode, 1);
    QVERIFY2(r.err.contains("holds no run 999") && r.err.contains("results.sqlite"), r.err.constData());
    r = cli({QStringLiteral("runs"), QStringLiteral("list"), QStringLiteral("--since"),
             QStringLiteral("yesterday")});
    QCOMPARE(r.exitCode, 1);
    QVERIFY2(r.err.contains("--since"), r.err.constData());
    r = cli({QStringLiteral("runs"), QStringLiteral("check")});
    QCOMPARE(r.exitCode, 0);
    QVERIFY(r.out.contains(": ok (schema 2)"));
}

void TestResultsDb::quantizeRecordsAndSurvivesALockedDatabase()
{
    QS_REQUIRE_DATA(model, "stories260K");
    QTemporaryDir dir;
    const QString folder = dir.filePath(QStringLiteral("runs"));
    const QStringList quantize{QStringLiteral("quantize"), model,
                               QStringLiteral("--bits"),   QStringLiteral("4"),
                               QStringLiteral("--runs"),   folder};
    auto r =
        test::runCli(quantize + QStringList{QStringLiteral("--out"), dir.filePath(QStringLiteral("q1"))});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    QVERIFY2(r.err.contains("recorded as run 1"), r.err.constData());
    {
        ResultsDb db(ResultsDb::fileIn(folder));
        const auto runs = db.runs();
        QCOMPARE(runs.size(), std::size_t(1));
        QCOMPARE(runs.front().checkpoint, dir.filePath(QStringLiteral("q1")));
        QVERIFY(runs.front().checkpointBytes > 100000);
        QCOMPARE(runs.front().run.recipe.defaults.bits, 4);
        QVERIFY(!runs.front().run.summary.layers.empty());
    }
    // Another program holds the database: the run completes and says it was not recorded.
    {
        QSqlDatabase other = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("holder"));
        other.setDatabaseName(ResultsDb::fileIn(folder));
        QVERIFY(other.open());
        QSqlQuery q(other);
        QVERIFY(q.exec(QStringLiteral("BEGIN EXCLUSIVE")));
        r = test::runCli(quantize + QStringList{QStringLiteral("--out"), dir.filePath(QStringLiteral("q2"))});
        QVERIFY(q.exec(QStringLiteral("ROLLBACK")));
    }
    QSqlDatabase::removeDatabase(QStringLiteral("holder"));
    QVERIFY2(r.exitCode == 0, r.err.constData());
    QVERIFY2(r.err.contains("was not recorded") && r.err.contains("locked"), r.err.constData());
    QVERIFY(QFile::exists(dir.filePath(QStringLiteral("q2/run.json"))));
    ResultsDb db(ResultsDb::fileIn(folder));
    QCOMPARE(db.runs().size(), std::size_t(1));
    // --runs off records nothing.
    r = test::runCli({QStringLiteral("quantize"), model, QStringLiteral("--bits"), QStringLiteral("4"),
                      QStringLiteral("--runs"), QStringLiteral("off"), QStringLiteral("--out"),
                      dir.filePath(QStringLiteral("q3"))});
    QVERIFY2(r.exitCode == 0 && !r.err.contains("recorded"), r.err.constData());
    QCOMPARE(db.runs().size(), std::size_t(1));
}

QTEST_GUILESS_MAIN(TestResultsDb)
#include "tst_resultsdb.moc"
