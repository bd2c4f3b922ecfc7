#include "MainWindow.h"

#include "AboutDialog.h"
#include "GenerationPanel.h"
#include "MemoryStatus.h"
#include "MixedPrecisionPanel.h"
#include "PlanDocument.h"
#include "PlanExport.h"
#include "PlanItemDelegate.h"
#include "PlanTableModel.h"
#include "PlaygroundPanel.h"
#include "RunsPanel.h"
#include "SessionController.h"
#include "SettingsDialog.h"
#include "ShortcutsDialog.h"
#include "TensorTableModel.h"
#include "model/Model.h"
#include "model/ModelSummary.h"
#include "quant/QuantizeJob.h"
#include "recipe/RecipeExport.h"
#include "util/Error.h"
#include "util/Paths.h"

#include <QAction>
#include <QApplication>
#include <QBoxLayout>
#include <QComboBox>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHash>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QJsonDocument>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QProgressBar>
#include <QPushButton>
#include <QRegularExpression>
#include <QSettings>
#include <QSortFilterProxyModel>
#include <QSplitter>
#include <QStackedWidget>
#include <QStatusBar>
#include <QTabWidget>
#include <QTableView>
#include <QTableWidget>
#include <QTextBrowser>
#include <QUndoStack>
#include <QtConcurrent/QtConcurrentRun>

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

    m_overview = new QTextBrowser;
    m_overview->setObjectName(QStringLiteral("overviewText"));
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
    m_tensorView->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_tensorView->horizontalHeader()->setStretchLastSection(true);
    m_tensorView->verticalHeader()->hide();

    m_tabs = new QTabWidget;
    m_tabs->setObjectName(QStringLiteral("workbenchTabs"));
    m_tabs->addTab(m_overview, tr("Overview"));
    m_tabs->addTab(createPlanTab(), tr("Plan"));
    m_mixed = new MixedPrecisionPanel(m_plan);
    connect(m_mixed, &MixedPrecisionPanel::errorOccurred, this, &MainWindow::showError);
    m_tabs->addTab(m_mixed, tr("Mixed precision"));
    m_runs = new RunsPanel;
    connect(m_runs, &RunsPanel::errorOccurred, this, &MainWindow::showError);
    connect(m_runs, &RunsPanel::runFinished, this, [this](bool ok, const QString& message) {
        if (ok)
            m_planModel->setMeasurements(m_runs->lastLayers());
        statusBar()->showMessage(ok ? tr("Run finished") : message, 5000);
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
    m_exporter = new PlanExporter(m_plan, this);
    connect(m_exporter, &PlanExporter::finished, this, [this](bool ok, const QString& message) {
        m_statusLabel->setText(message);
        if (!ok && !m_exporter->lastCancelled())
            showError(tr("Cannot export"), message);
    });

    createActions();
    m_session = new SessionController(this);
    refreshPageActions(); // after every page exists
    connect(&m_loadWatcher, &QFutureWatcher<LoadResult>::finished, this, &MainWindow::onLoadFinished);
}

MainWindow::~MainWindow()
{
    m_loadWatcher.waitForFinished();
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
    view->addAction(m_playground->presentationAction()); // F5: large fonts on the Playground page
    connect(m_playground->presentationAction(), &QAction::toggled, this, [this](bool on) {
        if (on)
            showPage(QStringLiteral("playground"));
    });

    QMenu* planMenu = menuBar()->addMenu(tr("&Plan"));
    QAction* load = planMenu->addAction(tr("&Load Recipe…"), this, &MainWindow::loadRecipeDialog);
    load->setObjectName(QStringLiteral("actionLoadRecipe"));
    QAction* save = planMenu->addAction(tr("&Save Recipe…"), this, &MainWindow::saveRecipeDialog);
    save->setObjectName(QStringLiteral("actionSaveRecipe"));
    save->setShortcut(QKeySequence::Save);
    planMenu->addSeparator();
    QAction* runAction = planMenu->addAction(tr("&Run Plan"), this, [this] { runCurrentPlan(); });
    runAction->setObjectName(QStringLiteral("actionRun"));
    runAction->setShortcut(QKeySequence(tr("Ctrl+R")));
    planMenu->addSeparator();
    QAction* exportGguf =
        planMenu->addAction(tr("Export &GGUF…"), m_exporter, &PlanExporter::exportGgufDialog);
    exportGguf->setObjectName(QStringLiteral("actionExportGguf"));
    QAction* exportRules =
        planMenu->addAction(tr("Show llama-quantize R&ules…"), m_exporter, &PlanExporter::showLlamaCppRules);
    exportRules->setObjectName(QStringLiteral("actionLlamaCppRules"));

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

void MainWindow::refreshPlanStatus()
{
    m_planStatus->setText(m_model && !m_plan->plan().entries.empty()
                              ? tr("Plan: %1 bpw").arg(m_plan->linearBitsPerWeight(), 0, 'f', 2)
                              : QString());
}

void MainWindow::applySettings(const AppSettings& settings)
{
    m_settings = settings;
    settings.apply();
    m_runs->setCacheDirectory(settings.effectiveCacheDirectory());
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
        if (s.language != before.language || s.dataDirectory != before.dataDirectory) {
            auto* box = new QMessageBox(QMessageBox::Information, tr("Preferences"),
                                        tr("The language and the data folder change when QuantScope "
                                           "starts again."),
                                        QMessageBox::Ok, this);
            box->setObjectName(QStringLiteral("restartMessage"));
            box->setAttribute(Qt::WA_DeleteOnClose);
            box->open();
        }
        statusBar()->showMessage(tr("Preferences saved"), 3000);
    });
    dialog->open();
}

void MainWindow::showAbout()
{
    const QList<QPair<QString, QString>> paths{
        {tr("Data folder"), m_settings.effectiveDataDirectory()},
        {tr("Cache folder"), m_settings.effectiveCacheDirectory()},
        {tr("Session file"), m_session->file()},
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
        {QStringLiteral("overview"), QStringLiteral("overviewText")},
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
    return m_loadWatcher.isRunning();
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
    m_loadWatcher.setFuture(QtConcurrent::run([path]() -> LoadResult {
        try {
            return {Model::open(path), {}};
        } catch (const Error& e) {
            return {nullptr, e.message()};
        } catch (const std::exception& e) {
            return {nullptr, QString::fromLocal8Bit(e.what())};
        }
    }));
}

void MainWindow::onLoadFinished()
{
    m_progress->hide();
    const LoadResult r = m_loadWatcher.result();
    if (!r.model) {
        m_statusLabel->setText(m_model ? tr("Model: %1").arg(m_model->displayName()) : tr("No model"));
        showError(tr("Cannot open model"), r.error);
        Q_EMIT modelLoadFailed(r.error);
        return;
    }
    addRecent(r.model->path());
    setModel(r.model);
    Q_EMIT modelLoaded();
}

QWidget* MainWindow::createPlanTab()
{
    m_plan = new PlanDocument(this);
    m_planModel = new PlanTableModel(m_plan, this);
    m_planProxy = new QSortFilterProxyModel(this);
    m_planProxy->setSourceModel(m_planModel);
    m_planProxy->setSortRole(PlanTableModel::SortRole);
    m_planView = new QTableView;
    m_planView->setObjectName(QStringLiteral("planTable"));
    m_planView->setModel(m_planProxy);
    m_planView->setItemDelegate(new PlanItemDelegate(m_planView));
    m_planView->setSortingEnabled(true);
    m_planView->sortByColumn(-1, Qt::AscendingOrder);
    m_planView->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_planView->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_planView->setEditTriggers(QAbstractItemView::DoubleClicked | QAbstractItemView::SelectedClicked |
                                QAbstractItemView::EditKeyPressed);
    m_planView->setAlternatingRowColors(true);
    m_planView->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_planView->verticalHeader()->hide();
    connect(m_planView->selectionModel(), &QItemSelectionModel::selectionChanged, this, [this] {
        std::vector<int> rows;
        for (const QModelIndex& i : m_planView->selectionModel()->selectedRows())
            rows.push_back(m_planProxy->mapToSource(i).row());
        m_planModel->setEditRows(rows);
    });
    connect(m_planModel, &PlanTableModel::editFailed, this,
            [this](const QString& message) { showError(tr("Cannot change the plan"), message); });

    m_planTotals = new QLabel;
    m_planTotals->setObjectName(QStringLiteral("planTotals"));
    m_planTotals->setTextFormat(Qt::RichText);
    m_planWarnings = new QLabel;
    m_planWarnings->setObjectName(QStringLiteral("planWarnings"));
    m_planWarnings->setWordWrap(true);
    m_planWarnings->setStyleSheet(QStringLiteral("color: #a05000"));

    m_presets = new QComboBox;
    m_presets->setObjectName(QStringLiteral("presetCombo"));
    auto* applyPreset = new QPushButton(tr("Apply preset"));
    applyPreset->setObjectName(QStringLiteral("applyPreset"));
    connect(applyPreset, &QPushButton::clicked, this, [this] {
        if (!m_model || m_presets->currentIndex() < 0)
            return;
        const std::vector<RecipePreset> presets = recipePresets(*m_model);
        const RecipePreset& p = presets[std::size_t(m_presets->currentIndex())];
        Recipe r = p.recipe;
        r.calibration = m_plan->recipe().calibration; // keep the chosen calibration text
        try {
            m_plan->replaceRecipe(r, tr("Preset: %1").arg(QCoreApplication::translate("Presets", p.name)));
        } catch (const Error& e) {
            showError(tr("Cannot apply the preset"), e.message());
        }
    });
    auto* loadRecipe = new QPushButton(tr("Load recipe…"));
    connect(loadRecipe, &QPushButton::clicked, this, &MainWindow::loadRecipeDialog);
    auto* saveRecipe = new QPushButton(tr("Save recipe…"));
    connect(saveRecipe, &QPushButton::clicked, this, &MainWindow::saveRecipeDialog);
    auto* top = new QHBoxLayout;
    top->addWidget(new QLabel(tr("Preset:")));
    top->addWidget(m_presets, 1);
    top->addWidget(applyPreset);
    top->addSpacing(20);
    top->addWidget(loadRecipe);
    top->addWidget(saveRecipe);
    top->addSpacing(20);
    m_runName = new QLineEdit;
    m_runName->setObjectName(QStringLiteral("runName"));
    m_runName->setPlaceholderText(tr("run name"));
    m_runName->setMaximumWidth(160);
    auto* run = new QPushButton(tr("Run"));
    run->setObjectName(QStringLiteral("runPlan"));
    run->setToolTip(tr("Quantize the model with this plan and evaluate it (a job: see the Runs page)"));
    connect(run, &QPushButton::clicked, this, [this] { runCurrentPlan(); });
    top->addWidget(m_runName);
    top->addWidget(run);

    // Rule editor: a regex (live highlight of the layers it matches) and the fields it sets.
    m_ruleMatch = new QLineEdit;
    m_ruleMatch->setObjectName(QStringLiteral("ruleMatch"));
    m_ruleMatch->setPlaceholderText(tr("regex on layer names, e.g. mlp\\.down_proj$ or layers\\.(0|1)\\."));
    m_ruleMatchCount = new QLabel;
    m_ruleMatchCount->setObjectName(QStringLiteral("ruleMatchCount"));
    connect(m_ruleMatch, &QLineEdit::textChanged, this, [this](const QString& text) {
        const QRegularExpression re(text);
        m_planModel->setHighlight(re.isValid() ? text : QString());
        m_ruleMatchCount->setText(text.isEmpty() ? QString()
                                  : !re.isValid()
                                      ? tr("invalid: %1").arg(re.errorString())
                                      : tr("%n layer(s) match", nullptr, m_planModel->highlightedCount()));
    });
    m_ruleMethod = new QComboBox;
    m_ruleMethod->setObjectName(QStringLiteral("ruleMethod"));
    m_ruleMethod->addItem(tr("(keep)"));
    m_ruleMethod->addItems(quantMethodNames(false));
    m_ruleBits = new QComboBox;
    m_ruleBits->setObjectName(QStringLiteral("ruleBits"));
    m_ruleBits->addItem(tr("(keep)"));
    for (int b = quantBitRange().first; b <= quantBitRange().second; ++b)
        m_ruleBits->addItem(QString::number(b));
    m_ruleGroup = new QComboBox;
    m_ruleGroup->setObjectName(QStringLiteral("ruleGroup"));
    m_ruleGroup->addItem(tr("(keep)"));
    m_ruleGroup->addItems(quantGroupChoices(QuantMethod::Rtn));
    m_ruleSym = new QComboBox;
    m_ruleSym->setObjectName(QStringLiteral("ruleSym"));
    m_ruleSym->addItems({tr("(keep)"), tr("symmetric"), tr("asymmetric")});
    auto* addRule = new QPushButton(tr("Add rule"));
    addRule->setObjectName(QStringLiteral("addRule"));
    connect(addRule, &QPushButton::clicked, this, &MainWindow::addRuleFromEditor);
    connect(m_ruleMatch, &QLineEdit::returnPressed, this, &MainWindow::addRuleFromEditor);
    auto* ruleRow = new QHBoxLayout;
    ruleRow->addWidget(m_ruleMatch, 2);
    ruleRow->addWidget(m_ruleMatchCount);
    ruleRow->addWidget(m_ruleMethod);
    ruleRow->addWidget(m_ruleBits);
    ruleRow->addWidget(m_ruleGroup);
    ruleRow->addWidget(m_ruleSym);
    ruleRow->addWidget(addRule);

    m_rules = new QTableWidget(0, 2);
    m_rules->setObjectName(QStringLiteral("rulesTable"));
    m_rules->setHorizontalHeaderLabels({tr("Match (last match wins)"), tr("Sets")});
    m_rules->horizontalHeader()->setStretchLastSection(true);
    m_rules->horizontalHeader()->setSectionResizeMode(0, QHeaderView::ResizeToContents);
    m_rules->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_rules->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_rules->verticalHeader()->hide();
    connect(m_rules, &QTableWidget::currentCellChanged, this, [this](int row) {
        if (row >= 0 && row < int(m_plan->recipe().rules.size()))
            m_planModel->setHighlight(m_plan->recipe().rules[std::size_t(row)].match);
    });
    auto* removeRule = new QPushButton(tr("Remove rule"));
    removeRule->setObjectName(QStringLiteral("removeRule"));
    connect(removeRule, &QPushButton::clicked, this, [this] {
        try {
            m_plan->removeRule(m_rules->currentRow());
        } catch (const Error& e) {
            showError(tr("Cannot remove the rule"), e.message());
        }
    });
    auto* rulesBox = new QGroupBox(tr("Rules"));
    auto* rulesLayout = new QVBoxLayout(rulesBox);
    rulesLayout->addLayout(ruleRow);
    rulesLayout->addWidget(m_rules);
    rulesLayout->addWidget(removeRule, 0, Qt::AlignLeft);

    auto* split = new QSplitter(Qt::Vertical);
    split->addWidget(m_planView);
    split->addWidget(rulesBox);
    split->setStretchFactor(0, 3);
    split->setStretchFactor(1, 1);

    auto* page = new QWidget;
    page->setObjectName(QStringLiteral("planPage"));
    auto* layout = new QVBoxLayout(page);
    layout->addWidget(m_planTotals);
    layout->addLayout(top);
    layout->addWidget(m_planWarnings);
    layout->addWidget(split, 1);
    connect(m_plan, &PlanDocument::planChanged, this, [this] {
        refreshPlanHeader();
        refreshRules();
    });
    return page;
}

int MainWindow::runCurrentPlan()
{
    if (!m_model)
        return -1;
    static int counter = 0;
    const QString name = m_runName->text().isEmpty() ? tr("run %1").arg(++counter) : m_runName->text();
    const int id = m_runs->startRun(name, m_plan->recipe(), m_plan->plan());
    if (id >= 0)
        statusBar()->showMessage(tr("%1 queued (Runs page)").arg(name), 3000);
    return id;
}

void MainWindow::addRuleFromEditor()
{
    const QString match = m_ruleMatch->text();
    if (match.isEmpty() || !m_model)
        return;
    QJsonObject o;
    if (m_ruleMethod->currentIndex() > 0)
        o.insert(QStringLiteral("method"), m_ruleMethod->currentText());
    if (m_ruleBits->currentIndex() > 0)
        o.insert(QStringLiteral("bits"), m_ruleBits->currentText().toInt());
    if (m_ruleGroup->currentIndex() > 0) {
        const QString g = m_ruleGroup->currentText();
        if (g == u"channel" || g == u"tensor") {
            o.insert(QStringLiteral("granularity"), g);
        } else {
            o.insert(QStringLiteral("granularity"), QStringLiteral("group"));
            o.insert(QStringLiteral("group_size"), g.toInt());
        }
    }
    if (m_ruleSym->currentIndex() > 0)
        o.insert(QStringLiteral("symmetric"), m_ruleSym->currentIndex() == 1);
    if (o.isEmpty()) {
        showError(tr("Cannot add the rule"),
                  tr("Choose at least one field the rule sets (method, bits, group or symmetry)."));
        return;
    }
    try {
        m_plan->addRule({match, o});
    } catch (const Error& e) {
        showError(tr("Cannot add the rule"), e.message());
    }
}

void MainWindow::refreshRules()
{
    const Recipe& r = m_plan->recipe();
    m_rules->setRowCount(int(r.rules.size()));
    for (int i = 0; i < int(r.rules.size()); ++i) {
        const RecipeRule& rule = r.rules[std::size_t(i)];
        m_rules->setItem(i, 0, new QTableWidgetItem(rule.match));
        m_rules->setItem(i, 1,
                         new QTableWidgetItem(QString::fromUtf8(
                             QJsonDocument(rule.overrides).toJson(QJsonDocument::Compact))));
    }
}

void MainWindow::refreshPlanHeader()
{
    if (!m_model) {
        m_planTotals->clear();
        return;
    }
    const double before = double(m_plan->floatBytes()), after = double(m_plan->plannedBytes());
    const MemoryEstimate mem =
        estimateQuantizationMemory(*m_model, m_plan->plan(), m_plan->recipe().calibration);
    m_planTotals->setText(
        tr("<b>%1</b> → <b>%2</b> (%3 % of the original) · linear layers at <b>%4</b> bits per weight · "
           "whole model %5 bpw · estimated memory to quantize: %6")
            .arg(formatBytes(before), formatBytes(after))
            .arg(before > 0 ? 100.0 * after / before : 0, 0, 'f', 1)
            .arg(m_plan->linearBitsPerWeight(), 0, 'f', 3)
            .arg(before > 0 ? 8.0 * after / double(m_model->totals().params) : 0, 0, 'f', 3)
            .arg(formatBytes(mem.total())));
    m_planWarnings->setText(m_plan->warnings().isEmpty()
                                ? QString()
                                : tr("Rules that match no layer of this model: %1")
                                      .arg(m_plan->warnings().join(QStringLiteral("; "))));
    m_planWarnings->setVisible(!m_plan->warnings().isEmpty());
}

void MainWindow::loadRecipeDialog()
{
    if (!m_model)
        return;
    const QString path =
        QFileDialog::getOpenFileName(this, tr("Load Recipe"), QString(), tr("Recipes (*.json)"));
    if (path.isEmpty())
        return;
    try {
        m_plan->loadRecipe(path);
    } catch (const Error& e) {
        showError(tr("Cannot load the recipe"), e.message());
    }
}

void MainWindow::saveRecipeDialog()
{
    if (!m_model)
        return;
    const QString path =
        QFileDialog::getSaveFileName(this, tr("Save Recipe"), QString(), tr("Recipes (*.json)"));
    if (path.isEmpty())
        return;
    try {
        m_plan->saveRecipe(path);
        statusBar()->showMessage(tr("Recipe saved to %1").arg(path), 5000);
    } catch (const Error& e) {
        showError(tr("Cannot save the recipe"), e.message());
    }
}

void MainWindow::setModel(std::shared_ptr<const Model> model)
{
    m_model = std::move(model);
    m_tensorModel->setModel(m_model);
    m_presets->clear();
    for (const RecipePreset& p : recipePresets(*m_model))
        m_presets->addItem(QCoreApplication::translate("Presets", p.name));
    // A quantized checkpoint (a GGUF file, a run, a GPTQ/AWQ folder) starts from what it stores,
    // so the layer table shows each layer's type; a float model from the default plan.
    Recipe start = recipeForStoredModel(*m_model, QStringLiteral("plan"));
    m_plan->setModel(m_model, start);
    m_mixed->setModel(m_model);
    m_runs->setModel(m_model);
    m_playground->setModel(m_model);
    m_generation->setModel(m_model);
    const ModelTotals& t = m_model->totals();
    const QLocale loc;
    QString html = QStringLiteral("<h2>%1</h2><p>%2</p>")
                       .arg(m_model->displayName().toHtmlEscaped(), m_model->path().toHtmlEscaped());
    html += QStringLiteral("<p><b>%1</b></p>").arg(architectureLine(*m_model).toHtmlEscaped());
    html += QStringLiteral("<table cellspacing=6>");
    auto row = [&](const QString& k, const QString& v) {
        html += QStringLiteral("<tr><td><b>%1</b></td><td>%2</td></tr>").arg(k, v.toHtmlEscaped());
    };
    row(tr("Blocks"), QString::number(m_model->blocks().size()));
    row(tr("Linear layers"), QString::number(t.linearLayers));
    row(tr("Parameters"), loc.toString(t.params));
    row(tr("Embedding / attention / MLP"),
        QStringLiteral("%1 / %2 / %3")
            .arg(loc.toString(t.embeddingParams), loc.toString(t.attentionParams),
                 loc.toString(t.mlpParams)));
    row(tr("Head"), m_model->headTied() ? tr("tied to the embeddings") : loc.toString(t.headParams));
    row(tr("Size"), formatBytes(double(t.bytes)));
    row(tr("Bits per weight"), QString::number(t.bitsPerWeight(), 'f', 2));
    row(tr("Weight type"), m_model->weightDtypeName());
    row(tr("Files"), QString::number(m_model->tensors().files().size()));
    row(tr("Tokenizer"),
        QStringList{m_model->tokenizerJsonPath().isEmpty() ? QString() : QStringLiteral("tokenizer.json"),
                    m_model->sentencePiecePath().isEmpty() ? QString() : QStringLiteral("tokenizer.model")}
            .filter(QRegularExpression(QStringLiteral(".+")))
            .join(u", "));
    if (!m_model->unusedTensors().isEmpty())
        row(tr("Unused tensors"), m_model->unusedTensors().join(u", "));
    html += QStringLiteral("</table>");
    m_overview->setHtml(html);
    m_stack->setCurrentWidget(m_tabs);
    setWindowTitle(tr("%1 — QuantScope").arg(m_model->displayName()));
    refreshPlanStatus();
    m_statusLabel->setText(
        tr("Model: %1 · %2 parameters · %3")
            .arg(m_model->displayName(), loc.toString(t.params), formatBytes(double(t.bytes))));
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
    QSettings s;
    QStringList recent = s.value(QLatin1String(kRecentKey)).toStringList();
    recent.removeAll(path);
    recent.prepend(path);
    while (recent.size() > kMaxRecent)
        recent.removeLast();
    s.setValue(QLatin1String(kRecentKey), recent);
    rebuildRecentMenu();
}

void MainWindow::rebuildRecentMenu()
{
    m_recentMenu->clear();
    const QStringList recent = QSettings().value(QLatin1String(kRecentKey)).toStringList();
    for (const QString& path : recent) {
        QAction* a = m_recentMenu->addAction(path);
        connect(a, &QAction::triggered, this, [this, path] { openModel(path); });
    }
    m_recentMenu->setEnabled(!recent.isEmpty());
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
