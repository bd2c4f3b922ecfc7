#include "PlanPage.h"

#include "PlanDocument.h"
#include "PlanItemDelegate.h"
#include "PlanTableModel.h"
#include "TableColumns.h"
#include "ThemeColors.h"
#include "model/Model.h"
#include "quant/QuantizeJob.h"
#include "recipe/RecipeExport.h"
#include "util/Error.h"
#include "util/Paths.h"

#include <QBoxLayout>
#include <QComboBox>
#include <QCoreApplication>
#include <QFileDialog>
#include <QGroupBox>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QJsonDocument>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QPushButton>
#include <QRegularExpression>
#include <QSortFilterProxyModel>
#include <QSplitter>
#include <QTableView>
#include <QTableWidget>

namespace qs {

PlanPage::PlanPage(QWidget* parent) : QWidget(parent)
{
    setObjectName(QStringLiteral("planPage"));
    createTable();
    QHBoxLayout* top = createTopRow();
    QGroupBox* rulesBox = createRulesBox();

    auto* split = new QSplitter(Qt::Vertical);
    split->addWidget(m_planView);
    split->addWidget(rulesBox);
    split->setStretchFactor(0, 3);
    split->setStretchFactor(1, 1);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_planTotals);
    layout->addLayout(top);
    layout->addWidget(m_planWarnings);
    layout->addWidget(split, 1);
    connect(m_plan, &PlanDocument::planChanged, this, [this] {
        refreshPlanHeader();
        refreshRules();
    });
}

void PlanPage::createTable()
{
    m_plan = new PlanDocument(this);
    m_planModel = new PlanTableModel(m_plan, this);
    m_planProxy = new QSortFilterProxyModel(this);
    m_planProxy->setSourceModel(m_planModel);
    m_planProxy->setSortRole(PlanTableModel::SortRole);
    m_planView = new QTableView;
    m_planView->setObjectName(QStringLiteral("planTable"));
    m_planView->setModel(m_planProxy);
    m_planView->setItemDelegate(new PlanItemDelegate(m_planView));
    m_planView->setSortingEnabled(true);
    m_planView->sortByColumn(-1, Qt::AscendingOrder);
    m_planView->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_planView->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_planView->setEditTriggers(QAbstractItemView::DoubleClicked | QAbstractItemView::SelectedClicked |
                                QAbstractItemView::EditKeyPressed);
    m_planView->setAlternatingRowColors(true);
    favourNumberColumns(m_planView, PlanTableModel::Name);
    m_planView->verticalHeader()->hide();
    connect(m_planView->selectionModel(), &QItemSelectionModel::selectionChanged, this, [this] {
        std::vector<int> rows;
        for (const QModelIndex& i : m_planView->selectionModel()->selectedRows())
            rows.push_back(m_planProxy->mapToSource(i).row());
        m_planModel->setEditRows(rows);
    });
    connect(m_planModel, &PlanTableModel::editFailed, this,
            [this](const QString& message) { Q_EMIT errorOccurred(tr("Cannot change the plan"), message); });

    m_planTotals = new QLabel;
    m_planTotals->setObjectName(QStringLiteral("planTotals"));
    m_planTotals->setWordWrap(true); // a narrow window (or teaching mode's large font) wraps it
    m_planTotals->setTextFormat(Qt::RichText);
    m_planWarnings = new QLabel;
    m_planWarnings->setObjectName(QStringLiteral("planWarnings"));
    m_planWarnings->setWordWrap(true);
    theme::setTextTone(m_planWarnings, theme::Tone::Warning);
}

QHBoxLayout* PlanPage::createTopRow()
{
    m_presets = new QComboBox;
    m_presets->setObjectName(QStringLiteral("presetCombo"));
    // No preset is shown as chosen until the user picks one: the table holds the plan, and a preset's name
    // in the box beside it read as if it were applied.
    m_presets->setPlaceholderText(tr("Choose a preset to apply…"));
    auto* applyPreset = new QPushButton(tr("Apply preset"));
    applyPreset->setObjectName(QStringLiteral("applyPreset"));
    applyPreset->setEnabled(false);
    connect(m_presets, &QComboBox::currentIndexChanged, applyPreset,
            [applyPreset](int index) { applyPreset->setEnabled(index >= 0); });
    connect(applyPreset, &QPushButton::clicked, this, [this] {
        if (!m_model || m_presets->currentIndex() < 0)
            return;
        const std::vector<RecipePreset> presets = recipePresets(*m_model);
        const RecipePreset& p = presets[std::size_t(m_presets->currentIndex())];
        Recipe r = p.recipe;
        r.calibration = m_plan->recipe().calibration; // keep the chosen calibration text
        try {
            m_plan->replaceRecipe(r, tr("Preset: %1").arg(QCoreApplication::translate("Presets", p.name)));
        } catch (const Error& e) {
            Q_EMIT errorOccurred(tr("Cannot apply the preset"), e.message());
        }
    });
    auto* loadRecipe = new QPushButton(tr("Load recipe…"));
    connect(loadRecipe, &QPushButton::clicked, this, &PlanPage::loadRecipeDialog);
    auto* saveRecipe = new QPushButton(tr("Save recipe…"));
    connect(saveRecipe, &QPushButton::clicked, this, &PlanPage::saveRecipeDialog);
    auto* top = new QHBoxLayout;
    top->addWidget(new QLabel(tr("Preset:")));
    top->addWidget(m_presets, 1);
    top->addWidget(applyPreset);
    top->addSpacing(20);
    top->addWidget(loadRecipe);
    top->addWidget(saveRecipe);
    top->addSpacing(20);
    m_runName = new QLineEdit;
    m_runName->setObjectName(QStringLiteral("runName"));
    m_runName->setPlaceholderText(tr("run name"));
    m_runName->setMaximumWidth(160);
    auto* run = new QPushButton(tr("Run"));
    run->setObjectName(QStringLiteral("runPlan"));
    run->setToolTip(tr("Quantize the model with this plan and evaluate it (a job: see the Runs page)"));
    connect(run, &QPushButton::clicked, this, &PlanPage::runRequested);
    top->addWidget(m_runName);
    top->addWidget(run);
    return top;
}

QGroupBox* PlanPage::createRulesBox()
{
    // Rule editor: a regex (live highlight of the layers it matches) and the fields it sets.
    m_ruleMatch = new QLineEdit;
    m_ruleMatch->setObjectName(QStringLiteral("ruleMatch"));
    m_ruleMatch->setPlaceholderText(tr("regex on layer names, e.g. mlp\\.down_proj$ or layers\\.(0|1)\\."));
    m_ruleMatchCount = new QLabel;
    m_ruleMatchCount->setObjectName(QStringLiteral("ruleMatchCount"));
    connect(m_ruleMatch, &QLineEdit::textChanged, this, [this](const QString& text) {
        const QRegularExpression re(text);
        m_planModel->setHighlight(re.isValid() ? text : QString());
        m_ruleMatchCount->setText(text.isEmpty() ? QString()
                                  : !re.isValid()
                                      ? tr("invalid: %1").arg(re.errorString())
                                      : tr("%n layer(s) match", nullptr, m_planModel->highlightedCount()));
    });
    m_ruleMethod = new QComboBox;
    m_ruleMethod->setObjectName(QStringLiteral("ruleMethod"));
    m_ruleMethod->addItem(tr("(keep)"));
    m_ruleMethod->addItems(quantMethodNames(false));
    m_ruleBits = new QComboBox;
    m_ruleBits->setObjectName(QStringLiteral("ruleBits"));
    m_ruleGroup = new QComboBox;
    m_ruleGroup->setObjectName(QStringLiteral("ruleGroup"));
    m_ruleGroup->addItem(tr("(keep)"));
    m_ruleGroup->addItems(quantGroupChoices(QuantMethod::Rtn));
    m_ruleSym = new QComboBox;
    m_ruleSym->setObjectName(QStringLiteral("ruleSym"));
    m_ruleSym->addItems({tr("(keep)"), tr("symmetric"), tr("asymmetric")});
    // A gguf rule sets a ggml type (the table's), which fixes bits, block and symmetry.
    const auto offerBits = [this] {
        const bool gguf = m_ruleMethod->currentText() == quantMethodName(QuantMethod::Ggml);
        m_ruleBits->clear();
        m_ruleBits->addItem(tr("(keep)"));
        if (gguf) {
            m_ruleBits->addItems(QuantSpec::ggmlTypeChoices());
            m_ruleBits->setCurrentText(ggmlTypeName(QuantSpec::ggmlTypeForBits(4)));
        } else {
            for (int b = quantBitRange().first; b <= quantBitRange().second; ++b)
                m_ruleBits->addItem(QString::number(b));
        }
        m_ruleBits->setToolTip(gguf ? tr("The ggml type the matched layers get") : tr("Bits per weight"));
        m_ruleGroup->setEnabled(!gguf);
        m_ruleSym->setEnabled(!gguf);
    };
    offerBits();
    connect(m_ruleMethod, &QComboBox::currentIndexChanged, this, offerBits);
    auto* addRule = new QPushButton(tr("Add rule"));
    addRule->setObjectName(QStringLiteral("addRule"));
    connect(addRule, &QPushButton::clicked, this, &PlanPage::addRuleFromEditor);
    connect(m_ruleMatch, &QLineEdit::returnPressed, this, &PlanPage::addRuleFromEditor);
    auto* ruleRow = new QHBoxLayout;
    ruleRow->addWidget(m_ruleMatch, 2);
    ruleRow->addWidget(m_ruleMatchCount);
    ruleRow->addWidget(m_ruleMethod);
    ruleRow->addWidget(m_ruleBits);
    ruleRow->addWidget(m_ruleGroup);
    ruleRow->addWidget(m_ruleSym);
    ruleRow->addWidget(addRule);

    m_rules = new QTableWidget(0, 2);
    m_rules->setObjectName(QStringLiteral("rulesTable"));
    m_rules->setHorizontalHeaderLabels({tr("Match (last match wins)"), tr("Sets")});
    m_rules->horizontalHeader()->setStretchLastSection(true);
    m_rules->horizontalHeader()->setSectionResizeMode(0, QHeaderView::ResizeToContents);
    m_rules->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_rules->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_rules->verticalHeader()->hide();
    connect(m_rules, &QTableWidget::currentCellChanged, this, [this](int row) {
        if (row >= 0 && row < int(m_plan->recipe().rules.size()))
            m_planModel->setHighlight(m_plan->recipe().rules[std::size_t(row)].match);
    });
    auto* removeRule = new QPushButton(tr("Remove rule"));
    removeRule->setObjectName(QStringLiteral("removeRule"));
    connect(removeRule, &QPushButton::clicked, this, [this] {
        try {
            m_plan->removeRule(m_rules->currentRow());
        } catch (const Error& e) {
            Q_EMIT errorOccurred(tr("Cannot remove the rule"), e.message());
        }
    });
    auto* rulesBox = new QGroupBox(tr("Rules"));
    auto* rulesLayout = new QVBoxLayout(rulesBox);
    rulesLayout->addLayout(ruleRow);
    rulesLayout->addWidget(m_rules);
    rulesLayout->addWidget(removeRule, 0, Qt::AlignLeft);
    return rulesBox;
}

QString PlanPage::runName() const
{
    return m_runName->text();
}

void PlanPage::setModel(std::shared_ptr<const Model> model)
{
    m_model = std::move(model);
    m_presets->clear();
    for (const RecipePreset& p : recipePresets(*m_model))
        m_presets->addItem(QCoreApplication::translate("Presets", p.name));
    m_presets->setCurrentIndex(-1); // the placeholder: nothing applied yet
    // A quantized checkpoint (a GGUF file, a run, a GPTQ/AWQ folder) starts from what it stores,
    // so the layer table shows each layer's type; a float model from the default plan.
    Recipe start = recipeForStoredModel(*m_model, QStringLiteral("plan"));
    m_plan->setModel(m_model, start);
}

void PlanPage::addRuleFromEditor()
{
    const QString match = m_ruleMatch->text();
    if (match.isEmpty() || !m_model)
        return;
    QJsonObject o;
    if (m_ruleMethod->currentIndex() > 0)
        o.insert(QStringLiteral("method"), m_ruleMethod->currentText());
    const bool gguf = m_ruleMethod->currentText() == quantMethodName(QuantMethod::Ggml);
    if (m_ruleBits->currentIndex() > 0 && gguf)
        o.insert(QStringLiteral("type"), m_ruleBits->currentText());
    else if (m_ruleBits->currentIndex() > 0)
        o.insert(QStringLiteral("bits"), m_ruleBits->currentText().toInt());
    if (m_ruleGroup->currentIndex() > 0 && !gguf) {
        const QString g = m_ruleGroup->currentText();
        if (g == u"channel" || g == u"tensor") {
            o.insert(QStringLiteral("granularity"), g);
        } else {
            o.insert(QStringLiteral("granularity"), QStringLiteral("group"));
            o.insert(QStringLiteral("group_size"), g.toInt());
        }
    }
    if (m_ruleSym->currentIndex() > 0 && !gguf)
        o.insert(QStringLiteral("symmetric"), m_ruleSym->currentIndex() == 1);
    if (o.isEmpty()) {
        Q_EMIT errorOccurred(
            tr("Cannot add the rule"),
            tr("Choose at least one field the rule sets (method, bits, group or symmetry)."));
        return;
    }
    try {
        m_plan->addRule({match, o});
    } catch (const Error& e) {
        Q_EMIT errorOccurred(tr("Cannot add the rule"), e.message());
    }
}

void PlanPage::refreshRules()
{
    const Recipe& r = m_plan->recipe();
    m_rules->setRowCount(int(r.rules.size()));
    for (int i = 0; i < int(r.rules.size()); ++i) {
        const RecipeRule& rule = r.rules[std::size_t(i)];
        m_rules->setItem(i, 0, new QTableWidgetItem(rule.match));
        m_rules->setItem(i, 1,
                         new QTableWidgetItem(QString::fromUtf8(
                             QJsonDocument(rule.overrides).toJson(QJsonDocument::Compact))));
    }
}

void PlanPage::refreshPlanHeader()
{
    if (!m_model) {
        m_planTotals->clear();
        return;
    }
    const double before = double(m_plan->floatBytes()), after = double(m_plan->plannedBytes());
    const MemoryEstimate mem =
        estimateQuantizationMemory(*m_model, m_plan->plan(), m_plan->recipe().calibration);
    m_planTotals->setText(
        tr("<b>%1</b> → <b>%2</b> (%3 % of the original) · linear layers at <b>%4</b> bits per weight · "
           "whole model %5 bpw · estimated memory to quantize: %6")
            .arg(formatBytes(before), formatBytes(after))
            .arg(QLocale().toString(before > 0 ? 100.0 * after / before : 0, 'f', 1),
                 QLocale().toString(m_plan->linearBitsPerWeight(), 'f', 3),
                 QLocale().toString(before > 0 ? 8.0 * after / double(m_model->totals().params) : 0, 'f', 3),
                 formatBytes(mem.total())));
    m_planWarnings->setText(m_plan->warnings().isEmpty()
                                ? QString()
                                : tr("Rules that match no layer of this model: %1")
                                      .arg(m_plan->warnings().join(QStringLiteral("; "))));
    m_planWarnings->setVisible(!m_plan->warnings().isEmpty());
}

void PlanPage::loadRecipeDialog()
{
    if (!m_model)
        return;
    const QString path =
        QFileDialog::getOpenFileName(this, tr("Load Recipe"), QString(), tr("Recipes (*.json)"));
    if (path.isEmpty())
        return;
    try {
        m_plan->loadRecipe(path);
    } catch (const Error& e) {
        Q_EMIT errorOccurred(tr("Cannot load the recipe"), e.message());
    }
}

void PlanPage::saveRecipeDialog()
{
    if (!m_model)
        return;
    const QString path =
        QFileDialog::getSaveFileName(this, tr("Save Recipe"), QString(), tr("Recipes (*.json)"));
    if (path.isEmpty())
        return;
    try {
        m_plan->saveRecipe(path);
        Q_EMIT statusMessage(tr("Recipe saved to %1").arg(path), 5000);
    } catch (const Error& e) {
        Q_EMIT errorOccurred(tr("Cannot save the recipe"), e.message());
    }
}

} // namespace qs
