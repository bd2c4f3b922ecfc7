#include "Cli.h"
#include "CliOptions.h"
#include "io/GgufExport.h"
#include "model/Model.h"
#include "util/Error.h"

#include <QCommandLineParser>

namespace cli {

int runExportGguf(const QStringList& args)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral(
        "Exports a Hugging Face Llama-family model to a GGUF file that llama.cpp runs, with llama-quantize's "
        "per-tensor type mix for the preset (its choices for attn_v/ffn_down/output and its fallback for "
        "rows "
        "that are not a multiple of 256)."));
    p.addHelpOption();
    p.addPositionalArgument(QStringLiteral("MODEL"), QStringLiteral("Hugging Face model folder"));
    p.addOptions({
        {QStringLiteral("preset"),
         QStringLiteral("Type mix: %1 (default Q4_K_M).").arg(qs::ggufPresetNames().join(u", ")),
         QStringLiteral("NAME"), QStringLiteral("Q4_K_M")},
        {QStringLiteral("out"), QStringLiteral("Output .gguf file (written atomically)."),
         QStringLiteral("FILE")},
        {QStringLiteral("type-override"),
         QStringLiteral("REGEX=TYPE: weights whose GGUF name matches REGEX (unanchored, as llama-quantize "
                        "--tensor-type) get TYPE; repeatable, later ones win."),
         QStringLiteral("REGEX=TYPE")},
        {QStringLiteral("print-plan"), QStringLiteral("Print each tensor's type before writing.")},
        {QStringLiteral("quiet"), QStringLiteral("No progress on stderr.")},
    });
    p.process(args);
    if (p.positionalArguments().size() != 1 || !p.isSet(QStringLiteral("out"))) {
        err() << p.helpText();
        return kExitUsage;
    }
    const auto model = qs::Model::open(p.positionalArguments().front());
    qs::GgufExportPlan plan = qs::ggufPreset(*model, p.value(QStringLiteral("preset")));
    for (const QString& o : p.values(QStringLiteral("type-override"))) {
        const qsizetype eq = o.lastIndexOf(u'=');
        if (eq <= 0 || eq == o.size() - 1)
            throw qs::Error(QStringLiteral("--type-override \"%1\": expected REGEX=TYPE").arg(o));
        const auto type = qs::ggmlTypeFromName(QStringView(o).mid(eq + 1));
        if (!type)
            throw qs::Error(
                QStringLiteral("--type-override \"%1\": unknown GGUF type %2").arg(o, o.mid(eq + 1)));
        if (qs::ggufOverrideTypes(*model, plan, o.left(eq), *type) == 0)
            err() << "warning: --type-override " << o << " matches no weight tensor\n";
    }
    const QString outPath = p.value(QStringLiteral("out"));
    if (p.isSet(QStringLiteral("print-plan"))) {
        for (const qs::GgufExportTensor& t : qs::ggufExportTensors(*model)) {
            const qs::GgmlType type =
                t.role == qs::GgufExportTensor::Role::Weight ? plan.typeOf(t.name) : qs::GgmlType::F32;
            out() << t.name << '\t' << qs::ggmlTypeName(type) << '\n';
        }
        out().flush();
    }
    qs::JobContext job;
    job.progress = terminalProgress(p.isSet(QStringLiteral("quiet")));
    qs::exportGguf(*model, plan, outPath, nullptr, job);
    if (!p.isSet(QStringLiteral("quiet")))
        err() << '\n';
    out() << "wrote " << outPath << " (" << plan.preset << ", general.file_type " << plan.fileType << ")\n";
    out().flush();
    return kExitOk;
}

} // namespace cli
