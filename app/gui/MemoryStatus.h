#pragma once

#include <QLabel>
#include <QTimer>

namespace qs {

/// The status bar's memory readout: this process's resident set and the memory the system can
/// still give, refreshed every two seconds (cheap: two small /proc reads on Linux).
class MemoryStatus : public QLabel
{
    Q_OBJECT
public:
    explicit MemoryStatus(QWidget* parent = nullptr);
    /// Reads the numbers now (the timer calls it).
    void refresh();

private:
    QTimer m_timer;
};

} // namespace qs
