#pragma once

// Helpers for the suites that drive the real main window offscreen.

#include "MainWindow.h"
#include "analysis/Sensitivity.h"

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
