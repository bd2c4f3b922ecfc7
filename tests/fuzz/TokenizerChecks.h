#pragma once

// What the tokenizer targets do with a tokenizer that loaded: encode a few short texts (ASCII,
// accents, CJK, emoji, digits, spaces, special-token look-alikes), check that every id is inside
// the vocabulary, then decode them and look up each id's piece.

#include "FuzzTarget.h"
#include "tokenizer/Tokenizer.h"

#include <string_view>

namespace qs::fuzz {

inline void exerciseTokenizer(const Tokenizer& tok)
{
    static constexpr std::string_view kTexts[] = {"Hello world! 123 ", "  caf\xc3\xa9 na\xc3\xafve\n\tx",
                                                  "\xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80 <s></s> <0x41>",
                                                  "", "a"};
    const int vocab = tok.vocabSize();
    for (std::string_view text : kTexts) {
        const std::vector<int> ids = tok.encode(text, true);
        for (int id : ids) {
            if (id < 0 || id >= vocab)
                broken(QStringLiteral("encode gave id %1 outside the vocabulary of %2").arg(id).arg(vocab));
            (void)tok.piece(id);
        }
        (void)tok.decode(ids);
    }
    (void)tok.description();
}

} // namespace qs::fuzz
