#include "checkpoint/QuantizedModelIO.h"

#include "checkpoint/HfQuantExport.h"
#include "io/MappedFile.h"
#include "io/SafetensorsWriter.h"
#include "io/TensorStore.h"
#include "kernels/AdditiveCodes.h"
#include "kernels/BitPacking.h"
#include "kernels/Convert.h"
#include "kernels/GgmlQuants.h"
#include "model/Model.h"
#include "quant/QuantizeJob.h"
#include "spec/QuantizedTensor.h"
#include "util/AtomicFile.h"
#include "util/Error.h"
#include "util/Threads.h"

#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QSet>
#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <memory>

namespace qs {

namespace {

void addInts(SafetensorsWriter& w, const QString& name, const std::vector<std::int32_t>& v,
             const std::shared_ptr<const QuantizedTensor>& keep)
{
    w.addTensorBytesView(name, DType::I32, {std::int64_t(v.size())}, v.data(), keep);
}

void addFloats(SafetensorsWriter& w, const QString& name, DType dtype, std::vector<std::int64_t> shape,
               const std::vector<float>& v, const std::shared_ptr<const QuantizedTensor>& keep)
{
    w.addTensorF32View(name, dtype, std::move(shape), v.data(), v.size(), keep);
}

/// `.qweight` of an integer layer: its codes as one little-endian bit stream, packed a block of
/// rows at a time from the layer's packed form when it was written (never all codes one per byte).
void addCodeStream(SafetensorsWriter& w, const QString& name, const std::shared_ptr<const QuantizedTensor>& q)
{
    const int bits = q->spec.bits;
    const std::uint64_t count = std::uint64_t(q->rows * q->cols);
    w.addTensor(name, DType::U8, {std::int64_t((count * std::uint64_t(bits) + 7) / 8)},
                [q, bits](unsigned char* dst, std::uint64_t) {
                    // A multiple of 8 rows starts on a whole byte whatever the bits and columns, so the
                    // blocks write disjoint bytes and spread over the compute threads.
                    const std::int64_t cols = q->cols;
                    const std::int64_t block =
                        std::max<std::int64_t>(8, ((std::int64_t(1) << 20) / cols) / 8 * 8);
                    const std::int64_t blocks = (q->rows + block - 1) / block;
                    forEachRowRange(blocks, block * cols, [&](std::int64_t first, std::int64_t count) {
                        std::vector<std::uint8_t> codes;
                        for (std::int64_t b = first; b < first + count; ++b) {
                            const std::int64_t r0 = b * block, r1 = std::min(q->rows, r0 + block);
                            codes.resize(std::size_t((r1 - r0) * cols));
                            q->codeRows(r0, r1, codes.data());
                            packCodesInto(codes.data(), codes.size(), bits,
                                          dst + std::uint64_t(r0 * cols) * std::uint64_t(bits) / 8);
                        }
                    });
                });
}

void copyFileInto(const QString& from, const QString& dir)
{
    if (from.isEmpty() || !QFileInfo::exists(from))
        return;
    const QString to = QDir(dir).filePath(QFileInfo(from).fileName());
    if (!QFile::copy(from, to))
        throw Error::inFile(to, QStringLiteral("cannot copy %1 (disk full?)").arg(from));
}

/// Partial folders of writers that died (kill -9, a crash, power loss) before they could clean up:
/// `prefix` + the writer's pid, where no process of that pid is running.
void removeAbandonedPartials(const QString& parent, const QString& prefix)
{
    const QStringList names =
        QDir(parent).entryList({prefix + u'*'}, QDir::Dirs | QDir::Hidden | QDir::NoDotAndDotDot);
    for (const QString& name : names) {
        bool ok = false;
        const qint64 pid = name.mid(prefix.size()).toLongLong(&ok);
        if (ok && pid > 0 && pid != QCoreApplication::applicationPid() && ::kill(pid_t(pid), 0) != 0 &&
            errno == ESRCH)
            QDir(QDir(parent).filePath(name)).removeRecursively();
    }
}

/// The finished files on disk before the folder that holds them takes the output's name.
void syncFolder(const QString& dir)
{
    for (const QString& name : QDir(dir).entryList(QDir::Files | QDir::Hidden)) {
        const QString path = QDir(dir).filePath(name);
        if (const int error = syncPath(path); error != 0)
            throw Error::inFile(path, u"cannot write: " + systemErrorText(error));
    }
}

/// Puts the folder `tmp` at `outDir` in one step. An existing `outDir` is swapped with `tmp`
/// (renameat2 RENAME_EXCHANGE), so a crash at any moment leaves the old folder or the new one at
/// `outDir`, never neither; the old one is then in `tmp`, for the caller to remove. A file system
/// without the exchange (it answers EINVAL) gets remove-then-rename, which is not crash-safe.
void replaceFolder(const QString& tmp, const QString& outDir)
{
    const QByteArray from = QFile::encodeName(tmp), to = QFile::encodeName(outDir);
    if (QFileInfo(outDir).isDir()) {
        if (::renameat2(AT_FDCWD, from.constData(), AT_FDCWD, to.constData(), RENAME_EXCHANGE) == 0)
            return;
        if (errno != EINVAL)
            throw Error::inFile(outDir,
                                u"cannot move the finished model into place: " + systemErrorText(errno));
        if (!QDir(outDir).removeRecursively())
            throw Error::inFile(outDir, QStringLiteral("cannot replace the existing output folder"));
    } else if (QFileInfo::exists(outDir)) {
        throw Error::inFile(outDir, QStringLiteral("is a file, not a folder: not replaced"));
    }
    if (std::rename(from.constData(), to.constData()) != 0)
        throw Error::inFile(outDir, u"cannot move the finished model into place: " + systemErrorText(errno));
}

} // namespace

void writeModelFolderAtomically(const QString& outDir, const QString& modelDir,
                                const std::function<void(const QString& tmp)>& fill)
{
    const QFileInfo out(outDir);
    const QString parent = out.absolutePath();
    if (!QDir().mkpath(parent))
        throw Error::inFile(parent, QStringLiteral("cannot create folder"));
    const QString prefix = QStringLiteral(".%1.partial-").arg(out.fileName());
    removeAbandonedPartials(parent, prefix);
    const QString tmp = QDir(parent).filePath(prefix + QString::number(QCoreApplication::applicationPid()));
    QDir(tmp).removeRecursively();
    if (!QDir().mkpath(tmp))
        throw Error::inFile(tmp, QStringLiteral("cannot create folder"));
    try {
        fill(tmp);
        for (const char* f : {"tokenizer.json", "tokenizer.model", "tokenizer_config.json",
                              "generation_config.json", "special_tokens_map.json"})
            copyFileInto(QDir(modelDir).filePath(QLatin1String(f)), tmp);
        syncFolder(tmp);
        replaceFolder(tmp, outDir);
    } catch (...) {
        QDir(tmp).removeRecursively();
        throw;
    }
    QDir(tmp).removeRecursively(); // the old folder, when there was one (swapped into tmp)
}

void saveQuantizedModel(const QString& outDir, const Model& base, const QuantizeResult& result,
                        const QJsonObject& recipe, const QJsonObject& extraInfo, const QJsonObject& runJson)
{
    if (base.ggufFile())
        throw Error::inFile(
            base.path(), QStringLiteral("a quantized copy of a GGUF model cannot be saved as a Hugging Face "
                                        "folder; quantize the original model, or export GGUF"));
    writeModelFolderAtomically(outDir, base.path(), [&](const QString& tmp) {
        SafetensorsWriter w;
        const TensorStore& ts = base.tensors();
        // The linears' stored tensors are replaced by the result's: a float base's `<name>.weight`, and
        // every tensor of a quantized base's layer (`.qweight`, `.scales`, …) but its bias.
        // A layer the result has no tensor for and the base stores as a plain float weight (a GPTQ/AWQ
        // folder's unquantized lm_head, retrained) is copied as stored.
        QSet<QString> linearWeights;
        for (std::size_t i = 0; i < base.linears().size(); ++i) {
            const LinearLayerInfo& l = base.linears()[i];
            if (!result.tensors.at(i) && !l.quant)
                continue;
            linearWeights.insert(l.weight);
            if (l.quant)
                for (const QString& name : ts.names())
                    if (name.startsWith(l.name + u'.') && name != l.bias)
                        linearWeights.insert(name);
        }
        // Non-linear tensors (embeddings, norms, biases) exactly as stored, copied from the map
        // piece by piece as they are written (their pages dropped again after).
        for (const QString& name : ts.names()) {
            if (linearWeights.contains(name))
                continue;
            const TensorInfo& info = ts.info(name);
            const std::uint64_t bytes = info.bytes();
            const unsigned char* src = ts.rawData(name);
            w.addTensorRange(
                name, info.dtype, info.shape,
                [&ts, name, src, bytes](unsigned char* dst, std::uint64_t offset, std::uint64_t n) {
                    std::memcpy(dst, src + offset, n);
                    releaseMappedPages(src + offset, n);
                    if (offset + n == bytes) // and the pages the pieces share
                        ts.releasePages(name);
                });
        }
        // The layers are written from the result's tensors as they are (nothing is copied here).
        QJsonObject layers;
        for (std::size_t i = 0; i < base.linears().size(); ++i) {
            const LinearLayerInfo& l = base.linears()[i];
            const std::shared_ptr<const QuantizedTensor>& qp = result.tensors.at(i);
            if (!qp && !l.quant)
                continue; // copied above as stored
            if (!qp)
                throw Error(l.name + QStringLiteral(": the run has no quantized tensor for this layer"));
            const QuantizedTensor& q = *qp;
            QJsonObject spec = q.spec.toJson();
            layers.insert(l.name, spec);
            if (q.spec.method == QuantMethod::Float) {
                addFloats(w, l.name + u".weight", q.spec.floatType, {q.rows, q.cols}, q.floatWeights, qp);
                continue;
            }
            if (q.spec.method == QuantMethod::Ggml) { // ggml blocks as GGUF stores them, one row per row
                w.addTensorBytesView(l.name + u".qweight", DType::U8,
                                     {q.rows, std::int64_t(ggmlRowBytes(q.spec.ggmlType, q.cols))},
                                     q.ggmlData.data(), qp);
                continue;
            }
            addCodeStream(w, l.name + u".qweight", qp);
            if (q.spec.usesCodebook()) { // SqueezeLLM: the row codebooks and the sparse matrix (CSR)
                addFloats(w, l.name + u".codebook", DType::F16, {q.rows, std::int64_t(1) << q.spec.bits},
                          q.codebook, qp);
                if (!q.sparseRowStart.empty()) {
                    addInts(w, l.name + u".sparse_row_start", q.sparseRowStart, qp);
                    addInts(w, l.name + u".sparse_cols", q.sparseColumns, qp);
                    addFloats(w, l.name + u".sparse_values", DType::F16,
                              {std::int64_t(q.sparseValues.size())}, q.sparseValues, qp);
                }
                continue;
            }
            const std::int64_t nScales = std::int64_t(q.scales.size());
            const std::vector<std::int64_t> scaleShape =
                q.spec.granularity == Granularity::PerTensor
                    ? std::vector<std::int64_t>{1}
                    : std::vector<std::int64_t>{q.rows, nScales / q.rows};
            addFloats(w, l.name + u".scales", q.spec.scaleType, scaleShape, q.scales, qp);
            if (!q.spec.symmetric) {
                if (q.spec.floatZeros) {
                    addFloats(w, l.name + u".zeros", q.spec.scaleType, scaleShape, q.zeros, qp);
                } else {
                    std::vector<std::uint8_t> z(q.zeros.size());
                    for (std::size_t k = 0; k < z.size(); ++k)
                        z[k] = std::uint8_t(q.zeros[k]);
                    const std::vector<std::uint8_t> zp = packCodes(z, q.spec.bits);
                    w.addTensorBytes(l.name + u".qzeros", DType::U8, {std::int64_t(zp.size())}, zp);
                }
            }
            if (!q.groupIndex.empty())
                addInts(w, l.name + u".g_idx", q.groupIndex, qp);
            if (!q.inputScales.empty())
                addFloats(w, l.name + u".input_scales", DType::F16, {q.cols}, q.inputScales, qp);
            if (q.spec.usesAdditive()) // AQLM: the layer's codebooks, one entry of 8 values a row
                addFloats(w, l.name + u".codebook", DType::F16,
                          {std::int64_t(q.codebook.size()) / aq::kDim, aq::kDim}, q.codebook, qp);
            if (q.rotation) { // incoherence: the signs as bits (1 = −1), the odd-size factor in f32
                std::vector<std::uint8_t> neg(q.rotation->signs.size());
                for (std::size_t k = 0; k < neg.size(); ++k)
                    neg[k] = q.rotation->signs[k] < 0 ? 1 : 0;
                const std::vector<std::uint8_t> bits = packCodes(neg, 1);
                w.addTensorBytes(l.name + u".rotation_signs", DType::U8, {std::int64_t(bits.size())}, bits);
                if (!q.rotation->small.empty())
                    addFloats(w, l.name + u".rotation_matrix", DType::F32, {q.rotation->m, q.rotation->m},
                              q.rotation->small, qp);
            }
            if (!q.outlierColumns.empty()) {
                addInts(w, l.name + u".outlier_cols", q.outlierColumns, qp);
                addFloats(w, l.name + u".outlier_weight", DType::F16,
                          {q.rows, std::int64_t(q.outlierColumns.size())}, q.outlierWeights, qp);
            }
        }
        QJsonObject info = extraInfo;
        if (!info.contains(QStringLiteral("base_model"))) // a retrained checkpoint names its float model
            info.insert(QStringLiteral("base_model"), base.path());
        info.insert(QStringLiteral("recipe"), recipe);
        info.insert(QStringLiteral("result"), result.toJson());
        w.setMetadata(QStringLiteral("format"), QStringLiteral("quantscope-quantized"));
        w.setMetadata(QStringLiteral("quantscope.version"), QStringLiteral(QUANTSCOPE_VERSION));
        w.setMetadata(QStringLiteral("quantscope.layers"),
                      QString::fromUtf8(QJsonDocument(layers).toJson(QJsonDocument::Compact)));
        w.setMetadata(QStringLiteral("quantscope.info"),
                      QString::fromUtf8(QJsonDocument(info).toJson(QJsonDocument::Compact)));
        w.write(QDir(tmp).filePath(QStringLiteral("model.safetensors")));

        copyFileInto(QDir(base.path()).filePath(QStringLiteral("config.json")), tmp);
        if (!runJson.isEmpty())
            writeFileAtomically(QDir(tmp).filePath(QStringLiteral("run.json")),
                                QJsonDocument(runJson).toJson());
    });
}

} // namespace qs
