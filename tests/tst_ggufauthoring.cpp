// GGUF authoring end to end in the real main window, offscreen: the sweep's scheme picker built
// from the methods and ggml type tables (in sync with the advanced text line), sweep → apply →
// Export GGUF with the fallback types shown in the proposal table and heatmap, the exported
// size reconciled with the plan's estimate, the quoted llama-quantize command and its Copy
// button, Export GGUF refused with the reason before any file dialog, ggml types in the rule
// editor, and Export Hugging Face of a run. With QS_SCREENSHOTS=DIR it saves what it shows there.
#include "GuiTestSupport.h"
#include "LayerErrorHeatmap.h"
#include "MainWindow.h"
#include "MixedPrecisionPanel.h"
#include "PlanDocument.h"
#include "PlanExport.h"
#include "PlanPage.h"
#include "PlanTableModel.h"
#include "RunsPanel.h"
#include "TestSupport.h"
#include "analysis/Sensitivity.h"
#include "checkpoint/GgufTypePolicy.h"
#include "io/Gguf.h"
#include "model/Model.h"
#include "recipe/Recipe.h"
#include "recipe/RecipeExport.h"
#include "spec/QuantSpec.h"
#include "util/Paths.h"

#include <QAction>
#include <QApplication>
#include <QCheckBox>
#include <QClipboard>
#include <QComboBox>
#include <QDialog>
#include <QFileDialog>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>
#include <QUndoStack>

using namespace qs;

namespace {

using qs::test::loadInto;

/// Saves `widget` as NAME.png under $QS_SCREENSHOTS (when set).
void screenshot(QWidget* widget, const QString& name)
{
    const QString dir = qEnvironmentVariable("QS_SCREENSHOTS");
    if (dir.isEmpty())
        return;
    QTest::qWait(300); // the plots replot queued
    QVERIFY(widget->grab().save(dir + u'/' + name + QStringLiteral(".png")));
}

QAction* action(MainWindow& w, const char* name)
{
    return w.findChild<QAction*>(QLatin1String(name));
}

QDialog* topDialog(const char* name)
{
    for (QWidget* t : QApplication::topLevelWidgets()) {
        if (t->objectName() == QLatin1String(name) && t->isVisible())
            return qobject_cast<QDialog*>(t);
    }
    return nullptr;
}

} // namespace

class TestGgufAuthoring : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void schemePickerFollowsTables()
    {
        QS_REQUIRE_DATA(path, "stories260K");
        MainWindow w;
        w.show();
        QVERIFY(loadInto(w, path));
        MixedPrecisionPanel* panel = w.mixedPrecisionPanel();
        auto* text = panel->findChild<QLineEdit*>(QStringLiteral("sweepSchemes"));
        // One checkbox per ggml weight type of the table, one bit row per weight-only method.
        for (const QString& t : QuantSpec::ggmlTypeChoices())
            QVERIFY2(panel->findChild<QCheckBox*>(QStringLiteral("scheme_") + t.toLower()), qPrintable(t));
        for (const QuantMethodInfo& m : kQuantMethods) {
            const bool offered = m.grouped && !m.quantizesActivations;
            QCOMPARE(panel->findChild<QComboBox*>(QStringLiteral("schemeGroup_") + QLatin1String(m.name)) !=
                         nullptr,
                     offered);
        }
        // The default needs no calibration text and exports as GGUF.
        QVERIFY(!text->text().contains(u"gptq"));
        for (const SensitivityScheme& s : parseSchemes(text->text()))
            QVERIFY2(s.spec.ggufType().has_value() && !s.spec.needsCalibration(), qPrintable(s.name));
        QVERIFY(panel->findChild<QCheckBox*>(QStringLiteral("scheme_q4_k"))->isChecked());

        // Checkbox → text, keeping what the boxes do not spell.
        text->setText(QStringLiteral("gguf-q4_k,rtn-w4-g64-clip"));
        panel->findChild<QCheckBox*>(QStringLiteral("scheme_q5_0"))->click();
        QCOMPARE(text->text(), QStringLiteral("gguf-q4_k,rtn-w4-g64-clip,gguf-q5_0"));
        auto* gptq3 = panel->findChild<QCheckBox*>(QStringLiteral("scheme_gptq_w3"));
        auto* gptqGroup = panel->findChild<QComboBox*>(QStringLiteral("schemeGroup_gptq"));
        gptqGroup->setCurrentText(QStringLiteral("64"));
        gptq3->click();
        QVERIFY2(text->text().endsWith(QStringLiteral(",gptq-w3-g64")), qPrintable(text->text()));
        // A new granularity renames the row's schemes.
        gptqGroup->setCurrentText(QStringLiteral("channel"));
        QVERIFY2(text->text().contains(QStringLiteral("gptq-w3-ch")) && !text->text().contains(u"g64,"),
                 qPrintable(text->text()));
        // imatrix switches every gguf scheme's spelling.
        panel->findChild<QCheckBox*>(QStringLiteral("schemeImatrix"))->click();
        QVERIFY2(text->text().contains(QStringLiteral("gguf-q4_k-imat")) &&
                     text->text().contains(QStringLiteral("gguf-q5_0-imat")),
                 qPrintable(text->text()));
        QVERIFY(panel->findChild<QCheckBox*>(QStringLiteral("scheme_q4_k"))->isChecked());
        // Text → checkboxes (any spelling the parser reads).
        text->setText(QStringLiteral("GPTQ-W2-G128, f16"));
        QVERIFY(!panel->findChild<QCheckBox*>(QStringLiteral("scheme_q4_k"))->isChecked());
        QCOMPARE(gptqGroup->currentText(), QStringLiteral("128"));
        QVERIFY(panel->findChild<QCheckBox*>(QStringLiteral("scheme_gptq_w2"))->isChecked());
        QVERIFY(!gptq3->isChecked());
        QVERIFY(panel->findChild<QCheckBox*>(QStringLiteral("schemeF16"))->isChecked());
        panel->findChild<QCheckBox*>(QStringLiteral("schemeF16"))->click();
        QCOMPARE(text->text(), QStringLiteral("GPTQ-W2-G128"));
    }

    void sweepApplyExportGguf()
    {
        QS_REQUIRE_DATA(path, "stories260K");
        QS_REQUIRE_DATA(evalText, "wikitext-2-raw/wiki.test.raw");
        MainWindow w;
        w.resize(1400, 950);
        w.show();
        QVERIFY(loadInto(w, path));
        const Model& model = *w.model();
        MixedPrecisionPanel* panel = w.mixedPrecisionPanel();
        w.tabs()->setCurrentWidget(panel);
        // The user's picks: Q3_K, Q4_K and Q6_K (default Q2_K unchecked by its box).
        panel->findChild<QCheckBox*>(QStringLiteral("scheme_q2_k"))->click();
        QCOMPARE(panel->findChild<QLineEdit*>(QStringLiteral("sweepSchemes"))->text(),
                 QStringLiteral("gguf-q3_k,gguf-q4_k,gguf-q6_k"));
        panel->findChild<QLineEdit*>(QStringLiteral("sweepEvalText"))->setText(evalText);
        panel->findChild<QSpinBox*>(QStringLiteral("sweepChunks"))->setValue(4);
        QSignalSpy swept(panel, &MixedPrecisionPanel::sweepFinished);
        panel->findChild<QPushButton*>(QStringLiteral("runSweep"))->click();
        QVERIFY(swept.wait(300000));
        QVERIFY2(swept.front().front().toBool(), qPrintable(swept.front().at(1).toString()));

        // The 172-wide ffn_down rows fit no k-quant block: llama-quantize stores F16 (Q3_K via
        // IQ4_NL, Q4_K via Q5_0), and the table and heatmap say so.
        auto* table = panel->findChild<QTableWidget*>(QStringLiteral("proposalTable"));
        QCOMPARE(table->horizontalHeaderItem(2)->text(), QStringLiteral("Stored as"));
        int down = -1;
        for (int r = 0; r < table->rowCount(); ++r)
            if (table->item(r, 0)->text() == QStringLiteral("model.layers.0.mlp.down_proj"))
                down = r;
        QVERIFY(down >= 0);
        QVERIFY2(table->item(down, 2)->text().endsWith(QStringLiteral("→ F16")),
                 qPrintable(table->item(down, 2)->text()));
        QVERIFY(table->item(down, 2)->toolTip().contains(QStringLiteral("rows of 172 values")));
        auto* heatmap = panel->findChild<LayerErrorHeatmap*>(QStringLiteral("sensitivityHeatmap"));
        const std::vector<QString>& notes = heatmap->cellNotes();
        QCOMPARE(notes.size(), heatmap->matrix().values.size());
        const int downUnit =
            int(heatmap->matrix().layers.indexOf(QStringLiteral("model.layers.0.mlp.down_proj")));
        const int runs = int(heatmap->matrix().runs.size());
        for (int k = 0; k < runs; ++k)
            QVERIFY2(notes[std::size_t(downUnit * runs + k)].contains(QStringLiteral("→ F16")),
                     qPrintable(notes[std::size_t(downUnit * runs + k)]));
        screenshot(&w, QStringLiteral("gguf-mixed-precision"));

        // Apply → the plan is all gguf → Export GGUF is offered.
        panel->findChild<QPushButton*>(QStringLiteral("applyPlan"))->click();
        QAction* exportGguf = action(w, "actionExportGguf");
        QVERIFY(exportGguf->isEnabled());
        QTemporaryDir tmp;
        const QString out = tmp.filePath(QStringLiteral("plan.gguf"));
        PlanExporter* exporter = w.planExporter();
        QSignalSpy done(exporter, &PlanExporter::finished);
        exporter->exportGguf(out);
        QVERIFY(done.count() == 1 || done.wait(60000));
        QVERIFY2(done.front().front().toBool(), qPrintable(done.front().at(1).toString()));
        // The size on disk, next to the estimate, and why they differ.
        const qint64 size = QFileInfo(out).size();
        const QString message = done.front().at(1).toString();
        QVERIFY2(message.contains(formatBytes(double(size))) &&
                     message.contains(formatBytes(double(w.planDocument()->plannedBytes()))),
                 qPrintable(message));
        const QStringList report = exporter->lastReport();
        QVERIFY2(report.front().startsWith(QStringLiteral("File: ") + formatBytes(double(size))),
                 qPrintable(report.join(u'\n')));
        const auto file = GgufFile::open(out);
        QCOMPARE(file->findTensor(QStringLiteral("token_embd.weight"))->type, ggufTokenEmbeddingType(model));
        QVERIFY2(report.filter(QStringLiteral("token_embd.weight: Q8_0")).size() == 1,
                 qPrintable(report.join(u'\n')));
        QDialog* shown = nullptr;
        QTRY_VERIFY((shown = topDialog("exportReport")) != nullptr);
        QVERIFY(shown->findChild<QPlainTextEdit*>()->toPlainText().contains(u"token_embd.weight"));
        screenshot(shown, QStringLiteral("gguf-export-report"));
        shown->close();

        // The llama-quantize command: complete, every argument quoted, Copy puts it on the clipboard.
        LlamaQuantizeInvocation how;
        how.input = tmp.filePath(QStringLiteral("in F16.gguf"));
        how.output = tmp.filePath(QStringLiteral("it's out.gguf"));
        how.imatrix = QStringLiteral("imatrix.dat");
        const QString command = exporter->llamaQuantizeCommand(&how);
        QVERIFY2(command.startsWith(QStringLiteral("llama-quantize \\\n  --imatrix imatrix.dat")),
                 qPrintable(command));
        QVERIFY2(command.contains(u'\'' + how.input + u'\''), qPrintable(command));
        QVERIFY2(command.contains(QStringLiteral("'\\''s out.gguf'")), qPrintable(command));
        QVERIFY2(command.contains(QStringLiteral("--tensor-type '^blk\\.\\d+\\.ffn_down\\.weight$=f16'")),
                 qPrintable(command));
        action(w, "actionLlamaCppRules")->trigger();
        QDialog* rules = nullptr;
        QTRY_VERIFY((rules = topDialog("llamaCppRulesDialog")) != nullptr);
        rules->findChild<QLineEdit*>(QStringLiteral("lqOutput"))->setText(how.output);
        auto* commandText = rules->findChild<QPlainTextEdit*>(QStringLiteral("llamaCppRules"));
        QVERIFY(commandText->toPlainText().contains(QStringLiteral("'\\''s out.gguf'")));
        QVERIFY(commandText->toPlainText().contains(QStringLiteral("--token-embedding-type q8_0")));
        // Where llama-quantize would type a layer otherwise (fallback rows ignore --tensor-type), it says so.
        QStringList deviations;
        exporter->llamaQuantizeCommand(nullptr, &deviations);
        auto* warn = rules->findChild<QPlainTextEdit*>(QStringLiteral("llamaCppProblems"));
        QCOMPARE(warn->isVisibleTo(rules), !deviations.isEmpty());
        for (const QString& d : deviations)
            QVERIFY2(warn->toPlainText().contains(d), qPrintable(d));
        rules->findChild<QPushButton*>(QStringLiteral("copyLlamaQuantize"))->click();
        QCOMPARE(QApplication::clipboard()->text(), commandText->toPlainText());
        screenshot(rules, QStringLiteral("gguf-llama-quantize-command"));
        rules->close();
    }

    void exportRefusedBeforeAnyDialog()
    {
        QS_REQUIRE_DATA(path, "stories260K");
        MainWindow w;
        w.show();
        QVERIFY(loadInto(w, path));
        w.planDocument()->replaceRecipe(
            Recipe::fromJson(R"({"version": 1, "defaults": {"method": "gptq", "bits": 4, "group_size": 32}})",
                             QStringLiteral("g.json")),
            QStringLiteral("gptq plan"));
        QAction* exportGguf = action(w, "actionExportGguf");
        QVERIFY(!exportGguf->isEnabled());
        QVERIFY2(exportGguf->toolTip().contains(QStringLiteral("GGUF cannot hold")) &&
                     exportGguf->toolTip().contains(QStringLiteral("model.layers.0")),
                 qPrintable(exportGguf->toolTip()));
        QVERIFY(exportGguf->statusTip() == exportGguf->toolTip());
        // Called anyway (a shortcut, a script): the reason, and no file dialog ever opens.
        bool dialogOpened = false;
        QTimer watchdog;
        watchdog.setInterval(200);
        connect(&watchdog, &QTimer::timeout, this, [&] {
            for (QWidget* t : QApplication::topLevelWidgets())
                if (auto* d = qobject_cast<QFileDialog*>(t); d && d->isVisible()) {
                    dialogOpened = true;
                    d->reject();
                }
        });
        watchdog.start();
        QSignalSpy done(w.planExporter(), &PlanExporter::finished);
        w.planExporter()->exportGgufDialog();
        QCOMPARE(done.count(), 1);
        QCOMPARE(done.front().front().toBool(), false);
        QVERIFY(done.front().at(1).toString().contains(QStringLiteral("GGUF cannot hold")));
        QVERIFY(!dialogOpened);
        // A gguf plan: offered again, the reason gone.
        w.planDocument()->replaceRecipe(
            Recipe::fromJson(R"({"version": 1, "defaults": {"method": "gguf", "type": "Q6_K"}})",
                             QStringLiteral("q.json")),
            QStringLiteral("gguf plan"));
        QVERIFY(exportGguf->isEnabled());
        QVERIFY(!exportGguf->toolTip().contains(u"cannot"));
    }

    void ruleEditorSetsGgmlTypes()
    {
        QS_REQUIRE_DATA(path, "stories260K");
        MainWindow w;
        w.resize(1300, 800);
        w.show();
        QVERIFY(loadInto(w, path));
        PlanPage* page = w.planPage();
        w.tabs()->setCurrentWidget(page);
        auto* method = page->findChild<QComboBox*>(QStringLiteral("ruleMethod"));
        auto* bits = page->findChild<QComboBox*>(QStringLiteral("ruleBits"));
        method->setCurrentText(QStringLiteral("gguf"));
        QStringList offered;
        for (int i = 1; i < bits->count(); ++i)
            offered << bits->itemText(i);
        QCOMPARE(offered, QuantSpec::ggmlTypeChoices());
        QVERIFY(!page->findChild<QComboBox*>(QStringLiteral("ruleGroup"))->isEnabled());
        bits->setCurrentText(QStringLiteral("Q6_K"));
        page->findChild<QLineEdit*>(QStringLiteral("ruleMatch"))->setText(QStringLiteral("mlp\\.up_proj$"));
        page->findChild<QPushButton*>(QStringLiteral("addRule"))->click();
        int upProj = 0;
        for (const LayerPlanEntry& e : w.planDocument()->plan().entries) {
            if (!e.name.endsWith(QStringLiteral("mlp.up_proj")))
                continue;
            ++upProj;
            // Rows of 64: Q6_K's 256-value block does not fit, llama-quantize stores Q8_0.
            QCOMPARE(e.spec.method, QuantMethod::Ggml);
            QCOMPARE(e.spec.ggmlType, GgmlType::Q8_0);
            QVERIFY2(e.note.contains(QStringLiteral("Q6_K")), qPrintable(e.note));
            // The layer table tints the fallback and names it in the tooltip.
            const QModelIndex cell = w.planTableModel()->index(e.linearIndex, PlanTableModel::Bits);
            QCOMPARE(cell.data().toString(), QStringLiteral("Q8_0"));
            QVERIFY(cell.data(Qt::BackgroundRole).isValid());
            QCOMPARE(cell.data(Qt::ToolTipRole).toString(), e.note);
        }
        QVERIFY(upProj > 0);
        screenshot(page, QStringLiteral("gguf-rule-editor"));
        // Back to bits for a grouped method.
        method->setCurrentText(QStringLiteral("rtn"));
        QCOMPARE(bits->itemText(1), QStringLiteral("2"));
        QVERIFY(page->findChild<QComboBox*>(QStringLiteral("ruleGroup"))->isEnabled());
    }

    void exportHuggingFaceOfARun()
    {
        QS_REQUIRE_DATA(path, "stories260K");
        QS_REQUIRE_DATA(evalText, "wikitext-2-raw/wiki.test.raw");
        MainWindow w;
        w.show();
        QVERIFY(loadInto(w, path));
        // GPTQ packing needs outputs and groups in 32s: the MLP (172 wide) stays float.
        w.planDocument()->replaceRecipe(
            Recipe::fromJson(R"({"version": 1, "defaults": {"method": "rtn", "bits": 4, "group_size": 32,
                                 "symmetric": true}, "keep_float": ["mlp\\."]})",
                             QStringLiteral("r.json")),
            QStringLiteral("rtn plan"));
        QAction* exportHf = action(w, "actionExportHf");
        QVERIFY(!exportHf->isEnabled());
        // The default plan (RTN g128) is refused before it runs, naming the layer and the reason.
        w.planDocument()->undoStack()->undo();
        QVERIFY2(exportHf->toolTip().contains(QStringLiteral("model.layers.0.mlp.gate_proj")) &&
                     exportHf->toolTip().contains(QStringLiteral("out_features 172")),
                 qPrintable(exportHf->toolTip()));
        w.planDocument()->undoStack()->redo();
        QVERIFY2(exportHf->toolTip().contains(QStringLiteral("Run the plan first")),
                 qPrintable(exportHf->toolTip()));
        RunsPanel* runs = w.runsPanel();
        runs->findChild<QLineEdit*>(QStringLiteral("runEvalText"))->setText(evalText);
        runs->findChild<QSpinBox*>(QStringLiteral("runChunks"))->setValue(4);
        QSignalSpy ran(runs, &RunsPanel::runFinished);
        QVERIFY(w.runCurrentPlan() >= 0);
        QVERIFY(ran.wait(300000));
        QVERIFY2(ran.front().front().toBool(), qPrintable(ran.front().at(1).toString()));
        QVERIFY2(exportHf->isEnabled(), qPrintable(exportHf->toolTip()));
        QTemporaryDir tmp;
        const QString out = tmp.filePath(QStringLiteral("hf"));
        QSignalSpy done(w.planExporter(), &PlanExporter::finished);
        w.planExporter()->exportHf(out);
        QVERIFY(done.count() == 1 || done.wait(60000));
        QVERIFY2(done.front().front().toBool(), qPrintable(done.front().at(1).toString()));
        QFile config(out + QStringLiteral("/config.json"));
        QVERIFY(config.open(QIODevice::ReadOnly));
        const QJsonObject q =
            QJsonDocument::fromJson(config.readAll()).object().value(u"quantization_config").toObject();
        QCOMPARE(q.value(u"bits").toInt(), 4);
        QCOMPARE(q.value(u"group_size").toInt(), 32);
        // An edit after the run: the checkpoint is no longer this plan's.
        w.planDocument()->undoStack()->undo();
        QVERIFY(!exportHf->isEnabled());
    }
};

QTEST_MAIN(TestGgufAuthoring)
#include "tst_ggufauthoring.moc"
