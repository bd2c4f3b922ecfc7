// Recipes: JSON round trip, rule resolution (last match wins per field), keep_float, validation
// errors naming the JSON path, plans on stories260K, llama.cpp / GPTQModel exports, CLI `recipe`.
#include "TestSupport.h"
#include "model/Model.h"
#include "recipe/Recipe.h"
#include "recipe/RecipeExport.h"
#include "util/Error.h"
#include "util/ShellQuote.h"

#include <QDir>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTest>

using namespace qs;

namespace {

QByteArray json(const char* text)
{
    return QByteArray(text);
}

/// The message of the Error parsing `text` throws, or "" when it parses.
QString parseError(const QByteArray& text)
{
    try {
        Recipe::fromJson(text, QStringLiteral("R.json"));
    } catch (const Error& e) {
        return e.message();
    }
    return {};
}

QuantSpec spec(const char* text)
{
    return QuantSpec::fromJson(QJsonDocument::fromJson(json(text)).object(), {});
}

/// GPTQModel's lookup: the first key whose regex matches at the start (re.match).
QJsonValue gptqLookup(const QJsonObject& dynamic, const QString& module)
{
    QJsonValue found = QJsonValue::Undefined;
    int hits = 0;
    for (auto it = dynamic.begin(); it != dynamic.end(); ++it) {
        const QRegularExpression re(it.key().mid(2), QRegularExpression::NoPatternOption);
        const QRegularExpressionMatch m = re.match(module, 0, QRegularExpression::NormalMatch,
                                                   QRegularExpression::AnchorAtOffsetMatchOption);
        if (m.hasMatch()) {
            ++hits;
            found = it.key().startsWith(u"-:") ? QJsonValue(false) : it.value();
        }
    }
    return hits > 1 ? QJsonValue(QStringLiteral("overlap")) : found;
}

} // namespace

Q_DECLARE_METATYPE(qs::QuantSpec)

class TestRecipe : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void roundTrip_data();
    void roundTrip();
    void defaultsKeepInheritedFields();
    void templateIsValid();
    void validationErrors_data();
    void validationErrors();
    void saveAndLoad();
    void resolveRules_data();
    void resolveRules();
    void resolveDefaultsIsUniform();
    void combinedRulesInvalid();
    void warnsForUnmatchedRules();
    void problemsForRun();
    void downProjBytes();
    void llamaCppExport_data();
    void llamaCppExport();
    void llamaCppProblems();
    void gptqModelExport();
    void shellQuoting_data();
    void shellQuoting();
    void cliCheck();
    void cliHelpFollowsMethodsTable();
    void cliExportAndTemplate();
};

void TestRecipe::roundTrip_data()
{
    QTest::addColumn<QByteArray>("text");
    QTest::newRow("minimal") << json(R"({"version": 1})");
    QTest::newRow("template") << Recipe::templateJson();
    QTest::newRow("everything") << json(R"({
        "version": 1, "name": "n", "description": "d", "seed": 7,
        "defaults": {"method": "gptq", "bits": 3, "group_size": 64, "symmetric": true, "act_order": true,
                     "damp_percent": 0.05, "block_size": 64},
        "rules": [{"match": "q_proj", "bits": 8, "comment": "c"},
                  {"match": "mlp", "method": "smoothquant", "alpha": 0.7},
                  {"match": "down", "method": "awq", "grid": 10, "clip_search": true, "scale_dtype": "f32"}],
        "keep_float": ["lm_head", {"match": "layers\\.0\\.", "dtype": "bf16"}, {"match": "v_proj", "dtype": "f16"}],
        "calibration": {"text": "c.txt", "samples": 64, "seq_len": 256, "seed": 4000000000}})");
}

void TestRecipe::roundTrip()
{
    QFETCH(QByteArray, text);
    const Recipe a = Recipe::fromJson(text, QStringLiteral("a.json"));
    const QByteArray written = QJsonDocument(a.toJson()).toJson();
    const Recipe b = Recipe::fromJson(written, QStringLiteral("b.json"));
    QVERIFY(a == b);
    QCOMPARE(b.toJson(), a.toJson());
    QCOMPARE(b.origin, QStringLiteral("b.json"));
}

void TestRecipe::defaultsKeepInheritedFields()
{
    // act_order is not written for an RTN spec, but a later rule switching to GPTQ inherits it.
    const Recipe a = Recipe::fromJson(json(R"({"version": 1,
        "defaults": {"method": "rtn", "act_order": true, "damp_percent": 0.05, "dtype": "bf16"},
        "rules": [{"match": "q_proj", "method": "gptq"}]})"),
                                      QStringLiteral("a.json"));
    QVERIFY(a.defaults.actOrder);
    const Recipe b = Recipe::fromJson(QJsonDocument(a.toJson()).toJson(), QStringLiteral("b.json"));
    QVERIFY(b == a);
    QVERIFY(b.defaults.actOrder);
    QCOMPARE(b.defaults.dampPercent, 0.05);
    QCOMPARE(b.defaults.floatType, DType::BF16);
    QCOMPARE(b.defaults.method, QuantMethod::Rtn);
}

void TestRecipe::templateIsValid()
{
    const Recipe r = Recipe::fromJson(Recipe::templateJson(), QStringLiteral("template"));
    QCOMPARE(r.version, Recipe::kCurrentVersion);
    QVERIFY(r.rules.size() >= 3);
    QVERIFY(!r.keepFloat.empty());
    QCOMPARE(r.defaults, QuantSpec()); // RTN int4 g128 asym
    r.validate();
}

void TestRecipe::validationErrors_data()
{
    QTest::addColumn<QByteArray>("text");
    QTest::addColumn<QString>("expected");
    auto row = [](const char* name, const char* text, const char* expected) {
        QTest::newRow(name) << QByteArray(text) << QString::fromUtf8(expected);
    };
    row("bad regex", R"({"version": 1, "rules": [{"match": "(", "bits": 8}]})",
        "R.json: rules[0].match: invalid regex '(': missing closing parenthesis at offset 1");
    row("bad keep_float regex", R"({"version": 1, "keep_float": ["a", "[z-a]"]})",
        "R.json: keep_float[1]: invalid regex '[z-a]'");
    row("empty regex", R"({"version": 1, "rules": [{"match": "", "bits": 8}]})",
        "R.json: rules[0].match: empty regex");
    row("missing match", R"({"version": 1, "rules": [{"bits": 8}]})", "R.json: rules[0].match: missing");
    row("bits 9",
        R"({"version": 1, "rules": [{"match": "a", "bits": 4}, {"match": "b"}, {"match": "c", "bits": 9}]})",
        "R.json: rules[2].bits: bits 9 is outside rtn's range 2–8");
    row("bits 1", R"({"version": 1, "defaults": {"bits": 1}})",
        "R.json: defaults.bits: bits 1 is outside rtn's range 2–8");
    row("gptq bits 9", R"({"version": 1, "rules": [{"match": "a", "method": "gptq", "bits": 9}]})",
        "R.json: rules[0].bits: bits 9 is outside gptq's range 2–8");
    row("group 0", R"({"version": 1, "rules": [{"match": "a", "group_size": 0}]})",
        "R.json: rules[0].group_size: group size must be positive, got 0");
    row("group -4", R"({"version": 1, "defaults": {"group_size": -4}})",
        "R.json: defaults.group_size: group size must be positive, got -4");
    row("unknown method", R"({"version": 1, "rules": [{"match": "a", "method": "gptx"}]})",
        "R.json: rules[0].method: unknown method 'gptx' (known: float, rtn, gptq, awq, smoothquant, "
        "llm.int8, dynamic, gguf, hqq, squeezellm, quipsharp, aqlm)");
    row("method not a string", R"({"version": 1, "rules": [{"match": "a", "method": 4}]})",
        "R.json: rules[0].method: must be a string");
    row("bits four", R"({"version": 1, "rules": [{"match": "a", "bits": "four"}]})",
        "R.json: rules[0].bits: must be an integer");
    row("bits 4.5", R"({"version": 1, "defaults": {"bits": 4.5}})",
        "R.json: defaults.bits: must be an integer");
    row("symmetric yes", R"({"version": 1, "defaults": {"symmetric": "yes"}})",
        "R.json: defaults.symmetric: must be true or false");
    row("unknown rule key", R"({"version": 1, "rules": [{"match": "a", "bist": 4}]})",
        "R.json: rules[0].bist: unknown key (known: ");
    row("unknown top key", R"({"version": 1, "rule": []})",
        "R.json: rule: unknown key (known: version, name, ");
    row("unknown calibration key", R"({"version": 1, "calibration": {"txt": "a"}})",
        "R.json: calibration.txt: unknown key");
    row("version 99", R"({"version": 99, "whatever": 1})",
        "R.json: version: recipe version 99 is newer than this QuantScope reads (1)");
    row("version 0", R"({"version": 0})", "R.json: version: unknown version 0");
    row("version missing", R"({"rules": []})", "R.json: version: missing");
    row("version string", R"({"version": "1"})", "R.json: version: must be an integer");
    row("samples 8", R"({"version": 1, "calibration": {"samples": 8}})",
        "R.json: calibration.samples: samples 8 is outside 32–512");
    row("samples 1000", R"({"version": 1, "calibration": {"samples": 1000}})",
        "R.json: calibration.samples: samples 1000 is outside 32–512");
    row("seq_len 8", R"({"version": 1, "calibration": {"seq_len": 8}})",
        "R.json: calibration.seq_len: seq_len 8 is below the minimum 16");
    row("seed negative", R"({"version": 1, "seed": -1})", "R.json: seed: seed -1 is outside 0–4294967295");
    row("text number", R"({"version": 1, "calibration": {"text": 3}})",
        "R.json: calibration.text: must be a string");
    row("keep_float dtype", R"({"version": 1, "keep_float": [{"match": "a", "dtype": "f8"}]})",
        "R.json: keep_float[0].dtype: unknown float type 'f8' (f16, bf16, f32)");
    row("keep_float number", R"({"version": 1, "keep_float": [3]})",
        "R.json: keep_float[0]: must be a regex string");
    row("rules object", R"({"version": 1, "rules": {"match": "a"}})", "R.json: rules: must be an array");
    row("rule string", R"({"version": 1, "rules": ["a"]})", "R.json: rules[0]: must be an object");
    row("defaults array", R"({"version": 1, "defaults": []})", "R.json: defaults: must be an object");
    row("bad granularity", R"({"version": 1, "defaults": {"granularity": "row"}})",
        "R.json: defaults.granularity: unknown granularity 'row'");
    row("smoothquant 4 bits",
        R"({"version": 1, "rules": [{"match": "a", "method": "smoothquant", "bits": 4}]})",
        "R.json: rules[0].bits: bits 4 is outside smoothquant's range 8–8");
    row("dynamic over bits 2",
        R"({"version": 1, "defaults": {"bits": 2}, "rules": [{"match": "a", "method": "dynamic"}]})",
        "R.json: rules[0].method: bits 2 is outside dynamic's range 4–8");
    row("not json", "{\"version\": 1,\n  \"rules\": [}", "R.json: invalid JSON at line 2, column ");
    row("not an object", "[1]", "R.json: a recipe is a JSON object");
}

void TestRecipe::validationErrors()
{
    QFETCH(QByteArray, text);
    QFETCH(QString, expected);
    const QString message = parseError(text);
    QVERIFY2(!message.isEmpty(), "no error");
    QVERIFY2(message.startsWith(expected), qPrintable(message));
}

void TestRecipe::saveAndLoad()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    Recipe r = Recipe::fromJson(Recipe::templateJson(), QStringLiteral("t"));
    r.name = QStringLiteral("saved");
    const QString path = dir.filePath(QStringLiteral("r.json"));
    r.saveFile(path);
    const Recipe back = Recipe::fromFile(path);
    QVERIFY(back == r);
    QCOMPARE(back.origin, path);

    r.rules.push_back({QStringLiteral("("), QJsonObject{{QStringLiteral("bits"), 8}}});
    const QString bad = dir.filePath(QStringLiteral("bad.json"));
    try {
        r.saveFile(bad);
        QFAIL("saved an invalid recipe");
    } catch (const Error& e) {
        QVERIFY2(e.message().startsWith(bad + u": rules[3].match: invalid regex"), qPrintable(e.message()));
    }
    QVERIFY(!QFileInfo::exists(bad));
    try {
        Recipe::fromFile(dir.filePath(QStringLiteral("missing.json")));
        QFAIL("read a missing file");
    } catch (const Error& e) {
        QVERIFY(e.message().contains(u"missing.json: cannot read"));
    }
}

void TestRecipe::resolveRules_data()
{
    QTest::addColumn<QString>("layer");
    QTest::addColumn<QuantSpec>("expected");
    QTest::addColumn<int>("rule");
    QTest::newRow("defaults") << QStringLiteral("model.layers.0.self_attn.q_proj") << QuantSpec() << -1;
    QTest::newRow("mlp rule") << QStringLiteral("model.layers.0.mlp.up_proj")
                              << spec(R"({"bits": 6, "group_size": 64})") << 0;
    QTest::newRow("down after mlp") << QStringLiteral("model.layers.0.mlp.down_proj")
                                    << spec(R"({"bits": 3, "group_size": 64})") << 1;
    QTest::newRow("four rules")
        << QStringLiteral("model.layers.1.mlp.down_proj")
        << spec(R"({"method": "gptq", "bits": 3, "group_size": 32, "symmetric": true})") << 3;
    QTest::newRow("block 1 attention") << QStringLiteral("model.layers.1.self_attn.k_proj")
                                       << spec(R"({"method": "gptq", "symmetric": true})") << 2;
    QTest::newRow("keep float f16") << QStringLiteral("model.layers.4.self_attn.o_proj")
                                    << spec(R"({"method": "float", "dtype": "f16"})") << 4;
    QTest::newRow("keep float bf16 over rules") << QStringLiteral("model.layers.3.mlp.gate_proj") << [] {
        QuantSpec s = spec(R"({"bits": 6, "group_size": 64})");
        s.method = QuantMethod::Float;
        s.floatType = DType::BF16;
        return s;
    }() << 5;
}

void TestRecipe::resolveRules()
{
    QFETCH(QString, layer);
    QFETCH(QuantSpec, expected);
    QFETCH(int, rule);
    QS_REQUIRE_DATA(path, "stories260K");
    const auto model = Model::open(path);
    const Recipe r = Recipe::fromJson(json(R"({"version": 1,
        "rules": [{"match": "mlp", "bits": 6, "group_size": 64},
                  {"match": "down_proj$", "bits": 3},
                  {"match": "layers\\.1\\.", "method": "gptq", "symmetric": true},
                  {"match": "layers\\.1\\.mlp\\.down", "group_size": 32}],
        "keep_float": ["layers\\.4\\.self_attn\\.o_proj", {"match": "layers\\.3\\.mlp\\.gate", "dtype": "bf16"}]})"),
                                      QStringLiteral("R.json"));
    QStringList warnings;
    const LayerPlan plan = r.resolve(*model, &warnings);
    QVERIFY2(warnings.isEmpty(), qPrintable(warnings.join(u'\n')));
    const LinearLayerInfo* l = model->findLinear(layer);
    QVERIFY(l);
    const LayerPlanEntry& e = plan.entries[std::size_t(l - model->linears().data())];
    QCOMPARE(e.name, layer);
    QCOMPARE(e.spec.label(), expected.label());
    QVERIFY(e.spec == expected);
    QCOMPARE(e.matchedRule, rule);
}

void TestRecipe::resolveDefaultsIsUniform()
{
    QS_REQUIRE_DATA(path, "stories260K");
    const auto model = Model::open(path);
    const Recipe r = Recipe::fromJson(json(R"({"version": 1, "defaults": {"method": "awq", "bits": 3}})"),
                                      QStringLiteral("R.json"));
    QStringList warnings;
    const LayerPlan plan = r.resolve(*model, &warnings);
    QCOMPARE(int(plan.entries.size()), 35);
    QVERIFY(warnings.isEmpty());
    const LayerPlan uniform = LayerPlan::uniform(*model, r.defaults);
    for (std::size_t i = 0; i < plan.entries.size(); ++i) {
        QCOMPARE(plan.entries[i].linearIndex, int(i));
        QCOMPARE(plan.entries[i].name, model->linears()[i].name);
        QVERIFY(plan.entries[i].spec == uniform.entries[i].spec);
        QCOMPARE(plan.entries[i].matchedRule, -1);
    }
    QVERIFY(plan.needsCalibration());
}

void TestRecipe::combinedRulesInvalid()
{
    QS_REQUIRE_DATA(path, "stories260K");
    const auto model = Model::open(path);
    // Each rule is valid over the defaults; together they give dynamic with 2 bits.
    const Recipe r = Recipe::fromJson(
        json(
            R"({"version": 1, "rules": [{"match": "mlp", "bits": 2}, {"match": "down_proj", "method": "dynamic"}]})"),
        QStringLiteral("R.json"));
    try {
        r.resolve(*model);
        QFAIL("resolved an invalid combination");
    } catch (const Error& e) {
        QCOMPARE(e.message(),
                 QStringLiteral("R.json: rules[1].method: bits 2 is outside dynamic's range 4–8 (layer "
                                "model.layers.0.mlp.down_proj, applied over rules[0])"));
    }
}

void TestRecipe::warnsForUnmatchedRules()
{
    QS_REQUIRE_DATA(path, "stories260K");
    const auto model = Model::open(path);
    const Recipe r = Recipe::fromJson(json(R"({"version": 1, "rules": [{"match": "q_proj", "bits": 8},
        {"match": "foo", "bits": 3}], "keep_float": ["^lm_head$"]})"),
                                      QStringLiteral("R.json"));
    QStringList warnings;
    const LayerPlan plan = r.resolve(*model, &warnings);
    QCOMPARE(warnings.size(), 2);
    QCOMPARE(warnings[0],
             QStringLiteral("rules[1] 'foo' matches no layer of stories260K — is this recipe for another "
                            "model?"));
    QCOMPARE(warnings[1],
             QStringLiteral("keep_float[0] '^lm_head$' matches no layer of stories260K — is this recipe "
                            "for another model?"));
    int eightBit = 0;
    for (const LayerPlanEntry& e : plan.entries)
        eightBit += e.spec.bits == 8 ? 1 : 0;
    QCOMPARE(eightBit, 5);
}

void TestRecipe::problemsForRun()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString recipePath = dir.filePath(QStringLiteral("r.json"));
    QVERIFY(test::writeFile(recipePath,
                            json(R"({"version": 1, "rules": [{"match": "q_proj", "method": "gptq"}]})")));
    Recipe r = Recipe::fromFile(recipePath);
    QStringList problems = r.problemsForRun();
    QCOMPARE(problems.size(), 1);
    QVERIFY2(problems[0].startsWith(recipePath + u": calibration.text: is empty, but rules[0] (gptq) need"),
             qPrintable(problems[0]));

    r.calibration.text = QStringLiteral("calib.txt"); // relative to the recipe's folder
    QVERIFY(r.problemsForRun().front().contains(u"'calib.txt' not found"));
    QVERIFY(test::writeFile(dir.filePath(QStringLiteral("calib.txt")), "some text"));
    QCOMPARE(r.resolvedCalibrationText(), dir.filePath(QStringLiteral("calib.txt")));
    QVERIFY(r.problemsForRun().isEmpty());

    Recipe rtn = Recipe::fromJson(json(R"({"version": 1})"), QStringLiteral("R.json"));
    QVERIFY(rtn.problemsForRun().isEmpty());

    QS_REQUIRE_DATA(path, "stories260K");
    const auto model = Model::open(path);
    r.calibration.text.clear();
    const QStringList planProblems = r.problemsForRun(r.resolve(*model));
    QCOMPARE(planProblems.size(), 1);
    QVERIFY2(planProblems[0].contains(u"5 layers (gptq: 5; first model.layers.0.self_attn.q_proj)"),
             qPrintable(planProblems[0]));
    // A rule that sets gptq but matches nothing is not a problem for the plan.
    const Recipe unused =
        Recipe::fromJson(json(R"({"version": 1, "rules": [{"match": "nothing", "method": "gptq"}]})"),
                         QStringLiteral("R.json"));
    QVERIFY(unused.problemsForRun(unused.resolve(*model)).isEmpty());
    QCOMPARE(unused.problemsForRun().size(), 1);
}

void TestRecipe::downProjBytes()
{
    QS_REQUIRE_DATA(path, "stories260K");
    const auto model = Model::open(path);
    const Recipe r = Recipe::fromJson(json(R"({"version": 1})"), QStringLiteral("R.json"));
    const LayerPlan plan = r.resolve(*model);
    QCOMPARE(plan.entries.front().spec.label(), QStringLiteral("rtn int4 g128 asym"));
    const LinearLayerInfo* down = model->findLinear(QStringLiteral("model.layers.2.mlp.down_proj"));
    QVERIFY(down);
    QCOMPARE(down->inFeatures, std::int64_t(172));
    const int index = int(down - model->linears().data());
    // 64 rows × 172 inputs: groups of 128 and 44 → 2 groups per row; f16 scales; 4-bit integer zeros.
    const std::uint64_t rows = 64, cols = 172, groups = rows * 2;
    const std::uint64_t expected = (rows * cols * 4 + 7) / 8 + groups * 2 + (groups * 4 + 7) / 8;
    QCOMPARE(expected, std::uint64_t(5504 + 256 + 64));
    LayerPlan one;
    one.entries.push_back(plan.entries[std::size_t(index)]);
    QCOMPARE(one.linearBytes(*model), expected);
    QCOMPARE(plan.entries[std::size_t(index)].spec.groupsPerRow(172), std::int64_t(2));

    std::uint64_t sum = 0, stored = 0;
    for (const LinearLayerInfo& l : model->linears()) {
        sum += QuantSpec().cost(l.outFeatures, l.inFeatures).total();
        stored += l.bytes();
    }
    QCOMPARE(plan.linearBytes(*model), sum);
    QCOMPARE(plan.modelBytes(*model), model->totals().bytes - stored + sum);
}

void TestRecipe::llamaCppExport_data()
{
    QTest::addColumn<QByteArray>("text");
    QTest::addColumn<QStringList>("expected");
    QTest::addColumn<QString>("baseType");
    QTest::newRow("q4_0 + f16 down")
        << json(R"({"version": 1, "defaults": {"group_size": 32, "symmetric": true},
                                             "keep_float": ["down_proj$"]})")
        << QStringList{QStringLiteral("--tensor-type"),
                       QStringLiteral("^blk\\.\\d+\\.(attn_q|attn_k|attn_v|attn_output|ffn_"
                                      "gate|ffn_up)\\.weight$=q4_0"),
                       QStringLiteral("--tensor-type"),
                       QStringLiteral("^blk\\.\\d+\\.ffn_down\\.weight$=f16")}
        << QStringLiteral("q4_0");
    QTest::newRow("mixed")
        << json(R"({"version": 1, "defaults": {"method": "gptq", "group_size": 32, "symmetric": false},
                                    "rules": [{"match": "layers\\.[01]\\.self_attn\\.(q|k)_proj", "bits": 8, "symmetric": true},
                                              {"match": "layers\\.4\\.self_attn\\.v", "bits": 5}],
                                    "keep_float": [{"match": "down_proj$", "dtype": "bf16"},
                                                   {"match": "layers\\.2\\.mlp\\.down", "dtype": "f32"}]})")
        << QStringList{QStringLiteral("--tensor-type"),
                       QStringLiteral("^blk\\.(0|1)\\.(attn_q|attn_k)\\.weight$=q8_0"),
                       QStringLiteral("--tensor-type"),
                       QStringLiteral("^blk\\.(0|1|2|3)\\.attn_v\\.weight$=q4_1"),
                       QStringLiteral("--tensor-type"),
                       QStringLiteral("^blk\\.\\d+\\.(attn_output|ffn_gate|ffn_up)\\.weight$=q4_1"),
                       QStringLiteral("--tensor-type"),
                       QStringLiteral("^blk\\.(0|1|3|4)\\.ffn_down\\.weight$=bf16"),
                       QStringLiteral("--tensor-type"),
                       QStringLiteral("^blk\\.(2|3|4)\\.(attn_q|attn_k)\\.weight$=q4_1"),
                       QStringLiteral("--tensor-type"),
                       QStringLiteral("^blk\\.2\\.ffn_down\\.weight$=f32"),
                       QStringLiteral("--tensor-type"),
                       QStringLiteral("^blk\\.4\\.attn_v\\.weight$=q5_1")}
        << QStringLiteral("q4_1");
}

void TestRecipe::llamaCppExport()
{
    QFETCH(QByteArray, text);
    QFETCH(QStringList, expected);
    QFETCH(QString, baseType);
    QS_REQUIRE_DATA(path, "stories260K");
    const auto model = Model::open(path);
    const LayerPlan plan = Recipe::fromJson(text, QStringLiteral("R.json")).resolve(*model);
    const LlamaCppExport e = exportLlamaCpp(plan, *model);
    QVERIFY2(e.problems.isEmpty(), qPrintable(e.problems.join(u'\n')));
    QCOMPARE(e.args, expected);
    QCOMPARE(e.baseType, baseType);
    QStringList problems;
    QCOMPARE(toLlamaCppTensorTypeArgs(plan, *model, &problems), expected);
    QVERIFY(problems.isEmpty());
    // Every tensor matches exactly one pattern, and gets its plan's type.
    for (const LayerPlanEntry& entry : plan.entries) {
        const QString tensor = ggufTensorName(*model, entry.linearIndex);
        QStringList types;
        for (qsizetype i = 1; i < e.args.size(); i += 2) {
            const qsizetype eq = e.args[i].lastIndexOf(u'=');
            if (QRegularExpression(e.args[i].left(eq)).match(tensor).hasMatch())
                types << e.args[i].mid(eq + 1);
        }
        QCOMPARE(types.size(), 1);
        QString want = dtypeName(entry.spec.floatType);
        if (entry.spec.method != QuantMethod::Float)
            want = entry.spec.bits == 8
                       ? QStringLiteral("q8_0")
                       : QStringLiteral("q%1_%2").arg(entry.spec.bits).arg(entry.spec.symmetric ? 0 : 1);
        QCOMPARE(types.front(), want);
    }
    QCOMPARE(ggufTensorName(*model, 6), QStringLiteral("blk.0.ffn_down.weight"));
}

void TestRecipe::llamaCppProblems()
{
    QS_REQUIRE_DATA(path, "stories260K");
    const auto model = Model::open(path);
    // down_proj has 172 inputs: no whole 32-blocks. g128 and smoothquant have no GGUF type at all.
    const LayerPlan plan =
        Recipe::fromJson(json(R"({"version": 1, "defaults": {"group_size": 32, "symmetric": true},
                                  "rules": [{"match": "q_proj", "group_size": 128},
                                            {"match": "k_proj", "method": "smoothquant"}]})"),
                         QStringLiteral("R.json"))
            .resolve(*model);
    const LlamaCppExport e = exportLlamaCpp(plan, *model);
    QCOMPARE(e.problems.size(), 3);
    QVERIFY2(e.problems[0].contains(u"rtn int4 g128 sym: GGUF q4_0/q4_1/q5_0/q5_1/q8_0 use groups of 32"),
             qPrintable(e.problems[0]));
    QVERIFY2(e.problems[0].contains(
                 u"(5 layers: model.layers.0.self_attn.q_proj, model.layers.1.self_attn.q_proj, "
                 u"model.layers.2.self_attn.q_proj, … 2 more)"),
             qPrintable(e.problems[0]));
    QVERIFY2(e.problems[1].contains(u"smoothquant w8a8 channel sym: GGUF types are weight-only"),
             qPrintable(e.problems[1]));
    QVERIFY2(e.problems[2].contains(u"172 input features are not a multiple of 32"),
             qPrintable(e.problems[2]));
    QCOMPARE(
        e.args,
        (QStringList{QStringLiteral("--tensor-type"),
                     QStringLiteral("^blk\\.\\d+\\.(attn_v|attn_output|ffn_gate|ffn_up)\\.weight$=q4_0")}));

    // Nothing maps: no options and no base type.
    const LlamaCppExport none = exportLlamaCpp(
        Recipe::fromJson(json(R"({"version": 1})"), QStringLiteral("R.json")).resolve(*model), *model);
    QVERIFY(none.args.isEmpty());
    QVERIFY(none.baseType.isEmpty());
    QCOMPARE(none.problems.size(), 1);
    QVERIFY(none.problems[0].contains(u"(35 layers: "));
}

void TestRecipe::gptqModelExport()
{
    QS_REQUIRE_DATA(path, "stories260K");
    const auto model = Model::open(path);
    const LayerPlan plan =
        Recipe::fromJson(
            json(
                R"({"version": 1, "defaults": {"method": "gptq", "bits": 4, "group_size": 128, "symmetric": true},
                                  "rules": [{"match": "layers\\.0\\.", "bits": 8},
                                            {"match": "layers\\.3\\.mlp\\.up", "act_order": true, "damp_percent": 0.1}],
                                  "keep_float": ["down_proj$"]})"),
            QStringLiteral("R.json"))
            .resolve(*model);
    QStringList problems;
    const QJsonObject o = toGptqModelDynamic(plan, *model, &problems);
    QVERIFY2(problems.isEmpty(), qPrintable(problems.join(u'\n')));
    const QJsonObject base = o.value(u"base").toObject();
    QCOMPARE(base, (QJsonObject{{QStringLiteral("bits"), 4},
                                {QStringLiteral("group_size"), 128},
                                {QStringLiteral("desc_act"), false},
                                {QStringLiteral("sym"), true},
                                {QStringLiteral("damp_percent"), 0.01},
                                {QStringLiteral("static_groups"), true}})); // our default: static groups
    const QJsonObject dynamic = o.value(u"dynamic").toObject();
    const QJsonObject expected{
        {QStringLiteral(
             "+:^model\\.layers\\.0\\.(self_attn\\.q_proj|self_attn\\.k_proj|self_attn\\.v_proj|self_attn\\."
             "o_proj|mlp\\.gate_proj|mlp\\.up_proj)$"),
         QJsonObject{{QStringLiteral("bits"), 8},
                     {QStringLiteral("group_size"), 128},
                     {QStringLiteral("desc_act"), false},
                     {QStringLiteral("sym"), true}}},
        {QStringLiteral("+:^model\\.layers\\.3\\.mlp\\.up_proj$"),
         QJsonObject{{QStringLiteral("bits"), 4},
                     {QStringLiteral("group_size"), 128},
                     {QStringLiteral("desc_act"), true},
                     {QStringLiteral("sym"), true},
                     {QStringLiteral("damp_percent"), 0.1}}},
        {QStringLiteral("-:^model\\.layers\\.\\d+\\.mlp\\.down_proj$"), QJsonObject()},
    };
    QCOMPARE(dynamic, expected);
    // GPTQModel's lookup gives every module its plan's config.
    for (const LayerPlanEntry& e : plan.entries) {
        const QJsonValue v = gptqLookup(dynamic, e.name);
        if (e.spec.method == QuantMethod::Float)
            QCOMPARE(v, QJsonValue(false));
        else if (e.spec.bits == 4 && !e.spec.actOrder)
            QVERIFY2(v.isUndefined(), qPrintable(e.name)); // base config
        else
            QCOMPARE(v.toObject().value(u"bits").toInt(), e.spec.bits);
    }

    // Non-GPTQ layers are problems, not silently re-labelled.
    const LayerPlan mixed =
        Recipe::fromJson(
            json(
                R"({"version": 1, "defaults": {"method": "gptq"}, "rules": [{"match": "q_proj", "method": "rtn"},
                                  {"match": "k_proj", "bits": 5}]})"),
            QStringLiteral("R.json"))
            .resolve(*model);
    problems.clear();
    toGptqModelDynamic(mixed, *model, &problems);
    QCOMPARE(problems.size(), 2);
    QVERIFY2(problems[0].contains(u"rtn int4 g128 asym: not a GPTQ layer"), qPrintable(problems[0]));
    QVERIFY2(problems[1].contains(u"GPTQModel packs 2, 3, 4 or 8 bits"), qPrintable(problems[1]));

    problems.clear();
    const QJsonObject none = toGptqModelDynamic(LayerPlan::uniform(*model, QuantSpec()), *model, &problems);
    QCOMPARE(problems.size(), 2);
    QCOMPARE(problems[1], QStringLiteral("no GPTQ layers, so no GPTQModel base config"));
    QVERIFY(none.value(u"base").toObject().isEmpty());
}

void TestRecipe::cliHelpFollowsMethodsTable()
{
    // quantize --help lists the methods and the bit range of the methods table.
    const test::CliResult r = test::runCli({QStringLiteral("quantize"), QStringLiteral("--help")});
    QCOMPARE(r.exitCode, 0);
    const QString help = QString::fromUtf8(r.out).simplified();
    QVERIFY2(help.contains(u"Without a recipe: " + quantMethodNames().join(u", ") + u'.'), r.out.constData());
    QVERIFY2(
        help.contains(QStringLiteral("bits (%1–%2)").arg(quantBitRange().first).arg(quantBitRange().second)),
        r.out.constData());
    QCOMPARE(quantMethodNames().size(), qsizetype(kQuantMethods.size()));
}

void TestRecipe::cliCheck()
{
    QS_REQUIRE_DATA(path, "stories260K");
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString good = dir.filePath(QStringLiteral("good.json"));
    QVERIFY(test::writeFile(good, Recipe::templateJson()));
    test::CliResult r = test::runCli({QStringLiteral("recipe"), QStringLiteral("check"), good, path});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    QVERIFY(r.out.contains("model.layers.4.mlp.down_proj"));
    QVERIFY(r.out.contains("gptq int4 g64 sym act-order"));
    QVERIFY(r.out.contains("Totals"));
    QVERIFY(r.out.contains("keep_float[0] '^lm_head$' matches no layer of stories260K"));
    QVERIFY(r.out.contains("calibration.text: is empty"));

    r = test::runCli(
        {QStringLiteral("recipe"), QStringLiteral("check"), good, path, QStringLiteral("--json")});
    QCOMPARE(r.exitCode, 0);
    const QJsonObject o = QJsonDocument::fromJson(r.out).object();
    QCOMPARE(o.value(u"layers").toArray().size(), 35);
    QCOMPARE(o.value(u"warnings").toArray().size(), 1);
    QCOMPARE(o.value(u"problems").toArray().size(), 1);
    const QJsonObject totals = o.value(u"totals").toObject();
    QCOMPARE(totals.value(u"model_bytes_before").toInteger(), 260032 * 4);
    QVERIFY(totals.value(u"model_bytes_after").toInteger() < 260032 * 4);
    QVERIFY(totals.value(u"linear_bits_per_weight").toDouble() > 4.0);
    QVERIFY(totals.value(u"linear_bits_per_weight").toDouble() < 9.0);

    r = test::runCli(
        {QStringLiteral("recipe"), QStringLiteral("check"), good, path, QStringLiteral("--strict")});
    QCOMPARE(r.exitCode, 1);

    const QString bad = dir.filePath(QStringLiteral("bad.json"));
    QVERIFY(test::writeFile(bad, json(R"({"version": 1, "rules": [{"match": "mlp", "bits": 9}]})")));
    r = test::runCli({QStringLiteral("recipe"), QStringLiteral("check"), bad, path});
    QCOMPARE(r.exitCode, 1);
    QVERIFY2(r.err.contains((bad + u": rules[0].bits: bits 9 is outside rtn's range 2–8").toUtf8()),
             r.err.constData());
    QVERIFY(r.out.isEmpty());

    r = test::runCli({QStringLiteral("recipe"), QStringLiteral("check"), good});
    QCOMPARE(r.exitCode, 2);
    r = test::runCli({QStringLiteral("recipe")});
    QCOMPARE(r.exitCode, 2);
    r = test::runCli({QStringLiteral("recipe"), QStringLiteral("frobnicate")});
    QCOMPARE(r.exitCode, 2);
}

void TestRecipe::shellQuoting_data()
{
    QTest::addColumn<QString>("arg");
    QTest::addColumn<QString>("quoted");
    QTest::newRow("plain") << QStringLiteral("q4_k") << QStringLiteral("q4_k");
    QTest::newRow("path") << QStringLiteral("/a/b-F16.gguf") << QStringLiteral("/a/b-F16.gguf");
    QTest::newRow("regex") << QStringLiteral("^blk\\.\\d+\\.ffn_down\\.weight$=f16")
                           << QStringLiteral("'^blk\\.\\d+\\.ffn_down\\.weight$=f16'");
    QTest::newRow("space") << QStringLiteral("my model.gguf") << QStringLiteral("'my model.gguf'");
    QTest::newRow("quote") << QStringLiteral("it's") << QStringLiteral("'it'\\''s'");
    QTest::newRow("empty") << QString() << QStringLiteral("''");
    QTest::newRow("non-ascii") << QStringLiteral("modèle") << QStringLiteral("'modèle'");
}

void TestRecipe::shellQuoting()
{
    QFETCH(QString, arg);
    QFETCH(QString, quoted);
    QCOMPARE(shellQuote(arg), quoted);
    QCOMPARE(shellCommandLine({QStringLiteral("x"), arg}), QStringLiteral("x ") + quoted);
}

void TestRecipe::cliExportAndTemplate()
{
    test::CliResult r = test::runCli({QStringLiteral("recipe"), QStringLiteral("template")});
    QCOMPARE(r.exitCode, 0);
    QVERIFY(Recipe::fromJson(r.out, QStringLiteral("stdout")) ==
            Recipe::fromJson(Recipe::templateJson(), {}));

    QS_REQUIRE_DATA(path, "stories260K");
    QS_REQUIRE_DATA(kjv, "kjv7M");
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString recipe = dir.filePath(QStringLiteral("r.json"));
    QVERIFY(test::writeFile(
        recipe, json(R"({"version": 1, "defaults": {"method": "gptq", "group_size": 32, "symmetric": true},
                                           "keep_float": ["down_proj$"]})")));
    // kjv7M's rows (256, 768) fit every block: llama-quantize gives the plan's types.
    r = test::runCli({QStringLiteral("recipe"), QStringLiteral("export"), recipe, kjv,
                      QStringLiteral("--format"), QStringLiteral("llamacpp"), QStringLiteral("--json")});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    const QJsonObject o = QJsonDocument::fromJson(r.out).object();
    QCOMPARE(o.value(u"base_type").toString(), QStringLiteral("q4_0"));
    QCOMPARE(o.value(u"args").toArray().size(), 6); // MLP and attention, down_proj f16, the untied head
    QVERIFY(o.value(u"args").toArray().contains(QStringLiteral("^output\\.weight$=q4_0")));
    QVERIFY(o.value(u"problems").toArray().isEmpty());
    r = test::runCli({QStringLiteral("recipe"), QStringLiteral("export"), recipe, kjv,
                      QStringLiteral("--format"), QStringLiteral("llamacpp")});
    QCOMPARE(r.exitCode, 0);
    QVERIFY2(r.out.contains("--tensor-type '^blk\\.\\d+\\.ffn_down\\.weight$=f16'"), r.out.constData());
    // The complete command: binary, token embeddings, rules, input, output, type; quoted.
    QVERIFY2(r.out.contains("\nllama-quantize \\\n  --token-embedding-type q8_0 \\\n"), r.out.constData());
    const QString stem = QDir::cleanPath(QFileInfo(kjv).absoluteFilePath());
    const QString f16 = stem + QStringLiteral("-F16.gguf");
    QVERIFY2(r.out.contains((QStringLiteral("make the input first: quantscope-cli export-gguf ") +
                             shellQuote(kjv) + QStringLiteral(" --preset F16 --out ") + shellQuote(f16))
                                .toUtf8()),
             r.out.constData());
    QVERIFY2(r.out.endsWith((shellQuote(f16) + u' ' + shellQuote(stem + QStringLiteral("-Q4_0.gguf")) +
                             QStringLiteral(" q4_0\n"))
                                .toUtf8()),
             r.out.constData());
    const QString spaced = dir.filePath(QStringLiteral("it's out.gguf"));
    r = test::runCli({QStringLiteral("recipe"), QStringLiteral("export"), recipe, kjv,
                      QStringLiteral("--format"), QStringLiteral("llamacpp"), QStringLiteral("--json"),
                      QStringLiteral("--output"), spaced, QStringLiteral("--imatrix"),
                      QStringLiteral("m.dat")});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    const QJsonObject c = QJsonDocument::fromJson(r.out).object();
    const QJsonArray argv = c.value(u"argv").toArray();
    QCOMPARE(argv.first().toString(), QStringLiteral("llama-quantize"));
    QCOMPARE(argv.at(1).toString(), QStringLiteral("--imatrix"));
    QCOMPARE(argv.at(argv.size() - 2).toString(), spaced);
    QCOMPARE(argv.last().toString(), QStringLiteral("q4_0"));
    QVERIFY(c.value(u"command").toString().contains(shellQuote(spaced)));
    QVERIFY(shellQuote(spaced).contains(QStringLiteral("'\\''")));
    // stories260K's 172-wide down_proj rows: Q4_0 has no fallback, llama-quantize would stop there.
    r = test::runCli({QStringLiteral("recipe"), QStringLiteral("export"), recipe, path,
                      QStringLiteral("--format"), QStringLiteral("llamacpp")});
    QCOMPARE(r.exitCode, 1);
    QVERIFY2(r.err.contains("blk.0.ffn_down.weight: llama-quantize stops here"), r.err.constData());
    // A Q4_K plan there holds Q5_0 (rows of 64) and F16 (rows of 172): the positional type is Q4_K,
    // whose fallbacks give them; the tensors its mix bumps (attn_v to Q6_K → Q8_0) are named.
    const QString q4k = dir.filePath(QStringLiteral("q4k.json"));
    QVERIFY(test::writeFile(q4k, json(R"({"version": 1, "defaults": {"method": "gguf", "type": "Q4_K"}})")));
    r = test::runCli({QStringLiteral("recipe"), QStringLiteral("export"), q4k, path,
                      QStringLiteral("--format"), QStringLiteral("llamacpp"), QStringLiteral("--json")});
    const QJsonObject k = QJsonDocument::fromJson(r.out).object();
    QCOMPARE(k.value(u"base_type").toString(), QStringLiteral("q4_k"));
    for (const QJsonValue& v : k.value(u"problems").toArray())
        QVERIFY2(v.toString().contains(
                     u"attn_v.weight: rows of 64 values need llama-quantize's fallback (Q6_K → Q8_0)"),
                 qPrintable(v.toString()));
    QCOMPARE(r.exitCode, k.value(u"problems").toArray().isEmpty() ? 0 : 1);
    r = test::runCli({QStringLiteral("recipe"), QStringLiteral("export"), recipe, path,
                      QStringLiteral("--format"), QStringLiteral("gptqmodel")});
    QCOMPARE(r.exitCode, 0);
    const QJsonObject g = QJsonDocument::fromJson(r.out).object();
    QCOMPARE(g.value(u"base").toObject().value(u"group_size").toInt(), 32);
    QVERIFY(g.value(u"dynamic").toObject().contains(u"-:^model\\.layers\\.\\d+\\.mlp\\.down_proj$"));

    // Not mappable: problems on stderr, exit 1.
    QVERIFY(test::writeFile(recipe, json(R"({"version": 1})")));
    r = test::runCli({QStringLiteral("recipe"), QStringLiteral("export"), recipe, path,
                      QStringLiteral("--format"), QStringLiteral("llamacpp")});
    QCOMPARE(r.exitCode, 1);
    QVERIFY(r.err.contains("not exported: not mappable to a GGUF type"));
    r = test::runCli({QStringLiteral("recipe"), QStringLiteral("export"), recipe, path,
                      QStringLiteral("--format"), QStringLiteral("onnx")});
    QCOMPARE(r.exitCode, 2);
}

QTEST_GUILESS_MAIN(TestRecipe)
#include "tst_recipe.moc"
