#include "tokenizer/SentencePieceTokenizer.h"

#include "tokenizer/Utf8.h"
#include "util/Error.h"

#include <QFile>
#include <QFileInfo>
#include <exception>
#include <sentencepiece_processor.h>

namespace qs {

SentencePieceTokenizer::SentencePieceTokenizer(QString path,
                                               std::unique_ptr<sentencepiece::SentencePieceProcessor> sp)
    : m_path(std::move(path)), m_sp(std::move(sp))
{}

SentencePieceTokenizer::~SentencePieceTokenizer() = default;

std::unique_ptr<SentencePieceTokenizer> SentencePieceTokenizer::fromFile(const QString& path)
{
    const QFileInfo info(path);
    if (!info.exists()) throw Error::inFile(path, QStringLiteral("no such file"));
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) throw Error::inFile(path, u"cannot open: " + f.errorString());
    // Loading from memory keeps non-ASCII paths out of the library's own file handling.
    const QByteArray bytes = f.readAll();
    return fromSerializedProto(std::string_view(bytes.constData(), std::size_t(bytes.size())), path);
}

std::unique_ptr<SentencePieceTokenizer> SentencePieceTokenizer::fromSerializedProto(std::string_view bytes,
                                                                                    const QString& path)
{
    auto sp = std::make_unique<sentencepiece::SentencePieceProcessor>();
    sentencepiece::util::Status status;
    try {
        status = sp->LoadFromSerializedProto(bytes);
    } catch (const std::exception& e) {
        // The library reports some bad models by throwing (its trie builder rejects a piece that
        // starts with a NUL byte: "zero-length key") rather than by its status.
        throw Error::inFile(path, u"not a valid SentencePiece model: " + QString::fromLocal8Bit(e.what()));
    }
    if (!status.ok())
        throw Error::inFile(path,
                            u"not a valid SentencePiece model: " + QString::fromStdString(status.ToString()));
    if (sp->GetPieceSize() <= 0)
        throw Error::inFile(path, QStringLiteral("SentencePiece model has no pieces"));
    return std::unique_ptr<SentencePieceTokenizer>(new SentencePieceTokenizer(path, std::move(sp)));
}

std::vector<int> SentencePieceTokenizer::encode(std::string_view utf8, bool addBos) const
{
    utf8::require(utf8);
    std::vector<int> ids;
    const auto status = m_sp->Encode(utf8, &ids);
    if (!status.ok())
        throw Error::inFile(m_path,
                            u"SentencePiece encode failed: " + QString::fromStdString(status.ToString()));
    if (addBos && m_sp->bos_id() >= 0) ids.insert(ids.begin(), m_sp->bos_id());
    return ids;
}

void SentencePieceTokenizer::checkId(int id) const
{
    if (id < 0 || id >= m_sp->GetPieceSize())
        throw Error::inFile(
            m_path,
            QStringLiteral("token id %1 is out of range (%2 pieces)").arg(id).arg(m_sp->GetPieceSize()));
}

std::string SentencePieceTokenizer::decode(const std::vector<int>& ids) const
{
    for (int id : ids)
        checkId(id);
    std::string out;
    const auto status = m_sp->Decode(ids, &out);
    if (!status.ok())
        throw Error::inFile(m_path,
                            u"SentencePiece decode failed: " + QString::fromStdString(status.ToString()));
    return out;
}

std::string SentencePieceTokenizer::piece(int id) const
{
    checkId(id);
    return m_sp->IdToPiece(id);
}

int SentencePieceTokenizer::vocabSize() const
{
    return m_sp->GetPieceSize();
}

int SentencePieceTokenizer::bosId() const
{
    return m_sp->bos_id();
}

int SentencePieceTokenizer::eosId() const
{
    return m_sp->eos_id();
}

QString SentencePieceTokenizer::description() const
{
    return QStringLiteral("tokenizer.model: SentencePiece, %1 tokens").arg(vocabSize());
}

QString SentencePieceTokenizer::path() const
{
    return m_path;
}

} // namespace qs
