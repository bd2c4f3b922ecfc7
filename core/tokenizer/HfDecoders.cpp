#include "tokenizer/HfDecoders.h"

#include "tokenizer/HfJson.h"
#include "tokenizer/HfPreTokenizers.h"
#include "tokenizer/HfSplit.h"
#include "tokenizer/HfText.h"
#include "tokenizer/Utf8.h"

#include <QByteArray>
#include <QJsonArray>
#include <QJsonObject>

namespace qs::hf {

namespace {

class SequenceDecoder final : public Decoder
{
public:
    std::vector<std::unique_ptr<Decoder>> items;
    void decode(std::vector<std::string>& tokens) const override
    {
        for (const auto& d : items)
            d->decode(tokens);
    }
};

class ByteLevelDecoder final : public Decoder
{
public:
    void decode(std::vector<std::string>& tokens) const override
    {
        const auto& map = utf8::ByteLevelMap::instance();
        std::string bytes;
        for (const std::string& t : tokens) {
            // A token with a character outside the byte map (an added token) passes through as is.
            std::string mapped;
            bool ok = true;
            std::size_t pos = 0;
            while (pos < t.size() && ok) {
                const int b = map.byteOf(utf8::next(t, pos));
                ok = b >= 0;
                if (ok)
                    mapped.push_back(char(b));
            }
            bytes += ok ? mapped : t;
        }
        tokens.assign(1, utf8::lossy(bytes));
    }
};

class ReplaceDecoder final : public Decoder
{
public:
    Pattern pattern;
    std::string content;
    void decode(std::vector<std::string>& tokens) const override
    {
        for (std::string& t : tokens)
            t = replaceAll(t, pattern, content);
    }
};

class ByteFallbackDecoder final : public Decoder
{
public:
    void decode(std::vector<std::string>& tokens) const override
    {
        std::vector<std::string> out;
        std::string bytes;
        std::size_t nBytes = 0;
        auto flush = [&] {
            if (nBytes == 0)
                return;
            if (utf8::firstInvalid(bytes) == std::string_view::npos)
                out.push_back(bytes);
            else
                for (std::size_t i = 0; i < nBytes; ++i)
                    out.emplace_back("\xEF\xBF\xBD"); // one U+FFFD per byte, as HF
            bytes.clear();
            nBytes = 0;
        };
        for (std::string& t : tokens) {
            const int value = byteValue(t);
            if (value >= 0) {
                bytes.push_back(char(value));
                ++nBytes;
            } else {
                flush();
                out.push_back(std::move(t));
            }
        }
        flush();
        tokens = std::move(out);
    }

private:
    /// The byte a <0xNN> token stands for, -1 for any other token.
    static int byteValue(const std::string& t)
    {
        if (t.size() != 6 || !startsWith(t, "<0x") || t[5] != '>')
            return -1;
        bool ok = false;
        const int v = QByteArray(t.data() + 3, 2).toInt(&ok, 16);
        return ok ? v : -1;
    }
};

class FuseDecoder final : public Decoder
{
public:
    void decode(std::vector<std::string>& tokens) const override
    {
        std::string all;
        for (const std::string& t : tokens)
            all += t;
        tokens.assign(1, std::move(all));
    }
};

class StripDecoder final : public Decoder
{
public:
    char32_t content = U' ';
    int start = 0, stop = 0;
    void decode(std::vector<std::string>& tokens) const override
    {
        for (std::string& t : tokens) {
            std::vector<char32_t> cps;
            std::size_t pos = 0;
            while (pos < t.size())
                cps.push_back(utf8::next(t, pos));
            std::size_t b = 0, e = cps.size();
            while (b < e && int(b) < start && cps[b] == content)
                ++b;
            while (e > b && int(cps.size() - e) < stop && cps[e - 1] == content)
                --e;
            std::string s;
            for (std::size_t i = b; i < e; ++i)
                utf8::append(s, cps[i]);
            t = std::move(s);
        }
    }
};

class MetaspaceDecoder final : public Decoder
{
public:
    char32_t replacement = 0x2581;
    PrependScheme scheme = PrependScheme::Always;
    void decode(std::vector<std::string>& tokens) const override
    {
        for (std::size_t i = 0; i < tokens.size(); ++i) {
            std::string s;
            std::size_t pos = 0;
            const std::string& t = tokens[i];
            while (pos < t.size()) {
                const char32_t c = utf8::next(t, pos);
                if (c != replacement)
                    utf8::append(s, c);
                else if (i != 0 || scheme == PrependScheme::Never) // HF drops it in the first token
                    s.push_back(' ');
            }
            tokens[i] = std::move(s);
        }
    }
};

class BpeDecoder final : public Decoder
{
public:
    std::string suffix = "</w>";
    void decode(std::vector<std::string>& tokens) const override
    {
        Pattern p;
        p.literal = suffix;
        for (std::size_t i = 0; i < tokens.size(); ++i)
            tokens[i] = replaceAll(tokens[i], p, i + 1 == tokens.size() ? "" : " ");
    }
};

std::unique_ptr<Decoder> readStrip(const JsonReader& json, const QJsonObject& o, const QString& where)
{
    auto d = std::make_unique<StripDecoder>();
    d->content =
        json.singleChar(json.str(o, QStringLiteral("content"), where, " "), where, QStringLiteral("content"));
    d->start = o.value(u"start").toInt(0);
    d->stop = o.value(u"stop").toInt(0);
    return d;
}

std::unique_ptr<Decoder> readMetaspace(const JsonReader& json, const QJsonObject& o, const QString& where)
{
    auto d = std::make_unique<MetaspaceDecoder>();
    d->replacement = json.singleChar(json.str(o, QStringLiteral("replacement"), where, "\xE2\x96\x81"), where,
                                     QStringLiteral("replacement"));
    d->scheme = readPrependScheme(json, o, where);
    return d;
}

} // namespace

std::unique_ptr<Decoder> readDecoder(const JsonReader& json, const QJsonValue& v, const QString& where)
{
    const QString type = json.typeOf(v, where);
    const QJsonObject o = v.toObject();
    if (type == u"Sequence") {
        auto seq = std::make_unique<SequenceDecoder>();
        seq->items =
            json.list(o, QStringLiteral("decoders"), where,
                      [&](const QJsonValue& item, const QString& at) { return readDecoder(json, item, at); });
        return seq;
    }
    if (type == u"ByteLevel")
        return std::make_unique<ByteLevelDecoder>();
    if (type == u"Replace") {
        auto d = std::make_unique<ReplaceDecoder>();
        d->pattern = json.pattern(o.value(u"pattern"), where);
        d->content = json.str(o, QStringLiteral("content"), where);
        return d;
    }
    if (type == u"ByteFallback")
        return std::make_unique<ByteFallbackDecoder>();
    if (type == u"Fuse")
        return std::make_unique<FuseDecoder>();
    if (type == u"Strip")
        return readStrip(json, o, where);
    if (type == u"Metaspace")
        return readMetaspace(json, o, where);
    if (type == u"BPEDecoder") {
        auto d = std::make_unique<BpeDecoder>();
        d->suffix = json.str(o, QStringLiteral("suffix"), where, "</w>");
        return d;
    }
    json.unsupported(
        QStringLiteral("decoder"), type, where,
        QStringLiteral("Sequence, ByteLevel, Replace, ByteFallback, Fuse, Strip, Metaspace, BPEDecoder"));
}

} // namespace qs::hf
