#pragma once

#include "spec/QuantSpec.h"

#include <QObject>
#include <QPointer>
#include <QString>
#include <QStringList>
#include <memory>
#include <vector>

class QProgressDialog;
class QWidget;

namespace qs {

class PlanDocument;
class CancelToken;
struct LlamaQuantizeInvocation;

/// The Plan menu's exports of the plan being edited: a GGUF file (the plan's gguf and float
/// layers, the token embeddings Q8_0, other weights F16: ggufPlanForLayerPlan) written as a job
/// with progress and Cancel, whose size is then reconciled with the plan's estimate; a Hugging
/// Face GPTQ/AWQ checkpoint of the last run of the plan; and the complete llama-quantize command
/// that gives a GGUF the plan's types. Each export says why it cannot run before it asks for a
/// file (ggufProblem, hfProblem), so the window can disable its action with the reason.
class PlanExporter : public QObject
{
    Q_OBJECT
public:
    PlanExporter(PlanDocument* doc, QWidget* window);
    ~PlanExporter() override;

    /// llama-quantize arguments for the plan (base type first, then one `--tensor-type` pair per
    /// line); `problems` gets the layers no GGUF type describes.
    QString llamaCppRules(QStringList* problems = nullptr) const;
    /// The complete llama-quantize command for the plan (binary, --imatrix, --token-embedding-type,
    /// the --tensor-type rules, input, output, base type), shell-quoted, one option per line; with
    /// `how` null the defaults beside the model (llamaQuantizeDefaults). Empty when no layer maps.
    QString llamaQuantizeCommand(const LlamaQuantizeInvocation* how = nullptr,
                                 QStringList* problems = nullptr) const;
    /// Why the plan cannot be written as GGUF (naming the layer), or empty when it can.
    QString ggufProblem() const;
    /// Why Export Hugging Face cannot run (no run of this plan, a method those formats lack), or
    /// empty when it can; `format` gets "gptq" or "awq".
    QString hfProblem(QString* format = nullptr) const;
    /// The quantized checkpoint of the last finished run and the plan it ran (Export Hugging Face
    /// writes it while the plan still equals it).
    void setLastRun(const QString& checkpoint, const std::vector<QuantSpec>& specs);

    /// Writes the plan as GGUF to `path` on a worker thread (atomic: nothing is left on failure or
    /// Cancel); finished() reports the outcome with the file's size against the plan's estimate
    /// (lastReport: the reconciliation). A plan GGUF cannot hold fails at once, naming the layer.
    /// Refused (finished(false, …)) while an export is running.
    void exportGguf(const QString& path);
    /// Writes the last run's checkpoint as a Hugging Face GPTQ or AWQ folder (a job).
    void exportHf(const QString& outDir);
    bool isBusy() const { return m_busy; }
    /// Whether the last finished export was cancelled (not failed).
    bool lastCancelled() const { return m_lastCancelled; }
    /// The last GGUF export's size against the plan's estimate, line by line (GgufSizeReport).
    const QStringList& lastReport() const { return m_lastReport; }

public Q_SLOTS:
    void exportGgufDialog();
    void exportHfDialog();
    void showLlamaCppRules();

Q_SIGNALS:
    void finished(bool ok, const QString& message);

private:
    /// Shows progress for a running export (Cancel cancels `m_cancel`).
    void startProgress(const QString& label);
    /// Ends an export: closes the progress, reports ok / cancelled / error.
    void endExport(bool cancelled, const QString& error, const QString& message);
    void showReport(const QString& title, const QStringList& lines);

    PlanDocument* m_doc;
    QWidget* m_window;
    bool m_busy = false;
    bool m_lastCancelled = false;
    QStringList m_lastReport;
    QString m_lastCheckpoint;
    std::vector<QuantSpec> m_lastSpecs;
    std::shared_ptr<CancelToken> m_cancel;
    QPointer<QProgressDialog> m_progress; ///< closed by the user, it deletes itself
};

} // namespace qs
