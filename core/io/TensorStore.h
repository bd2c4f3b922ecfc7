#pragma once

#include "io/Safetensors.h"

#include <QHash>
#include <QString>
#include <QStringList>
#include <memory>
#include <vector>

namespace qs {

/// Whether reads check converted values for NaN/Inf (an error naming the tensor and index).
enum class FiniteCheck { Off, Throw };

class GgufFile;
struct GgufTensorMapping;

/// All tensors of a checkpoint, across one file or the shards of a `model.safetensors.index.json`,
/// or of a GGUF file under HF names (see io/GgufModel.h). Data stays memory-mapped; rows are
/// converted (or dequantized) to f32 on demand, never the whole file at once.
class TensorStore
{
public:
    TensorStore() = default;
    /// A model folder (model.safetensors or model.safetensors.index.json) or one .safetensors file.
    static TensorStore open(const QString& path);
    /// The tensors of a GGUF file under the names of `mapping` (q/k rows un-permuted on read).
    static TensorStore openGguf(std::shared_ptr<const GgufFile> file,
                                const std::vector<GgufTensorMapping>& mapping);
    bool isGguf() const { return m_gguf != nullptr; }

    bool contains(const QString& name) const { return m_entries.contains(name); }
    /// Throws qs::Error when the tensor is absent.
    const TensorInfo& info(const QString& name) const;
    QString fileOf(const QString& name) const;
    QStringList names() const { return m_order; } ///< in file order, shards in index order
    const QStringList& files() const { return m_files; }
    /// __metadata__ of the first file (where writers put model-level metadata).
    QMap<QString, QString> metadata() const
    {
        return m_shards.empty() ? QMap<QString, QString>() : m_shards.front()->metadata();
    }
    std::uint64_t totalBytes() const;

    /// Converts rows [row0, row0 + nRows) of a tensor (matrix view) to f32 into dst, read from the
    /// file (MappedFile::read), not through the map: nothing of the tensor becomes resident.
    void readRowsF32(const QString& name, std::int64_t row0, std::int64_t nRows, float* dst,
                     FiniteCheck check = FiniteCheck::Off) const;
    std::vector<float> readF32(const QString& name, FiniteCheck check = FiniteCheck::Off) const;
    /// Row `row` converted to f32 (readRowsF32 of one row): for lookups of scattered rows such as
    /// the embedding's, which through the map would make their neighbourhoods resident too.
    void readRowF32FromFile(const QString& name, std::int64_t row, float* dst) const;
    /// Raw bytes of a tensor (memory-mapped). Throws qs::Error for a GGUF q/k tensor whose rows
    /// are stored permuted (use readRawRows).
    const unsigned char* rawData(const QString& name) const;
    /// The stored bytes of every row of a tensor in HF row order (GGUF q/k rows un-permuted;
    /// for block formats a row is ggmlRowBytes(type, cols) bytes), read from the file, not through
    /// the map, so only the copy becomes resident.
    std::vector<std::uint8_t> readRawRows(const QString& name) const;
    /// The same into `out` (info(name).bytes() bytes).
    void readRawRows(const QString& name, std::uint8_t* out) const;
    /// Whether rawData() gives the rows in HF order (false for a GGUF q/k tensor stored permuted).
    bool rowsInPlace(const QString& name) const;
    /// Reads a float tensor through once, in chunks spread over the compute threads, and throws
    /// qs::Error naming the file, tensor, row and column when a value is NaN or Inf. Block formats
    /// are dequantized chunk by chunk for the same check. No copy of the tensor is kept.
    void checkFinite(const QString& name) const;
    /// Drops a tensor's mapped pages from the resident set (io/MappedFile.h releaseMappedPages).
    void releasePages(const QString& name) const;

private:
    struct Entry
    {
        int shard = 0;
        const TensorInfo* info = nullptr;
        int permuteHeads = 0; ///< GGUF q/k: rows in llama.cpp's order for this many heads
    };
    const Entry& entry(const QString& name) const;
    /// The mapped file a tensor lies in (for MappedFile::read).
    const MappedFile& mappingOf(const Entry& e) const;
    /// Throws qs::Error naming the file and tensor for rows out of range or a type QuantScope
    /// cannot read.
    void checkRowsReadable(const Entry& e, const QString& name, std::int64_t row0, std::int64_t nRows) const;
    /// Where HF row `row` of a tensor is stored (GGUF q/k rows permuted).
    const unsigned char* storedRow(const Entry& e, std::int64_t row) const;
    /// nRows consecutive stored rows at src converted to f32.
    static void rowsToF32(const TensorInfo& t, const unsigned char* src, std::int64_t nRows, float* dst);
    void addShard(std::shared_ptr<const SafetensorsFile> file);
    std::size_t rowBytes(const TensorInfo& t) const;

    QString m_path;
    std::vector<std::shared_ptr<const SafetensorsFile>> m_shards;
    QStringList m_files;
    QHash<QString, Entry> m_entries;
    QStringList m_order;
    std::shared_ptr<const GgufFile> m_gguf;
    std::shared_ptr<const std::vector<TensorInfo>> m_ggufInfos; ///< HF-named infos the entries point to
};

/// Formats a shape as "[64, 172]".
QString shapeString(const std::vector<std::int64_t>& shape);

} // namespace qs
