#include "Cli.h"
#include "CliOptions.h"
#include "checkpoint/GgufExport.h"
#include "checkpoint/GgufSizeReport.h"
#include "model/Model.h"
#include "quant/Imatrix.h"
#include "recipe/LayerPlan.h"
#include "recipe/Recipe.h"
#include "util/Error.h"

#include <QCommandLineParser>
#include <optional>

namespace cli {

int runExportGguf(const QStringList& args)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral(
        "Exports a Llama-family model to a GGUF file that llama.cpp runs. MODEL is a Hugging Face folder, a "
        "QuantScope run with gguf layers, or a GGUF file. Types come from, in order: the preset "
        "(llama-quantize's "
        "per-tensor mix, with its choices for attn_v/ffn_down/output and its fallback for rows that are not "
        "a "
        "multiple of 256); the types the model already stores (a gguf run's layers, a GGUF file's tensors: "
        "their "
        "blocks are copied byte for byte) unless --preset is given; --recipe (a layer plan of gguf/float "
        "layers; without --preset the other weights are F16 and the token embeddings Q8_0, as the GUI's "
        "Export GGUF); --type-override. With --recipe it prints the file's size against the plan's "
        "estimate, tensor by tensor where they differ."));
    p.addHelpOption();
    p.addPositionalArgument(QStringLiteral("MODEL"), QStringLiteral("Hugging Face model folder"));
    p.addOptions({
        {QStringLiteral("preset"),
         QStringLiteral("Type mix: %1 (default Q4_K_M).").arg(qs::ggufPresetNames().join(u", ")),
         QStringLiteral("NAME"), QStringLiteral("Q4_K_M")},
        {QStringLiteral("recipe"),
         QStringLiteral(
             "Recipe whose layer plan sets each linear's type (method gguf with a type, or float)."),
         QStringLiteral("FILE")},
        {QStringLiteral("imatrix"),
         QStringLiteral(
             "Importance matrix (llama-imatrix .dat or GGUF, or `quantscope-cli imatrix`) weighting the "
             "rounding, as llama-quantize --imatrix."),
         QStringLiteral("FILE")},
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
    if (const QString m = usageProblem(p, 1, QStringLiteral("one MODEL"), {QStringLiteral("out")});
        !m.isEmpty())
        return usageError(p, m);
    const auto model = qs::Model::open(p.positionalArguments().front());
    std::optional<qs::ImportanceMatrix> imatrix;
    if (p.isSet(QStringLiteral("imatrix")))
        imatrix = qs::readImatrix(p.value(QStringLiteral("imatrix")), *model);
    std::optional<qs::LayerPlan> layers;
    if (p.isSet(QStringLiteral("recipe"))) {
        const qs::Recipe recipe = qs::Recipe::fromFile(p.value(QStringLiteral("recipe")));
        QStringList warnings;
        layers = recipe.resolve(*model, &warnings);
        for (const QString& w : warnings)
            err() << "warning: " << w << '\n';
        for (const qs::LayerPlanEntry& e : layers->entries) {
            if (!e.note.isEmpty())
                err() << e.name << ": " << e.note << '\n';
        }
    }
    qs::GgufExportPlan plan;
    if (layers && !p.isSet(QStringLiteral("preset"))) {
        plan = qs::ggufPlanForLayerPlan(*model, *layers); // as the GUI's Export GGUF
    } else {
        plan = qs::ggufPreset(*model, p.value(QStringLiteral("preset")), imatrix.has_value());
        if (!p.isSet(QStringLiteral("preset"))) {
            const int kept = qs::ggufKeepStoredTypes(*model, plan);
            if (kept > 0)
                err() << "keeping the stored types of " << kept << " tensors (--preset requantizes them)\n";
        }
        if (layers)
            qs::ggufApplyLayerPlan(*model, plan, *layers);
    }
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
    qs::GgufImportance importance;
    if (imatrix) {
        for (const auto& [name, entry] : imatrix->entries)
            importance.insert(name, imatrix->values(name));
        // Provenance keys as llama-quantize writes them (strings cut at 127 bytes, as it does).
        plan.extraMetadata.push_back(
            {QStringLiteral("quantize.imatrix.file"),
             qs::GgufValue::fromBytes(p.value(QStringLiteral("imatrix")).toUtf8().left(127))});
        if (!imatrix->datasets.isEmpty() && !imatrix->datasets.front().isEmpty())
            plan.extraMetadata.push_back(
                {QStringLiteral("quantize.imatrix.dataset"),
                 qs::GgufValue::fromBytes(imatrix->datasets.front().toUtf8().left(127))});
        plan.extraMetadata.push_back({QStringLiteral("quantize.imatrix.entries_count"),
                                      qs::GgufValue(std::int32_t(imatrix->entries.size()))});
        if (imatrix->chunks > 0)
            plan.extraMetadata.push_back({QStringLiteral("quantize.imatrix.chunks_count"),
                                          qs::GgufValue(std::int32_t(imatrix->chunks))});
    }
    qs::exportGguf(*model, plan, outPath, imatrix ? &importance : nullptr, job);
    if (!p.isSet(QStringLiteral("quiet")))
        err() << '\n';
    out() << "wrote " << outPath << " ("
          << (plan.preset.isEmpty() ? QStringLiteral("per-layer types") : plan.preset)
          << ", general.file_type " << plan.fileType << (imatrix ? ", with importance matrix" : "") << ")\n";
    if (layers) {
        for (const QString& line : qs::ggufSizeReport(*model, *layers, plan, outPath).lines())
            out() << line << '\n';
    }
    out().flush();
    return kExitOk;
}

} // namespace cli
