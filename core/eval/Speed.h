#pragma once

#include "jobs/Job.h"

#include <QJsonObject>
#include <QStringList>
#include <cstdint>
#include <limits>

namespace qs {

class Transformer;

/// Speed and memory of a model as it really runs (its layers in their stored or packed form),
/// measured on this machine at the current compute thread count: prefill (one forward of
/// `prefillTokens` tokens, as llama-bench's pp) and decode (one-token forwards with the KV cache,
/// as its tg), after a short warm-up.
struct SpeedMeasurement
{
    int threads = 0;
    int prefillTokens = 0;
    int decodeTokens = 0;
    double prefillSeconds = 0;
    double decodeSeconds = 0;
    double prefillTokensPerSecond = std::numeric_limits<double>::quiet_NaN();
    double decodeTokensPerSecond = std::numeric_limits<double>::quiet_NaN();
    std::uint64_t weightBytes =
        0; ///< bytes the weights occupy as the layers hold them (Transformer::residentBytes)
    std::uint64_t kvCacheBytes = 0; ///< the KV cache of the measurement
    double rssBytes = 0;            ///< the process's resident set after the measurement
    QStringList kernels;            ///< the distinct kernels the linears ran on
    bool valid() const { return prefillTokens > 0 && decodeTokens > 0; }
    QJsonObject toJson() const;
    static SpeedMeasurement fromJson(const QJsonObject& o);
    QString toText() const;
};

/// Measures `model` (deterministic token ids, no tokenizer needed). Throws qs::Cancelled.
SpeedMeasurement measureSpeed(const Transformer& model, int prefillTokens = 128, int decodeTokens = 32,
                              const JobContext& job = {});

} // namespace qs
