#pragma once

#include "tensor/DType.h"

#include <QMap>
#include <QString>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

namespace qs {

/// Writes a safetensors file atomically (temp file + rename; nothing is left on failure).
/// Tensor data comes from a callback that fills one tensor's bytes, so large synthetic models
/// are written without holding them twice. A tensor with no callback is left as a hole
/// (sparse zeros) — used to make multi-gigabyte test files in no time. A tensor added with a
/// FillRange is produced piece by piece (at most kChunkBytes at a time), so even a tensor larger
/// than memory can be written.
class SafetensorsWriter
{
public:
    using Fill = std::function<void(unsigned char* dst, std::uint64_t bytes)>;
    /// Fills bytes [offset, offset + bytes) of one tensor; called in order of offset, each piece at
    /// most kChunkBytes long and starting at a multiple of kChunkBytes.
    using FillRange = std::function<void(unsigned char* dst, std::uint64_t offset, std::uint64_t bytes)>;
    /// Bytes of the file's data section written so far, of the total (for progress lines).
    using Progress = std::function<void(std::uint64_t doneBytes, std::uint64_t totalBytes)>;
    static constexpr std::uint64_t kChunkBytes = std::uint64_t(64) << 20;

    void setMetadata(const QString& key, const QString& value) { m_metadata.insert(key, value); }
    void addTensor(const QString& name, DType dtype, std::vector<std::int64_t> shape, Fill fill = {});
    void addTensorRange(const QString& name, DType dtype, std::vector<std::int64_t> shape, FillRange fill);
    /// Convenience: f32 data converted to dtype (f32/f16/bf16).
    void addTensorF32(const QString& name, DType dtype, std::vector<std::int64_t> shape,
                      std::vector<float> data);
    /// Convenience: bytes already in the tensor's dtype (packed codes, a copied tensor).
    void addTensorBytes(const QString& name, DType dtype, std::vector<std::int64_t> shape,
                        std::vector<unsigned char> bytes);
    /// f32 values at `data` (`count` of them, alive while `keepAlive` lives) converted to dtype
    /// (f32/f16/bf16) as they are written: nothing is copied when the tensor is added.
    void addTensorF32View(const QString& name, DType dtype, std::vector<std::int64_t> shape,
                          const float* data, std::size_t count, std::shared_ptr<const void> keepAlive);
    /// Bytes already in the tensor's dtype at `data` (alive while `keepAlive` lives: a mapped file,
    /// a tensor of a result), copied piece by piece as they are written.
    void addTensorBytesView(const QString& name, DType dtype, std::vector<std::int64_t> shape,
                            const void* data, std::shared_ptr<const void> keepAlive);
    /// Convenience: int32 values as an I32 tensor.
    void addTensorI32(const QString& name, std::vector<std::int64_t> shape,
                      const std::vector<std::int32_t>& values);

    /// Throws qs::Error naming the file on any failure (disk full included); whatever `progress`
    /// or a fill callback throws (qs::Cancelled) leaves nothing at `path` either.
    void write(const QString& path, const Progress& progress = {}) const;
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
        FillRange range;
    };
    std::vector<Pending> m_tensors;
    QMap<QString, QString> m_metadata;
};

} // namespace qs
