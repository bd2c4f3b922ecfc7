#include "analysis/Allocation.h"

#include "model/Model.h"
#include "recipe/RecipeExport.h"
#include "util/Error.h"

#include <QJsonArray>
#include <cmath>
#include <limits>
#include <map>

namespace qs {

namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();
}

QString lossMetricName(LossMetric m)
{
    return m == LossMetric::Kld ? QStringLiteral("kld") : QStringLiteral("nll");
}

LossMetric lossMetricFromName(const QString& name)
{
    if (name == u"kld")
        return LossMetric::Kld;
    if (name == u"nll")
        return LossMetric::DeltaNll;
    throw Error(
        QStringLiteral("unknown loss metric '%1' (kld: KL divergence to the float model; nll: increase of "
                       "the mean negative log-likelihood, log of the perplexity ratio)")
            .arg(name));
}

QJsonObject AllocationPlan::toJson(const SensitivityResult& s) const
{
    QJsonObject layers;
    for (std::size_t u = 0; u < choice.size(); ++u)
        layers.insert(s.units[u].name, s.schemes[std::size_t(choice[u])].name);
    return QJsonObject{{QStringLiteral("bytes"), qint64(bytes)},
                       {QStringLiteral("bpw"), bitsPerWeight},
                       {QStringLiteral("predicted_loss"), predictedLoss},
                       {QStringLiteral("uniform"), uniform},
                       {QStringLiteral("choice"), layers}};
}

Allocator::Allocator(const SensitivityResult& results, LossMetric metric, const QStringList& schemes,
                     int resolution)
    : m_results(results), m_metric(metric), m_resolution(std::max(100, resolution))
{
    if (results.units.empty())
        throw Error(QStringLiteral("the sensitivity results have no units"));
    if (schemes.isEmpty()) {
        for (int k = 0; k < int(results.schemes.size()); ++k)
            m_schemes.push_back(k);
    } else {
        for (const QString& name : schemes) {
            int found = -1;
            for (int k = 0; k < int(results.schemes.size()); ++k)
                if (results.schemes[std::size_t(k)].name == QuantSpec::fromShortName(name).shortName())
                    found = k;
            if (found < 0)
                throw Error(QStringLiteral("scheme %1 was not measured in the sensitivity sweep (it has: %2)")
                                .arg(name, [&]() -> QString {
                                    QStringList all;
                                    for (const SensitivityScheme& s : results.schemes)
                                        all << s.name;
                                    return all.join(QStringLiteral(", "));
                                }()));
            if (std::find(m_schemes.begin(), m_schemes.end(), found) == m_schemes.end())
                m_schemes.push_back(found);
        }
    }
    if (m_schemes.empty())
        throw Error(QStringLiteral("the candidate scheme list is empty"));
    if (m_schemes.size() > 255)
        throw Error(QStringLiteral("at most 255 candidate schemes"));
    const std::size_t U = results.units.size(), K = m_schemes.size();
    m_bytes.assign(U, std::vector<std::uint64_t>(K));
    m_loss.assign(U, std::vector<double>(K));
    QStringList missing;
    for (std::size_t u = 0; u < U; ++u) {
        m_params += results.units[u].params;
        for (std::size_t k = 0; k < K; ++k) {
            const QString& scheme = results.schemes[std::size_t(m_schemes[k])].name;
            const SensitivityEntry* e = results.find(results.units[u].name, scheme);
            if (!e) {
                if (missing.size() < 5)
                    missing << results.units[u].name + u'/' + scheme;
                else if (missing.size() == 5)
                    missing << QStringLiteral("…");
                continue;
            }
            m_bytes[u][k] = e->bytes;
            m_loss[u][k] = metric == LossMetric::Kld ? e->kld : e->deltaNll;
        }
    }
    if (!missing.isEmpty() && results.shard.sharded())
        throw Error(QStringLiteral("these are the results of shard %1 of a sweep, not the whole sweep: merge "
                                   "all its shards first (quantscope-cli merge)")
                        .arg(results.shard.toText()));
    if (!missing.isEmpty())
        throw Error(
            QStringLiteral("the sensitivity sweep is incomplete (missing %1); resume it before allocating")
                .arg(missing.join(QStringLiteral(", "))));
    const DType floatType = [&] {
        for (const DTypeInfo& d : kDTypes)
            if (results.modelDtype == QLatin1String(d.name))
                return d.type;
        return DType::F16;
    }();
    m_floatBytes = std::uint64_t(m_params) * std::uint64_t(dtypeInfo(floatType).bytes);
    for (std::size_t u = 0; u < U; ++u) {
        m_minBytes += *std::min_element(m_bytes[u].begin(), m_bytes[u].end());
        m_maxBytes += *std::max_element(m_bytes[u].begin(), m_bytes[u].end());
    }
    solve();
}

void Allocator::solve()
{
    const std::size_t U = m_bytes.size(), K = m_schemes.size();
    m_step = std::max(1.0, double(m_maxBytes) / double(m_resolution));
    const std::size_t C = std::size_t(std::ceil(double(m_maxBytes) / m_step)) + U + 1;
    std::vector<double> dp(C, 0.0), next(C);
    m_pick.assign(U, std::vector<std::uint8_t>(C, 0));
    std::size_t reach = 0; // cells past this one hold the same plan: every unit at its largest fits
    for (std::size_t u = 0; u < U; ++u) {
        // Scheme by scheme over the cells, then the cells past the reach copied: a third of the
        // time of a loop over every cell with the schemes innermost (35 units × 100k cells: 10 ms).
        // Strict < keeps the first scheme on ties, as before.
        std::vector<std::uint8_t>& pick = m_pick[u];
        std::vector<std::size_t> cost(K);
        for (std::size_t k = 0; k < K; ++k)
            cost[k] = std::size_t(std::ceil(double(m_bytes[u][k]) / m_step));
        reach = std::min(C - 1, reach + *std::max_element(cost.begin(), cost.end()));
        std::fill(next.begin(), next.begin() + std::ptrdiff_t(reach + 1), kInf);
        for (std::size_t k = 0; k < K; ++k) {
            const double loss = m_loss[u][k];
            const std::uint8_t kk = std::uint8_t(k);
            for (std::size_t x = cost[k]; x <= reach; ++x) {
                const double v = dp[x - cost[k]] + loss;
                const bool better = v < next[x];
                next[x] = better ? v : next[x];
                pick[x] = better ? kk : pick[x];
            }
        }
        std::fill(next.begin() + std::ptrdiff_t(reach + 1), next.end(), next[reach]);
        std::fill(pick.begin() + std::ptrdiff_t(reach + 1), pick.end(), pick[reach]);
        std::swap(dp, next);
    }
    m_best = std::move(dp);
}

AllocationPlan Allocator::evaluate(std::vector<int> choice) const
{
    AllocationPlan p;
    p.choice = std::move(choice);
    p.uniform = true;
    for (std::size_t u = 0; u < p.choice.size(); ++u) {
        const std::size_t k = std::size_t(p.choice[u]);
        p.bytes += m_bytes[u][k];
        p.predictedLoss += m_loss[u][k];
        p.uniform = p.uniform && p.choice[u] == p.choice.front();
    }
    p.bitsPerWeight = bpw(double(p.bytes));
    // Store scheme indices of the sensitivity results, not candidate positions.
    for (int& c : p.choice)
        c = m_schemes[std::size_t(c)];
    return p;
}

AllocationPlan Allocator::backtrack(int cell) const
{
    std::vector<int> choice(m_bytes.size());
    std::size_t x = std::size_t(cell);
    for (std::size_t u = m_bytes.size(); u-- > 0;) {
        const std::uint8_t k = m_pick[u][x];
        choice[u] = k;
        x -= std::size_t(std::ceil(double(m_bytes[u][k]) / m_step));
    }
    return evaluate(std::move(choice));
}

AllocationPlan Allocator::forBytes(double budget) const
{
    if (budget < double(m_minBytes))
        throw Error(QStringLiteral(
                        "a budget of %1 bpw (%2 bytes) is below the smallest plan these schemes give, %3 bpw "
                        "(%4 bytes, every unit at its smallest scheme)")
                        .arg(bpw(budget), 0, 'f', 3)
                        .arg(qint64(budget))
                        .arg(minBitsPerWeight(), 0, 'f', 3)
                        .arg(qint64(m_minBytes)));
    if (budget > double(m_floatBytes))
        throw Error(QStringLiteral(
                        "a budget of %1 bpw is above the float model (%2 bpw as stored, %3): keep it float")
                        .arg(bpw(budget), 0, 'f', 3)
                        .arg(bpw(double(m_floatBytes)), 0, 'f', 1)
                        .arg(m_results.modelDtype));
    const std::size_t cell = std::min(m_best.size() - 1, std::size_t(std::floor(budget / m_step)));
    if (!std::isfinite(m_best[cell])) { // rounding up made the smallest plan look too big: it fits exactly
        std::vector<int> choice(m_bytes.size());
        for (std::size_t u = 0; u < m_bytes.size(); ++u)
            choice[u] = int(std::min_element(m_bytes[u].begin(), m_bytes[u].end()) - m_bytes[u].begin());
        return evaluate(std::move(choice));
    }
    return backtrack(int(cell));
}

AllocationPlan Allocator::forBitsPerWeight(double b) const
{
    return forBytes(b * double(m_params) / 8.0);
}

AllocationPlan Allocator::forLoss(double maxLoss) const
{
    for (std::size_t x = 0; x < m_best.size(); ++x)
        if (m_best[x] <= maxLoss)
            return backtrack(int(x));
    throw Error(QStringLiteral("no plan from these schemes reaches a predicted %1 of %2 (the best is %3)")
                    .arg(lossMetricName(m_metric))
                    .arg(maxLoss)
                    .arg(m_best.back()));
}

std::vector<AllocationPlan> Allocator::paretoFront() const
{
    std::vector<AllocationPlan> front;
    double last = kInf;
    for (std::size_t x = 0; x < m_best.size(); ++x) {
        if (!(m_best[x] < last))
            continue;
        last = m_best[x];
        AllocationPlan p = backtrack(int(x));
        while (!front.empty() && front.back().bytes >= p.bytes) // exact sizes can tie after rounding
            front.pop_back();
        if (front.empty() || p.predictedLoss < front.back().predictedLoss)
            front.push_back(std::move(p));
    }
    return front;
}

AllocationPlan Allocator::uniform(int k) const
{
    return evaluate(std::vector<int>(m_bytes.size(), k));
}

Recipe Allocator::toRecipe(const AllocationPlan& plan, const Model& model, const QString& name) const
{
    if (model.architectureFingerprint() != m_results.modelFingerprint)
        throw Error::inFile(model.path(),
                            QStringLiteral("the sensitivity results were measured on another model (%1)")
                                .arg(m_results.modelName));
    const int nLinears = int(model.linears().size());
    std::vector<int> schemeOf(std::size_t(nLinears), -1);
    std::map<int, std::int64_t> weight; // params per scheme, to choose the defaults
    for (std::size_t u = 0; u < plan.choice.size(); ++u) {
        for (int li : m_results.units[u].linears) {
            if (li < 0 || li >= nLinears)
                throw Error(QStringLiteral("unit %1 names layer %2, which %3 does not have")
                                .arg(m_results.units[u].name)
                                .arg(li)
                                .arg(model.displayName()));
            schemeOf[std::size_t(li)] = plan.choice[u];
            if (m_results.schemes[std::size_t(plan.choice[u])].spec.method != QuantMethod::Float)
                weight[plan.choice[u]] += model.linears()[std::size_t(li)].params();
        }
    }
    int defaults = plan.choice.empty() ? 0 : plan.choice.front();
    std::int64_t most = -1;
    for (const auto& [k, w] : weight)
        if (w > most)
            most = w, defaults = k;
    Recipe r;
    r.name = name;
    r.defaults = m_results.schemes[std::size_t(defaults)].spec;
    if (r.defaults.method == QuantMethod::Float)
        r.defaults = QuantSpec{}; // every layer is float: defaults are never used
    r.calibration = m_results.calibration;
    std::vector<std::pair<int, QString>> differing, floats;
    for (int li = 0; li < nLinears; ++li) {
        const int k = schemeOf[std::size_t(li)];
        if (k < 0)
            floats.emplace_back(li, QStringLiteral("f16"));
        else if (m_results.schemes[std::size_t(k)].spec.method == QuantMethod::Float)
            floats.emplace_back(li, dtypeName(m_results.schemes[std::size_t(k)].spec.floatType));
        else if (k != defaults)
            differing.emplace_back(li, m_results.schemes[std::size_t(k)].name);
    }
    for (const auto& [pattern, scheme] : layerPatterns(model, differing)) {
        QJsonObject o = QuantSpec::fromShortName(scheme).toJson();
        r.rules.push_back({pattern, o});
    }
    for (const auto& [pattern, dtype] : layerPatterns(model, floats)) {
        KeepFloatRule k;
        k.match = pattern;
        for (const DTypeInfo& d : kDTypes)
            if (dtype == QLatin1String(d.name))
                k.dtype = d.type;
        r.keepFloat.push_back(k);
    }
    r.description =
        QStringLiteral("Mixed precision allocated by QuantScope from a sensitivity sweep (%1 units × %2 "
                       "schemes, %3 loss): %4 bpw over the swept layers, predicted %3 %5. Assumes the "
                       "per-layer losses add up.")
            .arg(m_results.units.size())
            .arg(m_schemes.size())
            .arg(lossMetricName(m_metric))
            .arg(plan.bitsPerWeight, 0, 'f', 3)
            .arg(plan.predictedLoss, 0, 'g', 4);
    r.validate();
    return r;
}

} // namespace qs
