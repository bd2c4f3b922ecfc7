// config.json parsing for every supported family, its errors, and Model::open's structural checks
// on synthetic folders (wrong shapes, missing tensors, tied/untied heads, biases).
#include "TestSupport.h"
#include "io/ModelConfig.h"
#include "io/SafetensorsWriter.h"
#include "model/Model.h"
#include "model/SyntheticModel.h"
#include "util/Error.h"

#include <QDir>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QTest>
#include <functional>

using namespace qs;

namespace {

using qs::test::checkMessage;
using qs::test::errorOf;


/// `base` with the keys of `changes` replaced; a null value in `changes` removes the key.
QJsonObject patched(QJsonObject base, const QVariantMap& changes)
{
    for (auto it = changes.cbegin(); it != changes.cend(); ++it) {
        if (it.value().isNull())
            base.remove(it.key());
        else
            base.insert(it.key(), QJsonValue::fromVariant(it.value()));
    }
    return base;
}

QByteArray toJson(const QJsonObject& o)
{
    return QJsonDocument(o).toJson();
}

/// The fields of a ModelConfig by config.json-ish names, for data-driven comparison.
QVariantMap fields(const ModelConfig& c)
{
    return {
        {QStringLiteral("model_type"), c.modelType},
        {QStringLiteral("torch_dtype"), c.torchDtype},
        {QStringLiteral("hidden_size"), c.hiddenSize},
        {QStringLiteral("intermediate_size"), c.intermediateSize},
        {QStringLiteral("num_hidden_layers"), c.numLayers},
        {QStringLiteral("num_attention_heads"), c.numHeads},
        {QStringLiteral("num_key_value_heads"), c.numKvHeads},
        {QStringLiteral("head_dim"), c.headDim},
        {QStringLiteral("vocab_size"), c.vocabSize},
        {QStringLiteral("max_position_embeddings"), qint64(c.maxPositionEmbeddings)},
        {QStringLiteral("rms_norm_eps"), c.rmsNormEps},
        {QStringLiteral("rope_theta"), c.ropeTheta},
        {QStringLiteral("rope_type"), c.ropeScaling.type},
        {QStringLiteral("rope_factor"), c.ropeScaling.factor},
        {QStringLiteral("rope_low_freq_factor"), c.ropeScaling.lowFreqFactor},
        {QStringLiteral("rope_high_freq_factor"), c.ropeScaling.highFreqFactor},
        {QStringLiteral("rope_original_max_position_embeddings"),
         qint64(c.ropeScaling.originalMaxPositionEmbeddings)},
        {QStringLiteral("tie_word_embeddings"), c.tieWordEmbeddings},
        {QStringLiteral("attention_bias"), c.attentionBias},
        {QStringLiteral("o_proj_bias"), c.oProjBias},
        {QStringLiteral("mlp_bias"), c.mlpBias},
        {QStringLiteral("qk_norm"), c.qkNorm},
        {QStringLiteral("sliding_window"), c.slidingWindow},
        {QStringLiteral("bos_token_id"), c.bosTokenId},
        {QStringLiteral("eos_token_id"), c.eosTokenId},
    };
}

// Configs as published on the Hugging Face Hub (abridged to what the loader reads).
QJsonObject tinyLlama()
{
    return QJsonDocument::fromJson(R"({
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 2048,
        "intermediate_size": 5632, "num_hidden_layers": 22, "num_attention_heads": 32,
        "num_key_value_heads": 4, "vocab_size": 32000, "max_position_embeddings": 2048,
        "rms_norm_eps": 1e-05, "rope_theta": 10000.0, "rope_scaling": null, "tie_word_embeddings": false,
        "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "bfloat16", "attention_bias": false})")
        .object();
}

QJsonObject mistral7b()
{
    return QJsonDocument::fromJson(R"({
        "architectures": ["MistralForCausalLM"], "model_type": "mistral", "hidden_size": 4096,
        "intermediate_size": 14336, "num_hidden_layers": 32, "num_attention_heads": 32,
        "num_key_value_heads": 8, "vocab_size": 32000, "max_position_embeddings": 32768,
        "rms_norm_eps": 1e-05, "rope_theta": 10000.0, "sliding_window": 4096, "tie_word_embeddings": false,
        "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "bfloat16"})")
        .object();
}

QJsonObject qwen25()
{
    return QJsonDocument::fromJson(R"({
        "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_size": 896,
        "intermediate_size": 4864, "num_hidden_layers": 24, "num_attention_heads": 14,
        "num_key_value_heads": 2, "vocab_size": 151936, "max_position_embeddings": 32768,
        "max_window_layers": 21, "rms_norm_eps": 1e-06, "rope_theta": 1000000.0, "sliding_window": 32768,
        "use_sliding_window": false, "tie_word_embeddings": true, "bos_token_id": 151643,
        "eos_token_id": 151643, "torch_dtype": "bfloat16"})")
        .object();
}

QJsonObject qwen3()
{
    return QJsonDocument::fromJson(R"({
        "architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", "hidden_size": 1024,
        "intermediate_size": 3072, "num_hidden_layers": 28, "num_attention_heads": 16,
        "num_key_value_heads": 8, "head_dim": 128, "vocab_size": 151936, "max_position_embeddings": 40960,
        "rms_norm_eps": 1e-06, "rope_theta": 1000000, "rope_scaling": null, "attention_bias": false,
        "tie_word_embeddings": true, "bos_token_id": 151643, "eos_token_id": 151645, "torch_dtype": "bfloat16"})")
        .object();
}

QJsonObject smolLm()
{
    return QJsonDocument::fromJson(R"({
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 576,
        "intermediate_size": 1536, "num_hidden_layers": 30, "num_attention_heads": 9,
        "num_key_value_heads": 3, "vocab_size": 49152, "max_position_embeddings": 2048,
        "rms_norm_eps": 1e-05, "rope_theta": 10000.0, "tie_word_embeddings": true,
        "bos_token_id": 0, "eos_token_id": 0, "torch_dtype": "bfloat16"})")
        .object();
}

QJsonObject llama32()
{
    return QJsonDocument::fromJson(R"({
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 2048,
        "intermediate_size": 8192, "num_hidden_layers": 16, "num_attention_heads": 32,
        "num_key_value_heads": 8, "head_dim": 64, "vocab_size": 128256, "max_position_embeddings": 131072,
        "rms_norm_eps": 1e-05, "rope_theta": 500000.0, "mlp_bias": false, "attention_bias": false,
        "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                         "original_max_position_embeddings": 8192, "rope_type": "llama3"},
        "tie_word_embeddings": true, "bos_token_id": 128000,
        "eos_token_id": [128001, 128008, 128009], "torch_dtype": "bfloat16"})")
        .object();
}

/// A small synthetic spec: head_dim 8, so tests run in milliseconds.
SyntheticModelSpec smallSpec()
{
    SyntheticModelSpec s;
    s.hidden = 32;
    s.intermediate = 64;
    s.layers = 2;
    s.heads = 4;
    s.kvHeads = 2;
    s.vocab = 48;
    return s;
}

} // namespace

class TestConfig : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void parse_data();
    void parse();
    void parseErrors_data();
    void parseErrors();
    void fromFile();
    void modelOpen_data();
    void modelOpen();
    void modelOpenPaths_data();
    void modelOpenPaths();
};

// --- ModelConfig::fromJson ------------------------------------------------------------------

void TestConfig::parse_data()
{
    QTest::addColumn<QByteArray>("json");
    QTest::addColumn<QVariantMap>("expected"); // a subset of fields()
    const auto S = [](const char* s) { return QString::fromUtf8(s); };

    QTest::newRow("llama (TinyLlama)")
        << toJson(tinyLlama())
        << QVariantMap{{S("model_type"), S("llama")}, {S("torch_dtype"), S("bfloat16")},
                       {S("hidden_size"), 2048},      {S("intermediate_size"), 5632},
                       {S("num_hidden_layers"), 22},  {S("num_attention_heads"), 32},
                       {S("num_key_value_heads"), 4}, {S("head_dim"), 64},
                       {S("vocab_size"), 32000},      {S("max_position_embeddings"), qint64(2048)},
                       {S("rms_norm_eps"), 1e-5},     {S("rope_theta"), 10000.0},
                       {S("rope_type"), QString()},   {S("tie_word_embeddings"), false},
                       {S("attention_bias"), false},  {S("o_proj_bias"), false},
                       {S("mlp_bias"), false},        {S("qk_norm"), false},
                       {S("sliding_window"), 0},      {S("bos_token_id"), 1},
                       {S("eos_token_id"), 2}};
    QTest::newRow("llama without num_key_value_heads (MHA)")
        << toJson(patched(tinyLlama(), {{S("num_key_value_heads"), QVariant()}}))
        << QVariantMap{{S("num_key_value_heads"), 32}, {S("head_dim"), 64}};
    QTest::newRow("llama defaults for optional keys")
        << toJson(patched(tinyLlama(), {{S("max_position_embeddings"), QVariant()},
                                        {S("rms_norm_eps"), QVariant()},
                                        {S("rope_theta"), QVariant()},
                                        {S("tie_word_embeddings"), QVariant()},
                                        {S("bos_token_id"), QVariant()},
                                        {S("eos_token_id"), QVariant()},
                                        {S("torch_dtype"), QVariant()}}))
        << QVariantMap{{S("max_position_embeddings"), qint64(2048)},
                       {S("rms_norm_eps"), 1e-6},
                       {S("rope_theta"), 10000.0},
                       {S("tie_word_embeddings"), false},
                       {S("bos_token_id"), -1},
                       {S("eos_token_id"), -1},
                       {S("torch_dtype"), QString()}};
    QTest::newRow("llama attention_bias and mlp_bias")
        << toJson(patched(tinyLlama(), {{S("attention_bias"), true}, {S("mlp_bias"), true}}))
        << QVariantMap{{S("attention_bias"), true}, {S("o_proj_bias"), true}, {S("mlp_bias"), true}};
    QTest::newRow("mistral sliding_window") << toJson(mistral7b())
                                            << QVariantMap{{S("model_type"), S("mistral")},
                                                           {S("sliding_window"), 4096},
                                                           {S("num_key_value_heads"), 8},
                                                           {S("head_dim"), 128},
                                                           {S("max_position_embeddings"), qint64(32768)}};
    QTest::newRow("mistral without sliding_window")
        << toJson(patched(mistral7b(), {{S("sliding_window"), QVariant()}}))
        << QVariantMap{{S("sliding_window"), 0}};
    QTest::newRow("qwen2 q/k/v bias on, no o_proj bias")
        << toJson(qwen25())
        << QVariantMap{{S("model_type"), S("qwen2")},
                       {S("attention_bias"), true},
                       {S("o_proj_bias"), false},
                       {S("qk_norm"), false},
                       {S("head_dim"), 64},
                       {S("num_key_value_heads"), 2},
                       {S("sliding_window"), 0}, // use_sliding_window false; not mistral
                       {S("tie_word_embeddings"), true},
                       {S("rope_theta"), 1e6},
                       {S("vocab_size"), 151936},
                       {S("eos_token_id"), 151643}};
    QTest::newRow("qwen3 q/k norm, head_dim 128 != 1024/16")
        << toJson(qwen3()) << QVariantMap{{S("model_type"), S("qwen3")},  {S("qk_norm"), true},
                                          {S("head_dim"), 128},           {S("hidden_size"), 1024},
                                          {S("num_attention_heads"), 16}, {S("attention_bias"), false},
                                          {S("o_proj_bias"), false},      {S("tie_word_embeddings"), true},
                                          {S("eos_token_id"), 151645}};
    QTest::newRow("qwen3 head_dim with indivisible hidden_size")
        << toJson(patched(qwen3(), {{S("hidden_size"), 1000}})) << QVariantMap{{S("head_dim"), 128}};
    QTest::newRow("SmolLM (llama, tied, 9 heads)")
        << toJson(smolLm()) << QVariantMap{{S("model_type"), S("llama")}, {S("tie_word_embeddings"), true},
                                           {S("head_dim"), 64},           {S("num_attention_heads"), 9},
                                           {S("num_key_value_heads"), 3}, {S("bos_token_id"), 0},
                                           {S("eos_token_id"), 0}};
    QTest::newRow("llama3 rope_scaling (Llama-3.2-1B)")
        << toJson(llama32())
        << QVariantMap{{S("rope_type"), S("llama3")},
                       {S("rope_factor"), 32.0},
                       {S("rope_low_freq_factor"), 1.0},
                       {S("rope_high_freq_factor"), 4.0},
                       {S("rope_original_max_position_embeddings"), qint64(8192)},
                       {S("rope_theta"), 500000.0},
                       {S("max_position_embeddings"), qint64(131072)},
                       {S("head_dim"), 64},
                       {S("tie_word_embeddings"), true},
                       {S("eos_token_id"), 128001}};
    QTest::newRow("llama3 rope_scaling with legacy \"type\" key")
        << toJson(patched(llama32(),
                          {{S("rope_scaling"), QVariantMap{{S("type"), S("llama3")},
                                                           {S("factor"), 8.0},
                                                           {S("low_freq_factor"), 2.0},
                                                           {S("high_freq_factor"), 8.0},
                                                           {S("original_max_position_embeddings"), 4096}}}}))
        << QVariantMap{{S("rope_type"), S("llama3")},
                       {S("rope_factor"), 8.0},
                       {S("rope_low_freq_factor"), 2.0},
                       {S("rope_high_freq_factor"), 8.0},
                       {S("rope_original_max_position_embeddings"), qint64(4096)}};
    QTest::newRow("rope_scaling type default")
        << toJson(patched(tinyLlama(), {{S("rope_scaling"), QVariantMap{{S("rope_type"), S("default")}}}}))
        << QVariantMap{{S("rope_type"), S("default")}, {S("rope_factor"), 1.0}};
    QTest::newRow("eos_token_id as array")
        << toJson(patched(tinyLlama(), {{S("eos_token_id"), QVariantList{7, 8}}}))
        << QVariantMap{{S("eos_token_id"), 7}};
    QTest::newRow("eos_token_id as empty array")
        << toJson(patched(tinyLlama(), {{S("eos_token_id"), QVariantList{}}}))
        << QVariantMap{{S("eos_token_id"), -1}};
}

void TestConfig::parse()
{
    QFETCH(QByteArray, json);
    QFETCH(QVariantMap, expected);
    const ModelConfig c = ModelConfig::fromJson(json, QStringLiteral("/models/x/config.json"));
    const QVariantMap got = fields(c);
    for (auto it = expected.cbegin(); it != expected.cend(); ++it) {
        QVERIFY2(got.contains(it.key()), qPrintable(it.key()));
        const QVariant& g = got.value(it.key());
        if (it.value().typeId() == QMetaType::Double)
            QVERIFY2(qFuzzyCompare(g.toDouble(), it.value().toDouble()),
                     qPrintable(QStringLiteral("%1: got %2, expected %3")
                                    .arg(it.key(), g.toString(), it.value().toString())));
        else
            QVERIFY2(g == it.value(), qPrintable(QStringLiteral("%1: got %2, expected %3")
                                                     .arg(it.key(), g.toString(), it.value().toString())));
    }
}

void TestConfig::parseErrors_data()
{
    QTest::addColumn<QByteArray>("json");
    QTest::addColumn<QStringList>("parts");
    const auto S = [](const char* s) { return QString::fromUtf8(s); };
    const auto rows = [&](const char* name, const QJsonObject& o, const QStringList& parts) {
        QTest::newRow(name) << toJson(o) << parts;
    };
    QTest::newRow("invalid JSON") << QByteArray(R"({"model_type": "llama",)")
                                  << QStringList{S("invalid JSON")};
    QTest::newRow("empty file") << QByteArray() << QStringList{S("invalid JSON")};
    QTest::newRow("JSON array") << QByteArray("[1, 2]") << QStringList{S("not a JSON object")};
    rows("missing model_type", patched(tinyLlama(), {{S("model_type"), QVariant()}}), {S("\"model_type\"")});
    rows("unsupported model_type gpt2", patched(tinyLlama(), {{S("model_type"), S("gpt2")}}),
         {S("unsupported model_type 'gpt2'"), S("llama"), S("qwen3")});
    rows("unsupported model_type gemma", patched(tinyLlama(), {{S("model_type"), S("gemma")}}),
         {S("'gemma'")});
    rows("missing hidden_size", patched(tinyLlama(), {{S("hidden_size"), QVariant()}}),
         {S("\"hidden_size\" must be a positive integer")});
    rows("hidden_size zero", patched(tinyLlama(), {{S("hidden_size"), 0}}), {S("\"hidden_size\"")});
    rows("hidden_size negative", patched(tinyLlama(), {{S("hidden_size"), -64}}), {S("\"hidden_size\"")});
    rows("hidden_size fractional", patched(tinyLlama(), {{S("hidden_size"), 64.5}}), {S("\"hidden_size\"")});
    rows("hidden_size as string", patched(tinyLlama(), {{S("hidden_size"), S("2048")}}),
         {S("\"hidden_size\"")});
    // Found by fuzz_config: 2^32 wrapped to an int of 0 and 1e20 read as 0, both accepted.
    rows("hidden_size beyond int", patched(tinyLlama(), {{S("hidden_size"), 4294967296.0}}),
         {S("\"hidden_size\" 4294967296 is out of range")});
    rows("vocab_size 1e20", patched(tinyLlama(), {{S("vocab_size"), 1e20}}),
         {S("\"vocab_size\""), S("out of range")});
    rows("head_dim beyond int", patched(qwen3(), {{S("head_dim"), 8589934592.0}}),
         {S("\"head_dim\""), S("out of range")});
    rows("mistral sliding_window negative", patched(mistral7b(), {{S("sliding_window"), -4096}}),
         {S("\"sliding_window\" must be a non-negative integer")});
    rows("missing intermediate_size", patched(tinyLlama(), {{S("intermediate_size"), QVariant()}}),
         {S("\"intermediate_size\"")});
    rows("missing num_hidden_layers", patched(tinyLlama(), {{S("num_hidden_layers"), QVariant()}}),
         {S("\"num_hidden_layers\"")});
    rows("missing num_attention_heads", patched(tinyLlama(), {{S("num_attention_heads"), QVariant()}}),
         {S("\"num_attention_heads\"")});
    rows("missing vocab_size", patched(tinyLlama(), {{S("vocab_size"), QVariant()}}), {S("\"vocab_size\"")});
    rows("heads not divisible by kv heads", patched(tinyLlama(), {{S("num_key_value_heads"), 5}}),
         {S("num_attention_heads 32 is not a multiple of num_key_value_heads 5")});
    rows("zero kv heads", patched(tinyLlama(), {{S("num_key_value_heads"), 0}}),
         {S("num_key_value_heads 0")});
    rows("negative kv heads", patched(tinyLlama(), {{S("num_key_value_heads"), -4}}),
         {S("\"num_key_value_heads\" must be a non-negative integer")});
    rows("hidden_size not divisible by heads", patched(tinyLlama(), {{S("hidden_size"), 2050}}),
         {S("hidden_size 2050 is not divisible by num_attention_heads 32")});
    rows("odd explicit head_dim", patched(qwen3(), {{S("head_dim"), 63}}), {S("head_dim 63 must be even")});
    rows("odd derived head_dim",
         patched(tinyLlama(),
                 {{S("hidden_size"), 288}, {S("num_attention_heads"), 32}, {S("num_key_value_heads"), 4}}),
         {S("head_dim 9 must be even")});
    rows("rms_norm_eps zero", patched(tinyLlama(), {{S("rms_norm_eps"), 0.0}}), {S("rms_norm_eps")});
    rows("rope_theta negative", patched(tinyLlama(), {{S("rope_theta"), -1.0}}), {S("rope_theta")});
    rows("rope_scaling yarn",
         patched(tinyLlama(),
                 {{S("rope_scaling"), QVariantMap{{S("rope_type"), S("yarn")}, {S("factor"), 4.0}}}}),
         {S("rope_scaling type 'yarn' is not supported")});
    rows("rope_scaling linear (legacy type key)",
         patched(tinyLlama(),
                 {{S("rope_scaling"), QVariantMap{{S("type"), S("linear")}, {S("factor"), 2.0}}}}),
         {S("'linear'"), S("not supported")});
    rows("rope_scaling dynamic",
         patched(tinyLlama(), {{S("rope_scaling"), QVariantMap{{S("type"), S("dynamic")}}}}),
         {S("'dynamic'")});
    rows("rope_scaling not an object", patched(tinyLlama(), {{S("rope_scaling"), S("llama3")}}),
         {S("rope_scaling must be an object or null")});
    rows("llama3 high_freq_factor <= low_freq_factor",
         patched(llama32(), {{S("rope_scaling"), QVariantMap{{S("rope_type"), S("llama3")},
                                                             {S("factor"), 8.0},
                                                             {S("low_freq_factor"), 4.0},
                                                             {S("high_freq_factor"), 4.0}}}}),
         {S("high_freq_factor > low_freq_factor")});
    rows("llama3 factor zero",
         patched(llama32(),
                 {{S("rope_scaling"), QVariantMap{{S("rope_type"), S("llama3")}, {S("factor"), 0.0}}}}),
         {S("factor > 0")});
}

void TestConfig::parseErrors()
{
    QFETCH(QByteArray, json);
    QFETCH(QStringList, parts);
    const QString path = QStringLiteral("/models/broken/config.json");
    const QString msg = errorOf([&] { ModelConfig::fromJson(json, path); });
    QS_VERIFY_ERROR(msg, QStringList{path} + parts);
    QVERIFY2(msg.startsWith(path + u": "), qPrintable(msg));
}

void TestConfig::fromFile()
{
    QTemporaryDir tmp;
    const QString path = tmp.filePath(QStringLiteral("config.json"));
    QS_VERIFY_ERROR(errorOf([&] { ModelConfig::fromFile(path); }),
                    (QStringList{path, QStringLiteral("missing config.json")}));
    QVERIFY(test::writeFile(path, toJson(qwen3())));
    const ModelConfig c = ModelConfig::fromFile(path);
    QCOMPARE(c.modelType, QStringLiteral("qwen3"));
    QCOMPARE(c.headDim, 128);
    QVERIFY(test::writeFile(path, "{\"model_type\": \"gpt2\"}"));
    QS_VERIFY_ERROR(errorOf([&] { ModelConfig::fromFile(path); }),
                    (QStringList{path, QStringLiteral("'gpt2'")}));
    // A folder named config.json exists but cannot be read as a file.
    const QString dirPath = tmp.filePath(QStringLiteral("sub/config.json"));
    QVERIFY(QDir().mkpath(dirPath));
    QS_VERIFY_ERROR(errorOf([&] { ModelConfig::fromFile(dirPath); }), (QStringList{dirPath}));
    // The synthetic writer's config parses back to its spec.
    SyntheticModelSpec s = smallSpec();
    s.modelType = QStringLiteral("mistral");
    const ModelConfig sc = ModelConfig::fromJson(syntheticConfigJson(s), path);
    QCOMPARE(sc.modelType, QStringLiteral("mistral"));
    QCOMPARE(sc.hiddenSize, 32);
    QCOMPARE(sc.headDim, 8);
    QCOMPARE(sc.numKvHeads, 2);
}

// --- Model::open on synthetic folders -------------------------------------------------------

void TestConfig::modelOpen_data()
{
    QTest::addColumn<QVariantMap>("spec");        // SyntheticModelSpec overrides
    QTest::addColumn<QVariantMap>("config");      // config.json overrides (null value: remove)
    QTest::addColumn<QStringList>("parts");       // error expected when not empty
    QTest::addColumn<bool>("errorInWeightsFile"); // the message names model.safetensors (else the folder)
    QTest::addColumn<QVariantMap>("expected");    // on success
    const auto S = [](const char* s) { return QString::fromUtf8(s); };
    const QStringList none;
    // small spec: hidden 32, intermediate 64, 2 layers, 4 heads (head_dim 8), 2 kv heads, vocab 48
    QTest::newRow("llama untied") << QVariantMap{} << QVariantMap{} << none << false
                                  << QVariantMap{{S("tied"), false},
                                                 {S("linears"), 15},
                                                 {S("dtype"), S("f32")},
                                                 {S("unused"), QStringList{}}};
    QTest::newRow("llama tied") << QVariantMap{{S("tied"), true}} << QVariantMap{} << none << false
                                << QVariantMap{{S("tied"), true}, {S("linears"), 14}};
    QTest::newRow("tied config ignores lm_head (reported unused)")
        << QVariantMap{} << QVariantMap{{S("tie_word_embeddings"), true}} << none << false
        << QVariantMap{
               {S("tied"), true}, {S("linears"), 14}, {S("unused"), QStringList{S("lm_head.weight")}}};
    QTest::newRow("untied config but no lm_head")
        << QVariantMap{{S("tied"), true}} << QVariantMap{{S("tie_word_embeddings"), false}}
        << QStringList{S("'lm_head.weight' is missing"), S("tie_word_embeddings")} << false << QVariantMap{};
    QTest::newRow("bf16 weights") << QVariantMap{{S("dtype"), int(DType::BF16)}} << QVariantMap{} << none
                                  << false << QVariantMap{{S("dtype"), S("bf16")}};
    QTest::newRow("f16 weights") << QVariantMap{{S("dtype"), int(DType::F16)}} << QVariantMap{} << none
                                 << false << QVariantMap{{S("dtype"), S("f16")}};
    QTest::newRow("mistral") << QVariantMap{{S("modelType"), S("mistral")}}
                             << QVariantMap{{S("sliding_window"), 16}} << none << false
                             << QVariantMap{{S("linears"), 15}};
    QTest::newRow("wrong shape: intermediate_size")
        << QVariantMap{} << QVariantMap{{S("intermediate_size"), 80}}
        << QStringList{S(
               "tensor 'model.layers.0.mlp.gate_proj.weight' has shape [64, 32], expected [80, 32]")}
        << true << QVariantMap{};
    QTest::newRow("wrong shape: vocab_size")
        << QVariantMap{} << QVariantMap{{S("vocab_size"), 50}}
        << QStringList{S("'model.embed_tokens.weight'"), S("[48, 32]"), S("[50, 32]")} << true
        << QVariantMap{};
    QTest::newRow("wrong shape: kv heads")
        << QVariantMap{} << QVariantMap{{S("num_key_value_heads"), 4}}
        << QStringList{S("'model.layers.0.self_attn.k_proj.weight'"), S("[16, 32]"), S("[32, 32]")} << true
        << QVariantMap{};
    QTest::newRow("wrong shape: explicit head_dim")
        << QVariantMap{} << QVariantMap{{S("head_dim"), 16}}
        << QStringList{S("'model.layers.0.self_attn.q_proj.weight'"), S("[32, 32]"), S("[64, 32]")} << true
        << QVariantMap{};
    QTest::newRow("missing tensor: more layers in config")
        << QVariantMap{} << QVariantMap{{S("num_hidden_layers"), 3}}
        << QStringList{S("tensor 'model.layers.2.input_layernorm.weight' is missing")} << false
        << QVariantMap{};
    QTest::newRow("fewer layers in config: extra tensors unused")
        << QVariantMap{} << QVariantMap{{S("num_hidden_layers"), 1}} << none << false
        << QVariantMap{{S("linears"), 8}, {S("unusedCount"), 9}};
    // A llama folder declared qwen2/qwen3 (the synthetic writer gives those types their biases and norms).
    QTest::newRow("qwen2 folder missing bias")
        << QVariantMap{} << QVariantMap{{S("model_type"), S("qwen2")}}
        << QStringList{S("tensor 'model.layers.0.self_attn.q_proj.bias' is missing")} << false
        << QVariantMap{};
    QTest::newRow("llama attention_bias without bias tensors")
        << QVariantMap{} << QVariantMap{{S("attention_bias"), true}}
        << QStringList{S("'model.layers.0.self_attn.q_proj.bias' is missing")} << false << QVariantMap{};
    QTest::newRow("llama mlp_bias without bias tensors")
        << QVariantMap{} << QVariantMap{{S("mlp_bias"), true}}
        << QStringList{S("'model.layers.0.mlp.gate_proj.bias' is missing")} << false << QVariantMap{};
    QTest::newRow("qwen3 folder missing q_norm")
        << QVariantMap{} << QVariantMap{{S("model_type"), S("qwen3")}}
        << QStringList{S("tensor 'model.layers.0.self_attn.q_norm.weight' is missing")} << false
        << QVariantMap{};
    QTest::newRow("integer weights") << QVariantMap{{S("dtype"), int(DType::I8)}, {S("sparse"), true}}
                                     << QVariantMap{}
                                     << QStringList{S("'model.embed_tokens.weight' has integer dtype i8")}
                                     << true << QVariantMap{};
    QTest::newRow("config.json invalid")
        << QVariantMap{} << QVariantMap{{S("model_type"), S("gpt2")}}
        << QStringList{S("config.json"), S("'gpt2'")} << false << QVariantMap{};
}

void TestConfig::modelOpen()
{
    QFETCH(QVariantMap, spec);
    QFETCH(QVariantMap, config);
    QFETCH(QStringList, parts);
    QFETCH(bool, errorInWeightsFile);
    QFETCH(QVariantMap, expected);
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    const QString folder = tmp.filePath(QStringLiteral("model"));
    SyntheticModelSpec s = smallSpec();
    s.modelType = spec.value(QStringLiteral("modelType"), s.modelType).toString();
    s.tied = spec.value(QStringLiteral("tied"), s.tied).toBool();
    s.dtype = DType(spec.value(QStringLiteral("dtype"), int(s.dtype)).toInt());
    s.sparse = spec.value(QStringLiteral("sparse"), s.sparse).toBool();
    writeSyntheticModel(folder, s);
    if (!config.isEmpty()) {
        const QJsonObject base = QJsonDocument::fromJson(syntheticConfigJson(s)).object();
        QVERIFY(test::writeFile(QDir(folder).filePath(QStringLiteral("config.json")),
                                toJson(patched(base, config))));
    }

    if (!parts.isEmpty()) {
        const QString named =
            errorInWeightsFile ? QDir(folder).filePath(QStringLiteral("model.safetensors")) : folder;
        QS_VERIFY_ERROR(errorOf([&] { Model::open(folder); }), QStringList{named} + parts);
        return;
    }
    const auto m = Model::open(folder);
    QCOMPARE(m->path(), folder);
    QCOMPARE(m->config().modelType, s.modelType);
    const bool tied = expected.value(QStringLiteral("tied"), m->headTied()).toBool();
    QCOMPARE(m->headTied(), tied);
    QCOMPARE(m->headTensor(),
             tied ? QStringLiteral("model.embed_tokens.weight") : QStringLiteral("lm_head.weight"));
    QCOMPARE(m->totals().headParams, tied ? std::int64_t(0) : std::int64_t(48 * 32));
    QCOMPARE(m->linears().back().kind == LinearKind::Head, !tied);
    if (expected.contains(QStringLiteral("linears")))
        QCOMPARE(int(m->linears().size()), expected.value(QStringLiteral("linears")).toInt());
    if (expected.contains(QStringLiteral("dtype")))
        QCOMPARE(m->weightDtypeName(), expected.value(QStringLiteral("dtype")).toString());
    if (expected.contains(QStringLiteral("unused")))
        QCOMPARE(m->unusedTensors(), expected.value(QStringLiteral("unused")).toStringList());
    if (expected.contains(QStringLiteral("unusedCount")))
        QCOMPARE(int(m->unusedTensors().size()), expected.value(QStringLiteral("unusedCount")).toInt());
    QCOMPARE(int(m->blocks().size()), m->config().numLayers);
    QCOMPARE(m->totals().linearLayers, int(m->linears().size()));
    const LinearLayerInfo* k = m->findLinear(QStringLiteral("model.layers.0.self_attn.k_proj"));
    QVERIFY(k);
    QCOMPARE(k->outFeatures, std::int64_t(2 * 8));
    QCOMPARE(k->inFeatures, std::int64_t(32));
}

void TestConfig::modelOpenPaths_data()
{
    QTest::addColumn<QString>("what");
    QTest::addColumn<QStringList>("parts");
    QTest::newRow("plain file, not a folder")
        << QStringLiteral("file") << QStringList{QStringLiteral("not a model folder")};
    QTest::newRow("safetensors file, not a folder")
        << QStringLiteral("weights") << QStringList{QStringLiteral("not a model folder")};
    QTest::newRow("folder without config.json")
        << QStringLiteral("noconfig")
        << QStringList{QStringLiteral("config.json"), QStringLiteral("missing config.json")};
    QTest::newRow("folder with config.json but no weights")
        << QStringLiteral("noweights") << QStringList{QStringLiteral("no model.safetensors")};
    QTest::newRow("path does not exist")
        << QStringLiteral("absent") << QStringList{QStringLiteral("no such file or folder")};
}

void TestConfig::modelOpenPaths()
{
    QFETCH(QString, what);
    QFETCH(QStringList, parts);
    QTemporaryDir tmp;
    const QString model = tmp.filePath(QStringLiteral("model"));
    writeSyntheticModel(model, smallSpec());
    QString path;
    if (what == u"file") {
        path = QDir(model).filePath(QStringLiteral("config.json"));
    } else if (what == u"weights") {
        path = QDir(model).filePath(QStringLiteral("model.safetensors"));
    } else if (what == u"noconfig") {
        QVERIFY(QFile::remove(QDir(model).filePath(QStringLiteral("config.json"))));
        path = model;
    } else if (what == u"noweights") {
        QVERIFY(QFile::remove(QDir(model).filePath(QStringLiteral("model.safetensors"))));
        path = model;
    } else {
        path = tmp.filePath(QStringLiteral("absent"));
    }
    QS_VERIFY_ERROR(errorOf([&] { Model::open(path); }), QStringList{path} + parts);
}

QTEST_GUILESS_MAIN(TestConfig)
#include "tst_config.moc"
