#pragma once

#include "jobs/Job.h"

#include <QJsonObject>
#include <QString>
#include <cstdint>
#include <vector>

namespace qs {

class Model;

/// What one pass over a tensor's values found.
struct TensorValueStats
{
    QString name, file;
    std::int64_t values = 0;
    std::int64_t nan = 0, inf = 0, subnormal = 0;
    std::int64_t zeroRows = 0;                       ///< rows whose values are all ±0
    std::int64_t firstBadRow = -1, firstBadCol = -1; ///< the first NaN or Inf (matrix view)
    double maxAbs = 0;                               ///< over the finite values
    bool read = true; ///< false: not float values (integer codes, indices), not looked at
};

/// `inspect --check`: every float or ggml-block tensor of a model read through once (in row chunks,
/// converted or dequantized to f32; nothing kept), counting NaN, Inf, subnormal values and all-zero rows.
struct ModelValueCheck
{
    std::vector<TensorValueStats> tensors;
    std::int64_t values = 0, nan = 0, inf = 0, subnormal = 0, zeroRows = 0;
    bool hasNonFinite() const { return nan > 0 || inf > 0; }
    /// The tensors with any finding, then a totals line.
    QString toText() const;
    QJsonObject toJson() const;
};

/// Reads the values of every tensor of `model` (progress: bytes read of the total, cancellable).
ModelValueCheck checkModelValues(const Model& model, const JobContext& job = {});

} // namespace qs
