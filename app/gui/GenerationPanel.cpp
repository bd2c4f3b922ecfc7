#include "GenerationPanel.h"

#include "RunsPanel.h"
#include "ThemeColors.h"
#include "model/Model.h"
#include "model/Transformer.h"
#include "tokenizer/Tokenizer.h"
#include "util/Error.h"

#include <QBoxLayout>
#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QSplitter>
#include <QTextBlock>
#include <algorithm>

namespace qs {

namespace {
enum SideIndex { FloatSide = 0, QuantSide = 1 };

bool isModelFolder(const QString& folder)
{
    return !folder.isEmpty() && QFileInfo(QDir(folder).filePath(QStringLiteral("config.json"))).isFile();
}
} // namespace

GenerationPanel::GenerationPanel(RunsPanel* runs, QWidget* parent) : QWidget(parent), m_runs(runs)
{
    setObjectName(QStringLiteral("generationPanel"));
    m_pool.setMaxThreadCount(2); // one worker per side; the global pool stays free for other jobs

    m_prompt = new QLineEdit(tr("Once upon a time"));
    m_prompt->setObjectName(QStringLiteral("generatePrompt"));
    m_prompt->setPlaceholderText(tr("prompt"));
    m_maxTokens = new QSpinBox;
    m_maxTokens->setObjectName(QStringLiteral("generateMaxTokens"));
    m_maxTokens->setRange(1, 4096);
    m_maxTokens->setValue(64);
    m_greedy = new QCheckBox(tr("Greedy (temperature 0)"));
    m_greedy->setObjectName(QStringLiteral("generateGreedy"));
    m_greedy->setChecked(true);
    m_temperature = new QDoubleSpinBox;
    m_temperature->setObjectName(QStringLiteral("generateTemperature"));
    m_temperature->setRange(0.01, 5.0);
    m_temperature->setSingleStep(0.1);
    m_temperature->setValue(0.8);
    m_topP = new QDoubleSpinBox;
    m_topP->setObjectName(QStringLiteral("generateTopP"));
    m_topP->setRange(0.01, 1.0);
    m_topP->setSingleStep(0.05);
    m_topP->setValue(0.95);
    m_seed = new QSpinBox;
    m_seed->setObjectName(QStringLiteral("generateSeed"));
    m_seed->setRange(0, 1 << 30);
    m_seed->setValue(42);
    m_seed->setToolTip(tr("Both sides sample with the same seed, so they differ only where the models do."));
    m_quantModel = new QComboBox;
    m_quantModel->setObjectName(QStringLiteral("generateQuantModel"));
    m_quantModel->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    m_quantModel->setMinimumContentsLength(24);
    auto* browse = new QPushButton(tr("Folder…"));
    browse->setObjectName(QStringLiteral("generateBrowse"));
    browse->setToolTip(tr("A quantized model folder written by QuantScope (quantscope-cli quantize --out)"));
    connect(browse, &QPushButton::clicked, this, [this] {
        const QString dir = QFileDialog::getExistingDirectory(this, tr("Quantized Model Folder"));
        if (!dir.isEmpty())
            addQuantizedModel(QFileInfo(dir).fileName(), dir);
    });
    m_start = new QPushButton(tr("Generate"));
    m_start->setObjectName(QStringLiteral("generateStart"));
    m_stop = new QPushButton(tr("Stop"));
    m_stop->setObjectName(QStringLiteral("generateStop"));
    connect(m_start, &QPushButton::clicked, this, &GenerationPanel::start);
    connect(m_stop, &QPushButton::clicked, this, &GenerationPanel::stop);
    connect(m_prompt, &QLineEdit::returnPressed, this, &GenerationPanel::start);
    connect(m_greedy, &QCheckBox::toggled, this, &GenerationPanel::refreshEnabled);

    auto* options = new QHBoxLayout;
    options->addWidget(new QLabel(tr("Max tokens")));
    options->addWidget(m_maxTokens);
    options->addSpacing(12);
    options->addWidget(m_greedy);
    options->addWidget(new QLabel(tr("Temperature")));
    options->addWidget(m_temperature);
    options->addWidget(new QLabel(tr("Top-p")));
    options->addWidget(m_topP);
    options->addSpacing(12);
    options->addWidget(new QLabel(tr("Seed")));
    options->addWidget(m_seed);
    options->addStretch(1);
    auto* modelRow = new QHBoxLayout;
    modelRow->addWidget(new QLabel(tr("Quantized model")));
    modelRow->addWidget(m_quantModel, 1);
    modelRow->addWidget(browse);
    modelRow->addSpacing(12);
    modelRow->addWidget(m_start);
    modelRow->addWidget(m_stop);
    auto* form = new QFormLayout;
    form->addRow(tr("Prompt"), m_prompt);
    auto* top = new QGroupBox(tr("Generate with the float and a quantized model side by side"));
    auto* topLayout = new QVBoxLayout(top);
    topLayout->addLayout(form);
    topLayout->addLayout(options);
    topLayout->addLayout(modelRow);

    m_message = new QLabel;
    m_message->setObjectName(QStringLiteral("generateMessage"));
    m_message->setWordWrap(true);
    m_divergenceLabel = new QLabel;
    m_divergenceLabel->setObjectName(QStringLiteral("generateDivergence"));
    m_divergenceLabel->setWordWrap(true);
    m_divergenceLabel->setTextFormat(Qt::RichText);

    auto* split = new QSplitter(Qt::Horizontal);
    const char* textNames[] = {"generateFloatText", "generateQuantText"};
    const char* statusNames[] = {"generateFloatStatus", "generateQuantStatus"};
    const QString titles[] = {tr("Float model"), tr("Quantized model")};
    for (int s = 0; s < 2; ++s) {
        Side& side = m_sides[std::size_t(s)];
        side.text = new QPlainTextEdit;
        side.text->setObjectName(QLatin1String(textNames[s]));
        side.text->setReadOnly(true);
        side.status = new QLabel;
        side.status->setObjectName(QLatin1String(statusNames[s]));
        auto* box = new QGroupBox(titles[s]);
        auto* l = new QVBoxLayout(box);
        l->addWidget(side.text, 1);
        l->addWidget(side.status);
        split->addWidget(box);
    }
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(top);
    layout->addWidget(m_message);
    layout->addWidget(split, 1);
    layout->addWidget(m_divergenceLabel);

    if (m_runs)
        connect(m_runs, &RunsPanel::runFinished, this, &GenerationPanel::refreshRuns);
    refreshEnabled();
}

GenerationPanel::~GenerationPanel()
{
    if (m_cancel)
        m_cancel->cancel();
    m_pool.waitForDone();
}

void GenerationPanel::setModel(std::shared_ptr<const Model> model)
{
    stop();
    m_pool.waitForDone(); // the workers hold the old model; none may outlive the switch
    m_model = std::move(model);
    for (Side& side : m_sides) {
        side.job.discard(); // its outcome belongs to the old model
        side.running = false;
        side.transformer.reset();
        side.tokenizer.reset();
        side.source.clear();
        side.result.reset();
        side.text->clear();
        side.status->clear();
    }
    m_quantModel->clear();
    m_divergenceLabel->clear();
    m_divergence = -1;
    refreshRuns();
}

void GenerationPanel::addQuantizedModel(const QString& name, const QString& folder)
{
    const int existing = m_quantModel->findData(folder);
    if (existing >= 0) {
        m_quantModel->setCurrentIndex(existing);
        return;
    }
    m_quantModel->addItem(name, folder);
    m_quantModel->setCurrentIndex(m_quantModel->count() - 1);
    refreshEnabled();
}

int GenerationPanel::quantizedModelCount() const
{
    return m_quantModel->count();
}

void GenerationPanel::refreshRuns()
{
    if (!m_runs)
        return;
    for (const RunSummary& r : m_runs->runs()) {
        if (isModelFolder(r.source) && m_quantModel->findData(r.source) < 0)
            addQuantizedModel(
                tr("%1 (%2, %3 bpw)").arg(r.name, r.recipeSummary).arg(r.bitsPerWeight, 0, 'f', 2), r.source);
    }
    refreshEnabled();
}

bool GenerationPanel::isRunning() const
{
    return m_sides[0].running || m_sides[1].running;
}

void GenerationPanel::refreshEnabled()
{
    const bool running = isRunning();
    m_start->setEnabled(m_model && !running);
    m_stop->setEnabled(running);
    m_temperature->setEnabled(!m_greedy->isChecked());
    m_topP->setEnabled(!m_greedy->isChecked());
    if (!running) {
        m_message->setText(
            !m_model ? tr("Open a model to generate text.")
            : m_quantModel->count() == 0
                ? tr("No quantized model yet: run a plan (Plan › Run; it appears here when it finishes) or "
                     "choose a quantized model folder. The float side generates on its own meanwhile.")
                : QString());
    }
}

void GenerationPanel::start()
{
    if (!m_model || isRunning())
        return;
    ++m_generation;
    m_cancel = std::make_shared<CancelToken>();
    m_divergence = -1;
    m_divergenceLabel->clear();
    startSide(FloatSide, m_model->path(), m_model);
    const QString folder = m_quantModel->currentData().toString();
    Side& q = m_sides[QuantSide];
    q.text->clear();
    q.text->setExtraSelections({});
    q.result.reset();
    if (!folder.isEmpty())
        startSide(QuantSide, folder, nullptr);
    else
        q.status->setText(tr("No quantized model chosen."));
    refreshEnabled();
    m_message->setText(tr("Generating…"));
}

void GenerationPanel::stop()
{
    if (m_cancel)
        m_cancel->cancel();
}

void GenerationPanel::startSide(int index, const QString& folder, std::shared_ptr<const Model> model)
{
    Side& side = m_sides[std::size_t(index)];
    if (side.source != folder) { // another model: its cached transformer and tokenizer no longer apply
        side.transformer.reset();
        side.tokenizer.reset();
        side.source = folder;
    }
    side.result.reset();
    side.running = true;
    side.failed = false;
    side.text->setExtraSelections({});
    side.text->setPlainText(m_prompt->text());
    side.status->setText(side.transformer ? tr("generating…") : tr("loading the model…"));

    GenerateOptions opt;
    opt.maxTokens = m_maxTokens->value();
    opt.temperature = m_greedy->isChecked() ? 0.0f : float(m_temperature->value());
    opt.topP = float(m_topP->value());
    opt.seed = std::uint64_t(m_seed->value());
    const std::string prompt = m_prompt->text().toStdString();
    const int generation = m_generation;
    const auto onToken =
        queuedWhileAlive<std::string>(this, [this, index, generation](const std::string& piece) {
            appendPiece(index, generation, QString::fromStdString(piece));
        });
    JobOptions options;
    options.pool = &m_pool;
    options.cancel = m_cancel; // Stop ends both sides
    side.job = runJob<Outcome>(
        this,
        [folder, model, transformer = side.transformer, tokenizer = side.tokenizer, prompt, opt,
         onToken](Outcome& out, const JobContext& ctx) {
            // What was loaded is kept even when generation is stopped: the next start reuses it.
            out.transformer = transformer;
            out.tokenizer = tokenizer;
            if (!out.transformer) {
                const std::shared_ptr<const Model> m = model ? model : Model::open(folder);
                out.transformer = std::make_shared<const Transformer>(m);
            }
            ctx.checkCancelled();
            if (!out.tokenizer)
                out.tokenizer = std::shared_ptr<const Tokenizer>(Tokenizer::load(folder));
            out.result = generate(*out.transformer, *out.tokenizer, prompt, opt, onToken, ctx);
        },
        [this, index](const JobOutcome<Outcome>& out) { onSideFinished(index, out); }, options);
}

void GenerationPanel::appendPiece(int index, int generation, const QString& piece)
{
    Side& side = m_sides[std::size_t(index)];
    if (generation != m_generation || !side.running)
        return; // a late piece of an earlier generation
    QTextCursor c(side.text->document());
    c.movePosition(QTextCursor::End);
    c.insertText(piece);
    side.status->setText(tr("generating…"));
}

void GenerationPanel::onSideFinished(int index, const JobOutcome<Outcome>& outcome)
{
    Side& side = m_sides[std::size_t(index)];
    const Outcome& out = outcome.value;
    side.running = false;
    if (out.transformer) {
        side.transformer = out.transformer;
        side.tokenizer = out.tokenizer;
    }
    if (out.result) {
        side.result = out.result;
        // The final text as core decoded it (streamed pieces can hold half a UTF-8 character).
        side.text->setPlainText(m_prompt->text() + QString::fromStdString(out.result->text));
        side.status->setText(tr("%n token(s) · %1 tokens/s", nullptr, int(out.result->tokens.size()))
                                 .arg(QLocale().toString(out.result->tokensPerSecond, 'f', 1)));
    } else if (outcome.cancelled) {
        side.status->setText(tr("Stopped."));
    } else {
        side.failed = true;
        side.status->setText(tr("Failed: %1").arg(outcome.error));
    }
    if (isRunning())
        return;
    refreshEnabled();
    showDivergence();
    const bool ok = !m_sides[0].failed && !m_sides[1].failed && m_sides[0].result.has_value();
    Q_EMIT generationFinished(ok);
}

void GenerationPanel::showDivergence()
{
    m_divergence = -1;
    const Side& f = m_sides[FloatSide];
    const Side& q = m_sides[QuantSide];
    if (!f.result || !q.result || !f.tokenizer) {
        m_divergenceLabel->clear();
        return;
    }
    const std::vector<int>& a = f.result->tokens;
    const std::vector<int>& b = q.result->tokens;
    std::size_t k = 0;
    while (k < a.size() && k < b.size() && a[k] == b[k])
        ++k;
    if (k == a.size() && k == b.size()) {
        m_divergenceLabel->setText(tr("Both models generated the same %n token(s).", nullptr, int(a.size())));
        return;
    }
    m_divergence = int(k);
    const Tokenizer& tok = *f.tokenizer;
    auto pieceOf = [&](const std::vector<int>& t) {
        return k < t.size() ? QString::fromStdString(tok.piece(t[k])).toHtmlEscaped() : tr("(end)");
    };
    m_divergenceLabel->setText(
        tr("First divergence at generated token %1: float <b>%2</b> vs quantized <b>%3</b>")
            .arg(k + 1)
            .arg(pieceOf(a), pieceOf(b)));
    // Highlight the diverging token in both texts: its span is what it adds to the decoded prefix.
    const int promptLength = int(m_prompt->text().size());
    for (int s = 0; s < 2; ++s) {
        Side& side = m_sides[std::size_t(s)];
        const std::vector<int>& t = side.result->tokens;
        if (k >= t.size())
            continue;
        const std::vector<int> before(t.begin(), t.begin() + std::ptrdiff_t(k));
        const std::vector<int> through(t.begin(), t.begin() + std::ptrdiff_t(k + 1));
        const int from = promptLength + int(QString::fromStdString(tok.decode(before)).size());
        const int to = promptLength + int(QString::fromStdString(tok.decode(through)).size());
        const int end = side.text->document()->characterCount() - 1;
        QTextEdit::ExtraSelection sel;
        sel.cursor = QTextCursor(side.text->document());
        sel.cursor.setPosition(std::clamp(from, 0, end));
        sel.cursor.setPosition(std::clamp(std::max(to, from + 1), 0, end), QTextCursor::KeepAnchor);
        sel.format.setBackground(theme::matchTint(palette()));
        sel.format.setFontWeight(QFont::Bold);
        side.text->setExtraSelections({sel});
    }
}

} // namespace qs
