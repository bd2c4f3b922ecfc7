#pragma once

#include <QJsonObject>
#include <QString>

namespace qs {

/// The JSON object in the file at `path`; throws qs::Error naming the file when it cannot be opened
/// or is not a JSON object (with the parser's message and offset: a truncated file says so).
QJsonObject readJsonObjectFile(const QString& path);

} // namespace qs
