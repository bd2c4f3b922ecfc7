#include "MainWindow.h"

#include "AboutDialog.h"
#include "AppSettings.h"
#include "GenerationPanel.h"
#include "MemoryStatus.h"
#include "MixedPrecisionPanel.h"
#include "PlanDocument.h"
#include "PlanExport.h"
#include "PlanPage.h"
#include "PlanTableModel.h"
#include "PlaygroundPanel.h"
#include "RunsPanel.h"
#include "SessionController.h"
#include "SettingsDialog.h"
#include "ShortcutsDialog.h"
#include "StartPage.h"
#include "TableColumns.h"
#include "TensorTableModel.h"
#include "model/Model.h"
#include "recipe/Recipe.h"
#include "tokenizer/Tokenizer.h"
#include "util/Error.h"
#include "util/Paths.h"

#include <QAction>
#include <QApplication>
#include <QBoxLayout>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QGroupBox>
#include <QHash>
#include <QHeaderView>
#include <QLabel>
#include <QLocale>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QProgressBar>
#include <QSettings>
#include <QSignalBlocker>
#include <QSortFilterProxyModel>
#include <QStackedWidget>
#include <QStatusBar>
#include <QTabWidget>
#include <QTableView>
#include <QUndoStack>

namespace qs {

namespace {
constexpr int kMaxRecent = 10;
const char* const kRecentKey = "recentModels";
} // namespace

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent)
{
    setObjectName(QStringLiteral("mainWindow"));
    setWindowTitle(tr("QuantScope"));
    setWindowIcon(QIcon(QStringLiteral(":/icons/quantscope.svg")));
    setAcceptDrops(true);
    resize(1200, 780);

    m_welcome =
        new QLabel(tr("<h2>QuantScope</h2><p>Open a Hugging Face model folder with <b>File › Open "
                      "Model…</b> (Ctrl+O), pick one from <b>File › Open Recent</b>, or drop a folder "
                      "here.</p>"));
    m_welcome->setObjectName(QStringLiteral("welcomeLabel"));
    m_welcome->setAlignment(Qt::AlignCenter);
    m_welcome->setWordWrap(true);

    m_start = new StartPage;
    connect(m_start, &StartPage::compareRequested, this, &MainWindow::compareMethods);
    connect(m_start, &StartPage::sensitivityRequested, this, [this] {
        showPage(QStringLiteral("mixed"));
        m_mixed->startSweep();
    });
    connect(m_start, &StartPage::playgroundRequested, this,
            [this] { showPage(QStringLiteral("playground")); });
    m_tensorModel = new TensorTableModel(this);
    m_tensorProxy = new QSortFilterProxyModel(this);
    m_tensorProxy->setSourceModel(m_tensorModel);
    m_tensorProxy->setSortRole(Qt::UserRole);
    m_tensorView = new QTableView;
    m_tensorView->setObjectName(QStringLiteral("tensorTable"));
    m_tensorView->setModel(m_tensorProxy);
    m_tensorView->setSortingEnabled(true);
    m_tensorView->sortByColumn(-1, Qt::AscendingOrder);
    m_tensorView->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_tensorView->setAlternatingRowColors(true);
    favourNumberColumns(m_tensorView, TensorTableModel::Name);
    m_tensorView->verticalHeader()->hide();

    m_tabs = new QTabWidget;
    m_tabs->setObjectName(QStringLiteral("workbenchTabs"));
    m_tabs->addTab(m_start, tr("Overview"));
    m_planPage = new PlanPage;
    m_plan = m_planPage->document();
    m_planModel = m_planPage->tableModel();
    connect(m_planPage, &PlanPage::errorOccurred, this, &MainWindow::showError);
    connect(m_planPage, &PlanPage::statusMessage, this,
            [this](const QString& message, int) { showStatus(message); });
    connect(m_planPage, &PlanPage::runRequested, this, [this] { runCurrentPlan(); });
    m_tabs->addTab(m_planPage, tr("Plan"));
    m_mixed = new MixedPrecisionPanel(m_plan);
    connect(m_mixed, &MixedPrecisionPanel::errorOccurred, this, &MainWindow::showError);
    connect(m_mixed, &MixedPrecisionPanel::sweepRecordable, this,
            [this](const SensitivityResult& sweep, const QString& source) {
                m_runs->recordSweep(sweep, source);
            });
    m_tabs->addTab(m_mixed, tr("Mixed precision"));
    m_runs = new RunsPanel;
    // The sweep's per-layer KLD is what the Runs page's layer plots show as KLD contribution.
    connect(m_mixed, &MixedPrecisionPanel::resultsChanged, this,
            [this] { m_runs->setSweep(m_mixed->results()); });
    connect(m_runs, &RunsPanel::errorOccurred, this, &MainWindow::showError);
    // A refused run names the field to set: show it, wherever the run was asked for.
    connect(m_runs, &RunsPanel::runRefused, this, [this] { showPage(QStringLiteral("runs")); });
    connect(m_runs, &RunsPanel::runFinished, this, [this](bool ok, const QString& message) {
        if (ok) {
            m_planModel->setMeasurements(m_runs->lastLayers(), m_runs->lastRunName(), m_runs->lastSpecs());
            m_exporter->setLastRun(m_runs->lastCheckpoint(), m_runs->lastSpecs());
            refreshExportActions();
        }
        showStatus(!ok                 ? message
                   : message.isEmpty() ? tr("Run finished")
                                       : tr("Run finished with warnings: %1").arg(message),
                   !ok);
    });
    connect(m_runs, &RunsPanel::fineTuneEnded, this, [this](bool ok, const QString& message) {
        showStatus(!ok                 ? message
                   : message.isEmpty() ? tr("Fine-tuning finished: the tuned run is in the Runs table")
                                       : tr("Fine-tuning finished with warnings: %1").arg(message),
                   !ok);
    });
    m_tabs->addTab(m_runs, tr("Runs"));
    m_tabs->addTab(m_tensorView, tr("Tensors"));
    m_playground = new PlaygroundPanel;
    m_tabs->addTab(m_playground, tr("Playground"));
    m_generation = new GenerationPanel(m_runs);
    m_tabs->addTab(m_generation, tr("Generate"));

    m_stack = new QStackedWidget;
    m_stack->addWidget(m_welcome);
    m_stack->addWidget(m_tabs);
    setCentralWidget(m_stack);

    m_statusLabel = new QLabel(tr("No model"));
    m_statusLabel->setObjectName(QStringLiteral("statusLabel"));
    m_progress = new QProgressBar;
    m_progress->setObjectName(QStringLiteral("loadProgress"));
    m_progress->setRange(0, 0); // busy indicator: opening reads headers only
    m_progress->setMaximumWidth(160);
    m_progress->hide();
    m_planStatus = new QLabel;
    m_planStatus->setObjectName(QStringLiteral("planStatusLabel"));
    m_memory = new MemoryStatus;
    statusBar()->addWidget(m_statusLabel, 1);
    statusBar()->addPermanentWidget(m_planStatus);
    statusBar()->addPermanentWidget(m_memory);
    statusBar()->addPermanentWidget(m_progress);
    connect(m_plan, &PlanDocument::planChanged, this, &MainWindow::refreshPlanStatus);
    connect(m_plan, &PlanDocument::planChanged, this, [this] {
        if (m_exportGguf)
            refreshExportActions();
    });
    m_exporter = new PlanExporter(m_plan, this);
    connect(m_exporter, &PlanExporter::finished, this, [this](bool ok, const QString& message) {
        showStatus(message, !ok && !m_exporter->lastCancelled());
        if (!ok && !m_exporter->lastCancelled())
            showError(tr("Cannot export"), message);
    });

    createActions();
    m_session = new SessionController(this);
    refreshPageActions(); // after every page exists
}

MainWindow::~MainWindow()
{
    m_load.waitForFinished();
}

void MainWindow::createActions()
{
    QMenu* file = menuBar()->addMenu(tr("&File"));
    QAction* open = file->addAction(tr("&Open Model…"), this, &MainWindow::openModelDialog);
    open->setObjectName(QStringLiteral("actionOpen"));
    open->setShortcut(QKeySequence::Open);
    QAction* openGguf = file->addAction(tr("Open &GGUF File…"), this, [this] {
        const QString path = QFileDialog::getOpenFileName(
            this, tr("Open GGUF File"), m_model ? QFileInfo(m_model->path()).path() : QString(),
            tr("GGUF models (*.gguf);;All files (*)"));
        if (!path.isEmpty())
            openModel(path);
    });
    openGguf->setObjectName(QStringLiteral("actionOpenGguf"));
    m_recentMenu = file->addMenu(tr("Open &Recent"));
    m_recentMenu->setObjectName(QStringLiteral("recentMenu"));
    m_recent = QSettings().value(QLatin1String(kRecentKey)).toStringList();
    rebuildRecentMenu();
    file->addSeparator();
    QAction* quit = file->addAction(tr("&Quit"), qApp, &QApplication::closeAllWindows);
    quit->setShortcut(QKeySequence::Quit);

    QMenu* edit = menuBar()->addMenu(tr("&Edit"));
    QAction* undo = m_plan->undoStack()->createUndoAction(this, tr("&Undo"));
    undo->setObjectName(QStringLiteral("actionUndo"));
    undo->setShortcut(QKeySequence::Undo);
    QAction* redo = m_plan->undoStack()->createRedoAction(this, tr("&Redo"));
    redo->setObjectName(QStringLiteral("actionRedo"));
    redo->setShortcut(QKeySequence::Redo);
    edit->addAction(undo);
    edit->addAction(redo);
    edit->addSeparator();
    QAction* prefs = edit->addAction(tr("&Preferences…"), this, &MainWindow::showSettings);
    prefs->setObjectName(QStringLiteral("actionPreferences"));
    prefs->setMenuRole(QAction::PreferencesRole);
    QList<QKeySequence> prefKeys{QKeySequence(tr("Ctrl+,"))};
    if (const QKeySequence platform(QKeySequence::Preferences);
        !platform.isEmpty() && platform != prefKeys.front())
        prefKeys.prepend(platform); // the platform's own key first, where it has one
    prefs->setShortcuts(prefKeys);

    // Ctrl+1 … Ctrl+9 show the pages in tab order (names follow the tabs, whatever pages exist).
    QMenu* view = menuBar()->addMenu(tr("&View"));
    view->setObjectName(QStringLiteral("viewMenu"));
    for (int i = 0; i < 9; ++i) {
        QAction* page = view->addAction(QString());
        page->setObjectName(QStringLiteral("actionPage%1").arg(i + 1));
        page->setShortcut(QKeySequence(Qt::CTRL | Qt::Key(Qt::Key_1 + i)));
        connect(page, &QAction::triggered, this, [this, i] {
            if (i < m_tabs->count() && m_stack->currentWidget() == m_tabs)
                m_tabs->setCurrentIndex(i);
        });
        m_pageActions << page;
    }
    connect(view, &QMenu::aboutToShow, this, &MainWindow::refreshPageActions);
    refreshPageActions();
    view->addSeparator();
    m_teaching = view->addAction(tr("&Teaching Mode"));
    m_teaching->setObjectName(QStringLiteral("actionTeachingMode"));
    m_teaching->setCheckable(true);
    m_teaching->setShortcut(QKeySequence(Qt::Key_F11));
    m_teaching->setToolTip(tr("Full screen with every page enlarged for a projector (F11)"));
    connect(m_teaching, &QAction::toggled, this, &MainWindow::setTeachingMode);
    view->addAction(m_playground->presentationAction()); // F5: large fonts on the Playground page
    connect(m_playground->presentationAction(), &QAction::toggled, this, [this](bool on) {
        if (on)
            showPage(QStringLiteral("playground"));
    });

    QMenu* planMenu = menuBar()->addMenu(tr("&Plan"));
    QAction* load = planMenu->addAction(tr("&Load Recipe…"), m_planPage, &PlanPage::loadRecipeDialog);
    load->setObjectName(QStringLiteral("actionLoadRecipe"));
    QAction* save = planMenu->addAction(tr("&Save Recipe…"), m_planPage, &PlanPage::saveRecipeDialog);
    save->setObjectName(QStringLiteral("actionSaveRecipe"));
    save->setShortcut(QKeySequence::Save);
    planMenu->addSeparator();
    QAction* runAction = planMenu->addAction(tr("&Run Plan"), this, [this] { runCurrentPlan(); });
    runAction->setObjectName(QStringLiteral("actionRun"));
    runAction->setShortcut(QKeySequence(tr("Ctrl+R")));
    planMenu->addSeparator();
    planMenu->setToolTipsVisible(true); // a disabled export says why
    m_exportGguf = planMenu->addAction(tr("Export &GGUF…"), m_exporter, &PlanExporter::exportGgufDialog);
    m_exportGguf->setObjectName(QStringLiteral("actionExportGguf"));
    m_exportHf = planMenu->addAction(tr("Export &Hugging Face (GPTQ/AWQ)…"), m_exporter,
                                     &PlanExporter::exportHfDialog);
    m_exportHf->setObjectName(QStringLiteral("actionExportHf"));
    QAction* exportRules =
        planMenu->addAction(tr("llama-quantize &Command…"), m_exporter, &PlanExporter::showLlamaCppRules);
    exportRules->setObjectName(QStringLiteral("actionLlamaCppRules"));
    connect(planMenu, &QMenu::aboutToShow, this, &MainWindow::refreshExportActions);
    refreshExportActions();

    QMenu* help = menuBar()->addMenu(tr("&Help"));
    QAction* keys = help->addAction(tr("&Keyboard Shortcuts"), this, &MainWindow::showShortcuts);
    keys->setObjectName(QStringLiteral("actionShortcuts"));
    keys->setShortcut(QKeySequence::HelpContents);
    help->addSeparator();
    QAction* about = help->addAction(tr("&About QuantScope"), this, &MainWindow::showAbout);
    about->setObjectName(QStringLiteral("actionAbout"));
    about->setMenuRole(QAction::AboutRole);
    QAction* aboutQt = help->addAction(tr("About &Qt"), qApp, &QApplication::aboutQt);
    aboutQt->setObjectName(QStringLiteral("actionAboutQt"));
    aboutQt->setMenuRole(QAction::AboutQtRole);
}

void MainWindow::refreshPageActions()
{
    for (int i = 0; i < int(m_pageActions.size()); ++i) {
        QAction* a = m_pageActions[i];
        const bool exists = i < m_tabs->count();
        a->setText(exists ? m_tabs->tabText(i) : QString());
        a->setVisible(exists); // a hidden action's shortcut does nothing
    }
}

void MainWindow::showStatus(const QString& message, bool error)
{
    statusBar()->showMessage(message, error ? kErrorStatusTimeoutMs : kStatusTimeoutMs);
}

void MainWindow::setTeachingMode(bool on)
{
    if (on == m_teachingOn)
        return;
    m_teachingOn = on;
    {
        const QSignalBlocker block(m_teaching);
        m_teaching->setChecked(on);
    }
    // One font for the whole window: pages, menus, status bar and plots (PlotWidget scales its
    // lines and markers by its font) follow it; QFont() returns to the application's font.
    QFont f = QApplication::font();
    f.setPointSizeF(f.pointSizeF() * kTeachingScale);
    setFont(on ? f : QFont());
    fitTableRows();
    // The run and sweep settings fold to their title (tick it to open them): the results they
    // lead to get a projector's 768 rows.
    for (const char* name : {"runSettings", "sweepSettings"})
        if (auto* box = findChild<QGroupBox*>(QLatin1String(name)))
            foldSettings(box, on);
    m_playground->setPresentationMode(on);
    if (on) {
        m_wasMaximized = isMaximized();
        showFullScreen();
    } else if (m_wasMaximized) {
        showMaximized();
    } else {
        showNormal();
    }
}

void MainWindow::foldSettings(QGroupBox* box, bool fold)
{
    const char* const wasShown = "qsShownBeforeFold";
    if (fold && !box->isCheckable()) {
        box->setCheckable(true);
        box->setChecked(true);
        connect(box, &QGroupBox::toggled, box, [box, wasShown](bool open) {
            for (QWidget* child : box->findChildren<QWidget*>(Qt::FindDirectChildrenOnly)) {
                if (!open)
                    child->setProperty(wasShown, child->isVisibleTo(box));
                child->setVisible(open ? child->property(wasShown).toBool() : false);
            }
        });
    }
    if (!box->isCheckable())
        return;
    box->setChecked(!fold);
    if (!fold)
        box->setCheckable(false);
}

void MainWindow::fitTableRows()
{
    const char* const ownHeight = "qsRowHeight";
    for (QTableView* view : findChildren<QTableView*>()) {
        QHeaderView* rows = view->verticalHeader();
        if (!rows->property(ownHeight).isValid())
            rows->setProperty(ownHeight, rows->defaultSectionSize());
        const int own = rows->property(ownHeight).toInt();
        rows->setDefaultSectionSize(m_teachingOn ? std::max(own, view->fontMetrics().height() + 8) : own);
    }
}

void MainWindow::refreshExportActions()
{
    // Enabled, or disabled with the reason as its tooltip and status tip (before any file dialog).
    const auto offer = [](QAction* a, const QString& problem, const QString& what) {
        a->setEnabled(problem.isEmpty());
        a->setToolTip(problem.isEmpty() ? what : problem);
        a->setStatusTip(problem.isEmpty() ? what : problem);
    };
    offer(m_exportGguf, m_exporter->ggufProblem(),
          tr("Write the plan as a GGUF file llama.cpp runs (gguf and float layers)"));
    QString format;
    const QString hf = m_exporter->hfProblem(&format);
    offer(m_exportHf, hf,
          tr("Write the last run of the plan as a Hugging Face %1 checkpoint").arg(format.toUpper()));
}

void MainWindow::refreshPlanStatus()
{
    m_planStatus->setText(
        m_model && !m_plan->plan().entries.empty()
            ? tr("Plan: %1 bpw").arg(QLocale().toString(m_plan->linearBitsPerWeight(), 'f', 2))
            : QString());
}

void MainWindow::applySettings(const AppSettings& settings)
{
    m_settings = settings;
    settings.apply();
    m_runs->setCacheDirectory(settings.effectiveCacheDirectory());
    // Texts that still show the old folder's defaults follow the new one.
    m_runs->setDataDirectory(settings.effectiveDataDirectory());
    m_mixed->setDataDirectory(settings.effectiveDataDirectory());
}

void MainWindow::showSettings()
{
    if (auto* open = findChild<SettingsDialog*>(); open && open->isVisible()) {
        open->raise();
        open->activateWindow();
        return;
    }
    auto* dialog = new SettingsDialog(AppSettings::load(), this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &QDialog::accepted, this, [this, dialog] {
        const AppSettings s = dialog->settings();
        const AppSettings before = AppSettings::load();
        s.save();
        applySettings(s);
        if (s.language != before.language) {
            auto* box = new QMessageBox(QMessageBox::Information, tr("Preferences"),
                                        tr("The language changes when QuantScope starts again."),
                                        QMessageBox::Ok, this);
            box->setObjectName(QStringLiteral("restartMessage"));
            box->setAttribute(Qt::WA_DeleteOnClose);
            box->open();
        }
        showStatus(tr("Preferences saved"));
    });
    dialog->open();
}

void MainWindow::showAbout()
{
    const QList<QPair<QString, QString>> paths{
        {tr("Data folder"), m_settings.effectiveDataDirectory()},
        {tr("Cache folder"), m_settings.effectiveCacheDirectory()},
        {tr("Session file"), m_session->file()},
        {tr("Runs kept in"), m_runs->storeFolder().isEmpty() ? tr("memory only") : m_runs->storeFolder()},
        {tr("Settings"), QSettings().fileName()},
    };
    auto* dialog = new AboutDialog(paths, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->open();
}

void MainWindow::showShortcuts()
{
    refreshPageActions();
    auto* dialog = new ShortcutsDialog(this, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->open();
}

void MainWindow::showPage(const QString& name)
{
    // By the page widget's object name, so the names stay right whatever the tab order.
    static const QHash<QString, QString> pages{
        {QStringLiteral("overview"), QStringLiteral("startPage")},
        {QStringLiteral("plan"), QStringLiteral("planPage")},
        {QStringLiteral("mixed"), QStringLiteral("mixedPrecisionPanel")},
        {QStringLiteral("runs"), QStringLiteral("runsPanel")},
        {QStringLiteral("tensors"), QStringLiteral("tensorTable")},
        {QStringLiteral("playground"), QStringLiteral("playgroundPanel")},
        {QStringLiteral("generate"), QStringLiteral("generationPanel")}};
    const QString objectName = pages.value(name.toLower());
    for (int i = 0; i < m_tabs->count() && !objectName.isEmpty(); ++i)
        if (m_tabs->widget(i)->objectName() == objectName)
            m_tabs->setCurrentIndex(i);
}

bool MainWindow::isLoading() const
{
    return m_load.isRunning();
}

void MainWindow::openModelDialog()
{
    const QString dir = QFileDialog::getExistingDirectory(
        this, tr("Open Model Folder"), m_model ? QFileInfo(m_model->path()).path() : QString());
    if (!dir.isEmpty())
        openModel(dir);
}

void MainWindow::openModel(const QString& path)
{
    if (isLoading())
        return; // one load at a time; the busy indicator shows it
    m_loadingPath = path;
    m_progress->show();
    m_statusLabel->setText(tr("Loading %1…").arg(path));
    m_load = runJob<OpenedModel>(
        this,
        [path](OpenedModel& opened, const JobContext&) {
            opened.model = Model::open(path);
            // The tokenizer is read now, not at the first run, so a damaged or substituted one is
            // on the start page and in the status bar before any job depends on it.
            try {
                const auto tokenizer = Tokenizer::load(path);
                opened.tokenizer = QStringLiteral("%1 (%2)").arg(tokenizer->description(), tokenizer->path());
                opened.tokenizerWarning = tokenizer->loadWarning();
            } catch (const Error& e) {
                opened.tokenizerWarning = e.message();
            }
        },
        [this](const JobOutcome<OpenedModel>& out) { onLoadFinished(out); });
}

void MainWindow::onLoadFinished(const JobOutcome<OpenedModel>& out)
{
    m_progress->hide();
    if (!out.value.model) {
        m_statusLabel->setText(m_model ? tr("Model: %1").arg(m_model->displayName()) : tr("No model"));
        showError(tr("Cannot open model"), out.error);
        Q_EMIT modelLoadFailed(out.error);
        return;
    }
    addRecent(out.value.model->path());
    setModel(out.value);
    Q_EMIT modelLoaded();
}

int MainWindow::runCurrentPlan()
{
    if (!m_model)
        return -1;
    static int counter = 0;
    QString name = m_planPage->runName();
    // Kept runs come back after a restart: a new default name must not repeat one of theirs.
    auto taken = [this](const QString& n) {
        const auto& runs = m_runs->runs();
        return std::any_of(runs.begin(), runs.end(), [&n](const RunSummary& r) { return r.name == n; });
    };
    while (name.isEmpty() || (m_planPage->runName().isEmpty() && taken(name)))
        name = tr("run %1").arg(++counter);
    const int id = m_runs->startRun(name, m_plan->recipe(), m_plan->plan());
    if (id >= 0)
        showStatus(tr("%1 queued (Runs page)").arg(name));
    return id;
}

void MainWindow::compareMethods()
{
    if (!m_model)
        return;
    // One 4-bit run per family: plain rounding, error-compensating GPTQ, llama.cpp's k-quant.
    QuantSpec rtn;
    rtn.method = QuantMethod::Rtn;
    rtn.bits = 4;
    rtn.groupSize = 128;
    QuantSpec gptq = rtn;
    gptq.method = QuantMethod::Gptq;
    const std::vector<std::pair<QString, QuantSpec>> runs{{tr("RTN int4 g128"), rtn},
                                                          {tr("GPTQ int4 g128"), gptq},
                                                          {tr("Q4_K"), QuantSpec::ggml(GgmlType::Q4_K)}};
    showPage(QStringLiteral("runs"));
    for (const auto& [name, spec] : runs) {
        Recipe recipe;
        recipe.name = name;
        recipe.defaults = spec;
        LayerPlan plan;
        try {
            plan = recipe.resolve(*m_model);
        } catch (const Error& e) {
            showError(tr("Cannot compare the methods"), e.message());
            return;
        }
        if (m_runs->startRun(name, recipe, plan) < 0)
            return; // refused: the Runs page says what to set
    }
    showStatus(tr("Three runs queued: RTN, GPTQ and Q4_K"));
}

void MainWindow::setModel(const OpenedModel& opened)
{
    m_model = opened.model;
    m_exporter->setLastRun({}, {}); // another model's run is not this plan's
    m_tensorModel->setModel(m_model);
    m_planPage->setModel(m_model);
    m_mixed->setModel(m_model);
    m_runs->setModel(m_model);
    m_planModel->setMeasurements({}); // another model's errors say nothing about this one
    m_playground->setModel(m_model);
    m_generation->setModel(m_model);
    m_start->setModel(m_model, opened.tokenizer, opened.tokenizerWarning);
    m_stack->setCurrentWidget(m_tabs);
    setWindowTitle(tr("%1 — QuantScope").arg(m_model->displayName()));
    refreshPlanStatus();
    const ModelTotals& t = m_model->totals();
    const QLocale loc;
    QString status = tr("Model: %1 · %2 parameters · %3")
                         .arg(m_model->displayName(), loc.toString(t.params), formatBytes(double(t.bytes)));
    if (!opened.tokenizerWarning.isEmpty())
        status += u" · ⚠ " + tr("tokenizer: see the Overview");
    m_statusLabel->setText(status);
    m_statusLabel->setToolTip(opened.tokenizerWarning);
}

void MainWindow::showError(const QString& title, const QString& message)
{
    // Non-modal: the window stays usable and tests are never blocked by a nested event loop.
    auto* box = new QMessageBox(QMessageBox::Warning, title, message, QMessageBox::Ok, this);
    box->setObjectName(QStringLiteral("errorDialog"));
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->open();
}

void MainWindow::addRecent(const QString& path)
{
    // The list kept here, not re-read: a write still queued would be lost.
    m_recent.removeAll(path);
    m_recent.prepend(path);
    while (m_recent.size() > kMaxRecent)
        m_recent.removeLast();
    writeSettingInBackground(QLatin1String(kRecentKey), m_recent);
    rebuildRecentMenu();
}

void MainWindow::rebuildRecentMenu()
{
    m_recentMenu->clear();
    for (const QString& path : m_recent) {
        QAction* a = m_recentMenu->addAction(path);
        connect(a, &QAction::triggered, this, [this, path] { openModel(path); });
    }
    m_recentMenu->setEnabled(!m_recent.isEmpty());
}

QString MainWindow::modelFolderFor(const QString& droppedPath)
{
    const QFileInfo fi(droppedPath);
    if (fi.isFile() && fi.suffix().compare(u"gguf", Qt::CaseInsensitive) == 0)
        return fi.absoluteFilePath();                               // a GGUF file is a model by itself
    return fi.isFile() ? fi.absolutePath() : fi.absoluteFilePath(); // a dropped config.json / safetensors
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event)
{
    if (event->mimeData()->hasUrls() && !event->mimeData()->urls().isEmpty() &&
        event->mimeData()->urls().front().isLocalFile())
        event->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent* event)
{
    const QList<QUrl> urls = event->mimeData()->urls();
    if (urls.isEmpty() || !urls.front().isLocalFile())
        return;
    event->acceptProposedAction();
    openModel(modelFolderFor(urls.front().toLocalFile()));
}

} // namespace qs
