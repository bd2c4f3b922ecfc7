// Layer sensitivity sweep, mixed-precision allocation (multiple-choice knapsack) and the measured
// study: exactness of the DP against brute force, the cached-hidden-state evaluation against a
// full evaluation, cancel/resume, recipes that realise the plan, and bad input.
#include "TestSupport.h"
#include "analysis/Allocation.h"
#include "analysis/AllocationStudy.h"
#include "analysis/Sensitivity.h"
#include "eval/Evaluation.h"
#include "model/Model.h"
#include "model/QuantizedLinear.h"
#include "model/Transformer.h"
#include "quant/Quantizer.h"
#include "tokenizer/Tokenizer.h"
#include "util/Error.h"

#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QTemporaryDir>
#include <QTest>
#include <cmath>
#include <random>

using namespace qs;

namespace {

/// A synthetic sweep: `units` units of `params` parameters, schemes of the given bits, random losses
/// that fall with bits (what allocation needs; no model involved).
SensitivityResult syntheticSweep(int units, const std::vector<int>& bits, std::uint64_t seed)
{
    SensitivityResult r;
    r.modelName = QStringLiteral("synthetic");
    r.modelFingerprint = QStringLiteral("fp");
    r.modelDtype = QStringLiteral("f32");
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u(0.2, 3.0);
    for (int b : bits) {
        QuantSpec s;
        s.method = QuantMethod::Rtn;
        s.bits = b;
        s.granularity = Granularity::PerChannel;
        r.schemes.push_back({s.shortName(), s});
    }
    for (int i = 0; i < units; ++i) {
        SensitivityUnit unit{QStringLiteral("layer%1").arg(i), {i}, std::int64_t(1000 * (1 + i % 3))};
        r.linearParams += unit.params;
        r.units.push_back(unit);
        const double sensitivity = u(rng);
        for (std::size_t k = 0; k < bits.size(); ++k) {
            SensitivityEntry e;
            e.unit = unit.name;
            e.scheme = r.schemes[k].name;
            e.bytes = std::uint64_t(unit.params * bits[k] / 8 + 40);
            e.kld = sensitivity * std::pow(4.0, -bits[k]) * (1 + 0.1 * u(rng));
            e.deltaNll = e.kld * 0.8;
            r.entries.push_back(e);
        }
    }
    r.complete = true;
    return r;
}

/// Exhaustive minimum of Σ loss subject to Σ bytes <= budget.
double bruteForce(const SensitivityResult& r, double budget)
{
    const std::size_t U = r.units.size(), K = r.schemes.size();
    std::vector<std::size_t> pick(U, 0);
    double best = INFINITY;
    while (true) {
        double bytes = 0, loss = 0;
        for (std::size_t u = 0; u < U; ++u) {
            const SensitivityEntry* e = r.find(r.units[u].name, r.schemes[pick[u]].name);
            bytes += double(e->bytes);
            loss += e->kld;
        }
        if (bytes <= budget)
            best = std::min(best, loss);
        std::size_t u = 0;
        while (u < U && ++pick[u] == K)
            pick[u++] = 0;
        if (u == U)
            break;
    }
    return best;
}

QString wikitext()
{
    return qs::test::dataPath(QStringLiteral("wikitext-2-raw/wiki.test.raw"));
}

SensitivitySettings smallSweep(const QString& layers)
{
    SensitivitySettings s;
    s.schemes = parseSchemes(QStringLiteral("rtn-w3-ch,rtn-w4-ch"));
    s.layerFilter = layers;
    s.evalText = wikitext();
    s.eval.ctx = 64;
    s.eval.maxChunks = 6;
    return s;
}

} // namespace

class TestSensitivity : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void schemeNames()
    {
        const char* names[] = {"gptq-w4-g128", "rtn-w8-ch-sym", "awq-w4-g64-clip", "gptq-w3-g32-act",
                               "f16",          "bf16",          "rtn-w2-tensor"};
        for (const char* n : names)
            QCOMPARE(QuantSpec::fromShortName(QString::fromLatin1(n)).shortName(), QString::fromLatin1(n));
        QCOMPARE(QuantSpec::fromShortName(QStringLiteral("GPTQ-W4-G128")).shortName(),
                 QStringLiteral("gptq-w4-g128"));
        QS_VERIFY_ERROR(qs::test::errorOf([] { QuantSpec::fromShortName(QStringLiteral("gptq-w9-ch")); }),
                        {QStringLiteral("gptq-w9-ch"), QStringLiteral("9")});
        QS_VERIFY_ERROR(qs::test::errorOf([] { QuantSpec::fromShortName(QStringLiteral("foo-w4")); }),
                        {QStringLiteral("unknown method"), QStringLiteral("foo")});
        QS_VERIFY_ERROR(qs::test::errorOf([] { QuantSpec::fromShortName(QStringLiteral("rtn-w4-x7")); }),
                        {QStringLiteral("x7")});
        QS_VERIFY_ERROR(qs::test::errorOf([] { parseSchemes(QStringLiteral(" , ")); }),
                        {QStringLiteral("empty")});
        QS_VERIFY_ERROR(qs::test::errorOf([] { parseSchemes(QStringLiteral("rtn-w4-ch,RTN-w4-ch")); }),
                        {QStringLiteral("twice"), QStringLiteral("rtn-w4-ch")});
    }

    void knapsackIsExact()
    {
        for (std::uint64_t seed = 1; seed <= 4; ++seed) {
            const SensitivityResult r = syntheticSweep(6, {2, 3, 4, 8}, seed);
            const Allocator a(r, LossMetric::Kld);
            for (double bpw : {2.4, 3.0, 3.3, 4.0, 5.5, 7.9}) {
                const AllocationPlan p = a.forBitsPerWeight(bpw);
                const double budget = bpw * double(a.params()) / 8.0;
                QVERIFY(double(p.bytes) <= budget);
                // Optimal on byte costs rounded up to steps of max/100000: never worse than the exact
                // optimum of a budget smaller by one step per unit, never better than the exact one.
                const double exact = bruteForce(r, budget);
                const double slack = bruteForce(r, budget - 6 * std::max(1.0, double(a.maxBytes()) / 1e5));
                QVERIFY2(p.predictedLoss <= slack + 1e-12,
                         qPrintable(QStringLiteral("seed %1 bpw %2: dp %3 brute %4")
                                        .arg(seed)
                                        .arg(bpw)
                                        .arg(p.predictedLoss)
                                        .arg(exact)));
                QVERIFY(p.predictedLoss >= exact - 1e-12);
            }
        }
    }

    void paretoFrontIsMonotoneAndOptimal()
    {
        const SensitivityResult r = syntheticSweep(5, {2, 3, 4, 8}, 7);
        const Allocator a(r, LossMetric::Kld);
        const std::vector<AllocationPlan> front = a.paretoFront();
        QVERIFY(front.size() > 5);
        QCOMPARE(front.front().bytes, a.minBytes());
        for (std::size_t i = 1; i < front.size(); ++i) {
            QVERIFY(front[i].bytes > front[i - 1].bytes);
            QVERIFY(front[i].predictedLoss < front[i - 1].predictedLoss);
        }
        for (const AllocationPlan& p : front)
            QVERIFY(std::abs(p.predictedLoss - bruteForce(r, double(p.bytes))) <=
                    1e-12 + 1e-9 * p.predictedLoss);
        // The uniform plans are never better than the front at their size.
        for (int k = 0; k < 4; ++k) {
            const AllocationPlan u = a.uniform(k);
            QVERIFY(u.uniform);
            QVERIFY(a.forBytes(double(u.bytes)).predictedLoss <= u.predictedLoss + 1e-12);
        }
        // forLoss: the smallest plan reaching a target.
        const AllocationPlan target = a.forLoss(front[front.size() / 2].predictedLoss);
        QCOMPARE(target.bytes, front[front.size() / 2].bytes);
    }

    void allocationBadInput()
    {
        const SensitivityResult r = syntheticSweep(4, {2, 4}, 3);
        const Allocator a(r, LossMetric::Kld);
        QS_VERIFY_ERROR(qs::test::errorOf([&] { a.forBitsPerWeight(1.0); }),
                        {QStringLiteral("below the smallest plan"), QStringLiteral("1.000 bpw")});
        QS_VERIFY_ERROR(qs::test::errorOf([&] { a.forBitsPerWeight(40); }),
                        {QStringLiteral("above the float model")});
        QS_VERIFY_ERROR(qs::test::errorOf([&] { a.forLoss(-1); }), {QStringLiteral("no plan")});
        QS_VERIFY_ERROR(
            qs::test::errorOf([&] { Allocator(r, LossMetric::Kld, {QStringLiteral("rtn-w3-ch")}); }),
            {QStringLiteral("rtn-w3-ch"), QStringLiteral("not measured")});
        SensitivityResult incomplete = r;
        incomplete.entries.pop_back();
        QS_VERIFY_ERROR(qs::test::errorOf([&] { Allocator(incomplete, LossMetric::Kld); }),
                        {QStringLiteral("incomplete"), QStringLiteral("layer3")});
        QS_VERIFY_ERROR(qs::test::errorOf([] { lossMetricFromName(QStringLiteral("mse")); }),
                        {QStringLiteral("mse")});
    }

    void spearman()
    {
        QCOMPARE(spearmanCorrelation({1, 2, 3, 4}, {10, 20, 30, 40}), 1.0);
        QCOMPARE(spearmanCorrelation({1, 2, 3, 4}, {4, 3, 2, 1}), -1.0);
        QVERIFY(std::abs(spearmanCorrelation({1, 2, 3, 4, 5}, {2, 1, 4, 3, 5}) - 0.8) < 1e-12);
        QCOMPARE(spearmanCorrelation({1, 2}, {1, 2}), 0.0); // too few points
    }

    // The cost states the sweep's memory in parts (the model, the hidden states it keeps, one block quantized
    // under every scheme, …) and the time of its forward passes; a sweep needing more memory than there is
    // is refused before it starts, naming itself and its need.
    void costStatesMemoryAndTime()
    {
        QS_REQUIRE_DATA(dir, "stories260K");
        QS_REQUIRE_DATA(text, "wikitext-2-raw/wiki.test.raw");
        const auto model = Model::open(dir);
        const auto tok = Tokenizer::load(dir);
        const SensitivitySettings s = smallSweep(QStringLiteral("layers\\.1\\."));
        SensitivityCost cost = estimateSensitivityCost(*model, *tok, s);
        QVERIFY(cost.memory.total() > double(model->totals().bytes));
        QStringList labels;
        for (const auto& part : cost.memory.parts)
            labels << part.first;
        QVERIFY2(labels.contains(QStringLiteral("hidden states at block inputs")) &&
                     labels.contains(QStringLiteral("one block quantized under every scheme")),
                 qPrintable(labels.join(u", ")));
        QCOMPARE(cost.forwardSeconds, -1.0);
        timeSensitivityForwards(model, s, cost);
        QVERIFY(cost.secondsPerTokenBlock > 0 && cost.forwardSeconds > 0);
        QVERIFY(cost.toText().contains(QStringLiteral("memory about")));
        QCOMPARE(std::size_t(cost.toJson().value(u"memory_parts").toObject().size()),
                 cost.memory.parts.size());

        qputenv("QUANTSCOPE_MEMORY_LIMIT", QByteArray::number(qint64(cost.memory.total() * 0.9)));
        const QString msg = test::errorOf([&] { runSensitivity(model, *tok, s); });
        qunsetenv("QUANTSCOPE_MEMORY_LIMIT");
        QVERIFY2(msg.contains(QStringLiteral("the sensitivity sweep")) &&
                     msg.contains(QStringLiteral("memory")),
                 qPrintable(msg));
    }

    void sweepMatchesFullEvaluation()
    {
        QS_REQUIRE_DATA(dir, "stories260K");
        QS_REQUIRE_DATA(text, "wikitext-2-raw/wiki.test.raw");
        const auto model = Model::open(dir);
        const auto tok = Tokenizer::load(dir);
        SensitivitySettings s =
            smallSweep(QStringLiteral("layers\\.(1|4)\\.(self_attn\\.v_proj|mlp\\.down_proj)$"));
        s.groupPatterns << QStringLiteral("layers\\.4\\.");
        const SensitivityCost cost = estimateSensitivityCost(*model, *tok, s);
        QCOMPARE(cost.units, 3);
        QCOMPARE(cost.evaluations, 6);
        const SensitivityResult r = runSensitivity(model, *tok, s);
        QVERIFY(r.complete);
        QCOMPARE(int(r.entries.size()), 6);
        QCOMPARE(r.units.back().name, QStringLiteral("model.layers.1.mlp.down_proj"));
        QCOMPARE(int(r.units.front().linears.size()), 2); // the block-4 group: v_proj and down_proj
        for (const SensitivityUnit& u : r.units) {
            const SensitivityEntry* w3 = r.find(u.name, QStringLiteral("rtn-w3-ch"));
            const SensitivityEntry* w4 = r.find(u.name, QStringLiteral("rtn-w4-ch"));
            QVERIFY(w3 && w4);
            QVERIFY2(w4->kld < w3->kld, qPrintable(u.name));
            QVERIFY(w4->weightRelMse < w3->weightRelMse);
            QVERIFY(w3->bytes < w4->bytes);
        }
        // The cached-hidden-state evaluation equals a full evaluation of the same model.
        Transformer t(model);
        const SensitivityUnit& unit = r.units.back();
        const int li = unit.linears.front();
        const auto& dense = dynamic_cast<const DenseLinear&>(t.linear(li));
        const std::vector<float> weight = dense.floatWeight();
        QuantizeRequest req;
        req.weight = weight.data();
        req.rows = dense.outFeatures();
        req.cols = dense.inFeatures();
        req.spec = QuantSpec::fromShortName(QStringLiteral("rtn-w3-ch"));
        t.setLinear(li, std::make_shared<QuantizedLinear>(
                            std::make_shared<QuantizedTensor>(quantizeWeight(req)), dense.bias()));
        EvaluationParams ep;
        ep.textPath = text;
        ep.perplexity = s.eval;
        const EvaluationResult full = runEvaluation(t, *tok, ep);
        const SensitivityEntry* e = r.find(unit.name, QStringLiteral("rtn-w3-ch"));
        QVERIFY2(
            std::abs(full.perplexity.ppl - e->ppl) <= 1e-9 * e->ppl,
            qPrintable(
                QStringLiteral("%1 vs %2").arg(full.perplexity.ppl, 0, 'g', 12).arg(e->ppl, 0, 'g', 12)));
        QCOMPARE(r.evalTokens, full.perplexity.scored);
        QVERIFY(std::abs(std::exp(r.baseNll) - r.basePpl) < 1e-9 * r.basePpl);
    }

    void cancelAndResume()
    {
        QS_REQUIRE_DATA(dir, "stories260K");
        QS_REQUIRE_DATA(text, "wikitext-2-raw/wiki.test.raw");
        const auto model = Model::open(dir);
        const auto tok = Tokenizer::load(dir);
        const SensitivitySettings s = smallSweep(QStringLiteral("layers\\.[0-2]\\.self_attn\\.o_proj$"));
        const SensitivityResult uninterrupted = runSensitivity(model, *tok, s);

        JobContext job;
        int measured = 0;
        job.progress = [&](const JobProgress& p) {
            if (p.stage == u"measuring" && ++measured == 3)
                job.cancel->cancel();
        };
        std::optional<SensitivityResult> saved;
        bool cancelled = false;
        try {
            runSensitivity(model, *tok, s, nullptr, job,
                           [&](const SensitivityResult& partial) { saved = partial; });
        } catch (const Cancelled&) {
            cancelled = true;
        }
        QVERIFY(cancelled);
        QVERIFY(saved.has_value());
        QVERIFY(!saved->complete);
        QCOMPARE(int(saved->entries.size()), 3); // kept after every measurement, before it is reported
        QTemporaryDir tmp;
        const QString path = tmp.filePath(QStringLiteral("s.json"));
        saved->save(path);
        const SensitivityResult loaded = SensitivityResult::load(path);
        QCOMPARE(estimateSensitivityCost(*model, *tok, s, &loaded).evaluations, 3);
        const SensitivityResult resumed = runSensitivity(model, *tok, s, &loaded);
        QVERIFY(resumed.complete);
        QCOMPARE(resumed.entries.size(), uninterrupted.entries.size());
        for (std::size_t i = 0; i < resumed.entries.size(); ++i) {
            QCOMPARE(resumed.entries[i].unit, uninterrupted.entries[i].unit);
            QCOMPARE(resumed.entries[i].scheme, uninterrupted.entries[i].scheme);
            QCOMPARE(resumed.entries[i].kld, uninterrupted.entries[i].kld);
            QCOMPARE(resumed.entries[i].bytes, uninterrupted.entries[i].bytes);
        }
        // Another evaluation setting cannot resume these results.
        SensitivitySettings other = s;
        other.eval.maxChunks = 5;
        QS_VERIFY_ERROR(qs::test::errorOf([&] { runSensitivity(model, *tok, other, &loaded); }),
                        {QStringLiteral("cannot resume"), QStringLiteral("evaluation settings")});
        // A corrupt file is named.
        QVERIFY(qs::test::writeFile(path, "{\"format\": \"something\"}"));
        QS_VERIFY_ERROR(qs::test::errorOf([&] { SensitivityResult::load(path); }),
                        {path, QStringLiteral("not a QuantScope sensitivity")});
    }

    void recipeRealisesThePlan()
    {
        QS_REQUIRE_DATA(dir, "stories260K");
        QS_REQUIRE_DATA(text, "wikitext-2-raw/wiki.test.raw");
        const auto model = Model::open(dir);
        const auto tok = Tokenizer::load(dir);
        SensitivitySettings s = smallSweep(QStringLiteral("layers\\.[03]\\."));
        s.schemes = parseSchemes(QStringLiteral("rtn-w2-ch,rtn-w4-ch,f16"));
        const SensitivityResult r = runSensitivity(model, *tok, s);
        const Allocator a(r, LossMetric::Kld);
        const AllocationPlan plan = a.forBitsPerWeight(5.0);
        const Recipe recipe = a.toRecipe(plan, *model, QStringLiteral("t"));
        const LayerPlan lp = recipe.resolve(*model);
        for (std::size_t u = 0; u < r.units.size(); ++u) {
            const QuantSpec& want = r.schemes[std::size_t(plan.choice[u])].spec;
            for (int li : r.units[u].linears)
                QCOMPARE(lp.entries[std::size_t(li)].spec.shortName(), want.shortName());
        }
        // Layers outside the sweep stay float.
        QCOMPARE(lp.entries[std::size_t(model->blocks()[1].linears[0])].spec.method, QuantMethod::Float);
        // Exact bytes of the plan = the linear bytes the recipe's plan gives for the swept layers.
        std::uint64_t bytes = 0;
        for (const SensitivityUnit& u : r.units)
            for (int li : u.linears) {
                const LinearLayerInfo& l = model->linears()[std::size_t(li)];
                bytes += lp.entries[std::size_t(li)].spec.cost(l.outFeatures, l.inFeatures).total();
            }
        QCOMPARE(bytes, plan.bytes);
        // Another model is refused.
        const auto bf16 = qs::test::dataPath(QStringLiteral("kjv7M"));
        if (!bf16.isEmpty())
            QS_VERIFY_ERROR(
                qs::test::errorOf([&] { a.toRecipe(plan, *Model::open(bf16), QStringLiteral("x")); }),
                {QStringLiteral("another model")});
    }

    void studyMeasuresPlans()
    {
        QS_REQUIRE_DATA(dir, "stories260K");
        QS_REQUIRE_DATA(text, "wikitext-2-raw/wiki.test.raw");
        const auto model = Model::open(dir);
        const auto tok = Tokenizer::load(dir);
        const SensitivitySettings s = smallSweep(QStringLiteral("layers\\.[24]\\.mlp"));
        const SensitivityResult r = runSensitivity(model, *tok, s);
        const Allocator a(r, LossMetric::Kld);
        EvaluationParams ep;
        ep.textPath = text;
        ep.perplexity = s.eval;
        ep.perplexity.firstChunk = s.eval.maxChunks; // held out from the sweep's chunks
        const AllocationStudy st = measureAllocation(model, *tok, a, {3.6}, 3, ep);
        QVERIFY(st.plans.size() >=
                4); // the budget plan, 2 uniform, 1 same-size mixed (+ front points not already there)
        QCOMPARE(st.plans.front().kind, QStringLiteral("budget"));
        for (const MeasuredPlan& m : st.plans) {
            QVERIFY(m.ppl > 0 && std::isfinite(m.ppl));
            QVERIFY(m.kld > 0);
        }
        const MeasuredPlan* u3 = nullptr;
        const MeasuredPlan* u4 = nullptr;
        for (const MeasuredPlan& m : st.plans) {
            if (m.name == u"uniform rtn-w3-ch")
                u3 = &m;
            if (m.name == u"uniform rtn-w4-ch")
                u4 = &m;
        }
        QVERIFY(u3 && u4);
        QVERIFY(u4->kld < u3->kld);
        QVERIFY(u3->ppl > st.basePpl);
        // The allocator's plan at the 4-bit plan's exact size predicts no more loss than the uniform plan.
        const MeasuredPlan* iso = nullptr;
        for (const MeasuredPlan& m : st.plans)
            if (m.kind == u"iso" && m.name == u"mixed@rtn-w4-ch")
                iso = &m;
        QVERIFY(iso);
        QVERIFY(iso->plan.bytes <= u4->plan.bytes);
        QVERIFY(iso->plan.predictedLoss <= u4->plan.predictedLoss + 1e-12);
        const QJsonArray comparisons = st.toJson(r).value(u"comparisons").toArray();
        QCOMPARE(comparisons.size(), 2); // the budget, and the same-size pair for rtn-w4-ch
        QCOMPARE(comparisons[1].toObject().value(u"same_size_as").toString(),
                 QStringLiteral("uniform rtn-w4-ch"));
    }

    void cliSweepAndAllocate()
    {
        QS_REQUIRE_DATA(dir, "stories260K");
        QS_REQUIRE_DATA(text, "wikitext-2-raw/wiki.test.raw");
        QTemporaryDir tmp;
        const QString sPath = tmp.filePath(QStringLiteral("s.json")),
                      rPath = tmp.filePath(QStringLiteral("r.json"));
        auto res = qs::test::runCli(
            {QStringLiteral("sensitivity"), dir, QStringLiteral("--schemes"),
             QStringLiteral("rtn-w2-ch,rtn-w4-ch"), QStringLiteral("--eval"), text, QStringLiteral("--ctx"),
             QStringLiteral("64"), QStringLiteral("--chunks"), QStringLiteral("4"),
             QStringLiteral("--layers"), QStringLiteral("layers\\.0\\."), QStringLiteral("--out"), sPath});
        QVERIFY2(res.exitCode == 0, res.err.constData());
        QVERIFY(res.err.contains("7 units × 2 schemes = 14 evaluations"));
        // A gguf sweep names the type llama-quantize stores where the k-quant block does not fit.
        res = qs::test::runCli({QStringLiteral("sensitivity"), dir, QStringLiteral("--schemes"),
                                QStringLiteral("gguf-q4_k"), QStringLiteral("--eval"), text,
                                QStringLiteral("--ctx"), QStringLiteral("64"), QStringLiteral("--chunks"),
                                QStringLiteral("2"), QStringLiteral("--layers"),
                                QStringLiteral("layers\\.0\\.mlp\\.(up|down)_proj"), QStringLiteral("--out"),
                                tmp.filePath(QStringLiteral("g.json"))});
        QVERIFY2(res.exitCode == 0, res.err.constData());
        QVERIFY2(res.out.contains("model.layers.0.mlp.up_proj                 gguf-q4_k        Q4_K → Q5_0"),
                 res.out.constData());
        QVERIFY2(res.out.contains("model.layers.0.mlp.down_proj               gguf-q4_k        Q4_K → F16"),
                 res.out.constData());
        res =
            qs::test::runCli({QStringLiteral("allocate"), sPath, QStringLiteral("--bpw"), QStringLiteral("3"),
                              QStringLiteral("--out"), rPath, QStringLiteral("--front")});
        QVERIFY2(res.exitCode == 0, res.err.constData());
        QVERIFY(res.out.contains("predicted Pareto front"));
        res = qs::test::runCli({QStringLiteral("recipe"), QStringLiteral("check"), rPath, dir});
        QVERIFY2(res.exitCode == 0, QByteArray(res.err + res.out).constData());
        // Measure the plan on held-out chunks and plot predicted vs measured.
        const QString study = tmp.filePath(QStringLiteral("study.json")),
                      png = tmp.filePath(QStringLiteral("study.png"));
        res = qs::test::runCli(
            {QStringLiteral("allocate"), sPath, QStringLiteral("--bpw"), QStringLiteral("3"),
             QStringLiteral("--measure"), QStringLiteral("--eval"), text, QStringLiteral("--ctx"),
             QStringLiteral("64"), QStringLiteral("--skip-chunks"), QStringLiteral("4"),
             QStringLiteral("--chunks"), QStringLiteral("4"), QStringLiteral("--front-points"),
             QStringLiteral("0"), QStringLiteral("--report"), study});
        QVERIFY2(res.exitCode == 0, res.err.constData());
        QVERIFY(res.out.contains("Spearman"));
        res = qs::test::runCli(
            {QStringLiteral("plot"), QStringLiteral("allocation"), study, QStringLiteral("--out"), png});
        QVERIFY2(res.exitCode == 0, res.err.constData());
        QVERIFY(QFileInfo(png).size() > 1000);
        res = qs::test::runCli(
            {QStringLiteral("allocate"), sPath, QStringLiteral("--bpw"), QStringLiteral("1.5")});
        QCOMPARE(res.exitCode, 1);
        QVERIFY(res.err.contains("below the smallest plan"));
        res = qs::test::runCli({QStringLiteral("sensitivity"), dir, QStringLiteral("--schemes"),
                                QStringLiteral("gptq-w4-ch"), QStringLiteral("--eval"), text,
                                QStringLiteral("--out"), sPath});
        QCOMPARE(res.exitCode, 1);
        QVERIFY(res.err.contains("no calibration text"));
    }
};

QTEST_GUILESS_MAIN(TestSensitivity)
#include "tst_sensitivity.moc"
