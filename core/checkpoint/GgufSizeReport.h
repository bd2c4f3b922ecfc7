#pragma once

#include "checkpoint/GgufTypePolicy.h"

#include <QString>
#include <QStringList>
#include <cstdint>
#include <vector>

namespace qs {

struct LayerPlan;

/// What a GGUF export of a layer plan weighs, tensor by tensor, against the Plan page's estimate
/// (LayerPlan::modelBytes: a run's checkpoint, whose tensors other than the linear layers keep the
/// size the model stores them in). The two differ where the export types a tensor otherwise (the
/// token embeddings Q8_0, norms F32) and by the file's header (metadata, tokenizer, tensor index)
/// and alignment, which the estimate does not count.
struct GgufSizeReport
{
    struct Tensor
    {
        QString name; ///< GGUF name ("token_embd.weight")
        GgmlType type = GgmlType::F32;
        std::uint64_t bytes = 0;          ///< in the export
        std::uint64_t estimatedBytes = 0; ///< what the Plan page's estimate counts for it
        QString estimatedAs;              ///< how the estimate stores it ("F32 as stored", "gguf Q4_K")
    };
    std::uint64_t estimateBytes = 0; ///< LayerPlan::modelBytes
    std::uint64_t tensorBytes = 0;   ///< tensor data of the export
    std::uint64_t notExported = 0;   ///< bytes the estimate counts for tensors a GGUF file does not hold
    std::uint64_t fileBytes = 0;     ///< the written file (0 before it is written)
    std::uint64_t headerBytes = 0;   ///< metadata, tokenizer and tensor index (written file only)
    std::uint64_t paddingBytes = 0;  ///< alignment between tensors (written file only)
    std::vector<Tensor> tensors;     ///< in file order
    /// The tensors whose bytes differ from what the estimate counts for them.
    std::vector<Tensor> differing() const;
    /// For people: the file (or the planned tensors) against the estimate, and each difference.
    QStringList lines() const;
};

/// The report for exporting `layers` with `plan`; with `writtenFile`, its sizes, header and
/// types come from that file (GgufFile), else from the plan. Throws qs::Error naming the file
/// when it cannot be read.
GgufSizeReport ggufSizeReport(const Model& model, const LayerPlan& layers, const GgufExportPlan& plan,
                              const QString& writtenFile = QString());

} // namespace qs
