#include "analysis/AllocationStudy.h"

#include "model/Model.h"
#include "model/Transformer.h"
#include "quant/QuantizeJob.h"
#include "tokenizer/Tokenizer.h"
#include "util/Error.h"

#include <QJsonArray>
#include <QTemporaryDir>
#include <chrono>
#include <cmath>
#include <numeric>

namespace qs {

namespace {

std::vector<double> ranks(const std::vector<double>& v)
{
    std::vector<std::size_t> order(v.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return v[a] < v[b]; });
    std::vector<double> r(v.size());
    for (std::size_t i = 0; i < order.size();) {
        std::size_t j = i;
        while (j + 1 < order.size() && v[order[j + 1]] == v[order[i]])
            ++j;
        for (std::size_t k = i; k <= j; ++k)
            r[order[k]] = 0.5 * double(i + j); // ties share their average rank
        i = j + 1;
    }
    return r;
}

} // namespace

double spearmanCorrelation(const std::vector<double>& a, const std::vector<double>& b)
{
    if (a.size() != b.size() || a.size() < 3)
        return 0;
    const std::vector<double> ra = ranks(a), rb = ranks(b);
    const double n = double(a.size());
    const double ma = std::accumulate(ra.begin(), ra.end(), 0.0) / n,
                 mb = std::accumulate(rb.begin(), rb.end(), 0.0) / n;
    double sab = 0, saa = 0, sbb = 0;
    for (std::size_t i = 0; i < ra.size(); ++i) {
        sab += (ra[i] - ma) * (rb[i] - mb);
        saa += (ra[i] - ma) * (ra[i] - ma);
        sbb += (rb[i] - mb) * (rb[i] - mb);
    }
    return saa > 0 && sbb > 0 ? sab / std::sqrt(saa * sbb) : 0;
}

QJsonObject MeasuredPlan::toJson(const SensitivityResult& s) const
{
    QJsonObject o = plan.toJson(s);
    o.insert(QStringLiteral("name"), name);
    o.insert(QStringLiteral("kind"), kind);
    if (kind == u"budget")
        o.insert(QStringLiteral("budget_bpw"), budgetBpw);
    o.insert(QStringLiteral("ppl"), ppl);
    o.insert(QStringLiteral("ppl_error"), pplError);
    o.insert(QStringLiteral("nll"), nll);
    o.insert(QStringLiteral("kld"), kld);
    o.insert(QStringLiteral("top1"), top1);
    o.insert(QStringLiteral("measured_loss"), measuredLoss);
    o.insert(QStringLiteral("seconds"), seconds);
    return o;
}

namespace {

/// For each budget plan: the best uniform plan that fits in it and the smallest one not below it.
QJsonArray budgetComparisons(const AllocationStudy& st)
{
    QJsonArray out;
    for (const MeasuredPlan& m : st.plans) {
        if (m.kind != u"budget")
            continue;
        const MeasuredPlan *below = nullptr, *above = nullptr;
        for (const MeasuredPlan& u : st.plans) {
            if (u.kind != u"uniform")
                continue;
            if (u.plan.bitsPerWeight <= m.budgetBpw + 1e-9 && (!below || u.ppl < below->ppl))
                below = &u;
            if (u.plan.bitsPerWeight >= m.plan.bitsPerWeight - 1e-9 &&
                (!above || u.plan.bitsPerWeight < above->plan.bitsPerWeight))
                above = &u;
        }
        QJsonObject c{{QStringLiteral("budget_bpw"), m.budgetBpw},
                      {QStringLiteral("mixed"), m.name},
                      {QStringLiteral("mixed_bpw"), m.plan.bitsPerWeight},
                      {QStringLiteral("mixed_ppl"), m.ppl}};
        if (below) {
            c.insert(QStringLiteral("best_uniform_within_budget"), below->name);
            c.insert(QStringLiteral("best_uniform_within_budget_bpw"), below->plan.bitsPerWeight);
            c.insert(QStringLiteral("best_uniform_within_budget_ppl"), below->ppl);
            c.insert(QStringLiteral("mixed_wins_within_budget"), m.ppl < below->ppl);
        }
        if (above) {
            c.insert(QStringLiteral("smallest_uniform_not_smaller"), above->name);
            c.insert(QStringLiteral("smallest_uniform_not_smaller_bpw"), above->plan.bitsPerWeight);
            c.insert(QStringLiteral("smallest_uniform_not_smaller_ppl"), above->ppl);
            c.insert(QStringLiteral("mixed_wins_against_larger"), m.ppl < above->ppl);
        }
        out.append(c);
    }
    for (const MeasuredPlan& m : st.plans) {
        if (m.kind != u"iso")
            continue;
        for (const MeasuredPlan& u : st.plans) {
            if (u.kind == u"uniform" && u.name.mid(8) == m.name.mid(6))
                out.append(QJsonObject{{QStringLiteral("same_size_as"), u.name},
                                       {QStringLiteral("uniform_bpw"), u.plan.bitsPerWeight},
                                       {QStringLiteral("uniform_ppl"), u.ppl},
                                       {QStringLiteral("mixed"), m.name},
                                       {QStringLiteral("mixed_bpw"), m.plan.bitsPerWeight},
                                       {QStringLiteral("mixed_ppl"), m.ppl},
                                       {QStringLiteral("mixed_is_uniform"), m.plan.uniform},
                                       {QStringLiteral("mixed_wins"), m.ppl < u.ppl}});
        }
    }
    return out;
}

} // namespace

QJsonObject AllocationStudy::toJson(const SensitivityResult& s) const
{
    QJsonArray ps;
    for (const MeasuredPlan& p : plans)
        ps.append(p.toJson(s));
    return QJsonObject{
        {QStringLiteral("metric"), lossMetricName(metric)},
        {QStringLiteral("eval_text"), evalText},
        {QStringLiteral("eval"), QJsonObject{{QStringLiteral("protocol"), protocolName(eval.protocol)},
                                             {QStringLiteral("n_ctx"), eval.ctx},
                                             {QStringLiteral("chunks"), eval.maxChunks},
                                             {QStringLiteral("first_chunk"), eval.firstChunk}}},
        {QStringLiteral("base_ppl"), basePpl},
        {QStringLiteral("base_ppl_error"), basePplError},
        {QStringLiteral("base_nll"), baseNll},
        {QStringLiteral("spearman"), spearman},
        {QStringLiteral("plans"), ps},
        {QStringLiteral("comparisons"), budgetComparisons(*this)}};
}

QString AllocationStudy::toText() const
{
    QString s = QStringLiteral("%1 %2 %3 %4 %5 %6 %7\n")
                    .arg(QStringLiteral("plan"), -28)
                    .arg(QStringLiteral("bpw"), 7)
                    .arg(QStringLiteral("ppl"), 10)
                    .arg(QStringLiteral("±"), 8)
                    .arg(QStringLiteral("KLD"), 9)
                    .arg(QStringLiteral("predicted"), 10)
                    .arg(QStringLiteral("measured"), 10);
    s += QStringLiteral("%1 %2 %3 %4\n")
             .arg(QStringLiteral("float"), -28)
             .arg(QString(), 7)
             .arg(basePpl, 10, 'f', 4)
             .arg(basePplError, 8, 'f', 4);
    for (const MeasuredPlan& p : plans)
        s += QStringLiteral("%1 %2 %3 %4 %5 %6 %7\n")
                 .arg(p.name, -28)
                 .arg(p.plan.bitsPerWeight, 7, 'f', 3)
                 .arg(p.ppl, 10, 'f', 4)
                 .arg(p.pplError, 8, 'f', 4)
                 .arg(p.kld, 9, 'f', 5)
                 .arg(p.plan.predictedLoss, 10, 'f', 5)
                 .arg(p.measuredLoss, 10, 'f', 5);
    s += QStringLiteral("Spearman rank correlation, predicted vs measured %1: %2\n")
             .arg(lossMetricName(metric))
             .arg(spearman, 0, 'f', 3);
    return s;
}

AllocationStudy measureAllocation(std::shared_ptr<const Model> modelPtr, const Tokenizer& tokenizer,
                                  const Allocator& allocator, const std::vector<double>& budgetsBpw,
                                  int frontPoints, const EvaluationParams& evalIn, const JobContext& job)
{
    const SensitivityResult& s = allocator.results();
    if (modelPtr->architectureFingerprint() != s.modelFingerprint)
        throw Error::inFile(
            modelPtr->path(),
            QStringLiteral("the sensitivity results were measured on another model (%1)").arg(s.modelName));
    AllocationStudy st;
    st.metric = allocator.metric();
    st.evalText = evalIn.textPath;
    st.eval = evalIn.perplexity;

    // The plans: budgets first (validated before anything runs), uniform references, front samples.
    std::vector<MeasuredPlan> todo;
    for (double b : budgetsBpw) {
        MeasuredPlan m;
        m.kind = QStringLiteral("budget");
        m.budgetBpw = b;
        m.name = QStringLiteral("mixed@%1").arg(b);
        m.plan = allocator.forBitsPerWeight(b);
        todo.push_back(m);
    }
    for (int k = 0; k < int(allocator.schemeIndices().size()); ++k) {
        MeasuredPlan m;
        m.kind = QStringLiteral("uniform");
        m.plan = allocator.uniform(k);
        m.name = QStringLiteral("uniform ") +
                 s.schemes[std::size_t(allocator.schemeIndices()[std::size_t(k)])].name;
        todo.push_back(m);
    }
    // The same-size comparison: the allocator's plan at exactly each uniform plan's size.
    const std::size_t uniformCount = todo.size();
    for (std::size_t i = budgetsBpw.size(); i < uniformCount; ++i) {
        if (todo[i].plan.bytes <= allocator.minBytes())
            continue;
        MeasuredPlan m;
        m.kind = QStringLiteral("iso");
        m.plan = allocator.forBytes(double(todo[i].plan.bytes));
        m.budgetBpw = todo[i].plan.bitsPerWeight;
        m.name = QStringLiteral("mixed@") + todo[i].name.mid(8); // "uniform X" → "mixed@X"
        todo.push_back(m);
    }
    const std::vector<AllocationPlan> front = allocator.paretoFront();
    if (frontPoints > 0 && !front.empty()) {
        const double lo = front.front().bitsPerWeight, hi = front.back().bitsPerWeight;
        for (int i = 0; i < frontPoints; ++i) {
            const double target = frontPoints == 1 ? lo : lo + (hi - lo) * i / double(frontPoints - 1);
            const AllocationPlan* best = &front.front();
            for (const AllocationPlan& p : front)
                if (p.bitsPerWeight <= target + 1e-12)
                    best = &p;
            bool seen = false;
            for (const MeasuredPlan& m : todo)
                seen = seen || m.plan.choice == best->choice;
            if (seen)
                continue;
            MeasuredPlan m;
            m.kind = QStringLiteral("front");
            m.plan = *best;
            m.name = QStringLiteral("front %1 bpw").arg(best->bitsPerWeight, 0, 'f', 3);
            todo.push_back(m);
        }
    }

    QTemporaryDir tmp;
    if (!tmp.isValid())
        throw Error(
            QStringLiteral("cannot create a temporary folder for the KLD base: %1").arg(tmp.errorString()));
    const double steps = double(todo.size() + 1);
    EvaluationParams baseParams = evalIn;
    baseParams.saveBasePath = tmp.filePath(QStringLiteral("base.qskld"));
    baseParams.kldBasePath.clear();
    {
        const Transformer base(modelPtr);
        const EvaluationResult r =
            runEvaluation(base, tokenizer, baseParams, job.part(0, 1 / steps, QStringLiteral("float model")));
        st.basePpl = r.perplexity.ppl;
        st.basePplError = r.perplexity.pplError;
        st.baseNll = r.perplexity.meanNll;
    }
    EvaluationParams evalParams = evalIn;
    evalParams.saveBasePath.clear();
    evalParams.kldBasePath = baseParams.saveBasePath;
    for (std::size_t i = 0; i < todo.size(); ++i) {
        MeasuredPlan& m = todo[i];
        const auto t0 = std::chrono::steady_clock::now();
        const JobContext step =
            job.part(double(i + 1) / steps, double(i + 2) / steps,
                     QStringLiteral("plan %1/%2 (%3)").arg(i + 1).arg(todo.size()).arg(m.name));
        const Recipe recipe = allocator.toRecipe(m.plan, *modelPtr, m.name);
        const LayerPlan plan = recipe.resolve(*modelPtr);
        const QuantizeResult q =
            runQuantization(modelPtr, plan, recipe.calibration, &tokenizer, step.part(0, 0.7, {}));
        const EvaluationResult r = runEvaluation(*q.model, tokenizer, evalParams, step.part(0.7, 1, {}));
        m.ppl = r.perplexity.ppl;
        m.pplError = r.perplexity.pplError;
        m.nll = r.perplexity.meanNll;
        if (r.kld) {
            m.kld = r.kld->meanKld;
            m.top1 = r.kld->sameTopPercent;
        }
        m.measuredLoss = st.metric == LossMetric::Kld ? m.kld : m.nll - st.baseNll;
        m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        st.plans.push_back(m);
    }
    std::vector<double> predicted, measured;
    for (const MeasuredPlan& m : st.plans) {
        predicted.push_back(m.plan.predictedLoss);
        measured.push_back(m.measuredLoss);
    }
    st.spearman = spearmanCorrelation(predicted, measured);
    job.report(1.0, QStringLiteral("done"));
    return st;
}

} // namespace qs
