#pragma once

#include "tokenizer/HfSplit.h"

#include <QJsonObject>
#include <QJsonValue>
#include <QString>
#include <memory>
#include <string_view>
#include <vector>

/// Internal to core/tokenizer: tokenizer.json pre-tokenizers, which cut normalised text into the
/// words the model tokenizes one by one.
namespace qs::hf {

class JsonReader;

class PreTokenizer
{
public:
    virtual ~PreTokenizer() = default;
    /// Splits one (non-added-token) piece, appending the results to out.
    virtual void split(const Piece& in, Pieces& out) const = 0;
    /// Whether the pieces come out byte-level mapped (for description()).
    virtual bool isByteLevel() const { return false; }
};

/// Where Metaspace puts its replacement character in front of a piece (the decoder mirrors it).
enum class PrependScheme { Always, First, Never };

/// "prepend_scheme" of a Metaspace pre-tokenizer or decoder (older files: "add_prefix_space").
PrependScheme readPrependScheme(const JsonReader& json, const QJsonObject& o, const QString& where);

/// The pre-tokenizer the tokenizer.json object v describes: Sequence, Split, ByteLevel, Metaspace,
/// Digits, Whitespace, WhitespaceSplit, Punctuation, CharDelimiterSplit or BertPreTokenizer; any
/// other type is an error.
std::unique_ptr<PreTokenizer> readPreTokenizer(const JsonReader& json, const QJsonValue& v,
                                               const QString& where);

// The same components built directly, for tokenizers that are not read from tokenizer.json.

/// Split with a regex, each match isolated ({"type": "Split", "behavior": "Isolated"}).
std::unique_ptr<PreTokenizer> makeRegexSplit(std::string_view regex);
/// ByteLevel: optionally a space in front and GPT-2's regex, then every byte as its character.
std::unique_ptr<PreTokenizer> makeByteLevel(bool addPrefixSpace, bool useRegex);
/// Sequence: each item splits every piece the previous one made.
std::unique_ptr<PreTokenizer> makeSequence(std::vector<std::unique_ptr<PreTokenizer>> items);

} // namespace qs::hf
