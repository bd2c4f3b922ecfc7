// Fuzz target for tokenizer.json (tokenizer/HfTokenizer): any bytes either load (and then encode,
// decode and look up pieces without a crash, every id inside the vocabulary) or fail with
// qs::Error. Seeds: the synthetic byte-level BPE tokenizer.json, plus stories260K's (SentencePiece
// style, byte fallback) and kjv7M's (byte-level BPE) when the shared data is present.
#include "FuzzTarget.h"
#include "TokenizerChecks.h"
#include "model/SyntheticModel.h"
#include "tokenizer/HfTokenizer.h"

namespace {

void one(const std::uint8_t* data, std::size_t size)
{
    const auto tok = qs::HfTokenizer::fromBytes(
        QByteArray::fromRawData(reinterpret_cast<const char*>(data), qsizetype(size)),
        QStringLiteral("tokenizer.json"));
    qs::fuzz::exerciseTokenizer(*tok);
}

std::vector<qs::fuzz::Seed> seeds()
{
    std::vector<qs::fuzz::Seed> out{{QStringLiteral("synthetic.json"), qs::syntheticTokenizerJson()}};
    for (const char* fixture : {"stories260K/tokenizer.json", "kjv7M/tokenizer.json"})
        if (const QByteArray b = qs::fuzz::dataFileIfPresent(QLatin1String(fixture)); !b.isEmpty())
            out.push_back({QString::fromLatin1(fixture).replace(u'/', u'-'), b});
    return out;
}

std::vector<QByteArray> dictionary()
{
    std::vector<QByteArray> d = qs::fuzz::jsonDictionary();
    for (const char* k : {"\"type\"",
                          "\"BPE\"",
                          "\"Sequence\"",
                          "\"Split\"",
                          "\"ByteLevel\"",
                          "\"Metaspace\"",
                          "\"Replace\"",
                          "\"Prepend\"",
                          "\"NFKC\"",
                          "\"Strip\"",
                          "\"ByteFallback\"",
                          "\"Fuse\"",
                          "\"TemplateProcessing\"",
                          "\"Regex\"",
                          "\"String\"",
                          "\"merges\"",
                          "\"vocab\"",
                          "\"added_tokens\"",
                          "\"pattern\"",
                          "\"content\"",
                          "\"byte_fallback\"",
                          "\"unk_token\"",
                          "\"prepend_scheme\"",
                          "\"behavior\"",
                          "\"Isolated\"",
                          "\"(\"",
                          "\"\\\\p{L}+\"",
                          "\"[\"",
                          "\"(?=\"",
                          "\"\\u2581\""})
        d.emplace_back(k);
    return d;
}

} // namespace

const qs::fuzz::Target& qs::fuzz::target()
{
    static const Target t{"tokenizer_json", one, seeds, dictionary};
    return t;
}
