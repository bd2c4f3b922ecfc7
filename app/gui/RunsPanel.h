#pragma once

#include "JobRunner.h"
#include "jobs/Job.h"
#include "recipe/LayerPlan.h"
#include "recipe/Recipe.h"
#include "results/ExperimentJob.h"
#include "results/RunResults.h"
#include "session/Session.h"

#include <QTemporaryDir>
#include <QThreadPool>
#include <QWidget>
#include <deque>
#include <memory>
#include <optional>

class QComboBox;
class QLabel;
class QLineEdit;
class QSpinBox;
class QTableWidget;

namespace qs {

class Model;
class LossSizePlot;
class MemoryPlot;
class ErrorHistogramPlot;
class LayerErrorHeatmap;
class DistributionPlot;
struct LayerReport;

/// Runs and comparison: each "Run" quantizes the current plan and evaluates it as a job on a
/// one-thread pool (runs queue), shown in the jobs table with progress, stage, layer, ETA and a
/// Cancel button. Finished runs stay for the session in the runs table (checkboxes choose what
/// the plots show); the plots compare them with the float baseline (evaluated once per model and
/// evaluation setting, its logits kept as the KLD base and its summary beside it in the cache
/// folder, so later sessions reuse it). Finished runs are part of the session (sessionRuns,
/// restoreRuns): their summaries and recipes. Their checkpoints live in this session's temporary
/// folder; a restored run whose checkpoint is gone keeps its numbers with an empty source.
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
    /// The finished runs with their recipes and shown state, for the session.
    std::vector<SessionRun> sessionRuns() const;
    /// Shows runs restored from a session (after setModel); plans are resolved from the recipes.
    void restoreRuns(const std::vector<SessionRun>& runs, const std::optional<RunSummary>& baseline);
    /// Queues a quantize + evaluate job for the plan; returns its id (-1 when refused, with a message).
    int startRun(const QString& name, const Recipe& recipe, const LayerPlan& plan);
    void cancelRun(int id);
    int pendingJobs() const { return int(m_jobs.size()); }
    const std::vector<RunSummary>& runs() const { return m_runs; }
    const std::optional<RunSummary>& baseline() const { return m_baseline; }
    /// Per-layer reports of the last finished run (the layer table shows them).
    const std::vector<LayerReport>& lastLayers() const { return m_lastLayers; }
    /// Warnings of the last finished run (calibration text = evaluation text, checkpoint not saved, …).
    const QStringList& lastWarnings() const { return m_lastWarnings; }

Q_SIGNALS:
    /// ok: the message lists the run's warnings ("; "-separated; empty when none); else why it ended.
    void runFinished(bool ok, const QString& message);
    /// The finished runs or what is shown of them changed (the session saves them).
    void runsChanged();
    void errorOccurred(const QString& title, const QString& message);

private:
    struct Job
    {
        int id = 0;
        QString name;
        Recipe recipe;
        LayerPlan plan;
        JobHandle handle;
        int row = -1; ///< in the jobs table
    };
    void showProgress(int id, const JobProgress& p);
    void onJobFinished(int id, const JobOutcome<ExperimentResult>& out);
    void refreshRunsTable();
    void refreshPlots();
    void refreshDistribution();
    std::vector<RunSummary> checkedRuns() const;

    std::shared_ptr<const Model> m_model;
    QThreadPool m_pool;
    QTemporaryDir m_tempCache; ///< KLD bases when no cache folder is set
    QTemporaryDir m_modelsDir; ///< this session's quantized checkpoints (RunSummary::source; Generate page)
    QString m_cacheDir;
    std::deque<std::unique_ptr<Job>> m_jobs;
    int m_nextId = 1;
    std::vector<RunSummary> m_runs;
    std::vector<bool> m_checked;
    std::vector<LayerPlan> m_plans; ///< the plan of each run (the distribution plot draws its grid)
    std::vector<Recipe> m_recipes;  ///< the recipe of each run (saved in the session)
    std::optional<RunSummary> m_baseline;
    QString m_baselineKey; ///< evaluation settings the baseline and its KLD base belong to
    std::vector<LayerReport> m_lastLayers;
    QStringList m_lastWarnings;

    QLineEdit* m_evalText = nullptr;
    QSpinBox* m_chunks = nullptr;
    QLineEdit* m_calibText = nullptr;
    QTableWidget* m_jobsTable = nullptr;
    QTableWidget* m_runsTable = nullptr;
    LossSizePlot* m_lossPlot = nullptr;
    LossSizePlot* m_speedPlot = nullptr;    ///< quality vs measured decode tokens/s
    LossSizePlot* m_residentPlot = nullptr; ///< quality vs measured resident weight bytes
    MemoryPlot* m_memoryPlot = nullptr;
    ErrorHistogramPlot* m_histogram = nullptr;
    LayerErrorHeatmap* m_layerHeatmap = nullptr;
    DistributionPlot* m_distribution = nullptr;
    QComboBox* m_layer = nullptr;
};

} // namespace qs
