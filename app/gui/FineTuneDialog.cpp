#include "FineTuneDialog.h"

#include "AppSettings.h"
#include "LayerErrorBars.h"
#include "RunsPanel.h"
#include "TextFileField.h"
#include "TrainingPlots.h"
#include "model/Model.h"

#include <QBoxLayout>
#include <QComboBox>
#include <QCoreApplication>
#include <QDir>
#include <QDoubleValidator>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>
#include <QSplitter>
#include <QTabWidget>
#include <QTimer>
#include <algorithm>
#include <cmath>

namespace qs {

namespace {

/// A method's text from core's table (QT_TRANSLATE_NOOP("TrainJob", …)), translated.
QString methodText(const char* source)
{
    return QCoreApplication::translate("TrainJob", source);
}

bool sameFolder(const QString& a, const QString& b)
{
    const QString ca = QFileInfo(a).canonicalFilePath(), cb = QFileInfo(b).canonicalFilePath();
    return !ca.isEmpty() && ca == cb;
}

/// The learning rate as the field shows it: "2e-05" → "2e-5", "0.005".
QString rateText(double rate)
{
    QString s = QString::number(rate, 'g', 4);
    s.replace(QStringLiteral("e-0"), QStringLiteral("e-"));
    return s;
}

/// Each fitted block's error before and after, as the block plot shows it (a block whose steps made it
/// worse keeps its start: its "after" is its start).
LayerErrorMatrix blockMatrix(const std::vector<BlockFit>& blocks)
{
    LayerErrorMatrix m;
    m.runs = {FineTuneDialog::tr("before"), FineTuneDialog::tr("after")};
    for (const BlockFit& f : blocks) {
        if (f.head) // its KL divergence is another quantity: the result text reports it
            continue;
        m.layers << FineTuneDialog::tr("block %1").arg(f.block);
        m.values.push_back(f.startLoss);
        m.values.push_back(f.kept ? f.endLoss : f.startLoss);
    }
    return m;
}

constexpr int kRedrawMs = 250; ///< the plots follow the job at most this often
/// Held-out scoring about ten times a run (every 10 steps at most, as the command line's default).
int evalEveryFor(int steps)
{
    return std::clamp(steps / 10, 1, 10);
}

} // namespace

FineTuneDialog::FineTuneDialog(QWidget* parent) : QDialog(parent)
{
    setObjectName(QStringLiteral("fineTuneDialog"));
    setWindowTitle(tr("Fine-tune"));
    setModal(false);
    m_stop = std::make_shared<std::atomic<bool>>(false);
    m_redrawTimer = new QTimer(this);
    m_redrawTimer->setInterval(kRedrawMs);
    connect(m_redrawTimer, &QTimer::timeout, this, &FineTuneDialog::redraw);

    m_sourceLabel = new QLabel;
    m_sourceLabel->setObjectName(QStringLiteral("fineTuneSource"));
    m_sourceLabel->setWordWrap(true);
    m_sourceLabel->setTextInteractionFlags(Qt::TextSelectableByMouse);

    m_refusal = new QLabel;
    m_refusal->setObjectName(QStringLiteral("fineTuneRefusal"));
    m_refusal->setWordWrap(true);
    m_refusal->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_refusal->setStyleSheet(QStringLiteral("color: #c0392b;")); // an error, readable light and dark
    m_refusal->hide();
    m_useQat = new QPushButton(tr("Use QAT instead"));
    m_useQat->setObjectName(QStringLiteral("fineTuneUseQat"));
    m_useQat->setToolTip(tr("QAT trains end to end on the training text and needs no float model"));
    m_useQat->hide();
    connect(m_useQat, &QPushButton::clicked, this, [this] {
        m_method->setCurrentIndex(m_method->findData(int(TrainMethod::Qat)));
        m_refusal->hide();
        m_useQat->hide();
    });

    m_summary = new QLabel;
    m_summary->setObjectName(QStringLiteral("fineTuneSummary"));
    m_summary->setWordWrap(true);
    m_summary->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_summary->setAlignment(Qt::AlignTop | Qt::AlignLeft);

    auto* left = new QWidget;
    auto* leftLayout = new QVBoxLayout(left);
    leftLayout->setContentsMargins(0, 0, 0, 0);
    leftLayout->addWidget(m_sourceLabel);
    leftLayout->addWidget(buildSettings());
    leftLayout->addWidget(m_refusal);
    leftLayout->addWidget(m_useQat, 0, Qt::AlignLeft);
    leftLayout->addWidget(m_summary, 1);

    auto* split = new QSplitter(Qt::Horizontal);
    split->addWidget(left);
    split->addWidget(buildPlots());
    split->setStretchFactor(0, 0);
    split->setStretchFactor(1, 1);
    split->setChildrenCollapsible(false);

    m_progress = new QProgressBar;
    m_progress->setObjectName(QStringLiteral("fineTuneProgress"));
    m_progress->setRange(0, 1000);
    m_progress->setValue(0);
    m_stage = new QLabel;
    m_stage->setObjectName(QStringLiteral("fineTuneStage"));
    m_eta = new QLabel;
    m_eta->setObjectName(QStringLiteral("fineTuneEta"));
    auto* progressRow = new QHBoxLayout;
    progressRow->addWidget(m_progress, 1);
    progressRow->addWidget(m_stage, 2);
    progressRow->addWidget(m_eta);

    m_start = new QPushButton(tr("Start"));
    m_start->setObjectName(QStringLiteral("fineTuneStart"));
    m_start->setDefault(true);
    m_stopButton = new QPushButton(tr("Stop (keep best)"));
    m_stopButton->setObjectName(QStringLiteral("fineTuneStop"));
    m_stopButton->setToolTip(tr("End after the current step and keep the run: the step with the lowest "
                                "held-out loss is saved and evaluated"));
    m_cancelButton = new QPushButton(tr("Cancel (discard)"));
    m_cancelButton->setObjectName(QStringLiteral("fineTuneCancel"));
    m_cancelButton->setToolTip(tr("End now and keep nothing: no folder is written"));
    auto* close = new QPushButton(tr("Close"));
    close->setObjectName(QStringLiteral("fineTuneClose"));
    close->setToolTip(tr("Hide this window; a running job goes on (Fine-tune… on the Runs page shows it)"));
    connect(m_start, &QPushButton::clicked, this, [this] { start(); });
    connect(m_stopButton, &QPushButton::clicked, this, &FineTuneDialog::stop);
    connect(m_cancelButton, &QPushButton::clicked, this, &FineTuneDialog::cancel);
    connect(close, &QPushButton::clicked, this, &QDialog::hide);
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(m_start);
    buttons->addWidget(m_stopButton);
    buttons->addWidget(m_cancelButton);
    buttons->addStretch(1);
    buttons->addWidget(close);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(split, 1);
    layout->addLayout(progressRow);
    layout->addLayout(buttons);
    setRunning(false);
    setDataDirectory(AppSettings::load().effectiveDataDirectory());
    methodChanged();
    resize(1200, 720);
}

FineTuneDialog::~FineTuneDialog()
{
    m_job.cancel(); // its worker holds only copies: it ends at its next check, writing nothing
}

QWidget* FineTuneDialog::buildSettings()
{
    m_method = new QComboBox;
    m_method->setObjectName(QStringLiteral("fineTuneMethod"));
    for (const TrainMethodInfo& m : trainMethods()) {
        m_method->addItem(methodText(m.label), int(m.method));
        m_method->setItemData(m_method->count() - 1, methodText(m.summary), Qt::ToolTipRole);
    }
    m_methodHelp = new QLabel;
    m_methodHelp->setObjectName(QStringLiteral("fineTuneMethodHelp"));
    m_methodHelp->setWordWrap(true);
    m_steps = new QSpinBox;
    m_steps->setObjectName(QStringLiteral("fineTuneSteps"));
    m_steps->setRange(1, 1000000);
    m_lr = new QLineEdit;
    m_lr->setObjectName(QStringLiteral("fineTuneLr"));
    auto* validator = new QDoubleValidator(0.0, 1.0, 12, m_lr);
    validator->setNotation(QDoubleValidator::ScientificNotation);
    validator->setLocale(QLocale::c()); // "2e-5" wherever the user is
    m_lr->setValidator(validator);
    m_lr->setToolTip(tr("The peak learning rate (after the warm-up, before the cosine decay); scales and "
                        "zeros learn at their own multiple of it"));
    m_batch = new QSpinBox;
    m_batch->setObjectName(QStringLiteral("fineTuneBatch"));
    m_batch->setRange(1, 4096);
    m_batch->setSuffix(tr(" windows per step"));
    m_seqLen = new QSpinBox;
    m_seqLen->setObjectName(QStringLiteral("fineTuneSeqLen"));
    m_seqLen->setRange(2, 65536);
    m_seqLen->setSuffix(tr(" tokens"));
    m_samples = new QSpinBox;
    m_samples->setObjectName(QStringLiteral("fineTuneSamples"));
    m_samples->setRange(1, 1000000);
    m_samples->setSuffix(tr(" windows"));
    m_text = new TextFileField(QStringLiteral("fineTuneText"), tr("Training text"),
                               QLatin1String(AppSettings::kCalibrationText));
    m_heldOut = new TextFileField(QStringLiteral("fineTuneHeldOut"), tr("Held-out text"),
                                  QStringLiteral("kjv/valid.txt"));
    m_heldOut->lineEdit()->setPlaceholderText(tr("none: no held-out loss, no best step to keep"));
    m_heldOut->setToolTip(tr("Scored about ten times a run; the step where it is lowest is the one kept"));
    m_out = new QLineEdit;
    m_out->setObjectName(QStringLiteral("fineTuneOut"));
    m_out->setToolTip(tr("The trained checkpoint's folder (written whole at the end; never over an "
                         "existing folder)"));
    auto* outBrowse = new QPushButton(tr("Browse…"));
    outBrowse->setObjectName(QStringLiteral("fineTuneOutBrowse"));
    connect(outBrowse, &QPushButton::clicked, this, [this] {
        // The folder it goes in; the trained checkpoint's own folder is made there.
        const QString parent = QFileDialog::getExistingDirectory(
            this, tr("Folder for the trained checkpoint"), QFileInfo(m_out->text()).absolutePath());
        if (!parent.isEmpty()) {
            m_out->setText(QDir(parent).filePath(QFileInfo(m_out->text()).fileName()));
            m_outEdited = true;
        }
    });
    auto* outRow = new QHBoxLayout;
    outRow->setContentsMargins(0, 0, 0, 0);
    outRow->addWidget(m_out, 1);
    outRow->addWidget(outBrowse);

    // A preset's parameters follow the method (and SignRound's rate the steps) until the user edits them.
    const TrainJobParams preset = trainPreset(TrainMethod::Qat);
    m_batch->setValue(preset.training.batch);
    m_seqLen->setValue(preset.calibration.seqLen);
    m_samples->setValue(preset.calibration.samples);
    connect(m_method, &QComboBox::currentIndexChanged, this, &FineTuneDialog::methodChanged);
    connect(m_steps, &QSpinBox::valueChanged, this, &FineTuneDialog::refreshDefaults);
    // A text set here by anyone but refreshDefaults is the user's: it stays until the method changes.
    connect(m_lr, &QLineEdit::textChanged, this, [this] {
        m_lrEdited = m_lrEdited || !m_settingDefaults;
        refreshSchedule();
    });
    connect(m_out, &QLineEdit::textChanged, this,
            [this] { m_outEdited = m_outEdited || !m_settingDefaults; });
    connect(m_text->lineEdit(), &QLineEdit::textChanged, this, [this] {
        // The held-out text follows the training text's folder while it shows the last suggestion.
        const QString suggested = heldOutFor(m_text->path());
        if (m_heldOut->path() == m_heldOutSuggested)
            m_heldOut->setPath(suggested);
        m_heldOutSuggested = suggested;
    });
    for (QLineEdit* e : {m_text->lineEdit(), m_heldOut->lineEdit(), m_lr, m_out})
        connect(e, &QLineEdit::textChanged, m_refusal, &QLabel::hide);

    auto* form = new QFormLayout;
    form->addRow(tr("Method"), m_method);
    form->addRow(QString(), m_methodHelp);
    m_stepsLabel = new QLabel(tr("Steps"));
    form->addRow(m_stepsLabel, m_steps);
    form->addRow(tr("Learning rate"), m_lr);
    form->addRow(tr("Batch"), m_batch);
    form->addRow(tr("Sequence length"), m_seqLen);
    form->addRow(tr("Samples"), m_samples);
    form->addRow(tr("Training text"), m_text);
    form->addRow(tr("Held-out text"), m_heldOut);
    form->addRow(tr("Output folder"), outRow);
    auto* box = new QGroupBox(tr("Training"));
    box->setObjectName(QStringLiteral("fineTuneSettings"));
    box->setLayout(form);
    box->setMinimumWidth(420);
    m_settings = box;
    return box;
}

QWidget* FineTuneDialog::buildPlots()
{
    m_lossPlot = new TrainingLossPlot;
    m_lossPlot->setTitle(tr("Loss"));
    m_blockPlot = new LayerErrorBars;
    m_blockPlot->setObjectName(QStringLiteral("fineTuneBlockPlot"));
    m_blockPlot->setTitle(tr("Each block's output error against the float model"));
    m_blockPlot->setMatrix({}, tr("mean squared error"));
    m_plotTabs = new QTabWidget;
    m_plotTabs->setObjectName(QStringLiteral("fineTunePlots"));
    m_plotTabs->addTab(m_lossPlot, tr("Loss curve"));
    m_plotTabs->addTab(m_blockPlot, tr("Block fits"));
    m_lrPlot = new LearningRatePlot;
    m_lrPlot->setTitle(tr("Learning-rate schedule"));
    auto* split = new QSplitter(Qt::Vertical);
    split->addWidget(m_plotTabs);
    split->addWidget(m_lrPlot);
    split->setStretchFactor(0, 3);
    split->setStretchFactor(1, 2);
    split->setChildrenCollapsible(false);
    return split;
}

TrainMethod FineTuneDialog::method() const
{
    return TrainMethod(m_method->currentData().toInt());
}

void FineTuneDialog::methodChanged()
{
    const TrainMethodInfo& info = trainMethodInfo(method());
    m_methodHelp->setText(methodText(info.summary));
    const bool blockwise = info.needsFloatModel;
    m_stepsLabel->setText(blockwise ? tr("Steps per block") : tr("Steps"));
    m_lrEdited = false; // the methods' rates differ by orders of magnitude
    {
        const QSignalBlocker block(m_steps);
        m_steps->setValue(info.defaultSteps);
    }
    const int blocks = m_plotTabs->indexOf(m_blockPlot);
    m_plotTabs->setTabEnabled(blocks, blockwise);
    m_plotTabs->setTabToolTip(blocks, blockwise ? QString()
                                                : tr("QAT trains the whole model at once: no block fits"));
    m_plotTabs->setCurrentWidget(blockwise ? static_cast<QWidget*>(m_blockPlot) : m_lossPlot);
    m_lossPlot->setEmptyText(
        blockwise ? tr("Block-wise methods fit each block to the float model (see Block fits); the held-out "
                       "loss before and after is in the summary")
                  : tr("The loss curve appears here once training starts"));
    refreshDefaults();
}

void FineTuneDialog::refreshDefaults()
{
    if (isRunning())
        return;
    const TrainMethod m = method();
    m_settingDefaults = true;
    if (!m_lrEdited)
        m_lr->setText(rateText(trainPreset(m, m_steps->value()).training.optimizer.learningRate));
    if (!m_outEdited)
        m_out->setText(m_source.run.source.isEmpty() ? QString()
                                                     : defaultOutputFolder(m_source.run.source, m));
    m_settingDefaults = false;
    refreshSchedule();
}

void FineTuneDialog::refreshSchedule()
{
    if (isRunning())
        return;
    // The schedule is drawn before the first step: what Start would run.
    m_lrPlot->setSchedule(paramsFromFields().training.optimizer, scheduleLabel());
}

QString FineTuneDialog::scheduleLabel() const
{
    return trainMethodInfo(method()).needsFloatModel ? tr("step (each block runs this schedule)")
                                                     : tr("step");
}

double FineTuneDialog::learningRate(bool* ok) const
{
    bool parsed = false;
    const double v = QLocale::c().toDouble(m_lr->text().trimmed(), &parsed);
    const bool good = parsed && std::isfinite(v) && v > 0 && v <= 1;
    if (ok)
        *ok = good;
    return good ? v : trainPreset(method(), m_steps->value()).training.optimizer.learningRate;
}

TrainJobParams FineTuneDialog::paramsFromFields() const
{
    TrainJobParams p = trainPreset(method(), m_steps->value(), learningRate());
    p.calibration.text = m_text->path();
    p.calibration.samples = m_samples->value();
    p.calibration.seqLen = m_seqLen->value();
    const int heldOutSamples = p.heldOut.samples;
    p.heldOut = p.calibration;
    p.heldOut.samples = heldOutSamples;
    p.heldOut.text = m_heldOut->path();
    p.training.batch = m_batch->value();
    p.training.evalEvery = evalEveryFor(m_steps->value());
    p.outDir = m_out->text().trimmed();
    return p;
}

QString FineTuneDialog::defaultOutputFolder(const QString& checkpoint, TrainMethod method)
{
    const QString base = QDir::cleanPath(checkpoint) + u'-' + QLatin1String(trainMethodInfo(method).slug);
    QString out = base;
    for (int n = 2; QFileInfo::exists(out); ++n)
        out = base + u'-' + QString::number(n);
    return out;
}

QString FineTuneDialog::heldOutFor(const QString& trainingText)
{
    if (trainingText.isEmpty())
        return {};
    const QString valid = QFileInfo(trainingText).dir().filePath(QStringLiteral("valid.txt"));
    return QFileInfo(valid).isFile() && !sameFolder(valid, trainingText) ? valid : QString();
}

bool FineTuneDialog::setSource(Source source)
{
    if (isRunning())
        return false;
    // The training text: the Runs page's calibration text while this one shows the default.
    if (!source.trainingText.isEmpty() &&
        (m_text->path().isEmpty() || m_text->path() == m_text->defaultPath() ||
         m_text->path() == m_source.trainingText))
        m_text->setPath(source.trainingText);
    m_source = std::move(source);
    const RunSummary& r = m_source.run;
    m_sourceLabel->setText(tr("Run: %1 (%2)\nCheckpoint: %3").arg(r.name, r.recipeSummary, r.source));
    m_outEdited = false;
    m_refusal->hide();
    m_useQat->hide();
    m_summary->clear();
    m_stage->clear();
    m_eta->clear();
    m_progress->setValue(0);
    m_curve.clear();
    m_blocks.clear();
    m_lossPlot->setKeptStep(-1);
    m_lossPlot->setCurve({});
    m_blockPlot->setMatrix({}, tr("mean squared error"));
    refreshDefaults();
    return true;
}

void FineTuneDialog::setEvaluation(std::function<EvaluationParams(const RunSummary&)> evaluation)
{
    m_evaluation = std::move(evaluation);
}

void FineTuneDialog::setDataDirectory(const QString& path)
{
    m_text->setDataDirectory(path);
}

QString FineTuneDialog::applySettings(const QString& settings)
{
    QStringList problems;
    QList<QPair<QString, QString>> items;
    for (const QString& item : settings.split(u';', Qt::SkipEmptyParts)) {
        const qsizetype eq = item.indexOf(u'=');
        if (eq <= 0) {
            problems << item;
            continue;
        }
        const QString key = item.left(eq).trimmed(), value = item.mid(eq + 1).trimmed();
        if (key == u"method" || key == u"mode") { // first: it resets the steps and the rate
            const std::optional<TrainMethod> m = trainMethodFromKey(value);
            if (m)
                m_method->setCurrentIndex(m_method->findData(int(*m)));
            else
                problems << item;
        } else {
            items.append({key, value});
        }
    }
    for (const auto& [key, value] : items) {
        bool ok = true;
        if (key == u"steps")
            m_steps->setValue(value.toInt(&ok));
        else if (key == u"batch")
            m_batch->setValue(value.toInt(&ok));
        else if (key == u"seq-len")
            m_seqLen->setValue(value.toInt(&ok));
        else if (key == u"samples")
            m_samples->setValue(value.toInt(&ok));
        else if (key == u"lr") {
            m_lr->setText(value);
            learningRate(&ok);
        } else if (key == u"text")
            m_text->setPath(value);
        else if (key == u"held-out")
            m_heldOut->setPath(value);
        else if (key == u"out") {
            m_out->setText(value);
            m_outEdited = true;
        } else
            ok = false;
        if (!ok)
            problems << key + u'=' + value;
    }
    refreshDefaults();
    return problems.join(QStringLiteral(", "));
}

QString FineTuneDialog::refusal() const
{
    return m_refusal->isHidden() ? QString() : m_refusal->text();
}

std::nullopt_t FineTuneDialog::refuse(const QString& message, QWidget* field, bool offerQat)
{
    m_refusal->setText(message);
    m_refusal->show();
    m_useQat->setVisible(offerQat);
    if (field) {
        field->setFocus();
        if (auto* edit = qobject_cast<QLineEdit*>(field))
            edit->selectAll();
        else if (auto* text = qobject_cast<TextFileField*>(field))
            text->focusForFix();
    }
    return std::nullopt;
}

std::optional<TrainJobParams> FineTuneDialog::checkedParams()
{
    m_refusal->hide();
    m_useQat->hide();
    const RunSummary& run = m_source.run;
    const QString checkpoint = run.source;
    if (checkpoint.isEmpty() ||
        !QFileInfo::exists(QDir(checkpoint).filePath(QStringLiteral("model.safetensors"))))
        return refuse(
            tr("The run's checkpoint (%1) is gone: there is nothing to fine-tune. Run its plan again "
               "on the Runs page.")
                .arg(checkpoint.isEmpty() ? tr("none was kept") : checkpoint),
            nullptr);
    const TrainMethodInfo& info = trainMethodInfo(method());
    if (info.needsFloatModel && (run.modelPath.isEmpty() || !QFileInfo(run.modelPath).isDir()))
        return refuse(
            tr("%1 fits each block to the float model's outputs, and the float model this checkpoint "
               "was quantized from (%2) is gone. QAT (end to end) needs no float model: use it "
               "instead, or put the float model back.")
                .arg(methodText(info.name), run.modelPath.isEmpty() ? tr("not recorded") : run.modelPath),
            m_method, true);
    const QString page = windowTitle();
    if (!TextFileField::problem(m_text->path()).isEmpty())
        return refuse(m_text->message(m_text->path(), page), m_text);
    if (!m_heldOut->path().isEmpty() && !TextFileField::problem(m_heldOut->path()).isEmpty())
        return refuse(m_heldOut->message(m_heldOut->path(), page) + QStringLiteral("\n\n") +
                          tr("Or leave it empty: no held-out loss, and the last step is kept."),
                      m_heldOut);
    bool rateOk = false;
    learningRate(&rateOk);
    if (!rateOk)
        return refuse(
            tr("Learning rate: “%1” is not a number above 0 and at most 1 (e.g. 2e-5).").arg(m_lr->text()),
            m_lr);
    TrainJobParams params = paramsFromFields();
    if (params.outDir.isEmpty())
        return refuse(tr("Output folder: not set. The trained checkpoint needs a folder of its own."), m_out);
    if (QFileInfo::exists(params.outDir))
        return refuse(tr("Output folder: %1 exists already. Choose another: nothing is written over a "
                         "folder.")
                          .arg(params.outDir),
                      m_out);
    if (m_evaluation) {
        params.evaluation = m_evaluation(run);
        if (const QString problem = TextFileField::problem(params.evaluation.textPath); !problem.isEmpty())
            return refuse(
                tr("The Runs page's evaluation text: %1. The trained run is evaluated as the page's "
                   "runs are: set the Evaluation text on the Runs page.")
                    .arg(problem),
                nullptr);
    }
    params.name = tr("%1 + %2").arg(run.name, methodText(info.name));
    return params;
}

bool FineTuneDialog::start()
{
    if (isRunning())
        return false;
    std::optional<TrainJobParams> checked = checkedParams();
    if (!checked)
        return false;
    TrainJobParams& params = *checked;
    const QString checkpoint = m_source.run.source;
    const TrainMethodInfo& info = trainMethodInfo(method());
    m_stop = std::make_shared<std::atomic<bool>>(false);
    params.training.stop = m_stop;

    m_outDir = params.outDir;
    m_jobSteps = params.training.optimizer.steps;
    m_curve.clear();
    m_blocks.clear();
    m_curveDirty = m_blocksDirty = true;
    m_fraction = -1;
    m_summary->clear();
    m_summary->setStyleSheet(QString());
    m_lossPlot->setKeptStep(-1);
    m_lossPlot->setSteps(info.needsFloatModel ? 0 : m_jobSteps);
    m_lrPlot->setSchedule(params.training.optimizer, scheduleLabel());
    m_progress->setValue(0);
    m_stage->setText(tr("starting"));
    m_eta->clear();

    JobOptions options;
    options.progress = [this](const JobProgress& p) { onProgress(p); };
    auto onPoint = queuedWhileAlive<TrainingPoint>(this, [this](const TrainingPoint& p) {
        if (!isRunning()) // the result's curve has it already
            return;
        m_curve.push_back(p);
        m_curveDirty = true;
    });
    auto onBlock = queuedWhileAlive<BlockFit>(this, [this](const BlockFit& f) {
        if (!isRunning())
            return;
        m_blocks.push_back(f);
        m_blocksDirty = true;
    });
    { // the loss the curve shows: distillation when the float model the checkpoint names is there
        const QString base = m_source.run.modelPath;
        m_lossPlot->setDistillation(!base.isEmpty() &&
                                    QFileInfo::exists(QDir(base).filePath(QStringLiteral("config.json"))));
    }
    m_job = runJob<TrainJobResult>(
        this,
        [params, checkpoint, pageModel = m_source.pageModel, onPoint, onBlock](TrainJobResult& out,
                                                                               const JobContext& ctx) {
            TrainJobParams p = params;
            ctx.report(-1, tr("loading"), checkpoint);
            p.model = Model::open(checkpoint);
            // RTN, HQQ and AWQ layers start from the float weights when the float model is there (as
            // the command line does); the page's model is reused when it is that model.
            const QString base = p.model->quantizationInfo().value(QStringLiteral("base_model")).toString();
            if (!base.isEmpty() && QFileInfo(base).isDir())
                p.floatModel =
                    pageModel && sameFolder(pageModel->path(), base) ? pageModel : Model::open(base);
            // As the command line: with the float model the loss is the KL divergence from it.
            p.distill = p.floatModel != nullptr;
            out = runTrainJob(p, ctx, onPoint, onBlock);
        },
        [this](const JobOutcome<TrainJobResult>& out) { onFinished(out); }, options);
    m_clock.start();
    m_redrawTimer->start();
    setRunning(true);
    return true;
}

void FineTuneDialog::stop()
{
    if (!isRunning())
        return;
    m_stop->store(true, std::memory_order_relaxed);
    m_stopButton->setEnabled(false);
    m_stage->setText(tr("stopping after this step…"));
}

void FineTuneDialog::cancel()
{
    if (!isRunning())
        return;
    m_job.cancel();
    m_stopButton->setEnabled(false);
    m_cancelButton->setEnabled(false);
    m_stage->setText(tr("cancelling…"));
}

void FineTuneDialog::setRunning(bool running)
{
    m_settings->setEnabled(!running);
    m_start->setEnabled(!running);
    m_stopButton->setEnabled(running);
    m_cancelButton->setEnabled(running);
}

void FineTuneDialog::onProgress(const JobProgress& p)
{
    if (!isRunning())
        return;
    if (p.fraction >= 0) {
        m_fraction = p.fraction;
        m_progress->setValue(int(p.fraction * 1000));
    }
    if (!m_stop->load(std::memory_order_relaxed))
        m_stage->setText(p.detail.isEmpty() ? p.stage : p.stage + QStringLiteral(": ") + p.detail);
}

void FineTuneDialog::redraw()
{
    if (m_curveDirty) {
        m_curveDirty = false;
        m_lossPlot->setCurve(m_curve);
        m_lrPlot->setCurrentStep(m_curve.empty() ? 0 : m_curve.back().step);
    }
    if (m_blocksDirty) {
        m_blocksDirty = false;
        m_blockPlot->setMatrix(blockMatrix(m_blocks), tr("mean squared error"));
    }
    if (isRunning())
        m_eta->setText(RunsPanel::etaText(true, double(m_clock.elapsed()) / 1000.0, m_fraction));
}

void FineTuneDialog::onFinished(const JobOutcome<TrainJobResult>& out)
{
    m_redrawTimer->stop();
    setRunning(false);
    m_eta->setText(RunsPanel::etaText(true, double(m_clock.elapsed()) / 1000.0, 1.0));
    const QString name = m_source.run.name;
    if (out.cancelled) {
        redraw();
        m_stage->setText(tr("cancelled"));
        m_summary->setText(tr("Cancelled: nothing was written, and “%1” stays as it was.").arg(name));
        Q_EMIT ended(false, tr("Fine-tuning “%1” was cancelled").arg(name));
        return;
    }
    const TrainJobResult& r = out.value;
    if (out.error.isEmpty() && !r.summary) // runTrainJob saves whenever it has a folder: not expected
        return onFinished({r, false, tr("the trained run was not saved (%1)").arg(m_outDir)});
    if (!out.error.isEmpty()) {
        redraw();
        m_stage->setText(tr("failed"));
        m_summary->setStyleSheet(QStringLiteral("color: #c0392b;"));
        m_summary->setText(
            tr("Failed: %1\n\nNothing was written; “%2” stays as it was.").arg(out.error, name));
        Q_EMIT failed(out.error);
        Q_EMIT ended(false, out.error);
        return;
    }
    // The result's curve is the whole one (points still queued are in it); its kept step is marked.
    m_curve = r.training.curve;
    if (r.blockwise)
        m_blocks = r.blockwise->blocks;
    m_curveDirty = m_blocksDirty = true;
    m_lossPlot->setKeptStep(r.training.keptBest ? r.training.bestStep : -1);
    redraw();
    m_progress->setValue(1000);
    const bool stopped = r.training.stoppedEarly || (r.blockwise && r.blockwise->stoppedEarly);
    m_stage->setText(stopped ? tr("stopped early; kept") : tr("done"));
    m_summary->setText(resultText(r));
    Q_EMIT trained(*r.summary, m_source.run.id, m_source.model, r.warnings);
    Q_EMIT ended(true, r.warnings.join(QStringLiteral("; ")));
}

QString FineTuneDialog::resultText(const TrainJobResult& r) const
{
    QStringList lines;
    const bool stopped = r.training.stoppedEarly || (r.blockwise && r.blockwise->stoppedEarly);
    if (r.blockwise) {
        const std::vector<BlockFit>& fits = r.blockwise->blocks;
        const auto blocks =
            std::count_if(fits.begin(), fits.end(), [](const BlockFit& f) { return !f.head; });
        const auto better = std::count_if(fits.begin(), fits.end(), [](const BlockFit& f) {
            return !f.head && f.kept && f.endLoss < f.startLoss;
        });
        lines << tr("%1 of %2 blocks fitted in %3 s%4; %5 closer to the float model.")
                     .arg(blocks)
                     .arg(m_source.pageModel ? m_source.pageModel->config().numLayers : int(blocks))
                     .arg(r.blockwise->seconds, 0, 'f', 1)
                     .arg(stopped ? tr(" (stopped early: the rest pass through)") : QString())
                     .arg(better);
        for (const BlockFit& f : fits)
            if (f.head)
                lines << (f.kept ? tr("Quantized head fitted to the float model's distributions: KL %1 → %2.")
                                 : tr("Quantized head: its fit did not lower the KL divergence (%1 → %2); "
                                      "the start is kept."))
                             .arg(f.startLoss, 0, 'g', 4)
                             .arg(f.endLoss, 0, 'g', 4);
    } else {
        lines << (stopped ? tr("Stopped at step %1 of %2 after %3 s.") : tr("%1 of %2 steps in %3 s."))
                     .arg(r.training.steps)
                     .arg(m_jobSteps)
                     .arg(r.training.seconds, 0, 'f', 1);
    }
    if (r.training.startHeldOut >= 0)
        lines << tr("Held-out loss %1 → %2 (best at step %3%4).")
                     .arg(r.training.startHeldOut, 0, 'f', 4)
                     .arg(r.training.bestHeldOut, 0, 'f', 4)
                     .arg(r.training.bestStep)
                     .arg(r.training.keptBest ? tr(", kept") : QString());
    else if (r.heldOutBefore >= 0 && r.heldOutAfter >= 0)
        lines << tr("Held-out loss %1 → %2.").arg(r.heldOutBefore, 0, 'f', 4).arg(r.heldOutAfter, 0, 'f', 4);
    const RunSummary& before = m_source.run;
    const RunSummary& after = *r.summary;
    const bool comparable = before.evalText == after.evalText && before.evalProtocol == after.evalProtocol;
    if (after.hasPerplexity())
        lines << (comparable && before.hasPerplexity()
                      ? tr("Perplexity %1 → %2 (before → after tuning).")
                            .arg(before.ppl, 0, 'f', 3)
                            .arg(after.ppl, 0, 'f', 3)
                      : tr("Perplexity after tuning: %1.").arg(after.ppl, 0, 'f', 3));
    if (after.hasKld())
        lines << (comparable && before.hasKld()
                      ? tr("KLD against the float model %1 → %2.")
                            .arg(before.kldMean, 0, 'f', 5)
                            .arg(after.kldMean, 0, 'f', 5)
                      : tr("KLD against the float model: %1.").arg(after.kldMean, 0, 'f', 5));
    lines << tr("Saved as “%1” in %2; it is in the Runs table below “%3”.")
                 .arg(after.name, r.checkpoint, before.name);
    if (!r.warnings.isEmpty())
        lines << tr("Warnings: %1").arg(r.warnings.join(QStringLiteral("; ")));
    return lines.join(u'\n');
}

} // namespace qs
