#include "MixedPrecisionPanel.h"

#include "AppSettings.h"
#include "HeatmapRangeBox.h"
#include "LayerErrorBars.h"
#include "LayerErrorHeatmap.h"
#include "ParetoFrontPlot.h"
#include "PlanDocument.h"
#include "SchemePicker.h"
#include "TableColumns.h"
#include "TextFileField.h"
#include "ThemeColors.h"
#include "model/Model.h"
#include "recipe/LayerPlan.h"
#include "tokenizer/Tokenizer.h"
#include "util/Error.h"

#include <QBoxLayout>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHeaderView>
#include <QKeyEvent>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QProgressBar>
#include <QPushButton>
#include <QSlider>
#include <QSpinBox>
#include <QSplitter>
#include <QTableWidget>
#include <cmath>

namespace qs {

namespace {
constexpr int kSliderSteps = 1000;

/// The budget typed in bits per weight: arrows step 0.05, Page Up/Down 0.25.
class BudgetSpinBox : public QDoubleSpinBox
{
public:
    BudgetSpinBox()
    {
        setDecimals(2);
        setSingleStep(0.05);
        setSuffix(MixedPrecisionPanel::tr(" bpw"));
        setKeyboardTracking(false); // a typed "4.5" is one budget, not "4" first
    }

protected:
    void keyPressEvent(QKeyEvent* event) override
    {
        if (event->key() == Qt::Key_PageUp || event->key() == Qt::Key_PageDown) {
            stepBy(event->key() == Qt::Key_PageUp ? 5 : -5);
            event->accept();
            return;
        }
        QDoubleSpinBox::keyPressEvent(event);
    }
};
/// A table cell showing a number: right-aligned, so that the digits line up.
QTableWidgetItem* numberItem(const QString& text)
{
    auto* item = new QTableWidgetItem(text);
    item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
    return item;
}

enum ProposalColumn {
    ProposalLayer,
    ProposalScheme,
    ProposalStored,
    ProposalBpw,
    ProposalKld,
    ProposalColumns
};
} // namespace

MixedPrecisionPanel::MixedPrecisionPanel(PlanDocument* doc, QWidget* parent) : QWidget(parent), m_doc(doc)
{
    setObjectName(QStringLiteral("mixedPrecisionPanel"));
    // Default: llama.cpp k-quants, which need no calibration text and export as GGUF.
    m_schemes = new SchemePicker;
    m_evalText = new TextFileField(QStringLiteral("sweepEvalText"), tr("Evaluation text"),
                                   QLatin1String(AppSettings::kEvaluationText));
    m_calibText = new TextFileField(QStringLiteral("sweepCalibText"), tr("Calibration text"),
                                    QLatin1String(AppSettings::kCalibrationText));
    setDataDirectory(AppSettings::load().effectiveDataDirectory());
    m_chunks = new QSpinBox;
    m_chunks->setObjectName(QStringLiteral("sweepChunks"));
    m_chunks->setRange(1, 4096);
    m_chunks->setValue(32);
    m_chunks->setSuffix(tr(" chunks of 128 tokens"));
    m_run = new QPushButton(tr("Run sweep"));
    m_run->setObjectName(QStringLiteral("runSweep"));
    m_cancelButton = new QPushButton(tr("Cancel"));
    m_cancelButton->setObjectName(QStringLiteral("cancelSweep"));
    m_cancelButton->setEnabled(false);
    auto* load = new QPushButton(tr("Load results…"));
    load->setObjectName(QStringLiteral("loadSensitivity"));
    auto* save = new QPushButton(tr("Save results…"));
    save->setObjectName(QStringLiteral("saveSensitivity"));
    m_progress = new QProgressBar;
    m_progress->setObjectName(QStringLiteral("sweepProgress"));
    m_progress->setRange(0, 1000);
    m_status = new QLabel(tr("Measure how much each layer suffers from each scheme, one layer at a time."));
    m_status->setObjectName(QStringLiteral("sweepStatus"));
    m_status->setWordWrap(true);
    connect(m_run, &QPushButton::clicked, this, &MixedPrecisionPanel::startSweep);
    connect(m_cancelButton, &QPushButton::clicked, this, &MixedPrecisionPanel::cancelSweep);
    connect(load, &QPushButton::clicked, this, &MixedPrecisionPanel::loadDialog);
    connect(save, &QPushButton::clicked, this, &MixedPrecisionPanel::saveDialog);

    auto* form = new QFormLayout;
    form->addRow(tr("Schemes"), m_schemes);
    form->addRow(tr("Evaluation text"), m_evalText);
    form->addRow(tr("Calibration text"), m_calibText);
    form->addRow(tr("Sample"), m_chunks);
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(m_run);
    buttons->addWidget(m_cancelButton);
    buttons->addWidget(m_progress, 1);
    buttons->addWidget(load);
    buttons->addWidget(save);
    auto* sweepBox = new QGroupBox(tr("Sensitivity sweep"));
    sweepBox->setObjectName(QStringLiteral("sweepSettings"));
    auto* sweepLayout = new QVBoxLayout(sweepBox);
    sweepLayout->addLayout(form);
    sweepLayout->addLayout(buttons);
    sweepLayout->addWidget(m_status);

    m_heatmap = new LayerErrorHeatmap;
    m_heatmap->setObjectName(QStringLiteral("sensitivityHeatmap"));
    m_heatmap->setTitle(tr("KLD when only this layer is quantized"));
    m_bars = new LayerErrorBars;
    m_bars->setObjectName(QStringLiteral("sensitivityBars"));
    m_bars->setTitle(tr("Layers by sensitivity"));
    m_bars->setSorted(true);
    m_bars->setLogScale(true);
    m_barScheme = new QComboBox;
    m_barScheme->setObjectName(QStringLiteral("barScheme"));
    connect(m_barScheme, &QComboBox::currentIndexChanged, this, &MixedPrecisionPanel::updateBars);
    m_pareto = new ParetoFrontPlot;
    for (PlotWidget* p : std::initializer_list<PlotWidget*>{m_heatmap, m_bars, m_pareto})
        p->setMinimumHeight(220);

    m_budget = new QSlider(Qt::Horizontal);
    m_budget->setObjectName(QStringLiteral("budgetSlider"));
    m_budget->setRange(0, kSliderSteps);
    m_budget->setEnabled(false);
    m_budgetLabel = new QLabel;
    m_budgetLabel->setObjectName(QStringLiteral("budgetLabel"));
    m_apply = new QPushButton(tr("Apply plan"));
    m_apply->setObjectName(QStringLiteral("applyPlan"));
    m_apply->setEnabled(false);
    m_budgetSpin = new BudgetSpinBox;
    m_budgetSpin->setObjectName(QStringLiteral("budgetSpin"));
    m_budgetSpin->setEnabled(false);
    // The slider moves the number; the number places the slider and is the budget.
    connect(m_budget, &QSlider::valueChanged, this, [this](int step) {
        const double lo = m_budgetSpin->minimum(), hi = m_budgetSpin->maximum();
        if (m_allocator)
            m_budgetSpin->setValue(lo + (hi - lo) * step / double(kSliderSteps));
    });
    connect(m_budgetSpin, &QDoubleSpinBox::valueChanged, this, &MixedPrecisionPanel::setBudget);
    connect(m_apply, &QPushButton::clicked, this, &MixedPrecisionPanel::applyProposal);
    m_proposalTable = new QTableWidget(0, ProposalColumns);
    m_proposalTable->setObjectName(QStringLiteral("proposalTable"));
    m_proposalTable->setHorizontalHeaderLabels(
        {tr("Layer"), tr("Scheme"), tr("Stored as"), tr("bpw"), tr("KLD alone")});
    m_proposalTable->horizontalHeaderItem(ProposalStored)
        ->setToolTip(tr("The type llama-quantize really stores: a k-quant whose block does not divide a "
                        "layer's rows falls back to another type (or F16)"));
    favourNumberColumns(m_proposalTable, ProposalLayer);
    m_proposalTable->verticalHeader()->hide();
    m_proposalTable->setEditTriggers(QAbstractItemView::NoEditTriggers);
    auto* budgetRow = new QHBoxLayout;
    budgetRow->addWidget(new QLabel(tr("Budget:")));
    budgetRow->addWidget(m_budget, 1);
    budgetRow->addWidget(m_budgetSpin);
    budgetRow->addWidget(m_budgetLabel);
    budgetRow->addWidget(m_apply);
    auto* proposalBox = new QWidget;
    auto* proposalLayout = new QVBoxLayout(proposalBox);
    proposalLayout->setContentsMargins(0, 0, 0, 0);
    proposalLayout->addLayout(budgetRow);
    auto* lower = new QSplitter(Qt::Horizontal);
    lower->addWidget(m_pareto);
    lower->addWidget(m_proposalTable);
    proposalLayout->addWidget(lower, 1);

    auto* barsBox = new QWidget;
    auto* barsLayout = new QVBoxLayout(barsBox);
    barsLayout->setContentsMargins(0, 0, 0, 0);
    auto* barsRow = new QHBoxLayout;
    barsRow->addWidget(new QLabel(tr("Scheme:")));
    barsRow->addWidget(m_barScheme, 1);
    barsLayout->addLayout(barsRow);
    barsLayout->addWidget(m_bars, 1);
    // The sweep's KLDs on a fixed colour range the user can move (as the Runs page's heatmap).
    auto* heatmapBox = new QWidget;
    auto* heatmapLayout = new QVBoxLayout(heatmapBox);
    heatmapLayout->setContentsMargins(0, 0, 0, 0);
    auto* rangeRow = new QHBoxLayout;
    rangeRow->addWidget(new HeatmapRangeBox(m_heatmap));
    rangeRow->addStretch(1);
    heatmapLayout->addLayout(rangeRow);
    heatmapLayout->addWidget(m_heatmap, 1);
    auto* plots = new QSplitter(Qt::Horizontal);
    plots->addWidget(heatmapBox);
    plots->addWidget(barsBox);
    plots->setStretchFactor(0, 3);
    plots->setStretchFactor(1, 2);
    auto* split = new QSplitter(Qt::Vertical);
    split->addWidget(plots);
    split->addWidget(proposalBox);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(sweepBox);
    layout->addWidget(split, 1);
}

MixedPrecisionPanel::~MixedPrecisionPanel()
{
    m_sweep.cancel();
    m_sweep.waitForFinished();
}

void MixedPrecisionPanel::setDataDirectory(const QString& path)
{
    m_evalText->setDataDirectory(path);
    m_calibText->setDataDirectory(path);
}

bool MixedPrecisionPanel::isRunning() const
{
    return m_sweep.isRunning();
}

void MixedPrecisionPanel::setModel(std::shared_ptr<const Model> model)
{
    m_model = std::move(model);
    m_results.reset();
    Q_EMIT resultsChanged();
    m_partial.reset();
    m_allocator.reset();
    m_proposal.reset();
    m_heatmap->setMatrix({}, QString());
    m_matrix = {};
    m_barScheme->clear();
    m_bars->setMatrix({}, QString());
    m_pareto->clear();
    m_proposalTable->setRowCount(0);
    m_budget->setEnabled(false);
    m_budgetSpin->setEnabled(false);
    m_apply->setEnabled(false);
    m_budgetLabel->clear();
}

void MixedPrecisionPanel::startSweep()
{
    if (!m_model || isRunning())
        return;
    SensitivitySettings s;
    try {
        s.schemes = parseSchemes(m_schemes->text());
    } catch (const Error& e) {
        Q_EMIT errorOccurred(tr("Cannot start the sweep"), e.message());
        return;
    }
    s.evalText = m_evalText->path();
    s.eval.ctx = 128;
    s.eval.maxChunks = m_chunks->value();
    s.calibration.text = m_calibText->path();
    // Inputs are checked before the job starts: a sweep that cannot work never begins.
    const QString page = tr("Mixed precision");
    if (!TextFileField::problem(s.evalText).isEmpty()) {
        m_evalText->focusForFix();
        Q_EMIT errorOccurred(tr("Cannot start the sweep"), m_evalText->message(s.evalText, page));
        return;
    }
    const bool needsCalibration =
        std::any_of(s.schemes.begin(), s.schemes.end(),
                    [](const SensitivityScheme& x) { return x.spec.needsCalibration(); });
    if ((needsCalibration || !s.calibration.text.isEmpty()) &&
        !TextFileField::problem(s.calibration.text).isEmpty()) {
        m_calibText->focusForFix();
        Q_EMIT errorOccurred(tr("Cannot start the sweep"), m_calibText->message(s.calibration.text, page));
        return;
    }
    s.calibration.samples = 64;
    s.calibration.seqLen = 128;
    JobOptions options;
    options.progress = [this](const JobProgress& p) {
        if (p.fraction >= 0)
            m_progress->setValue(int(p.fraction * 1000));
        QString text = p.stage + u' ' + p.detail;
        if (p.etaSeconds >= 0)
            text += tr(" — about %1 s left").arg(p.etaSeconds, 0, 'f', 0);
        m_status->setText(text);
    };
    const auto previous = m_partial;
    const auto model = m_model;
    m_run->setEnabled(false);
    m_cancelButton->setEnabled(true);
    m_progress->setValue(0);
    m_status->setText(tr("Starting…"));
    // The value is what the sweep has measured so far: all of it, or what a Cancel keeps.
    m_sweep = runJob<std::optional<SensitivityResult>>(
        this,
        [model, s, previous](std::optional<SensitivityResult>& out, const JobContext& job) {
            out = previous;
            const auto tokenizer = Tokenizer::load(model->path());
            // Called on this thread after each measurement, before its progress report.
            const auto keep = [&out](const SensitivityResult& p) { out = p; };
            try {
                out = runSensitivity(model, *tokenizer, s, previous ? &*previous : nullptr, job, keep);
            } catch (const Error& e) {
                if (!previous || !e.message().contains(QStringLiteral("cannot resume")))
                    throw;
                out = runSensitivity(model, *tokenizer, s, nullptr, job, keep); // other settings: start over
            }
        },
        [this](const JobOutcome<std::optional<SensitivityResult>>& out) { onSweepFinished(out); }, options);
}

void MixedPrecisionPanel::cancelSweep()
{
    m_sweep.cancel();
    m_status->setText(tr("Cancelling after the current layer…"));
}

void MixedPrecisionPanel::onSweepFinished(const JobOutcome<std::optional<SensitivityResult>>& out)
{
    m_run->setEnabled(true);
    m_cancelButton->setEnabled(false);
    if (!out.error.isEmpty()) {
        m_status->setText(tr("Sweep failed: %1").arg(out.error));
        Q_EMIT errorOccurred(tr("Sensitivity sweep failed"), out.error);
        Q_EMIT sweepFinished(false, out.error);
        return;
    }
    if (out.cancelled) {
        m_partial = out.value;
        const int kept = out.value ? int(out.value->entries.size()) : 0;
        m_status->setText(
            tr("Cancelled: %n measurement(s) kept; Run sweep continues from there.", nullptr, kept));
        if (out.value)
            setResults(*out.value);
        Q_EMIT sweepFinished(false, tr("cancelled"));
        return;
    }
    m_partial.reset();
    m_progress->setValue(1000);
    m_status->setText(tr("Sweep done: %1 measurements in %2 s, base perplexity %3 on %4 tokens.")
                          .arg(out.value->entries.size())
                          .arg(out.value->seconds, 0, 'f', 1)
                          .arg(out.value->basePpl, 0, 'f', 3)
                          .arg(out.value->evalTokens));
    setResults(*out.value);
    Q_EMIT sweepRecordable(*out.value, tr("sweep run in QuantScope"));
    Q_EMIT sweepFinished(true, {});
}

void MixedPrecisionPanel::setResults(const SensitivityResult& results)
{
    if (m_model && results.modelFingerprint != m_model->architectureFingerprint())
        throw Error(
            tr("These sensitivity results were measured on another model (%1).").arg(results.modelName));
    m_results = results;
    Q_EMIT resultsChanged();
    LayerErrorMatrix m;
    for (const SensitivityUnit& u : results.units)
        m.layers << u.name;
    for (const SensitivityScheme& s : results.schemes)
        m.runs << s.name;
    m.values.assign(std::size_t(m.layers.size() * m.runs.size()), std::nan(""));
    for (int l = 0; l < int(m.layers.size()); ++l)
        for (int k = 0; k < int(m.runs.size()); ++k)
            if (const SensitivityEntry* e = results.find(m.layers[l], m.runs[k]))
                m.values[std::size_t(l) * std::size_t(m.runs.size()) + std::size_t(k)] =
                    std::max(e->kld, 1e-9);
    m_heatmap->setMatrix(m, tr("KLD"));
    if (m_model) {
        std::vector<QString> notes(m.values.size());
        bool any = false;
        for (int l = 0; l < int(m.layers.size()); ++l) {
            for (int k = 0; k < int(m.runs.size()); ++k) {
                QString why;
                const QString fallback = sensitivityFallback(*m_model, results.units[std::size_t(l)],
                                                             results.schemes[std::size_t(k)].spec, &why);
                if (!fallback.isEmpty())
                    notes[std::size_t(l) * std::size_t(m.runs.size()) + std::size_t(k)] =
                        tr("stored as %1: %2").arg(fallback, why);
                any = any || !fallback.isEmpty();
            }
        }
        m_heatmap->setCellNotes(notes);
        m_heatmap->setTitle(any ? tr("KLD when only this layer is quantized\n× measured with llama.cpp's "
                                     "fallback type, not the scheme's (hover for which)")
                                : tr("KLD when only this layer is quantized"));
    }
    m_matrix = m;
    {
        const QSignalBlocker block(m_barScheme);
        m_barScheme->clear();
        m_barScheme->addItems(m.runs);
        m_barScheme->setCurrentIndex(std::min(1, int(m.runs.size()) - 1)); // the second scheme: usually 3-bit
    }
    updateBars();
    m_allocator.reset();
    m_proposal.reset();
    QString whyNot = tr("complete the sweep to allocate");
    try {
        if (results.complete)
            m_allocator = std::make_unique<Allocator>(*m_results, LossMetric::Kld);
    } catch (const Error& e) { // a shard of a sweep, say: what to do goes where the budget would be
        m_status->setText(e.message());
        whyNot = e.message();
    }
    m_budget->setEnabled(bool(m_allocator));
    m_budgetSpin->setEnabled(bool(m_allocator));
    m_apply->setEnabled(bool(m_allocator));
    if (!m_allocator) {
        m_pareto->clear();
        m_proposalTable->setRowCount(0);
        m_budgetLabel->setText(QStringLiteral("(%1)").arg(whyNot));
        return;
    }
    std::vector<ParetoFrontPlot::Point> front, uniform;
    for (const AllocationPlan& p : m_allocator->paretoFront())
        front.push_back({QString(), p.bitsPerWeight, p.predictedLoss});
    for (int k = 0; k < int(m_allocator->schemeIndices().size()); ++k) {
        const AllocationPlan u = m_allocator->uniform(k);
        uniform.push_back({results.schemes[std::size_t(m_allocator->schemeIndices()[std::size_t(k)])].name,
                           u.bitsPerWeight, u.predictedLoss});
    }
    m_pareto->setData(front, uniform, tr("KLD"));
    const double lo = m_allocator->minBitsPerWeight(), hi = m_allocator->maxBitsPerWeight();
    {
        const QSignalBlocker block(m_budgetSpin); // its range, in its steps, holds the plan's
        m_budgetSpin->setRange(std::floor(lo * 100) / 100, std::ceil(hi * 100) / 100);
    }
    setBudget(lo + (hi - lo) / 3);
}

void MixedPrecisionPanel::updateBars()
{
    const int k = m_barScheme->currentIndex();
    if (k < 0 || m_matrix.runs.isEmpty()) {
        m_bars->setMatrix({}, QString());
        return;
    }
    LayerErrorMatrix one;
    one.layers = m_matrix.layers;
    one.runs = QStringList{m_matrix.runs[k]};
    for (int l = 0; l < int(m_matrix.layers.size()); ++l)
        one.values.push_back(m_matrix.at(l, k));
    m_bars->setMatrix(one, tr("KLD"));
}

void MixedPrecisionPanel::setBudget(double bpw)
{
    if (!m_allocator)
        return;
    {
        const QSignalBlocker a(m_budget), b(m_budgetSpin);
        m_budgetSpin->setValue(bpw); // rounded to its steps and range
        const double lo = m_budgetSpin->minimum(), hi = m_budgetSpin->maximum();
        m_budget->setValue(
            int(std::lround((m_budgetSpin->value() - lo) / std::max(1e-9, hi - lo) * kSliderSteps)));
    }
    updateProposal();
}

void MixedPrecisionPanel::updateProposal()
{
    if (!m_allocator)
        return;
    const double lo = m_allocator->minBitsPerWeight();
    const double bpw = m_budgetSpin->value();
    try {
        m_proposal = m_allocator->forBitsPerWeight(std::max(lo, bpw));
    } catch (const Error& e) {
        m_budgetLabel->setText(e.message());
        return;
    }
    const AllocationPlan& p = *m_proposal;
    const QLocale loc;
    m_budgetLabel->setText(
        tr("→ plan %1 bpw, predicted KLD %2")
            .arg(loc.toString(p.bitsPerWeight, 'f', 3), loc.toString(p.predictedLoss, 'g', 4)));
    m_pareto->setProposal(bpw, {tr("proposal"), p.bitsPerWeight, p.predictedLoss});
    const SensitivityResult& r = *m_results;
    m_proposalTable->setRowCount(int(r.units.size()));
    for (int u = 0; u < int(r.units.size()); ++u) {
        const SensitivityScheme& scheme = r.schemes[std::size_t(p.choice[std::size_t(u)])];
        const SensitivityEntry* e = r.find(r.units[std::size_t(u)].name, scheme.name);
        m_proposalTable->setItem(u, ProposalLayer, new QTableWidgetItem(r.units[std::size_t(u)].name));
        m_proposalTable->setItem(u, ProposalScheme, new QTableWidgetItem(scheme.name));
        // What llama-quantize stores: a fallback is named and tinted, never shown as the scheme.
        QString why;
        const QString fallback =
            m_model ? sensitivityFallback(*m_model, r.units[std::size_t(u)], scheme.spec, &why) : QString();
        auto* stored = new QTableWidgetItem(fallback.isEmpty() ? schemeLabel(scheme.spec) : fallback);
        if (!fallback.isEmpty()) {
            stored->setToolTip(why);
            stored->setBackground(theme::fallbackTint(palette()));
        }
        m_proposalTable->setItem(u, ProposalStored, stored);
        m_proposalTable->setItem(u, ProposalBpw, numberItem(loc.toString(e ? e->bitsPerWeight : 0, 'f', 3)));
        m_proposalTable->setItem(u, ProposalKld, numberItem(loc.toString(e ? e->kld : 0, 'g', 4)));
    }
}

void MixedPrecisionPanel::applyProposal()
{
    if (!m_allocator || !m_proposal || !m_model)
        return;
    try {
        const Recipe r = m_allocator->toRecipe(*m_proposal, *m_model,
                                               tr("mixed %1 bpw").arg(m_proposal->bitsPerWeight, 0, 'f', 3));
        m_doc->replaceRecipe(
            r, tr("Apply mixed-precision plan (%1 bpw)").arg(m_proposal->bitsPerWeight, 0, 'f', 3));
    } catch (const Error& e) {
        Q_EMIT errorOccurred(tr("Cannot apply the plan"), e.message());
    }
}

void MixedPrecisionPanel::loadDialog()
{
    const QString path =
        QFileDialog::getOpenFileName(this, tr("Load Sensitivity Results"), QString(), tr("JSON (*.json)"));
    if (!path.isEmpty())
        loadFile(path);
}

bool MixedPrecisionPanel::loadFile(const QString& path)
{
    try {
        const SensitivityResult loaded = SensitivityResult::load(path);
        setResults(loaded);
        m_status->setText(tr("Loaded %1").arg(path));
        if (!loaded.shard.sharded()) // a merged or whole sweep goes into the history
            Q_EMIT sweepRecordable(loaded, QFileInfo(path).absoluteFilePath());
        return true;
    } catch (const Error& e) {
        Q_EMIT errorOccurred(tr("Cannot load the sensitivity results"), e.message());
        return false;
    }
}

void MixedPrecisionPanel::saveDialog()
{
    if (!m_results)
        return;
    const QString path =
        QFileDialog::getSaveFileName(this, tr("Save Sensitivity Results"), QString(), tr("JSON (*.json)"));
    if (path.isEmpty())
        return;
    try {
        m_results->save(path);
    } catch (const Error& e) {
        Q_EMIT errorOccurred(tr("Cannot save the sensitivity results"), e.message());
    }
}

} // namespace qs
