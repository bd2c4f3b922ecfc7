#pragma once

#include <QObject>
#include <QPointer>
#include <QString>
#include <QStringList>
#include <memory>

class QProgressDialog;
class QWidget;

namespace qs {

class PlanDocument;
class CancelToken;

/// The Plan menu's exports of the plan being edited: a GGUF file (gguf and float layers; the
/// token embeddings Q8_0, norms F32) written as a job with progress and Cancel, and the
/// llama-quantize `--tensor-type` rules that reproduce the plan's types.
class PlanExporter : public QObject
{
    Q_OBJECT
public:
    PlanExporter(PlanDocument* doc, QWidget* window);
    ~PlanExporter() override;

    /// llama-quantize arguments for the plan (base type first, then one `--tensor-type` pair per
    /// line); `problems` gets the layers no GGUF type describes.
    QString llamaCppRules(QStringList* problems = nullptr) const;
    /// Writes the plan as GGUF to `path` on a worker thread (atomic: nothing is left on failure or
    /// Cancel); finished() reports the outcome (a plan GGUF cannot hold fails at once, naming the
    /// layer). Refused (finished(false, …)) while one is running.
    void exportGguf(const QString& path);
    bool isBusy() const { return m_busy; }
    /// Whether the last finished export was cancelled (not failed).
    bool lastCancelled() const { return m_lastCancelled; }

public Q_SLOTS:
    void exportGgufDialog();
    void showLlamaCppRules();

Q_SIGNALS:
    void finished(bool ok, const QString& message);

private:
    void onExportFinished(const QString& path, bool cancelled, const QString& error);

    PlanDocument* m_doc;
    QWidget* m_window;
    bool m_busy = false;
    bool m_lastCancelled = false;
    std::shared_ptr<CancelToken> m_cancel;
    QPointer<QProgressDialog> m_progress; ///< closed by the user, it deletes itself
};

} // namespace qs
