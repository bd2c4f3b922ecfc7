#include "model/LinearLayer.h"

#include "kernels/Convert.h"
#include "kernels/FloatMatMul.h"
#include "util/Error.h"
#include "util/Threads.h"

#include <algorithm>

namespace qs {

void runRowTiles(std::int64_t rows, std::int64_t tile, double macs,
                 const std::function<void(std::int64_t, std::int64_t)>& kernel)
{
    // Below ~256K multiply-adds a parallel region costs more than it saves (tiny models, decode
    // of small layers); tiles are fixed either way, so the numbers do not change.
    forEachRowTile(rows, tile, macs >= double(1 << 18),
                   [&](std::int64_t first, std::int64_t count) { kernel(first, first + count); });
}

void addBias(float* y, std::int64_t n, std::int64_t out, const float* bias)
{
    if (!bias)
        return;
    for (std::int64_t t = 0; t < n; ++t)
        for (std::int64_t r = 0; r < out; ++r)
            y[t * out + r] += bias[r];
}

void gemmXWt(const float* x, std::int64_t n, std::int64_t in, const float* w, std::int64_t out, float* y,
             const float* bias)
{
    runRowTiles(
        out, kFloatMatMulRowTile, double(n) * double(in) * double(out),
        [&](std::int64_t r0, std::int64_t r1) { floatMatMul(DType::F32, w, in, r0, r1, x, n, y, out); });
    addBias(y, n, out, bias);
}

DenseLinear::DenseLinear(std::int64_t in, std::int64_t out, std::vector<float> weight,
                         std::vector<float> bias, std::uint64_t storageBytes, QString label)
    : m_in(in), m_out(out), m_bias(std::move(bias)),
      m_storageBytes(storageBytes ? storageBytes : std::uint64_t(in * out) * 4), m_label(std::move(label))
{
    if (std::int64_t(weight.size()) != in * out || (!m_bias.empty() && std::int64_t(m_bias.size()) != out))
        throw Error(QStringLiteral("DenseLinear: weight/bias sizes do not match [%1, %2]").arg(out).arg(in));
    auto owned = std::make_shared<const std::vector<float>>(std::move(weight));
    m_data = owned->data();
    m_keepAlive = std::move(owned);
}

DenseLinear::DenseLinear(std::int64_t in, std::int64_t out, DType dtype, const void* data,
                         std::shared_ptr<const void> keepAlive, std::vector<float> bias,
                         std::uint64_t storageBytes, QString label, bool mapped)
    : m_in(in), m_out(out), m_dtype(dtype), m_data(data), m_keepAlive(std::move(keepAlive)),
      m_bias(std::move(bias)), m_storageBytes(storageBytes), m_label(std::move(label)), m_mapped(mapped)
{
    if (dtype != DType::F32 && dtype != DType::F16 && dtype != DType::BF16)
        throw Error(QStringLiteral("DenseLinear: %1 weights have no float kernel").arg(dtypeName(dtype)));
    if (!m_bias.empty() && std::int64_t(m_bias.size()) != out)
        throw Error(
            QStringLiteral("DenseLinear: bias has %1 entries, expected %2").arg(m_bias.size()).arg(out));
}

std::uint64_t DenseLinear::residentBytes() const
{
    return std::uint64_t(m_in * m_out) * std::uint64_t(dtypeInfo(m_dtype).bytes) + 4 * m_bias.size();
}

QString DenseLinear::kernelName() const
{
    return dtypeName(m_dtype) + (m_mapped ? QStringLiteral(" (mapped)") : QString());
}

std::vector<float> DenseLinear::floatWeight() const
{
    std::vector<float> w(std::size_t(m_in * m_out));
    convertToF32(m_dtype, m_data, w.data(), w.size());
    return w;
}

namespace {

/// A thread's kept buffer of packed inputs (forward pieces: a few MB) is released when one call left it
/// larger than 16 MB, so a call of many tokens at once does not hold its memory afterwards.
template <class T>
void releaseIfLarge(std::vector<T>& kept)
{
    constexpr std::size_t kKeptBytes = std::size_t(16) << 20;
    if (kept.capacity() * sizeof(T) > kKeptBytes)
        std::vector<T>().swap(kept);
}

/// F16/BF16 weights times n ≥ kTileMinTokens tokens on AMX tiles where the CPU has them: the inputs packed
/// once (`planes` as packTileInputs) into a buffer this thread keeps from call to call (the lambda reads it
/// through a reference from other threads too), then row tiles over the threads. False when the tiles do
/// not apply.
bool forwardTiles(DType dtype, const void* w, std::int64_t in, std::int64_t out, const float* x,
                  std::int64_t n, float* y, int planes)
{
    if ((dtype != DType::F16 && dtype != DType::BF16) || n < kTileMinTokens || !floatMatMulTilesFast())
        return false;
    thread_local TileInputs kept;
    TileInputs& packed = kept;
    packTileInputs(x, n, in, planes, packed);
    runRowTiles(
        out, kFloatMatMulRowTile, double(n) * double(in) * double(out),
        [&](std::int64_t r0, std::int64_t r1) { floatMatMulTiles(dtype, w, r0, r1, packed, y, out); });
    releaseIfLarge(packed.data);
    return true;
}

} // namespace

void DenseLinear::forward(const float* x, std::int64_t n, float* y) const
{
    if (forwardTiles(m_dtype, m_data, m_in, m_out, x, n, y, 3)) {
        addBias(y, n, m_out, m_bias);
        return;
    }
    runRowTiles(m_out, kFloatMatMulRowTile, double(n) * double(m_in) * double(m_out),
                [&](std::int64_t r0, std::int64_t r1) {
                    floatMatMul(m_dtype, m_data, m_in, r0, r1, x, n, y, m_out);
                });
    addBias(y, n, m_out, m_bias);
}

bool DenseLinear::forwardBf16Inputs(const float* x, std::int64_t n, float* y) const
{
    if (m_dtype != DType::BF16)
        return false;
    if (forwardTiles(m_dtype, m_data, m_in, m_out, x, n, y, 1)) {
        addBias(y, n, m_out, m_bias);
        return true;
    }
    if (!floatMatMulBf16InputsFast())
        return false;
    // Rounded and laid out once for all row tiles, into a buffer this thread keeps from call to call (a
    // forward piece's [tokens, input] bf16, 2 MB for a 1B model's down projection: not allocated and
    // page-faulted for every layer; a larger one, from a call of many tokens at once, is released).
    // The lambda below runs on other threads too: it reads this thread's buffer through a reference (the
    // name of a thread_local would mean each thread's own).
    thread_local Bf16Inputs kept;
    Bf16Inputs& packed = kept;
    packBf16Inputs(x, n, m_in, packed);
    runRowTiles(m_out, kFloatMatMulRowTile, double(n) * double(m_in) * double(m_out),
                [&](std::int64_t r0, std::int64_t r1) {
                    floatMatMulBf16Inputs(SimdVariant::Avx512, m_data, r0, r1, packed, y, m_out);
                });
    releaseIfLarge(packed.data);
    addBias(y, n, m_out, m_bias);
    return true;
}

} // namespace qs
