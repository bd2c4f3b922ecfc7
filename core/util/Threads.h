#pragma once

namespace qs {

/// Sets the number of compute threads used by core kernels (OpenMP loops, GEMM tiles included).
/// n <= 0 means all hardware threads. Kernels own no threads themselves.
void setComputeThreads(int n);
int computeThreads();

} // namespace qs
