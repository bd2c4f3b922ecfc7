#include "PlaygroundPanel.h"

#include "AppSettings.h"
#include "PlaygroundPlots.h"
#include "ThemeColors.h"
#include "model/Model.h"
#include "spec/QuantSpec.h"
#include "tokenizer/Tokenizer.h"
#include "util/Error.h"
#include "util/Paths.h"

#include <QAction>
#include <QBoxLayout>
#include <QCheckBox>
#include <QComboBox>
#include <QCoreApplication>
#include <QDir>
#include <QDoubleSpinBox>
#include <QElapsedTimer>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGridLayout>
#include <QGroupBox>
#include <QLabel>
#include <QMenu>
#include <QMessageBox>
#include <QPushButton>
#include <QScopeGuard>
#include <QScrollArea>
#include <QScrollBar>
#include <QSlider>
#include <QSpinBox>
#include <QSplitter>
#include <QStackedWidget>
#include <QTabWidget>
#include <QTimer>
#include <QToolButton>
#include <algorithm>
#include <cmath>
#include <map>

namespace qs {

namespace {
constexpr double kPresentationScale = 1.7;
constexpr int kPerChannel = 0; ///< group-size combo data for "per channel"
/// The GPTQ demonstration's calibration: a few short windows (enough tokens for the Hessian of a
/// small model's layer, computed in about a second).
constexpr int kDemoSamples = 16;
constexpr int kDemoSeqLen = 128;

QString num(double v, int digits = 5)
{
    return QString::number(v, 'g', digits);
}

/// An arrow button that steps `spin` by `by` (previous/next weight or column).
QToolButton* stepButton(QSpinBox* spin, int by, const char* name, const QString& toolTip)
{
    auto* b = new QToolButton;
    b->setObjectName(QLatin1String(name));
    b->setArrowType(by < 0 ? Qt::LeftArrow : Qt::RightArrow);
    b->setToolTip(toolTip);
    QObject::connect(b, &QToolButton::clicked, spin, [spin, by] { spin->stepBy(by); });
    return b;
}

void fillGroupSizes(QComboBox* box, const QString& perChannel)
{
    for (int g : kPlaygroundGroupSizes)
        box->addItem(QString::number(g), g);
    box->addItem(perChannel, kPerChannel);
    box->setCurrentIndex(box->findData(32));
}

/// AQLM's codebook choices at `bits` bits ("4 × 4 bits (16 entries)"), keeping the chosen size when it
/// is still offered.
void fillCodebooks(QComboBox* box, int bits)
{
    const int was = box->currentData().isValid() ? box->currentData().toInt() : 4;
    const QSignalBlocker block(box);
    box->clear();
    for (int b : playgroundCodebookBits(bits))
        box->addItem(
            QCoreApplication::translate("qs::PlaygroundPanel", "%1 × %2 bits").arg(8 * bits / b).arg(b), b);
    const int i = box->findData(was);
    box->setCurrentIndex(i >= 0 ? i : 0);
}
} // namespace

namespace {

/// `page` in a frameless scroll area: on a narrow or short (projector) window it scrolls rather
/// than set the whole page's minimum size.
QScrollArea* scrolled(QWidget* page)
{
    auto* scroll = new QScrollArea;
    scroll->setWidget(page);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    return scroll;
}

} // namespace

PlaygroundPanel::PlaygroundPanel(QWidget* parent) : QWidget(parent)
{
    setObjectName(QStringLiteral("playgroundPanel"));
    m_basePointSize = font().pointSizeF() > 0 ? font().pointSizeF() : 9.0;
    QWidget* sourceBox = createSourceBox();
    QWidget* quantBox = createQuantizationBox();
    QWidget* compareBox = createCompareBox();
    QWidget* statsBox = createStatsBox();
    createPresentationControls();

    auto* controls = new QWidget;
    auto* controlsLayout = new QVBoxLayout(controls);
    controlsLayout->addWidget(sourceBox);
    controlsLayout->addWidget(quantBox);
    controlsLayout->addWidget(compareBox);
    // With the controls: the plots keep the height a projector's 768 rows leave them.
    controlsLayout->addWidget(createStepBox());
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
    plots->setStretchFactor(0, 1); // equal: the error plot's wrapped title and axis need room at 768 rows
    plots->setStretchFactor(1, 1);
    m_views = new QTabWidget;
    m_views->setObjectName(QStringLiteral("playgroundViews"));
    m_views->addTab(plots, tr("Row"));
    m_views->addTab(scrolled(createGptqPage()), tr("GPTQ"));
    m_views->setTabToolTip(1, tr("GPTQ step by step on a real row, with the layer's statistics"));
    m_pairsPlot = new PlaygroundPairsPlot;
    m_rotationPlot = new PlaygroundRotationPlot;
    auto* codebookPlots = new QSplitter(Qt::Vertical); // as the Row page: the width a projector lacks
    codebookPlots->setObjectName(QStringLiteral("playgroundCodebookPage"));
    codebookPlots->addWidget(m_pairsPlot);
    codebookPlots->addWidget(m_rotationPlot);
    m_views->addTab(codebookPlots, tr("Codebooks"));
    m_views->setTabToolTip(m_views->count() - 1,
                           tr("The points a pair of weights can take (grid, codebook, lattice) and the row's "
                              "distribution before and after the Hadamard rotation"));
    // On a projector the plots need the width: the controls can be put away and brought back.
    auto* showControls = new QToolButton;
    showControls->setObjectName(QStringLiteral("playgroundShowControls"));
    showControls->setText(tr("Controls"));
    showControls->setCheckable(true);
    showControls->setChecked(true);
    showControls->setToolTip(tr("Show or hide the controls, leaving the plots the whole width"));
    connect(showControls, &QToolButton::toggled, side, &QWidget::setVisible);
    m_views->setCornerWidget(showControls, Qt::TopLeftCorner);
    auto* split = new QSplitter(Qt::Horizontal);
    split->addWidget(side);
    split->addWidget(m_views);
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
    fillGroupSizes(m_groupSize, tr("per channel (whole row)"));
    m_symmetric = new QCheckBox(tr("Symmetric"));
    m_symmetric->setObjectName(QStringLiteral("playgroundSymmetric"));
    m_symmetric->setToolTip(tr("Symmetric: the zero point is fixed at the middle code (GPTQ convention); "
                               "asymmetric: it is chosen per group from the group's minimum."));
    m_method = new QComboBox;
    m_method->setObjectName(QStringLiteral("playgroundMethod"));
    m_method->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    m_method->setMinimumContentsLength(16); // the long names elide; the list shows them whole
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
    m_rotate = new QCheckBox(tr("Hadamard rotation (incoherence)"));
    m_rotate->setObjectName(QStringLiteral("playgroundRotate"));
    m_rotate->setToolTip(tr("Rotate the row by a randomized Hadamard transform V before quantizing (and back "
                            "after): outliers spread over all values, so the grid fits typical weights. "
                            "See \"Codebooks\"."));
    m_codebook = new QComboBox;
    m_codebook->setObjectName(QStringLiteral("playgroundCodebook"));
    m_codebook->setToolTip(
        tr("AQLM: M codebooks of 2^B entries (M × B bits); a vector of 8 weights is the sum "
           "of one entry of each"));
    m_sparse = new QDoubleSpinBox;
    m_sparse->setObjectName(QStringLiteral("playgroundSparse"));
    m_sparse->setRange(0, 10);
    m_sparse->setDecimals(2);
    m_sparse->setSingleStep(0.25);
    m_sparse->setValue(0.45);
    m_sparse->setSuffix(tr(" %"));
    m_sparse->setToolTip(tr("SqueezeLLM: the share of the row kept exact in a sparse matrix (the largest and "
                            "most sensitive weights)"));
    m_inputsNote = new QLabel;
    m_inputsNote->setObjectName(QStringLiteral("playgroundInputsNote"));
    m_inputsNote->setWordWrap(true);
    theme::setTextTone(m_inputsNote, theme::Tone::Hint);
    m_inputsNote->hide();
    m_shownGroup = makeSpin("playgroundShownGroup", 0, 0, 0);
    m_shownGroup->setToolTip(tr("The group whose quantization levels the plot draws"));
    m_sorted = new QCheckBox(tr("Sort values within each group"));
    m_sorted->setObjectName(QStringLiteral("playgroundSorted"));
    m_resetAxes = new QPushButton(tr("Reset axes"));
    m_resetAxes->setObjectName(QStringLiteral("playgroundResetAxes"));
    m_resetAxes->setToolTip(tr("The axes stay fixed while settings change, so a change shows as a change; "
                               "this fits them to the row and the current results again"));
    auto* quantForm = new QFormLayout;
    quantForm->addRow(tr("Bits"), bitsRow);
    quantForm->addRow(tr("Group size"), m_groupSize);
    quantForm->addRow(QString(), m_symmetric);
    quantForm->addRow(tr("Method"), m_method);
    quantForm->addRow(QString(), m_rotate);
    quantForm->addRow(tr("Codebooks"), m_codebook);
    quantForm->addRow(tr("Kept exact"), m_sparse);
    quantForm->addRow(m_inputsNote);
    quantForm->addRow(m_methodNote);
    quantForm->addRow(tr("Levels of group"), m_shownGroup);
    quantForm->addRow(QString(), m_sorted);
    quantForm->addRow(QString(), m_resetAxes);
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
    m_mseB = stat("playgroundMseB");
    m_snrB = stat("playgroundSnrB");
    m_maxErrorB = stat("playgroundMaxErrorB");
    m_bytesB = stat("playgroundBytesB");
    m_bpwB = stat("playgroundBpwB");
    m_headerB = new QLabel(tr("<b>B</b>"));
    m_winner = stat("playgroundWinner");
    m_winner->setWordWrap(true);
    auto* grid = new QGridLayout;
    grid->addWidget(new QLabel(tr("<b>A</b>")), 0, 1);
    grid->addWidget(m_headerB, 0, 2);
    const std::pair<QString, std::pair<QLabel*, QLabel*>> rows[] = {
        {tr("MSE"), {m_mse, m_mseB}},
        {tr("SNR"), {m_snr, m_snrB}},
        {tr("Max |error|"), {m_maxError, m_maxErrorB}},
        {tr("Storage"), {m_bytes, m_bytesB}},
        {tr("Bits per weight"), {m_bpw, m_bpwB}}};
    int r = 1;
    for (const auto& [name, labels] : rows) {
        grid->addWidget(new QLabel(name), r, 0);
        grid->addWidget(labels.first, r, 1);
        grid->addWidget(labels.second, r, 2);
        ++r;
    }
    grid->addWidget(m_winner, r, 0, 1, 3);
    grid->setColumnStretch(1, 1);
    grid->setColumnStretch(2, 1);
    auto* statsBox = new QGroupBox(tr("Result"));
    statsBox->setLayout(grid);
    statsBox->setObjectName(QStringLiteral("playgroundStats"));
    m_message = new QLabel;
    m_message->setObjectName(QStringLiteral("playgroundMessage"));
    m_message->setWordWrap(true);
    theme::setTextTone(m_message, theme::Tone::Error);
    m_message->hide();

    return statsBox;
}

/// A second method (B) on the same row: its own method, bits, group size and symmetry.
QWidget* PlaygroundPanel::createCompareBox()
{
    m_compare = new QCheckBox(tr("Compare with a second method (B)"));
    m_compare->setObjectName(QStringLiteral("playgroundCompare"));
    m_methodB = new QComboBox;
    m_methodB->setObjectName(QStringLiteral("playgroundMethodB"));
    m_methodB->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    m_methodB->setMinimumContentsLength(16);
    for (int i = 0; i < m_method->count(); ++i)
        m_methodB->addItem(m_method->itemText(i));
    // GPTQ needs the layer's statistics: B can be the demonstration's result (A's bits and groups).
    m_methodB->addItem(tr("GPTQ (from the \"GPTQ\" page)"));
    m_methodB->setItemData(m_methodB->count() - 1,
                           tr("GPTQ with A's bits, group size and symmetry on this row, as computed on the "
                              "\"GPTQ\" page (run it there first)"),
                           Qt::ToolTipRole);
    m_bitsB = new QSlider(Qt::Horizontal);
    m_bitsB->setObjectName(QStringLiteral("playgroundBitsB"));
    m_bitsB->setRange(m_bits->minimum(), m_bits->maximum());
    m_bitsB->setValue(3);
    m_bitsB->setTickPosition(QSlider::TicksBelow);
    m_bitsB->setPageStep(1);
    m_bitsLabelB = new QLabel;
    m_bitsLabelB->setMinimumWidth(m_bitsLabel->minimumWidth());
    auto* bitsRow = new QHBoxLayout;
    bitsRow->addWidget(m_bitsB, 1);
    bitsRow->addWidget(m_bitsLabelB);
    m_groupSizeB = new QComboBox;
    m_groupSizeB->setObjectName(QStringLiteral("playgroundGroupSizeB"));
    fillGroupSizes(m_groupSizeB, tr("per channel (whole row)"));
    m_symmetricB = new QCheckBox(tr("Symmetric"));
    m_symmetricB->setObjectName(QStringLiteral("playgroundSymmetricB"));
    m_rotateB = new QCheckBox(m_rotate->text());
    m_rotateB->setObjectName(QStringLiteral("playgroundRotateB"));
    m_rotateB->setToolTip(m_rotate->toolTip());
    m_codebookB = new QComboBox;
    m_codebookB->setObjectName(QStringLiteral("playgroundCodebookB"));
    m_codebookB->setToolTip(m_codebook->toolTip());
    m_sparseB = new QDoubleSpinBox;
    m_sparseB->setObjectName(QStringLiteral("playgroundSparseB"));
    m_sparseB->setRange(m_sparse->minimum(), m_sparse->maximum());
    m_sparseB->setDecimals(m_sparse->decimals());
    m_sparseB->setSingleStep(m_sparse->singleStep());
    m_sparseB->setValue(m_sparse->value());
    m_sparseB->setSuffix(m_sparse->suffix());
    m_sparseB->setToolTip(m_sparse->toolTip());
    m_compareControls = new QWidget;
    auto* form = new QFormLayout(m_compareControls);
    form->setContentsMargins(0, 0, 0, 0);
    form->addRow(tr("Method"), m_methodB);
    form->addRow(tr("Bits"), bitsRow);
    form->addRow(tr("Group size"), m_groupSizeB);
    form->addRow(QString(), m_symmetricB);
    form->addRow(QString(), m_rotateB);
    form->addRow(tr("Codebooks"), m_codebookB);
    form->addRow(tr("Kept exact"), m_sparseB);
    m_compareControls->setVisible(false);
    auto* box = new QGroupBox(tr("Compare"));
    auto* layout = new QVBoxLayout(box);
    layout->addWidget(m_compare);
    layout->addWidget(m_compareControls);
    return box;
}

/// One weight's quantization as numbers, with previous/next over the row.
QWidget* PlaygroundPanel::createStepBox()
{
    m_weight = makeSpin("playgroundWeight", 0, 0, 0);
    m_weight->setToolTip(tr("The weight whose quantization is shown step by step (ringed in the plot; "
                            "its group's levels are drawn)"));
    QToolButton* prev = stepButton(m_weight, -1, "playgroundPreviousWeight", tr("Previous weight"));
    QToolButton* next = stepButton(m_weight, 1, "playgroundNextWeight", tr("Next weight"));
    auto* pick = new QHBoxLayout;
    pick->addWidget(new QLabel(tr("Weight")));
    pick->addWidget(prev);
    pick->addWidget(m_weight);
    pick->addWidget(next);
    // Whose quantization the numbers follow: A's, or B's while two methods are compared.
    m_stepOf = new QComboBox;
    m_stepOf->setObjectName(QStringLiteral("playgroundStepOf"));
    m_stepOf->addItem(tr("of A"));
    m_stepOf->addItem(tr("of B"));
    m_stepOf->setToolTip(tr("The method whose steps are shown (B while two methods are compared)"));
    m_stepOf->setEnabled(false);
    connect(m_stepOf, &QComboBox::currentIndexChanged, this, &PlaygroundPanel::refreshStep);
    pick->addWidget(m_stepOf);
    pick->addStretch(1);
    m_stepText = new QLabel;
    m_stepText->setObjectName(QStringLiteral("playgroundStepText"));
    m_stepText->setTextFormat(Qt::RichText);
    m_stepText->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_stepText->setWordWrap(true);
    auto* box = new QGroupBox(tr("Step through one weight"));
    box->setObjectName(QStringLiteral("playgroundStepBox"));
    auto* layout = new QVBoxLayout(box);
    layout->addLayout(pick);
    layout->addWidget(m_stepText);
    return box;
}

/// GPTQ column by column on the current real row: statistics, steps, numbers and plots.
QWidget* PlaygroundPanel::createGptqPage()
{
    m_gptqStart = new QPushButton(tr("Run GPTQ on this row"));
    m_gptqStart->setObjectName(QStringLiteral("playgroundGptqStart"));
    m_gptqStart->setToolTip(tr("Computes the layer's input statistics XᵀX from %1 windows of %2 tokens of "
                               "the calibration text (once per layer), then GPTQ with the bits, group size "
                               "and symmetry of A")
                                .arg(kDemoSamples)
                                .arg(kDemoSeqLen));
    m_gptqCancel = new QPushButton(tr("Cancel"));
    m_gptqCancel->setObjectName(QStringLiteral("playgroundGptqCancel"));
    m_gptqCancel->setEnabled(false);
    m_gptqStatus = new QLabel(tr("Uses a real row of the loaded model and the calibration text."));
    m_gptqStatus->setObjectName(QStringLiteral("playgroundGptqStatus"));
    m_gptqStatus->setWordWrap(true);
    m_gptqStep = makeSpin("playgroundGptqStep", 1, 1, 1);
    m_gptqStep->setPrefix(tr("column step "));
    QToolButton* prev = stepButton(m_gptqStep, -1, "playgroundGptqPrevious", tr("Previous column"));
    QToolButton* next = stepButton(m_gptqStep, 1, "playgroundGptqNext", tr("Next column"));
    auto* top = new QHBoxLayout;
    top->addWidget(m_gptqStart);
    top->addWidget(m_gptqCancel);
    top->addWidget(prev);
    top->addWidget(m_gptqStep);
    top->addWidget(next);
    top->addStretch(1);
    m_gptqText = new QLabel;
    m_gptqText->setObjectName(QStringLiteral("playgroundGptqText"));
    m_gptqText->setTextFormat(Qt::RichText);
    m_gptqText->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_gptqText->setAlignment(Qt::AlignTop | Qt::AlignLeft);
    m_gptqNext = new QLabel;
    m_gptqNext->setObjectName(QStringLiteral("playgroundGptqNextColumns"));
    m_gptqNext->setTextFormat(Qt::RichText);
    m_gptqNext->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_gptqNext->setAlignment(Qt::AlignTop | Qt::AlignLeft);
    // The numbers above (this step's; the next columns before and after), the plots below side by
    // side: a wide screen or projector has more width than height.
    auto* numbers = new QWidget;
    auto* numbersLayout = new QHBoxLayout(numbers);
    numbersLayout->setContentsMargins(0, 0, 0, 0);
    numbersLayout->addWidget(m_gptqText);
    numbersLayout->addSpacing(fontMetrics().horizontalAdvance(QStringLiteral("MMMM")));
    numbersLayout->addWidget(m_gptqNext);
    numbersLayout->addStretch(1);
    auto* textScroll = m_gptqTextScroll = new QScrollArea;
    textScroll->setWidget(numbers);
    textScroll->setWidgetResizable(true);
    textScroll->setFrameShape(QFrame::NoFrame);
    m_gptqRowPlot = new PlaygroundGptqRowPlot;
    m_gptqCurvePlot = new PlaygroundGptqCurvePlot;
    auto* plots = new QSplitter(Qt::Horizontal);
    plots->addWidget(m_gptqRowPlot);
    plots->addWidget(m_gptqCurvePlot);
    plots->setStretchFactor(0, 3);
    plots->setStretchFactor(1, 2);
    auto* body = new QSplitter(Qt::Vertical);
    body->addWidget(textScroll);
    body->addWidget(plots);
    body->setStretchFactor(0, 0);
    body->setStretchFactor(1, 1);
    auto* page = new QWidget;
    page->setObjectName(QStringLiteral("playgroundGptqPage"));
    auto* layout = new QVBoxLayout(page);
    layout->addLayout(top);
    layout->addWidget(m_gptqStatus);
    layout->addWidget(body, 1);
    connect(m_gptqStart, &QPushButton::clicked, this, &PlaygroundPanel::startGptqDemo);
    connect(m_gptqCancel, &QPushButton::clicked, this, [this] { m_gptqJob.cancel(); });
    connect(m_gptqStep, &QSpinBox::valueChanged, this, &PlaygroundPanel::refreshGptqStep);
    return page;
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
        for (int p = 0; p < m_sourcePages->count(); ++p) // the box as tall as the page shown
            m_sourcePages->widget(p)->setSizePolicy(QSizePolicy::Preferred,
                                                    p == i ? QSizePolicy::Preferred : QSizePolicy::Ignored);
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
    connect(m_shownGroup, &QSpinBox::valueChanged, this, [this](int g) {
        if (m_result && m_result->groupOf(m_weight->value()) != g) { // the weight follows the group
            const QSignalBlocker block(m_weight);
            m_weight->setValue(int(std::min<std::int64_t>(std::int64_t(g) * m_result->groupLength,
                                                          std::int64_t(m_result->original.size()) - 1)));
        }
        recompute();
    });
    connect(m_weight, &QSpinBox::valueChanged, this, [this](int i) {
        if (m_result && m_result->groupOf(i) != m_shownGroup->value()) {
            m_shownGroup->setValue(int(m_result->groupOf(i))); // recomputes with that group's levels
            return;
        }
        m_valuesPlot->setSelectedIndex(i);
        refreshStep();
    });
    connect(m_sorted, &QCheckBox::toggled, m_valuesPlot, &PlaygroundValuesPlot::setSorted);
    connect(m_resetAxes, &QPushButton::clicked, this, &PlaygroundPanel::resetAxes);
    connect(m_compare, &QCheckBox::toggled, this, [this](bool on) {
        m_compareControls->setVisible(on);
        recompute(); // shows or hides B's column of numbers
        fitControlsWidth();
    });
    connect(m_methodB, &QComboBox::currentIndexChanged, this, &PlaygroundPanel::recompute);
    connect(m_bitsB, &QSlider::valueChanged, this, &PlaygroundPanel::recompute);
    connect(m_groupSizeB, &QComboBox::currentIndexChanged, this, &PlaygroundPanel::recompute);
    connect(m_symmetricB, &QCheckBox::toggled, this, &PlaygroundPanel::recompute);
    for (QCheckBox* c : {m_rotate, m_rotateB})
        connect(c, &QCheckBox::toggled, this, &PlaygroundPanel::recompute);
    for (QComboBox* c : {m_codebook, m_codebookB})
        connect(c, &QComboBox::currentIndexChanged, this, &PlaygroundPanel::recompute);
    for (QDoubleSpinBox* d : {m_sparse, m_sparseB}) {
        d->setKeyboardTracking(false);
        connect(d, &QDoubleSpinBox::valueChanged, this, &PlaygroundPanel::recompute);
    }
}

PlaygroundPanel::~PlaygroundPanel()
{
    m_gptqJob.cancel(); // its outcome dies with the panel; the worker stops at its next check
    m_rowJob.cancel();
}

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
    m_axesPending = true;
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

PlaygroundSettings PlaygroundPanel::settingsOf(bool sideB) const
{
    PlaygroundSettings settings;
    settings.bits = (sideB ? m_bitsB : m_bits)->value();
    settings.groupSize = (sideB ? m_groupSizeB : m_groupSize)->currentData().toInt();
    settings.symmetric = (sideB ? m_symmetricB : m_symmetric)->isChecked();
    settings.rotate = (sideB ? m_rotateB : m_rotate)->isChecked();
    const QComboBox* books = sideB ? m_codebookB : m_codebook;
    if (books->currentData().isValid())
        settings.codebookBits = books->currentData().toInt();
    settings.sparsePercent = (sideB ? m_sparseB : m_sparse)->value();
    return settings;
}

QuantSpec PlaygroundPanel::currentSpec() const
{
    const int i = m_method->currentIndex();
    return playgroundSpec(i >= 0 ? m_methods[std::size_t(i)] : m_methods.front(), settingsOf(false));
}

QuantSpec PlaygroundPanel::comparisonSpec() const
{
    const int i = m_methodB->currentIndex();
    return playgroundSpec(i >= 0 && i < int(m_methods.size()) ? m_methods[std::size_t(i)] : m_methods.front(),
                          settingsOf(true));
}

QuantSpec PlaygroundPanel::gptqSpec() const
{
    PlaygroundSettings settings = settingsOf(false);
    settings.rotate = false;
    QuantSpec spec = playgroundSpec(m_methods.front(), settings); // RTN's: bits, groups, symmetry
    spec.method = QuantMethod::Gptq;
    spec.clipSearch = false;
    spec.floatZeros = false;
    return spec;
}

std::shared_ptr<const LinearInputStats> PlaygroundPanel::statsForRow() const
{
    if (!m_layerStats || m_source->currentIndex() != 0 || m_statsLayer != m_layer->currentText() ||
        m_layerStats->xtx.rows() != std::int64_t(m_values.size()))
        return nullptr;
    return m_layerStats;
}

void PlaygroundPanel::refreshMethodControls()
{
    auto apply = [this](QComboBox* method, QSlider* bits, QComboBox* group, QCheckBox* symmetric,
                        QCheckBox* rotate, QComboBox* books, QDoubleSpinBox* sparse, bool gptq) {
        const int i = method->currentIndex();
        const PlaygroundControls c = gptq || i < 0 || i >= int(m_methods.size())
                                         ? PlaygroundControls{}
                                         : playgroundControls(m_methods[std::size_t(i)]);
        group->setEnabled(c.groups && !gptq);
        symmetric->setEnabled(c.groups && !gptq);
        rotate->setEnabled(c.rotation);
        rotate->setVisible(c.rotation || c.rotationAlways);
        // QuIP# always rotates: the box shows it ticked, and the user's own choice comes back after.
        const char* forced = "qsForcedOn";
        const char* choice = "qsUserChoice";
        const QSignalBlocker block(rotate);
        if (c.rotationAlways && !rotate->property(forced).toBool()) {
            rotate->setProperty(choice, rotate->isChecked());
            rotate->setProperty(forced, true);
            rotate->setChecked(true);
        } else if (!c.rotationAlways && rotate->property(forced).toBool()) {
            rotate->setChecked(rotate->property(choice).toBool());
            rotate->setProperty(forced, false);
        }
        fillCodebooks(books, bits->value());
        books->setEnabled(c.codebookBits);
        sparse->setEnabled(c.sparse);
        // A control a method does not use stays out of sight (its row of the form with it).
        for (QWidget* w : {static_cast<QWidget*>(books), static_cast<QWidget*>(sparse)}) {
            const bool shown = w == books ? c.codebookBits : c.sparse;
            w->setVisible(shown);
            if (auto* form =
                    qobject_cast<QFormLayout*>(w->parentWidget() ? w->parentWidget()->layout() : nullptr))
                if (QWidget* label = form->labelForField(w))
                    label->setVisible(shown);
        }
    };
    apply(m_method, m_bits, m_groupSize, m_symmetric, m_rotate, m_codebook, m_sparse, false);
    apply(m_methodB, m_bitsB, m_groupSizeB, m_symmetricB, m_rotateB, m_codebookB, m_sparseB,
          comparingWithGptq());
}

bool PlaygroundPanel::comparingWithGptq() const
{
    return m_methodB->currentIndex() == int(m_methods.size());
}

bool PlaygroundPanel::gptqDemoIsCurrent() const
{
    return m_gptqDemo && m_source->currentIndex() == 0 && m_gptqDemo->original == m_values &&
           m_gptqDemo->spec == gptqSpec();
}

void PlaygroundPanel::recompute()
{
    if (m_updating)
        return;
    {
        const bool was = std::exchange(m_updating, true); // the controls' own signals wait
        refreshMethodControls();
        m_updating = was;
    }
    const QuantSpec spec = currentSpec();
    const bool gguf = spec.method == QuantMethod::Ggml;
    m_bitsLabel->setText(gguf ? ggmlTypeName(spec.ggmlType) : tr("%n bit(s)", nullptr, m_bits->value()));
    const bool comparing = m_compare->isChecked();
    const QuantSpec specB = comparisonSpec();
    const bool ggufB = specB.method == QuantMethod::Ggml;
    m_bitsLabelB->setText(ggufB ? ggmlTypeName(specB.ggmlType) : tr("%n bit(s)", nullptr, m_bitsB->value()));
    const bool gptqB = comparingWithGptq(); // A's bits and groups
    m_bitsB->setEnabled(!gptqB);
    m_rowJob.cancel(); // a newer setting replaces a running computation
    m_rowJob.discard();
    if (!m_rowProblem.isEmpty()) {
        showProblem(m_rowProblem);
        return;
    }
    const bool withB = comparing && !gptqB;
    const std::shared_ptr<const LinearInputStats> stats = statsForRow();
    const std::int64_t shown = m_shownGroup->value();
    auto compute = [values = m_values, spec, specB, withB, stats, shown](std::shared_ptr<PlaygroundResult>& a,
                                                                         std::shared_ptr<PlaygroundResult>& b,
                                                                         const JobContext& job) {
        a = std::make_shared<PlaygroundResult>(quantizeRow(values, spec, shown, 60, stats.get(), job));
        if (withB) {
            try {
                b = std::make_shared<PlaygroundResult>(
                    quantizeRow(values, specB, a->shownGroup, 60, stats.get(), job));
            } catch (const Error& e) {
                throw Error(QCoreApplication::translate("qs::PlaygroundPanel", "B: %1").arg(e.message()));
            }
        }
    };
    if (!spec.needsHessian() && !(withB && specB.needsHessian())) {
        QElapsedTimer clock;
        clock.start();
        std::shared_ptr<PlaygroundResult> a, b;
        try {
            compute(a, b, JobContext{});
        } catch (const Error& e) {
            showProblem(e.message());
            return;
        }
        applyResults(std::move(a), std::move(b), double(clock.nsecsElapsed()) / 1e6);
        return;
    }
    // QuIP# and AQLM: an n × n Hessian and a search per vector, off the UI thread.
    struct Outcome
    {
        std::shared_ptr<PlaygroundResult> a, b;
        double ms = 0;
    };
    m_inputsNote->setText(
        tr("Quantizing the row with %1…").arg((spec.needsHessian() ? spec : specB).label()));
    m_inputsNote->show();
    m_rowJob = runJob<Outcome>(
        this,
        [compute](Outcome& out, const JobContext& ctx) {
            QElapsedTimer clock;
            clock.start();
            ctx.checkCancelled();
            compute(out.a, out.b, ctx); // the quantizer checks for a cancel as it goes
            out.ms = double(clock.nsecsElapsed()) / 1e6;
        },
        [this](const JobOutcome<Outcome>& o) {
            if (o.cancelled)
                return;
            if (!o.error.isEmpty()) {
                showProblem(o.error);
                return;
            }
            applyResults(o.value.a, o.value.b, o.value.ms);
        });
}

void PlaygroundPanel::applyResults(std::shared_ptr<PlaygroundResult> a, std::shared_ptr<PlaygroundResult> b,
                                   double ms)
{
    const bool comparing = m_compare->isChecked();
    if (comparing && comparingWithGptq() && gptqDemoIsCurrent())
        b = std::make_shared<PlaygroundResult>(gptqDemoResult(*m_gptqDemo, a->shownGroup));
    m_result = std::move(a);
    m_resultB = std::move(b);
    m_problem.clear();
    m_lastMs = ms;
    if (const int w = std::exchange(m_pendingWeight, -1); w >= 0 && w < int(m_result->original.size())) {
        {
            const QSignalBlocker block(m_weight);
            m_weight->setMaximum(int(m_result->original.size()) - 1);
            m_weight->setValue(w);
        }
        if (m_result->groupOf(w) != m_result->shownGroup) {
            m_shownGroup->setMaximum(int(m_result->groups() - 1));
            m_shownGroup->setValue(int(m_result->groupOf(w))); // computes again with the weight's group
            return;
        }
    }
    {
        const QSignalBlocker block(m_shownGroup);
        m_shownGroup->setMaximum(int(m_result->groups() - 1));
        m_shownGroup->setValue(int(m_result->shownGroup));
        m_shownGroup->setSuffix(m_result->vectorCodes()
                                    ? tr(" (of %n vector(s) of 8)", nullptr, int(m_result->groups()))
                                    : tr(" (of %n group(s))", nullptr, int(m_result->groups())));
    }
    {
        const QSignalBlocker block(m_weight);
        m_weight->setMaximum(int(m_result->original.size()) - 1);
        m_weight->setSuffix(tr(" of %1").arg(m_result->original.size()));
        if (m_result->groupOf(m_weight->value()) != m_result->shownGroup) // follow the shown group
            m_weight->setValue(int(m_result->shownGroup * m_result->groupLength));
    }
    m_message->hide();
    // Which inputs a calibrated method was given.
    QStringList inputs;
    for (const PlaygroundResult* r : {m_result.get(), m_resultB.get()}) {
        if (!r || r->inputs == PlaygroundInputs::None)
            continue;
        const QString who = m_resultB ? (r == m_result.get() ? tr("A: ") : tr("B: ")) : QString();
        inputs << who +
                      (r->inputs == PlaygroundInputs::Layer
                           ? tr("%1 weighs the error by the layer's statistics (%2 calibration tokens, from "
                                "the \"GPTQ\" page).")
                                 .arg(quantMethodName(r->spec.method))
                                 .arg(r->inputTokens)
                           : tr("%1 is given isotropic inputs (XᵀX = I: one row has no activations), so it "
                                "minimises the weights' own error.%2")
                                 .arg(
                                     quantMethodName(r->spec.method),
                                     m_source->currentIndex() == 0
                                         ? tr(" Run GPTQ on the \"GPTQ\" page to use the layer's statistics.")
                                         : QString()));
    }
    m_inputsNote->setText(inputs.join(QLatin1Char('\n')));
    m_inputsNote->setVisible(!inputs.isEmpty());
    m_valuesPlot->setCaption(
        m_result->note.isEmpty()
            ? tr("%1 — %2").arg(m_rowLabel, m_result->spec.label())
            : tr("%1 — %2 (%3)").arg(m_rowLabel, m_result->spec.label(), m_result->note));
    const QString nameA = m_result->spec.label(); // the label names the clipping search itself
    const QString nameB = m_resultB ? m_resultB->spec.label() : QString();
    if (m_resultB) // the legend names A and B
        m_valuesPlot->setCaption(tr("%1 — A vs B").arg(m_rowLabel));
    m_valuesPlot->setSelectedIndex(m_weight->value(), false);
    if (m_axesPending) { // a new row: the axes fit it once, then stay
        m_axesPending = false;
        resetAxes();
    } else {
        growErrorAxis();
    }
    m_valuesPlot->setResults(m_result, m_resultB, nameA, nameB);
    m_errorPlot->setResults(m_result, m_resultB, nameA, nameB);
    m_rotationPlot->setResults(m_result, m_resultB, nameA, nameB);
    refreshStats();
    refreshStep();
    Q_EMIT resultChanged();
    if (comparing && comparingWithGptq() && !m_resultB) {
        m_message->setText(m_gptqJob.isRunning()
                               ? tr("B: GPTQ is running on this row…")
                               : tr("B: run GPTQ on this row first (the \"GPTQ\" page); it uses A's bits, "
                                    "group size and symmetry."));
        m_message->show();
    }
    if (m_layerStats && m_source->currentIndex() == 0 && m_statsLayer == m_layer->currentText() &&
        !gptqDemoIsCurrent() && !m_gptqJob.isRunning())
        startGptqDemo(); // statistics at hand: the demonstration follows the settings
}

void PlaygroundPanel::resetAxes()
{
    if (!m_result)
        return;
    double lo = 0, hi = 0, err = 0;
    for (const PlaygroundResult* r : {m_result.get(), m_resultB.get()}) {
        if (!r)
            continue;
        for (std::size_t i = 0; i < r->original.size(); ++i) {
            lo = std::min({lo, double(r->original[i]), double(r->reconstructed[i])});
            hi = std::max({hi, double(r->original[i]), double(r->reconstructed[i])});
        }
        for (double level : r->grid.levels) {
            lo = std::min(lo, level);
            hi = std::max(hi, level);
        }
        err = std::max(err, r->maxAbsError);
    }
    const double span = hi > lo ? hi - lo : 1.0;
    // Room beyond the data: coarser settings later put their outer levels past the row's range.
    m_valuesPlot->setFixedRange(lo - 0.12 * span, hi + 0.12 * span);
    err = err > 0 ? 1.1 * err : 1e-6;
    m_errorPlot->setFixedRange(-err, err);
}

void PlaygroundPanel::growErrorAxis()
{
    // The error axis keeps its range while errors fit in it (fewer bits: it widens, never jumps in).
    double err = 0;
    for (const PlaygroundResult* r : {m_result.get(), m_resultB.get()})
        if (r)
            err = std::max(err, r->maxAbsError);
    if (err > m_errorPlot->fixedHigh())
        m_errorPlot->setFixedRange(-1.1 * err, 1.1 * err);
}

void PlaygroundPanel::showProblem(const QString& text)
{
    m_result.reset();
    m_problem = text;
    m_message->setText(text);
    m_message->show();
    m_resultB.reset();
    m_valuesPlot->setCaption(QString());
    m_pendingWeight = -1;
    m_valuesPlot->setResult(nullptr);
    m_errorPlot->setResult(nullptr);
    m_pairsPlot->setResult(nullptr);
    m_rotationPlot->setResult(nullptr);
    m_inputsNote->hide();
    refreshStats();
    refreshStep();
    Q_EMIT resultChanged();
}

void PlaygroundPanel::refreshStats()
{
    const bool comparing = m_resultB != nullptr;
    for (QLabel* l : {m_headerB, m_mseB, m_snrB, m_maxErrorB, m_bytesB, m_bpwB, m_winner})
        l->setVisible(comparing);
    auto fill = [this](const PlaygroundResult* r, QLabel* mse, QLabel* snr, QLabel* maxError, QLabel* bytes,
                       QLabel* bpw) {
        if (!r) {
            for (QLabel* l : {mse, snr, maxError, bytes, bpw})
                l->setText(QStringLiteral("–"));
            return;
        }
        mse->setText(QString::number(r->mse, 'g', 4));
        snr->setText(std::isfinite(r->snrDb) ? tr("%1 dB").arg(r->snrDb, 0, 'f', 2) : tr("∞ (exact)"));
        maxError->setText(QString::number(r->maxAbsError, 'g', 4));
        const double floatBytes = 2.0 * double(r->original.size());
        bytes->setText(tr("%1 (%2 % of f16)")
                           .arg(formatBytes(double(r->bytes)))
                           .arg(floatBytes > 0 ? 100.0 * double(r->bytes) / floatBytes : 0, 0, 'f', 1));
        bpw->setText(QString::number(r->bitsPerWeight, 'f', 3));
    };
    fill(m_result.get(), m_mse, m_snr, m_maxError, m_bytes, m_bpw);
    fill(m_resultB.get(), m_mseB, m_snrB, m_maxErrorB, m_bytesB, m_bpwB);
    // The better number bold and green. Only the weight and the text colour are set on the label,
    // so its size still follows the panel's font (a style sheet would pin the default size, which
    // shrank the marked numbers in presentation mode).
    auto mark = [](QLabel* label, bool better) {
        QFont f;
        if (better)
            f.setBold(true);
        label->setFont(f);
        QPalette p;
        if (better)
            p.setColor(QPalette::WindowText,
                       theme::isDark(label->palette()) ? QColor(0x56, 0xd3, 0x64) : QColor(0x1a, 0x7f, 0x37));
        label->setPalette(p);
    };
    for (QLabel* l : {m_mse, m_mseB, m_bpw, m_bpwB})
        mark(l, false);
    if (!comparing || !m_result)
        return;
    // The winner: lower MSE; bits per weight beside it, since fewer errors often cost more bits.
    const PlaygroundResult &a = *m_result, &b = *m_resultB;
    if (a.mse != b.mse)
        mark(a.mse < b.mse ? m_mse : m_mseB, true);
    if (a.bitsPerWeight != b.bitsPerWeight)
        mark(a.bitsPerWeight < b.bitsPerWeight ? m_bpw : m_bpwB, true);
    const bool aWins = a.mse < b.mse, tie = a.mse == b.mse;
    const double ratio =
        tie ? 1.0 : (aWins ? b.mse / std::max(a.mse, 1e-300) : a.mse / std::max(b.mse, 1e-300));
    const PlaygroundResult& w = aWins ? a : b;
    const PlaygroundResult& l = aWins ? b : a;
    m_winner->setText(tie ? tr("A and B have the same MSE.")
                          : tr("%1 wins: %2× lower MSE at %3 bits per weight (the other: %4).")
                                .arg(aWins ? tr("A") : tr("B"))
                                .arg(std::isfinite(ratio) ? QString::number(ratio, 'f', 2) : tr("∞"))
                                .arg(w.bitsPerWeight, 0, 'f', 2)
                                .arg(l.bitsPerWeight, 0, 'f', 2));
    if (comparingWithGptq() && gptqDemoIsCurrent()) // what GPTQ minimises is the output's error
        m_winner->setText(
            m_winner->text() + QLatin1Char(' ') +
            tr("That is the weights' error; GPTQ minimises the layer's output error, "
               "‖(w − ŵ)X‖²/n: GPTQ %1 vs RTN %2 on this row (learned rounding, SignRound: %3, %4 "
               "weights rounded the other way).")
                .arg(num(m_gptqDemo->gptqCurve.back(), 3), num(m_gptqDemo->rtnCurve.back(), 3),
                     num(m_gptqDemo->learned.learnedError, 3))
                .arg(m_gptqDemo->learned.roundedUp + m_gptqDemo->learned.roundedDown));
}

/// The shown weight's quantization, one operation a line (A's result, or B's when chosen).
void PlaygroundPanel::refreshStep()
{
    m_stepOf->setEnabled(bool(m_resultB));
    const bool ofB = m_resultB && m_stepOf->currentIndex() == 1;
    const PlaygroundResult* result = ofB ? m_resultB.get() : m_result.get();
    if (m_pairsPlot->result() != result) // the codebook view follows the same method
        m_pairsPlot->setResult(ofB ? m_resultB : m_result);
    if (!result) {
        m_stepText->setText(QStringLiteral("–"));
        return;
    }
    WeightStep s;
    try {
        s = weightStep(*result, m_weight->value());
    } catch (const Error& e) {
        m_stepText->setText(e.message().toHtmlEscaped());
        return;
    }
    // Three lines of three cells, read left to right: the inputs, the quantization, the outcome.
    auto cell = [](const QString& formula, const QString& value, const QString& note = {}) {
        return QStringLiteral("<td>%1 <b>%2</b>%3&nbsp;&nbsp;&nbsp;</td>")
            .arg(formula.toHtmlEscaped(), value.toHtmlEscaped(),
                 note.isEmpty() ? QString() : QStringLiteral(" <i>(%1)</i>").arg(note.toHtmlEscaped()));
    };
    QString header = tr("%1 · weight #%2 of group %3 (columns %4–%5)")
                         .arg(ofB         ? tr("B (%1)").arg(result->spec.label())
                              : m_resultB ? tr("A (%1)").arg(result->spec.label())
                                          : result->spec.label())
                         .arg(s.index)
                         .arg(s.group)
                         .arg(s.groupBegin)
                         .arg(s.groupEnd - 1);
    QStringList lines;
    if (s.hasScale) {
        header += s.floatZero ? tr(": q = clamp(round(w/s + z), 0, %1), ŵ = (q − z)·s").arg(s.qmax)
                              : tr(": q = clamp(round(w/s) + z, 0, %1), ŵ = (q − z)·s").arg(s.qmax);
        lines << cell(QStringLiteral("w ="), num(s.value)) + cell(tr("scale s ="), num(s.scale)) +
                     cell(tr("zero z ="), num(s.zero));
        if (s.floatZero)
            lines << cell(QStringLiteral("w / s ="), num(s.divided)) +
                         cell(QStringLiteral("w/s + z ="), num(s.shifted)) +
                         cell(QStringLiteral("round(w/s + z) ="), num(s.rounded));
        else
            lines << cell(QStringLiteral("w / s ="), num(s.divided)) +
                         cell(QStringLiteral("round(w/s) ="), num(std::nearbyint(s.divided))) +
                         cell(QStringLiteral("+ z ="), num(s.shifted));
        lines << cell(QStringLiteral("q ="), QString::number(s.code),
                      s.clamped ? tr("clamped to [0, %1]!").arg(s.qmax) : tr("in [0, %1]").arg(s.qmax)) +
                     cell(QStringLiteral("ŵ = (q − z)·s ="), num(s.dequantized)) +
                     cell(tr("error w − ŵ ="), num(s.error));
    } else {
        const QuantSpec& spec = result->spec;
        header +=
            spec.method == QuantMethod::Gptq
                ? tr(": GPTQ rounded the value its error feedback had moved there, not w (see GPTQ "
                     "step by step)")
            : spec.usesCodebook() ? tr(": ŵ = the row's codebook entry q (k-means levels)")
            : spec.usesLattice()
                ? tr(": the vector of 8 weights takes one point of the E8P lattice, times the row's scale")
            : spec.usesAdditive()
                ? tr(": the vector of 8 weights is the sum of one entry of each codebook, times the row's "
                     "scale")
                : tr(": a block type with quantized sub-block scales");
        const bool vector = spec.usesLattice() || spec.usesAdditive();
        lines << cell(QStringLiteral("w ="), num(s.value)) +
                     (vector ? QString() : cell(QStringLiteral("q ="), QString::number(s.code))) +
                     cell(QStringLiteral("ŵ ="), num(s.dequantized),
                          s.exact ? tr("kept exact in the sparse matrix") : QString());
        if (!s.codeText.isEmpty())
            lines << cell(vector ? tr("vector %1:").arg(s.group) : tr("q is"), s.codeText);
        lines << cell(tr("error w − ŵ ="), num(s.error));
    }
    if (s.rotated)
        header += tr(" — rotated: w is (V·w)_%1, the value the method quantizes").arg(s.index);
    m_stepText->setText(QStringLiteral("<p>%1</p><table><tr>%2</tr></table>")
                            .arg(header.toHtmlEscaped(), lines.join(QStringLiteral("</tr><tr>"))));
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
    m_pairsPlot->setPresentationScale(on ? kPresentationScale : 1.0);
    m_rotationPlot->setPresentationScale(on ? kPresentationScale : 1.0);
    m_gptqRowPlot->setPresentationScale(on ? kPresentationScale : 1.0);
    m_gptqCurvePlot->setPresentationScale(on ? kPresentationScale : 1.0);
    refreshGptqStep(); // the numbers' column follows the font
}

void PlaygroundPanel::startGptqDemo()
{
    m_gptqJob.cancel(); // a newer request replaces a running one
    m_gptqJob.discard();
    auto fail = [this](const QString& text) {
        m_gptqStatus->setText(text);
        m_gptqStatus->setStyleSheet(QStringLiteral("color: #b00000"));
        m_gptqStart->setEnabled(true);
        m_gptqCancel->setEnabled(false);
        Q_EMIT gptqFinished();
    };
    if (!m_model || m_source->currentIndex() != 0)
        return fail(tr("GPTQ needs a real row: open a model and choose \"Real weight row\"."));
    if (m_values.empty())
        return fail(m_rowProblem.isEmpty() ? tr("No row to quantize.") : m_rowProblem);
    const QString layer = m_layer->currentText();
    int layerIndex = -1;
    for (std::size_t i = 0; i < m_model->linears().size(); ++i)
        if (m_model->linears()[i].name == layer)
            layerIndex = int(i);
    const QuantSpec spec = gptqSpec();
    const QString problem = spec.validate();
    if (layerIndex < 0 || !problem.isEmpty())
        return fail(layerIndex < 0 ? tr("Choose a layer.") : problem);
    std::shared_ptr<const LinearInputStats> stats = m_statsLayer == layer ? m_layerStats : nullptr;
    CalibrationSettings cal;
    cal.text = m_calibrationText.isEmpty() ? QDir(AppSettings::load().effectiveDataDirectory())
                                                 .filePath(QLatin1String(AppSettings::kCalibrationText))
                                           : m_calibrationText;
    cal.samples = kDemoSamples;
    cal.seqLen = int(std::min<std::int64_t>(kDemoSeqLen, m_model->config().maxPositionEmbeddings));
    if (!stats && !QFileInfo(cal.text).isFile())
        return fail(tr("%1: the calibration text does not exist; set the data folder in Preferences.")
                        .arg(QDir::toNativeSeparators(cal.text)));

    struct Outcome
    {
        std::shared_ptr<const LinearInputStats> stats;
        std::shared_ptr<const GptqDemo> demo;
        double seconds = 0;
    };
    m_gptqStatus->setStyleSheet(QString());
    m_gptqStatus->setText(stats ? tr("Running GPTQ on the row…")
                                : tr("Computing the statistics of %1…").arg(layer));
    m_gptqStart->setEnabled(false);
    m_gptqCancel->setEnabled(true);
    const QString rowLabel = m_rowLabel;
    JobOptions options;
    options.progress = [this](const JobProgress& p) {
        m_gptqStatus->setText(tr("%1: %2 (%3 %)").arg(p.stage, p.detail).arg(int(p.fraction * 100)));
    };
    m_gptqJob = runJob<Outcome>(
        this,
        [model = m_model, values = m_values, layerIndex, cal, spec, stats](Outcome& out,
                                                                           const JobContext& ctx) {
            QElapsedTimer clock;
            clock.start();
            out.stats = stats;
            if (!out.stats) {
                const auto tokenizer = Tokenizer::load(model->path());
                out.stats = std::make_shared<const LinearInputStats>(
                    layerInputStatistics(model, *tokenizer, layerIndex, cal, ctx));
            }
            out.demo = std::make_shared<const GptqDemo>(qs::gptqDemo(values, *out.stats, spec, ctx));
            out.seconds = double(clock.nsecsElapsed()) / 1e9;
        },
        [this, layer, rowLabel, cal](const JobOutcome<Outcome>& o) {
            m_gptqStart->setEnabled(true);
            m_gptqCancel->setEnabled(false);
            const auto finished = qScopeGuard([this] { Q_EMIT gptqFinished(); });
            if (o.value.stats) { // kept even when GPTQ itself failed: the next setting reuses them
                const bool fresh = o.value.stats != m_layerStats;
                m_layerStats = o.value.stats;
                m_statsLayer = layer;
                // A calibrated method on screen was given isotropic inputs: now it gets the layer's.
                if (fresh &&
                    (currentSpec().needsCalibration() ||
                     (m_compare->isChecked() && !comparingWithGptq() && comparisonSpec().needsCalibration())))
                    QTimer::singleShot(0, this, &PlaygroundPanel::recompute);
            }
            if (o.cancelled) {
                m_gptqStatus->setText(tr("Cancelled."));
                return;
            }
            if (!o.error.isEmpty()) {
                m_gptqStatus->setText(o.error);
                m_gptqStatus->setStyleSheet(QStringLiteral("color: #b00000"));
                return;
            }
            m_gptqDemo = o.value.demo;
            m_gptqRowLabel = rowLabel;
            const GptqDemo& d = *m_gptqDemo;
            m_gptqStatus->setText(tr("%1 — %2: XᵀX from %3 tokens of %4, λ = %5; %6 s")
                                      .arg(rowLabel, d.spec.label())
                                      .arg(d.tokens)
                                      .arg(QFileInfo(cal.text).fileName())
                                      .arg(num(d.trace.damp, 3))
                                      .arg(o.value.seconds, 0, 'f', 2));
            {
                const QSignalBlocker block(m_gptqStep);
                m_gptqStep->setRange(1, int(d.columns()));
                m_gptqStep->setSuffix(tr(" of %1").arg(d.columns()));
                if (m_pendingGptqStep > 0)
                    m_gptqStep->setValue(std::exchange(m_pendingGptqStep, 0));
            }
            refreshGptqStep();
            if (m_compare->isChecked() && comparingWithGptq())
                recompute(); // B shows this demonstration's result
            Q_EMIT gptqDemoChanged();
        },
        options);
}

/// The current GPTQ step as numbers: the column, its quantization, the error fed back and what
/// it did to the next columns, and the output error so far against RTN's.
void PlaygroundPanel::refreshGptqStep()
{
    if (!m_gptqDemo) {
        m_gptqText->clear();
        m_gptqNext->clear();
        m_gptqRowPlot->setDemo(nullptr, 0);
        m_gptqCurvePlot->setDemo(nullptr, 0);
        return;
    }
    const GptqDemo& d = *m_gptqDemo;
    const std::int64_t i = std::clamp<std::int64_t>(m_gptqStep->value() - 1, 0, d.columns() - 1);
    const GptqColumnStep& st = d.trace.steps[std::size_t(i)];
    const std::vector<double> before = d.weightsAfter(i), after = d.weightsAfter(i + 1);
    const double u = double(d.trace.inverseFactor(i, i));
    QStringList rows;
    auto row = [&rows](const QString& what, const QString& value) {
        rows << QStringLiteral("<tr><td>%1</td><td align=\"right\"><b>%2</b></td></tr>")
                    .arg(what.toHtmlEscaped(), value.toHtmlEscaped());
    };
    row(tr("column (step %1 of %2)").arg(i + 1).arg(d.columns()), QString::number(st.column));
    row(tr("w₀ (original)"), num(d.original[std::size_t(st.column)]));
    row(tr("w (after feedback)"), num(st.weight));
    row(tr("s, z"), tr("%1, %2").arg(num(st.scale), num(st.zero)));
    row(tr("q = clamp(round(w/s) + z)"), QString::number(st.code));
    row(tr("ŵ = (q − z)·s"), num(st.dequantized));
    row(tr("e = w − ŵ"), num(double(st.weight) - double(st.dequantized)));
    row(tr("fed back e / U(j,j) (U(j,j) = %1)").arg(num(u, 4)), num(st.scaledError));
    QStringList next;
    const std::int64_t shown = std::min<std::int64_t>(8, d.columns() - i - 1);
    for (std::int64_t k = 1; k <= shown; ++k) {
        const auto c = std::size_t(d.trace.order[std::size_t(i + k)]);
        next << QStringLiteral("<tr><td>%1</td><td align=\"right\">%2</td><td>→</td><td "
                               "align=\"right\"><b>%3</b></td></tr>")
                    .arg(c)
                    .arg(num(before[c], 4), num(after[c], 4));
    }
    const double gNow = d.outputError(after), rNow = d.outputError(d.rtnWeightsAfter(i + 1));
    row(tr("output error now: GPTQ / RTN"), tr("%1 / %2").arg(num(gNow, 4), num(rNow, 4)));
    row(tr("at the end: GPTQ / RTN"),
        tr("%1 / %2").arg(num(d.gptqCurve.back(), 4), num(d.rtnCurve.back(), 4)));
    const LearnedRounding& lr = d.learned;
    row(tr("learned rounding (SignRound, %1 steps)").arg(int(lr.curve.size()) - 1),
        tr("%1: %2 of %3 weights rounded the other way (%4 up, %5 down)")
            .arg(num(lr.learnedError, 4))
            .arg(lr.roundedUp + lr.roundedDown)
            .arg(d.columns())
            .arg(lr.roundedUp)
            .arg(lr.roundedDown));
    m_gptqText->setText(QStringLiteral("<table>%1</table>").arg(rows.join(QString())));
    m_gptqNext->setText(
        next.isEmpty()
            ? QString()
            : tr("Next columns: w −= e/U(j,j)·U(j,k)") +
                  QStringLiteral("<table><tr><th>%1</th><th>%2</th><th></th><th>%3</th></tr>%4</table>")
                      .arg(tr("column"), tr("before"), tr("after"), next.join(QString())));
    // Tall enough for the numbers at the current font, leaving the plots at least half the page.
    const int wanted = std::max(m_gptqText->sizeHint().height(), m_gptqNext->sizeHint().height()) + 4 +
                       m_gptqTextScroll->horizontalScrollBar()->sizeHint().height(); // when it shows
    m_gptqTextScroll->setMinimumHeight(std::min(wanted, m_views->height() / 2));
    m_gptqRowPlot->setDemo(m_gptqDemo, i);
    m_gptqCurvePlot->setDemo(m_gptqDemo, i);
}

QString PlaygroundPanel::applySettings(const QString& settings)
{
    QStringList problems;
    auto methodIndex = [this](const QString& name) {
        for (std::size_t i = 0; i < m_methods.size(); ++i)
            if (m_methods[i].name == name)
                return int(i);
        return -1;
    };
    auto setGroup = [](QComboBox* box, const QString& v) {
        const int i = box->findData(v == u"channel" ? kPerChannel : v.toInt());
        if (i >= 0)
            box->setCurrentIndex(i);
        return i >= 0;
    };
    for (const QString& item : settings.split(u',', Qt::SkipEmptyParts)) {
        const QString key = item.section(u'=', 0, 0).trimmed(), value = item.section(u'=', 1).trimmed();
        bool ok = true;
        if (key == u"layer") {
            m_source->setCurrentIndex(0);
            ok = m_layer->findText(value) >= 0;
            m_layer->setCurrentText(value);
        } else if (key == u"row") {
            m_row->setValue(value.toInt());
        } else if (key == u"source") {
            m_source->setCurrentIndex(value == u"synthetic" ? 1 : 0);
        } else if (key == u"method" || key == u"compare") {
            const int i = key == u"compare" && value == u"gptq" ? int(m_methods.size()) : methodIndex(value);
            if (key == u"compare")
                m_compare->setChecked(value != u"off");
            ok = i >= 0 || value == u"off";
            if (i >= 0)
                (key == u"method" ? m_method : m_methodB)->setCurrentIndex(i);
        } else if (key == u"bits" || key == u"bitsB") {
            (key == u"bits" ? m_bits : m_bitsB)->setValue(value.toInt());
        } else if (key == u"group" || key == u"groupB") {
            ok = setGroup(key == u"group" ? m_groupSize : m_groupSizeB, value);
        } else if (key == u"symmetric" || key == u"symmetricB") {
            (key == u"symmetric" ? m_symmetric : m_symmetricB)->setChecked(value != u"0");
        } else if (key == u"rotate" || key == u"rotateB") {
            (key == u"rotate" ? m_rotate : m_rotateB)->setChecked(value != u"0");
        } else if (key == u"codebook" || key == u"codebookB") {
            QComboBox* box = key == u"codebook" ? m_codebook : m_codebookB;
            fillCodebooks(box, (key == u"codebook" ? m_bits : m_bitsB)->value());
            const int i = box->findData(value.toInt());
            ok = i >= 0;
            if (ok)
                box->setCurrentIndex(i);
        } else if (key == u"sparse" || key == u"sparseB") {
            (key == u"sparse" ? m_sparse : m_sparseB)->setValue(value.toDouble(&ok));
        } else if (key == u"distribution") {
            m_source->setCurrentIndex(1);
            const int i =
                m_distribution->findData(int(value == u"laplace"    ? SyntheticDistribution::Laplace
                                             : value == u"uniform"  ? SyntheticDistribution::Uniform
                                             : value == u"gaussian" ? SyntheticDistribution::Gaussian
                                                                    : SyntheticDistribution(-1)));
            ok = i >= 0;
            if (ok)
                m_distribution->setCurrentIndex(i);
        } else if (key == u"count" || key == u"outliers" || key == u"seed") {
            m_source->setCurrentIndex(1);
            (key == u"count" ? m_count : key == u"seed" ? m_seed : m_outliers)->setValue(value.toInt(&ok));
        } else if (key == u"magnitude") {
            m_source->setCurrentIndex(1);
            m_magnitude->setValue(value.toDouble(&ok));
        } else if (key == u"weight") {
            m_weight->setValue(value.toInt());
            if (m_rowJob.isRunning()) // its groups may differ from the current result's: set once it is in
                m_pendingWeight = value.toInt();
        } else if (key == u"shownGroup") {
            m_shownGroup->setValue(value.toInt());
        } else if (key == u"sorted") {
            m_sorted->setChecked(value != u"0");
        } else if (key == u"view") {
            ok = value == u"row" || value == u"gptq" || value == u"codebook";
            m_views->setCurrentIndex(value == u"gptq" ? 1 : value == u"codebook" ? 2 : 0);
        } else if (key == u"gptq") {
            m_views->setCurrentIndex(1);
            m_pendingGptqStep = std::max(1, value.toInt());
            startGptqDemo();
            ok = m_gptqJob.isRunning();
        } else if (key == u"controls") {
            findChild<QToolButton*>(QStringLiteral("playgroundShowControls"))->setChecked(value != u"0");
        } else if (key == u"present") {
            setPresentationMode(value != u"0");
        } else if (key == u"window") {
            const QStringList wh = value.split(u'x');
            ok = wh.size() == 2 && wh[0].toInt() > 0 && wh[1].toInt() > 0;
            if (ok)
                window()->resize(wh[0].toInt(), wh[1].toInt());
        } else {
            ok = false;
        }
        if (!ok)
            problems << item;
    }
    return problems.join(QStringLiteral(", "));
}

} // namespace qs
