#include "StartPage.h"

#include "model/Model.h"
#include "model/ModelSummary.h"
#include "util/Error.h"
#include "util/Paths.h"

#include <QBoxLayout>
#include <QCommandLinkButton>
#include <QGridLayout>
#include <QGroupBox>
#include <QLabel>
#include <QLocale>
#include <QRegularExpression>
#include <QTextBrowser>
#include <array>
#include <cmath>

namespace qs {

namespace {
constexpr int kRowsPerLayer = 8; ///< weight rows sampled per linear layer for the spread
constexpr int kBarChars = 16;    ///< the widest bar of the breakdown
} // namespace

StartPage::StartPage(QWidget* parent) : QWidget(parent)
{
    setObjectName(QStringLiteral("startPage"));
    m_title = new QLabel;
    m_title->setObjectName(QStringLiteral("startTitle"));
    m_title->setWordWrap(true);
    m_title->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_properties = new QTextBrowser;
    m_properties->setObjectName(QStringLiteral("overviewText"));
    m_breakdown = new QTextBrowser;
    m_breakdown->setObjectName(QStringLiteral("parameterBreakdown"));
    // Numbers and headers whole (a narrow window scrolls the table rather than breaking "32,768").
    m_breakdown->document()->setDefaultStyleSheet(QStringLiteral("td, th { white-space: nowrap; }"));

    m_compare =
        new QCommandLinkButton(tr("Compare RTN, GPTQ and Q4_K on this model"),
                               tr("Queues three 4-bit runs — RTN g128, GPTQ g128 and llama.cpp's Q4_K — "
                                  "and shows them side by side on the Runs page."));
    m_compare->setObjectName(QStringLiteral("startCompare"));
    m_sensitivity =
        new QCommandLinkButton(tr("Find the most sensitive layers"),
                               tr("Runs the sensitivity sweep on the Mixed precision page: the loss "
                                  "when only one layer is quantized, for every layer."));
    m_sensitivity->setObjectName(QStringLiteral("startSensitivity"));
    m_playground = new QCommandLinkButton(
        tr("Open the playground"), tr("Quantize one weight row live: levels, reconstruction and error."));
    m_playground->setObjectName(QStringLiteral("startPlayground"));
    connect(m_compare, &QCommandLinkButton::clicked, this, &StartPage::compareRequested);
    connect(m_sensitivity, &QCommandLinkButton::clicked, this, &StartPage::sensitivityRequested);
    connect(m_playground, &QCommandLinkButton::clicked, this, &StartPage::playgroundRequested);

    auto* starts = new QGroupBox(tr("Start here"));
    m_startsLayout = new QGridLayout(starts);
    for (QCommandLinkButton* b : {m_compare, m_sensitivity, m_playground}) // the page's width decides
        b->setSizePolicy(QSizePolicy::Ignored, b->sizePolicy().verticalPolicy());
    reflowStarts();
    auto* modelBox = new QGroupBox(tr("The model"));
    auto* modelLayout = new QVBoxLayout(modelBox);
    modelLayout->addWidget(m_properties);
    auto* breakdownBox = new QGroupBox(tr("Where the parameters are, and how the weights are spread"));
    auto* breakdownLayout = new QVBoxLayout(breakdownBox);
    breakdownLayout->addWidget(m_breakdown);
    auto* picture = new QHBoxLayout;
    picture->addWidget(modelBox, 2);
    picture->addWidget(breakdownBox, 3);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_title);
    layout->addWidget(starts);
    layout->addLayout(picture, 1);
}

void StartPage::resizeEvent(QResizeEvent* event)
{
    QWidget::resizeEvent(event);
    reflowStarts();
}

void StartPage::reflowStarts()
{
    const std::array<QCommandLinkButton*, 3> buttons{m_compare, m_sensitivity, m_playground};
    const QMargins m = m_startsLayout->contentsMargins();
    const QMargins page = layout() ? layout()->contentsMargins() : QMargins();
    const int room = width() - m.left() - m.right() - page.left() - page.right() - 8; // 8: the box's frame
    const int spacing = std::max(0, m_startsLayout->spacing());
    int widest = 0, total = 0;
    for (QCommandLinkButton* b : buttons) {
        widest = std::max(widest, b->sizeHint().width());
        total += b->sizeHint().width() + spacing;
    }
    const int columns = total <= room ? 3 : 2 * (widest + spacing) <= room ? 2 : 1;
    for (int i = 0; i < 3; ++i) {
        m_startsLayout->removeWidget(buttons[std::size_t(i)]);
        m_startsLayout->addWidget(buttons[std::size_t(i)], i / columns, i % columns);
    }
    for (int c = 0; c < 3; ++c)
        m_startsLayout->setColumnStretch(c, c < columns ? 1 : 0);
}

StartPage::~StartPage()
{
    m_job.cancel();
    m_job.waitForFinished(); // the worker reads the model
}

void StartPage::setModel(std::shared_ptr<const Model> model, const QString& tokenizer,
                         const QString& tokenizerWarning)
{
    m_job.cancel();
    m_job.discard();
    m_model = std::move(model);
    if (!m_model)
        return;
    const Model& m = *m_model;
    const ModelTotals& t = m.totals();
    const QLocale loc;
    m_title->setText(QStringLiteral("<h2>%1</h2><p>%2<br><b>%3</b></p>")
                         .arg(m.displayName().toHtmlEscaped(), m.path().toHtmlEscaped(),
                              architectureLine(m).toHtmlEscaped()));
    QString html = QStringLiteral("<table cellspacing=6>");
    auto row = [&](const QString& k, const QString& v) {
        html += QStringLiteral("<tr><td><b>%1</b></td><td>%2</td></tr>").arg(k, v.toHtmlEscaped());
    };
    row(tr("Blocks"), QString::number(m.blocks().size()));
    row(tr("Linear layers"), QString::number(t.linearLayers));
    row(tr("Parameters"), loc.toString(t.params));
    row(tr("Embedding / attention / MLP"),
        QStringLiteral("%1 / %2 / %3")
            .arg(loc.toString(t.embeddingParams), loc.toString(t.attentionParams),
                 loc.toString(t.mlpParams)));
    row(tr("Head"), m.headTied() ? tr("tied to the embeddings") : loc.toString(t.headParams));
    row(tr("Size"), formatBytes(double(t.bytes)));
    row(tr("Bits per weight"), loc.toString(t.bitsPerWeight(), 'f', 2));
    row(tr("Weight type"), m.weightDtypeName());
    row(tr("Files"), QString::number(m.tensors().files().size()));
    row(tr("Tokenizer"),
        !tokenizer.isEmpty()
            ? tokenizer
            : QStringList{m.tokenizerJsonPath().isEmpty() ? QString() : QStringLiteral("tokenizer.json"),
                          m.sentencePiecePath().isEmpty() ? QString() : QStringLiteral("tokenizer.model")}
                  .filter(QRegularExpression(QStringLiteral(".+")))
                  .join(u", "));
    if (!tokenizerWarning.isEmpty())
        html +=
            QStringLiteral("<tr><td><b>%1</b></td><td><span style=\"color:#c0392b\">⚠ %2</span></td></tr>")
                .arg(tr("Tokenizer warning"), tokenizerWarning.toHtmlEscaped());
    if (!m.unusedTensors().isEmpty())
        row(tr("Unused tensors"), m.unusedTensors().join(u", "));
    html += QStringLiteral("</table>");
    m_properties->setHtml(html);

    // A model stored quantized is not the starting point of these runs and sweeps.
    const bool quantized = m.isQuantized();
    for (QCommandLinkButton* b : {m_compare, m_sensitivity}) {
        b->setEnabled(!quantized);
        b->setToolTip(quantized
                          ? tr("This model is stored quantized; open the float model to compare methods.")
                          : QString());
    }

    m_profile = profileModel(m, 0); // the structure at once; the weight sample follows
    showProfile(tr("Sampling the weights…"));
    const auto shared = m_model;
    m_job = runJob<ModelProfile>(
        this,
        [shared](ModelProfile& out, const JobContext& ctx) {
            out = profileModel(*shared, kRowsPerLayer, ctx);
        },
        [this, shared](const JobOutcome<ModelProfile>& out) {
            if (shared != m_model)
                return;
            if (!out.succeeded()) {
                showProfile(out.cancelled ? QString()
                                          : tr("The weights could not be sampled: %1").arg(out.error));
                Q_EMIT profileFinished(false, out.error);
                return;
            }
            m_profile = out.value;
            showProfile(QString());
            Q_EMIT profileFinished(true, QString());
        });
}

void StartPage::showProfile(const QString& note)
{
    const QLocale loc;
    auto num = [&loc](double v, int decimals) {
        return std::isfinite(v) ? loc.toString(v, 'f', decimals) : QStringLiteral("–");
    };
    std::int64_t largest = 1;
    for (const KindProfile& k : m_profile.kinds)
        largest = std::max(largest, k.params);
    const QString bar = palette().color(QPalette::Highlight).name();
    QString html =
        QStringLiteral(
            "<table cellspacing=4><tr><th align=left>%1</th><th align=right>%2</th>"
            "<th align=right>%</th><th></th><th align=right>%3</th><th align=right>σ</th>"
            "<th align=right>max|w|/σ</th><th align=right>%4</th><th align=right>&gt;6σ %</th></tr>")
            .arg(tr("kind"), tr("parameters"), tr("size"), tr("kurtosis"));
    for (const KindProfile& k : m_profile.kinds) {
        const double share = m_profile.params ? 100.0 * double(k.params) / double(m_profile.params) : 0;
        const int chars = int(std::lround(double(kBarChars) * double(k.params) / double(largest)));
        html += QStringLiteral("<tr><td>%1</td><td align=right>%2</td><td align=right>%3</td>"
                               "<td nowrap><span style=\"color:%4\">%5</span></td><td align=right>%6</td>"
                               "<td align=right>%7</td><td align=right>%8</td><td align=right>%9</td>"
                               "<td align=right>%10</td></tr>")
                    .arg(k.kind.toHtmlEscaped(), loc.toString(k.params), num(share, 1), bar,
                         QString(std::max(chars, k.params > 0 ? 1 : 0), QChar(0x2588)),
                         formatBytes(double(k.bytes)), num(k.stddev, 4),
                         num(k.stddev > 0 ? k.maxAbs / k.stddev : std::nan(""), 1), num(k.kurtosis, 1))
                    .arg(num(k.outlierPercent, 2));
    }
    html += QStringLiteral("</table>");
    html += QStringLiteral("<p>%1</p>")
                .arg(tr("%1 parameters, %2, <b>%3 bits per weight</b>.")
                         .arg(loc.toString(m_profile.params), formatBytes(double(m_profile.bytes)),
                              num(m_profile.bitsPerWeight, 2)));
    html +=
        QStringLiteral("<p><small>%1</small></p>")
            .arg(
                note.isEmpty()
                    ? tr("Spread from %1 rows of every linear layer and %2 of the embeddings: σ the standard "
                         "deviation; max|w|/σ how far "
                         "the largest weight lies, which a quantization grid must reach; "
                         "kurtosis above 0 means "
                         "heavier tails than a Gaussian; &gt;6σ the share of outliers.")
                          .arg(m_profile.rowsPerLayer)
                          .arg(m_profile.embeddingRows)
                    : note.toHtmlEscaped());
    m_breakdown->setHtml(html);
}

} // namespace qs
