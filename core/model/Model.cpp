#include "model/Model.h"

#include "io/Gguf.h"
#include "io/GgufModel.h"
#include "io/GgufNames.h"
#include "io/HfQuantReader.h"
#include "util/Error.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QSet>

namespace qs {

QStringList quantizedTensorSuffixes()
{
    return {
        QStringLiteral(".weight"),       QStringLiteral(".qweight"),      QStringLiteral(".scales"),
        QStringLiteral(".qzeros"),       QStringLiteral(".zeros"),        QStringLiteral(".g_idx"),
        QStringLiteral(".input_scales"), QStringLiteral(".outlier_cols"), QStringLiteral(".outlier_weight")};
}

std::shared_ptr<const Model> Model::open(const QString& path)
{
    const QFileInfo fi(path);
    if (!fi.exists())
        throw Error::inFile(path, QStringLiteral("no such file or folder"));
    std::shared_ptr<Model> m(new Model);
    if (fi.isFile()) {
        QFile f(fi.absoluteFilePath());
        if (!f.open(QIODevice::ReadOnly) || f.read(4) != "GGUF")
            throw Error::inFile(
                path,
                QStringLiteral(
                    "not a model folder or GGUF file: expected a Hugging Face folder with config.json and "
                    "safetensors weights, or a GGUF file"));
        m->m_path = fi.absoluteFilePath();
        m->m_dir = fi.absolutePath();
        m->m_gguf = GgufFile::open(m->m_path);
        m->m_config = ggufModelConfig(*m->m_gguf);
        m->m_config.ropeFreqFactors = ggufRopeFreqFactors(*m->m_gguf, m->m_config);
        m->m_tensors = TensorStore::openGguf(m->m_gguf, ggufHfTensors(*m->m_gguf, m->m_config));
        m->build();
        return m;
    }
    m->m_path = fi.absoluteFilePath();
    m->m_dir = m->m_path;
    m->m_config = ModelConfig::fromFile(QDir(m->m_dir).filePath(QStringLiteral("config.json")));
    m->m_tensors = TensorStore::open(m->m_dir);
    m->build();
    return m;
}

namespace {

/// Model::build's steps: every tensor the config implies is checked (presence, shape, a readable
/// type) and counted once; linears stored quantized get their spec from the checkpoint's
/// metadata (ours, GPTQ/AWQ) or from their GGUF block type.
class StructureBuilder
{
public:
    StructureBuilder(const QString& path, const QString& dir, const ModelConfig& config,
                     const TensorStore& tensors, const GgufFile* gguf, ModelTotals& totals)
        : m_path(path), m_dir(dir), c(config), m_tensors(tensors), m_gguf(gguf), m_totals(totals)
    {}

    /// A QuantScope quantized checkpoint names its quantized layers (and their specs) in metadata;
    /// a GPTQ/AWQ checkpoint in config.json's quantization_config.
    void readQuantizationMetadata(bool& quantized, QJsonObject& info)
    {
        const QMap<QString, QString> meta = m_tensors.metadata();
        if (meta.value(QStringLiteral("format")) == u"quantscope-quantized") {
            quantized = true;
            m_quantLayers =
                QJsonDocument::fromJson(meta.value(QStringLiteral("quantscope.layers")).toUtf8()).object();
            info = QJsonDocument::fromJson(meta.value(QStringLiteral("quantscope.info")).toUtf8()).object();
        } else if (const auto hf = readHfQuantConfig(m_dir)) {
            quantized = true;
            m_quantLayers = hfQuantizedLayers(*hf, m_tensors);
            info = hf->raw;
        }
    }

    DType require(const QString& name, const std::vector<std::int64_t>& shape)
    {
        if (!m_tensors.contains(name))
            throw Error::inFile(m_path, u"tensor '" + name + u"' is missing");
        const TensorInfo& t = m_tensors.info(name);
        if (t.shape != shape)
            throw Error::inFile(m_tensors.fileOf(name), u"tensor '" + name + u"' has shape " +
                                                            shapeString(t.shape) + u", expected " +
                                                            shapeString(shape) + u" from config.json");
        if (!t.holdsReals())
            throw Error::inFile(m_tensors.fileOf(name), u"tensor '" + name + u"' has integer dtype " +
                                                            t.typeName() + u"; weights must be f32/f16/bf16");
        if (t.ggmlType && !ggmlTypeInfo(*t.ggmlType).canDequantize)
            throw Error::inFile(m_tensors.fileOf(name), u"tensor '" + name + u"' is stored as " +
                                                            t.typeName() +
                                                            u", which QuantScope cannot read yet");
        m_used.insert(name);
        m_totals.params += t.numel();
        m_totals.bytes += t.bytes();
        return t.dtype;
    }

    /// The linear's weight in float, a GGUF block type, or our / GPTQ / AWQ packed tensors.
    void requireLinear(LinearLayerInfo& l, bool& quantized)
    {
        if (const std::optional<QuantSpec> g = ggufQuantized(l.weight)) {
            require(l.weight, {l.outFeatures, l.inFeatures});
            quantized = true;
            l.quant = g;
            l.dtype = DType::F16;
            l.storedBytes = m_tensors.info(l.weight).bytes();
            return;
        }
        if (!m_quantLayers.contains(l.name)) {
            l.dtype = require(l.weight, {l.outFeatures, l.inFeatures});
            return;
        }
        l.quant = QuantSpec::fromJson(m_quantLayers.value(l.name).toObject(),
                                      m_tensors.fileOf(m_tensors.names().front()) + u": quantscope.layers." +
                                          l.name);
        l.dtype = DType::F16;
        l.storedBytes = 0;
        for (const QString& suffix : quantizedTensorSuffixes()) {
            const QString name = l.name + suffix;
            if (!m_tensors.contains(name))
                continue;
            m_used.insert(name);
            l.storedBytes += m_tensors.info(name).bytes();
        }
        if (l.storedBytes == 0)
            throw Error::inFile(m_path, u"quantized layer '" + l.name + u"' has no stored tensors");
        m_totals.params += l.params();
        m_totals.bytes += l.storedBytes;
    }

    /// Block b's norms and its seven linears (appended to `linears`).
    DecoderBlockInfo block(int b, std::vector<LinearLayerInfo>& linears, bool& quantized)
    {
        const std::int64_t H = c.hiddenSize, F = c.intermediateSize;
        const std::int64_t qDim = std::int64_t(c.numHeads) * c.headDim,
                           kvDim = std::int64_t(c.numKvHeads) * c.headDim;
        DecoderBlockInfo blk;
        blk.index = b;
        const QString p = hfBlockPrefix(b);
        blk.inputNorm = hfBlockNormName(BlockNorm::Attn, b);
        blk.postAttentionNorm = hfBlockNormName(BlockNorm::Ffn, b);
        require(blk.inputNorm, {H});
        require(blk.postAttentionNorm, {H});
        m_totals.normParams += 2 * H;
        if (c.qkNorm) {
            blk.qNorm = hfBlockNormName(BlockNorm::QNorm, b);
            blk.kNorm = hfBlockNormName(BlockNorm::KNorm, b);
            require(blk.qNorm, {c.headDim});
            require(blk.kNorm, {c.headDim});
            m_totals.normParams += 2 * c.headDim;
        }
        const std::array<std::pair<std::int64_t, std::int64_t>, kLinearsPerBlock> dims{
            {{qDim, H}, {kvDim, H}, {kvDim, H}, {H, qDim}, {F, H}, {F, H}, {H, F}}};
        for (int k = 0; k < kLinearsPerBlock; ++k) {
            const LinearKindInfo& ki = kLinearKinds[std::size_t(k)];
            LinearLayerInfo l;
            l.block = b;
            l.kind = ki.kind;
            l.name = p + QLatin1String(ki.module) + u'.' + QLatin1String(ki.name);
            l.weight = l.name + u".weight";
            l.outFeatures = dims[std::size_t(k)].first;
            l.inFeatures = dims[std::size_t(k)].second;
            requireLinear(l, quantized);
            const bool hasBias =
                (k <= 2 && c.attentionBias) || (k == 3 && c.oProjBias) || (k >= 4 && c.mlpBias);
            if (hasBias) {
                l.bias = l.name + u".bias";
                require(l.bias, {l.outFeatures});
                m_totals.biasParams += l.outFeatures;
            }
            (k < 4 ? m_totals.attentionParams : m_totals.mlpParams) += l.params();
            blk.linears[std::size_t(k)] = int(linears.size());
            linears.push_back(l);
        }
        return blk;
    }

    /// lm_head as a separate linear (appended), or the embeddings when tied; the head's tensor name.
    QString head(const QString& embedding, std::vector<LinearLayerInfo>& linears, bool& quantized)
    {
        const QString headModule = linearKindName(LinearKind::Head);
        const QString lmHead = headModule + u".weight";
        const bool stored = m_tensors.contains(lmHead) || m_quantLayers.contains(headModule);
        if (c.tieWordEmbeddings)
            return embedding;
        if (!stored)
            throw Error::inFile(
                m_path, QStringLiteral("tensor 'lm_head.weight' is missing and config.json does not set "
                                       "tie_word_embeddings"));
        LinearLayerInfo head;
        head.name = headModule;
        head.weight = lmHead;
        head.kind = LinearKind::Head;
        head.outFeatures = c.vocabSize;
        head.inFeatures = c.hiddenSize;
        requireLinear(head, quantized);
        m_totals.headParams = head.params();
        linears.push_back(head);
        return lmHead;
    }

    QStringList unused() const
    {
        QStringList out;
        for (const QString& name : m_tensors.names()) {
            if (!m_used.contains(name))
                out << name;
        }
        return out;
    }

private:
    /// A GGUF's linears in block formats are gguf-quantized layers (their weight tensor is the data).
    std::optional<QuantSpec> ggufQuantized(const QString& weight) const
    {
        if (!m_gguf || !m_tensors.contains(weight) || !m_tensors.info(weight).blockQuantized())
            return std::nullopt;
        const GgmlType type = *m_tensors.info(weight).ggmlType;
        if (!ggmlTypeInfo(type).canDequantize)
            throw Error::inFile(m_path, u"tensor '" + weight + u"' is stored as " + ggmlTypeName(type) +
                                            u", which QuantScope cannot read yet");
        QuantSpec spec;
        try {
            spec = QuantSpec::ggml(type);
        } catch (const Error&) { // a type we read but do not produce: shown by name all the same
            spec.method = QuantMethod::Ggml;
            spec.ggmlType = type;
        }
        return spec;
    }

    const QString& m_path;
    const QString& m_dir;
    const ModelConfig& c;
    const TensorStore& m_tensors;
    const GgufFile* m_gguf;
    ModelTotals& m_totals;
    QJsonObject m_quantLayers;
    QSet<QString> m_used;
};

} // namespace

void Model::build()
{
    StructureBuilder s(m_path, m_dir, m_config, m_tensors, m_gguf.get(), m_totals);
    s.readQuantizationMetadata(m_quantized, m_quantInfo);
    m_embedding = hfTensorName(ModelTensor::TokenEmbd);
    m_totals.embeddingParams = std::int64_t(m_config.vocabSize) * m_config.hiddenSize;
    s.require(m_embedding, {m_config.vocabSize, m_config.hiddenSize});
    for (int b = 0; b < m_config.numLayers; ++b)
        m_blocks.push_back(s.block(b, m_linears, m_quantized));
    m_finalNorm = hfTensorName(ModelTensor::OutputNorm);
    s.require(m_finalNorm, {m_config.hiddenSize});
    m_totals.normParams += m_config.hiddenSize;
    m_head = s.head(m_embedding, m_linears, m_quantized);
    m_totals.linearLayers = int(m_linears.size());
    m_unused = s.unused();
}

QString Model::displayName() const
{
    return QFileInfo(m_path).fileName();
}

const LinearLayerInfo* Model::findLinear(const QString& name) const
{
    for (const LinearLayerInfo& l : m_linears) {
        if (l.name == name || l.weight == name)
            return &l;
    }
    return nullptr;
}

QString Model::weightDtypeName() const
{
    if (m_linears.empty())
        return {};
    if (m_quantized)
        return QStringLiteral("quantized");
    const DType first = m_linears.front().dtype;
    for (const LinearLayerInfo& l : m_linears) {
        if (l.dtype != first)
            return QStringLiteral("mixed");
    }
    return dtypeName(first);
}

QString Model::tokenizerJsonPath() const
{
    if (m_gguf)
        return {};
    const QString p = QDir(m_dir).filePath(QStringLiteral("tokenizer.json"));
    return QFileInfo::exists(p) ? p : QString();
}

QString Model::sentencePiecePath() const
{
    if (m_gguf)
        return {};
    const QString p = QDir(m_dir).filePath(QStringLiteral("tokenizer.model"));
    return QFileInfo::exists(p) ? p : QString();
}

} // namespace qs

namespace qs {

QString Model::architectureFingerprint() const
{
    const ModelConfig& c = m_config;
    QCryptographicHash h(QCryptographicHash::Sha256);
    h.addData(QStringLiteral("%1|%2|%3|%4|%5|%6|%7|%8|%9")
                  .arg(c.modelType)
                  .arg(c.hiddenSize)
                  .arg(c.intermediateSize)
                  .arg(c.numLayers)
                  .arg(c.numHeads)
                  .arg(c.numKvHeads)
                  .arg(c.headDim)
                  .arg(c.vocabSize)
                  .arg(c.tieWordEmbeddings)
                  .toUtf8());
    if (m_gguf) { // the tokenizer is in the metadata
        for (const GgufKeyValue& kv : m_gguf->metadata()) {
            if (kv.key.startsWith(u"tokenizer.")) {
                h.addData(kv.key.toUtf8());
                h.addData(kv.value.toStringList().value_or(QStringList()).join(u'\n').toUtf8());
                h.addData(QByteArray::number(kv.value.toInt().value_or(0)));
            }
        }
    }
    for (const QString& p : {tokenizerJsonPath(), sentencePiecePath()}) {
        QFile f(p);
        if (!p.isEmpty() && f.open(QIODevice::ReadOnly))
            h.addData(f.readAll());
    }
    return QString::fromLatin1(h.result().toHex());
}

} // namespace qs
