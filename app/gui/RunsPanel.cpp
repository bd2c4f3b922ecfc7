#include "RunsPanel.h"

#include "AppSettings.h"
#include "DistributionPlot.h"
#include "ErrorHistogramPlot.h"
#include "FineTuneDialog.h"
#include "HeatmapRangeBox.h"
#include "LayerErrorHeatmap.h"
#include "LossSizePlot.h"
#include "MemoryPlot.h"
#include "RunDiffView.h"
#include "RunHistoryPanel.h"
#include "TextFileField.h"
#include "analysis/SweepKld.h"
#include "model/Model.h"
#include "quant/QuantizeJob.h"
#include "results/PlotData.h"
#include "results/RunSummaryJson.h"
#include "util/Error.h"

#include <QBoxLayout>
#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHeaderView>
#include <QJsonDocument>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QProgressBar>
#include <QPushButton>
#include <QRegularExpression>
#include <QScrollArea>
#include <QSettings>
#include <QSpinBox>
#include <QSplitter>
#include <QStandardItemModel>
#include <QTabWidget>
#include <QTableWidget>
#include <QTimer>

namespace qs {

namespace {
enum JobColumn { JobColName, JobColProgress, JobColStage, JobColLayer, JobColEta, JobColCancel, JobColumns };
enum RunColumn {
    RunShow,
    RunName,
    RunRecipe,
    RunModelBpw,
    RunLinearBpw,
    RunMb,
    RunPpl,
    RunDeltaPpl,
    RunKld,
    RunTop1,
    RunPrefill,
    RunDecode,
    RunResident,
    RunTime,
    RunColumns
};

QString number(double v, int decimals)
{
    return std::isfinite(v) ? QString::number(v, 'f', decimals) : QStringLiteral("–");
}

/// A run as the store and the session write it (the same run read from both compares equal).
QByteArray runIdentity(const RunSummary& r)
{
    return QJsonDocument(runSummaryToJson(r)).toJson(QJsonDocument::Compact);
}
} // namespace

RunsPanel::RunsPanel(QWidget* parent) : QWidget(parent)
{
    setObjectName(QStringLiteral("runsPanel"));
    m_pool.setMaxThreadCount(1); // runs queue: one quantization at a time uses every core already
    m_evalText = new TextFileField(QStringLiteral("runEvalText"), tr("Evaluation text"),
                                   QLatin1String(AppSettings::kEvaluationText));
    m_chunks = new QSpinBox;
    m_chunks->setObjectName(QStringLiteral("runChunks"));
    m_chunks->setRange(1, 100000);
    m_chunks->setValue(64);
    m_chunks->setSuffix(tr(" chunks of 128 tokens"));
    m_calibText = new TextFileField(QStringLiteral("runCalibText"), tr("Calibration text"),
                                    QLatin1String(AppSettings::kCalibrationText));
    setDataDirectory(AppSettings::load().effectiveDataDirectory());
    m_refusal = new QLabel;
    m_refusal->setObjectName(QStringLiteral("runRefusal"));
    m_refusal->setWordWrap(true);
    m_refusal->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_refusal->setStyleSheet(QStringLiteral("color: #c0392b;")); // an error, readable light and dark
    m_refusal->hide();
    for (TextFileField* f : {m_evalText, m_calibText}) // the message is about what was there
        connect(f->lineEdit(), &QLineEdit::textChanged, m_refusal, &QLabel::hide);
    auto* form = new QFormLayout;
    form->addRow(tr("Evaluation text"), m_evalText);
    form->addRow(tr("Evaluation sample"), m_chunks);
    form->addRow(tr("Calibration text"), m_calibText);
    form->addRow(m_refusal);
    auto* settings = new QGroupBox(tr("Run settings (quantize, then evaluate against the float model)"));
    settings->setObjectName(QStringLiteral("runSettings"));
    settings->setLayout(form);

    m_jobsTable = new QTableWidget(0, JobColumns);
    m_jobsTable->setObjectName(QStringLiteral("jobsTable"));
    m_etaTimer = new QTimer(this);
    m_etaTimer->setInterval(1000);
    connect(m_etaTimer, &QTimer::timeout, this, &RunsPanel::refreshEta);
    m_jobsTable->setHorizontalHeaderLabels(
        {tr("Job"), tr("Progress"), tr("Stage"), tr("Layer"), tr("ETA"), QString()});
    m_jobsTable->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_jobsTable->horizontalHeader()->setSectionResizeMode(JobColLayer, QHeaderView::Stretch);
    m_jobsTable->verticalHeader()->hide();
    m_jobsTable->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_jobsTable->setMaximumHeight(130);

    m_runsTable = new QTableWidget(0, RunColumns);
    m_runsTable->setObjectName(QStringLiteral("runsTable"));
    m_runsTable->setHorizontalHeaderLabels({tr("Show"), tr("Run"), tr("Recipe"), tr("bpw (model)"),
                                            tr("bpw (linear)"), tr("MB"), tr("ppl ± err"), tr("Δppl ± err"),
                                            tr("KLD"), tr("top-1 %"), tr("Prefill tok/s"), tr("Decode tok/s"),
                                            tr("Resident MB"), tr("Quantize s")});
    m_runsTable->horizontalHeaderItem(RunRecipe)->setToolTip(
        tr("The schemes the run quantized with, by how many linear layers use each"));
    m_runsTable->horizontalHeaderItem(RunModelBpw)
        ->setToolTip(tr("Bits per weight of the whole model: every stored byte (embeddings, norms and "
                        "head included) over all parameters"));
    m_runsTable->horizontalHeaderItem(RunLinearBpw)
        ->setToolTip(tr("Bits per weight of the linear layers only (the layers the plan quantizes)"));
    m_runsTable->horizontalHeaderItem(RunDeltaPpl)
        ->setToolTip(tr("Perplexity minus the float model's on the same tokens; the error is paired (from "
                        "the spread of the per-chunk differences), much tighter than two ± bars"));
    m_runsTable->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_runsTable->horizontalHeader()->setStretchLastSection(true);
    m_runsTable->verticalHeader()->hide();
    m_runsTable->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_runsTable->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_runsTable->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_diffButton = new QPushButton(tr("Diff selected runs"));
    m_diffButton->setObjectName(QStringLiteral("diffRuns"));
    m_diffButton->setToolTip(tr("Select two runs (Ctrl+click) to see their per-layer schemes, per-layer "
                                "errors and whole-run metrics side by side"));
    m_diffButton->setEnabled(false);
    m_fineTuneButton = new QPushButton(tr("Fine-tune…"));
    m_fineTuneButton->setObjectName(QStringLiteral("fineTuneRun"));
    connect(m_runsTable, &QTableWidget::itemSelectionChanged, this, [this] {
        m_diffButton->setEnabled(selectedRunRows().size() == 2);
        refreshFineTuneAction();
    });
    connect(m_fineTuneButton, &QPushButton::clicked, this, [this] {
        const QList<int> rows = selectedRunRows();
        if (rows.size() == 1)
            openFineTune(rows.front() - (m_baseline ? 1 : 0));
        else if (m_fineTune && m_fineTune->isRunning())
            openFineTune(-1); // shows the running one
    });
    m_runsTable->setContextMenuPolicy(Qt::CustomContextMenu);
    connect(m_runsTable, &QWidget::customContextMenuRequested, this, [this](const QPoint& pos) {
        const int row = m_runsTable->indexAt(pos).row();
        if (row < 0)
            return;
        if (!selectedRunRows().contains(row))
            m_runsTable->selectRow(row);
        QMenu* menu = createRunMenu(row, this);
        menu->setAttribute(Qt::WA_DeleteOnClose);
        menu->popup(m_runsTable->viewport()->mapToGlobal(pos));
    });
    connect(m_diffButton, &QPushButton::clicked, this, [this] {
        const QList<int> rows = selectedRunRows();
        if (rows.size() == 2)
            showDiff(runAtRow(rows[0]), runAtRow(rows[1]));
    });
    connect(m_runsTable, &QTableWidget::itemChanged, this, [this](QTableWidgetItem* item) {
        if (item->column() != RunShow)
            return;
        const int r = item->row() - (m_baseline ? 1 : 0);
        if (r >= 0 && r < int(m_checked.size()) &&
            m_checked[std::size_t(r)] != (item->checkState() == Qt::Checked)) {
            m_checked[std::size_t(r)] = item->checkState() == Qt::Checked;
            refreshPlots();
            persist();
            Q_EMIT runsChanged();
        }
    });

    m_lossPlot = new LossSizePlot;
    m_qualityMetric = new QComboBox;
    m_qualityMetric->setObjectName(QStringLiteral("qualityMetric"));
    for (LossSizePlot::Loss l : {LossSizePlot::Loss::Perplexity, LossSizePlot::Loss::DeltaPerplexity,
                                 LossSizePlot::Loss::Kld, LossSizePlot::Loss::Top1})
        m_qualityMetric->addItem(LossSizePlot::lossLabel(l), int(l));
    m_qualityAxis = new QComboBox;
    m_qualityAxis->setObjectName(QStringLiteral("qualityAxis"));
    for (LossSizePlot::Size x :
         {LossSizePlot::Size::BitsPerWeight, LossSizePlot::Size::Megabytes, LossSizePlot::Size::DecodeSpeed,
          LossSizePlot::Size::PrefillSpeed, LossSizePlot::Size::ResidentMegabytes})
        m_qualityAxis->addItem(LossSizePlot::sizeLabel(x), int(x));
    // The last choice (kept in the settings), else mean KLD against bits per weight: KLD separates methods
    // where perplexity's ± bars overlap.
    {
        const QSettings settings;
        const int metric = m_qualityMetric->findData(
            settings.value(QStringLiteral("runs/qualityMetric"), int(LossSizePlot::Loss::Kld)).toInt());
        const int axis = m_qualityAxis->findData(
            settings.value(QStringLiteral("runs/qualityAxis"), int(LossSizePlot::Size::BitsPerWeight))
                .toInt());
        m_qualityMetric->setCurrentIndex(std::max(metric, 0));
        m_qualityAxis->setCurrentIndex(std::max(axis, 0));
        m_lossPlot->setLoss(LossSizePlot::Loss(m_qualityMetric->currentData().toInt()));
        m_lossPlot->setSize(LossSizePlot::Size(m_qualityAxis->currentData().toInt()));
    }
    connect(m_qualityMetric, &QComboBox::currentIndexChanged, this, [this] {
        m_lossPlot->setLoss(LossSizePlot::Loss(m_qualityMetric->currentData().toInt()));
        writeSettingInBackground(QStringLiteral("runs/qualityMetric"), m_qualityMetric->currentData());
    });
    connect(m_qualityAxis, &QComboBox::currentIndexChanged, this, [this] {
        m_lossPlot->setSize(LossSizePlot::Size(m_qualityAxis->currentData().toInt()));
        writeSettingInBackground(QStringLiteral("runs/qualityAxis"), m_qualityAxis->currentData());
    });
    auto* qualityRow = new QHBoxLayout;
    qualityRow->addWidget(new QLabel(tr("Quality:")));
    qualityRow->addWidget(m_qualityMetric);
    qualityRow->addWidget(new QLabel(tr("against:")));
    qualityRow->addWidget(m_qualityAxis);
    qualityRow->addStretch(1);
    auto* qualityBox = new QWidget;
    auto* qualityLayout = new QVBoxLayout(qualityBox);
    qualityLayout->setContentsMargins(0, 4, 0, 0);
    qualityLayout->addLayout(qualityRow);
    qualityLayout->addWidget(m_lossPlot, 1);
    m_memoryPlot = new MemoryPlot;
    m_histogram = new ErrorHistogramPlot;
    m_layerHeatmap = new LayerErrorHeatmap;
    m_distribution = new DistributionPlot;
    m_layerMetric = new QComboBox;
    m_layerMetric->setObjectName(QStringLiteral("layerMetric"));
    m_layerMetric->setToolTip(tr("What the per-layer heatmap and the error histogram show for each layer"));
    for (LayerErrorMetric m :
         {LayerErrorMetric::WeightRelMse, LayerErrorMetric::OutputRelMse, LayerErrorMetric::KldContribution})
        m_layerMetric->addItem(LayerErrorHeatmap::metricName(m), int(m));
    connect(m_layerMetric, &QComboBox::currentIndexChanged, this, [this] {
        const auto metric = LayerErrorMetric(m_layerMetric->currentData().toInt());
        m_layerHeatmap->setMetric(metric);
        m_histogram->setMetric(metric);
    });
    m_layer = new QComboBox;
    m_layer->setObjectName(QStringLiteral("plotLayer"));
    connect(m_layer, &QComboBox::currentTextChanged, this, [this](const QString& layer) {
        m_histogram->setLayer(layer);
        refreshDistribution();
    });
    auto* plots = new QTabWidget;
    m_plotTabs = plots;
    plots->setObjectName(QStringLiteral("comparePlots"));
    plots->addTab(qualityBox, tr("Quality"));
    plots->addTab(m_memoryPlot, tr("Memory"));
    plots->addTab(m_histogram, tr("Error histogram"));
    plots->addTab(m_layerHeatmap, tr("Per-layer error"));
    plots->addTab(m_distribution, tr("Weights and grid"));
    auto* layerRow = new QHBoxLayout;
    layerRow->addWidget(new QLabel(tr("Layer for histogram and distribution:")));
    layerRow->addWidget(m_layer, 1);
    // The metric for the histogram and heatmap, the colour range for the heatmap: shown with them.
    auto* metricBox = new QWidget;
    auto* metricRow = new QHBoxLayout(metricBox);
    metricRow->setContentsMargins(0, 0, 0, 0);
    metricRow->addWidget(new QLabel(tr("Per-layer metric:")));
    metricRow->addWidget(m_layerMetric);
    auto* decadesBox = new HeatmapRangeBox(m_layerHeatmap);
    layerRow->addWidget(metricBox);
    layerRow->addWidget(decadesBox);
    auto showControls = [this, plots, metricBox, decadesBox] {
        const QWidget* current = plots->currentWidget();
        metricBox->setVisible(current == m_histogram || current == m_layerHeatmap);
        decadesBox->setVisible(current == m_layerHeatmap);
    };
    connect(plots, &QTabWidget::currentChanged, this, showControls);
    showControls();
    auto* plotsBox = new QWidget;
    auto* plotsLayout = new QVBoxLayout(plotsBox);
    plotsLayout->setContentsMargins(0, 0, 0, 0);
    plotsLayout->addLayout(layerRow);
    plotsLayout->addWidget(plots, 1);

    // The runs of the model open now, and the history of every session and model (the database).
    m_history = new RunHistoryPanel;
    m_history->setStore(&m_store);
    connect(m_history, &RunHistoryPanel::errorOccurred, this, &RunsPanel::errorOccurred);
    connect(m_history, &RunHistoryPanel::historyChanged, this, [this] {
        m_store.forget(m_identity); // read this model's runs from the database again
        loadKeptRuns();
        Q_EMIT runsChanged();
    });
    m_runTabs = new QTabWidget;
    m_runTabs->setObjectName(QStringLiteral("runTabs"));
    m_runTabs->addTab(m_runsTable, tr("Runs of this model"));
    // Beside the tabs rather than in a row of its own: the page fits a 1024×768 projector.
    auto* corner = new QWidget;
    auto* cornerRow = new QHBoxLayout(corner);
    cornerRow->setContentsMargins(0, 0, 0, 0);
    cornerRow->addWidget(m_fineTuneButton);
    cornerRow->addWidget(m_diffButton);
    m_runTabs->setCornerWidget(corner, Qt::TopRightCorner);
    m_runTabs->addTab(m_history, tr("History (all sessions)"));
    m_diffView = new RunDiffView;
    // Scrolls rather than sets the page's minimum height (a 1024×768 projector in teaching mode).
    auto* diffPage = new QScrollArea;
    m_diffPage = diffPage;
    diffPage->setObjectName(QStringLiteral("runDiffPage"));
    diffPage->setWidget(m_diffView);
    diffPage->setWidgetResizable(true);
    diffPage->setFrameShape(QFrame::NoFrame);
    m_runTabs->addTab(diffPage, tr("Diff"));
    m_runTabs->setTabEnabled(m_runTabs->indexOf(m_diffPage), false);
    m_runTabs->setTabToolTip(m_runTabs->indexOf(m_diffPage),
                             tr("Two runs side by side: select two in either table and press Diff"));
    connect(m_runTabs, &QTabWidget::currentChanged, this, [this](int index) {
        m_diffButton->setVisible(m_runTabs->widget(index) == m_runsTable); // it diffs that table's runs
        m_fineTuneButton->setVisible(m_runTabs->widget(index) == m_runsTable);
        if (m_runTabs->widget(index) == m_history)
            m_history->refresh();
    });
    connect(m_history, &RunHistoryPanel::compareRequested, this, [this](const std::vector<SessionRun>& runs) {
        compareRuns(runs);
        m_runTabs->setCurrentIndex(0);
    });
    connect(m_history, &RunHistoryPanel::diffRequested, this,
            [this](const SessionRun& a, const SessionRun& b) { showDiff(a.summary, b.summary); });
    auto* split = new QSplitter(Qt::Vertical);
    split->addWidget(m_runTabs);
    split->addWidget(plotsBox);
    split->setStretchFactor(1, 3);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(settings);
    layout->addWidget(new QLabel(tr("Jobs")));
    layout->addWidget(m_jobsTable);
    layout->addWidget(split, 1);
    refreshPlots();
    refreshFineTuneAction();
}

RunsPanel::~RunsPanel()
{
    for (auto& j : m_jobs)
        j->handle.cancel();
    m_pool.waitForDone(); // the workers use the model and the checkpoint folder
}

void RunsPanel::setModel(std::shared_ptr<const Model> model)
{
    // The runs so far stay with their model in the store (persist() ran with every change).
    m_model = std::move(model);
    m_identity = m_model ? ModelIdentity::of(m_model->path()) : ModelIdentity{};
    m_runs.clear();
    m_checked.clear();
    m_plans.clear();
    m_recipes.clear();
    m_baseline.reset();
    m_baselineKey.clear();
    m_lastLayers.clear();
    m_lastRunName.clear();
    m_lastPlan = {};
    m_lastCheckpoint.clear();
    if (m_fineTune && !m_fineTune->isRunning())
        m_fineTune->hide(); // it shows a run of the model that was open; a running one ends as its own
    m_layer->clear();
    if (m_model)
        for (const LinearLayerInfo& l : m_model->linears())
            m_layer->addItem(l.name);
    loadKeptRuns();
}

void RunsPanel::loadKeptRuns()
{
    m_runs.clear();
    m_checked.clear();
    m_plans.clear();
    m_recipes.clear();
    m_baseline.reset();
    StoredRuns kept;
    try {
        kept = m_store.load(m_identity);
    } catch (const Error& e) {
        Q_EMIT errorOccurred(tr("Cannot read the kept runs"), e.message());
    }
    for (SessionRun& r : kept.runs) {
        LayerPlan plan;
        try {
            plan = r.recipe.resolve(*m_model);
        } catch (const Error&) {
            // The distribution plot then shows no grid for this run; its numbers stay.
        }
        appendRun(std::move(r.summary), r.recipe, std::move(plan), r.shown);
    }
    m_baseline = kept.baseline;
    refreshRunsTable();
    refreshPlots();
    if (m_runTabs->currentWidget() == m_history)
        m_history->refresh();
}

void RunsPanel::recordSweep(const SensitivityResult& sweep, const QString& source)
{
    try {
        m_store.database().putSweep(sweep, source);
    } catch (const Error& e) {
        Q_EMIT errorOccurred(tr("The sweep was not recorded in the run history"), e.message());
    }
}

void RunsPanel::compareRuns(const std::vector<SessionRun>& runs)
{
    int added = 0;
    for (const SessionRun& r : runs) {
        if (r.summary.isBaseline)
            continue; // the page's baseline is its model's
        const bool present = std::any_of(m_runs.begin(), m_runs.end(), [&](const RunSummary& h) {
            return !h.id.isEmpty() && h.id == r.summary.id;
        });
        if (present)
            continue;
        LayerPlan plan;
        if (m_model)
            try {
                plan = r.recipe.resolve(*m_model);
            } catch (const Error&) {
                // Another model's recipe: its numbers are drawn, no grid.
            }
        appendRun(r.summary, r.recipe, std::move(plan), true);
        ++added;
    }
    if (added == 0)
        return;
    refreshRunsTable();
    refreshPlots();
    Q_EMIT runsChanged();
}

void RunsPanel::setDataDirectory(const QString& path)
{
    m_dataDirectory = path;
    m_evalText->setDataDirectory(path);
    m_calibText->setDataDirectory(path);
    if (m_fineTune)
        m_fineTune->setDataDirectory(path);
}

void RunsPanel::setStoreFolder(const QString& path)
{
    m_store.setFolder(path);
    try {
        m_store.database(); // open now: a damaged file or legacy files to import are reported at once
        if (!m_store.openWarning().isEmpty())
            Q_EMIT errorOccurred(tr("The run history was damaged"), m_store.openWarning());
        if (!m_store.importErrors().isEmpty())
            Q_EMIT errorOccurred(tr("Some earlier run files could not be imported"),
                                 m_store.importErrors().join(QStringLiteral("\n\n")));
    } catch (const Error& e) {
        Q_EMIT errorOccurred(
            tr("Cannot open the run history"),
            tr("%1\n\nRuns are kept while QuantScope runs, and not recorded.").arg(e.message()));
    }
    m_history->setStore(&m_store);
}

QString RunsPanel::storeFile() const
{
    return m_store.databaseFile();
}

void RunsPanel::appendRun(RunSummary summary, const Recipe& recipe, LayerPlan plan, bool shown)
{
    insertRun(m_runs.size(), std::move(summary), recipe, std::move(plan), shown);
}

void RunsPanel::insertRun(std::size_t at, RunSummary summary, const Recipe& recipe, LayerPlan plan,
                          bool shown)
{
    // A checkpoint that did not outlive its session: the numbers stay, the model is gone.
    if (QDir::isAbsolutePath(summary.source) && !QFileInfo(summary.source).isDir())
        summary.source.clear();
    if (summary.id.isEmpty()) // a run from before the database: the id its content gives
        summary.id = derivedRunId({summary, recipe, shown});
    at = std::min(at, m_runs.size());
    const auto offset = std::ptrdiff_t(at);
    m_runs.insert(m_runs.begin() + offset, std::move(summary));
    m_checked.insert(m_checked.begin() + offset, shown);
    m_plans.insert(m_plans.begin() + offset, std::move(plan));
    m_recipes.insert(m_recipes.begin() + offset, recipe);
}

void RunsPanel::persist()
{
    try {
        m_store.save(m_identity, {sessionRuns(), m_baseline});
    } catch (const Error& e) {
        Q_EMIT errorOccurred(tr("Cannot keep the runs"),
                             tr("%1\n\nThe runs stay while QuantScope runs.").arg(e.message()));
    }
}

void RunsPanel::setCacheDirectory(const QString& path)
{
    m_cacheDir = path;
}

QString RunsPanel::cacheDirectory() const
{
    return m_cacheDir.isEmpty() ? m_tempCache.path() : QDir(m_cacheDir).filePath(QStringLiteral("kld-bases"));
}

std::vector<SessionRun> RunsPanel::sessionRuns() const
{
    std::vector<SessionRun> out;
    for (std::size_t i = 0; i < m_runs.size(); ++i)
        out.push_back({m_runs[i], i < m_recipes.size() ? m_recipes[i] : Recipe{}, m_checked[i]});
    return out;
}

void RunsPanel::restoreRuns(const std::vector<SessionRun>& runs, const std::optional<RunSummary>& baseline)
{
    std::vector<QByteArray> shown;
    for (const RunSummary& r : m_runs)
        shown.push_back(runIdentity(r));
    for (const SessionRun& r : runs) {
        RunSummary summary = r.summary;
        if (QDir::isAbsolutePath(summary.source) && !QFileInfo(summary.source).isDir())
            summary.source.clear(); // as appendRun does, so that the store's copy compares equal
        if (summary.id.isEmpty())
            summary.id = derivedRunId({summary, r.recipe, r.shown});
        if (std::find(shown.begin(), shown.end(), runIdentity(summary)) != shown.end())
            continue; // the run store kept it already
        LayerPlan plan;
        if (m_model) {
            try {
                plan = r.recipe.resolve(*m_model);
            } catch (const Error&) {
                // The distribution plot then shows no grid for this run; its numbers stay.
            }
        }
        appendRun(std::move(summary), r.recipe, std::move(plan), r.shown);
    }
    if (baseline)
        m_baseline = baseline;
    refreshRunsTable();
    refreshPlots();
    persist();
}

int RunsPanel::refuse(const QString& message, TextFileField* field)
{
    m_refusal->setText(message);
    m_refusal->show();
    Q_EMIT runRefused(message); // the window shows this page first
    if (field)
        field->focusForFix();
    Q_EMIT errorOccurred(tr("Cannot start the run"), message);
    return -1;
}

int RunsPanel::startRun(const QString& name, const Recipe& recipe, const LayerPlan& plan)
{
    if (!m_model)
        return -1;
    ExperimentParams params;
    params.model = m_model;
    params.recipe = recipe;
    params.plan = plan;
    params.name = name;
    // params.recipeSummary stays empty: the run is named from the schemes that ran.
    params.calibration = recipe.calibration;
    const bool calibrationFromRecipe = !params.calibration.text.isEmpty();
    if (!calibrationFromRecipe)
        params.calibration.text = m_calibText->path();
    // Small enough for a teaching run on a laptop; the CLI takes the recipe's settings as they are.
    params.calibration.samples = std::clamp(params.calibration.samples, CalibrationSettings::kMinSamples, 64);
    params.calibration.seqLen = std::min(params.calibration.seqLen, 128);
    params.evaluation = evaluationParams();
    params.baselineCacheDir = cacheDirectory();

    // Inputs are checked here, so that a run that cannot work is never queued.
    const QString page = tr("Runs");
    if (!TextFileField::problem(params.evaluation.textPath).isEmpty())
        return refuse(m_evalText->message(params.evaluation.textPath, page), m_evalText);
    // A calibration text is read whenever one is set (output error), and needed by GPTQ, AWQ, …
    if (plan.needsCalibration() || !params.calibration.text.isEmpty()) {
        if (!TextFileField::problem(params.calibration.text).isEmpty()) {
            if (calibrationFromRecipe)
                return refuse(
                    tr("The recipe's calibration text: %1.\n\nFix \"calibration\" in the recipe, or "
                       "remove it to use the Calibration text on the Runs page.")
                        .arg(TextFileField::problem(params.calibration.text)),
                    nullptr);
            QString message = m_calibText->message(params.calibration.text, page);
            if (plan.needsCalibration())
                message +=
                    QStringLiteral("\n\n") +
                    tr("The plan uses methods that need calibration (GPTQ, AWQ, SmoothQuant, LLM.int8).");
            return refuse(message, m_calibText);
        }
    }
    if (!QDir().mkpath(params.baselineCacheDir))
        return refuse(
            tr("Cannot create the cache folder %1 (Edit › Preferences).").arg(params.baselineCacheDir),
            nullptr);
    m_refusal->hide();
    // The checkpoint, for the Generate page; without it the run still counts. With a runs folder
    // it is kept there under the run's id (the history shows the disk it takes and prunes it).
    const QString runId = newRunId();
    params.outDir = m_store.folder().isEmpty() ? m_modelsDir.filePath(QStringLiteral("run-%1").arg(m_nextId))
                                               : m_store.checkpointFolderFor(runId);

    auto job = std::make_unique<Job>();
    job->runId = runId;
    job->id = m_nextId++;
    job->name = name;
    job->recipe = recipe;
    job->plan = plan;
    job->model = m_identity;
    job->queued.start();
    const int id = job->id;
    const int row = m_jobsTable->rowCount();
    m_jobsTable->insertRow(row);
    auto* nameItem = new QTableWidgetItem(name);
    nameItem->setData(Qt::UserRole, id);
    m_jobsTable->setItem(row, JobColName, nameItem);
    auto* bar = new QProgressBar;
    bar->setRange(0, 1000);
    bar->setObjectName(QStringLiteral("jobProgress"));
    m_jobsTable->setCellWidget(row, JobColProgress, bar);
    m_jobsTable->setItem(row, JobColStage, new QTableWidgetItem(tr("queued")));
    m_jobsTable->setItem(row, JobColLayer, new QTableWidgetItem);
    m_jobsTable->setItem(row, JobColEta, new QTableWidgetItem);
    auto* cancel = new QPushButton(tr("Cancel"));
    cancel->setObjectName(QStringLiteral("cancelJob"));
    connect(cancel, &QPushButton::clicked, this, [this, id] { cancelRun(id); });
    m_jobsTable->setCellWidget(row, JobColCancel, cancel);

    JobOptions options;
    options.pool = &m_pool;
    options.progress = [this, id](const JobProgress& p) { showProgress(id, p); };
    job->handle = runJob<ExperimentResult>(
        this,
        [params](ExperimentResult& out, const JobContext& ctx) {
            runExperiment(params, out, ctx);
            // The packed model stays in its checkpoint; freeing it here, not where the outcome is
            // delivered, keeps hundreds of MB of unmapping off the UI thread.
            out.quantize.model.reset();
            out.quantize.tensors.clear();
        },
        [this, id](const JobOutcome<ExperimentResult>& out) { onJobFinished(id, out); }, options);
    m_jobs.push_back(std::move(job));
    refreshEta();
    return id;
}

int RunsPanel::jobRow(int id) const
{
    for (int r = 0; r < m_jobsTable->rowCount(); ++r)
        if (const QTableWidgetItem* item = m_jobsTable->item(r, JobColName);
            item && item->data(Qt::UserRole).toInt() == id)
            return r;
    return -1;
}

int RunsPanel::endedJobRows() const
{
    int n = 0;
    for (int r = 0; r < m_jobsTable->rowCount(); ++r) {
        const int id = m_jobsTable->item(r, JobColName)->data(Qt::UserRole).toInt();
        n += std::none_of(m_jobs.begin(), m_jobs.end(), [id](const auto& j) { return j->id == id; });
    }
    return n;
}

void RunsPanel::showProgress(int id, const JobProgress& p)
{
    const int row = jobRow(id);
    if (row < 0)
        return;
    if (auto* b = qobject_cast<QProgressBar*>(m_jobsTable->cellWidget(row, JobColProgress));
        b && p.fraction >= 0)
        b->setValue(int(p.fraction * 1000));
    m_jobsTable->item(row, JobColStage)->setText(p.stage);
    m_jobsTable->item(row, JobColLayer)->setText(p.detail);
    for (const auto& j : m_jobs)
        if (j->id == id) {
            if (!j->running.isValid())
                j->running.start();
            if (p.fraction >= 0)
                j->fraction = p.fraction;
        }
    refreshEta();
}

QString RunsPanel::etaText(bool running, double seconds, double fraction)
{
    const auto clock = [](double s) {
        const qint64 t = qint64(std::llround(std::max(0.0, s)));
        return t >= 3600 ? QStringLiteral("%1:%2:%3")
                               .arg(t / 3600)
                               .arg(t / 60 % 60, 2, 10, QLatin1Char('0'))
                               .arg(t % 60, 2, 10, QLatin1Char('0'))
                         : QStringLiteral("%1:%2").arg(t / 60).arg(t % 60, 2, 10, QLatin1Char('0'));
    };
    if (!running)
        return tr("waiting %1").arg(clock(seconds));
    if (fraction < 0.01 || fraction >= 1.0)
        return tr("%1 elapsed").arg(clock(seconds));
    return tr("%1 elapsed, about %2 left").arg(clock(seconds), clock(seconds * (1.0 - fraction) / fraction));
}

void RunsPanel::refreshEta()
{
    for (const auto& j : m_jobs)
        if (const int row = jobRow(j->id); row >= 0) {
            const bool running = j->running.isValid();
            m_jobsTable->item(row, JobColEta)
                ->setText(etaText(running, double((running ? j->running : j->queued).elapsed()) / 1000.0,
                                  j->fraction));
        }
    // Once a second while any job is queued or running, so the clocks move between reports.
    if (m_jobs.empty())
        m_etaTimer->stop();
    else if (!m_etaTimer->isActive())
        m_etaTimer->start();
}

void RunsPanel::cancelRun(int id)
{
    for (const auto& j : m_jobs)
        if (j->id == id) {
            j->handle.cancel();
            if (const int row = jobRow(id); row >= 0)
                m_jobsTable->item(row, JobColStage)->setText(tr("cancelling…"));
        }
}

void RunsPanel::markJobEnded(int id, const QString& stage, const QString& message)
{
    const int row = jobRow(id);
    if (row < 0)
        return;
    for (int c : {int(JobColProgress), int(JobColCancel)})
        if (QWidget* old = m_jobsTable->cellWidget(row, c))
            old->hide(); // deleted later; not drawn meanwhile
    m_jobsTable->removeCellWidget(row, JobColProgress);
    m_jobsTable->setItem(row, JobColProgress, new QTableWidgetItem(QStringLiteral("–")));
    m_jobsTable->item(row, JobColStage)->setText(stage);
    auto* detail = m_jobsTable->item(row, JobColLayer);
    detail->setText(message);
    detail->setToolTip(message);
    m_jobsTable->item(row, JobColEta)->setText(QString());
    auto* remove = new QPushButton(tr("Remove"));
    remove->setObjectName(QStringLiteral("removeJob"));
    remove->setToolTip(tr("Remove this ended job from the list"));
    connect(remove, &QPushButton::clicked, this, [this, id] {
        if (const int r = jobRow(id); r >= 0)
            m_jobsTable->removeRow(r);
    });
    m_jobsTable->setCellWidget(row, JobColCancel, remove);
}

void RunsPanel::onJobFinished(int id, const JobOutcome<ExperimentResult>& out)
{
    auto it = std::find_if(m_jobs.begin(), m_jobs.end(), [id](const auto& j) { return j->id == id; });
    if (it == m_jobs.end())
        return;
    const std::unique_ptr<Job> job = std::move(*it);
    m_jobs.erase(it);
    const QString name = job->name;
    ExperimentResult r = out.value;
    r.summary.id = job->runId;
    const bool current = job->model == m_identity;
    if (r.baseline && current) // measured before a later step failed: it stays valid
        m_baseline = r.baseline;
    if (out.cancelled) {
        markJobEnded(id, tr("cancelled"), tr("cancelled before it finished; nothing was kept"));
        Q_EMIT runFinished(false, tr("%1 was cancelled").arg(name));
        return;
    }
    if (!out.error.isEmpty()) {
        markJobEnded(id, tr("failed"), out.error);
        Q_EMIT errorOccurred(tr("Run %1 failed").arg(name), out.error);
        Q_EMIT runFinished(false, out.error);
        return;
    }
    if (const int row = jobRow(id); row >= 0)
        m_jobsTable->removeRow(row); // the run has its row in the runs table now
    if (!current) {
        // The model was switched while the run was queued: the run joins its own model's runs.
        try {
            StoredRuns kept = m_store.load(job->model);
            kept.runs.push_back({r.summary, job->recipe, true});
            if (r.baseline)
                kept.baseline = r.baseline;
            m_store.save(job->model, kept);
        } catch (const Error& e) {
            Q_EMIT errorOccurred(tr("Cannot keep the runs"), e.message());
        }
        Q_EMIT runFinished(true, r.warnings.join(QStringLiteral("; ")));
        return;
    }
    appendRun(r.summary, job->recipe, job->plan, true);
    m_lastLayers = r.quantize.layers;
    m_lastRunName = name;
    m_lastPlan = job->plan;
    m_lastCheckpoint = QFileInfo(r.summary.source).isDir() ? r.summary.source : QString();
    m_lastWarnings = r.warnings;
    refreshRunsTable();
    // The rest in later turns of the event loop, so that the window keeps drawing between them: on
    // a 1B-shaped model the plots' rebuild, their replots, the store's save and the pages that
    // follow runFinished took 50 ms in one turn. runFinished comes last, when all of it is done.
    const QString warnings = r.warnings.join(QStringLiteral("; "));
    QTimer::singleShot(0, this, [this, warnings] {
        refreshPlots();                                    // queues the shown plots' replots: the next turn
        QTimer::singleShot(0, this, [this, warnings] {     // the turn of the replots
            QTimer::singleShot(0, this, [this, warnings] { // the one after
                persist();
                Q_EMIT runFinished(true, warnings);
                Q_EMIT runsChanged();
            });
        });
    });
}

std::vector<QuantSpec> RunsPanel::lastSpecs() const
{
    std::vector<QuantSpec> specs;
    for (const LayerPlanEntry& e : m_lastPlan.entries)
        specs.push_back(e.spec);
    return specs;
}

void RunsPanel::refreshRunsTable()
{
    const QSignalBlocker block(m_runsTable);
    std::vector<const RunSummary*> rows;
    if (m_baseline)
        rows.push_back(&*m_baseline);
    for (const RunSummary& r : m_runs)
        rows.push_back(&r);
    m_runsTable->setRowCount(int(rows.size()));
    for (int i = 0; i < int(rows.size()); ++i) {
        const RunSummary& r = *rows[std::size_t(i)];
        auto* show = new QTableWidgetItem;
        if (r.isBaseline || (m_baseline && i == 0)) {
            show->setFlags(Qt::ItemIsEnabled);
        } else {
            show->setFlags(Qt::ItemIsEnabled | Qt::ItemIsUserCheckable);
            show->setCheckState(m_checked[std::size_t(i - (m_baseline ? 1 : 0))] ? Qt::Checked
                                                                                 : Qt::Unchecked);
        }
        m_runsTable->setItem(i, RunShow, show);
        m_runsTable->setItem(i, RunName, new QTableWidgetItem(r.name));
        auto* recipe = new QTableWidgetItem(r.recipeSummary);
        const int run = i - (m_baseline ? 1 : 0);
        if (run >= 0 && std::size_t(run) < m_recipes.size() && !m_recipes[std::size_t(run)].name.isEmpty())
            recipe->setToolTip(
                tr("%1\nfrom the recipe “%2”").arg(r.recipeSummary, m_recipes[std::size_t(run)].name));
        m_runsTable->setItem(i, RunRecipe, recipe);
        m_runsTable->setItem(i, RunModelBpw, new QTableWidgetItem(number(r.bitsPerWeight, 3)));
        m_runsTable->setItem(i, RunLinearBpw,
                             new QTableWidgetItem(r.linearBitsPerWeight > 0 ? number(r.linearBitsPerWeight, 3)
                                                                            : QStringLiteral("–")));
        m_runsTable->setItem(i, RunMb, new QTableWidgetItem(number(r.megabytes(), 4)));
        m_runsTable->setItem(
            i, RunPpl,
            new QTableWidgetItem(r.hasPerplexity()
                                     ? QStringLiteral("%1 ± %2").arg(number(r.ppl, 4), number(r.pplError, 4))
                                     : QStringLiteral("–")));
        m_runsTable->setItem(i, RunDeltaPpl,
                             new QTableWidgetItem(r.hasDeltaPpl() ? std::isfinite(r.deltaPplError)
                                                                        ? QStringLiteral("%1 ± %2").arg(
                                                                              number(r.deltaPpl, 4),
                                                                              number(r.deltaPplError, 4))
                                                                        : number(r.deltaPpl, 4)
                                                                  : QStringLiteral("–")));
        m_runsTable->setItem(i, RunKld, new QTableWidgetItem(number(r.kldMean, 5)));
        m_runsTable->setItem(i, RunTop1, new QTableWidgetItem(number(r.top1Percent, 2)));
        m_runsTable->setItem(i, RunPrefill, new QTableWidgetItem(number(r.prefillTokensPerSecond, 1)));
        m_runsTable->setItem(i, RunDecode, new QTableWidgetItem(number(r.decodeTokensPerSecond, 1)));
        m_runsTable->setItem(i, RunResident,
                             new QTableWidgetItem(r.residentBytes ? number(double(r.residentBytes) / 1e6, 4)
                                                                  : QStringLiteral("–")));
        if (r.hasSpeed())
            m_runsTable->item(i, RunDecode)
                ->setToolTip(tr("measured at %n thread(s)", nullptr, r.speedThreads));
        m_runsTable->setItem(i, RunTime, new QTableWidgetItem(number(r.quantizeSeconds, 2)));
    }
    refreshFineTuneAction();
}

std::vector<RunSummary> RunsPanel::checkedRuns() const
{
    std::vector<RunSummary> out;
    for (std::size_t i = 0; i < m_runs.size(); ++i)
        if (m_checked[i])
            out.push_back(m_runs[i]);
    return out;
}

QList<int> RunsPanel::selectedRunRows() const
{
    QList<int> rows;
    for (const QModelIndex& i : m_runsTable->selectionModel()->selectedRows())
        rows << i.row();
    std::sort(rows.begin(), rows.end());
    return rows;
}

const RunSummary& RunsPanel::runAtRow(int row) const
{
    if (m_baseline && row == 0)
        return *m_baseline;
    return m_runs[std::size_t(row - (m_baseline ? 1 : 0))];
}

void RunsPanel::showDiff(const RunSummary& a, const RunSummary& b)
{
    std::vector<RunSummary> pair{a, b};
    if (m_sweep)
        attachSweepKld(pair, *m_sweep);
    m_diffView->setRuns(pair[0], pair[1]);
    m_runTabs->setTabEnabled(m_runTabs->indexOf(m_diffPage), true);
    m_runTabs->setCurrentIndex(m_runTabs->indexOf(m_diffPage));
}

bool RunsPanel::showView(const QString& view)
{
    if (view == u"diff") {
        if (m_runs.size() < 2)
            return false;
        showDiff(m_runs[0], m_runs[1]);
        return true;
    }
    if (view == u"weights") {
        m_plotTabs->setCurrentWidget(m_distribution);
        m_runTabs->setCurrentIndex(0);
        return true;
    }
    static const QRegularExpression plotView(QStringLiteral("^(heatmap|histogram):(weight|output|kld)$"));
    const auto m = plotView.match(view);
    if (!m.hasMatch())
        return false;
    const LayerErrorMetric metric = m.captured(2) == u"weight"   ? LayerErrorMetric::WeightRelMse
                                    : m.captured(2) == u"output" ? LayerErrorMetric::OutputRelMse
                                                                 : LayerErrorMetric::KldContribution;
    m_layerMetric->setCurrentIndex(m_layerMetric->findData(int(metric)));
    m_plotTabs->setCurrentWidget(m.captured(1) == u"heatmap" ? static_cast<QWidget*>(m_layerHeatmap)
                                                             : m_histogram);
    m_runTabs->setCurrentIndex(0);
    return true;
}

void RunsPanel::setSweep(const std::optional<SensitivityResult>& sweep)
{
    m_sweep = sweep;
    refreshPlots();
}

void RunsPanel::refreshPlots()
{
    std::vector<RunSummary> runs = checkedRuns();
    if (m_sweep)
        attachSweepKld(runs, *m_sweep);
    m_lossPlot->setRuns(runs, m_baseline);
    offerQualityChoices(runs);
    m_memoryPlot->setRuns(
        runs, m_baseline
                  ? m_baseline
                  : (m_model ? std::optional<RunSummary>(RunSummary::fromModel(*m_model)) : std::nullopt));
    m_histogram->setRuns(runs);
    m_histogram->setLayer(m_layer->currentText());
    m_layerHeatmap->setRuns(runs);
    offerLayerMetrics(runs);
    refreshDistribution();
}

void RunsPanel::offerLayerMetrics(const std::vector<RunSummary>& runs)
{
    auto* model = qobject_cast<QStandardItemModel*>(m_layerMetric->model());
    for (int i = 0; model && i < m_layerMetric->count(); ++i) {
        const auto metric = LayerErrorMetric(m_layerMetric->itemData(i).toInt());
        const bool available = runs.empty() || layerErrorMatrix(runs, metric).hasValues();
        QString why;
        if (metric == LayerErrorMetric::OutputRelMse)
            why = tr("No shown run measured its layers' output error (it is measured on the calibration "
                     "inputs of methods that collect them)");
        else if (metric == LayerErrorMetric::KldContribution)
            why = m_sweep ? tr("The sensitivity sweep did not measure the shown runs' layer schemes (it "
                               "measures each layer alone with each of its schemes)")
                          : tr("Needs a sensitivity sweep of this model (Mixed precision page): it measures "
                               "the KLD with each layer alone quantized");
        else
            why = tr("No shown run has per-layer measurements");
        if (QStandardItem* item = model->item(i)) {
            item->setEnabled(available);
            item->setToolTip(available ? QString() : why);
        }
    }
}

void RunsPanel::offerQualityChoices(const std::vector<RunSummary>& runs)
{
    // A choice no shown run has a value for stays listed, greyed, with why.
    auto offer = [](QComboBox* box, int index, bool available, const QString& why) {
        auto* model = qobject_cast<QStandardItemModel*>(box->model());
        QStandardItem* item = model ? model->item(index) : nullptr;
        if (!item)
            return;
        item->setEnabled(available);
        item->setToolTip(available ? QString() : why);
    };
    for (int i = 0; i < m_qualityMetric->count(); ++i) {
        const auto loss = LossSizePlot::Loss(m_qualityMetric->itemData(i).toInt());
        offer(m_qualityMetric, i, runs.empty() || LossSizePlot::anyHas(runs, loss),
              loss == LossSizePlot::Loss::DeltaPerplexity
                  ? tr("No shown run has Δ perplexity: it is measured against the float model's KLD base "
                       "(runs evaluated before it was recorded have none)")
                  : tr("No shown run was compared with the float model"));
    }
    for (int i = 0; i < m_qualityAxis->count(); ++i) {
        const auto size = LossSizePlot::Size(m_qualityAxis->itemData(i).toInt());
        offer(m_qualityAxis, i, runs.empty() || LossSizePlot::anyHas(runs, size),
              tr("No shown run has this measured (speed is measured after the evaluation)"));
    }
}

void RunsPanel::refreshDistribution()
{
    m_distributionJob.cancel();
    m_distributionJob.discard();
    const QString layer = m_layer->currentText();
    if (!m_model || layer.isEmpty()) {
        m_distribution->setValues(QString(), {});
        Q_EMIT distributionShown();
        return;
    }
    // The grid of the last shown run's spec for this layer, on the layer's first row.
    int li = -1;
    for (int k = 0; k < int(m_model->linears().size()); ++k)
        if (m_model->linears()[std::size_t(k)].name == layer)
            li = k;
    std::optional<QuantSpec> spec;
    QString runName;
    for (std::size_t i = m_runs.size(); i-- > 0 && li >= 0;) {
        if (!m_checked[i] || std::size_t(li) >= m_plans[i].entries.size())
            continue;
        spec = m_plans[i].entries[std::size_t(li)].spec;
        runName = m_runs[i].name;
        break;
    }
    struct Distribution
    {
        Histogram values;
        QuantGrid grid;
    };
    m_distributionJob = runJob<Distribution>(
        this,
        [model = m_model, layer, spec](Distribution& out, const JobContext& ctx) {
            std::int64_t rows = 0, cols = 0;
            const std::vector<float> w = readLinearWeight(*model, layer, &rows, &cols);
            ctx.checkCancelled();
            if (spec && spec->method != QuantMethod::Float)
                out.grid = quantizationGrid(
                    *spec, w.data(), spec->granularity == Granularity::PerTensor ? rows * cols : cols, 0);
            out.values = histogram(w, DistributionPlot::kBins);
        },
        [this, layer, spec, runName](const JobOutcome<Distribution>& out) {
            if (out.cancelled)
                return;
            if (!out.succeeded()) {
                m_distribution->setValues(out.error, {});
                Q_EMIT distributionShown();
                return;
            }
            QString what = tr("weights of %1").arg(layer);
            if (spec && spec->method != QuantMethod::Float)
                what += u'\n' + (spec->granularity == Granularity::PerTensor
                                     ? tr("grid of “%1” (%2): the whole tensor").arg(runName, spec->label())
                                     : tr("grid of “%1” (%2): row 0, group 0 (columns %3–%4)")
                                           .arg(runName, spec->label())
                                           .arg(out.value.grid.begin)
                                           .arg(out.value.grid.end - 1));
            else if (spec)
                what += u'\n' + tr("“%1” keeps this layer float: no grid").arg(runName);
            m_distribution->setDistribution(what, out.value.values, out.value.grid);
            Q_EMIT distributionShown();
        }); // the global pool: the runs' own queue would make it wait for them
}

EvaluationParams RunsPanel::evaluationParams() const
{
    EvaluationParams e;
    e.textPath = m_evalText->path();
    e.perplexity.ctx = 128;
    e.perplexity.maxChunks = m_chunks->value();
    return e;
}

EvaluationParams RunsPanel::fineTuneEvaluation(const RunSummary& source) const
{
    EvaluationParams e = evaluationParams();
    const QString floatModel = QFileInfo(source.modelPath).canonicalFilePath();
    if (!m_model || floatModel.isEmpty() || floatModel != QFileInfo(m_model->path()).canonicalFilePath())
        return e; // a run of another model (from the history): no base of this page fits it
    ExperimentParams ep;
    ep.model = m_model;
    ep.evaluation = e;
    ep.baselineCacheDir = cacheDirectory();
    if (const QString base = experimentBaselinePath(ep); QFileInfo::exists(base))
        e.kldBasePath = base;
    return e;
}

QString RunsPanel::fineTuneProblem(const RunSummary& run)
{
    if (run.isBaseline)
        return tr("The float baseline is the model itself: fine-tuning starts from a quantized run's "
                  "checkpoint");
    if (run.source.isEmpty() ||
        !QFileInfo::exists(QDir(run.source).filePath(QStringLiteral("model.safetensors"))))
        return tr("No checkpoint of this run is kept (%1), and fine-tuning starts from one: run its plan "
                  "again")
            .arg(run.source.isEmpty() ? tr("it did not outlive its session") : run.source);
    return {};
}

void RunsPanel::refreshFineTuneAction()
{
    if (m_fineTune && m_fineTune->isRunning()) {
        m_fineTuneButton->setEnabled(true);
        m_fineTuneButton->setToolTip(
            tr("A fine-tune of “%1” is running: show it").arg(m_fineTune->source().run.name));
        return;
    }
    const QList<int> rows = selectedRunRows();
    QString why;
    if (rows.size() != 1) {
        why = tr("Select one quantized run to fine-tune it");
    } else {
        RunSummary run = runAtRow(rows.front());
        run.isBaseline = run.isBaseline || (m_baseline && rows.front() == 0);
        why = fineTuneProblem(run);
    }
    m_fineTuneButton->setEnabled(why.isEmpty());
    QStringList methods;
    for (const TrainMethodInfo& m : trainMethods())
        methods << QCoreApplication::translate("TrainJob", m.name);
    m_fineTuneButton->setToolTip(
        why.isEmpty()
            ? tr("Fine-tune “%1” from its checkpoint (%2): the result is a run of its own, next to it")
                  .arg(runAtRow(rows.front()).name, methods.join(QStringLiteral(", ")))
            : why);
}

QMenu* RunsPanel::createRunMenu(int row, QWidget* parent)
{
    auto* menu = new QMenu(parent);
    menu->setToolTipsVisible(true);
    QAction* fineTune = menu->addAction(tr("Fine-tune…"));
    fineTune->setObjectName(QStringLiteral("fineTuneAction"));
    const bool running = m_fineTune && m_fineTune->isRunning();
    QString why;
    if (row >= 0 && row < m_runsTable->rowCount()) {
        RunSummary run = runAtRow(row);
        run.isBaseline = run.isBaseline || (m_baseline && row == 0);
        why = fineTuneProblem(run);
    } else {
        why = tr("Select one quantized run to fine-tune it");
    }
    fineTune->setEnabled(why.isEmpty() || running);
    fineTune->setToolTip(running ? m_fineTuneButton->toolTip() : why);
    const int index = row - (m_baseline ? 1 : 0);
    connect(fineTune, &QAction::triggered, this, [this, index] { openFineTune(index); });
    QAction* diff = menu->addAction(tr("Diff selected runs"));
    diff->setObjectName(QStringLiteral("diffAction"));
    diff->setEnabled(m_diffButton->isEnabled());
    diff->setToolTip(m_diffButton->toolTip());
    connect(diff, &QAction::triggered, m_diffButton, &QPushButton::click);
    return menu;
}

FineTuneDialog* RunsPanel::openFineTune(int index)
{
    if (m_fineTune && m_fineTune->isRunning()) {
        m_fineTune->show();
        m_fineTune->raise();
        m_fineTune->activateWindow();
        return m_fineTune;
    }
    if (index < 0 || std::size_t(index) >= m_runs.size())
        return nullptr;
    const RunSummary& run = m_runs[std::size_t(index)];
    if (const QString why = fineTuneProblem(run); !why.isEmpty()) {
        Q_EMIT errorOccurred(tr("Cannot fine-tune “%1”").arg(run.name), why);
        return nullptr;
    }
    if (!m_fineTune) {
        m_fineTune = new FineTuneDialog(this);
        m_fineTune->setWindowFlag(Qt::Window); // a window of its own beside the main one
        m_fineTune->setEvaluation([this](const RunSummary& source) { return fineTuneEvaluation(source); });
        connect(m_fineTune, &FineTuneDialog::trained, this, &RunsPanel::addTrainedRun);
        connect(m_fineTune, &FineTuneDialog::failed, this,
                [this](const QString& message) { Q_EMIT errorOccurred(tr("Fine-tuning failed"), message); });
        connect(m_fineTune, &FineTuneDialog::ended, this, [this](bool ok, const QString& message) {
            refreshFineTuneAction();
            if (!ok) // a run that ended with a checkpoint says so once it is in the table (addTrainedRun)
                Q_EMIT fineTuneEnded(false, message);
        });
        m_fineTune->setDataDirectory(m_dataDirectory);
    }
    m_fineTune->setSource({run, m_identity, m_model, m_calibText->path()});
    m_fineTune->show();
    m_fineTune->raise();
    m_fineTune->activateWindow();
    refreshFineTuneAction();
    return m_fineTune;
}

void RunsPanel::addTrainedRun(RunSummary run, const QString& sourceId, const ModelIdentity& model,
                              const QStringList& warnings)
{
    run.id = newRunId();
    const QString message = warnings.join(QStringLiteral("; "));
    if (!(model == m_identity)) {
        // The model was switched while it trained: the run joins its own model's runs, after its source.
        try {
            StoredRuns kept = m_store.load(model);
            const auto source = std::find_if(kept.runs.begin(), kept.runs.end(),
                                             [&](const SessionRun& r) { return r.summary.id == sourceId; });
            const Recipe recipe = source != kept.runs.end() ? source->recipe : Recipe{};
            kept.runs.insert(source == kept.runs.end() ? source : source + 1, {run, recipe, true});
            m_store.save(model, kept);
        } catch (const Error& e) {
            Q_EMIT errorOccurred(tr("Cannot keep the runs"), e.message());
        }
        Q_EMIT fineTuneEnded(true, message);
        return;
    }
    // "Before" and "after" side by side: right after its source, with its recipe and plan.
    const auto source =
        std::find_if(m_runs.begin(), m_runs.end(), [&](const RunSummary& r) { return r.id == sourceId; });
    const std::size_t at = source == m_runs.end() ? m_runs.size() : std::size_t(source - m_runs.begin()) + 1;
    Recipe recipe;
    LayerPlan plan;
    if (source != m_runs.end()) {
        recipe = m_recipes[at - 1];
        plan = m_plans[at - 1];
    }
    insertRun(at, std::move(run), recipe, std::move(plan), true);
    refreshRunsTable();
    // As a finished run: the plots, their replots and the store's save in later turns of the event loop.
    QTimer::singleShot(0, this, [this, message] {
        refreshPlots();
        QTimer::singleShot(0, this, [this, message] {
            QTimer::singleShot(0, this, [this, message] {
                persist();
                Q_EMIT fineTuneEnded(true, message);
                Q_EMIT runsChanged();
            });
        });
    });
}

} // namespace qs
