#include "PlanExport.h"

#include "JobRunner.h"
#include "PlanDocument.h"
#include "checkpoint/GgufExport.h"
#include "jobs/Job.h"
#include "model/Model.h"
#include "recipe/RecipeExport.h"
#include "util/AtomicFile.h"

#include <QDialog>
#include <QDialogButtonBox>
#include <QFileDialog>
#include <QLabel>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QProgressDialog>
#include <QPushButton>
#include <QVBoxLayout>

namespace qs {

PlanExporter::PlanExporter(PlanDocument* doc, QWidget* window) : QObject(window), m_doc(doc), m_window(window)
{}

PlanExporter::~PlanExporter()
{
    if (m_cancel)
        m_cancel->cancel();
}

QString PlanExporter::llamaCppRules(QStringList* problems) const
{
    if (!m_doc->model())
        return {};
    const LlamaCppExport e = exportLlamaCpp(m_doc->plan(), *m_doc->model());
    if (problems)
        *problems = e.problems;
    QStringList lines{e.baseType};
    for (qsizetype i = 0; i + 1 < e.args.size(); i += 2)
        lines << e.args[i] + u' ' + e.args[i + 1];
    return lines.join(u'\n');
}

void PlanExporter::showLlamaCppRules()
{
    if (!m_doc->model())
        return;
    QStringList problems;
    const QString rules = llamaCppRules(&problems);
    auto* dialog = new QDialog(m_window);
    dialog->setObjectName(QStringLiteral("llamaCppRulesDialog"));
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->setWindowTitle(tr("llama-quantize Rules"));
    auto* layout = new QVBoxLayout(dialog);
    layout->addWidget(
        new QLabel(tr("The base type (llama-quantize's positional TYPE) and one --tensor-type rule per "
                      "line; together they give every layer the type of this plan.")));
    auto* text = new QPlainTextEdit(rules);
    text->setReadOnly(true);
    text->setObjectName(QStringLiteral("llamaCppRules"));
    layout->addWidget(text);
    if (!problems.isEmpty()) {
        auto* warn = new QLabel(tr("Not expressible as GGUF types:\n%1").arg(problems.join(u'\n')));
        warn->setWordWrap(true);
        layout->addWidget(warn);
    }
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Save | QDialogButtonBox::Close);
    connect(buttons, &QDialogButtonBox::rejected, dialog, &QDialog::close);
    connect(buttons->button(QDialogButtonBox::Save), &QPushButton::clicked, dialog, [dialog, rules] {
        const QString path =
            QFileDialog::getSaveFileName(dialog, tr("Save Rules"), QString(), tr("Text (*.txt)"));
        if (path.isEmpty())
            return;
        try {
            writeFileAtomically(path, rules.toUtf8() + '\n');
        } catch (const Error& e) {
            QMessageBox::warning(dialog, tr("Cannot save"), e.message());
        }
    });
    layout->addWidget(buttons);
    dialog->resize(720, 420);
    dialog->show();
}

void PlanExporter::exportGgufDialog()
{
    if (!m_doc->model())
        return;
    const QString path =
        QFileDialog::getSaveFileName(m_window, tr("Export GGUF"), QString(), tr("GGUF models (*.gguf)"));
    if (!path.isEmpty())
        exportGguf(path);
}

void PlanExporter::exportGguf(const QString& path)
{
    const std::shared_ptr<const Model> model = m_doc->model();
    m_lastCancelled = false;
    if (!model || m_busy) {
        Q_EMIT finished(false, m_busy ? tr("an export is already running") : tr("no model is open"));
        return;
    }
    GgufExportPlan plan;
    try { // every problem of the plan is known before a byte is written
        plan = ggufPreset(*model, QStringLiteral("F16"));
        if (model->config().hiddenSize % 32 == 0) // token embeddings Q8_0 (rows of hidden size)
            ggufOverrideTypes(*model, plan, QStringLiteral("^token_embd\\.weight$"), GgmlType::Q8_0);
        ggufApplyLayerPlan(*model, plan, m_doc->plan());
    } catch (const Error& e) {
        Q_EMIT finished(false, e.message());
        return;
    }
    m_busy = true;
    m_cancel = std::make_shared<CancelToken>();
    m_progress = new QProgressDialog(tr("Writing %1…").arg(path), tr("Cancel"), 0, 1000, m_window);
    m_progress->setObjectName(QStringLiteral("ggufExportProgress"));
    m_progress->setWindowModality(Qt::NonModal);
    m_progress->setMinimumDuration(0);
    m_progress->setAttribute(Qt::WA_DeleteOnClose);
    connect(m_progress, &QProgressDialog::canceled, this, [cancel = m_cancel] { cancel->cancel(); });

    JobOptions options;
    options.cancel = m_cancel;
    options.progress = [this](const JobProgress& p) {
        if (m_progress && p.fraction >= 0) {
            m_progress->setValue(int(p.fraction * 1000));
            m_progress->setLabelText(p.detail);
        }
    };
    runJob<NoResult>(
        this,
        [model, plan, path](NoResult&, const JobContext& ctx) {
            qs::exportGguf(*model, plan, path, nullptr, ctx);
        },
        [this, path](const JobOutcome<NoResult>& out) { onExportFinished(path, out.cancelled, out.error); },
        options);
}

void PlanExporter::onExportFinished(const QString& path, bool cancelled, const QString& error)
{
    m_busy = false;
    m_lastCancelled = cancelled;
    m_cancel.reset();
    if (m_progress) {
        m_progress->reset();
        m_progress->close();
        m_progress = nullptr;
    }
    if (cancelled)
        Q_EMIT finished(false, tr("GGUF export cancelled"));
    else if (!error.isEmpty())
        Q_EMIT finished(false, error);
    else
        Q_EMIT finished(true, tr("Wrote %1").arg(path));
}

} // namespace qs
