#pragma once

#include <QJsonValue>
#include <QString>
#include <memory>
#include <string>
#include <vector>

/// Internal to core/tokenizer: tokenizer.json decoders.
namespace qs::hf {

class JsonReader;

/// One step of HF's decode_chain: tokens in, tokens out; the final tokens are concatenated.
class Decoder
{
public:
    virtual ~Decoder() = default;
    virtual void decode(std::vector<std::string>& tokens) const = 0;
};

/// The decoder the tokenizer.json object v describes: Sequence, ByteLevel, Replace, ByteFallback,
/// Fuse, Strip, Metaspace or BPEDecoder; any other type is an error.
std::unique_ptr<Decoder> readDecoder(const JsonReader& json, const QJsonValue& v, const QString& where);

} // namespace qs::hf
