#include "TableColumns.h"

#include <QEvent>
#include <QHeaderView>
#include <QPointer>
#include <QTableView>
#include <QTimer>
#include <algorithm>

namespace qs {

namespace {

/// Sizes a view's name column: the width the other columns leave, at least a third of the view
/// and at most what the names need, refitted when the view or the other columns change size.
class NameColumnFitter : public QObject
{
public:
    NameColumnFitter(QTableView* view, int column) : QObject(view), m_view(view), m_column(column)
    {
        view->viewport()->installEventFilter(this);
        connect(view->horizontalHeader(), &QHeaderView::sectionResized, this, [this](int section) {
            if (section != m_column)
                schedule();
        });
        schedule();
    }

protected:
    bool eventFilter(QObject*, QEvent* event) override
    {
        if (event->type() == QEvent::Resize || event->type() == QEvent::FontChange)
            schedule();
        return false;
    }

private:
    void schedule()
    {
        if (!m_pending) {
            m_pending = true;
            QTimer::singleShot(0, this, [this] { fit(); });
        }
    }
    void fit()
    {
        m_pending = false;
        QHeaderView* header = m_view->horizontalHeader();
        if (m_column >= header->count())
            return;
        int others = 0;
        for (int c = 0; c < header->count(); ++c)
            if (c != m_column && !header->isSectionHidden(c))
                others += header->sectionSize(c);
        const int room = m_view->viewport()->width();
        const QAbstractItemView* view = m_view; // QTableView hides sizeHintForColumn, its base offers it
        const int need = std::max(view->sizeHintForColumn(m_column), header->sectionSizeHint(m_column));
        const int width = std::min(need, std::max(room - others, room / 3));
        if (width > 0 && width != header->sectionSize(m_column))
            header->resizeSection(m_column, width);
    }

    QPointer<QTableView> m_view;
    int m_column;
    bool m_pending = false;
};

} // namespace

void favourNumberColumns(QTableView* view, int nameColumn)
{
    QHeaderView* header = view->horizontalHeader();
    header->setStretchLastSection(false);
    header->setSectionResizeMode(QHeaderView::ResizeToContents);
    header->setSectionResizeMode(nameColumn, QHeaderView::Interactive);
    view->setTextElideMode(Qt::ElideMiddle);
    view->setWordWrap(false);
    new NameColumnFitter(view, nameColumn);
}

} // namespace qs
