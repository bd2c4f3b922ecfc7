#pragma once

#include "kernels/PackedInt.h"
#include "kernels/Rotation.h"
#include "spec/QuantSpec.h"

#include <cstdint>
#include <memory>
#include <vector>

namespace qs {

/// A quantized weight [rows = out features, cols = in features] in integer codes plus the
/// parameters to reconstruct it. Quantizers write the codes one per byte; once the layer runs,
/// releaseCodesToPacked() moves them into the kernels' packed form (`packed`, at `bits` bits per
/// code) and frees the byte copy, so a run holds its layers at their packed size. Readers use
/// unpackedCodes(). Scales hold the value as stored (already rounded to f16 when the spec says so).
struct QuantizedTensor
{
    QuantSpec spec;
    std::int64_t rows = 0, cols = 0;
    std::vector<std::uint8_t> codes; ///< [rows, cols], original column order (empty once packed)
    /// The integer codes in the kernels' layout (kernels/PackedInt.h) with scales and zeros, set
    /// by releaseCodesToPacked(); the layer that runs this tensor shares it.
    std::shared_ptr<const PackedIntMatrix> packed;
    std::vector<float> scales; ///< [rows, groupsPerRow] (one value for per-tensor)
    std::vector<float> zeros;  ///< same shape; integer-valued unless floatZeros
    std::vector<std::int32_t>
        groupIndex;                 ///< [cols] group of each column (act-order); empty: col / groupLength
    std::vector<float> inputScales; ///< [cols] AWQ/SmoothQuant: the layer computes (x / s)·Qᵀ
    /// Incoherence processing (QuantSpec::incoherence): the codes quantize W·Vᵀ and the layer computes
    /// Q·(V·x); dequantize() and the row readers return Q·V, the weight in the layer's own input space.
    std::shared_ptr<const Rotation> rotation;
    std::vector<std::int32_t> outlierColumns; ///< LLM.int8: input columns kept in 16-bit
    std::vector<float> outlierWeights;        ///< [rows, outlierColumns.size()] f16-rounded
    std::vector<float> floatWeights;          ///< method == Float: the weight rounded to floatType
    /// QuIP# (spec.usesLattice()) keeps `scales` (one per row) and `rotation`; its codes are chunks of
    /// lattice codes (kernels/E8Lattice.h), `zeros` hold the symmetric midpoint only because the format reads
    /// them. SqueezeLLM (spec.usesCodebook()): the codes index a codebook per row, [rows, 2^bits] f16-rounded
    /// values (scales and zeros stay empty), and a sparse matrix in CSR form adds to some weights what
    /// the codebook misses: w[r, c] = codebook[r, q[r, c]] + the sparse value at (r, c), if any.
    /// AQLM (spec.usesAdditive()): the layer's codebooks, [M, 2^codebookBits, 8] f16-rounded, one scale per
    /// row in `scales` (zeros as QuIP#'s), the codes chunks of each group's M codes
    /// (kernels/AdditiveCodes.h).
    std::vector<float> codebook;
    std::vector<std::int32_t> sparseRowStart; ///< [rows + 1]; empty when the sparse matrix is
    std::vector<std::int32_t> sparseColumns;  ///< [nnz], ascending within a row
    std::vector<float> sparseValues;          ///< [nnz] f16-rounded
    std::vector<std::uint8_t>
        ggmlData; ///< method == Ggml: rows × ggmlRowBytes(type, cols), as GGUF stores it

    int groupOf(std::int64_t col) const;
    /// The codes one per byte: `codes`, or unpacked from `packed` once they were released.
    std::vector<std::uint8_t> unpackedCodes() const;
    /// Rows [r0, r1) of the codes into out [(r1 - r0), cols], from `codes` or from `packed`
    /// (only those rows unpacked). Throws qs::Error on a bad range or a tensor without codes.
    void codeRows(std::int64_t r0, std::int64_t r1, std::uint8_t* out) const;
    /// The packed form of the integer codes (built now unless `packed` is set); throws qs::Error
    /// for the methods without integer codes (float, gguf).
    std::shared_ptr<const PackedIntMatrix> packedCodes() const;
    /// Sets `packed` and frees `codes` (integer methods; a no-op for float and gguf tensors).
    void releaseCodesToPacked();
    std::int64_t scaleIndex(std::int64_t row, std::int64_t col) const;
    /// The reconstructed weight in the scaled input space (Q(W·s)); outlier columns filled in.
    std::vector<float> dequantize() const;
    /// The weight this layer effectively applies to unscaled inputs: dequantize() / s per column.
    std::vector<float> effectiveWeight() const;
    /// Rows [r0, r1) of dequantize() / effectiveWeight() into out [(r1 - r0), cols], from the codes
    /// or the packed form without unpacking more than those rows (measurements stream a layer
    /// this way instead of holding a dequantized copy). Throws qs::Error on a bad range.
    void dequantizeRows(std::int64_t r0, std::int64_t r1, float* out) const;
    /// Rows [r0, r1) of a tensor whose codes go through a table (spec.decodesCodes()) from their codes
    /// q [(r1 - r0), cols]: a codebook tensor each code's entry plus the row's sparse values, a lattice
    /// tensor (QuIP#) each vector of 8 codes' lattice point times the row's scale, an additive tensor (AQLM)
    /// each group's sum of codebook entries times the row's scale; in the rotated input space when there is
    /// one (the rotation is not undone). The decode dequantizeRows and the running layer share.
    void decodeCodeRows(std::int64_t r0, std::int64_t r1, const std::uint8_t* q, float* out) const;
    void effectiveRows(std::int64_t r0, std::int64_t r1, float* out) const;
    /// Memory the tensor holds now: the capacity of each of its buffers plus its packed form (a
    /// layer that runs it shares that). After releaseCodesToPacked() an integer tensor holds about
    /// bits/8 bytes per weight plus its scales.
    std::uint64_t ownedBytes() const;
    std::uint64_t storageBytes() const
    {
        return spec.cost(rows, cols, std::int64_t(outlierColumns.size()), std::int64_t(sparseValues.size()))
            .total();
    }
    /// Throws qs::Error naming `what` when the codebook or the sparse matrix of a codebook tensor does
    /// not fit its shape (sizes, row starts not ascending, columns out of range or unsorted, codes
    /// beyond the codebook are impossible by the bits), or when a lattice tensor lacks its row scales
    /// (count, finite and positive) or its rotation, or an additive tensor its row scales, its codebooks
    /// (count, finite) or the rotation its spec names; a no-op for the other methods.
    void checkCodebook(const QString& what) const;
    double bitsPerWeight() const { return 8.0 * double(storageBytes()) / double(rows * cols); }
};

/// A [rows, cols] tensor of a table format (spec.decodesCodes()) with random codes and random tables, for
/// kernel tests and benchmarks (the kernels' speed and arithmetic do not depend on what was quantized):
/// uniform codes, N(0, 1) codebook entries, row scales in [0.5, 2.5), and for SqueezeLLM with a sparse share
/// three exact weights in every fifth row. No rotation. Deterministic for a seed.
QuantizedTensor syntheticTableTensor(const QuantSpec& spec, std::int64_t rows, std::int64_t cols,
                                     std::uint64_t seed);

/// Rounds a value to what the spec's scale storage keeps (f16 or f32).
float roundToStorage(float v, DType type);

/// Scale and zero of one group from its values; symmetric uses the GPTQ convention
/// (zero = 2^(bits-1), scale = 2·max|w| / qmax) so the codes export unchanged.
struct GroupParams
{
    float scale = 1;
    float zero = 0;
};
GroupParams groupParams(const float* w, std::int64_t n, std::int64_t stride, const QuantSpec& spec,
                        float shrink = 1.0f);
inline std::uint8_t quantizeValue(float w, const GroupParams& p, int qmax)
{
    // Integer zeros: round(w/s) + z, as GPTQ does. A float zero (floatZeros) is not on the integer
    // grid, so it goes inside the rounding: round(w/s + z); else the code is off by frac(z).
    const float q = p.zero == std::nearbyint(p.zero) ? std::nearbyint(w / p.scale) + p.zero
                                                     : std::nearbyint(w / p.scale + p.zero);
    return std::uint8_t(q < 0 ? 0 : (q > float(qmax) ? qmax : q));
}
inline float dequantizeValue(std::uint8_t q, const GroupParams& p)
{
    return (float(q) - p.zero) * p.scale;
}

/// RTN of one group (values at w[i·stride]) with optional MSE search over shrink factors
/// (1.0 down to 0.5 in 20 steps); returns the chosen parameters.
GroupParams searchGroupParams(const float* w, std::int64_t n, std::int64_t stride, const QuantSpec& spec,
                              const float* importance = nullptr);

} // namespace qs
