#pragma once

#include "kernels/SimdVariant.h"
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

/// Quantizes rows [firstRow, firstRow + nrows) of `src` (rows of `rowLength` floats) into the same
/// rows of `dst` (rows of ggmlRowBytes bytes); nothing else in `dst` is touched. The shape of
/// ggml_quantize_chunk: stateless, owning no threads, so callers split a tensor's rows among
/// their threads (qs::forEachRowRange in util/Threads.h) and the bytes never depend on the split.
/// `importance` (nullable) holds rowLength non-negative weights, one per input column, shared by
/// all rows (llama.cpp's imatrix entry for the tensor). Runs the SIMD variant activeSimdVariant()
/// picks; every variant writes the same bytes. Throws qs::Error for a type we cannot produce, a
/// row length that is not a multiple of the block size, or a bad QUANTSCOPE_KERNELS setting.
void ggmlQuantizeChunk(GgmlType type, const float* src, void* dst, std::int64_t firstRow, std::int64_t nrows,
                       std::int64_t rowLength, const float* importance = nullptr);

/// The same with a given variant (tests and benchmarks compare them); throws qs::Error when this
/// CPU cannot run it.
void ggmlQuantizeChunk(SimdVariant variant, GgmlType type, const float* src, void* dst, std::int64_t firstRow,
                       std::int64_t nrows, std::int64_t rowLength, const float* importance = nullptr);

/// All `nrows` rows, on the calling thread.
inline void ggmlQuantizeRows(GgmlType type, const float* src, void* dst, std::int64_t nrows,
                             std::int64_t rowLength, const float* importance = nullptr)
{
    ggmlQuantizeChunk(type, src, dst, 0, nrows, rowLength, importance);
}

/// Dequantizes n elements (a multiple of the block size) stored in `type` to f32, exactly as
/// ggml's to_float does.
void ggmlDequantizeRow(GgmlType type, const void* src, float* dst, std::int64_t n);

} // namespace qs
