#include "CliOptions.h"

#include "Cli.h"
#include "util/Error.h"

#include <chrono>

namespace cli {

QString usageProblem(const QCommandLineParser& p, int positionals, const QString& what,
                     const QStringList& required)
{
    QString problem;
    const qsizetype got = p.positionalArguments().size();
    if (got != positionals)
        problem = QStringLiteral("expected %1, got %2 argument%3")
                      .arg(what)
                      .arg(got)
                      .arg(got == 1 ? QString() : QStringLiteral("s"));
    for (const QString& name : required)
        if (!p.isSet(name))
            problem = joinProblems(problem, QStringLiteral("--%1 is required").arg(name));
    return problem;
}

QString joinProblems(const QString& a, const QString& b)
{
    return a.isEmpty() ? b : b.isEmpty() ? a : a + QStringLiteral("; ") + b;
}

int usageError(const QCommandLineParser& p, const QString& problem)
{
    err() << "error: " << problem << "\n\n" << p.helpText();
    return kExitUsage;
}

QCommandLineOption threadsOption()
{
    return {QStringLiteral("threads"), QStringLiteral("Compute threads (default: all cores)."),
            QStringLiteral("N"), QStringLiteral("0")};
}

int positiveInt(const QCommandLineParser& p, const QString& name, int minimum)
{
    bool ok = false;
    const int v = p.value(name).toInt(&ok);
    if (!ok || v < minimum)
        throw qs::Error(QStringLiteral("--%1 must be an integer >= %2, got '%3'")
                            .arg(name)
                            .arg(minimum)
                            .arg(p.value(name)));
    return v;
}

QList<QCommandLineOption> perplexityOptions()
{
    return {
        {QStringLiteral("ctx"), QStringLiteral("Tokens per chunk (default 512)."), QStringLiteral("N"),
         QStringLiteral("512")},
        {QStringLiteral("chunks"), QStringLiteral("Evaluate at most N chunks (default: all)."),
         QStringLiteral("N"), QStringLiteral("-1")},
        {QStringLiteral("skip-chunks"),
         QStringLiteral("Skip the first K chunks (hold out what a sensitivity sweep used)."),
         QStringLiteral("K"), QStringLiteral("0")},
        {QStringLiteral("protocol"), QStringLiteral("llamacpp (score second half of each chunk) or windows."),
         QStringLiteral("NAME"), QStringLiteral("llamacpp")},
    };
}

qs::PerplexityOptions perplexityOptionsFrom(const QCommandLineParser& p)
{
    qs::PerplexityOptions o;
    o.protocol = qs::protocolFromName(p.value(QStringLiteral("protocol")));
    o.ctx = positiveInt(p, QStringLiteral("ctx"), 4);
    bool ok = false;
    o.maxChunks = p.value(QStringLiteral("chunks")).toInt(&ok);
    if (!ok || o.maxChunks == 0 || o.maxChunks < -1)
        throw qs::Error(QStringLiteral("--chunks must be a positive integer or -1 (all), got '%1'")
                            .arg(p.value(QStringLiteral("chunks"))));
    o.firstChunk = positiveInt(p, QStringLiteral("skip-chunks"), 0);
    return o;
}

QCommandLineOption speedOption()
{
    return {QStringLiteral("speed"),
            QStringLiteral(
                "After the perplexity run, measure prefill and decode speed and memory of the model as it "
                "runs: P prompt tokens, then D one-token steps (default 128,32; 0 skips)."),
            QStringLiteral("P,D"), QStringLiteral("128,32")};
}

void applySpeedOption(const QCommandLineParser& p, qs::EvaluationParams& params)
{
    const QStringList parts = p.value(QStringLiteral("speed")).split(u',');
    bool okP = false, okD = parts.size() == 2;
    const int prefill = parts.value(0).toInt(&okP), decode = okD ? parts.value(1).toInt(&okD) : 0;
    if (parts == QStringList{QStringLiteral("0")}) {
        params.speedPrefillTokens = params.speedDecodeTokens = 0;
        return;
    }
    if (!okP || !okD || prefill < 1 || decode < 1)
        throw qs::Error(QStringLiteral("--speed takes P,D (two positive token counts) or 0, got '%1'")
                            .arg(p.value(QStringLiteral("speed"))));
    params.speedPrefillTokens = prefill;
    params.speedDecodeTokens = decode;
}

qs::ProgressFn terminalProgress(bool quiet)
{
    return [quiet, last = std::chrono::steady_clock::time_point()](const qs::JobProgress& pr) mutable {
        const auto now = std::chrono::steady_clock::now();
        if (!quiet && (now - last > std::chrono::milliseconds(250) || pr.fraction >= 1.0)) {
            last = now;
            QString line = QStringLiteral("\r[%1%] %2 %3")
                               .arg(pr.fraction >= 0 ? int(pr.fraction * 100) : 0, 3)
                               .arg(pr.stage, pr.detail);
            if (pr.etaSeconds >= 0)
                line += QStringLiteral(" (ETA %1 s)").arg(pr.etaSeconds, 0, 'f', 0);
            err() << line.leftJustified(110);
            err().flush();
        }
    };
}

} // namespace cli
