#include "checkpoint/HfQuantExport.h"

#include "io/SafetensorsWriter.h"
#include "io/TensorStore.h"
#include "kernels/BitPacking.h"
#include "model/Model.h"
#include "quant/QuantizeJob.h"
#include "checkpoint/QuantizedModelIO.h"
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

} // namespace qs
