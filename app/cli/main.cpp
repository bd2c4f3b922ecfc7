#include "Cli.h"
#include "kernels/CpuFeatures.h"
#include "util/Error.h"

#include <QCoreApplication>
#include <cstdio>
#include <functional>

namespace cli {

QTextStream& out()
{
    static QTextStream s(stdout);
    return s;
}

QTextStream& err()
{
    static QTextStream s(stderr);
    return s;
}

void printJson(const QJsonDocument& doc)
{
    out() << QString::fromUtf8(doc.toJson(QJsonDocument::Indented));
    out().flush();
}

namespace {

struct Command
{
    const char* name;
    const char* summary;
    std::function<int(const QStringList&)> run;
};

const std::vector<Command>& commands()
{
    static const std::vector<Command> table{
        {"inspect", "architecture summary, per-tensor table and totals of a model", runInspect},
        {"eval", "perplexity (llama.cpp protocol or windows), KLD and top-1 agreement vs a base", runEval},
        {"generate", "text generation from a prompt (KV-cache decoding)", runGenerate},
        {"quantize", "layer-by-layer quantization with a recipe; saves packed storage; optional eval",
         runQuantize},
        {"compare",
         "table of runs: bpw, size, ppl ± err, Δppl ± paired err, KLD, top-1 %, time (text, CSV or JSON)",
         runCompare},
        {"bench", "benchmarks printing JSON (convert, inspect, eval, …)", runBench},
        {"recipe", "check a quantization recipe against a model, export it (llama.cpp, GPTQModel)",
         runRecipe},
        {"sensitivity", "per-layer sensitivity sweep over candidate schemes (Δppl, KLD, proxies), resumable",
         runSensitivity},
        {"imatrix", "importance matrix (as llama-imatrix): compute from text to .dat/.gguf, or --show a file",
         runImatrix},
        {"merge", "merge the shard files of a sensitivity sweep (--shard I/N) into one sweep file", runMerge},
        {"batch", "a batch of quantize + evaluate runs from BATCH.json, shardable (--shard I/N)", runBatch},
        {"slurm", "run a sharded sweep as a Slurm job array: submit, status, merge", runSlurm},
        {"allocate", "mixed precision under a budget from a sweep: recipe, Pareto front, measured check",
         runAllocate},
        {"export-gguf", "export a HF Llama model to GGUF with llama-quantize's per-tensor preset mixes",
         runExportGguf},
        {"export-hf", "export a quantized run as a Hugging Face GPTQ or AWQ checkpoint (quantization_config)",
         runExportHf},
        {"synth", "write a Llama-shaped HF model with random weights (1b, 3b, 8b, tiny; streaming)",
         runSynth},
        {"runs",
         "the results database: list, show, export (CSV/JSON), rm, restore, tag, rename, import, check",
         runRuns},
        {"plot", "comparison plots of runs as PNG/PDF + CSV (pareto, memory, histogram, layers, weights)",
         runPlot},
        {"playground",
         "one row quantized with one scheme, as the GUI's playground shows it (MSE, SNR, levels)",
         runPlayground},
        {"train", "quantization-aware training of a quantized model (STE; AdamW; loss curve, resume)", runTrain},
    };
    return table;
}

void usage()
{
    err() << "usage: quantscope-cli <command> [options]   (quantscope-cli <command> --help)\n\ncommands:\n";
    for (const Command& c : commands())
        err() << "  " << QString::fromLatin1(c.name).leftJustified(12) << QString::fromUtf8(c.summary)
              << '\n';
    err().flush();
}

} // namespace
} // namespace cli

int main(int argc, char** argv)
{
    if (const char* missing = qs::missingBaselineCpuFeatures()) { // before any AVX2 code runs
        std::fputs(missing, stderr);
        return 1;
    }
    // Only `plot` needs Qt Widgets (rendering); every other command stays a QCoreApplication.
    const auto app = argc > 1 && qstrcmp(argv[1], "plot") == 0
                         ? cli::makePlotApplication(argc, argv)
                         : std::make_unique<QCoreApplication>(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("quantscope-cli"));
    QCoreApplication::setApplicationVersion(QStringLiteral(QUANTSCOPE_VERSION));
    QStringList args = QCoreApplication::arguments();
    if (args.size() < 2 || args[1] == u"--help" || args[1] == u"-h") {
        cli::usage();
        return args.size() < 2 ? cli::kExitUsage : cli::kExitOk;
    }
    if (args[1] == u"--version") {
        cli::out() << "quantscope-cli " << QCoreApplication::applicationVersion() << '\n';
        return cli::kExitOk;
    }
    const QString name = args[1];
    for (const cli::Command& c : cli::commands()) {
        if (name == QLatin1String(c.name)) {
            args.removeAt(1);
            args[0] = u"quantscope-cli " + name;
            try {
                return c.run(args);
            } catch (const qs::Error& e) {
                cli::err() << "error: " << e.message() << '\n';
                return cli::kExitFailure;
            } catch (const std::bad_alloc&) {
                cli::err() << "error: out of memory\n";
                return cli::kExitFailure;
            }
        }
    }
    cli::err() << "unknown command '" << name << "'\n";
    cli::usage();
    return cli::kExitUsage;
}
