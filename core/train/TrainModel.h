#pragma once

#include "io/ModelConfig.h"
#include "spec/QuantizedTensor.h"
#include "train/FakeQuant.h"

#include <QString>
#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <vector>

namespace qs {

class Transformer;

/// What a trainable tensor is: optimisers treat the kinds apart (learning rate, weight decay), gradient
/// checks go kind by kind.
enum class ParamKind : std::uint8_t { Embedding, Norm, Weight, Bias, Scale, Zero, Rounding, Codebook };
inline constexpr int kParamKinds = 8;
QString paramKindName(ParamKind k);

/// One trainable tensor: f32 values and the gradient summed into by backward passes (same size).
struct TrainParam
{
    QString name;
    ParamKind kind = ParamKind::Weight;
    std::int64_t rows = 0, cols = 0;
    std::vector<float> value, grad;
    bool trainable = true;
};

/// Which parameters a training run moves; the others stay as loaded (and get no gradient).
struct TrainableSet
{
    bool embedding = false;
    bool norms = false;
    bool weights = true; ///< quantized layers' latent weights
    bool biases = false;
    bool scales = true;    ///< quantized layers' scales (LSQ)
    bool zeros = true;     ///< quantized layers' zeros (asymmetric grids)
    bool rounding = false; ///< learned rounding offsets v ∈ [−½, ½] per weight (SignRound)
    /// Table layers' tables: SqueezeLLM's row codebooks and sparse values, AQLM's codebooks (their codes
    /// stay; QuIP#'s and AQLM's row scales learn with `scales`).
    bool codebooks = true;
    /// Float layers' weights (a head kept in f16, every layer of a float model). Off by default: a
    /// quantized checkpoint's trained form is its grids (train/Training.h trainedTensors), and float
    /// parts that moved would not be saved with them.
    bool floatWeights = false;
    static TrainableSet all() { return {true, true, true, true, true, true, true, true, true}; }
};

/// A Llama-family decoder as a trainable f32 model with a backward pass: the forward of
/// model/Transformer (RMSNorm with f64 statistics, rotate-half RoPE, grouped-query causal attention with
/// its sliding window, SwiGLU, q/k norms, biases, tied or separate head) on whole sequences from position
/// 0, and the gradients of the mean next-token cross-entropy with respect to every parameter kind.
/// Quantized layers (integer grids: RTN, GPTQ, AWQ, HQQ) run fake-quantized from latent f32 weights with
/// straight-through gradients (train/FakeQuant.h); AWQ's input scales stay fixed. Table layers keep their
/// codes and learn their tables, as AQLM's fine-tuning does: SqueezeLLM's row codebooks and sparse values,
/// AQLM's codebooks and row scales, QuIP#'s row scales (its lattice is fixed); their rotation stays.
///
/// Memory: the forward keeps only each block's input hidden state; the backward recomputes one block's
/// activations at a time (activation recomputation), so a pass holds one block's activations plus the
/// logits. Every product runs over fixed tiles and every sum in a fixed order, so losses and gradients
/// are the same bits for any thread count.
class TrainModel
{
public:
    /// A trainable copy of what `t` runs now: float layers' weights (read as f32), quantized layers' grids
    /// with latent weights set to their dequantized values (so the fake-quantized forward starts exactly at
    /// the quantized model), norms, biases, embeddings. Throws qs::Error naming the layer for what cannot
    /// be trained (ggml blocks, tables, lattices, rotations, outlier columns).
    TrainModel(const Transformer& t, const TrainableSet& trainable);

    const ModelConfig& config() const { return m_config; }
    std::deque<TrainParam>& params() { return m_params; }
    const std::deque<TrainParam>& params() const { return m_params; }
    std::int64_t trainableCount() const;
    void zeroGrad();

    /// Mean next-token cross-entropy of `batch` sequences of `n` tokens each (`tokens` [batch, n]; every
    /// position but the last predicts the next), in f64. With `backward`, adds its gradients to the
    /// trainable parameters' `grad`.
    /// With `teacherLogits` ([batch·n, vocab], another model's logits for the same tokens), the loss is
    /// instead the mean KL divergence of this model's next-token distributions from the teacher's
    /// (knowledge distillation, as LLM-QAT trains), the quantity `eval --kld-base` reports.
    double loss(const int* tokens, int batch, int n, bool backward, const float* teacherLogits = nullptr);
    /// The logits [batch·n, vocab] of a forward pass (no gradients), e.g. a teacher's.
    std::vector<float> logits(const int* tokens, int batch, int n);

    /// The pieces, for block-wise jobs (reconstruction of one block's outputs).
    /// hidden [batch·n, hiddenSize] ← block b of hidden, in place (each sequence from position 0).
    void blockForward(int b, float* hidden, int batch, int n);
    /// Given the block's input `hiddenIn` and dL/d(output) in `dHidden`, replaces dHidden by dL/d(input)
    /// and adds the block's parameter gradients (the block's activations are recomputed).
    void blockBackward(int b, const float* hiddenIn, int batch, int n, float* dHidden);
    void embed(const int* tokens, int count, float* hidden) const;
    /// Mean squared error of block b's output for `hiddenIn` against `target` (both [batch·n, hiddenSize]);
    /// with `backward`, adds the gradients of the block's parameters (block-wise reconstruction).
    double blockReconstructionLoss(int b, const float* hiddenIn, const float* target, int batch, int n,
                                   bool backward);
    /// Block b's parameters (its linears' and norms'), trainable or not; b = numLayers: the head's and
    /// the final norm's (a tied head's is the embedding).
    std::vector<TrainParam*> blockParams(int b);
    /// The head as a block-wise job fits it: the final norm and the head on `hidden` ([batch·n,
    /// hiddenSize], the last block's outputs), scored by the mean KL divergence of its next-token
    /// distributions from `teacherLogits` ([batch·n, vocab]; each sequence's last position is not scored,
    /// as in loss()). With `backward`, adds the gradients of the head's and the final norm's parameters.
    double headDistillationLoss(const float* hidden, int batch, int n, const float* teacherLogits,
                                bool backward);
    /// The logits [rows, vocab] of the final norm and the head on the last block's outputs `hidden`.
    std::vector<float> headLogits(const float* hidden, std::int64_t rows);
    /// Makes every parameter of `kind` trainable (with a zeroed gradient) or frozen (a symmetric grid's
    /// zero stays frozen).
    void setTrainable(ParamKind kind, bool trainable);

    /// Sets the latent weights of quantized layer `linearIndex` (Model::linears()) from the float weight
    /// the layer was quantized from, [out, in] as the float checkpoint stores it (AWQ's input scales are
    /// applied here). For round-to-nearest grids (RTN, HQQ, AWQ) the fake-quantized forward then still
    /// gives the layer's codes, and the scales get their LSQ gradient from the start (latent weights on
    /// the grid points, as loaded, give none until they move). Throws qs::Error on a float layer or a
    /// size mismatch.
    void setLatentWeight(int linearIndex, const std::vector<float>& w);

    /// Fake-quantizes the latent weights of every quantized layer into the weights the forward uses
    /// (loss() does this first; block-wise callers call it after changing parameters).
    void refreshWeights(int block = -1); ///< one block's layers (numLayers: the head), or all (-1)

    /// Layer `index` of Model::linears(): its fake-quantized (or float) weight as the forward uses it,
    /// its grid when quantized, and its parameters (null when absent).
    struct Linear
    {
        int index = -1; ///< into Model::linears(); -1 for a tied head
        QString name;
        std::int64_t in = 0, out = 0;
        TrainParam* weight = nullptr;
        TrainParam* bias = nullptr;
        std::optional<FakeQuantGrid> grid;
        TrainParam* scale = nullptr;
        TrainParam* zero = nullptr;
        TrainParam* rounding = nullptr;
        std::vector<float> inputScales; ///< AWQ: the layer computes (x / s)·Ŵᵀ
        std::vector<float> effective;   ///< Ŵ of a quantized layer (refreshWeights); float layers use weight
        /// A table layer (SqueezeLLM, QuIP#, AQLM; `weight` null): its codes stay and its tables learn.
        /// `table` is the stored tensor with its codes unpacked in `tableCodes`; refreshWeights puts
        /// `codebook`, `sparse` and `scale` into it and decodes it as the checkpoint's reader does (then the
        /// rotation).
        std::shared_ptr<QuantizedTensor> table;
        std::vector<std::uint8_t> tableCodes;
        TrainParam* codebook = nullptr; ///< SqueezeLLM [out, 2^bits]; AQLM [books·2^B·8]
        TrainParam* sparse = nullptr;   ///< SqueezeLLM's sparse values
        std::vector<float> decoded;     ///< the table layer's weight before its rotation (refreshWeights)
        bool quantized() const { return grid || table; }
        const float* runWeight() const { return quantized() ? effective.data() : weight->value.data(); }
    };
    const std::vector<Linear>& linears() const { return m_linears; }

private:
    struct BlockNorms
    {
        TrainParam *input = nullptr, *post = nullptr, *q = nullptr, *k = nullptr;
    };
    struct BlockActs; // one block's activations, recomputed in the backward

    TrainParam& addParam(QString name, ParamKind kind, std::int64_t rows, std::int64_t cols,
                         std::vector<float> value, bool trainable);
    void addLinear(const Transformer& t, int index, const TrainableSet& trainable);
    void linearForward(const Linear& l, const float* x, std::int64_t n, float* y) const;
    /// dX (overwritten, or added to when `accumulate`) and the layer's parameter gradients.
    void linearBackward(Linear& l, const float* x, std::int64_t n, const float* dy, float* dx,
                        bool accumulate);
    void refreshLinear(Linear& l);
    /// A table layer's parameter gradients from dŴ (rotated back in place first).
    void tableBackward(Linear& l, std::vector<float>& dW);
    void runBlock(int b, const float* hiddenIn, int batch, int n, BlockActs& a);
    void backwardBlock(int b, const float* hiddenIn, int batch, int n, BlockActs& a, float* dHidden);
    /// Embeddings, every block, final norm and head: the logits [batch·n, vocab]; `normed` gets the head's
    /// input, and `blockInputs` (when given) each block's input and then the final norm's.
    std::vector<float> forwardLogits(const int* tokens, int batch, int n,
                                     std::vector<std::vector<float>>* blockInputs,
                                     std::vector<float>& normed);
    /// Final norm and head: `normed` ← the head's input, the logits [rows, vocab].
    std::vector<float> headForward(const float* hidden, std::int64_t rows, std::vector<float>& normed);
    /// The mean loss over `batch` sequences of `n` (each one's last position not scored), replacing the
    /// logits by its gradient: cross-entropy against the next tokens, or KL divergence from `teacherLogits`.
    double logitLoss(std::vector<float>& logits, const int* tokens, int batch, int n,
                     const float* teacherLogits) const;
    /// From dlogits back through the head and the final norm: dL/d(hidden) when `dHidden` is given, and
    /// the head's and final norm's parameter gradients.
    void headBackward(const float* hidden, const std::vector<float>& normed, const float* dLogits,
                      std::int64_t rows, float* dHidden);

    ModelConfig m_config;
    std::deque<TrainParam> m_params; // stable addresses
    std::vector<Linear> m_linears;   // Model::linears() order, then a tied head
    std::vector<std::array<int, 7>> m_blockLinears;
    std::vector<BlockNorms> m_norms;
    TrainParam* m_finalNorm = nullptr;
    TrainParam* m_embedding = nullptr;
    int m_head = -1; ///< index in m_linears
    std::vector<float> m_invFreq;
};

/// Gradient of RMSNorm y = x·r·w (r = 1/√(mean x² + ε)) over `rows` rows of `dim`: dx (overwritten) and
/// dw (added to, rows in order; null: not wanted). Exposed for tests.
void rmsNormBackward(const float* x, const float* w, const float* dy, std::int64_t rows, int dim, double eps,
                     float* dx, float* dw);

} // namespace qs
