#pragma once

#include "jobs/Job.h"

#include <QJsonObject>
#include <QString>
#include <cstdint>
#include <limits>
#include <vector>

namespace qs {

class Model;

/// One kind of tensor in a model's picture: where its parameters are and, for the embeddings and
/// the linear kinds, how its weights are spread (from sampled rows; NaN where none were read).
struct KindProfile
{
    QString kind; ///< "embedding", "q_proj", …, "down_proj", "lm_head", "norms & biases"
    int tensors = 0;
    std::int64_t params = 0;
    std::uint64_t bytes = 0;
    std::int64_t sampled = 0; ///< weights read for the statistics
    double stddev = std::numeric_limits<double>::quiet_NaN();
    double maxAbs = std::numeric_limits<double>::quiet_NaN();
    /// Excess kurtosis (0 for a Gaussian): heavy tails make low-bit grids waste their levels.
    double kurtosis = std::numeric_limits<double>::quiet_NaN();
    /// Share of sampled weights more than 6σ from the mean, in percent.
    double outlierPercent = std::numeric_limits<double>::quiet_NaN();
};

/// The picture of a model the start page shows and `quantscope-cli inspect --profile` prints:
/// parameters and bytes by kind (the embeddings, each linear kind, the untied head, the norms and
/// biases) and a weight-distribution summary per linear kind from `rowsPerLayer` rows of each
/// layer, spread evenly (layers stored quantized by QuantScope are not sampled), and of the
/// embeddings from 4 × rowsPerLayer rows.
struct ModelProfile
{
    std::vector<KindProfile> kinds;
    std::int64_t params = 0;
    std::uint64_t bytes = 0;
    double bitsPerWeight = 0;
    int rowsPerLayer = 0;
    std::int64_t embeddingRows = 0; ///< rows of the embeddings sampled (4 × rowsPerLayer, or all)

    QJsonObject toJson() const;
    QString toText() const;
};

/// Reads `rowsPerLayer` rows per linear layer (0: structure only); checks `job` for cancel between
/// layers and reports progress. Throws qs::Error (unreadable tensor) or qs::Cancelled.
ModelProfile profileModel(const Model& model, int rowsPerLayer = 8, const JobContext& job = {});

} // namespace qs
