#pragma once

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

/// One row per ggml type: the single place names, block geometry and our support live. The
/// GGUF reader uses blockSize/typeSize to bounds-check every tensor; quantizers, exporters, the
/// layer table and the CLI read the rest.
struct GgmlTypeInfo
{
    GgmlType type;
    const char* name;   ///< llama.cpp spelling ("Q4_K")
    int blockSize;      ///< elements per block (1 for plain types)
    int typeSize;       ///< bytes per block
    bool quantized;     ///< a block format (not a plain element type)
    bool canQuantize;   ///< QuantScope can produce it
    bool canDequantize; ///< QuantScope can read it back to f32
};

inline constexpr std::array<GgmlTypeInfo, 31> kGgmlTypes{{
    {GgmlType::F32, "F32", 1, 4, false, true, true},
    {GgmlType::F16, "F16", 1, 2, false, true, true},
    {GgmlType::Q4_0, "Q4_0", 32, 18, true, true, true},
    {GgmlType::Q4_1, "Q4_1", 32, 20, true, true, true},
    {GgmlType::Q5_0, "Q5_0", 32, 22, true, true, true},
    {GgmlType::Q5_1, "Q5_1", 32, 24, true, true, true},
    {GgmlType::Q8_0, "Q8_0", 32, 34, true, true, true},
    {GgmlType::Q8_1, "Q8_1", 32, 36, true, false, false},
    {GgmlType::Q2_K, "Q2_K", 256, 84, true, true, true},
    {GgmlType::Q3_K, "Q3_K", 256, 110, true, true, true},
    {GgmlType::Q4_K, "Q4_K", 256, 144, true, true, true},
    {GgmlType::Q5_K, "Q5_K", 256, 176, true, true, true},
    {GgmlType::Q6_K, "Q6_K", 256, 210, true, true, true},
    {GgmlType::Q8_K, "Q8_K", 256, 292, true, true, true},
    {GgmlType::IQ2_XXS, "IQ2_XXS", 256, 66, true, false, false},
    {GgmlType::IQ2_XS, "IQ2_XS", 256, 74, true, false, false},
    {GgmlType::IQ3_XXS, "IQ3_XXS", 256, 98, true, false, false},
    {GgmlType::IQ1_S, "IQ1_S", 256, 50, true, false, false},
    {GgmlType::IQ4_NL, "IQ4_NL", 32, 18, true, true, true},
    {GgmlType::IQ3_S, "IQ3_S", 256, 110, true, false, false},
    {GgmlType::IQ2_S, "IQ2_S", 256, 82, true, false, false},
    {GgmlType::IQ4_XS, "IQ4_XS", 256, 136, true, true, true},
    {GgmlType::I8, "I8", 1, 1, false, false, false},
    {GgmlType::I16, "I16", 1, 2, false, false, false},
    {GgmlType::I32, "I32", 1, 4, false, false, false},
    {GgmlType::I64, "I64", 1, 8, false, false, false},
    {GgmlType::F64, "F64", 1, 8, false, false, false},
    {GgmlType::IQ1_M, "IQ1_M", 256, 56, true, false, false},
    {GgmlType::BF16, "BF16", 1, 2, false, true, true},
    {GgmlType::TQ1_0, "TQ1_0", 256, 54, true, false, false},
    {GgmlType::TQ2_0, "TQ2_0", 256, 66, true, false, false},
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
