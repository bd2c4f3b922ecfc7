#include "tokenizer/HfTokenizer.h"

#include "tokenizer/HfAddedTokens.h"
#include "tokenizer/HfBpeModel.h"
#include "tokenizer/HfDecoders.h"
#include "tokenizer/HfJson.h"
#include "tokenizer/HfNormalizers.h"
#include "tokenizer/HfPostProcessors.h"
#include "tokenizer/HfPreTokenizers.h"
#include "tokenizer/Utf8.h"
#include "util/Error.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <algorithm>

namespace qs {

using hf::Piece;
using hf::Pieces;

struct HfTokenizer::Impl
{
    QString path;
    std::vector<hf::AddedToken> added;
    hf::AddedMatcher rawAdded;        ///< added tokens with normalized=false, matched on the input
    hf::AddedMatcher normalizedAdded; ///< normalized=true ones, matched after normalisation
    std::unique_ptr<hf::Normalizer> normalizer;
    std::unique_ptr<hf::PreTokenizer> preTokenizer;
    hf::BpeModel model;
    std::unique_ptr<hf::Decoder> decoder;
    std::vector<int> bosPrefix; ///< ids encode(addBos) puts in front
    std::vector<std::string> idToToken;
    std::vector<char> special;
    int bos = -1, eos = -1;
    bool byteLevel = false;

    /// Added tokens cut out, the rest normalised and pre-tokenized: what the model receives.
    Pieces pieces(std::string_view text) const
    {
        utf8::require(text);
        Pieces segs;
        if (text.empty())
            return segs;
        Piece whole{std::string(text), -1, true};
        if (rawAdded.any())
            rawAdded.split(std::move(whole), segs);
        else
            segs.push_back(std::move(whole));
        if (normalizer)
            for (Piece& p : segs)
                if (p.addedId < 0)
                    normalizer->normalize(p.text);
        if (normalizedAdded.any()) {
            Pieces next;
            for (Piece& p : segs) {
                if (p.addedId >= 0)
                    next.push_back(std::move(p));
                else
                    normalizedAdded.split(std::move(p), next);
            }
            segs.swap(next);
        }
        if (!preTokenizer)
            return segs;
        Pieces out;
        out.reserve(segs.size() + text.size() / 4);
        for (Piece& p : segs) {
            if (p.addedId >= 0)
                out.push_back(std::move(p));
            else if (!p.text.empty())
                preTokenizer->split(p, out);
        }
        return out;
    }

    int idOf(const std::string& token) const
    {
        for (const hf::AddedToken& t : added)
            if (t.content == token)
                return t.id;
        const auto it = model.vocab.find(token);
        return it == model.vocab.end() ? -1 : it->second;
    }
};

namespace {

QJsonObject parseJsonObject(const QByteArray& json, const QString& path)
{
    QJsonParseError perr{};
    const QJsonDocument doc = QJsonDocument::fromJson(json, &perr);
    if (perr.error != QJsonParseError::NoError)
        throw Error::inFile(
            path, QStringLiteral("invalid JSON: %1 at byte %2").arg(perr.errorString()).arg(perr.offset));
    if (!doc.isObject())
        throw Error::inFile(path, QStringLiteral("not a JSON object"));
    return doc.object();
}

QJsonObject readJsonObject(const QString& path)
{
    QFile f(path);
    if (!f.exists())
        throw Error::inFile(path, QStringLiteral("no such file"));
    if (!f.open(QIODevice::ReadOnly))
        throw Error::inFile(path, u"cannot open: " + f.errorString());
    return parseJsonObject(f.readAll(), path);
}

/// bos_token / eos_token of tokenizer_config.json: a string or {"content": …}.
std::string configToken(const QJsonObject& cfg, const QString& key)
{
    const QJsonValue v = cfg.value(key);
    if (v.isString())
        return v.toString().toStdString();
    if (v.isObject())
        return v.toObject().value(u"content").toString().toStdString();
    return {};
}

bool present(const QJsonValue& v)
{
    return !v.isNull() && !v.isUndefined();
}

/// The model and the optional normalizer, pre-tokenizer and decoder.
void readComponents(const hf::JsonReader& json, const QJsonObject& root, HfTokenizer::Impl& d)
{
    if (!root.value(u"model").isObject())
        json.fail(QStringLiteral("model"), QStringLiteral("missing"));
    hf::readBpeModel(json, root.value(u"model").toObject(), d.model);
    if (present(root.value(u"normalizer")))
        d.normalizer = hf::readNormalizer(json, root.value(u"normalizer"), QStringLiteral("normalizer"));
    if (present(root.value(u"pre_tokenizer"))) {
        d.preTokenizer =
            hf::readPreTokenizer(json, root.value(u"pre_tokenizer"), QStringLiteral("pre_tokenizer"));
        d.byteLevel = d.preTokenizer->isByteLevel();
    }
    if (present(root.value(u"decoder")))
        d.decoder = hf::readDecoder(json, root.value(u"decoder"), QStringLiteral("decoder"));
}

/// Added tokens: special ones and most others are matched on the raw text, normalized ones after
/// normalisation.
void readAdded(const hf::JsonReader& json, const QJsonObject& root, HfTokenizer::Impl& d)
{
    d.added = hf::readAddedTokens(json, root.value(u"added_tokens").toArray(), d.normalizer.get());
    for (const hf::AddedToken& t : d.added)
        (t.normalized && d.normalizer ? d.normalizedAdded : d.rawAdded).add(&t);
}

/// The id → token table: the model's vocabulary, then added tokens (which win, as in HF). Returns
/// the largest id.
/// Unused ids a vocabulary may have (the id table holds every id up to the largest).
constexpr int kMaxUnusedIds = 1 << 16;

int buildIdTable(const hf::JsonReader& json, HfTokenizer::Impl& d)
{
    int maxId = -1;
    for (const auto& [tok, id] : d.model.vocab)
        maxId = std::max(maxId, id);
    for (const hf::AddedToken& t : d.added)
        maxId = std::max(maxId, t.id);
    // A few tokens with a huge id would make a table of billions of entries.
    const std::size_t tokens = d.model.vocab.size() + d.added.size();
    if (std::size_t(maxId) >= tokens + std::size_t(kMaxUnusedIds))
        json.fail(QStringLiteral("model.vocab"),
                  QStringLiteral("token id %1 leaves more than %2 ids unused (%3 tokens)")
                      .arg(maxId)
                      .arg(kMaxUnusedIds)
                      .arg(tokens));
    d.idToToken.resize(std::size_t(maxId + 1));
    d.special.assign(std::size_t(maxId + 1), 0);
    for (const auto& [tok, id] : d.model.vocab)
        d.idToToken[std::size_t(id)] = tok;
    for (const hf::AddedToken& t : d.added) {
        d.idToToken[std::size_t(t.id)] = t.content;
        d.special[std::size_t(t.id)] = t.special;
    }
    return maxId;
}

/// BOS: the post-processor's leading special tokens; without one, tokenizer_config.json's
/// bos_token. EOS: the config's eos_token, else the first of the usual names in the vocabulary.
void resolveSpecialIds(const hf::JsonReader& json, const QJsonObject& root, const QJsonObject& cfg, int maxId,
                       HfTokenizer::Impl& d)
{
    const QJsonValue pp = root.value(u"post_processor");
    if (present(pp))
        d.bosPrefix = hf::readPostProcessorPrefix(json, pp, QStringLiteral("post_processor"));
    for (int id : d.bosPrefix)
        if (id < 0 || id > maxId)
            json.fail(QStringLiteral("post_processor"),
                      QStringLiteral("special token id %1 is out of range").arg(id));
    if (d.bosPrefix.empty() && cfg.value(u"add_bos_token").toBool(true)) {
        const std::string bos = configToken(cfg, QStringLiteral("bos_token"));
        const int id = bos.empty() ? -1 : d.idOf(bos);
        if (id >= 0)
            d.bosPrefix.push_back(id);
    }
    if (!d.bosPrefix.empty())
        d.bos = d.bosPrefix.front();
    else if (const std::string bos = configToken(cfg, QStringLiteral("bos_token")); !bos.empty())
        d.bos = d.idOf(bos);

    std::string eos = configToken(cfg, QStringLiteral("eos_token"));
    if (eos.empty())
        for (const char* name : {"</s>", "<|end_of_text|>", "<|endoftext|>", "<eos>"})
            if (d.idOf(name) >= 0) {
                eos = name;
                break;
            }
    d.eos = eos.empty() ? -1 : d.idOf(eos);
}

} // namespace

HfTokenizer::HfTokenizer(std::unique_ptr<Impl> impl) : d(std::move(impl)) {}
HfTokenizer::~HfTokenizer() = default;

std::unique_ptr<HfTokenizer> HfTokenizer::fromFile(const QString& path)
{
    const QJsonObject root = readJsonObject(path);
    const QString cfgPath = QFileInfo(path).dir().filePath(QStringLiteral("tokenizer_config.json"));
    const QJsonObject cfg = QFileInfo::exists(cfgPath) ? readJsonObject(cfgPath) : QJsonObject();
    return fromJson(root, path, cfg);
}

std::unique_ptr<HfTokenizer> HfTokenizer::fromBytes(const QByteArray& json, const QString& path,
                                                    const QJsonObject& config)
{
    return fromJson(parseJsonObject(json, path), path, config);
}

std::unique_ptr<HfTokenizer> HfTokenizer::fromJson(const QJsonObject& root, const QString& path,
                                                   const QJsonObject& cfg)
{
    const hf::JsonReader json(path);
    auto d = std::make_unique<Impl>();
    d->path = path;
    readComponents(json, root, *d);
    readAdded(json, root, *d);
    const int maxId = buildIdTable(json, *d);
    resolveSpecialIds(json, root, cfg, maxId, *d);
    return std::unique_ptr<HfTokenizer>(new HfTokenizer(std::move(d)));
}

std::vector<int> HfTokenizer::encode(std::string_view utf8, bool addBos) const
{
    std::vector<int> ids;
    if (addBos)
        ids = d->bosPrefix;
    const Pieces pieces = d->pieces(utf8);
    ids.reserve(ids.size() + utf8.size() / 3);
    for (const Piece& p : pieces) {
        if (p.addedId >= 0)
            ids.push_back(p.addedId);
        else
            d->model.tokenize(p.text, ids);
    }
    return ids;
}

std::vector<std::string> HfTokenizer::preTokenize(std::string_view utf8) const
{
    std::vector<std::string> out;
    for (Piece& p : d->pieces(utf8))
        out.push_back(std::move(p.text));
    return out;
}

std::string HfTokenizer::decode(const std::vector<int>& ids) const
{
    std::vector<std::string> tokens;
    tokens.reserve(ids.size());
    for (int id : ids) {
        if (id < 0 || id >= int(d->idToToken.size()))
            throw Error::inFile(d->path, QStringLiteral("cannot decode token id %1: vocabulary has %2 ids")
                                             .arg(id)
                                             .arg(d->idToToken.size()));
        if (!d->special[std::size_t(id)])
            tokens.push_back(d->idToToken[std::size_t(id)]);
    }
    if (!d->decoder) { // HF joins the raw tokens with spaces
        std::string out;
        for (std::size_t i = 0; i < tokens.size(); ++i)
            out += (i ? " " : "") + tokens[i];
        return out;
    }
    d->decoder->decode(tokens);
    std::string out;
    for (const std::string& t : tokens)
        out += t;
    return utf8::lossy(out);
}

std::string HfTokenizer::piece(int id) const
{
    if (id < 0 || id >= int(d->idToToken.size()))
        throw Error::inFile(d->path, QStringLiteral("token id %1 is out of range").arg(id));
    return d->idToToken[std::size_t(id)];
}

int HfTokenizer::vocabSize() const
{
    return int(d->idToToken.size());
}

int HfTokenizer::bosId() const
{
    return d->bos;
}

int HfTokenizer::eosId() const
{
    return d->eos;
}

QString HfTokenizer::description() const
{
    QString kind = QStringLiteral("BPE");
    if (d->byteLevel)
        kind += u", byte-level";
    if (d->model.byteFallback)
        kind += u", byte fallback";
    return QStringLiteral("tokenizer.json: %1, %2 tokens").arg(kind).arg(vocabSize());
}

QString HfTokenizer::path() const
{
    return d->path;
}

} // namespace qs
