#pragma once

#include <QChar>
#include <QString>
#include <algorithm>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

/// Internal to core/tokenizer: the text helpers the Hugging Face tokenizer components share
/// (inline: they run once per character).
namespace qs::hf {

/// Lets a std::string-keyed map be searched with a string_view, without a copy.
struct StringHash
{
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
template <class V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

inline QString fromStd(std::string_view s)
{
    return QString::fromUtf8(s.data(), qsizetype(s.size()));
}

inline bool isAscii(std::string_view s)
{
    return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

inline bool startsWith(std::string_view s, std::string_view prefix)
{
    return s.substr(0, prefix.size()) == prefix;
}

// Unicode predicates in the sense of Rust's char methods, which HF tokenizers use.
inline bool isWhitespace(char32_t c)
{
    return QChar::isSpace(c);
}

inline bool isWordChar(char32_t c) ///< \w: a letter, a number or '_'
{
    return QChar::isLetterOrNumber(c) || c == U'_';
}

inline bool isNumeric(char32_t c)
{
    return QChar::isNumber(c);
}

inline bool isPunctuation(char32_t c) ///< ASCII punctuation or a Unicode P* character
{
    const bool asciiPunct = (c >= U'!' && c <= U'/') || (c >= U':' && c <= U'@') ||
                            (c >= U'[' && c <= U'`') || (c >= U'{' && c <= U'~');
    return asciiPunct || QChar::isPunct(c);
}

} // namespace qs::hf
