#pragma once

#include <QString>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace qs {

class GgufFile;

/// Text ↔ token ids. Three implementations: SentencePiece `tokenizer.model` (through Debian's
/// libsentencepiece), Hugging Face `tokenizer.json` (BPE, byte-level or SentencePiece-style,
/// implemented in core) and a GGUF file's tokenizer metadata (llama.cpp's semantics). Each follows
/// its own file's semantics faithfully.
class Tokenizer
{
public:
    virtual ~Tokenizer() = default;

    /// Loads from a model folder: tokenizer.json when present (the semantics llama.cpp and HF use),
    /// else tokenizer.model. A path that is a file ending in .gguf loads from that file's
    /// tokenizer.ggml.* metadata (fromGguf). Throws qs::Error naming the file when neither loads.
    static std::unique_ptr<Tokenizer> load(const QString& modelDir);
    static std::unique_ptr<Tokenizer> fromTokenizerJson(const QString& path);
    static std::unique_ptr<Tokenizer> fromSentencePiece(const QString& path);
    /// The tokenizer a GGUF file's metadata describes, giving llama.cpp's ids for plain text
    /// (see GgufTokenizer). Throws qs::Error naming the file and the key.
    static std::unique_ptr<Tokenizer> fromGguf(const GgufFile& file);

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
    /// Set by load() when the folder's preferred file (tokenizer.json) could not be used and another was
    /// loaded instead (both files and why), or when the folder's unused tokenizer.model cannot be read. Evaluations carry it among their warnings (so run records keep
    /// it) and the command line prints it. Empty otherwise.
    const QString& loadWarning() const { return m_loadWarning; }

private:
    QString m_loadWarning;
};

} // namespace qs
