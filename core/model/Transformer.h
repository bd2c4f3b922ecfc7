#pragma once

#include "model/LinearLayer.h"
#include "model/Model.h"
#include "util/SystemInfo.h"

#include <atomic>
#include <memory>
#include <vector>

namespace qs {

/// Observers of a forward pass. Calibration capture, per-layer error measurement and activation
/// plots use these; the model code never knows who listens.
class ForwardHooks
{
public:
    virtual ~ForwardHooks() = default;
    /// Called before linear `index` (index into Model::linears()) runs, with its input rows.
    virtual void linearInput(int index, const float* x, std::int64_t nTokens, std::int64_t inFeatures)
    {
        Q_UNUSED(index);
        Q_UNUSED(x);
        Q_UNUSED(nTokens);
        Q_UNUSED(inFeatures);
    }
    /// Called after linear `index` ran, with its output rows.
    virtual void linearOutput(int index, const float* y, std::int64_t nTokens, std::int64_t outFeatures)
    {
        Q_UNUSED(index);
        Q_UNUSED(y);
        Q_UNUSED(nTokens);
        Q_UNUSED(outFeatures);
    }
};

/// What running `model` holds, for the up-front memory check: its weights as the layers hold
/// them (float and GGUF tensors mapped at their stored size, packed integer layers at their packed
/// size plus one layer's unpacked codes while loading), the KV cache of `ctx` positions and one
/// forward's activations for `tokens` rows; without `weights`, only the cache and activations
/// (for a job on a model already loaded).
MemoryNeed modelRunMemory(const Model& model, int ctx, int tokens, bool weights = true);

/// RMSNorm of `rows` rows of `dim` values: y = x·r·w with r = 1/√(mean x² + ε), the mean in f64 (as every
/// block and the final norm run it; the training forward runs the same). y may be x.
void rmsNormRows(const float* x, const float* w, std::int64_t rows, int dim, double eps, float* y);
/// Softmax in place over row[first … last] (the keys one query sees, causal and windowed), every other
/// entry of row[0, keys) set to 0: one row of attention probabilities.
void maskedSoftmaxRow(float* row, int first, int last, int keys);

/// Keys and values of every block for one sequence, filled position by position.
class KvCache
{
public:
    KvCache() = default;
    KvCache(int layers, int capacity, int kvDim);
    /// Bytes a cache of `capacity` positions holds (keys and values, f32).
    static std::uint64_t bytesFor(int layers, int capacity, int kvDim)
    {
        return 2 * std::uint64_t(layers) * std::uint64_t(capacity) * std::uint64_t(kvDim) * sizeof(float);
    }
    int capacity() const { return m_capacity; }
    int length() const { return m_length; }
    void clear() { m_length = 0; }
    float* keys(int layer) { return m_k[std::size_t(layer)].data(); }
    float* values(int layer) { return m_v[std::size_t(layer)].data(); }
    void setLength(int n) { m_length = n; }

private:
    std::vector<std::vector<float>> m_k, m_v;
    int m_capacity = 0;
    int m_length = 0;
};

/// A runnable Llama-family decoder (RMSNorm, rotate-half RoPE with llama3 scaling, grouped-query
/// causal attention with optional sliding window, SwiGLU MLP, q/k/v bias, q/k norm, tied or
/// separate head). Every projection goes through LinearLayer, so quantized layers replace float
/// ones with setLinear() without touching this code. Compute is f32 with f64 norm statistics.
class Transformer
{
public:
    /// Builds every linear in its stored form (model/LinearLoader.h: float weights read in place
    /// from the mapped files, quantized ones packed; no f32 copy of the model). NaN/Inf in weights
    /// is an error naming the tensor. It first checks that running the whole model fits
    /// (modelRunMemory); a caller with its own estimate skips that (a quantization run reads the
    /// float model one layer at a time and never holds it all).
    enum class MemoryCheck { WholeModel, CallerEstimated };
    explicit Transformer(std::shared_ptr<const Model> model, MemoryCheck check = MemoryCheck::WholeModel);

    const Model& model() const { return *m_model; }
    std::shared_ptr<const Model> modelPtr() const { return m_model; }
    const ModelConfig& config() const { return m_model->config(); }
    int vocabSize() const { return config().vocabSize; }

    const LinearLayer& linear(int index) const { return *m_linears[std::size_t(index)]; }
    const LinearLayer& headLayer() const
    {
        return m_headIndex >= 0 ? *m_linears[std::size_t(m_headIndex)] : *m_tiedHead;
    }
    void setLinear(int index, std::shared_ptr<const LinearLayer> layer);
    /// The layer object itself (to restore it after trying a replacement).
    std::shared_ptr<const LinearLayer> linearPtr(int index) const { return m_linears[std::size_t(index)]; }

    KvCache makeCache(int capacity) const;

    /// Storage of the model as its layers are now (quantized layers at their packed size; the
    /// embeddings, norms and a tied head as stored in the checkpoint), and bits per parameter.
    std::uint64_t storageBytes() const;
    double bitsPerWeight() const;
    /// Bytes the weights occupy as this model runs them: every layer's residentBytes() (packed
    /// codes, mapped float rows), the embedding table (mapped; shared with a tied head) and the
    /// norms. Measured from the layer objects, so it reflects what is really held.
    std::uint64_t residentBytes() const;
    /// Bits per weight of the linear layers alone (what quantization changes).
    double linearBitsPerWeight() const;

    /// Runs `n` tokens at positions cache.length() … cache.length()+n-1, appending to the cache.
    /// Writes logits for rows [firstLogitRow, n) to `logits` ([(n - firstLogitRow), vocab]); pass
    /// firstLogitRow = n to skip the head. Batched prefill and one-token decode are the same call.
    /// Without hooks, more than forwardPieceTokens() tokens run as consecutive pieces of that many (a
    /// rest of fewer than kTileMinTokens joins the last piece): the same results, with the activations
    /// of one piece.
    void forward(KvCache& cache, const int* tokens, int n, float* logits, int firstLogitRow = 0,
                 ForwardHooks* hooks = nullptr) const;
    /// Tokens per piece of a long forward: a multiple of kQueryBlock, so attention's query blocks
    /// (and with them every sum) stay those of one call, sized so one [tokens, ffn] activation is
    /// about 4 MiB. setForwardPieceTokens(n > 0) sets it, rounded up to such a multiple (tests);
    /// 0 restores the rule.
    int forwardPieceTokens() const;
    void setForwardPieceTokens(int n)
    {
        m_forwardPiece = n > 0 ? (n + kQueryBlock - 1) / kQueryBlock * kQueryBlock : 0;
    }
    /// Attention takes queries in blocks of this many rows, each against the keys its rows see.
    static constexpr int kQueryBlock = 64;

    // The pieces of forward(), for layer-by-layer pipelines (calibration, sequential quantization).
    /// hidden [n, hiddenSize] = embeddings of tokens (ids checked against the vocabulary).
    void embed(const int* tokens, int n, float* hidden) const;
    /// Applies block `b` in place to hidden [n, hiddenSize] at positions cache.length()….
    /// (The caller advances cache length after the last block: see forward().)
    /// `buffers`: the block's activations, reused from block to block by a caller that runs several
    /// (forward() does): allocated and page-faulted once instead of once per block.
    struct BlockBuffers
    {
        std::vector<float> x, q, att, gate, up;
        std::vector<float> hidden, headInput; ///< forward()'s own: the residual stream, the head's input
    };
    void runBlock(int b, KvCache& cache, float* hidden, int n, ForwardHooks* hooks = nullptr,
                  BlockBuffers* buffers = nullptr) const;
    /// logits [n, vocab] from hidden [n, hiddenSize] (final norm + head).
    void head(const float* hidden, int n, float* logits) const;
    /// The head's input: final RMSNorm of hidden [n, hiddenSize] into out.
    void finalNorm(const float* hidden, int n, float* out) const;
    /// Index of the head in Model::linears() when it is a separate (quantizable) layer, else -1.
    int headLinearIndex() const { return m_headIndex; }

    /// Computes as llama.cpp's CPU backend does (c392e50, flash attention off), to predict its
    /// numbers for GGUF models: block-type layers always run as llama.cpp runs them (inputs
    /// quantized to Q8_K/Q8_0/Q8_1 and integer dot products: GgmlLinear); this adds f16/bf16
    /// rounding of the inputs of f16/bf16 weights, and an f16 KV cache (k and v stored as f16, q and the
    /// attention probabilities rounded to f16 before their products). Wraps the current linears; call it
    /// after setLinear() replacements.
    void setLlamaCppNumerics();
    bool llamaCppNumerics() const { return m_f16Kv; }
    /// RoPE's inverse frequencies [headDim/2], llama3 scaling and a GGUF's frequency factors applied.
    const std::vector<float>& ropeFrequencies() const { return m_invFreq; }

private:
    void forwardPiece(KvCache& cache, const int* tokens, int n, float* logits, int firstLogitRow,
                      ForwardHooks* hooks, BlockBuffers& buffers) const;
    /// Throw qs::Error for a token id outside the vocabulary / more tokens than the cache has room for.
    void checkTokens(const int* tokens, int n) const;
    static void checkCacheRoom(const KvCache& cache, int n);
    void rmsNorm(const float* x, const std::vector<float>& w, int n, int dim, float* y) const;
    void ropeInPlace(float* x, int n, int heads, int startPos) const;
    void attention(const float* q, const float* kCache, const float* vCache, int n, int startPos,
                   float* out) const;
    void applyLinear(int index, const float* x, int n, float* y, ForwardHooks* hooks) const;

    std::shared_ptr<const Model> m_model;
    bool m_f16Kv = false;
    int m_forwardPiece = 0; ///< setForwardPieceTokens; 0 = the rule
    std::vector<std::shared_ptr<const LinearLayer>> m_linears;
    struct BlockNorms
    {
        std::vector<float> input, post, q, k;
    };
    std::vector<BlockNorms> m_norms;
    std::vector<float> m_finalNorm;
    std::shared_ptr<const LinearLayer> m_tiedHead; ///< the embeddings as a layer, when tied
    int m_headIndex = -1;                          ///< index in m_linears when untied
    std::vector<float> m_invFreq;                  ///< [headDim/2], llama3 scaling applied
    /// forward()'s activations (at most one piece's), kept from call to call (a perplexity's chunks,
    /// decode steps, a benchmark's repetitions): allocated and page-faulted once, not on every call. A
    /// call with hooks, or one that finds them in use (another thread's forward), takes its own.
    struct ForwardScratch
    {
        std::atomic<bool> inUse{false};
        BlockBuffers buffers;
    };
    std::unique_ptr<ForwardScratch> m_scratch = std::make_unique<ForwardScratch>();
};

} // namespace qs
