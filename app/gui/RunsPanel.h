#pragma once

#include "JobRunner.h"
#include "jobs/Job.h"
#include "recipe/LayerPlan.h"
#include "recipe/Recipe.h"
#include "results/ExperimentJob.h"
#include "results/RunResults.h"
#include "session/Session.h"
#include "store/RunStore.h"

#include <QElapsedTimer>
#include <QTemporaryDir>
#include <QThreadPool>
#include <QWidget>
#include <deque>
#include <memory>
#include <optional>

class QComboBox;
class QLabel;
class QLineEdit;
class QMenu;
class QPushButton;
class QSpinBox;
class QTimer;
class QTableWidget;
class QTabWidget;

namespace qs {

class Model;
class TextFileField;
class LossSizePlot;
class MemoryPlot;
class ErrorHistogramPlot;
class LayerErrorHeatmap;
class RunHistoryPanel;
class RunDiffView;
class DistributionPlot;
class FineTuneDialog;
struct LayerReport;

/// Runs and comparison: each "Run" quantizes the current plan and evaluates it as a job on a
/// one-thread pool (runs queue), shown in the jobs table with progress, stage, layer, ETA and a
/// Cancel button; its inputs (texts) are checked before it is queued, and a job that fails or is
/// cancelled stays in the table with why until it is removed. Finished runs are in the runs table
/// (checkboxes choose what the plots show), named by the schemes that ran, with whole-model and
/// linear-layer bpw; the plots compare them with the float baseline (evaluated once per model and
/// evaluation setting, its logits kept as the KLD base and its summary beside it in the cache
/// folder, so later sessions reuse it). Runs are kept per model in a RunStore (memory, and files
/// when a folder is set): opening another model shows its runs, reopening one brings its runs
/// back, and a run that finishes after a model switch goes to its own model's runs. They are part
/// of the session too (sessionRuns, restoreRuns). Checkpoints live in this session's temporary
/// folder; a restored run whose checkpoint is gone keeps its numbers with an empty source.
/// Two runs selected here or in the history open side by side in the Diff tab (RunDiffView). The
/// heatmap and histogram show the per-layer metric chosen (weight error, output error, or the KLD
/// contribution a sensitivity sweep of the model measured: setSweep), greyed with why when no shown
/// run has it; the heatmap's colour range is fixed (user-set decades), never fitted to the runs.
class RunsPanel : public QWidget
{
    Q_OBJECT
public:
    explicit RunsPanel(QWidget* parent = nullptr);
    ~RunsPanel() override;

    void setModel(std::shared_ptr<const Model> model);
    /// Folder for KLD bases and float baselines (kept between sessions); empty: a temporary
    /// folder removed with the panel.
    void setCacheDirectory(const QString& path);
    QString cacheDirectory() const;
    /// The data folder the default evaluation and calibration texts come from (Preferences).
    void setDataDirectory(const QString& path);
    /// Folder where runs are kept per model between restarts (empty, the default: in memory only).
    void setStoreFolder(const QString& path);
    QString storeFolder() const { return m_store.folder(); }
    /// The results database the runs are kept in (empty when runs are kept in memory only).
    QString storeFile() const;
    /// The finished runs with their recipes and shown state, for the session.
    std::vector<SessionRun> sessionRuns() const;
    /// Shows runs restored from a session (after setModel); plans are resolved from the recipes.
    /// Runs already shown (kept by the run store) are not added twice.
    void restoreRuns(const std::vector<SessionRun>& runs, const std::optional<RunSummary>& baseline);
    /// Queues a quantize + evaluate job for the plan; returns its id (-1 when refused: no model, or
    /// an input that cannot work, with a message naming what to set).
    int startRun(const QString& name, const Recipe& recipe, const LayerPlan& plan);
    void cancelRun(int id);
    int pendingJobs() const { return int(m_jobs.size()); }
    /// The jobs table's ETA cell: a queued job's wait ("waiting 0:05"), a running job's elapsed
    /// time and, once its progress says enough (1 %), the time left at its pace so far.
    static QString etaText(bool running, double seconds, double fraction);
    /// Adds runs picked in the history (any session) to the comparison; runs already shown are skipped.
    void compareRuns(const std::vector<SessionRun>& runs);
    RunHistoryPanel* history() const { return m_history; }
    /// Shows two runs side by side in the Diff tab (Diff selected runs, the history's Diff).
    void showDiff(const RunSummary& a, const RunSummary& b);
    RunDiffView* diffView() const { return m_diffView; }
    /// Shows a view for a screenshot (--runs-view): "diff" (the first two runs), or
    /// "heatmap:METRIC" / "histogram:METRIC" with METRIC weight, output or kld, or "weights" (the
    /// weights with the grid). False: unknown, or
    /// fewer than two runs for a diff.
    bool showView(const QString& view);
    /// The sensitivity sweep of this model (Mixed precision page): the per-layer KLD contribution the
    /// heatmap, histogram and diff show comes from it; none: that choice is greyed.
    void setSweep(const std::optional<SensitivityResult>& sweep);
    /// Keeps a sweep in the results database (a failure is reported, nothing else changes).
    void recordSweep(const SensitivityResult& sweep, const QString& source);
    /// Rows of the jobs table that ended without a run (failed or cancelled), until removed.
    int endedJobRows() const;
    const std::vector<RunSummary>& runs() const { return m_runs; }
    const std::optional<RunSummary>& baseline() const { return m_baseline; }
    /// Per-layer reports of the last finished run (the layer table shows them).
    const std::vector<LayerReport>& lastLayers() const { return m_lastLayers; }
    /// The name of the last finished run and the scheme it used for each linear layer.
    const QString& lastRunName() const { return m_lastRunName; }
    std::vector<QuantSpec> lastSpecs() const;
    /// The quantized checkpoint folder of the last finished run (empty when it was not kept).
    const QString& lastCheckpoint() const { return m_lastCheckpoint; }
    /// Warnings of the last finished run (calibration text = evaluation text, checkpoint not saved, …).
    const QStringList& lastWarnings() const { return m_lastWarnings; }

    /// Why a run cannot be fine-tuned (the float baseline; no checkpoint kept); empty when it can.
    static QString fineTuneProblem(const RunSummary& run);
    /// Opens the Fine-tune dialog on the run runs()[index] (Fine-tune… on the selected row). While a
    /// fine-tune runs it shows that one instead. Null when the run cannot be fine-tuned (errorOccurred
    /// says why). The trained run joins the runs right after its source, persisted like the others.
    FineTuneDialog* openFineTune(int index);
    /// The dialog (null until first opened).
    FineTuneDialog* fineTuneDialog() const { return m_fineTune; }
    /// The runs table's context menu for a row (Fine-tune…, Diff selected runs), its actions named
    /// "fineTuneAction" and "diffAction".
    QMenu* createRunMenu(int row, QWidget* parent);

Q_SIGNALS:
    /// ok: the message lists the run's warnings ("; "-separated; empty when none); else why it ended.
    void runFinished(bool ok, const QString& message);
    /// The finished runs or what is shown of them changed (the session saves them).
    void runsChanged();
    void errorOccurred(const QString& title, const QString& message);
    /// A run was refused before it was queued; the field to fix has the focus.
    void runRefused(const QString& message);
    /// A fine-tune ended: ok with its run in the table (`message`: its warnings), or why not.
    void fineTuneEnded(bool ok, const QString& message);
    /// The weights plot shows the chosen layer (read and binned on a worker thread).
    void distributionShown();

private:
    struct Job
    {
        int id = 0;
        QString runId; ///< RunSummary::id of the run it makes
        QString name;
        Recipe recipe;
        LayerPlan plan;
        ModelIdentity model; ///< the model it quantizes (the current one may change meanwhile)
        JobHandle handle;
        QElapsedTimer queued;  ///< since startRun
        QElapsedTimer running; ///< since its first progress report
        double fraction = -1.0;
    };
    void refreshEta();
    int jobRow(int id) const;
    void showProgress(int id, const JobProgress& p);
    void onJobFinished(int id, const JobOutcome<ExperimentResult>& out);
    /// Leaves a job's row in the table as ended (failed or cancelled) with a Remove button.
    void markJobEnded(int id, const QString& stage, const QString& message);
    /// Refuses a run: the message under the settings, the field focused, runRefused.
    int refuse(const QString& message, TextFileField* field);
    /// Writes the current model's runs to the store (a failure is reported, the runs stay).
    void persist();
    /// Adds a run to the lists of the current model (at the end, or before runs()[at]).
    void appendRun(RunSummary summary, const Recipe& recipe, LayerPlan plan, bool shown);
    void insertRun(std::size_t at, RunSummary summary, const Recipe& recipe, LayerPlan plan, bool shown);
    /// The evaluation of runs as the settings above say (text, chunks of 128 tokens).
    EvaluationParams evaluationParams() const;
    /// The same for a fine-tuned run of `source`, with the float model's KLD base when the baseline
    /// cache holds one for these settings (the run then has KLD and Δppl like the page's runs).
    EvaluationParams fineTuneEvaluation(const RunSummary& source) const;
    /// A fine-tuned run: next to its source (the same recipe and plan), then persisted.
    void addTrainedRun(RunSummary run, const QString& sourceId, const ModelIdentity& model,
                       const QStringList& warnings);
    /// Fine-tune… enabled for one selected run that has a checkpoint, else disabled with why.
    void refreshFineTuneAction();
    void refreshRunsTable();
    /// The current model's runs and baseline from the store (its memory copy, else the database).
    void loadKeptRuns();
    void refreshPlots();
    /// Reads the chosen layer's weights and bins them on a worker (a 1B model's layer is 16M
    /// values: 100+ ms on the UI thread); a newer choice drops an older read.
    void refreshDistribution();
    /// Greys the quality plot's metric and axis choices that no shown run has a value for.
    void offerQualityChoices(const std::vector<RunSummary>& runs);
    /// Greys the per-layer metrics no shown run has a value for, with why.
    void offerLayerMetrics(const std::vector<RunSummary>& runs);
    /// Selected rows of the runs table (ascending) and the run a row shows (the baseline first).
    QList<int> selectedRunRows() const;
    const RunSummary& runAtRow(int row) const;
    std::vector<RunSummary> checkedRuns() const;

    std::shared_ptr<const Model> m_model;
    QThreadPool m_pool;
    JobHandle m_distributionJob;
    QTemporaryDir m_tempCache; ///< KLD bases when no cache folder is set
    QTemporaryDir m_modelsDir; ///< this session's quantized checkpoints (RunSummary::source; Generate page)
    QString m_cacheDir;
    QString m_dataDirectory; ///< of the default texts (Preferences)
    RunStore m_store;
    ModelIdentity m_identity; ///< of the current model
    std::deque<std::unique_ptr<Job>> m_jobs;
    QTimer* m_etaTimer = nullptr;
    int m_nextId = 1;
    std::vector<RunSummary> m_runs;
    std::vector<bool> m_checked;
    std::vector<LayerPlan> m_plans; ///< the plan of each run (the distribution plot draws its grid)
    std::vector<Recipe> m_recipes;  ///< the recipe of each run (saved in the session)
    std::optional<RunSummary> m_baseline;
    std::optional<SensitivityResult> m_sweep;
    QString m_baselineKey; ///< evaluation settings the baseline and its KLD base belong to
    std::vector<LayerReport> m_lastLayers;
    QString m_lastRunName;
    QString m_lastCheckpoint;
    LayerPlan m_lastPlan;
    QStringList m_lastWarnings;

    TextFileField* m_evalText = nullptr;
    QSpinBox* m_chunks = nullptr;
    TextFileField* m_calibText = nullptr;
    QLabel* m_refusal = nullptr; ///< why the last run was refused (cleared when a run is queued)
    QTableWidget* m_jobsTable = nullptr;
    QTableWidget* m_runsTable = nullptr;
    QTabWidget* m_runTabs = nullptr;
    RunHistoryPanel* m_history = nullptr;
    LossSizePlot* m_lossPlot = nullptr;   ///< the chosen quality metric vs the chosen x, one series per run
    QComboBox* m_qualityMetric = nullptr; ///< the quality plot's y: ppl, Δppl, KLD, top-1
    QComboBox* m_qualityAxis = nullptr;   ///< its x: bpw, MB, measured speed or memory
    MemoryPlot* m_memoryPlot = nullptr;
    ErrorHistogramPlot* m_histogram = nullptr;
    LayerErrorHeatmap* m_layerHeatmap = nullptr;
    DistributionPlot* m_distribution = nullptr;
    QComboBox* m_layer = nullptr;
    QComboBox* m_layerMetric = nullptr; ///< the heatmap's and histogram's per-layer metric
    QPushButton* m_diffButton = nullptr;
    QPushButton* m_fineTuneButton = nullptr;
    FineTuneDialog* m_fineTune = nullptr;
    QTabWidget* m_plotTabs = nullptr;
    RunDiffView* m_diffView = nullptr;
    QWidget* m_diffPage = nullptr; ///< the Diff tab: the view in a scroll area
};

} // namespace qs
