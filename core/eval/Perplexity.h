#pragma once

#include "jobs/Job.h"

#include <QJsonObject>
#include <QString>

#include <cstdint>
#include <functional>
#include <vector>

namespace qs {

class Transformer;

/// How a text is cut into windows and which positions are scored.
enum class PerplexityProtocol {
    /// llama.cpp `llama-perplexity`: the whole text tokenized once with BOS; chunk c is
    /// tokens[c·n_ctx, (c+1)·n_ctx) with its first token replaced by BOS; one causal pass per
    /// chunk; only the second half of each chunk is scored (positions n_ctx/2 … n_ctx-2).
    LlamaCpp,
    /// Plain non-overlapping windows: text tokens (no leading BOS) cut into pieces of n_ctx-1,
    /// each window = [BOS] + piece, every next-token target scored.
    Windows,
};

QString protocolName(PerplexityProtocol p);
/// Parses "llamacpp" / "windows"; throws qs::Error on anything else.
PerplexityProtocol protocolFromName(const QString& name);

struct PerplexityOptions
{
    PerplexityProtocol protocol = PerplexityProtocol::LlamaCpp;
    int ctx = 512;
    int maxChunks = -1; ///< -1: all chunks the text allows
    int firstChunk = 0; ///< skip this many chunks (held-out splits: sensitivity on the first K, measurement after)
    int bosId = 1;
};

/// One scored window as the evaluator sees it: the tokens fed and which rows are scored.
struct EvalChunk
{
    std::vector<int> tokens;  ///< what the model is run on
    int firstScored = 0;      ///< logits of rows firstScored … tokens.size()-2 predict the next token
};

/// Cuts a tokenized text into chunks by protocol. `tokens` is the text with BOS prepended
/// (llama.cpp protocol) or the text with BOS prepended as well (the windows protocol drops it
/// and re-adds one per window). Throws qs::Error when the text is too short for one chunk.
std::vector<EvalChunk> makeChunks(const std::vector<int>& tokensWithBos, const PerplexityOptions& opt);

/// Receives the scored logits of each chunk (rows = scored positions, plus targets), so KLD can
/// be computed or a base stored while perplexity runs, with memory bounded by one window.
using LogitsSink = std::function<void(int chunk, const float* logits, int rows, int vocab, const int* targets)>;

struct PerplexityResult
{
    QString protocol;
    int ctx = 0;
    int chunks = 0;
    std::int64_t textTokens = 0; ///< tokens in the whole text (with BOS)
    std::int64_t scored = 0;
    double meanNll = 0;
    double ppl = 0;
    double pplError = 0;          ///< llama.cpp's ± (standard error propagated to ppl)
    std::vector<double> cumulativePpl; ///< after each chunk, as llama.cpp prints
    double seconds = 0;
    double tokensPerSecond = 0;   ///< processed (fed) tokens per second
    QJsonObject toJson() const;
};

/// Runs the model over the chunks; progress per chunk, cancellable between chunks.
PerplexityResult evaluatePerplexity(const Transformer& model, const std::vector<int>& tokensWithBos,
                                    const PerplexityOptions& opt, const JobContext& ctx = {},
                                    const LogitsSink& sink = {});

/// log Σ exp(x) over n values, numerically stable (f64 accumulation).
double logSumExp(const float* x, int n);

} // namespace qs
