#include "analysis/SweepShards.h"

#include "util/Error.h"

#include <QJsonDocument>
#include <QRegularExpression>
#include <cmath>

namespace qs {

SweepShard parseSweepShard(const QString& text)
{
    static const QRegularExpression form(QStringLiteral("^\\s*(\\d{1,6})\\s*/\\s*(\\d{1,6})\\s*$"));
    const QRegularExpressionMatch m = form.match(text);
    SweepShard s;
    if (m.hasMatch()) {
        s.index = m.captured(1).toInt();
        s.count = m.captured(2).toInt();
    }
    if (!m.hasMatch() || s.count < 1 || s.index >= s.count)
        throw Error(QStringLiteral("shard '%1' is not I/N with 0 ≤ I < N (I is 0-based, as "
                                   "SLURM_ARRAY_TASK_ID for --array=0-(N-1))")
                        .arg(text));
    return s;
}

std::vector<std::size_t> orderShards(const std::vector<SweepShard>& shards, const QStringList& paths)
{
    const int count = shards.empty() ? 0 : shards.front().count;
    std::vector<std::size_t> at(std::size_t(count), shards.size());
    for (std::size_t i = 0; i < shards.size(); ++i) {
        std::size_t& slot = at[std::size_t(shards[i].index)];
        if (slot != shards.size())
            throw Error::inFile(paths.value(qsizetype(i)),
                                QStringLiteral("is shard %1 again (already given as %2)")
                                    .arg(shards[i].toText(), paths.value(qsizetype(slot))));
        slot = i;
    }
    for (int k = 0; k < count; ++k)
        if (at[std::size_t(k)] == shards.size())
            throw Error(QStringLiteral("shard %1 of %2 is missing (shard indices are 0-based; given: %3)")
                            .arg(k)
                            .arg(count)
                            .arg(paths.join(QStringLiteral(", "))));
    return at;
}

SensitivityResult mergeSweepShards(const QStringList& paths, QStringList* notes)
{
    std::vector<SensitivityResult> shards;
    for (const QString& p : paths)
        shards.push_back(SensitivityResult::load(p)); // a truncated or foreign file throws, naming it
    return mergeSweepShards(shards, paths, notes);
}

namespace {

/// Why shard `s` (file `path`) cannot be merged with `first` (file `firstPath`); empty when it can.
QString incompatibility(const SensitivityResult& first, const QString& firstPath, const SensitivityResult& s)
{
    if (s.sweepId != first.sweepId) {
        QString why = first.mismatch(s);
        if (why.startsWith(u"it is shard")) // only the shard differs: the entry list is what does
            why.clear();
        if (why.isEmpty())
            why = s.schemes.size() != first.schemes.size() || s.units.size() != first.units.size()
                      ? QStringLiteral("its schemes or units differ (%1 × %2, not %3 × %4)")
                            .arg(s.units.size())
                            .arg(s.schemes.size())
                            .arg(first.units.size())
                            .arg(first.schemes.size())
                      : QStringLiteral("its schemes, units or settings differ");
        return QStringLiteral("belongs to another sweep than %1 (sweep %2, not %3): %4")
            .arg(firstPath, s.sweepId.left(12), first.sweepId.left(12), why);
    }
    if (s.toolVersion != first.toolVersion)
        return QStringLiteral("was written by QuantScope %1 and %2 by %3; the shards of a sweep must come "
                              "from one tool version")
            .arg(s.toolVersion, firstPath, first.toolVersion);
    if (s.shard.count != first.shard.count)
        return QStringLiteral("is shard %1, but %2 is one of %3 shards")
            .arg(s.shard.toText(), firstPath)
            .arg(first.shard.count);
    return {};
}

} // namespace

SensitivityResult mergeSweepShards(const std::vector<SensitivityResult>& shards, const QStringList& paths,
                                   QStringList* notes)
{
    if (shards.empty())
        throw Error(QStringLiteral("no shard files to merge"));
    const SensitivityResult& first = shards.front();
    std::vector<SweepShard> which;
    for (std::size_t i = 0; i < shards.size(); ++i) {
        const SensitivityResult& s = shards[i];
        const QString& path = paths.value(qsizetype(i));
        if (!s.shard.sharded())
            throw Error::inFile(path, QStringLiteral("is a whole sweep, not a shard (no \"shard\" record); "
                                                     "merge takes the files of sensitivity --shard I/N"));
        if (s.sweepId.isEmpty())
            throw Error::inFile(path, QStringLiteral("has no sweep identity (\"sweep\": {\"id\"})"));
        const QString why = incompatibility(first, paths.value(0), s);
        if (!why.isEmpty())
            throw Error::inFile(path, why);
        which.push_back(s.shard);
        if (!s.complete || s.entries.size() != s.ownedEntries().size())
            throw Error::inFile(path,
                                QStringLiteral("shard %1 is incomplete (%2 of %3 entries); finish it with "
                                               "sensitivity --resume --shard %1")
                                    .arg(s.shard.toText())
                                    .arg(s.entries.size())
                                    .arg(s.ownedEntries().size()));
    }
    const std::vector<std::size_t> byIndex = orderShards(which, paths); // shard index → position

    SensitivityResult merged = first;
    merged.shard = SweepShard{};
    merged.entries.clear();
    merged.seconds = 0;
    for (const SensitivityResult& s : shards) {
        merged.seconds += s.seconds;
        if (notes && s.basePpl != first.basePpl)
            notes->append(QStringLiteral("%1: base perplexity %2 differs from shard 0's %3 (another machine "
                                         "or thread count?); its entries keep their own Δ")
                              .arg(paths.value(qsizetype(&s - shards.data())))
                              .arg(s.basePpl, 0, 'g', 12)
                              .arg(first.basePpl, 0, 'g', 12));
    }
    const std::size_t S = merged.schemes.size();
    for (std::size_t k = 0; k < merged.units.size() * S; ++k) {
        const SensitivityResult& owner = shards[byIndex[k % std::size_t(first.shard.count)]];
        const SensitivityEntry* e = owner.find(merged.units[k / S].name, merged.schemes[k % S].name);
        if (!e) // complete shards hold every entry they own (checked on load)
            throw Error(QStringLiteral("entry %1 %2 is missing from shard %3")
                            .arg(merged.units[k / S].name, merged.schemes[k % S].name, owner.shard.toText()));
        merged.entries.push_back(*e);
    }
    merged.complete = true;
    return merged;
}

QStringList compareSweepEntries(const SensitivityResult& a, const SensitivityResult& b)
{
    QStringList diffs;
    if (a.entries.size() != b.entries.size())
        diffs << QStringLiteral("%1 entries vs %2").arg(a.entries.size()).arg(b.entries.size());
    for (const SensitivityEntry& x : a.entries) {
        const SensitivityEntry* y = b.find(x.unit, x.scheme);
        if (!y) {
            diffs << QStringLiteral("%1 %2: only in the first").arg(x.unit, x.scheme);
            continue;
        }
        SensitivityEntry untimed = *y;
        untimed.seconds = x.seconds;
        if (untimed.toJson() != x.toJson())
            diffs << QStringLiteral("%1 %2: %3 vs %4")
                         .arg(x.unit, x.scheme,
                              QString::fromUtf8(QJsonDocument(x.toJson()).toJson(QJsonDocument::Compact)),
                              QString::fromUtf8(QJsonDocument(y->toJson()).toJson(QJsonDocument::Compact)));
    }
    if (a.basePpl != b.basePpl)
        diffs << QStringLiteral("base ppl %1 vs %2").arg(a.basePpl, 0, 'g', 17).arg(b.basePpl, 0, 'g', 17);
    return diffs;
}

} // namespace qs
