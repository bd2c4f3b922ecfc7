#include "model/ModelProfile.h"

#include "model/Model.h"
#include "util/Paths.h"

#include <QJsonArray>
#include <QStringList>
#include <algorithm>
#include <cmath>

namespace qs {

namespace {

/// Mean, spread, tails and outliers of a sample (two passes: the moments about the mean).
void describe(const std::vector<float>& v, KindProfile& k)
{
    k.sampled = std::int64_t(v.size());
    if (v.empty())
        return;
    double sum = 0, maxAbs = 0;
    for (float x : v) {
        sum += x;
        maxAbs = std::max(maxAbs, double(std::abs(x)));
    }
    const double mean = sum / double(v.size());
    double m2 = 0, m4 = 0;
    for (float x : v) {
        const double d = double(x) - mean, d2 = d * d;
        m2 += d2;
        m4 += d2 * d2;
    }
    m2 /= double(v.size());
    m4 /= double(v.size());
    k.stddev = std::sqrt(m2);
    k.maxAbs = maxAbs;
    k.kurtosis = m2 > 0 ? m4 / (m2 * m2) - 3.0 : 0.0;
    std::int64_t outliers = 0;
    for (float x : v)
        outliers += std::abs(double(x) - mean) > 6.0 * k.stddev;
    k.outlierPercent = 100.0 * double(outliers) / double(v.size());
}

} // namespace

ModelProfile profileModel(const Model& model, int rowsPerLayer, const JobContext& job)
{
    const ModelTotals& t = model.totals();
    ModelProfile p;
    p.params = t.params;
    p.bytes = t.bytes;
    p.bitsPerWeight = t.bitsPerWeight();
    p.rowsPerLayer = std::max(0, rowsPerLayer);

    KindProfile embedding;
    embedding.kind = QStringLiteral("embedding");
    embedding.tensors = 1;
    embedding.params = t.embeddingParams;
    std::uint64_t linearBytes = 0;
    for (const LinearLayerInfo& l : model.linears())
        linearBytes += l.bytes();
    std::vector<KindProfile> linear(kLinearKinds.size());
    std::vector<std::vector<float>> samples(kLinearKinds.size());
    for (std::size_t k = 0; k < kLinearKinds.size(); ++k)
        linear[k].kind = QLatin1String(kLinearKinds[k].name);
    const auto& layers = model.linears();
    for (std::size_t i = 0; i < layers.size(); ++i) {
        job.checkCancelled();
        const LinearLayerInfo& l = layers[i];
        KindProfile& k = linear[std::size_t(l.kind)];
        ++k.tensors;
        k.params += l.params();
        k.bytes += l.bytes();
        if (l.quant || p.rowsPerLayer == 0)
            continue;
        const std::int64_t rows = std::min<std::int64_t>(p.rowsPerLayer, l.outFeatures);
        std::vector<float> row(std::size_t(l.inFeatures));
        auto& s = samples[std::size_t(l.kind)];
        for (std::int64_t r = 0; r < rows; ++r) {
            const std::int64_t at = (2 * r + 1) * l.outFeatures / (2 * rows); // evenly spread
            model.tensors().readRowsF32(l.weight, at, 1, row.data(), FiniteCheck::Throw);
            s.insert(s.end(), row.begin(), row.end());
        }
        job.report(double(i + 1) / double(layers.size()), QStringLiteral("sampling weights"), l.name);
    }
    for (std::size_t k = 0; k < linear.size(); ++k)
        describe(samples[k], linear[k]);
    if (p.rowsPerLayer > 0) { // the embeddings: as many rows as a few layers give
        const TensorInfo& e = model.tensors().info(model.embeddingTensor());
        const std::int64_t rows = std::min<std::int64_t>(4 * std::int64_t(p.rowsPerLayer), e.rows());
        p.embeddingRows = rows;
        std::vector<float> sample(std::size_t(rows * e.cols()));
        for (std::int64_t r = 0; r < rows; ++r)
            model.tensors().readRowsF32(model.embeddingTensor(), (2 * r + 1) * e.rows() / (2 * rows), 1,
                                        sample.data() + r * e.cols(), FiniteCheck::Throw);
        describe(sample, embedding);
    }

    const std::int64_t restParams = t.normParams + t.biasParams;
    embedding.bytes = model.tensors().info(model.embeddingTensor()).bytes();
    const std::uint64_t accounted = linearBytes + embedding.bytes;
    p.kinds.push_back(embedding);
    for (KindProfile& k : linear)
        if (k.tensors > 0)
            p.kinds.push_back(k);
    KindProfile rest;
    rest.kind = QStringLiteral("norms & biases");
    rest.params = restParams;
    rest.bytes = t.bytes - std::min(t.bytes, accounted);
    rest.tensors = -1; // many small ones
    if (rest.params > 0)
        p.kinds.push_back(rest);
    return p;
}

QJsonObject ModelProfile::toJson() const
{
    auto num = [](double v) { return std::isfinite(v) ? QJsonValue(v) : QJsonValue(); };
    QJsonArray kindArray;
    for (const KindProfile& k : kinds)
        kindArray.append(QJsonObject{{QStringLiteral("kind"), k.kind},
                                     {QStringLiteral("tensors"), k.tensors},
                                     {QStringLiteral("params"), qint64(k.params)},
                                     {QStringLiteral("bytes"), qint64(k.bytes)},
                                     {QStringLiteral("sampled"), qint64(k.sampled)},
                                     {QStringLiteral("std"), num(k.stddev)},
                                     {QStringLiteral("max_abs"), num(k.maxAbs)},
                                     {QStringLiteral("excess_kurtosis"), num(k.kurtosis)},
                                     {QStringLiteral("outlier_percent"), num(k.outlierPercent)}});
    return QJsonObject{{QStringLiteral("params"), qint64(params)},
                       {QStringLiteral("bytes"), qint64(bytes)},
                       {QStringLiteral("bpw"), bitsPerWeight},
                       {QStringLiteral("rows_per_layer"), rowsPerLayer},
                       {QStringLiteral("embedding_rows"), qint64(embeddingRows)},
                       {QStringLiteral("kinds"), kindArray}};
}

QString ModelProfile::toText() const
{
    auto num = [](double v, int decimals) {
        return std::isfinite(v) ? QString::number(v, 'f', decimals) : QStringLiteral("–");
    };
    QString s = QStringLiteral("%1 parameters, %2, %3 bits per weight (weights sampled: %4 rows per layer)\n")
                    .arg(params)
                    .arg(formatBytes(double(bytes)))
                    .arg(bitsPerWeight, 0, 'f', 2)
                    .arg(rowsPerLayer);
    s += QStringLiteral("%1 %2 %3 %4 %5 %6 %7 %8\n")
             .arg(QStringLiteral("kind"), -16)
             .arg(QStringLiteral("params"), 12)
             .arg(QStringLiteral("%"), 6)
             .arg(QStringLiteral("size"), 10)
             .arg(QStringLiteral("std"), 9)
             .arg(QStringLiteral("max|w|/σ"), 9)
             .arg(QStringLiteral("kurtosis"), 9)
             .arg(QStringLiteral(">6σ %"), 7);
    for (const KindProfile& k : kinds)
        s += QStringLiteral("%1 %2 %3 %4 %5 %6 %7 %8\n")
                 .arg(k.kind, -16)
                 .arg(k.params, 12)
                 .arg(num(params ? 100.0 * double(k.params) / double(params) : 0, 1), 6)
                 .arg(formatBytes(double(k.bytes)), 10)
                 .arg(num(k.stddev, 5), 9)
                 .arg(num(k.stddev > 0 ? k.maxAbs / k.stddev : std::nan(""), 1), 9)
                 .arg(num(k.kurtosis, 2), 9)
                 .arg(num(k.outlierPercent, 3), 7);
    return s;
}

} // namespace qs
