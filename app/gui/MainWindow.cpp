#include "MainWindow.h"

#include "TensorTableModel.h"
#include "model/Model.h"
#include "model/ModelSummary.h"
#include "util/Error.h"
#include "util/Paths.h"

#include <QAction>
#include <QApplication>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QHeaderView>
#include <QLabel>
#include <QLocale>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QProgressBar>
#include <QRegularExpression>
#include <QSettings>
#include <QSortFilterProxyModel>
#include <QStackedWidget>
#include <QStatusBar>
#include <QTabWidget>
#include <QTableView>
#include <QTextBrowser>
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

    m_welcome = new QLabel(tr("<h2>QuantScope</h2><p>Open a Hugging Face model folder with <b>File › Open "
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
    m_tabs->addTab(m_tensorView, tr("Tensors"));

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
    statusBar()->addWidget(m_statusLabel, 1);
    statusBar()->addPermanentWidget(m_progress);

    createActions();
    connect(&m_loadWatcher, &QFutureWatcher<LoadResult>::finished, this, &MainWindow::onLoadFinished);
}

MainWindow::~MainWindow() { m_loadWatcher.waitForFinished(); }

void MainWindow::createActions()
{
    QMenu* file = menuBar()->addMenu(tr("&File"));
    QAction* open = file->addAction(tr("&Open Model…"), this, &MainWindow::openModelDialog);
    open->setObjectName(QStringLiteral("actionOpen"));
    open->setShortcut(QKeySequence::Open);
    m_recentMenu = file->addMenu(tr("Open &Recent"));
    m_recentMenu->setObjectName(QStringLiteral("recentMenu"));
    rebuildRecentMenu();
    file->addSeparator();
    QAction* quit = file->addAction(tr("&Quit"), qApp, &QApplication::closeAllWindows);
    quit->setShortcut(QKeySequence::Quit);

    QMenu* help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("&About QuantScope"), this, [this] {
        QMessageBox::about(this, tr("About QuantScope"),
                           tr("<b>QuantScope %1</b><p>A workbench for deciding how to quantize large language "
                              "models: methods, bit-widths and group sizes per layer, and what they cost in "
                              "quality, memory and speed.</p>")
                               .arg(QStringLiteral(QUANTSCOPE_VERSION)));
    });
}

bool MainWindow::isLoading() const { return m_loadWatcher.isRunning(); }

void MainWindow::openModelDialog()
{
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Open Model Folder"),
                                                          m_model ? QFileInfo(m_model->path()).path() : QString());
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

void MainWindow::setModel(std::shared_ptr<const Model> model)
{
    m_model = std::move(model);
    m_tensorModel->setModel(m_model);
    const ModelTotals& t = m_model->totals();
    const QLocale loc;
    QString html = QStringLiteral("<h2>%1</h2><p>%2</p>").arg(m_model->displayName().toHtmlEscaped(),
                                                               m_model->path().toHtmlEscaped());
    html += QStringLiteral("<p><b>%1</b></p>").arg(architectureLine(*m_model).toHtmlEscaped());
    html += QStringLiteral("<table cellspacing=6>");
    auto row = [&](const QString& k, const QString& v) {
        html += QStringLiteral("<tr><td><b>%1</b></td><td>%2</td></tr>").arg(k, v.toHtmlEscaped());
    };
    row(tr("Blocks"), QString::number(m_model->blocks().size()));
    row(tr("Linear layers"), QString::number(t.linearLayers));
    row(tr("Parameters"), loc.toString(t.params));
    row(tr("Embedding / attention / MLP"), QStringLiteral("%1 / %2 / %3")
                                               .arg(loc.toString(t.embeddingParams), loc.toString(t.attentionParams),
                                                    loc.toString(t.mlpParams)));
    row(tr("Head"), m_model->headTied() ? tr("tied to the embeddings") : loc.toString(t.headParams));
    row(tr("Size"), formatBytes(double(t.bytes)));
    row(tr("Bits per weight"), QString::number(t.bitsPerWeight(), 'f', 2));
    row(tr("Weight type"), m_model->weightDtypeName());
    row(tr("Files"), QString::number(m_model->tensors().files().size()));
    row(tr("Tokenizer"), QStringList{m_model->tokenizerJsonPath().isEmpty() ? QString() : QStringLiteral("tokenizer.json"),
                                     m_model->sentencePiecePath().isEmpty() ? QString() : QStringLiteral("tokenizer.model")}
                             .filter(QRegularExpression(QStringLiteral(".+")))
                             .join(u", "));
    if (!m_model->unusedTensors().isEmpty())
        row(tr("Unused tensors"), m_model->unusedTensors().join(u", "));
    html += QStringLiteral("</table>");
    m_overview->setHtml(html);
    m_stack->setCurrentWidget(m_tabs);
    setWindowTitle(tr("%1 — QuantScope").arg(m_model->displayName()));
    m_statusLabel->setText(tr("Model: %1 · %2 parameters · %3")
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
