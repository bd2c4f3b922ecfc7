#include "RunHistoryPanel.h"

#include "store/RunStore.h"
#include "util/Error.h"
#include "util/Paths.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDateEdit>
#include <QDir>
#include <QDoubleSpinBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QInputDialog>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPushButton>
#include <QSpinBox>
#include <QTableWidget>
#include <QVBoxLayout>
#include <cmath>

namespace qs {

namespace {

enum Column {
    ColId,
    ColRecorded,
    ColName,
    ColModel,
    ColMethod,
    ColBits,
    ColBpw,
    ColPpl,
    ColKld,
    ColTags,
    ColCheckpoint,
    ColumnCount
};

QString number(double v, int decimals)
{
    return std::isfinite(v) ? QString::number(v, 'f', decimals) : QStringLiteral("–");
}

QTableWidgetItem* item(const QString& text, const QVariant& sortKey = {})
{
    auto* i = new QTableWidgetItem(text);
    if (sortKey.isValid())
        i->setData(Qt::UserRole, sortKey);
    return i;
}

} // namespace

RunHistoryPanel::RunHistoryPanel(QWidget* parent) : QWidget(parent)
{
    setObjectName(QStringLiteral("runHistory"));
    m_search = new QLineEdit;
    m_search->setObjectName(QStringLiteral("historySearch"));
    m_search->setPlaceholderText(tr("Search name, recipe, method, model, tag"));
    m_search->setClearButtonEnabled(true);
    m_model = new QLineEdit;
    m_model->setObjectName(QStringLiteral("historyModel"));
    m_model->setPlaceholderText(tr("Model path contains"));
    m_method = new QComboBox;
    m_method->setObjectName(QStringLiteral("historyMethod"));
    m_method->addItem(tr("Any method"), QString());
    m_bits = new QSpinBox;
    m_bits->setObjectName(QStringLiteral("historyBits"));
    m_bits->setRange(0, 16);
    m_bits->setSpecialValueText(tr("Any bits"));
    m_bits->setSuffix(tr(" bits"));
    m_minBpw = new QDoubleSpinBox;
    m_minBpw->setObjectName(QStringLiteral("historyMinBpw"));
    m_maxBpw = new QDoubleSpinBox;
    m_maxBpw->setObjectName(QStringLiteral("historyMaxBpw"));
    for (QDoubleSpinBox* b : {m_minBpw, m_maxBpw}) {
        b->setRange(0, 32);
        b->setDecimals(2);
        b->setSingleStep(0.25);
    }
    m_minBpw->setSpecialValueText(tr("min bpw"));
    m_maxBpw->setValue(32);
    m_maxBpw->setToolTip(tr("Largest whole-model bits per weight shown"));
    m_minBpw->setToolTip(tr("Smallest whole-model bits per weight shown"));
    m_useSince = new QCheckBox(tr("Since"));
    m_useSince->setObjectName(QStringLiteral("historyUseSince"));
    m_since = new QDateEdit(QDate::currentDate().addDays(-7));
    m_since->setObjectName(QStringLiteral("historySince"));
    m_since->setCalendarPopup(true);
    m_since->setEnabled(false);
    connect(m_useSince, &QCheckBox::toggled, m_since, &QWidget::setEnabled);
    m_tag = new QLineEdit;
    m_tag->setObjectName(QStringLiteral("historyTag"));
    m_tag->setPlaceholderText(tr("Tag"));
    m_trash = new QCheckBox(tr("Trash"));
    m_trash->setObjectName(QStringLiteral("historyTrash"));
    m_trash->setToolTip(tr("Show the deleted runs (Restore brings them back)"));

    auto* filters = new QHBoxLayout;
    filters->addWidget(m_search, 2);
    filters->addWidget(m_model, 1);
    filters->addWidget(m_method);
    filters->addWidget(m_bits);
    filters->addWidget(m_minBpw);
    filters->addWidget(new QLabel(QStringLiteral("–")));
    filters->addWidget(m_maxBpw);
    filters->addWidget(m_useSince);
    filters->addWidget(m_since);
    filters->addWidget(m_tag);
    filters->addWidget(m_trash);
    for (QLineEdit* e : {m_search, m_model, m_tag})
        connect(e, &QLineEdit::textChanged, this, &RunHistoryPanel::refresh);
    connect(m_method, &QComboBox::currentIndexChanged, this, &RunHistoryPanel::refresh);
    connect(m_bits, &QSpinBox::valueChanged, this, &RunHistoryPanel::refresh);
    for (QDoubleSpinBox* b : {m_minBpw, m_maxBpw})
        connect(b, &QDoubleSpinBox::valueChanged, this, &RunHistoryPanel::refresh);
    connect(m_useSince, &QCheckBox::toggled, this, &RunHistoryPanel::refresh);
    connect(m_since, &QDateEdit::dateChanged, this, &RunHistoryPanel::refresh);
    connect(m_trash, &QCheckBox::toggled, this, &RunHistoryPanel::refresh);

    m_table = new QTableWidget(0, ColumnCount);
    m_table->setObjectName(QStringLiteral("historyTable"));
    m_table->setHorizontalHeaderLabels({tr("Id"), tr("Recorded"), tr("Run"), tr("Model"), tr("Method"),
                                        tr("Bits"), tr("bpw"), tr("ppl ± err"), tr("KLD"), tr("Tags"),
                                        tr("Checkpoint")});
    m_table->horizontalHeaderItem(ColCheckpoint)->setToolTip(tr("The disk the run's kept checkpoint takes"));
    m_table->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_table->horizontalHeader()->setSectionResizeMode(ColModel, QHeaderView::Stretch);
    m_table->verticalHeader()->hide();
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setSelectionMode(QAbstractItemView::ExtendedSelection);

    auto button = [this](const QString& text, const char* name, const QString& tip) {
        auto* b = new QPushButton(text);
        b->setObjectName(QLatin1String(name));
        b->setToolTip(tip);
        return b;
    };
    m_compare = button(tr("Compare"), "historyCompare", tr("Show the selected runs in the comparison plots"));
    m_diff = button(tr("Diff"), "historyDiff",
                    tr("Two selected runs side by side: their per-layer schemes, per-layer errors and "
                       "whole-run metrics"));
    m_tagButton = button(tr("Tag…"), "historyTagRuns", tr("Set the tags of the selected runs"));
    m_rename = button(tr("Rename…"), "historyRename", tr("Rename the selected run"));
    m_delete = button(tr("Delete"), "historyDelete",
                      tr("Move the selected runs to the trash (Undo brings them back)"));
    m_undo = button(tr("Undo delete"), "historyUndo", tr("Bring back the runs just deleted"));
    m_undo->hide();
    m_restore = button(tr("Restore"), "historyRestore", tr("Bring the selected runs back from the trash"));
    m_prune = button(tr("Remove checkpoints"), "historyPrune",
                     tr("Delete the kept checkpoints of the selected runs; their numbers stay"));
    m_emptyTrash = button(tr("Empty trash"), "historyEmptyTrash",
                          tr("Remove the runs in the trash for good, with their kept checkpoints"));
    connect(m_compare, &QPushButton::clicked, this, [this] {
        std::vector<SessionRun> runs;
        const QList<qint64> ids = selectedIds();
        for (const StoredRun& r : m_runs)
            if (ids.contains(r.id))
                runs.push_back(r.run);
        if (!runs.empty())
            Q_EMIT compareRequested(runs);
    });
    connect(m_diff, &QPushButton::clicked, this, [this] {
        std::vector<SessionRun> runs;
        const QList<qint64> ids = selectedIds();
        for (const StoredRun& r : m_runs)
            if (ids.contains(r.id))
                runs.push_back(r.run);
        if (runs.size() == 2)
            Q_EMIT diffRequested(runs[0], runs[1]);
    });
    connect(m_tagButton, &QPushButton::clicked, this, &RunHistoryPanel::tagSelected);
    connect(m_rename, &QPushButton::clicked, this, &RunHistoryPanel::renameSelected);
    connect(m_delete, &QPushButton::clicked, this, &RunHistoryPanel::deleteSelected);
    connect(m_undo, &QPushButton::clicked, this, &RunHistoryPanel::undoDelete);
    connect(m_restore, &QPushButton::clicked, this, &RunHistoryPanel::restoreSelected);
    connect(m_prune, &QPushButton::clicked, this, &RunHistoryPanel::pruneSelected);
    connect(m_emptyTrash, &QPushButton::clicked, this, &RunHistoryPanel::emptyTrash);
    auto* actions = new QHBoxLayout;
    for (QPushButton* b :
         {m_compare, m_diff, m_tagButton, m_rename, m_delete, m_undo, m_restore, m_prune, m_emptyTrash})
        actions->addWidget(b);
    actions->addStretch(1);
    m_disk = new QLabel;
    m_disk->setObjectName(QStringLiteral("historyDisk"));
    m_disk->setMinimumWidth(
        m_disk->fontMetrics().horizontalAdvance(QStringLiteral("Kept checkpoints: 9999 runs, 999.99 GB")));
    m_disk->setAlignment(Qt::AlignRight | Qt::AlignVCenter);
    actions->addWidget(m_disk);
    m_status = new QLabel;
    m_status->setObjectName(QStringLiteral("historyStatus"));
    m_status->setWordWrap(true);
    m_status->hide();

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 4, 0, 0);
    layout->addLayout(filters);
    layout->addWidget(m_table, 1);
    layout->addLayout(actions);
    layout->addWidget(m_status);
    connect(m_table, &QTableWidget::itemSelectionChanged, this, [this] {
        const int n = int(selectedIds().size());
        const bool trash = m_trash->isChecked();
        m_compare->setEnabled(n > 0 && !trash);
        m_diff->setEnabled(n == 2);
        m_tagButton->setEnabled(n > 0);
        m_rename->setEnabled(n == 1);
        m_delete->setEnabled(n > 0 && !trash);
        m_restore->setEnabled(n > 0 && trash);
        m_prune->setEnabled(n > 0);
    });
    Q_EMIT m_table->itemSelectionChanged();
}

void RunHistoryPanel::setStore(RunStore* store)
{
    m_store = store;
    m_lastDeleted.clear();
    m_undo->hide();
    refresh();
}

RunFilter RunHistoryPanel::filter() const
{
    RunFilter f;
    f.text = m_search->text().trimmed();
    f.model = m_model->text().trimmed();
    f.method = m_method->currentData().toString();
    f.bits = m_bits->value();
    if (m_minBpw->value() > 0)
        f.minBpw = m_minBpw->value();
    if (m_maxBpw->value() < m_maxBpw->maximum())
        f.maxBpw = m_maxBpw->value();
    if (m_useSince->isChecked())
        f.since = m_since->date().startOfDay();
    f.tag = m_tag->text().trimmed();
    f.trash = m_trash->isChecked();
    f.baselines = true;
    return f;
}

void RunHistoryPanel::refresh()
{
    m_runs.clear();
    m_table->setRowCount(0);
    m_emptyTrash->setVisible(m_trash->isChecked());
    if (!m_store)
        return;
    try {
        ResultsDb& db = m_store->database();
        m_runs = db.runs(filter());
        // The method choices: every method recorded (kept when the current one filters all out).
        const QStringList methods = db.methods();
        const QSignalBlocker block(m_method);
        const QString current = m_method->currentData().toString();
        while (m_method->count() > 1)
            m_method->removeItem(1);
        for (const QString& m : methods)
            m_method->addItem(m, m);
        m_method->setCurrentIndex(std::max(0, m_method->findData(current)));
    } catch (const Error& e) {
        m_status->setText(tr("The results database cannot be read: %1").arg(e.message()));
        m_status->show();
        return;
    }
    m_table->setSortingEnabled(false);
    m_table->setRowCount(int(m_runs.size()));
    for (int row = 0; row < int(m_runs.size()); ++row) {
        const StoredRun& r = m_runs[std::size_t(row)];
        const RunSummary& s = r.run.summary;
        m_table->setItem(row, ColId, item(QString::number(r.id)));
        m_table->setItem(row, ColRecorded,
                         item(r.created.toLocalTime().toString(QStringLiteral("yyyy-MM-dd HH:mm"))));
        m_table->setItem(row, ColName, item(s.name));
        auto* model = item(QDir::toNativeSeparators(r.modelPath.isEmpty() ? s.modelPath : r.modelPath));
        model->setToolTip(model->text());
        m_table->setItem(row, ColModel, model);
        m_table->setItem(row, ColMethod, item(s.method));
        m_table->setItem(row, ColBits,
                         item(s.isBaseline ? QStringLiteral("–") : QString::number(recipeBits(r.run))));
        m_table->setItem(row, ColBpw, item(number(s.bitsPerWeight, 3)));
        m_table->setItem(row, ColPpl,
                         item(s.hasPerplexity()
                                  ? number(s.ppl, 3) + QStringLiteral(" ± ") + number(s.pplError, 3)
                                  : QStringLiteral("–")));
        m_table->setItem(row, ColKld, item(number(s.kldMean, 5)));
        m_table->setItem(row, ColTags, item(r.tags.join(QStringLiteral(", "))));
        auto* ckpt = item(r.checkpoint.isEmpty() ? tr("none") : formatBytes(double(r.checkpointBytes)));
        ckpt->setToolTip(r.checkpoint);
        m_table->setItem(row, ColCheckpoint, ckpt);
        m_table->item(row, ColId)->setData(Qt::UserRole, r.id);
    }
    updateDiskLabel();
    Q_EMIT m_table->itemSelectionChanged();
}

void RunHistoryPanel::updateDiskLabel()
{
    if (!m_store)
        return;
    ResultsDb::CheckpointUsage kept;
    try {
        kept = m_store->database().checkpointUsage();
    } catch (const Error&) {
        return; // refresh() says why
    }
    m_disk->setText(
        tr("Kept checkpoints: %n run(s), %1", nullptr, kept.runs).arg(formatBytes(double(kept.bytes))));
    m_disk->setToolTip(m_store->folder().isEmpty()
                           ? tr("Runs are kept in memory only")
                           : tr("In %1").arg(QDir::toNativeSeparators(m_store->folder())));
}

QList<qint64> RunHistoryPanel::selectedIds() const
{
    QList<qint64> ids;
    for (const QModelIndex& i : m_table->selectionModel()->selectedRows(ColId))
        ids << i.data(Qt::UserRole).toLongLong();
    return ids;
}

void RunHistoryPanel::selectRows(const QList<int>& rows)
{
    m_table->clearSelection();
    for (int r : rows)
        m_table->selectionModel()->select(m_table->model()->index(r, 0),
                                          QItemSelectionModel::Select | QItemSelectionModel::Rows);
}

bool RunHistoryPanel::write(const std::function<void(ResultsDb&)>& f)
{
    if (!m_store)
        return false;
    try {
        f(m_store->database());
    } catch (const Error& e) {
        Q_EMIT errorOccurred(tr("Cannot change the run history"), e.message());
        return false;
    }
    return true;
}

void RunHistoryPanel::deleteSelected()
{
    const QList<qint64> ids = selectedIds();
    if (ids.isEmpty() || !write([&](ResultsDb& db) { db.setDeleted(ids, true); }))
        return;
    m_lastDeleted = ids;
    m_undo->setText(tr("Undo delete (%n run(s))", nullptr, int(ids.size())));
    m_undo->show();
    refresh();
    Q_EMIT historyChanged();
}

void RunHistoryPanel::undoDelete()
{
    if (m_lastDeleted.isEmpty() || !write([&](ResultsDb& db) { db.setDeleted(m_lastDeleted, false); }))
        return;
    m_lastDeleted.clear();
    m_undo->hide();
    refresh();
    Q_EMIT historyChanged();
}

void RunHistoryPanel::restoreSelected()
{
    const QList<qint64> ids = selectedIds();
    if (ids.isEmpty() || !write([&](ResultsDb& db) { db.setDeleted(ids, false); }))
        return;
    refresh();
    Q_EMIT historyChanged();
}

void RunHistoryPanel::tagSelected()
{
    const QList<qint64> ids = selectedIds();
    if (ids.isEmpty())
        return;
    QStringList current;
    for (const StoredRun& r : m_runs)
        if (r.id == ids.front())
            current = r.tags;
    bool ok = false;
    const QString text =
        QInputDialog::getText(this, tr("Tag runs"), tr("Tags (comma-separated; empty removes all):"),
                              QLineEdit::Normal, current.join(QStringLiteral(", ")), &ok);
    if (!ok)
        return;
    QStringList tags;
    for (const QString& t : text.split(u',', Qt::SkipEmptyParts))
        if (!t.trimmed().isEmpty())
            tags << t.trimmed();
    if (write([&](ResultsDb& db) {
            for (qint64 id : ids)
                db.setTags(id, tags);
        }))
        refresh();
}

void RunHistoryPanel::renameSelected()
{
    const QList<qint64> ids = selectedIds();
    if (ids.size() != 1)
        return;
    QString name;
    for (const StoredRun& r : m_runs)
        if (r.id == ids.front())
            name = r.run.summary.name;
    bool ok = false;
    const QString newName =
        QInputDialog::getText(this, tr("Rename run"), tr("Name:"), QLineEdit::Normal, name, &ok).trimmed();
    if (!ok || newName.isEmpty() || newName == name)
        return;
    if (write([&](ResultsDb& db) { db.rename(ids.front(), newName); })) {
        refresh();
        Q_EMIT historyChanged();
    }
}

void RunHistoryPanel::pruneSelected()
{
    const QList<qint64> ids = selectedIds();
    if (ids.isEmpty() || !m_store)
        return;
    const QString ours = m_store->folder().isEmpty()
                             ? QString()
                             : QDir(m_store->folder()).absoluteFilePath(QStringLiteral("checkpoints")) + u'/';
    QStringList removed, leftAlone;
    write([&](ResultsDb& db) {
        for (const StoredRun& r : m_runs) {
            if (!ids.contains(r.id) || r.checkpoint.isEmpty())
                continue;
            // Only the checkpoints this store keeps are deleted; a CLI run's --out folder is the user's.
            if (ours.isEmpty() || !QDir(r.checkpoint).absolutePath().startsWith(ours)) {
                leftAlone << r.checkpoint;
                continue;
            }
            if (!QDir(r.checkpoint).removeRecursively())
                throw Error::inFile(r.checkpoint, QStringLiteral("cannot be removed"));
            db.setCheckpoint(r.id, QString(), 0);
            removed << r.checkpoint;
        }
    });
    m_status->setText(tr("%n checkpoint(s) removed; the runs' numbers stay.", nullptr, int(removed.size())) +
                      (leftAlone.isEmpty() ? QString()
                                           : u' ' + tr("Left alone (not in the runs folder): %1")
                                                        .arg(leftAlone.join(QStringLiteral(", ")))));
    m_status->show();
    refresh();
    Q_EMIT historyChanged();
}

void RunHistoryPanel::emptyTrash()
{
    if (!m_store)
        return;
    std::vector<StoredRun> trash;
    RunFilter f;
    f.trash = true;
    f.baselines = true;
    if (!write([&](ResultsDb& db) { trash = db.runs(f); }) || trash.empty())
        return;
    if (QMessageBox::question(this, tr("Empty trash"),
                              tr("Remove %n run(s) for good, with their kept checkpoints?", nullptr,
                                 int(trash.size()))) != QMessageBox::Yes)
        return;
    QList<qint64> ids;
    for (const StoredRun& r : trash)
        ids << r.id;
    const QString ours = m_store->folder().isEmpty()
                             ? QString()
                             : QDir(m_store->folder()).absoluteFilePath(QStringLiteral("checkpoints")) + u'/';
    write([&](ResultsDb& db) {
        for (const QString& dir : db.purge(ids))
            if (!ours.isEmpty() && QDir(dir).absolutePath().startsWith(ours))
                QDir(dir).removeRecursively();
    });
    m_lastDeleted.clear();
    m_undo->hide();
    refresh();
}

} // namespace qs
