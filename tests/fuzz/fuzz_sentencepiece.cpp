// Fuzz target for SentencePiece tokenizer.model (tokenizer/SentencePieceTokenizer over Debian's
// libsentencepiece): any bytes either load (and then encode, decode and look up pieces without a
// crash, every id inside the vocabulary) or fail with qs::Error. Seed: stories260K's
// tokenizer.model (the project writes no SentencePiece models), so this target skips without
// the shared data.
#include "FuzzTarget.h"
#include "TokenizerChecks.h"
#include "tokenizer/SentencePieceTokenizer.h"

namespace {

void one(const std::uint8_t* data, std::size_t size)
{
    const auto tok = qs::SentencePieceTokenizer::fromSerializedProto(
        std::string_view(reinterpret_cast<const char*>(data), size), QStringLiteral("tokenizer.model"));
    qs::fuzz::exerciseTokenizer(*tok);
}

std::vector<qs::fuzz::Seed> seeds()
{
    return {{QStringLiteral("stories260K.model"),
             qs::fuzz::dataFile(QStringLiteral("stories260K/tokenizer.model"))}};
}

} // namespace

const qs::fuzz::Target& qs::fuzz::target()
{
    static const Target t{"sentencepiece", one, seeds, nullptr};
    return t;
}
