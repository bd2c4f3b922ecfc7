#include "MainWindow.h"
#include "MixedPrecisionPanel.h"
#include "analysis/Sensitivity.h"
#include "util/Error.h"
#include "util/Paths.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QDir>
#include <QFileInfo>
#include <QTimer>

int main(int argc, char** argv)
{
    Q_INIT_RESOURCE(quantscope); // the .qrc lives in the static quantscope_app library
    QApplication app(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("QuantScope"));
    QApplication::setApplicationName(QStringLiteral("QuantScope"));
    QApplication::setApplicationVersion(QStringLiteral(QUANTSCOPE_VERSION));
    QApplication::setWindowIcon(QIcon(QStringLiteral(":/icons/quantscope.svg")));

    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral("QuantScope: an LLM quantization workbench"));
    p.addHelpOption();
    p.addVersionOption();
    p.addPositionalArgument(QStringLiteral("MODEL"), QStringLiteral("model folder to open"),
                            QStringLiteral("[MODEL]"));
    p.addOption(
        {QStringLiteral("demo"), QStringLiteral("Open the demo model (stories260K from the shared data).")});
    p.addOption({QStringLiteral("screenshot"),
                 QStringLiteral("Save a PNG of the window once the model has loaded, then quit."),
                 QStringLiteral("FILE")});
    p.addOption({QStringLiteral("quit-after"),
                 QStringLiteral("Quit after MS milliseconds (smoke tests, screenshots)."),
                 QStringLiteral("MS")});
    p.addOption({QStringLiteral("tab"), QStringLiteral("Page to show: overview, plan, mixed or tensors."),
                 QStringLiteral("NAME")});
    p.addOption({QStringLiteral("sensitivity"),
                 QStringLiteral(
                     "Load sensitivity results (quantscope-cli sensitivity) into the Mixed precision page."),
                 QStringLiteral("S.json")});
    p.addOption({QStringLiteral("budget"), QStringLiteral("With --sensitivity: budget in bits per weight."),
                 QStringLiteral("BPW")});
    p.process(app);

    qs::MainWindow w;
    w.show();
    QString path = p.positionalArguments().value(0);
    if (path.isEmpty() && p.isSet(QStringLiteral("demo"))) {
        const QString data = qs::findDataDirectory(QStringLiteral(QS_REPO_ROOT));
        const QString demo = data.isEmpty() ? QString() : QDir(data).filePath(QStringLiteral("stories260K"));
        if (demo.isEmpty() || !QFileInfo(demo).isDir())
            qWarning(
                "QuantScope: demo model not found (set QUANTSCOPE_DATA or place ../shared/data next to the "
                "repository); starting with an empty workbench.");
        else
            path = demo;
    }
    QObject::connect(&w, &qs::MainWindow::modelLoaded, &app, [&w, &p] {
        if (p.isSet(QStringLiteral("sensitivity"))) {
            try {
                w.mixedPrecisionPanel()->setResults(
                    qs::SensitivityResult::load(p.value(QStringLiteral("sensitivity"))));
                if (p.isSet(QStringLiteral("budget")))
                    w.mixedPrecisionPanel()->setBudget(p.value(QStringLiteral("budget")).toDouble());
            } catch (const qs::Error& e) {
                qWarning("QuantScope: %s", qPrintable(e.message()));
            }
        }
        if (p.isSet(QStringLiteral("tab")))
            w.showPage(p.value(QStringLiteral("tab")));
    });
    if (p.isSet(QStringLiteral("screenshot"))) {
        const QString file = p.value(QStringLiteral("screenshot"));
        auto shoot = [&w, &app, file] {
            QTimer::singleShot(300, &app, [&w, &app, file] {
                if (!w.grab().save(file))
                    qWarning("QuantScope: cannot write %s", qPrintable(file));
                app.quit();
            });
        };
        QObject::connect(&w, &qs::MainWindow::modelLoaded, &app, shoot);
        QObject::connect(&w, &qs::MainWindow::modelLoadFailed, &app, shoot);
        if (path.isEmpty())
            shoot();
    }
    if (!path.isEmpty())
        w.openModel(path);
    if (p.isSet(QStringLiteral("quit-after")))
        QTimer::singleShot(p.value(QStringLiteral("quit-after")).toInt(), &app, &QApplication::quit);
    return app.exec();
}
