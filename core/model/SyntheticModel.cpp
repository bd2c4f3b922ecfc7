#include "model/SyntheticModel.h"

#include "io/SafetensorsWriter.h"
#include "kernels/Convert.h"
#include "tokenizer/Utf8.h"
#include "util/AtomicFile.h"
#include "util/Error.h"

#include <QDir>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <random>

namespace qs {

namespace {

void storeValue(DType dtype, float v, unsigned char* dst)
{
    if (dtype == DType::F32) {
        std::memcpy(dst, &v, 4);
    } else {
        const std::uint16_t h = dtype == DType::F16 ? ref::f32ToF16(v) : ref::f32ToBf16(v);
        std::memcpy(dst, &h, 2);
    }
}

/// One tensor's values: a single seeded stream drawn in order, piece after piece, so a tensor
/// written in pieces holds the values it had when it was drawn whole (tests rely on them).
struct TensorStream
{
    std::uint64_t seed;
    float sigma;
    std::mt19937_64 rng;
    std::normal_distribution<float> dist;
    std::uint64_t next = 0; ///< the element the next piece must start at

    TensorStream(std::uint64_t s, float sd) : seed(s), sigma(sd), rng(s), dist(0.0f, sd) {}
    void fill(DType dtype, std::uint64_t first, std::uint64_t count, unsigned char* dst)
    {
        if (first == 0) { // a new write of the file: start the stream again
            rng.seed(seed);
            dist = std::normal_distribution<float>(0.0f, sigma);
            next = 0;
        }
        if (first != next)
            throw Error(QStringLiteral("synthetic tensor pieces out of order (element %1, expected %2)")
                            .arg(first)
                            .arg(next));
        const std::uint64_t eb = std::uint64_t(dtypeInfo(dtype).bytes);
        for (std::uint64_t i = 0; i < count; ++i)
            storeValue(dtype, dist(rng), dst + i * eb);
        next = first + count;
    }
};

QJsonObject syntheticTokenizerConfig()
{
    return QJsonObject{{QStringLiteral("tokenizer_class"), QStringLiteral("PreTrainedTokenizerFast")},
                       {QStringLiteral("bos_token"), QStringLiteral("<s>")},
                       {QStringLiteral("eos_token"), QStringLiteral("</s>")},
                       {QStringLiteral("unk_token"), QStringLiteral("<unk>")},
                       {QStringLiteral("add_bos_token"), true},
                       {QStringLiteral("add_eos_token"), false},
                       {QStringLiteral("model_max_length"), 1 << 20}};
}

void writeFile(const QString& path, const QByteArray& bytes)
{
    writeFileAtomically(path, bytes);
}

} // namespace

const std::vector<SyntheticShape>& syntheticShapes()
{
    static const std::vector<SyntheticShape> table{
        {"tiny", "hidden 256, 2 blocks, ffn 768, 4/2 heads, vocab 1024 (tests, smoke runs)", 256, 768, 2, 4,
         2, 1024, false},
        {"1b", "hidden 2048, 16 blocks, ffn 8192, 32/8 heads, vocab 32000 (1.1B parameters)", 2048, 8192, 16,
         32, 8, 32000, false},
        {"3b", "Llama-3.2-3B: hidden 3072, 28 blocks, ffn 8192, 24/8 heads, vocab 128256, tied", 3072, 8192,
         28, 24, 8, 128256, true},
        {"8b", "Llama-3-8B: hidden 4096, 32 blocks, ffn 14336, 32/8 heads, vocab 128256", 4096, 14336, 32, 32,
         8, 128256, false},
    };
    return table;
}

QStringList syntheticShapeNames()
{
    QStringList names;
    for (const SyntheticShape& s : syntheticShapes())
        names << QLatin1String(s.name);
    return names;
}

SyntheticModelSpec syntheticSpec(const QString& name)
{
    for (const SyntheticShape& s : syntheticShapes()) {
        if (name.compare(QLatin1String(s.name), Qt::CaseInsensitive) != 0)
            continue;
        SyntheticModelSpec spec;
        spec.hidden = s.hidden;
        spec.intermediate = s.intermediate;
        spec.layers = s.layers;
        spec.heads = s.heads;
        spec.kvHeads = s.kvHeads;
        spec.vocab = s.vocab;
        spec.tied = s.tied;
        spec.maxPositions = 4096;
        spec.dtype = DType::BF16;
        spec.tokenizer = true;
        return spec;
    }
    throw Error(QStringLiteral("unknown model shape \"%1\" (shapes: %2)")
                    .arg(name, syntheticShapeNames().join(u", ")));
}

QByteArray syntheticConfigJson(const SyntheticModelSpec& s)
{
    QJsonObject o{
        {QStringLiteral("architectures"), QJsonArray{QStringLiteral("LlamaForCausalLM")}},
        {QStringLiteral("model_type"), s.modelType},
        {QStringLiteral("hidden_size"), s.hidden},
        {QStringLiteral("intermediate_size"), s.intermediate},
        {QStringLiteral("num_hidden_layers"), s.layers},
        {QStringLiteral("num_attention_heads"), s.heads},
        {QStringLiteral("num_key_value_heads"), s.kvHeads},
        {QStringLiteral("vocab_size"), s.vocab},
        {QStringLiteral("max_position_embeddings"), s.maxPositions},
        {QStringLiteral("rms_norm_eps"), 1e-5},
        {QStringLiteral("rope_theta"), 10000.0},
        {QStringLiteral("tie_word_embeddings"), s.tied},
        {QStringLiteral("bos_token_id"), 1},
        {QStringLiteral("eos_token_id"), 2},
        {QStringLiteral("torch_dtype"), s.dtype == DType::BF16  ? QStringLiteral("bfloat16")
                                        : s.dtype == DType::F16 ? QStringLiteral("float16")
                                                                : QStringLiteral("float32")},
    };
    if (s.modelType == u"mistral" && s.slidingWindow > 0)
        o.insert(QStringLiteral("sliding_window"), s.slidingWindow);
    return QJsonDocument(o).toJson(QJsonDocument::Indented);
}

QByteArray syntheticTokenizerJson()
{
    // ids 0-2: <unk> <s> </s>; 3-258: the 256 bytes (GPT-2 byte-level characters); then merges of a
    // space + letter and of letter pairs, so text is not one token per byte everywhere.
    const auto& map = utf8::ByteLevelMap::instance();
    QJsonObject vocab;
    QJsonArray added;
    int id = 0;
    for (const char* special : {"<unk>", "<s>", "</s>"}) {
        vocab.insert(QLatin1String(special), id);
        added.append(QJsonObject{{QStringLiteral("id"), id},
                                 {QStringLiteral("content"), QLatin1String(special)},
                                 {QStringLiteral("single_word"), false},
                                 {QStringLiteral("lstrip"), false},
                                 {QStringLiteral("rstrip"), false},
                                 {QStringLiteral("normalized"), false},
                                 {QStringLiteral("special"), true}});
        ++id;
    }
    for (int b = 0; b < 256; ++b)
        vocab.insert(QString::fromStdString(map.byteToUtf8[std::size_t(b)]), id++);
    QJsonArray merges;
    const QString space = QString::fromStdString(map.byteToUtf8[' ']);
    auto merge = [&](const QString& a, const QString& b) {
        merges.append(QString(a + u' ' + b));
        vocab.insert(a + b, id++);
    };
    for (char c = 'a'; c <= 'z'; ++c)
        merge(space, QString(QLatin1Char(c)));
    for (char c = 'a'; c <= 'z'; ++c) {
        for (char d = 'a'; d <= 'z'; ++d)
            merge(QString(QLatin1Char(c)), QString(QLatin1Char(d)));
    }
    const QJsonObject byteLevel{{QStringLiteral("type"), QStringLiteral("ByteLevel")},
                                {QStringLiteral("add_prefix_space"), false},
                                {QStringLiteral("trim_offsets"), true},
                                {QStringLiteral("use_regex"), true}};
    const QJsonObject root{
        {QStringLiteral("version"), QStringLiteral("1.0")},
        {QStringLiteral("added_tokens"), added},
        {QStringLiteral("normalizer"), QJsonValue::Null},
        {QStringLiteral("pre_tokenizer"), byteLevel},
        {QStringLiteral("post_processor"), QJsonValue::Null},
        {QStringLiteral("decoder"), byteLevel},
        {QStringLiteral("model"), QJsonObject{{QStringLiteral("type"), QStringLiteral("BPE")},
                                              {QStringLiteral("dropout"), QJsonValue::Null},
                                              {QStringLiteral("unk_token"), QJsonValue::Null},
                                              {QStringLiteral("continuing_subword_prefix"), QJsonValue::Null},
                                              {QStringLiteral("end_of_word_suffix"), QJsonValue::Null},
                                              {QStringLiteral("fuse_unk"), false},
                                              {QStringLiteral("byte_fallback"), false},
                                              {QStringLiteral("ignore_merges"), false},
                                              {QStringLiteral("vocab"), vocab},
                                              {QStringLiteral("merges"), merges}}},
    };
    return QJsonDocument(root).toJson(QJsonDocument::Compact);
}

int syntheticTokenizerSize()
{
    return 3 + 256 + 26 + 26 * 26;
}

std::uint64_t syntheticWeightBytes(const SyntheticModelSpec& s)
{
    const std::uint64_t hd = std::uint64_t(s.hidden / s.heads);
    const std::uint64_t h = std::uint64_t(s.hidden), f = std::uint64_t(s.intermediate);
    std::uint64_t perBlock =
        2 * h + std::uint64_t(s.heads) * hd * h * 2 + std::uint64_t(s.kvHeads) * hd * h * 2 + 3 * h * f;
    if (s.modelType == u"qwen2")
        perBlock += std::uint64_t(s.heads + 2 * s.kvHeads) * hd;
    else if (s.modelType == u"qwen3")
        perBlock += 2 * hd;
    const std::uint64_t elements =
        std::uint64_t(s.vocab) * h * (s.tied ? 1 : 2) + h + std::uint64_t(s.layers) * perBlock;
    return elements * std::uint64_t(dtypeInfo(s.dtype).bytes);
}

void writeSyntheticModel(const QString& folder, const SyntheticModelSpec& s, const JobContext& ctx)
{
    if (s.hidden <= 0 || s.heads <= 0 || s.kvHeads <= 0 || s.hidden % s.heads != 0 ||
        s.heads % s.kvHeads != 0 || s.layers < 0 || s.intermediate <= 0 || s.vocab <= 0)
        throw Error::inFile(folder,
                            QStringLiteral("invalid synthetic model shape (hidden %1, heads %2, kv heads %3)")
                                .arg(s.hidden)
                                .arg(s.heads)
                                .arg(s.kvHeads));
    if (s.tokenizer && s.vocab < syntheticTokenizerSize())
        throw Error::inFile(folder,
                            QStringLiteral("vocabulary of %1 is too small for the synthetic tokenizer (%2)")
                                .arg(s.vocab)
                                .arg(syntheticTokenizerSize()));
    if (!QDir().mkpath(folder))
        throw Error::inFile(folder, QStringLiteral("cannot create folder"));
    const QDir dir(folder);
    writeFile(dir.filePath(QStringLiteral("config.json")), syntheticConfigJson(s));
    if (s.tokenizer) {
        writeFile(dir.filePath(QStringLiteral("tokenizer.json")), syntheticTokenizerJson());
        writeFile(dir.filePath(QStringLiteral("tokenizer_config.json")),
                  QJsonDocument(syntheticTokenizerConfig()).toJson(QJsonDocument::Indented));
    }

    SafetensorsWriter w;
    std::uint64_t tensorSeed = s.seed;
    auto add = [&](const QString& name, std::vector<std::int64_t> shape, bool isNorm) {
        if (s.sparse) {
            w.addTensor(name, s.dtype, std::move(shape));
            return;
        }
        const float sigma = float(1.0 / std::sqrt(double(shape.back())));
        const DType dtype = s.dtype;
        const std::uint64_t eb = std::uint64_t(dtypeInfo(dtype).bytes);
        auto stream = std::make_shared<TensorStream>(tensorSeed++, sigma);
        w.addTensorRange(
            name, dtype, std::move(shape),
            [stream, isNorm, dtype, eb, &ctx](unsigned char* dst, std::uint64_t offset, std::uint64_t bytes) {
                ctx.checkCancelled();
                if (isNorm) {
                    for (std::uint64_t i = 0; i < bytes / eb; ++i)
                        storeValue(dtype, 1.0f, dst + i * eb);
                } else {
                    stream->fill(dtype, offset / eb, bytes / eb, dst);
                }
            });
    };
    const int hd = s.hidden / s.heads;
    add(QStringLiteral("model.embed_tokens.weight"), {s.vocab, s.hidden}, false);
    for (int b = 0; b < s.layers; ++b) {
        const QString p = QStringLiteral("model.layers.%1.").arg(b);
        add(p + u"input_layernorm.weight", {s.hidden}, true);
        add(p + u"self_attn.q_proj.weight", {s.heads * hd, s.hidden}, false);
        add(p + u"self_attn.k_proj.weight", {s.kvHeads * hd, s.hidden}, false);
        add(p + u"self_attn.v_proj.weight", {s.kvHeads * hd, s.hidden}, false);
        if (s.modelType == u"qwen2") {
            add(p + u"self_attn.q_proj.bias", {s.heads * hd}, false);
            add(p + u"self_attn.k_proj.bias", {s.kvHeads * hd}, false);
            add(p + u"self_attn.v_proj.bias", {s.kvHeads * hd}, false);
        } else if (s.modelType == u"qwen3") {
            add(p + u"self_attn.q_norm.weight", {hd}, true);
            add(p + u"self_attn.k_norm.weight", {hd}, true);
        }
        add(p + u"self_attn.o_proj.weight", {s.hidden, s.heads * hd}, false);
        add(p + u"post_attention_layernorm.weight", {s.hidden}, true);
        add(p + u"mlp.gate_proj.weight", {s.intermediate, s.hidden}, false);
        add(p + u"mlp.up_proj.weight", {s.intermediate, s.hidden}, false);
        add(p + u"mlp.down_proj.weight", {s.hidden, s.intermediate}, false);
    }
    add(QStringLiteral("model.norm.weight"), {s.hidden}, true);
    if (!s.tied)
        add(QStringLiteral("lm_head.weight"), {s.vocab, s.hidden}, false);
    const QString weights = dir.filePath(QStringLiteral("model.safetensors"));
    w.write(weights, [&ctx](std::uint64_t done, std::uint64_t total) {
        ctx.checkCancelled();
        ctx.report(total ? double(done) / double(total) : 1.0, QStringLiteral("writing weights"),
                   QStringLiteral("%1 / %2 MiB").arg(done >> 20).arg(total >> 20));
    });
}

} // namespace qs
