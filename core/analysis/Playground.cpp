#include "analysis/Playground.h"

#include "kernels/AdditiveCodes.h"
#include "kernels/E8Lattice.h"
#include "model/Model.h"
#include "model/Transformer.h"
#include "quant/QuantizeJob.h"
#include "quant/Quantizer.h"
#include "tokenizer/Tokenizer.h"
#include "util/Error.h"

#include <QtGlobal>
#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <set>
#include <utility>

namespace qs {

namespace {

/// splitmix64: a tiny generator whose stream is the same on every platform.
class RowRng
{
public:
    explicit RowRng(std::uint64_t seed) : m_state(seed) {}
    std::uint64_t next()
    {
        std::uint64_t z = (m_state += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    /// Uniform in (0, 1): never 0, so logarithms stay finite.
    double open01() { return (double(next() >> 11) + 0.5) * 0x1.0p-53; }
    std::uint64_t below(std::uint64_t n) { return next() % n; }

private:
    std::uint64_t m_state;
};

double drawValue(SyntheticDistribution d, RowRng& rng)
{
    switch (d) {
    case SyntheticDistribution::Gaussian: { // Box–Muller, one value per pair
        const double u1 = rng.open01(), u2 = rng.open01();
        return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
    }
    case SyntheticDistribution::Laplace: { // scale b = 1/√2 gives unit variance
        const double u = rng.open01() - 0.5;
        return -(1.0 / std::numbers::sqrt2) * (u < 0 ? -1.0 : 1.0) * std::log(1.0 - 2.0 * std::fabs(u));
    }
    case SyntheticDistribution::Uniform: // [-√3, √3] has unit variance
        return (2.0 * rng.open01() - 1.0) * std::numbers::sqrt3;
    }
    return 0;
}

} // namespace

std::vector<float> syntheticRow(const SyntheticRowSpec& spec)
{
    if (spec.count < 1 || spec.count > kMaxPlaygroundValues)
        throw Error(QStringLiteral("a synthetic row has 1 to %1 values, not %2")
                        .arg(kMaxPlaygroundValues)
                        .arg(spec.count));
    if (!(spec.sigma > 0) || !std::isfinite(spec.sigma))
        throw Error(QStringLiteral("the standard deviation must be positive, not %1").arg(spec.sigma));
    if (spec.outliers < 0 || spec.outliers > spec.count)
        throw Error(QStringLiteral("%1 outliers do not fit in %2 values").arg(spec.outliers).arg(spec.count));
    if (!std::isfinite(spec.outlierMagnitude))
        throw Error(QStringLiteral("the outlier magnitude must be finite"));
    RowRng rng(spec.seed);
    std::vector<float> v(std::size_t(spec.count));
    for (float& x : v)
        x = float(spec.sigma * drawValue(spec.distribution, rng));
    // Outliers at distinct positions: a partial Fisher–Yates shuffle of the indices.
    std::vector<std::int64_t> idx(v.size());
    for (std::size_t i = 0; i < idx.size(); ++i)
        idx[i] = std::int64_t(i);
    for (std::int64_t k = 0; k < spec.outliers; ++k) {
        const std::int64_t j = k + std::int64_t(rng.below(std::uint64_t(spec.count - k)));
        std::swap(idx[std::size_t(k)], idx[std::size_t(j)]);
        const double sign = (rng.next() & 1) ? 1.0 : -1.0;
        v[std::size_t(idx[std::size_t(k)])] = float(sign * spec.outlierMagnitude * spec.sigma);
    }
    return v;
}

std::vector<float> modelRow(const Model& model, const QString& layer, std::int64_t row)
{
    const LinearLayerInfo* l = model.findLinear(layer);
    if (!l)
        throw Error::inFile(model.path(), QStringLiteral("no linear layer named '%1'").arg(layer));
    if (row < 0 || row >= l->outFeatures)
        throw Error(QStringLiteral("%1: row %2 is out of range (the weight has rows 0 to %3)")
                        .arg(layer)
                        .arg(row)
                        .arg(l->outFeatures - 1));
    if (l->quant)
        throw Error(
            QStringLiteral("%1: the checkpoint stores this layer quantized (%2); open the float model")
                .arg(layer, l->quant->label()));
    std::vector<float> v(std::size_t(l->inFeatures));
    model.tensors().readRowsF32(l->weight, row, 1, v.data(), FiniteCheck::Throw);
    return v;
}

namespace {

/// Whether the playground's controls (bits, group size, symmetry) describe a valid spec of the
/// method: a method whose format fixes those itself (a block type) needs controls of its own.
bool describedByBitsAndGroups(const QuantMethodInfo& m)
{
    QuantSpec probe;
    probe.method = m.method;
    probe.bits = std::clamp(4, m.minBits, m.maxBits);
    probe.granularity = Granularity::PerGroup;
    probe.groupSize = 32;
    return probe.validate().isEmpty();
}

/// The calibrated methods whose structure shows on one row with isotropic inputs (see playgroundMethods).
bool showsWithIsotropicInputs(QuantMethod m)
{
    return m == QuantMethod::SqueezeLlm || m == QuantMethod::QuipSharp || m == QuantMethod::Aqlm;
}

} // namespace

std::vector<PlaygroundMethod> playgroundMethods()
{
    std::vector<PlaygroundMethod> out, calibrated;
    for (const QuantMethodInfo& m : kQuantMethods) {
        const QString name = QLatin1String(m.name), display = QLatin1String(m.displayName);
        if (m.method == QuantMethod::Ggml) { // the type follows from the bits (ggmlTypeForBits)
            out.push_back({m.method, false, name, display});
            continue;
        }
        if (showsWithIsotropicInputs(m.method)) {
            calibrated.push_back({m.method, false, name, display});
            continue;
        }
        if (m.method == QuantMethod::Float || m.needsCalibration || m.quantizesActivations ||
            !describedByBitsAndGroups(m))
            continue;
        out.push_back({m.method, false, name, display});
        if (m.method == QuantMethod::Rtn) // the methods whose quantizer honours QuantSpec::clipSearch
            out.push_back({m.method, true, name + QStringLiteral("+clip"), display});
    }
    out.insert(out.end(), calibrated.begin(), calibrated.end());
    return out;
}

std::vector<UnavailableMethod> unavailablePlaygroundMethods()
{
    std::vector<UnavailableMethod> out;
    for (const QuantMethodInfo& m : kQuantMethods) {
        if (m.method == QuantMethod::Float || m.method == QuantMethod::Ggml ||
            showsWithIsotropicInputs(m.method))
            continue;
        if (m.method == QuantMethod::Gptq)
            out.push_back({QLatin1String(m.displayName),
                           QT_TRANSLATE_NOOP("Playground", "with the isotropic inputs one row is given it is "
                                                           "RTN; it runs on a real row with the layer's "
                                                           "statistics on the \"GPTQ\" page")});
        else if (m.needsCalibration && !m.quantizesActivations)
            out.push_back({QLatin1String(m.displayName),
                           QT_TRANSLATE_NOOP("Playground", "it scales inputs by their activations; with the "
                                                           "isotropic inputs one row is given it is RTN")});
        else if (m.quantizesActivations)
            out.push_back(
                {QLatin1String(m.displayName),
                 QT_TRANSLATE_NOOP("Playground", "its weights are plain RTN (shown as RTN); what it "
                                                 "adds quantizes activations at run time")});
        else if (!describedByBitsAndGroups(m))
            out.push_back({QLatin1String(m.displayName),
                           QT_TRANSLATE_NOOP("Playground", "its format fixes bits and block size itself; "
                                                           "the playground has no control for it yet")});
    }
    return out;
}

PlaygroundControls playgroundControls(const PlaygroundMethod& method)
{
    PlaygroundControls c;
    switch (method.method) {
    case QuantMethod::Ggml:
        c.groups = false;
        c.bitsFixTheType = true;
        break;
    case QuantMethod::Rtn:
    case QuantMethod::Hqq:
        c.rotation = true;
        break;
    case QuantMethod::SqueezeLlm:
        c.groups = false;
        c.sparse = true;
        break;
    case QuantMethod::QuipSharp:
        c.groups = false;
        c.rotationAlways = true;
        break;
    case QuantMethod::Aqlm:
        c.groups = false;
        c.rotation = true;
        c.codebookBits = true;
        break;
    default:
        break;
    }
    return c;
}

std::vector<int> playgroundCodebookBits(int bits)
{
    std::vector<int> out;
    for (int b = 4; b <= 8; b += 2)
        if ((8 * bits) % b == 0 && 8 * bits / b <= 8)
            out.push_back(b);
    return out;
}

QuantSpec playgroundSpec(const PlaygroundMethod& method, const PlaygroundSettings& settings)
{
    if (method.method == QuantMethod::Ggml) // a llama.cpp type: the bits pick it, it fixes the rest
        return QuantSpec::ggml(QuantSpec::ggmlTypeForBits(settings.bits));
    QuantSpec spec;
    spec.method = method.method;
    spec.clipSearch = method.clipSearch;
    spec.bits = settings.bits;
    spec.symmetric = settings.symmetric;
    spec.floatZeros = spec.method == QuantMethod::Hqq; // HQQ's zeros are real-valued, as in a run
    spec.granularity = settings.groupSize <= 0 ? Granularity::PerChannel : Granularity::PerGroup;
    spec.groupSize = settings.groupSize <= 0 ? 128 : settings.groupSize;
    const PlaygroundControls controls = playgroundControls(method);
    if (controls.rotation && settings.rotate)
        spec.incoherence = Incoherence::Hadamard;
    switch (spec.method) {
    case QuantMethod::SqueezeLlm:
        spec.granularity = Granularity::PerChannel;
        spec.sparsePercent = settings.sparsePercent;
        break;
    case QuantMethod::QuipSharp:
        spec = quipSharpDefaults(spec);
        break;
    case QuantMethod::Aqlm: {
        spec = aqlmDefaults(spec);
        const std::vector<int> books = playgroundCodebookBits(spec.bits);
        spec.codebookBits = books.empty() ? settings.codebookBits
                            : std::find(books.begin(), books.end(), settings.codebookBits) != books.end()
                                ? settings.codebookBits
                                : books.front();
        break;
    }
    default:
        break;
    }
    return spec;
}

double excessKurtosis(const std::vector<float>& values)
{
    const auto n = double(values.size());
    if (values.size() < 2)
        return 0;
    double mean = 0;
    for (float v : values)
        mean += v;
    mean /= n;
    double m2 = 0, m4 = 0;
    for (float v : values) {
        const double d = double(v) - mean, d2 = d * d;
        m2 += d2;
        m4 += d2 * d2;
    }
    m2 /= n;
    m4 /= n;
    return m2 > 0 ? m4 / (m2 * m2) - 3.0 : 0.0;
}

namespace {

/// Errors, MSE, SNR, max error, storage, the shown group's grid and the error histogram of a
/// result whose spec, original, reconstruction and groups are set.
void measure(PlaygroundResult& r, std::int64_t shownGroup, int errorBins)
{
    const std::vector<float>& values = r.original;
    const auto n = std::int64_t(values.size());
    r.errors.resize(values.size());
    double signal = 0, noise = 0;
    for (std::size_t i = 0; i < values.size(); ++i) {
        r.errors[i] = values[i] - r.reconstructed[i];
        const double e = r.errors[i];
        signal += double(values[i]) * double(values[i]);
        noise += e * e;
        r.maxAbsError = std::max(r.maxAbsError, std::fabs(e));
    }
    r.mse = noise / double(n);
    r.snrDb = noise > 0 ? 10.0 * std::log10(signal / noise)
                        : std::numeric_limits<double>::infinity(); // exact (or an all-zero row)
    if (signal == 0 && noise == 0)
        r.snrDb = std::numeric_limits<double>::infinity();
    const QuantSpec::Cost cost = r.spec.cost(1, n);
    r.bytes = cost.total();
    r.bitsPerWeight = cost.bitsPerWeight(n);

    // The grid of the shown group from the scale and zero the quantizer chose (with the clipping
    // search when asked), so the levels drawn are exactly the values codes reconstruct to.
    if (r.groupCount > 0) {
        r.shownGroup = std::clamp<std::int64_t>(shownGroup, 0, r.groupCount - 1);
        r.grid = groupGrid(r, r.shownGroup);
    }
    r.errorHistogram = histogram(r.errors, std::max(1, errorBins));
}

} // namespace

namespace {

/// Inputs with no preference: XᵀX = I (when the method needs the Hessian) and every Σx² equal, over one
/// token, so a calibrated method minimises the weight error itself.
LinearInputStats isotropicInputs(std::int64_t n, bool hessian)
{
    LinearInputStats s;
    s.inFeatures = n;
    s.outFeatures = 1;
    s.tokens = 1;
    if (hessian)
        s.xtx = Eigen::MatrixXd::Identity(Eigen::Index(n), Eigen::Index(n));
    s.sumAbs.assign(std::size_t(n), 1.0);
    s.maxAbs.assign(std::size_t(n), 1.0);
    s.sumSquares.assign(std::size_t(n), 1.0);
    return s;
}

/// Distinct points of a set of pairs, sorted.
void keepDistinct(std::vector<std::pair<double, double>>& points)
{
    std::sort(points.begin(), points.end());
    points.erase(std::unique(points.begin(), points.end()), points.end());
}

/// The Minkowski sum of point sets (every choice of one point from each), or, when there would be more
/// than `limit` choices, `limit` of them drawn by a fixed generator.
std::vector<std::pair<double, double>> sums(const std::vector<std::vector<std::pair<double, double>>>& sets,
                                            std::size_t limit, bool& sampled, std::uint64_t& count)
{
    double choices = 1;
    for (const auto& set : sets)
        choices *= double(set.size());
    count = choices < 1.8e19 ? std::uint64_t(choices) : std::numeric_limits<std::uint64_t>::max();
    std::vector<std::pair<double, double>> out{{0.0, 0.0}};
    sampled = choices > double(limit);
    if (!sampled) {
        for (const auto& set : sets) {
            std::vector<std::pair<double, double>> next;
            next.reserve(out.size() * set.size());
            for (const auto& a : out)
                for (const auto& b : set)
                    next.emplace_back(a.first + b.first, a.second + b.second);
            out = std::move(next);
            keepDistinct(out);
        }
        count = out.size();
        return out;
    }
    RowRng rng(0x51a7e5);
    out.assign(limit, {0.0, 0.0});
    for (auto& p : out)
        for (const auto& set : sets) {
            const auto& b = set[std::size_t(rng.below(set.size()))];
            p.first += b.first;
            p.second += b.second;
        }
    keepDistinct(out);
    return out;
}

/// The pairs view of a result whose rotated or original values, reconstruction, grid and codes are set.
PlaygroundPairs pairsOf(const PlaygroundResult& r, const QuantizedTensor& q)
{
    PlaygroundPairs p;
    const std::vector<float>& w = r.rotated.empty() ? r.original : r.rotated;
    const std::vector<float>& rec = r.rotated.empty() ? r.reconstructed : r.rotatedReconstructed;
    const auto n = std::int64_t(w.size());
    std::vector<std::pair<double, double>> points;
    constexpr std::size_t kLimit = 65536; // 2x8 and 4x4 codebooks at 2 bits exactly
    if (r.vectorCodes()) {
        const double s = r.scales.empty() ? 1.0 : double(r.scales.front());
        for (std::int64_t v = 0; v + 8 <= n; v += 8) {
            if (v / 8 == r.shownGroup)
                p.shownPair = std::int64_t(p.weightX.size());
            p.weightX.push_back(w[std::size_t(v)]);
            p.weightY.push_back(w[std::size_t(v + 1)]);
            p.reconstructedX.push_back(rec[std::size_t(v)]);
            p.reconstructedY.push_back(rec[std::size_t(v + 1)]);
        }
        std::vector<std::vector<std::pair<double, double>>> sets;
        float point[8];
        if (r.spec.usesLattice()) {
            std::vector<std::pair<double, double>> first, second;
            for (int c = 0; c < 1 << 16; ++c) {
                e8::decodeE8P(std::uint16_t(c), point);
                first.emplace_back(s * point[0], s * point[1]);
            }
            keepDistinct(first);
            sets.push_back(std::move(first));
            if (r.spec.bits > 2) {
                const double b = s * double(e8::kResidualScale[r.spec.bits]);
                for (int c = 0; c < (r.spec.bits == 3 ? 256 : 1 << 16); ++c) {
                    if (r.spec.bits == 3)
                        e8::decodeShell(std::uint8_t(c), point);
                    else
                        e8::decodeE8P(std::uint16_t(c), point);
                    second.emplace_back(b * point[0], b * point[1]);
                }
                keepDistinct(second);
                sets.push_back(std::move(second));
            }
            p.what = QStringLiteral("E8P lattice%1, coordinates 0 and 1 of each vector of 8")
                         .arg(r.spec.bits > 2 ? QStringLiteral(" + residual stage") : QString());
        } else {
            const int books = r.spec.additiveCodebooks();
            const std::int64_t entries = std::int64_t(1) << r.spec.codebookBits;
            for (int m = 0; m < books; ++m) {
                std::vector<std::pair<double, double>> set;
                for (std::int64_t e = 0; e < entries; ++e) {
                    const float* c = q.codebook.data() + (m * entries + e) * 8;
                    set.emplace_back(s * c[0], s * c[1]);
                }
                keepDistinct(set);
                sets.push_back(std::move(set));
            }
            p.what =
                QStringLiteral("sums of %1 codebooks of %2 entries, coordinates 0 and 1 of each vector of 8")
                    .arg(books)
                    .arg(entries);
        }
        points = sums(sets, kLimit, p.sampled, p.reachable);
    } else {
        // A scalar method: each weight of the shown group takes one of the group's levels, so a pair takes
        // a point of the levels' product (SqueezeLLM: the row's codebook).
        const std::int64_t begin = r.grid.begin, end = std::min(r.grid.end, n);
        for (std::int64_t i = begin; i + 1 < end; i += 2) {
            p.weightX.push_back(w[std::size_t(i)]);
            p.weightY.push_back(w[std::size_t(i + 1)]);
            p.reconstructedX.push_back(rec[std::size_t(i)]);
            p.reconstructedY.push_back(rec[std::size_t(i + 1)]);
        }
        std::vector<std::pair<double, double>> levels;
        for (double l : r.grid.levels)
            levels.emplace_back(l, 0.0);
        std::vector<std::pair<double, double>> levelsY;
        for (double l : r.grid.levels)
            levelsY.emplace_back(0.0, l);
        points = sums({levels, levelsY}, kLimit, p.sampled, p.reachable);
        p.what = r.spec.usesCodebook()
                     ? QStringLiteral("the row's codebook × itself, pairs of neighbouring weights")
                     : QStringLiteral("levels of group %1 × themselves, pairs of neighbouring "
                                      "weights of the group")
                           .arg(r.shownGroup);
    }
    for (const auto& [x, y] : points) {
        p.pointX.push_back(x);
        p.pointY.push_back(y);
    }
    return p;
}

} // namespace

PlaygroundResult quantizeRow(const std::vector<float>& values, const QuantSpec& spec, std::int64_t shownGroup,
                             int errorBins, const LinearInputStats* stats, const JobContext& job)
{
    if (values.empty())
        throw Error(QStringLiteral("the row is empty"));
    const auto n = std::int64_t(values.size());
    PlaygroundResult r;
    QuantizeRequest request;
    request.layerName = QStringLiteral("playground row");
    request.weight = values.data();
    request.rows = 1;
    request.cols = n;
    request.spec = spec.fittedTo(n, &r.note); // gguf: llama.cpp's fallback for rows the block does not fit
    LinearInputStats assumed;
    if (request.spec.needsCalibration()) {
        // What the method reads must be the row's length: the Hessian, or the Σx² per input.
        if (stats && (request.spec.needsHessian() ? stats->xtx.rows() != n
                                                  : std::int64_t(stats->sumSquares.size()) != n))
            throw Error(QStringLiteral("the layer's statistics describe %1 inputs, not the row's %2")
                            .arg(request.spec.needsHessian() ? std::int64_t(stats->xtx.rows())
                                                             : std::int64_t(stats->sumSquares.size()))
                            .arg(n));
        if (!stats) {
            if (!showsWithIsotropicInputs(request.spec.method))
                throw Error(
                    QStringLiteral("%1 needs the layer's calibration statistics, and one row has none")
                        .arg(quantMethodName(request.spec.method)));
            if (request.spec.needsHessian() && n > kMaxPlaygroundHessianValues)
                throw Error(
                    QStringLiteral("%1 weighs a row's error by the inputs' %2 × %2 Hessian; the playground "
                                   "takes rows of up to %3 values for it")
                        .arg(quantMethodName(request.spec.method))
                        .arg(n)
                        .arg(kMaxPlaygroundHessianValues));
            assumed = isotropicInputs(n, request.spec.needsHessian());
            stats = &assumed;
            r.inputs = PlaygroundInputs::Isotropic;
        } else {
            r.inputs = PlaygroundInputs::Layer;
            r.inputTokens = stats->tokens;
        }
        request.stats = stats;
    }
    const QuantizedTensor q = quantizeWeight(request, job);

    r.spec = request.spec;
    r.original = values;
    r.reconstructed = q.dequantize();
    r.codes = q.unpackedCodes();
    r.scales = q.scales;
    r.zeros = q.zeros;
    r.groupLength = r.spec.groupLength(n);
    r.groupCount = std::int64_t(r.scales.size());
    if (r.spec.method == QuantMethod::Ggml) { // k-quant sub-blocks of 16 or 32 carry their own scales
        const GgmlType t = r.spec.ggmlType;
        r.groupLength = t == GgmlType::Q2_K || t == GgmlType::Q3_K || t == GgmlType::Q6_K ? 16 : 32;
        r.groupCount = n / r.groupLength;
    } else if (r.spec.usesCodebook()) { // one codebook for the row
        r.groupLength = n;
        r.groupCount = 1;
        r.codebook = q.codebook;
        std::sort(r.codebook.begin(), r.codebook.end());
        for (std::int32_t c : q.sparseColumns)
            r.exactColumns.push_back(c);
    } else if (r.vectorCodes()) { // vectors of 8 (a row's tail: one shorter piece)
        r.groupLength = 8;
        r.groupCount = (n + 7) / 8;
    }
    if (q.rotation) {
        r.rotated = values;
        q.rotation->apply(r.rotated.data(), 1, n);
        r.rotatedReconstructed = r.reconstructed;
        q.rotation->apply(r.rotatedReconstructed.data(), 1, n);
        r.rotatedKurtosis = excessKurtosis(r.rotated);
    }
    r.kurtosis = excessKurtosis(values);
    // What a whole layer shares (AQLM's codebooks, the rotation's signs) costs one row as much as a layer.
    const QuantSpec::Cost cost = r.spec.cost(1, n, 0, std::int64_t(q.sparseValues.size()));
    const std::uint64_t codebookBytes = // less the row's scale
        r.spec.usesAdditive() ? cost.scaleBytes - std::uint64_t(dtypeInfo(r.spec.scaleType).bytes) : 0;
    const std::uint64_t rotationBytes = q.rotation ? Rotation::storedBytes(n) : 0;
    if (8 * (codebookBytes + rotationBytes) > cost.codeBytes) // over an eighth of the codes
        r.note = QStringLiteral("the %1 (%2 bytes) serve a whole layer; one row pays them alone, beside its "
                                "codes' %3 bytes")
                     .arg(codebookBytes && rotationBytes ? QStringLiteral("codebooks and the rotation")
                          : codebookBytes                ? QStringLiteral("codebooks")
                                                         : QStringLiteral("rotation's signs"))
                     .arg(codebookBytes + rotationBytes)
                     .arg(cost.codeBytes);
    measure(r, shownGroup, errorBins);
    r.pairs = pairsOf(r, q);
    return r;
}

QuantGrid groupGrid(const PlaygroundResult& r, std::int64_t group)
{
    QuantGrid grid;
    const auto n = std::int64_t(r.original.size());
    if (r.groupCount <= 0 || r.groupLength <= 0)
        return grid;
    group = std::clamp<std::int64_t>(group, 0, r.groupCount - 1);
    grid.begin = group * r.groupLength;
    grid.end = std::min(n, grid.begin + r.groupLength);
    if (r.vectorCodes()) // a vector of 8 takes a codebook point as a whole: no levels per weight
        return grid;
    if (r.spec.usesCodebook()) {
        grid.levels.assign(r.codebook.begin(), r.codebook.end());
    } else if (!r.scales.empty()) {
        const GroupParams p{r.scales[std::size_t(group)], r.zeros[std::size_t(group)]};
        grid.scale = p.scale;
        grid.zero = p.zero;
        for (int c = 0; c <= r.spec.qmax(); ++c)
            grid.levels.push_back(double(dequantizeValue(std::uint8_t(c), p)));
    } else { // gguf: the values the block reconstructs to
        for (std::int64_t i = grid.begin; i < grid.end; ++i)
            grid.levels.push_back(double(r.reconstructed[std::size_t(i)]));
    }
    std::sort(grid.levels.begin(), grid.levels.end());
    grid.levels.erase(std::unique(grid.levels.begin(), grid.levels.end()), grid.levels.end());
    return grid;
}

WeightStep weightStep(const PlaygroundResult& r, std::int64_t index)
{
    const auto n = std::int64_t(r.original.size());
    if (index < 0 || index >= n)
        throw Error(QStringLiteral("weight %1 is outside the row (0 to %2)").arg(index).arg(n - 1));
    WeightStep s;
    s.index = index;
    s.group = std::min(r.groupOf(index), std::max<std::int64_t>(0, r.groupCount - 1));
    s.groupBegin = s.group * r.groupLength;
    s.groupEnd = std::min(n, s.groupBegin + r.groupLength);
    // With a rotation the codes quantize V·w: the step is that value's.
    s.rotated = !r.rotated.empty();
    s.value = s.rotated ? r.rotated[std::size_t(index)] : r.original[std::size_t(index)];
    s.qmax = r.spec.qmax();
    // GPTQ quantized values its feedback had moved: its code follows from those, not from w.
    s.hasScale = !r.scales.empty() && r.spec.method != QuantMethod::Ggml &&
                 r.spec.method != QuantMethod::Gptq && !r.spec.decodesCodes();
    if (s.hasScale) { // quantizeValue and dequantizeValue, one operation at a time
        const GroupParams p{r.scales[std::size_t(s.group)], r.zeros[std::size_t(s.group)]};
        s.scale = p.scale;
        s.zero = p.zero;
        s.floatZero = p.zero != std::nearbyint(p.zero);
        s.divided = s.value / p.scale;
        if (s.floatZero) {
            s.shifted = s.divided + p.zero;
            s.rounded = std::nearbyint(s.shifted);
        } else {
            s.shifted = std::nearbyint(s.divided) + p.zero;
            s.rounded = s.shifted;
        }
        s.clamped = s.rounded < 0 || s.rounded > float(s.qmax);
        s.code = quantizeValue(s.value, p, s.qmax);
        s.dequantized = dequantizeValue(s.code, p);
    } else {
        s.code = r.codes.empty() ? 0 : r.codes[std::size_t(index)];
        s.dequantized =
            s.rotated ? r.rotatedReconstructed[std::size_t(index)] : r.reconstructed[std::size_t(index)];
    }
    if (r.spec.usesCodebook()) {
        s.exact = std::binary_search(r.exactColumns.begin(), r.exactColumns.end(), index);
        s.codeText = QStringLiteral("entry %1 of the row's %2").arg(s.code).arg(r.codebook.size());
    } else if (r.vectorCodes() && s.groupEnd - s.groupBegin == 8 && !r.codes.empty()) {
        const std::uint8_t* chunks = r.codes.data() + s.groupBegin;
        if (r.spec.usesLattice()) {
            unsigned first = 0;
            for (int i = 0; i < 8; ++i)
                first |= unsigned(chunks[i] & 3u) << (2 * i);
            s.codeText = QStringLiteral("E8P code %1 (pattern %2, signs %3, shift %4¼)")
                             .arg(first)
                             .arg(first & 0xffu)
                             .arg((first >> 8) & 0x7fu, 7, 2, QLatin1Char('0'))
                             .arg(first >> 15 ? QLatin1Char('-') : QLatin1Char('+'));
            if (r.spec.bits > 2)
                s.codeText += QStringLiteral(" + a residual code");
        } else {
            const int books = r.spec.additiveCodebooks();
            std::uint32_t codes[8] = {};
            aq::unpackGroup(r.spec.bits, r.spec.codebookBits, books, chunks, codes);
            QStringList list;
            for (int m = 0; m < books; ++m)
                list << QString::number(codes[m]);
            s.codeText = QStringLiteral("codes %1 of %2 codebooks of %3 entries")
                             .arg(list.join(QStringLiteral(", ")))
                             .arg(books)
                             .arg(1 << r.spec.codebookBits);
        }
    }
    s.error = s.value - s.dequantized;
    return s;
}

LinearInputStats layerInputStatistics(std::shared_ptr<const Model> model, const Tokenizer& tokenizer,
                                      int layerIndex, const CalibrationSettings& cal, const JobContext& job)
{
    if (!model)
        throw Error(QStringLiteral("no model is loaded"));
    if (layerIndex < 0 || layerIndex >= int(model->linears().size()))
        throw Error(QStringLiteral("no linear layer %1 in the model").arg(layerIndex));
    const ModelConfig& c = model->config();
    if (cal.samples < 1 || cal.seqLen < 2 || cal.seqLen > c.maxPositionEmbeddings)
        throw Error(QStringLiteral("calibration needs samples >= 1 and 2 <= seq_len <= %1")
                        .arg(c.maxPositionEmbeddings));
    job.report(0, QStringLiteral("calibrating"), QStringLiteral("tokenizing %1").arg(cal.text));
    const std::vector<std::vector<int>> windows = calibrationWindows(
        tokenizer, cal, tokenizer.bosId() >= 0 ? tokenizer.bosId() : std::max(0, c.bosTokenId));
    const Transformer t(model);
    if (layerIndex == t.headLinearIndex())
        throw Error(QStringLiteral("%1 is the output head, which reads the final hidden states; choose a "
                                   "layer inside a block")
                        .arg(model->linears()[std::size_t(layerIndex)].name));
    CalibrationOptions opt;
    opt.hessian = true;
    CalibrationCollector collector(*model, {layerIndex}, opt);
    KvCache cache = t.makeCache(cal.seqLen);
    for (std::size_t w = 0; w < windows.size(); ++w) {
        job.checkCancelled();
        job.report(double(w) / double(windows.size()), QStringLiteral("calibrating"),
                   QStringLiteral("window %1 of %2").arg(w + 1).arg(windows.size()));
        cache.clear();
        const int len = int(windows[w].size());
        t.forward(cache, windows[w].data(), len, nullptr, len, &collector);
    }
    job.checkCancelled();
    return collector.take(layerIndex);
}

std::vector<double> GptqDemo::weightsAfter(std::int64_t steps) const
{
    const std::int64_t n = columns();
    steps = std::clamp<std::int64_t>(steps, 0, n);
    std::vector<double> perm(static_cast<std::size_t>(n)); // quantization order
    for (std::int64_t i = 0; i < n; ++i) {
        const std::int64_t c = trace.order[std::size_t(i)];
        perm[std::size_t(i)] = xtx(c, c) == 0 ? 0.0 : double(original[std::size_t(c)]); // dead inputs: zeroed
    }
    for (std::int64_t i = 0; i < steps; ++i) {
        const GptqColumnStep& st = trace.steps[std::size_t(i)];
        perm[std::size_t(i)] = st.dequantized;
        for (std::int64_t j = i + 1; j < n; ++j)
            perm[std::size_t(j)] -= double(st.scaledError) * double(trace.inverseFactor(i, j));
    }
    std::vector<double> w(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i)
        w[std::size_t(trace.order[std::size_t(i)])] = perm[std::size_t(i)];
    return w;
}

std::vector<double> GptqDemo::rtnWeightsAfter(std::int64_t steps) const
{
    std::vector<double> w(original.begin(), original.end());
    for (std::int64_t i = 0; i < std::clamp<std::int64_t>(steps, 0, columns()); ++i) {
        const std::int64_t c = trace.order[std::size_t(i)];
        w[std::size_t(c)] = rtnReconstructed[std::size_t(c)];
    }
    return w;
}

double GptqDemo::outputError(const std::vector<double>& w) const
{
    const Eigen::Index n = Eigen::Index(original.size());
    Eigen::VectorXd d(n);
    for (Eigen::Index i = 0; i < n; ++i)
        d(i) = double(original[std::size_t(i)]) - w[std::size_t(i)];
    return tokens > 0 ? d.dot(xtx * d) / double(tokens) : 0.0;
}

GptqDemo gptqDemo(const std::vector<float>& row, const LinearInputStats& stats, const QuantSpec& spec,
                  const JobContext& job)
{
    const auto n = std::int64_t(row.size());
    if (spec.method != QuantMethod::Gptq)
        throw Error(QStringLiteral("the demonstration shows GPTQ, not %1").arg(quantMethodName(spec.method)));
    if (n == 0 || stats.xtx.rows() != n || stats.tokens <= 0)
        throw Error(QStringLiteral("the calibration statistics (%1 inputs, %2 tokens) do not match the row "
                                   "(%3 values)")
                        .arg(stats.xtx.rows())
                        .arg(stats.tokens)
                        .arg(n));
    GptqDemo d;
    d.spec = spec;
    d.original = row;
    d.xtx = stats.xtx;
    d.tokens = stats.tokens;
    QuantizeRequest request;
    request.layerName = QStringLiteral("playground row");
    request.weight = row.data();
    request.rows = 1;
    request.cols = n;
    request.stats = &stats;
    request.spec = spec;
    d.trace.row = 0;
    const QuantizedTensor q = gptqQuantize(request, job, &d.trace);
    d.codes = q.unpackedCodes();
    d.reconstructed = q.dequantize();
    QuantSpec rtnSpec = spec;
    rtnSpec.method = QuantMethod::Rtn;
    rtnSpec.actOrder = false;
    request.spec = rtnSpec;
    request.stats = nullptr;
    const QuantizedTensor rtn = quantizeWeight(request, job);
    d.rtnReconstructed = rtn.dequantize();
    d.learned = learnRowRounding(row, rtn, stats.xtx, stats.tokens, 200, job);

    // The curves at up to 129 points (each O(n²): the row after k steps, then the quadratic form).
    const std::int64_t points = std::min<std::int64_t>(n, 128);
    for (std::int64_t k = 0; k <= points; ++k)
        d.curveSteps.push_back(k * n / points);
    d.curveSteps.erase(std::unique(d.curveSteps.begin(), d.curveSteps.end()), d.curveSteps.end());
    for (std::int64_t k : d.curveSteps) {
        job.checkCancelled();
        d.gptqCurve.push_back(d.outputError(d.weightsAfter(k)));
        d.rtnCurve.push_back(d.outputError(d.rtnWeightsAfter(k)));
    }
    return d;
}

PlaygroundResult gptqDemoResult(const GptqDemo& demo, std::int64_t shownGroup, int errorBins)
{
    const auto n = demo.columns();
    PlaygroundResult r;
    r.spec = demo.spec;
    r.original = demo.original;
    r.reconstructed = demo.reconstructed;
    r.codes = demo.codes;
    r.groupLength = r.spec.groupLength(n);
    r.groupCount = r.spec.groupsPerRow(n);
    const bool dynamicGroups = r.spec.actOrder && !r.spec.staticGroups;
    if (!dynamicGroups) { // each group's scale and zero, as GPTQ used them on its columns
        r.scales.assign(std::size_t(r.groupCount), 1.0f);
        r.zeros.assign(std::size_t(r.groupCount), 0.0f);
        for (const GptqColumnStep& st : demo.trace.steps) {
            const auto g = std::size_t(std::min(st.column / r.groupLength, r.groupCount - 1));
            r.scales[g] = st.scale;
            r.zeros[g] = st.zero;
        }
    } // else: groups in quantization order; the levels drawn are the values the group reconstructs to
    measure(r, shownGroup, errorBins);
    return r;
}

} // namespace qs
