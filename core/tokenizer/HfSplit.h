#pragma once

#include "tokenizer/Regex.h"
#include "tokenizer/Utf8.h"

#include <memory>
#include <string>
#include <string_view>
#include <vector>

/// Internal to core/tokenizer: a piece of text on its way through the Hugging Face pipeline, and
/// how patterns find matches in it and split it (HF's NormalizedString::split).
namespace qs::hf {

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

    /// Appends the non-overlapping matches in s, left to right.
    void find(std::string_view s, std::vector<Span>& out) const;
};

/// s with every match of pattern replaced by content.
std::string replaceAll(std::string_view s, const Pattern& pattern, std::string_view content);

/// Each character satisfying pred is one match, as HF's `Fn(char) -> bool` pattern gives.
template <class Pred>
void charMatches(std::string_view s, Pred pred, std::vector<Span>& out)
{
    std::size_t pos = 0;
    while (pos < s.size()) {
        const std::size_t begin = pos;
        const char32_t c = utf8::next(s, pos);
        if (pred(c))
            out.emplace_back(begin, pos);
    }
}

/// What becomes of the matches when splitting (HF's SplitDelimiterBehavior).
enum class Behavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

/// NormalizedString::split of HF tokenizers: the matches (or, with invert, the text between them)
/// and the rest become pieces according to `behavior`; empty pieces are dropped.
void splitPiece(const Piece& in, const std::vector<Span>& matches, bool invert, Behavior behavior,
                Pieces& out);

} // namespace qs::hf
