#include "store/ResultsDb.h"

#include "results/RunSummaryJson.h"
#include "util/Error.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QSqlRecord>
#include <QStandardPaths>
#include <QUuid>
#include <QVariant>
#include <atomic>
#include <cmath>

namespace qs {

namespace {

// SQLite result codes the store tells apart (sqlite3.h): damage is moved aside, the rest is not.
constexpr int kSqliteCorrupt = 11;
constexpr int kSqliteNotADb = 26;
constexpr int kSqliteReadOnly = 8;

/// The schema, one migration per version: migration i brings user_version i to i + 1. A released
/// migration is never edited; a change is a new one.
const std::vector<std::vector<const char*>>& migrations()
{
    static const std::vector<std::vector<const char*>> steps{
        // 1: runs and sweeps.
        {
            R"(CREATE TABLE runs(
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                uid TEXT NOT NULL UNIQUE,
                created TEXT NOT NULL,
                name TEXT NOT NULL,
                model_path TEXT NOT NULL,
                model_key TEXT NOT NULL,
                model_bytes INTEGER,
                model_modified TEXT,
                fingerprint TEXT,
                params INTEGER,
                method TEXT,
                bits INTEGER,
                bpw REAL,
                linear_bpw REAL,
                size_bytes INTEGER,
                ppl REAL, ppl_error REAL,
                delta_ppl REAL, delta_ppl_error REAL,
                kld REAL, kld_error REAL,
                top1 REAL, top1_error REAL,
                prefill_tps REAL, decode_tps REAL,
                resident_bytes INTEGER,
                quantize_seconds REAL,
                eval_text TEXT, eval_protocol TEXT, tokenizer TEXT,
                calibration TEXT,
                checkpoint TEXT NOT NULL DEFAULT '',
                tool_version TEXT,
                baseline INTEGER NOT NULL DEFAULT 0,
                shown INTEGER NOT NULL DEFAULT 1,
                summary TEXT NOT NULL,
                recipe TEXT NOT NULL))",
            "CREATE INDEX runs_model ON runs(model_key)",
            R"(CREATE TABLE sweeps(
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                uid TEXT NOT NULL UNIQUE,
                created TEXT NOT NULL,
                source TEXT,
                model_path TEXT,
                fingerprint TEXT,
                schemes TEXT,
                entries INTEGER,
                base_ppl REAL,
                tool_version TEXT,
                result TEXT NOT NULL))",
        },
        // 2: tags, the trash (delete with undo) and the disk a kept checkpoint takes.
        {
            "ALTER TABLE runs ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE runs ADD COLUMN checkpoint_bytes INTEGER NOT NULL DEFAULT 0",
            R"(CREATE TABLE run_tags(
                run INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
                tag TEXT NOT NULL,
                PRIMARY KEY(run, tag)))",
            "CREATE INDEX runs_created ON runs(created)",
        },
    };
    return steps;
}

QString nextConnectionName()
{
    static std::atomic<int> counter{0};
    return QStringLiteral("quantscope-results-%1").arg(counter++);
}

int sqliteCode(const QSqlError& e)
{
    bool ok = false;
    const int code = e.nativeErrorCode().toInt(&ok);
    return ok ? (code & 0xff) : -1; // the primary code of an extended one
}

bool isDamage(const QSqlError& e)
{
    const int code = sqliteCode(e);
    return code == kSqliteCorrupt || code == kSqliteNotADb;
}

QVariant real(double v)
{
    return std::isfinite(v) ? QVariant(v) : QVariant(QMetaType(QMetaType::Double));
}

/// A string bound as TEXT: Qt binds a null QString as SQL NULL, which the NOT NULL columns refuse.
QVariant text(const QString& s)
{
    return s.isNull() ? QVariant(QStringLiteral("")) : QVariant(s);
}

QString isoUtc(const QDateTime& t)
{
    return t.toUTC().toString(Qt::ISODateWithMs);
}

QByteArray compact(const QJsonObject& o)
{
    return QJsonDocument(o).toJson(QJsonDocument::Compact);
}

/// Moves the database and its WAL/shared-memory files aside; returns the backup's path.
QString moveDatabaseAside(const QString& file)
{
    const QString stamp = QDateTime::currentDateTime().toString(QStringLiteral("yyyyMMdd-HHmmss"));
    QString backup = file + QStringLiteral(".corrupt-") + stamp;
    for (int n = 2; QFileInfo::exists(backup); ++n)
        backup = file + QStringLiteral(".corrupt-%1-%2").arg(stamp).arg(n);
    if (!QFile::rename(file, backup))
        throw Error::inFile(file,
                            QStringLiteral("damaged, and it cannot be moved aside to %1: it is left as it "
                                           "is and nothing is recorded")
                                .arg(backup));
    for (const char* side : {"-wal", "-shm"})
        if (QFileInfo::exists(file + QLatin1String(side)))
            QFile::rename(file + QLatin1String(side), backup + QLatin1String(side));
    return backup;
}

} // namespace

// --- the connection -----------------------------------------------------------------------------

QString ResultsDb::defaultFolder()
{
    const QString env = qEnvironmentVariable("QUANTSCOPE_RUNS");
    if (!env.isEmpty())
        return env;
    return QDir(QStandardPaths::writableLocation(QStandardPaths::GenericDataLocation))
        .filePath(QStringLiteral("QuantScope/QuantScope/runs"));
}

QString ResultsDb::fileIn(const QString& folder)
{
    return QDir(folder).filePath(QStringLiteral("results.sqlite"));
}

ResultsDb::ResultsDb(const QString& file, int busyTimeoutMs)
    : m_file(file), m_connection(nextConnectionName())
{
    if (!QSqlDatabase::isDriverAvailable(QStringLiteral("QSQLITE")))
        throw Error(QStringLiteral("the Qt SQLite driver is not installed (Debian: libqt6sql6-sqlite); runs "
                                   "cannot be recorded"));
    try {
        openFile(busyTimeoutMs);
    } catch (...) {
        QSqlDatabase::removeDatabase(m_connection);
        throw;
    }
}

ResultsDb::~ResultsDb()
{
    {
        QSqlDatabase db = QSqlDatabase::database(m_connection, false);
        db.close();
    }
    QSqlDatabase::removeDatabase(m_connection);
}

void ResultsDb::openFile(int busyTimeoutMs)
{
    const QString where = m_file.isEmpty() ? QStringLiteral("(results in memory)") : m_file;
    if (!m_file.isEmpty() && !QDir().mkpath(QFileInfo(m_file).absolutePath()))
        throw Error::inFile(m_file, QStringLiteral("cannot create its folder"));
    for (int attempt = 0;; ++attempt) {
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), m_connection);
        db.setDatabaseName(m_file.isEmpty() ? QStringLiteral(":memory:") : m_file);
        db.setConnectOptions(QStringLiteral("QSQLITE_BUSY_TIMEOUT=%1").arg(busyTimeoutMs));
        if (!db.open())
            throw Error::inFile(where, QStringLiteral("cannot open: ") + db.lastError().text());
        QSqlQuery q(db);
        // quick_check reads every page: damage shows here, not in the middle of a later write.
        QString check;
        QSqlError error;
        if (q.exec(QStringLiteral("PRAGMA quick_check")) && q.next())
            check = q.value(0).toString();
        else
            error = q.lastError();
        const bool damaged = (error.isValid() && isDamage(error)) || (!error.isValid() && check != u"ok");
        if (!damaged && error.isValid()) {
            // A database in WAL mode needs its folder writable even to read (the -shm file).
            const QFileInfo file(m_file), folder(file.absolutePath());
            const bool readOnly = sqliteCode(error) == kSqliteReadOnly ||
                                  (file.exists() && !file.isWritable()) || !folder.isWritable();
            throw Error::inFile(where, readOnly ? QStringLiteral("read-only for this user (%1): the results "
                                                                 "database needs the file and its folder "
                                                                 "writable, even to list runs")
                                                      .arg(error.text())
                                                : QStringLiteral("cannot read: ") + error.text());
        }
        if (damaged && attempt == 0 && !m_file.isEmpty()) {
            q = QSqlQuery();
            db.close();
            db = QSqlDatabase();
            QSqlDatabase::removeDatabase(m_connection);
            const QString reason = error.isValid() ? error.text() : check;
            const QString backup = moveDatabaseAside(m_file);
            m_openWarning = QStringLiteral("%1 was damaged (%2); it was moved aside to %3 and a new results "
                                           "database was started")
                                .arg(m_file, reason.left(300), backup);
            continue;
        }
        if (damaged)
            throw Error::inFile(where,
                                QStringLiteral("damaged: ") + (error.isValid() ? error.text() : check));
        if (!m_file.isEmpty() && (!q.exec(QStringLiteral("PRAGMA journal_mode=WAL")) || !q.next()))
            throw Error::inFile(where,
                                QStringLiteral("cannot use a write-ahead log: ") + q.lastError().text());
        q.exec(QStringLiteral("PRAGMA synchronous=FULL"));
        q.exec(QStringLiteral("PRAGMA foreign_keys=ON"));
        break;
    }
    migrate();
}

int ResultsDb::schemaVersion() const
{
    QSqlQuery q(QSqlDatabase::database(m_connection));
    return q.exec(QStringLiteral("PRAGMA user_version")) && q.next() ? q.value(0).toInt() : -1;
}

void ResultsDb::migrate()
{
    QSqlDatabase db = QSqlDatabase::database(m_connection);
    const QString where = m_file.isEmpty() ? QStringLiteral("(results in memory)") : m_file;
    const int version = schemaVersion();
    if (version < 0)
        throw Error::inFile(where, QStringLiteral("cannot read its schema version"));
    if (version > kSchemaVersion)
        throw Error::inFile(where,
                            QStringLiteral("written by a newer QuantScope (schema %1; this one reads up "
                                           "to %2): it is left as it is; use that version")
                                .arg(version)
                                .arg(kSchemaVersion));
    const auto& steps = migrations();
    for (int v = version; v < kSchemaVersion; ++v) {
        if (!db.transaction())
            throw Error::inFile(where, QStringLiteral("cannot start the migration to schema %1: %2")
                                           .arg(v + 1)
                                           .arg(db.lastError().text()));
        QSqlQuery q(db);
        bool ok = true;
        for (const char* sql : steps[std::size_t(v)])
            ok = ok && q.exec(QString::fromUtf8(sql));
        ok = ok && q.exec(QStringLiteral("PRAGMA user_version = %1").arg(v + 1));
        if (!ok) {
            const QString why = q.lastError().text();
            db.rollback();
            throw Error::inFile(
                where,
                QStringLiteral("migration to schema %1 failed (nothing changed): %2").arg(v + 1).arg(why));
        }
        if (!db.commit())
            throw Error::inFile(where,
                                QStringLiteral("migration to schema %1 not written (nothing changed): %2")
                                    .arg(v + 1)
                                    .arg(db.lastError().text()));
    }
}

void ResultsDb::setBusyTimeout(int ms)
{
    QSqlQuery q(QSqlDatabase::database(m_connection));
    q.exec(QStringLiteral("PRAGMA busy_timeout = %1").arg(ms));
}

QString ResultsDb::integrityCheck() const
{
    QSqlQuery q(QSqlDatabase::database(m_connection));
    if (!q.exec(QStringLiteral("PRAGMA integrity_check")))
        return q.lastError().text();
    QStringList lines;
    while (q.next())
        lines << q.value(0).toString();
    return lines.join(u'\n');
}

// --- runs ---------------------------------------------------------------------------------------

namespace {

/// Runs one statement; throws Error naming the database and `what` (nothing is changed then: each
/// write is a transaction of its own or inside one that is rolled back).
void execOrThrow(QSqlQuery& q, const QString& file, const QString& what)
{
    if (!q.exec())
        throw Error::inFile(file.isEmpty() ? QStringLiteral("(results in memory)") : file,
                            QStringLiteral("%1 not recorded: %2").arg(what, q.lastError().text()));
}

/// A transaction that rolls back unless commit() is reached. Nested ones (a write inside
/// ResultsDb::atomically) join the outermost: only it begins, commits or rolls back.
class Transaction
{
public:
    Transaction(QSqlDatabase db, const QString& file, const QString& what, int& depth)
        : m_db(db), m_file(file), m_what(what), m_depth(depth), m_outer(depth == 0)
    {
        if (m_outer && !m_db.transaction())
            throw Error::inFile(fileName(),
                                QStringLiteral("%1 not recorded: %2").arg(what, m_db.lastError().text()));
        ++m_depth;
    }
    ~Transaction()
    {
        --m_depth;
        if (m_outer && !m_done)
            m_db.rollback();
    }
    void commit()
    {
        m_done = true;
        if (m_outer && !m_db.commit()) {
            const QString why = m_db.lastError().text();
            m_db.rollback();
            throw Error::inFile(fileName(), QStringLiteral("%1 not recorded: %2").arg(m_what, why));
        }
    }

private:
    QString fileName() const { return m_file.isEmpty() ? QStringLiteral("(results in memory)") : m_file; }
    QSqlDatabase m_db;
    QString m_file;
    QString m_what;
    int& m_depth;
    bool m_outer;
    bool m_done = false;
};

const char* const kRunColumns = "id, uid, created, model_key, checkpoint, checkpoint_bytes, tool_version, "
                                "deleted, shown, summary, recipe, model_path";

StoredRun readRun(const QSqlQuery& q, const QString& file)
{
    StoredRun r;
    r.id = q.value(0).toLongLong();
    r.uid = q.value(1).toString();
    r.created = QDateTime::fromString(q.value(2).toString(), Qt::ISODateWithMs);
    r.modelKey = q.value(3).toString();
    r.checkpoint = q.value(4).toString();
    r.checkpointBytes = q.value(5).toLongLong();
    r.toolVersion = q.value(6).toString();
    r.deleted = q.value(7).toBool();
    r.run.shown = q.value(8).toBool();
    const QString where =
        QStringLiteral("%1: run %2").arg(file.isEmpty() ? QStringLiteral("(memory)") : file).arg(r.id);
    QJsonParseError perr{};
    const QJsonObject summary = QJsonDocument::fromJson(q.value(9).toByteArray(), &perr).object();
    if (perr.error != QJsonParseError::NoError)
        throw Error(where + QStringLiteral(": its summary is not JSON (") + perr.errorString() + u')');
    r.run.summary = runSummaryFromJson(summary, where);
    r.run.summary.id = r.uid;
    r.modelPath = q.value(11).toString();
    const QByteArray recipe = q.value(10).toByteArray();
    if (!recipe.isEmpty() && recipe != "{}")
        r.run.recipe = Recipe::fromJson(recipe, where + QStringLiteral(": recipe"));
    return r;
}

/// The runs an executed query selected (kRunColumns), each with its tags.
std::vector<StoredRun> readRuns(const QSqlDatabase& db, QSqlQuery& q, const QString& file)
{
    std::vector<StoredRun> out;
    while (q.next())
        out.push_back(readRun(q, file));
    QSqlQuery tags(db);
    tags.prepare(QStringLiteral("SELECT tag FROM run_tags WHERE run = ? ORDER BY tag"));
    for (StoredRun& r : out) {
        tags.bindValue(0, r.id);
        if (tags.exec())
            while (tags.next())
                r.tags << tags.value(0).toString();
    }
    return out;
}

} // namespace

QString newRunId()
{
    return QUuid::createUuid().toString(QUuid::WithoutBraces);
}

QString derivedRunId(const SessionRun& run)
{
    RunSummary s = run.summary;
    s.id.clear();
    const QJsonObject o{{QStringLiteral("summary"), runSummaryToJson(s)},
                        {QStringLiteral("recipe"), run.recipe.toJson()}};
    return QString::fromLatin1(
        QCryptographicHash::hash(compact(o), QCryptographicHash::Sha1).toHex().left(32));
}

int recipeBits(const SessionRun& run)
{
    return run.summary.isBaseline ? 0 : run.recipe.defaults.bits;
}

void ResultsDb::atomically(const QString& what, const std::function<void()>& writes)
{
    Transaction t(QSqlDatabase::database(m_connection), m_file, what, m_depth);
    writes();
    t.commit();
}

qint64 ResultsDb::putRun(const SessionRun& run, const ModelIdentity& model, const QString& checkpoint,
                         qint64 checkpointBytes)
{
    QSqlDatabase db = QSqlDatabase::database(m_connection);
    SessionRun r = run;
    if (r.summary.id.isEmpty())
        r.summary.id = derivedRunId(run);
    const RunSummary& s = r.summary;
    const QString what = QStringLiteral("run '%1'").arg(s.name);
    Transaction t(db, m_file, what, m_depth);
    QSqlQuery q(db);
    q.prepare(QStringLiteral(
        "INSERT INTO runs(uid, created, name, model_path, model_key, model_bytes, model_modified, "
        "fingerprint, "
        "params, method, bits, bpw, linear_bpw, size_bytes, ppl, ppl_error, delta_ppl, delta_ppl_error, kld, "
        "kld_error, top1, top1_error, prefill_tps, decode_tps, resident_bytes, quantize_seconds, eval_text, "
        "eval_protocol, tokenizer, calibration, checkpoint, tool_version, baseline, shown, summary, recipe) "
        "VALUES(:uid, :created, :name, :model_path, :model_key, :model_bytes, :model_modified, :fingerprint, "
        ":params, :method, :bits, :bpw, :linear_bpw, :size_bytes, :ppl, :ppl_error, :delta_ppl, "
        ":delta_ppl_error, :kld, :kld_error, :top1, :top1_error, :prefill_tps, :decode_tps, :resident_bytes, "
        ":quantize_seconds, :eval_text, :eval_protocol, :tokenizer, :calibration, :checkpoint, "
        ":tool_version, "
        ":baseline, :shown, :summary, :recipe) "
        "ON CONFLICT(uid) DO UPDATE SET name = excluded.name, shown = excluded.shown, summary = "
        "excluded.summary, "
        "recipe = excluded.recipe, ppl = excluded.ppl, ppl_error = excluded.ppl_error, delta_ppl = "
        "excluded.delta_ppl, delta_ppl_error = excluded.delta_ppl_error, kld = excluded.kld, kld_error = "
        "excluded.kld_error, top1 = excluded.top1, top1_error = excluded.top1_error, prefill_tps = "
        "excluded.prefill_tps, decode_tps = excluded.decode_tps, checkpoint = CASE WHEN excluded.checkpoint "
        "= '' "
        "THEN runs.checkpoint ELSE excluded.checkpoint END"));
    q.bindValue(QStringLiteral(":uid"), s.id);
    q.bindValue(QStringLiteral(":created"), isoUtc(QDateTime::currentDateTimeUtc()));
    q.bindValue(QStringLiteral(":name"), text(s.name));
    q.bindValue(QStringLiteral(":model_path"), text(model.isValid() ? model.path : s.modelPath));
    q.bindValue(QStringLiteral(":model_key"), text(model.isValid() ? model.key() : QString()));
    q.bindValue(QStringLiteral(":model_bytes"), model.bytes);
    q.bindValue(QStringLiteral(":model_modified"), isoUtc(model.modified));
    q.bindValue(QStringLiteral(":fingerprint"), text(s.fingerprint));
    q.bindValue(QStringLiteral(":params"), qint64(s.params));
    q.bindValue(QStringLiteral(":method"), text(s.method));
    q.bindValue(QStringLiteral(":bits"), recipeBits(r));
    q.bindValue(QStringLiteral(":bpw"), real(s.bitsPerWeight));
    q.bindValue(QStringLiteral(":linear_bpw"), real(s.linearBitsPerWeight));
    q.bindValue(QStringLiteral(":size_bytes"), qint64(s.modelBytes));
    q.bindValue(QStringLiteral(":ppl"), real(s.ppl));
    q.bindValue(QStringLiteral(":ppl_error"), real(s.pplError));
    q.bindValue(QStringLiteral(":delta_ppl"), real(s.deltaPpl));
    q.bindValue(QStringLiteral(":delta_ppl_error"), real(s.deltaPplError));
    q.bindValue(QStringLiteral(":kld"), real(s.kldMean));
    q.bindValue(QStringLiteral(":kld_error"), real(s.kldError));
    q.bindValue(QStringLiteral(":top1"), real(s.top1Percent));
    q.bindValue(QStringLiteral(":top1_error"), real(s.top1Error));
    q.bindValue(QStringLiteral(":prefill_tps"), real(s.prefillTokensPerSecond));
    q.bindValue(QStringLiteral(":decode_tps"), real(s.decodeTokensPerSecond));
    q.bindValue(QStringLiteral(":resident_bytes"), qint64(s.residentBytes));
    q.bindValue(QStringLiteral(":quantize_seconds"), real(s.quantizeSeconds));
    q.bindValue(QStringLiteral(":eval_text"), text(s.evalText));
    q.bindValue(QStringLiteral(":eval_protocol"), text(s.evalProtocol));
    q.bindValue(QStringLiteral(":tokenizer"), text(s.tokenizer));
    q.bindValue(QStringLiteral(":calibration"),
                QString::fromUtf8(compact(r.recipe.toJson().value(u"calibration").toObject())));
    q.bindValue(QStringLiteral(":checkpoint"), text(checkpoint));
    q.bindValue(QStringLiteral(":tool_version"), QStringLiteral(QUANTSCOPE_VERSION));
    q.bindValue(QStringLiteral(":baseline"), s.isBaseline);
    q.bindValue(QStringLiteral(":shown"), r.shown);
    q.bindValue(QStringLiteral(":summary"), QString::fromUtf8(compact(runSummaryToJson(s))));
    q.bindValue(QStringLiteral(":recipe"), QString::fromUtf8(compact(r.recipe.toJson())));
    execOrThrow(q, m_file, what);
    QSqlQuery id(db);
    id.prepare(QStringLiteral("SELECT id FROM runs WHERE uid = ?"));
    id.addBindValue(s.id);
    execOrThrow(id, m_file, what);
    if (!id.next())
        throw Error::inFile(m_file,
                            what + QStringLiteral(" not recorded: the row is missing after the insert"));
    const qint64 rowId = id.value(0).toLongLong();
    if (!checkpoint.isEmpty() && checkpointBytes >= 0)
        setCheckpoint(rowId, checkpoint, checkpointBytes);
    t.commit();
    return rowId;
}

QSqlQuery ResultsDb::selectRuns(const QString& columns, const RunFilter& f) const
{
    QStringList where{f.trash ? QStringLiteral("deleted = 1") : QStringLiteral("deleted = 0")};
    QVariantList values;
    auto add = [&](const QString& clause, const QVariantList& v) {
        where << clause;
        values << v;
    };
    if (!f.baselines)
        where << QStringLiteral("baseline = 0");
    if (!f.text.isEmpty()) {
        const QString like = QString(u'%' + f.text + u'%');
        add(QStringLiteral(
                "(name LIKE ? OR json_extract(summary, '$.recipe_summary') LIKE ? OR model_path LIKE ? OR "
                "method LIKE ? OR EXISTS(SELECT 1 FROM run_tags WHERE run = runs.id AND tag LIKE ?))"),
            {like, like, like, like, like});
    }
    if (!f.model.isEmpty())
        add(QStringLiteral("model_path LIKE ?"), {QString(u'%' + f.model + u'%')});
    if (!f.modelKey.isEmpty())
        add(QStringLiteral("model_key = ?"), {f.modelKey});
    if (!f.method.isEmpty())
        add(QStringLiteral("lower(method) = lower(?)"), {f.method});
    if (!f.tag.isEmpty())
        add(QStringLiteral("EXISTS(SELECT 1 FROM run_tags WHERE run = runs.id AND tag = ?)"), {f.tag});
    if (f.bits > 0)
        add(QStringLiteral("bits = ?"), {f.bits});
    if (std::isfinite(f.minBpw))
        add(QStringLiteral("bpw >= ?"), {f.minBpw});
    if (std::isfinite(f.maxBpw))
        add(QStringLiteral("bpw <= ?"), {f.maxBpw});
    if (f.since.isValid())
        add(QStringLiteral("created >= ?"), {isoUtc(f.since)});
    if (f.until.isValid())
        add(QStringLiteral("created < ?"), {isoUtc(f.until)});
    QSqlQuery q(QSqlDatabase::database(m_connection));
    q.prepare(QStringLiteral("SELECT %1 FROM runs WHERE %2 ORDER BY id")
                  .arg(columns, where.join(QStringLiteral(" AND "))));
    for (const QVariant& v : values)
        q.addBindValue(v);
    if (!q.exec())
        throw Error::inFile(m_file, QStringLiteral("cannot list runs: ") + q.lastError().text());
    return q;
}

std::vector<StoredRun> ResultsDb::runs(const RunFilter& f) const
{
    QSqlQuery q = selectRuns(QLatin1String(kRunColumns), f);
    return readRuns(QSqlDatabase::database(m_connection), q, m_file);
}

QStringList ResultsDb::runUids(const RunFilter& f) const
{
    QSqlQuery q = selectRuns(QStringLiteral("uid"), f);
    QStringList uids;
    while (q.next())
        uids << q.value(0).toString();
    return uids;
}

QStringList ResultsDb::methods() const
{
    QSqlQuery q(QSqlDatabase::database(m_connection));
    if (!q.exec(QStringLiteral("SELECT DISTINCT method FROM runs WHERE deleted = 0 AND method <> ''")))
        throw Error::inFile(m_file, QStringLiteral("cannot list methods: ") + q.lastError().text());
    QStringList methods;
    while (q.next())
        methods << q.value(0).toString();
    methods.sort(Qt::CaseInsensitive);
    return methods;
}

ResultsDb::CheckpointUsage ResultsDb::checkpointUsage() const
{
    QSqlQuery q(QSqlDatabase::database(m_connection));
    if (!q.exec(
            QStringLiteral("SELECT COUNT(*), TOTAL(checkpoint_bytes) FROM runs WHERE checkpoint <> ''")) ||
        !q.next())
        throw Error::inFile(m_file, QStringLiteral("cannot sum checkpoints: ") + q.lastError().text());
    return {q.value(0).toInt(), qint64(q.value(1).toDouble())};
}

std::optional<StoredRun> ResultsDb::run(qint64 id) const
{
    const QSqlDatabase db = QSqlDatabase::database(m_connection);
    QSqlQuery q(db);
    q.prepare(QStringLiteral("SELECT %1 FROM runs WHERE id = ?").arg(QLatin1String(kRunColumns)));
    q.addBindValue(id);
    if (!q.exec())
        throw Error::inFile(m_file,
                            QStringLiteral("cannot read run %1: %2").arg(id).arg(q.lastError().text()));
    std::vector<StoredRun> runs = readRuns(db, q, m_file);
    if (runs.empty())
        return std::nullopt;
    return std::move(runs.front());
}

std::optional<StoredRun> ResultsDb::runByUid(const QString& uid) const
{
    QSqlQuery q(QSqlDatabase::database(m_connection));
    q.prepare(QStringLiteral("SELECT id FROM runs WHERE uid = ?"));
    q.addBindValue(uid);
    if (!q.exec() || !q.next())
        return std::nullopt;
    return run(q.value(0).toLongLong());
}

std::optional<StoredRun> ResultsDb::baselineOf(const QString& modelKey) const
{
    QSqlQuery q(QSqlDatabase::database(m_connection));
    q.prepare(QStringLiteral("SELECT id FROM runs WHERE model_key = ? AND baseline = 1 AND deleted = 0 "
                             "ORDER BY id DESC LIMIT 1"));
    q.addBindValue(modelKey);
    if (!q.exec() || !q.next())
        return std::nullopt;
    return run(q.value(0).toLongLong());
}

void ResultsDb::rename(qint64 id, const QString& name)
{
    const auto r = run(id);
    if (!r)
        throw Error::inFile(m_file, QStringLiteral("no run %1").arg(id));
    RunSummary s = r->run.summary;
    s.name = name;
    QSqlDatabase db = QSqlDatabase::database(m_connection);
    Transaction t(db, m_file, QStringLiteral("renaming run %1").arg(id), m_depth);
    QSqlQuery q(db);
    q.prepare(QStringLiteral("UPDATE runs SET name = ?, summary = ? WHERE id = ?"));
    q.addBindValue(text(name));
    q.addBindValue(QString::fromUtf8(compact(runSummaryToJson(s))));
    q.addBindValue(id);
    execOrThrow(q, m_file, QStringLiteral("renaming run %1").arg(id));
    t.commit();
}

void ResultsDb::setTags(qint64 id, const QStringList& tags)
{
    QSqlDatabase db = QSqlDatabase::database(m_connection);
    const QString what = QStringLiteral("tags of run %1").arg(id);
    Transaction t(db, m_file, what, m_depth);
    QSqlQuery q(db);
    q.prepare(QStringLiteral("DELETE FROM run_tags WHERE run = ?"));
    q.addBindValue(id);
    execOrThrow(q, m_file, what);
    q.prepare(QStringLiteral("INSERT OR IGNORE INTO run_tags(run, tag) VALUES(?, ?)"));
    for (const QString& tag : tags) {
        if (tag.trimmed().isEmpty())
            continue;
        q.addBindValue(id);
        q.addBindValue(tag.trimmed());
        execOrThrow(q, m_file, what);
    }
    t.commit();
}

void ResultsDb::setShown(const QString& uid, bool shown)
{
    QSqlQuery q(QSqlDatabase::database(m_connection));
    q.prepare(QStringLiteral("UPDATE runs SET shown = ? WHERE uid = ?"));
    q.addBindValue(shown);
    q.addBindValue(uid);
    execOrThrow(q, m_file, QStringLiteral("shown state"));
}

void ResultsDb::setDeleted(const QList<qint64>& ids, bool deleted)
{
    QSqlDatabase db = QSqlDatabase::database(m_connection);
    const QString what = deleted ? QStringLiteral("deletion") : QStringLiteral("undo of a deletion");
    Transaction t(db, m_file, what, m_depth);
    QSqlQuery q(db);
    q.prepare(QStringLiteral("UPDATE runs SET deleted = ? WHERE id = ?"));
    for (qint64 id : ids) {
        q.addBindValue(deleted);
        q.addBindValue(id);
        execOrThrow(q, m_file, what);
    }
    t.commit();
}

QStringList ResultsDb::purge(const QList<qint64>& ids)
{
    QSqlDatabase db = QSqlDatabase::database(m_connection);
    const QString what = QStringLiteral("removal");
    QStringList folders;
    Transaction t(db, m_file, what, m_depth);
    QSqlQuery q(db);
    for (qint64 id : ids) {
        q.prepare(QStringLiteral("SELECT checkpoint FROM runs WHERE id = ?"));
        q.addBindValue(id);
        execOrThrow(q, m_file, what);
        if (q.next() && !q.value(0).toString().isEmpty())
            folders << q.value(0).toString();
        q.prepare(QStringLiteral("DELETE FROM runs WHERE id = ?"));
        q.addBindValue(id);
        execOrThrow(q, m_file, what);
    }
    t.commit();
    return folders;
}

void ResultsDb::setCheckpoint(qint64 id, const QString& folder, qint64 bytes)
{
    QSqlQuery q(QSqlDatabase::database(m_connection));
    q.prepare(QStringLiteral("UPDATE runs SET checkpoint = ?, checkpoint_bytes = ? WHERE id = ?"));
    q.addBindValue(text(folder));
    q.addBindValue(bytes);
    q.addBindValue(id);
    execOrThrow(q, m_file, QStringLiteral("checkpoint of run %1").arg(id));
}

QJsonObject StoredRun::toJson(bool withDetail) const
{
    const RunSummary& s = run.summary;
    QJsonObject o = runMetricsJson(s);
    const QJsonObject record{{QStringLiteral("id"), id},
                             {QStringLiteral("uid"), uid},
                             {QStringLiteral("created"), isoUtc(created)},
                             {QStringLiteral("name"), s.name},
                             {QStringLiteral("model"), modelPath.isEmpty() ? s.modelPath : modelPath},
                             {QStringLiteral("method"), s.method},
                             {QStringLiteral("bits"), recipeBits(run)},
                             {QStringLiteral("recipe_summary"), s.recipeSummary},
                             {QStringLiteral("tags"), QJsonArray::fromStringList(tags)},
                             {QStringLiteral("checkpoint"), checkpoint},
                             {QStringLiteral("checkpoint_bytes"), checkpointBytes},
                             {QStringLiteral("tool_version"), toolVersion},
                             {QStringLiteral("baseline"), s.isBaseline}};
    for (auto it = record.begin(); it != record.end(); ++it)
        o.insert(it.key(), it.value());
    if (withDetail) {
        o.insert(QStringLiteral("summary"), runSummaryToJson(s));
        o.insert(QStringLiteral("recipe"), run.recipe.toJson());
    }
    return o;
}

// --- sweeps -------------------------------------------------------------------------------------

qint64 ResultsDb::putSweep(const SensitivityResult& sweep, const QString& source)
{
    QSqlDatabase db = QSqlDatabase::database(m_connection);
    const QByteArray json = compact(sweep.toJson());
    const QString uid =
        QString::fromLatin1(QCryptographicHash::hash(json, QCryptographicHash::Sha1).toHex().left(32));
    const QString what = QStringLiteral("sweep %1").arg(source);
    if (sweep.shard.sharded())
        throw Error::inFile(source,
                            QStringLiteral("is shard %1 of a sweep, not recorded: merge its shards first "
                                           "(quantscope-cli merge)")
                                .arg(sweep.shard.toText()));
    QStringList schemes;
    for (const SensitivityScheme& s : sweep.schemes)
        schemes << s.name;
    Transaction t(db, m_file, what, m_depth);
    QSqlQuery q(db);
    q.prepare(
        QStringLiteral("INSERT OR IGNORE INTO sweeps(uid, created, source, model_path, fingerprint, schemes, "
                       "entries, base_ppl, tool_version, result) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    for (const QVariant& v :
         QVariantList{uid, isoUtc(QDateTime::currentDateTimeUtc()), source, sweep.modelPath,
                      sweep.modelFingerprint, schemes.join(u','), qint64(sweep.entries.size()),
                      real(sweep.basePpl), QStringLiteral(QUANTSCOPE_VERSION), QString::fromUtf8(json)})
        q.addBindValue(v);
    execOrThrow(q, m_file, what);
    q.prepare(QStringLiteral("SELECT id FROM sweeps WHERE uid = ?"));
    q.addBindValue(uid);
    execOrThrow(q, m_file, what);
    if (!q.next())
        throw Error::inFile(m_file,
                            what + QStringLiteral(" not recorded: the row is missing after the insert"));
    const qint64 id = q.value(0).toLongLong();
    t.commit();
    return id;
}

std::vector<StoredSweep> ResultsDb::sweeps() const
{
    QSqlQuery q(QSqlDatabase::database(m_connection));
    if (!q.exec(QStringLiteral(
            "SELECT id, created, source, model_path, schemes, entries, base_ppl FROM sweeps ORDER BY id")))
        throw Error::inFile(m_file, QStringLiteral("cannot list sweeps: ") + q.lastError().text());
    std::vector<StoredSweep> out;
    while (q.next()) {
        StoredSweep s;
        s.id = q.value(0).toLongLong();
        s.created = QDateTime::fromString(q.value(1).toString(), Qt::ISODateWithMs);
        s.source = q.value(2).toString();
        s.modelPath = q.value(3).toString();
        s.schemes = q.value(4).toString();
        s.entries = q.value(5).toInt();
        s.basePpl = q.value(6).toDouble();
        out.push_back(s);
    }
    return out;
}

SensitivityResult ResultsDb::sweep(qint64 id) const
{
    QSqlQuery q(QSqlDatabase::database(m_connection));
    q.prepare(QStringLiteral("SELECT result FROM sweeps WHERE id = ?"));
    q.addBindValue(id);
    if (!q.exec() || !q.next())
        throw Error::inFile(m_file, QStringLiteral("no sweep %1").arg(id));
    return SensitivityResult::fromBytes(q.value(0).toByteArray(),
                                        QStringLiteral("%1: sweep %2").arg(m_file).arg(id));
}

} // namespace qs
