#pragma once

#include "util/SystemInfo.h"

#include <QJsonObject>
#include <QList>
#include <QString>
#include <QStringList>
#include <cstddef>
#include <functional>
#include <vector>

namespace qs::bench {

/// Options of `bench eval`: our engine against llama.cpp on GGUF files exported by us.
struct EvalBenchOptions
{
    QString model;       ///< GGUF file or HF folder; empty: a synthetic model
    QString shape;       ///< synthetic shape (empty: 1b, or tiny with quick)
    int layers = 0;      ///< blocks of the synthetic model (0: the shape's)
    QString llamaCppDir; ///< folder holding llama-bench; empty: no peer columns
    QStringList formats; ///< GGUF presets exported from the model (empty: see evalThroughput)
    QList<int> threads{1, 2};
    int prompt = 512;        ///< pp: one forward of this many tokens
    int gen = 128;           ///< tg: this many one-token forwards with the KV cache
    int reps = 3;            ///< repetitions per measurement (llama-bench -r)
    int rounds = 1;          ///< ours/theirs alternations per case (noisy machine)
    QString workDir;         ///< keeps the synthetic model and exports (reused); empty: temp
    bool perplexity = false; ///< also time llama-perplexity and ours on a synthetic text
    QString one;             ///< child mode: measure only this file, in this process
    QString pplText;         ///< child mode: text for the perplexity timing
    /// Ours computes as llama.cpp does (Transformer::setLlamaCppNumerics: inputs rounded to each weight
    /// type's vec_dot type, bf16 × bf16 products summed by vdpbf16ps, f16-rounded KV): the peers' arithmetic
    /// rather than ours, whose f32 inputs are exact.
    bool llamaCppNumerics = false;
};

struct Options
{
    bool quick = false;                      ///< smaller sizes (smoke tests)
    QString dataDir;                         ///< shared data folder; empty = autodetect
    std::function<void(const QString&)> log; ///< progress lines (stderr in the CLI)
    EvalBenchOptions eval;
    /// `bench kernels`: only these format rows (names as listed in its JSON); empty: all.
    QStringList kernelFormats;
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
/// `bench eval --one FILE`: pp/tg tokens/s and peak RSS of one model in this process (the parent
/// runs it in a fresh child per case so that peak RSS is per case).
QJsonObject evalOneModel(const Options& opt);
QJsonObject quantizeModel(const Options& opt);
QJsonObject gptqThroughput(const Options& opt);
QJsonObject ggmlQuantThroughput(const Options& opt);
QJsonObject kernelThroughput(const Options& opt);
/// `bench gui`: the window's longest event-loop stalls while it loads, runs, sweeps and exports
/// (quantscope --bench-gui, one child process per model).
QJsonObject guiStalls(const Options& opt);

// Helpers shared by benchmarks.
/// The synthetic bf16 model of opt.eval.shape (1b by default, tiny with quick) and opt.eval.layers,
/// written under `work` or reused from there; `source` receives its description for the JSON.
QString syntheticModel(const Options& opt, const QString& work, QJsonObject& source);
double nowSeconds();
QJsonObject machineInfo();
/// Memory read bandwidth (GB/s, best of `reps` rounds of three passes: plain, software-prefetched, and
/// each thread's part read as eight streams side by side): `threads` threads summing disjoint parts of a
/// buffer of `bytes` (far larger than the caches) with 64-bit vector adds — the ceiling a memory-bound kernel such as a decode GEMV can reach,
/// measured in the same run as it. The buffer is a stream buffer (util/StreamBuffer: 2 MiB pages
/// where the system grants them), as the repacked weights are: on 4 KiB pages the same loop reads
/// a quarter slower on an AMD EPYC Zen 4 core (TLB walks, prefetchers stopping at every page), and
/// a yardstick on small pages would understate what the engine's weights can be read at.
/// `smallPages`: the same on an ordinary heap buffer (4 KiB pages), for comparison.
double readBandwidthGBps(std::size_t bytes, int threads, int reps, bool smallPages = false);

} // namespace qs::bench
