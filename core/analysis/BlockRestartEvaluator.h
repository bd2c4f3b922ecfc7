#pragma once

#include "eval/Kld.h"
#include "eval/Perplexity.h"
#include "jobs/Job.h"
#include "model/Transformer.h"
#include "util/SystemInfo.h"

#include <algorithm>
#include <cstdint>
#include <vector>

namespace qs {

/// The float model's hidden states on the evaluation chunks at every (strided) block input, the
/// base log-probabilities for KLD, and an evaluator that re-runs only the blocks after a change.
class BlockRestartEvaluator
{
public:
    BlockRestartEvaluator(const Transformer& t, std::vector<EvalChunk> chunks, const JobContext& job)
        : m_t(t), m_chunks(std::move(chunks))
    {
        const ModelConfig& c = t.config();
        const int L = c.numLayers;
        std::int64_t tokens = 0;
        for (const EvalChunk& ch : m_chunks)
            tokens += std::int64_t(ch.tokens.size());
        m_stride = checkpointStride(c, tokens);
        m_hidden.assign(std::size_t(L + 1), {});
        m_base.resize(m_chunks.size());
        KvCache cache = t.makeCache(maxLength());
        std::vector<float> h, logits;
        double nll = 0;
        for (std::size_t ci = 0; ci < m_chunks.size(); ++ci) {
            job.checkCancelled();
            const EvalChunk& ch = m_chunks[ci];
            const int n = int(ch.tokens.size());
            h.resize(std::size_t(n) * std::size_t(c.hiddenSize));
            t.embed(ch.tokens.data(), n, h.data());
            cache.clear();
            for (int b = 0; b < L; ++b) {
                if (b % m_stride == 0)
                    m_hidden[std::size_t(b)].push_back(h);
                t.runBlock(b, cache, h.data(), n);
            }
            m_hidden[std::size_t(L)].push_back(h);
            const int rows = headRows(ch, h, logits);
            for (int r = 0; r < rows; ++r) {
                const float* row = logits.data() + std::size_t(r) * std::size_t(t.vocabSize());
                const int target = ch.tokens[std::size_t(ch.firstScored + r + 1)];
                m_base[ci].push_back(KldBaseRow::fromLogits(row, t.vocabSize(), target));
                nll -= double(m_base[ci].back().targetLogProb);
            }
            m_scored += rows;
            job.report(double(ci + 1) / double(m_chunks.size()), QStringLiteral("base model"),
                       QStringLiteral("chunk %1 of %2").arg(ci + 1).arg(m_chunks.size()));
        }
        m_baseNll = nll / double(std::max<std::int64_t>(1, m_scored));
    }

    /// Hidden states are kept at every stride-th block input (and after the last block): at every one
    /// when all of them fit in a quarter of free memory, else as many as do. `tokens` over all chunks.
    static int checkpointStride(const ModelConfig& c, std::int64_t tokens)
    {
        const double perCheckpoint = double(tokens) * c.hiddenSize * 4.0;
        const double avail = availableMemoryBytes() > 0 ? availableMemoryBytes() : 4e9;
        const int fit = std::max(1, int(0.25 * avail / std::max(1.0, perCheckpoint)) - 1);
        return std::max(1, (c.numLayers + fit - 1) / fit);
    }
    /// Bytes of the hidden states kept for `tokens` (chunks together) under checkpointStride.
    static double checkpointBytes(const ModelConfig& c, std::int64_t tokens)
    {
        return double((c.numLayers - 1) / checkpointStride(c, tokens) + 2) * double(tokens) * c.hiddenSize *
               4.0;
    }

    double baseNll() const { return m_baseNll; }
    std::int64_t scored() const { return m_scored; }
    int stride() const { return m_stride; }

    struct Loss
    {
        double nll = 0, kld = 0, top1 = 0;
    };

    /// Runs the current model from block `from` (the first block whose layers changed) to the end.
    Loss evaluateFrom(int from, const JobContext& job) const
    {
        const ModelConfig& c = m_t.config();
        const int L = c.numLayers;
        const int start = from >= L ? L : (from / m_stride) * m_stride;
        KvCache cache = m_t.makeCache(maxLength());
        KldAccumulator acc;
        std::vector<float> h, logits;
        std::vector<int> targets;
        double nll = 0;
        for (std::size_t ci = 0; ci < m_chunks.size(); ++ci) {
            job.checkCancelled();
            const EvalChunk& ch = m_chunks[ci];
            const int n = int(ch.tokens.size());
            h = m_hidden[std::size_t(start)][ci];
            cache.clear();
            for (int b = start; b < L; ++b)
                m_t.runBlock(b, cache, h.data(), n);
            const int rows = headRows(ch, h, logits);
            targets.assign(ch.tokens.begin() + ch.firstScored + 1,
                           ch.tokens.begin() + ch.firstScored + 1 + rows);
            for (int r = 0; r < rows; ++r) {
                const float* row = logits.data() + std::size_t(r) * std::size_t(m_t.vocabSize());
                nll += logSumExp(row, m_t.vocabSize()) - double(row[targets[std::size_t(r)]]);
            }
            acc.addChunk(logits.data(), rows, m_t.vocabSize(), targets.data(), m_base[ci]);
        }
        const KldStats k = acc.finish();
        return {nll / double(std::max<std::int64_t>(1, m_scored)), k.meanKld, k.sameTopPercent};
    }

private:
    int maxLength() const
    {
        int n = 1;
        for (const EvalChunk& ch : m_chunks)
            n = std::max(n, int(ch.tokens.size()));
        return n;
    }

    /// Logits of the scored rows (firstScored … n-2) of a chunk from its final hidden states.
    int headRows(const EvalChunk& ch, const std::vector<float>& h, std::vector<float>& logits) const
    {
        const int n = int(ch.tokens.size());
        const int rows = n - 1 - ch.firstScored;
        const std::size_t H = std::size_t(m_t.config().hiddenSize);
        logits.resize(std::size_t(rows) * std::size_t(m_t.vocabSize()));
        m_t.head(h.data() + std::size_t(ch.firstScored) * H, rows, logits.data());
        return rows;
    }

    const Transformer& m_t;
    std::vector<EvalChunk> m_chunks;
    int m_stride = 1;
    std::vector<std::vector<std::vector<float>>> m_hidden; ///< [block][chunk] inputs (strided; [L] = final)
    std::vector<std::vector<KldBaseRow>> m_base;
    std::int64_t m_scored = 0;
    double m_baseNll = 0;
};

} // namespace qs
