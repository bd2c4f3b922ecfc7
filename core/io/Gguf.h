#pragma once

#include "io/MappedFile.h"
#include "tensor/GgmlTypes.h"

#include <QByteArray>
#include <QHash>
#include <QString>
#include <QStringList>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <variant>
#include <vector>

namespace qs {

// GGUF (llama.cpp's model container), versions 2 and 3, little-endian:
//   "GGUF" u32 version, u64 tensor count, u64 metadata count,
//   metadata: string key, u32 value type, value   (strings: u64 length + UTF-8 bytes, no NUL)
//   tensor infos: string name, u32 n_dims (≤ 4), u64 dims[n_dims] (innermost first), u32 ggml type,
//                 u64 offset into the data section (a multiple of the alignment)
//   padding to `general.alignment` (u32, default 32), then the data section.

/// Metadata value types; the numbers are the file's.
enum class GgufValueType : std::uint32_t {
    UInt8 = 0,
    Int8 = 1,
    UInt16 = 2,
    Int16 = 3,
    UInt32 = 4,
    Int32 = 5,
    Float32 = 6,
    Bool = 7,
    String = 8,
    Array = 9,
    UInt64 = 10,
    Int64 = 11,
    Float64 = 12,
};
/// "uint32", "string", "array" … (the spec's spelling); "type 42" for ids outside the enum.
QString ggufValueTypeName(GgufValueType t);

inline constexpr std::uint32_t kGgufDefaultAlignment = 32;
inline constexpr int kGgufMaxDims = 4;
/// ggml keeps tensor names in 64-byte fields with a terminating NUL; the writer refuses longer ones.
inline constexpr int kGgufMaxTensorName = 63;
inline const QString kGgufAlignmentKey = QStringLiteral("general.alignment");

class GgufValue;

/// An array value: every element has `type`. Elements of an array of arrays are arrays, each
/// with its own element type (the spec allows nesting; llama.cpp itself writes none).
struct GgufArray
{
    GgufValueType type = GgufValueType::UInt8;
    std::vector<GgufValue> values;
    friend bool operator==(const GgufArray& a, const GgufArray& b);
};

/// One metadata value. The variant's index is the GGUF type id; strings keep their raw bytes
/// (UTF-8 by the spec) so files copy through unchanged.
class GgufValue
{
public:
    using Storage =
        std::variant<std::uint8_t, std::int8_t, std::uint16_t, std::int16_t, std::uint32_t, std::int32_t,
                     float, bool, QByteArray, GgufArray, std::uint64_t, std::int64_t, double>;

    GgufValue() = default; ///< uint8 0
    GgufValue(std::uint8_t v) : m_v(v) {}
    GgufValue(std::int8_t v) : m_v(v) {}
    GgufValue(std::uint16_t v) : m_v(v) {}
    GgufValue(std::int16_t v) : m_v(v) {}
    GgufValue(std::uint32_t v) : m_v(v) {}
    GgufValue(std::int32_t v) : m_v(v) {}
    GgufValue(float v) : m_v(v) {}
    GgufValue(bool v) : m_v(v) {}
    GgufValue(std::uint64_t v) : m_v(v) {}
    GgufValue(std::int64_t v) : m_v(v) {}
    GgufValue(double v) : m_v(v) {}
    GgufValue(const QString& s) : m_v(s.toUtf8()) {}
    GgufValue(const char* utf8) : m_v(QByteArray(utf8)) {}
    /// A string value from raw bytes (not checked for UTF-8).
    static GgufValue fromBytes(QByteArray bytes);
    /// An array; throws qs::Error when an element's type differs from `elementType`.
    static GgufValue array(GgufValueType elementType, std::vector<GgufValue> elements);
    static GgufValue array(const QStringList& strings);
    template <typename T>
    static GgufValue array(const std::vector<T>& values)
    {
        GgufArray a;
        a.type = GgufValue(values.empty() ? T{} : values.front()).type();
        a.values.reserve(values.size());
        for (const T& v : values)
            a.values.emplace_back(v);
        GgufValue out;
        out.m_v = std::move(a);
        return out;
    }

    GgufValueType type() const { return GgufValueType(m_v.index()); }
    const Storage& storage() const { return m_v; }
    bool isArray() const { return type() == GgufValueType::Array; }
    /// The array (nullptr when this is not one).
    const GgufArray* asArray() const { return std::get_if<GgufArray>(&m_v); }
    /// "uint32", "string", "array of float32", "array of array" …
    QString typeName() const;

    /// Any integer type (not bool); nullopt for other types and for uint64 above INT64_MAX.
    std::optional<std::int64_t> toInt() const;
    /// Any non-negative integer value.
    std::optional<std::uint64_t> toUInt() const;
    /// float32/float64 or any integer type.
    std::optional<double> toDouble() const;
    std::optional<bool> toBool() const;
    std::optional<QString> toString() const;
    /// The raw bytes of a string value.
    std::optional<QByteArray> toBytes() const;
    /// Arrays: nullopt unless this is an array whose elements all convert.
    std::optional<QStringList> toStringList() const;
    std::optional<std::vector<float>> toFloatList() const;
    std::optional<std::vector<std::int64_t>> toIntList() const;

    friend bool operator==(const GgufValue& a, const GgufValue& b) { return a.m_v == b.m_v; }

private:
    Storage m_v;
};

/// One tensor of a GGUF file. `dims` are in ggml order: dims[0] is the row length (innermost,
/// contiguous), as the file stores them; shape() gives the row-major (PyTorch) order.
struct GgufTensor
{
    QString name;
    GgmlType type = GgmlType::F32;
    std::vector<std::int64_t> dims;
    std::uint64_t offset = 0; ///< from the start of the data section
    std::uint64_t bytes = 0;

    std::int64_t numel() const;
    std::int64_t rowLength() const { return dims.empty() ? 1 : dims[0]; }
    std::int64_t rows() const { return rowLength() == 0 ? 0 : numel() / rowLength(); }
    std::vector<std::int64_t> shape() const { return {dims.rbegin(), dims.rend()}; }
};

struct GgufKeyValue
{
    QString key;
    GgufValue value;
};

/// Bytes a tensor of `type` and ggml-order `dims` occupies; nullopt with `problem` filled when
/// the dims are negative, too many, overflow, or the row length is not a multiple of the block.
std::optional<std::uint64_t> ggufTensorBytes(GgmlType type, const std::vector<std::int64_t>& dims,
                                             QString* problem = nullptr);

/// A validated, memory-mapped GGUF file (v2 or v3). Opening parses metadata and tensor infos and
/// checks everything a reader relies on: magic, version, counts and lengths against the file
/// size, value types, duplicate keys and tensor names, dims, known type ids, row lengths against
/// the block size, alignment, offsets inside the data section and non-overlapping tensors.
/// Each violation is a qs::Error naming the file and the key or tensor.
class GgufFile
{
public:
    static std::shared_ptr<const GgufFile> open(const QString& path);
    /// The same checks on a file's bytes already in memory; `path` is what errors and path() name.
    static std::shared_ptr<const GgufFile> fromBytes(QByteArray bytes, const QString& path);

    const QString& path() const { return m_file->path(); }
    std::uint32_t version() const { return m_version; }
    std::uint32_t alignment() const { return m_alignment; }
    std::uint64_t dataOffset() const { return m_dataOffset; } ///< file offset of the data section
    std::uint64_t fileSize() const { return m_file->size(); }

    const std::vector<GgufKeyValue>& metadata() const { return m_metadata; } ///< in file order
    const GgufValue* find(const QString& key) const;
    bool contains(const QString& key) const { return find(key) != nullptr; }
    // Typed getters throw qs::Error (file, key, expected and actual type) when the key is missing
    // or has another type; the overloads with a fallback return it when the key is absent.
    QString getString(const QString& key) const;
    QString getString(const QString& key, const QString& fallback) const;
    std::int64_t getInt(const QString& key) const;
    std::int64_t getInt(const QString& key, std::int64_t fallback) const;
    double getFloat(const QString& key) const;
    double getFloat(const QString& key, double fallback) const;
    bool getBool(const QString& key) const;
    bool getBool(const QString& key, bool fallback) const;
    QStringList getStrings(const QString& key) const;
    std::vector<float> getFloats(const QString& key) const;
    std::vector<std::int64_t> getInts(const QString& key) const;

    const std::vector<GgufTensor>& tensors() const { return m_tensors; } ///< in file order
    const GgufTensor* findTensor(const QString& name) const;
    /// First byte of a tensor's data (valid while this object lives).
    const unsigned char* data(const GgufTensor& t) const { return dataAt(t.offset); }
    /// The byte at `offset` from the start of the data section.
    const unsigned char* dataAt(std::uint64_t offset) const { return m_file->data() + m_dataOffset + offset; }
    const MappedFile& mapping() const { return *m_file; }
    /// The tensor as f32 (F32, F16 and BF16; other types throw qs::Error naming file, tensor and type).
    std::vector<float> readF32(const GgufTensor& t) const;
    std::vector<float> readF32(const QString& name) const;

private:
    static std::shared_ptr<const GgufFile> fromMapped(std::shared_ptr<const MappedFile> file);
    const GgufValue& require(const QString& key) const;
    [[noreturn]] void wrongType(const QString& key, const GgufValue& v, const char* expected) const;

    std::shared_ptr<const MappedFile> m_file;
    std::uint32_t m_version = 0;
    std::uint32_t m_alignment = kGgufDefaultAlignment;
    std::uint64_t m_dataOffset = 0;
    std::vector<GgufKeyValue> m_metadata;
    QHash<QString, qsizetype> m_keyIndex;
    std::vector<GgufTensor> m_tensors;
    QHash<QString, qsizetype> m_tensorIndex;
};

/// Whether readF32/ggufPlainToF32 handle the type (F32, F16, BF16).
bool ggufIsPlainFloat(GgmlType type);
/// Converts n elements of a plain float tensor (F32/F16/BF16) to f32; throws qs::Error otherwise.
void ggufPlainToF32(GgmlType type, const void* src, float* dst, std::size_t n);

/// Writes a GGUF v3 file atomically (temp file + rename; nothing is left behind on failure).
/// Metadata keeps insertion order; `general.alignment` (uint32, a power of two) sets the alignment
/// of every tensor and of the data section, which is zero-padded after each tensor as llama.cpp
/// does. Tensors are written in the order added.
class GgufWriter
{
public:
    /// Receives a tensor's bytes in pieces of any size.
    using Sink = std::function<void(const void* data, std::size_t bytes)>;
    /// Streams one tensor's bytes into the sink; the total must equal the tensor's byte size.
    using Producer = std::function<void(const Sink& write)>;

    /// Sets (or replaces in place) a metadata key; throws qs::Error for general.alignment values
    /// that are not a uint32 power of two, and for empty or over-long keys.
    void set(const QString& key, GgufValue value);
    void setAlignment(std::uint32_t alignment) { set(kGgufAlignmentKey, GgufValue(alignment)); }
    std::uint32_t alignment() const { return m_alignment; }
    const std::vector<GgufKeyValue>& metadata() const { return m_metadata; }

    /// `dims` in ggml order (row length first). Throws qs::Error naming the tensor for a duplicate
    /// or over-long name, more than 4 dims, a negative dim, a row length that is not a multiple
    /// of the type's block size, or bytes of the wrong size.
    void addTensor(const QString& name, GgmlType type, std::vector<std::int64_t> dims, QByteArray bytes);
    void addTensor(const QString& name, GgmlType type, std::vector<std::int64_t> dims, Producer produce);
    /// Convenience: f32 values stored as F32, F16 or BF16 (round to nearest even).
    void addTensorF32(const QString& name, GgmlType type, std::vector<std::int64_t> dims,
                      std::vector<float> values);

    /// Throws qs::Error naming the file (and tensor) on any failure, disk full included.
    void write(const QString& path) const;

private:
    struct Pending
    {
        QString name;
        GgmlType type;
        std::vector<std::int64_t> dims;
        std::uint64_t bytes;
        Producer produce;
    };
    std::uint64_t checkTensor(const QString& name, GgmlType type,
                              const std::vector<std::int64_t>& dims) const;

    std::vector<GgufKeyValue> m_metadata;
    std::uint32_t m_alignment = kGgufDefaultAlignment;
    std::vector<Pending> m_tensors;
};

} // namespace qs
