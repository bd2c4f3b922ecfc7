#pragma once

// Shared by the model-folder targets (run folder / packed checkpoint, GPTQ/AWQ checkpoint): a tiny
// synthetic Llama quantized with RTN int4 g32, saved by the project's own writers; and the check
// that opens a folder as a user's load does.

#include <QByteArray>
#include <QString>
#include <functional>

namespace qs {
class Model;
struct QuantizeResult;
} // namespace qs

namespace qs::fuzz {

/// Calls `save(base, result, tmp)` with a 1-block synthetic model (hidden 64, f16) quantized with
/// RTN int4 g32 asymmetric (lm_head kept f16), and a temporary folder for the output.
void withQuantizedSyntheticModel(
    const std::function<void(const Model& base, const QuantizeResult& result, const QString& tmp)>& save);

/// Model::open on the folder, then every linear built as the transformer builds it
/// (model/LinearLoader: packed and GPTQ/AWQ layers read and repacked, float layers checked).
void openModelFolder(const QString& dir);

/// The bytes of `dir`/`name`.
QByteArray fileIn(const QString& dir, const QString& name);

} // namespace qs::fuzz
