#include "checkpoint/HfQuantExport.h"

#include "checkpoint/QuantizedModelIO.h"
#include "io/SafetensorsWriter.h"
#include "io/TensorStore.h"
#include "kernels/BitPacking.h"
#include "model/Model.h"
#include "quant/QuantizeJob.h"
#include "recipe/RecipeExport.h"
#include "util/AtomicFile.h"
#include "util/Error.h"

#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QRegularExpression>
#include <QSet>
#include <cstring>
#include <map>

namespace qs {

namespace {

QString formatName(HfQuantFormat f)
{
    return f == HfQuantFormat::Gptq ? QStringLiteral("GPTQ") : QStringLiteral("AWQ");
}

} // namespace

QString hfExportProblem(const QuantSpec& s, std::int64_t rows, std::int64_t cols, HfQuantFormat f)
{
    if (s.method == QuantMethod::Float)
        return {};
    if (quantMethodInfo(s.method).quantizesActivations)
        return QStringLiteral("%1 quantizes activations at run time; %2 checkpoints hold weight-only layers")
            .arg(quantMethodName(s.method), formatName(f));
    if (s.method == QuantMethod::Ggml)
        return QStringLiteral("ggml block types have no %1 form (export GGUF instead)").arg(formatName(f));
    if (s.usesLattice())
        return QStringLiteral(
                   "%1 stores lattice codes (8 weights a code) and rotates the inputs; %2 checkpoints "
                   "hold one integer per weight (save a QuantScope checkpoint instead)")
            .arg(QLatin1String(quantMethodInfo(s.method).displayName), formatName(f));
    if (s.usesAdditive())
        return QStringLiteral(
                   "%1 stores each group of 8 weights as codes into the layer's codebooks; %2 "
                   "checkpoints hold one integer per weight (save a QuantScope checkpoint instead)")
            .arg(QLatin1String(quantMethodInfo(s.method).displayName), formatName(f));
    if (s.usesCodebook())
        return QStringLiteral("%1 stores a codebook per row and a sparse matrix, not scales and zeros; %2 "
                              "checkpoints cannot hold them (save a QuantScope checkpoint instead)")
            .arg(QLatin1String(quantMethodInfo(s.method).displayName), formatName(f));
    if (s.granularity == Granularity::PerTensor)
        return QStringLiteral("per-tensor granularity has no %1 form (use per-group or per-channel)")
            .arg(formatName(f));
    if (s.floatZeros)
        return QStringLiteral("float zeros cannot be stored; %1 stores integer zeros").arg(formatName(f));
    if (s.incoherence != Incoherence::None)
        return QStringLiteral(
                   "quantized with hadamard incoherence: the layer rotates its inputs at run time, "
                   "which %1 checkpoints cannot express")
            .arg(formatName(f));
    if (s.scaleType != DType::F16)
        return QStringLiteral("scales are %1; %2 stores f16 scales (quantize with f16 scales)")
            .arg(dtypeName(s.scaleType), formatName(f));
    if (f == HfQuantFormat::Gptq) {
        if (s.bits != 2 && s.bits != 3 && s.bits != 4 && s.bits != 8)
            return QStringLiteral("%1-bit codes: GPTQ checkpoints hold 2, 3, 4 or 8 bits").arg(s.bits);
        if (s.method == QuantMethod::Awq)
            return QStringLiteral(
                "has AWQ input scales, which GPTQ checkpoints cannot hold (export with --format awq)");
        if (cols % 32 != 0)
            return QStringLiteral("in_features %1 is not a multiple of 32 (qweight packs along the input)")
                .arg(cols);
        if (rows % 32 != 0)
            return QStringLiteral("out_features %1 is not a multiple of 32 (qzeros packs along the output)")
                .arg(rows);
    } else {
        if (s.bits != 4)
            return QStringLiteral("%1-bit codes: AWQ GEMM checkpoints hold only 4-bit codes").arg(s.bits);
        if (s.method == QuantMethod::Gptq && s.actOrder)
            return QStringLiteral("act-order (g_idx) cannot be stored in AWQ checkpoints");
        if (s.granularity != Granularity::PerGroup)
            return QStringLiteral("per-channel granularity: AWQ GEMM checkpoints need a group size");
        if (cols % s.groupSize != 0)
            return QStringLiteral("in_features %1 is not a multiple of the group size %2")
                .arg(cols)
                .arg(s.groupSize);
        if (rows % 8 != 0)
            return QStringLiteral("out_features %1 is not a multiple of 8").arg(rows);
    }
    return {};
}

namespace {

/// Why a quantized layer cannot be stored in the format (empty when it can): its spec, and the outlier
/// columns LLM.int8 attached.
QString layerProblem(const QuantizedTensor& q, HfQuantFormat f)
{
    if (const QString p = hfExportProblem(q.spec, q.rows, q.cols, f); !p.isEmpty())
        return p;
    if (!q.outlierColumns.empty())
        return QStringLiteral("LLM.int8 outlier columns cannot be stored");
    return {};
}

/// The codes [in, out] (the formats store the weight transposed).
std::vector<std::uint32_t> transposedCodes(const QuantizedTensor& q)
{
    const std::int64_t rows = q.rows, cols = q.cols;
    const std::vector<std::uint8_t> codes = q.unpackedCodes();
    std::vector<std::uint32_t> t(std::size_t(rows * cols));
    for (std::int64_t r = 0; r < rows; ++r)
        for (std::int64_t c = 0; c < cols; ++c)
            t[std::size_t(c * rows + r)] = codes[std::size_t(r * cols + c)];
    return t;
}

/// The tensors of one layer as the format stores them.
void writeGptqLayer(SafetensorsWriter& w, const QString& name, const QuantizedTensor& q, bool zeroMinusOne)
{
    const std::int64_t rows = q.rows, cols = q.cols, groups = q.spec.groupsPerRow(cols);
    const int bits = q.spec.bits;
    const std::vector<std::uint32_t> t = transposedCodes(q);
    w.addTensorI32(name + u".qweight", {cols * bits / 32, rows}, gptqPackRows(t, cols, rows, bits));
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
    w.addTensorI32(name + u".qzeros", {groups, rows * bits / 32}, gptqPackCols(z, groups, rows, bits));
    w.addTensorF32(name + u".scales", DType::F16, {groups, rows}, std::move(sc));
    std::vector<std::int32_t> gidx(static_cast<std::size_t>(cols));
    for (std::int64_t c = 0; c < cols; ++c)
        gidx[std::size_t(c)] = q.groupOf(c);
    w.addTensorI32(name + u".g_idx", {cols}, gidx);
}

void writeAwqLayer(SafetensorsWriter& w, const QString& name, const QuantizedTensor& q)
{
    const std::int64_t rows = q.rows, cols = q.cols, groups = q.spec.groupsPerRow(cols);
    const std::vector<std::uint32_t> t = transposedCodes(q);
    w.addTensorI32(name + u".qweight", {cols, rows / 8}, awqPack(t, cols, rows));
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
    w.addTensorI32(name + u".qzeros", {groups, rows / 8}, awqPack(z, groups, rows));
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

namespace {

/// One export, as named steps: check every layer against the format, choose the settings of the
/// single quantization_config (GPTQ: plus GPTQModel `dynamic` overrides for the other layers), fold
/// AWQ input scales into the ops producing each input, then write the folder atomically.
class HfCheckpointExport
{
public:
    HfCheckpointExport(const Model& model, const std::vector<std::shared_ptr<const QuantizedTensor>>& tensors,
                       const HfExportOptions& options)
        : m_model(model), m_linears(model.linears()), m_tensors(tensors), m_options(options),
          m_fmt(options.format)
    {}

    HfExportReport run(const QString& outDir)
    {
        checkLayers();
        if (m_fmt == HfQuantFormat::Gptq)
            planGptqDynamic();
        else
            foldAwqScales();
        m_report.quantizationConfig = quantizationConfig();
        writeModelFolderAtomically(outDir, m_model.path(), [&](const QString& tmp) { writeFolder(tmp); });
        return m_report;
    }

private:
    Error fail(const QString& layer, const QString& why) const
    {
        return Error(formatName(m_fmt) + u" export: layer '" + layer + u"': " + why);
    }

    /// Every layer has the model's shape and fits the format; the first quantized layer is the
    /// reference whose settings an AWQ config states for all.
    void checkLayers()
    {
        if (m_tensors.size() != m_linears.size())
            throw Error(QStringLiteral("export: %1 quantized layers given for a model with %2 linears")
                            .arg(m_tensors.size())
                            .arg(m_linears.size()));
        m_layers.reserve(m_tensors.size());
        for (std::size_t i = 0; i < m_tensors.size(); ++i) {
            const QuantizedTensor& q = *m_tensors[i];
            const LinearLayerInfo& l = m_linears[i];
            if (q.rows != l.outFeatures || q.cols != l.inFeatures)
                throw fail(l.name,
                           QStringLiteral("quantized shape [%1, %2] does not match the model's [%3, %4]")
                               .arg(q.rows)
                               .arg(q.cols)
                               .arg(l.outFeatures)
                               .arg(l.inFeatures));
            m_layers.push_back(q);
            if (q.spec.method == QuantMethod::Float) {
                if (l.kind != LinearKind::Head)
                    m_floatModules << l.name;
                continue;
            }
            if (const QString why = layerProblem(q, m_fmt); !why.isEmpty())
                throw fail(l.name, why);
            if (l.kind == LinearKind::Head) {
                if (m_fmt == HfQuantFormat::Awq)
                    throw fail(l.name, QStringLiteral(
                                           "AWQ checkpoints keep lm_head in 16-bit; quantize it as float"));
                m_headQuantized = true;
            }
            if (!m_ref) {
                m_ref = &q;
                m_refName = l.name;
            } else if (m_fmt == HfQuantFormat::Awq && !sameAwqSettings(q, *m_ref)) {
                throw fail(
                    l.name,
                    QStringLiteral("spec '%1' differs from '%2' of '%3'; an AWQ quantization_config covers "
                                   "every quantized layer (bits and group size must agree)")
                        .arg(q.spec.label(), m_ref->spec.label(), m_refName));
            }
            m_descAct = m_descAct || !q.groupIndex.empty();
        }
        if (!m_ref)
            throw Error(formatName(m_fmt) + u" export: no layer of the model is quantized");
    }

    static bool sameAwqSettings(const QuantizedTensor& q, const QuantizedTensor& ref)
    {
        const bool perChannel = q.spec.granularity == Granularity::PerChannel;
        return q.spec.bits == ref.spec.bits &&
               !(q.spec.granularity == Granularity::PerGroup && q.spec.groupSize != ref.spec.groupSize) &&
               perChannel == (ref.spec.granularity == Granularity::PerChannel);
    }

    /// GPTQ with layers of different bits / groups / symmetry / act-order (a mixed-precision plan):
    /// the settings most weights share go in quantization_config, the others in GPTQModel's
    /// `dynamic` as "+:<module pattern>" overrides (grouped into as few anchored patterns as the
    /// layer names allow).
    void planGptqDynamic()
    {
        std::map<GptqLayerKey, std::int64_t> weightsPerKey;
        for (std::size_t i = 0; i < m_layers.size(); ++i) {
            if (m_layers[i].spec.method != QuantMethod::Float)
                weightsPerKey[gptqKey(m_layers[i])] += m_linears[i].params();
        }
        const GptqLayerKey baseKey =
            std::max_element(weightsPerKey.begin(), weightsPerKey.end(), [](const auto& a, const auto& b) {
                return a.second < b.second;
            })->first;
        std::map<GptqLayerKey, std::vector<std::pair<int, QString>>> others;
        for (std::size_t i = 0; i < m_layers.size(); ++i) {
            if (m_layers[i].spec.method == QuantMethod::Float)
                continue;
            const GptqLayerKey k = gptqKey(m_layers[i]);
            if (k == baseKey && gptqKey(*m_ref) != baseKey) {
                m_ref = m_tensors[i].get();
                m_refName = m_linears[i].name;
            }
            if (!(k == baseKey))
                others[k].push_back({int(i), QStringLiteral("x")});
        }
        for (const auto& [key, members] : others) {
            for (const auto& [pattern, unused] : layerPatterns(m_model, members))
                m_dynamicOverrides.insert(u"+:" + pattern, key.toJson());
        }
        m_descAct = baseKey.descAct;
    }

    /// AWQ: folds input scales into the op producing each layer's input, block by block.
    void foldAwqScales()
    {
        for (const DecoderBlockInfo& b : m_model.blocks()) {
            foldIntoNorm(b, b.inputNorm, {LinearKind::Q, LinearKind::K, LinearKind::V});
            foldIntoNorm(b, b.postAttentionNorm, {LinearKind::Gate, LinearKind::Up});
            foldIntoRows(b, LinearKind::O, LinearKind::V);
            foldIntoRows(b, LinearKind::Down, LinearKind::Up);
        }
        for (std::size_t i = 0; i < m_layers.size(); ++i)
            if (!allOnes(m_layers[i].inputScales))
                throw fail(m_linears[i].name,
                           QStringLiteral("AWQ input scales cannot be folded into a preceding op"));
    }

    /// The layers reading a norm's output share one scale vector s; the norm weight becomes g / s.
    void foldIntoNorm(const DecoderBlockInfo& b, const QString& norm, std::initializer_list<LinearKind> kinds)
    {
        auto idx = [&](LinearKind k) { return std::size_t(b.linears[std::size_t(k)]); };
        const std::size_t first = idx(*kinds.begin());
        const std::vector<float> s = m_layers[first].inputScales;
        for (LinearKind k : kinds) {
            const QuantizedTensor& q = m_layers[idx(k)];
            const bool same = (allOnes(q.inputScales) && allOnes(s)) || q.inputScales == s;
            if (!same)
                throw fail(
                    m_linears[idx(k)].name,
                    QStringLiteral("AWQ input scales differ from those of '%1'; layers reading the output "
                                   "of %2 must share one scale vector to fold it into the norm (give "
                                   "them one AWQ spec)")
                        .arg(m_linears[first].name, norm));
        }
        if (allOnes(s))
            return;
        std::vector<float> g = m_model.tensors().readF32(norm, FiniteCheck::Throw);
        for (std::size_t j = 0; j < g.size(); ++j)
            g[j] = roundToStorage(g[j] / s[j], DType::F16);
        m_foldedNorms[norm] = std::move(g);
        m_report.foldedTensors << norm;
        for (LinearKind k : kinds)
            m_layers[idx(k)].inputScales.clear();
    }

    /// A consumer's scales divide the producer's output rows (v_proj for o_proj, up_proj for down_proj).
    void foldIntoRows(const DecoderBlockInfo& b, LinearKind consumer, LinearKind producer)
    {
        auto idx = [&](LinearKind k) { return std::size_t(b.linears[std::size_t(k)]); };
        QuantizedTensor& c = m_layers[idx(consumer)];
        if (allOnes(c.inputScales)) {
            c.inputScales.clear();
            return;
        }
        QuantizedTensor& p = m_layers[idx(producer)];
        const LinearLayerInfo& pl = m_linears[idx(producer)];
        if (p.rows != c.cols)
            throw fail(m_linears[idx(consumer)].name,
                       QStringLiteral("AWQ input scales cannot be folded: '%1' has %2 outputs but this layer "
                                      "reads %3 (grouped-query attention); quantize it without AWQ scaling "
                                      "(e.g. rtn), as AutoAWQ does")
                           .arg(pl.name)
                           .arg(p.rows)
                           .arg(c.cols));
        if (!pl.bias.isEmpty())
            throw fail(
                m_linears[idx(consumer)].name,
                QStringLiteral("AWQ input scales cannot be folded into '%1', which has a bias").arg(pl.name));
        divideRows(p, c.inputScales);
        c.inputScales.clear();
        m_report.foldedTensors << pl.name;
    }

    QJsonObject quantizationConfig() const
    {
        QJsonObject qc;
        const bool perChannel = m_ref->spec.granularity == Granularity::PerChannel;
        if (m_fmt == HfQuantFormat::Gptq) {
            qc.insert(QStringLiteral("quant_method"), QStringLiteral("gptq"));
            qc.insert(QStringLiteral("bits"), m_ref->spec.bits);
            qc.insert(QStringLiteral("group_size"), perChannel ? -1 : m_ref->spec.groupSize);
            qc.insert(QStringLiteral("desc_act"), m_descAct);
            qc.insert(QStringLiteral("sym"), m_ref->spec.symmetric);
            qc.insert(QStringLiteral("static_groups"), m_ref->spec.staticGroups);
            qc.insert(QStringLiteral("damp_percent"), m_ref->spec.dampPercent);
            qc.insert(QStringLiteral("true_sequential"), true);
            qc.insert(QStringLiteral("lm_head"), m_headQuantized);
            qc.insert(QStringLiteral("checkpoint_format"),
                      m_options.checkpointFormat == GptqCheckpointFormat::Gptq ? QStringLiteral("gptq")
                                                                               : QStringLiteral("gptq_v2"));
            if (!m_floatModules.isEmpty() || !m_dynamicOverrides.isEmpty()) {
                // GPTQModel: negative rules skip these modules, positive ones override per module.
                QJsonObject dyn = m_dynamicOverrides;
                for (const QString& m : m_floatModules)
                    dyn.insert(u"-:^" + QRegularExpression::escape(m) + u'$', QJsonObject());
                qc.insert(QStringLiteral("dynamic"), dyn);
            }
        } else {
            qc.insert(QStringLiteral("quant_method"), QStringLiteral("awq"));
            qc.insert(QStringLiteral("bits"), 4);
            qc.insert(QStringLiteral("group_size"), m_ref->spec.groupSize);
            qc.insert(QStringLiteral("zero_point"), true);
            qc.insert(QStringLiteral("version"), QStringLiteral("gemm"));
            if (!m_floatModules.isEmpty())
                qc.insert(QStringLiteral("modules_to_not_convert"),
                          QJsonArray::fromStringList(m_floatModules));
        }
        qc.insert(QStringLiteral("quantscope_version"), QStringLiteral(QUANTSCOPE_VERSION));
        return qc;
    }

    /// model.safetensors (non-linear tensors as stored, folded norms in F16, the layers in the
    /// format's packing) and config.json with quantization_config, into the partial folder.
    void writeFolder(const QString& tmp)
    {
        SafetensorsWriter w;
        const TensorStore& ts = m_model.tensors();
        QSet<QString> linearTensors;
        const QStringList suffixes = quantizedTensorSuffixes();
        for (const LinearLayerInfo& l : m_linears) {
            linearTensors.insert(l.weight);
            for (const QString& s : suffixes)
                linearTensors.insert(l.name + s);
        }
        for (const QString& name : ts.names()) {
            if (linearTensors.contains(name))
                continue;
            if (auto it = m_foldedNorms.find(name); it != m_foldedNorms.end()) {
                w.addTensorF32(name, DType::F16, ts.info(name).shape, it->second);
                continue;
            }
            const TensorInfo& info = ts.info(name);
            const unsigned char* src = ts.rawData(name);
            w.addTensorBytes(name, info.dtype, info.shape,
                             std::vector<unsigned char>(src, src + info.bytes()));
        }
        for (std::size_t i = 0; i < m_layers.size(); ++i) {
            const QuantizedTensor& q = m_layers[i];
            const QString& name = m_linears[i].name;
            if (q.spec.method == QuantMethod::Float) {
                w.addTensorF32(name + u".weight", q.spec.floatType, {q.rows, q.cols}, q.floatWeights);
                ++m_report.floatLayers;
                continue;
            }
            if (m_fmt == HfQuantFormat::Gptq)
                writeGptqLayer(w, name, q, m_options.checkpointFormat == GptqCheckpointFormat::Gptq);
            else
                writeAwqLayer(w, name, q);
            ++m_report.quantizedLayers;
        }
        w.setMetadata(QStringLiteral("format"), QStringLiteral("pt"));
        w.write(QDir(tmp).filePath(QStringLiteral("model.safetensors")));
        writeConfig(tmp);
    }

    void writeConfig(const QString& tmp) const
    {
        const QString cfgPath = QDir(m_model.path()).filePath(QStringLiteral("config.json"));
        QFile cf(cfgPath);
        if (!cf.open(QIODevice::ReadOnly))
            throw Error::inFile(cfgPath, QStringLiteral("cannot read"));
        QJsonObject cfg = QJsonDocument::fromJson(cf.readAll()).object();
        cfg.insert(QStringLiteral("quantization_config"), m_report.quantizationConfig);
        if (m_fmt == HfQuantFormat::Awq)
            cfg.insert(QStringLiteral("torch_dtype"), QStringLiteral("float16"));
        writeFileAtomically(QDir(tmp).filePath(QStringLiteral("config.json")),
                            QJsonDocument(cfg).toJson(QJsonDocument::Indented));
    }

    const Model& m_model;
    const std::vector<LinearLayerInfo>& m_linears;
    const std::vector<std::shared_ptr<const QuantizedTensor>>& m_tensors;
    const HfExportOptions& m_options;
    const HfQuantFormat m_fmt;

    std::vector<QuantizedTensor> m_layers; ///< copies: AWQ folding rewrites scales and rows
    const QuantizedTensor* m_ref = nullptr;
    QString m_refName;
    bool m_descAct = false;
    bool m_headQuantized = false;
    QStringList m_floatModules;
    QJsonObject m_dynamicOverrides;
    std::map<QString, std::vector<float>> m_foldedNorms; ///< norm tensor → new weight
    HfExportReport m_report;
};

} // namespace

HfExportReport exportHfQuantized(const QString& outDir, const Model& model,
                                 const std::vector<std::shared_ptr<const QuantizedTensor>>& tensors,
                                 const HfExportOptions& options)
{
    return HfCheckpointExport(model, tensors, options).run(outDir);
}

} // namespace qs
