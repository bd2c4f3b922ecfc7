#include "tokenizer/Tokenizer.h"

#include "io/Gguf.h"
#include "tokenizer/GgufTokenizer.h"
#include "tokenizer/HfTokenizer.h"
#include "tokenizer/SentencePieceTokenizer.h"
#include "util/Error.h"

#include <QDir>
#include <QFileInfo>
#include <QtGlobal>

namespace qs {

std::unique_ptr<Tokenizer> Tokenizer::fromTokenizerJson(const QString& path)
{
    return HfTokenizer::fromFile(path);
}

std::unique_ptr<Tokenizer> Tokenizer::fromSentencePiece(const QString& path)
{
    return SentencePieceTokenizer::fromFile(path);
}

std::unique_ptr<Tokenizer> Tokenizer::fromGguf(const GgufFile& file)
{
    return GgufTokenizer::fromFile(file);
}

std::unique_ptr<Tokenizer> Tokenizer::load(const QString& modelDir)
{
    const QFileInfo info(modelDir);
    if (info.isFile() && modelDir.endsWith(QStringLiteral(".gguf"), Qt::CaseInsensitive))
        return fromGguf(*GgufFile::open(modelDir));
    const QDir dir(modelDir);
    const QString json = dir.filePath(QStringLiteral("tokenizer.json"));
    const QString model = dir.filePath(QStringLiteral("tokenizer.model"));
    const bool haveJson = QFileInfo::exists(json), haveModel = QFileInfo::exists(model);
    if (!haveJson && !haveModel)
        throw Error::inFile(modelDir, QStringLiteral("no tokenizer.json or tokenizer.model in this folder"));
    if (!haveJson)
        return fromSentencePiece(model);
    try {
        auto t = fromTokenizerJson(json);
        if (haveModel) {
            // The folder's other tokenizer is not used, but one that cannot even be read is worth
            // a word: the folder is damaged, or the two files do not belong together.
            try {
                fromSentencePiece(model);
            } catch (const Error& modelError) {
                t->m_loadWarning =
                    modelError.message() + QStringLiteral("; %1 is used, so this does not change "
                                                          "the results")
                                               .arg(json);
                qWarning("%s", qPrintable(t->m_loadWarning));
            }
        }
        return t;
    } catch (const Error& jsonError) {
        if (!haveModel)
            throw;
        // tokenizer.model tokenises differently (e.g. it squeezes spaces), so say that it is used.
        try {
            auto t = fromSentencePiece(model);
            t->m_loadWarning = jsonError.message() + QStringLiteral("; using %1 instead, which may tokenise "
                                                                    "differently")
                                                         .arg(model);
            qWarning("%s", qPrintable(t->m_loadWarning));
            return t;
        } catch (const Error& modelError) {
            throw Error(jsonError.message() + u"; and " + modelError.message());
        }
    }
}

} // namespace qs
