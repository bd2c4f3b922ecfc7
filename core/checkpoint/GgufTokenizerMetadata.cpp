#include "checkpoint/GgufTokenizerMetadata.h"

#include "io/Gguf.h"
#include "io/GgufNames.h"
#include "model/Model.h"
#include "util/Error.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <algorithm>
#include <map>
#include <sentencepiece_processor.h>

namespace qs {

namespace {

// llama.cpp's token types as tokenizer.ggml.token_type stores them (int32 array).
constexpr std::int32_t tokenType(GgufTokenType t)
{
    return std::int32_t(t);
}
constexpr std::int32_t kTokNormal = tokenType(GgufTokenType::Normal);
constexpr std::int32_t kTokUnknown = tokenType(GgufTokenType::Unknown);
constexpr std::int32_t kTokControl = tokenType(GgufTokenType::Control);
constexpr std::int32_t kTokUserDefined = tokenType(GgufTokenType::UserDefined);
constexpr std::int32_t kTokUnused = tokenType(GgufTokenType::Unused);
constexpr std::int32_t kTokByte = tokenType(GgufTokenType::Byte);

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

} // namespace

void ggufWriteTokenizer(GgufWriter& w, const Model& model)
{
    if (const GgufFile* src = model.ggufFile()) { // a GGUF model: its tokenizer metadata as it is
        for (const GgufKeyValue& kv : src->metadata()) {
            if (kv.key.startsWith(QLatin1String(gguf_key::kTokenizerPrefix)))
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

    w.set(ggufKey(gguf_key::kTokenizerModel), GgufValue(v.model));
    w.set(ggufKey(gguf_key::kTokenizerPre), GgufValue(v.pre));
    w.set(ggufKey(gguf_key::kTokens), GgufValue::array(v.tokens));
    if (!v.scores.empty())
        w.set(ggufKey(gguf_key::kScores), GgufValue::array(v.scores));
    w.set(ggufKey(gguf_key::kTokenType), GgufValue::array(v.types));
    if (!v.merges.isEmpty())
        w.set(ggufKey(gguf_key::kMerges), GgufValue::array(v.merges));

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
        {"bos", gguf_key::kBosTokenId, model.config().bosTokenId},
        {"eos", gguf_key::kEosTokenId, model.config().eosTokenId},
        {"unk", gguf_key::kUnknownTokenId, -1},
        {"pad", gguf_key::kPaddingTokenId, -1},
    };
    for (const auto& s : specials) {
        const QString content = tokenContent(tokConfig.value(QLatin1String(s.role) + u"_token"));
        int id = content.isEmpty() ? -1 : addedIds.value(content, -1);
        if (id < 0)
            id = s.configId;
        if (id >= 0 && id < v.tokens.size())
            w.set(QLatin1String(s.key), GgufValue(std::uint32_t(id)));
    }
    const struct
    {
        const char* configKey;
        const char* key;
    } addFlags[] = {{"add_bos_token", gguf_key::kAddBosToken}, {"add_eos_token", gguf_key::kAddEosToken}};
    for (const auto& f : addFlags) {
        const QJsonValue add = tokConfig.value(QLatin1String(f.configKey));
        if (add.isBool())
            w.set(ggufKey(f.key), GgufValue(add.toBool()));
    }
}

} // namespace qs
