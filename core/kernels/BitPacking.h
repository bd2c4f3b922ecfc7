#pragma once

#include <cstdint>
#include <vector>

namespace qs {

/// Bit packing of integer codes: stateless, no threads. Our packed checkpoints store codes as one
/// little-endian bit stream (packCodes); GPTQ and AWQ checkpoints pack them into int32 words.

/// Packs codes of `bits` bits little-endian into a bit stream (the saved form); and back.
std::vector<std::uint8_t> packCodes(const std::vector<std::uint8_t>& codes, int bits);
/// packCodes into out[(count·bits + 7) / 8] (every byte written; bits above `bits` of a code ignored).
/// A piece that starts at a multiple of 8 codes starts on a whole byte of the stream.
void packCodesInto(const std::uint8_t* codes, std::size_t count, int bits, std::uint8_t* out);
std::vector<std::uint8_t> unpackCodes(const std::vector<std::uint8_t>& packed, int bits, std::size_t count);
/// unpackCodes from packed[(count·bits + 7) / 8] (the caller checks the size) into out[count]. A piece
/// that starts at a multiple of 8 codes starts on a whole byte of the stream.
void unpackCodesInto(const std::uint8_t* packed, std::size_t count, int bits, std::uint8_t* out);

/// AWQ's nibble order inside an int32 word: nibble i holds output 8j + kAwqOrder[i].
inline constexpr int kAwqOrder[8] = {0, 2, 4, 6, 1, 3, 5, 7};

/// values [n, m] row-major (each < 2^bits) packed along n: [n·bits/32, m] words, value (i, j) at
/// bit i·bits of column j's stream. n·bits must be a multiple of 32.
std::vector<std::int32_t> gptqPackRows(const std::vector<std::uint32_t>& values, std::int64_t n,
                                       std::int64_t m, int bits);
std::vector<std::uint32_t> gptqUnpackRows(const std::int32_t* words, std::int64_t n, std::int64_t m,
                                          int bits);
/// values [n, m] packed along m: [n, m·bits/32].
std::vector<std::int32_t> gptqPackCols(const std::vector<std::uint32_t>& values, std::int64_t n,
                                       std::int64_t m, int bits);
std::vector<std::uint32_t> gptqUnpackCols(const std::int32_t* words, std::int64_t n, std::int64_t m,
                                          int bits);
/// 4-bit values [n, m] packed along m in AWQ order: [n, m/8].
std::vector<std::int32_t> awqPack(const std::vector<std::uint32_t>& values, std::int64_t n, std::int64_t m);
std::vector<std::uint32_t> awqUnpack(const std::int32_t* words, std::int64_t n, std::int64_t m);

} // namespace qs
