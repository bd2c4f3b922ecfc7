#include "model/LinearLoader.h"

#include "io/QuantizedLayerReader.h"
#include "io/TensorStore.h"
#include "kernels/GgmlMatMul.h"
#include "model/PackedLinear.h"
#include "model/QuantizedLinear.h"
#include "util/StreamBuffer.h"

namespace qs {

std::shared_ptr<const LinearLayer> loadStoredMatrix(std::shared_ptr<const Model> model, const QString& tensor,
                                                    std::vector<float> bias)
{
    const TensorStore& ts = model->tensors();
    const TensorInfo& t = ts.info(tensor);
    if (!t.blockQuantized()) // one pass over a float tensor for NaN/Inf, read from the file (not mapped)
        ts.checkFinite(tensor);
    const std::int64_t in = t.cols(), out = t.rows();
    const QString label = t.typeName();
    // Rows in HF order are read in place from the map; a GGUF q/k tensor, stored with its rows
    // permuted, is reordered once into an owned buffer of the same type.
    std::shared_ptr<const void> keepAlive = model;
    const unsigned char* data = nullptr;
    // An owned copy goes to a stream buffer (util/StreamBuffer.h: huge pages where it is large),
    // which decode reads once per token.
    const auto ownedRows = [&] {
        std::shared_ptr<std::uint8_t> rows = allocateStreamBuffer(std::size_t(t.bytes()));
        ts.readRawRows(tensor, rows.get());
        return rows;
    };
    if (t.blockQuantized() && ggmlPrefersInterleaved(*t.ggmlType)) {
        // Rows the kernels read faster interleaved: rewritten once into an owned buffer of the same
        // size (read from the file, not through the map), so the layer stays at its packed size.
        std::shared_ptr<std::uint8_t> rows = ownedRows();
        ggmlInterleaveRows(*t.ggmlType, rows.get(), out, in, rows.get());
        data = rows.get();
        return std::make_shared<GgmlLinear>(in, out, *t.ggmlType, data, std::move(rows), std::move(bias),
                                            t.bytes(), label, false, true);
    }
    // A block tensor smaller than a 2 MiB page is copied too: mapped in place, the page cache's 2 MiB
    // folio around it would become resident whole (four 0.7 MB Q5_K v_proj of an IQ4_XS file held
    // 8 MiB of the map). Float rows stay mapped whatever their size: they are what the float kernels
    // stream from the map.
    const bool mapped =
        ts.rowsInPlace(tensor) && !(t.blockQuantized() && std::size_t(t.bytes()) < kStreamBufferHugePage);
    if (mapped) {
        data = ts.rawData(tensor);
    } else {
        std::shared_ptr<std::uint8_t> rows = ownedRows();
        data = rows.get();
        keepAlive = std::move(rows);
    }
    if (t.blockQuantized())
        return std::make_shared<GgmlLinear>(in, out, *t.ggmlType, data, std::move(keepAlive), std::move(bias),
                                            t.bytes(), label, mapped);
    return std::make_shared<DenseLinear>(in, out, t.dtype, data, std::move(keepAlive), std::move(bias),
                                         t.bytes(), label, mapped);
}

std::shared_ptr<const LinearLayer> loadLinearLayer(std::shared_ptr<const Model> model,
                                                   const LinearLayerInfo& l)
{
    const TensorStore& ts = model->tensors();
    std::vector<float> b = l.bias.isEmpty() ? std::vector<float>() : ts.readF32(l.bias, FiniteCheck::Throw);
    if (l.quant && !ts.isGguf()) { // our checkpoints, GPTQ, AWQ: integer codes repacked once
        auto q = std::make_shared<QuantizedTensor>(
            readQuantizedTensor(ts, l.name, *l.quant, l.outFeatures, l.inFeatures));
        q->releaseCodesToPacked();            // the one-per-byte codes go; the layer runs the packed ones
        const QString prefix = l.name + u'.'; // the stored tensors were read once: drop their pages
        for (const QString& name : ts.names())
            if (name.startsWith(prefix))
                ts.releasePages(name);
        return std::make_shared<QuantizedLinear>(std::move(q), std::move(b));
    }
    // Float weights and GGUF tensors: the stored tensor runs as it is, in place.
    return loadStoredMatrix(std::move(model), l.weight, std::move(b));
}

std::shared_ptr<const LinearLayer> withLlamaCppNumerics(std::shared_ptr<const LinearLayer> layer,
                                                        GgmlType weightType)
{
    if (weightType != GgmlType::F16 && weightType != GgmlType::BF16)
        return layer;
    return std::make_shared<GgmlVecDotLinear>(std::move(layer), weightType);
}

} // namespace qs
