#include "quant/Imatrix.h"

#include "eval/Evaluation.h"
#include "io/Gguf.h"
#include "model/Model.h"
#include "model/Transformer.h"
#include "recipe/RecipeExport.h"
#include "tokenizer/Tokenizer.h"
#include "util/AtomicFile.h"
#include "util/Error.h"

#include <QFile>
#include <QSet>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <set>

namespace qs {

std::vector<float> ImportanceMatrix::values(const QString& name) const
{
    const Entry* e = find(name);
    if (!e)
        throw Error(QStringLiteral("importance matrix has no entry for tensor '%1'").arg(name));
    std::vector<float> v(e->sumSquares.size());
    const double n = double(std::max<std::int64_t>(e->count, 1));
    for (std::size_t j = 0; j < v.size(); ++j)
        v[j] = float(double(e->sumSquares[j]) / n);
    return v;
}

QStringList ImportanceMatrix::orderedNames() const
{
    if (qsizetype(entries.size()) == fileOrder.size()) {
        bool same = true;
        for (const QString& n : fileOrder)
            same = same && entries.count(n) != 0;
        if (same && QSet<QString>(fileOrder.begin(), fileOrder.end()).size() == fileOrder.size())
            return fileOrder;
    }
    QStringList names;
    for (const auto& [name, e] : entries)
        names << name;
    return names;
}

// ---------------------------------------------------------------------------------------------
// Computation

namespace {

/// Σx² per input column of the collected linears, in f64, for passes of at least
/// kImatrixMinTokens tokens (llama-imatrix ignores smaller matrix products).
class ImatrixHooks : public ForwardHooks
{
public:
    struct Acc
    {
        std::vector<double> sum;
        std::int64_t tokens = 0;
        int calls = 0;
    };
    explicit ImatrixHooks(std::map<int, Acc>& acc) : m_acc(acc) {}
    void linearInput(int index, const float* x, std::int64_t n, std::int64_t in) override
    {
        const auto it = m_acc.find(index);
        if (it == m_acc.end() || n < kImatrixMinTokens)
            return;
        Acc& a = it->second;
        if (a.sum.empty())
            a.sum.assign(std::size_t(in), 0.0);
        if (std::int64_t(a.sum.size()) != in)
            throw Error(QStringLiteral("imatrix: inconsistent input size for linear %1").arg(index));
        for (std::int64_t t = 0; t < n; ++t) {
            const float* row = x + t * in;
            for (std::int64_t j = 0; j < in; ++j) {
                const double v = row[j];
                a.sum[std::size_t(j)] += v * v;
            }
        }
        a.tokens += n;
        ++a.calls;
    }

private:
    std::map<int, Acc>& m_acc;
};

} // namespace

ImportanceMatrix computeImportanceMatrix(const Transformer& model, const std::vector<int>& tokens, int bosId,
                                         const ImatrixOptions& opt, const JobContext& job)
{
    if (opt.ctx < kImatrixMinTokens)
        throw Error(
            QStringLiteral("imatrix: context of %1 tokens is too small (llama-imatrix collects nothing "
                           "from passes under %2 tokens)")
                .arg(opt.ctx)
                .arg(kImatrixMinTokens));
    const std::int64_t available = std::int64_t(tokens.size()) / opt.ctx;
    if (available < 1)
        throw Error(QStringLiteral("imatrix: the text has %1 tokens, fewer than one chunk of %2")
                        .arg(tokens.size())
                        .arg(opt.ctx));
    const int nChunks = int(opt.chunks < 0 ? available : std::min<std::int64_t>(opt.chunks, available));

    const Model& m = model.model();
    std::map<int, ImatrixHooks::Acc> acc;
    std::map<int, QString> names;
    for (int i = 0; i < int(m.linears().size()); ++i) {
        if (i == model.headLinearIndex() && !opt.includeOutput)
            continue;
        acc[i];
        names[i] = ggufTensorName(m, i);
    }
    const bool runHead = opt.includeOutput && model.headLinearIndex() >= 0;
    ImatrixHooks hooks(acc);

    const auto t0 = std::chrono::steady_clock::now();
    std::vector<int> chunk(std::size_t(opt.ctx));
    std::vector<float> logits;
    for (int c = 0; c < nChunks; ++c) {
        job.checkCancelled();
        std::copy(tokens.begin() + std::ptrdiff_t(c) * opt.ctx,
                  tokens.begin() + std::ptrdiff_t(c + 1) * opt.ctx, chunk.begin());
        if (bosId >= 0)
            chunk[0] = bosId;
        KvCache cache = model.makeCache(opt.ctx);
        for (int start = 0; start < opt.ctx; start += kImatrixUbatch) {
            const int n = std::min(kImatrixUbatch, opt.ctx - start);
            if (runHead)
                logits.resize(std::size_t(n) * std::size_t(model.vocabSize()));
            model.forward(cache, chunk.data() + start, n, logits.data(), runHead ? 0 : n, &hooks);
        }
        const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        job.report(double(c + 1) / nChunks, QStringLiteral("imatrix"),
                   QStringLiteral("chunk %1/%2").arg(c + 1).arg(nChunks),
                   elapsed / (c + 1) * (nChunks - c - 1));
    }

    ImportanceMatrix out;
    out.chunks = nChunks;
    out.chunkSize = opt.ctx;
    if (!opt.dataset.isEmpty())
        out.datasets << opt.dataset;
    for (auto& [index, a] : acc) {
        if (a.tokens == 0)
            continue;
        ImportanceMatrix::Entry e;
        e.sumSquares.resize(a.sum.size());
        for (std::size_t j = 0; j < a.sum.size(); ++j)
            e.sumSquares[j] = float(a.sum[j]);
        e.count = a.tokens;
        e.calls = a.calls;
        out.entries[names[index]] = std::move(e);
    }
    return out;
}

ImportanceMatrix computeImportanceMatrix(const Transformer& model, const Tokenizer& tokenizer,
                                         const QString& textPath, const ImatrixOptions& opt,
                                         const JobContext& job)
{
    const QByteArray text = readTextFile(textPath);
    job.report(-1, QStringLiteral("tokenizing"), textPath);
    const std::vector<int> tokens =
        tokenizer.encode(std::string_view(text.constData(), std::size_t(text.size())), true);
    try {
        return computeImportanceMatrix(model, tokens, tokenizer.bosId(), opt, job);
    } catch (const Cancelled&) {
        throw;
    } catch (const Error& e) {
        throw Error::inFile(textPath, e.message());
    }
}

// ---------------------------------------------------------------------------------------------
// Model check

void checkImatrixForModel(const ImportanceMatrix& m, const Model& model, const QString& file)
{
    std::map<QString, std::int64_t> columns;
    for (int i = 0; i < int(model.linears().size()); ++i)
        columns[ggufTensorName(model, i)] = model.linears()[std::size_t(i)].inFeatures;
    for (const auto& [name, e] : m.entries) {
        const auto it = columns.find(name);
        if (it == columns.end())
            throw Error::inFile(
                file, QStringLiteral("imatrix for another model: tensor '%1' is not a linear weight of "
                                     "model %2")
                          .arg(name, model.path()));
        if (std::int64_t(e.sumSquares.size()) != it->second)
            throw Error::inFile(file,
                                QStringLiteral("imatrix for another model: tensor '%1' has %2 columns, the "
                                               "model's weight has %3 input features")
                                    .arg(name)
                                    .arg(e.sumSquares.size())
                                    .arg(it->second));
    }
}

// ---------------------------------------------------------------------------------------------
// Legacy binary format

namespace {

class Reader
{
public:
    Reader(const QString& path, const QByteArray& bytes) : m_path(path), m_b(bytes) {}
    qsizetype remaining() const { return m_b.size() - m_pos; }
    qsizetype pos() const { return m_pos; }
    std::int32_t i32(const QString& what)
    {
        need(4, what);
        std::int32_t v;
        std::memcpy(&v, m_b.constData() + m_pos, 4);
        m_pos += 4;
        return v;
    }
    QByteArray bytes(qsizetype n, const QString& what)
    {
        need(n, what);
        QByteArray out = m_b.mid(m_pos, n);
        m_pos += n;
        return out;
    }
    void need(qsizetype n, const QString& what) const
    {
        if (n > remaining())
            throw Error::inFile(m_path, QStringLiteral("truncated at offset %1: %2 needs %3 bytes, %4 left")
                                            .arg(m_pos)
                                            .arg(what)
                                            .arg(n)
                                            .arg(remaining()));
    }

private:
    QString m_path;
    const QByteArray& m_b;
    qsizetype m_pos = 0;
};

ImportanceMatrix readLegacy(const QString& path, const QByteArray& data)
{
    Reader r(path, data);
    ImportanceMatrix m;
    const std::int32_t nEntries = r.i32(QStringLiteral("the entry count"));
    // Each entry takes at least 4 (name length) + 1 (name) + 4 (ncall) + 4 (nval) + 4 (one value) bytes.
    if (nEntries < 1 || std::int64_t(nEntries) * 17 > r.remaining())
        throw Error::inFile(
            path, QStringLiteral("entry count %1 is impossible for a file of %2 bytes (not an imatrix "
                                 "file, or truncated)")
                      .arg(nEntries)
                      .arg(data.size()));
    for (std::int32_t i = 0; i < nEntries; ++i) {
        const QString at = QStringLiteral("entry %1").arg(i + 1);
        const std::int32_t len = r.i32(at + QStringLiteral(" name length"));
        if (len < 1 || len > r.remaining())
            throw Error::inFile(path, QStringLiteral("%1: name length %2 is out of range (%3 bytes left)")
                                          .arg(at)
                                          .arg(len)
                                          .arg(r.remaining()));
        const QByteArray nameBytes = r.bytes(len, at + QStringLiteral(" name"));
        const QString name = QString::fromUtf8(nameBytes);
        const QString ent = QStringLiteral("entry '%1'").arg(name);
        const std::int32_t ncall = r.i32(ent + QStringLiteral(" ncall"));
        const std::int32_t nval = r.i32(ent + QStringLiteral(" value count"));
        if (ncall < 1)
            throw Error::inFile(path, QStringLiteral("%1: ncall %2 must be positive").arg(ent).arg(ncall));
        if (nval < 1 || std::int64_t(nval) * 4 > r.remaining())
            throw Error::inFile(
                path, QStringLiteral("%1: value count %2 is out of range (%3 bytes left; truncated?)")
                          .arg(ent)
                          .arg(nval)
                          .arg(r.remaining()));
        if (m.entries.count(name))
            throw Error::inFile(path, QStringLiteral("%1 appears twice").arg(ent));
        const QByteArray raw = r.bytes(qsizetype(nval) * 4, ent + QStringLiteral(" values"));
        ImportanceMatrix::Entry e;
        e.sumSquares.resize(std::size_t(nval));
        std::memcpy(e.sumSquares.data(), raw.constData(), std::size_t(raw.size()));
        for (std::size_t j = 0; j < e.sumSquares.size(); ++j)
            if (!std::isfinite(e.sumSquares[j]) || e.sumSquares[j] < 0)
                throw Error::inFile(
                    path, QStringLiteral("%1: value %2 of column %3 is not a finite non-negative number")
                              .arg(ent)
                              .arg(double(e.sumSquares[j]))
                              .arg(j));
        e.count = ncall;
        e.calls = ncall;
        m.entries.emplace(name, std::move(e));
        m.fileOrder << name;
    }
    // Optional trailer: last call count, then the dataset name.
    if (r.remaining() > 0) {
        const std::int32_t last = r.i32(QStringLiteral("the chunk count"));
        if (last < 0)
            throw Error::inFile(path, QStringLiteral("chunk count %1 is negative").arg(last));
        m.chunks = last;
        if (r.remaining() > 0) {
            const std::int32_t len = r.i32(QStringLiteral("the dataset name length"));
            if (len < 0 || len > r.remaining())
                throw Error::inFile(path,
                                    QStringLiteral("dataset name length %1 is out of range (%2 bytes left)")
                                        .arg(len)
                                        .arg(r.remaining()));
            m.datasets << QString::fromUtf8(r.bytes(len, QStringLiteral("the dataset name")));
        }
        if (r.remaining() != 0)
            throw Error::inFile(
                path, QStringLiteral("%1 unexpected bytes after the dataset name").arg(r.remaining()));
    } else {
        for (const auto& [n, e] : m.entries)
            m.chunks = std::max(m.chunks, e.calls);
    }
    return m;
}

template <typename T>
void appendLe(QByteArray& b, T v)
{
    b.append(reinterpret_cast<const char*>(&v), qsizetype(sizeof(T)));
}

void saveAtomic(const QString& path, const QByteArray& bytes)
{
    writeFileAtomically(path, bytes);
}

void checkWritable(const ImportanceMatrix& m, const QString& path)
{
    if (m.entries.empty())
        throw Error::inFile(path, QStringLiteral("cannot write an empty importance matrix"));
    for (const auto& [name, e] : m.entries) {
        if (e.sumSquares.empty() || e.count < 1)
            throw Error::inFile(path, QStringLiteral("entry '%1' has no data").arg(name));
        if (e.sumSquares.size() > std::size_t(std::numeric_limits<std::int32_t>::max() / 4))
            throw Error::inFile(path, QStringLiteral("entry '%1' has too many columns").arg(name));
    }
}

} // namespace

void writeImatrixLegacy(const ImportanceMatrix& m, const QString& path)
{
    checkWritable(m, path);
    QByteArray b;
    appendLe(b, std::int32_t(m.entries.size()));
    int lastCall = 0;
    for (const QString& name : m.orderedNames()) {
        const ImportanceMatrix::Entry& e = m.entries.at(name);
        const QByteArray n = name.toUtf8();
        const int calls = std::max(e.calls, 1);
        lastCall = std::max(lastCall, calls);
        appendLe(b, std::int32_t(n.size()));
        b.append(n);
        appendLe(b, std::int32_t(calls));
        appendLe(b, std::int32_t(e.sumSquares.size()));
        // llama-imatrix stores the mean times ncall (llama-quantize divides by ncall again).
        for (const float s : e.sumSquares)
            appendLe(b, float(double(s) / double(e.count) * double(calls)));
    }
    appendLe(b, std::int32_t(m.entries.empty() ? m.chunks : lastCall));
    const QByteArray ds = m.datasets.isEmpty() ? QByteArray() : m.datasets.back().toUtf8();
    appendLe(b, std::int32_t(ds.size()));
    b.append(ds);
    saveAtomic(path, b);
}

// ---------------------------------------------------------------------------------------------
// GGUF format

namespace {

const QString kInSum2 = QStringLiteral(".in_sum2");
const QString kCounts = QStringLiteral(".counts");
const QString kInSum = QStringLiteral(".in_sum");

ImportanceMatrix readGguf(const std::shared_ptr<const GgufFile>& f)
{
    const QString& path = f->path();
    ImportanceMatrix m;
    const QString type = f->getString(QStringLiteral("general.type"), QStringLiteral("imatrix"));
    if (type != u"imatrix")
        throw Error::inFile(path,
                            QStringLiteral("general.type is '%1', not 'imatrix' (a model, not an importance "
                                           "matrix?)")
                                .arg(type));
    if (f->contains(QStringLiteral("imatrix.datasets")))
        m.datasets = f->getStrings(QStringLiteral("imatrix.datasets"));
    const std::int64_t chunks = f->getInt(QStringLiteral("imatrix.chunk_count"), 0);
    const std::int64_t chunkSize = f->getInt(QStringLiteral("imatrix.chunk_size"), 0);
    if (chunks < 0 || chunks > std::numeric_limits<std::int32_t>::max())
        throw Error::inFile(path, QStringLiteral("imatrix.chunk_count %1 is out of range").arg(chunks));
    if (chunkSize < 0 || chunkSize > std::numeric_limits<std::int32_t>::max())
        throw Error::inFile(path, QStringLiteral("imatrix.chunk_size %1 is out of range").arg(chunkSize));
    m.chunks = int(chunks);
    m.chunkSize = int(chunkSize);

    struct Pair
    {
        const GgufTensor* sums = nullptr;
        const GgufTensor* counts = nullptr;
    };
    std::map<QString, Pair> pairs;
    QStringList order;
    for (const GgufTensor& t : f->tensors()) {
        QString base;
        bool isSums = false;
        if (t.name.endsWith(kInSum2)) {
            base = t.name.chopped(kInSum2.size());
            isSums = true;
        } else if (t.name.endsWith(kCounts)) {
            base = t.name.chopped(kCounts.size());
        } else {
            continue; // ".in_sum" (mean activations) and anything else: not needed here
        }
        if (t.type != GgmlType::F32)
            throw Error::inFile(path, QStringLiteral("tensor '%1' must be F32").arg(t.name));
        const std::int64_t cols = t.rowLength();
        if (t.numel() != cols)
            throw Error::inFile(
                path, QStringLiteral("tensor '%1' holds several matrices (experts); only 2-D weights "
                                     "are supported")
                          .arg(t.name));
        if (isSums && cols < 1)
            throw Error::inFile(path, QStringLiteral("tensor '%1' holds no values").arg(t.name));
        if (!isSums && cols != 1)
            throw Error::inFile(
                path, QStringLiteral("tensor '%1' must hold one count, has %2").arg(t.name).arg(cols));
        Pair& p = pairs[base];
        if (!p.sums && !p.counts)
            order << base;
        (isSums ? p.sums : p.counts) = &t;
    }
    if (pairs.empty())
        throw Error::inFile(path, QStringLiteral("no imatrix entries (no '<name>.in_sum2' tensors)"));
    for (const QString& name : order) {
        const Pair& p = pairs[name];
        if (!p.sums || !p.counts)
            throw Error::inFile(path, QStringLiteral("entry '%1' has %2 but no %3")
                                          .arg(name, p.sums ? kInSum2 : kCounts, p.sums ? kCounts : kInSum2));
        const float c = f->readF32(*p.counts).front();
        if (!std::isfinite(c) || c < 1 || double(c) > 9.0e15 || c != std::round(c))
            throw Error::inFile(path,
                                QStringLiteral("entry '%1': count %2 is not a positive whole number in range")
                                    .arg(name)
                                    .arg(double(c)));
        ImportanceMatrix::Entry e;
        e.sumSquares = f->readF32(*p.sums);
        for (std::size_t j = 0; j < e.sumSquares.size(); ++j)
            if (!std::isfinite(e.sumSquares[j]) || e.sumSquares[j] < 0)
                throw Error::inFile(path, QStringLiteral("entry '%1': value %2 of column %3 is not a finite "
                                                         "non-negative number")
                                              .arg(name)
                                              .arg(double(e.sumSquares[j]))
                                              .arg(j));
        e.count = std::int64_t(c);
        e.calls = m.chunkSize > 0 ? int(std::min<std::int64_t>((e.count + m.chunkSize - 1) / m.chunkSize,
                                                               std::numeric_limits<std::int32_t>::max()))
                                  : 1;
        m.entries.emplace(name, std::move(e));
    }
    m.fileOrder = order;
    return m;
}

} // namespace

void writeImatrixGguf(const ImportanceMatrix& m, const QString& path)
{
    checkWritable(m, path);
    GgufWriter w;
    w.set(QStringLiteral("general.type"), GgufValue("imatrix"));
    w.set(QStringLiteral("imatrix.datasets"), GgufValue::array(m.datasets));
    w.set(QStringLiteral("imatrix.chunk_count"), GgufValue(std::uint32_t(std::max(m.chunks, 0))));
    w.set(QStringLiteral("imatrix.chunk_size"), GgufValue(std::uint32_t(std::max(m.chunkSize, 0))));
    // llama-imatrix writes entries sorted by name (in_sum2, then counts).
    for (const QString& name : m.orderedNames()) {
        const ImportanceMatrix::Entry& e = m.entries.at(name);
        w.addTensorF32(name + kInSum2, GgmlType::F32, {std::int64_t(e.sumSquares.size())}, e.sumSquares);
        w.addTensorF32(name + kCounts, GgmlType::F32, {1}, {float(e.count)});
    }
    w.write(path);
}

void writeImatrix(const ImportanceMatrix& m, const QString& path)
{
    if (path.endsWith(QStringLiteral(".gguf"), Qt::CaseInsensitive))
        writeImatrixGguf(m, path);
    else
        writeImatrixLegacy(m, path);
}

ImportanceMatrix readImatrix(const QString& path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        throw Error::inFile(path, u"cannot open imatrix: " + f.errorString());
    if (f.peek(4) == "GGUF") {
        f.close();
        return readGguf(GgufFile::open(path));
    }
    return readLegacy(path, f.readAll());
}

ImportanceMatrix readImatrix(const QByteArray& bytes, const QString& path)
{
    return bytes.startsWith("GGUF") ? readGguf(GgufFile::fromBytes(bytes, path)) : readLegacy(path, bytes);
}

ImportanceMatrix readImatrix(const QString& path, const Model& model)
{
    ImportanceMatrix m = readImatrix(path);
    checkImatrixForModel(m, model, path);
    return m;
}

} // namespace qs
