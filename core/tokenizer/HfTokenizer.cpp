#include "tokenizer/HfTokenizer.h"

#include "tokenizer/Regex.h"
#include "tokenizer/Utf8.h"
#include "util/Error.h"

#include <QChar>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <mutex>
#include <unordered_map>

namespace qs {

namespace {

// ---------------------------------------------------------------------------------------------
// Small helpers

struct StringHash
{
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
template <class V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

QString fromStd(std::string_view s)
{
    return QString::fromUtf8(s.data(), qsizetype(s.size()));
}

bool isAscii(std::string_view s)
{
    return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

bool startsWith(std::string_view s, std::string_view prefix)
{
    return s.substr(0, prefix.size()) == prefix;
}

// Unicode predicates in the sense of Rust's char methods, which HF tokenizers use.
bool isWhitespace(char32_t c)
{
    return QChar::isSpace(c);
}
bool isWordChar(char32_t c)
{
    return QChar::isLetterOrNumber(c) || c == U'_';
}
bool isNumeric(char32_t c)
{
    return QChar::isNumber(c);
}
bool isPunctuation(char32_t c)
{
    const bool asciiPunct = (c >= U'!' && c <= U'/') || (c >= U':' && c <= U'@') ||
                            (c >= U'[' && c <= U'`') || (c >= U'{' && c <= U'~');
    return asciiPunct || QChar::isPunct(c);
}

/// One piece of text on its way to the model. Added tokens are already resolved (addedId ≥ 0).
/// atStart: the piece begins at offset 0 of the original input (Metaspace prepend_scheme "first").
struct Piece
{
    std::string text;
    int addedId = -1;
    bool atStart = false;
};
using Pieces = std::vector<Piece>;
using Span = Regex::Span;

/// A tokenizer.json pattern: {"String": literal} or {"Regex": pattern}.
struct Pattern
{
    std::string literal;
    std::unique_ptr<Regex> regex;

    void find(std::string_view s, std::vector<Span>& out) const
    {
        if (regex) {
            regex->findAll(s, out);
            return;
        }
        if (literal.empty()) return;
        for (std::size_t pos = s.find(literal); pos != std::string_view::npos; pos = s.find(literal, pos)) {
            out.emplace_back(pos, pos + literal.size());
            pos += literal.size();
        }
    }
};

std::string replaceAll(std::string_view s, const Pattern& pattern, std::string_view content)
{
    std::vector<Span> matches;
    pattern.find(s, matches);
    if (matches.empty()) return std::string(s);
    std::string out;
    out.reserve(s.size() + matches.size() * content.size());
    std::size_t prev = 0;
    for (const auto& [b, e] : matches) {
        out.append(s.substr(prev, b - prev));
        out.append(content);
        prev = e;
    }
    out.append(s.substr(prev));
    return out;
}

/// Each character satisfying pred is one match, as HF's `Fn(char) -> bool` pattern gives.
template <class Pred>
void charMatches(std::string_view s, Pred pred, std::vector<Span>& out)
{
    std::size_t pos = 0;
    while (pos < s.size()) {
        const std::size_t begin = pos;
        const char32_t c = utf8::next(s, pos);
        if (pred(c)) out.emplace_back(begin, pos);
    }
}

enum class Behavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

/// NormalizedString::split of HF tokenizers: the matches and the text between them become
/// pieces according to `behavior`; empty pieces are dropped.
void splitPiece(const Piece& in, const std::vector<Span>& matches, bool invert, Behavior behavior,
                Pieces& out)
{
    struct Event
    {
        std::size_t begin, end;
        bool match;
    };
    const std::size_t n = in.text.size();
    std::vector<Event> events;
    events.reserve(matches.size() * 2 + 1);
    std::size_t prev = 0;
    for (const auto& [b, e] : matches) {
        if (prev != b) events.push_back({prev, b, false});
        events.push_back({b, e, true});
        prev = e;
    }
    if (prev != n || events.empty()) events.push_back({prev, n, false});
    if (invert)
        for (Event& ev : events)
            ev.match = !ev.match;

    std::vector<Event> parts; // here .match means "remove"
    parts.reserve(events.size());
    bool prevMatch = false;
    switch (behavior) {
    case Behavior::Isolated:
        for (const Event& ev : events)
            parts.push_back({ev.begin, ev.end, false});
        break;
    case Behavior::Removed:
        parts = events;
        break;
    case Behavior::Contiguous:
        for (const Event& ev : events) {
            if (ev.match == prevMatch && !parts.empty())
                parts.back().end = ev.end;
            else
                parts.push_back({ev.begin, ev.end, false});
            prevMatch = ev.match;
        }
        break;
    case Behavior::MergedWithPrevious:
        for (const Event& ev : events) {
            if (ev.match && !prevMatch && !parts.empty())
                parts.back().end = ev.end;
            else
                parts.push_back({ev.begin, ev.end, false});
            prevMatch = ev.match;
        }
        break;
    case Behavior::MergedWithNext:
        for (auto it = events.rbegin(); it != events.rend(); ++it) {
            if (it->match && !prevMatch && !parts.empty())
                parts.back().begin = it->begin;
            else
                parts.push_back({it->begin, it->end, false});
            prevMatch = it->match;
        }
        std::reverse(parts.begin(), parts.end());
        break;
    }
    for (const Event& p : parts)
        if (!p.match && p.end > p.begin)
            out.push_back({in.text.substr(p.begin, p.end - p.begin), -1, in.atStart && p.begin == 0});
}

std::string byteLevelMapped(std::string_view s)
{
    const auto& map = utf8::ByteLevelMap::instance();
    std::string out;
    out.reserve(s.size() + s.size() / 4);
    for (char c : s)
        out += map.byteToUtf8[static_cast<unsigned char>(c)];
    return out;
}

// ---------------------------------------------------------------------------------------------
// Normalizers

class Normalizer
{
public:
    virtual ~Normalizer() = default;
    virtual void normalize(std::string& s) const = 0;
};

class SequenceNormalizer final : public Normalizer
{
public:
    std::vector<std::unique_ptr<Normalizer>> items;
    void normalize(std::string& s) const override
    {
        for (const auto& n : items)
            n->normalize(s);
    }
};

class PrependNormalizer final : public Normalizer
{
public:
    std::string prefix;
    void normalize(std::string& s) const override
    {
        if (!s.empty()) // HF leaves an empty string alone
            s.insert(0, prefix);
    }
};

class ReplaceNormalizer final : public Normalizer
{
public:
    Pattern pattern;
    std::string content;
    void normalize(std::string& s) const override { s = replaceAll(s, pattern, content); }
};

class UnicodeNormalizer final : public Normalizer
{
public:
    QString::NormalizationForm form = QString::NormalizationForm_C;
    void normalize(std::string& s) const override
    {
        if (!isAscii(s)) // ASCII is invariant under every normalisation form
            s = fromStd(s).normalized(form).toStdString();
    }
};

class LowercaseNormalizer final : public Normalizer
{
public:
    void normalize(std::string& s) const override
    {
        if (isAscii(s))
            std::transform(s.begin(), s.end(), s.begin(),
                           [](char c) { return c >= 'A' && c <= 'Z' ? char(c + 32) : c; });
        else
            s = fromStd(s).toLower().toStdString();
    }
};

class StripNormalizer final : public Normalizer
{
public:
    bool left = true, right = true;
    void normalize(std::string& s) const override
    {
        std::size_t begin = 0, end = s.size();
        if (left) {
            std::size_t pos = 0;
            while (pos < s.size()) {
                const std::size_t at = pos;
                if (!isWhitespace(utf8::next(s, pos))) {
                    begin = at;
                    break;
                }
                begin = pos;
            }
        }
        if (right) {
            std::size_t pos = begin, lastEnd = begin;
            while (pos < s.size())
                if (!isWhitespace(utf8::next(s, pos))) lastEnd = pos;
            end = lastEnd;
        }
        s = s.substr(begin, end - begin);
    }
};

class StripAccentsNormalizer final : public Normalizer
{
public:
    void normalize(std::string& s) const override
    {
        if (isAscii(s)) return;
        std::string out;
        std::size_t pos = 0;
        while (pos < s.size()) {
            const char32_t c = utf8::next(s, pos);
            if (!QChar::isMark(c)) utf8::append(out, c);
        }
        s = std::move(out);
    }
};

class ByteLevelNormalizer final : public Normalizer
{
public:
    void normalize(std::string& s) const override { s = byteLevelMapped(s); }
};

// ---------------------------------------------------------------------------------------------
// Pre-tokenizers

class PreTokenizer
{
public:
    virtual ~PreTokenizer() = default;
    /// Splits one (non-added-token) piece, appending the results to out.
    virtual void split(const Piece& in, Pieces& out) const = 0;
    virtual bool isByteLevel() const { return false; }
};

class SequencePreTokenizer final : public PreTokenizer
{
public:
    std::vector<std::unique_ptr<PreTokenizer>> items;
    void split(const Piece& in, Pieces& out) const override
    {
        Pieces cur{in}, next;
        for (const auto& p : items) {
            next.clear();
            for (const Piece& piece : cur)
                p->split(piece, next);
            cur.swap(next);
        }
        for (Piece& piece : cur)
            out.push_back(std::move(piece));
    }
    bool isByteLevel() const override
    {
        return std::any_of(items.begin(), items.end(), [](const auto& p) { return p->isByteLevel(); });
    }
};

class SplitPreTokenizer final : public PreTokenizer
{
public:
    Pattern pattern;
    Behavior behavior = Behavior::Isolated;
    bool invert = false;
    void split(const Piece& in, Pieces& out) const override
    {
        std::vector<Span> matches;
        pattern.find(in.text, matches);
        splitPiece(in, matches, invert, behavior, out);
    }
};

/// GPT-2's pre-tokenizer regex, used by ByteLevel with use_regex.
const Regex& gpt2Regex()
{
    static const Regex re(R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)");
    return re;
}

class ByteLevelPreTokenizer final : public PreTokenizer
{
public:
    bool addPrefixSpace = false;
    bool useRegex = true;
    void split(const Piece& in, Pieces& out) const override
    {
        Piece p = in;
        if (addPrefixSpace && !startsWith(p.text, " ")) p.text.insert(0, " ");
        const std::size_t first = out.size();
        if (useRegex) {
            std::vector<Span> matches;
            gpt2Regex().findAll(p.text, matches);
            splitPiece(p, matches, false, Behavior::Isolated, out);
        } else {
            out.push_back(std::move(p));
        }
        for (std::size_t i = first; i < out.size(); ++i)
            out[i].text = byteLevelMapped(out[i].text);
    }
    bool isByteLevel() const override { return true; }
};

enum class PrependScheme { Always, First, Never };

class MetaspacePreTokenizer final : public PreTokenizer
{
public:
    std::string replacement;
    PrependScheme scheme = PrependScheme::Always;
    bool splitOnReplacement = true;
    void split(const Piece& in, Pieces& out) const override
    {
        Pattern space;
        space.literal = " ";
        Piece p{replaceAll(in.text, space, replacement), -1, in.atStart};
        const bool prepend =
            scheme == PrependScheme::Always || (scheme == PrependScheme::First && in.atStart);
        if (prepend && !startsWith(p.text, replacement)) p.text.insert(0, replacement);
        if (!splitOnReplacement) {
            out.push_back(std::move(p));
            return;
        }
        Pattern rep;
        rep.literal = replacement;
        std::vector<Span> matches;
        rep.find(p.text, matches);
        splitPiece(p, matches, false, Behavior::MergedWithNext, out);
    }
};

/// Splits on characters satisfying a predicate (Digits, WhitespaceSplit, Punctuation,
/// CharDelimiterSplit share this shape).
class CharSplitPreTokenizer final : public PreTokenizer
{
public:
    std::function<bool(char32_t)> pred;
    Behavior behavior = Behavior::Removed;
    void split(const Piece& in, Pieces& out) const override
    {
        std::vector<Span> matches;
        charMatches(in.text, pred, matches);
        splitPiece(in, matches, false, behavior, out);
    }
};

// ---------------------------------------------------------------------------------------------
// Decoders (HF decode_chain: tokens in, tokens out; the results are concatenated)

class Decoder
{
public:
    virtual ~Decoder() = default;
    virtual void decode(std::vector<std::string>& tokens) const = 0;
};

class SequenceDecoder final : public Decoder
{
public:
    std::vector<std::unique_ptr<Decoder>> items;
    void decode(std::vector<std::string>& tokens) const override
    {
        for (const auto& d : items)
            d->decode(tokens);
    }
};

class ByteLevelDecoder final : public Decoder
{
public:
    void decode(std::vector<std::string>& tokens) const override
    {
        const auto& map = utf8::ByteLevelMap::instance();
        std::string bytes;
        for (const std::string& t : tokens) {
            // A token with a character outside the byte map (an added token) passes through as is.
            std::string mapped;
            bool ok = true;
            std::size_t pos = 0;
            while (pos < t.size() && ok) {
                const char32_t c = utf8::next(t, pos);
                ok = c < map.charToByte.size() && map.charToByte[c] >= 0;
                if (ok) mapped.push_back(char(map.charToByte[c]));
            }
            bytes += ok ? mapped : t;
        }
        tokens.assign(1, utf8::lossy(bytes));
    }
};

class ReplaceDecoder final : public Decoder
{
public:
    Pattern pattern;
    std::string content;
    void decode(std::vector<std::string>& tokens) const override
    {
        for (std::string& t : tokens)
            t = replaceAll(t, pattern, content);
    }
};

class ByteFallbackDecoder final : public Decoder
{
public:
    void decode(std::vector<std::string>& tokens) const override
    {
        std::vector<std::string> out;
        std::string bytes;
        std::size_t nBytes = 0;
        auto flush = [&] {
            if (nBytes == 0) return;
            if (utf8::firstInvalid(bytes) == std::string_view::npos)
                out.push_back(bytes);
            else
                for (std::size_t i = 0; i < nBytes; ++i)
                    out.emplace_back("\xEF\xBF\xBD"); // one U+FFFD per byte, as HF
            bytes.clear();
            nBytes = 0;
        };
        for (std::string& t : tokens) {
            int value = -1;
            if (t.size() == 6 && startsWith(t, "<0x") && t[5] == '>') {
                bool ok = false;
                const int v = QByteArray(t.data() + 3, 2).toInt(&ok, 16);
                if (ok) value = v;
            }
            if (value >= 0) {
                bytes.push_back(char(value));
                ++nBytes;
            } else {
                flush();
                out.push_back(std::move(t));
            }
        }
        flush();
        tokens = std::move(out);
    }
};

class FuseDecoder final : public Decoder
{
public:
    void decode(std::vector<std::string>& tokens) const override
    {
        std::string all;
        for (const std::string& t : tokens)
            all += t;
        tokens.assign(1, std::move(all));
    }
};

class StripDecoder final : public Decoder
{
public:
    char32_t content = U' ';
    int start = 0, stop = 0;
    void decode(std::vector<std::string>& tokens) const override
    {
        for (std::string& t : tokens) {
            std::vector<char32_t> cps;
            std::size_t pos = 0;
            while (pos < t.size())
                cps.push_back(utf8::next(t, pos));
            std::size_t b = 0, e = cps.size();
            while (b < e && int(b) < start && cps[b] == content)
                ++b;
            while (e > b && int(cps.size() - e) < stop && cps[e - 1] == content)
                --e;
            std::string s;
            for (std::size_t i = b; i < e; ++i)
                utf8::append(s, cps[i]);
            t = std::move(s);
        }
    }
};

class MetaspaceDecoder final : public Decoder
{
public:
    char32_t replacement = 0x2581;
    PrependScheme scheme = PrependScheme::Always;
    void decode(std::vector<std::string>& tokens) const override
    {
        for (std::size_t i = 0; i < tokens.size(); ++i) {
            std::string s;
            std::size_t pos = 0;
            const std::string& t = tokens[i];
            while (pos < t.size()) {
                const char32_t c = utf8::next(t, pos);
                if (c != replacement)
                    utf8::append(s, c);
                else if (i != 0 || scheme == PrependScheme::Never) // HF drops it in the first token
                    s.push_back(' ');
            }
            tokens[i] = std::move(s);
        }
    }
};

class BpeDecoder final : public Decoder
{
public:
    std::string suffix = "</w>";
    void decode(std::vector<std::string>& tokens) const override
    {
        Pattern p;
        p.literal = suffix;
        for (std::size_t i = 0; i < tokens.size(); ++i)
            tokens[i] = replaceAll(tokens[i], p, i + 1 == tokens.size() ? "" : " ");
    }
};

// ---------------------------------------------------------------------------------------------
// Added tokens

struct AddedToken
{
    std::string content;
    std::string match; ///< what is searched for: content, normalised when `normalized`
    int id = -1;
    bool special = false, lstrip = false, rstrip = false, singleWord = false, normalized = false;
};

/// Leftmost-longest literal matching of added tokens, as HF's Aho-Corasick split does.
class AddedMatcher
{
public:
    void add(const AddedToken* t)
    {
        if (t->match.empty()) return;
        auto& list = m_byFirstByte[static_cast<unsigned char>(t->match[0])];
        list.push_back(t);
        std::stable_sort(list.begin(), list.end(), [](const AddedToken* a, const AddedToken* b) {
            return a->match.size() > b->match.size();
        });
        m_any = true;
    }
    bool any() const { return m_any; }

    void split(Piece&& in, Pieces& out) const
    {
        const std::string_view s = in.text;
        std::size_t startOffset = 0, i = 0;
        while (i < s.size()) {
            const auto& list = m_byFirstByte[static_cast<unsigned char>(s[i])];
            const AddedToken* hit = nullptr;
            for (const AddedToken* t : list)
                if (s.compare(i, t->match.size(), t->match) == 0) {
                    hit = t;
                    break;
                }
            if (!hit) {
                ++i;
                continue;
            }
            std::size_t start = i, stop = i + hit->match.size();
            i = stop;
            if (hit->singleWord) {
                const bool startSpace = start == 0 || !endsWithWord(s.substr(0, start));
                const bool stopSpace = stop == s.size() || !startsWithWord(s.substr(stop));
                if (!startSpace || !stopSpace) continue;
            }
            if (hit->lstrip) start = std::max(leftmostSpaceAtEnd(s.substr(0, start)), startOffset);
            if (hit->rstrip) stop += spaceAtStart(s.substr(stop));
            if (startOffset < start)
                out.push_back({std::string(s.substr(startOffset, start - startOffset)), -1,
                               in.atStart && startOffset == 0});
            out.push_back({hit->content, hit->id, false});
            startOffset = stop;
            i = std::max(i, stop);
        }
        if (startOffset == 0)
            out.push_back(std::move(in));
        else if (startOffset < s.size())
            out.push_back({std::string(s.substr(startOffset)), -1, false});
    }

private:
    static bool endsWithWord(std::string_view s)
    {
        std::size_t b = s.size();
        while (b > 0 && (static_cast<unsigned char>(s[b - 1]) & 0xC0) == 0x80)
            --b;
        if (b == 0 && s.empty()) return false;
        std::size_t pos = b > 0 ? b - 1 : 0;
        return isWordChar(utf8::next(s, pos));
    }
    static bool startsWithWord(std::string_view s)
    {
        std::size_t pos = 0;
        return !s.empty() && isWordChar(utf8::next(s, pos));
    }
    static std::size_t leftmostSpaceAtEnd(std::string_view s)
    {
        std::size_t pos = 0, afterLastNonSpace = 0;
        while (pos < s.size())
            if (!isWhitespace(utf8::next(s, pos))) afterLastNonSpace = pos;
        return afterLastNonSpace;
    }
    static std::size_t spaceAtStart(std::string_view s)
    {
        std::size_t pos = 0, end = 0;
        while (pos < s.size() && isWhitespace(utf8::next(s, pos)))
            end = pos;
        return end;
    }

    std::array<std::vector<const AddedToken*>, 256> m_byFirstByte;
    bool m_any = false;
};

// ---------------------------------------------------------------------------------------------
// BPE model

class BpeModel
{
public:
    StringMap<int> vocab;
    struct Merge
    {
        int rank;
        int id;
    };
    std::unordered_map<std::uint64_t, Merge> merges;
    int unkId = -1;
    bool fuseUnk = false, byteFallback = false, ignoreMerges = false;
    std::string prefix, suffix; ///< continuing_subword_prefix, end_of_word_suffix
    std::array<int, 256> byteIds{};

    static std::uint64_t key(int a, int b)
    {
        return (std::uint64_t(std::uint32_t(a)) << 32) | std::uint32_t(b);
    }

    void tokenize(std::string_view word, std::vector<int>& out) const
    {
        // Words repeat a lot in natural text; long ones (a whole SentencePiece-style text) do not.
        constexpr std::size_t kMaxCached = 128;
        if (word.size() > kMaxCached) {
            tokenizeUncached(word, out);
            return;
        }
        {
            std::lock_guard lock(m_cacheMutex);
            const auto it = m_cache.find(word);
            if (it != m_cache.end()) {
                out.insert(out.end(), it->second.begin(), it->second.end());
                return;
            }
        }
        const std::size_t first = out.size();
        tokenizeUncached(word, out);
        std::lock_guard lock(m_cacheMutex);
        if (m_cache.size() >= 200000) m_cache.clear();
        m_cache.emplace(std::string(word), std::vector<int>(out.begin() + std::ptrdiff_t(first), out.end()));
    }

private:
    struct Symbol
    {
        int id;
        int prev;
        int next;
        bool alive;
    };

    void tokenizeUncached(std::string_view w, std::vector<int>& out) const
    {
        if (ignoreMerges) {
            const auto it = vocab.find(w);
            if (it != vocab.end()) {
                out.push_back(it->second);
                return;
            }
        }
        std::vector<Symbol> syms;
        syms.reserve(w.size());
        auto add = [&](int id) {
            const int n = int(syms.size());
            if (n > 0) syms.back().next = n;
            syms.push_back({id, n - 1, -1, true});
        };
        // HF merge_word: one symbol per character; unknown characters become their <0xNN>
        // tokens (byte_fallback) or unk (consecutive ones fused when fuse_unk).
        bool pendingUnk = false;
        std::string tmp;
        std::size_t i = 0;
        while (i < w.size()) {
            const std::size_t j =
                std::min(w.size(), i + std::size_t(utf8::seqLength(static_cast<unsigned char>(w[i]))));
            std::string_view s = w.substr(i, j - i);
            const bool first = i == 0, last = j == w.size();
            if ((!first && !prefix.empty()) || (last && !suffix.empty())) {
                tmp.assign(first ? std::string() : prefix);
                tmp.append(s);
                if (last) tmp.append(suffix);
                s = tmp;
            }
            i = j;
            const auto it = vocab.find(s);
            if (it != vocab.end()) {
                if (pendingUnk) {
                    add(unkId);
                    pendingUnk = false;
                }
                add(it->second);
                continue;
            }
            if (byteFallback && std::all_of(s.begin(), s.end(), [&](char c) {
                    return byteIds[static_cast<unsigned char>(c)] >= 0;
                })) {
                for (char c : s)
                    add(byteIds[static_cast<unsigned char>(c)]);
                continue;
            }
            if (unkId >= 0) {
                if (pendingUnk && !fuseUnk) add(unkId);
                pendingUnk = true;
            }
        }
        if (pendingUnk) add(unkId);

        if (syms.size() > 1) mergeAll(syms);
        for (const Symbol& sym : syms)
            if (sym.alive) out.push_back(sym.id);
    }

    /// HF Word::merge_all: a heap of (rank, position) applies the lowest-ranked merge first,
    /// leftmost among equals; entries whose pair changed since are skipped.
    void mergeAll(std::vector<Symbol>& syms) const
    {
        struct Cand
        {
            int rank, pos, id;
        };
        const auto lower = [](const Cand& a, const Cand& b) {
            return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos;
        };
        std::vector<Cand> heap;
        heap.reserve(syms.size());
        for (std::size_t k = 0; k + 1 < syms.size(); ++k) {
            const auto it = merges.find(key(syms[k].id, syms[k + 1].id));
            if (it != merges.end()) heap.push_back({it->second.rank, int(k), it->second.id});
        }
        std::make_heap(heap.begin(), heap.end(), lower);
        auto push = [&](int pos) {
            const int nx = syms[std::size_t(pos)].next;
            if (nx < 0) return;
            const auto it = merges.find(key(syms[std::size_t(pos)].id, syms[std::size_t(nx)].id));
            if (it != merges.end()) {
                heap.push_back({it->second.rank, pos, it->second.id});
                std::push_heap(heap.begin(), heap.end(), lower);
            }
        };
        while (!heap.empty()) {
            std::pop_heap(heap.begin(), heap.end(), lower);
            const Cand top = heap.back();
            heap.pop_back();
            Symbol& cur = syms[std::size_t(top.pos)];
            if (!cur.alive || cur.next < 0) continue;
            Symbol& right = syms[std::size_t(cur.next)];
            const auto it = merges.find(key(cur.id, right.id));
            if (it == merges.end() || it->second.id != top.id) continue; // stale
            cur.id = top.id;
            right.alive = false;
            cur.next = right.next;
            if (right.next >= 0) syms[std::size_t(right.next)].prev = top.pos;
            if (cur.prev >= 0) push(cur.prev);
            push(top.pos);
        }
    }

    mutable std::mutex m_cacheMutex;
    mutable StringMap<std::vector<int>> m_cache;
};

// ---------------------------------------------------------------------------------------------
// Loading

/// Reads tokenizer.json components; every error names the file and the JSON path.
class Loader
{
public:
    explicit Loader(QString file) : m_file(std::move(file)) {}

    [[noreturn]] void fail(const QString& where, const QString& what) const
    {
        throw Error::inFile(m_file, where.isEmpty() ? what : where + u": " + what);
    }

    QString typeOf(const QJsonValue& v, const QString& where) const
    {
        if (!v.isObject()) fail(where, QStringLiteral("expected an object"));
        const QJsonValue t = v.toObject().value(u"type");
        if (!t.isString()) fail(where, QStringLiteral("missing \"type\""));
        return t.toString();
    }

    [[noreturn]] void unsupported(const QString& kind, const QString& type, const QString& where,
                                  const QString& supported) const
    {
        fail(where, u"unsupported " + kind + u" type '" + type + u"' (supported: " + supported + u')');
    }

    std::string str(const QJsonObject& o, const QString& key, const QString& where,
                    const char* def = nullptr) const
    {
        const QJsonValue v = o.value(key);
        if ((v.isUndefined() || v.isNull()) && def) return def;
        if (!v.isString()) fail(where, u"\"" + key + u"\" must be a string");
        return v.toString().toStdString();
    }

    bool boolean(const QJsonObject& o, const QString& key, bool def) const
    {
        const QJsonValue v = o.value(key);
        if (v.isUndefined() || v.isNull()) return def;
        if (!v.isBool()) fail(QString(), u"\"" + key + u"\" must be true or false");
        return v.toBool();
    }

    char32_t singleChar(const std::string& s, const QString& where, const QString& key) const
    {
        std::size_t pos = 0;
        if (s.empty()) fail(where, u"\"" + key + u"\" must be one character");
        const char32_t c = utf8::next(s, pos);
        if (pos != s.size()) fail(where, u"\"" + key + u"\" must be one character");
        return c;
    }

    Pattern pattern(const QJsonValue& v, const QString& where) const
    {
        const QJsonObject o = v.toObject();
        Pattern p;
        if (o.value(u"String").isString()) {
            p.literal = o.value(u"String").toString().toStdString();
        } else if (o.value(u"Regex").isString()) {
            try {
                p.regex = std::make_unique<Regex>(o.value(u"Regex").toString().toStdString());
            } catch (const Error& e) {
                fail(where + u".pattern", e.message());
            }
        } else {
            fail(where, QStringLiteral("\"pattern\" must be {\"String\": …} or {\"Regex\": …}"));
        }
        return p;
    }

    Behavior behavior(const QJsonObject& o, const QString& where, Behavior def) const
    {
        const QJsonValue v = o.value(u"behavior");
        if (v.isUndefined() || v.isNull()) return def;
        const QString b = v.toString();
        if (b == u"Removed") return Behavior::Removed;
        if (b == u"Isolated") return Behavior::Isolated;
        if (b == u"MergedWithPrevious") return Behavior::MergedWithPrevious;
        if (b == u"MergedWithNext") return Behavior::MergedWithNext;
        if (b == u"Contiguous") return Behavior::Contiguous;
        fail(where, u"unknown split behavior '" + b + u'\'');
    }

    PrependScheme prependScheme(const QJsonObject& o, const QString& where) const
    {
        const QJsonValue v = o.value(u"prepend_scheme");
        if (v.isString()) {
            const QString s = v.toString();
            if (s == u"always") return PrependScheme::Always;
            if (s == u"first") return PrependScheme::First;
            if (s == u"never") return PrependScheme::Never;
            fail(where, u"unknown prepend_scheme '" + s + u'\'');
        }
        // older files: add_prefix_space true/false
        return boolean(o, QStringLiteral("add_prefix_space"), true) ? PrependScheme::Always
                                                                    : PrependScheme::Never;
    }

    std::unique_ptr<Normalizer> normalizer(const QJsonValue& v, const QString& where) const
    {
        const QString type = typeOf(v, where);
        const QJsonObject o = v.toObject();
        if (type == u"Sequence") {
            auto seq = std::make_unique<SequenceNormalizer>();
            const QJsonArray items = o.value(u"normalizers").toArray();
            for (qsizetype i = 0; i < items.size(); ++i)
                seq->items.push_back(normalizer(items[i], where + QStringLiteral(".normalizers[%1]").arg(i)));
            return seq;
        }
        if (type == u"Prepend") {
            auto n = std::make_unique<PrependNormalizer>();
            n->prefix = str(o, QStringLiteral("prepend"), where);
            return n;
        }
        if (type == u"Replace") {
            auto n = std::make_unique<ReplaceNormalizer>();
            n->pattern = pattern(o.value(u"pattern"), where);
            n->content = str(o, QStringLiteral("content"), where);
            return n;
        }
        if (type == u"NFC" || type == u"NFD" || type == u"NFKC" || type == u"NFKD") {
            auto n = std::make_unique<UnicodeNormalizer>();
            n->form = type == u"NFC"    ? QString::NormalizationForm_C
                      : type == u"NFD"  ? QString::NormalizationForm_D
                      : type == u"NFKC" ? QString::NormalizationForm_KC
                                        : QString::NormalizationForm_KD;
            return n;
        }
        if (type == u"Lowercase") return std::make_unique<LowercaseNormalizer>();
        if (type == u"Strip") {
            auto n = std::make_unique<StripNormalizer>();
            n->left = boolean(o, QStringLiteral("strip_left"), true);
            n->right = boolean(o, QStringLiteral("strip_right"), true);
            return n;
        }
        if (type == u"StripAccents") return std::make_unique<StripAccentsNormalizer>();
        if (type == u"ByteLevel") return std::make_unique<ByteLevelNormalizer>();
        unsupported(QStringLiteral("normalizer"), type, where,
                    QStringLiteral("Sequence, Prepend, Replace, NFC, NFD, NFKC, NFKD, Lowercase, Strip, "
                                   "StripAccents, ByteLevel"));
    }

    std::unique_ptr<PreTokenizer> preTokenizer(const QJsonValue& v, const QString& where) const
    {
        const QString type = typeOf(v, where);
        const QJsonObject o = v.toObject();
        if (type == u"Sequence") {
            auto seq = std::make_unique<SequencePreTokenizer>();
            const QJsonArray items = o.value(u"pretokenizers").toArray();
            for (qsizetype i = 0; i < items.size(); ++i)
                seq->items.push_back(
                    preTokenizer(items[i], where + QStringLiteral(".pretokenizers[%1]").arg(i)));
            return seq;
        }
        if (type == u"Split") {
            auto p = std::make_unique<SplitPreTokenizer>();
            p->pattern = pattern(o.value(u"pattern"), where);
            p->behavior = behavior(o, where, Behavior::Isolated);
            p->invert = boolean(o, QStringLiteral("invert"), false);
            return p;
        }
        if (type == u"ByteLevel") {
            auto p = std::make_unique<ByteLevelPreTokenizer>();
            p->addPrefixSpace = boolean(o, QStringLiteral("add_prefix_space"), true);
            p->useRegex = boolean(o, QStringLiteral("use_regex"), true);
            return p;
        }
        if (type == u"Metaspace") {
            auto p = std::make_unique<MetaspacePreTokenizer>();
            p->replacement = str(o, QStringLiteral("replacement"), where, "\xE2\x96\x81");
            singleChar(p->replacement, where, QStringLiteral("replacement"));
            p->scheme = prependScheme(o, where);
            p->splitOnReplacement = boolean(o, QStringLiteral("split"), true);
            return p;
        }
        if (type == u"Digits") {
            auto p = std::make_unique<CharSplitPreTokenizer>();
            p->pred = isNumeric;
            p->behavior = boolean(o, QStringLiteral("individual_digits"), false) ? Behavior::Isolated
                                                                                 : Behavior::Contiguous;
            return p;
        }
        if (type == u"WhitespaceSplit") {
            auto p = std::make_unique<CharSplitPreTokenizer>();
            p->pred = isWhitespace;
            return p;
        }
        if (type == u"Whitespace") {
            // HF: split on Invert(\w+|[^\w\s]+) with Removed, i.e. keep words and punctuation runs
            auto p = std::make_unique<SplitPreTokenizer>();
            p->pattern.regex = std::make_unique<Regex>(R"(\w+|[^\w\s]+)");
            p->behavior = Behavior::Removed;
            p->invert = true;
            return p;
        }
        if (type == u"Punctuation") {
            auto p = std::make_unique<CharSplitPreTokenizer>();
            p->pred = isPunctuation;
            p->behavior = behavior(o, where, Behavior::Isolated);
            return p;
        }
        if (type == u"CharDelimiterSplit") {
            auto p = std::make_unique<CharSplitPreTokenizer>();
            const char32_t d =
                singleChar(str(o, QStringLiteral("delimiter"), where), where, QStringLiteral("delimiter"));
            p->pred = [d](char32_t c) { return c == d; };
            return p;
        }
        if (type == u"BertPreTokenizer") {
            auto seq = std::make_unique<SequencePreTokenizer>();
            auto ws = std::make_unique<CharSplitPreTokenizer>();
            ws->pred = isWhitespace;
            auto punct = std::make_unique<CharSplitPreTokenizer>();
            punct->pred = isPunctuation;
            punct->behavior = Behavior::Isolated;
            seq->items.push_back(std::move(ws));
            seq->items.push_back(std::move(punct));
            return seq;
        }
        unsupported(
            QStringLiteral("pre_tokenizer"), type, where,
            QStringLiteral("Sequence, Split, ByteLevel, Metaspace, Digits, Whitespace, WhitespaceSplit, "
                           "Punctuation, CharDelimiterSplit, BertPreTokenizer"));
    }

    std::unique_ptr<Decoder> decoder(const QJsonValue& v, const QString& where) const
    {
        const QString type = typeOf(v, where);
        const QJsonObject o = v.toObject();
        if (type == u"Sequence") {
            auto seq = std::make_unique<SequenceDecoder>();
            const QJsonArray items = o.value(u"decoders").toArray();
            for (qsizetype i = 0; i < items.size(); ++i)
                seq->items.push_back(decoder(items[i], where + QStringLiteral(".decoders[%1]").arg(i)));
            return seq;
        }
        if (type == u"ByteLevel") return std::make_unique<ByteLevelDecoder>();
        if (type == u"Replace") {
            auto d = std::make_unique<ReplaceDecoder>();
            d->pattern = pattern(o.value(u"pattern"), where);
            d->content = str(o, QStringLiteral("content"), where);
            return d;
        }
        if (type == u"ByteFallback") return std::make_unique<ByteFallbackDecoder>();
        if (type == u"Fuse") return std::make_unique<FuseDecoder>();
        if (type == u"Strip") {
            auto d = std::make_unique<StripDecoder>();
            d->content =
                singleChar(str(o, QStringLiteral("content"), where, " "), where, QStringLiteral("content"));
            d->start = o.value(u"start").toInt(0);
            d->stop = o.value(u"stop").toInt(0);
            return d;
        }
        if (type == u"Metaspace") {
            auto d = std::make_unique<MetaspaceDecoder>();
            d->replacement = singleChar(str(o, QStringLiteral("replacement"), where, "\xE2\x96\x81"), where,
                                        QStringLiteral("replacement"));
            d->scheme = prependScheme(o, where);
            return d;
        }
        if (type == u"BPEDecoder") {
            auto d = std::make_unique<BpeDecoder>();
            d->suffix = str(o, QStringLiteral("suffix"), where, "</w>");
            return d;
        }
        unsupported(
            QStringLiteral("decoder"), type, where,
            QStringLiteral("Sequence, ByteLevel, Replace, ByteFallback, Fuse, Strip, Metaspace, BPEDecoder"));
    }

private:
    QString m_file;
};

} // namespace

// -------------------------------------------------------------------------------------------------

struct HfTokenizer::Impl
{
    QString path;
    std::vector<AddedToken> added;
    AddedMatcher rawAdded;        ///< added tokens with normalized=false, matched on the input
    AddedMatcher normalizedAdded; ///< normalized=true ones, matched after normalisation
    std::unique_ptr<Normalizer> normalizer;
    std::unique_ptr<PreTokenizer> preTokenizer;
    BpeModel model;
    std::unique_ptr<Decoder> decoder;
    std::vector<int> bosPrefix; ///< ids encode(addBos) puts in front
    std::vector<std::string> idToToken;
    std::vector<char> special;
    int bos = -1, eos = -1;
    bool byteLevel = false;

    Pieces pieces(std::string_view text) const
    {
        utf8::require(text);
        Pieces segs;
        if (text.empty()) return segs;
        Piece whole{std::string(text), -1, true};
        if (rawAdded.any())
            rawAdded.split(std::move(whole), segs);
        else
            segs.push_back(std::move(whole));
        if (normalizer)
            for (Piece& p : segs)
                if (p.addedId < 0) normalizer->normalize(p.text);
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
        if (!preTokenizer) return segs;
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
        for (const AddedToken& t : added)
            if (t.content == token) return t.id;
        const auto it = model.vocab.find(token);
        return it == model.vocab.end() ? -1 : it->second;
    }
};

namespace {

QJsonObject readJsonObject(const QString& path)
{
    QFile f(path);
    if (!f.exists()) throw Error::inFile(path, QStringLiteral("no such file"));
    if (!f.open(QIODevice::ReadOnly)) throw Error::inFile(path, u"cannot open: " + f.errorString());
    QJsonParseError perr{};
    const QJsonDocument doc = QJsonDocument::fromJson(f.readAll(), &perr);
    if (perr.error != QJsonParseError::NoError)
        throw Error::inFile(
            path, QStringLiteral("invalid JSON: %1 at byte %2").arg(perr.errorString()).arg(perr.offset));
    if (!doc.isObject()) throw Error::inFile(path, QStringLiteral("not a JSON object"));
    return doc.object();
}

/// bos_token / eos_token of tokenizer_config.json: a string or {"content": …}.
std::string configToken(const QJsonObject& cfg, const QString& key)
{
    const QJsonValue v = cfg.value(key);
    if (v.isString()) return v.toString().toStdString();
    if (v.isObject()) return v.toObject().value(u"content").toString().toStdString();
    return {};
}

void loadModel(const Loader& L, const QJsonObject& m, BpeModel& model)
{
    const QString where = QStringLiteral("model");
    QString type = m.value(u"type").toString();
    if (type.isEmpty() && m.contains(u"merges")) type = QStringLiteral("BPE"); // untagged older files
    if (type != u"BPE")
        L.fail(where, u"unsupported model type '" + (type.isEmpty() ? QStringLiteral("(none)") : type) +
                          u"' (supported: BPE)");
    const QJsonValue dropout = m.value(u"dropout");
    if (dropout.isDouble() && dropout.toDouble() > 0.0)
        L.fail(where, QStringLiteral("BPE dropout is not supported (encoding would be random)"));

    const QJsonObject vocab = m.value(u"vocab").toObject();
    if (vocab.isEmpty()) L.fail(where, QStringLiteral("\"vocab\" is missing or empty"));
    model.vocab.reserve(std::size_t(vocab.size()));
    for (auto it = vocab.begin(); it != vocab.end(); ++it) {
        if (!it.value().isDouble() || it.value().toInteger(-1) < 0)
            L.fail(where + u".vocab", u"id of '" + it.key() + u"' is not a non-negative integer");
        model.vocab[it.key().toStdString()] = int(it.value().toInteger());
    }
    model.prefix = L.str(m, QStringLiteral("continuing_subword_prefix"), where, "");
    model.suffix = L.str(m, QStringLiteral("end_of_word_suffix"), where, "");
    model.fuseUnk = L.boolean(m, QStringLiteral("fuse_unk"), false);
    model.byteFallback = L.boolean(m, QStringLiteral("byte_fallback"), false);
    model.ignoreMerges = L.boolean(m, QStringLiteral("ignore_merges"), false);
    const std::string unk = L.str(m, QStringLiteral("unk_token"), where, "");
    if (!unk.empty()) {
        const auto it = model.vocab.find(unk);
        if (it == model.vocab.end())
            L.fail(where, u"unk_token '" + fromStd(unk) + u"' is not in the vocabulary");
        model.unkId = it->second;
    }
    for (int b = 0; b < 256; ++b) {
        char name[8];
        std::snprintf(name, sizeof name, "<0x%02X>", b); // HF: format!("<{b:#04X}>")
        const auto it = model.vocab.find(std::string_view(name));
        model.byteIds[std::size_t(b)] = it == model.vocab.end() ? -1 : it->second;
    }

    const QJsonArray merges = m.value(u"merges").toArray();
    model.merges.reserve(std::size_t(merges.size()) * 2);
    for (qsizetype r = 0; r < merges.size(); ++r) {
        std::string a, b;
        const QJsonValue mv = merges[r];
        if (mv.isString()) {
            const std::string s = mv.toString().toStdString();
            const std::size_t sp = s.find(' ');
            if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos)
                L.fail(QStringLiteral("model.merges[%1]").arg(r), QStringLiteral("expected \"a b\""));
            a = s.substr(0, sp);
            b = s.substr(sp + 1);
        } else if (mv.isArray() && mv.toArray().size() == 2) {
            a = mv.toArray()[0].toString().toStdString();
            b = mv.toArray()[1].toString().toStdString();
        } else {
            L.fail(QStringLiteral("model.merges[%1]").arg(r), QStringLiteral("expected \"a b\" or [a, b]"));
        }
        const auto ia = model.vocab.find(a), ib = model.vocab.find(b);
        if (ia == model.vocab.end() || ib == model.vocab.end())
            L.fail(QStringLiteral("model.merges[%1]").arg(r),
                   u"token '" + fromStd(ia == model.vocab.end() ? a : b) + u"' is not in the vocabulary");
        std::string merged = a;
        merged += !model.prefix.empty() && startsWith(b, model.prefix) ? b.substr(model.prefix.size()) : b;
        const auto im = model.vocab.find(merged);
        if (im == model.vocab.end())
            L.fail(QStringLiteral("model.merges[%1]").arg(r),
                   u"merged token '" + fromStd(merged) + u"' is not in the vocabulary");
        model.merges[BpeModel::key(ia->second, ib->second)] = {int(r), im->second};
    }
}

/// Ids of the special tokens a post-processor puts before the text ("$A").
std::vector<int> postProcessorPrefix(const Loader& L, const QJsonValue& v, const QString& where)
{
    const QString type = L.typeOf(v, where);
    const QJsonObject o = v.toObject();
    std::vector<int> ids;
    if (type == u"TemplateProcessing") {
        const QJsonObject specials = o.value(u"special_tokens").toObject();
        const QJsonArray single = o.value(u"single").toArray();
        for (const QJsonValue item : single) {
            const QJsonObject io = item.toObject();
            if (io.contains(u"Sequence")) break;
            const QString name = io.value(u"SpecialToken").toObject().value(u"id").toString();
            if (name.isEmpty())
                L.fail(where + u".single", QStringLiteral("expected SpecialToken or Sequence items"));
            const QJsonValue st = specials.value(name);
            if (!st.isObject()) L.fail(where + u".special_tokens", u"no entry for '" + name + u'\'');
            for (const QJsonValue id : st.toObject().value(u"ids").toArray())
                ids.push_back(id.toInt());
        }
        return ids;
    }
    if (type == u"BertProcessing" || type == u"RobertaProcessing") {
        const QJsonArray cls = o.value(u"cls").toArray();
        if (cls.size() != 2) L.fail(where, QStringLiteral("\"cls\" must be [token, id]"));
        ids.push_back(cls[1].toInt());
        return ids;
    }
    if (type == u"ByteLevel") return ids; // offsets only
    if (type == u"Sequence") {
        const QJsonArray items = o.value(u"processors").toArray();
        for (qsizetype i = 0; i < items.size(); ++i) {
            const auto p = postProcessorPrefix(L, items[i], where + QStringLiteral(".processors[%1]").arg(i));
            ids.insert(ids.end(), p.begin(), p.end());
        }
        return ids;
    }
    L.unsupported(
        QStringLiteral("post_processor"), type, where,
        QStringLiteral("TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel, Sequence"));
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

std::unique_ptr<HfTokenizer> HfTokenizer::fromJson(const QJsonObject& root, const QString& path,
                                                   const QJsonObject& cfg)
{
    const Loader L(path);
    auto d = std::make_unique<Impl>();
    d->path = path;

    if (!root.value(u"model").isObject()) L.fail(QStringLiteral("model"), QStringLiteral("missing"));
    loadModel(L, root.value(u"model").toObject(), d->model);

    if (!root.value(u"normalizer").isNull() && !root.value(u"normalizer").isUndefined())
        d->normalizer = L.normalizer(root.value(u"normalizer"), QStringLiteral("normalizer"));
    if (!root.value(u"pre_tokenizer").isNull() && !root.value(u"pre_tokenizer").isUndefined()) {
        d->preTokenizer = L.preTokenizer(root.value(u"pre_tokenizer"), QStringLiteral("pre_tokenizer"));
        d->byteLevel = d->preTokenizer->isByteLevel();
    }
    if (!root.value(u"decoder").isNull() && !root.value(u"decoder").isUndefined())
        d->decoder = L.decoder(root.value(u"decoder"), QStringLiteral("decoder"));

    // Added tokens: special ones and most others are matched on the raw text.
    const QJsonArray added = root.value(u"added_tokens").toArray();
    d->added.reserve(std::size_t(added.size()));
    for (qsizetype i = 0; i < added.size(); ++i) {
        const QJsonObject a = added[i].toObject();
        const QString where = QStringLiteral("added_tokens[%1]").arg(i);
        AddedToken t;
        t.content = L.str(a, QStringLiteral("content"), where);
        if (!a.value(u"id").isDouble() || a.value(u"id").toInteger(-1) < 0)
            L.fail(where, QStringLiteral("\"id\" must be a non-negative integer"));
        t.id = int(a.value(u"id").toInteger());
        t.special = L.boolean(a, QStringLiteral("special"), false);
        t.lstrip = L.boolean(a, QStringLiteral("lstrip"), false);
        t.rstrip = L.boolean(a, QStringLiteral("rstrip"), false);
        t.singleWord = L.boolean(a, QStringLiteral("single_word"), false);
        t.normalized = L.boolean(a, QStringLiteral("normalized"), !t.special);
        t.match = t.content;
        if (t.normalized && d->normalizer) d->normalizer->normalize(t.match);
        d->added.push_back(std::move(t));
    }
    for (const AddedToken& t : d->added)
        (t.normalized && d->normalizer ? d->normalizedAdded : d->rawAdded).add(&t);

    // id → token table: the model's vocabulary, then added tokens (which win, as in HF)
    int maxId = -1;
    for (const auto& [tok, id] : d->model.vocab)
        maxId = std::max(maxId, id);
    for (const AddedToken& t : d->added)
        maxId = std::max(maxId, t.id);
    d->idToToken.resize(std::size_t(maxId + 1));
    d->special.assign(std::size_t(maxId + 1), 0);
    for (const auto& [tok, id] : d->model.vocab)
        d->idToToken[std::size_t(id)] = tok;
    for (const AddedToken& t : d->added) {
        d->idToToken[std::size_t(t.id)] = t.content;
        d->special[std::size_t(t.id)] = t.special;
    }

    // BOS: the post-processor's leading special tokens; without one, tokenizer_config.json's bos_token.
    const QJsonValue pp = root.value(u"post_processor");
    if (!pp.isNull() && !pp.isUndefined())
        d->bosPrefix = postProcessorPrefix(L, pp, QStringLiteral("post_processor"));
    for (int id : d->bosPrefix)
        if (id < 0 || id > maxId)
            L.fail(QStringLiteral("post_processor"),
                   QStringLiteral("special token id %1 is out of range").arg(id));
    if (d->bosPrefix.empty() && cfg.value(u"add_bos_token").toBool(true)) {
        const std::string bos = configToken(cfg, QStringLiteral("bos_token"));
        const int id = bos.empty() ? -1 : d->idOf(bos);
        if (id >= 0) d->bosPrefix.push_back(id);
    }
    if (!d->bosPrefix.empty())
        d->bos = d->bosPrefix.front();
    else if (const std::string bos = configToken(cfg, QStringLiteral("bos_token")); !bos.empty())
        d->bos = d->idOf(bos);

    std::string eos = configToken(cfg, QStringLiteral("eos_token"));
    if (eos.empty())
        for (const char* name : {"</s>", "<|end_of_text|>", "<|endoftext|>", "<eos>"})
            if (d->idOf(name) >= 0) {
                eos = name;
                break;
            }
    d->eos = eos.empty() ? -1 : d->idOf(eos);

    return std::unique_ptr<HfTokenizer>(new HfTokenizer(std::move(d)));
}

std::vector<int> HfTokenizer::encode(std::string_view utf8, bool addBos) const
{
    std::vector<int> ids;
    if (addBos) ids = d->bosPrefix;
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
        if (!d->special[std::size_t(id)]) tokens.push_back(d->idToToken[std::size_t(id)]);
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
    if (d->byteLevel) kind += u", byte-level";
    if (d->model.byteFallback) kind += u", byte fallback";
    return QStringLiteral("tokenizer.json: %1, %2 tokens").arg(kind).arg(vocabSize());
}

QString HfTokenizer::path() const
{
    return d->path;
}

} // namespace qs
