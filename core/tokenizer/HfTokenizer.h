#pragma once

#include "tokenizer/Tokenizer.h"

#include <QJsonObject>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace qs {

/// Hugging Face `tokenizer.json`, implemented in core so that its exact semantics (not
/// SentencePiece's) decide the ids, as in transformers and llama.cpp.
///
/// Supported: model BPE (merge ranks from "a b" strings or [a, b] pairs, byte_fallback, unk with
/// fuse_unk, ignore_merges, continuing_subword_prefix, end_of_word_suffix); added_tokens (matched
/// literally, leftmost-longest, before normalisation; lstrip/rstrip/single_word/normalized);
/// normalizers Sequence, Prepend, Replace, NFC/NFD/NFKC/NFKD, Lowercase, Strip,
/// StripAccents, ByteLevel; pre-tokenizers Sequence, Split, ByteLevel, Metaspace, Digits,
/// Whitespace, WhitespaceSplit, Punctuation, CharDelimiterSplit, BertPreTokenizer; post-processors
/// TemplateProcessing, Roberta/BertProcessing, ByteLevel, Sequence (only the special tokens in
/// front of the text are used, as the BOS of encode()); decoders Sequence, ByteLevel, Replace,
/// ByteFallback, Fuse, Strip, Metaspace, BPEDecoder. Anything else is a qs::Error naming the
/// component and the file.
class HfTokenizer final : public Tokenizer
{
public:
    /// Parses the file (and tokenizer_config.json beside it for bos/eos when present).
    static std::unique_ptr<HfTokenizer> fromFile(const QString& path);
    /// Builds from an already parsed tokenizer.json object and tokenizer_config.json object (empty
    /// when there is none); `path` is what errors name and path() returns.
    static std::unique_ptr<HfTokenizer> fromJson(const QJsonObject& root, const QString& path,
                                                 const QJsonObject& config = {});
    /// The same from tokenizer.json's bytes (invalid JSON is a qs::Error naming `path`).
    static std::unique_ptr<HfTokenizer> fromBytes(const QByteArray& json, const QString& path,
                                                  const QJsonObject& config = {});
    ~HfTokenizer() override;

    std::vector<int> encode(std::string_view utf8, bool addBos) const override;
    /// Special added tokens (BOS, EOS …) are skipped, as SentencePiece skips control pieces.
    std::string decode(const std::vector<int>& ids) const override;
    std::string piece(int id) const override;
    int vocabSize() const override;
    int bosId() const override;
    int eosId() const override;
    QString description() const override;
    QString path() const override;

    /// The pieces the model receives after added-token splitting, normalisation and
    /// pre-tokenisation (added tokens included as their content), for diagnostics and tests.
    std::vector<std::string> preTokenize(std::string_view utf8) const;

    struct Impl;

private:
    explicit HfTokenizer(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> d;
};

} // namespace qs
