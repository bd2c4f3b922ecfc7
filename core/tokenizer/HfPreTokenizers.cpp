#include "tokenizer/HfPreTokenizers.h"

#include "tokenizer/HfJson.h"
#include "tokenizer/HfText.h"
#include "tokenizer/Utf8.h"

#include <QJsonArray>
#include <algorithm>
#include <functional>
#include <string>

namespace qs::hf {

namespace {

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

/// GPT-2's pre-tokenizer regex as HF has it, used by ByteLevel with use_regex. (llama.cpp's "gpt2"
/// regex in GgufTokenizer lacks the final \s+ alternative: the two are not interchangeable.)
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
        if (addPrefixSpace && !startsWith(p.text, " "))
            p.text.insert(p.text.begin(), ' ');
        const std::size_t first = out.size();
        if (useRegex) {
            std::vector<Span> matches;
            gpt2Regex().findAll(p.text, matches);
            splitPiece(p, matches, false, Behavior::Isolated, out);
        } else {
            out.push_back(std::move(p));
        }
        const utf8::ByteLevelMap& map = utf8::ByteLevelMap::instance();
        for (std::size_t i = first; i < out.size(); ++i)
            out[i].text = map.encode(out[i].text);
    }
    bool isByteLevel() const override { return true; }
};

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
        if (prepend && !startsWith(p.text, replacement))
            p.text.insert(0, replacement);
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

std::unique_ptr<PreTokenizer> charSplit(std::function<bool(char32_t)> pred, Behavior behavior)
{
    auto p = std::make_unique<CharSplitPreTokenizer>();
    p->pred = std::move(pred);
    p->behavior = behavior;
    return p;
}

Behavior readBehavior(const JsonReader& json, const QJsonObject& o, const QString& where, Behavior def)
{
    const QJsonValue v = o.value(u"behavior");
    if (v.isUndefined() || v.isNull())
        return def;
    const QString b = v.toString();
    if (b == u"Removed")
        return Behavior::Removed;
    if (b == u"Isolated")
        return Behavior::Isolated;
    if (b == u"MergedWithPrevious")
        return Behavior::MergedWithPrevious;
    if (b == u"MergedWithNext")
        return Behavior::MergedWithNext;
    if (b == u"Contiguous")
        return Behavior::Contiguous;
    json.fail(where, u"unknown split behavior '" + b + u'\'');
}

std::unique_ptr<PreTokenizer> readSplit(const JsonReader& json, const QJsonObject& o, const QString& where)
{
    auto p = std::make_unique<SplitPreTokenizer>();
    p->pattern = json.pattern(o.value(u"pattern"), where);
    p->behavior = readBehavior(json, o, where, Behavior::Isolated);
    p->invert = json.boolean(o, QStringLiteral("invert"), false);
    return p;
}

std::unique_ptr<PreTokenizer> readMetaspace(const JsonReader& json, const QJsonObject& o,
                                            const QString& where)
{
    auto p = std::make_unique<MetaspacePreTokenizer>();
    p->replacement = json.str(o, QStringLiteral("replacement"), where, "\xE2\x96\x81");
    json.singleChar(p->replacement, where, QStringLiteral("replacement"));
    p->scheme = readPrependScheme(json, o, where);
    p->splitOnReplacement = json.boolean(o, QStringLiteral("split"), true);
    return p;
}

/// HF's Whitespace: split on Invert(\w+|[^\w\s]+) with Removed, i.e. keep words and punctuation runs.
std::unique_ptr<PreTokenizer> whitespace()
{
    auto p = std::make_unique<SplitPreTokenizer>();
    p->pattern.regex = std::make_unique<Regex>(R"(\w+|[^\w\s]+)");
    p->behavior = Behavior::Removed;
    p->invert = true;
    return p;
}

/// HF's BertPreTokenizer: drop whitespace, isolate punctuation.
std::unique_ptr<PreTokenizer> bert()
{
    std::vector<std::unique_ptr<PreTokenizer>> items;
    items.push_back(charSplit(isWhitespace, Behavior::Removed));
    items.push_back(charSplit(isPunctuation, Behavior::Isolated));
    return makeSequence(std::move(items));
}

} // namespace

PrependScheme readPrependScheme(const JsonReader& json, const QJsonObject& o, const QString& where)
{
    const QJsonValue v = o.value(u"prepend_scheme");
    if (v.isString()) {
        const QString s = v.toString();
        if (s == u"always")
            return PrependScheme::Always;
        if (s == u"first")
            return PrependScheme::First;
        if (s == u"never")
            return PrependScheme::Never;
        json.fail(where, u"unknown prepend_scheme '" + s + u'\'');
    }
    // older files: add_prefix_space true/false
    return json.boolean(o, QStringLiteral("add_prefix_space"), true) ? PrependScheme::Always
                                                                     : PrependScheme::Never;
}

std::unique_ptr<PreTokenizer> readPreTokenizer(const JsonReader& json, const QJsonValue& v,
                                               const QString& where)
{
    const QString type = json.typeOf(v, where);
    const QJsonObject o = v.toObject();
    if (type == u"Sequence") {
        return makeSequence(json.list(
            o, QStringLiteral("pretokenizers"), where,
            [&](const QJsonValue& item, const QString& at) { return readPreTokenizer(json, item, at); }));
    }
    if (type == u"Split")
        return readSplit(json, o, where);
    if (type == u"ByteLevel") {
        const bool addPrefixSpace = json.boolean(o, QStringLiteral("add_prefix_space"), true);
        return makeByteLevel(addPrefixSpace, json.boolean(o, QStringLiteral("use_regex"), true));
    }
    if (type == u"Metaspace")
        return readMetaspace(json, o, where);
    if (type == u"Digits")
        return charSplit(isNumeric, json.boolean(o, QStringLiteral("individual_digits"), false)
                                        ? Behavior::Isolated
                                        : Behavior::Contiguous);
    if (type == u"WhitespaceSplit")
        return charSplit(isWhitespace, Behavior::Removed);
    if (type == u"Whitespace")
        return whitespace();
    if (type == u"Punctuation")
        return charSplit(isPunctuation, readBehavior(json, o, where, Behavior::Isolated));
    if (type == u"CharDelimiterSplit") {
        const char32_t d = json.singleChar(json.str(o, QStringLiteral("delimiter"), where), where,
                                           QStringLiteral("delimiter"));
        return charSplit([d](char32_t c) { return c == d; }, Behavior::Removed);
    }
    if (type == u"BertPreTokenizer")
        return bert();
    json.unsupported(
        QStringLiteral("pre_tokenizer"), type, where,
        QStringLiteral("Sequence, Split, ByteLevel, Metaspace, Digits, Whitespace, WhitespaceSplit, "
                       "Punctuation, CharDelimiterSplit, BertPreTokenizer"));
}

std::unique_ptr<PreTokenizer> makeRegexSplit(std::string_view regex)
{
    auto p = std::make_unique<SplitPreTokenizer>();
    p->pattern.regex = std::make_unique<Regex>(regex);
    p->behavior = Behavior::Isolated;
    p->invert = false;
    return p;
}

std::unique_ptr<PreTokenizer> makeByteLevel(bool addPrefixSpace, bool useRegex)
{
    auto p = std::make_unique<ByteLevelPreTokenizer>();
    p->addPrefixSpace = addPrefixSpace;
    p->useRegex = useRegex;
    return p;
}

std::unique_ptr<PreTokenizer> makeSequence(std::vector<std::unique_ptr<PreTokenizer>> items)
{
    auto seq = std::make_unique<SequencePreTokenizer>();
    seq->items = std::move(items);
    return seq;
}

} // namespace qs::hf
