#include "kernels/GgmlMatMulKernels.h"

namespace qs::ggmlmm {
MatMulFn avx512MatMul(GgmlType)
{
    return nullptr;
}
} // namespace qs::ggmlmm
