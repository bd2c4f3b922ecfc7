#include "PlanExport.h"

#include "JobRunner.h"
#include "PlanDocument.h"
#include "ThemeColors.h"
#include "checkpoint/GgufExport.h"
#include "checkpoint/GgufSizeReport.h"
#include "checkpoint/HfQuantExport.h"
#include "jobs/Job.h"
#include "model/Model.h"
#include "recipe/RecipeExport.h"
#include "util/AtomicFile.h"
#include "util/Paths.h"
#include "util/ShellQuote.h"

#include <QApplication>
#include <QClipboard>
#include <QDialog>
#include <QDialogButtonBox>
#include <QDirIterator>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
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

QString PlanExporter::llamaQuantizeCommand(const LlamaQuantizeInvocation* how, QStringList* problems) const
{
    const std::shared_ptr<const Model> model = m_doc->model();
    if (!model)
        return {};
    const LlamaCppExport e = llamaQuantizeExport(*model, m_doc->plan(), how && !how->imatrix.isEmpty());
    if (problems)
        *problems = e.problems;
    LlamaQuantizeInvocation files = how ? *how : llamaQuantizeDefaults(*model, e.baseType);
    if (!how) // as Export GGUF writes them (the CLI's `recipe export` does the same)
        files.tokenEmbeddingType = ggmlTypeName(ggufTokenEmbeddingType(*model));
    return llamaQuantizeCommandText(llamaQuantizeArgv(e, files));
}

QString PlanExporter::ggufProblem() const
{
    const std::shared_ptr<const Model> model = m_doc->model();
    if (!model)
        return tr("Open a model first.");
    try {
        ggufPlanForLayerPlan(*model, m_doc->plan());
    } catch (const Error& e) {
        return e.message();
    }
    return {};
}

QString PlanExporter::hfProblem(QString* format) const
{
    const std::shared_ptr<const Model> model = m_doc->model();
    if (!model)
        return tr("Open a model first.");
    // AWQ when the plan has AWQ layers, else GPTQ (which also holds RTN layers).
    bool awq = false;
    for (const LayerPlanEntry& e : m_doc->plan().entries)
        awq = awq || e.spec.method == QuantMethod::Awq;
    const HfQuantFormat f = awq ? HfQuantFormat::Awq : HfQuantFormat::Gptq;
    std::vector<QuantSpec> specs;
    for (const LayerPlanEntry& e : m_doc->plan().entries) {
        const LinearLayerInfo& l = model->linears()[std::size_t(e.linearIndex)];
        if (const QString p = hfExportProblem(e.spec, l.outFeatures, l.inFeatures, f); !p.isEmpty())
            return tr("Layer %1 (%2): %3").arg(e.name, e.spec.label(), p);
        specs.push_back(e.spec);
    }
    if (m_lastCheckpoint.isEmpty())
        return tr("Run the plan first (Plan › Run Plan): the checkpoint holds a run's quantized weights.");
    if (specs != m_lastSpecs)
        return tr("The plan changed since its last run: run it again to export it.");
    if (format)
        *format = awq ? QStringLiteral("awq") : QStringLiteral("gptq");
    return {};
}

void PlanExporter::setLastRun(const QString& checkpoint, const std::vector<QuantSpec>& specs)
{
    m_lastCheckpoint = checkpoint;
    m_lastSpecs = specs;
}

void PlanExporter::showLlamaCppRules()
{
    const std::shared_ptr<const Model> model = m_doc->model();
    if (!model)
        return;
    const LayerPlan plan = m_doc->plan();
    LlamaQuantizeInvocation defaults =
        llamaQuantizeDefaults(*model, llamaQuantizeExport(*model, plan).baseType);
    defaults.tokenEmbeddingType = ggmlTypeName(ggufTokenEmbeddingType(*model));
    auto* dialog = new QDialog(m_window);
    dialog->setObjectName(QStringLiteral("llamaCppRulesDialog"));
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->setWindowTitle(tr("llama-quantize Command"));
    auto* layout = new QVBoxLayout(dialog);
    auto* intro = new QLabel(
        tr("llama-quantize gives a GGUF file the types of this plan with this command (the base type "
           "applies to every tensor no rule names). Each argument is quoted for a POSIX shell."));
    intro->setWordWrap(true);
    layout->addWidget(intro);
    auto* form = new QFormLayout;
    const auto field = [&](const char* name, const QString& label, const QString& value) {
        auto* edit = new QLineEdit(value);
        edit->setObjectName(QLatin1String(name));
        form->addRow(label, edit);
        return edit;
    };
    QLineEdit* binary = field("lqBinary", tr("Program"), defaults.binary);
    QLineEdit* input = field("lqInput", tr("Input (F16 GGUF)"), defaults.input);
    QLineEdit* output = field("lqOutput", tr("Output"), defaults.output);
    QLineEdit* imatrix = field("lqImatrix", tr("Importance matrix"), QString());
    imatrix->setPlaceholderText(tr("optional: llama-imatrix or quantscope-cli imatrix output"));
    layout->addLayout(form);
    auto* text = new QPlainTextEdit;
    text->setReadOnly(true);
    text->setObjectName(QStringLiteral("llamaCppRules"));
    text->setLineWrapMode(QPlainTextEdit::NoWrap);
    layout->addWidget(text, 1);
    auto* warn = new QPlainTextEdit; // one line per tensor: it scrolls
    warn->setObjectName(QStringLiteral("llamaCppProblems"));
    warn->setReadOnly(true);
    warn->setMaximumHeight(130);
    theme::setTextTone(warn, theme::Tone::Warning);
    layout->addWidget(warn);
    const auto refresh = [model, plan, text, warn, binary, input, output, imatrix, defaults] {
        LlamaQuantizeInvocation how = defaults;
        how.binary = binary->text();
        how.input = input->text();
        how.output = output->text();
        how.imatrix = imatrix->text();
        // An importance matrix changes llama-quantize's mix (Q4_0/Q5_0 ffn_down), so its deviations.
        const LlamaCppExport e = llamaQuantizeExport(*model, plan, !how.imatrix.isEmpty());
        QString script;
        if (!QFileInfo::exists(how.input))
            script = tr("# the input does not exist yet; make it first:") + u'\n' +
                     shellCommandLine({QStringLiteral("quantscope-cli"), QStringLiteral("export-gguf"),
                                       model->path(), QStringLiteral("--preset"), QStringLiteral("F16"),
                                       QStringLiteral("--out"), how.input}) +
                     u'\n';
        const QString command = llamaQuantizeCommandText(llamaQuantizeArgv(e, how));
        text->setPlainText(command.isEmpty() ? tr("# no layer of this plan maps to a GGUF type")
                                             : script + command + u'\n');
        warn->setPlainText(
            e.problems.isEmpty()
                ? QString()
                : tr("llama-quantize will not give these layers the plan's types (Export GGUF writes "
                     "them exactly):\n%1")
                      .arg(e.problems.join(u'\n')));
        warn->setVisible(!e.problems.isEmpty());
    };
    for (QLineEdit* f : {binary, input, output, imatrix})
        connect(f, &QLineEdit::textChanged, dialog, refresh);
    refresh();
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Save | QDialogButtonBox::Close);
    QPushButton* copy = buttons->addButton(tr("Copy"), QDialogButtonBox::ActionRole);
    copy->setObjectName(QStringLiteral("copyLlamaQuantize"));
    copy->setToolTip(tr("Copy the command to the clipboard"));
    connect(copy, &QPushButton::clicked, dialog,
            [text] { QApplication::clipboard()->setText(text->toPlainText()); });
    connect(buttons, &QDialogButtonBox::rejected, dialog, &QDialog::close);
    connect(buttons->button(QDialogButtonBox::Save), &QPushButton::clicked, dialog, [dialog, text] {
        const QString path =
            QFileDialog::getSaveFileName(dialog, tr("Save Command"), QString(), tr("Shell scripts (*.sh)"));
        if (path.isEmpty())
            return;
        try {
            writeFileAtomically(path, text->toPlainText().toUtf8());
        } catch (const Error& e) {
            QMessageBox::warning(dialog, tr("Cannot save"), e.message());
        }
    });
    layout->addWidget(buttons);
    dialog->resize(860, 560);
    dialog->show();
}

void PlanExporter::exportGgufDialog()
{
    // The reason comes before any file dialog: a plan GGUF cannot hold is never asked a file name.
    if (const QString problem = ggufProblem(); !problem.isEmpty()) {
        Q_EMIT finished(false, problem);
        return;
    }
    const QString path =
        QFileDialog::getSaveFileName(m_window, tr("Export GGUF"), QString(), tr("GGUF models (*.gguf)"));
    if (!path.isEmpty())
        exportGguf(path);
}

void PlanExporter::exportHfDialog()
{
    if (const QString problem = hfProblem(); !problem.isEmpty()) {
        Q_EMIT finished(false, problem);
        return;
    }
    const QString dir =
        QFileDialog::getSaveFileName(m_window, tr("Export Hugging Face Checkpoint (new folder)"));
    if (!dir.isEmpty())
        exportHf(dir);
}

void PlanExporter::startProgress(const QString& label)
{
    m_busy = true;
    m_cancel = std::make_shared<CancelToken>();
    m_progress = new QProgressDialog(label, tr("Cancel"), 0, 1000, m_window);
    m_progress->setObjectName(QStringLiteral("ggufExportProgress"));
    m_progress->setWindowModality(Qt::NonModal);
    m_progress->setMinimumDuration(0);
    m_progress->setAttribute(Qt::WA_DeleteOnClose);
    connect(m_progress, &QProgressDialog::canceled, this, [cancel = m_cancel] { cancel->cancel(); });
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
    const LayerPlan layers = m_doc->plan();
    try { // every problem of the plan is known before a byte is written
        plan = ggufPlanForLayerPlan(*model, layers);
    } catch (const Error& e) {
        Q_EMIT finished(false, e.message());
        return;
    }
    startProgress(tr("Writing %1…").arg(path));
    JobOptions options;
    options.cancel = m_cancel;
    options.progress = [this](const JobProgress& p) {
        if (m_progress && p.fraction >= 0) {
            m_progress->setValue(int(p.fraction * 1000));
            m_progress->setLabelText(p.detail);
        }
    };
    runJob<GgufSizeReport>(
        this,
        [model, plan, layers, path](GgufSizeReport& report, const JobContext& ctx) {
            qs::exportGguf(*model, plan, path, nullptr, ctx);
            report = ggufSizeReport(*model, layers, plan, path); // from the file as written
        },
        [this, path](const JobOutcome<GgufSizeReport>& out) {
            m_lastReport = out.error.isEmpty() && !out.cancelled ? out.value.lines() : QStringList();
            endExport(out.cancelled, out.error,
                      tr("Wrote %1: %2, the plan's estimate %3")
                          .arg(path, formatBytes(double(out.value.fileBytes)),
                               formatBytes(double(out.value.estimateBytes))));
            if (!m_lastReport.isEmpty())
                showReport(tr("GGUF Export: %1").arg(QFileInfo(path).fileName()), m_lastReport);
        },
        options);
}

void PlanExporter::exportHf(const QString& outDir)
{
    const std::shared_ptr<const Model> model = m_doc->model();
    m_lastCancelled = false;
    QString format;
    if (const QString problem = m_busy ? tr("an export is already running") : hfProblem(&format);
        !problem.isEmpty()) {
        Q_EMIT finished(false, problem);
        return;
    }
    startProgress(tr("Writing %1…").arg(outDir));
    HfExportOptions o;
    o.format = format == u"awq" ? HfQuantFormat::Awq : HfQuantFormat::Gptq;
    JobOptions options;
    options.cancel = m_cancel;
    runJob<HfExportReport>(
        this,
        [checkpoint = m_lastCheckpoint, outDir, o](HfExportReport& report, const JobContext&) {
            const auto run = Model::open(checkpoint);
            report = exportHfQuantized(outDir, *run, readModelQuantizedTensors(*run), o);
        },
        [this, outDir, format](const JobOutcome<HfExportReport>& out) {
            std::uint64_t bytes = 0;
            for (QDirIterator it(outDir, QDir::Files, QDirIterator::Subdirectories); it.hasNext();)
                bytes += std::uint64_t(it.nextFileInfo().size());
            endExport(out.cancelled, out.error,
                      tr("Wrote the %1 checkpoint %2: %3 quantized and %4 float layers, %5")
                          .arg(format.toUpper(), outDir)
                          .arg(out.value.quantizedLayers)
                          .arg(out.value.floatLayers)
                          .arg(formatBytes(double(bytes))));
        },
        options);
}

void PlanExporter::endExport(bool cancelled, const QString& error, const QString& message)
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
        Q_EMIT finished(false, tr("Export cancelled"));
    else if (!error.isEmpty())
        Q_EMIT finished(false, error);
    else
        Q_EMIT finished(true, message);
}

void PlanExporter::showReport(const QString& title, const QStringList& lines)
{
    auto* dialog = new QDialog(m_window);
    dialog->setObjectName(QStringLiteral("exportReport"));
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->setWindowTitle(title);
    auto* layout = new QVBoxLayout(dialog);
    auto* text = new QPlainTextEdit(lines.join(u'\n'));
    text->setObjectName(QStringLiteral("exportReportText"));
    text->setReadOnly(true);
    layout->addWidget(text);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close);
    connect(buttons, &QDialogButtonBox::rejected, dialog, &QDialog::close);
    layout->addWidget(buttons);
    dialog->resize(760, 260);
    dialog->show();
}

} // namespace qs
