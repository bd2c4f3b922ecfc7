#include "tokenizer/Utf8.h"

#include "util/Error.h"

namespace qs::utf8 {

namespace {

/// Length of the well-formed sequence at s[i] (Unicode Table 3-7), or 0 when ill-formed; then
/// `subpart` is the length of its maximal ill-formed prefix (at least 1 byte).
int wellFormedLength(std::string_view s, std::size_t i, int& subpart)
{
    const auto at = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char b0 = at(i);
    subpart = 1;
    if (b0 < 0x80)
        return 1;
    int n = 0;
    unsigned char lo = 0x80, hi = 0xBF; // allowed range of the second byte
    if (b0 >= 0xC2 && b0 <= 0xDF)
        n = 2;
    else if (b0 >= 0xE0 && b0 <= 0xEF) {
        n = 3;
        if (b0 == 0xE0)
            lo = 0xA0; // overlong
        else if (b0 == 0xED)
            hi = 0x9F; // surrogates
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        n = 4;
        if (b0 == 0xF0)
            lo = 0x90; // overlong
        else if (b0 == 0xF4)
            hi = 0x8F; // above U+10FFFF
    } else
        return 0;
    for (int k = 1; k < n; ++k) {
        if (i + std::size_t(k) >= s.size())
            return 0;
        const unsigned char b = at(i + std::size_t(k));
        const bool ok = k == 1 ? (b >= lo && b <= hi) : (b >= 0x80 && b <= 0xBF);
        if (!ok)
            return 0;
        subpart = k + 1;
    }
    return n;
}

} // namespace

std::size_t firstInvalid(std::string_view s)
{
    std::size_t i = 0;
    const std::size_t n = s.size();
    while (i < n) {
        // ASCII fast path, 8 bytes at a time
        while (i + 8 <= n) {
            bool ascii = true;
            for (std::size_t k = 0; k < 8; ++k)
                ascii = ascii && static_cast<unsigned char>(s[i + k]) < 0x80;
            if (!ascii)
                break;
            i += 8;
        }
        if (i >= n)
            break;
        int subpart = 0;
        const int len = wellFormedLength(s, i, subpart);
        if (len == 0)
            return i;
        i += std::size_t(len);
    }
    return std::string_view::npos;
}

void require(std::string_view s, const char* what)
{
    const std::size_t bad = firstInvalid(s);
    if (bad != std::string_view::npos)
        throw Error(QStringLiteral("%1 is not valid UTF-8: ill-formed byte 0x%2 at byte offset %3")
                        .arg(QString::fromUtf8(what))
                        .arg(int(static_cast<unsigned char>(s[bad])), 2, 16, QLatin1Char('0'))
                        .arg(qulonglong(bad)));
}

char32_t next(std::string_view s, std::size_t& pos)
{
    const auto b0 = static_cast<unsigned char>(s[pos]);
    const int n = seqLength(b0);
    if (n == 1 || pos + std::size_t(n) > s.size()) {
        ++pos;
        return b0;
    }
    char32_t cp = b0 & (0xFF >> (n + 1));
    for (int k = 1; k < n; ++k)
        cp = (cp << 6) | (static_cast<unsigned char>(s[pos + std::size_t(k)]) & 0x3F);
    pos += std::size_t(n);
    return cp;
}

void append(std::string& out, char32_t cp)
{
    if (cp < 0x80) {
        out.push_back(char(cp));
    } else if (cp < 0x800) {
        out.push_back(char(0xC0 | (cp >> 6)));
        out.push_back(char(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out.push_back(char(0xE0 | (cp >> 12)));
        out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(char(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(char(0xF0 | (cp >> 18)));
        out.push_back(char(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(char(0x80 | (cp & 0x3F)));
    }
}

std::string lossy(std::string_view bytes)
{
    if (firstInvalid(bytes) == std::string_view::npos)
        return std::string(bytes);
    std::string out;
    out.reserve(bytes.size() + 8);
    std::size_t i = 0;
    while (i < bytes.size()) {
        int subpart = 0;
        const int len = wellFormedLength(bytes, i, subpart);
        if (len > 0) {
            out.append(bytes.substr(i, std::size_t(len)));
            i += std::size_t(len);
        } else {
            out.append("\xEF\xBF\xBD"); // U+FFFD
            i += std::size_t(subpart);
        }
    }
    return out;
}

ByteLevelMap::ByteLevelMap()
{
    charToByte.fill(-1);
    int extra = 0;
    for (int b = 0; b < 256; ++b) {
        const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
        const char32_t cp = printable ? char32_t(b) : char32_t(256 + extra++);
        append(byteToUtf8[std::size_t(b)], cp);
        charToByte[cp] = b;
    }
}

std::string ByteLevelMap::encode(std::string_view bytes) const
{
    std::string out;
    out.reserve(bytes.size() + bytes.size() / 4);
    for (char c : bytes)
        out += byteToUtf8[static_cast<unsigned char>(c)];
    return out;
}

const ByteLevelMap& ByteLevelMap::instance()
{
    static const ByteLevelMap map;
    return map;
}

} // namespace qs::utf8
