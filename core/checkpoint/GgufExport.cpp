#include "checkpoint/GgufExport.h"

#include "io/Gguf.h"
#include "io/GgufModel.h"
#include "model/Model.h"
#include "kernels/GgmlQuants.h"
#include "checkpoint/QuantizedModelIO.h"
#include "recipe/LayerPlan.h"
#include "recipe/RecipeExport.h"
#include "util/Error.h"
#include "util/Threads.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>
#include <algorithm>
#include <cmath>
#include <map>
#include <sentencepiece_processor.h>

namespace qs {

namespace {

// llama_ftype numbers (llama.h) and the base type llama-quantize starts from for each.
struct PresetInfo
{
    const char* name;
    int fileType;
    GgmlType base;
    bool kQuantMix; ///< llama_tensor_get_type applies (the base type is quantized)
};
constexpr PresetInfo kPresets[] = {
    {"F32", 0, GgmlType::F32, false},     {"F16", 1, GgmlType::F16, false},
    {"BF16", 32, GgmlType::BF16, false},  {"Q8_0", 7, GgmlType::Q8_0, true},
    {"Q4_0", 2, GgmlType::Q4_0, true},    {"Q4_1", 3, GgmlType::Q4_1, true},
    {"Q5_0", 8, GgmlType::Q5_0, true},    {"Q5_1", 9, GgmlType::Q5_1, true},
    {"Q2_K", 10, GgmlType::Q2_K, true},   {"Q3_K_S", 11, GgmlType::Q3_K, true},
    {"Q3_K_M", 12, GgmlType::Q3_K, true}, {"Q3_K_L", 13, GgmlType::Q3_K, true},
    {"Q4_K_S", 14, GgmlType::Q4_K, true}, {"Q4_K_M", 15, GgmlType::Q4_K, true},
    {"Q5_K_S", 16, GgmlType::Q5_K, true}, {"Q5_K_M", 17, GgmlType::Q5_K, true},
    {"Q6_K", 18, GgmlType::Q6_K, true},
};
enum FType {
    kQ4_0 = 2,
    kQ5_0 = 8,
    kQ2_K = 10,
    kQ3_K_M = 12,
    kQ3_K_L = 13,
    kQ4_K_S = 14,
    kQ4_K_M = 15,
    kQ5_K_M = 17,
};

const PresetInfo* findPreset(const QString& name)
{
    for (const PresetInfo& p : kPresets) {
        if (name.compare(QLatin1String(p.name), Qt::CaseInsensitive) == 0)
            return &p;
    }
    return nullptr;
}

int blockOf(GgmlType t)
{
    return ggmlTypeInfo(t).blockSize;
}

bool useMoreBits(int layer, int nLayers)
{
    return layer < nLayers / 8 || layer >= 7 * nLayers / 8 || (layer - nLayers / 8) % 3 == 2;
}

/// The role a weight plays in llama_tensor_get_type.
enum class Slot { TokenEmbd, Output, Q, K, V, O, Gate, Up, Down };

Slot slotOf(const GgufExportTensor& t, const Model& model)
{
    if (t.linearIndex < 0)
        return Slot::TokenEmbd;
    switch (model.linears()[std::size_t(t.linearIndex)].kind) {
    case LinearKind::Q:
        return Slot::Q;
    case LinearKind::K:
        return Slot::K;
    case LinearKind::V:
        return Slot::V;
    case LinearKind::O:
        return Slot::O;
    case LinearKind::Gate:
        return Slot::Gate;
    case LinearKind::Up:
        return Slot::Up;
    case LinearKind::Down:
        return Slot::Down;
    case LinearKind::Head:
        return Slot::Output;
    }
    return Slot::Gate;
}

/// llama_tensor_get_type for the llama architecture and the ftypes of kPresets.
GgmlType chooseType(const Model& model, const PresetInfo& p, const GgufExportTensor& t, bool withImportance)
{
    const ModelConfig& c = model.config();
    const int nLayers = c.numLayers;
    const int layer = t.block;
    const int ft = p.fileType;
    const int nGqa = c.numKvHeads > 0 ? c.numHeads / c.numKvHeads : 1;
    // llama.cpp's LLM_TYPE_70B: 80 layers with grouped-query attention.
    const bool is70B = nLayers == 80 && c.numHeads != c.numKvHeads;
    const std::int64_t nx = t.rowLength();
    const Slot slot = slotOf(t, model);
    GgmlType type = p.base;

    if (slot == Slot::Output || (slot == Slot::TokenEmbd && model.headTied())) {
        if (nx % blockOf(type) != 0)
            type = GgmlType::Q8_0;
        else if (type != GgmlType::Q8_0)
            type = GgmlType::Q6_K;
    } else if (slot == Slot::V) {
        if (ft == kQ2_K)
            type = nGqa >= 4 ? GgmlType::Q4_K : GgmlType::Q3_K;
        else if (ft == kQ3_K_M)
            type = layer < 2 ? GgmlType::Q5_K : GgmlType::Q4_K;
        else if (ft == kQ3_K_L)
            type = GgmlType::Q5_K;
        else if ((ft == kQ4_K_M || ft == kQ5_K_M) && useMoreBits(layer, nLayers))
            type = GgmlType::Q6_K;
        else if (ft == kQ4_K_S && layer < 4)
            type = GgmlType::Q5_K;
        if (is70B && (type == GgmlType::Q3_K || type == GgmlType::Q4_K))
            type = GgmlType::Q5_K;
    } else if (slot == Slot::Down) {
        if (ft == kQ2_K)
            type = GgmlType::Q3_K;
        else if (ft == kQ3_K_M)
            type = layer < nLayers / 16 ? GgmlType::Q5_K : GgmlType::Q4_K;
        else if (ft == kQ3_K_L)
            type = GgmlType::Q5_K;
        else if (ft == kQ4_K_M) {
            if (useMoreBits(layer, nLayers))
                type = GgmlType::Q6_K;
        } else if (ft == kQ5_K_M && useMoreBits(layer, nLayers))
            type = GgmlType::Q6_K;
        else if (ft == kQ4_K_S && layer < nLayers / 8)
            type = GgmlType::Q5_K;
        else if ((ft == kQ4_0 || ft == kQ5_0) && withImportance && layer < nLayers / 8)
            type = ft == kQ4_0 ? GgmlType::Q4_1 : GgmlType::Q5_1;
    } else if (slot == Slot::O) {
        if (ft == kQ2_K)
            type = GgmlType::Q3_K;
        else if (ft == kQ3_K_M)
            type = GgmlType::Q4_K;
        else if (ft == kQ3_K_L)
            type = GgmlType::Q5_K;
    }

    // Row lengths the chosen block does not divide fall back to a type with 32-wide blocks.
    const std::optional<GgmlType> fitted = ggmlRowFallback(type, nx);
    if (!fitted)
        throw Error(QStringLiteral("preset %1: tensor %2 has rows of %3 values, which %4 cannot store "
                                   "(llama-quantize refuses it too: unsupported tensor size)")
                        .arg(QLatin1String(p.name), t.name)
                        .arg(nx)
                        .arg(ggmlTypeName(type)));
    type = *fitted;
    return type;
}

// ---- tokenizer metadata ----------------------------------------------------------------------

// llama.cpp token types (llama_token_type / gguf SentencePieceTokenTypes).
constexpr std::int32_t kTokNormal = 1, kTokUnknown = 2, kTokControl = 3, kTokUserDefined = 4, kTokUnused = 5,
                       kTokByte = 6;

QJsonObject readJsonObject(const QString& path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return {};
    QJsonParseError e;
    const QJsonDocument d = QJsonDocument::fromJson(f.readAll(), &e);
    if (e.error != QJsonParseError::NoError)
        throw Error::inFile(path, u"invalid JSON: " + e.errorString());
    return d.object();
}

/// "<s>" from a tokenizer_config entry that is a string or {"content": …}.
QString tokenContent(const QJsonValue& v)
{
    if (v.isString())
        return v.toString();
    if (v.isObject())
        return v.toObject().value(u"content").toString();
    return {};
}

bool looksSpecial(const QString& t)
{
    // convert_hf_to_gguf.py does_token_look_special
    if (t == u"<pad>" || t == u"<mask>" || t == u"<2mass>" || t == u"[@BOS@]")
        return true;
    return (t.startsWith(u"<|") && t.endsWith(u"|>")) ||
           (t.startsWith(QString::fromUtf8("<\xef\xbd\x9c")) &&
            t.endsWith(QString::fromUtf8("\xef\xbd\x9c>"))) ||
           (t.startsWith(u"<unused") && t.endsWith(u">"));
}

struct Vocab
{
    QString model; ///< "llama" or "gpt2"
    QString pre;
    QStringList tokens;
    std::vector<float> scores;
    std::vector<std::int32_t> types;
    QStringList merges;
};

Vocab sentencePieceVocab(const QString& path, int vocabSize, const QJsonObject& tokConfig)
{
    sentencepiece::SentencePieceProcessor sp;
    const auto status = sp.Load(QFile::encodeName(path).toStdString());
    if (!status.ok())
        throw Error::inFile(path, u"not a SentencePiece model: " + QString::fromStdString(status.ToString()));
    const int n = std::max(vocabSize, sp.GetPieceSize());
    Vocab v;
    v.model = QStringLiteral("llama");
    v.pre = QStringLiteral("default");
    for (int i = 0; i < n; ++i) {
        v.tokens << QStringLiteral("[PAD%1]").arg(i);
        v.scores.push_back(-10000.0f);
        v.types.push_back(kTokUnused);
    }
    for (int i = 0; i < sp.GetPieceSize(); ++i) {
        std::int32_t type = kTokNormal;
        if (sp.IsUnknown(i))
            type = kTokUnknown;
        else if (sp.IsControl(i))
            type = kTokControl;
        else if (sp.IsUnused(i))
            type = kTokUnused;
        else if (sp.IsByte(i))
            type = kTokByte;
        v.tokens[i] = QString::fromStdString(sp.IdToPiece(i));
        v.scores[std::size_t(i)] = sp.GetScore(i);
        v.types[std::size_t(i)] = type;
    }
    // added_tokens_decoder of tokenizer_config.json overrides pieces (as the HF converter does).
    const QJsonObject added = tokConfig.value(u"added_tokens_decoder").toObject();
    for (auto it = added.begin(); it != added.end(); ++it) {
        bool ok = false;
        const int id = it.key().toInt(&ok);
        if (!ok || id < 0 || id >= n)
            continue;
        const QJsonObject o = it.value().toObject();
        QString content = o.value(u"content").toString();
        if (o.value(u"special").toBool() || looksSpecial(content)) {
            v.types[std::size_t(id)] = kTokControl;
        } else {
            content.replace(QChar(0x2581), u' ');
            v.types[std::size_t(id)] = kTokUserDefined;
        }
        v.scores[std::size_t(id)] = -1000.0f;
        v.tokens[id] = content;
    }
    return v;
}

Vocab bpeVocab(const QString& path, int vocabSize)
{
    const QJsonObject root = readJsonObject(path);
    const QJsonObject model = root.value(u"model").toObject();
    if (model.value(u"type").toString() != u"BPE")
        throw Error::inFile(path, QStringLiteral("tokenizer model %1 cannot be exported to GGUF (BPE only)")
                                      .arg(model.value(u"type").toString()));
    const QByteArray pre =
        QJsonDocument(root.value(u"pre_tokenizer").toObject()).toJson(QJsonDocument::Compact);
    if (!pre.contains("ByteLevel") || model.value(u"byte_fallback").toBool())
        throw Error::inFile(path,
                            QStringLiteral("only byte-level BPE tokenizer.json files (or a SentencePiece "
                                           "tokenizer.model) can be exported to GGUF"));
    const QJsonObject vocabJson = model.value(u"vocab").toObject();
    std::map<int, QString> byId;
    for (auto it = vocabJson.begin(); it != vocabJson.end(); ++it)
        byId[it.value().toInt()] = it.key();
    std::map<int, bool> addedSpecial;
    for (const QJsonValue& a : root.value(u"added_tokens").toArray()) {
        const QJsonObject o = a.toObject();
        const int id = o.value(u"id").toInt();
        byId[id] = o.value(u"content").toString();
        addedSpecial[id] = o.value(u"special").toBool();
    }
    const int n = std::max(vocabSize, byId.empty() ? 0 : byId.rbegin()->first + 1);
    Vocab v;
    v.model = QStringLiteral("gpt2");
    // llama.cpp identifies pre-tokenizers by name; the Llama 3 split regex is "llama-bpe".
    static const QByteArray kLlama3Regex = QByteArrayLiteral(
        R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+)");
    v.pre = pre.contains(kLlama3Regex) ? QStringLiteral("llama-bpe") : QStringLiteral("default");
    for (int i = 0; i < n; ++i) {
        const auto it = byId.find(i);
        if (it == byId.end()) {
            v.tokens << QStringLiteral("[PAD%1]").arg(i);
            v.types.push_back(kTokUnused);
            continue;
        }
        v.tokens << it->second;
        const auto a = addedSpecial.find(i);
        if (a == addedSpecial.end())
            v.types.push_back(kTokNormal);
        else
            v.types.push_back(a->second || looksSpecial(it->second) ? kTokControl : kTokUserDefined);
    }
    for (const QJsonValue& m : model.value(u"merges").toArray()) {
        if (m.isString()) {
            v.merges << m.toString();
        } else {
            const QJsonArray pair = m.toArray();
            v.merges << pair.at(0).toString() + u' ' + pair.at(1).toString();
        }
    }
    return v;
}

void setTokenizer(GgufWriter& w, const Model& model)
{
    if (const GgufFile* src = model.ggufFile()) { // a GGUF model: its tokenizer metadata as it is
        for (const GgufKeyValue& kv : src->metadata()) {
            if (kv.key.startsWith(u"tokenizer."))
                w.set(kv.key, kv.value);
        }
        return;
    }
    const QString dir =
        QFileInfo(model.path()).isDir() ? model.path() : QFileInfo(model.path()).absolutePath();
    const QJsonObject tokConfig = readJsonObject(QDir(dir).filePath(QStringLiteral("tokenizer_config.json")));
    const int vocabSize = model.config().vocabSize;
    Vocab v;
    const QString sp = model.sentencePiecePath();
    const QString json = model.tokenizerJsonPath();
    if (!sp.isEmpty())
        v = sentencePieceVocab(sp, vocabSize, tokConfig);
    else if (!json.isEmpty())
        v = bpeVocab(json, vocabSize);
    else
        throw Error::inFile(model.path(), QStringLiteral("no tokenizer.model or tokenizer.json to export"));

    w.set(QStringLiteral("tokenizer.ggml.model"), GgufValue(v.model));
    w.set(QStringLiteral("tokenizer.ggml.pre"), GgufValue(v.pre));
    w.set(QStringLiteral("tokenizer.ggml.tokens"), GgufValue::array(v.tokens));
    if (!v.scores.empty())
        w.set(QStringLiteral("tokenizer.ggml.scores"), GgufValue::array(v.scores));
    w.set(QStringLiteral("tokenizer.ggml.token_type"), GgufValue::array(v.types));
    if (!v.merges.isEmpty())
        w.set(QStringLiteral("tokenizer.ggml.merges"), GgufValue::array(v.merges));

    // Special ids: tokenizer_config's *_token strings looked up among the added tokens of
    // tokenizer.json (or the vocabulary), else config.json's *_token_id (gguf-py SpecialVocab).
    QHash<QString, int> addedIds;
    if (!json.isEmpty()) {
        for (const QJsonValue& a : readJsonObject(json).value(u"added_tokens").toArray())
            addedIds.insert(a.toObject().value(u"content").toString(), a.toObject().value(u"id").toInt());
    } else {
        for (int i = 0; i < v.tokens.size(); ++i) {
            if (v.types[std::size_t(i)] == kTokControl || v.types[std::size_t(i)] == kTokUnknown)
                addedIds.insert(v.tokens[i], i);
        }
    }
    const struct
    {
        const char* role;
        const char* key;
        int configId;
    } specials[] = {
        {"bos", "tokenizer.ggml.bos_token_id", model.config().bosTokenId},
        {"eos", "tokenizer.ggml.eos_token_id", model.config().eosTokenId},
        {"unk", "tokenizer.ggml.unknown_token_id", -1},
        {"pad", "tokenizer.ggml.padding_token_id", -1},
    };
    for (const auto& s : specials) {
        const QString content = tokenContent(tokConfig.value(QLatin1String(s.role) + u"_token"));
        int id = content.isEmpty() ? -1 : addedIds.value(content, -1);
        if (id < 0)
            id = s.configId;
        if (id >= 0 && id < v.tokens.size())
            w.set(QLatin1String(s.key), GgufValue(std::uint32_t(id)));
    }
    for (const char* role : {"bos", "eos"}) {
        const QJsonValue add = tokConfig.value(u"add_" + QLatin1String(role) + u"_token");
        if (add.isBool())
            w.set(u"tokenizer.ggml.add_" + QLatin1String(role) + u"_token", GgufValue(add.toBool()));
    }
}

/// llama3 rope_freqs (convert_hf_to_gguf.py LlamaModel.generate_extra_tensors).
std::vector<float> llama3RopeFactors(const ModelConfig& c, int dim)
{
    const RopeScaling& r = c.ropeScaling;
    const double oldContext = double(r.originalMaxPositionEmbeddings);
    const double lowWavelen = oldContext / r.lowFreqFactor;
    const double highWavelen = oldContext / r.highFreqFactor;
    std::vector<float> out;
    for (int i = 0; i < dim; i += 2) {
        const float freq = 1.0f / std::pow(float(c.ropeTheta), float(i) / float(dim));
        const double wavelen = 2.0 * M_PI / double(freq);
        if (wavelen < highWavelen) {
            out.push_back(1.0f);
        } else if (wavelen > lowWavelen) {
            out.push_back(float(r.factor));
        } else {
            const double smooth =
                (oldContext / wavelen - r.lowFreqFactor) / (r.highFreqFactor - r.lowFreqFactor);
            out.push_back(float(1.0 / ((1.0 - smooth) / r.factor + smooth)));
        }
    }
    return out;
}

int ropeDims(const ModelConfig& c)
{
    return c.headDim > 0 ? c.headDim : c.hiddenSize / std::max(1, c.numHeads);
}

} // namespace

void ggufWriteTokenizer(GgufWriter& writer, const Model& model)
{
    setTokenizer(writer, model);
}

// ---- tensors ----------------------------------------------------------------------------------

std::vector<GgufExportTensor> ggufExportTensors(const Model& model)
{
    const ModelConfig& c = model.config();
    if (c.modelType != u"llama" && c.modelType != u"mistral")
        throw Error::inFile(
            model.path(),
            QStringLiteral("GGUF export supports model_type llama and mistral, not %1").arg(c.modelType));
    if (c.qkNorm || c.mlpBias)
        throw Error::inFile(model.path(),
                            QStringLiteral("GGUF export: qk-norm and MLP biases are not supported"));
    for (const LinearLayerInfo& l : model.linears()) {
        if (l.quant && l.quant->method != QuantMethod::Ggml && l.quant->method != QuantMethod::Float)
            throw Error::inFile(
                model.path(),
                QStringLiteral("GGUF export: layer %1 is stored as %2; GGUF holds float and gguf "
                               "layers only (export GPTQ/AWQ layers with export-hf)")
                    .arg(l.name, l.quant->label()));
    }

    const TensorStore& ts = model.tensors();
    auto shapeOf = [&](const QString& name) {
        const std::vector<std::int64_t> s = ts.info(name).shape;
        return std::vector<std::int64_t>(s.rbegin(), s.rend());
    };
    std::vector<GgufExportTensor> out;
    if (c.ropeScaling.type == u"llama3" || !c.ropeFreqFactors.empty()) {
        GgufExportTensor t;
        t.name = QStringLiteral("rope_freqs.weight");
        t.dims = {ropeDims(c) / 2};
        t.role = GgufExportTensor::Role::RopeFreqs;
        out.push_back(t);
    }
    {
        GgufExportTensor t;
        t.name = QStringLiteral("token_embd.weight");
        t.source = model.embeddingTensor();
        t.dims = shapeOf(t.source);
        out.push_back(t);
    }
    static const char* const kBiasSuffix[] = {"attn_q", "attn_k", "attn_v", "attn_output"};
    for (const DecoderBlockInfo& b : model.blocks()) {
        const QString prefix = QStringLiteral("blk.%1.").arg(b.index);
        auto addNorm = [&](const QString& source, const char* name) {
            GgufExportTensor t;
            t.name = prefix + QLatin1String(name) + u".weight";
            t.source = source;
            t.dims = shapeOf(source);
            t.role = GgufExportTensor::Role::Norm;
            t.block = b.index;
            out.push_back(t);
        };
        addNorm(b.inputNorm, "attn_norm");
        for (int k = 0; k < kLinearsPerBlock; ++k) {
            if (k == int(LinearKind::Gate))
                addNorm(b.postAttentionNorm, "ffn_norm");
            const int li = b.linears[std::size_t(k)];
            const LinearLayerInfo& l = model.linears()[std::size_t(li)];
            const int heads = l.kind == LinearKind::Q   ? c.numHeads
                              : l.kind == LinearKind::K ? c.numKvHeads
                                                        : 0;
            GgufExportTensor t;
            t.name = ggufTensorName(model, li);
            t.source = l.weight;
            t.dims = {l.inFeatures, l.outFeatures};
            t.linearIndex = li;
            t.block = b.index;
            t.permuteHeads = heads;
            out.push_back(t);
            if (!l.bias.isEmpty() && k < 4) {
                GgufExportTensor bias;
                bias.name = prefix + QLatin1String(kBiasSuffix[k]) + u".bias";
                bias.source = l.bias;
                bias.dims = {l.outFeatures};
                bias.role = GgufExportTensor::Role::Bias;
                bias.block = b.index;
                bias.permuteHeads = heads;
                out.push_back(bias);
            }
        }
    }
    {
        GgufExportTensor t;
        t.name = QStringLiteral("output_norm.weight");
        t.source = model.finalNormTensor();
        t.dims = shapeOf(t.source);
        t.role = GgufExportTensor::Role::Norm;
        out.push_back(t);
    }
    if (!model.headTied()) {
        for (std::size_t i = 0; i < model.linears().size(); ++i) {
            const LinearLayerInfo& l = model.linears()[i];
            if (l.kind != LinearKind::Head)
                continue;
            GgufExportTensor t;
            t.name = QStringLiteral("output.weight");
            t.source = l.weight;
            t.dims = {l.inFeatures, l.outFeatures};
            t.linearIndex = int(i);
            out.push_back(t);
        }
    }
    return out;
}

void ggufPermuteRows(const float* src, float* dst, std::int64_t rows, std::int64_t cols, int heads,
                     bool inverse)
{
    if (heads <= 0 || rows % heads != 0 || (rows / heads) % 2 != 0)
        throw Error(QStringLiteral("cannot permute %1 rows for %2 heads").arg(rows).arg(heads));
    const std::int64_t perHead = rows / heads, half = perHead / 2;
    for (std::int64_t h = 0; h < heads; ++h) {
        for (std::int64_t i = 0; i < half; ++i) {
            for (std::int64_t j = 0; j < 2; ++j) {
                const std::int64_t gguf = h * perHead + i * 2 + j;  // interleaved pairs
                const std::int64_t hf = h * perHead + j * half + i; // halves
                const std::int64_t from = inverse ? gguf : hf, to = inverse ? hf : gguf;
                std::copy_n(src + from * cols, cols, dst + to * cols);
            }
        }
    }
}

// ---- plans ------------------------------------------------------------------------------------

std::uint32_t ggufFileTypeFor(GgmlType t)
{
    switch (t) {
    case GgmlType::F32:
        return 0;
    case GgmlType::F16:
        return 1;
    case GgmlType::Q4_0:
        return 2;
    case GgmlType::Q4_1:
        return 3;
    case GgmlType::Q8_0:
        return 7;
    case GgmlType::Q5_0:
        return 8;
    case GgmlType::Q5_1:
        return 9;
    case GgmlType::Q2_K:
        return 10;
    case GgmlType::Q3_K:
        return 12;
    case GgmlType::Q4_K:
        return 15;
    case GgmlType::Q5_K:
        return 17;
    case GgmlType::Q6_K:
        return 18;
    case GgmlType::IQ4_NL:
        return 25;
    case GgmlType::IQ4_XS:
        return 30;
    case GgmlType::BF16:
        return 32;
    default:
        return 1;
    }
}

void GgufExportPlan::setLinear(const Model& model, int linearIndex, GgmlType type)
{
    types.insert(ggufTensorName(model, linearIndex), type);
}

QStringList ggufPresetNames()
{
    QStringList names;
    for (const PresetInfo& p : kPresets)
        names << QLatin1String(p.name);
    return names;
}

int ggufPresetFileType(const QString& name)
{
    const PresetInfo* p = findPreset(name);
    return p ? p->fileType : -1;
}

GgufExportPlan ggufPreset(const Model& model, const QString& name, bool withImportance)
{
    const PresetInfo* p = findPreset(name);
    if (!p)
        throw Error(QStringLiteral("unknown GGUF preset \"%1\" (known: %2)")
                        .arg(name, ggufPresetNames().join(u", ")));
    GgufExportPlan plan;
    plan.preset = QLatin1String(p->name);
    plan.fileType = std::uint32_t(p->fileType);
    plan.defaultType = p->base;
    for (const GgufExportTensor& t : ggufExportTensors(model)) {
        if (t.role != GgufExportTensor::Role::Weight)
            continue;
        plan.types.insert(t.name, p->kQuantMix ? chooseType(model, *p, t, withImportance) : p->base);
    }
    return plan;
}

int ggufOverrideTypes(const Model& model, GgufExportPlan& plan, const QString& regex, GgmlType type)
{
    const QRegularExpression re(regex);
    if (!re.isValid())
        throw Error(QStringLiteral("invalid tensor pattern \"%1\": %2").arg(regex, re.errorString()));
    if (!ggmlTypeInfo(type).canQuantize)
        throw Error(QStringLiteral("GGUF type %1 cannot be produced").arg(ggmlTypeName(type)));
    int matched = 0;
    for (const GgufExportTensor& t : ggufExportTensors(model)) {
        if (t.role != GgufExportTensor::Role::Weight || !re.match(t.name).hasMatch())
            continue;
        if (t.rowLength() % blockOf(type) != 0)
            throw Error(QStringLiteral("tensor %1: rows of %2 values are not a multiple of the %3 block (%4)")
                            .arg(t.name)
                            .arg(t.rowLength())
                            .arg(ggmlTypeName(type))
                            .arg(blockOf(type)));
        plan.types.insert(t.name, type);
        ++matched;
    }
    return matched;
}

namespace {

/// general.file_type of a hand-made plan: the ftype of the type holding most linear weights.
void setDominantFileType(const Model& model, GgufExportPlan& plan)
{
    std::map<std::uint32_t, std::int64_t> values;
    for (const GgufExportTensor& t : ggufExportTensors(model)) {
        if (t.linearIndex >= 0)
            values[std::uint32_t(plan.typeOf(t.name))] +=
                model.linears()[std::size_t(t.linearIndex)].params();
    }
    const auto best = std::max_element(values.begin(), values.end(),
                                       [](const auto& a, const auto& b) { return a.second < b.second; });
    if (best != values.end())
        plan.fileType = ggufFileTypeFor(GgmlType(best->first));
}

} // namespace

void ggufApplyLayerPlan(const Model& model, GgufExportPlan& plan, const LayerPlan& layers)
{
    for (const LayerPlanEntry& e : layers.entries) {
        const std::optional<GgmlType> ggufType = e.spec.ggufType();
        if (!ggufType)
            throw Error(
                QStringLiteral(
                    "layer %1 is planned as %2, which GGUF cannot hold; use gguf types (or float) for "
                    "a GGUF export, or export GPTQ/AWQ with export-hf")
                    .arg(e.name, e.spec.label()));
        const GgmlType type = *ggufType;
        const LinearLayerInfo& l = model.linears()[std::size_t(e.linearIndex)];
        if (l.inFeatures % blockOf(type) != 0)
            throw Error(QStringLiteral("layer %1: rows of %2 values are not a multiple of the %3 block (%4)")
                            .arg(e.name)
                            .arg(l.inFeatures)
                            .arg(ggmlTypeName(type))
                            .arg(blockOf(type)));
        plan.setLinear(model, e.linearIndex, type);
    }
    plan.preset.clear();
    setDominantFileType(model, plan);
}

int ggufKeepStoredTypes(const Model& model, GgufExportPlan& plan)
{
    int kept = 0;
    const TensorStore& store = model.tensors();
    for (const GgufExportTensor& t : ggufExportTensors(model)) {
        if (t.role != GgufExportTensor::Role::Weight)
            continue;
        const LinearLayerInfo* l =
            t.linearIndex >= 0 ? &model.linears()[std::size_t(t.linearIndex)] : nullptr;
        std::optional<GgmlType> stored;
        if (l && l->quant)
            stored = l->quant->ggufType();
        else if (store.isGguf() && store.contains(t.source))
            stored = store.info(t.source).ggmlType;
        if (stored && ggmlTypeInfo(*stored).canQuantize) {
            plan.types.insert(t.name, *stored);
            ++kept;
        }
    }
    if (kept > 0) {
        plan.preset.clear();
        setDominantFileType(model, plan);
    }
    return kept;
}

// ---- export -----------------------------------------------------------------------------------

void exportGguf(const Model& model, const GgufExportPlan& plan, const QString& outPath,
                const GgufImportance* importance, const JobContext& ctx)
{
    const QFileInfo outInfo(outPath);
    if (!outInfo.absoluteDir().exists())
        throw Error::inFile(outPath, QStringLiteral("folder %1 does not exist").arg(outInfo.absolutePath()));

    const ModelConfig& c = model.config();
    const std::vector<GgufExportTensor> tensors = ggufExportTensors(model);

    // Validate the whole plan before writing anything.
    std::vector<GgmlType> types;
    std::int64_t totalValues = 0;
    for (const GgufExportTensor& t : tensors) {
        const GgmlType type = t.role == GgufExportTensor::Role::Weight ? plan.typeOf(t.name) : GgmlType::F32;
        if (!ggmlTypeInfo(type).canQuantize)
            throw Error::inFile(
                outPath,
                QStringLiteral("tensor %1: type %2 cannot be produced").arg(t.name, ggmlTypeName(type)));
        if (t.rowLength() % blockOf(type) != 0)
            throw Error::inFile(
                outPath,
                QStringLiteral("tensor %1: rows of %2 values are not a multiple of the %3 block (%4)")
                    .arg(t.name)
                    .arg(t.rowLength())
                    .arg(ggmlTypeName(type))
                    .arg(blockOf(type)));
        if (importance && ggmlUsesImportance(type)) {
            const auto it = importance->constFind(t.name);
            if (it != importance->constEnd() && std::int64_t(it->size()) != t.rowLength() &&
                t.name != u"token_embd.weight")
                throw Error::inFile(outPath,
                                    QStringLiteral("tensor %1: importance vector has %2 values, rows have %3")
                                        .arg(t.name)
                                        .arg(it->size())
                                        .arg(t.rowLength()));
        }
        types.push_back(type);
        std::int64_t n = 1;
        for (std::int64_t d : t.dims)
            n *= d;
        totalValues += n;
    }

    GgufWriter w;
    w.set(QStringLiteral("general.architecture"), GgufValue("llama"));
    w.set(QStringLiteral("general.name"), GgufValue(model.displayName()));
    w.set(QStringLiteral("llama.block_count"), GgufValue(std::uint32_t(c.numLayers)));
    w.set(QStringLiteral("llama.context_length"), GgufValue(std::uint32_t(c.maxPositionEmbeddings)));
    w.set(QStringLiteral("llama.embedding_length"), GgufValue(std::uint32_t(c.hiddenSize)));
    w.set(QStringLiteral("llama.feed_forward_length"), GgufValue(std::uint32_t(c.intermediateSize)));
    w.set(QStringLiteral("llama.attention.head_count"), GgufValue(std::uint32_t(c.numHeads)));
    w.set(QStringLiteral("llama.attention.head_count_kv"), GgufValue(std::uint32_t(c.numKvHeads)));
    w.set(QStringLiteral("llama.rope.freq_base"), GgufValue(float(c.ropeTheta)));
    w.set(QStringLiteral("llama.attention.layer_norm_rms_epsilon"), GgufValue(float(c.rmsNormEps)));
    if (c.headDim > 0 && c.headDim * c.numHeads != c.hiddenSize) {
        w.set(QStringLiteral("llama.attention.key_length"), GgufValue(std::uint32_t(c.headDim)));
        w.set(QStringLiteral("llama.attention.value_length"), GgufValue(std::uint32_t(c.headDim)));
    }
    w.set(QStringLiteral("general.file_type"), GgufValue(plan.fileType));
    w.set(QStringLiteral("llama.vocab_size"), GgufValue(std::uint32_t(c.vocabSize)));
    w.set(QStringLiteral("llama.rope.dimension_count"), GgufValue(std::uint32_t(ropeDims(c))));
    if (c.slidingWindow > 0 && c.modelType == u"mistral")
        w.set(QStringLiteral("llama.attention.sliding_window"), GgufValue(std::uint32_t(c.slidingWindow)));
    w.set(QStringLiteral("general.quantization_version"), GgufValue(std::uint32_t(2)));
    setTokenizer(w, model);
    for (const GgufKeyValue& kv : plan.extraMetadata)
        w.set(kv.key, kv.value);

    const TensorStore& store = model.tensors();
    auto done = std::make_shared<std::int64_t>(0);
    for (std::size_t i = 0; i < tensors.size(); ++i) {
        const GgufExportTensor t = tensors[i];
        const GgmlType type = types[i];
        const float* imp = nullptr;
        if (importance && ggmlUsesImportance(type)) {
            const auto it = importance->constFind(t.name);
            if (it != importance->constEnd() && std::int64_t(it->size()) == t.rowLength())
                imp = it->data();
        }
        std::vector<float> impCopy =
            imp ? std::vector<float>(imp, imp + t.rowLength()) : std::vector<float>();
        const std::int64_t cols = t.rowLength();
        const std::int64_t rows = t.dims.size() > 1 ? t.dims[1] : 1;
        w.addTensor(
            t.name, type, t.dims, [&, t, type, cols, rows, impCopy, done](const GgufWriter::Sink& sink) {
                ctx.checkCancelled();
                const float* impPtr = impCopy.empty() ? nullptr : impCopy.data();
                if (t.role == GgufExportTensor::Role::RopeFreqs) {
                    const std::vector<float> f =
                        c.ropeFreqFactors.empty() ? llama3RopeFactors(c, ropeDims(c)) : c.ropeFreqFactors;
                    sink(f.data(), f.size() * sizeof(float));
                    return;
                }
                if (t.role != GgufExportTensor::Role::Weight) {
                    std::vector<float> v = store.readF32(t.source);
                    if (t.permuteHeads > 0) {
                        std::vector<float> p(v.size());
                        ggufPermuteRows(v.data(), p.data(), std::int64_t(v.size()), 1, t.permuteHeads);
                        v.swap(p);
                    }
                    sink(v.data(), v.size() * sizeof(float));
                    return;
                }
                // A layer stored in this very type (a GGUF model, or a gguf run of ours): its blocks as
                // they are, rows permuted like the floats would be. Another type: dequantize, requantize.
                const LinearLayerInfo* stored =
                    t.linearIndex >= 0 ? &model.linears()[std::size_t(t.linearIndex)] : nullptr;
                if (stored && (!stored->quant || stored->quant->method != QuantMethod::Ggml))
                    stored = nullptr; // float layers read through the store
                std::vector<float> dequantized;
                if (stored) {
                    const QuantizedTensor qt =
                        readQuantizedTensor(store, stored->name, *stored->quant, rows, cols);
                    if (qt.spec.ggmlType == type) {
                        const std::size_t rb = ggmlRowBytes(type, cols);
                        std::vector<std::uint8_t> out(qt.ggmlData.size());
                        for (std::int64_t r = 0; r < rows; ++r) {
                            const std::int64_t g =
                                t.permuteHeads > 0 ? ggufRowOfHfRow(r, rows, t.permuteHeads) : r;
                            std::copy_n(qt.ggmlData.begin() + std::ptrdiff_t(std::size_t(r) * rb), rb,
                                        out.begin() + std::ptrdiff_t(std::size_t(g) * rb));
                        }
                        sink(out.data(), out.size());
                        *done += rows * cols;
                        ctx.report(double(*done) / double(std::max<std::int64_t>(1, totalValues)),
                                   QStringLiteral("exporting GGUF"),
                                   t.name + u" (stored " + ggmlTypeName(type) + u')');
                        return;
                    }
                    dequantized = qt.dequantize();
                } else if (store.isGguf() && store.info(t.source).ggmlType == type) {
                    const std::vector<std::uint8_t> raw = store.readRawRows(t.source); // not a q/k tensor
                    sink(raw.data(), raw.size());
                    *done += rows * cols;
                    return;
                }
                // Weights: whole heads (permuted) or ~1M values at a time, so memory stays small.
                const std::int64_t unit = t.permuteHeads > 0 ? rows / t.permuteHeads : 1;
                const std::int64_t chunk =
                    std::max<std::int64_t>(1,
                                           (std::int64_t(1) << 20) / std::max<std::int64_t>(1, cols * unit)) *
                    unit;
                const std::size_t rowBytes = ggmlRowBytes(type, cols);
                std::vector<float> buf, perm;
                std::vector<unsigned char> q;
                for (std::int64_t r0 = 0; r0 < rows; r0 += chunk) {
                    ctx.checkCancelled();
                    const std::int64_t n = std::min(chunk, rows - r0);
                    buf.resize(std::size_t(n * cols));
                    if (stored)
                        std::copy_n(dequantized.begin() + std::ptrdiff_t(r0 * cols), n * cols, buf.begin());
                    else
                        store.readRowsF32(t.source, r0, n, buf.data(), FiniteCheck::Throw);
                    const float* src = buf.data();
                    if (t.permuteHeads > 0) {
                        perm.resize(buf.size());
                        ggufPermuteRows(buf.data(), perm.data(), n, cols, int(n / unit));
                        src = perm.data();
                    }
                    q.resize(rowBytes * std::size_t(n));
                    forEachRowRange(n, cols, [&](std::int64_t first, std::int64_t count) {
                        ggmlQuantizeChunk(type, src, q.data(), first, count, cols, impPtr);
                    });
                    sink(q.data(), q.size());
                }
                *done += rows * cols;
                ctx.report(double(*done) / double(std::max<std::int64_t>(1, totalValues)),
                           QStringLiteral("exporting GGUF"), t.name + u" → " + ggmlTypeName(type));
            });
    }
    ctx.report(0.0, QStringLiteral("exporting GGUF"), outPath);
    w.write(outPath);
    ctx.report(1.0, QStringLiteral("exporting GGUF"), outPath);
}

} // namespace qs
