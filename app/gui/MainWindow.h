#pragma once

#include "AppSettings.h"
#include "JobRunner.h"

#include <QMainWindow>
#include <memory>

class QAction;
class QGroupBox;
class QLabel;
class QMenu;
class QProgressBar;
class QSortFilterProxyModel;
class QStackedWidget;
class QTableView;
class QTabWidget;
class QTextBrowser;
class QUndoStack;

namespace qs {
class Model;
class TensorTableModel;
class PlanDocument;
class PlanTableModel;
class PlanPage;
class MixedPrecisionPanel;
class RunsPanel;
class PlaygroundPanel;
class GenerationPanel;
class SessionController;
class MemoryStatus;
class StartPage;
class PlanExporter;

/// The workbench window: the pages (Plan, Mixed precision, Runs, …), menus, status bar and model
/// loading. It only starts jobs and shows their results; all work happens in core on worker
/// threads (runJob), so the UI thread never blocks.
class MainWindow : public QMainWindow
{
    Q_OBJECT
public:
    explicit MainWindow(QWidget* parent = nullptr);
    ~MainWindow() override;

    std::shared_ptr<const Model> model() const { return m_model; }
    bool isLoading() const;
    PlanDocument* planDocument() const { return m_plan; }
    PlanTableModel* planTableModel() const { return m_planModel; }
    MixedPrecisionPanel* mixedPrecisionPanel() const { return m_mixed; }
    RunsPanel* runsPanel() const { return m_runs; }
    PlaygroundPanel* playgroundPanel() const { return m_playground; }
    GenerationPanel* generationPanel() const { return m_generation; }
    QTabWidget* tabs() const { return m_tabs; }
    /// Plan › Export GGUF / llama-quantize rules.
    PlanExporter* planExporter() const { return m_exporter; }
    /// Autosave and restore (off until a session file is set).
    SessionController* session() const { return m_session; }
    /// The preferences this window applied last (applySettings).
    const AppSettings& settings() const { return m_settings; }
    PlanPage* planPage() const { return m_planPage; }
    /// Queues a quantize + evaluate run of the current plan (the Run button); returns the job id or -1.
    int runCurrentPlan();
    StartPage* startPage() const { return m_start; }
    /// View › Teaching Mode (F11): full screen, every page's fonts, plot lines and table rows
    /// enlarged by kTeachingScale for a projector; the Playground switches to its presentation mode.
    QAction* teachingAction() const { return m_teaching; }
    bool teachingMode() const { return m_teachingOn; }
    static constexpr double kTeachingScale = 1.4;
    /// How long a status-bar message stays: a notice, and an error (longer, to be read).
    static constexpr int kStatusTimeoutMs = 5000;
    static constexpr int kErrorStatusTimeoutMs = 15000;
    /// A message in the status bar that clears itself after kStatusTimeoutMs (errors after
    /// kErrorStatusTimeoutMs).
    void showStatus(const QString& message, bool error = false);

public Q_SLOTS:
    /// Starts loading a model folder in the background; errors end in a dialog, never a crash.
    void openModel(const QString& path);
    void openModelDialog();
    /// Queues RTN int4 g128, GPTQ int4 g128 and Q4_K runs of the model (the start page's first
    /// start) and shows the Runs page; a refused run (texts) stops there with its message.
    void compareMethods();
    /// Shows a page by name: "overview", "plan", "mixed", "runs", "tensors", "playground" or "generate".
    void showPage(const QString& name);
    /// Applies preferences: compute threads, theme, the cache folder of runs (main() applies the
    /// stored ones; the settings dialog applies and stores its result).
    void applySettings(const AppSettings& settings);
    /// Edit › Preferences (non-modal dialog; OK stores and applies).
    void showSettings();
    void showAbout();
    /// Help › Keyboard Shortcuts (F1): the list is read from the window's actions.
    void showShortcuts();
    void setTeachingMode(bool on);

Q_SIGNALS:
    void modelLoaded();
    void modelLoadFailed(const QString& message);

protected:
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dropEvent(QDropEvent* event) override;

private:
    void createActions();
    void refreshPageActions();
    /// Table rows tall enough for the window's font (teaching mode), or back to their own height.
    void fitTableRows();
    /// Folds a settings group to its title in teaching mode (a tick box in the title opens it).
    void foldSettings(QGroupBox* box, bool fold);
    void refreshPlanStatus();
    /// Export GGUF / Export Hugging Face enabled, or disabled with the reason as their tooltip.
    void refreshExportActions();
    /// What the load job hands back: the model, and its tokenizer's description or why it cannot
    /// be used, with any fallback the tokenizer took (Tokenizer::loadWarning).
    struct OpenedModel
    {
        std::shared_ptr<const Model> model;
        QString tokenizer;
        QString tokenizerWarning;
    };
    void onLoadFinished(const JobOutcome<OpenedModel>& out);
    void setModel(const OpenedModel& opened);
    void addRecent(const QString& path);
    void rebuildRecentMenu();
    QStringList m_recent; ///< the recent models, newest first (kept in QSettings in the background)
    void showError(const QString& title, const QString& message);
    static QString modelFolderFor(const QString& droppedPath);

    std::shared_ptr<const Model> m_model;
    JobHandle m_load;
    QString m_loadingPath;

    QStackedWidget* m_stack = nullptr;
    QLabel* m_welcome = nullptr;
    QTabWidget* m_tabs = nullptr;
    StartPage* m_start = nullptr;
    QTableView* m_tensorView = nullptr;
    TensorTableModel* m_tensorModel = nullptr;
    QSortFilterProxyModel* m_tensorProxy = nullptr;
    QMenu* m_recentMenu = nullptr;
    PlanPage* m_planPage = nullptr;
    PlanDocument* m_plan = nullptr;        ///< the page's document
    PlanTableModel* m_planModel = nullptr; ///< the page's layer table
    MixedPrecisionPanel* m_mixed = nullptr;
    RunsPanel* m_runs = nullptr;
    PlaygroundPanel* m_playground = nullptr;
    GenerationPanel* m_generation = nullptr;
    QProgressBar* m_progress = nullptr;
    QLabel* m_statusLabel = nullptr;
    QLabel* m_planStatus = nullptr;
    MemoryStatus* m_memory = nullptr;
    QList<QAction*> m_pageActions;
    SessionController* m_session = nullptr;
    PlanExporter* m_exporter = nullptr;
    QAction* m_exportGguf = nullptr;
    QAction* m_exportHf = nullptr;
    QAction* m_teaching = nullptr;
    bool m_teachingOn = false;
    bool m_wasMaximized = false;
    AppSettings m_settings;
};

} // namespace qs
