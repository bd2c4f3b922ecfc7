#include "Cli.h"
#include "CliOptions.h"
#include "model/Model.h"
#include "model/ModelCheck.h"
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
                                               "samples weight rows or --check reads every value."));
    p.addHelpOption();
    p.addPositionalArgument(QStringLiteral("MODEL"), QStringLiteral("Hugging Face model folder"));
    p.addOption({QStringLiteral("json"), QStringLiteral("Print JSON instead of text.")});
    p.addOption({QStringLiteral("profile"),
                 QStringLiteral("Also the model's picture (the GUI's Overview): parameters and bytes by "
                                "layer kind, and each linear kind's weight spread from sampled rows.")});
    p.addOption({QStringLiteral("rows"),
                 QStringLiteral("With --profile: rows sampled per layer (default 8)."), QStringLiteral("N"),
                 QStringLiteral("8")});
    p.addOption(
        {QStringLiteral("check"),
         QStringLiteral("Also read every value of every float or ggml-block tensor (with progress): NaN, "
                        "Inf, subnormal values and all-zero rows per tensor; exit status 1 when any "
                        "NaN or Inf is found.")});
    p.process(args);
    if (const QString m = usageProblem(p, 1, QStringLiteral("one MODEL")); !m.isEmpty())
        return usageError(p, m);
    const auto model = qs::Model::open(p.positionalArguments().front());
    bool rowsOk = false;
    const int rows = p.value(QStringLiteral("rows")).toInt(&rowsOk);
    if (!rowsOk || rows < 0) {
        err() << "inspect: --rows needs a count >= 0\n";
        return kExitUsage;
    }
    const bool profile = p.isSet(QStringLiteral("profile")), json = p.isSet(QStringLiteral("json"));
    std::optional<qs::ModelValueCheck> check;
    if (p.isSet(QStringLiteral("check"))) {
        qs::JobContext job;
        job.progress = terminalProgress(false);
        check = qs::checkModelValues(*model, job);
        err() << '\n';
    }
    const int status = check && check->hasNonFinite() ? kExitFailure : kExitOk;
    if (json) {
        QJsonObject o = qs::modelSummaryJson(*model);
        if (profile)
            o.insert(QStringLiteral("profile"), qs::profileModel(*model, rows).toJson());
        if (check)
            o.insert(QStringLiteral("check"), check->toJson());
        printJson(QJsonDocument(o));
        return status;
    }
    out() << qs::modelSummaryText(*model);
    if (profile)
        out() << "\n" << qs::profileModel(*model, rows).toText();
    if (check)
        out() << "\n" << check->toText();
    out().flush();
    if (status != kExitOk)
        err() << "error: " << model->path() << ": non-finite weights (see above)\n";
    return status;
}

} // namespace cli
