#include "model/Transformer.h"

#include "io/TensorStore.h"
#include "kernels/Convert.h"
#include "kernels/FloatMatMul.h"
#include "kernels/VecMath.h"
#include "model/LinearLoader.h"
#include "util/Error.h"
#include "util/Threads.h"

#include <Eigen/Core>
#include <cmath>
#include <numbers>

namespace qs {

using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using StridedMap = Eigen::Map<const RowMajor, 0, Eigen::OuterStride<>>;

KvCache::KvCache(int layers, int capacity, int kvDim) : m_capacity(capacity)
{
    m_k.assign(std::size_t(layers), std::vector<float>(std::size_t(capacity) * std::size_t(kvDim)));
    m_v.assign(std::size_t(layers), std::vector<float>(std::size_t(capacity) * std::size_t(kvDim)));
}

MemoryNeed modelRunMemory(const Model& model, int ctx, int tokens, bool weights)
{
    const ModelConfig& c = model.config();
    MemoryNeed need;
    // A checkpoint's quantized layers are read one at a time into the form they run in: integer
    // codes packed at their bits with scales and zeros in f32 (held twice: the tensor's and the
    // kernel's, 16 bytes a group), float-kept layers as f32 values plus the copy at their type.
    // While one is read it also holds its stored bytes and its codes one per byte.
    double asRun = 0, unpacked = 0;
    if (weights && !model.tensors().isGguf())
        for (const LinearLayerInfo& l : model.linears()) {
            if (!l.quant)
                continue;
            const QuantSpec& s = *l.quant;
            const QuantSpec::Cost cost = s.cost(l.outFeatures, l.inFeatures);
            const double params = double(l.params()), stored = double(cost.total());
            double reading = stored;
            if (s.method == QuantMethod::Float) {
                asRun +=
                    params * (s.floatType == DType::F32 ? 4.0 : 4.0 + double(dtypeInfo(s.floatType).bytes)) -
                    stored;
                reading += params * 4.0;
            } else if (s.method != QuantMethod::Ggml) {
                const double groups =
                    s.granularity == Granularity::PerTensor ? 1.0 : double(s.groupsPerRow(l.inFeatures));
                asRun += double(l.outFeatures) * groups * 16.0 - double(cost.scaleBytes + cost.zeroBytes);
                reading += params + double(cost.codeBytes);
            }
            unpacked = std::max(unpacked, reading);
        }
    if (weights) { // norms and biases are read into f32 vectors beside their mapped bytes
        const TensorStore& ts = model.tensors();
        auto f32Copy = [&](const QString& name) {
            return name.isEmpty() ? 0.0 : 4.0 * double(ts.info(name).numel());
        };
        for (const DecoderBlockInfo& b : model.blocks())
            asRun +=
                f32Copy(b.inputNorm) + f32Copy(b.postAttentionNorm) + f32Copy(b.qNorm) + f32Copy(b.kNorm);
        asRun += f32Copy(model.finalNormTensor());
        for (const LinearLayerInfo& l : model.linears())
            asRun += f32Copy(l.bias);
        need.add(QStringLiteral("weights"), double(model.totals().bytes) + std::max(0.0, asRun));
    }
    if (unpacked > 0)
        need.add(QStringLiteral("one layer while packing"), unpacked);
    if (ctx > 0)
        need.add(QStringLiteral("KV cache"),
                 double(KvCache::bytesFor(c.numLayers, ctx, c.numKvHeads * c.headDim)));
    if (tokens > 0)
        need.add(QStringLiteral("activations"),
                 double(tokens) * (6.0 * c.hiddenSize + 3.0 * c.intermediateSize + c.vocabSize) * 4.0 +
                     double(tokens) * ctx * 4.0 * std::max(1, computeThreads()));
    return need;
}

Transformer::Transformer(std::shared_ptr<const Model> model, MemoryCheck check) : m_model(std::move(model))
{
    const Model& m = *m_model;
    if (check == MemoryCheck::WholeModel)
        requireMemory(QStringLiteral("loading %1").arg(m.displayName()), modelRunMemory(m, 0, 0),
                      QStringLiteral("try a quantized file of the model or close other programs"));
    const TensorStore& ts = m.tensors();
    for (const LinearLayerInfo& l : m.linears()) {
        m_linears.push_back(loadLinearLayer(m_model, l));
        if (l.kind == LinearKind::Head)
            m_headIndex = int(m_linears.size()) - 1;
    }
    if (m_headIndex < 0)
        m_tiedHead = loadStoredMatrix(m_model, m.embeddingTensor());
    for (const DecoderBlockInfo& b : m.blocks()) {
        BlockNorms n;
        n.input = ts.readF32(b.inputNorm, FiniteCheck::Throw);
        n.post = ts.readF32(b.postAttentionNorm, FiniteCheck::Throw);
        if (!b.qNorm.isEmpty()) {
            n.q = ts.readF32(b.qNorm, FiniteCheck::Throw);
            n.k = ts.readF32(b.kNorm, FiniteCheck::Throw);
        }
        m_norms.push_back(std::move(n));
    }
    m_finalNorm = ts.readF32(m.finalNormTensor(), FiniteCheck::Throw);

    // Rotary frequencies (HF rotate-half convention), with llama3 frequency scaling when configured.
    const ModelConfig& c = config();
    const int half = c.headDim / 2;
    m_invFreq.resize(std::size_t(half));
    for (int i = 0; i < half; ++i) {
        double f = 1.0 / std::pow(c.ropeTheta, double(2 * i) / double(c.headDim));
        if (c.ropeScaling.type == u"llama3") {
            const RopeScaling& r = c.ropeScaling;
            const double oldCtx = double(r.originalMaxPositionEmbeddings);
            const double lowWavelen = oldCtx / r.lowFreqFactor, highWavelen = oldCtx / r.highFreqFactor;
            const double wavelen = 2.0 * std::numbers::pi / f;
            if (wavelen > lowWavelen) {
                f /= r.factor;
            } else if (wavelen >= highWavelen) {
                const double smooth =
                    (oldCtx / wavelen - r.lowFreqFactor) / (r.highFreqFactor - r.lowFreqFactor);
                f = (1.0 - smooth) * f / r.factor + smooth * f;
            }
        }
        if (!c.ropeFreqFactors.empty()) // a GGUF's rope_freqs.weight (llama.cpp divides θ by it)
            f /= double(c.ropeFreqFactors[std::size_t(i)]);
        m_invFreq[std::size_t(i)] = float(f);
    }
}

namespace {

/// The storage type of a model tensor as llama.cpp would hold it.
GgmlType storedGgmlType(const Model& m, const QString& tensor, const LinearLayerInfo* l)
{
    if (l && l->quant && l->quant->ggufType())
        return *l->quant->ggufType();
    const TensorInfo& t = m.tensors().info(tensor);
    return t.ggmlType ? *t.ggmlType : ggmlPlainType(t.dtype);
}

} // namespace

void Transformer::setLlamaCppNumerics()
{
    if (m_f16Kv)
        return;
    m_f16Kv = true;
    for (std::size_t i = 0; i < m_linears.size(); ++i) {
        const LinearLayerInfo& l = m_model->linears()[i];
        if (l.quant && !l.quant->ggufType())
            continue; // not a llama.cpp type (GPTQ, AWQ, …): nothing to imitate
        m_linears[i] = withLlamaCppNumerics(m_linears[i], storedGgmlType(*m_model, l.weight, &l));
    }
    if (m_tiedHead)
        m_tiedHead =
            withLlamaCppNumerics(m_tiedHead, storedGgmlType(*m_model, m_model->embeddingTensor(), nullptr));
}

void Transformer::setLinear(int index, std::shared_ptr<const LinearLayer> layer)
{
    const LinearLayerInfo& info = m_model->linears().at(std::size_t(index));
    if (!layer || layer->inFeatures() != info.inFeatures || layer->outFeatures() != info.outFeatures)
        throw Error(QStringLiteral("layer %1: replacement has the wrong shape").arg(info.name));
    m_linears[std::size_t(index)] = std::move(layer);
}

std::uint64_t Transformer::storageBytes() const
{
    std::uint64_t linearStored = 0;
    for (const LinearLayerInfo& l : m_model->linears())
        linearStored += l.bytes();
    std::uint64_t total = m_model->totals().bytes - linearStored;
    for (const auto& l : m_linears)
        total += l->storageBytes();
    return total;
}

std::uint64_t Transformer::residentBytes() const
{
    std::uint64_t total = 0;
    for (const auto& l : m_linears)
        total += l->residentBytes();
    if (m_tiedHead)
        total += m_tiedHead->residentBytes(); // the embedding table, read in place
    else
        total += m_model->tensors().info(m_model->embeddingTensor()).bytes();
    for (const BlockNorms& n : m_norms)
        total += 4 * (n.input.size() + n.post.size() + n.q.size() + n.k.size());
    return total + 4 * m_finalNorm.size();
}

double Transformer::bitsPerWeight() const
{
    const std::int64_t params = m_model->totals().params;
    return params ? 8.0 * double(storageBytes()) / double(params) : 0.0;
}

double Transformer::linearBitsPerWeight() const
{
    std::uint64_t bytes = 0;
    std::int64_t params = 0;
    for (const auto& l : m_linears) {
        bytes += l->storageBytes();
        params += l->inFeatures() * l->outFeatures();
    }
    return params ? 8.0 * double(bytes) / double(params) : 0.0;
}

KvCache Transformer::makeCache(int capacity) const
{
    return KvCache(config().numLayers, capacity, config().numKvHeads * config().headDim);
}

void Transformer::checkTokens(const int* tokens, int n) const
{
    for (int i = 0; i < n; ++i)
        if (tokens[i] < 0 || tokens[i] >= vocabSize())
            throw Error(QStringLiteral("token id %1 at position %2 is outside the model's vocabulary (%3)")
                            .arg(tokens[i])
                            .arg(i)
                            .arg(vocabSize()));
}

void Transformer::checkCacheRoom(const KvCache& cache, int n)
{
    if (cache.length() + n > cache.capacity())
        throw Error(QStringLiteral("sequence of %1 tokens exceeds the KV cache (%2)")
                        .arg(cache.length() + n)
                        .arg(cache.capacity()));
}

void Transformer::embed(const int* tokens, int n, float* hidden) const
{
    const int H = config().hiddenSize;
    const TensorStore& ts = m_model->tensors();
    checkTokens(tokens, n);
    for (int i = 0; i < n; ++i) {
        // Read from the file: through the map each lookup would make 64 KB of other rows resident
        // (32 MB of a 37 MB Q4_K table after one 512-token prompt).
        ts.readRowF32FromFile(m_model->embeddingTensor(), tokens[i],
                              hidden + std::size_t(i) * std::size_t(H));
    }
}

void rmsNormRows(const float* x, const float* w, std::int64_t rows, int dim, double eps, float* y)
{
    forEachRowRange(rows, dim, [&](std::int64_t first, std::int64_t count) {
        for (std::int64_t i = first; i < first + count; ++i) {
            const float* xi = x + std::size_t(i) * std::size_t(dim);
            float* yi = y + std::size_t(i) * std::size_t(dim);
            double ss = 0;
            for (int j = 0; j < dim; ++j)
                ss += double(xi[j]) * double(xi[j]);
            const float r = float(1.0 / std::sqrt(ss / dim + eps));
            for (int j = 0; j < dim; ++j)
                yi[j] = xi[j] * r * w[j];
        }
    });
}

void maskedSoftmaxRow(float* row, int first, int last, int keys)
{
    softmaxInPlace(row + first, last - first + 1);
    std::fill(row, row + first, 0.0f);
    std::fill(row + last + 1, row + keys, 0.0f);
}

void Transformer::rmsNorm(const float* x, const std::vector<float>& w, int n, int dim, float* y) const
{
    rmsNormRows(x, w.data(), n, dim, config().rmsNormEps, y);
}

void Transformer::ropeInPlace(float* x, int n, int heads, int startPos) const
{
    const int hd = config().headDim, half = hd / 2;
    forEachRowRange(n, std::int64_t(heads) * hd, [&](std::int64_t first, std::int64_t count) {
        for (std::int64_t i = first; i < first + count; ++i) {
            const double pos = double(startPos + i);
            for (int j = 0; j < half; ++j) {
                const double a = pos * double(m_invFreq[std::size_t(j)]);
                const float c = float(std::cos(a)), s = float(std::sin(a));
                for (int h = 0; h < heads; ++h) {
                    float* v = x + (std::size_t(i) * std::size_t(heads) + std::size_t(h)) * std::size_t(hd);
                    const float a0 = v[j], a1 = v[j + half];
                    v[j] = a0 * c - a1 * s;
                    v[j + half] = a1 * c + a0 * s;
                }
            }
        }
    });
}

void Transformer::attention(const float* q, const float* kCache, const float* vCache, int n, int startPos,
                            float* out) const
{
    const ModelConfig& c = config();
    const int H = c.numHeads, KV = c.numKvHeads, hd = c.headDim, group = H / KV;
    const int T = startPos + n; // keys visible to the last query
    const float scale = float(1.0 / std::sqrt(double(hd)));
    const int window = c.slidingWindow;
    // Queries go in blocks of kQueryBlock rows, each against only the keys some row of it sees
    // (causal, and the sliding window): a prompt of n tokens computes about half of the n × T
    // scores instead of all of them. Each row's softmax and its sums run over its own keys.
    const int blocks = (n + kQueryBlock - 1) / kQueryBlock;
    // Small attention (tiny models, decode steps) stays on one thread: a parallel region costs
    // more than it saves there, and much more when the cores are oversubscribed.
    const bool parallel = std::int64_t(n) * T * hd * H >= (1 << 18);
    forEachRowTile(std::int64_t(H) * blocks, 1, parallel, [&](std::int64_t tile, std::int64_t) {
        const int h = int(tile / blocks), kvh = h / group;
        const int i0 = int(tile % blocks) * kQueryBlock, rows = std::min(kQueryBlock, n - i0);
        const int keyEnd = startPos + i0 + rows; // one past the last key of the block's last row
        const int keyBegin = window > 0 ? std::max(0, startPos + i0 - window + 1) : 0;
        const int keys = keyEnd - keyBegin;
        const StridedMap Q(q + std::size_t(i0) * std::size_t(H * hd) + std::size_t(h) * std::size_t(hd), rows,
                           hd, Eigen::OuterStride<>(H * hd));
        const StridedMap K(kCache + std::size_t(keyBegin) * std::size_t(KV * hd) +
                               std::size_t(kvh) * std::size_t(hd),
                           keys, hd, Eigen::OuterStride<>(KV * hd));
        const StridedMap V(vCache + std::size_t(keyBegin) * std::size_t(KV * hd) +
                               std::size_t(kvh) * std::size_t(hd),
                           keys, hd, Eigen::OuterStride<>(KV * hd));
        RowMajor S = (Q * K.transpose()) * scale; // [rows, keys]
        for (int i = 0; i < rows; ++i) {
            const int last = startPos + i0 + i - keyBegin;                     // causal: keys up to this one
            const int first = window > 0 ? std::max(0, last - window + 1) : 0; // keyBegin ≤ every row's first
            float* row = S.row(i).data();
            maskedSoftmaxRow(row, first, last, keys);
            if (m_f16Kv)
                roundToF16(row + first, std::size_t(last - first + 1));
        }
        Eigen::Map<RowMajor, 0, Eigen::OuterStride<>> O(out + std::size_t(i0) * std::size_t(H * hd) +
                                                            std::size_t(h) * std::size_t(hd),
                                                        rows, hd, Eigen::OuterStride<>(H * hd));
        O.noalias() = S * V;
    });
}

void Transformer::applyLinear(int index, const float* x, int n, float* y, ForwardHooks* hooks) const
{
    const LinearLayer& l = *m_linears[std::size_t(index)];
    if (hooks)
        hooks->linearInput(index, x, n, l.inFeatures());
    l.forward(x, n, y);
    if (hooks)
        hooks->linearOutput(index, y, n, l.outFeatures());
}

void Transformer::runBlock(int b, KvCache& cache, float* hidden, int n, ForwardHooks* hooks,
                           BlockBuffers* buffers) const
{
    const ModelConfig& c = config();
    const DecoderBlockInfo& blk = m_model->blocks()[std::size_t(b)];
    const BlockNorms& norms = m_norms[std::size_t(b)];
    const int Hd = c.hiddenSize, hd = c.headDim;
    const int qDim = c.numHeads * hd, kvDim = c.numKvHeads * hd, F = c.intermediateSize;
    const int start = cache.length();
    checkCacheRoom(cache, n);
    const std::size_t N = std::size_t(n);

    BlockBuffers local;
    BlockBuffers& buf = buffers ? *buffers : local;
    buf.x.resize(N * std::size_t(Hd));
    buf.q.resize(N * std::size_t(qDim));
    buf.att.resize(N * std::size_t(qDim));
    buf.gate.resize(N * std::size_t(F));
    buf.up.resize(N * std::size_t(F));
    std::vector<float>&x = buf.x, &q = buf.q, &att = buf.att, &gate = buf.gate, &up = buf.up;
    rmsNorm(hidden, norms.input, n, Hd, x.data());
    float* kDst = cache.keys(b) + std::size_t(start) * std::size_t(kvDim);
    float* vDst = cache.values(b) + std::size_t(start) * std::size_t(kvDim);
    applyLinear(blk.linears[0], x.data(), n, q.data(), hooks);
    applyLinear(blk.linears[1], x.data(), n, kDst, hooks);
    applyLinear(blk.linears[2], x.data(), n, vDst, hooks);
    if (!norms.q.empty()) { // qwen3: RMSNorm over each head's vector
        rmsNorm(q.data(), norms.q, n * c.numHeads, hd, q.data());
        rmsNorm(kDst, norms.k, n * c.numKvHeads, hd, kDst);
    }
    ropeInPlace(q.data(), n, c.numHeads, start);
    ropeInPlace(kDst, n, c.numKvHeads, start);
    if (m_f16Kv) { // llama.cpp: k/v cached as f16, q converted to f16 for the k·q product
        roundToF16(q.data(), q.size());
        roundToF16(kDst, N * std::size_t(kvDim));
        roundToF16(vDst, N * std::size_t(kvDim));
    }
    attention(q.data(), cache.keys(b), cache.values(b), n, start, att.data());
    applyLinear(blk.linears[3], att.data(), n, x.data(), hooks);
    for (std::size_t i = 0; i < N * std::size_t(Hd); ++i)
        hidden[i] += x[i];

    rmsNorm(hidden, norms.post, n, Hd, x.data());
    applyLinear(blk.linears[4], x.data(), n, gate.data(), hooks);
    applyLinear(blk.linears[5], x.data(), n, up.data(), hooks);
    forEachRowRange(n, F, [&](std::int64_t first, std::int64_t count) {
        siluMul(gate.data() + first * F, up.data() + first * F, count * F);
    });
    applyLinear(blk.linears[6], gate.data(), n, x.data(), hooks);
    for (std::size_t i = 0; i < N * std::size_t(Hd); ++i)
        hidden[i] += x[i];
}

void Transformer::finalNorm(const float* hidden, int n, float* out) const
{
    rmsNorm(hidden, m_finalNorm, n, config().hiddenSize, out);
}

void Transformer::head(const float* hidden, int n, float* logits) const
{
    std::vector<float> x(std::size_t(n) * std::size_t(config().hiddenSize));
    finalNorm(hidden, n, x.data());
    headLayer().forward(x.data(), n, logits);
}

void Transformer::forward(KvCache& cache, const int* tokens, int n, float* logits, int firstLogitRow,
                          ForwardHooks* hooks) const
{
    if (n <= 0)
        return;
    // Hooked calls (calibration) may run any number of tokens in one piece: they keep their own.
    ForwardScratch& scratch = *m_scratch;
    const bool own = !hooks && !scratch.inUse.exchange(true, std::memory_order_acquire);
    struct Release
    {
        std::atomic<bool>* flag;
        ~Release()
        {
            if (flag)
                flag->store(false, std::memory_order_release);
        }
    } release{own ? &scratch.inUse : nullptr};
    BlockBuffers local;
    BlockBuffers& buffers = own ? scratch.buffers : local;
    const int piece = forwardPieceTokens();
    if (hooks || n <= piece) {
        forwardPiece(cache, tokens, n, logits, firstLogitRow, hooks, buffers);
        return;
    }
    // A long prompt runs as consecutive pieces, each through every block before the next starts
    // (as chunked prefill does): the activations stay those of one piece (a 512-token prompt of a
    // 1B-shaped model held 46 MB of them at once), and every row computes what it computed in one
    // call (rows are independent in the linears and norms; attention sees the same keys in the cache).
    // What a later piece would refuse is refused before the first one changes the cache.
    checkTokens(tokens, n);
    checkCacheRoom(cache, n);
    const std::size_t vocab = std::size_t(vocabSize());
    for (int s = 0; s < n;) {
        int m = std::min(piece, n - s);
        // A last piece of fewer than kTileMinTokens tokens joins this one: the linears would run it with
        // other kernels than the rest (kernels/FloatMatMul.h), and its rows would not compute what they
        // compute in one call.
        if (n - s - m > 0 && n - s - m < kTileMinTokens)
            m = n - s;
        const int first = std::clamp(firstLogitRow - s, 0, m);
        float* out = first < m ? logits + std::size_t(s + first - firstLogitRow) * vocab : nullptr;
        forwardPiece(cache, tokens + s, m, out, first, nullptr, buffers);
        s += m;
    }
}

int Transformer::forwardPieceTokens() const
{
    if (m_forwardPiece > 0)
        return m_forwardPiece;
    // One [piece, ffn] activation of about 4 MiB, at least one query block: 128 tokens for a
    // 1B-shaped model (measured there as fast as whole 512-token prompts), 64 for an 8B one, whole
    // prompts for the small models.
    const std::int64_t width = std::max(config().intermediateSize, config().hiddenSize);
    const std::int64_t rows =
        (std::int64_t(4) << 20) / (4 * std::max<std::int64_t>(width, 1)) / kQueryBlock * kQueryBlock;
    return int(std::clamp<std::int64_t>(rows, kQueryBlock, std::int64_t(1) << 20));
}

void Transformer::forwardPiece(KvCache& cache, const int* tokens, int n, float* logits, int firstLogitRow,
                               ForwardHooks* hooks, BlockBuffers& buffers) const
{
    const int Hd = config().hiddenSize;
    std::vector<float>& hidden = buffers.hidden;
    hidden.resize(std::size_t(n) * std::size_t(Hd)); // every element written by embed()
    embed(tokens, n, hidden.data());
    for (int b = 0; b < config().numLayers; ++b)
        runBlock(b, cache, hidden.data(), n, hooks, &buffers);
    cache.setLength(cache.length() + n);
    if (firstLogitRow < n) {
        // The head's input in the kept buffer for a tied head too (head() allocates its own).
        const int rows = n - firstLogitRow;
        std::vector<float>& x = buffers.headInput;
        x.resize(std::size_t(rows) * std::size_t(Hd));
        finalNorm(hidden.data() + std::size_t(firstLogitRow) * std::size_t(Hd), rows, x.data());
        if (m_headIndex >= 0)
            applyLinear(m_headIndex, x.data(), rows, logits, hooks);
        else
            headLayer().forward(x.data(), rows, logits);
    }
}

} // namespace qs
