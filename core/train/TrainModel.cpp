#include "train/TrainModel.h"

#include "eval/Perplexity.h"
#include "io/TensorStore.h"
#include "kernels/AdditiveCodes.h"
#include "kernels/VecMath.h"
#include "model/QuantizedLinear.h"
#include "model/Transformer.h"
#include "util/Error.h"
#include "util/Threads.h"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>

namespace qs {

using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstStrided = Eigen::Map<const RowMajor, 0, Eigen::OuterStride<>>;
using Strided = Eigen::Map<RowMajor, 0, Eigen::OuterStride<>>;

QString paramKindName(ParamKind k)
{
    switch (k) {
    case ParamKind::Embedding:
        return QStringLiteral("embedding");
    case ParamKind::Norm:
        return QStringLiteral("norm");
    case ParamKind::Weight:
        return QStringLiteral("weight");
    case ParamKind::Bias:
        return QStringLiteral("bias");
    case ParamKind::Scale:
        return QStringLiteral("scale");
    case ParamKind::Zero:
        return QStringLiteral("zero");
    case ParamKind::Rounding:
        return QStringLiteral("rounding");
    case ParamKind::Codebook:
        return QStringLiteral("codebook");
    }
    return {};
}

namespace {

/// out [cols, rows] = in [rows, cols]ᵀ.
std::vector<float> transposed(const float* in, std::int64_t rows, std::int64_t cols)
{
    std::vector<float> out(std::size_t(rows * cols));
    constexpr std::int64_t kBlock = 32;
    for (std::int64_t r0 = 0; r0 < rows; r0 += kBlock)
        for (std::int64_t c0 = 0; c0 < cols; c0 += kBlock)
            for (std::int64_t r = r0; r < std::min(rows, r0 + kBlock); ++r)
                for (std::int64_t c = c0; c < std::min(cols, c0 + kBlock); ++c)
                    out[std::size_t(c * rows + r)] = in[r * cols + c];
    return out;
}

/// out = silu(g)·u, with the forward pass's arithmetic (kernels/VecMath.h).
void silu(const float* g, const float* u, std::size_t count, float* out)
{
    std::copy(g, g + count, out);
    siluMul(out, u, std::int64_t(count));
}

} // namespace

void rmsNormBackward(const float* x, const float* w, const float* dy, std::int64_t rows, int dim, double eps,
                     float* dx, float* dw)
{
    forEachRowRange(rows, dim, [&](std::int64_t first, std::int64_t count) {
        for (std::int64_t i = first; i < first + count; ++i) {
            const float* xi = x + i * dim;
            const float* di = dy + i * dim;
            double ss = 0, dot = 0;
            for (int j = 0; j < dim; ++j) {
                ss += double(xi[j]) * double(xi[j]);
                dot += double(di[j]) * double(w[j]) * double(xi[j]);
            }
            const double r = 1.0 / std::sqrt(ss / dim + eps);
            const double k = dot * r * r * r / dim;
            for (int j = 0; j < dim; ++j)
                dx[i * dim + j] = float(r * double(di[j]) * double(w[j]) - double(xi[j]) * k);
        }
    });
    if (!dw)
        return;
    // dw sums over rows, in row order, a column range per thread; r as the forward rounds it.
    std::vector<double> inv(static_cast<std::size_t>(rows));
    forEachRowRange(rows, dim, [&](std::int64_t first, std::int64_t count) {
        for (std::int64_t i = first; i < first + count; ++i) {
            double ss = 0;
            for (int c = 0; c < dim; ++c)
                ss += double(x[i * dim + c]) * double(x[i * dim + c]);
            inv[std::size_t(i)] = double(float(1.0 / std::sqrt(ss / dim + eps)));
        }
    });
    forEachRowRange(dim, rows, [&](std::int64_t first, std::int64_t count) {
        for (std::int64_t j = first; j < first + count; ++j) {
            double acc = 0;
            for (std::int64_t i = 0; i < rows; ++i)
                acc += double(dy[i * dim + j]) * double(x[i * dim + j]) * inv[std::size_t(i)];
            dw[j] += float(acc);
        }
    });
}

// ---------------------------------------------------------------------------------------------
// Parameters

struct TrainModel::BlockActs
{
    std::vector<float> x1;            ///< input norm's output [N, H]
    std::vector<float> q0, k0;        ///< q/k projections before the q/k norms (only with them)
    std::vector<float> q, k, v;       ///< after norms and RoPE
    std::vector<float> att;           ///< attention output [N, qDim]
    std::vector<float> h2;            ///< hidden after the attention residual
    std::vector<float> x2;            ///< post-attention norm's output
    std::vector<float> gate, up, act; ///< MLP: projections and silu(gate)·up
    std::vector<float> out;           ///< the block's output hidden
};

TrainParam& TrainModel::addParam(QString name, ParamKind kind, std::int64_t rows, std::int64_t cols,
                                 std::vector<float> value, bool trainable)
{
    if (std::int64_t(value.size()) != rows * cols)
        throw Error(
            QStringLiteral("%1: %2 values for [%3, %4]").arg(name).arg(value.size()).arg(rows).arg(cols));
    TrainParam& p = m_params.emplace_back();
    p.name = std::move(name);
    p.kind = kind;
    p.rows = rows;
    p.cols = cols;
    p.value = std::move(value);
    p.trainable = trainable;
    if (trainable)
        p.grad.assign(p.value.size(), 0.0f);
    return p;
}

void TrainModel::addLinear(const Transformer& t, int index, const TrainableSet& trainable)
{
    const LinearLayerInfo& info = t.model().linears()[std::size_t(index)];
    const LinearLayer& layer = t.linear(index);
    Linear l;
    l.index = index;
    l.name = info.name;
    l.in = info.inFeatures;
    l.out = info.outFeatures;
    const auto* q = dynamic_cast<const QuantizedLinear*>(&layer);
    if (q && q->tensor().spec.decodesCodes()) { // a table layer: the codes stay, the tables learn
        const QuantizedTensor& qt = q->tensor();
        qt.checkCodebook(info.name);
        auto table = std::make_shared<QuantizedTensor>(qt);
        l.tableCodes = qt.unpackedCodes();
        table->codes.clear();
        table->packed.reset();
        if (qt.spec.usesCodebook() || qt.spec.usesAdditive())
            l.codebook = &addParam(info.name + QStringLiteral(".codebook"), ParamKind::Codebook,
                                   qt.spec.usesCodebook() ? l.out : 1,
                                   qt.spec.usesCodebook() ? std::int64_t(1) << qt.spec.bits
                                                          : std::int64_t(qt.codebook.size()),
                                   qt.codebook, trainable.codebooks);
        if (!qt.sparseValues.empty())
            l.sparse = &addParam(info.name + QStringLiteral(".sparse_values"), ParamKind::Codebook, 1,
                                 std::int64_t(qt.sparseValues.size()), qt.sparseValues, trainable.codebooks);
        if (qt.spec.usesLattice() || qt.spec.usesAdditive())
            l.scale = &addParam(info.name + QStringLiteral(".scales"), ParamKind::Scale, l.out, 1, qt.scales,
                                trainable.scales);
        l.table = std::move(table);
        l.decoded.resize(std::size_t(l.out * l.in));
        l.effective.resize(std::size_t(l.out * l.in));
    } else if (q && q->tensor().spec.method != QuantMethod::Float) {
        const QuantizedTensor& qt = q->tensor();
        l.grid = FakeQuantGrid::of(qt, info.name);
        l.weight = &addParam(info.name + QStringLiteral(".weight"), ParamKind::Weight, l.out, l.in,
                             qt.dequantize(), trainable.weights);
        const std::int64_t nScales = l.grid->scaleCount();
        l.scale = &addParam(info.name + QStringLiteral(".scales"), ParamKind::Scale, nScales, 1, qt.scales,
                            trainable.scales);
        l.zero = &addParam(info.name + QStringLiteral(".zeros"), ParamKind::Zero, nScales, 1, qt.zeros,
                           trainable.zeros && !l.grid->symmetric);
        if (trainable.rounding)
            l.rounding = &addParam(info.name + QStringLiteral(".rounding"), ParamKind::Rounding, l.out, l.in,
                                   std::vector<float>(std::size_t(l.out * l.in), 0.0f), true);
        l.inputScales = qt.inputScales;
        l.effective.resize(std::size_t(l.out * l.in));
    } else {
        std::vector<float> w = q ? q->tensor().floatWeights : layer.floatWeight();
        if (w.empty())
            throw Error(
                QStringLiteral("%1: a %2 layer cannot be trained (training runs float layers, integer "
                               "grids: RTN, GPTQ, AWQ, HQQ, and the tables of SqueezeLLM, QuIP#, AQLM)")
                    .arg(info.name, layer.describe()));
        l.weight = &addParam(info.name + QStringLiteral(".weight"), ParamKind::Weight, l.out, l.in,
                             std::move(w), trainable.floatWeights);
    }
    if (!layer.bias().empty())
        l.bias = &addParam(info.name + QStringLiteral(".bias"), ParamKind::Bias, 1, l.out, layer.bias(),
                           trainable.biases);
    m_linears.push_back(std::move(l));
}

TrainModel::TrainModel(const Transformer& t, const TrainableSet& trainable) : m_config(t.config())
{
    if (t.llamaCppNumerics())
        throw Error(QStringLiteral("training runs f32 arithmetic, not llama.cpp's numerics"));
    const Model& m = t.model();
    const TensorStore& ts = m.tensors();
    const ModelConfig& c = m_config;
    m_embedding = &addParam(m.embeddingTensor(), ParamKind::Embedding, c.vocabSize, c.hiddenSize,
                            ts.readF32(m.embeddingTensor(), FiniteCheck::Throw), trainable.embedding);
    for (std::size_t i = 0; i < m.linears().size(); ++i)
        addLinear(t, int(i), trainable);
    m_head = t.headLinearIndex();
    if (m_head < 0) { // tied: the head multiplies by the embedding table
        Linear l;
        l.name = QStringLiteral("lm_head (tied)");
        l.in = c.hiddenSize;
        l.out = c.vocabSize;
        l.weight = m_embedding;
        m_linears.push_back(std::move(l));
        m_head = int(m_linears.size()) - 1;
    }
    auto norm = [&](const QString& name) -> TrainParam* {
        if (name.isEmpty())
            return nullptr;
        std::vector<float> v = ts.readF32(name, FiniteCheck::Throw);
        const std::int64_t n = std::int64_t(v.size());
        return &addParam(name, ParamKind::Norm, 1, n, std::move(v), trainable.norms);
    };
    for (const DecoderBlockInfo& b : m.blocks()) {
        m_blockLinears.push_back(b.linears);
        m_norms.push_back({norm(b.inputNorm), norm(b.postAttentionNorm), norm(b.qNorm), norm(b.kNorm)});
    }
    m_finalNorm = norm(m.finalNormTensor());
    m_invFreq = t.ropeFrequencies();
    refreshWeights();
}

std::int64_t TrainModel::trainableCount() const
{
    std::int64_t n = 0;
    for (const TrainParam& p : m_params)
        if (p.trainable)
            n += std::int64_t(p.value.size());
    return n;
}

void TrainModel::zeroGrad()
{
    for (TrainParam& p : m_params)
        std::fill(p.grad.begin(), p.grad.end(), 0.0f);
}

void TrainModel::setLatentWeight(int linearIndex, const std::vector<float>& w)
{
    const auto it = std::find_if(m_linears.begin(), m_linears.end(),
                                 [&](const Linear& l) { return l.index == linearIndex && l.index >= 0; });
    if (it == m_linears.end() || !it->grid)
        throw Error(QStringLiteral("layer %1 is not a quantized layer of the model").arg(linearIndex));
    Linear& l = *it;
    if (std::int64_t(w.size()) != l.out * l.in)
        throw Error(QStringLiteral("%1: %2 latent weights for [%3, %4]")
                        .arg(l.name)
                        .arg(w.size())
                        .arg(l.out)
                        .arg(l.in));
    l.weight->value = w;
    if (!l.inputScales.empty())
        for (std::int64_t r = 0; r < l.out; ++r)
            for (std::int64_t c = 0; c < l.in; ++c)
                l.weight->value[std::size_t(r * l.in + c)] *= l.inputScales[std::size_t(c)];
    fakeQuantForward(*l.grid, l.weight->value.data(), l.scale->value.data(), l.zero->value.data(),
                     l.rounding ? l.rounding->value.data() : nullptr, l.effective.data());
}

void TrainModel::refreshLinear(Linear& l)
{
    if (l.grid) {
        fakeQuantForward(*l.grid, l.weight->value.data(), l.scale->value.data(), l.zero->value.data(),
                         l.rounding ? l.rounding->value.data() : nullptr, l.effective.data());
        return;
    }
    if (!l.table)
        return;
    QuantizedTensor& t = *l.table;
    if (l.codebook)
        t.codebook = l.codebook->value;
    if (l.sparse)
        t.sparseValues = l.sparse->value;
    if (l.scale)
        t.scales = l.scale->value;
    t.decodeCodeRows(0, l.out, l.tableCodes.data(), l.decoded.data());
    l.effective = l.decoded;
    if (t.rotation) // rows of Q·V, as QuantizedTensor::dequantizeRows gives them
        t.rotation->applyTransposed(l.effective.data(), l.out, l.in);
}

void TrainModel::refreshWeights(int block)
{
    const auto inBlock = [&](const Linear& l) {
        if (block < 0)
            return true;
        if (block >= m_config.numLayers)
            return &l == &m_linears[std::size_t(m_head)];
        const auto& ls = m_blockLinears[std::size_t(block)];
        return l.index >= 0 && std::find(ls.begin(), ls.end(), l.index) != ls.end();
    };
    for (Linear& l : m_linears)
        if (l.quantized() && inBlock(l))
            refreshLinear(l);
}

// ---------------------------------------------------------------------------------------------
// Linear layers

namespace {

/// The inputs a layer multiplies: x itself, or for AWQ's scaled inputs x / s per column (in `buffer`).
const float* layerInputs(const TrainModel::Linear& l, const float* x, std::int64_t n,
                         std::vector<float>& buffer)
{
    if (l.inputScales.empty())
        return x;
    buffer.assign(x, x + n * l.in);
    for (std::int64_t t = 0; t < n; ++t)
        for (std::int64_t j = 0; j < l.in; ++j)
            buffer[std::size_t(t * l.in + j)] /= l.inputScales[std::size_t(j)];
    return buffer.data();
}

/// A parameter that is there and learns.
bool trains(const TrainParam* p)
{
    return p && p->trainable;
}

} // namespace

void TrainModel::linearForward(const Linear& l, const float* x, std::int64_t n, float* y) const
{
    std::vector<float> scaled;
    gemmXWt(layerInputs(l, x, n, scaled), n, l.in, l.runWeight(), l.out, y,
            l.bias ? l.bias->value.data() : nullptr);
}

void TrainModel::linearBackward(Linear& l, const float* x, std::int64_t n, const float* dy, float* dx,
                                bool accumulate)
{
    if (dx) { // dX = dY·Ŵ (then / s for AWQ's scaled inputs)
        const std::vector<float> wt = transposed(l.runWeight(), l.out, l.in);
        std::vector<float> tmp(std::size_t(n * l.in));
        gemmXWt(dy, n, l.out, wt.data(), l.in, tmp.data());
        for (std::int64_t t = 0; t < n; ++t)
            for (std::int64_t j = 0; j < l.in; ++j) {
                float g = tmp[std::size_t(t * l.in + j)];
                if (!l.inputScales.empty())
                    g /= l.inputScales[std::size_t(j)];
                dx[t * l.in + j] = accumulate ? dx[t * l.in + j] + g : g;
            }
    }
    const bool quantTrained = (l.grid && (l.scale->trainable || l.zero->trainable || trains(l.rounding))) ||
                              (l.table && (trains(l.codebook) || trains(l.sparse) || trains(l.scale)));
    if (trains(l.weight) || quantTrained) { // dŴ = dYᵀ·X, then through the fake quantization
        std::vector<float> xs;
        x = layerInputs(l, x, n, xs);
        const std::vector<float> dyT = transposed(dy, n, l.out), xT = transposed(x, n, l.in);
        std::vector<float> dW(std::size_t(l.out * l.in));
        gemmXWt(dyT.data(), l.out, n, xT.data(), l.in, dW.data());
        if (l.table) {
            tableBackward(l, dW);
        } else if (l.grid) {
            auto grad = [](TrainParam* p) { return p && p->trainable ? p->grad.data() : nullptr; };
            fakeQuantBackward(*l.grid, l.weight->value.data(), l.scale->value.data(), l.zero->value.data(),
                              l.rounding ? l.rounding->value.data() : nullptr, dW.data(), grad(l.weight),
                              grad(l.scale), grad(l.zero), grad(l.rounding));
        } else {
            float* g = l.weight->grad.data();
            for (std::size_t i = 0; i < dW.size(); ++i)
                g[i] += dW[i];
        }
    }
    if (l.bias && l.bias->trainable)
        for (std::int64_t r = 0; r < l.out; ++r) {
            double acc = 0;
            for (std::int64_t t = 0; t < n; ++t)
                acc += dy[t * l.out + r];
            l.bias->grad[std::size_t(r)] += float(acc);
        }
}

void TrainModel::tableBackward(Linear& l, std::vector<float>& dW)
{
    const QuantizedTensor& t = *l.table;
    if (t.rotation) // Ŵ's rows are Vᵀq: dL/dq = V·dL/dŵ
        t.rotation->apply(dW.data(), l.out, l.in);
    if (trains(l.scale)) // QuIP#, AQLM: q = s·(the row's lattice points or codebook sums)
        for (std::int64_t r = 0; r < l.out; ++r) {
            double acc = 0;
            for (std::int64_t c = 0; c < l.in; ++c)
                acc += double(dW[std::size_t(r * l.in + c)]) * double(l.decoded[std::size_t(r * l.in + c)]);
            l.scale->grad[std::size_t(r)] += float(acc / double(l.scale->value[std::size_t(r)]));
        }
    if (t.spec.usesCodebook()) { // q[r, c] = codebook[r, code] (+ its sparse value)
        const std::int64_t entries = std::int64_t(1) << t.spec.bits;
        if (trains(l.codebook))
            for (std::int64_t r = 0; r < l.out; ++r)
                for (std::int64_t c = 0; c < l.in; ++c)
                    l.codebook->grad[std::size_t(r * entries + l.tableCodes[std::size_t(r * l.in + c)])] +=
                        dW[std::size_t(r * l.in + c)];
        if (trains(l.sparse))
            for (std::int64_t r = 0; r < l.out; ++r)
                for (std::int32_t k = t.sparseRowStart[std::size_t(r)];
                     k < t.sparseRowStart[std::size_t(r) + 1]; ++k)
                    l.sparse->grad[std::size_t(k)] +=
                        dW[std::size_t(r * l.in + t.sparseColumns[std::size_t(k)])];
    }
    if (t.spec.usesAdditive() && trains(l.codebook)) { // each whole group: s·Σ_m books[m][code_m]
        const int books = t.spec.additiveCodebooks();
        const std::int64_t entries = std::int64_t(1) << t.spec.codebookBits;
        std::uint32_t codes[aq::kDim];
        for (std::int64_t r = 0; r < l.out; ++r) {
            const float s = l.scale->value[std::size_t(r)];
            for (std::int64_t j = 0; j + aq::kDim <= l.in; j += aq::kDim) {
                aq::unpackGroup(t.spec.bits, t.spec.codebookBits, books,
                                l.tableCodes.data() + std::size_t(r * l.in + j), codes);
                const float* d = dW.data() + r * l.in + j;
                for (int m = 0; m < books; ++m) {
                    float* g = l.codebook->grad.data() + (std::int64_t(m) * entries + codes[m]) * aq::kDim;
                    for (int k = 0; k < aq::kDim; ++k)
                        g[k] += s * d[k];
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Attention and RoPE over whole sequences (each from position 0)

namespace {

struct AttentionShape
{
    int batch, n, heads, kvHeads, headDim, window;
    int qDim() const { return heads * headDim; }
    int kvDim() const { return kvHeads * headDim; }
};

/// P = softmax(Q_h·K_hᵀ·scale) over the keys each query sees (causal, sliding window), [n, n].
void attentionProbabilities(const AttentionShape& s, const float* q, const float* k, int seq, int h,
                            RowMajor& P)
{
    const int hd = s.headDim, kvh = h / (s.heads / s.kvHeads);
    const float scale = float(1.0 / std::sqrt(double(hd)));
    const std::size_t row0 = std::size_t(seq) * std::size_t(s.n);
    const ConstStrided Q(q + row0 * std::size_t(s.qDim()) + std::size_t(h * hd), s.n, hd,
                         Eigen::OuterStride<>(s.qDim()));
    const ConstStrided K(k + row0 * std::size_t(s.kvDim()) + std::size_t(kvh * hd), s.n, hd,
                         Eigen::OuterStride<>(s.kvDim()));
    P.noalias() = (Q * K.transpose()) * scale;
    for (int i = 0; i < s.n; ++i) {
        const int first = s.window > 0 ? std::max(0, i - s.window + 1) : 0;
        maskedSoftmaxRow(P.row(i).data(), first, i, s.n);
    }
}

void attentionForward(const AttentionShape& s, const float* q, const float* k, const float* v, float* out)
{
    const int hd = s.headDim, group = s.heads / s.kvHeads;
    forEachRowTile(std::int64_t(s.batch) * s.heads, 1, std::int64_t(s.n) * s.n * hd * s.heads >= (1 << 18),
                   [&](std::int64_t task, std::int64_t) {
                       const int seq = int(task / s.heads), h = int(task % s.heads), kvh = h / group;
                       const std::size_t row0 = std::size_t(seq) * std::size_t(s.n);
                       RowMajor P(s.n, s.n);
                       attentionProbabilities(s, q, k, seq, h, P);
                       const ConstStrided V(v + row0 * std::size_t(s.kvDim()) + std::size_t(kvh * hd), s.n,
                                            hd, Eigen::OuterStride<>(s.kvDim()));
                       Strided O(out + row0 * std::size_t(s.qDim()) + std::size_t(h * hd), s.n, hd,
                                 Eigen::OuterStride<>(s.qDim()));
                       O.noalias() = P * V;
                   });
}

/// dq (overwritten), dk and dv (overwritten) from dOut; each task owns one sequence's kv head and runs
/// the query heads that share it in order, so the sums into dk and dv do not depend on the threads.
void attentionBackward(const AttentionShape& s, const float* q, const float* k, const float* v,
                       const float* dOut, float* dq, float* dk, float* dv)
{
    const int hd = s.headDim, group = s.heads / s.kvHeads;
    const float scale = float(1.0 / std::sqrt(double(hd)));
    forEachRowTile(std::int64_t(s.batch) * s.kvHeads, 1, std::int64_t(s.n) * s.n * hd * s.heads >= (1 << 17),
                   [&](std::int64_t task, std::int64_t) {
                       const int seq = int(task / s.kvHeads), kvh = int(task % s.kvHeads);
                       const std::size_t row0 = std::size_t(seq) * std::size_t(s.n);
                       const std::size_t kvOff = row0 * std::size_t(s.kvDim()) + std::size_t(kvh * hd);
                       const ConstStrided K(k + kvOff, s.n, hd, Eigen::OuterStride<>(s.kvDim()));
                       const ConstStrided V(v + kvOff, s.n, hd, Eigen::OuterStride<>(s.kvDim()));
                       Strided dK(dk + kvOff, s.n, hd, Eigen::OuterStride<>(s.kvDim()));
                       Strided dV(dv + kvOff, s.n, hd, Eigen::OuterStride<>(s.kvDim()));
                       dK.setZero();
                       dV.setZero();
                       RowMajor P(s.n, s.n), dP(s.n, s.n);
                       for (int h = kvh * group; h < (kvh + 1) * group; ++h) {
                           const std::size_t qOff = row0 * std::size_t(s.qDim()) + std::size_t(h * hd);
                           const ConstStrided Q(q + qOff, s.n, hd, Eigen::OuterStride<>(s.qDim()));
                           const ConstStrided dO(dOut + qOff, s.n, hd, Eigen::OuterStride<>(s.qDim()));
                           Strided dQ(dq + qOff, s.n, hd, Eigen::OuterStride<>(s.qDim()));
                           attentionProbabilities(s, q, k, seq, h, P);
                           dV.noalias() += P.transpose() * dO;
                           dP.noalias() = dO * V.transpose();
                           for (int i = 0; i < s.n; ++i) { // dS = P ⊙ (dP − Σ_j P·dP), zero where masked
                               double dot = 0;
                               for (int j = 0; j <= i; ++j)
                                   dot += double(P(i, j)) * double(dP(i, j));
                               for (int j = 0; j < s.n; ++j)
                                   dP(i, j) = j <= i
                                                  ? float(double(P(i, j)) * (double(dP(i, j)) - dot)) * scale
                                                  : 0.0f;
                           }
                           dQ.noalias() = dP * K;
                           dK.noalias() += dP.transpose() * Q;
                       }
                   });
}

/// Rotates rows of `heads` vectors of headDim at positions 0…n−1 of each sequence; `inverse` undoes it
/// (the backward of a rotation is its transpose).
void rope(float* x, int batch, int n, int heads, int headDim, const std::vector<float>& invFreq, bool inverse)
{
    const int half = headDim / 2;
    forEachRowRange(std::int64_t(batch) * n, std::int64_t(heads) * headDim,
                    [&](std::int64_t first, std::int64_t count) {
                        for (std::int64_t row = first; row < first + count; ++row) {
                            const double pos = double(row % n);
                            for (int j = 0; j < half; ++j) {
                                const double a = pos * double(invFreq[std::size_t(j)]);
                                const float c = float(std::cos(a)),
                                            sn = inverse ? -float(std::sin(a)) : float(std::sin(a));
                                for (int h = 0; h < heads; ++h) {
                                    float* v = x + (std::size_t(row) * std::size_t(heads) + std::size_t(h)) *
                                                       std::size_t(headDim);
                                    const float a0 = v[j], a1 = v[j + half];
                                    v[j] = a0 * c - a1 * sn;
                                    v[j + half] = a1 * c + a0 * sn;
                                }
                            }
                        }
                    });
}

} // namespace

// ---------------------------------------------------------------------------------------------
// Blocks

void TrainModel::runBlock(int b, const float* hiddenIn, int batch, int n, BlockActs& a)
{
    const ModelConfig& c = m_config;
    const std::array<int, 7>& li = m_blockLinears[std::size_t(b)];
    const BlockNorms& norms = m_norms[std::size_t(b)];
    const std::int64_t N = std::int64_t(batch) * n;
    const int H = c.hiddenSize, hd = c.headDim, qDim = c.numHeads * hd, kvDim = c.numKvHeads * hd;
    const int F = c.intermediateSize;
    auto size = [N](std::vector<float>& v, int width) { v.resize(std::size_t(N) * std::size_t(width)); };
    size(a.x1, H);
    size(a.q, qDim);
    size(a.k, kvDim);
    size(a.v, kvDim);
    size(a.att, qDim);
    size(a.h2, H);
    size(a.x2, H);
    size(a.gate, F);
    size(a.up, F);
    size(a.act, F);
    size(a.out, H);
    rmsNormRows(hiddenIn, norms.input->value.data(), N, H, c.rmsNormEps, a.x1.data());
    linearForward(m_linears[std::size_t(li[0])], a.x1.data(), N, a.q.data());
    linearForward(m_linears[std::size_t(li[1])], a.x1.data(), N, a.k.data());
    linearForward(m_linears[std::size_t(li[2])], a.x1.data(), N, a.v.data());
    if (norms.q) { // qwen3: RMSNorm over each head's vector
        a.q0 = a.q;
        a.k0 = a.k;
        rmsNormRows(a.q0.data(), norms.q->value.data(), N * c.numHeads, hd, c.rmsNormEps, a.q.data());
        rmsNormRows(a.k0.data(), norms.k->value.data(), N * c.numKvHeads, hd, c.rmsNormEps, a.k.data());
    }
    rope(a.q.data(), batch, n, c.numHeads, hd, m_invFreq, false);
    rope(a.k.data(), batch, n, c.numKvHeads, hd, m_invFreq, false);
    const AttentionShape shape{batch, n, c.numHeads, c.numKvHeads, hd, c.slidingWindow};
    attentionForward(shape, a.q.data(), a.k.data(), a.v.data(), a.att.data());
    linearForward(m_linears[std::size_t(li[3])], a.att.data(), N, a.h2.data());
    for (std::size_t i = 0; i < a.h2.size(); ++i)
        a.h2[i] += hiddenIn[i];
    rmsNormRows(a.h2.data(), norms.post->value.data(), N, H, c.rmsNormEps, a.x2.data());
    linearForward(m_linears[std::size_t(li[4])], a.x2.data(), N, a.gate.data());
    linearForward(m_linears[std::size_t(li[5])], a.x2.data(), N, a.up.data());
    silu(a.gate.data(), a.up.data(), a.act.size(), a.act.data());
    linearForward(m_linears[std::size_t(li[6])], a.act.data(), N, a.out.data());
    for (std::size_t i = 0; i < a.out.size(); ++i)
        a.out[i] += a.h2[i];
}

void TrainModel::blockForward(int b, float* hidden, int batch, int n)
{
    BlockActs a;
    runBlock(b, hidden, batch, n, a);
    std::copy(a.out.begin(), a.out.end(), hidden);
}

void TrainModel::blockBackward(int b, const float* hiddenIn, int batch, int n, float* dHidden)
{
    BlockActs a;
    runBlock(b, hiddenIn, batch, n, a);
    backwardBlock(b, hiddenIn, batch, n, a, dHidden);
}

double TrainModel::blockReconstructionLoss(int b, const float* hiddenIn, const float* target, int batch,
                                           int n, bool backward)
{
    BlockActs a;
    runBlock(b, hiddenIn, batch, n, a);
    const std::size_t count = a.out.size();
    double sum = 0;
    std::vector<float> d(backward ? count : 0);
    for (std::size_t i = 0; i < count; ++i) {
        const double e = double(a.out[i]) - double(target[i]);
        sum += e * e;
        if (backward)
            d[i] = float(2.0 * e / double(count));
    }
    if (backward)
        backwardBlock(b, hiddenIn, batch, n, a, d.data());
    return sum / double(count);
}

std::vector<TrainParam*> TrainModel::blockParams(int b)
{
    std::vector<TrainParam*> out;
    const auto addLinear = [&](const Linear& l) {
        for (TrainParam* p : {l.weight, l.bias, l.scale, l.zero, l.rounding, l.codebook, l.sparse})
            if (p)
                out.push_back(p);
    };
    if (b >= m_config.numLayers) {
        addLinear(m_linears[std::size_t(m_head)]);
        out.push_back(m_finalNorm);
        return out;
    }
    for (int index : m_blockLinears[std::size_t(b)])
        for (const Linear& l : m_linears)
            if (l.index == index)
                addLinear(l);
    const BlockNorms& n = m_norms[std::size_t(b)];
    for (TrainParam* p : {n.input, n.post, n.q, n.k})
        if (p)
            out.push_back(p);
    return out;
}

void TrainModel::setTrainable(ParamKind kind, bool trainable)
{
    for (TrainParam& p : m_params) {
        if (p.kind != kind)
            continue;
        const bool symmetricZero = kind == ParamKind::Zero && [&] {
            for (const Linear& l : m_linears)
                if (l.zero == &p)
                    return l.grid && l.grid->symmetric;
            return false;
        }();
        p.trainable = trainable && !symmetricZero;
        if (p.trainable)
            p.grad.assign(p.value.size(), 0.0f);
        else
            p.grad = {};
    }
}

void TrainModel::backwardBlock(int b, const float* hiddenIn, int batch, int n, BlockActs& a, float* dHidden)
{
    const ModelConfig& c = m_config;
    const std::array<int, 7>& li = m_blockLinears[std::size_t(b)];
    const BlockNorms& norms = m_norms[std::size_t(b)];
    const std::int64_t N = std::int64_t(batch) * n;
    const int H = c.hiddenSize, hd = c.headDim, qDim = c.numHeads * hd, kvDim = c.numKvHeads * hd;
    const int F = c.intermediateSize;
    auto grad = [](TrainParam* p) { return p->trainable ? p->grad.data() : nullptr; };

    // MLP: out = h2 + down(silu(gate)·up)
    std::vector<float> dAct(std::size_t(N * F)), dGate(std::size_t(N * F)), dUp(std::size_t(N * F));
    linearBackward(m_linears[std::size_t(li[6])], a.act.data(), N, dHidden, dAct.data(), false);
    for (std::size_t i = 0; i < dAct.size(); ++i) {
        const float g = a.gate[i], sg = 1.0f / (1.0f + std::exp(-g));
        dUp[i] = dAct[i] * g * sg;
        dGate[i] = dAct[i] * a.up[i] * sg * (1.0f + g * (1.0f - sg));
    }
    std::vector<float> dX(std::size_t(N * H));
    linearBackward(m_linears[std::size_t(li[4])], a.x2.data(), N, dGate.data(), dX.data(), false);
    linearBackward(m_linears[std::size_t(li[5])], a.x2.data(), N, dUp.data(), dX.data(), true);
    std::vector<float> dH2(std::size_t(N * H));
    rmsNormBackward(a.h2.data(), norms.post->value.data(), dX.data(), N, H, c.rmsNormEps, dH2.data(),
                    grad(norms.post));
    for (std::size_t i = 0; i < dH2.size(); ++i)
        dH2[i] += dHidden[i];

    // Attention: h2 = h + o(attention(rope(q), rope(k), v))
    std::vector<float> dAtt(std::size_t(N * qDim));
    linearBackward(m_linears[std::size_t(li[3])], a.att.data(), N, dH2.data(), dAtt.data(), false);
    std::vector<float> dq(std::size_t(N * qDim)), dk(std::size_t(N * kvDim)), dv(std::size_t(N * kvDim));
    const AttentionShape shape{batch, n, c.numHeads, c.numKvHeads, hd, c.slidingWindow};
    attentionBackward(shape, a.q.data(), a.k.data(), a.v.data(), dAtt.data(), dq.data(), dk.data(),
                      dv.data());
    rope(dq.data(), batch, n, c.numHeads, hd, m_invFreq, true);
    rope(dk.data(), batch, n, c.numKvHeads, hd, m_invFreq, true);
    if (norms.q) {
        std::vector<float> d0(dq.size());
        rmsNormBackward(a.q0.data(), norms.q->value.data(), dq.data(), N * c.numHeads, hd, c.rmsNormEps,
                        d0.data(), grad(norms.q));
        dq.swap(d0);
        d0.resize(dk.size());
        rmsNormBackward(a.k0.data(), norms.k->value.data(), dk.data(), N * c.numKvHeads, hd, c.rmsNormEps,
                        d0.data(), grad(norms.k));
        dk.swap(d0);
    }
    linearBackward(m_linears[std::size_t(li[0])], a.x1.data(), N, dq.data(), dX.data(), false);
    linearBackward(m_linears[std::size_t(li[1])], a.x1.data(), N, dk.data(), dX.data(), true);
    linearBackward(m_linears[std::size_t(li[2])], a.x1.data(), N, dv.data(), dX.data(), true);
    rmsNormBackward(hiddenIn, norms.input->value.data(), dX.data(), N, H, c.rmsNormEps, dHidden,
                    grad(norms.input));
    for (std::size_t i = 0; i < dH2.size(); ++i)
        dHidden[i] += dH2[i];
}

// ---------------------------------------------------------------------------------------------
// The whole model

void TrainModel::embed(const int* tokens, int count, float* hidden) const
{
    const int H = m_config.hiddenSize;
    for (int i = 0; i < count; ++i) {
        if (tokens[i] < 0 || tokens[i] >= m_config.vocabSize)
            throw Error(QStringLiteral("token id %1 at position %2 is outside the model's vocabulary (%3)")
                            .arg(tokens[i])
                            .arg(i)
                            .arg(m_config.vocabSize));
        const float* row = m_embedding->value.data() + std::size_t(tokens[i]) * std::size_t(H);
        std::copy(row, row + H, hidden + std::size_t(i) * std::size_t(H));
    }
}

double TrainModel::logitLoss(std::vector<float>& logits, const int* tokens, int batch, int n,
                             const float* teacherLogits) const
{
    const int V = m_config.vocabSize;
    const std::int64_t N = std::int64_t(batch) * n, predicted = std::int64_t(batch) * (n - 1);
    // Every position but each sequence's last; dlogits = (softmax − one-hot) / count, or with a teacher
    // KL(teacher ‖ model) and soft targets, dlogits = (q − p) / count.
    std::vector<double> rowLoss(std::size_t(N), 0.0);
    forEachRowRange(N, V, [&](std::int64_t first, std::int64_t count) {
        for (std::int64_t t = first; t < first + count; ++t) {
            float* row = logits.data() + t * V;
            if (t % n == n - 1) {
                std::fill(row, row + V, 0.0f);
                continue;
            }
            const double lse = logSumExp(row, V);
            if (teacherLogits) {
                const float* tr = teacherLogits + t * V;
                const double tlse = logSumExp(tr, V);
                double kl = 0;
                for (int j = 0; j < V; ++j) {
                    const double lp = double(tr[j]) - tlse, pj = std::exp(lp);
                    kl += pj * (lp - (double(row[j]) - lse));
                    row[j] = float((std::exp(double(row[j]) - lse) - pj) / double(predicted));
                }
                rowLoss[std::size_t(t)] = kl;
                continue;
            }
            const int target = tokens[t + 1];
            rowLoss[std::size_t(t)] = lse - double(row[target]);
            for (int j = 0; j < V; ++j)
                row[j] =
                    float((std::exp(double(row[j]) - lse) - (j == target ? 1.0 : 0.0)) / double(predicted));
        }
    });
    double total = 0;
    for (double l : rowLoss)
        total += l;
    return total / double(predicted);
}

void TrainModel::headBackward(const float* hidden, const std::vector<float>& normed, const float* dLogits,
                              std::int64_t rows, float* dHidden)
{
    const int H = m_config.hiddenSize;
    if (!dHidden && !m_finalNorm->trainable) { // the head's own gradients only
        linearBackward(m_linears[std::size_t(m_head)], normed.data(), rows, dLogits, nullptr, false);
        return;
    }
    std::vector<float> dNormed(std::size_t(rows * H)), discarded;
    linearBackward(m_linears[std::size_t(m_head)], normed.data(), rows, dLogits, dNormed.data(), false);
    if (!dHidden) {
        discarded.resize(dNormed.size());
        dHidden = discarded.data();
    }
    rmsNormBackward(hidden, m_finalNorm->value.data(), dNormed.data(), rows, H, m_config.rmsNormEps, dHidden,
                    m_finalNorm->trainable ? m_finalNorm->grad.data() : nullptr);
}

double TrainModel::loss(const int* tokens, int batch, int n, bool backward, const float* teacherLogits)
{
    if (batch <= 0 || n < 2)
        throw Error(
            QStringLiteral("training needs sequences of at least 2 tokens (got %1 × %2)").arg(batch).arg(n));
    const int H = m_config.hiddenSize, L = m_config.numLayers;
    const std::int64_t N = std::int64_t(batch) * n;
    std::vector<std::vector<float>> inputs; // each block's input, kept for the backward's recomputation
    std::vector<float> normed;
    std::vector<float> logits = forwardLogits(tokens, batch, n, backward ? &inputs : nullptr, normed);
    const double mean = logitLoss(logits, tokens, batch, n, teacherLogits);
    if (!backward)
        return mean;

    // Head, final norm, then the blocks in reverse, each recomputed from its input.
    std::vector<float> dHidden(std::size_t(N * H));
    headBackward(inputs[std::size_t(L)].data(), normed, logits.data(), N, dHidden.data());
    logits = {};
    for (int b = L - 1; b >= 0; --b) {
        blockBackward(b, inputs[std::size_t(b)].data(), batch, n, dHidden.data());
        inputs[std::size_t(b) + 1].clear();
    }
    if (m_embedding->trainable) // rows in token order
        for (std::int64_t t = 0; t < N; ++t) {
            float* g = m_embedding->grad.data() + std::size_t(tokens[t]) * std::size_t(H);
            const float* d = dHidden.data() + t * H;
            for (int j = 0; j < H; ++j)
                g[j] += d[j];
        }
    return mean;
}

double TrainModel::headDistillationLoss(const float* hidden, int batch, int n, const float* teacherLogits,
                                        bool backward)
{
    if (batch <= 0 || n < 2)
        throw Error(
            QStringLiteral("training needs sequences of at least 2 tokens (got %1 × %2)").arg(batch).arg(n));
    const std::int64_t N = std::int64_t(batch) * n;
    std::vector<float> normed;
    std::vector<float> logits = headForward(hidden, N, normed);
    const double mean = logitLoss(logits, nullptr, batch, n, teacherLogits);
    if (backward)
        headBackward(hidden, normed, logits.data(), N, nullptr);
    return mean;
}

std::vector<float> TrainModel::headLogits(const float* hidden, std::int64_t rows)
{
    std::vector<float> normed;
    return headForward(hidden, rows, normed);
}

std::vector<float> TrainModel::headForward(const float* hidden, std::int64_t rows, std::vector<float>& normed)
{
    const int H = m_config.hiddenSize;
    normed.resize(std::size_t(rows * H));
    rmsNormRows(hidden, m_finalNorm->value.data(), rows, H, m_config.rmsNormEps, normed.data());
    std::vector<float> out(std::size_t(rows * m_config.vocabSize));
    linearForward(m_linears[std::size_t(m_head)], normed.data(), rows, out.data());
    return out;
}

std::vector<float> TrainModel::logits(const int* tokens, int batch, int n)
{
    std::vector<float> normed;
    return forwardLogits(tokens, batch, n, nullptr, normed);
}

std::vector<float> TrainModel::forwardLogits(const int* tokens, int batch, int n,
                                             std::vector<std::vector<float>>* blockInputs,
                                             std::vector<float>& normed)
{
    refreshWeights();
    const int H = m_config.hiddenSize;
    const std::int64_t N = std::int64_t(batch) * n;
    std::vector<float> hidden(std::size_t(N * H));
    embed(tokens, int(N), hidden.data());
    for (int b = 0; b < m_config.numLayers; ++b) {
        if (blockInputs)
            blockInputs->push_back(hidden);
        blockForward(b, hidden.data(), batch, n);
    }
    std::vector<float> out = headForward(hidden.data(), N, normed);
    if (blockInputs) // the final norm's input last
        blockInputs->push_back(std::move(hidden));
    return out;
}

} // namespace qs
