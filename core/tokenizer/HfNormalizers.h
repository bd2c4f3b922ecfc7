#pragma once

#include <QJsonValue>
#include <QString>
#include <memory>
#include <string>

/// Internal to core/tokenizer: tokenizer.json normalizers.
namespace qs::hf {

class JsonReader;

/// Rewrites the text of a piece before pre-tokenisation (and the added tokens marked `normalized`).
class Normalizer
{
public:
    virtual ~Normalizer() = default;
    virtual void normalize(std::string& s) const = 0;
};

/// The normalizer the tokenizer.json object v describes: Sequence, Prepend, Replace,
/// NFC/NFD/NFKC/NFKD, Lowercase, Strip, StripAccents or ByteLevel; any other type is an error.
std::unique_ptr<Normalizer> readNormalizer(const JsonReader& json, const QJsonValue& v, const QString& where);

} // namespace qs::hf
