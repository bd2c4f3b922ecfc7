#pragma once

#include "store/ResultsDb.h"

#include <QList>
#include <QWidget>
#include <functional>
#include <vector>

class QCheckBox;
class QComboBox;
class QDateEdit;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QSpinBox;
class QTableWidget;

namespace qs {

class RunStore;

/// The results database as the Runs page shows it: every run of every session and model, with
/// search and filters (text, model, method, bits, bpw range, date, tag), tags, rename, delete with
/// undo (the trash), and the disk the kept checkpoints take with a way to prune them (the numbers
/// stay). "Compare" hands the selected runs to the comparison plots, whatever session made them;
/// "Diff" shows two of them side by side.
/// Reads and writes go through the RunStore the panel is given (one connection, the UI thread:
/// each is one short SQLite transaction).
class RunHistoryPanel : public QWidget
{
    Q_OBJECT
public:
    explicit RunHistoryPanel(QWidget* parent = nullptr);
    /// The store whose database is shown (not owned; outlives the panel).
    void setStore(RunStore* store);
    /// Reads the database again with the current filters.
    void refresh();
    /// The runs the table shows, in its order.
    const std::vector<StoredRun>& shownRuns() const { return m_runs; }
    /// Selects rows of the table (tests, keyboard users).
    void selectRows(const QList<int>& rows);

Q_SIGNALS:
    /// The user asked to compare these runs in the plots.
    void compareRequested(const std::vector<SessionRun>& runs);
    /// The user asked to see two selected runs side by side (Diff), in the table's order.
    void diffRequested(const SessionRun& a, const SessionRun& b);
    /// Runs were deleted, restored, renamed or re-tagged (the page reloads its current model's).
    void historyChanged();
    void errorOccurred(const QString& title, const QString& message);

private:
    RunFilter filter() const;
    QList<qint64> selectedIds() const;
    void deleteSelected();
    void undoDelete();
    void restoreSelected();
    void tagSelected();
    void renameSelected();
    void pruneSelected();
    void emptyTrash();
    void updateDiskLabel();
    /// Runs `f` against the database; reports an Error instead of throwing. False when it failed.
    bool write(const std::function<void(ResultsDb&)>& f);

    RunStore* m_store = nullptr;
    std::vector<StoredRun> m_runs;
    QList<qint64> m_lastDeleted; ///< what Undo brings back
    QLineEdit* m_search = nullptr;
    QLineEdit* m_model = nullptr;
    QComboBox* m_method = nullptr;
    QSpinBox* m_bits = nullptr;
    QDoubleSpinBox* m_minBpw = nullptr;
    QDoubleSpinBox* m_maxBpw = nullptr;
    QCheckBox* m_useSince = nullptr;
    QDateEdit* m_since = nullptr;
    QLineEdit* m_tag = nullptr;
    QCheckBox* m_trash = nullptr;
    QTableWidget* m_table = nullptr;
    QPushButton* m_compare = nullptr;
    QPushButton* m_diff = nullptr;
    QPushButton* m_tagButton = nullptr;
    QPushButton* m_rename = nullptr;
    QPushButton* m_delete = nullptr;
    QPushButton* m_undo = nullptr;
    QPushButton* m_restore = nullptr;
    QPushButton* m_prune = nullptr;
    QPushButton* m_emptyTrash = nullptr;
    QLabel* m_disk = nullptr;
    QLabel* m_status = nullptr;
};

} // namespace qs
