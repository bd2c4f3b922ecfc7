#include "quant/HfQuantExport.h"

#include "io/SafetensorsWriter.h"
#include "io/TensorStore.h"
#include "model/Model.h"
#include "quant/QuantizeJob.h"
#include "quant/QuantizedModelIO.h"
#include "recipe/RecipeExport.h"
#include "util/Error.h"

#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QRegularExpression>
#include <QSaveFile>
#include <QSet>
#include <cstring>
#include <map>

namespace qs {

// ---- Packing -------------------------------------------------------------------------------------

namespace {

void checkBits(int bits, std::int64_t n, const char* what)
{
    if (bits < 1 || bits > 8)
        throw Error(QStringLiteral("cannot pack %1-bit values").arg(bits));
    if ((n * bits) % 32 != 0)
        throw Error(
            QStringLiteral("cannot pack %1 %2-bit values along the %3 dimension into whole int32 words")
                .arg(n)
                .arg(bits)
                .arg(QLatin1String(what)));
}

/// Little-endian bit stream: value k of a stream at bit k·bits; `at(k)` gives the value.
template <class Get, class Put>
void packStream(std::int64_t n, int bits, Get at, Put word)
{
    const std::int64_t words = n * bits / 32;
    std::vector<std::uint32_t> w(static_cast<std::size_t>(words), 0u);
    for (std::int64_t k = 0; k < n; ++k) {
        const std::uint64_t v = at(k);
        const std::int64_t bit = k * bits;
        const std::int64_t wi = bit / 32;
        const int sh = int(bit % 32);
        w[std::size_t(wi)] |= std::uint32_t(v << sh);
        if (sh + bits > 32)
            w[std::size_t(wi + 1)] |= std::uint32_t(v >> (32 - sh));
    }
    for (std::int64_t i = 0; i < words; ++i)
        word(i, w[std::size_t(i)]);
}

template <class GetWord, class Put>
void unpackStream(std::int64_t n, int bits, GetWord word, Put put)
{
    const std::uint32_t mask = (1u << bits) - 1u;
    for (std::int64_t k = 0; k < n; ++k) {
        const std::int64_t bit = k * bits;
        const std::int64_t wi = bit / 32;
        const int sh = int(bit % 32);
        std::uint64_t v = std::uint64_t(word(wi)) >> sh;
        if (sh + bits > 32)
            v |= std::uint64_t(word(wi + 1)) << (32 - sh);
        put(k, std::uint32_t(v) & mask);
    }
}

} // namespace

std::vector<std::int32_t> gptqPackRows(const std::vector<std::uint32_t>& values, std::int64_t n,
                                       std::int64_t m, int bits)
{
    checkBits(bits, n, "packed");
    std::vector<std::int32_t> out(std::size_t(n * bits / 32 * m));
    for (std::int64_t j = 0; j < m; ++j)
        packStream(
            n, bits, [&](std::int64_t k) { return values[std::size_t(k * m + j)]; },
            [&](std::int64_t i, std::uint32_t w) { out[std::size_t(i * m + j)] = std::int32_t(w); });
    return out;
}

std::vector<std::uint32_t> gptqUnpackRows(const std::int32_t* words, std::int64_t n, std::int64_t m, int bits)
{
    checkBits(bits, n, "packed");
    std::vector<std::uint32_t> out(std::size_t(n * m));
    for (std::int64_t j = 0; j < m; ++j)
        unpackStream(
            n, bits, [&](std::int64_t i) { return std::uint32_t(words[i * m + j]); },
            [&](std::int64_t k, std::uint32_t v) { out[std::size_t(k * m + j)] = v; });
    return out;
}

std::vector<std::int32_t> gptqPackCols(const std::vector<std::uint32_t>& values, std::int64_t n,
                                       std::int64_t m, int bits)
{
    checkBits(bits, m, "packed");
    const std::int64_t wm = m * bits / 32;
    std::vector<std::int32_t> out(std::size_t(n * wm));
    for (std::int64_t r = 0; r < n; ++r)
        packStream(
            m, bits, [&](std::int64_t k) { return values[std::size_t(r * m + k)]; },
            [&](std::int64_t i, std::uint32_t w) { out[std::size_t(r * wm + i)] = std::int32_t(w); });
    return out;
}

std::vector<std::uint32_t> gptqUnpackCols(const std::int32_t* words, std::int64_t n, std::int64_t m, int bits)
{
    checkBits(bits, m, "packed");
    const std::int64_t wm = m * bits / 32;
    std::vector<std::uint32_t> out(std::size_t(n * m));
    for (std::int64_t r = 0; r < n; ++r)
        unpackStream(
            m, bits, [&](std::int64_t i) { return std::uint32_t(words[r * wm + i]); },
            [&](std::int64_t k, std::uint32_t v) { out[std::size_t(r * m + k)] = v; });
    return out;
}

std::vector<std::int32_t> awqPack(const std::vector<std::uint32_t>& values, std::int64_t n, std::int64_t m)
{
    if (m % 8 != 0)
        throw Error(
            QStringLiteral("cannot pack %1 4-bit values along the output dimension into whole int32 words")
                .arg(m));
    const std::int64_t wm = m / 8;
    std::vector<std::int32_t> out(std::size_t(n * wm));
    for (std::int64_t r = 0; r < n; ++r) {
        for (std::int64_t j = 0; j < wm; ++j) {
            std::uint32_t w = 0;
            for (int i = 0; i < 8; ++i)
                w |= (values[std::size_t(r * m + j * 8 + kAwqOrder[i])] & 0xFu) << (4 * i);
            out[std::size_t(r * wm + j)] = std::int32_t(w);
        }
    }
    return out;
}

std::vector<std::uint32_t> awqUnpack(const std::int32_t* words, std::int64_t n, std::int64_t m)
{
    if (m % 8 != 0)
        throw Error(QStringLiteral("cannot unpack %1 4-bit values along the output dimension").arg(m));
    const std::int64_t wm = m / 8;
    std::vector<std::uint32_t> out(std::size_t(n * m));
    for (std::int64_t r = 0; r < n; ++r) {
        for (std::int64_t j = 0; j < wm; ++j) {
            const std::uint32_t w = std::uint32_t(words[r * wm + j]);
            for (int i = 0; i < 8; ++i)
                out[std::size_t(r * m + j * 8 + kAwqOrder[i])] = (w >> (4 * i)) & 0xFu;
        }
    }
    return out;
}

// ---- Export --------------------------------------------------------------------------------------

namespace {

void addBytes(SafetensorsWriter& w, const QString& name, DType dtype, std::vector<std::int64_t> shape,
              std::vector<unsigned char> bytes)
{
    auto shared = std::make_shared<std::vector<unsigned char>>(std::move(bytes));
    w.addTensor(name, dtype, std::move(shape), [shared](unsigned char* dst, std::uint64_t n) {
        std::memcpy(dst, shared->data(), std::min<std::uint64_t>(n, shared->size()));
    });
}

void addInts(SafetensorsWriter& w, const QString& name, std::vector<std::int64_t> shape,
             const std::vector<std::int32_t>& v)
{
    std::vector<unsigned char> b(v.size() * 4);
    std::memcpy(b.data(), v.data(), b.size());
    addBytes(w, name, DType::I32, std::move(shape), std::move(b));
}

QString formatName(HfQuantFormat f)
{
    return f == HfQuantFormat::Gptq ? QStringLiteral("GPTQ") : QStringLiteral("AWQ");
}

/// Why a quantized layer cannot be stored in the format (empty when it can).
QString layerProblem(const QuantizedTensor& q, HfQuantFormat f)
{
    const QuantSpec& s = q.spec;
    if (quantMethodInfo(s.method).quantizesActivations)
        return QStringLiteral("%1 quantizes activations at run time; %2 checkpoints hold weight-only layers")
            .arg(quantMethodName(s.method), formatName(f));
    if (s.granularity == Granularity::PerTensor)
        return QStringLiteral("per-tensor granularity has no %1 form (use per-group or per-channel)")
            .arg(formatName(f));
    if (s.floatZeros)
        return QStringLiteral("float zeros cannot be stored; %1 stores integer zeros").arg(formatName(f));
    if (s.scaleType != DType::F16)
        return QStringLiteral("scales are %1; %2 stores f16 scales (quantize with f16 scales)")
            .arg(dtypeName(s.scaleType), formatName(f));
    if (!q.outlierColumns.empty())
        return QStringLiteral("LLM.int8 outlier columns cannot be stored");
    if (f == HfQuantFormat::Gptq) {
        if (s.bits != 2 && s.bits != 3 && s.bits != 4 && s.bits != 8)
            return QStringLiteral("%1-bit codes: GPTQ checkpoints hold 2, 3, 4 or 8 bits").arg(s.bits);
        if (!q.inputScales.empty())
            return QStringLiteral(
                "has AWQ input scales, which GPTQ checkpoints cannot hold (export with --format awq)");
        if (q.cols % 32 != 0)
            return QStringLiteral("in_features %1 is not a multiple of 32 (qweight packs along the input)")
                .arg(q.cols);
        if (q.rows % 32 != 0)
            return QStringLiteral("out_features %1 is not a multiple of 32 (qzeros packs along the output)")
                .arg(q.rows);
    } else {
        if (s.bits != 4)
            return QStringLiteral("%1-bit codes: AWQ GEMM checkpoints hold only 4-bit codes").arg(s.bits);
        if (!q.groupIndex.empty())
            return QStringLiteral("act-order (g_idx) cannot be stored in AWQ checkpoints");
        if (s.granularity != Granularity::PerGroup)
            return QStringLiteral("per-channel granularity: AWQ GEMM checkpoints need a group size");
        if (q.cols % s.groupSize != 0)
            return QStringLiteral("in_features %1 is not a multiple of the group size %2")
                .arg(q.cols)
                .arg(s.groupSize);
        if (q.rows % 8 != 0)
            return QStringLiteral("out_features %1 is not a multiple of 8").arg(q.rows);
    }
    return {};
}

/// The tensors of one layer as the format stores them.
void writeGptqLayer(SafetensorsWriter& w, const QString& name, const QuantizedTensor& q, bool zeroMinusOne)
{
    const std::int64_t rows = q.rows, cols = q.cols, groups = q.spec.groupsPerRow(cols);
    const int bits = q.spec.bits;
    std::vector<std::uint32_t> t(std::size_t(rows * cols)); // [in, out]
    for (std::int64_t r = 0; r < rows; ++r)
        for (std::int64_t c = 0; c < cols; ++c)
            t[std::size_t(c * rows + r)] = q.codes[std::size_t(r * cols + c)];
    addInts(w, name + u".qweight", {cols * bits / 32, rows}, gptqPackRows(t, cols, rows, bits));
    std::vector<std::uint32_t> z(std::size_t(groups * rows));
    std::vector<float> sc(std::size_t(groups * rows));
    for (std::int64_t r = 0; r < rows; ++r) {
        for (std::int64_t g = 0; g < groups; ++g) {
            const float zero = q.zeros[std::size_t(r * groups + g)];
            const int zi = int(zero);
            if (zero != float(zi) || zi < 0 || zi > q.spec.qmax())
                throw Error(u"layer '" + name +
                            QStringLiteral("': zero %1 is not an integer of %2 bits").arg(zero).arg(bits));
            if (zeroMinusOne && zi == 0)
                throw Error(
                    u"layer '" + name +
                    QStringLiteral(
                        "': a zero point of 0 (row %1, group %2) cannot be stored with "
                        "checkpoint_format \"gptq\" (zero - 1); export with --checkpoint-format gptq_v2")
                        .arg(r)
                        .arg(g));
            z[std::size_t(g * rows + r)] = std::uint32_t(zeroMinusOne ? zi - 1 : zi);
            sc[std::size_t(g * rows + r)] = q.scales[std::size_t(r * groups + g)];
        }
    }
    addInts(w, name + u".qzeros", {groups, rows * bits / 32}, gptqPackCols(z, groups, rows, bits));
    w.addTensorF32(name + u".scales", DType::F16, {groups, rows}, std::move(sc));
    std::vector<std::int32_t> gidx(static_cast<std::size_t>(cols));
    for (std::int64_t c = 0; c < cols; ++c)
        gidx[std::size_t(c)] = q.groupOf(c);
    addInts(w, name + u".g_idx", {cols}, gidx);
}

void writeAwqLayer(SafetensorsWriter& w, const QString& name, const QuantizedTensor& q)
{
    const std::int64_t rows = q.rows, cols = q.cols, groups = q.spec.groupsPerRow(cols);
    std::vector<std::uint32_t> t(std::size_t(rows * cols)); // [in, out]
    for (std::int64_t r = 0; r < rows; ++r)
        for (std::int64_t c = 0; c < cols; ++c)
            t[std::size_t(c * rows + r)] = q.codes[std::size_t(r * cols + c)];
    addInts(w, name + u".qweight", {cols, rows / 8}, awqPack(t, cols, rows));
    std::vector<std::uint32_t> z(std::size_t(groups * rows));
    std::vector<float> sc(std::size_t(groups * rows));
    for (std::int64_t r = 0; r < rows; ++r) {
        for (std::int64_t g = 0; g < groups; ++g) {
            const float zero = q.zeros[std::size_t(r * groups + g)];
            if (zero != std::nearbyint(zero) || zero < 0 || zero > 15)
                throw Error(u"layer '" + name +
                            QStringLiteral("': zero %1 is not a 4-bit integer").arg(zero));
            z[std::size_t(g * rows + r)] = std::uint32_t(zero);
            sc[std::size_t(g * rows + r)] = q.scales[std::size_t(r * groups + g)];
        }
    }
    addInts(w, name + u".qzeros", {groups, rows / 8}, awqPack(z, groups, rows));
    w.addTensorF32(name + u".scales", DType::F16, {groups, rows}, std::move(sc));
}

bool allOnes(const std::vector<float>& s)
{
    for (float v : s)
        if (v != 1.0f)
            return false;
    return true;
}

/// Divides output row r of a layer by d[r] (AWQ folding of the next layer's input scales).
void divideRows(QuantizedTensor& q, const std::vector<float>& d)
{
    if (q.spec.method == QuantMethod::Float) {
        for (std::int64_t r = 0; r < q.rows; ++r)
            for (std::int64_t c = 0; c < q.cols; ++c) {
                float& v = q.floatWeights[std::size_t(r * q.cols + c)];
                v = roundToStorage(v / d[std::size_t(r)], q.spec.floatType);
            }
        return;
    }
    const std::int64_t groups = std::int64_t(q.scales.size()) / q.rows;
    for (std::int64_t r = 0; r < q.rows; ++r)
        for (std::int64_t g = 0; g < groups; ++g) {
            float& v = q.scales[std::size_t(r * groups + g)];
            v = roundToStorage(v / d[std::size_t(r)], DType::F16);
        }
}

} // namespace

std::vector<std::shared_ptr<const QuantizedTensor>> readModelQuantizedTensors(const Model& model)
{
    std::vector<std::shared_ptr<const QuantizedTensor>> out;
    for (const LinearLayerInfo& l : model.linears()) {
        if (l.quant) {
            out.push_back(std::make_shared<QuantizedTensor>(
                readQuantizedTensor(model.tensors(), l.name, *l.quant, l.outFeatures, l.inFeatures)));
            continue;
        }
        auto q = std::make_shared<QuantizedTensor>();
        q->spec.method = QuantMethod::Float;
        q->spec.floatType = l.dtype;
        q->rows = l.outFeatures;
        q->cols = l.inFeatures;
        q->floatWeights = model.tensors().readF32(l.weight, FiniteCheck::Throw);
        out.push_back(std::move(q));
    }
    return out;
}

namespace {

/// The settings GPTQModel can set per module through `dynamic`: bits, group_size (-1 per
/// channel), sym, desc_act.
struct GptqLayerKey
{
    int bits = 4;
    int groupSize = 128;
    bool sym = true;
    bool descAct = false;
    auto operator<=>(const GptqLayerKey&) const = default;
    QJsonObject toJson() const
    {
        return {{QStringLiteral("bits"), bits},
                {QStringLiteral("group_size"), groupSize},
                {QStringLiteral("sym"), sym},
                {QStringLiteral("desc_act"), descAct}};
    }
};

GptqLayerKey gptqKey(const QuantizedTensor& q)
{
    return {q.spec.bits, q.spec.granularity == Granularity::PerChannel ? -1 : q.spec.groupSize,
            q.spec.symmetric, !q.groupIndex.empty()};
}

} // namespace

HfExportReport exportHfQuantized(const QString& outDir, const Model& base, const QuantizeResult& result,
                                 const HfExportOptions& options)
{
    return exportHfQuantized(outDir, base, result.tensors, options);
}

HfExportReport exportHfQuantized(const QString& outDir, const Model& model,
                                 const std::vector<std::shared_ptr<const QuantizedTensor>>& tensors,
                                 const HfExportOptions& options)
{
    const HfQuantFormat fmt = options.format;
    const auto& linears = model.linears();
    if (tensors.size() != linears.size())
        throw Error(QStringLiteral("export: %1 quantized layers given for a model with %2 linears")
                        .arg(tensors.size())
                        .arg(linears.size()));
    auto fail = [&](const QString& layer, const QString& why) {
        return Error(formatName(fmt) + u" export: layer '" + layer + u"': " + why);
    };

    // Check every layer and the settings the format's single quantization_config implies.
    std::vector<QuantizedTensor> layers;
    layers.reserve(tensors.size());
    const QuantizedTensor* ref = nullptr;
    QString refName;
    bool descAct = false;
    QStringList floatModules;
    bool headQuantized = false;
    for (std::size_t i = 0; i < tensors.size(); ++i) {
        const QuantizedTensor& q = *tensors[i];
        const LinearLayerInfo& l = linears[i];
        if (q.rows != l.outFeatures || q.cols != l.inFeatures)
            throw fail(l.name, QStringLiteral("quantized shape [%1, %2] does not match the model's [%3, %4]")
                                   .arg(q.rows)
                                   .arg(q.cols)
                                   .arg(l.outFeatures)
                                   .arg(l.inFeatures));
        layers.push_back(q);
        if (q.spec.method == QuantMethod::Float) {
            if (l.kind != LinearKind::Head)
                floatModules << l.name;
            continue;
        }
        if (const QString why = layerProblem(q, fmt); !why.isEmpty())
            throw fail(l.name, why);
        if (l.kind == LinearKind::Head) {
            if (fmt == HfQuantFormat::Awq)
                throw fail(l.name,
                           QStringLiteral("AWQ checkpoints keep lm_head in 16-bit; quantize it as float"));
            headQuantized = true;
        }
        if (!ref) {
            ref = &q;
            refName = l.name;
        } else if (fmt == HfQuantFormat::Awq && (q.spec.bits != ref->spec.bits ||
                                                 (q.spec.granularity == Granularity::PerGroup &&
                                                  q.spec.groupSize != ref->spec.groupSize) ||
                                                 (q.spec.granularity == Granularity::PerChannel) !=
                                                     (ref->spec.granularity == Granularity::PerChannel))) {
            throw fail(l.name, QStringLiteral(
                                   "spec '%1' differs from '%2' of '%3'; an AWQ quantization_config covers "
                                   "every quantized layer (bits and group size must agree)")
                                   .arg(q.spec.label(), ref->spec.label(), refName));
        }
        descAct = descAct || !q.groupIndex.empty();
    }
    if (!ref)
        throw Error(formatName(fmt) + u" export: no layer of the model is quantized");
    // GPTQ with layers of different bits / groups / symmetry / act-order (a mixed-precision plan):
    // the settings most weights share go in quantization_config, the others in GPTQModel's
    // `dynamic` as "+:<module pattern>" overrides (grouped into as few anchored patterns as the
    // layer names allow).
    QJsonObject dynamicOverrides;
    if (fmt == HfQuantFormat::Gptq) {
        std::map<GptqLayerKey, std::int64_t> weightsPerKey;
        for (std::size_t i = 0; i < layers.size(); ++i) {
            if (layers[i].spec.method != QuantMethod::Float)
                weightsPerKey[gptqKey(layers[i])] += linears[i].params();
        }
        const GptqLayerKey baseKey =
            std::max_element(weightsPerKey.begin(), weightsPerKey.end(), [](const auto& a, const auto& b) {
                return a.second < b.second;
            })->first;
        std::map<GptqLayerKey, std::vector<std::pair<int, QString>>> others;
        for (std::size_t i = 0; i < layers.size(); ++i) {
            if (layers[i].spec.method == QuantMethod::Float)
                continue;
            const GptqLayerKey k = gptqKey(layers[i]);
            if (k == baseKey && gptqKey(*ref) != baseKey) {
                ref = tensors[i].get();
                refName = linears[i].name;
            }
            if (!(k == baseKey))
                others[k].push_back({int(i), QStringLiteral("x")});
        }
        for (const auto& [key, members] : others) {
            for (const auto& [pattern, unused] : layerPatterns(model, members))
                dynamicOverrides.insert(u"+:" + pattern, key.toJson());
        }
        descAct = baseKey.descAct;
    }

    // AWQ: fold input scales into the op producing each layer's input.
    HfExportReport report;
    std::map<QString, std::vector<float>> foldedNorms; // norm tensor → new weight
    if (fmt == HfQuantFormat::Awq) {
        const TensorStore& ts = model.tensors();
        for (const DecoderBlockInfo& b : model.blocks()) {
            auto idx = [&](LinearKind k) { return std::size_t(b.linears[std::size_t(k)]); };
            auto foldIntoNorm = [&](const QString& norm, std::initializer_list<LinearKind> kinds) {
                const std::size_t first = idx(*kinds.begin());
                const std::vector<float> s = layers[first].inputScales;
                for (LinearKind k : kinds) {
                    const QuantizedTensor& q = layers[idx(k)];
                    const bool same = (allOnes(q.inputScales) && allOnes(s)) || q.inputScales == s;
                    if (!same)
                        throw fail(
                            linears[idx(k)].name,
                            QStringLiteral(
                                "AWQ input scales differ from those of '%1'; layers reading the output "
                                "of %2 must share one scale vector to fold it into the norm (give "
                                "them one AWQ spec)")
                                .arg(linears[first].name, norm));
                }
                if (allOnes(s))
                    return;
                std::vector<float> g = ts.readF32(norm, FiniteCheck::Throw);
                for (std::size_t j = 0; j < g.size(); ++j)
                    g[j] = roundToStorage(g[j] / s[j], DType::F16);
                foldedNorms[norm] = std::move(g);
                report.foldedTensors << norm;
                for (LinearKind k : kinds)
                    layers[idx(k)].inputScales.clear();
            };
            auto foldIntoRows = [&](LinearKind consumer, LinearKind producer) {
                QuantizedTensor& c = layers[idx(consumer)];
                if (allOnes(c.inputScales)) {
                    c.inputScales.clear();
                    return;
                }
                QuantizedTensor& p = layers[idx(producer)];
                const LinearLayerInfo& pl = linears[idx(producer)];
                if (p.rows != c.cols)
                    throw fail(linears[idx(consumer)].name,
                               QStringLiteral(
                                   "AWQ input scales cannot be folded: '%1' has %2 outputs but this layer "
                                   "reads %3 (grouped-query attention); quantize it without AWQ scaling "
                                   "(e.g. rtn), as AutoAWQ does")
                                   .arg(pl.name)
                                   .arg(p.rows)
                                   .arg(c.cols));
                if (!pl.bias.isEmpty())
                    throw fail(linears[idx(consumer)].name,
                               QStringLiteral("AWQ input scales cannot be folded into '%1', which has a bias")
                                   .arg(pl.name));
                divideRows(p, c.inputScales);
                c.inputScales.clear();
                report.foldedTensors << pl.name;
            };
            foldIntoNorm(b.inputNorm, {LinearKind::Q, LinearKind::K, LinearKind::V});
            foldIntoNorm(b.postAttentionNorm, {LinearKind::Gate, LinearKind::Up});
            foldIntoRows(LinearKind::O, LinearKind::V);
            foldIntoRows(LinearKind::Down, LinearKind::Up);
        }
        for (std::size_t i = 0; i < layers.size(); ++i)
            if (!allOnes(layers[i].inputScales))
                throw fail(linears[i].name,
                           QStringLiteral("AWQ input scales cannot be folded into a preceding op"));
    }

    // quantization_config
    QJsonObject qc;
    const bool perChannel = ref->spec.granularity == Granularity::PerChannel;
    if (fmt == HfQuantFormat::Gptq) {
        qc.insert(QStringLiteral("quant_method"), QStringLiteral("gptq"));
        qc.insert(QStringLiteral("bits"), ref->spec.bits);
        qc.insert(QStringLiteral("group_size"), perChannel ? -1 : ref->spec.groupSize);
        qc.insert(QStringLiteral("desc_act"), descAct);
        qc.insert(QStringLiteral("sym"), ref->spec.symmetric);
        qc.insert(QStringLiteral("static_groups"), ref->spec.staticGroups);
        qc.insert(QStringLiteral("damp_percent"), ref->spec.dampPercent);
        qc.insert(QStringLiteral("true_sequential"), true);
        qc.insert(QStringLiteral("lm_head"), headQuantized);
        qc.insert(QStringLiteral("checkpoint_format"), options.checkpointFormat == GptqCheckpointFormat::Gptq
                                                           ? QStringLiteral("gptq")
                                                           : QStringLiteral("gptq_v2"));
        if (!floatModules.isEmpty() || !dynamicOverrides.isEmpty()) {
            // GPTQModel: negative rules skip these modules, positive ones override per module.
            QJsonObject dyn = dynamicOverrides;
            for (const QString& m : floatModules)
                dyn.insert(u"-:^" + QRegularExpression::escape(m) + u'$', QJsonObject());
            qc.insert(QStringLiteral("dynamic"), dyn);
        }
    } else {
        qc.insert(QStringLiteral("quant_method"), QStringLiteral("awq"));
        qc.insert(QStringLiteral("bits"), 4);
        qc.insert(QStringLiteral("group_size"), ref->spec.groupSize);
        qc.insert(QStringLiteral("zero_point"), true);
        qc.insert(QStringLiteral("version"), QStringLiteral("gemm"));
        if (!floatModules.isEmpty())
            qc.insert(QStringLiteral("modules_to_not_convert"), QJsonArray::fromStringList(floatModules));
    }
    qc.insert(QStringLiteral("quantscope_version"), QStringLiteral(QUANTSCOPE_VERSION));
    report.quantizationConfig = qc;

    writeModelFolderAtomically(outDir, model.path(), [&](const QString& tmp) {
        SafetensorsWriter w;
        const TensorStore& ts = model.tensors();
        QSet<QString> linearTensors;
        const QStringList suffixes = quantizedTensorSuffixes();
        for (const LinearLayerInfo& l : linears) {
            linearTensors.insert(l.weight);
            for (const QString& s : suffixes)
                linearTensors.insert(l.name + s);
        }
        for (const QString& name : ts.names()) {
            if (linearTensors.contains(name))
                continue;
            if (auto it = foldedNorms.find(name); it != foldedNorms.end()) {
                w.addTensorF32(name, DType::F16, ts.info(name).shape, it->second);
                continue;
            }
            const TensorInfo& info = ts.info(name);
            const unsigned char* src = ts.rawData(name);
            addBytes(w, name, info.dtype, info.shape, std::vector<unsigned char>(src, src + info.bytes()));
        }
        for (std::size_t i = 0; i < layers.size(); ++i) {
            const QuantizedTensor& q = layers[i];
            const QString& name = linears[i].name;
            if (q.spec.method == QuantMethod::Float) {
                w.addTensorF32(name + u".weight", q.spec.floatType, {q.rows, q.cols}, q.floatWeights);
                ++report.floatLayers;
                continue;
            }
            if (fmt == HfQuantFormat::Gptq)
                writeGptqLayer(w, name, q, options.checkpointFormat == GptqCheckpointFormat::Gptq);
            else
                writeAwqLayer(w, name, q);
            ++report.quantizedLayers;
        }
        w.setMetadata(QStringLiteral("format"), QStringLiteral("pt"));
        w.write(QDir(tmp).filePath(QStringLiteral("model.safetensors")));

        // config.json with quantization_config
        const QString cfgPath = QDir(model.path()).filePath(QStringLiteral("config.json"));
        QFile cf(cfgPath);
        if (!cf.open(QIODevice::ReadOnly))
            throw Error::inFile(cfgPath, QStringLiteral("cannot read"));
        QJsonObject cfg = QJsonDocument::fromJson(cf.readAll()).object();
        cfg.insert(QStringLiteral("quantization_config"), qc);
        if (fmt == HfQuantFormat::Awq)
            cfg.insert(QStringLiteral("torch_dtype"), QStringLiteral("float16"));
        QSaveFile co(QDir(tmp).filePath(QStringLiteral("config.json")));
        if (!co.open(QIODevice::WriteOnly) ||
            co.write(QJsonDocument(cfg).toJson(QJsonDocument::Indented)) < 0 || !co.commit())
            throw Error::inFile(co.fileName(), QStringLiteral("cannot write"));
    });
    return report;
}

// ---- Import --------------------------------------------------------------------------------------

std::optional<HfQuantConfig> readHfQuantConfig(const QString& modelDir)
{
    const QString path = QDir(modelDir).filePath(QStringLiteral("config.json"));
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return std::nullopt;
    const QJsonObject qc =
        QJsonDocument::fromJson(f.readAll()).object().value(QStringLiteral("quantization_config")).toObject();
    const QString method = qc.value(QStringLiteral("quant_method")).toString().toLower();
    if (method != u"gptq" && method != u"awq")
        return std::nullopt;
    HfQuantConfig c;
    c.raw = qc;
    c.path = path;
    c.format = method == u"gptq" ? HfQuantFormat::Gptq : HfQuantFormat::Awq;
    const QString what = u"quantization_config (" + method + u')';
    c.bits = qc.value(QStringLiteral("bits")).toInt(qc.value(QStringLiteral("w_bit")).toInt(4));
    c.groupSize =
        qc.value(QStringLiteral("group_size")).toInt(qc.value(QStringLiteral("q_group_size")).toInt(128));
    if (c.format == HfQuantFormat::Gptq) {
        if (c.bits != 2 && c.bits != 3 && c.bits != 4 && c.bits != 8)
            throw Error::inFile(path, what + QStringLiteral(": bits %1 is not 2, 3, 4 or 8").arg(c.bits));
        c.sym = qc.value(QStringLiteral("sym")).toBool(true);
        c.descAct = qc.value(QStringLiteral("desc_act")).toBool(false);
        const QString cf = qc.value(QStringLiteral("checkpoint_format")).toString(QStringLiteral("gptq"));
        if (cf != u"gptq" && cf != u"gptq_v2")
            throw Error::inFile(path,
                                what + u": checkpoint_format '" + cf + u"' is not supported (gptq, gptq_v2)");
        c.zeroMinusOne = cf == u"gptq";
    } else {
        if (c.bits != 4)
            throw Error::inFile(
                path, what + QStringLiteral(": bits %1; AWQ checkpoints hold 4-bit codes").arg(c.bits));
        const QString v = qc.value(QStringLiteral("version")).toString(QStringLiteral("gemm")).toLower();
        if (v != u"gemm")
            throw Error::inFile(path, what + u": version '" + v + u"' is not supported (gemm)");
        if (!qc.value(QStringLiteral("zero_point")).toBool(true))
            throw Error::inFile(path, what + u": zero_point false is not supported");
        c.sym = false;
        c.zeroMinusOne = false;
    }
    if (c.groupSize == 0 || c.groupSize < -1 || (c.format == HfQuantFormat::Awq && c.groupSize < 1))
        throw Error::inFile(path, what + QStringLiteral(": bad group_size %1").arg(c.groupSize));
    return c;
}

QuantSpec hfLayerSpec(const HfQuantConfig& c)
{
    QuantSpec s;
    s.method = c.format == HfQuantFormat::Gptq ? QuantMethod::Gptq : QuantMethod::Awq;
    s.bits = c.bits;
    s.symmetric = c.sym;
    s.granularity = c.groupSize == -1 ? Granularity::PerChannel : Granularity::PerGroup;
    s.groupSize = c.groupSize == -1 ? 128 : c.groupSize;
    s.scaleType = DType::F16;
    s.actOrder = c.descAct;
    s.staticGroups = c.raw.value(QStringLiteral("static_groups")).toBool(false);
    s.dampPercent = c.raw.value(QStringLiteral("damp_percent")).toDouble(s.dampPercent);
    return s;
}

bool isHfQuantLayer(const TensorStore& store, const QString& module)
{
    const QString qw = module + u".qweight";
    return store.contains(qw) && store.info(qw).dtype == DType::I32;
}

HfQuantConfig hfLayerConfig(const HfQuantConfig& config, const QString& module)
{
    const QJsonObject dyn = config.raw.value(QStringLiteral("dynamic")).toObject();
    for (auto it = dyn.begin(); it != dyn.end(); ++it) {
        QString pattern = it.key();
        if (pattern.startsWith(u"-:"))
            continue; // a skipped module has no qweight; nothing to override
        if (pattern.startsWith(u"+:"))
            pattern = pattern.mid(2);
        const QRegularExpression re(pattern);
        if (!re.isValid())
            throw Error::inFile(config.path, u"quantization_config.dynamic: invalid pattern '" + it.key() +
                                                 u"': " + re.errorString());
        // Python's re.match: anchored at the start of the module name.
        if (!re.match(module, 0, QRegularExpression::NormalMatch,
                      QRegularExpression::AnchorAtOffsetMatchOption)
                 .hasMatch())
            continue;
        const QJsonObject o = it.value().toObject();
        HfQuantConfig c = config;
        c.bits = o.value(QStringLiteral("bits")).toInt(c.bits);
        c.groupSize = o.value(QStringLiteral("group_size")).toInt(c.groupSize);
        c.sym = o.value(QStringLiteral("sym")).toBool(c.sym);
        c.descAct = o.value(QStringLiteral("desc_act")).toBool(c.descAct);
        if (c.bits != 2 && c.bits != 3 && c.bits != 4 && c.bits != 8)
            throw Error::inFile(
                config.path, QStringLiteral("quantization_config.dynamic '%1': bits %2 is not 2, 3, 4 or 8")
                                 .arg(it.key())
                                 .arg(c.bits));
        if (c.groupSize == 0 || c.groupSize < -1)
            throw Error::inFile(config.path,
                                QStringLiteral("quantization_config.dynamic '%1': bad group_size %2")
                                    .arg(it.key())
                                    .arg(c.groupSize));
        return c; // the first matching rule wins, as in GPTQModel
    }
    return config;
}

QJsonObject hfQuantizedLayers(const HfQuantConfig& config, const TensorStore& store)
{
    QJsonObject layers;
    for (const QString& name : store.names()) {
        if (!name.endsWith(u".qweight"))
            continue;
        const QString module = name.chopped(8);
        if (isHfQuantLayer(store, module))
            layers.insert(module, hfLayerSpec(hfLayerConfig(config, module)).toJson());
    }
    return layers;
}

namespace {

const std::int32_t* requireInts(const TensorStore& ts, const QString& module, const QString& suffix,
                                std::vector<std::int64_t> shape)
{
    const QString name = module + suffix;
    if (!ts.contains(name))
        throw Error(u"quantized layer '" + module + u"' has no " + suffix + u" tensor");
    const TensorInfo& t = ts.info(name);
    if (t.dtype != DType::I32 || t.shape != shape)
        throw Error::inFile(ts.fileOf(name), u"tensor '" + name + u"' is " + dtypeName(t.dtype) + u' ' +
                                                 shapeString(t.shape) + u", expected i32 " +
                                                 shapeString(shape));
    return reinterpret_cast<const std::int32_t*>(ts.rawData(name));
}

std::vector<float> readScales(const TensorStore& ts, const QString& module, std::int64_t groups,
                              std::int64_t rows)
{
    const QString name = module + u".scales";
    if (!ts.contains(name))
        throw Error(u"quantized layer '" + module + u"' has no .scales tensor");
    const TensorInfo& t = ts.info(name);
    if (t.shape != std::vector<std::int64_t>{groups, rows})
        throw Error::inFile(ts.fileOf(name), u"tensor '" + name + u"' has shape " + shapeString(t.shape) +
                                                 u", expected " + shapeString({groups, rows}));
    const std::vector<float> s = ts.readF32(name, FiniteCheck::Throw);
    std::vector<float> out(s.size());
    for (std::int64_t g = 0; g < groups; ++g)
        for (std::int64_t r = 0; r < rows; ++r)
            out[std::size_t(r * groups + g)] = s[std::size_t(g * rows + r)];
    return out;
}

} // namespace

QuantizedTensor readGptqLayer(const TensorStore& ts, const QString& module, const HfQuantConfig& c,
                              std::int64_t rows, std::int64_t cols)
{
    QuantizedTensor q;
    q.spec = hfLayerSpec(c);
    q.rows = rows;
    q.cols = cols;
    const int bits = c.bits;
    auto fail = [&](const QString& what) {
        return Error::inFile(ts.fileOf(module + u".qweight"), u"layer '" + module + u"': " + what);
    };
    if ((cols * bits) % 32 != 0 || (rows * bits) % 32 != 0)
        throw fail(
            QStringLiteral("[%1, %2] cannot be packed in %3-bit int32 words").arg(rows).arg(cols).arg(bits));
    const std::int64_t groups = q.spec.groupsPerRow(cols);
    const std::vector<std::uint32_t> t = gptqUnpackRows(
        requireInts(ts, module, QStringLiteral(".qweight"), {cols * bits / 32, rows}), cols, rows, bits);
    q.codes.resize(std::size_t(rows * cols));
    for (std::int64_t r = 0; r < rows; ++r)
        for (std::int64_t col = 0; col < cols; ++col)
            q.codes[std::size_t(r * cols + col)] = std::uint8_t(t[std::size_t(col * rows + r)]);
    const std::vector<std::uint32_t> z = gptqUnpackCols(
        requireInts(ts, module, QStringLiteral(".qzeros"), {groups, rows * bits / 32}), groups, rows, bits);
    q.zeros.resize(std::size_t(rows * groups));
    for (std::int64_t g = 0; g < groups; ++g)
        for (std::int64_t r = 0; r < rows; ++r) {
            const std::uint32_t v = z[std::size_t(g * rows + r)];
            q.zeros[std::size_t(r * groups + g)] = float(c.zeroMinusOne ? v + 1 : v); // v1 stores zero - 1
        }
    q.scales = readScales(ts, module, groups, rows);
    if (ts.contains(module + u".g_idx")) {
        const std::int32_t* g = requireInts(ts, module, QStringLiteral(".g_idx"), {cols});
        bool trivial = true;
        for (std::int64_t col = 0; col < cols; ++col) {
            if (g[col] < 0 || g[col] >= groups)
                throw fail(QStringLiteral(".g_idx holds group %1 outside 0..%2").arg(g[col]).arg(groups - 1));
            trivial = trivial && g[col] == col / q.spec.groupLength(cols);
        }
        if (!trivial)
            q.groupIndex.assign(g, g + cols);
    }
    return q;
}

QuantizedTensor readAwqLayer(const TensorStore& ts, const QString& module, const HfQuantConfig& c,
                             std::int64_t rows, std::int64_t cols)
{
    QuantizedTensor q;
    q.spec = hfLayerSpec(c);
    q.rows = rows;
    q.cols = cols;
    if (rows % 8 != 0 || cols % c.groupSize != 0)
        throw Error::inFile(ts.fileOf(module + u".qweight"),
                            u"layer '" + module +
                                QStringLiteral("': [%1, %2] does not fit AWQ packing with group size %3")
                                    .arg(rows)
                                    .arg(cols)
                                    .arg(c.groupSize));
    const std::int64_t groups = cols / c.groupSize;
    const std::vector<std::uint32_t> t =
        awqUnpack(requireInts(ts, module, QStringLiteral(".qweight"), {cols, rows / 8}), cols, rows);
    q.codes.resize(std::size_t(rows * cols));
    for (std::int64_t r = 0; r < rows; ++r)
        for (std::int64_t col = 0; col < cols; ++col)
            q.codes[std::size_t(r * cols + col)] = std::uint8_t(t[std::size_t(col * rows + r)]);
    const std::vector<std::uint32_t> z =
        awqUnpack(requireInts(ts, module, QStringLiteral(".qzeros"), {groups, rows / 8}), groups, rows);
    q.zeros.resize(std::size_t(rows * groups));
    for (std::int64_t g = 0; g < groups; ++g)
        for (std::int64_t r = 0; r < rows; ++r)
            q.zeros[std::size_t(r * groups + g)] = float(z[std::size_t(g * rows + r)]);
    q.scales = readScales(ts, module, groups, rows);
    return q;
}

QuantizedTensor readHfQuantLayer(const TensorStore& ts, const QString& module, std::int64_t rows,
                                 std::int64_t cols)
{
    const QString dir = QFileInfo(ts.fileOf(module + u".qweight")).absolutePath();
    const std::optional<HfQuantConfig> c = readHfQuantConfig(dir);
    if (!c)
        throw Error::inFile(QDir(dir).filePath(QStringLiteral("config.json")),
                            u"layer '" + module +
                                u"' is stored as GPTQ/AWQ int32 words but config.json has no "
                                u"gptq/awq quantization_config");
    const HfQuantConfig layer = hfLayerConfig(*c, module);
    return c->format == HfQuantFormat::Gptq ? readGptqLayer(ts, module, layer, rows, cols)
                                            : readAwqLayer(ts, module, layer, rows, cols);
}

} // namespace qs
