#pragma once

#include <QWidget>
#include <memory>

class QComboBox;
class QGroupBox;
class QHBoxLayout;
class QLabel;
class QLineEdit;
class QSortFilterProxyModel;
class QTableView;
class QTableWidget;

namespace qs {

class Model;
class PlanDocument;
class PlanTableModel;

/// The Plan page: the layer table with its inline editors, the totals and warnings above it,
/// presets, recipe load/save, the run name and Run button, and the rule editor with its live
/// highlight. It owns the plan being edited (PlanDocument); the window runs it (runRequested).
class PlanPage : public QWidget
{
    Q_OBJECT
public:
    explicit PlanPage(QWidget* parent = nullptr);

    PlanDocument* document() const { return m_plan; }
    PlanTableModel* tableModel() const { return m_planModel; }
    /// A newly opened model: its presets, and the plan it starts from (what a quantized checkpoint
    /// stores, else the default plan).
    void setModel(std::shared_ptr<const Model> model);
    /// The name typed for the next run (empty: none).
    QString runName() const;

public Q_SLOTS:
    void loadRecipeDialog();
    void saveRecipeDialog();

Q_SIGNALS:
    /// The Run button: the window queues a run of the plan.
    void runRequested();
    void errorOccurred(const QString& title, const QString& message);
    void statusMessage(const QString& message, int timeoutMs);

private:
    void createTable();
    QHBoxLayout* createTopRow();
    QGroupBox* createRulesBox();
    void refreshPlanHeader();
    void refreshRules();
    void addRuleFromEditor();

    std::shared_ptr<const Model> m_model;
    PlanDocument* m_plan = nullptr;
    PlanTableModel* m_planModel = nullptr;
    QSortFilterProxyModel* m_planProxy = nullptr;
    QTableView* m_planView = nullptr;
    QLabel* m_planTotals = nullptr;
    QLabel* m_planWarnings = nullptr;
    QComboBox* m_presets = nullptr;
    QLineEdit* m_runName = nullptr;
    QLineEdit* m_ruleMatch = nullptr;
    QLabel* m_ruleMatchCount = nullptr;
    QComboBox* m_ruleMethod = nullptr;
    QComboBox* m_ruleBits = nullptr;
    QComboBox* m_ruleGroup = nullptr;
    QComboBox* m_ruleSym = nullptr;
    QTableWidget* m_rules = nullptr;
};

} // namespace qs
