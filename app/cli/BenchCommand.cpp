#include "Cli.h"

#include "Benchmarks.h"

#include <QCommandLineParser>
#include <QJsonArray>
#include <QJsonObject>

namespace cli {

int runBench(const QStringList& args)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral("Runs benchmarks and prints their results as JSON.\n\nbenchmarks:\n") +
                                qs::bench::listText());
    p.addHelpOption();
    p.addPositionalArgument(QStringLiteral("NAME"), QStringLiteral("benchmark name, or 'all'"));
    p.addOption({QStringLiteral("json"), QStringLiteral("JSON output (always on; kept for scripts).")});
    p.addOption({QStringLiteral("quick"), QStringLiteral("Smaller sizes, for smoke tests.")});
    p.addOption({QStringLiteral("data"), QStringLiteral("Shared data folder (default: $QUANTSCOPE_DATA or ../shared/data)."),
                 QStringLiteral("DIR")});
    p.process(args);
    if (p.positionalArguments().size() != 1) {
        err() << p.helpText();
        return kExitUsage;
    }
    qs::bench::Options opt;
    opt.quick = p.isSet(QStringLiteral("quick"));
    opt.dataDir = p.value(QStringLiteral("data"));
    opt.log = [](const QString& line) {
        err() << line << '\n';
        err().flush();
    };
    const QString name = p.positionalArguments().front();
    QJsonObject result;
    if (name == u"all") {
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
