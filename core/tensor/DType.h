#pragma once

#include <QString>

#include <array>
#include <cstdint>
#include <optional>

namespace qs {

/// Element types of tensors as stored in model files. Quantized block formats get their own
/// table (quant/Formats) — these are plain per-element types.
enum class DType : std::uint8_t { F64, F32, F16, BF16, I64, I32, I16, I8, U8, Bool };

/// One row per dtype: the single place names, sizes and file spellings live.
struct DTypeInfo
{
    DType type;
    const char* name;            ///< our display name ("bf16")
    const char* safetensorsName; ///< as safetensors headers spell it ("BF16")
    int bytes;                   ///< bytes per element
    bool isFloat;
};

inline constexpr std::array<DTypeInfo, 10> kDTypes{{
    {DType::F64, "f64", "F64", 8, true},
    {DType::F32, "f32", "F32", 4, true},
    {DType::F16, "f16", "F16", 2, true},
    {DType::BF16, "bf16", "BF16", 2, true},
    {DType::I64, "i64", "I64", 8, false},
    {DType::I32, "i32", "I32", 4, false},
    {DType::I16, "i16", "I16", 2, false},
    {DType::I8, "i8", "I8", 1, false},
    {DType::U8, "u8", "U8", 1, false},
    {DType::Bool, "bool", "BOOL", 1, false},
}};

inline constexpr const DTypeInfo& dtypeInfo(DType t) { return kDTypes[static_cast<std::size_t>(t)]; }
static_assert(kDTypes[static_cast<std::size_t>(DType::BF16)].type == DType::BF16, "table order = enum order");
static_assert(kDTypes[static_cast<std::size_t>(DType::Bool)].type == DType::Bool, "table order = enum order");

inline QString dtypeName(DType t) { return QLatin1String(dtypeInfo(t).name); }

/// Parses a safetensors dtype string ("F32", "BF16", …); nullopt when unknown.
std::optional<DType> dtypeFromSafetensors(QStringView name);

} // namespace qs
