#include "AboutDialog.h"

#include "kernels/Convert.h"
#include "util/Threads.h"

#include <QBoxLayout>
#include <QCoreApplication>
#include <QDialogButtonBox>
#include <QIcon>
#include <QLabel>
#include <QTextBrowser>
#include <QtGlobal>

namespace qs {

namespace {

QString compilerName()
{
#if defined(__clang__)
    return QStringLiteral("Clang ") + QLatin1String(__clang_version__);
#elif defined(__GNUC__)
    return QStringLiteral("GCC ") + QLatin1String(__VERSION__);
#elif defined(_MSC_VER)
    return QStringLiteral("MSVC %1").arg(_MSC_VER);
#else
    return QStringLiteral("unknown");
#endif
}

/// Instruction sets the compiler was allowed to use everywhere (-march); kernels with explicit
/// SIMD pick their variant at run time (convertVariantName).
QString compiledSimd()
{
    QStringList s;
#ifdef __AVX512F__
    s << QStringLiteral("AVX-512");
#endif
#ifdef __AVX2__
    s << QStringLiteral("AVX2");
#endif
#ifdef __FMA__
    s << QStringLiteral("FMA");
#endif
#ifdef __F16C__
    s << QStringLiteral("F16C");
#endif
#if defined(__ARM_NEON) || defined(__ARM_NEON__)
    s << QStringLiteral("NEON");
#endif
    return s.isEmpty() ? QStringLiteral("baseline") : s.join(u", ");
}

struct License
{
    const char* component;
    const char* license;
    const char* use;
};
constexpr License kLicenses[] = {
    {"Qt 6", "LGPL v3 (or commercial)", QT_TRANSLATE_NOOP("AboutDialog", "widgets, JSON, concurrency")},
    {"QCustomPlot", "GPL v3 (or commercial)", QT_TRANSLATE_NOOP("AboutDialog", "plots")},
    {"Eigen 3", "MPL 2.0", QT_TRANSLATE_NOOP("AboutDialog", "linear algebra (GPTQ, GEMM)")},
    {"SentencePiece", "Apache 2.0", QT_TRANSLATE_NOOP("AboutDialog", "tokenizer.model tokenizers")},
    {"PCRE2", "BSD 3-Clause", QT_TRANSLATE_NOOP("AboutDialog", "tokenizer pre-tokenization regexes")},
    {"OpenMP runtime", "per compiler (GCC: GPL v3 with runtime exception)",
     QT_TRANSLATE_NOOP("AboutDialog", "parallel kernels")},
};

} // namespace

QString AboutDialog::buildInfo()
{
    QStringList lines;
    lines << QStringLiteral("QuantScope %1").arg(QLatin1String(QUANTSCOPE_VERSION));
    lines << QStringLiteral("Compiler: %1").arg(compilerName());
    lines << QStringLiteral("Qt: built with %1, running %2")
                 .arg(QLatin1String(QT_VERSION_STR), QLatin1String(qVersion()));
#if QS_HAVE_CUDA
    lines << QStringLiteral("CUDA: on");
#else
    lines << QStringLiteral("CUDA: off");
#endif
    lines << QStringLiteral("SIMD: compiled for %1; conversion kernels use %2")
                 .arg(compiledSimd(), QLatin1String(convertVariantName()));
    lines << QStringLiteral("Compute threads: %1").arg(computeThreads());
    return lines.join(u'\n');
}

AboutDialog::AboutDialog(const QList<QPair<QString, QString>>& paths, QWidget* parent) : QDialog(parent)
{
    setObjectName(QStringLiteral("aboutDialog"));
    setWindowTitle(tr("About QuantScope"));

    QString html = QStringLiteral("<h2>QuantScope %1</h2>").arg(QLatin1String(QUANTSCOPE_VERSION));
    html += tr("<p>A workbench for deciding how to quantize large language models: methods, bit-widths "
               "and group sizes per layer, and what they cost in quality, memory and speed.</p>");
    html += QStringLiteral("<h3>%1</h3><pre>%2</pre>").arg(tr("Build"), buildInfo().toHtmlEscaped());
    html += QStringLiteral("<h3>%1</h3><table cellspacing=4>").arg(tr("Folders"));
    for (const auto& [what, path] : paths)
        html += QStringLiteral("<tr><td><b>%1</b></td><td>%2</td></tr>")
                    .arg(what.toHtmlEscaped(), path.isEmpty() ? tr("(none)") : path.toHtmlEscaped());
    html += QStringLiteral("</table><h3>%1</h3><table cellspacing=4>").arg(tr("Licenses"));
    for (const License& l : kLicenses)
        html += QStringLiteral("<tr><td><b>%1</b></td><td>%2</td><td>%3</td></tr>")
                    .arg(QLatin1String(l.component), QLatin1String(l.license),
                         QCoreApplication::translate("AboutDialog", l.use));
    html += QStringLiteral("</table>");

    auto* text = new QTextBrowser;
    text->setObjectName(QStringLiteral("aboutText"));
    text->setOpenExternalLinks(true);
    text->setHtml(html);
    auto* icon = new QLabel;
    icon->setPixmap(QIcon(QStringLiteral(":/icons/quantscope.svg")).pixmap(64, 64));
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);

    auto* top = new QHBoxLayout;
    top->addWidget(icon, 0, Qt::AlignTop);
    top->addWidget(text, 1);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(top, 1);
    layout->addWidget(buttons);
    resize(640, 520);
}

} // namespace qs
