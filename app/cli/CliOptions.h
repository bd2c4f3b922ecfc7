#pragma once

#include "eval/Evaluation.h"
#include "eval/Perplexity.h"
#include "jobs/Job.h"

#include <QCommandLineOption>
#include <QCommandLineParser>
#include <QList>

/// Command-line options shared by several subcommands (one definition, one parser).
namespace cli {

/// What a call lacks, or "" when it has `positionals` positional arguments and every option named in
/// `required`: "expected <what>, got N arguments; --text is required; …".
QString usageProblem(const QCommandLineParser& p, int positionals, const QString& what,
                     const QStringList& required = {});
/// Joins two usage problems ("" when both are empty).
QString joinProblems(const QString& a, const QString& b);
/// A usage error: "error: <problem>", a blank line and the help text on stderr; returns kExitUsage.
int usageError(const QCommandLineParser& p, const QString& problem);

QCommandLineOption threadsOption();
/// An integer option that must be >= minimum; throws qs::Error naming the option otherwise.
int positiveInt(const QCommandLineParser& p, const QString& name, int minimum);
/// --ctx, --chunks, --skip-chunks, --protocol (the evaluation protocol of eval, quantize, sensitivity).
QList<QCommandLineOption> perplexityOptions();
qs::PerplexityOptions perplexityOptionsFrom(const QCommandLineParser& p);
/// --speed P,D: the speed measurement after an evaluation (eval/Speed.h); 0 skips it.
QCommandLineOption speedOption();
void applySpeedOption(const QCommandLineParser& p, qs::EvaluationParams& params);
/// Progress on stderr, one refreshed line at most 4 times a second (nothing when `quiet`).
qs::ProgressFn terminalProgress(bool quiet);

} // namespace cli
