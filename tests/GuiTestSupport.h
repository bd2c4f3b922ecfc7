#pragma once

// Helpers for the suites that drive the real main window offscreen.

#include "MainWindow.h"

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

} // namespace qs::test
