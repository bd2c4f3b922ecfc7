// The plan editor and the mixed-precision panel in the real main window, offscreen: table
// edits (single and multi-select) as undoable recipe rules, the rule editor's live highlight,
// presets, recipe save/reload, the sensitivity sweep as a cancellable job that never blocks the
// event loop, the budget slider and "apply plan" with undo.
#include "GuiTestSupport.h"
#include "LayerErrorBars.h"
#include "LayerErrorHeatmap.h"
#include "MainWindow.h"
#include "MixedPrecisionPanel.h"
#include "ParetoFrontPlot.h"
#include "PlanDocument.h"
#include "PlanExport.h"
#include "PlanTableModel.h"
#include "RunsPanel.h"
#include "TestSupport.h"
#include "analysis/Sensitivity.h"
#include "analysis/SweepShards.h"
#include "io/Gguf.h"
#include "model/Model.h"
#include "tokenizer/Tokenizer.h"

#include <QAbstractItemModelTester>
#include <QApplication>
#include <QComboBox>
#include <QElapsedTimer>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>
#include <QUndoStack>
#include <numeric>

using namespace qs;

namespace {

using qs::test::loadInto;
using qs::test::StallProbe;

int rowOf(const Model& m, const QString& name)
{
    for (int i = 0; i < int(m.linears().size()); ++i)
        if (m.linears()[std::size_t(i)].name == name)
            return i;
    return -1;
}

} // namespace

class TestPlanEditor : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void initTestCase()
    {
        Q_INIT_RESOURCE(quantscope);
        QCoreApplication::setOrganizationName(QStringLiteral("QuantScopeTest"));
        QSettings().clear();
    }

    void choicesFollowMethodsTable()
    {
        // The rule editor and the plan table offer what the methods table in spec/QuantSpec.h says.
        QS_REQUIRE_DATA(path, "stories260K");
        MainWindow w;
        QVERIFY(loadInto(w, path));
        auto items = [&](const char* name) {
            const auto* box = w.findChild<QComboBox*>(QLatin1String(name));
            QStringList out;
            for (int i = 1; i < box->count(); ++i) // item 0 is "(keep)"
                out << box->itemText(i);
            return out;
        };
        QCOMPARE(items("ruleMethod"), quantMethodNames(false));
        QStringList bits;
        for (int b = quantBitRange().first; b <= quantBitRange().second; ++b)
            bits << QString::number(b);
        QCOMPARE(bits, QStringList({QStringLiteral("2"), QStringLiteral("3"), QStringLiteral("4"),
                                    QStringLiteral("5"), QStringLiteral("6"), QStringLiteral("7"),
                                    QStringLiteral("8")}));
        QCOMPARE(items("ruleBits"), bits);
        QCOMPARE(items("ruleGroup"), quantGroupChoices(QuantMethod::Rtn));
        QVERIFY(quantGroupChoices(QuantMethod::Rtn).contains(QStringLiteral("128")));

        const PlanTableModel* model = w.planTableModel();
        const QuantSpec& spec = w.planDocument()->plan().entries.front().spec;
        QCOMPARE(model->data(model->index(0, PlanTableModel::Method), PlanTableModel::ChoicesRole)
                     .toStringList()
                     .mid(0, qsizetype(kQuantMethods.size()) - 1),
                 quantMethodNames(false));
        QCOMPARE(
            model->data(model->index(0, PlanTableModel::Bits), PlanTableModel::ChoicesRole).toStringList(),
            quantBitChoices(spec.method));
        QCOMPARE(
            model->data(model->index(0, PlanTableModel::Group), PlanTableModel::ChoicesRole).toStringList(),
            quantGroupChoices(spec.method));
    }

    void tableEditsAreUndoableRules()
    {
        QS_REQUIRE_DATA(path, "stories260K");
        MainWindow w;
        w.show();
        QVERIFY(loadInto(w, path));
        PlanTableModel* model = w.planTableModel();
        QAbstractItemModelTester tester(model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        PlanDocument* doc = w.planDocument();
        QCOMPARE(model->rowCount(), 35);
        const int q0 = rowOf(*w.model(), QStringLiteral("model.layers.0.self_attn.q_proj"));
        QCOMPARE(doc->plan().entries[std::size_t(q0)].spec.bits, 4);
        const std::uint64_t before = doc->plannedBytes();

        // Block 0's q_proj to 3 bits through the table model.
        QVERIFY(model->setData(model->index(q0, PlanTableModel::Bits), 3));
        QCOMPARE(doc->plan().entries[std::size_t(q0)].spec.bits, 3);
        QCOMPARE(doc->plan().entries[std::size_t(q0 + 1)].spec.bits, 4);
        QVERIFY(doc->plannedBytes() < before);
        QCOMPARE(model->data(model->index(q0, PlanTableModel::Source)).toString(),
                 QStringLiteral("rules[0]"));
        QVERIFY(w.findChild<QLabel*>(QStringLiteral("planTotals"))->text().contains(u"bits per weight"));
        // Editing the same layer again updates that rule instead of piling up rules.
        QVERIFY(model->setData(model->index(q0, PlanTableModel::Group), QStringLiteral("channel")));
        QCOMPARE(doc->recipe().rules.size(), std::size_t(1));
        QCOMPARE(doc->plan().entries[std::size_t(q0)].spec.granularity, Granularity::PerChannel);

        // Undo / redo round trip.
        QUndoStack* undo = doc->undoStack();
        QCOMPARE(undo->count(), 2);
        undo->undo();
        undo->undo();
        QCOMPARE(doc->plan().entries[std::size_t(q0)].spec.bits, 4);
        QVERIFY(doc->recipe().rules.empty());
        QCOMPARE(doc->plannedBytes(), before);
        undo->redo();
        QCOMPARE(doc->plan().entries[std::size_t(q0)].spec.bits, 3);
        undo->undo();

        // Multi-select bulk edit: one step for every selected layer.
        model->setEditRows({0, 1, 2, 3});
        QVERIFY(model->setData(model->index(1, PlanTableModel::Method), QStringLiteral("gptq")));
        for (int r = 0; r < 4; ++r)
            QCOMPARE(doc->plan().entries[std::size_t(r)].spec.method, QuantMethod::Gptq);
        QCOMPARE(doc->plan().entries[4].spec.method, QuantMethod::Rtn);
        QVERIFY(model->setData(model->index(0, PlanTableModel::Symmetric), Qt::Checked, Qt::CheckStateRole));
        for (int r = 0; r < 4; ++r)
            QVERIFY(doc->plan().entries[std::size_t(r)].spec.symmetric);
        undo->undo();
        undo->undo();
        for (int r = 0; r < 4; ++r)
            QCOMPARE(doc->plan().entries[std::size_t(r)].spec.method, QuantMethod::Rtn);
        model->setEditRows({});
        // Keep a layer float, then bring it back.
        QVERIFY(model->setData(model->index(5, PlanTableModel::Method), QStringLiteral("bf16")));
        QCOMPARE(doc->plan().entries[5].spec.method, QuantMethod::Float);
        QCOMPARE(doc->plan().entries[5].spec.floatType, DType::BF16);
        QVERIFY(!(model->flags(model->index(5, PlanTableModel::Bits)) & Qt::ItemIsEditable));
        QVERIFY(model->setData(model->index(5, PlanTableModel::Method), QStringLiteral("smoothquant")));
        QCOMPARE(doc->plan().entries[5].spec.method, QuantMethod::SmoothQuant);
        QCOMPARE(doc->plan().entries[5].spec.bits, 8); // moved into the method's range
        // Choices come from the methods table.
        const QStringList bitsChoices =
            model->data(model->index(5, PlanTableModel::Bits), PlanTableModel::ChoicesRole).toStringList();
        QCOMPARE(bitsChoices, QStringList{QStringLiteral("8")});
    }

    void ruleEditorHighlightsAndAdds()
    {
        QS_REQUIRE_DATA(path, "stories260K");
        MainWindow w;
        w.show();
        QVERIFY(loadInto(w, path));
        auto* match = w.findChild<QLineEdit*>(QStringLiteral("ruleMatch"));
        match->setText(QStringLiteral("mlp\\.down_proj$"));
        QCOMPARE(w.planTableModel()->highlightedCount(), 5);
        QVERIFY(w.findChild<QLabel*>(QStringLiteral("ruleMatchCount"))->text().contains(u'5'));
        match->setText(QStringLiteral("("));
        QCOMPARE(w.planTableModel()->highlightedCount(), 0);
        QVERIFY(w.findChild<QLabel*>(QStringLiteral("ruleMatchCount"))->text().contains(u"invalid"));
        // An invalid rule is refused with a dialog and leaves no undo step.
        w.findChild<QComboBox*>(QStringLiteral("ruleBits"))->setCurrentText(QStringLiteral("8"));
        w.findChild<QPushButton*>(QStringLiteral("addRule"))->click();
        QCOMPARE(w.planDocument()->undoStack()->count(), 0);
        QVERIFY(w.findChild<QWidget*>(QStringLiteral("errorDialog")));
        match->setText(QStringLiteral("mlp\\.down_proj$"));
        w.findChild<QPushButton*>(QStringLiteral("addRule"))->click();
        QCOMPARE(w.planDocument()->undoStack()->count(), 1);
        for (const LayerPlanEntry& e : w.planDocument()->plan().entries)
            QCOMPARE(e.spec.bits, e.name.endsWith(u"down_proj") ? 8 : 4);
        // Presets replace the recipe in one step.
        auto* presets = w.findChild<QComboBox*>(QStringLiteral("presetCombo"));
        // Nothing is shown as chosen (the table's plan is not a preset) until the user picks one.
        QCOMPARE(presets->currentIndex(), -1);
        QVERIFY(!w.findChild<QPushButton*>(QStringLiteral("applyPreset"))->isEnabled());
        QVERIFY(presets->currentText().isEmpty() && !presets->placeholderText().isEmpty());
        presets->setCurrentIndex(1); // attention 8-bit, MLP 4-bit
        QVERIFY(w.findChild<QPushButton*>(QStringLiteral("applyPreset"))->isEnabled());
        w.findChild<QPushButton*>(QStringLiteral("applyPreset"))->click();
        QCOMPARE(w.planDocument()->undoStack()->count(), 2);
        for (const LayerPlanEntry& e : w.planDocument()->plan().entries) {
            QCOMPARE(e.spec.method, QuantMethod::Gptq);
            QCOMPARE(e.spec.bits, e.name.contains(u"self_attn") ? 8 : 4);
        }
    }

    void recipeSaveReload()
    {
        QS_REQUIRE_DATA(path, "stories260K");
        MainWindow w;
        w.show();
        QVERIFY(loadInto(w, path));
        PlanTableModel* model = w.planTableModel();
        QVERIFY(model->setData(model->index(2, PlanTableModel::Bits), 2));
        model->setEditRows({10, 11});
        QVERIFY(model->setData(model->index(10, PlanTableModel::Group), QStringLiteral("32")));
        QTemporaryDir tmp;
        const QString file = tmp.filePath(QStringLiteral("plan.json"));
        w.planDocument()->saveRecipe(file);
        PlanDocument other;
        other.setModel(w.model(), Recipe{});
        other.loadRecipe(file);
        QCOMPARE(other.plan().entries.size(), w.planDocument()->plan().entries.size());
        for (std::size_t i = 0; i < other.plan().entries.size(); ++i)
            QCOMPARE(other.plan().entries[i].spec, w.planDocument()->plan().entries[i].spec);
        // A recipe for another model: its rules match nothing here, and the window says which.
        QVERIFY(qs::test::writeFile(file, R"({"version": 1, "defaults": {"method": "rtn", "bits": 4},
            "rules": [{"match": "transformer\\.h\\.\\d+\\.attn", "bits": 8}]})"));
        w.planDocument()->loadRecipe(file);
        QVERIFY(!w.planDocument()->warnings().isEmpty());
        auto* warn = w.findChild<QLabel*>(QStringLiteral("planWarnings"));
        QVERIFY(warn->text().contains(u"transformer"));
        // A broken recipe file: error naming it, the plan is untouched.
        const int steps = w.planDocument()->undoStack()->count();
        QVERIFY(qs::test::writeFile(file, "{ not json"));
        QS_VERIFY_ERROR(qs::test::errorOf([&] { w.planDocument()->loadRecipe(file); }), {file});
        QCOMPARE(w.planDocument()->undoStack()->count(), steps);
    }

    void mixedPrecisionApplyWithUndo()
    {
        QS_REQUIRE_DATA(path, "stories260K");
        QS_REQUIRE_DATA(text, "wikitext-2-raw/wiki.test.raw");
        MainWindow w;
        w.show();
        QVERIFY(loadInto(w, path));
        MixedPrecisionPanel* panel = w.mixedPrecisionPanel();
        SensitivitySettings s = qs::test::smallRtnSweep(text, 4);
        const auto tok = Tokenizer::load(path);
        const SensitivityResult r = runSensitivity(w.model(), *tok, s);
        panel->setResults(r);
        QVERIFY(panel->findChild<LayerErrorHeatmap*>(QStringLiteral("sensitivityHeatmap"))->hasData());
        QVERIFY(panel->findChild<LayerErrorBars*>(QStringLiteral("sensitivityBars"))->hasData());
        QVERIFY(panel->findChild<ParetoFrontPlot*>(QStringLiteral("paretoPlot"))->hasData());
        for (auto* plot : panel->findChildren<PlotWidget*>()) {
            const QPixmap pix = plot->toPixmap(400, 300);
            QVERIFY(!pix.isNull());
        }
        panel->setBudget(4.5);
        QVERIFY(panel->proposal().has_value());
        QVERIFY(panel->proposal()->bitsPerWeight <= 4.5 + 1e-9);
        QVERIFY(!panel->proposal()->uniform); // a real mix at 4.5 bpw of 2/4/8-bit
        QVERIFY(w.findChild<QLabel*>(QStringLiteral("budgetLabel"))->text().contains(u"predicted KLD"));
        const int steps = w.planDocument()->undoStack()->count();
        panel->findChild<QPushButton*>(QStringLiteral("applyPlan"))->click();
        QCOMPARE(w.planDocument()->undoStack()->count(), steps + 1);
        for (std::size_t u = 0; u < r.units.size(); ++u)
            QCOMPARE(
                w.planDocument()->plan().entries[std::size_t(r.units[u].linears.front())].spec.shortName(),
                r.schemes[std::size_t(panel->proposal()->choice[u])].name);
        QVERIFY(std::abs(w.planDocument()->linearBitsPerWeight() - panel->proposal()->bitsPerWeight) < 1e-9);
        w.planDocument()->undoStack()->undo();
        QCOMPARE(w.planDocument()->plan().entries[0].spec.shortName(), QStringLiteral("rtn-w4-g128"));
        // The same sweep run as 2 shards and merged (as after a Slurm array) proposes the same plan; a
        // lone shard is refused with what to do.
        QTemporaryDir tmp;
        QStringList shardFiles;
        for (int i = 0; i < 2; ++i) {
            s.shard = {i, 2};
            shardFiles << tmp.filePath(QStringLiteral("shard-%1.json").arg(i));
            runSensitivity(w.model(), *tok, s).save(shardFiles.back());
        }
        const std::vector<int> choice = panel->proposal()->choice;
        panel->setResults(SensitivityResult::load(shardFiles.back())); // shown, but not allocated
        QVERIFY(!panel->proposal().has_value());
        const QString why = w.findChild<QLabel*>(QStringLiteral("budgetLabel"))->text();
        QVERIFY2(why.contains(u"shard 1/2") && why.contains(u"merge all its shards"), qPrintable(why));
        const QString merged = tmp.filePath(QStringLiteral("merged.json"));
        mergeSweepShards(shardFiles).save(merged);
        panel->setResults(SensitivityResult::load(merged));
        panel->setBudget(4.5);
        QVERIFY(panel->proposal().has_value());
        QCOMPARE(panel->proposal()->choice, choice);
        // Results of another model are refused.
        SensitivityResult other = r;
        other.modelFingerprint = QStringLiteral("something else");
        QS_VERIFY_ERROR(qs::test::errorOf([&] { panel->setResults(other); }),
                        {QStringLiteral("another model")});
    }

    void sweepJobKeepsUiResponsiveAndCancels()
    {
        QS_REQUIRE_DATA(path, "stories260K");
        QS_REQUIRE_DATA(text, "wikitext-2-raw/wiki.test.raw");
        MainWindow w;
        w.show();
        QVERIFY(loadInto(w, path));
        MixedPrecisionPanel* panel = w.mixedPrecisionPanel();
        panel->findChild<QLineEdit*>(QStringLiteral("sweepSchemes"))
            ->setText(QStringLiteral("rtn-w3-ch,rtn-w4-ch"));
        panel->findChild<QLineEdit*>(QStringLiteral("sweepEvalText"))->setText(text);
        panel->findChild<QSpinBox*>(QStringLiteral("sweepChunks"))->setValue(8);
        QSignalSpy finished(panel, &MixedPrecisionPanel::sweepFinished);
        // The window answers while the job runs: no stall of its own over 100 ms.
        StallProbe probe;
        panel->findChild<QPushButton*>(QStringLiteral("runSweep"))->click();
        QVERIFY(panel->isRunning());
        QVERIFY(finished.wait(120000));
        QVERIFY2(probe.windowAnswered(), probe.report().constData());
        QCOMPARE(finished.front().front().toBool(), true);
        QVERIFY(panel->results().has_value());
        QCOMPARE(int(panel->results()->entries.size()), 70);

        // Cancel mid-sweep: the panel keeps what finished and says so.
        panel->findChild<QLineEdit*>(QStringLiteral("sweepSchemes"))
            ->setText(QStringLiteral("rtn-w2-ch,rtn-w5-ch"));
        finished.clear();
        panel->findChild<QPushButton*>(QStringLiteral("runSweep"))->click();
        QTRY_VERIFY_WITH_TIMEOUT(
            panel->findChild<QLabel*>(QStringLiteral("sweepStatus"))->text().contains(u"measuring"), 60000);
        panel->findChild<QPushButton*>(QStringLiteral("cancelSweep"))->click();
        QVERIFY(finished.wait(60000));
        QCOMPARE(finished.front().front().toBool(), false);
        QVERIFY(panel->findChild<QLabel*>(QStringLiteral("sweepStatus"))->text().contains(u"Cancelled"));
        QVERIFY(panel->results().has_value());
        QVERIFY(!panel->results()->complete); // at least the measurement reported as "measuring" is kept
        QVERIFY(!panel->results()->entries.empty());
        QCOMPARE(panel->results()->schemes.front().name, QStringLiteral("rtn-w2-ch"));
        QVERIFY(!panel->findChild<QPushButton*>(QStringLiteral("applyPlan"))->isEnabled());
    }

    void exportPlanAsGguf()
    {
        QS_REQUIRE_DATA(path, "stories260K");
        MainWindow w;
        w.show();
        QVERIFY(loadInto(w, path));
        // A gguf plan: Q4_K everywhere (stories260K's rows of 64 fall back to Q5_0, the 172-wide
        // down_proj to F16, as llama-quantize does), block 1's MLP kept f32.
        w.planDocument()->replaceRecipe(
            Recipe::fromJson(R"({"version": 1, "defaults": {"method": "gguf", "type": "Q4_K"},
                "keep_float": [{"match": "layers\\.1\\.mlp\\.", "dtype": "f32"}]})",
                             QStringLiteral("t.json")),
            QStringLiteral("gguf plan"));
        QTemporaryDir tmp;
        const QString out = tmp.filePath(QStringLiteral("plan.gguf"));
        PlanExporter* exporter = w.planExporter();
        QSignalSpy done(exporter, &PlanExporter::finished);
        exporter->exportGguf(out);
        QVERIFY(done.count() == 1 || done.wait(60000));
        QVERIFY2(done.front().front().toBool(), qPrintable(done.front().at(1).toString()));
        const auto f = GgufFile::open(out);
        QCOMPARE(f->findTensor(QStringLiteral("blk.0.attn_q.weight"))->type, GgmlType::Q5_0);
        QCOMPARE(f->findTensor(QStringLiteral("blk.0.ffn_down.weight"))->type, GgmlType::F16);
        QCOMPARE(f->findTensor(QStringLiteral("blk.1.ffn_up.weight"))->type, GgmlType::F32);
        const auto back = Model::open(out);
        QCOMPARE(back->linears()[0].quant->ggmlType, GgmlType::Q5_0);
        // The same plan as llama-quantize rules.
        QStringList problems;
        const QString rules = exporter->llamaCppRules(&problems);
        QVERIFY(problems.isEmpty());
        QVERIFY2(rules.startsWith(QStringLiteral("q5_0")), qPrintable(rules));
        QVERIFY(rules.contains(QStringLiteral("--tensor-type")) && rules.contains(QStringLiteral("=f16")));
        // A plan with GPTQ layers cannot become GGUF: a message, no file.
        w.planDocument()->replaceRecipe(
            Recipe::fromJson(R"({"version": 1, "defaults": {"method": "rtn", "bits": 4, "group_size": 32}})",
                             QStringLiteral("r.json")),
            QStringLiteral("rtn plan"));
        done.clear();
        exporter->exportGguf(tmp.filePath(QStringLiteral("bad.gguf")));
        QCOMPARE(done.count(), 1);
        QCOMPARE(done.front().front().toBool(), false);
        QVERIFY(done.front().at(1).toString().contains(QStringLiteral("rtn")));
        QVERIFY(!QFile::exists(tmp.filePath(QStringLiteral("bad.gguf"))));
        QTRY_VERIFY(w.findChild<QMessageBox*>(QStringLiteral("errorDialog"))); // non-modal
    }

    void runFromPlanAndCompare()
    {
        QS_REQUIRE_DATA(path, "stories260K");
        QS_REQUIRE_DATA(text, "wikitext-2-raw/wiki.test.raw");
        MainWindow w;
        w.show();
        QVERIFY(loadInto(w, path));
        RunsPanel* runs = w.runsPanel();
        runs->findChild<QLineEdit*>(QStringLiteral("runEvalText"))->setText(text);
        runs->findChild<QSpinBox*>(QStringLiteral("runChunks"))->setValue(16);
        PlanTableModel* model = w.planTableModel();
        const int q0 = rowOf(*w.model(), QStringLiteral("model.layers.0.self_attn.q_proj"));
        // Everything float (f16) except block 0's q_proj at 3 bits.
        std::vector<int> all(std::size_t(model->rowCount()));
        std::iota(all.begin(), all.end(), 0);
        model->setEditRows(all);
        QVERIFY(model->setData(model->index(0, PlanTableModel::Method), QStringLiteral("f16")));
        model->setEditRows({});
        QVERIFY(model->setData(model->index(q0, PlanTableModel::Method), QStringLiteral("rtn")));
        QVERIFY(model->setData(model->index(q0, PlanTableModel::Bits), 3));
        QCOMPARE(w.planDocument()->plan().entries[std::size_t(q0)].spec.bits, 3);
        QCOMPARE(w.planDocument()->plan().entries[std::size_t(q0 + 1)].spec.method, QuantMethod::Float);
        QSignalSpy finished(runs, &RunsPanel::runFinished);
        // The window keeps answering while the run goes: no stall of its own over 100 ms.
        StallProbe probe;
        w.findChild<QPushButton*>(QStringLiteral("runPlan"))->click();
        QCOMPARE(runs->pendingJobs(), 1);
        QVERIFY(finished.wait(120000));
        QVERIFY2(probe.windowAnswered(), probe.report().constData());
        QVERIFY2(finished.front().front().toBool(), qPrintable(finished.front().at(1).toString()));
        QVERIFY(runs->baseline().has_value());
        QCOMPARE(int(runs->runs().size()), 1);
        const RunSummary& r = runs->runs().front();
        QVERIFY(r.hasPerplexity() && r.hasKld());
        QVERIFY2(r.ppl > runs->baseline()->ppl,
                 qPrintable(QStringLiteral("%1 vs %2").arg(r.ppl).arg(runs->baseline()->ppl)));
        auto* table = runs->findChild<QTableWidget*>(QStringLiteral("runsTable"));
        QCOMPARE(table->rowCount(), 2);                    // float baseline + the run
        QVERIFY(table->item(1, 6)->text().contains(u'±')); // ppl ± err, after model and linear bpw
        for (PlotWidget* plot : runs->findChildren<PlotWidget*>()) {
            QVERIFY2(plot->hasData(), qPrintable(plot->objectName()));
            const QImage img = plot->toPixmap(500, 300).toImage();
            QVERIFY(!img.isNull());
        }
        // The layer table shows the measured errors of the run, named by the run in the headers.
        QVERIFY(!model->data(model->index(q0, PlanTableModel::WeightError)).toString().isEmpty());
        QCOMPARE(model->measuredRun(), r.name);
        for (int c : {int(PlanTableModel::WeightError), int(PlanTableModel::OutputError)}) {
            QVERIFY2(model->headerData(c, Qt::Horizontal).toString().contains(r.name),
                     qPrintable(model->headerData(c, Qt::Horizontal).toString()));
            QVERIFY(model->headerData(c, Qt::Horizontal, Qt::ToolTipRole).toString().contains(r.name));
        }
        // Once the plan changes a layer's scheme its error is cleared (it was not measured), and
        // shown again when the scheme is the measured one again.
        QVERIFY(model->setData(model->index(q0, PlanTableModel::Bits), 4));
        QVERIFY(model->data(model->index(q0, PlanTableModel::WeightError)).toString().isEmpty());
        QVERIFY(model->data(model->index(q0, PlanTableModel::OutputError)).toString().isEmpty());
        QVERIFY(model->setData(model->index(q0, PlanTableModel::Bits), 3));
        QVERIFY(!model->data(model->index(q0, PlanTableModel::WeightError)).toString().isEmpty());

        // Cancel mid-run: no run is added, and the session folder gets no new file.
        finished.clear();
        const int id = w.runCurrentPlan();
        QVERIFY(id > 0);
        QTRY_VERIFY_WITH_TIMEOUT(
            runs->findChild<QTableWidget*>(QStringLiteral("jobsTable"))->item(0, 2)->text() != u"queued",
            30000);
        runs->cancelRun(id);
        QVERIFY(finished.wait(60000));
        QCOMPARE(finished.front().front().toBool(), false);
        QCOMPARE(int(runs->runs().size()), 1);
        QCOMPARE(runs->pendingJobs(), 0);

        // A run that would not fit in memory ends with a message saying so; no run is added and
        // the window keeps working.
        qputenv("QUANTSCOPE_MEMORY_LIMIT", "100000");
        finished.clear();
        QVERIFY(w.runCurrentPlan() > 0);
        QVERIFY(finished.wait(60000));
        qunsetenv("QUANTSCOPE_MEMORY_LIMIT");
        QCOMPARE(finished.front().front().toBool(), false);
        QVERIFY2(finished.front().at(1).toString().contains(QStringLiteral("not enough memory")),
                 qPrintable(finished.front().at(1).toString()));
        QCOMPARE(int(runs->runs().size()), 1);
        QCOMPARE(runs->pendingJobs(), 0);
        QVERIFY(model->setData(model->index(q0, PlanTableModel::Bits), 4));
        QCOMPARE(w.planDocument()->plan().entries[std::size_t(q0)].spec.bits, 4);
    }
};

QTEST_MAIN(TestPlanEditor)
#include "tst_planeditor.moc"
