#include "Cli.h"
#include "model/Model.h"
#include "model/ModelProfile.h"
#include "model/ModelSummary.h"
#include "util/Paths.h"

#include <QCommandLineParser>

namespace cli {

int runInspect(const QStringList& args)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral("Shows a model's architecture, its tensors and totals. "
                                               "Reads headers only, never tensor data, unless --profile "
                                               "samples weight rows."));
    p.addHelpOption();
    p.addPositionalArgument(QStringLiteral("MODEL"), QStringLiteral("Hugging Face model folder"));
    p.addOption({QStringLiteral("json"), QStringLiteral("Print JSON instead of text.")});
    p.addOption({QStringLiteral("profile"),
                 QStringLiteral("Also the model's picture (the GUI's Overview): parameters and bytes by "
                                "layer kind, and each linear kind's weight spread from sampled rows.")});
    p.addOption({QStringLiteral("rows"),
                 QStringLiteral("With --profile: rows sampled per layer (default 8)."), QStringLiteral("N"),
                 QStringLiteral("8")});
    p.process(args);
    if (p.positionalArguments().size() != 1) {
        err() << p.helpText();
        return kExitUsage;
    }
    const auto model = qs::Model::open(p.positionalArguments().front());
    bool rowsOk = false;
    const int rows = p.value(QStringLiteral("rows")).toInt(&rowsOk);
    if (!rowsOk || rows < 0) {
        err() << "inspect: --rows needs a count >= 0\n";
        return kExitUsage;
    }
    const bool profile = p.isSet(QStringLiteral("profile"));
    if (p.isSet(QStringLiteral("json"))) {
        QJsonObject o = qs::modelSummaryJson(*model);
        if (profile)
            o.insert(QStringLiteral("profile"), qs::profileModel(*model, rows).toJson());
        printJson(QJsonDocument(o));
        return kExitOk;
    }
    out() << qs::modelSummaryText(*model);
    if (profile)
        out() << "\n" << qs::profileModel(*model, rows).toText();
    out().flush();
    return kExitOk;
}

} // namespace cli
