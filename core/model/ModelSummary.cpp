#include "model/ModelSummary.h"

#include "model/Model.h"
#include "util/Paths.h"

#include <QJsonArray>
#include <QLocale>

using namespace Qt::StringLiterals;

namespace qs {

QString architectureLine(const Model& m)
{
    const ModelConfig& c = m.config();
    QString s = QStringLiteral("%1 · %2 blocks · hidden %3 · heads %4/%5 (head_dim %6) · ffn %7 · vocab %8 · ctx %9")
                    .arg(c.modelType)
                    .arg(c.numLayers)
                    .arg(c.hiddenSize)
                    .arg(c.numHeads)
                    .arg(c.numKvHeads)
                    .arg(c.headDim)
                    .arg(c.intermediateSize)
                    .arg(c.vocabSize)
                    .arg(c.maxPositionEmbeddings);
    if (c.attentionBias)
        s += QStringLiteral(" · qkv bias");
    if (c.qkNorm)
        s += QStringLiteral(" · q/k norm");
    if (c.ropeScaling.type == u"llama3")
        s += QStringLiteral(" · llama3 rope ×%1").arg(c.ropeScaling.factor);
    return s;
}

QString tensorRole(const Model& m, const QString& name)
{
    if (name == m.embeddingTensor())
        return m.headTied() ? QStringLiteral("embedding+head") : QStringLiteral("embedding");
    if (name == m.finalNormTensor() || name.endsWith(u"norm.weight"))
        return QStringLiteral("norm");
    if (const LinearLayerInfo* l = m.findLinear(name.chopped(name.endsWith(u".bias") ? 5 : 0)))
        return linearKindName(l->kind) + (name.endsWith(u".bias") ? QStringLiteral(" bias") : QString());
    if (const LinearLayerInfo* l = m.findLinear(name))
        return linearKindName(l->kind);
    return QStringLiteral("unused");
}

QJsonObject modelSummaryJson(const Model& m)
{
    const ModelConfig& c = m.config();
    const ModelTotals& t = m.totals();
    QJsonObject arch{
        {u"model_type"_s, c.modelType},
        {u"hidden_size"_s, c.hiddenSize},
        {u"intermediate_size"_s, c.intermediateSize},
        {u"num_hidden_layers"_s, c.numLayers},
        {u"num_attention_heads"_s, c.numHeads},
        {u"num_key_value_heads"_s, c.numKvHeads},
        {u"head_dim"_s, c.headDim},
        {u"vocab_size"_s, c.vocabSize},
        {u"max_position_embeddings"_s, qint64(c.maxPositionEmbeddings)},
        {u"rms_norm_eps"_s, c.rmsNormEps},
        {u"rope_theta"_s, c.ropeTheta},
        {u"rope_scaling"_s, c.ropeScaling.type.isEmpty() ? QJsonValue() : QJsonValue(c.ropeScaling.type)},
        {u"tie_word_embeddings"_s, c.tieWordEmbeddings},
        {u"attention_bias"_s, c.attentionBias},
        {u"qk_norm"_s, c.qkNorm},
    };
    QJsonArray tensors;
    for (const QString& name : m.tensors().names()) {
        const TensorInfo& ti = m.tensors().info(name);
        QJsonArray shape;
        for (std::int64_t d : ti.shape)
            shape.append(qint64(d));
        tensors.append(QJsonObject{{u"name"_s, name},
                                   {u"role"_s, tensorRole(m, name)},
                                   {u"dtype"_s, ti.typeName()},
                                   {u"shape"_s, shape},
                                   {u"params"_s, qint64(ti.numel())},
                                   {u"bytes"_s, qint64(ti.bytes())}});
    }
    QJsonArray linears;
    for (const LinearLayerInfo& l : m.linears()) {
        linears.append(QJsonObject{{u"name"_s, l.name},
                                   {u"block"_s, l.block},
                                   {u"kind"_s, linearKindName(l.kind)},
                                   {u"in_features"_s, qint64(l.inFeatures)},
                                   {u"out_features"_s, qint64(l.outFeatures)},
                                   {u"params"_s, qint64(l.params())},
                                   {u"dtype"_s, dtypeName(l.dtype)},
                                   {u"bytes"_s, qint64(l.bytes())},
                                   {u"bias"_s, !l.bias.isEmpty()}});
    }
    QJsonArray unused;
    for (const QString& u : m.unusedTensors())
        unused.append(u);
    QJsonArray files;
    for (const QString& f : m.tensors().files())
        files.append(f);
    return QJsonObject{
        {u"path"_s, m.path()},
        {u"files"_s, files},
        {u"architecture"_s, arch},
        {u"blocks"_s, int(m.blocks().size())},
        {u"linear_layers"_s, t.linearLayers},
        {u"weight_dtype"_s, m.weightDtypeName()},
        {u"head_tied"_s, m.headTied()},
        {u"totals"_s,
         QJsonObject{{u"params"_s, qint64(t.params)},
                     {u"bytes"_s, qint64(t.bytes)},
                     {u"bits_per_weight"_s, t.bitsPerWeight()},
                     {u"embedding_params"_s, qint64(t.embeddingParams)},
                     {u"attention_params"_s, qint64(t.attentionParams)},
                     {u"mlp_params"_s, qint64(t.mlpParams)},
                     {u"head_params"_s, qint64(t.headParams)},
                     {u"norm_params"_s, qint64(t.normParams)},
                     {u"bias_params"_s, qint64(t.biasParams)}}},
        {u"tensors"_s, tensors},
        {u"linears"_s, linears},
        {u"unused_tensors"_s, unused},
    };
}

QString modelSummaryText(const Model& m)
{
    const ModelTotals& t = m.totals();
    QLocale c = QLocale::c();
    c.setNumberOptions({}); // C locale with digit grouping: 260,032
    QString s;
    s += QStringLiteral("Model        %1\n").arg(m.path());
    s += QStringLiteral("Architecture %1\n").arg(architectureLine(m));
    s += QStringLiteral("Blocks       %1, %2 linear layers, head %3\n")
             .arg(m.blocks().size())
             .arg(t.linearLayers)
             .arg(m.headTied() ? QStringLiteral("tied to embeddings") : QStringLiteral("separate (lm_head)"));
    s += QStringLiteral("Parameters   %1 (embedding %2, attention %3, mlp %4, head %5, norms %6, biases %7)\n")
             .arg(c.toString(t.params), c.toString(t.embeddingParams), c.toString(t.attentionParams),
                  c.toString(t.mlpParams), c.toString(t.headParams), c.toString(t.normParams),
                  c.toString(t.biasParams));
    s += QStringLiteral("Size         %1 (%2 bytes), %3 bits per weight, weights %4\n")
             .arg(formatBytes(double(t.bytes)), c.toString(qulonglong(t.bytes)))
             .arg(t.bitsPerWeight(), 0, 'f', 2)
             .arg(m.weightDtypeName());
    if (!m.unusedTensors().isEmpty())
        s += QStringLiteral("Unused       %1\n").arg(m.unusedTensors().join(u", "));
    s += u'\n';
    int width = 6;
    for (const QString& name : m.tensors().names())
        width = std::max(width, int(name.size()));
    s += QStringLiteral("%1  %2  %3  %4  %5\n")
             .arg(QStringLiteral("tensor").leftJustified(width), QStringLiteral("role").leftJustified(14),
                  QStringLiteral("dtype").leftJustified(5), QStringLiteral("shape").leftJustified(14),
                  QStringLiteral("bytes").rightJustified(14));
    for (const QString& name : m.tensors().names()) {
        const TensorInfo& ti = m.tensors().info(name);
        s += QStringLiteral("%1  %2  %3  %4  %5\n")
                 .arg(name.leftJustified(width), tensorRole(m, name).leftJustified(14),
                      ti.typeName().leftJustified(5), shapeString(ti.shape).leftJustified(14),
                      c.toString(qulonglong(ti.bytes())).rightJustified(14));
    }
    return s;
}

} // namespace qs
