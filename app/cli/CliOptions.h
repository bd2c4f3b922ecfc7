#pragma once

#include "eval/Evaluation.h"
#include "eval/Perplexity.h"
#include "jobs/Job.h"

#include <QCommandLineOption>
#include <QCommandLineParser>
#include <QList>

/// Command-line options shared by several subcommands (one definition, one parser).
namespace cli {

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
