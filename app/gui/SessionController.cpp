#include "SessionController.h"

#include "MainWindow.h"
#include "MixedPrecisionPanel.h"
#include "PlanDocument.h"
#include "RunsPanel.h"
#include "model/Model.h"
#include "util/Error.h"

#include <QCloseEvent>
#include <QCoreApplication>
#include <QFileInfo>
#include <QMessageBox>
#include <QStatusBar>
#include <QTabWidget>

namespace qs {

SessionController::SessionController(MainWindow* window) : QObject(window), m_window(window)
{
    setObjectName(QStringLiteral("sessionController"));
    m_timer.setSingleShot(true);
    m_timer.setInterval(2000);
    connect(&m_timer, &QTimer::timeout, this, &SessionController::save);
    connect(window, &MainWindow::modelLoaded, this, &SessionController::onModelLoaded);
    connect(window, &MainWindow::modelLoadFailed, this, &SessionController::onModelLoadFailed);
    connect(window->planDocument(), &PlanDocument::planChanged, this, &SessionController::schedule);
    connect(window->tabs(), &QTabWidget::currentChanged, this, &SessionController::schedule);
    connect(window->runsPanel(), &RunsPanel::runsChanged, this, &SessionController::schedule);
    connect(window->mixedPrecisionPanel(), &MixedPrecisionPanel::sweepFinished, this,
            &SessionController::schedule);
    window->installEventFilter(this);
    // QApplication::quit() closes no windows: save then too.
    connect(qApp, &QCoreApplication::aboutToQuit, this, &SessionController::save);
}

void SessionController::setFile(const QString& path)
{
    m_file = path;
    m_blocked = false;
}

void SessionController::schedule()
{
    if (!m_file.isEmpty() && !m_pending && !m_blocked)
        m_timer.start(); // restarts: saves 2 s after the last change
}

bool SessionController::eventFilter(QObject* watched, QEvent* event)
{
    if (watched == m_window && event->type() == QEvent::Close)
        save();
    return QObject::eventFilter(watched, event);
}

Session SessionController::capture() const
{
    Session s;
    if (const auto model = m_window->model()) {
        s.modelPath = model->path();
        s.recipe = m_window->planDocument()->recipe();
    }
    if (const QWidget* page = m_window->tabs()->currentWidget())
        s.page = page->objectName();
    s.runs = m_window->runsPanel()->sessionRuns();
    s.baseline = m_window->runsPanel()->baseline();
    s.sensitivity = m_window->mixedPrecisionPanel()->results();
    return s;
}

bool SessionController::save()
{
    m_timer.stop();
    if (m_file.isEmpty() || m_pending || m_blocked)
        return false;
    try {
        capture().save(m_file);
    } catch (const Error& e) {
        m_window->showStatus(tr("Cannot save the session: %1").arg(e.message()), true);
        return false;
    }
    Q_EMIT saved(m_file);
    return true;
}

bool SessionController::restore()
{
    if (m_file.isEmpty() || !QFileInfo::exists(m_file))
        return true;
    Session s;
    try {
        s = Session::load(m_file);
    } catch (const Error& e) {
        fail(e.message());
        return false;
    }
    if (!s.modelPath.isEmpty() && !QFileInfo(s.modelPath).isDir()) {
        fail(tr("the model folder %1 no longer exists").arg(s.modelPath));
        return false;
    }
    if (s.modelPath.isEmpty()) {
        showPage(s.page);
        Q_EMIT restored();
        return true;
    }
    const QString model = s.modelPath;
    m_pending = std::move(s);
    m_window->openModel(model);
    return true;
}

void SessionController::onModelLoaded()
{
    if (!m_pending) {
        schedule(); // a model the user opened: the session follows it
        return;
    }
    const Session s = std::move(*m_pending);
    m_pending.reset();
    QStringList problems;
    if (s.recipe) {
        try {
            m_window->planDocument()->setModel(m_window->model(), *s.recipe);
        } catch (const Error& e) {
            problems << tr("the saved plan does not apply to this model: %1").arg(e.message());
        }
    }
    m_window->runsPanel()->restoreRuns(s.runs, s.baseline);
    if (s.sensitivity) {
        try {
            m_window->mixedPrecisionPanel()->setResults(*s.sensitivity);
        } catch (const Error& e) {
            problems << e.message();
        }
    }
    showPage(s.page);
    if (!problems.isEmpty()) {
        fail(problems.join(u'\n'), false); // keeps the file with what could not be restored
        return;
    }
    Q_EMIT restored();
}

void SessionController::onModelLoadFailed(const QString& error)
{
    if (!m_pending)
        return;
    const QString model = m_pending->modelPath;
    m_pending.reset();
    fail(tr("the model %1 could not be opened: %2").arg(model, error));
}

void SessionController::showPage(const QString& objectName)
{
    QTabWidget* tabs = m_window->tabs();
    for (int i = 0; i < tabs->count() && !objectName.isEmpty(); ++i)
        if (tabs->widget(i)->objectName() == objectName)
            tabs->setCurrentIndex(i);
}

void SessionController::fail(const QString& reason, bool clean)
{
    QString text;
    try {
        m_lastBackup = Session::moveAside(m_file);
        text = (clean ? tr("The session %1 could not be restored:\n%2\n\nIt was kept as %3. QuantScope "
                           "starts with a clean workbench.")
                      : tr("The session %1 could not be restored completely:\n%2\n\nIt was kept as %3; "
                           "the rest of it was restored."))
                   .arg(m_file, reason, m_lastBackup);
    } catch (const Error& e) {
        m_lastBackup.clear();
        m_blocked = true; // never overwrite what could not be kept
        text = tr("The session %1 could not be restored:\n%2\n\nIt could not be moved aside (%3), so this "
                  "session will not be saved over it.")
                   .arg(m_file, reason, e.message());
    }
    auto* box =
        new QMessageBox(QMessageBox::Warning, tr("Session not restored"), text, QMessageBox::Ok, m_window);
    box->setObjectName(QStringLiteral("sessionMessage"));
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->setWindowModality(Qt::NonModal); // the window stays usable while it is shown
    box->show();
    Q_EMIT restoreFailed(text, m_lastBackup);
    schedule();
}

} // namespace qs
