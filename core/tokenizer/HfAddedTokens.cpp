#include "tokenizer/HfAddedTokens.h"

#include "tokenizer/HfJson.h"
#include "tokenizer/HfNormalizers.h"
#include "tokenizer/HfText.h"
#include "tokenizer/Utf8.h"

#include <QJsonObject>
#include <algorithm>

namespace qs::hf {

std::vector<AddedToken> readAddedTokens(const JsonReader& json, const QJsonArray& added,
                                        const Normalizer* normalizer)
{
    std::vector<AddedToken> tokens;
    tokens.reserve(std::size_t(added.size()));
    for (qsizetype i = 0; i < added.size(); ++i) {
        const QJsonObject a = added[i].toObject();
        const QString where = QStringLiteral("added_tokens[%1]").arg(i);
        AddedToken t;
        t.content = json.str(a, QStringLiteral("content"), where);
        t.id = json.tokenId(a.value(u"id"), where, QStringLiteral("\"id\""));
        t.special = json.boolean(a, QStringLiteral("special"), false);
        t.lstrip = json.boolean(a, QStringLiteral("lstrip"), false);
        t.rstrip = json.boolean(a, QStringLiteral("rstrip"), false);
        t.singleWord = json.boolean(a, QStringLiteral("single_word"), false);
        t.normalized = json.boolean(a, QStringLiteral("normalized"), !t.special);
        t.match = t.content;
        if (t.normalized && normalizer)
            normalizer->normalize(t.match);
        tokens.push_back(std::move(t));
    }
    return tokens;
}

namespace {

bool endsWithWord(std::string_view s)
{
    std::size_t b = s.size();
    while (b > 0 && (static_cast<unsigned char>(s[b - 1]) & 0xC0) == 0x80)
        --b;
    if (b == 0 && s.empty())
        return false;
    std::size_t pos = b > 0 ? b - 1 : 0;
    return isWordChar(utf8::next(s, pos));
}

bool startsWithWord(std::string_view s)
{
    std::size_t pos = 0;
    return !s.empty() && isWordChar(utf8::next(s, pos));
}

std::size_t leftmostSpaceAtEnd(std::string_view s)
{
    std::size_t pos = 0, afterLastNonSpace = 0;
    while (pos < s.size())
        if (!isWhitespace(utf8::next(s, pos)))
            afterLastNonSpace = pos;
    return afterLastNonSpace;
}

std::size_t spaceAtStart(std::string_view s)
{
    std::size_t pos = 0, end = 0;
    while (pos < s.size() && isWhitespace(utf8::next(s, pos)))
        end = pos;
    return end;
}

} // namespace

void AddedMatcher::add(const AddedToken* t)
{
    if (t->match.empty())
        return;
    auto& list = m_byFirstByte[static_cast<unsigned char>(t->match[0])];
    list.push_back(t);
    std::stable_sort(list.begin(), list.end(), [](const AddedToken* a, const AddedToken* b) {
        return a->match.size() > b->match.size();
    });
    m_any = true;
}

void AddedMatcher::split(Piece&& in, Pieces& out) const
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
            if (!startSpace || !stopSpace)
                continue;
        }
        if (hit->lstrip)
            start = std::max(leftmostSpaceAtEnd(s.substr(0, start)), startOffset);
        if (hit->rstrip)
            stop += spaceAtStart(s.substr(stop));
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

} // namespace qs::hf
