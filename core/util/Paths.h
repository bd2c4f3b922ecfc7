#pragma once

#include <QString>

namespace qs {

/// The shared data folder (models and texts used as demo and fixtures):
/// $QUANTSCOPE_DATA when set, else `../shared/data` next to the given repository root
/// (or next to the working directory). Returns an empty string when none exists.
QString findDataDirectory(const QString& repoRoot = {});

/// Human-readable byte size ("1.04 MB"), decimal units as the CLI and GUI print them.
QString formatBytes(double bytes);
/// "42.0 s", "12.5 min", "7.2 h": a duration as the cost estimates print it.
QString roughDuration(double seconds);

} // namespace qs
