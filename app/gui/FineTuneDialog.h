#pragma once

#include "JobRunner.h"
#include "eval/Evaluation.h"
#include "results/RunResults.h"
#include "results/TrainJob.h"
#include "store/ModelIdentity.h"

#include <QDialog>
#include <QElapsedTimer>
#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

class QComboBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QTabWidget;
class QTimer;

namespace qs {

class Model;
class TextFileField;
class TrainingLossPlot;
class LearningRatePlot;
class LayerErrorBars;

/// Fine-tuning a quantized run of the Runs page (issue 16), a non-modal dialog: the method (QAT end to
/// end, Block-AP, SignRound: core's trainPreset, the same as `quantscope-cli train`), its steps, learning
/// rate, batch, windows, texts and output folder; Start runs runTrainJob as a job (progress, ETA), Stop
/// ends it early and keeps the best step, Cancel discards it. While it runs: the loss curve (training and
/// held-out), the learning-rate schedule drawn whole with the step reached marked, and for the block-wise
/// methods each block's error before and after as the block ends; the plots are redrawn on a timer, not
/// per point. A run that ends with a checkpoint (finished or stopped) is evaluated as the Runs page
/// evaluates its runs and handed back (trained), so that the page shows it next to its source. Inputs
/// that cannot work are refused before anything starts, with the field to fix focused.
class FineTuneDialog : public QDialog
{
    Q_OBJECT
public:
    /// The run to fine-tune, as the Runs page hands it over.
    struct Source
    {
        RunSummary run;                         ///< source: its checkpoint folder; modelPath: its float model
        ModelIdentity model;                    ///< the model whose runs the trained run joins
        std::shared_ptr<const Model> pageModel; ///< the page's model: reused when it is the float model
        QString trainingText;                   ///< the page's calibration text (the training text's default)
    };

    explicit FineTuneDialog(QWidget* parent = nullptr);
    ~FineTuneDialog() override;

    /// Shows `source` and resets the output folder to its default (refused while a job runs: false).
    bool setSource(Source source);
    const Source& source() const { return m_source; }
    /// How the trained run is evaluated (the Runs page's text, chunks and KLD base), asked at Start.
    void setEvaluation(std::function<EvaluationParams(const RunSummary&)> evaluation);
    void setDataDirectory(const QString& path);
    /// Sets fields from "key=value;…" (method or mode = qat|block-ap|signround, steps, lr, batch,
    /// seq-len, samples, text, held-out, out), as --fine-tune passes them; returns what it could not
    /// apply (empty when all).
    QString applySettings(const QString& settings);

    /// Start: checks the inputs (a refusal is shown here with the field focused: false) and starts the job.
    bool start();
    /// Stop (keep best): the job ends after its current step (block-wise: block) and keeps its best step.
    void stop();
    /// Cancel (discard): the job ends at its next check and nothing is written.
    void cancel();
    bool isRunning() const { return m_job.isRunning(); }
    /// Why the last Start was refused (empty when it was not).
    QString refusal() const;
    /// The points of the loss curve received so far (the result's curve once it ended).
    const std::vector<TrainingPoint>& curve() const { return m_curve; }
    const std::vector<BlockFit>& blocks() const { return m_blocks; }
    TrainingLossPlot* lossPlot() const { return m_lossPlot; }
    LearningRatePlot* learningRatePlot() const { return m_lrPlot; }
    TrainMethod method() const;

    /// "<source>-<slug>" beside the checkpoint, numbered ("-2", …) when that folder exists.
    static QString defaultOutputFolder(const QString& checkpoint, TrainMethod method);
    /// The held-out text suggested for a training text: valid.txt beside it (empty when there is none).
    static QString heldOutFor(const QString& trainingText);

Q_SIGNALS:
    /// The job ended with a saved, evaluated run (finished, or stopped early and kept); ended follows.
    void trained(const RunSummary& run, const QString& sourceRunId, const ModelIdentity& model,
                 const QStringList& warnings);
    /// The job failed (the message says why); ended follows.
    void failed(const QString& message);
    /// The job ended: ok (`message`: its warnings, "; "-separated), or why not (cancelled, failed).
    void ended(bool ok, const QString& message);

private:
    QWidget* buildSettings();
    QWidget* buildPlots();
    void methodChanged();
    /// The learning rate, output folder and schedule follow the method and steps until edited.
    void refreshDefaults();
    /// The learning-rate plot: the schedule Start would run.
    void refreshSchedule();
    QString scheduleLabel() const;
    double learningRate(bool* ok = nullptr) const;
    /// The job's parameters from the fields (texts, model and evaluation filled in by start()).
    TrainJobParams paramsFromFields() const;
    /// The job's parameters from the fields, the run and the page's evaluation; nullopt when an input
    /// cannot work (refused: the message shown, the field to fix focused).
    std::optional<TrainJobParams> checkedParams();
    /// Shows why Start is refused and focuses `field` (offers QAT when the float model is gone).
    std::nullopt_t refuse(const QString& message, QWidget* field, bool offerQat = false);
    void setRunning(bool running);
    void onProgress(const JobProgress& p);
    /// The plots from the points received since the last tick (the timer's, not each point's).
    void redraw();
    void onFinished(const JobOutcome<TrainJobResult>& out);
    QString resultText(const TrainJobResult& r) const;

    Source m_source;
    std::function<EvaluationParams(const RunSummary&)> m_evaluation;
    JobHandle m_job;
    std::shared_ptr<std::atomic<bool>> m_stop;
    QString m_outDir;   ///< the running job's output folder
    int m_jobSteps = 0; ///< the running job's steps (per block in block-wise modes)
    bool m_lrEdited = false;
    bool m_outEdited = false;
    bool m_settingDefaults = false; ///< refreshDefaults is setting the fields (not the user)
    QString m_heldOutSuggested;     ///< the held-out text last suggested (it follows while unchanged)
    std::vector<TrainingPoint> m_curve;
    std::vector<BlockFit> m_blocks;
    bool m_curveDirty = false, m_blocksDirty = false;
    QElapsedTimer m_clock;
    double m_fraction = -1;
    QTimer* m_redrawTimer = nullptr;

    QLabel* m_sourceLabel = nullptr;
    QComboBox* m_method = nullptr;
    QLabel* m_methodHelp = nullptr;
    QLabel* m_stepsLabel = nullptr;
    QSpinBox* m_steps = nullptr;
    QLineEdit* m_lr = nullptr;
    QSpinBox* m_batch = nullptr;
    QSpinBox* m_seqLen = nullptr;
    QSpinBox* m_samples = nullptr;
    TextFileField* m_text = nullptr;
    TextFileField* m_heldOut = nullptr;
    QLineEdit* m_out = nullptr;
    QWidget* m_settings = nullptr;
    QLabel* m_refusal = nullptr;
    QPushButton* m_useQat = nullptr;
    QProgressBar* m_progress = nullptr;
    QLabel* m_stage = nullptr;
    QLabel* m_eta = nullptr;
    QLabel* m_summary = nullptr;
    QPushButton* m_start = nullptr;
    QPushButton* m_stopButton = nullptr;
    QPushButton* m_cancelButton = nullptr;
    QTabWidget* m_plotTabs = nullptr;
    TrainingLossPlot* m_lossPlot = nullptr;
    LearningRatePlot* m_lrPlot = nullptr;
    LayerErrorBars* m_blockPlot = nullptr;
};

} // namespace qs
