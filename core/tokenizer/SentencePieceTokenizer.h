#pragma once

#include "tokenizer/Tokenizer.h"

#include <memory>
#include <string_view>

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace qs {

/// SentencePiece `tokenizer.model` through Debian's libsentencepiece, with the model's own
/// normaliser (e.g. remove_extra_whitespaces) exactly as SentencePiece applies it.
class SentencePieceTokenizer final : public Tokenizer
{
public:
    /// Throws qs::Error naming the file when it is missing or not a SentencePiece model.
    static std::unique_ptr<SentencePieceTokenizer> fromFile(const QString& path);
    /// The same from the model file's bytes; `path` is what errors and path() name.
    static std::unique_ptr<SentencePieceTokenizer> fromSerializedProto(std::string_view bytes,
                                                                       const QString& path);
    ~SentencePieceTokenizer() override;

    std::vector<int> encode(std::string_view utf8, bool addBos) const override;
    /// Control pieces (BOS, EOS) decode to nothing, as SentencePiece does.
    std::string decode(const std::vector<int>& ids) const override;
    std::string piece(int id) const override;
    int vocabSize() const override;
    int bosId() const override;
    int eosId() const override;
    QString description() const override;
    QString path() const override;

private:
    SentencePieceTokenizer(QString path, std::unique_ptr<sentencepiece::SentencePieceProcessor> sp);
    void checkId(int id) const;

    QString m_path;
    std::unique_ptr<sentencepiece::SentencePieceProcessor> m_sp;
};

} // namespace qs
