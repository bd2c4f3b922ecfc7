#pragma once

#include "results/ExperimentJob.h"
#include "store/ResultsDb.h"

#include <QCommandLineParser>
#include <memory>

/// The results database as the CLI commands use it (RunsCommand.cpp).
namespace cli {

/// Opens `folder`'s database; prints the warning when a damaged one was moved aside. Throws qs::Error.
std::unique_ptr<qs::ResultsDb> openRunsDatabase(const QString& folder);
/// --runs DIR when given, else ResultsDb::defaultFolder().
QString runsFolderFrom(const QCommandLineParser& p);
/// Records a finished quantize run in `folder`'s database ("off": not at all). A database that
/// cannot be written does not fail the run: a warning says the result was not recorded.
void recordQuantizeRun(const QString& folder, const qs::ExperimentParams& params,
                       const qs::ExperimentResult& result, bool quiet);

/// Imports results files (merged sweeps, run folders) into `folder`'s database ("off": nothing); a
/// failure only warns. Shards on a cluster do not write the database (SQLite over a network file
/// system is not safe); merge, on the machine the user works on, records what they made.
void recordResults(const QString& folder, const QStringList& paths, bool quiet);
/// The --runs option of the commands that record (quantize, batch, merge).
QCommandLineOption recordRunsOption();

} // namespace cli
