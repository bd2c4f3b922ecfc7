#pragma once

#include "results/ExperimentJob.h"
#include "store/ResultsDb.h"

#include <QString>
#include <QStringList>

namespace qs {

/// What an import recorded, and what it could not read (each message names its file).
struct ImportReport
{
    int runs = 0;
    int sweeps = 0;
    QStringList errors;
};

/// Imports results written before the database existed, or elsewhere: a quantize output folder or
/// its run.json, an eval JSON (a float baseline), a sensitivity sweep JSON, a session file, a JSON
/// file of the earlier run store; a folder holding none of these is searched one level down (run
/// folders and *.json files). The same run or sweep imported twice is one row. A file that cannot
/// be read is reported and skipped; nothing is half-recorded (each run is one transaction).
ImportReport importResults(ResultsDb& db, const QStringList& paths);

/// A file's bytes; throws Error naming it when it cannot be read.
QByteArray readResultsFile(const QString& file);

/// Imports a JSON file of the earlier per-model run store ("format": "quantscope-runs", `bytes` its
/// content) under the model identity it names, with the checkpoint folders that still exist, in
/// one transaction; returns the number of runs (the baseline aside). Throws Error naming `file`.
int importRunStoreFile(ResultsDb& db, const QString& file, const QByteArray& bytes);

/// Records a finished experiment (the CLI's quantize) with its recipe and checkpoint; returns the
/// row id. Throws Error when the database cannot be written.
qint64 recordExperiment(ResultsDb& db, const ExperimentParams& params, const ExperimentResult& result);

} // namespace qs
