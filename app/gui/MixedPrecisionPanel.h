#pragma once

#include "JobRunner.h"
#include "analysis/Allocation.h"
#include "analysis/Sensitivity.h"
#include "results/RunResults.h"

#include <QWidget>
#include <memory>
#include <optional>

class QComboBox;
class QLabel;
class QProgressBar;
class QPushButton;
class QSlider;
class QDoubleSpinBox;
class QSpinBox;
class QTableWidget;

namespace qs {

class Model;
class PlanDocument;
class LayerErrorHeatmap;
class LayerErrorBars;
class ParetoFrontPlot;
class SchemePicker;
class TextFileField;

/// Sensitivity and automatic mixed precision: run (on a worker thread, with progress and cancel)
/// or load a sweep, see it as a heatmap (layers × schemes) and a sorted bar chart, move a budget
/// slider to get the best plan for that many bits per weight (proposal table and Pareto plot
/// update live), and apply it to the layer plan as one undoable edit.
class MixedPrecisionPanel : public QWidget
{
    Q_OBJECT
public:
    explicit MixedPrecisionPanel(PlanDocument* doc, QWidget* parent = nullptr);
    ~MixedPrecisionPanel() override;

    void setModel(std::shared_ptr<const Model> model);
    /// The data folder the default evaluation and calibration texts come from (Preferences).
    void setDataDirectory(const QString& path);
    /// Shows sweep results (throws qs::Error when they belong to another model).
    void setResults(const SensitivityResult& results);
    const std::optional<SensitivityResult>& results() const { return m_results; }
    bool isRunning() const;
    /// The budget in bits per weight (slider position).
    void setBudget(double bpw);
    const std::optional<AllocationPlan>& proposal() const { return m_proposal; }

public Q_SLOTS:
    void startSweep();
    void cancelSweep();
    void applyProposal();

    /// Loads a sweep file (the Load… button, --sensitivity); a whole or merged sweep is offered to
    /// the run history (sweepRecordable). False, with errorOccurred, when it cannot be used.
    bool loadFile(const QString& path);

Q_SIGNALS:
    void sweepFinished(bool ok, const QString& message);
    /// A whole sweep (finished here, or loaded: a merged one from a cluster) to keep in the history.
    void sweepRecordable(const SensitivityResult& sweep, const QString& source);
    /// results() changed: a sweep finished or was loaded, or a model switch cleared it.
    void resultsChanged();
    void errorOccurred(const QString& title, const QString& message);

private:
    void onSweepFinished(const JobOutcome<std::optional<SensitivityResult>>& out);
    void updateProposal();
    void updateBars();
    void loadDialog();
    void saveDialog();

    PlanDocument* m_doc;
    std::shared_ptr<const Model> m_model;
    std::optional<SensitivityResult> m_results;
    std::optional<SensitivityResult> m_partial; ///< what a cancelled sweep finished (resumed next time)
    std::unique_ptr<Allocator> m_allocator;
    std::optional<AllocationPlan> m_proposal;
    JobHandle m_sweep;

    SchemePicker* m_schemes = nullptr;
    TextFileField* m_evalText = nullptr;
    TextFileField* m_calibText = nullptr;
    QSpinBox* m_chunks = nullptr;
    QPushButton* m_run = nullptr;
    QPushButton* m_cancelButton = nullptr;
    QProgressBar* m_progress = nullptr;
    QLabel* m_status = nullptr;
    LayerErrorHeatmap* m_heatmap = nullptr;
    LayerErrorBars* m_bars = nullptr;
    ParetoFrontPlot* m_pareto = nullptr;
    QSlider* m_budget = nullptr;
    QDoubleSpinBox* m_budgetSpin = nullptr; ///< the same budget typed or stepped (0.05, PgUp 0.25)
    QLabel* m_budgetLabel = nullptr;
    QTableWidget* m_proposalTable = nullptr;
    QPushButton* m_apply = nullptr;
    QComboBox* m_barScheme = nullptr;
    LayerErrorMatrix m_matrix;
};

} // namespace qs
