#include "eval/Kld.h"

#include "eval/Perplexity.h"
#include "util/Error.h"

#include <QCryptographicHash>
#include <QJsonArray>
#include <QJsonDocument>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

namespace qs {

namespace {
constexpr char kMagic[8] = {'Q', 'S', 'K', 'L', 'D', 'B', '0', '1'};
constexpr std::uint32_t kTrailerTag = 0xFFFFFFFFu;

double percentile(std::vector<double> sorted, double p)
{
    if (sorted.empty())
        return 0;
    const double pos = p / 100.0 * double(sorted.size() - 1);
    const std::size_t lo = std::size_t(std::floor(pos)), hi = std::min(sorted.size() - 1, lo + 1);
    return sorted[lo] + (pos - double(lo)) * (sorted[hi] - sorted[lo]);
}
} // namespace

QString sha256Hex(const QByteArray& data)
{
    return QString::fromLatin1(QCryptographicHash::hash(data, QCryptographicHash::Sha256).toHex());
}

QJsonObject KldBaseKey::toJson() const
{
    return QJsonObject{{QStringLiteral("model_fingerprint"), modelFingerprint},
                       {QStringLiteral("model_name"), modelName},
                       {QStringLiteral("text_sha256"), textSha256},
                       {QStringLiteral("protocol"), protocol},
                       {QStringLiteral("n_ctx"), ctx},
                       {QStringLiteral("chunks"), chunks},
                       {QStringLiteral("first_chunk"), firstChunk},
                       {QStringLiteral("vocab"), vocab}};
}

KldBaseKey KldBaseKey::fromJson(const QJsonObject& o)
{
    KldBaseKey k;
    k.modelFingerprint = o.value(u"model_fingerprint").toString();
    k.modelName = o.value(u"model_name").toString();
    k.textSha256 = o.value(u"text_sha256").toString();
    k.protocol = o.value(u"protocol").toString();
    k.ctx = o.value(u"n_ctx").toInt();
    k.chunks = o.value(u"chunks").toInt();
    k.firstChunk = o.value(u"first_chunk").toInt();
    k.vocab = o.value(u"vocab").toInt();
    return k;
}

QString KldBaseKey::mismatch(const KldBaseKey& o) const
{
    if (modelFingerprint != o.modelFingerprint)
        return QStringLiteral(
                   "it was made from another model (%1, architecture/tokenizer fingerprint differs)")
            .arg(modelName);
    if (textSha256 != o.textSha256)
        return QStringLiteral("it was made from another text (sha256 %1…)").arg(textSha256.left(12));
    if (protocol != o.protocol)
        return QStringLiteral("it used protocol %1, not %2").arg(protocol, o.protocol);
    if (ctx != o.ctx)
        return QStringLiteral("it used n_ctx %1, not %2").arg(ctx).arg(o.ctx);
    if (chunks != o.chunks)
        return QStringLiteral("it has %1 chunks, not %2").arg(chunks).arg(o.chunks);
    if (firstChunk != o.firstChunk)
        return QStringLiteral("it starts at chunk %1, not %2").arg(firstChunk).arg(o.firstChunk);
    if (vocab != o.vocab)
        return QStringLiteral("its vocabulary has %1 entries, not %2").arg(vocab).arg(o.vocab);
    return {};
}

void KldBaseRow::logProbs(std::vector<double>& out) const
{
    out.resize(q.size());
    double mx = -INFINITY;
    for (std::size_t i = 0; i < q.size(); ++i) {
        out[i] = double(minLogProb) + double(scale) * double(q[i]);
        mx = std::max(mx, out[i]);
    }
    double s = 0;
    for (double v : out)
        s += std::exp(v - mx);
    const double lse = mx + std::log(s);
    for (double& v : out)
        v -= lse;
}

KldBaseRow KldBaseRow::fromLogits(const float* row, int vocab, int target)
{
    KldBaseRow b;
    const double lse = logSumExp(row, vocab);
    float mn = 0;
    for (int v = 0; v < vocab; ++v) {
        mn = std::min(mn, float(double(row[v]) - lse));
        if (row[v] > row[b.argmax])
            b.argmax = v;
    }
    mn = std::max(mn, -kLogProbRange);
    b.minLogProb = mn;
    b.scale = mn < 0 ? -mn / 65535.0f : 1.0f;
    b.q.resize(static_cast<std::size_t>(vocab));
    for (int v = 0; v < vocab; ++v) {
        const double lp = std::max(double(row[v]) - lse, double(mn));
        b.q[std::size_t(v)] = std::uint16_t(std::lround((lp - double(mn)) / double(b.scale)));
    }
    b.targetLogProb = float(double(row[target]) - lse);
    return b;
}

KldBaseWriter::KldBaseWriter(const QString& path, const KldBaseKey& key)
    : m_file(path), m_path(path), m_vocab(key.vocab)
{
    const QByteArray header = QJsonDocument(key.toJson()).toJson(QJsonDocument::Compact);
    const std::uint32_t len = std::uint32_t(header.size());
    m_file.write(kMagic, 8);
    m_file.write(reinterpret_cast<const char*>(&len), 4);
    m_file.write(header);
}

void KldBaseWriter::addChunk(const float* logits, int rows, int vocab, const int* targets)
{
    if (vocab != m_vocab)
        throw Error::inFile(m_path, QStringLiteral("vocabulary size changed while writing"));
    const std::uint32_t r = std::uint32_t(rows);
    // One write per chunk: the file is unbuffered (AtomicFile), so each write is a system call.
    QByteArray bytes;
    bytes.reserve(4 + qsizetype(rows) * (16 + 2 * qsizetype(vocab)));
    bytes.append(reinterpret_cast<const char*>(&r), 4);
    for (int i = 0; i < rows; ++i) {
        const KldBaseRow row =
            KldBaseRow::fromLogits(logits + std::size_t(i) * std::size_t(vocab), vocab, targets[i]);
        bytes.append(reinterpret_cast<const char*>(&row.minLogProb), 4);
        bytes.append(reinterpret_cast<const char*>(&row.scale), 4);
        bytes.append(reinterpret_cast<const char*>(&row.targetLogProb), 4);
        bytes.append(reinterpret_cast<const char*>(&row.argmax), 4);
        bytes.append(reinterpret_cast<const char*>(row.q.data()), qsizetype(row.q.size() * 2));
    }
    m_file.write(bytes);
}

void KldBaseWriter::commit(double basePpl, double basePplError)
{
    m_file.write(&kTrailerTag, 4);
    m_file.write(&basePpl, 8);
    m_file.write(&basePplError, 8);
    m_file.commit();
}

KldBaseReader::KldBaseReader(const QString& path) : m_file(path)
{
    if (!m_file.open(QIODevice::ReadOnly))
        throw Error::inFile(path, u"cannot open KLD base: " + m_file.errorString());
    char magic[8];
    std::uint32_t len = 0;
    if (m_file.read(magic, 8) != 8 || std::memcmp(magic, kMagic, 8) != 0 ||
        m_file.read(reinterpret_cast<char*>(&len), 4) != 4 || len > (1u << 20))
        throw Error::inFile(path, QStringLiteral("not a QuantScope KLD base file"));
    const QJsonDocument doc = QJsonDocument::fromJson(m_file.read(len));
    if (!doc.isObject())
        throw Error::inFile(path, QStringLiteral("KLD base header is corrupt"));
    m_key = KldBaseKey::fromJson(doc.object());
    // The trailer (base perplexity) sits at the end: read it now, then rewind to the chunks.
    const qint64 dataStart = m_file.pos();
    std::uint32_t tag = 0;
    if (!m_file.seek(m_file.size() - 20) || m_file.read(reinterpret_cast<char*>(&tag), 4) != 4 ||
        tag != kTrailerTag || m_file.read(reinterpret_cast<char*>(&m_basePpl), 8) != 8 ||
        m_file.read(reinterpret_cast<char*>(&m_basePplError), 8) != 8)
        throw Error::inFile(path, QStringLiteral("KLD base file is truncated (no trailer)"));
    m_file.seek(dataStart);
}

void KldBaseReader::readChunk(int expectedChunk, std::vector<KldBaseRow>& rows)
{
    if (expectedChunk != m_nextChunk)
        throw Error::inFile(m_file.fileName(), QStringLiteral("chunks must be read in order"));
    std::uint32_t n = 0;
    if (m_file.read(reinterpret_cast<char*>(&n), 4) != 4 || n == kTrailerTag)
        throw Error::inFile(m_file.fileName(),
                            QStringLiteral("KLD base ends before chunk %1").arg(expectedChunk));
    rows.resize(n);
    for (KldBaseRow& r : rows) {
        r.q.resize(std::size_t(m_key.vocab));
        const qint64 bytes = qint64(r.q.size() * 2);
        if (m_file.read(reinterpret_cast<char*>(&r.minLogProb), 4) != 4 ||
            m_file.read(reinterpret_cast<char*>(&r.scale), 4) != 4 ||
            m_file.read(reinterpret_cast<char*>(&r.targetLogProb), 4) != 4 ||
            m_file.read(reinterpret_cast<char*>(&r.argmax), 4) != 4 ||
            m_file.read(reinterpret_cast<char*>(r.q.data()), bytes) != bytes)
            throw Error::inFile(m_file.fileName(),
                                QStringLiteral("KLD base is truncated in chunk %1").arg(expectedChunk));
    }
    ++m_nextChunk;
}

void KldAccumulator::addChunk(const float* logits, int rows, int vocab, const int* targets,
                              const std::vector<KldBaseRow>& base)
{
    if (int(base.size()) != rows)
        throw Error(QStringLiteral("KLD base chunk has %1 rows, this run %2").arg(base.size()).arg(rows));
    std::vector<double> lpBase;
    double chunkDelta = 0;
    for (int i = 0; i < rows; ++i) {
        const float* row = logits + std::size_t(i) * std::size_t(vocab);
        const KldBaseRow& b = base[std::size_t(i)];
        const double lse = logSumExp(row, vocab);
        b.logProbs(lpBase);
        double kld = 0;
        int argmax = 0;
        for (int v = 0; v < vocab; ++v) {
            const double lpb = lpBase[std::size_t(v)];
            kld += std::exp(lpb) * (lpb - (double(row[v]) - lse));
            if (row[v] > row[argmax])
                argmax = v;
        }
        m_kld.push_back(std::max(0.0, kld)); // rounding of the stored base can dip a hair below 0
        m_sameTop += argmax == b.argmax ? 1 : 0;
        // Δp of the correct next token: this run's probability minus the base's (exact f32 stored).
        m_deltaP.push_back(std::exp(double(row[targets[i]]) - lse) - std::exp(double(b.targetLogProb)));
        const double nll = lse - double(row[targets[i]]), baseNll = -double(b.targetLogProb);
        m_nll += nll;
        m_baseNll += baseNll;
        chunkDelta += nll - baseNll;
    }
    if (rows > 0) {
        m_chunkDeltaNll.push_back(chunkDelta / rows);
        m_chunkTokens.push_back(rows);
    }
}

KldStats KldAccumulator::finish() const
{
    KldStats s;
    s.tokens = std::int64_t(m_kld.size());
    if (m_kld.empty())
        return s;
    const double n = double(m_kld.size());
    double sum = 0, sum2 = 0;
    for (double k : m_kld) {
        sum += k;
        sum2 += k * k;
    }
    s.meanKld = sum / n;
    s.meanKldError = n > 1 ? std::sqrt(std::max(0.0, sum2 / n - s.meanKld * s.meanKld) / (n - 1)) : 0;
    std::vector<double> sorted = m_kld;
    std::sort(sorted.begin(), sorted.end());
    s.medianKld = percentile(sorted, 50);
    s.p90Kld = percentile(sorted, 90);
    s.p95Kld = percentile(sorted, 95);
    s.p99Kld = percentile(sorted, 99);
    s.p999Kld = percentile(sorted, 99.9);
    s.maxKld = sorted.back();
    s.minKld = sorted.front();
    const double p = double(m_sameTop) / n;
    s.sameTopPercent = 100.0 * p;
    s.sameTopError = 100.0 * std::sqrt(p * (1 - p) / n);
    double dsum = 0, dsum2 = 0;
    for (double d : m_deltaP) {
        dsum += d;
        dsum2 += d * d;
    }
    s.meanDeltaP = dsum / n;
    s.rmsDeltaP = std::sqrt(dsum2 / n);
    // Error of the RMS by propagation of the error of the mean of squares.
    double var4 = 0;
    for (double d : m_deltaP)
        var4 += (d * d - dsum2 / n) * (d * d - dsum2 / n);
    s.rmsDeltaPError = (n > 1 && s.rmsDeltaP > 0) ? std::sqrt(var4 / (n - 1) / n) / (2 * s.rmsDeltaP) : 0;
    std::vector<double> dsorted = m_deltaP;
    std::sort(dsorted.begin(), dsorted.end());
    for (double q : {0.1, 1.0, 5.0, 10.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.9})
        s.deltaPPercentiles.emplace_back(q, percentile(dsorted, q));

    // Paired perplexity change. The mean over tokens is the chunk means weighted by their tokens;
    // its variance treats each chunk as one sample (the ratio estimator of cluster sampling).
    s.deltaLnPpl = (m_nll - m_baseNll) / n;
    s.deltaPpl = std::exp(m_nll / n) - std::exp(m_baseNll / n);
    s.chunkDeltaNll = m_chunkDeltaNll;
    s.chunkTokens = m_chunkTokens;
    const std::size_t chunks = m_chunkDeltaNll.size();
    s.deltaLnPplError = s.deltaPplError = std::numeric_limits<double>::quiet_NaN();
    if (chunks > 1) {
        double var = 0;
        for (std::size_t c = 0; c < chunks; ++c) {
            const double w = double(m_chunkTokens[c]) / n;
            var += w * w * (m_chunkDeltaNll[c] - s.deltaLnPpl) * (m_chunkDeltaNll[c] - s.deltaLnPpl);
        }
        s.deltaLnPplError = std::sqrt(var * double(chunks) / double(chunks - 1));
        s.deltaPplError = std::exp(m_nll / n) * s.deltaLnPplError;
    }
    return s;
}

QJsonObject KldStats::toJson() const
{
    // NaN (an error not measured) as null: JSON has no NaN.
    auto jsonNumber = [](double v) { return std::isfinite(v) ? QJsonValue(v) : QJsonValue(); };
    QJsonArray chunkDeltas, chunkCounts;
    for (double d : chunkDeltaNll)
        chunkDeltas.append(d);
    for (int t : chunkTokens)
        chunkCounts.append(t);
    QJsonObject dp;
    for (const auto& [q, v] : deltaPPercentiles)
        dp.insert(QString::number(q), v);
    return QJsonObject{{QStringLiteral("tokens"), qint64(tokens)},
                       {QStringLiteral("mean_kld"), meanKld},
                       {QStringLiteral("mean_kld_error"), meanKldError},
                       {QStringLiteral("median_kld"), medianKld},
                       {QStringLiteral("p90_kld"), p90Kld},
                       {QStringLiteral("p95_kld"), p95Kld},
                       {QStringLiteral("p99_kld"), p99Kld},
                       {QStringLiteral("p99_9_kld"), p999Kld},
                       {QStringLiteral("max_kld"), maxKld},
                       {QStringLiteral("min_kld"), minKld},
                       {QStringLiteral("same_top_percent"), sameTopPercent},
                       {QStringLiteral("same_top_error"), sameTopError},
                       {QStringLiteral("rms_delta_p"), rmsDeltaP},
                       {QStringLiteral("rms_delta_p_error"), rmsDeltaPError},
                       {QStringLiteral("mean_delta_p"), meanDeltaP},
                       {QStringLiteral("delta_p_percentiles"), dp},
                       {QStringLiteral("base_ppl"), basePpl},
                       {QStringLiteral("base_ppl_error"), basePplError},
                       {QStringLiteral("delta_ln_ppl"), deltaLnPpl},
                       {QStringLiteral("delta_ln_ppl_error"), jsonNumber(deltaLnPplError)},
                       {QStringLiteral("delta_ppl"), deltaPpl},
                       {QStringLiteral("delta_ppl_error"), jsonNumber(deltaPplError)},
                       {QStringLiteral("chunk_delta_nll"), chunkDeltas},
                       {QStringLiteral("chunk_tokens"), chunkCounts}};
}

} // namespace qs
