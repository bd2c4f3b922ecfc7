#pragma once

#include "io/MappedFile.h"
#include "tensor/DType.h"
#include "tensor/GgmlTypes.h"

#include <QMap>
#include <QString>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

namespace qs {

/// One tensor entry of a safetensors header. Offsets are relative to the data section.
struct TensorInfo
{
    QString name;
    DType dtype = DType::F32;
    std::vector<std::int64_t> shape;
    std::uint64_t begin = 0;
    std::uint64_t end = 0;
    /// Tensors of a GGUF file: the ggml type as stored. For block formats (Q4_K …) dtype is U8,
    /// shape the logical [rows, cols] and bytes() the stored size.
    std::optional<GgmlType> ggmlType;

    std::int64_t numel() const;
    /// Matrix view: rows = shape[0] (1 for scalars), cols = product of the other dims.
    std::int64_t rows() const { return shape.empty() ? 1 : shape[0]; }
    std::int64_t cols() const { return rows() == 0 ? 0 : numel() / rows(); }
    std::uint64_t bytes() const { return end - begin; }
    /// Stored in a ggml block format (read as f32 by dequantizing).
    bool blockQuantized() const { return ggmlType && ggmlTypeInfo(*ggmlType).quantized; }
    /// Holds real numbers (f32/f16/bf16 or a ggml block format), as every model weight must.
    bool holdsReals() const { return dtypeInfo(dtype).isFloat || blockQuantized(); }
    /// "f32", "bf16", … or the ggml name for block formats ("Q4_K").
    QString typeName() const;
};

/// A validated, memory-mapped safetensors file. Opening reads only the header; every rule of the
/// format is checked (8-byte little-endian header length, JSON object header, known dtypes,
/// shape × dtype = byte range, offsets inside the data section, contiguous and non-overlapping),
/// and each violation is a qs::Error naming the file and tensor.
class SafetensorsFile
{
public:
    static std::shared_ptr<const SafetensorsFile> open(const QString& path);
    /// The same checks on a file's bytes already in memory; `path` is what errors and path() name.
    static std::shared_ptr<const SafetensorsFile> fromBytes(QByteArray bytes, const QString& path);

    const QString& path() const { return m_file->path(); }
    const std::vector<TensorInfo>& tensors() const { return m_tensors; } ///< in data-offset order
    const TensorInfo* find(const QString& name) const;
    const QMap<QString, QString>& metadata() const { return m_metadata; }
    std::uint64_t headerBytes() const { return m_headerBytes; }
    std::uint64_t fileSize() const { return m_file->size(); }
    /// Pointer to the first byte of a tensor's data (valid while this object lives).
    const unsigned char* data(const TensorInfo& t) const { return m_file->data() + m_dataStart + t.begin; }
    const MappedFile& mapping() const { return *m_file; }

private:
    static std::shared_ptr<const SafetensorsFile> fromMapped(std::shared_ptr<const MappedFile> file);
    std::shared_ptr<const MappedFile> m_file;
    std::vector<TensorInfo> m_tensors;
    QMap<QString, qsizetype> m_index;
    QMap<QString, QString> m_metadata;
    std::uint64_t m_headerBytes = 0;
    std::uint64_t m_dataStart = 0;
};

} // namespace qs
