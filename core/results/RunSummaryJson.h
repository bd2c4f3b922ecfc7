#pragma once

#include "results/RunResults.h"

#include <QJsonObject>
#include <QString>

namespace qs {

/// Lossless JSON of a RunSummary (non-finite numbers as null): the session's runs and the float
/// baselines kept beside their KLD bases.
QJsonObject runSummaryToJson(const RunSummary& run);
/// Reads runSummaryToJson's object; throws Error naming `where` when it is not one.
RunSummary runSummaryFromJson(const QJsonObject& o, const QString& where);

/// The run's measurements as tables print them (compare, runs list/export): bpw, linear_bpw, MB,
/// ppl ± error, Δppl ± paired error, KLD, top-1 % ± error, measured speed and resident MB, threads,
/// quantize seconds; null where not measured.
QJsonObject runMetricsJson(const RunSummary& run);

} // namespace qs
