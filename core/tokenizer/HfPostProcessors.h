#pragma once

#include <QJsonValue>
#include <QString>
#include <vector>

/// Internal to core/tokenizer: tokenizer.json post-processors.
namespace qs::hf {

class JsonReader;

/// The ids of the special tokens the post-processor v puts before the text ("$A"), which
/// encode(addBos) prepends: TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel
/// (none) or a Sequence of these; any other type is an error.
std::vector<int> readPostProcessorPrefix(const JsonReader& json, const QJsonValue& v, const QString& where);

} // namespace qs::hf
