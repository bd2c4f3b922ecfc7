#pragma once

// Helpers for the suites that drive the real main window offscreen.

#include "GuiBench.h"
#include "MainWindow.h"
#include "analysis/Sensitivity.h"

#include <QJsonDocument>
#include <QSignalSpy>
#include <QString>

namespace qs::test {

/// Opens the model at `path` in `w` and waits for it (at most 20 s); false when it did not load.
inline bool loadInto(MainWindow& w, const QString& path)
{
    QSignalSpy loaded(&w, &MainWindow::modelLoaded);
    w.openModel(path);
    return loaded.count() == 1 || loaded.wait(20000);
}

/// The window's own stalls while a job runs, from construction to stop(): EventLoopMonitor with a
/// goal of `goalMs`. The part of a stall the machine held the UI thread off a CPU (its sentinel
/// threads late, or the thread waiting for a CPU: a loaded test host) is not the window's, so the
/// check holds on a busy CI machine and still fails when the UI thread blocks on its own.
class StallProbe
{
public:
    explicit StallProbe(double goalMs = 100)
    {
        m_monitor.setGoalMs(goalMs);
        m_monitor.begin(QStringLiteral("probe"));
    }
    void stop() { m_monitor.end(); }
    /// True when no stall over the goal was the window's own (stops the probe).
    bool windowAnswered()
    {
        stop();
        return m_monitor.windowStallsOverGoal() == 0;
    }
    QByteArray report() const { return QJsonDocument(m_monitor.phases()).toJson(QJsonDocument::Compact); }

private:
    EventLoopMonitor m_monitor;
};

/// A small sensitivity sweep's settings: RTN 2, 4 and 8 bits per channel, `chunks` chunks of 64
/// tokens of `text` (seconds on stories260K).
inline SensitivitySettings smallRtnSweep(const QString& text, int chunks)
{
    SensitivitySettings s;
    s.schemes = parseSchemes(QStringLiteral("rtn-w2-ch,rtn-w4-ch,rtn-w8-ch"));
    s.evalText = text;
    s.eval.ctx = 64;
    s.eval.maxChunks = chunks;
    return s;
}

} // namespace qs::test
