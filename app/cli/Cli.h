#pragma once

#include <QJsonDocument>
#include <QString>
#include <QStringList>
#include <QTextStream>
#include <memory>

class QCoreApplication;

/// Shared plumbing of the quantscope-cli subcommands. Each subcommand is a function taking its
/// own arguments (argv[0] = "quantscope-cli <command>") and returning the process exit code.
namespace cli {

QTextStream& out();
QTextStream& err();
void printJson(const QJsonDocument& doc);

/// Exit codes: 0 ok, 1 bad input or failure (message printed), 2 usage error.
constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

int runInspect(const QStringList& args);
int runBench(const QStringList& args);
int runEval(const QStringList& args);
int runGenerate(const QStringList& args);
int runRecipe(const QStringList& args);
int runQuantize(const QStringList& args);
int runCompare(const QStringList& args);
int runSensitivity(const QStringList& args);
int runAllocate(const QStringList& args);
int runMerge(const QStringList& args);
int runBatch(const QStringList& args);
int runSlurm(const QStringList& args);
int runImatrix(const QStringList& args);
int runExportHf(const QStringList& args);
int runExportGguf(const QStringList& args);
int runPlot(const QStringList& args);
int runSynth(const QStringList& args);
int runRuns(const QStringList& args);
int runPlayground(const QStringList& args);
int runTrain(const QStringList& args);
/// The application `plot` needs (QApplication; offscreen when there is no display).
std::unique_ptr<QCoreApplication> makePlotApplication(int& argc, char** argv);

} // namespace cli
