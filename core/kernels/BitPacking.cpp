#include "kernels/BitPacking.h"

#include "util/Error.h"

#include <QString>
#include <algorithm>

namespace qs {

void packCodesInto(const std::uint8_t* codes, std::size_t count, int bits, std::uint8_t* out)
{
    if (bits < 1 || bits > 8)
        throw Error(QStringLiteral("cannot pack %1-bit values").arg(bits));
    const unsigned mask = (1u << bits) - 1u;
    if (bits == 8) {
        std::copy_n(codes, count, out);
        return;
    }
    // The stream eight codes (`bits` whole bytes) at a time through a 64-bit word, then the tail.
    std::size_t i = 0, o = 0;
    for (; i + 8 <= count; i += 8, o += std::size_t(bits)) {
        std::uint64_t v = 0;
        for (int k = 0; k < 8; ++k)
            v |= std::uint64_t(codes[i + std::size_t(k)] & mask) << (k * bits);
        for (int b = 0; b < bits; ++b)
            out[o + std::size_t(b)] = std::uint8_t(v >> (8 * b));
    }
    if (i == count)
        return;
    std::uint64_t v = 0;
    for (int k = 0; i + std::size_t(k) < count; ++k)
        v |= std::uint64_t(codes[i + std::size_t(k)] & mask) << (k * bits);
    const std::size_t tailBytes = ((count - i) * std::size_t(bits) + 7) / 8;
    for (std::size_t b = 0; b < tailBytes; ++b)
        out[o + b] = std::uint8_t(v >> (8 * b));
}

std::vector<std::uint8_t> packCodes(const std::vector<std::uint8_t>& codes, int bits)
{
    std::vector<std::uint8_t> out((codes.size() * std::size_t(bits) + 7) / 8);
    packCodesInto(codes.data(), codes.size(), bits, out.data());
    return out;
}

void unpackCodesInto(const std::uint8_t* packed, std::size_t count, int bits, std::uint8_t* out)
{
    if (bits < 1 || bits > 8)
        throw Error(QStringLiteral("cannot unpack %1-bit values").arg(bits));
    if (bits == 8) {
        std::copy_n(packed, count, out);
        return;
    }
    // Eight codes (`bits` whole bytes of the stream) at a time from a 64-bit word, then the tail.
    const std::uint64_t mask = (1u << bits) - 1u;
    std::size_t i = 0, o = 0;
    for (; i + 8 <= count; i += 8, o += std::size_t(bits)) {
        std::uint64_t v = 0;
        for (int b = 0; b < bits; ++b)
            v |= std::uint64_t(packed[o + std::size_t(b)]) << (8 * b);
        for (int k = 0; k < 8; ++k)
            out[i + std::size_t(k)] = std::uint8_t((v >> (k * bits)) & mask);
    }
    if (i == count)
        return;
    std::uint64_t v = 0;
    const std::size_t tailBytes = ((count - i) * std::size_t(bits) + 7) / 8;
    for (std::size_t b = 0; b < tailBytes; ++b)
        v |= std::uint64_t(packed[o + b]) << (8 * b);
    for (std::size_t k = 0; i + k < count; ++k)
        out[i + k] = std::uint8_t((v >> (k * std::size_t(bits))) & mask);
}

std::vector<std::uint8_t> unpackCodes(const std::vector<std::uint8_t>& packed, int bits, std::size_t count)
{
    if (bits < 1 || bits > 8)
        throw Error(QStringLiteral("cannot unpack %1-bit values").arg(bits));
    const std::size_t needed = (count * std::size_t(bits) + 7) / 8;
    if (packed.size() < needed)
        throw Error(QStringLiteral("a stream of %1 %2-bit codes needs %3 bytes, it has %4")
                        .arg(count)
                        .arg(bits)
                        .arg(needed)
                        .arg(packed.size()));
    std::vector<std::uint8_t> out(count);
    unpackCodesInto(packed.data(), count, bits, out.data());
    return out;
}

namespace {

void checkBits(int bits, std::int64_t n, const char* what)
{
    if (bits < 1 || bits > 8)
        throw Error(QStringLiteral("cannot pack %1-bit values").arg(bits));
    if ((n * bits) % 32 != 0)
        throw Error(
            QStringLiteral("cannot pack %1 %2-bit values along the %3 dimension into whole int32 words")
                .arg(n)
                .arg(bits)
                .arg(QLatin1String(what)));
}

/// Little-endian bit stream: value k of a stream at bit k·bits; `at(k)` gives the value.
template <class Get, class Put>
void packStream(std::int64_t n, int bits, Get at, Put word)
{
    const std::int64_t words = n * bits / 32;
    std::vector<std::uint32_t> w(static_cast<std::size_t>(words), 0u);
    for (std::int64_t k = 0; k < n; ++k) {
        const std::uint64_t v = at(k);
        const std::int64_t bit = k * bits;
        const std::int64_t wi = bit / 32;
        const int sh = int(bit % 32);
        w[std::size_t(wi)] |= std::uint32_t(v << sh);
        if (sh + bits > 32)
            w[std::size_t(wi + 1)] |= std::uint32_t(v >> (32 - sh));
    }
    for (std::int64_t i = 0; i < words; ++i)
        word(i, w[std::size_t(i)]);
}

template <class GetWord, class Put>
void unpackStream(std::int64_t n, int bits, GetWord word, Put put)
{
    const std::uint32_t mask = (1u << bits) - 1u;
    for (std::int64_t k = 0; k < n; ++k) {
        const std::int64_t bit = k * bits;
        const std::int64_t wi = bit / 32;
        const int sh = int(bit % 32);
        std::uint64_t v = std::uint64_t(word(wi)) >> sh;
        if (sh + bits > 32)
            v |= std::uint64_t(word(wi + 1)) << (32 - sh);
        put(k, std::uint32_t(v) & mask);
    }
}

} // namespace

std::vector<std::int32_t> gptqPackRows(const std::vector<std::uint32_t>& values, std::int64_t n,
                                       std::int64_t m, int bits)
{
    checkBits(bits, n, "packed");
    std::vector<std::int32_t> out(std::size_t(n * bits / 32 * m));
    for (std::int64_t j = 0; j < m; ++j)
        packStream(
            n, bits, [&](std::int64_t k) { return values[std::size_t(k * m + j)]; },
            [&](std::int64_t i, std::uint32_t w) { out[std::size_t(i * m + j)] = std::int32_t(w); });
    return out;
}

std::vector<std::uint32_t> gptqUnpackRows(const std::int32_t* words, std::int64_t n, std::int64_t m, int bits)
{
    checkBits(bits, n, "packed");
    std::vector<std::uint32_t> out(std::size_t(n * m));
    for (std::int64_t j = 0; j < m; ++j)
        unpackStream(
            n, bits, [&](std::int64_t i) { return std::uint32_t(words[i * m + j]); },
            [&](std::int64_t k, std::uint32_t v) { out[std::size_t(k * m + j)] = v; });
    return out;
}

std::vector<std::int32_t> gptqPackCols(const std::vector<std::uint32_t>& values, std::int64_t n,
                                       std::int64_t m, int bits)
{
    checkBits(bits, m, "packed");
    const std::int64_t wm = m * bits / 32;
    std::vector<std::int32_t> out(std::size_t(n * wm));
    for (std::int64_t r = 0; r < n; ++r)
        packStream(
            m, bits, [&](std::int64_t k) { return values[std::size_t(r * m + k)]; },
            [&](std::int64_t i, std::uint32_t w) { out[std::size_t(r * wm + i)] = std::int32_t(w); });
    return out;
}

std::vector<std::uint32_t> gptqUnpackCols(const std::int32_t* words, std::int64_t n, std::int64_t m, int bits)
{
    checkBits(bits, m, "packed");
    const std::int64_t wm = m * bits / 32;
    std::vector<std::uint32_t> out(std::size_t(n * m));
    for (std::int64_t r = 0; r < n; ++r)
        unpackStream(
            m, bits, [&](std::int64_t i) { return std::uint32_t(words[r * wm + i]); },
            [&](std::int64_t k, std::uint32_t v) { out[std::size_t(r * m + k)] = v; });
    return out;
}

std::vector<std::int32_t> awqPack(const std::vector<std::uint32_t>& values, std::int64_t n, std::int64_t m)
{
    if (m % 8 != 0)
        throw Error(
            QStringLiteral("cannot pack %1 4-bit values along the output dimension into whole int32 words")
                .arg(m));
    const std::int64_t wm = m / 8;
    std::vector<std::int32_t> out(std::size_t(n * wm));
    for (std::int64_t r = 0; r < n; ++r) {
        for (std::int64_t j = 0; j < wm; ++j) {
            std::uint32_t w = 0;
            for (int i = 0; i < 8; ++i)
                w |= (values[std::size_t(r * m + j * 8 + kAwqOrder[i])] & 0xFu) << (4 * i);
            out[std::size_t(r * wm + j)] = std::int32_t(w);
        }
    }
    return out;
}

std::vector<std::uint32_t> awqUnpack(const std::int32_t* words, std::int64_t n, std::int64_t m)
{
    if (m % 8 != 0)
        throw Error(QStringLiteral("cannot unpack %1 4-bit values along the output dimension").arg(m));
    const std::int64_t wm = m / 8;
    std::vector<std::uint32_t> out(std::size_t(n * m));
    for (std::int64_t r = 0; r < n; ++r) {
        for (std::int64_t j = 0; j < wm; ++j) {
            const std::uint32_t w = std::uint32_t(words[r * wm + j]);
            for (int i = 0; i < 8; ++i)
                out[std::size_t(r * m + j * 8 + kAwqOrder[i])] = (w >> (4 * i)) & 0xFu;
        }
    }
    return out;
}

} // namespace qs
