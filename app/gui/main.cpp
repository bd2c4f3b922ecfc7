#include "AppSettings.h"
#include "FineTuneDialog.h"
#include "GuiBench.h"
#include "MainWindow.h"
#include "MixedPrecisionPanel.h"
#include "PlanDocument.h"
#include "PlaygroundPanel.h"
#include "RunsPanel.h"
#include "SessionController.h"
#include "analysis/Sensitivity.h"
#include "kernels/CpuFeatures.h"
#include "util/Error.h"
#include "util/Paths.h"
#include "util/Threads.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QDir>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QTimer>
#include <cstdio>
#include <memory>

namespace {

/// --fine-tune: once no run is queued (the --run-presets have finished), fine-tunes the first run of
/// the Runs page with `settings` (FineTuneDialog::applySettings); with a `screenshot` file, saves a
/// picture of the Fine-tune window when the job has ended (of the main window when none could start)
/// and quits.
void fineTuneFirstRun(qs::MainWindow& w, const QString& settings, const QString& screenshot)
{
    const auto started = std::make_shared<bool>(false);
    const auto shoot = [screenshot](QWidget* what) {
        if (screenshot.isEmpty())
            return;
        QTimer::singleShot(300, what, [what, screenshot] {
            QCoreApplication::processEvents();
            if (!what->grab().save(screenshot))
                qWarning("QuantScope: cannot write %s", qPrintable(screenshot));
            QCoreApplication::quit();
        });
    };
    const auto begin = [&w, settings, started, shoot] {
        if (*started || w.runsPanel()->pendingJobs() > 0)
            return;
        *started = true;
        qs::FineTuneDialog* dialog = w.runsPanel()->runs().empty() ? nullptr : w.runsPanel()->openFineTune(0);
        if (!dialog) {
            qWarning("QuantScope: --fine-tune: no run with a checkpoint to fine-tune (add --run-presets)");
            return shoot(&w);
        }
        if (const QString problems = dialog->applySettings(settings); !problems.isEmpty())
            qWarning("QuantScope: --fine-tune: could not apply %s", qPrintable(problems));
        QObject::connect(dialog, &qs::FineTuneDialog::ended, dialog, [dialog, shoot] { shoot(dialog); });
        if (!dialog->start()) {
            qWarning("QuantScope: --fine-tune: not started: %s", qPrintable(dialog->refusal()));
            shoot(dialog);
        }
    };
    QObject::connect(w.runsPanel(), &qs::RunsPanel::runFinished, &w, begin);
    QObject::connect(&w, &qs::MainWindow::modelLoaded, &w, begin);
}

} // namespace

int main(int argc, char** argv)
{
    if (const char* missing = qs::missingBaselineCpuFeatures()) { // before any AVX2 code runs
        std::fputs(missing, stderr);
        return 1;
    }
    Q_INIT_RESOURCE(quantscope); // the .qrc lives in the static quantscope_app library
    QApplication app(argc, argv);
    // Jobs' threads yield the cores to this one: input and painting before quantizing.
    qs::setBackgroundNice(5);
    QApplication::setOrganizationName(QStringLiteral("QuantScope"));
    QApplication::setApplicationName(QStringLiteral("QuantScope"));
    QApplication::setApplicationVersion(QStringLiteral(QUANTSCOPE_VERSION));
    QApplication::setWindowIcon(QIcon(QStringLiteral(":/icons/quantscope.svg")));
    QGuiApplication::setDesktopFileName(QStringLiteral("quantscope")); // icon and grouping on Wayland

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
    p.addOption(
        {QStringLiteral("tab"),
         QStringLiteral("Page to show: overview, plan, mixed, runs, tensors, playground or generate."),
         QStringLiteral("NAME")});
    p.addOption({QStringLiteral("sensitivity"),
                 QStringLiteral(
                     "Load sensitivity results (quantscope-cli sensitivity) into the Mixed precision page."),
                 QStringLiteral("S.json")});
    p.addOption({QStringLiteral("budget"), QStringLiteral("With --sensitivity: budget in bits per weight."),
                 QStringLiteral("BPW")});
    // Not "--session": QGuiApplication takes -session/--session (X11 session management) from argv.
    p.addOption({QStringLiteral("session-file"),
                 QStringLiteral("Session file to restore and autosave (default: %1).")
                     .arg(qs::AppSettings::defaultSessionFile()),
                 QStringLiteral("FILE")});
    p.addOption(
        {QStringLiteral("run-presets"),
         QStringLiteral("Once the model has loaded, run these plan presets (comma-separated indices into "
                        "Plan › Presets, or 'current'); with --screenshot the picture waits for them."),
         QStringLiteral("LIST")});
    p.addOption({QStringLiteral("runs-view"),
                 QStringLiteral("With --screenshot: the Runs page view to show once the runs have finished: "
                                "diff (the first two runs side by side), heatmap:METRIC or histogram:METRIC "
                                "(METRIC: weight, output or kld), or weights."),
                 QStringLiteral("VIEW")});
    p.addOption({QStringLiteral("runs-folder"),
                 QStringLiteral("Folder where finished runs are kept per model (default: %1; screenshots and "
                                "timed runs keep them in memory only unless this is given).")
                     .arg(qs::AppSettings::defaultRunStoreDirectory()),
                 QStringLiteral("DIR")});
    p.addOption(
        {QStringLiteral("playground"),
         QStringLiteral("Once the model has loaded, show the Playground set up by key=value,… (layer, "
                        "row, method, bits, group, compare, bitsB, groupB, weight, gptq=STEP, present, "
                        "window=WxH; see PlaygroundPanel::applySettings); with --screenshot and gptq "
                        "the picture waits for the demonstration."),
         QStringLiteral("SETTINGS")});
    p.addOption(
        {QStringLiteral("theme"),
         QStringLiteral("Colour theme for this start: light, dark or system (default: the one chosen in "
                        "Preferences; not stored)."),
         QStringLiteral("NAME")});
    p.addOption(
        {QStringLiteral("fine-tune"),
         QStringLiteral("Once the runs have finished (--run-presets), fine-tune the first run with "
                        "key=value;… (method qat, block-ap or signround; steps, lr, batch, seq-len, samples, "
                        "text, held-out, out); with --screenshot the picture is the Fine-tune window when "
                        "the job has ended."),
         QStringLiteral("SETTINGS")});
    p.addOption({QStringLiteral("teaching"),
                 QStringLiteral("Start in teaching mode (View › Teaching Mode, F11): full screen, every page "
                                "enlarged for a projector.")});
    p.addOption({QStringLiteral("no-restore"),
                 QStringLiteral("Start with a clean workbench (the session is still saved as you work).")});
    p.addOption(
        {QStringLiteral("bench-gui"),
         QStringLiteral("Benchmark: open MODEL, run RTN/GPTQ/Q4_K, a sweep, Export GGUF and visit every "
                        "page, measuring the longest event-loop stall of each; write JSON to FILE "
                        "and quit (quantscope-cli bench gui runs it)."),
         QStringLiteral("FILE")});
    p.addOption({QStringLiteral("bench-chunks"),
                 QStringLiteral("With --bench-gui: evaluation chunks of the runs and the sweep (default 2)."),
                 QStringLiteral("N")});
    p.process(app);

    // Preferences: the data folder reaches every default text path through QUANTSCOPE_DATA (the
    // environment, when set, wins); language before any window exists; threads and theme now.
    qs::AppSettings settings = qs::AppSettings::load();
    if (p.isSet(QStringLiteral("theme"))) {
        const QString theme = p.value(QStringLiteral("theme")).toLower();
        if (theme != u"light" && theme != u"dark" && theme != u"system") {
            std::fprintf(stderr, "quantscope: --theme %s: not a theme (light, dark or system)\n",
                         qPrintable(theme));
            return 2;
        }
        settings.theme = qs::AppSettings::themeFromKey(theme);
    }
    if (!settings.dataDirectory.isEmpty() && qEnvironmentVariableIsEmpty("QUANTSCOPE_DATA"))
        qputenv("QUANTSCOPE_DATA", settings.dataDirectory.toLocal8Bit());
    if (!qs::AppSettings::installTranslator(settings.language))
        qWarning("QuantScope: no translation for language '%s'; using English.",
                 qPrintable(settings.language));

    qs::MainWindow w;
    w.applySettings(settings);
    w.show();
    if (p.isSet(QStringLiteral("teaching")))
        w.setTeachingMode(true);
    QString path = p.positionalArguments().value(0);
    if (p.isSet(QStringLiteral("bench-gui"))) { // a fresh window, runs kept in memory only
        qs::GuiBench::Options o;
        o.model = path;
        o.output = p.value(QStringLiteral("bench-gui"));
        bool ok = true;
        if (p.isSet(QStringLiteral("bench-chunks")))
            o.chunks = p.value(QStringLiteral("bench-chunks")).toInt(&ok);
        if (path.isEmpty() || !ok || o.chunks < 1) {
            std::fputs("QuantScope: --bench-gui needs a MODEL and a positive --bench-chunks\n", stderr);
            return 2;
        }
        w.resize(1400, 950);
        auto* bench = new qs::GuiBench(&w, o, &app);
        QObject::connect(bench, &qs::GuiBench::finished, &app, [](bool ok, const QString& message) {
            if (!ok)
                std::fprintf(stderr, "QuantScope: --bench-gui: %s\n", qPrintable(message));
            QCoreApplication::exit(ok ? 0 : 1);
        });
        bench->start();
        return app.exec();
    }
    if (QFileInfo(path).isFile() && QFileInfo(path).suffix().compare(u"gguf", Qt::CaseInsensitive) != 0)
        path = QFileInfo(path)
                   .absolutePath(); // a config.json or safetensors file (e.g. from the .desktop entry)

    // The session: restored unless told otherwise or a model is given on the command line;
    // screenshots and timed smoke runs leave the user's session alone.
    const bool scripted = p.isSet(QStringLiteral("screenshot")) || p.isSet(QStringLiteral("quit-after"));
    if (p.isSet(QStringLiteral("session-file")) || !scripted)
        w.session()->setFile(p.isSet(QStringLiteral("session-file")) ? p.value(QStringLiteral("session-file"))
                                                                     : qs::AppSettings::defaultSessionFile());
    // Runs are kept per model across switches and restarts; scripted runs leave the user's alone.
    if (p.isSet(QStringLiteral("runs-folder")) || !scripted)
        w.runsPanel()->setStoreFolder(p.isSet(QStringLiteral("runs-folder"))
                                          ? p.value(QStringLiteral("runs-folder"))
                                          : qs::AppSettings::defaultRunStoreDirectory());
    const bool restore = !p.isSet(QStringLiteral("no-restore")) && path.isEmpty() &&
                         !p.isSet(QStringLiteral("demo")) &&
                         (!scripted || p.isSet(QStringLiteral("session-file")));
    if (restore)
        w.session()->restore();

    if (path.isEmpty() && p.isSet(QStringLiteral("demo"))) {
        const QString data = settings.effectiveDataDirectory();
        const QString demo = data.isEmpty() ? QString() : QDir(data).filePath(QStringLiteral("stories260K"));
        if (demo.isEmpty() || !QFileInfo(demo).isDir())
            qWarning(
                "QuantScope: demo model not found (set QUANTSCOPE_DATA or place ../shared/data next to the "
                "repository); starting with an empty workbench.");
        else
            path = demo;
    }
    QObject::connect(w.runsPanel(), &qs::RunsPanel::runRefused, &app, [](const QString& message) {
        qWarning("QuantScope: run not started: %s", qPrintable(message));
    });
    QObject::connect(&w, &qs::MainWindow::modelLoaded, &app, [&w, &p] {
        if (p.isSet(QStringLiteral("sensitivity"))) {
            if (w.mixedPrecisionPanel()->loadFile(p.value(QStringLiteral("sensitivity"))) &&
                p.isSet(QStringLiteral("budget")))
                w.mixedPrecisionPanel()->setBudget(p.value(QStringLiteral("budget")).toDouble());
        }
        if (p.isSet(QStringLiteral("tab")))
            w.showPage(p.value(QStringLiteral("tab")));
        if (p.isSet(QStringLiteral("playground"))) {
            w.showPage(QStringLiteral("playground"));
            const QString problems =
                w.playgroundPanel()->applySettings(p.value(QStringLiteral("playground")));
            if (!problems.isEmpty())
                qWarning("QuantScope: --playground: could not apply %s", qPrintable(problems));
        }
        if (p.isSet(QStringLiteral("run-presets"))) {
            const std::vector<qs::RecipePreset> presets = qs::recipePresets(*w.planDocument()->model());
            for (const QString& item :
                 p.value(QStringLiteral("run-presets")).split(u',', Qt::SkipEmptyParts)) {
                bool ok = false;
                const int i = item.toInt(&ok);
                if (ok && i >= 0 && std::size_t(i) < presets.size())
                    w.planDocument()->replaceRecipe(presets[std::size_t(i)].recipe,
                                                    QString::fromUtf8(presets[std::size_t(i)].name));
                else if (item != u"current")
                    qWarning("QuantScope: --run-presets: no preset '%s'", qPrintable(item));
                w.runCurrentPlan();
            }
        }
    });
    if (p.isSet(QStringLiteral("screenshot"))) {
        const QString file = p.value(QStringLiteral("screenshot"));
        const QString view = p.value(QStringLiteral("runs-view"));
        auto shoot = [&w, &app, file, view] {
            if (!view.isEmpty() && !w.runsPanel()->showView(view))
                qWarning("QuantScope: --runs-view: cannot show '%s'", qPrintable(view));
            QTimer::singleShot(300, &app, [&w, &app, file] {
                // QuIP# and AQLM quantize the playground's row as a job: the picture shows its result.
                QElapsedTimer waited;
                waited.start();
                while (w.playgroundPanel()->rowRunning() && waited.elapsed() < 120000)
                    QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents, 100);
                QCoreApplication::processEvents();
                if (!w.grab().save(file))
                    qWarning("QuantScope: cannot write %s", qPrintable(file));
                app.quit();
            });
        };
        if (p.isSet(QStringLiteral("fine-tune"))) {
            // fineTuneFirstRun takes the picture
        } else if (p.isSet(QStringLiteral("run-presets"))) { // the picture once every queued run has finished
            QObject::connect(w.runsPanel(), &qs::RunsPanel::runFinished, &app, [&w, shoot] {
                if (w.runsPanel()->pendingJobs() == 0)
                    shoot();
            });
            QObject::connect(&w, &qs::MainWindow::modelLoaded, &app, [&w, shoot] {
                if (w.runsPanel()->pendingJobs() == 0) // every run was refused: the picture shows why
                    shoot();
            });
        } else if (p.value(QStringLiteral("playground")).contains(u"gptq=")) { // once GPTQ has run
            QObject::connect(w.playgroundPanel(), &qs::PlaygroundPanel::gptqFinished, &app, shoot);
        } else
            QObject::connect(&w, &qs::MainWindow::modelLoaded, &app, shoot);
        QObject::connect(&w, &qs::MainWindow::modelLoadFailed, &app, shoot);
        if (path.isEmpty())
            shoot();
    }
    if (p.isSet(QStringLiteral("fine-tune"))) // after --run-presets' handler: its runs are queued first
        fineTuneFirstRun(w, p.value(QStringLiteral("fine-tune")), p.value(QStringLiteral("screenshot")));
    if (!path.isEmpty())
        w.openModel(path);
    if (p.isSet(QStringLiteral("quit-after")))
        QTimer::singleShot(p.value(QStringLiteral("quit-after")).toInt(), &app, &QApplication::quit);
    return app.exec();
}
