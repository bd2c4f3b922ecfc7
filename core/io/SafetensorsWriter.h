#pragma once

#include "tensor/DType.h"

#include <QMap>
#include <QString>
#include <cstdint>
#include <functional>
#include <vector>

namespace qs {

/// Writes a safetensors file atomically (temp file + rename; nothing is left on failure).
/// Tensor data comes from a callback that fills one tensor's bytes, so large synthetic models
/// are written without holding them twice. A tensor with no callback is left as a hole
/// (sparse zeros) — used to make multi-gigabyte test files in no time.
class SafetensorsWriter
{
public:
    using Fill = std::function<void(unsigned char* dst, std::uint64_t bytes)>;

    void setMetadata(const QString& key, const QString& value) { m_metadata.insert(key, value); }
    void addTensor(const QString& name, DType dtype, std::vector<std::int64_t> shape, Fill fill = {});
    /// Convenience: f32 data converted to dtype (f32/f16/bf16).
    void addTensorF32(const QString& name, DType dtype, std::vector<std::int64_t> shape,
                      std::vector<float> data);
    /// Convenience: bytes already in the tensor's dtype (packed codes, a copied tensor).
    void addTensorBytes(const QString& name, DType dtype, std::vector<std::int64_t> shape,
                        std::vector<unsigned char> bytes);
    /// Convenience: int32 values as an I32 tensor.
    void addTensorI32(const QString& name, std::vector<std::int64_t> shape,
                      const std::vector<std::int32_t>& values);

    /// Throws qs::Error naming the file on any failure (disk full included).
    void write(const QString& path) const;
    /// The exact header JSON that write() emits (used by tests that corrupt files on purpose).
    QByteArray headerJson() const;

private:
    struct Pending
    {
        QString name;
        DType dtype;
        std::vector<std::int64_t> shape;
        std::uint64_t bytes;
        Fill fill;
    };
    std::vector<Pending> m_tensors;
    QMap<QString, QString> m_metadata;
};

} // namespace qs
