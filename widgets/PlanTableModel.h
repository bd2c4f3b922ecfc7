#pragma once

#include "quant/QuantizeJob.h"

#include <QAbstractTableModel>
#include <QRegularExpression>
#include <vector>

namespace qs {

class PlanDocument;

/// The layer table over a PlanDocument: one row per linear layer (Model::linears() order) with
/// its shape, the planned method / bits / group / symmetry (editable: edits become recipe rules
/// through the document, so they undo and save), estimated bytes and bpw, the recipe entry that
/// set it, and — after a run — the measured weight and output errors.
class PlanTableModel : public QAbstractTableModel
{
    Q_OBJECT
public:
    enum Column {
        Name,
        Block,
        Kind,
        Shape,
        Params,
        Method,
        Bits,
        Group,
        Symmetric,
        Bytes,
        Bpw,
        Source,
        WeightError,
        OutputError,
        ColumnCount
    };
    /// Sort key role (numbers sort as numbers); ChoicesRole: QStringList of valid editor values.
    static constexpr int SortRole = Qt::UserRole;
    static constexpr int ChoicesRole = Qt::UserRole + 1;
    static constexpr int HighlightRole = Qt::UserRole + 2;

    explicit PlanTableModel(PlanDocument* doc, QObject* parent = nullptr);

    /// Rows (source rows) an edit applies to when the edited row is one of them: the selection,
    /// so a multi-select edit sets every selected layer in one undoable step.
    void setEditRows(std::vector<int> rows) { m_editRows = std::move(rows); }
    /// Rows whose layer name the pattern matches are highlighted (live preview of a rule).
    void setHighlight(const QString& pattern);
    int highlightedCount() const;
    /// Per-layer measurements of a finished run (empty: none), named by the run in the columns'
    /// headers. `specs` are the schemes the run quantized each row with: a row whose scheme in the
    /// plan differs from them (the plan changed since) shows no error, as it was not measured.
    void setMeasurements(const std::vector<LayerReport>& layers, const QString& run = QString(),
                         const std::vector<QuantSpec>& specs = {});
    /// The run the error columns come from (empty: none).
    const QString& measuredRun() const { return m_measuredRun; }
    /// The last edit's error (empty when it worked): the view shows it.
    const QString& lastError() const { return m_lastError; }

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;
    Qt::ItemFlags flags(const QModelIndex& index) const override;
    bool setData(const QModelIndex& index, const QVariant& value, int role = Qt::EditRole) override;

Q_SIGNALS:
    void editFailed(const QString& message);

private:
    void reload();
    QStringList choices(int row, int column) const;

    PlanDocument* m_doc;
    std::vector<int> m_editRows;
    QRegularExpression m_highlight;
    std::vector<LayerReport> m_measured;
    std::vector<QuantSpec> m_measuredSpecs; ///< per row, the scheme the measured run used
    QString m_measuredRun;
    QString m_lastError;
    int m_rows = 0;
};

} // namespace qs
