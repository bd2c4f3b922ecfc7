#include "MemoryStatus.h"

#include "util/Paths.h"
#include "util/SystemInfo.h"

namespace qs {

MemoryStatus::MemoryStatus(QWidget* parent) : QLabel(parent)
{
    setObjectName(QStringLiteral("memoryLabel"));
    setToolTip(tr("Memory this process uses (resident set) and memory the system can still give"));
    m_timer.setInterval(2000);
    connect(&m_timer, &QTimer::timeout, this, &MemoryStatus::refresh);
    m_timer.start();
    refresh();
}

void MemoryStatus::refresh()
{
    const double used = currentRssBytes();
    const double available = availableMemoryBytes();
    if (used <= 0 && available <= 0) {
        setText(tr("Memory: unknown"));
        return;
    }
    setText(
        tr("Memory: %1 used · %2 free")
            .arg(used > 0 ? formatBytes(used) : tr("?"), available > 0 ? formatBytes(available) : tr("?")));
}

} // namespace qs
