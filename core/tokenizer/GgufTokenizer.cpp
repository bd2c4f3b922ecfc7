#include "tokenizer/GgufTokenizer.h"

#include "io/Gguf.h"
#include "tokenizer/HfBpeModel.h"
#include "tokenizer/HfPreTokenizers.h"
#include "tokenizer/HfText.h"
#include "tokenizer/Utf8.h"
#include "util/Error.h"

#include <algorithm>
#include <array>
#include <limits>
#include <queue>
#include <string>

namespace qs {

namespace {

const QString kModelKey = ggufKey(gguf_key::kTokenizerModel);
const QString kPreKey = ggufKey(gguf_key::kTokenizerPre);
const QString kTokensKey = ggufKey(gguf_key::kTokens);
const QString kScoresKey = ggufKey(gguf_key::kScores);
const QString kTypesKey = ggufKey(gguf_key::kTokenType);
const QString kMergesKey = ggufKey(gguf_key::kMerges);
const QString kAddBosKey = ggufKey(gguf_key::kAddBosToken);
const QString kSpacePrefixKey = ggufKey(gguf_key::kAddSpacePrefix);

const char* const kEscapedSpace = "\xE2\x96\x81"; // U+2581, SentencePiece's visible space

// llama.cpp's split regexes (llm_tokenizer_bpe, c392e50), applied in order: each one splits every
// piece into its matches and the text between them.
const char* const kGpt2Regex = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S))";
const char* const kLlama3Regex =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const char* const kQwen2Regex =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

/// One row per llama.cpp pre-tokenizer type: the tokenizer.ggml.pre names that select it.
struct PreTokenizerInfo
{
    const char* names; ///< space-separated
    std::array<const char*, 4> regexes;
    bool ignoreMerges; ///< a word that is a token is not split (llama.cpp's ignore_merges)
};
const PreTokenizerInfo kPreTokenizers[] = {
    {"default", {R"([\p{P}\$\+<=>\^~\|]+)", kGpt2Regex, R"(\p{N}+)", "[0-9][0-9][0-9]"}, false},
    {"llama-bpe llama3 llama-v3 falcon3", {kLlama3Regex}, true},
    {"dbrx smaug-bpe", {kLlama3Regex}, false},
    {"gpt-2 phi-2 roberta-bpe jina-es jina-de jina-v1-en gigachat mpt olmo jais", {kGpt2Regex}, false},
    {"qwen2 deepseek-r1-qwen megrez stablelm2", {kQwen2Regex}, false},
    {"smollm starcoder refact command-r codeshell exaone minerva-7b", {R"(\p{N})", kGpt2Regex}, false},
};

const PreTokenizerInfo* findPreTokenizer(const QString& name)
{
    const QString wanted = name.isEmpty() ? QStringLiteral("default") : name; // as llama.cpp, with a warning
    for (const PreTokenizerInfo& p : kPreTokenizers)
        if (QString::fromLatin1(p.names).split(u' ').contains(wanted))
            return &p;
    return nullptr;
}

/// A string array's elements as raw bytes; the GgufFile getter reports a missing key or wrong type.
std::vector<std::string> rawStrings(const GgufFile& file, const QString& key)
{
    const GgufValue* v = file.find(key);
    const GgufArray* a = v ? v->asArray() : nullptr;
    if (!a || a->type != GgufValueType::String) {
        file.getStrings(key); // throws: missing, or not an array of strings
        throw Error::inFile(file.path(), u"metadata key " + key + u" is not an array of strings");
    }
    std::vector<std::string> out;
    out.reserve(a->values.size());
    for (const GgufValue& e : a->values) {
        const QByteArray bytes = e.toBytes().value_or(QByteArray());
        out.emplace_back(bytes.constData(), std::size_t(bytes.size()));
    }
    return out;
}

} // namespace

struct GgufTokenizer::Impl
{
    QString path;
    bool spm = true; ///< "llama"; else "gpt2"
    QString pre;
    std::vector<std::string> tokens;
    std::vector<float> scores;
    std::vector<GgufTokenType> types;
    hf::StringMap<int> tokenToId;      ///< for duplicates the last id wins, as in llama.cpp
    std::vector<int> userDefined;      ///< longest text first
    std::array<int, 256> byteTokens{}; ///< "llama": the token of each byte, -1 when none
    int bos = -1, eos = -1;
    bool addBos = false;
    bool addSpacePrefix = false;
    // "gpt2": the text between user-defined tokens is split by bpeSplit, then each word tokenized
    // by bpe (the pieces of our tokenizer.json implementation, as that would be configured).
    std::unique_ptr<hf::PreTokenizer> bpeSplit;
    std::unique_ptr<hf::BpeModel> bpe;

    int find(std::string_view text) const
    {
        const auto it = tokenToId.find(text);
        return it == tokenToId.end() ? -1 : it->second;
    }

    struct Fragment
    {
        std::size_t begin = 0, end = 0;
        int token = -1; ///< ≥ 0: a user-defined token
    };

    /// llama.cpp's tokenizer_st_partition with parse_special = false: for each user-defined token,
    /// longest first, every occurrence in the remaining text becomes its own fragment.
    std::vector<Fragment> partition(std::string_view text) const
    {
        std::vector<Fragment> frags;
        if (text.empty())
            return frags;
        frags.push_back({0, text.size(), -1});
        std::vector<Fragment> next;
        for (int id : userDefined) {
            const std::string& t = tokens[std::size_t(id)];
            next.clear();
            for (const Fragment& f : frags) {
                if (f.token >= 0) {
                    next.push_back(f);
                    continue;
                }
                std::size_t at = f.begin;
                for (;;) {
                    const std::size_t m = text.find(t, at);
                    if (m == std::string_view::npos || m + t.size() > f.end)
                        break;
                    if (m > at)
                        next.push_back({at, m, -1});
                    next.push_back({m, m + t.size(), id});
                    at = m + t.size();
                }
                if (at < f.end)
                    next.push_back({at, f.end, -1});
            }
            frags.swap(next);
        }
        return frags;
    }

    /// llama.cpp's llm_tokenizer_spm_session on text whose spaces are already escaped.
    void spmTokenize(std::string_view text, std::vector<int>& out) const
    {
        struct Symbol
        {
            int prev, next;
            std::size_t start, n;
        };
        struct Bigram
        {
            int left, right;
            float score;
            std::size_t size;
        };
        // Highest score first; among equal scores the leftmost pair.
        const auto lower = [](const Bigram& a, const Bigram& b) {
            return a.score < b.score || (a.score == b.score && a.left > b.left);
        };
        std::vector<Symbol> symbols;
        for (std::size_t at = 0; at < text.size();) {
            const std::size_t n = std::min<std::size_t>(utf8::seqLength(static_cast<unsigned char>(text[at])),
                                                        text.size() - at);
            const int index = int(symbols.size());
            symbols.push_back({index - 1, at + n == text.size() ? -1 : index + 1, at, n});
            at += n;
        }
        std::priority_queue<Bigram, std::vector<Bigram>, decltype(lower)> queue(lower);
        const auto tryPair = [&](int left, int right) {
            if (left < 0 || right < 0)
                return;
            const std::string_view merged =
                text.substr(symbols[std::size_t(left)].start,
                            symbols[std::size_t(left)].n + symbols[std::size_t(right)].n);
            const int id = find(merged);
            if (id < 0)
                return;
            queue.push({left, right, scores[std::size_t(id)], merged.size()});
        };
        for (int i = 1; i < int(symbols.size()); ++i)
            tryPair(i - 1, i);
        while (!queue.empty()) {
            const Bigram b = queue.top();
            queue.pop();
            Symbol& l = symbols[std::size_t(b.left)];
            Symbol& r = symbols[std::size_t(b.right)];
            if (l.n == 0 || r.n == 0 || l.n + r.n != b.size)
                continue; // stale: a side was merged
            l.n += r.n;
            r.n = 0;
            l.next = r.next;
            if (r.next >= 0)
                symbols[std::size_t(r.next)].prev = b.left;
            tryPair(l.prev, b.left);
            tryPair(b.left, l.next);
        }
        for (int i = symbols.empty() ? -1 : 0; i != -1; i = symbols[std::size_t(i)].next) {
            const Symbol& s = symbols[std::size_t(i)];
            const std::string_view piece = text.substr(s.start, s.n);
            if (const int id = find(piece); id >= 0) {
                out.push_back(id);
                continue;
            }
            for (const char c : piece) { // not a token: its bytes
                const int id = byteTokens[static_cast<unsigned char>(c)];
                if (id < 0)
                    throw Error::inFile(
                        path,
                        QStringLiteral("cannot encode byte 0x%1: the vocabulary has "
                                       "neither a %2 token nor the byte itself")
                            .arg(unsigned(static_cast<unsigned char>(c)), 2, 16, QChar(u'0'))
                            .arg(QString::fromStdString(hf::byteTokenName(static_cast<unsigned char>(c)))));
                out.push_back(id);
            }
        }
    }

    /// "gpt2": the ids HfTokenizer::encode(raw, false) gives for bpeSplit and bpe.
    void bpeTokenize(std::string_view raw, std::vector<int>& out) const
    {
        utf8::require(raw); // a user-defined token may have cut a character in two
        if (raw.empty())
            return;
        hf::Pieces words;
        bpeSplit->split(hf::Piece{std::string(raw), -1, true}, words);
        for (const hf::Piece& w : words)
            bpe->tokenize(w.text, out);
    }

    /// The text one token contributes to decode() (llama.cpp's token_to_piece, special = false).
    void appendPiece(int id, std::string& out) const
    {
        const std::string& text = tokens[std::size_t(id)];
        switch (types[std::size_t(id)]) {
        case GgufTokenType::UserDefined:
            out += text;
            return;
        case GgufTokenType::Normal:
            if (spm) {
                for (std::size_t at = 0; at < text.size();) {
                    if (text.compare(at, 3, kEscapedSpace) == 0) {
                        out += ' ';
                        at += 3;
                    } else {
                        out += text[at++];
                    }
                }
            } else {
                const utf8::ByteLevelMap& map = utf8::ByteLevelMap::instance();
                const std::string_view sv(text);
                for (std::size_t at = 0; at < sv.size();) {
                    const std::size_t start = at;
                    const int b = map.byteOf(utf8::next(sv, at));
                    if (b >= 0)
                        out += char(b);
                    else
                        out.append(sv.substr(start, at - start)); // not a byte-level character: as is
                }
            }
            return;
        case GgufTokenType::Byte:
            if (spm && text.size() == 6 && text.compare(0, 3, "<0x") == 0 && text[5] == '>') {
                out += char(std::stoi(text.substr(3, 2), nullptr, 16));
            }
            return;
        default: // control, unknown, unused, undefined: nothing
            return;
        }
    }
};

GgufTokenizer::GgufTokenizer(std::unique_ptr<Impl> impl) : d(std::move(impl)) {}
GgufTokenizer::~GgufTokenizer() = default;

QStringList GgufTokenizer::preTokenizerNames()
{
    QStringList names;
    for (const PreTokenizerInfo& p : kPreTokenizers)
        names += QString::fromLatin1(p.names).split(u' ');
    return names;
}

std::unique_ptr<GgufTokenizer> GgufTokenizer::fromFile(const GgufFile& file)
{
    auto d = std::make_unique<Impl>();
    d->path = file.path();
    const auto fail = [&](const QString& key, const QString& problem) -> Error {
        return Error::inFile(file.path(), u"metadata key " + key + u": " + problem);
    };

    const QString model = file.getString(kModelKey);
    if (model != u"llama" && model != u"gpt2")
        throw fail(kModelKey, u"unknown tokenizer model '" + model + u"' (supported: llama, gpt2)");
    d->spm = model == u"llama";

    d->tokens = rawStrings(file, kTokensKey);
    const std::size_t n = d->tokens.size();
    if (n == 0)
        throw fail(kTokensKey, QStringLiteral("the vocabulary is empty"));
    if (n > std::size_t(std::numeric_limits<int>::max()))
        throw fail(kTokensKey, QStringLiteral("too many tokens"));
    for (std::size_t i = 0; i < n; ++i)
        if (d->tokens[i].empty())
            d->tokens[i] = "[EMPTY_" + std::to_string(i) + "]"; // as llama.cpp

    if (file.contains(kScoresKey)) {
        d->scores = file.getFloats(kScoresKey);
        if (d->scores.size() != n)
            throw fail(kScoresKey, QStringLiteral("%1 scores for %2 tokens").arg(d->scores.size()).arg(n));
    } else {
        d->scores.assign(n, 0.0f);
    }
    d->types.assign(n, GgufTokenType::Normal);
    if (file.contains(kTypesKey)) {
        const std::vector<std::int64_t> types = file.getInts(kTypesKey);
        if (types.size() != n)
            throw fail(kTypesKey, QStringLiteral("%1 token types for %2 tokens").arg(types.size()).arg(n));
        for (std::size_t i = 0; i < n; ++i)
            d->types[i] = types[i] >= std::int64_t(GgufTokenType::Normal) &&
                                  types[i] <= std::int64_t(GgufTokenType::Byte)
                              ? GgufTokenType(types[i])
                              : GgufTokenType::Undefined;
    }
    d->tokenToId.reserve(n);
    for (std::size_t i = 0; i < n; ++i)
        d->tokenToId[d->tokens[i]] = int(i);
    for (std::size_t i = 0; i < n; ++i)
        if (d->types[i] == GgufTokenType::UserDefined)
            d->userDefined.push_back(int(i));
    std::stable_sort(d->userDefined.begin(), d->userDefined.end(), [&](int a, int b) {
        return d->tokens[std::size_t(a)].size() > d->tokens[std::size_t(b)].size();
    });

    // Special ids: llama.cpp's defaults per model, replaced by the file's keys.
    const struct
    {
        const char* key;
        int* id;
        int llamaDefault, gpt2Default;
    } specials[] = {
        {gguf_key::kBosTokenId, &d->bos, 1, 11},
        {gguf_key::kEosTokenId, &d->eos, 2, 11},
    };
    for (const auto& s : specials) {
        const int def = d->spm ? s.llamaDefault : s.gpt2Default;
        *s.id = def < int(n) ? def : -1;
    }
    // An out-of-range BOS is an error (encode would emit it); llama.cpp itself only warns and keeps
    // its default, which it also does for the others (files carry e.g. padding_token_id = 2^32 - 1).
    for (const auto& s : specials) {
        const QString k = QLatin1String(s.key);
        if (!file.contains(k))
            continue;
        const std::int64_t id = file.getInt(k);
        if (id >= 0 && std::uint64_t(id) < n)
            *s.id = int(id);
        else if (s.id == &d->bos)
            throw fail(k, QStringLiteral("token id %1 is out of range (%2 tokens)").arg(id).arg(n));
    }

    d->pre = file.getString(kPreKey, QString());
    if (d->spm) {
        d->addBos = file.getBool(kAddBosKey, true);
        d->addSpacePrefix = file.getBool(kSpacePrefixKey, true);
        for (int b = 0; b < 256; ++b) {
            int id = d->find(hf::byteTokenName(static_cast<unsigned char>(b)));
            if (id < 0)
                id = d->find(std::string(1, char(b)));
            d->byteTokens[std::size_t(b)] = id;
        }
    } else {
        const PreTokenizerInfo* pre = findPreTokenizer(d->pre);
        if (!pre)
            throw fail(kPreKey, u"unknown pre-tokenizer '" + d->pre + u"' (supported: " +
                                    preTokenizerNames().join(QStringLiteral(", ")) + u')');
        if (d->pre.isEmpty())
            d->pre = QStringLiteral("default");
        d->addBos = file.getBool(kAddBosKey, pre->ignoreMerges); // llama.cpp: true for the Llama 3 names
        if (!file.contains(kMergesKey))
            throw fail(kMergesKey, QStringLiteral("missing (a gpt2 tokenizer needs merges)"));
        const std::vector<std::string> merges = rawStrings(file, kMergesKey);

        // BPE over byte-level text split by llama.cpp's regexes.
        d->bpe = std::make_unique<hf::BpeModel>();
        d->bpe->vocab = d->tokenToId;
        d->bpe->ignoreMerges = pre->ignoreMerges;
        d->bpe->reserveMerges(merges.size() * 2);
        for (std::size_t r = 0; r < merges.size(); ++r) {
            const std::string& m = merges[r];
            const std::size_t sp = m.find(' ', 1); // as llama.cpp splits them
            const QString where = QStringLiteral("entry %1 ('%2')").arg(r).arg(QString::fromStdString(m));
            if (sp == std::string::npos)
                throw fail(kMergesKey, where + u" is not \"a b\"");
            const std::string a = m.substr(0, sp), b = m.substr(sp + 1);
            for (const std::string& t : {a, b, a + b})
                if (d->find(t) < 0)
                    throw fail(kMergesKey, where + u": '" + QString::fromStdString(t) + u"' is not a token");
            d->bpe->addMerge(d->find(a), d->find(b), d->find(a + b), int(r));
        }
        std::vector<std::unique_ptr<hf::PreTokenizer>> splits;
        for (const char* regex : pre->regexes) {
            if (!regex)
                break;
            splits.push_back(hf::makeRegexSplit(regex));
        }
        splits.push_back(hf::makeByteLevel(/*addPrefixSpace=*/false, /*useRegex=*/false));
        d->bpeSplit = hf::makeSequence(std::move(splits));
    }
    return std::unique_ptr<GgufTokenizer>(new GgufTokenizer(std::move(d)));
}

std::vector<int> GgufTokenizer::encode(std::string_view utf8, bool addBos) const
{
    utf8::require(utf8);
    std::vector<int> ids;
    if (addBos && d->addBos && d->bos >= 0)
        ids.push_back(d->bos);
    bool afterSpecial = true; // llama.cpp prefixes the space to every fragment after a special token
    std::string text;
    for (const Impl::Fragment& f : d->partition(utf8)) {
        if (f.token >= 0) {
            ids.push_back(f.token);
            afterSpecial = true;
            continue;
        }
        const std::string_view raw = utf8.substr(f.begin, f.end - f.begin);
        if (!d->spm) {
            d->bpeTokenize(raw, ids);
            continue;
        }
        text.clear();
        if (d->addSpacePrefix && afterSpecial)
            text += kEscapedSpace;
        for (const char c : raw) {
            if (c == ' ')
                text += kEscapedSpace;
            else
                text += c;
        }
        d->spmTokenize(text, ids);
        afterSpecial = false;
    }
    return ids;
}

std::string GgufTokenizer::decode(const std::vector<int>& ids) const
{
    std::string out;
    for (int id : ids) {
        if (id < 0 || id >= vocabSize())
            throw Error::inFile(d->path, QStringLiteral("cannot decode token id %1: vocabulary has %2 tokens")
                                             .arg(id)
                                             .arg(vocabSize()));
        d->appendPiece(id, out);
    }
    if (d->spm && d->addSpacePrefix && !out.empty() && out.front() == ' ')
        out.erase(0, 1);
    return utf8::lossy(out);
}

std::string GgufTokenizer::piece(int id) const
{
    if (id < 0 || id >= vocabSize())
        throw Error::inFile(d->path, QStringLiteral("token id %1 is out of range").arg(id));
    return d->tokens[std::size_t(id)];
}

GgufTokenType GgufTokenizer::tokenType(int id) const
{
    if (id < 0 || id >= vocabSize())
        throw Error::inFile(d->path, QStringLiteral("token id %1 is out of range").arg(id));
    return d->types[std::size_t(id)];
}

int GgufTokenizer::vocabSize() const
{
    return int(d->tokens.size());
}

int GgufTokenizer::bosId() const
{
    return d->bos;
}

int GgufTokenizer::eosId() const
{
    return d->eos;
}

QString GgufTokenizer::description() const
{
    if (d->spm)
        return QStringLiteral("GGUF tokenizer: llama (SentencePiece scores), %1 tokens").arg(vocabSize());
    return QStringLiteral("GGUF tokenizer: gpt2 (byte-level BPE, pre-tokenizer %1), %2 tokens")
        .arg(d->pre)
        .arg(vocabSize());
}

QString GgufTokenizer::path() const
{
    return d->path;
}

} // namespace qs
