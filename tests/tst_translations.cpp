// Translations: the German catalogue is compiled into the application's resources under ":/i18n/"
// and switchable through AppSettings; the committed translations/quantscope_de.ts is complete (no
// unfinished or vanished entries) and keeps every placeholder, plural form, HTML tag and
// shortcut of its source text; and the embedded .qm says what the .ts says (the build is current).
#include "AppSettings.h"
#include "TestSupport.h"

#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QRegularExpression>
#include <QTest>
#include <QTranslator>
#include <QXmlStreamReader>

using namespace qs;

namespace {

/// One <message> of a .ts file, with its context.
struct TsMessage
{
    QString context;
    QString source;
    QString comment; ///< disambiguation, passed to translate()
    bool numerus = false;
    QString type;             ///< the <translation> type attribute: "", "unfinished", "vanished", …
    QStringList translations; ///< one, or one per plural form
    QString where() const { return context + QStringLiteral(" / \"") + source + u'"'; }
};

QList<TsMessage> readTs(const QString& path, QString* error)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) {
        *error = QStringLiteral("cannot open %1").arg(path);
        return {};
    }
    QList<TsMessage> out;
    QXmlStreamReader xml(&f);
    QString context;
    TsMessage m;
    while (!xml.atEnd()) {
        xml.readNext();
        if (xml.isStartElement()) {
            const auto name = xml.name();
            if (name == u"context") {
                context.clear();
            } else if (name == u"name") {
                context = xml.readElementText();
            } else if (name == u"message") {
                m = TsMessage{};
                m.context = context;
                m.numerus = xml.attributes().value(QLatin1String("numerus")) == u"yes";
            } else if (name == u"source") {
                m.source = xml.readElementText();
            } else if (name == u"comment") {
                m.comment = xml.readElementText();
            } else if (name == u"translation") {
                m.type = xml.attributes().value(QLatin1String("type")).toString();
                if (!m.numerus)
                    m.translations << xml.readElementText();
            } else if (name == u"numerusform") {
                m.translations << xml.readElementText();
            }
        } else if (xml.isEndElement() && xml.name() == u"message") {
            out << m;
        }
    }
    if (xml.hasError())
        *error = QStringLiteral("%1:%2: %3").arg(path).arg(xml.lineNumber()).arg(xml.errorString());
    return out;
}

QString tsPath(const QString& lang)
{
    return QDir(QStringLiteral(QS_SOURCE_DIR))
        .filePath(QStringLiteral("translations/quantscope_%1.ts").arg(lang));
}

/// Sorted placeholders (%1…%99, %n, %L1) of a text.
QStringList placeholders(const QString& s)
{
    static const QRegularExpression re(QStringLiteral("%L?(\\d+|n)"));
    QStringList out;
    for (auto it = re.globalMatch(s); it.hasNext();)
        out << it.next().captured(0);
    out.sort();
    out.removeDuplicates();
    return out;
}

/// Sorted HTML tag names (opening and closing) of a text.
QStringList htmlTags(const QString& s)
{
    static const QRegularExpression re(QStringLiteral("</?([a-zA-Z][a-zA-Z0-9]*)[^<>]*>"));
    QStringList out;
    for (auto it = re.globalMatch(s); it.hasNext();) {
        const auto match = it.next();
        const QString name = match.captured(1).toLower();
        out << (match.captured(0).startsWith(QStringLiteral("</")) ? QString(u'/' + name) : name);
    }
    out.sort();
    return out;
}

/// Whether a text has a keyboard mnemonic ("&File"; "&&" is a literal ampersand).
bool hasMnemonic(const QString& s)
{
    for (qsizetype i = 0; i + 1 < s.size(); ++i) {
        if (s[i] != u'&')
            continue;
        if (s[i + 1] == u'&') {
            ++i;
            continue;
        }
        if (s[i + 1].isLetterOrNumber())
            return true;
    }
    return false;
}

} // namespace

class TestTranslations : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void cleanup() { AppSettings::installTranslator(QString()); }

    void germanIsEmbedded()
    {
        QVERIFY2(QFile::exists(QStringLiteral(":/i18n/quantscope_de.qm")),
                 "quantscope_de.qm is not in the resources (qt_add_translations in app/CMakeLists.txt)");
        QTranslator t;
        QVERIFY(t.load(QStringLiteral("quantscope_de"), QStringLiteral(":/i18n")));
        QVERIFY(!t.isEmpty());
        QCOMPARE(t.language(), QStringLiteral("de_DE"));
        QVERIFY(AppSettings::availableLanguages().contains(QStringLiteral("de")));
        QCOMPARE(AppSettings::languageName(QStringLiteral("de")), QStringLiteral("Deutsch"));
    }

    void knownStrings_data()
    {
        QTest::addColumn<QString>("context");
        QTest::addColumn<QString>("source");
        QTest::addColumn<QString>("german");
        auto row = [](const char* name, const char* context, const char* source, const char* german) {
            QTest::newRow(name) << QString::fromUtf8(context) << QString::fromUtf8(source)
                                << QString::fromUtf8(german);
        };
        row("file menu", "qs::MainWindow", "&File", "&Datei");
        row("help menu", "qs::MainWindow", "&Help", "&Hilfe");
        row("preferences", "qs::MainWindow", "Preferences", "Einstellungen");
        row("preset", "Presets", "RTN int8 per channel (no calibration)",
            "RTN int8 pro Kanal (ohne Kalibrierung)");
        row("plot", "AboutDialog", "plots", "Diagramme");
    }

    void knownStrings()
    {
        QFETCH(QString, context);
        QFETCH(QString, source);
        QFETCH(QString, german);
        const QByteArray ctx = context.toUtf8();
        const QByteArray src = source.toUtf8();
        QCOMPARE(QCoreApplication::translate(ctx.constData(), src.constData()), source); // English
        QVERIFY(AppSettings::installTranslator(QStringLiteral("de")));
        QCOMPARE(QCoreApplication::translate(ctx.constData(), src.constData()), german);
        QVERIFY(AppSettings::installTranslator(QString()));
        QCOMPARE(QCoreApplication::translate(ctx.constData(), src.constData()), source);
    }

    /// Every message is translated, none is left over from removed sources, and each translation
    /// keeps its source's placeholders, HTML tags and shortcut; plurals have both German forms.
    void tsIsComplete()
    {
        QString error;
        const QList<TsMessage> messages = readTs(tsPath(QStringLiteral("de")), &error);
        QVERIFY2(error.isEmpty(), qPrintable(error));
        QVERIFY(messages.size() > 100);
        QStringList problems;
        for (const TsMessage& m : messages) {
            if (!m.type.isEmpty()) {
                problems << m.type + QStringLiteral(": ") + m.where();
                continue;
            }
            if (m.translations.size() != (m.numerus ? 2 : 1)) {
                problems << QStringLiteral("%1 forms: %2").arg(m.translations.size()).arg(m.where());
                continue;
            }
            for (qsizetype i = 0; i < m.translations.size(); ++i) {
                const QString& t = m.translations[i];
                QStringList expected = placeholders(m.source);
                if (m.numerus && i == 0 && !t.contains(QStringLiteral("%n")))
                    expected.removeAll(QStringLiteral("%n")); // the singular may say "ein Token"
                if (t.trimmed().isEmpty())
                    problems << QStringLiteral("empty: ") + m.where();
                else if (placeholders(t) != expected)
                    problems << QStringLiteral("placeholders differ: ") + m.where();
                else if (htmlTags(t) != htmlTags(m.source))
                    problems << QStringLiteral("HTML tags differ: ") + m.where();
                else if (hasMnemonic(t) != hasMnemonic(m.source))
                    problems << QStringLiteral("shortcut (&) differs: ") + m.where();
            }
        }
        QVERIFY2(problems.isEmpty(), qPrintable(problems.join(u'\n')));
    }

    /// The embedded catalogue matches the committed .ts (lrelease ran on the current file).
    void qmMatchesTs()
    {
        QString error;
        const QList<TsMessage> messages = readTs(tsPath(QStringLiteral("de")), &error);
        QVERIFY2(error.isEmpty(), qPrintable(error));
        QTranslator t;
        QVERIFY(t.load(QStringLiteral("quantscope_de"), QStringLiteral(":/i18n")));
        QStringList problems;
        for (const TsMessage& m : messages) {
            if (!m.type.isEmpty() || m.translations.isEmpty())
                continue; // reported by tsIsComplete
            const QByteArray ctx = m.context.toUtf8();
            const QByteArray src = m.source.toUtf8();
            const QByteArray comment = m.comment.toUtf8();
            const char* disambiguation = m.comment.isEmpty() ? nullptr : comment.constData();
            if (m.numerus) {
                const QString one = t.translate(ctx.constData(), src.constData(), disambiguation, 1);
                const QString many = t.translate(ctx.constData(), src.constData(), disambiguation, 5);
                if (one != m.translations.first() || many != m.translations.last())
                    problems << m.where();
            } else if (t.translate(ctx.constData(), src.constData(), disambiguation) !=
                       m.translations.first()) {
                problems << m.where();
            }
        }
        QVERIFY2(problems.isEmpty(),
                 qPrintable(QStringLiteral("not as in the .ts (rebuild?):\n") + problems.join(u'\n')));
    }
};

QTEST_MAIN(TestTranslations)
#include "tst_translations.moc"
