// The real main window, offscreen: load models, errors as dialogs, the tensor table's model.
#include "AppSettings.h"
#include "MainWindow.h"
#include "TensorTableModel.h"
#include "TestSupport.h"
#include "model/Model.h"

#include <QAbstractItemModelTester>
#include <QApplication>
#include <QDir>
#include <QFile>
#include <QLabel>
#include <QMessageBox>
#include <QMimeData>
#include <QRegularExpression>
#include <QSettings>
#include <QSignalSpy>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>
#include <QTextBrowser>
#include <QUrl>

using namespace qs;

class TestMainWindow : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void startsEmpty();
    void loadsDemoModel();
    void badFolderShowsDialog();
    void tokenizerFallbackIsShown();
    void tensorModelIsSound();
    void dropOpensFolderOfFile();
};

void TestMainWindow::initTestCase()
{
    QCoreApplication::setOrganizationName(QStringLiteral("QuantScopeTest"));
    QSettings().clear();
}

void TestMainWindow::startsEmpty()
{
    MainWindow w;
    w.show();
    QVERIFY(w.findChild<QLabel*>(QStringLiteral("welcomeLabel"))->isVisible());
    QVERIFY(!w.model());
}

void TestMainWindow::loadsDemoModel()
{
    QS_REQUIRE_DATA(path, "stories260K");
    MainWindow w;
    w.show();
    QSignalSpy loaded(&w, &MainWindow::modelLoaded);
    w.openModel(path);
    QVERIFY(w.isLoading() || loaded.count() == 1);
    QVERIFY(loaded.count() == 1 || loaded.wait(20000));
    QVERIFY(w.model());
    auto* table = w.findChild<QTableView*>(QStringLiteral("tensorTable"));
    QVERIFY(table);
    QCOMPARE(table->model()->rowCount(), 47);
    const QString overview = w.findChild<QTextBrowser*>(QStringLiteral("overviewText"))->toPlainText();
    QVERIFY2(overview.contains(u"260,032") || overview.contains(u"260032"), qPrintable(overview));
    QVERIFY(w.windowTitle().contains(u"stories260K"));
    // Written in the background (its fdatasync off the UI thread), there once the writes are done.
    waitForBackgroundSettings();
    QVERIFY(QSettings().value(QStringLiteral("recentModels")).toStringList().contains(w.model()->path()));
}

void TestMainWindow::badFolderShowsDialog()
{
    QTemporaryDir tmp; // a folder without config.json: not a model
    MainWindow w;
    w.show();
    QSignalSpy failed(&w, &MainWindow::modelLoadFailed);
    w.openModel(tmp.path());
    QVERIFY(failed.count() == 1 || failed.wait(20000));
    QVERIFY(failed.front().front().toString().contains(u"config.json"));
    auto* box = w.findChild<QMessageBox*>(QStringLiteral("errorDialog"));
    QVERIFY(box);
    QVERIFY(box->text().contains(u"config.json"));
    QVERIFY(!w.model());
    QVERIFY(w.isEnabled());
    box->accept();
}

void TestMainWindow::tokenizerFallbackIsShown()
{
    // A copy of the demo model whose tokenizer.json is broken: the model opens (tokenizer.model
    // stands in), and the start page and the status bar say which file is used and why.
    QS_REQUIRE_DATA(src, "stories260K");
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    for (const char* f : {"config.json", "model.safetensors", "tokenizer.model"})
        QVERIFY(QFile::copy(QDir(src).filePath(QLatin1String(f)), tmp.filePath(QLatin1String(f))));
    QVERIFY(test::writeFile(tmp.filePath(QStringLiteral("tokenizer.json")), "{\"model\": "));
    MainWindow w;
    w.show();
    QSignalSpy loaded(&w, &MainWindow::modelLoaded);
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QStringLiteral("tokenizer.json.*using .*instead")));
    w.openModel(tmp.path());
    QVERIFY(loaded.count() == 1 || loaded.wait(20000));
    const QString overview = w.findChild<QTextBrowser*>(QStringLiteral("overviewText"))->toPlainText();
    QVERIFY2(overview.contains(u"Tokenizer warning") &&
                 overview.contains(tmp.filePath(QStringLiteral("tokenizer.json"))) &&
                 overview.contains(u"tokenizer.model: SentencePiece"),
             qPrintable(overview));
    auto* status = w.findChild<QLabel*>(QStringLiteral("statusLabel"));
    QVERIFY2(status->text().contains(u"tokenizer"), qPrintable(status->text()));
    QVERIFY(status->toolTip().contains(tmp.filePath(QStringLiteral("tokenizer.model"))));
}

void TestMainWindow::tensorModelIsSound()
{
    QS_REQUIRE_DATA(path, "stories260K-sharded");
    TensorTableModel m;
    QAbstractItemModelTester tester(&m, QAbstractItemModelTester::FailureReportingMode::QtTest);
    m.setModel(Model::open(path));
    QCOMPARE(m.rowCount(), 47);
    QCOMPARE(m.columnCount(), int(TensorTableModel::ColumnCount));
    QCOMPARE(m.data(m.index(0, TensorTableModel::Name)).toString(),
             QStringLiteral("model.embed_tokens.weight"));
    m.setModel(nullptr);
    QCOMPARE(m.rowCount(), 0);
}

void TestMainWindow::dropOpensFolderOfFile()
{
    QS_REQUIRE_DATA(path, "stories260K-bf16");
    MainWindow w;
    w.show();
    QSignalSpy loaded(&w, &MainWindow::modelLoaded);
    QMimeData mime; // dropping a file inside a model folder opens the folder
    mime.setUrls({QUrl::fromLocalFile(path + u"/config.json")});
    QDragEnterEvent enter(QPoint(10, 10), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QCoreApplication::sendEvent(&w, &enter);
    QVERIFY(enter.isAccepted());
    QDropEvent drop(QPointF(10, 10), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QCoreApplication::sendEvent(&w, &drop);
    QVERIFY(loaded.count() == 1 || loaded.wait(20000));
    QCOMPARE(w.model()->weightDtypeName(), QStringLiteral("bf16"));
}

QTEST_MAIN(TestMainWindow)
#include "tst_mainwindow.moc"
