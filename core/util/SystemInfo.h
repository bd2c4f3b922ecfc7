#pragma once

namespace qs {

/// Peak resident set size of this process so far (VmHWM), in bytes; 0 when unknown.
double peakRssBytes();
/// Memory the system can still give (MemAvailable), in bytes; 0 when unknown.
double availableMemoryBytes();
/// Current resident set size of this process (VmRSS), in bytes; 0 when unknown.
double currentRssBytes();
/// Anonymous memory of this process on transparent huge pages (AnonHugePages of
/// /proc/self/smaps_rollup), in bytes; 0 when none or unknown.
double anonHugePageBytes();
/// The 1-minute load average (/proc/loadavg), -1 when unknown: recorded beside timings on a
/// shared machine.
double loadAverage();

} // namespace qs

#include <QString>
#include <utility>
#include <vector>

namespace qs {

/// What a job will need, in named parts (bytes), for the up-front memory check.
struct MemoryNeed
{
    std::vector<std::pair<QString, double>> parts;
    void add(const QString& label, double bytes) { parts.emplace_back(label, bytes); }
    double total() const;
    /// "model weights 1.2 GB, KV cache 64 MB, …"
    QString describe() const;
};

/// Memory a job may use: what the system has available (MemAvailable), capped by
/// QUANTSCOPE_MEMORY_LIMIT (bytes) when set; 0 when unknown.
double usableMemoryBytes();

/// The check every job runs before it starts: throws qs::Error "not enough memory: <what> needs
/// about X (<parts>) but Y is available; <advice>" when the need exceeds usableMemoryBytes().
/// Nothing happens when the available memory is unknown.
void requireMemory(const QString& what, const MemoryNeed& need, const QString& advice);

} // namespace qs
