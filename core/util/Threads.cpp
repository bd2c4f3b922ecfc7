#include "util/Threads.h"

#include <omp.h>

namespace qs {

void setComputeThreads(int n)
{
    if (n <= 0)
        n = omp_get_num_procs();
    omp_set_num_threads(n);
}

int computeThreads() { return omp_get_max_threads(); }

} // namespace qs
