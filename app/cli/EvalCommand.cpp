#include "Cli.h"
#include "CliOptions.h"
#include "eval/Evaluation.h"
#include "model/Generate.h"
#include "model/Transformer.h"
#include "tokenizer/Tokenizer.h"
#include "util/Error.h"
#include "util/Threads.h"

#include <QCommandLineParser>
#include <QJsonArray>
#include <QJsonObject>
#include <chrono>

namespace cli {

int runEval(const QStringList& args)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral(
        "Perplexity of a model on a text (llama.cpp's protocol by default), and KLD / top-token agreement "
        "against a stored base run."));
    p.addHelpOption();
    p.addPositionalArgument(QStringLiteral("MODEL"), QStringLiteral("model folder or GGUF file"));
    p.addOptions({
        {QStringLiteral("text"), QStringLiteral("UTF-8 text file to evaluate on."), QStringLiteral("FILE")},
        {QStringLiteral("llamacpp-numerics"),
         QStringLiteral(
             "Compute as llama.cpp's CPU backend does (inputs rounded to each weight type's dot-product "
             "type, f16 KV cache), to predict llama-perplexity's numbers for a GGUF.")},
        {QStringLiteral("save-base"), QStringLiteral("Store this run's logits as a KLD base."),
         QStringLiteral("FILE")},
        {QStringLiteral("kld-base"), QStringLiteral("Compare against a stored KLD base."),
         QStringLiteral("FILE")},
        {QStringLiteral("json"), QStringLiteral("Print JSON.")},
        threadsOption(),
        speedOption(),
    });
    p.addOptions(perplexityOptions());
    p.process(args);
    if (const QString m = usageProblem(p, 1, QStringLiteral("one MODEL"), {QStringLiteral("text")});
        !m.isEmpty())
        return usageError(p, m);
    if (p.isSet(QStringLiteral("save-base")) && p.isSet(QStringLiteral("kld-base")))
        throw qs::Error(
            QStringLiteral("--save-base and --kld-base are exclusive: store a base from the original "
                           "model, then compare a quantized one against it"));
    qs::setComputeThreads(p.value(QStringLiteral("threads")).toInt());
    qs::EvaluationParams params;
    params.textPath = p.value(QStringLiteral("text"));
    params.perplexity = perplexityOptionsFrom(p);
    params.saveBasePath = p.value(QStringLiteral("save-base"));
    params.kldBasePath = p.value(QStringLiteral("kld-base"));
    applySpeedOption(p, params);

    const auto model = qs::Model::open(p.positionalArguments().front());
    const auto tokenizer = qs::Tokenizer::load(model->path());
    qs::Transformer transformer(model);
    if (p.isSet(QStringLiteral("llamacpp-numerics")))
        transformer.setLlamaCppNumerics();
    qs::JobContext job;
    const bool json = p.isSet(QStringLiteral("json"));
    job.progress = [json, last = std::chrono::steady_clock::time_point()](const qs::JobProgress& pr) mutable {
        const auto now =
            std::chrono::steady_clock::now(); // a terminal line, refreshed at most 4 times a second
        if (!json && !pr.detail.isEmpty() &&
            (now - last > std::chrono::milliseconds(250) || pr.fraction >= 1.0)) {
            last = now;
            err() << '\r' << pr.stage << ": " << pr.detail << "   ";
            err().flush();
        }
    };
    const qs::EvaluationResult r = qs::runEvaluation(transformer, *tokenizer, params, job);
    if (!json)
        err() << '\n';
    if (json)
        printJson(QJsonDocument(r.toJson()));
    else
        out() << r.toText();
    out().flush();
    return kExitOk;
}

int runGenerate(const QStringList& args)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral("Generates text from a prompt (KV-cache decoding)."));
    p.addHelpOption();
    p.addPositionalArgument(QStringLiteral("MODEL"), QStringLiteral("model folder"));
    p.addOptions({
        {QStringLiteral("prompt"), QStringLiteral("Prompt text."), QStringLiteral("TEXT")},
        {{QStringLiteral("n"), QStringLiteral("tokens")},
         QStringLiteral("Tokens to generate (default 64)."),
         QStringLiteral("N"),
         QStringLiteral("64")},
        {QStringLiteral("temp"), QStringLiteral("Temperature; 0 = greedy (default 0.8)."),
         QStringLiteral("T"), QStringLiteral("0.8")},
        {QStringLiteral("top-p"), QStringLiteral("Nucleus sampling mass (default 0.95)."),
         QStringLiteral("P"), QStringLiteral("0.95")},
        {QStringLiteral("seed"), QStringLiteral("Random seed (default 42)."), QStringLiteral("S"),
         QStringLiteral("42")},
        {QStringLiteral("json"), QStringLiteral("Print JSON.")},
        threadsOption(),
    });
    p.process(args);
    if (const QString m = usageProblem(p, 1, QStringLiteral("one MODEL"), {QStringLiteral("prompt")});
        !m.isEmpty())
        return usageError(p, m);
    qs::setComputeThreads(p.value(QStringLiteral("threads")).toInt());
    qs::GenerateOptions opt;
    opt.maxTokens = positiveInt(p, QStringLiteral("n"), 1);
    opt.temperature = p.value(QStringLiteral("temp")).toFloat();
    opt.topP = p.value(QStringLiteral("top-p")).toFloat();
    opt.seed = p.value(QStringLiteral("seed")).toULongLong();
    if (opt.temperature < 0 || !(opt.topP > 0 && opt.topP <= 1))
        throw qs::Error(QStringLiteral("--temp must be >= 0 and --top-p in (0, 1]"));
    const auto model = qs::Model::open(p.positionalArguments().front());
    const auto tokenizer = qs::Tokenizer::load(model->path());
    const qs::Transformer transformer(model);
    const bool json = p.isSet(QStringLiteral("json"));
    const std::string prompt = p.value(QStringLiteral("prompt")).toStdString();
    if (!json) {
        out() << QString::fromStdString(prompt);
        out().flush();
    }
    const qs::GenerateResult r =
        qs::generate(transformer, *tokenizer, prompt, opt, [json](const std::string& piece) {
            if (!json) {
                out() << QString::fromStdString(piece);
                out().flush();
            }
        });
    if (json) {
        QJsonArray ids;
        for (int t : r.tokens)
            ids.append(t);
        printJson(QJsonDocument(QJsonObject{{QStringLiteral("prompt"), QString::fromStdString(prompt)},
                                            {QStringLiteral("prompt_tokens"), int(r.promptTokens.size())},
                                            {QStringLiteral("text"), QString::fromStdString(r.text)},
                                            {QStringLiteral("token_ids"), ids},
                                            {QStringLiteral("seconds"), r.seconds},
                                            {QStringLiteral("tokens_per_second"), r.tokensPerSecond}}));
    } else {
        out() << "\n";
        err() << QStringLiteral("[%1 tokens, %2 tokens/s]\n")
                     .arg(r.tokens.size())
                     .arg(r.tokensPerSecond, 0, 'f', 1);
    }
    return kExitOk;
}

} // namespace cli
