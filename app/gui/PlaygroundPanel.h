#pragma once

#include "JobRunner.h"
#include "analysis/Playground.h"

#include <QWidget>
#include <memory>
#include <vector>

class QAction;
class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QPushButton;
class QScrollArea;
class QSlider;
class QSpinBox;
class QStackedWidget;
class QTabWidget;

namespace qs {

class Model;
class PlaygroundValuesPlot;
class PlaygroundErrorPlot;
class PlaygroundGptqRowPlot;
class PlaygroundGptqCurvePlot;
class PlaygroundPairsPlot;
class PlaygroundRotationPlot;

/// The teaching playground: one row (a real weight row of the loaded model or a synthetic
/// distribution with injected outliers) quantized live as the controls change — values with the
/// levels of one group, reconstructed values, the error histogram, MSE, SNR, max error, bytes and
/// bits per weight. One row is cheap for the scalar methods (one RTN pass, 21 with the clipping
/// search), so they recompute on the UI thread; lastComputeMilliseconds() reports the time (tested
/// < 20 ms). QuIP# and AQLM weigh the row's error by an n × n Hessian (a second on a row of 4096), so
/// they run as a job, the newest setting replacing a running one. The calibrated methods get the
/// layer's statistics once "GPTQ step by step" has computed them for the row's layer, else isotropic
/// inputs (said beside the method). A "Codebooks" view shows the points a pair of weights
/// can take and what the Hadamard rotation does to the row's distribution.
/// A presentation mode enlarges fonts and lines for a projector.
///
/// For teaching: a second method (B) quantizes the same row beside the first (A), both drawn
/// and both measured, the better one marked; a step-through shows one weight's quantization as
/// numbers; the value axis stays fixed while settings change (Reset axes refits it); and a GPTQ
/// demonstration computes the layer's input statistics from the calibration text (a job) and
/// steps through GPTQ's columns on the row with the project's own GPTQ.
class PlaygroundPanel : public QWidget
{
    Q_OBJECT
public:
    explicit PlaygroundPanel(QWidget* parent = nullptr);
    ~PlaygroundPanel() override;

    void setModel(std::shared_ptr<const Model> model);
    /// The last result (null while the controls describe something that cannot be computed).
    std::shared_ptr<const PlaygroundResult> result() const { return m_result; }
    /// The second method's result while comparing (null otherwise).
    std::shared_ptr<const PlaygroundResult> comparisonResult() const { return m_resultB; }
    /// The GPTQ demonstration (null until computed) and its current step (0-based, quantization order).
    std::shared_ptr<const GptqDemo> gptqDemo() const { return m_gptqDemo; }
    bool gptqRunning() const { return m_gptqJob.isRunning(); }
    /// A Hessian method (QuIP#, AQLM) is quantizing the row in the background.
    bool rowRunning() const { return m_rowJob.isRunning(); }
    /// The calibration text the GPTQ demonstration reads (default: the data folder's).
    void setCalibrationText(const QString& path) { m_calibrationText = path; }
    QString calibrationText() const { return m_calibrationText; }
    /// Why there is no result (empty when there is one).
    QString problem() const { return m_problem; }
    /// The checkable "Presentation mode" action (F5, Ctrl+Shift+P) for the window's View menu.
    QAction* presentationAction() const { return m_presentationAction; }
    bool presentationMode() const { return m_presentation; }
    double lastComputeMilliseconds() const { return m_lastMs; }

public Q_SLOTS:
    void setPresentationMode(bool on);
    /// Sets controls from "key=value,…" (for scripted screenshots, --playground): layer, row,
    /// source (real|synthetic), distribution (gaussian|laplace|uniform), count, outliers, magnitude,
    /// method, bits, group (N|channel), symmetric, rotate, codebook (AQLM's codebook bits), sparse
    /// (SqueezeLLM's percent), compare (a method name, gptq (the demonstration's result), or off),
    /// bitsB, groupB, symmetricB, rotateB, codebookB, sparseB, weight, sorted, shownGroup, view
    /// (row|gptq|codebook), gptq (a step: runs the demonstration, then shows that step), controls (0:
    /// hidden), present, window (WxH). Returns what it could not apply (empty: all of it).
    QString applySettings(const QString& settings);
    /// Refits the fixed value axes to the current row and results.
    void resetAxes();
    /// Computes the layer's statistics (once per layer) and the GPTQ demonstration, as a job.
    void startGptqDemo();

Q_SIGNALS:
    void resultChanged();
    void gptqDemoChanged();
    /// A GPTQ demonstration ended (succeeded, failed, was cancelled, or could not start).
    void gptqFinished();

private:
    QWidget* createSourceBox();
    QWidget* createQuantizationBox();
    QWidget* createStatsBox();
    QWidget* createCompareBox();
    QWidget* createStepBox();
    QWidget* createGptqPage();
    void createPresentationControls();
    void connectControls();
    QSpinBox* makeSpin(const char* name, int lo, int hi, int value);
    void populateLayers();
    void onLayerChanged();
    void reloadRow();
    void recompute();
    QuantSpec currentSpec() const;
    QuantSpec comparisonSpec() const;
    QuantSpec gptqSpec() const;
    /// B is "GPTQ (from the demonstration)", the entry after the playground's methods.
    bool comparingWithGptq() const;
    /// The demonstration is of the current row with A's bits, groups and symmetry.
    bool gptqDemoIsCurrent() const;
    void refreshStep();
    void refreshGptqStep();
    /// Shows results computed by recompute (at once, or when its job ends).
    void applyResults(std::shared_ptr<PlaygroundResult> a, std::shared_ptr<PlaygroundResult> b, double ms);
    /// The controls' settings of side A or B.
    PlaygroundSettings settingsOf(bool sideB) const;
    /// Enables the controls that mean something for the chosen methods; fills AQLM's codebook choices.
    void refreshMethodControls();
    /// The layer's statistics when they are of the row's layer (the GPTQ demonstration computed them).
    std::shared_ptr<const LinearInputStats> statsForRow() const;
    void growErrorAxis();
    void showProblem(const QString& text);
    void refreshStats();
    void fitControlsWidth();

    std::shared_ptr<const Model> m_model;
    std::vector<PlaygroundMethod> m_methods;
    std::vector<float> m_values;
    QString m_rowProblem;
    QString m_rowLabel;
    std::shared_ptr<const PlaygroundResult> m_result;
    std::shared_ptr<const PlaygroundResult> m_resultB;
    QString m_problem;
    QString m_calibrationText;
    std::shared_ptr<const LinearInputStats> m_layerStats; ///< of m_statsLayer (reused across rows)
    QString m_statsLayer;
    std::shared_ptr<const GptqDemo> m_gptqDemo;
    QString m_gptqRowLabel;
    JobHandle m_gptqJob;
    JobHandle m_rowJob;        ///< QuIP#/AQLM on the row
    int m_pendingGptqStep = 0; ///< applySettings' gptq=STEP, shown once the job is done
    int m_pendingWeight = -1;  ///< applySettings' weight=N while a row job runs, shown with its result
    bool m_presentation = false;
    bool m_updating = false;
    bool m_axesPending = true; ///< a new row: fit the fixed axes to it on the next result
    double m_lastMs = 0;
    double m_basePointSize = 0;

    QScrollArea* m_controls = nullptr;
    QComboBox* m_source = nullptr;
    QStackedWidget* m_sourcePages = nullptr;
    QComboBox* m_layer = nullptr;
    QSpinBox* m_row = nullptr;
    QLabel* m_rowInfo = nullptr;
    QComboBox* m_distribution = nullptr;
    QSpinBox* m_count = nullptr;
    QSpinBox* m_seed = nullptr;
    QSpinBox* m_outliers = nullptr;
    QDoubleSpinBox* m_magnitude = nullptr;
    QSlider* m_bits = nullptr;
    QLabel* m_bitsLabel = nullptr;
    QComboBox* m_groupSize = nullptr;
    QCheckBox* m_symmetric = nullptr;
    QComboBox* m_method = nullptr;
    QLabel* m_methodNote = nullptr;
    QCheckBox* m_rotate = nullptr;
    QComboBox* m_codebook = nullptr;
    QDoubleSpinBox* m_sparse = nullptr;
    QLabel* m_inputsNote = nullptr;
    QSpinBox* m_shownGroup = nullptr;
    QCheckBox* m_sorted = nullptr;
    QLabel* m_mse = nullptr;
    QLabel* m_snr = nullptr;
    QLabel* m_maxError = nullptr;
    QLabel* m_bytes = nullptr;
    QLabel* m_bpw = nullptr;
    QLabel* m_message = nullptr;
    QCheckBox* m_compare = nullptr;
    QWidget* m_compareControls = nullptr;
    QComboBox* m_methodB = nullptr;
    QSlider* m_bitsB = nullptr;
    QLabel* m_bitsLabelB = nullptr;
    QComboBox* m_groupSizeB = nullptr;
    QCheckBox* m_symmetricB = nullptr;
    QCheckBox* m_rotateB = nullptr;
    QComboBox* m_codebookB = nullptr;
    QDoubleSpinBox* m_sparseB = nullptr;
    QLabel* m_headerB = nullptr;
    QLabel* m_mseB = nullptr;
    QLabel* m_snrB = nullptr;
    QLabel* m_maxErrorB = nullptr;
    QLabel* m_bytesB = nullptr;
    QLabel* m_bpwB = nullptr;
    QLabel* m_winner = nullptr;
    QPushButton* m_resetAxes = nullptr;
    QSpinBox* m_weight = nullptr;
    QLabel* m_stepText = nullptr;
    QComboBox* m_stepOf = nullptr; ///< whose steps are shown: A, or B while comparing
    QTabWidget* m_views = nullptr;
    QPushButton* m_gptqStart = nullptr;
    QPushButton* m_gptqCancel = nullptr;
    QLabel* m_gptqStatus = nullptr;
    QSpinBox* m_gptqStep = nullptr;
    QLabel* m_gptqText = nullptr;
    QLabel* m_gptqNext = nullptr;
    QScrollArea* m_gptqTextScroll = nullptr;
    PlaygroundGptqRowPlot* m_gptqRowPlot = nullptr;
    PlaygroundGptqCurvePlot* m_gptqCurvePlot = nullptr;
    QPushButton* m_presentationButton = nullptr;
    QAction* m_presentationAction = nullptr;
    PlaygroundValuesPlot* m_valuesPlot = nullptr;
    PlaygroundErrorPlot* m_errorPlot = nullptr;
    PlaygroundPairsPlot* m_pairsPlot = nullptr;
    PlaygroundRotationPlot* m_rotationPlot = nullptr;
};

} // namespace qs
