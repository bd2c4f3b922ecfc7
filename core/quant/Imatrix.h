#pragma once

#include "jobs/Job.h"

#include <QString>
#include <QStringList>
#include <cstdint>
#include <map>
#include <vector>

namespace qs {

class Model;
class Tokenizer;
class Transformer;

/// An importance matrix as llama.cpp's `llama-imatrix` computes it and `llama-quantize` consumes
/// it: per linear weight (keyed by its GGUF tensor name, "blk.3.ffn_down.weight", "output.weight"),
/// the sum over calibration tokens of each input column's squared activation, and the number of
/// tokens summed. The quantizer receives values() = Σx² / tokens.
struct ImportanceMatrix
{
    struct Entry
    {
        std::vector<float> sumSquares; ///< Σ x_j² per input column
        std::int64_t count = 0;        ///< tokens summed (legacy .dat files: their ncall, see readImatrix)
        int calls = 0;                 ///< llama.cpp's ncall: forward passes (ubatches) that contributed
    };
    std::map<QString, Entry> entries;
    QStringList datasets; ///< calibration text(s) as named when computed (GGUF: imatrix.datasets)
    int chunks = 0;    ///< chunks processed (legacy: its trailing last-call count; GGUF: imatrix.chunk_count)
    int chunkSize = 0; ///< tokens per chunk (GGUF: imatrix.chunk_size); 0 when unknown
    /// Entry order as read from a file; writers keep it when it names exactly the entries, so a
    /// read-then-write of a llama.cpp file is byte-identical. Empty: sorted by name.
    QStringList fileOrder;

    const Entry* find(const QString& name) const
    {
        const auto it = entries.find(name);
        return it == entries.end() ? nullptr : &it->second;
    }
    /// Σx² / count per column (what llama.cpp's quantizer receives); throws qs::Error when absent.
    std::vector<float> values(const QString& name) const;
    /// Entry names in the order writers use (fileOrder when it matches, else sorted).
    QStringList orderedNames() const;
};

struct ImatrixOptions
{
    int ctx = 512;             ///< tokens per chunk (llama-imatrix -c)
    int chunks = -1;           ///< at most this many chunks (-1: all the text allows)
    bool includeOutput = true; ///< collect the untied head (output.weight; llama-imatrix --process-output)
    QString dataset;           ///< recorded in the result's datasets (the text path as given)
};

/// llama.cpp's ubatch size: a chunk longer than this runs as several forward passes (each one
/// "call"), and passes of fewer than kImatrixMinTokens tokens are not collected, as llama-imatrix does.
inline constexpr int kImatrixUbatch = 512;
inline constexpr int kImatrixMinTokens = 16;

/// Computes the importance matrix as llama-imatrix does: `tokensWithBos` (the whole text
/// tokenized once, BOS first) cut into consecutive chunks of `ctx` tokens, each chunk's first
/// token replaced by BOS (`bosId` >= 0), each chunk a fresh causal pass; Σx² per input column of
/// every linear (and of the untied head when `includeOutput`) over all tokens. Deterministic for
/// any thread count. Progress per chunk; cancellable between chunks (qs::Cancelled). Throws
/// qs::Error when the text is shorter than one chunk.
ImportanceMatrix computeImportanceMatrix(const Transformer& model, const std::vector<int>& tokensWithBos,
                                         int bosId, const ImatrixOptions& opt, const JobContext& job = {});
/// Reads and tokenizes `textPath` (with BOS) and runs the above.
ImportanceMatrix computeImportanceMatrix(const Transformer& model, const Tokenizer& tokenizer,
                                         const QString& textPath, const ImatrixOptions& opt,
                                         const JobContext& job = {});

/// Reads an imatrix file, either format (GGUF by its magic, else llama.cpp's legacy binary):
///   legacy: int32 n_entries; per entry int32 name length, name bytes, int32 ncall, int32 nval,
///           float[nval] = Σx²/count·ncall; then optionally int32 last_call, int32 length + dataset.
///           An entry reads as sumSquares = the stored floats, count = calls = ncall (the format
///           keeps no token count; values() is the same mean llama-quantize uses).
///   GGUF:   general.type "imatrix", imatrix.datasets, imatrix.chunk_count, imatrix.chunk_size;
///           per entry F32 tensors "<name>.in_sum2" [cols] and "<name>.counts" [1] (optional
///           "<name>.in_sum" is ignored).
/// Truncation, negative or overflowing counts and lengths, non-finite or negative values, and
/// duplicate or incomplete entries are qs::Error naming the file and entry.
ImportanceMatrix readImatrix(const QString& path);
/// The same from a file's bytes already in memory; `path` is what errors name.
ImportanceMatrix readImatrix(const QByteArray& bytes, const QString& path);
/// readImatrix + checkImatrixForModel.
ImportanceMatrix readImatrix(const QString& path, const Model& model);

/// Every entry must name a linear weight of `model` (GGUF names) with its input column count;
/// otherwise qs::Error "<file>: imatrix for another model: …" naming the tensor.
void checkImatrixForModel(const ImportanceMatrix& m, const Model& model, const QString& file);

/// The legacy binary format, as llama-imatrix (c392e50) writes it. Atomic.
void writeImatrixLegacy(const ImportanceMatrix& m, const QString& path);
/// The GGUF-based format of newer llama-imatrix. Atomic.
void writeImatrixGguf(const ImportanceMatrix& m, const QString& path);
/// GGUF when the path ends in ".gguf", else legacy.
void writeImatrix(const ImportanceMatrix& m, const QString& path);

} // namespace qs
