#include "spec/QuantSpec.h"

#include "kernels/GgmlQuants.h"
#include "kernels/Rotation.h"
#include "util/Error.h"

#include <QJsonValue>
#include <algorithm>
#include <cmath>

namespace qs {

QString quantMethodName(QuantMethod m)
{
    return QLatin1String(quantMethodInfo(m).name);
}

bool quantMethodFromName(const QString& name, QuantMethod& out)
{
    for (const QuantMethodInfo& i : kQuantMethods) {
        if (name.compare(QLatin1String(i.name), Qt::CaseInsensitive) == 0) {
            out = i.method;
            return true;
        }
    }
    return false;
}

QStringList quantMethodNames(bool withFloat)
{
    QStringList names;
    for (const QuantMethodInfo& i : kQuantMethods) {
        if (withFloat || i.method != QuantMethod::Float)
            names << QLatin1String(i.name);
    }
    return names;
}

std::pair<int, int> quantBitRange()
{
    std::pair<int, int> range{64, 0};
    for (const QuantMethodInfo& i : kQuantMethods) {
        if (i.method == QuantMethod::Float)
            continue;
        range.first = std::min(range.first, i.minBits);
        range.second = std::max(range.second, i.maxBits);
    }
    return range;
}

QStringList quantBitChoices(QuantMethod m)
{
    QStringList out;
    if (quantMethodInfo(m).grouped) {
        for (int b = quantMethodInfo(m).minBits; b <= quantMethodInfo(m).maxBits; ++b)
            out << QString::number(b);
    }
    return out;
}

QStringList quantGroupChoices(QuantMethod m)
{
    QStringList out;
    if (!quantMethodInfo(m).grouped)
        return out;
    if (m == QuantMethod::SqueezeLlm || m == QuantMethod::QuipSharp ||
        m == QuantMethod::Aqlm) // a codebook or a scale per output row
        return {granularityName(Granularity::PerChannel)};
    out << granularityName(Granularity::PerChannel) << granularityName(Granularity::PerTensor);
    for (int g : kOfferedGroupSizes)
        out << QString::number(g);
    return out;
}

QString granularityName(Granularity g)
{
    switch (g) {
    case Granularity::PerTensor:
        return QStringLiteral("tensor");
    case Granularity::PerChannel:
        return QStringLiteral("channel");
    case Granularity::PerGroup:
        return QStringLiteral("group");
    }
    return {};
}

namespace {

/// Nominal bits of a ggml block type (the digit in its name) and whether it stores a minimum.
struct GgmlNominal
{
    int bits = 0;
    bool withMin = false;
};

GgmlNominal ggmlNominal(GgmlType t)
{
    const GgmlTypeInfo& info = ggmlTypeInfo(t);
    return {info.nominalBits, info.storesMin};
}

/// The ggml types a gguf layer can take: the block formats we quantize, less Q8_K (an
/// intermediate for dot products that llama.cpp never stores as a weight).
bool ggmlWeightType(GgmlType t)
{
    return ggmlNominal(t).bits > 0 && ggmlTypeInfo(t).canQuantize;
}

QString ggmlWeightTypeNames()
{
    return QuantSpec::ggmlTypeChoices().join(u", ");
}

} // namespace

QStringList QuantSpec::ggmlTypeChoices()
{
    QStringList names;
    for (const GgmlTypeInfo& i : kGgmlTypes) {
        if (ggmlWeightType(i.type))
            names << QLatin1String(i.name);
    }
    return names;
}

GgmlType QuantSpec::ggmlTypeForBits(int bits)
{
    switch (std::clamp(bits, 2, 8)) {
    case 2:
        return GgmlType::Q2_K;
    case 3:
        return GgmlType::Q3_K;
    case 4:
        return GgmlType::Q4_K;
    case 5:
        return GgmlType::Q5_K;
    case 6:
        return GgmlType::Q6_K;
    default:
        return GgmlType::Q8_0;
    }
}

QuantSpec QuantSpec::ggml(GgmlType type, bool importance)
{
    if (!ggmlWeightType(type))
        throw Error(QStringLiteral("GGUF type %1 cannot be produced (types: %2)")
                        .arg(ggmlTypeName(type), ggmlWeightTypeNames()));
    QuantSpec s;
    s.method = QuantMethod::Ggml;
    s.ggmlType = type;
    s.importance = importance;
    s.bits = ggmlNominal(type).bits;
    s.symmetric = !ggmlNominal(type).withMin;
    s.granularity = Granularity::PerGroup;
    s.groupSize = ggmlTypeInfo(type).blockSize;
    return s;
}

namespace {
int blockSizeOf(GgmlType t)
{
    return ggmlTypeInfo(t).blockSize;
}
} // namespace

QuantSpec QuantSpec::fittedTo(std::int64_t cols, QString* note) const
{
    if (method != QuantMethod::Ggml || cols % ggmlTypeInfo(ggmlType).blockSize == 0)
        return *this;
    const std::optional<GgmlType> fitted = ggmlRowFallback(ggmlType, cols);
    if (!fitted)
        throw Error(
            QStringLiteral(
                "GGUF %1 stores rows in blocks of %2 values; rows of %3 values do not fit and llama.cpp "
                "has no fallback for %1 (choose a type whose block divides %3)")
                .arg(ggmlTypeName(ggmlType))
                .arg(ggmlTypeInfo(ggmlType).blockSize)
                .arg(cols));
    QuantSpec s;
    if (*fitted == GgmlType::F16) {
        s.method = QuantMethod::Float;
        s.floatType = DType::F16;
    } else {
        s = QuantSpec::ggml(*fitted, importance);
    }
    if (note) {
        // Q4_K → Q5_0 → F16: say which blocks the row misses.
        QString blocks =
            QStringLiteral("%1's %2-value block").arg(ggmlTypeName(ggmlType)).arg(blockSizeOf(ggmlType));
        const std::optional<GgmlType> first = ggmlTypeInfo(ggmlType).rowFallback;
        if (*fitted == GgmlType::F16 && first)
            blocks += QStringLiteral(" nor of %1's %2").arg(ggmlTypeName(*first)).arg(blockSizeOf(*first));
        *note =
            QStringLiteral("rows of %1 values are not a multiple of %2: stored as %3 (llama.cpp's fallback)")
                .arg(cols)
                .arg(blocks, *fitted == GgmlType::F16 ? QStringLiteral("F16") : ggmlTypeName(*fitted));
    }
    return s;
}

GgmlType ggmlPlainType(DType t)
{
    const std::optional<GgmlType> g = ggmlTypeOfDType(t);
    return g && ggmlFloatDType(*g) ? *g : GgmlType::F32;
}

std::optional<GgmlType> QuantSpec::ggufType() const
{
    if (method == QuantMethod::Ggml)
        return ggmlType;
    if (method == QuantMethod::Float)
        return ggmlPlainType(floatType);
    return std::nullopt;
}

bool QuantSpec::needsCalibration() const
{
    return quantMethodInfo(method).needsCalibration || (method == QuantMethod::Ggml && importance);
}

std::int64_t QuantSpec::groupLength(std::int64_t cols) const
{
    return granularity == Granularity::PerGroup ? std::min<std::int64_t>(groupSize, cols) : cols;
}

std::int64_t QuantSpec::groupsPerRow(std::int64_t cols) const
{
    const std::int64_t g = groupLength(cols);
    return g > 0 ? (cols + g - 1) / g : 0;
}

std::int64_t QuantSpec::sparseCount(std::int64_t rows, std::int64_t cols) const
{
    if (method != QuantMethod::SqueezeLlm || sparsePercent <= 0)
        return 0;
    const double n = double(rows) * double(cols);
    return std::min<std::int64_t>(std::int64_t(std::llround(n * sparsePercent / 100.0)), rows * cols);
}

QuantSpec::Cost QuantSpec::cost(std::int64_t rows, std::int64_t cols, std::int64_t outlierColumns,
                                std::int64_t sparse) const
{
    Cost c;
    const std::uint64_t params = std::uint64_t(rows) * std::uint64_t(cols);
    if (method == QuantMethod::Float) {
        c.codeBytes = params * std::uint64_t(dtypeInfo(floatType).bytes);
        return c;
    }
    if (method == QuantMethod::Ggml) { // whole blocks (scales inside); a partial block counts whole
        const GgmlTypeInfo& t = ggmlTypeInfo(ggmlType);
        const std::uint64_t blocks =
            (std::uint64_t(cols) + std::uint64_t(t.blockSize) - 1) / std::uint64_t(t.blockSize);
        c.codeBytes = std::uint64_t(rows) * blocks * std::uint64_t(t.typeSize);
        return c;
    }
    if (method == QuantMethod::SqueezeLlm) { // codes, one f16 codebook per row, the sparse matrix (CSR)
        c.codeBytes = (params * std::uint64_t(bits) + 7) / 8;
        c.scaleBytes = std::uint64_t(rows) * (std::uint64_t(1) << bits) * 2;
        const std::uint64_t nnz = std::uint64_t(sparse >= 0 ? sparse : sparseCount(rows, cols));
        if (nnz > 0)
            c.extraBytes = nnz * (2 + 4) + (std::uint64_t(rows) + 1) * 4;
        return c;
    }
    const std::uint64_t quantCols = std::uint64_t(cols - outlierColumns);
    c.codeBytes = (std::uint64_t(rows) * quantCols * std::uint64_t(bits) + 7) / 8; // packed bit stream
    const std::uint64_t nScales =
        granularity == Granularity::PerTensor ? 1 : std::uint64_t(rows) * std::uint64_t(groupsPerRow(cols));
    const std::uint64_t scaleBytes = std::uint64_t(dtypeInfo(scaleType).bytes);
    c.scaleBytes = nScales * scaleBytes;
    if (!symmetric)
        c.zeroBytes = floatZeros ? nScales * scaleBytes : (nScales * std::uint64_t(bits) + 7) / 8;
    if (outlierColumns > 0) // LLM.int8: outlier columns in f16 plus their int32 indices
        c.extraBytes += std::uint64_t(outlierColumns) * (std::uint64_t(rows) * 2 + 4);
    if (method == QuantMethod::Awq ||
        method == QuantMethod::SmoothQuant) // per-input scales (f16), folded at export
        c.extraBytes += std::uint64_t(cols) * 2;
    if (method == QuantMethod::Gptq && actOrder) // g_idx, int32 per input column
        c.extraBytes += std::uint64_t(cols) * 4;
    if (incoherence == Incoherence::Hadamard && cols > 0) // the transform: sign bits, R_m in f32
        c.extraBytes += Rotation::storedBytes(cols);
    if (method == QuantMethod::Aqlm && codebookBits > 0) // the layer's codebooks: 2^B entries of 8 f16 values
        c.scaleBytes += std::uint64_t(additiveCodebooks()) * (std::uint64_t(1) << codebookBits) * 8 * 2;
    return c;
}

QString QuantSpec::validate() const
{
    const QuantMethodInfo& info = quantMethodInfo(method);
    if (method == QuantMethod::Float) {
        if (floatType != DType::F32 && floatType != DType::F16 && floatType != DType::BF16)
            return QStringLiteral("float layers are stored as f32, f16 or bf16");
        return {};
    }
    if (method == QuantMethod::Ggml) {
        if (!ggmlWeightType(ggmlType))
            return QStringLiteral("GGUF type %1 cannot be produced (types: %2)")
                .arg(ggmlTypeName(ggmlType), ggmlWeightTypeNames());
        if (QuantSpec::ggml(ggmlType, importance) != *this)
            return QStringLiteral("a GGUF %1 layer has %2 bits, per-group %3%4")
                .arg(ggmlTypeName(ggmlType))
                .arg(ggmlNominal(ggmlType).bits)
                .arg(ggmlTypeInfo(ggmlType).blockSize)
                .arg(ggmlNominal(ggmlType).withMin ? QStringLiteral(", asymmetric")
                                                   : QStringLiteral(", symmetric"));
        return {};
    }
    if (bits < info.minBits || bits > info.maxBits)
        return QStringLiteral("bits %1 is outside %2's range %3–%4")
            .arg(bits)
            .arg(QLatin1String(info.name))
            .arg(info.minBits)
            .arg(info.maxBits);
    if (granularity == Granularity::PerGroup && groupSize <= 0)
        return QStringLiteral("group size must be positive, got %1").arg(groupSize);
    if (scaleType != DType::F16 && scaleType != DType::F32)
        return QStringLiteral("scales are stored as f16 or f32");
    if (method == QuantMethod::Gptq && (dampPercent <= 0 || dampPercent >= 1 || blockSize <= 0))
        return QStringLiteral("GPTQ needs 0 < damp < 1 and a positive block size");
    if (method == QuantMethod::Awq && awqGrid < 1)
        return QStringLiteral("AWQ needs at least one grid point");
    if (method == QuantMethod::SmoothQuant && (smoothAlpha < 0 || smoothAlpha > 1))
        return QStringLiteral("SmoothQuant alpha must lie in [0, 1]");
    if (method == QuantMethod::LlmInt8 && outlierThreshold <= 0)
        return QStringLiteral("LLM.int8 outlier threshold must be positive");
    if (incoherence != Incoherence::None && method != QuantMethod::Rtn && method != QuantMethod::Gptq &&
        method != QuantMethod::Hqq && method != QuantMethod::QuipSharp && method != QuantMethod::Aqlm)
        return QStringLiteral("incoherence processing applies to RTN, GPTQ, HQQ, QuIP# and AQLM, not %1")
            .arg(quantMethodName(method));
    if (method == QuantMethod::Aqlm) {
        if (granularity != Granularity::PerChannel || !symmetric)
            return QStringLiteral(
                "AQLM keeps one scale per output row (granularity channel, symmetric); its codebooks do "
                "the rest");
        if (codebookBits < 4 || codebookBits > 16 || codebookBits % 2 != 0)
            return QStringLiteral("AQLM codebooks have an even number of index bits from 4 to 16 (16 to "
                                  "65536 entries), got %1")
                .arg(codebookBits);
        if ((8 * bits) % codebookBits != 0 || 8 * bits / codebookBits > 8)
            return QStringLiteral("AQLM at %1 bits a weight has %2 bits a group of 8, which codebooks of %3 "
                                  "bits do not fill (e.g. 4x4, 2x8 or 1x16 at 2 bits, 6x4, 3x8 or 2x12 at 3, "
                                  "8x4, 4x8 or 2x16 at 4)")
                .arg(bits)
                .arg(8 * bits)
                .arg(codebookBits);
        if (beamSize < 1 || beamSize > 64)
            return QStringLiteral("AQLM's beam size must lie in 1–64, got %1").arg(beamSize);
        if (rounds < 1 || rounds > 20)
            return QStringLiteral("AQLM's rounds must lie in 1–20, got %1").arg(rounds);
        if (dampPercent <= 0 || dampPercent >= 1)
            return QStringLiteral("AQLM needs 0 < damp < 1");
    }
    if (method == QuantMethod::QuipSharp &&
        (incoherence != Incoherence::Hadamard || granularity != Granularity::PerChannel || !symmetric))
        return QStringLiteral("QuIP# rotates the inputs (incoherence hadamard) and keeps one symmetric scale "
                              "per output row (granularity channel, symmetric)");
    if (method == QuantMethod::QuipSharp &&
        (dampPercent <= 0 || dampPercent >= 1 || blockSize <= 0 || blockSize % 8 != 0))
        return QStringLiteral("QuIP# needs 0 < damp < 1 and a positive block size that is a multiple of 8");
    if (method == QuantMethod::SqueezeLlm && granularity != Granularity::PerChannel)
        return QStringLiteral("SqueezeLLM keeps one codebook per output row: granularity must be channel");
    if (method == QuantMethod::SqueezeLlm && !(sparsePercent >= 0 && sparsePercent <= 10))
        return QStringLiteral("SqueezeLLM's sparse share must lie in 0–10 %, got %1").arg(sparsePercent);
    if (method == QuantMethod::Hqq && symmetric)
        return QStringLiteral("HQQ optimises each group's zero point: it needs asymmetric quantization");
    if (method == QuantMethod::Hqq && (hqqIterations < 1 || hqqIterations > 1000))
        return QStringLiteral("HQQ iterations must lie in 1–1000, got %1").arg(hqqIterations);
    if (method == QuantMethod::Hqq && !(hqqLpNorm > 0 && hqqLpNorm <= 1))
        return QStringLiteral("HQQ's l_p norm must lie in (0, 1], got %1").arg(hqqLpNorm);
    if (info.quantizesActivations && (activationBits < 4 || activationBits > 8))
        return QStringLiteral("activation bits must lie in 4–8");
    return {};
}

QuantSpec quipSharpDefaults(QuantSpec s)
{
    s.granularity = Granularity::PerChannel;
    s.symmetric = true;
    s.incoherence = Incoherence::Hadamard;
    return s;
}

QuantSpec aqlmDefaults(QuantSpec s)
{
    s.granularity = Granularity::PerChannel;
    s.symmetric = true;
    return s;
}

QString incoherenceName(Incoherence i)
{
    return i == Incoherence::Hadamard ? QStringLiteral("hadamard") : QStringLiteral("none");
}

QString QuantSpec::label() const
{
    if (method == QuantMethod::Float)
        return dtypeName(floatType);
    if (method == QuantMethod::Ggml)
        return u"gguf " + ggmlTypeName(ggmlType) + (importance ? QStringLiteral(" imatrix") : QString());
    QString s = quantMethodName(method);
    if (method == QuantMethod::SqueezeLlm) // "squeezellm int3 lut + 0.45% sparse"
        return s + QStringLiteral(" int%1 lut").arg(bits) +
               (sparsePercent > 0 ? QStringLiteral(" + %1% sparse").arg(sparsePercent) : QString());
    if (method == QuantMethod::QuipSharp) // "quipsharp int2 e8p", "quipsharp int4 e8p+e8p"
        return s + QStringLiteral(" int%1 %2")
                       .arg(bits)
                       .arg(bits == 2   ? QStringLiteral("e8p")
                            : bits == 3 ? QStringLiteral("e8p+shell")
                                        : QStringLiteral("e8p+e8p"));
    if (method == QuantMethod::Aqlm) // "aqlm int2 2x8", "aqlm int2 1x16 hadamard"
        return s + QStringLiteral(" int%1 %2x%3").arg(bits).arg(additiveCodebooks()).arg(codebookBits) +
               (incoherence == Incoherence::Hadamard ? QStringLiteral(" hadamard") : QString());
    if (quantMethodInfo(method).quantizesActivations)
        s += QStringLiteral(" w%1a%2").arg(bits).arg(activationBits);
    else
        s += QStringLiteral(" int%1").arg(bits);
    if (granularity == Granularity::PerGroup)
        s += QStringLiteral(" g%1").arg(groupSize);
    else
        s += u' ' + granularityName(granularity);
    s += symmetric ? QStringLiteral(" sym") : QStringLiteral(" asym");
    if (method == QuantMethod::Gptq && actOrder)
        s += QStringLiteral(" act-order");
    if (method == QuantMethod::Gptq && !staticGroups && granularity == Granularity::PerGroup)
        s += QStringLiteral(" dynamic groups");
    if (clipSearch && (method == QuantMethod::Rtn || method == QuantMethod::Awq))
        s += QStringLiteral(" clip");
    if (incoherence == Incoherence::Hadamard)
        s += QStringLiteral(" hadamard");
    return s;
}

QString QuantSpec::shortName() const
{
    if (method == QuantMethod::Float)
        return dtypeName(floatType);
    if (method == QuantMethod::Ggml)
        return u"gguf-" + ggmlTypeName(ggmlType).toLower() +
               (importance ? QStringLiteral("-imat") : QString());
    QString s = quantMethodName(method) + QStringLiteral("-w%1").arg(bits);
    if (method == QuantMethod::SqueezeLlm) // "squeezellm-w3-ch", "squeezellm-w3-ch-sp0.1"
        return s + QStringLiteral("-ch") +
               (sparsePercent != QuantSpec().sparsePercent ? QStringLiteral("-sp%1").arg(sparsePercent)
                                                           : QString());
    if (method == QuantMethod::QuipSharp) // "quipsharp-w2": per row, symmetric and rotated by definition
        return s;
    if (method == QuantMethod::Aqlm) { // "aqlm-w2-2x8", "aqlm-w2-1x16-beam4-r2-had"
        const QuantSpec d;
        s += QStringLiteral("-%1x%2").arg(additiveCodebooks()).arg(codebookBits);
        if (beamSize != d.beamSize)
            s += QStringLiteral("-beam%1").arg(beamSize);
        if (rounds != d.rounds)
            s += QStringLiteral("-r%1").arg(rounds);
        return s + (incoherence == Incoherence::Hadamard ? QStringLiteral("-had") : QString());
    }
    if (granularity == Granularity::PerGroup)
        s += QStringLiteral("-g%1").arg(groupSize);
    else
        s += granularity == Granularity::PerChannel ? QStringLiteral("-ch") : QStringLiteral("-tensor");
    if (symmetric)
        s += QStringLiteral("-sym");
    if (clipSearch && (method == QuantMethod::Rtn || method == QuantMethod::Awq))
        s += QStringLiteral("-clip");
    if (actOrder && method == QuantMethod::Gptq)
        s += QStringLiteral("-act");
    if (!staticGroups && method == QuantMethod::Gptq && granularity == Granularity::PerGroup)
        s += QStringLiteral("-dyn");
    if (incoherence == Incoherence::Hadamard)
        s += QStringLiteral("-had");
    return s;
}

QuantSpec QuantSpec::fromShortName(const QString& name)
{
    QuantSpec spec;
    const QStringList parts = name.trimmed().toLower().split(u'-');
    for (const DTypeInfo& d : kDTypes) {
        if (d.isFloat && d.type != DType::F64 && parts.size() == 1 &&
            parts.front() == QLatin1String(d.name)) {
            spec.method = QuantMethod::Float;
            spec.floatType = d.type;
            return spec;
        }
    }
    if (!quantMethodFromName(parts.front(), spec.method) || spec.method == QuantMethod::Float)
        throw Error(
            QStringLiteral("scheme '%1': unknown method '%2' (methods: %3; float layers: f16, bf16, f32)")
                .arg(name, parts.front(), quantMethodNames(false).join(u", ")));
    if (spec.method == QuantMethod::Ggml) { // gguf-TYPE[-imat]
        const auto type = parts.size() >= 2 ? ggmlTypeFromName(parts[1]) : std::nullopt;
        if (!type || parts.size() > 3 || (parts.size() == 3 && parts[2] != u"imat"))
            throw Error(
                QStringLiteral("scheme '%1': expected gguf-TYPE or gguf-TYPE-imat with TYPE one of %2")
                    .arg(name, ggmlWeightTypeNames()));
        if (!ggmlWeightType(*type))
            throw Error(QStringLiteral("scheme '%1': GGUF type %2 cannot be produced (types: %3)")
                            .arg(name, ggmlTypeName(*type), ggmlWeightTypeNames()));
        return QuantSpec::ggml(*type, parts.size() == 3);
    }
    spec.bits = quantMethodInfo(spec.method).minBits == quantMethodInfo(spec.method).maxBits
                    ? quantMethodInfo(spec.method).minBits
                    : spec.bits;
    spec.floatZeros = spec.method == QuantMethod::Hqq; // HQQ's zeros are real-valued
    if (spec.method == QuantMethod::SqueezeLlm)
        spec.granularity = Granularity::PerChannel;
    if (spec.method == QuantMethod::QuipSharp)
        spec = quipSharpDefaults(spec);
    if (spec.method == QuantMethod::Aqlm)
        spec = aqlmDefaults(spec);
    int aqlmBooks = 0; // the N of an "NxB" token, checked against the bits once all tokens are read
    // The parts were split at '-' and lowered: "sp0.45" arrives whole ('.' is no separator).
    for (qsizetype i = 1; i < parts.size(); ++i) {
        const QString& t = parts[i];
        bool ok = true;
        if (t.size() > 1 && t.front() == u'w') {
            spec.bits = t.mid(1).toInt(&ok);
        } else if (t.size() > 1 && t.front() == u'g') {
            spec.granularity = Granularity::PerGroup;
            spec.groupSize = t.mid(1).toInt(&ok);
        } else if (t == u"ch") {
            spec.granularity = Granularity::PerChannel;
        } else if (t == u"tensor") {
            spec.granularity = Granularity::PerTensor;
        } else if (t == u"sym") {
            spec.symmetric = true;
        } else if (t == u"asym") {
            spec.symmetric = false;
        } else if (t == u"clip") {
            spec.clipSearch = true;
        } else if (t == u"act") {
            spec.actOrder = true;
        } else if (t == u"had") {
            spec.incoherence = Incoherence::Hadamard;
        } else if (t == u"dyn" && spec.method == QuantMethod::Gptq) {
            spec.staticGroups = false;
        } else if (t.size() > 2 && t.startsWith(u"sp") && spec.method == QuantMethod::SqueezeLlm) {
            spec.sparsePercent = t.mid(2).toDouble(&ok);
        } else if (spec.method == QuantMethod::Aqlm && t.count(u'x') == 1 && !t.startsWith(u'x')) {
            bool okBooks = false;
            aqlmBooks = t.section(u'x', 0, 0).toInt(&okBooks);
            spec.codebookBits = t.section(u'x', 1, 1).toInt(&ok);
            ok = ok && okBooks && aqlmBooks > 0;
        } else if (spec.method == QuantMethod::Aqlm && t.size() > 4 && t.startsWith(u"beam")) {
            spec.beamSize = t.mid(4).toInt(&ok);
        } else if (spec.method == QuantMethod::Aqlm && t.size() > 1 && t.front() == u'r') {
            spec.rounds = t.mid(1).toInt(&ok);
        } else {
            ok = false;
        }
        if (!ok)
            throw Error(
                QStringLiteral("scheme '%1': cannot read '%2' (expected wB, gN, ch, tensor, sym, asym, clip, "
                               "act, dyn (GPTQ), spP (SqueezeLLM's sparse percent), MxB, beamK, rN (AQLM's "
                               "codebooks, beam and rounds) or had, e.g. gptq-w4-g128, aqlm-w2-2x8)")
                    .arg(name, t));
    }
    if (aqlmBooks > 0 && aqlmBooks * spec.codebookBits != 8 * spec.bits)
        throw Error(QStringLiteral("scheme '%1': %2 codebooks of %3 bits give %4 bits a group of 8 weights, "
                                   "not the %5 of w%6")
                        .arg(name)
                        .arg(aqlmBooks)
                        .arg(spec.codebookBits)
                        .arg(aqlmBooks * spec.codebookBits)
                        .arg(8 * spec.bits)
                        .arg(spec.bits));
    const QString problem = spec.validate();
    if (!problem.isEmpty())
        throw Error(QStringLiteral("scheme '%1': %2").arg(name, problem));
    return spec;
}

QJsonObject QuantSpec::toJson() const
{
    QJsonObject o{{QStringLiteral("method"), quantMethodName(method)}};
    if (method == QuantMethod::Float) {
        o.insert(QStringLiteral("dtype"), dtypeName(floatType));
        return o;
    }
    if (method == QuantMethod::Ggml) {
        o.insert(QStringLiteral("type"), ggmlTypeName(ggmlType));
        o.insert(QStringLiteral("imatrix"), importance);
        return o;
    }
    o.insert(QStringLiteral("bits"), bits);
    if (method == QuantMethod::SqueezeLlm) {
        o.insert(QStringLiteral("granularity"), granularityName(granularity));
        o.insert(QStringLiteral("sparse_percent"), sparsePercent);
        return o;
    }
    if (method == QuantMethod::QuipSharp) { // the rest is fixed by the method (validate())
        o.insert(QStringLiteral("granularity"), granularityName(granularity));
        o.insert(QStringLiteral("symmetric"), symmetric);
        o.insert(QStringLiteral("scale_dtype"), dtypeName(scaleType));
        o.insert(QStringLiteral("incoherence"), incoherenceName(incoherence));
        o.insert(QStringLiteral("incoherence_seed"), incoherenceSeed);
        o.insert(QStringLiteral("damp_percent"), dampPercent);
        o.insert(QStringLiteral("block_size"), blockSize);
        return o;
    }
    if (method == QuantMethod::Aqlm) {
        o.insert(QStringLiteral("granularity"), granularityName(granularity));
        o.insert(QStringLiteral("symmetric"), symmetric);
        o.insert(QStringLiteral("scale_dtype"), dtypeName(scaleType));
        o.insert(QStringLiteral("codebook_bits"), codebookBits);
        o.insert(QStringLiteral("beam_size"), beamSize);
        o.insert(QStringLiteral("rounds"), rounds);
        o.insert(QStringLiteral("damp_percent"), dampPercent);
        o.insert(QStringLiteral("incoherence"), incoherenceName(incoherence));
        o.insert(QStringLiteral("incoherence_seed"), incoherenceSeed);
        return o;
    }
    o.insert(QStringLiteral("symmetric"), symmetric);
    o.insert(QStringLiteral("granularity"), granularityName(granularity));
    if (granularity == Granularity::PerGroup)
        o.insert(QStringLiteral("group_size"), groupSize);
    o.insert(QStringLiteral("scale_dtype"), dtypeName(scaleType));
    if (!symmetric)
        o.insert(QStringLiteral("float_zeros"), floatZeros);
    if (method == QuantMethod::Rtn || method == QuantMethod::Gptq || method == QuantMethod::Hqq) {
        o.insert(QStringLiteral("incoherence"), incoherenceName(incoherence));
        o.insert(QStringLiteral("incoherence_seed"), incoherenceSeed);
    }
    switch (method) {
    case QuantMethod::Rtn:
        o.insert(QStringLiteral("clip_search"), clipSearch);
        break;
    case QuantMethod::Gptq:
        o.insert(QStringLiteral("damp_percent"), dampPercent);
        o.insert(QStringLiteral("act_order"), actOrder);
        o.insert(QStringLiteral("static_groups"), staticGroups);
        o.insert(QStringLiteral("block_size"), blockSize);
        break;
    case QuantMethod::Awq:
        o.insert(QStringLiteral("grid"), awqGrid);
        o.insert(QStringLiteral("clip_search"), clipSearch);
        break;
    case QuantMethod::SmoothQuant:
        o.insert(QStringLiteral("alpha"), smoothAlpha);
        o.insert(QStringLiteral("activation_bits"), activationBits);
        break;
    case QuantMethod::LlmInt8:
        o.insert(QStringLiteral("threshold"), outlierThreshold);
        o.insert(QStringLiteral("activation_bits"), activationBits);
        break;
    case QuantMethod::Dynamic:
        o.insert(QStringLiteral("activation_bits"), activationBits);
        break;
    case QuantMethod::Hqq:
        o.insert(QStringLiteral("iterations"), hqqIterations);
        o.insert(QStringLiteral("lp_norm"), hqqLpNorm);
        break;
    case QuantMethod::SqueezeLlm:
    case QuantMethod::QuipSharp:
    case QuantMethod::Aqlm:
    case QuantMethod::Float:
    case QuantMethod::Ggml:
        break;
    }
    return o;
}

QuantSpec QuantSpec::fromJson(const QJsonObject& o, const QString& path)
{
    return fromJson(o, path, QuantSpec());
}

QuantSpec QuantSpec::fromJson(const QJsonObject& o, const QString& path, const QuantSpec& base)
{
    QuantSpec s = base;
    auto fail = [&](const QString& key, const QString& problem) {
        return Error(QStringLiteral("%1.%2: %3").arg(path, key, problem));
    };
    auto integer = [&](const char* key, int& dst) {
        const QJsonValue v = o.value(QLatin1String(key));
        if (v.isUndefined())
            return;
        if (!v.isDouble() || v.toDouble() != std::floor(v.toDouble()))
            throw fail(QLatin1String(key), QStringLiteral("must be an integer"));
        dst = v.toInt();
    };
    auto number = [&](const char* key, double& dst) {
        const QJsonValue v = o.value(QLatin1String(key));
        if (v.isUndefined())
            return;
        if (!v.isDouble())
            throw fail(QLatin1String(key), QStringLiteral("must be a number"));
        dst = v.toDouble();
    };
    auto boolean = [&](const char* key, bool& dst) {
        const QJsonValue v = o.value(QLatin1String(key));
        if (v.isUndefined())
            return;
        if (!v.isBool())
            throw fail(QLatin1String(key), QStringLiteral("must be true or false"));
        dst = v.toBool();
    };
    auto dtype = [&](const char* key, DType& dst) {
        const QJsonValue v = o.value(QLatin1String(key));
        if (v.isUndefined())
            return;
        for (const DTypeInfo& d : kDTypes) {
            if (d.isFloat && v.toString() == QLatin1String(d.name)) {
                dst = d.type;
                return;
            }
        }
        throw fail(QLatin1String(key), u"unknown type '" + v.toString() + u"' (f32, f16, bf16)");
    };
    if (o.contains(u"method")) {
        const QString name = o.value(u"method").toString();
        if (!quantMethodFromName(name, s.method))
            throw fail(QStringLiteral("method"),
                       u"unknown method '" + name + u"' (known: " + quantMethodNames().join(u", ") + u')');
    }
    integer("bits", s.bits);
    boolean("symmetric", s.symmetric);
    if (o.contains(u"granularity")) {
        const QString g = o.value(u"granularity").toString();
        if (g == u"tensor" || g == u"per-tensor")
            s.granularity = Granularity::PerTensor;
        else if (g == u"channel" || g == u"per-channel")
            s.granularity = Granularity::PerChannel;
        else if (g == u"group" || g == u"per-group")
            s.granularity = Granularity::PerGroup;
        else
            throw fail(QStringLiteral("granularity"),
                       u"unknown granularity '" + g + u"' (tensor, channel, group)");
    }
    if (o.contains(u"group_size")) {
        integer("group_size", s.groupSize);
        if (!o.contains(u"granularity"))
            s.granularity = Granularity::PerGroup;
    }
    dtype("scale_dtype", s.scaleType);
    boolean("float_zeros", s.floatZeros);
    dtype("dtype", s.floatType);
    boolean("clip_search", s.clipSearch);
    number("damp_percent", s.dampPercent);
    boolean("act_order", s.actOrder);
    boolean("static_groups", s.staticGroups);
    integer("block_size", s.blockSize);
    integer("grid", s.awqGrid);
    number("alpha", s.smoothAlpha);
    number("threshold", s.outlierThreshold);
    integer("activation_bits", s.activationBits);
    integer("iterations", s.hqqIterations);
    integer("incoherence_seed", s.incoherenceSeed);
    if (o.contains(u"incoherence")) {
        const QString v = o.value(u"incoherence").toString();
        if (v == u"hadamard")
            s.incoherence = Incoherence::Hadamard;
        else if (v == u"none")
            s.incoherence = Incoherence::None;
        else
            throw fail(QStringLiteral("incoherence"), u"unknown incoherence '" + v + u"' (none, hadamard)");
    }
    number("lp_norm", s.hqqLpNorm);
    number("sparse_percent", s.sparsePercent);
    integer("codebook_bits", s.codebookBits);
    integer("beam_size", s.beamSize);
    integer("rounds", s.rounds);
    if (s.method == QuantMethod::Aqlm && base.method != QuantMethod::Aqlm) {
        // One scale per row, unless the recipe says otherwise (validate() then names the conflict).
        if (!o.contains(u"granularity") && !o.contains(u"group_size"))
            s.granularity = Granularity::PerChannel;
        if (!o.contains(u"symmetric"))
            s.symmetric = true;
    }
    if (s.method == QuantMethod::SqueezeLlm && !o.contains(u"granularity") && !o.contains(u"group_size"))
        s.granularity = Granularity::PerChannel; // one codebook per row
    if (s.method == QuantMethod::QuipSharp && base.method != QuantMethod::QuipSharp) {
        // What QuIP# is, unless the recipe says otherwise (validate() then names the conflict).
        const QuantSpec d = quipSharpDefaults(s);
        if (!o.contains(u"granularity") && !o.contains(u"group_size"))
            s.granularity = d.granularity;
        if (!o.contains(u"symmetric"))
            s.symmetric = d.symmetric;
        if (!o.contains(u"incoherence"))
            s.incoherence = d.incoherence;
    }
    if (s.method == QuantMethod::Hqq && base.method != QuantMethod::Hqq) {
        // HQQ optimises a real-valued zero per group: asymmetric, zeros stored as floats unless said
        // otherwise.
        if (!o.contains(u"float_zeros"))
            s.floatZeros = true;
        if (!o.contains(u"symmetric"))
            s.symmetric = false;
    }
    if (s.method == QuantMethod::Ggml) { // the type decides everything else
        if (o.contains(u"type")) {
            const auto t = ggmlTypeFromName(o.value(u"type").toString());
            if (!t || !ggmlWeightType(*t))
                throw fail(QStringLiteral("type"), u"unknown GGUF type '" + o.value(u"type").toString() +
                                                       u"' (" + ggmlWeightTypeNames() + u')');
            s.ggmlType = *t;
        }
        boolean("imatrix", s.importance);
        for (const char* key : {"bits", "group_size", "granularity", "symmetric"}) {
            if (o.contains(QLatin1String(key)))
                throw fail(QLatin1String(key),
                           QStringLiteral("a gguf layer takes its bits and groups from its type; "
                                          "set \"type\" (e.g. \"Q4_K\") instead"));
        }
        s = QuantSpec::ggml(s.ggmlType, s.importance);
    }
    if (s.method == QuantMethod::SmoothQuant || s.method == QuantMethod::LlmInt8) {
        if (!o.contains(u"bits"))
            s.bits = 8;
        if (!o.contains(u"granularity") && !o.contains(u"group_size"))
            s.granularity = Granularity::PerChannel; // vector-wise weights, as both papers do
        if (!o.contains(u"symmetric"))
            s.symmetric = true;
    }
    const QString problem = s.validate();
    if (!problem.isEmpty())
        throw Error(path + u": " + problem);
    return s;
}

} // namespace qs
