#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

namespace qs::utf8 {

/// Byte offset of the first byte that does not start a well-formed UTF-8 sequence (overlong forms,
/// surrogates and code points above U+10FFFF count as ill-formed), or npos when all of s is valid.
std::size_t firstInvalid(std::string_view s);

/// Throws qs::Error naming `what` and the byte offset when s is not valid UTF-8.
void require(std::string_view s, const char* what = "input text");

/// Length in bytes of the sequence starting with lead byte b (1 for ASCII and for stray bytes).
inline int seqLength(unsigned char b)
{
    if (b < 0x80)
        return 1;
    if ((b & 0xE0) == 0xC0)
        return 2;
    if ((b & 0xF0) == 0xE0)
        return 3;
    if ((b & 0xF8) == 0xF0)
        return 4;
    return 1;
}

/// Decodes the code point at s[pos] (s must be valid UTF-8) and advances pos past it.
char32_t next(std::string_view s, std::size_t& pos);

/// Appends code point cp as UTF-8.
void append(std::string& out, char32_t cp);

/// Replaces ill-formed sequences by U+FFFD, as Rust's String::from_utf8_lossy does (one
/// replacement per maximal invalid subpart), which HF decoders rely on.
std::string lossy(std::string_view bytes);

/// GPT-2's byte ↔ printable-character map used by byte-level BPE: printable Latin-1 bytes map to
/// themselves, the other 68 bytes to U+0100 and up, in byte order.
struct ByteLevelMap
{
    std::array<std::string, 256> byteToUtf8; ///< each byte's character, UTF-8 encoded
    std::array<int, 324> charToByte;         ///< code point (< 324) → byte, -1 when not in the map
    static const ByteLevelMap& instance();

    /// The byte that character c stands for, -1 when c is not in the map.
    int byteOf(char32_t c) const { return c < charToByte.size() ? charToByte[c] : -1; }
    /// Each byte of `bytes` as its character: the text byte-level BPE sees.
    std::string encode(std::string_view bytes) const;

private:
    ByteLevelMap();
};

} // namespace qs::utf8
