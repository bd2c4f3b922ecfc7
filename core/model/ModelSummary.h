#pragma once

#include <QJsonObject>
#include <QString>

namespace qs {

class Model;

/// The architecture summary, per-tensor table and totals that `inspect` prints and the GUI's
/// overview shows; one implementation for both front ends.
QJsonObject modelSummaryJson(const Model& model);
QString modelSummaryText(const Model& model);
/// One line: "llama · 5 blocks · hidden 64 · heads 8/4 · ffn 172 · vocab 512".
QString architectureLine(const Model& model);
/// Role of a tensor in the model ("embedding", "norm", "q_proj", …, "unused").
QString tensorRole(const Model& model, const QString& tensorName);

} // namespace qs
