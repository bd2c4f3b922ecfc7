#include "model/SyntheticModel.h"

#include "io/SafetensorsWriter.h"
#include "kernels/Convert.h"
#include "tokenizer/Utf8.h"
#include "util/Error.h"
#include "util/Threads.h"

#include <QDir>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSaveFile>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>

namespace qs {

namespace {

// Values are drawn in blocks of 2^20 elements, each from its own seeded generator, so a tensor
// can be produced piece by piece and in parallel with the same values.
constexpr std::uint64_t kBlockElements = std::uint64_t(1) << 20;

std::uint64_t mixSeed(std::uint64_t x)
{
    // splitmix64 finaliser: neighbouring (tensor, block) seeds give unrelated streams.
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

void storeValue(DType dtype, float v, unsigned char* dst)
{
    if (dtype == DType::F32) {
        std::memcpy(dst, &v, 4);
    } else {
        const std::uint16_t h = dtype == DType::F16 ? ref::f32ToF16(v) : ref::f32ToBf16(v);
        std::memcpy(dst, &h, 2);
    }
}

/// Fills elements [first, first + count) of a tensor with seed `seed` into dst.
void fillElements(std::uint64_t seed, float sigma, DType dtype, std::uint64_t first, std::uint64_t count,
                  unsigned char* dst)
{
    const int eb = dtypeInfo(dtype).bytes;
    const std::uint64_t firstBlock = first / kBlockElements;
    const std::uint64_t lastBlock = (first + count - 1) / kBlockElements;
    forEachRowRange(std::int64_t(lastBlock - firstBlock + 1), std::int64_t(kBlockElements),
                    [&](std::int64_t r0, std::int64_t rn) {
                        for (std::int64_t r = r0; r < r0 + rn; ++r) {
                            const std::uint64_t block = firstBlock + std::uint64_t(r);
                            std::mt19937_64 rng(mixSeed(seed ^ mixSeed(block)));
                            std::normal_distribution<float> dist(0.0f, sigma);
                            const std::uint64_t b0 = block * kBlockElements;
                            const std::uint64_t from = std::max(b0, first);
                            const std::uint64_t to = std::min(b0 + kBlockElements, first + count);
                            for (std::uint64_t i = b0; i < from; ++i) // an unaligned piece: skip ahead
                                (void)dist(rng);
                            for (std::uint64_t i = from; i < to; ++i)
                                storeValue(dtype, dist(rng), dst + (i - first) * std::uint64_t(eb));
                        }
                    });
}

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
    QSaveFile f(path);
    if (!f.open(QIODevice::WriteOnly) || f.write(bytes) < 0 || !f.commit())
        throw Error::inFile(path, u"cannot write: " + f.errorString());
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
    const std::uint64_t perBlock =
        2 * h + std::uint64_t(s.heads) * hd * h * 2 + std::uint64_t(s.kvHeads) * hd * h * 2 + 3 * h * f;
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
        const std::uint64_t seed = mixSeed(tensorSeed++);
        const DType dtype = s.dtype;
        const std::uint64_t eb = std::uint64_t(dtypeInfo(dtype).bytes);
        w.addTensorRange(name, dtype, std::move(shape),
                         [seed, sigma, isNorm, dtype, eb, &ctx](unsigned char* dst, std::uint64_t offset,
                                                                std::uint64_t bytes) {
                             ctx.checkCancelled();
                             if (isNorm) {
                                 for (std::uint64_t i = 0; i < bytes / eb; ++i)
                                     storeValue(dtype, 1.0f, dst + i * eb);
                             } else {
                                 fillElements(seed, sigma, dtype, offset / eb, bytes / eb, dst);
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
