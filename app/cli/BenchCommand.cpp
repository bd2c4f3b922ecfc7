#include "Benchmarks.h"
#include "Cli.h"
#include "CliOptions.h"
#include "util/Error.h"

#include <QCommandLineParser>
#include <QJsonArray>
#include <QJsonObject>

namespace cli {

namespace {

QList<QCommandLineOption> evalOptions()
{
    QList<QCommandLineOption> o{
        {QStringLiteral("model"),
         QStringLiteral("eval: GGUF file or HF folder (default: a synthetic bf16 model of --shape)."),
         QStringLiteral("PATH")},
        {QStringLiteral("shape"), QStringLiteral("eval: synthetic shape (default 1b; tiny with --quick)."),
         QStringLiteral("NAME")},
        {QStringLiteral("layers"),
         QStringLiteral("eval: blocks of the synthetic model (default: the shape's)."), QStringLiteral("N")},
        {QStringLiteral("llama-cpp"),
         QStringLiteral(
             "eval: folder with llama-bench (and llama-perplexity); without it the llama.cpp columns "
             "are skipped."),
         QStringLiteral("DIR")},
        {QStringLiteral("formats"),
         QStringLiteral("eval: GGUF presets exported from the model by our exporter (default "
                        "F16,BF16,Q8_0,Q4_0,Q4_K_M,IQ4_XS; Q8_0,Q4_0 with --quick; a GGUF --model or a "
                        "quantized run of ours alone: as it is). "
                        "kernels: the format rows to run (default all; names as in its JSON, e.g. "
                        "f16,bf16,bf16-a16,q4_k)."),
         QStringLiteral("LIST")},
        {QStringLiteral("threads"), QStringLiteral("eval: thread counts (default 1,2)."),
         QStringLiteral("LIST")},
        {QStringLiteral("prompt"), QStringLiteral("eval: pp tokens (default 512)."), QStringLiteral("N")},
        {QStringLiteral("gen"), QStringLiteral("eval: tg tokens (default 128)."), QStringLiteral("N")},
        {QStringLiteral("reps"), QStringLiteral("eval: repetitions per measurement (default 3)."),
         QStringLiteral("N")},
        {QStringLiteral("rounds"), QStringLiteral("eval: ours/llama.cpp alternations per case (default 1)."),
         QStringLiteral("N")},
        {QStringLiteral("work-dir"),
         QStringLiteral(
             "eval: keep the synthetic model and the GGUF files here and reuse them (default: a temp "
             "folder)."),
         QStringLiteral("DIR")},
        {QStringLiteral("perplexity"),
         QStringLiteral(
             "eval: also time llama-perplexity and ours (n_ctx = prompt, 2 chunks of a synthetic text).")},
        {QStringLiteral("llamacpp-numerics"),
         QStringLiteral(
             "eval: ours computes as llama.cpp does (inputs rounded to each weight type's vec_dot "
             "type, bf16 products by vdpbf16ps, f16-rounded KV) instead of with exact f32 inputs.")},
        {QStringLiteral("one"),
         QStringLiteral("eval: measure one file in this process (used by eval itself)."),
         QStringLiteral("FILE")},
        {QStringLiteral("ppl-text"), QStringLiteral("eval --one: text to time perplexity on."),
         QStringLiteral("FILE")},
    };
    o[o.size() - 1].setFlags(QCommandLineOption::HiddenFromHelp);
    o[o.size() - 2].setFlags(QCommandLineOption::HiddenFromHelp);
    return o;
}

int positiveInt(const QCommandLineParser& p, const QString& name, int fallback)
{
    if (!p.isSet(name))
        return fallback;
    bool ok = false;
    const int v = p.value(name).toInt(&ok);
    if (!ok || v < 1)
        throw qs::Error(QStringLiteral("--%1 %2: expected a positive number").arg(name, p.value(name)));
    return v;
}

qs::bench::EvalBenchOptions evalOptionsFrom(const QCommandLineParser& p)
{
    qs::bench::EvalBenchOptions e;
    e.model = p.value(QStringLiteral("model"));
    e.shape = p.value(QStringLiteral("shape"));
    e.layers = positiveInt(p, QStringLiteral("layers"), 0);
    e.llamaCppDir = p.value(QStringLiteral("llama-cpp"));
    if (p.isSet(QStringLiteral("formats")))
        e.formats = p.value(QStringLiteral("formats")).split(u',', Qt::SkipEmptyParts);
    if (p.isSet(QStringLiteral("threads"))) {
        e.threads.clear();
        for (const QString& t : p.value(QStringLiteral("threads")).split(u',', Qt::SkipEmptyParts)) {
            bool ok = false;
            const int n = t.toInt(&ok);
            if (!ok || n < 1)
                throw qs::Error(QStringLiteral("--threads %1: expected a list of positive numbers")
                                    .arg(p.value(QStringLiteral("threads"))));
            e.threads << n;
        }
    }
    e.prompt = positiveInt(p, QStringLiteral("prompt"), e.prompt);
    e.gen = positiveInt(p, QStringLiteral("gen"), e.gen);
    e.reps = positiveInt(p, QStringLiteral("reps"), e.reps);
    e.rounds = positiveInt(p, QStringLiteral("rounds"), e.rounds);
    e.workDir = p.value(QStringLiteral("work-dir"));
    e.perplexity = p.isSet(QStringLiteral("perplexity"));
    e.one = p.value(QStringLiteral("one"));
    e.pplText = p.value(QStringLiteral("ppl-text"));
    e.llamaCppNumerics = p.isSet(QStringLiteral("llamacpp-numerics"));
    return e;
}

} // namespace

int runBench(const QStringList& args)
{
    QCommandLineParser p;
    p.setApplicationDescription(
        QStringLiteral("Runs benchmarks and prints their results as JSON.\n\nbenchmarks:\n") +
        qs::bench::listText());
    p.addHelpOption();
    p.addPositionalArgument(QStringLiteral("NAME"), QStringLiteral("benchmark name, or 'all'"));
    p.addOption({QStringLiteral("json"), QStringLiteral("JSON output (always on; kept for scripts).")});
    p.addOption({QStringLiteral("quick"), QStringLiteral("Smaller sizes, for smoke tests.")});
    p.addOption({QStringLiteral("data"),
                 QStringLiteral("Shared data folder (default: $QUANTSCOPE_DATA or ../shared/data)."),
                 QStringLiteral("DIR")});
    p.addOptions(evalOptions());
    p.process(args);
    if (const QString m = usageProblem(p, 1, QStringLiteral("one benchmark NAME (or 'all')")); !m.isEmpty())
        return usageError(p, m);
    qs::bench::Options opt;
    opt.quick = p.isSet(QStringLiteral("quick"));
    opt.dataDir = p.value(QStringLiteral("data"));
    opt.eval = evalOptionsFrom(p);
    opt.kernelFormats = opt.eval.formats;
    opt.log = [](const QString& line) {
        err() << line << '\n';
        err().flush();
    };
    const QString name = p.positionalArguments().front();
    QJsonObject result;
    if (name == u"eval" && !opt.eval.one.isEmpty()) {
        result = qs::bench::evalOneModel(opt); // the child of `bench eval`: one case, one process
    } else if (name == u"all") {
        for (const qs::bench::Benchmark& b : qs::bench::all())
            result.insert(QLatin1String(b.name), b.run(opt));
    } else {
        const qs::bench::Benchmark* b = qs::bench::find(name);
        if (!b) {
            err() << "unknown benchmark '" << name << "'\n" << p.helpText();
            return kExitUsage;
        }
        result = b->run(opt);
    }
    printJson(QJsonDocument(result));
    return kExitOk;
}

} // namespace cli
