#include "checkpoint/GgufExport.h"

#include "checkpoint/QuantizedModelIO.h"
#include "io/Gguf.h"
#include "io/GgufModel.h"
#include "io/GgufNames.h"
#include "kernels/GgmlQuants.h"
#include "model/Model.h"
#include "util/Error.h"
#include "util/SystemInfo.h"
#include "util/Threads.h"

#include <QDir>
#include <QFileInfo>
#include <algorithm>
#include <memory>

namespace qs {

namespace {

QString rowsNotMultiple(const GgufExportTensor& t, GgmlType type)
{
    return QStringLiteral("tensor %1: rows of %2 values are not a multiple of the %3 block (%4)")
        .arg(t.name)
        .arg(t.rowLength())
        .arg(ggmlTypeName(type))
        .arg(ggmlTypeInfo(type).blockSize);
}

/// The importance vector exportGguf quantizes `t` with: the entry for its name when `type` uses
/// one and the length matches the rows, else none.
std::vector<float> importanceFor(const GgufImportance* importance, const GgufExportTensor& t, GgmlType type)
{
    if (!importance || !ggmlUsesImportance(type))
        return {};
    const auto it = importance->constFind(t.name);
    if (it == importance->constEnd() || std::int64_t(it->size()) != t.rowLength())
        return {};
    return *it;
}

/// The type of every tensor (norms, biases and rope_freqs F32), checked before anything is
/// written: producible, rows a multiple of the block, importance vectors of the right length.
std::vector<GgmlType> validatedTypes(const std::vector<GgufExportTensor>& tensors, const GgufExportPlan& plan,
                                     const GgufImportance* importance, const QString& outPath)
{
    std::vector<GgmlType> types;
    for (const GgufExportTensor& t : tensors) {
        const GgmlType type = t.role == GgufExportTensor::Role::Weight ? plan.typeOf(t.name) : GgmlType::F32;
        if (!ggmlTypeInfo(type).canQuantize)
            throw Error::inFile(
                outPath,
                QStringLiteral("tensor %1: type %2 cannot be produced").arg(t.name, ggmlTypeName(type)));
        if (t.rowLength() % ggmlTypeInfo(type).blockSize != 0)
            throw Error::inFile(outPath, rowsNotMultiple(t, type));
        if (importance && ggmlUsesImportance(type)) {
            // token_embd is looked up by row, not multiplied: llama.cpp keeps no vector for it.
            const auto it = importance->constFind(t.name);
            if (it != importance->constEnd() && std::int64_t(it->size()) != t.rowLength() &&
                t.name != ggufTensorName(ModelTensor::TokenEmbd))
                throw Error::inFile(outPath,
                                    QStringLiteral("tensor %1: importance vector has %2 values, rows have %3")
                                        .arg(t.name)
                                        .arg(it->size())
                                        .arg(t.rowLength()));
        }
        types.push_back(type);
    }
    return types;
}

/// general.*, the `llama.*` hyperparameters, the tokenizer and the plan's extra keys, in the order
/// convert_hf_to_gguf.py and llama-quantize write them.
void writeMetadata(GgufWriter& w, const Model& model, const GgufExportPlan& plan)
{
    namespace k = gguf_key;
    const ModelConfig& c = model.config();
    const QString arch = QStringLiteral("llama");
    auto u32 = [](int v) { return GgufValue(std::uint32_t(v)); };
    w.set(ggufKey(k::kArchitecture), GgufValue(arch));
    w.set(ggufKey(k::kName), GgufValue(model.displayName()));
    w.set(ggufArchKey(arch, k::kBlockCount), u32(c.numLayers));
    w.set(ggufArchKey(arch, k::kContextLength), u32(c.maxPositionEmbeddings));
    w.set(ggufArchKey(arch, k::kEmbeddingLength), u32(c.hiddenSize));
    w.set(ggufArchKey(arch, k::kFeedForwardLength), u32(c.intermediateSize));
    w.set(ggufArchKey(arch, k::kHeadCount), u32(c.numHeads));
    w.set(ggufArchKey(arch, k::kHeadCountKv), u32(c.numKvHeads));
    w.set(ggufArchKey(arch, k::kRopeFreqBase), GgufValue(float(c.ropeTheta)));
    w.set(ggufArchKey(arch, k::kRmsNormEps), GgufValue(float(c.rmsNormEps)));
    if (c.headDim > 0 && c.headDim * c.numHeads != c.hiddenSize) {
        w.set(ggufArchKey(arch, k::kKeyLength), u32(c.headDim));
        w.set(ggufArchKey(arch, k::kValueLength), u32(c.headDim));
    }
    w.set(ggufKey(k::kFileType), GgufValue(plan.fileType));
    w.set(ggufArchKey(arch, k::kVocabSize), u32(c.vocabSize));
    w.set(ggufArchKey(arch, k::kRopeDimensionCount), u32(ggufRopeDims(c)));
    if (c.slidingWindow > 0 && c.modelType == u"mistral")
        w.set(ggufArchKey(arch, k::kSlidingWindow), u32(c.slidingWindow));
    w.set(ggufKey(k::kQuantizationVersion), GgufValue(std::uint32_t(2)));
    ggufWriteTokenizer(w, model);
    for (const GgufKeyValue& kv : plan.extraMetadata)
        w.set(kv.key, kv.value);
}

/// Produces the bytes of one tensor while the file is written; shared state is the progress count.
class TensorProducer
{
public:
    TensorProducer(const Model& model, const JobContext& ctx, std::int64_t totalValues)
        : m_model(model), m_store(model.tensors()), m_ctx(ctx),
          m_total(std::max<std::int64_t>(1, totalValues))
    {}

    void produce(const GgufExportTensor& t, GgmlType type, const std::vector<float>& importance,
                 const GgufWriter::Sink& sink)
    {
        m_ctx.checkCancelled();
        if (t.role == GgufExportTensor::Role::RopeFreqs)
            return writeRopeFreqs(sink);
        if (t.role != GgufExportTensor::Role::Weight)
            return writeF32(t, sink);
        // A layer stored in this very type (a GGUF model, or a gguf run of ours): its blocks as
        // they are, rows permuted like the floats would be. Another type: dequantize, requantize.
        const LinearLayerInfo* stored = ggmlLayer(t);
        if (stored) {
            const QuantizedTensor qt =
                readQuantizedTensor(m_store, stored->name, *stored->quant, rows(t), t.rowLength());
            if (qt.spec.ggmlType == type)
                return copyStoredRows(t, type, qt.ggmlData, sink);
            return quantize(t, type, importance, qt.dequantize(), sink);
        }
        if (m_store.isGguf() && m_store.info(t.source).ggmlType == type) {
            const std::vector<std::uint8_t> raw = m_store.readRawRows(t.source); // not a q/k tensor
            sink(raw.data(), raw.size());
            m_done += rows(t) * t.rowLength();
            return;
        }
        quantize(t, type, importance, {}, sink);
    }

private:
    static std::int64_t rows(const GgufExportTensor& t) { return t.dims.size() > 1 ? t.dims[1] : 1; }

    /// The linear behind `t` when it is stored in a ggml type (float layers read through the store).
    const LinearLayerInfo* ggmlLayer(const GgufExportTensor& t) const
    {
        if (t.linearIndex < 0)
            return nullptr;
        const LinearLayerInfo& l = m_model.linears()[std::size_t(t.linearIndex)];
        return l.quant && l.quant->method == QuantMethod::Ggml ? &l : nullptr;
    }

    void report(const QString& what) const
    {
        m_ctx.report(double(m_done) / double(m_total), QStringLiteral("exporting GGUF"), what);
    }

    void writeRopeFreqs(const GgufWriter::Sink& sink) const
    {
        const ModelConfig& c = m_model.config();
        const std::vector<float> f =
            c.ropeFreqFactors.empty() ? ggufLlama3RopeFactors(c, ggufRopeDims(c)) : c.ropeFreqFactors;
        sink(f.data(), f.size() * sizeof(float));
    }

    void writeF32(const GgufExportTensor& t, const GgufWriter::Sink& sink) const
    {
        std::vector<float> v = m_store.readF32(t.source);
        if (t.permuteHeads > 0) {
            std::vector<float> p(v.size());
            ggufPermuteRows(v.data(), p.data(), std::int64_t(v.size()), 1, t.permuteHeads);
            v.swap(p);
        }
        sink(v.data(), v.size() * sizeof(float));
    }

    void copyStoredRows(const GgufExportTensor& t, GgmlType type, const std::vector<std::uint8_t>& data,
                        const GgufWriter::Sink& sink)
    {
        const std::int64_t n = rows(t);
        const std::size_t rb = ggmlRowBytes(type, t.rowLength());
        std::vector<std::uint8_t> out(data.size());
        for (std::int64_t r = 0; r < n; ++r) {
            const std::int64_t g = t.permuteHeads > 0 ? ggufRowOfHfRow(r, n, t.permuteHeads) : r;
            std::copy_n(data.begin() + std::ptrdiff_t(std::size_t(r) * rb), rb,
                        out.begin() + std::ptrdiff_t(std::size_t(g) * rb));
        }
        sink(out.data(), out.size());
        m_done += n * t.rowLength();
        report(t.name + u" (stored " + ggmlTypeName(type) + u')');
    }

    /// Weights from floats (`dequantized`, or the store when empty): whole heads (permuted) or ~1M
    /// values at a time, so memory stays small.
    void quantize(const GgufExportTensor& t, GgmlType type, const std::vector<float>& importance,
                  const std::vector<float>& dequantized, const GgufWriter::Sink& sink)
    {
        const std::int64_t rowCount = rows(t), cols = t.rowLength();
        const std::int64_t unit = t.permuteHeads > 0 ? rowCount / t.permuteHeads : 1;
        const std::int64_t chunk =
            std::max<std::int64_t>(1, (std::int64_t(1) << 20) / std::max<std::int64_t>(1, cols * unit)) *
            unit;
        const std::size_t rowBytes = ggmlRowBytes(type, cols);
        const float* imp = importance.empty() ? nullptr : importance.data();
        std::vector<float> buf, perm;
        std::vector<unsigned char> q;
        for (std::int64_t r0 = 0; r0 < rowCount; r0 += chunk) {
            m_ctx.checkCancelled();
            const std::int64_t n = std::min(chunk, rowCount - r0);
            buf.resize(std::size_t(n * cols));
            if (!dequantized.empty())
                std::copy_n(dequantized.begin() + std::ptrdiff_t(r0 * cols), n * cols, buf.begin());
            else
                m_store.readRowsF32(t.source, r0, n, buf.data(), FiniteCheck::Throw);
            const float* src = buf.data();
            if (t.permuteHeads > 0) {
                perm.resize(buf.size());
                ggufPermuteRows(buf.data(), perm.data(), n, cols, int(n / unit));
                src = perm.data();
            }
            q.resize(rowBytes * std::size_t(n));
            forEachRowRange(n, cols, [&](std::int64_t first, std::int64_t count) {
                ggmlQuantizeChunk(type, src, q.data(), first, count, cols, imp);
            });
            sink(q.data(), q.size());
        }
        m_done += rowCount * cols;
        report(t.name + u" → " + ggmlTypeName(type));
    }

    const Model& m_model;
    const TensorStore& m_store;
    const JobContext& m_ctx;
    const std::int64_t m_total;
    std::int64_t m_done = 0;
};

std::int64_t totalValues(const std::vector<GgufExportTensor>& tensors)
{
    std::int64_t total = 0;
    for (const GgufExportTensor& t : tensors) {
        std::int64_t n = 1;
        for (std::int64_t d : t.dims)
            n *= d;
        total += n;
    }
    return total;
}

/// The most memory one tensor of the export holds at once: a layer stored quantized in another
/// type is dequantized whole (f32) next to its stored form, one stored in the target type is copied
/// row-permuted (twice its bytes); float sources stream ~1M values (read, permuted, quantized).
MemoryNeed exportMemory(const Model& model, const std::vector<GgufExportTensor>& tensors,
                        const std::vector<GgmlType>& types)
{
    double largest = 0;
    QString which;
    for (std::size_t i = 0; i < tensors.size(); ++i) {
        const GgufExportTensor& t = tensors[i];
        double values = 1;
        for (std::int64_t d : t.dims)
            values *= double(d);
        double bytes = 3.0 * 4.0 * std::min(values, double(1 << 20)) +
                       values * 4.0 * (t.role != GgufExportTensor::Role::Weight);
        if (t.linearIndex < 0 && t.role == GgufExportTensor::Role::Weight && model.tensors().isGguf())
            bytes = std::max(bytes, double(model.tensors().info(t.source).bytes())); // copied raw
        if (t.linearIndex >= 0) {
            const LinearLayerInfo& l = model.linears()[std::size_t(t.linearIndex)];
            if (l.quant && l.quant->method == QuantMethod::Ggml)
                bytes = l.quant->ggmlType == types[i] ? 2.0 * double(l.storedBytes)
                                                      : double(l.storedBytes) + 4.0 * values;
        }
        if (bytes > largest) {
            largest = bytes;
            which = t.name;
        }
    }
    MemoryNeed need;
    need.add(QStringLiteral("converting %1").arg(which), largest);
    return need;
}

} // namespace

void exportGguf(const Model& model, const GgufExportPlan& plan, const QString& outPath,
                const GgufImportance* importance, const JobContext& ctx)
{
    const QFileInfo outInfo(outPath);
    if (!outInfo.absoluteDir().exists())
        throw Error::inFile(outPath, QStringLiteral("folder %1 does not exist").arg(outInfo.absolutePath()));
    const std::vector<GgufExportTensor> tensors = ggufExportTensors(model);
    const std::vector<GgmlType> types = validatedTypes(tensors, plan, importance, outPath);
    requireMemory(QStringLiteral("exporting %1").arg(outInfo.fileName()), exportMemory(model, tensors, types),
                  QStringLiteral("close other programs"));

    GgufWriter w;
    writeMetadata(w, model, plan);
    auto producer = std::make_shared<TensorProducer>(model, ctx, totalValues(tensors));
    for (std::size_t i = 0; i < tensors.size(); ++i) {
        const GgufExportTensor& t = tensors[i];
        const GgmlType type = types[i];
        w.addTensor(t.name, type, t.dims,
                    [producer, t, type, imp = importanceFor(importance, t, type)](
                        const GgufWriter::Sink& sink) { producer->produce(t, type, imp, sink); });
    }
    ctx.report(0.0, QStringLiteral("exporting GGUF"), outPath);
    w.write(outPath);
    ctx.report(1.0, QStringLiteral("exporting GGUF"), outPath);
}

} // namespace qs
