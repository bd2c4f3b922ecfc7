#pragma once

namespace qs {

/// Peak resident set size of this process so far (VmHWM), in bytes; 0 when unknown.
double peakRssBytes();
/// Memory the system can still give (MemAvailable), in bytes; 0 when unknown.
double availableMemoryBytes();
/// Current resident set size of this process (VmRSS), in bytes; 0 when unknown.
double currentRssBytes();

} // namespace qs
