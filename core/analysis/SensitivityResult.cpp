#include "analysis/SensitivityResult.h"

#include "eval/Kld.h"
#include "util/AtomicFile.h"
#include "util/Error.h"
#include "util/Paths.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QSet>

namespace qs {

namespace {

QJsonObject evalOptionsJson(const PerplexityOptions& o)
{
    return QJsonObject{{QStringLiteral("protocol"), protocolName(o.protocol)},
                       {QStringLiteral("n_ctx"), o.ctx},
                       {QStringLiteral("chunks"), o.maxChunks},
                       {QStringLiteral("first_chunk"), o.firstChunk}};
}

QJsonObject calibrationJson(const CalibrationSettings& c)
{
    return QJsonObject{{QStringLiteral("text"), c.text},
                       {QStringLiteral("samples"), c.samples},
                       {QStringLiteral("seq_len"), c.seqLen},
                       {QStringLiteral("seed"), qint64(c.seed)}};
}

QJsonArray schemesJson(const std::vector<SensitivityScheme>& schemes)
{
    QJsonArray a;
    for (const SensitivityScheme& s : schemes)
        a.append(QJsonObject{{QStringLiteral("name"), s.name}, {QStringLiteral("spec"), s.spec.toJson()}});
    return a;
}

QJsonArray unitsJson(const std::vector<SensitivityUnit>& units)
{
    QJsonArray a;
    for (const SensitivityUnit& u : units) {
        QJsonArray ls;
        for (int li : u.linears)
            ls.append(li);
        a.append(QJsonObject{{QStringLiteral("name"), u.name},
                             {QStringLiteral("linears"), ls},
                             {QStringLiteral("params"), qint64(u.params)}});
    }
    return a;
}

QJsonObject entryKey(const QString& unit, const QString& scheme)
{
    return QJsonObject{{QStringLiteral("unit"), unit}, {QStringLiteral("scheme"), scheme}};
}

/// The "shard" record of a shard file: which shard, and the entries it owns (self-describing).
QJsonObject shardJson(const SensitivityResult& r)
{
    QJsonArray owned;
    const std::size_t S = r.schemes.size();
    for (std::size_t k : r.ownedEntries())
        owned.append(entryKey(r.units[k / S].name, r.schemes[k % S].name));
    return QJsonObject{{QStringLiteral("index"), r.shard.index},
                       {QStringLiteral("count"), r.shard.count},
                       {QStringLiteral("entries"), owned}};
}

/// Reads the "shard" record and checks it and the entries against the round-robin assignment.
void readShard(SensitivityResult& r, const QJsonObject& o, const QString& path)
{
    r.shard.index = o.value(u"index").toInt(-1);
    r.shard.count = o.value(u"count").toInt(0);
    if (r.shard.count < 1 || r.shard.index < 0 || r.shard.index >= r.shard.count)
        throw Error::inFile(path, QStringLiteral("bad shard record (index %1 of %2 shards)")
                                      .arg(o.value(u"index").toVariant().toString(),
                                           o.value(u"count").toVariant().toString()));
    QJsonArray expected;
    QSet<QString> owned, seen;
    const std::size_t S = r.schemes.size();
    for (std::size_t k : r.ownedEntries()) {
        expected.append(entryKey(r.units[k / S].name, r.schemes[k % S].name));
        owned.insert(r.units[k / S].name + u'\n' + r.schemes[k % S].name);
    }
    if (o.value(u"entries").toArray() != expected)
        throw Error::inFile(path, QStringLiteral("the entries listed for shard %1 are not the ones the "
                                                 "sweep deals to it (written by another version?)")
                                      .arg(r.shard.toText()));
    for (const SensitivityEntry& e : r.entries) {
        const QString key = e.unit + u'\n' + e.scheme;
        if (!owned.contains(key))
            throw Error::inFile(path, QStringLiteral("entry %1 %2 does not belong to shard %3")
                                          .arg(e.unit, e.scheme, r.shard.toText()));
        if (seen.contains(key))
            throw Error::inFile(path, QStringLiteral("entry %1 %2 is there twice").arg(e.unit, e.scheme));
        seen.insert(key);
    }
}

} // namespace

QJsonObject SensitivityEntry::toJson() const
{
    return QJsonObject{{QStringLiteral("unit"), unit},
                       {QStringLiteral("scheme"), scheme},
                       {QStringLiteral("bytes"), qint64(bytes)},
                       {QStringLiteral("bpw"), bitsPerWeight},
                       {QStringLiteral("ppl"), ppl},
                       {QStringLiteral("delta_nll"), deltaNll},
                       {QStringLiteral("kld"), kld},
                       {QStringLiteral("top1"), top1},
                       {QStringLiteral("weight_rel_mse"), weightRelMse},
                       {QStringLiteral("hessian_error"), hessianError},
                       {QStringLiteral("output_rel_mse"), outputRelMse},
                       {QStringLiteral("seconds"), seconds}};
}

SensitivityEntry SensitivityEntry::fromJson(const QJsonObject& o)
{
    SensitivityEntry e;
    e.unit = o.value(u"unit").toString();
    e.scheme = o.value(u"scheme").toString();
    e.bytes = std::uint64_t(o.value(u"bytes").toInteger());
    e.bitsPerWeight = o.value(u"bpw").toDouble();
    e.ppl = o.value(u"ppl").toDouble();
    e.deltaNll = o.value(u"delta_nll").toDouble();
    e.kld = o.value(u"kld").toDouble();
    e.top1 = o.value(u"top1").toDouble();
    e.weightRelMse = o.value(u"weight_rel_mse").toDouble();
    e.hessianError = o.value(u"hessian_error").toDouble();
    e.outputRelMse = o.value(u"output_rel_mse").toDouble();
    e.seconds = o.value(u"seconds").toDouble();
    return e;
}

const SensitivityEntry* SensitivityResult::find(const QString& unit, const QString& scheme) const
{
    for (const SensitivityEntry& e : entries)
        if (e.unit == unit && e.scheme == scheme)
            return &e;
    return nullptr;
}

QString SensitivityResult::identity() const
{
    const QJsonObject key{{QStringLiteral("fingerprint"), modelFingerprint},
                          {QStringLiteral("linear_params"), qint64(linearParams)},
                          {QStringLiteral("eval_text_sha256"), evalTextSha256},
                          {QStringLiteral("eval"), evalOptionsJson(eval)},
                          {QStringLiteral("calibration"), calibrationJson(calibration)},
                          {QStringLiteral("schemes"), schemesJson(schemes)},
                          {QStringLiteral("units"), unitsJson(units)}};
    return sha256Hex(QJsonDocument(key).toJson(QJsonDocument::Compact));
}

std::vector<std::size_t> SensitivityResult::ownedEntries() const
{
    std::vector<std::size_t> owned;
    for (std::size_t k = 0; k < units.size() * schemes.size(); ++k)
        if (shard.owns(k))
            owned.push_back(k);
    return owned;
}

QString SensitivityResult::mismatch(const SensitivityResult& o) const
{
    if (modelFingerprint != o.modelFingerprint || linearParams != o.linearParams)
        return QStringLiteral("it was measured on another model (%1, not %2)").arg(modelName, o.modelName);
    if (evalTextSha256 != o.evalTextSha256)
        return QStringLiteral("it was evaluated on another text");
    if (evalOptionsJson(eval) != evalOptionsJson(o.eval))
        return QStringLiteral("its evaluation settings differ (%1 vs %2)")
            .arg(QString::fromUtf8(QJsonDocument(evalOptionsJson(eval)).toJson(QJsonDocument::Compact)),
                 QString::fromUtf8(QJsonDocument(evalOptionsJson(o.eval)).toJson(QJsonDocument::Compact)));
    if (!(calibration == o.calibration))
        return QStringLiteral("its calibration settings differ");
    if (!(shard == o.shard))
        return QStringLiteral("it is shard %1 and this run is shard %2")
            .arg(shard.sharded() ? shard.toText() : QStringLiteral("0/1 (the whole sweep)"),
                 o.shard.sharded() ? o.shard.toText() : QStringLiteral("0/1 (the whole sweep)"));
    return {};
}

QJsonObject SensitivityResult::toJson() const
{
    QJsonArray entriesJson;
    for (const SensitivityEntry& e : entries)
        entriesJson.append(e.toJson());
    QJsonObject o{
        {QStringLiteral("format"), QStringLiteral("quantscope-sensitivity")},
        {QStringLiteral("version"), kVersion},
        {QStringLiteral("model"), QJsonObject{{QStringLiteral("path"), modelPath},
                                              {QStringLiteral("name"), modelName},
                                              {QStringLiteral("fingerprint"), modelFingerprint},
                                              {QStringLiteral("dtype"), modelDtype},
                                              {QStringLiteral("linear_params"), qint64(linearParams)}}},
        {QStringLiteral("eval"), QJsonObject{{QStringLiteral("text_sha256"), evalTextSha256},
                                             {QStringLiteral("options"), evalOptionsJson(eval)},
                                             {QStringLiteral("scored_tokens"), qint64(evalTokens)},
                                             {QStringLiteral("base_ppl"), basePpl},
                                             {QStringLiteral("base_nll"), baseNll}}},
        {QStringLiteral("calibration"), calibrationJson(calibration)},
        {QStringLiteral("schemes"), schemesJson(schemes)},
        {QStringLiteral("units"), unitsJson(units)},
        {QStringLiteral("entries"), entriesJson},
        {QStringLiteral("complete"), complete},
        {QStringLiteral("seconds"), seconds},
        {QStringLiteral("sweep"),
         QJsonObject{{QStringLiteral("id"), sweepId}, {QStringLiteral("tool_version"), toolVersion}}}};
    if (shard.sharded())
        o.insert(QStringLiteral("shard"), shardJson(*this));
    return o;
}

SensitivityResult SensitivityResult::fromJson(const QJsonObject& o, const QString& path)
{
    if (o.value(u"format").toString() != u"quantscope-sensitivity")
        throw Error::inFile(
            path,
            QStringLiteral("not a QuantScope sensitivity file (no \"format\": \"quantscope-sensitivity\")"));
    const int version = o.value(u"version").toInt();
    if (version < 1 || version > kVersion)
        throw Error::inFile(
            path, QStringLiteral("sensitivity format version %1 is not supported (this build reads 1–%2)")
                      .arg(version)
                      .arg(kVersion));
    SensitivityResult r;
    const QJsonObject m = o.value(u"model").toObject();
    r.modelPath = m.value(u"path").toString();
    r.modelName = m.value(u"name").toString();
    r.modelFingerprint = m.value(u"fingerprint").toString();
    r.modelDtype = m.value(u"dtype").toString();
    r.linearParams = m.value(u"linear_params").toInteger();
    const QJsonObject ev = o.value(u"eval").toObject();
    r.evalTextSha256 = ev.value(u"text_sha256").toString();
    const QJsonObject eo = ev.value(u"options").toObject();
    try {
        r.eval.protocol = protocolFromName(eo.value(u"protocol").toString());
    } catch (const Error& e) {
        throw Error::inFile(path, e.message());
    }
    r.eval.ctx = eo.value(u"n_ctx").toInt();
    r.eval.maxChunks = eo.value(u"chunks").toInt();
    r.eval.firstChunk = eo.value(u"first_chunk").toInt();
    r.evalTokens = ev.value(u"scored_tokens").toInteger();
    r.basePpl = ev.value(u"base_ppl").toDouble();
    r.baseNll = ev.value(u"base_nll").toDouble();
    const QJsonObject cal = o.value(u"calibration").toObject();
    r.calibration.text = cal.value(u"text").toString();
    r.calibration.samples = cal.value(u"samples").toInt();
    r.calibration.seqLen = cal.value(u"seq_len").toInt();
    r.calibration.seed = std::uint32_t(cal.value(u"seed").toInteger());
    const QJsonArray schemes = o.value(u"schemes").toArray();
    for (qsizetype i = 0; i < schemes.size(); ++i) {
        const QJsonObject s = schemes[i].toObject();
        r.schemes.push_back({s.value(u"name").toString(),
                             QuantSpec::fromJson(s.value(u"spec").toObject(),
                                                 path + QStringLiteral(": schemes[%1]").arg(i))});
    }
    for (const QJsonValue& v : o.value(u"units").toArray()) {
        const QJsonObject u = v.toObject();
        SensitivityUnit unit;
        unit.name = u.value(u"name").toString();
        unit.params = u.value(u"params").toInteger();
        for (const QJsonValue& li : u.value(u"linears").toArray())
            unit.linears.push_back(li.toInt());
        r.units.push_back(unit);
    }
    for (const QJsonValue& v : o.value(u"entries").toArray())
        r.entries.push_back(SensitivityEntry::fromJson(v.toObject()));
    r.complete = o.value(u"complete").toBool();
    r.seconds = o.value(u"seconds").toDouble();
    if (r.modelFingerprint.isEmpty() || r.linearParams <= 0 || r.units.empty())
        throw Error::inFile(path, QStringLiteral("the sensitivity file has no model key or no units"));
    const QJsonObject sweep = o.value(u"sweep").toObject();
    r.sweepId = sweep.value(u"id").toString();
    r.toolVersion = sweep.value(u"tool_version").toString();
    if (o.contains(u"shard"))
        readShard(r, o.value(u"shard").toObject(), path);
    return r;
}

SensitivityResult SensitivityResult::load(const QString& path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        throw Error::inFile(path, QStringLiteral("cannot open: %1").arg(f.errorString()));
    return fromBytes(f.readAll(), path);
}

SensitivityResult SensitivityResult::fromBytes(const QByteArray& json, const QString& path)
{
    QJsonParseError pe;
    const QJsonDocument doc = QJsonDocument::fromJson(json, &pe);
    if (pe.error != QJsonParseError::NoError || !doc.isObject())
        throw Error::inFile(
            path, QStringLiteral("not valid JSON: %1 at offset %2").arg(pe.errorString()).arg(pe.offset));
    return fromJson(doc.object(), path);
}

void SensitivityResult::save(const QString& path) const
{
    writeFileAtomically(path, QJsonDocument(toJson()).toJson(QJsonDocument::Indented));
}

QString SensitivityCost::toText() const
{
    QString t = (shard.sharded() ? QStringLiteral("%1 units × %2 schemes in %3 shards, this one's share %4 "
                                                  "evaluations still to run")
                                       .arg(units)
                                       .arg(schemes)
                                       .arg(shard.count)
                                       .arg(evaluations)
                                 : QStringLiteral("%1 units × %2 schemes = %3 evaluations still to run")
                                       .arg(units)
                                       .arg(schemes)
                                       .arg(evaluations)) +
                QStringLiteral(", %1 tokens each, %2% of the blocks re-run on average: %3 M token-blocks")
                    .arg(evalTokens)
                    .arg(blockFraction * 100, 0, 'f', 1)
                    .arg(tokenBlocks / 1e6, 0, 'f', 2);
    if (forwardSeconds >= 0)
        t += QStringLiteral("; forward passes about %1 (%2 ms per 1000 token-blocks, timed on block 0), "
                            "quantizing the layers on top")
                 .arg(roughDuration(forwardSeconds))
                 .arg(secondsPerTokenBlock * 1e6, 0, 'f', 2);
    t += QStringLiteral("; memory about %1 (%2)").arg(formatBytes(memory.total()), memory.describe());
    if (usableBytes > 0)
        t += QStringLiteral(", %1 available").arg(formatBytes(usableBytes));
    return t;
}

QJsonObject SensitivityCost::toJson() const
{
    QJsonObject parts;
    for (const auto& [label, bytes] : memory.parts)
        parts.insert(label, bytes);
    return QJsonObject{{QStringLiteral("units"), units},
                       {QStringLiteral("schemes"), schemes},
                       {QStringLiteral("shard"), shard.toText()},
                       {QStringLiteral("evaluations"), evaluations},
                       {QStringLiteral("eval_tokens"), qint64(evalTokens)},
                       {QStringLiteral("block_fraction"), blockFraction},
                       {QStringLiteral("token_blocks"), tokenBlocks},
                       {QStringLiteral("forward_seconds"), forwardSeconds},
                       {QStringLiteral("seconds_per_token_block"), secondsPerTokenBlock},
                       {QStringLiteral("memory_bytes"), memory.total()},
                       {QStringLiteral("memory_parts"), parts},
                       {QStringLiteral("usable_bytes"), usableBytes}};
}

} // namespace qs
