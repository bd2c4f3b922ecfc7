#include "PlaygroundPanel.h"

#include "PlaygroundPlots.h"
#include "ThemeColors.h"
#include "model/Model.h"
#include "spec/QuantSpec.h"
#include "util/Error.h"
#include "util/Paths.h"

#include <QAction>
#include <QBoxLayout>
#include <QCheckBox>
#include <QComboBox>
#include <QCoreApplication>
#include <QDoubleSpinBox>
#include <QElapsedTimer>
#include <QFileDialog>
#include <QFormLayout>
#include <QGroupBox>
#include <QLabel>
#include <QMenu>
#include <QMessageBox>
#include <QPushButton>
#include <QScrollArea>
#include <QScrollBar>
#include <QSlider>
#include <QSpinBox>
#include <QSplitter>
#include <QStackedWidget>
#include <cmath>
#include <map>

namespace qs {

namespace {
constexpr double kPresentationScale = 1.7;
constexpr int kPerChannel = 0; ///< group-size combo data for "per channel"
} // namespace

PlaygroundPanel::PlaygroundPanel(QWidget* parent) : QWidget(parent)
{
    setObjectName(QStringLiteral("playgroundPanel"));
    m_basePointSize = font().pointSizeF() > 0 ? font().pointSizeF() : 9.0;
    QWidget* sourceBox = createSourceBox();
    QWidget* quantBox = createQuantizationBox();
    QWidget* statsBox = createStatsBox();
    createPresentationControls();

    auto* controls = new QWidget;
    auto* controlsLayout = new QVBoxLayout(controls);
    controlsLayout->addWidget(sourceBox);
    controlsLayout->addWidget(quantBox);
    controlsLayout->addWidget(m_message);
    controlsLayout->addWidget(m_presentationButton);
    controlsLayout->addStretch(1);
    auto* scroll = m_controls = new QScrollArea;
    scroll->setWidget(controls);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    // The result stays in view below the settings, whatever they scroll (a projector's 768 rows).
    auto* side = new QWidget;
    auto* sideLayout = new QVBoxLayout(side);
    sideLayout->setContentsMargins(0, 0, 0, 0);
    sideLayout->addWidget(scroll, 1);
    sideLayout->addWidget(statsBox);

    m_valuesPlot = new PlaygroundValuesPlot;
    m_errorPlot = new PlaygroundErrorPlot;
    auto* plots = new QSplitter(Qt::Vertical);
    plots->addWidget(m_valuesPlot);
    plots->addWidget(m_errorPlot);
    plots->setStretchFactor(0, 3);
    plots->setStretchFactor(1, 2);
    auto* split = new QSplitter(Qt::Horizontal);
    split->addWidget(side);
    split->addWidget(plots);
    split->setStretchFactor(1, 1);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(split);

    connectControls();
    fitControlsWidth();
    // Without a model the synthetic source is the only one that works: start there.
    populateLayers();
    m_source->setCurrentIndex(1);
    reloadRow();
}

/// The row to quantize: a real weight row of the loaded model or a synthetic distribution.
QWidget* PlaygroundPanel::createSourceBox()
{
    m_source = new QComboBox;
    m_source->setObjectName(QStringLiteral("playgroundSource"));
    m_source->addItem(tr("Real weight row"));
    m_source->addItem(tr("Synthetic distribution"));
    m_layer = new QComboBox;
    m_layer->setObjectName(QStringLiteral("playgroundLayer"));
    m_layer->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    m_layer->setMinimumContentsLength(18);
    m_row = makeSpin("playgroundRow", 0, 1 << 30, 0);
    m_rowInfo = new QLabel;
    m_rowInfo->setObjectName(QStringLiteral("playgroundRowInfo"));
    m_rowInfo->setWordWrap(true);
    auto* realPage = new QWidget;
    auto* realForm = new QFormLayout(realPage);
    realForm->setContentsMargins(0, 0, 0, 0);
    realForm->addRow(tr("Layer"), m_layer);
    realForm->addRow(tr("Row"), m_row);
    realForm->addRow(m_rowInfo);

    m_distribution = new QComboBox;
    m_distribution->setObjectName(QStringLiteral("playgroundDistribution"));
    m_distribution->addItem(tr("Gaussian"), int(SyntheticDistribution::Gaussian));
    m_distribution->addItem(tr("Laplace"), int(SyntheticDistribution::Laplace));
    m_distribution->addItem(tr("Uniform"), int(SyntheticDistribution::Uniform));
    m_count = makeSpin("playgroundCount", 1, int(kMaxPlaygroundValues), 256);
    m_seed = makeSpin("playgroundSeed", 0, 1 << 30, 1);
    m_outliers = makeSpin("playgroundOutliers", 0, int(kMaxPlaygroundValues), 0);
    m_magnitude = new QDoubleSpinBox;
    m_magnitude->setObjectName(QStringLiteral("playgroundOutlierMagnitude"));
    m_magnitude->setRange(0, 1000);
    m_magnitude->setValue(10);
    m_magnitude->setSuffix(tr(" σ"));
    auto* synthPage = new QWidget;
    auto* synthForm = new QFormLayout(synthPage);
    synthForm->setContentsMargins(0, 0, 0, 0);
    synthForm->addRow(tr("Distribution"), m_distribution);
    synthForm->addRow(tr("Values"), m_count);
    synthForm->addRow(tr("Seed"), m_seed);
    synthForm->addRow(tr("Outliers"), m_outliers);
    synthForm->addRow(tr("Outlier size"), m_magnitude);

    m_sourcePages = new QStackedWidget;
    m_sourcePages->addWidget(realPage);
    m_sourcePages->addWidget(synthPage);
    auto* sourceBox = new QGroupBox(tr("Row"));
    auto* sourceLayout = new QVBoxLayout(sourceBox);
    sourceLayout->addWidget(m_source);
    sourceLayout->addWidget(m_sourcePages);

    return sourceBox;
}

/// Bits, group size, symmetry, method, and which group's levels are drawn.
QWidget* PlaygroundPanel::createQuantizationBox()
{
    m_bits = new QSlider(Qt::Horizontal);
    m_bits->setObjectName(QStringLiteral("playgroundBits"));
    m_bits->setRange(quantBitRange().first, quantBitRange().second);
    m_bits->setValue(4);
    m_bits->setTickPosition(QSlider::TicksBelow);
    m_bits->setPageStep(1);
    m_bitsLabel = new QLabel;
    m_bitsLabel->setObjectName(QStringLiteral("playgroundBitsLabel"));
    m_bitsLabel->setMinimumWidth(fontMetrics().horizontalAdvance(QStringLiteral("8 bits")) + 8);
    auto* bitsRow = new QHBoxLayout;
    bitsRow->addWidget(m_bits, 1);
    bitsRow->addWidget(m_bitsLabel);
    m_groupSize = new QComboBox;
    m_groupSize->setObjectName(QStringLiteral("playgroundGroupSize"));
    for (int g : kOfferedGroupSizes)
        m_groupSize->addItem(QString::number(g), g);
    m_groupSize->addItem(tr("per channel (whole row)"), kPerChannel);
    m_groupSize->setCurrentIndex(0);
    m_symmetric = new QCheckBox(tr("Symmetric"));
    m_symmetric->setObjectName(QStringLiteral("playgroundSymmetric"));
    m_symmetric->setToolTip(tr("Symmetric: the zero point is fixed at the middle code (GPTQ convention); "
                               "asymmetric: it is chosen per group from the group's minimum."));
    m_method = new QComboBox;
    m_method->setObjectName(QStringLiteral("playgroundMethod"));
    m_methods = playgroundMethods();
    for (const PlaygroundMethod& m : m_methods)
        m_method->addItem(m.clipSearch ? tr("%1 + clipping search (MSE)").arg(m.displayName) : m.displayName);
    // Say why the other methods are absent (reasons from the method table, grouped).
    std::map<QString, QStringList> byReason;
    for (const UnavailableMethod& u : unavailablePlaygroundMethods())
        byReason[QCoreApplication::translate("Playground", u.reason)] << u.displayName;
    QStringList notes;
    for (const auto& [reason, names] : byReason)
        notes << tr("<b>%1</b>: %2")
                     .arg(names.join(QStringLiteral(", ")).toHtmlEscaped(), reason.toHtmlEscaped());
    m_methodNote = new QLabel(tr("Not offered here — %1.").arg(notes.join(QStringLiteral("; "))));
    m_methodNote->setObjectName(QStringLiteral("playgroundMethodNote"));
    m_methodNote->setWordWrap(true);
    m_methodNote->setTextFormat(Qt::RichText);
    theme::setTextTone(m_methodNote, theme::Tone::Hint);
    m_shownGroup = makeSpin("playgroundShownGroup", 0, 0, 0);
    m_shownGroup->setToolTip(tr("The group whose quantization levels the plot draws"));
    m_sorted = new QCheckBox(tr("Sort values"));
    m_sorted->setObjectName(QStringLiteral("playgroundSorted"));
    auto* quantForm = new QFormLayout;
    quantForm->addRow(tr("Bits"), bitsRow);
    quantForm->addRow(tr("Group size"), m_groupSize);
    quantForm->addRow(QString(), m_symmetric);
    quantForm->addRow(tr("Method"), m_method);
    quantForm->addRow(m_methodNote);
    quantForm->addRow(tr("Levels of group"), m_shownGroup);
    quantForm->addRow(QString(), m_sorted);
    auto* quantBox = new QGroupBox(tr("Quantization"));
    quantBox->setLayout(quantForm);

    return quantBox;
}

/// The numbers of the current setting (MSE, SNR, max error, bytes, bpw) and the problem line.
QWidget* PlaygroundPanel::createStatsBox()
{
    auto stat = [](const char* name) {
        auto* l = new QLabel;
        l->setObjectName(QLatin1String(name));
        l->setTextInteractionFlags(Qt::TextSelectableByMouse);
        return l;
    };
    m_mse = stat("playgroundMse");
    m_snr = stat("playgroundSnr");
    m_maxError = stat("playgroundMaxError");
    m_bytes = stat("playgroundBytes");
    m_bpw = stat("playgroundBpw");
    auto* statsForm = new QFormLayout;
    statsForm->addRow(tr("MSE"), m_mse);
    statsForm->addRow(tr("SNR"), m_snr);
    statsForm->addRow(tr("Max |error|"), m_maxError);
    statsForm->addRow(tr("Storage"), m_bytes);
    statsForm->addRow(tr("Bits per weight"), m_bpw);
    auto* statsBox = new QGroupBox(tr("Result"));
    statsBox->setObjectName(QStringLiteral("playgroundStats"));
    statsBox->setLayout(statsForm);
    m_message = new QLabel;
    m_message->setObjectName(QStringLiteral("playgroundMessage"));
    m_message->setWordWrap(true);
    theme::setTextTone(m_message, theme::Tone::Error);
    m_message->hide();

    return statsBox;
}

/// Presentation mode: an action (F5) and a button, kept in step.
void PlaygroundPanel::createPresentationControls()
{
    m_presentationAction = new QAction(tr("&Presentation Mode"), this);
    m_presentationAction->setObjectName(QStringLiteral("actionPresentationMode"));
    m_presentationAction->setCheckable(true);
    m_presentationAction->setShortcuts({QKeySequence(Qt::Key_F5), QKeySequence(tr("Ctrl+Shift+P"))});
    m_presentationAction->setToolTip(tr("Large fonts and lines for a projector (F5)"));
    m_presentationButton = new QPushButton(tr("Presentation mode"));
    m_presentationButton->setObjectName(QStringLiteral("playgroundPresentation"));
    m_presentationButton->setCheckable(true);
    m_presentationButton->setToolTip(m_presentationAction->toolTip());
    connect(m_presentationButton, &QPushButton::toggled, this, &PlaygroundPanel::setPresentationMode);
    connect(m_presentationAction, &QAction::toggled, this, &PlaygroundPanel::setPresentationMode);
}

void PlaygroundPanel::connectControls()
{
    connect(m_source, &QComboBox::currentIndexChanged, this, [this](int i) {
        m_sourcePages->setCurrentIndex(i);
        reloadRow();
    });
    connect(m_layer, &QComboBox::currentIndexChanged, this, &PlaygroundPanel::onLayerChanged);
    for (QSpinBox* s : {m_row, m_count, m_seed, m_outliers})
        connect(s, &QSpinBox::valueChanged, this, &PlaygroundPanel::reloadRow);
    connect(m_magnitude, &QDoubleSpinBox::valueChanged, this, &PlaygroundPanel::reloadRow);
    connect(m_distribution, &QComboBox::currentIndexChanged, this, &PlaygroundPanel::reloadRow);
    connect(m_bits, &QSlider::valueChanged, this, &PlaygroundPanel::recompute);
    connect(m_groupSize, &QComboBox::currentIndexChanged, this, &PlaygroundPanel::recompute);
    connect(m_symmetric, &QCheckBox::toggled, this, &PlaygroundPanel::recompute);
    connect(m_method, &QComboBox::currentIndexChanged, this, &PlaygroundPanel::recompute);
    connect(m_shownGroup, &QSpinBox::valueChanged, this, &PlaygroundPanel::recompute);
    connect(m_sorted, &QCheckBox::toggled, m_valuesPlot, &PlaygroundValuesPlot::setSorted);
}

PlaygroundPanel::~PlaygroundPanel() = default;

void PlaygroundPanel::fitControlsWidth()
{
    // Wide enough for the controls at the current font, so no horizontal scrolling is needed.
    m_controls->widget()->adjustSize();
    m_controls->setMinimumWidth(m_controls->widget()->minimumSizeHint().width() +
                                m_controls->verticalScrollBar()->sizeHint().width() + 4);
}

QSpinBox* PlaygroundPanel::makeSpin(const char* name, int lo, int hi, int value)
{
    auto* s = new QSpinBox;
    s->setObjectName(QLatin1String(name));
    s->setRange(lo, hi);
    s->setValue(value);
    s->setKeyboardTracking(false);
    return s;
}

void PlaygroundPanel::setModel(std::shared_ptr<const Model> model)
{
    m_model = std::move(model);
    populateLayers();
    if (m_model && m_layer->count() > 0 && m_source->currentIndex() != 0)
        m_source->setCurrentIndex(0); // a loaded model: start from its first real row
    else
        reloadRow();
}

void PlaygroundPanel::populateLayers()
{
    const bool was = m_updating;
    m_updating = true;
    m_layer->clear();
    if (m_model) {
        for (const LinearLayerInfo& l : m_model->linears())
            m_layer->addItem(l.name);
    }
    m_layer->setEnabled(m_layer->count() > 0);
    m_updating = was;
    onLayerChanged();
}

void PlaygroundPanel::onLayerChanged()
{
    const LinearLayerInfo* l = m_model ? m_model->findLinear(m_layer->currentText()) : nullptr;
    m_rowInfo->setText(!m_model ? tr("No model is loaded: open one to pick a real row (synthetic rows work "
                                     "without one).")
                       : !l     ? tr("Choose a layer.")
                                : tr("%1 rows of %2 values (%3)")
                                  .arg(l->outFeatures)
                                  .arg(l->inFeatures)
                                  .arg(QLatin1String(dtypeInfo(l->dtype).name)));
    reloadRow();
}

void PlaygroundPanel::reloadRow()
{
    if (m_updating)
        return;
    m_values.clear();
    m_rowProblem.clear();
    try {
        if (m_source->currentIndex() == 0) {
            if (!m_model)
                throw Error(tr("No model is loaded: open a model for real rows, or choose a synthetic "
                               "distribution."));
            if (m_layer->currentText().isEmpty())
                throw Error(tr("Choose a layer."));
            m_values = modelRow(*m_model, m_layer->currentText(), m_row->value());
            m_rowLabel = tr("%1, row %2").arg(m_layer->currentText()).arg(m_row->value());
        } else {
            SyntheticRowSpec s;
            s.distribution = SyntheticDistribution(m_distribution->currentData().toInt());
            s.count = m_count->value();
            s.seed = std::uint64_t(m_seed->value());
            s.outliers = m_outliers->value();
            s.outlierMagnitude = m_magnitude->value();
            m_values = syntheticRow(s);
            m_rowLabel = tr("%1, %2 values").arg(m_distribution->currentText()).arg(s.count);
        }
    } catch (const Error& e) {
        m_values.clear();
        m_rowProblem = e.message();
    }
    recompute();
}

QuantSpec PlaygroundPanel::currentSpec() const
{
    QuantSpec spec;
    const int mi = m_method->currentIndex();
    if (mi >= 0 && mi < int(m_methods.size())) {
        spec.method = m_methods[std::size_t(mi)].method;
        spec.clipSearch = m_methods[std::size_t(mi)].clipSearch;
    }
    if (spec.method == QuantMethod::Ggml) // a llama.cpp type: the bits pick it, it fixes the rest
        return QuantSpec::ggml(QuantSpec::ggmlTypeForBits(m_bits->value()));
    spec.bits = m_bits->value();
    spec.symmetric = m_symmetric->isChecked();
    spec.floatZeros = spec.method == QuantMethod::Hqq; // HQQ's zeros are real-valued, as in a run
    const int g = m_groupSize->currentData().toInt();
    spec.granularity = g == kPerChannel ? Granularity::PerChannel : Granularity::PerGroup;
    spec.groupSize = g == kPerChannel ? 128 : g;
    return spec;
}

void PlaygroundPanel::recompute()
{
    if (m_updating)
        return;
    const QuantSpec spec = currentSpec();
    const bool gguf = spec.method == QuantMethod::Ggml;
    m_bitsLabel->setText(gguf ? ggmlTypeName(spec.ggmlType) : tr("%n bit(s)", nullptr, m_bits->value()));
    m_groupSize->setEnabled(!gguf);
    m_symmetric->setEnabled(!gguf);
    if (!m_rowProblem.isEmpty()) {
        showProblem(m_rowProblem);
        return;
    }
    QElapsedTimer clock;
    clock.start();
    try {
        auto r = std::make_shared<PlaygroundResult>(quantizeRow(m_values, spec, m_shownGroup->value()));
        m_result = std::move(r);
        m_problem.clear();
    } catch (const Error& e) {
        showProblem(e.message());
        return;
    }
    m_lastMs = double(clock.nsecsElapsed()) / 1e6;
    {
        const QSignalBlocker block(m_shownGroup);
        m_shownGroup->setMaximum(int(m_result->groups() - 1));
        m_shownGroup->setValue(int(m_result->shownGroup));
        m_shownGroup->setSuffix(tr(" (of %n group(s))", nullptr, int(m_result->groups())));
    }
    m_message->hide();
    m_valuesPlot->setCaption(
        m_result->note.isEmpty()
            ? tr("%1 — %2").arg(m_rowLabel, m_result->spec.label())
            : tr("%1 — %2 (%3)").arg(m_rowLabel, m_result->spec.label(), m_result->note));
    m_valuesPlot->setResult(m_result);
    m_errorPlot->setResult(m_result);
    refreshStats();
    Q_EMIT resultChanged();
}

void PlaygroundPanel::showProblem(const QString& text)
{
    m_result.reset();
    m_problem = text;
    m_message->setText(text);
    m_message->show();
    m_valuesPlot->setCaption(QString());
    m_valuesPlot->setResult(nullptr);
    m_errorPlot->setResult(nullptr);
    refreshStats();
    Q_EMIT resultChanged();
}

void PlaygroundPanel::refreshStats()
{
    if (!m_result) {
        for (QLabel* l : {m_mse, m_snr, m_maxError, m_bytes, m_bpw})
            l->setText(QStringLiteral("–"));
        return;
    }
    const PlaygroundResult& r = *m_result;
    m_mse->setText(QString::number(r.mse, 'g', 4));
    m_snr->setText(std::isfinite(r.snrDb) ? tr("%1 dB").arg(r.snrDb, 0, 'f', 2) : tr("∞ (exact)"));
    m_maxError->setText(QString::number(r.maxAbsError, 'g', 4));
    const double floatBytes = 2.0 * double(r.original.size());
    m_bytes->setText(tr("%1 (%2 % of f16)")
                         .arg(formatBytes(double(r.bytes)))
                         .arg(floatBytes > 0 ? 100.0 * double(r.bytes) / floatBytes : 0, 0, 'f', 1));
    m_bpw->setText(QString::number(r.bitsPerWeight, 'f', 3));
}

void PlaygroundPanel::setPresentationMode(bool on)
{
    if (on == m_presentation)
        return;
    m_presentation = on;
    {
        const QSignalBlocker a(m_presentationAction), b(m_presentationButton);
        m_presentationAction->setChecked(on);
        m_presentationButton->setChecked(on);
    }
    QFont f = font();
    f.setPointSizeF(m_basePointSize * (on ? kPresentationScale : 1.0));
    setFont(f); // children without their own font inherit it
    fitControlsWidth();
    m_valuesPlot->setPresentationScale(on ? kPresentationScale : 1.0);
    m_errorPlot->setPresentationScale(on ? kPresentationScale : 1.0);
}

} // namespace qs
