#include "recipe/LayerPlan.h"

#include "model/Model.h"
#include "util/Error.h"

#include <QJsonArray>

namespace qs {

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
