#include "tokenizer/HfNormalizers.h"

#include "tokenizer/HfJson.h"
#include "tokenizer/HfSplit.h"
#include "tokenizer/HfText.h"
#include "tokenizer/Utf8.h"

#include <QJsonArray>
#include <QJsonObject>
#include <algorithm>
#include <vector>

namespace qs::hf {

namespace {

class SequenceNormalizer final : public Normalizer
{
public:
    std::vector<std::unique_ptr<Normalizer>> items;
    void normalize(std::string& s) const override
    {
        for (const auto& n : items)
            n->normalize(s);
    }
};

class PrependNormalizer final : public Normalizer
{
public:
    std::string prefix;
    void normalize(std::string& s) const override
    {
        if (!s.empty()) // HF leaves an empty string alone
            s.insert(0, prefix);
    }
};

class ReplaceNormalizer final : public Normalizer
{
public:
    Pattern pattern;
    std::string content;
    void normalize(std::string& s) const override { s = replaceAll(s, pattern, content); }
};

class UnicodeNormalizer final : public Normalizer
{
public:
    QString::NormalizationForm form = QString::NormalizationForm_C;
    void normalize(std::string& s) const override
    {
        if (!isAscii(s)) // ASCII is invariant under every normalisation form
            s = fromStd(s).normalized(form).toStdString();
    }
};

class LowercaseNormalizer final : public Normalizer
{
public:
    void normalize(std::string& s) const override
    {
        if (isAscii(s))
            std::transform(s.begin(), s.end(), s.begin(),
                           [](char c) { return c >= 'A' && c <= 'Z' ? char(c + 32) : c; });
        else
            s = fromStd(s).toLower().toStdString();
    }
};

class StripNormalizer final : public Normalizer
{
public:
    bool left = true, right = true;
    void normalize(std::string& s) const override
    {
        std::size_t begin = 0, end = s.size();
        if (left) {
            std::size_t pos = 0;
            while (pos < s.size()) {
                const std::size_t at = pos;
                if (!isWhitespace(utf8::next(s, pos))) {
                    begin = at;
                    break;
                }
                begin = pos;
            }
        }
        if (right) {
            std::size_t pos = begin, lastEnd = begin;
            while (pos < s.size())
                if (!isWhitespace(utf8::next(s, pos)))
                    lastEnd = pos;
            end = lastEnd;
        }
        s = s.substr(begin, end - begin);
    }
};

class StripAccentsNormalizer final : public Normalizer
{
public:
    void normalize(std::string& s) const override
    {
        if (isAscii(s))
            return;
        std::string out;
        std::size_t pos = 0;
        while (pos < s.size()) {
            const char32_t c = utf8::next(s, pos);
            if (!QChar::isMark(c))
                utf8::append(out, c);
        }
        s = std::move(out);
    }
};

class ByteLevelNormalizer final : public Normalizer
{
public:
    void normalize(std::string& s) const override { s = utf8::ByteLevelMap::instance().encode(s); }
};

QString::NormalizationForm unicodeForm(const QString& type)
{
    return type == u"NFC"    ? QString::NormalizationForm_C
           : type == u"NFD"  ? QString::NormalizationForm_D
           : type == u"NFKC" ? QString::NormalizationForm_KC
                             : QString::NormalizationForm_KD;
}

} // namespace

std::unique_ptr<Normalizer> readNormalizer(const JsonReader& json, const QJsonValue& v, const QString& where)
{
    const QString type = json.typeOf(v, where);
    const QJsonObject o = v.toObject();
    if (type == u"Sequence") {
        auto seq = std::make_unique<SequenceNormalizer>();
        seq->items = json.list(
            o, QStringLiteral("normalizers"), where,
            [&](const QJsonValue& item, const QString& at) { return readNormalizer(json, item, at); });
        return seq;
    }
    if (type == u"Prepend") {
        auto n = std::make_unique<PrependNormalizer>();
        n->prefix = json.str(o, QStringLiteral("prepend"), where);
        return n;
    }
    if (type == u"Replace") {
        auto n = std::make_unique<ReplaceNormalizer>();
        n->pattern = json.pattern(o.value(u"pattern"), where);
        n->content = json.str(o, QStringLiteral("content"), where);
        return n;
    }
    if (type == u"NFC" || type == u"NFD" || type == u"NFKC" || type == u"NFKD") {
        auto n = std::make_unique<UnicodeNormalizer>();
        n->form = unicodeForm(type);
        return n;
    }
    if (type == u"Lowercase")
        return std::make_unique<LowercaseNormalizer>();
    if (type == u"Strip") {
        auto n = std::make_unique<StripNormalizer>();
        n->left = json.boolean(o, QStringLiteral("strip_left"), true);
        n->right = json.boolean(o, QStringLiteral("strip_right"), true);
        return n;
    }
    if (type == u"StripAccents")
        return std::make_unique<StripAccentsNormalizer>();
    if (type == u"ByteLevel")
        return std::make_unique<ByteLevelNormalizer>();
    json.unsupported(QStringLiteral("normalizer"), type, where,
                     QStringLiteral("Sequence, Prepend, Replace, NFC, NFD, NFKC, NFKD, Lowercase, Strip, "
                                    "StripAccents, ByteLevel"));
}

} // namespace qs::hf
