#include "io/GgufNames.h"

#include <QRegularExpression>

namespace qs {

namespace {
constexpr char kGgufBlockPrefix[] = "blk.";
constexpr char kHfBlockPrefix[] = "model.layers.";
} // namespace

QString ggufBlockTensorName(int block, const char* part, const char* suffix)
{
    return QLatin1String(kGgufBlockPrefix) + QString::number(block) + u'.' + QLatin1String(part) + u'.' +
           QLatin1String(suffix);
}

QString ggufLinearTensorName(LinearKind kind, int block, const char* suffix)
{
    const char* part = linearKindInfo(kind).gguf;
    if (kind == LinearKind::Head || block < 0)
        return QLatin1String(part) + u'.' + QLatin1String(suffix);
    return ggufBlockTensorName(block, part, suffix);
}

QString ggufBlockNormName(BlockNorm norm, int block)
{
    return ggufBlockTensorName(block, blockNormInfo(norm).gguf);
}

QString hfBlockPrefix(int block)
{
    return QLatin1String(kHfBlockPrefix) + QString::number(block) + u'.';
}

QString hfBlockNormName(BlockNorm norm, int block)
{
    return hfBlockPrefix(block) + QLatin1String(blockNormInfo(norm).hf) + u".weight";
}

std::optional<HfTensorName> hfTensorOfGguf(const QString& ggufName)
{
    for (const ModelTensorInfo& t : kModelTensors) {
        if (ggufName == QLatin1String(t.gguf)) {
            if (*t.hf == '\0')
                return std::nullopt;
            return HfTensorName{QLatin1String(t.hf), std::nullopt, false};
        }
    }
    const LinearKindInfo& head = linearKindInfo(LinearKind::Head);
    if (ggufName == ggufLinearTensorName(LinearKind::Head, -1))
        return HfTensorName{QLatin1String(head.name) + u".weight", LinearKind::Head, false};

    static const QRegularExpression blockRe(QStringLiteral("^blk\\.(\\d+)\\.([a-z_]+)\\.(weight|bias)$"));
    const QRegularExpressionMatch b = blockRe.match(ggufName);
    if (!b.hasMatch())
        return std::nullopt;
    const QString part = b.captured(2);
    const QString prefix = QLatin1String(kHfBlockPrefix) + b.captured(1) + u'.';
    const QString suffix = u'.' + b.captured(3);
    const bool bias = b.captured(3) == u"bias";
    for (const LinearKindInfo& k : kLinearKinds) {
        if (k.kind != LinearKind::Head && part == QLatin1String(k.gguf))
            return HfTensorName{prefix + QLatin1String(k.module) + u'.' + QLatin1String(k.name) + suffix,
                                k.kind, bias};
    }
    for (const BlockNormInfo& n : kBlockNorms) {
        if (part == QLatin1String(n.gguf))
            return HfTensorName{prefix + QLatin1String(n.hf) + suffix, std::nullopt, bias};
    }
    return std::nullopt;
}

} // namespace qs
