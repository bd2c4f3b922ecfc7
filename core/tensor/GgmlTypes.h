#pragma once

#include "tensor/DType.h"

#include <QString>
#include <array>
#include <cstdint>
#include <optional>

namespace qs {

/// ggml tensor types as GGUF files number them (ggml.h `enum ggml_type`). Ids 4, 5, 31–33 and
/// 36–38 were retired upstream and are rejected when read.
enum class GgmlType : std::uint32_t {
    F32 = 0,
    F16 = 1,
    Q4_0 = 2,
    Q4_1 = 3,
    Q5_0 = 6,
    Q5_1 = 7,
    Q8_0 = 8,
    Q8_1 = 9,
    Q2_K = 10,
    Q3_K = 11,
    Q4_K = 12,
    Q5_K = 13,
    Q6_K = 14,
    Q8_K = 15,
    IQ2_XXS = 16,
    IQ2_XS = 17,
    IQ3_XXS = 18,
    IQ1_S = 19,
    IQ4_NL = 20,
    IQ3_S = 21,
    IQ2_S = 22,
    IQ4_XS = 23,
    I8 = 24,
    I16 = 25,
    I32 = 26,
    I64 = 27,
    F64 = 28,
    IQ1_M = 29,
    BF16 = 30,
    TQ1_0 = 34,
    TQ2_0 = 35,
};

/// llama.cpp's model file types (llama.h `enum llama_ftype`), written as general.file_type. The
/// _S/_M/_L mixes of a k-quant share its block type and differ in llama-quantize's per-tensor rules.
enum class LlamaFType : std::int32_t {
    None = -1, ///< the ggml type has no file type of its own
    AllF32 = 0,
    MostlyF16 = 1,
    MostlyQ4_0 = 2,
    MostlyQ4_1 = 3,
    MostlyQ8_0 = 7,
    MostlyQ5_0 = 8,
    MostlyQ5_1 = 9,
    MostlyQ2_K = 10,
    MostlyQ3_K_S = 11,
    MostlyQ3_K_M = 12,
    MostlyQ3_K_L = 13,
    MostlyQ4_K_S = 14,
    MostlyQ4_K_M = 15,
    MostlyQ5_K_S = 16,
    MostlyQ5_K_M = 17,
    MostlyQ6_K = 18,
    MostlyIQ2_XXS = 19,
    MostlyIQ2_XS = 20,
    MostlyIQ3_XXS = 23,
    MostlyIQ1_S = 24,
    MostlyIQ4_NL = 25,
    MostlyIQ3_S = 26,
    MostlyIQ2_S = 28,
    MostlyIQ4_XS = 30,
    MostlyIQ1_M = 31,
    MostlyBF16 = 32,
    MostlyTQ1_0 = 36,
    MostlyTQ2_0 = 37,
};

/// One row per ggml type: the single place names, block geometry and our support live. The
/// GGUF reader uses blockSize/typeSize to bounds-check every tensor; quantizers, exporters, the
/// layer table and the CLI read the rest.
struct GgmlTypeInfo
{
    GgmlType type;
    const char* name;           ///< llama.cpp spelling ("Q4_K")
    int blockSize;              ///< elements per block (1 for plain types)
    int typeSize;               ///< bytes per block
    bool quantized;             ///< a block format (not a plain element type)
    bool canQuantize;           ///< QuantScope can produce it
    bool canDequantize;         ///< QuantScope can read it back to f32
    std::optional<DType> dtype; ///< the element type of a plain type; nullopt for block formats
    LlamaFType fileType;        ///< general.file_type of a file mostly in this type (k-quants: the _M mix)
    bool usesImportance;        ///< an importance vector changes the quantizer's output (llama.cpp's imatrix)
    /// ggml's vec_dot_type: the type a matrix product rounds the activation rows to for a weight of
    /// this type (llama.cpp c392e50); nullopt where ggml has no dot product for it.
    std::optional<GgmlType> vecDotType;
    /// llama-quantize's type for a row its block does not divide (llama_tensor_get_type); nullopt:
    /// no fallback (the type is refused for such rows), see ggmlRowFallback.
    std::optional<GgmlType> rowFallback;
    int nominalBits; ///< the bits per code a weight type is known by (Q4_K: 4); 0 for the others
    bool storesMin;  ///< the block stores a minimum (asymmetric: Q4_1, Q4_K, …)
};

inline constexpr std::array<GgmlTypeInfo, 31> kGgmlTypes{{
    {GgmlType::F32, "F32", 1, 4, false, true, true, DType::F32, LlamaFType::AllF32, false, GgmlType::F32,
     std::nullopt, 0, false},
    {GgmlType::F16, "F16", 1, 2, false, true, true, DType::F16, LlamaFType::MostlyF16, false, GgmlType::F16,
     std::nullopt, 0, false},
    {GgmlType::Q4_0, "Q4_0", 32, 18, true, true, true, std::nullopt, LlamaFType::MostlyQ4_0, true,
     GgmlType::Q8_0, std::nullopt, 4, false},
    {GgmlType::Q4_1, "Q4_1", 32, 20, true, true, true, std::nullopt, LlamaFType::MostlyQ4_1, true,
     GgmlType::Q8_1, std::nullopt, 4, true},
    {GgmlType::Q5_0, "Q5_0", 32, 22, true, true, true, std::nullopt, LlamaFType::MostlyQ5_0, true,
     GgmlType::Q8_0, std::nullopt, 5, false},
    {GgmlType::Q5_1, "Q5_1", 32, 24, true, true, true, std::nullopt, LlamaFType::MostlyQ5_1, true,
     GgmlType::Q8_1, std::nullopt, 5, true},
    {GgmlType::Q8_0, "Q8_0", 32, 34, true, true, true, std::nullopt, LlamaFType::MostlyQ8_0, false,
     GgmlType::Q8_0, std::nullopt, 8, false},
    {GgmlType::Q8_1, "Q8_1", 32, 36, true, false, false, std::nullopt, LlamaFType::None, false,
     GgmlType::Q8_1, std::nullopt, 0, false},
    {GgmlType::Q2_K, "Q2_K", 256, 84, true, true, true, std::nullopt, LlamaFType::MostlyQ2_K, true,
     GgmlType::Q8_K, GgmlType::IQ4_NL, 2, true},
    {GgmlType::Q3_K, "Q3_K", 256, 110, true, true, true, std::nullopt, LlamaFType::MostlyQ3_K_M, true,
     GgmlType::Q8_K, GgmlType::IQ4_NL, 3, false},
    {GgmlType::Q4_K, "Q4_K", 256, 144, true, true, true, std::nullopt, LlamaFType::MostlyQ4_K_M, true,
     GgmlType::Q8_K, GgmlType::Q5_0, 4, true},
    {GgmlType::Q5_K, "Q5_K", 256, 176, true, true, true, std::nullopt, LlamaFType::MostlyQ5_K_M, true,
     GgmlType::Q8_K, GgmlType::Q5_1, 5, true},
    {GgmlType::Q6_K, "Q6_K", 256, 210, true, true, true, std::nullopt, LlamaFType::MostlyQ6_K, true,
     GgmlType::Q8_K, GgmlType::Q8_0, 6, false},
    {GgmlType::Q8_K, "Q8_K", 256, 292, true, true, true, std::nullopt, LlamaFType::None, false, std::nullopt,
     std::nullopt, 0, false},
    {GgmlType::IQ2_XXS, "IQ2_XXS", 256, 66, true, false, false, std::nullopt, LlamaFType::MostlyIQ2_XXS, true,
     GgmlType::Q8_K, std::nullopt, 0, false},
    {GgmlType::IQ2_XS, "IQ2_XS", 256, 74, true, false, false, std::nullopt, LlamaFType::MostlyIQ2_XS, true,
     GgmlType::Q8_K, std::nullopt, 0, false},
    {GgmlType::IQ3_XXS, "IQ3_XXS", 256, 98, true, false, false, std::nullopt, LlamaFType::MostlyIQ3_XXS, true,
     GgmlType::Q8_K, std::nullopt, 0, false},
    {GgmlType::IQ1_S, "IQ1_S", 256, 50, true, false, false, std::nullopt, LlamaFType::MostlyIQ1_S, true,
     GgmlType::Q8_K, std::nullopt, 0, false},
    {GgmlType::IQ4_NL, "IQ4_NL", 32, 18, true, true, true, std::nullopt, LlamaFType::MostlyIQ4_NL, true,
     GgmlType::Q8_0, std::nullopt, 4, false},
    {GgmlType::IQ3_S, "IQ3_S", 256, 110, true, false, false, std::nullopt, LlamaFType::MostlyIQ3_S, true,
     GgmlType::Q8_K, std::nullopt, 0, false},
    {GgmlType::IQ2_S, "IQ2_S", 256, 82, true, false, false, std::nullopt, LlamaFType::MostlyIQ2_S, true,
     GgmlType::Q8_K, std::nullopt, 0, false},
    {GgmlType::IQ4_XS, "IQ4_XS", 256, 136, true, true, true, std::nullopt, LlamaFType::MostlyIQ4_XS, true,
     GgmlType::Q8_K, GgmlType::IQ4_NL, 4, false},
    {GgmlType::I8, "I8", 1, 1, false, false, false, DType::I8, LlamaFType::None, false, std::nullopt,
     std::nullopt, 0, false},
    {GgmlType::I16, "I16", 1, 2, false, false, false, DType::I16, LlamaFType::None, false, std::nullopt,
     std::nullopt, 0, false},
    {GgmlType::I32, "I32", 1, 4, false, false, false, DType::I32, LlamaFType::None, false, std::nullopt,
     std::nullopt, 0, false},
    {GgmlType::I64, "I64", 1, 8, false, false, false, DType::I64, LlamaFType::None, false, std::nullopt,
     std::nullopt, 0, false},
    {GgmlType::F64, "F64", 1, 8, false, false, false, DType::F64, LlamaFType::None, false, std::nullopt,
     std::nullopt, 0, false},
    {GgmlType::IQ1_M, "IQ1_M", 256, 56, true, false, false, std::nullopt, LlamaFType::MostlyIQ1_M, true,
     GgmlType::Q8_K, std::nullopt, 0, false},
    {GgmlType::BF16, "BF16", 1, 2, false, true, true, DType::BF16, LlamaFType::MostlyBF16, false,
     GgmlType::BF16, std::nullopt, 0, false},
    {GgmlType::TQ1_0, "TQ1_0", 256, 54, true, false, false, std::nullopt, LlamaFType::MostlyTQ1_0, false,
     GgmlType::Q8_K, std::nullopt, 0, false},
    {GgmlType::TQ2_0, "TQ2_0", 256, 66, true, false, false, std::nullopt, LlamaFType::MostlyTQ2_0, false,
     GgmlType::Q8_K, std::nullopt, 0, false},
}};

/// The row for a type id read from a file; nullptr when the id is unknown or retired.
constexpr const GgmlTypeInfo* ggmlTypeInfo(std::uint32_t id)
{
    for (const GgmlTypeInfo& info : kGgmlTypes) {
        if (static_cast<std::uint32_t>(info.type) == id) {
            return &info;
        }
    }
    return nullptr;
}
constexpr const GgmlTypeInfo& ggmlTypeInfo(GgmlType t)
{
    return *ggmlTypeInfo(static_cast<std::uint32_t>(t));
}
/// The element type of a plain float ggml type QuantScope converts (F32, F16, BF16); nullopt for
/// block formats and for the integer and F64 types it does not read as floats.
constexpr std::optional<DType> ggmlFloatDType(GgmlType t)
{
    const GgmlTypeInfo& info = ggmlTypeInfo(t);
    return !info.quantized && info.canDequantize ? info.dtype : std::nullopt;
}
/// The plain ggml type holding elements of `d`; nullopt for dtypes GGUF has no type for (U8, Bool).
constexpr std::optional<GgmlType> ggmlTypeOfDType(DType d)
{
    for (const GgmlTypeInfo& info : kGgmlTypes) {
        if (info.dtype == d)
            return info.type;
    }
    return std::nullopt;
}

namespace detail {
// The columns must agree with each other: a plain type is one element per block of its dtype's
// size, no two types claim the same llama_ftype, dot types and fallbacks fit the block geometry.
constexpr bool ggmlTypeColumnsAgree()
{
    for (const GgmlTypeInfo& a : kGgmlTypes) {
        if (a.quantized == a.dtype.has_value())
            return false;
        if (a.dtype && (a.blockSize != 1 || a.typeSize != dtypeInfo(*a.dtype).bytes))
            return false;
        if (a.dtype && a.usesImportance)
            return false;
        for (const GgmlTypeInfo& b : kGgmlTypes) {
            if (&a != &b && a.fileType != LlamaFType::None && a.fileType == b.fileType)
                return false;
            // The activation rows of a dot product are blocked like the weight's row (or finer), and a
            // row fallback has a smaller block than the type it replaces.
            if (a.vecDotType == b.type && b.quantized && a.blockSize % b.blockSize != 0)
                return false;
            if (a.rowFallback == b.type && (b.blockSize >= a.blockSize || !b.canQuantize))
                return false;
        }
        if (a.nominalBits != 0 && (!a.quantized || a.nominalBits < 2 || a.nominalBits > 8))
            return false;
        if (a.storesMin && a.nominalBits == 0)
            return false;
    }
    return true;
}
static_assert(ggmlTypeColumnsAgree(),
              "kGgmlTypes: dtype, block geometry, file types, dot types, fallbacks or nominal bits disagree");
} // namespace detail

inline QString ggmlTypeName(GgmlType t)
{
    return QLatin1String(ggmlTypeInfo(t).name);
}
/// The type llama-quantize stores a tensor of `type` in when its row length may not fit the
/// block (llama_tensor_get_type's fallback, llama.cpp c392e50): `type` itself when the block
/// divides the row; for k-quants Q2_K/Q3_K/IQ4_XS → IQ4_NL, Q4_K → Q5_0, Q5_K → Q5_1,
/// Q6_K → Q8_0, and F16 when even that block does not divide it; nullopt for the other types
/// (llama-quantize refuses those: "unsupported tensor size").
std::optional<GgmlType> ggmlRowFallback(GgmlType type, std::int64_t rowLength);
/// Parses a name such as "q4_k" or "Q4_K" (case-insensitive).
std::optional<GgmlType> ggmlTypeFromName(QStringView name);

} // namespace qs
