#include "Cli.h"
#include "CliOptions.h"
#include "checkpoint/GgufTypePolicy.h"
#include "model/Model.h"
#include "recipe/Recipe.h"
#include "recipe/RecipeExport.h"
#include "util/Paths.h"
#include "util/ShellQuote.h"

#include <QCommandLineParser>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonObject>
#include <QLocale>

namespace cli {

namespace {

void recipeUsage()
{
    err() << "usage: quantscope-cli recipe <subcommand> …\n\n"
             "  check RECIPE MODEL [--json] [--strict]\n"
             "        validate a recipe and print the plan it gives MODEL (exit 1 on errors)\n"
             "  export RECIPE MODEL --format llamacpp|gptqmodel [--json] [--input F] [--output F] [--imatrix "
             "F]\n"
             "        the complete llama-quantize command, or a GPTQModel base config + dynamic overrides\n"
             "  template\n"
             "        print an example recipe\n";
    err().flush();
}

QString grouped(std::uint64_t v)
{
    QLocale c = QLocale::c();
    c.setNumberOptions({}); // digit grouping: 5,824
    return c.toString(qulonglong(v));
}

QString groupColumn(const qs::QuantSpec& s)
{
    if (s.method == qs::QuantMethod::Float)
        return QStringLiteral("-");
    switch (s.granularity) {
    case qs::Granularity::PerGroup:
        return QString::number(s.groupSize);
    case qs::Granularity::PerChannel:
        return QStringLiteral("channel");
    case qs::Granularity::PerTensor:
        return QStringLiteral("tensor");
    }
    return {};
}

int specBits(const qs::QuantSpec& s)
{
    return s.method == qs::QuantMethod::Float ? 8 * qs::dtypeInfo(s.floatType).bytes : s.bits;
}

struct Loaded
{
    qs::Recipe recipe;
    std::shared_ptr<const qs::Model> model;
    qs::LayerPlan plan;
    QStringList warnings;
};

Loaded load(const QString& recipePath, const QString& modelPath)
{
    Loaded l;
    l.recipe = qs::Recipe::fromFile(recipePath);
    l.model = qs::Model::open(modelPath);
    l.plan = l.recipe.resolve(*l.model, &l.warnings);
    return l;
}

int runCheck(const QStringList& args)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral(
        "Validates a recipe and prints the plan it gives a model: every linear layer's spec, its bytes and "
        "bits per weight, model size before and after, and warnings (rules matching no layer, missing "
        "calibration text). Exit 1 when the recipe is invalid, naming the file and the JSON path."));
    p.addHelpOption();
    p.addPositionalArgument(QStringLiteral("RECIPE"), QStringLiteral("recipe JSON file"));
    p.addPositionalArgument(QStringLiteral("MODEL"), QStringLiteral("Hugging Face model folder"));
    p.addOptions({
        {QStringLiteral("json"), QStringLiteral("Print JSON.")},
        {QStringLiteral("strict"),
         QStringLiteral("Exit 1 on warnings and on problems for a quantization run too.")},
    });
    p.process(args);
    if (const QString m = usageProblem(p, 2, QStringLiteral("RECIPE and MODEL")); !m.isEmpty())
        return usageError(p, m);
    const Loaded l = load(p.positionalArguments()[0], p.positionalArguments()[1]);
    const qs::Model& model = *l.model;
    const QStringList problems = l.recipe.problemsForRun(l.plan);
    const std::uint64_t before = model.totals().bytes;
    const std::uint64_t after = l.plan.modelBytes(model);
    std::uint64_t linearBefore = 0;
    for (const qs::LinearLayerInfo& li : model.linears())
        linearBefore += li.bytes();
    const std::uint64_t linearAfter = l.plan.linearBytes(model);
    const double bpw = l.plan.linearBitsPerWeight(model);
    const bool failed = p.isSet(QStringLiteral("strict")) && (!l.warnings.isEmpty() || !problems.isEmpty());

    if (p.isSet(QStringLiteral("json"))) {
        QJsonArray layers;
        for (const qs::LayerPlanEntry& e : l.plan.entries) {
            const qs::LinearLayerInfo& li = model.linears()[std::size_t(e.linearIndex)];
            const qs::QuantSpec::Cost cost = e.spec.cost(li.outFeatures, li.inFeatures);
            layers.append(QJsonObject{
                {QStringLiteral("name"), e.name},
                {QStringLiteral("label"), e.spec.label()},
                {QStringLiteral("spec"), e.spec.toJson()},
                {QStringLiteral("rows"), qint64(li.outFeatures)},
                {QStringLiteral("cols"), qint64(li.inFeatures)},
                {QStringLiteral("bytes"), qint64(cost.total())},
                {QStringLiteral("bits_per_weight"), cost.bitsPerWeight(li.params())},
                {QStringLiteral("rule"), e.matchedRule},
                {QStringLiteral("source"), l.recipe.sourceName(e.matchedRule)},
            });
        }
        printJson(QJsonDocument(QJsonObject{
            {QStringLiteral("recipe"), QJsonObject{{QStringLiteral("path"), l.recipe.origin},
                                                   {QStringLiteral("name"), l.recipe.name},
                                                   {QStringLiteral("version"), l.recipe.version}}},
            {QStringLiteral("model"), model.displayName()},
            {QStringLiteral("layers"), layers},
            {QStringLiteral("totals"),
             QJsonObject{
                 {QStringLiteral("model_bytes_before"), qint64(before)},
                 {QStringLiteral("model_bytes_after"), qint64(after)},
                 {QStringLiteral("linear_bytes_before"), qint64(linearBefore)},
                 {QStringLiteral("linear_bytes_after"), qint64(linearAfter)},
                 {QStringLiteral("linear_bits_per_weight"), bpw},
                 {QStringLiteral("needs_calibration"), l.plan.needsCalibration()},
             }},
            {QStringLiteral("warnings"), QJsonArray::fromStringList(l.warnings)},
            {QStringLiteral("problems"), QJsonArray::fromStringList(problems)},
        }));
        return failed ? kExitFailure : kExitOk;
    }

    out() << "Recipe  " << l.recipe.origin;
    if (!l.recipe.name.isEmpty())
        out() << " (" << l.recipe.name << ')';
    out() << ", version " << l.recipe.version << '\n';
    out() << "Model   " << model.path() << ", " << model.linears().size() << " linear layers\n\n";
    int nameWidth = 5;
    int labelWidth = 4;
    for (const qs::LayerPlanEntry& e : l.plan.entries) {
        nameWidth = std::max(nameWidth, int(e.name.size()));
        labelWidth = std::max(labelWidth, int(e.spec.label().size()));
    }
    out() << QStringLiteral("layer").leftJustified(nameWidth) << "  "
          << QStringLiteral("spec").leftJustified(labelWidth)
          << "  bits  group        bytes     bpw  source\n";
    for (const qs::LayerPlanEntry& e : l.plan.entries) {
        const qs::LinearLayerInfo& li = model.linears()[std::size_t(e.linearIndex)];
        const qs::QuantSpec::Cost cost = e.spec.cost(li.outFeatures, li.inFeatures);
        out() << e.name.leftJustified(nameWidth) << "  " << e.spec.label().leftJustified(labelWidth) << "  "
              << QString::number(specBits(e.spec)).rightJustified(4) << "  "
              << groupColumn(e.spec).rightJustified(5) << "  " << grouped(cost.total()).rightJustified(11)
              << "  " << QString::number(cost.bitsPerWeight(li.params()), 'f', 3).rightJustified(6) << "  "
              << l.recipe.sourceName(e.matchedRule) << '\n';
    }
    out() << "\nTotals\n";
    out() << "  linear layers   " << grouped(linearBefore) << " → " << grouped(linearAfter) << " bytes\n";
    out() << "  model           " << grouped(before) << " → " << grouped(after) << " bytes ("
          << qs::formatBytes(double(before)) << " → " << qs::formatBytes(double(after)) << ")\n";
    out() << "  linear bpw      " << QString::number(bpw, 'f', 3) << " bits per weight on average\n";
    if (!l.warnings.isEmpty()) {
        out() << "\nWarnings\n";
        for (const QString& w : l.warnings)
            out() << "  " << w << '\n';
    }
    if (!problems.isEmpty()) {
        out() << "\nProblems for a quantization run\n";
        for (const QString& w : problems)
            out() << "  " << w << '\n';
    }
    out().flush();
    return failed ? kExitFailure : kExitOk;
}

int runExport(const QStringList& args)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral(
        "Exports the plan a recipe gives a model: the complete, shell-quoted llama-quantize command with its "
        "--tensor-type options (llamacpp) or a "
        "GPTQModel base config with `dynamic` overrides (gptqmodel). Layers with no honest equivalent are "
        "listed on stderr and the exit code is 1."));
    p.addHelpOption();
    p.addPositionalArgument(QStringLiteral("RECIPE"), QStringLiteral("recipe JSON file"));
    p.addPositionalArgument(QStringLiteral("MODEL"), QStringLiteral("Hugging Face model folder"));
    p.addOptions({
        {QStringLiteral("format"), QStringLiteral("llamacpp or gptqmodel."), QStringLiteral("NAME")},
        {QStringLiteral("json"),
         QStringLiteral("llamacpp: print {args, base_type, problems, argv, command} as JSON.")},
        {QStringLiteral("input"),
         QStringLiteral(
             "llamacpp: the F16 GGUF llama-quantize reads (default: MODEL-F16.gguf beside the model, "
             "or a GGUF MODEL itself)."),
         QStringLiteral("FILE")},
        {QStringLiteral("output"), QStringLiteral("llamacpp: the GGUF it writes (default MODEL-TYPE.gguf)."),
         QStringLiteral("FILE")},
        {QStringLiteral("imatrix"), QStringLiteral("llamacpp: importance matrix to pass as --imatrix."),
         QStringLiteral("FILE")},
        {QStringLiteral("llama-quantize"), QStringLiteral("llamacpp: the binary (default llama-quantize)."),
         QStringLiteral("PATH")},
    });
    p.process(args);
    const QString format = p.value(QStringLiteral("format"));
    if (const QString m =
            joinProblems(usageProblem(p, 2, QStringLiteral("RECIPE and MODEL")),
                         format != u"llamacpp" && format != u"gptqmodel"
                             ? QStringLiteral("--format is llamacpp or gptqmodel, not '%1'").arg(format)
                             : QString());
        !m.isEmpty())
        return usageError(p, m);
    const Loaded l = load(p.positionalArguments()[0], p.positionalArguments()[1]);
    for (const QString& w : l.warnings)
        err() << "warning: " << w << '\n';
    QStringList problems;
    if (format == u"llamacpp") {
        // The positional type with the fewest tensors llama-quantize would type otherwise; those
        // tensors are problems (llamaQuantizeDeviations).
        const qs::LlamaCppExport e =
            qs::llamaQuantizeExport(*l.model, l.plan, p.isSet(QStringLiteral("imatrix")));
        problems = e.problems;
        qs::LlamaQuantizeInvocation how = qs::llamaQuantizeDefaults(*l.model, e.baseType);
        how.tokenEmbeddingType =
            qs::ggmlTypeName(qs::ggufTokenEmbeddingType(*l.model)); // as export-gguf --recipe
        if (p.isSet(QStringLiteral("input")))
            how.input = p.value(QStringLiteral("input"));
        if (p.isSet(QStringLiteral("output")))
            how.output = p.value(QStringLiteral("output"));
        if (p.isSet(QStringLiteral("llama-quantize")))
            how.binary = p.value(QStringLiteral("llama-quantize"));
        how.imatrix = p.value(QStringLiteral("imatrix"));
        const QStringList argv = qs::llamaQuantizeArgv(e, how);
        if (p.isSet(QStringLiteral("json"))) {
            printJson(QJsonDocument(QJsonObject{
                {QStringLiteral("args"), QJsonArray::fromStringList(e.args)},
                {QStringLiteral("base_type"), e.baseType},
                {QStringLiteral("problems"), QJsonArray::fromStringList(e.problems)},
                {QStringLiteral("argv"), QJsonArray::fromStringList(argv)},
                {QStringLiteral("command"), qs::shellCommandLine(argv)},
            }));
        } else if (argv.isEmpty()) {
            out() << "# no layer of this plan maps to a GGUF type\n";
        } else {
            out() << "# " << l.model->displayName() << " with " << l.recipe.origin
                  << ": the base type also applies to every tensor not listed\n";
            if (!QFileInfo::exists(how.input))
                out() << "# make the input first: "
                      << qs::shellCommandLine({QStringLiteral("quantscope-cli"),
                                               QStringLiteral("export-gguf"), l.model->path(),
                                               QStringLiteral("--preset"), QStringLiteral("F16"),
                                               QStringLiteral("--out"), how.input})
                      << '\n';
            out() << qs::llamaQuantizeCommandText(argv) << '\n';
        }
    } else {
        printJson(QJsonDocument(qs::toGptqModelDynamic(l.plan, *l.model, &problems)));
    }
    out().flush();
    for (const QString& pr : problems)
        err() << "not exported: " << pr << '\n';
    err().flush();
    return problems.isEmpty() ? kExitOk : kExitFailure;
}

} // namespace

int runRecipe(const QStringList& args)
{
    if (args.size() < 2 || args[1] == u"--help" || args[1] == u"-h") {
        recipeUsage();
        return args.size() < 2 ? kExitUsage : kExitOk;
    }
    const QString sub = args[1];
    QStringList rest = args;
    rest.removeAt(1);
    rest[0] = args[0] + u' ' + sub;
    if (sub == u"check")
        return runCheck(rest);
    if (sub == u"export")
        return runExport(rest);
    if (sub == u"template") {
        if (rest.size() != 1) {
            err() << "usage: quantscope-cli recipe template\n";
            return kExitUsage;
        }
        out() << QString::fromUtf8(qs::Recipe::templateJson());
        out().flush();
        return kExitOk;
    }
    err() << "unknown recipe subcommand '" << sub << "'\n";
    recipeUsage();
    return kExitUsage;
}

} // namespace cli
