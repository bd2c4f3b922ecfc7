#pragma once

#include "analysis/SensitivityResult.h"

#include <QString>
#include <QStringList>
#include <vector>

namespace qs {

// A sensitivity sweep split into shards that run independently (on the nodes of a cluster, say) and
// merged back into one sweep file that every reader of sweeps takes. The assignment of entries to shards
// is SweepShard's (round-robin in canonical order); this file parses shard names and merges shard files.

/// "I/N" with I 0-based (0 ≤ I < N), as `--shard ${SLURM_ARRAY_TASK_ID}/N` for --array=0-(N-1);
/// throws a qs::Error naming the text otherwise.
SweepShard parseSweepShard(const QString& text);

/// Position in `shards` of each shard index 0 … count − 1, after checking that each comes once (else an
/// error naming the file given twice) and none is missing (an error naming the index). `paths` name them.
std::vector<std::size_t> orderShards(const std::vector<SweepShard>& shards, const QStringList& paths);

/// The whole sweep from its shard files, after checking that they belong together: every file a shard
/// (not a whole sweep), of the same sweep (SensitivityResult::identity(): model, texts, settings, entry
/// list), the same tool version and shard count, each shard once, none missing, each complete. Errors
/// name the offending file (or the missing shard). The result is an unsharded sweep: entries in canonical
/// order, base perplexity of shard 0 (every shard measures the same base), seconds summed.
/// `notes` receives what is worth a warning (base perplexities that differ between shards).
SensitivityResult mergeSweepShards(const QStringList& paths, QStringList* notes = nullptr);

/// The same, on shards already loaded (paths[i] names shards[i] in errors).
SensitivityResult mergeSweepShards(const std::vector<SensitivityResult>& shards, const QStringList& paths,
                                   QStringList* notes = nullptr);

/// Entries of two sweeps that differ in a measured value (all but the timing), as text lines; empty when
/// they hold the same entries with equal values. For checking a merge against an unsharded run.
QStringList compareSweepEntries(const SensitivityResult& a, const SensitivityResult& b);

} // namespace qs
