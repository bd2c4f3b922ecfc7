#pragma once

#include <QString>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace qs {

/// Text ↔ token ids. Two implementations: SentencePiece `tokenizer.model` (through Debian's
/// libsentencepiece) and Hugging Face `tokenizer.json` (BPE, byte-level or SentencePiece-style,
/// implemented in core). Each follows its own file's semantics faithfully.
class Tokenizer
{
public:
    virtual ~Tokenizer() = default;

    /// Loads from a model folder: tokenizer.json when present (the semantics llama.cpp and HF use),
    /// else tokenizer.model. Throws qs::Error naming the file when neither loads.
    static std::unique_ptr<Tokenizer> load(const QString& modelDir);
    static std::unique_ptr<Tokenizer> fromTokenizerJson(const QString& path);
    static std::unique_ptr<Tokenizer> fromSentencePiece(const QString& path);

    /// Encodes UTF-8 text. With addBos the BOS id is prepended (for tokenizer.json: as its
    /// TemplateProcessing post-processor says; for SentencePiece: its bos id). Invalid UTF-8 is a
    /// qs::Error naming the byte offset.
    virtual std::vector<int> encode(std::string_view utf8, bool addBos) const = 0;
    /// Decodes ids to UTF-8 text (byte-fallback and byte-level pieces reassembled).
    virtual std::string decode(const std::vector<int>& ids) const = 0;
    /// The raw piece of one id, for display.
    virtual std::string piece(int id) const = 0;
    virtual int vocabSize() const = 0;
    virtual int bosId() const = 0; ///< -1 when none
    virtual int eosId() const = 0; ///< -1 when none
    /// Human description, e.g. "tokenizer.json: BPE, byte-level, 4096 tokens".
    virtual QString description() const = 0;
    /// The file it was loaded from.
    virtual QString path() const = 0;
};

} // namespace qs
