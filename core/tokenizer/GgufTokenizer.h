#pragma once

#include "io/GgufNames.h" // GgufTokenType
#include "tokenizer/Tokenizer.h"

#include <QStringList>
#include <cstdint>
#include <memory>

namespace qs {

class GgufFile;

/// The tokenizer a GGUF file describes in its tokenizer.ggml.* metadata, with the ids llama.cpp
/// (c392e50) gives for plain text, i.e. llama_tokenize with parse_special = false:
///  - user-defined tokens (type 4) are split out of the text first, longest first, wherever they
///    occur; control and unknown tokens are never matched in text;
///  - "llama": llama.cpp's SentencePiece-style tokenizer: spaces become U+2581, one is prepended
///    to every text fragment that follows the start or a user-defined token when
///    tokenizer.ggml.add_space_prefix (default true); adjacent symbols are merged greedily,
///    always the pair whose merged text is a token with the highest score (ties: leftmost);
///    symbols that are not tokens become their <0xXX> byte tokens;
///  - "gpt2": byte-level BPE (the BPE model and pre-tokenizers of our HfTokenizer, built from the
///    vocabulary and tokenizer.ggml.merges) with the split regexes llama.cpp uses for tokenizer.ggml.pre
///    (preTokenizerNames() lists the names we know; ignore_merges for the Llama 3 ones).
/// encode(addBos) prepends the BOS id when tokenizer.ggml.add_bos_token says so (llama.cpp's
/// defaults: true for "llama" and Llama 3 pre-tokenizers, else false); EOS is never appended.
/// decode() skips control, unknown and unused tokens (as llama.cpp's token_to_piece without
/// `special`), reassembles bytes and, for "llama" with add_space_prefix, removes the leading
/// space as our SentencePiece and tokenizer.json decoders do; invalid UTF-8 becomes U+FFFD.
class GgufTokenizer final : public Tokenizer
{
public:
    /// Throws qs::Error naming the file and the key for missing or inconsistent metadata.
    static std::unique_ptr<GgufTokenizer> fromFile(const GgufFile& file);
    ~GgufTokenizer() override;

    std::vector<int> encode(std::string_view utf8, bool addBos) const override;
    std::string decode(const std::vector<int>& ids) const override;
    std::string piece(int id) const override;
    int vocabSize() const override;
    int bosId() const override;
    int eosId() const override;
    QString description() const override;
    QString path() const override;

    GgufTokenType tokenType(int id) const;
    /// The tokenizer.ggml.pre values of "gpt2" files we tokenize as llama.cpp does.
    static QStringList preTokenizerNames();

    struct Impl;

private:
    explicit GgufTokenizer(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> d;
};

} // namespace qs
