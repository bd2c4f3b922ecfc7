#pragma once

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

namespace qs {

class Model;
class PlaygroundValuesPlot;
class PlaygroundErrorPlot;

/// The teaching playground: one row (a real weight row of the loaded model or a synthetic
/// distribution with injected outliers) quantized live as the controls change — values with the
/// levels of one group, reconstructed values, the error histogram, MSE, SNR, max error, bytes and
/// bits per weight. One row is cheap (one RTN pass, 21 with the clipping search), so it
/// recomputes on the UI thread; lastComputeMilliseconds() reports the time (tested < 20 ms).
/// A presentation mode enlarges fonts and lines for a projector.
class PlaygroundPanel : public QWidget
{
    Q_OBJECT
public:
    explicit PlaygroundPanel(QWidget* parent = nullptr);
    ~PlaygroundPanel() override;

    void setModel(std::shared_ptr<const Model> model);
    /// The last result (null while the controls describe something that cannot be computed).
    std::shared_ptr<const PlaygroundResult> result() const { return m_result; }
    /// Why there is no result (empty when there is one).
    QString problem() const { return m_problem; }
    /// The checkable "Presentation mode" action (F5, Ctrl+Shift+P) for the window's View menu.
    QAction* presentationAction() const { return m_presentationAction; }
    bool presentationMode() const { return m_presentation; }
    double lastComputeMilliseconds() const { return m_lastMs; }

public Q_SLOTS:
    void setPresentationMode(bool on);

Q_SIGNALS:
    void resultChanged();

private:
    QWidget* createSourceBox();
    QWidget* createQuantizationBox();
    QWidget* createStatsBox();
    void createPresentationControls();
    void connectControls();
    QSpinBox* makeSpin(const char* name, int lo, int hi, int value);
    void populateLayers();
    void onLayerChanged();
    void reloadRow();
    void recompute();
    QuantSpec currentSpec() const;
    void showProblem(const QString& text);
    void refreshStats();
    void fitControlsWidth();

    std::shared_ptr<const Model> m_model;
    std::vector<PlaygroundMethod> m_methods;
    std::vector<float> m_values;
    QString m_rowProblem;
    QString m_rowLabel;
    std::shared_ptr<const PlaygroundResult> m_result;
    QString m_problem;
    bool m_presentation = false;
    bool m_updating = false;
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
    QSpinBox* m_shownGroup = nullptr;
    QCheckBox* m_sorted = nullptr;
    QLabel* m_mse = nullptr;
    QLabel* m_snr = nullptr;
    QLabel* m_maxError = nullptr;
    QLabel* m_bytes = nullptr;
    QLabel* m_bpw = nullptr;
    QLabel* m_message = nullptr;
    QPushButton* m_presentationButton = nullptr;
    QAction* m_presentationAction = nullptr;
    PlaygroundValuesPlot* m_valuesPlot = nullptr;
    PlaygroundErrorPlot* m_errorPlot = nullptr;
};

} // namespace qs
