#include "checkpoint/GgufSizeReport.h"

#include "checkpoint/GgufLayout.h"
#include "io/Gguf.h"
#include "model/Model.h"
#include "recipe/LayerPlan.h"
#include "util/Error.h"
#include "util/Paths.h"

#include <cmath>

namespace qs {

std::vector<GgufSizeReport::Tensor> GgufSizeReport::differing() const
{
    std::vector<Tensor> out;
    for (const Tensor& t : tensors) {
        if (t.bytes != t.estimatedBytes)
            out.push_back(t);
    }
    return out;
}

QStringList GgufSizeReport::lines() const
{
    QStringList out;
    if (fileBytes > 0)
        out << QStringLiteral("File: %1 = tensors %2 + header %3 (metadata, tokenizer, tensor index) + "
                              "alignment %4")
                   .arg(formatBytes(double(fileBytes)), formatBytes(double(tensorBytes)),
                        formatBytes(double(headerBytes)), formatBytes(double(paddingBytes)));
    else
        out << QStringLiteral("Tensors as exported: %1 (plus the header: metadata, tokenizer, tensor index)")
                   .arg(formatBytes(double(tensorBytes)));
    const double total = double(fileBytes > 0 ? fileBytes : tensorBytes);
    const double change =
        estimateBytes > 0 ? 100.0 * (total - double(estimateBytes)) / double(estimateBytes) : 0.0;
    out << QStringLiteral(
               "Plan estimate: %1, so the %2 is %3% %4. The estimate counts the tensors that are not "
               "linear layers as the model stores them, and no header:")
               .arg(formatBytes(double(estimateBytes)),
                    fileBytes > 0 ? QStringLiteral("file") : QStringLiteral("export"))
               .arg(std::abs(change), 0, 'f', 1)
               .arg(change < 0 ? QStringLiteral("smaller") : QStringLiteral("larger"));
    for (const Tensor& t : differing())
        out << QStringLiteral("%1: %2 %3 in the export; the estimate counts %4 (%5)")
                   .arg(t.name, ggmlTypeName(t.type), formatBytes(double(t.bytes)),
                        formatBytes(double(t.estimatedBytes)), t.estimatedAs);
    if (notExported > 0)
        out << QStringLiteral("Not in a GGUF file: %1 the estimate counts for tensors llama.cpp does not "
                              "read (a tied head, rotary tables)")
                   .arg(formatBytes(double(notExported)));
    return out;
}

GgufSizeReport ggufSizeReport(const Model& model, const LayerPlan& layers, const GgufExportPlan& plan,
                              const QString& writtenFile)
{
    GgufSizeReport r;
    r.estimateBytes = layers.modelBytes(model);
    std::shared_ptr<const GgufFile> file;
    if (!writtenFile.isEmpty())
        file = GgufFile::open(writtenFile);
    const TensorStore& store = model.tensors();
    std::uint64_t estimatedInFile = 0;
    for (const GgufExportTensor& t : ggufExportTensors(model)) {
        GgufSizeReport::Tensor x;
        x.name = t.name;
        if (file) {
            const GgufTensor* written = file->findTensor(t.name);
            if (!written)
                throw Error(QStringLiteral("%1: tensor %2 is missing").arg(writtenFile, t.name));
            x.type = written->type;
            x.bytes = written->bytes;
        } else {
            x.type = t.role == GgufExportTensor::Role::Weight ? plan.typeOf(t.name) : GgmlType::F32;
            QString problem;
            const std::optional<std::uint64_t> bytes = ggufTensorBytes(x.type, t.dims, &problem);
            if (!bytes)
                throw Error(QStringLiteral("%1: %2").arg(t.name, problem));
            x.bytes = *bytes;
        }
        if (t.linearIndex >= 0) {
            const LayerPlanEntry& e = layers.entries[std::size_t(t.linearIndex)];
            const LinearLayerInfo& l = model.linears()[std::size_t(t.linearIndex)];
            x.estimatedBytes = e.spec.cost(l.outFeatures, l.inFeatures).total();
            x.estimatedAs = schemeLabel(e.spec);
        } else if (!t.source.isEmpty() && store.contains(t.source)) {
            const TensorInfo& info = store.info(t.source);
            x.estimatedBytes = info.bytes();
            x.estimatedAs = (info.ggmlType ? ggmlTypeName(*info.ggmlType) : dtypeName(info.dtype)) +
                            QStringLiteral(" as stored");
        } else {
            x.estimatedAs = QStringLiteral("not in the model");
        }
        r.tensorBytes += x.bytes;
        estimatedInFile += x.estimatedBytes;
        r.tensors.push_back(x);
    }
    r.notExported = r.estimateBytes > estimatedInFile ? r.estimateBytes - estimatedInFile : 0;
    if (file) {
        r.fileBytes = file->fileSize();
        r.headerBytes = file->dataOffset();
        std::uint64_t data = 0;
        for (const GgufTensor& t : file->tensors())
            data += t.bytes;
        r.paddingBytes = r.fileBytes > r.headerBytes + data ? r.fileBytes - r.headerBytes - data : 0;
    }
    return r;
}

} // namespace qs
