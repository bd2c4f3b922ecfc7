#pragma once

#include "tensor/GgmlTypes.h"

#include <cstddef>
#include <cstdint>

namespace qs {

// ggml block formats: quantize f32 rows into GGUF tensor data and read it back. The output is
// byte-identical to llama.cpp's reference quantization (ggml_quantize_chunk, and
// quantize_row_q8_K_ref for Q8_K) for the same rows, type and importance vector, which is what
// llama-quantize writes; tests/tst_ggmlquants.cpp holds digests produced by llama.cpp itself.
//
// Supported types are the rows of kGgmlTypes with canQuantize/canDequantize set: F32, F16, BF16,
// Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K … Q6_K, Q8_K, IQ4_NL, IQ4_XS.

/// Bytes one row of n elements takes; throws qs::Error when n is not a positive multiple of the
/// type's block size.
std::size_t ggmlRowBytes(GgmlType type, std::int64_t n);

/// Whether an importance vector changes what `type` produces (Q8_0, Q8_K and the plain types
/// ignore it, as llama.cpp does): the type table's usesImportance column, which
/// tests/tst_ggmlquants.cpp checks against what the kernels do.
bool ggmlUsesImportance(GgmlType type);

/// Quantizes `nrows` rows of `rowLength` floats into consecutive rows of ggmlRowBytes bytes.
/// `importance` (nullable) holds rowLength non-negative weights, one per input column, shared by
/// all rows (llama.cpp's imatrix entry for the tensor). Rows are spread over OpenMP threads when
/// the call is large; the bytes never depend on the thread count. Throws qs::Error for a type we
/// cannot produce or a row length that is not a multiple of the block size.
void ggmlQuantizeRows(GgmlType type, const float* src, void* dst, std::int64_t nrows, std::int64_t rowLength,
                      const float* importance = nullptr);

/// Dequantizes n elements (a multiple of the block size) stored in `type` to f32, exactly as
/// ggml's to_float does.
void ggmlDequantizeRow(GgmlType type, const void* src, float* dst, std::int64_t n);

} // namespace qs
