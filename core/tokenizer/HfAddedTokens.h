#pragma once

#include "tokenizer/HfSplit.h"

#include <QJsonArray>
#include <array>
#include <string>
#include <string_view>
#include <vector>

/// Internal to core/tokenizer: tokenizer.json added tokens, which are cut out of the text before
/// the model sees it.
namespace qs::hf {

class JsonReader;
class Normalizer;

struct AddedToken
{
    std::string content;
    std::string match; ///< what is searched for: content, normalised when `normalized`
    int id = -1;
    bool special = false, lstrip = false, rstrip = false, singleWord = false, normalized = false;
};

/// The "added_tokens" array; `normalizer` (may be null) gives the match text of normalized ones.
std::vector<AddedToken> readAddedTokens(const JsonReader& json, const QJsonArray& added,
                                        const Normalizer* normalizer);

/// Leftmost-longest literal matching of added tokens, as HF's Aho-Corasick split does.
class AddedMatcher
{
public:
    /// t must outlive the matcher.
    void add(const AddedToken* t);
    bool any() const { return m_any; }

    /// Cuts every added token out of `in`: the tokens become pieces with their id, the text
    /// around them (less what lstrip/rstrip take) pieces of their own.
    void split(Piece&& in, Pieces& out) const;

private:
    std::array<std::vector<const AddedToken*>, 256> m_byFirstByte; ///< longest first
    bool m_any = false;
};

} // namespace qs::hf
