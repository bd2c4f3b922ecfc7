#include "Cli.h"
#include "CliOptions.h"
#include "model/Model.h"
#include "model/Transformer.h"
#include "quant/Imatrix.h"
#include "tokenizer/Tokenizer.h"
#include "util/Error.h"
#include "util/Threads.h"

#include <QCommandLineParser>
#include <algorithm>
#include <cmath>

namespace cli {

namespace {

int showImatrix(const QString& path)
{
    const qs::ImportanceMatrix m = qs::readImatrix(path);
    out() << "file:     " << path << '\n'
          << "entries:  " << m.entries.size() << '\n'
          << "chunks:   " << m.chunks << '\n';
    if (m.chunkSize > 0)
        out() << "ctx:      " << m.chunkSize << '\n';
    out() << "datasets: "
          << (m.datasets.isEmpty() ? QStringLiteral("-") : m.datasets.join(QStringLiteral(", "))) << "\n\n";
    out() << QStringLiteral("%1 %2 %3 %4 %5 %6\n")
                 .arg(QStringLiteral("tensor"), -32)
                 .arg(QStringLiteral("columns"), 8)
                 .arg(QStringLiteral("count"), 10)
                 .arg(QStringLiteral("calls"), 6)
                 .arg(QStringLiteral("mean x²"), 12)
                 .arg(QStringLiteral("max x²"), 12);
    for (const QString& name : m.orderedNames()) {
        const auto& e = m.entries.at(name);
        const std::vector<float> v = m.values(name);
        double sum = 0, mx = 0;
        for (const float x : v) {
            sum += x;
            mx = std::max(mx, double(x));
        }
        out() << QStringLiteral("%1 %2 %3 %4 %5 %6\n")
                     .arg(name, -32)
                     .arg(qulonglong(e.sumSquares.size()), 8)
                     .arg(qlonglong(e.count), 10)
                     .arg(e.calls, 6)
                     .arg(v.empty() ? 0.0 : sum / double(v.size()), 12, 'g', 6)
                     .arg(mx, 12, 'g', 6);
    }
    out().flush();
    return kExitOk;
}

} // namespace

int runImatrix(const QStringList& args)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral(
        "Importance matrix as llama-imatrix computes it (Σx² per input column of every linear over "
        "consecutive "
        "chunks of the text, BOS first), written as llama.cpp's legacy .dat or its GGUF imatrix format; or "
        "--show an existing file."));
    p.addHelpOption();
    p.addPositionalArgument(QStringLiteral("MODEL"), QStringLiteral("model folder (not with --show)"));
    p.addOptions({
        {QStringLiteral("text"), QStringLiteral("UTF-8 calibration text."), QStringLiteral("FILE")},
        {QStringLiteral("ctx"), QStringLiteral("Tokens per chunk (default 512)."), QStringLiteral("N"),
         QStringLiteral("512")},
        {QStringLiteral("chunks"), QStringLiteral("At most N chunks (default: all)."), QStringLiteral("N"),
         QStringLiteral("-1")},
        {QStringLiteral("no-output"), QStringLiteral("Do not collect the untied head (output.weight).")},
        {QStringLiteral("out"),
         QStringLiteral("Output file: .gguf = GGUF imatrix, anything else = legacy .dat."),
         QStringLiteral("FILE")},
        {QStringLiteral("show"), QStringLiteral("Print the entries of an imatrix file (either format)."),
         QStringLiteral("FILE")},
        {QStringLiteral("quiet"), QStringLiteral("No progress line.")},
        threadsOption(),
    });
    p.process(args);
    if (p.isSet(QStringLiteral("show"))) {
        if (!p.positionalArguments().isEmpty() || p.isSet(QStringLiteral("out")))
            return usageError(p, QStringLiteral("--show takes no MODEL and no --out"));
        return showImatrix(p.value(QStringLiteral("show")));
    }
    if (const QString m =
            usageProblem(p, 1, QStringLiteral("one MODEL"), {QStringLiteral("text"), QStringLiteral("out")});
        !m.isEmpty())
        return usageError(p, m);
    qs::setComputeThreads(p.value(QStringLiteral("threads")).toInt());
    qs::ImatrixOptions opt;
    opt.ctx = positiveInt(p, QStringLiteral("ctx"), qs::kImatrixMinTokens);
    bool ok = false;
    opt.chunks = p.value(QStringLiteral("chunks")).toInt(&ok);
    if (!ok || opt.chunks == 0 || opt.chunks < -1)
        throw qs::Error(QStringLiteral("--chunks must be a positive integer or -1 (all), got '%1'")
                            .arg(p.value(QStringLiteral("chunks"))));
    opt.includeOutput = !p.isSet(QStringLiteral("no-output"));
    opt.dataset = p.value(QStringLiteral("text"));

    const auto model = qs::Model::open(p.positionalArguments().front());
    const auto tokenizer = qs::Tokenizer::load(model->path());
    const qs::Transformer transformer(model);
    qs::JobContext job;
    const bool quiet = p.isSet(QStringLiteral("quiet"));
    job.progress = terminalProgress(quiet);
    const qs::ImportanceMatrix m =
        qs::computeImportanceMatrix(transformer, *tokenizer, opt.dataset, opt, job);
    if (!quiet)
        err() << '\n';
    const QString outPath = p.value(QStringLiteral("out"));
    qs::writeImatrix(m, outPath);
    std::int64_t tokens = 0;
    for (const auto& [name, e] : m.entries)
        tokens = std::max(tokens, e.count);
    out() << "wrote " << outPath << ": " << m.entries.size() << " entries, " << m.chunks << " chunks of "
          << opt.ctx << " tokens (" << tokens << " tokens per entry)\n";
    out().flush();
    return kExitOk;
}

} // namespace cli
