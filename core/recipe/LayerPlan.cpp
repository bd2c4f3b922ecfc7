#include "recipe/LayerPlan.h"

#include "model/Model.h"
#include "util/Error.h"

#include <QJsonArray>
#include <algorithm>

namespace qs {

QString schemeLabel(const QuantSpec& spec)
{
    if (spec.method == QuantMethod::Ggml)
        return u"gguf " + ggmlTypeName(spec.ggmlType) +
               (spec.importance ? QStringLiteral(" imatrix") : QString());
    return spec.shortName().replace(u'-', u' ');
}

QString schemesLabel(const std::vector<QuantSpec>& specs)
{
    std::vector<std::pair<QString, int>> counts; // in order of first appearance
    for (const QuantSpec& s : specs) {
        const QString label = schemeLabel(s);
        auto it = std::find_if(counts.begin(), counts.end(), [&](const auto& c) { return c.first == label; });
        if (it == counts.end())
            counts.emplace_back(label, 1);
        else
            ++it->second;
    }
    if (counts.size() == 1)
        return counts.front().first;
    std::stable_sort(counts.begin(), counts.end(),
                     [](const auto& a, const auto& b) { return a.second > b.second; });
    constexpr std::size_t kShown = 3;
    QStringList parts;
    for (std::size_t i = 0; i < counts.size() && i < kShown; ++i)
        parts << QStringLiteral("%1 ×%2").arg(counts[i].first).arg(counts[i].second);
    if (counts.size() > kShown)
        parts << QStringLiteral("%1 more").arg(counts.size() - kShown);
    return parts.join(QStringLiteral(" + "));
}

LayerPlan LayerPlan::uniform(const Model& model, const QuantSpec& spec)
{
    LayerPlan p;
    for (std::size_t i = 0; i < model.linears().size(); ++i) {
        const LinearLayerInfo& l = model.linears()[i];
        QString note;
        QuantSpec fitted;
        try {
            fitted = spec.fittedTo(l.inFeatures, &note);
        } catch (const Error& e) {
            throw Error(l.name + u": " + e.message());
        }
        p.entries.push_back({int(i), l.name, fitted, -1, note});
    }
    return p;
}

std::uint64_t LayerPlan::linearBytes(const Model& model) const
{
    std::uint64_t total = 0;
    for (const LayerPlanEntry& e : entries) {
        const LinearLayerInfo& l = model.linears()[std::size_t(e.linearIndex)];
        total += e.spec.cost(l.outFeatures, l.inFeatures).total();
    }
    return total;
}

std::uint64_t LayerPlan::modelBytes(const Model& model) const
{
    std::uint64_t linearStored = 0;
    for (const LinearLayerInfo& l : model.linears())
        linearStored += l.bytes();
    return model.totals().bytes - linearStored + linearBytes(model);
}

double LayerPlan::linearBitsPerWeight(const Model& model) const
{
    std::int64_t params = 0;
    for (const LayerPlanEntry& e : entries)
        params += model.linears()[std::size_t(e.linearIndex)].params();
    return params ? 8.0 * double(linearBytes(model)) / double(params) : 0.0;
}

bool LayerPlan::needsCalibration() const
{
    for (const LayerPlanEntry& e : entries) {
        if (e.spec.needsCalibration())
            return true;
    }
    return false;
}

QString LayerPlan::label() const
{
    std::vector<QuantSpec> specs;
    specs.reserve(entries.size());
    for (const LayerPlanEntry& e : entries)
        specs.push_back(e.spec);
    return schemesLabel(specs);
}

QJsonObject LayerPlan::toJson() const
{
    QJsonArray layers;
    for (const LayerPlanEntry& e : entries) {
        QJsonObject o = e.spec.toJson();
        o.insert(QStringLiteral("name"), e.name);
        o.insert(QStringLiteral("rule"), e.matchedRule);
        if (!e.note.isEmpty())
            o.insert(QStringLiteral("note"), e.note);
        layers.append(o);
    }
    return QJsonObject{{QStringLiteral("layers"), layers}};
}

} // namespace qs
