#pragma once

#include <QJsonObject>
#include <QString>

#include "util/SystemInfo.h"

#include <functional>
#include <vector>

namespace qs::bench {

struct Options
{
    bool quick = false;                     ///< smaller sizes (smoke tests)
    QString dataDir;                        ///< shared data folder; empty = autodetect
    std::function<void(const QString&)> log; ///< progress lines (stderr in the CLI)
};

struct Benchmark
{
    const char* name;
    const char* summary;
    std::function<QJsonObject(const Options&)> run;
};

/// The one table of benchmarks; `quantscope-cli bench` lists and runs from it.
const std::vector<Benchmark>& all();
const Benchmark* find(const QString& name);
QString listText();

// Individual benchmarks (one file each).
QJsonObject convertThroughput(const Options& opt);
QJsonObject inspectScaling(const Options& opt);
QJsonObject evalThroughput(const Options& opt);
QJsonObject quantizeModel(const Options& opt);
QJsonObject gptqThroughput(const Options& opt);
QJsonObject ggmlQuantThroughput(const Options& opt);
QJsonObject kernelThroughput(const Options& opt);

// Helpers shared by benchmarks.
double nowSeconds();
QJsonObject machineInfo();

} // namespace qs::bench
