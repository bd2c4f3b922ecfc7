#pragma once

#include "session/Session.h"

#include <QObject>
#include <QTimer>
#include <optional>

namespace qs {

class MainWindow;

/// Autosave and restore of a window's session (core/session/Session: the file format).
/// Edits (plan, page, runs, sweeps, a new model) start a debounced save (2 s after the last
/// one); closing the window saves at once. Writes are atomic. Restoring opens the saved model in
/// the background and applies the rest when it has loaded. A session that cannot be restored
/// (bad JSON, another version, a model that is gone or fails to open, a plan that no longer
/// applies) is moved aside to `<name>.corrupt-<timestamp>.json` — never deleted — and a
/// non-modal message names both files; the window stays usable and starts clean.
class SessionController : public QObject
{
    Q_OBJECT
public:
    explicit SessionController(MainWindow* window);

    /// The session file; empty (the default) turns sessions off: nothing is read or written.
    void setFile(const QString& path);
    QString file() const { return m_file; }
    void setAutosaveDelay(int ms) { m_timer.setInterval(ms); }
    /// Reads the file (when it exists) and starts restoring. Returns false when it was unusable
    /// (moved aside, message shown).
    bool restore();
    /// True while a restore waits for its model to load (saves are held back meanwhile).
    bool isRestoring() const { return m_pending.has_value(); }
    /// Saves now (atomically). Returns false when sessions are off or held back, or on an error
    /// (shown in the status bar).
    bool save();
    /// The window's state as a session.
    Session capture() const;
    /// The backup of the last session that could not be restored (empty: none).
    QString lastBackup() const { return m_lastBackup; }

Q_SIGNALS:
    void saved(const QString& path);
    void restored();
    void restoreFailed(const QString& message, const QString& backup);

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    void schedule();
    void onModelLoaded();
    void onModelLoadFailed(const QString& error);
    void showPage(const QString& objectName);
    /// Moves the file aside and tells the user; `clean`: nothing of it was restored.
    void fail(const QString& reason, bool clean = true);

    MainWindow* m_window;
    QString m_file;
    QTimer m_timer;
    std::optional<Session> m_pending;
    bool m_blocked = false; ///< a bad session could not be moved aside: never overwrite it
    QString m_lastBackup;
};

} // namespace qs
