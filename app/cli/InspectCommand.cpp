#include "Cli.h"

#include "model/Model.h"
#include "model/ModelSummary.h"
#include "util/Paths.h"

#include <QCommandLineParser>

namespace cli {

int runInspect(const QStringList& args)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral("Shows a model's architecture, its tensors and totals. "
                                               "Reads headers only, never tensor data."));
    p.addHelpOption();
    p.addPositionalArgument(QStringLiteral("MODEL"), QStringLiteral("Hugging Face model folder"));
    p.addOption({QStringLiteral("json"), QStringLiteral("Print JSON instead of text.")});
    p.process(args);
    if (p.positionalArguments().size() != 1) {
        err() << p.helpText();
        return kExitUsage;
    }
    const auto model = qs::Model::open(p.positionalArguments().front());
    if (p.isSet(QStringLiteral("json"))) {
        printJson(QJsonDocument(qs::modelSummaryJson(*model)));
        return kExitOk;
    }
    out() << qs::modelSummaryText(*model);
    out().flush();
    return kExitOk;
}

} // namespace cli
