#include "results/RunDiff.h"

#include "results/RunSummaryJson.h"

#include <cmath>
#include <initializer_list>
#include <limits>
#include <tuple>

namespace qs {

QString schemeFieldName(SchemeField field)
{
    switch (field) {
    case SchemeField::Method:
        return QStringLiteral("method");
    case SchemeField::Bits:
        return QStringLiteral("bits");
    case SchemeField::Group:
        return QStringLiteral("group");
    case SchemeField::Symmetry:
        return QStringLiteral("sym");
    case SchemeField::Type:
    case SchemeField::Count:
        break;
    }
    return QStringLiteral("type");
}

QStringList schemeFields(const std::optional<QuantSpec>& spec)
{
    const QString none = QStringLiteral("–");
    if (!spec)
        return QStringList(int(SchemeField::Count), QStringLiteral("?"));
    const QuantSpec& s = *spec;
    if (s.method == QuantMethod::Float)
        return {QStringLiteral("float"), QString::number(8 * dtypeInfo(s.floatType).bytes), none, none,
                dtypeName(s.floatType)};
    const QString group = s.granularity == Granularity::PerGroup ? QStringLiteral("g%1").arg(s.groupSize)
                                                                 : granularityName(s.granularity);
    if (s.method == QuantMethod::Ggml)
        return {quantMethodName(s.method), QString::number(s.bits), group, none,
                ggmlTypeName(s.ggmlType) + (s.importance ? QStringLiteral(" imatrix") : QString())};
    if (s.usesCodebook())
        return {quantMethodName(s.method), QString::number(s.bits), granularityName(s.granularity), none,
                QStringLiteral("lut + %1% sparse").arg(s.sparsePercent)};
    if (s.usesLattice())
        return {quantMethodName(s.method), QString::number(s.bits), granularityName(s.granularity),
                QStringLiteral("sym"), s.label().section(u' ', 2) + QStringLiteral(" hadamard")};
    if (s.usesAdditive()) // "2x8", "1x16 hadamard"
        return {quantMethodName(s.method), QString::number(s.bits), granularityName(s.granularity),
                QStringLiteral("sym"), s.label().section(u' ', 2)};
    QStringList type{QStringLiteral("int")};
    if (quantMethodInfo(s.method).quantizesActivations)
        type << QStringLiteral("a%1").arg(s.activationBits);
    if (s.method == QuantMethod::Gptq && s.actOrder)
        type << QStringLiteral("act-order");
    if (s.clipSearch && (s.method == QuantMethod::Rtn || s.method == QuantMethod::Awq))
        type << QStringLiteral("clip");
    if (s.incoherence == Incoherence::Hadamard)
        type << QStringLiteral("hadamard");
    return {quantMethodName(s.method), QString::number(s.bits), group,
            s.symmetric ? QStringLiteral("sym") : QStringLiteral("asym"), type.join(u' ')};
}

QStringList RunDiff::differingLayers() const
{
    QStringList out;
    for (const RunLayerDiff& l : layers)
        if (l.schemeDiffers())
            out << l.layer;
    return out;
}

RunDiff diffRuns(const RunSummary& a, const RunSummary& b)
{
    RunDiff d;
    d.nameA = a.name;
    d.nameB = b.name;
    const QStringList absent(int(SchemeField::Count), QStringLiteral("—"));
    auto add = [&](const QString& name) {
        RunLayerDiff l;
        l.layer = name;
        if (const LayerMetrics* m = a.findLayer(name))
            l.a = *m;
        if (const LayerMetrics* m = b.findLayer(name))
            l.b = *m;
        l.fieldsA = l.a ? schemeFields(l.a->scheme()) : absent;
        l.fieldsB = l.b ? schemeFields(l.b->scheme()) : absent;
        for (int f = 0; f < int(SchemeField::Count); ++f)
            if (l.fieldsA[f] != l.fieldsB[f])
                l.differing.push_back(SchemeField(f));
        d.layers.push_back(std::move(l));
    };
    for (const LayerMetrics& l : a.layers)
        add(l.name);
    for (const LayerMetrics& l : b.layers)
        if (!a.findLayer(l.name))
            add(l.name);
    return d;
}

std::vector<RunMetricPair> runMetricPairs(const RunSummary& a, const RunSummary& b)
{
    // From the one JSON of a run's measurements (compare rows and runs export use it too).
    const QJsonObject ja = runMetricsJson(a), jb = runMetricsJson(b);
    const double nan = std::numeric_limits<double>::quiet_NaN();
    std::vector<RunMetricPair> out;
    for (const auto& [key, label, precision] :
         std::initializer_list<std::tuple<const char*, const char*, int>>{
             {"ppl", "ppl", 4},
             {"delta_ppl", "Δppl", 4},
             {"kld", "KLD", 6},
             {"top1_percent", "top-1 %", 2},
             {"bpw", "bpw (model)", 3},
             {"linear_bpw", "bpw (linear)", 3},
             {"MB", "MB", 4},
             {"prefill_tokens_per_second", "prefill tok/s", 1},
             {"decode_tokens_per_second", "decode tok/s", 1},
             {"resident_MB", "resident MB", 3},
             {"quantize_seconds", "quantize s", 2}}) {
        const QString k = QString::fromLatin1(key);
        out.push_back(
            {k, QString::fromUtf8(label), ja.value(k).toDouble(nan), jb.value(k).toDouble(nan), precision});
    }
    return out;
}

} // namespace qs
