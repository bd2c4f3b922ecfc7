#pragma once

#include "util/AtomicFile.h"

#include <QFile>
#include <QJsonObject>
#include <QString>
#include <cstdint>
#include <memory>
#include <vector>

namespace qs {

/// What a stored base run is valid for. A quantized run may compare against it only when the
/// architecture/tokenizer fingerprint, the text, the protocol and the chunking all agree.
struct KldBaseKey
{
    QString modelFingerprint; ///< architecture + tokenizer, not weights (quantized models share it)
    QString modelName;
    QString textSha256;
    QString protocol;
    int ctx = 0;
    int chunks = 0;
    int firstChunk = 0;
    int vocab = 0;
    QJsonObject toJson() const;
    static KldBaseKey fromJson(const QJsonObject& o);
    /// Empty when compatible, else which field differs and how.
    QString mismatch(const KldBaseKey& other) const;
};

/// Base logits are stored per scored position as the full log-softmax row quantized to 16 bits
/// (as llama.cpp's --kl-divergence-base does): log-probs clamped to [-kLogProbRange, 0] with a
/// per-row minimum and scale, plus the exact f32 log-prob of the target and the argmax id.
/// 2 bytes per vocabulary entry keeps every token's probability (top-k would lose the tail that
/// KLD integrates over) with at most 2.3e-4 nats of rounding per entry, and streams chunk by chunk.
constexpr float kLogProbRange = 30.0f;

struct KldBaseRow
{
    float minLogProb = 0;
    float scale = 0;
    float targetLogProb = 0;
    std::int32_t argmax = 0;
    std::vector<std::uint16_t> q;
    /// Quantizes one row of logits (vocab values) with the next token `target`.
    static KldBaseRow fromLogits(const float* logits, int vocab, int target);
    /// Dequantized, renormalized log-probs (f64) into out[vocab].
    void logProbs(std::vector<double>& out) const;
};

/// Writes a base file atomically: header, then chunks as evaluation produces them.
class KldBaseWriter
{
public:
    KldBaseWriter(const QString& path, const KldBaseKey& key);
    void addChunk(const float* logits, int rows, int vocab, const int* targets);
    /// Records the base perplexity in the trailer and commits (rename). Nothing exists before.
    void commit(double basePpl, double basePplError);

private:
    AtomicFile m_file;
    QString m_path;
    int m_vocab;
};

/// Streams a base file chunk by chunk.
class KldBaseReader
{
public:
    explicit KldBaseReader(const QString& path);
    const KldBaseKey& key() const { return m_key; }
    double basePpl() const { return m_basePpl; }
    double basePplError() const { return m_basePplError; }
    /// Reads the next chunk's rows (in order); throws qs::Error naming the file on truncation.
    void readChunk(int expectedChunk, std::vector<KldBaseRow>& rows);

private:
    QFile m_file;
    KldBaseKey m_key;
    double m_basePpl = 0, m_basePplError = 0;
    int m_nextChunk = 0;
};

/// KLD, top-token agreement and Δp statistics of a run against a base, as llama.cpp reports them.
struct KldStats
{
    std::int64_t tokens = 0;
    double meanKld = 0, meanKldError = 0;
    double medianKld = 0, p90Kld = 0, p95Kld = 0, p99Kld = 0, p999Kld = 0, maxKld = 0, minKld = 0;
    double sameTopPercent = 0, sameTopError = 0;
    double rmsDeltaP = 0, rmsDeltaPError = 0;
    double meanDeltaP = 0;
    std::vector<std::pair<double, double>> deltaPPercentiles; ///< (percentile, Δp)
    double basePpl = 0, basePplError = 0;
    /// Perplexity change against the base on the same scored tokens, paired: ln(PPL/PPL_base) is
    /// the mean per-token NLL difference; its error comes from the spread of the per-chunk means
    /// (chunks are independent stretches of text, tokens within one are not), so it is far tighter
    /// than the two runs' own ± bars. Errors are NaN with fewer than two chunks.
    double deltaLnPpl = 0, deltaLnPplError = 0;
    double deltaPpl = 0,
           deltaPplError = 0; ///< PPL − PPL_base; error by the delta method (PPL · σ of ln ratio)
    std::vector<double> chunkDeltaNll; ///< per chunk: mean NLL(run) − mean NLL(base) over its scored tokens
    std::vector<int> chunkTokens;      ///< scored tokens per chunk
    QJsonObject toJson() const;
};

class KldAccumulator
{
public:
    void addChunk(const float* logits, int rows, int vocab, const int* targets,
                  const std::vector<KldBaseRow>& base);
    KldStats finish() const;

private:
    std::vector<double> m_kld, m_deltaP;
    std::int64_t m_sameTop = 0;
    double m_nll = 0, m_baseNll = 0; ///< sums over every scored token
    std::vector<double> m_chunkDeltaNll;
    std::vector<int> m_chunkTokens;
};

/// sha256 of a file's bytes, hex (for the text key).
QString sha256Hex(const QByteArray& data);

} // namespace qs
