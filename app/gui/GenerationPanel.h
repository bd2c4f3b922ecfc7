#pragma once

#include "JobRunner.h"
#include "jobs/Job.h"
#include "model/Generate.h"

#include <QThreadPool>
#include <QWidget>
#include <array>
#include <memory>
#include <optional>

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;
class QSpinBox;

namespace qs {

class Model;
class RunsPanel;
class Tokenizer;
class Transformer;

/// Side-by-side generation: the same prompt, options and seed through the float model (left)
/// and a quantized model (right: a run's checkpoint from the Runs page, or a folder), each on a
/// worker thread with tokens streaming into its text box; Stop cancels both. When both finish,
/// the first generated token where they differ is highlighted in both.
class GenerationPanel : public QWidget
{
    Q_OBJECT
public:
    explicit GenerationPanel(RunsPanel* runs, QWidget* parent = nullptr);
    ~GenerationPanel() override;

    void setModel(std::shared_ptr<const Model> model);
    /// Offers a quantized model folder (any model folder QuantScope opens) on the right side.
    void addQuantizedModel(const QString& name, const QString& folder);
    int quantizedModelCount() const;
    bool isRunning() const;
    /// What each side generated last (nullopt before, on error or when stopped).
    const std::optional<GenerateResult>& floatResult() const { return m_sides[0].result; }
    const std::optional<GenerateResult>& quantizedResult() const { return m_sides[1].result; }
    /// Index of the first generated token where the sides differ; -1 when identical or unknown.
    int divergence() const { return m_divergence; }

public Q_SLOTS:
    void start();
    void stop();

Q_SIGNALS:
    /// Both sides are done (ok: neither failed nor was stopped).
    void generationFinished(bool ok);

private:
    struct Outcome
    {
        std::optional<GenerateResult> result;
        std::shared_ptr<const Transformer> transformer;
        std::shared_ptr<const Tokenizer> tokenizer;
    };
    struct Side
    {
        QPlainTextEdit* text = nullptr;
        QLabel* status = nullptr;
        JobHandle job;
        std::optional<GenerateResult> result;
        std::shared_ptr<const Transformer> transformer; ///< cached for `source`
        std::shared_ptr<const Tokenizer> tokenizer;
        QString source; ///< the model folder the cache belongs to
        bool running = false;
        bool failed = false;
    };
    void startSide(int side, const QString& folder, std::shared_ptr<const Model> model);
    void onSideFinished(int side, const JobOutcome<Outcome>& outcome);
    void appendPiece(int side, int generation, const QString& piece);
    void showDivergence();
    void refreshRuns();
    void refreshEnabled();

    RunsPanel* m_runs = nullptr;
    std::shared_ptr<const Model> m_model;
    QThreadPool m_pool;
    std::shared_ptr<CancelToken> m_cancel;
    std::array<Side, 2> m_sides;
    int m_generation = 0;
    int m_divergence = -1;

    QLineEdit* m_prompt = nullptr;
    QSpinBox* m_maxTokens = nullptr;
    QCheckBox* m_greedy = nullptr;
    QDoubleSpinBox* m_temperature = nullptr;
    QDoubleSpinBox* m_topP = nullptr;
    QSpinBox* m_seed = nullptr;
    QComboBox* m_quantModel = nullptr;
    QPushButton* m_start = nullptr;
    QPushButton* m_stop = nullptr;
    QLabel* m_message = nullptr;
    QLabel* m_divergenceLabel = nullptr;
};

} // namespace qs
