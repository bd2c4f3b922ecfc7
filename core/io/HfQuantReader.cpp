#include "io/HfQuantReader.h"

#include "io/TensorStore.h"
#include "kernels/BitPacking.h"
#include "util/Error.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QRegularExpression>
#include <cstring>

namespace qs {

std::optional<HfQuantConfig> readHfQuantConfig(const QString& modelDir)
{
    const QString path = QDir(modelDir).filePath(QStringLiteral("config.json"));
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return std::nullopt;
    const QJsonObject qc =
        QJsonDocument::fromJson(f.readAll()).object().value(QStringLiteral("quantization_config")).toObject();
    const QString method = qc.value(QStringLiteral("quant_method")).toString().toLower();
    if (method != u"gptq" && method != u"awq")
        return std::nullopt;
    HfQuantConfig c;
    c.raw = qc;
    c.path = path;
    c.format = method == u"gptq" ? HfQuantFormat::Gptq : HfQuantFormat::Awq;
    const QString what = u"quantization_config (" + method + u')';
    c.bits = qc.value(QStringLiteral("bits")).toInt(qc.value(QStringLiteral("w_bit")).toInt(4));
    c.groupSize =
        qc.value(QStringLiteral("group_size")).toInt(qc.value(QStringLiteral("q_group_size")).toInt(128));
    if (c.format == HfQuantFormat::Gptq) {
        if (c.bits != 2 && c.bits != 3 && c.bits != 4 && c.bits != 8)
            throw Error::inFile(path, what + QStringLiteral(": bits %1 is not 2, 3, 4 or 8").arg(c.bits));
        c.sym = qc.value(QStringLiteral("sym")).toBool(true);
        c.descAct = qc.value(QStringLiteral("desc_act")).toBool(false);
        const QString cf = qc.value(QStringLiteral("checkpoint_format")).toString(QStringLiteral("gptq"));
        if (cf != u"gptq" && cf != u"gptq_v2")
            throw Error::inFile(path,
                                what + u": checkpoint_format '" + cf + u"' is not supported (gptq, gptq_v2)");
        c.zeroMinusOne = cf == u"gptq";
    } else {
        if (c.bits != 4)
            throw Error::inFile(
                path, what + QStringLiteral(": bits %1; AWQ checkpoints hold 4-bit codes").arg(c.bits));
        const QString v = qc.value(QStringLiteral("version")).toString(QStringLiteral("gemm")).toLower();
        if (v != u"gemm")
            throw Error::inFile(path, what + u": version '" + v + u"' is not supported (gemm)");
        if (!qc.value(QStringLiteral("zero_point")).toBool(true))
            throw Error::inFile(path, what + u": zero_point false is not supported");
        c.sym = false;
        c.zeroMinusOne = false;
    }
    if (c.groupSize == 0 || c.groupSize < -1 || (c.format == HfQuantFormat::Awq && c.groupSize < 1))
        throw Error::inFile(path, what + QStringLiteral(": bad group_size %1").arg(c.groupSize));
    return c;
}

QuantSpec hfLayerSpec(const HfQuantConfig& c)
{
    QuantSpec s;
    s.method = c.format == HfQuantFormat::Gptq ? QuantMethod::Gptq : QuantMethod::Awq;
    s.bits = c.bits;
    s.symmetric = c.sym;
    s.granularity = c.groupSize == -1 ? Granularity::PerChannel : Granularity::PerGroup;
    s.groupSize = c.groupSize == -1 ? 128 : c.groupSize;
    s.scaleType = DType::F16;
    s.actOrder = c.descAct;
    s.staticGroups = c.raw.value(QStringLiteral("static_groups")).toBool(false);
    s.dampPercent = c.raw.value(QStringLiteral("damp_percent")).toDouble(s.dampPercent);
    return s;
}

bool isHfQuantLayer(const TensorStore& store, const QString& module)
{
    const QString qw = module + u".qweight";
    return store.contains(qw) && store.info(qw).dtype == DType::I32;
}

HfQuantConfig hfLayerConfig(const HfQuantConfig& config, const QString& module)
{
    const QJsonObject dyn = config.raw.value(QStringLiteral("dynamic")).toObject();
    for (auto it = dyn.begin(); it != dyn.end(); ++it) {
        QString pattern = it.key();
        if (pattern.startsWith(u"-:"))
            continue; // a skipped module has no qweight; nothing to override
        if (pattern.startsWith(u"+:"))
            pattern = pattern.mid(2);
        const QRegularExpression re(pattern);
        if (!re.isValid())
            throw Error::inFile(config.path, u"quantization_config.dynamic: invalid pattern '" + it.key() +
                                                 u"': " + re.errorString());
        // Python's re.match: anchored at the start of the module name.
        if (!re.match(module, 0, QRegularExpression::NormalMatch,
                      QRegularExpression::AnchorAtOffsetMatchOption)
                 .hasMatch())
            continue;
        const QJsonObject o = it.value().toObject();
        HfQuantConfig c = config;
        c.bits = o.value(QStringLiteral("bits")).toInt(c.bits);
        c.groupSize = o.value(QStringLiteral("group_size")).toInt(c.groupSize);
        c.sym = o.value(QStringLiteral("sym")).toBool(c.sym);
        c.descAct = o.value(QStringLiteral("desc_act")).toBool(c.descAct);
        if (c.bits != 2 && c.bits != 3 && c.bits != 4 && c.bits != 8)
            throw Error::inFile(
                config.path, QStringLiteral("quantization_config.dynamic '%1': bits %2 is not 2, 3, 4 or 8")
                                 .arg(it.key())
                                 .arg(c.bits));
        if (c.groupSize == 0 || c.groupSize < -1)
            throw Error::inFile(config.path,
                                QStringLiteral("quantization_config.dynamic '%1': bad group_size %2")
                                    .arg(it.key())
                                    .arg(c.groupSize));
        return c; // the first matching rule wins, as in GPTQModel
    }
    return config;
}

QJsonObject hfQuantizedLayers(const HfQuantConfig& config, const TensorStore& store)
{
    QJsonObject layers;
    for (const QString& name : store.names()) {
        if (!name.endsWith(u".qweight"))
            continue;
        const QString module = name.chopped(8);
        if (isHfQuantLayer(store, module))
            layers.insert(module, hfLayerSpec(hfLayerConfig(config, module)).toJson());
    }
    return layers;
}

namespace {

const std::int32_t* requireInts(const TensorStore& ts, const QString& module, const QString& suffix,
                                std::vector<std::int64_t> shape)
{
    const QString name = module + suffix;
    if (!ts.contains(name))
        throw Error(u"quantized layer '" + module + u"' has no " + suffix + u" tensor");
    const TensorInfo& t = ts.info(name);
    if (t.dtype != DType::I32 || t.shape != shape)
        throw Error::inFile(ts.fileOf(name), u"tensor '" + name + u"' is " + dtypeName(t.dtype) + u' ' +
                                                 shapeString(t.shape) + u", expected i32 " +
                                                 shapeString(shape));
    return reinterpret_cast<const std::int32_t*>(ts.rawData(name));
}

std::vector<float> readScales(const TensorStore& ts, const QString& module, std::int64_t groups,
                              std::int64_t rows)
{
    const QString name = module + u".scales";
    if (!ts.contains(name))
        throw Error(u"quantized layer '" + module + u"' has no .scales tensor");
    const TensorInfo& t = ts.info(name);
    if (t.shape != std::vector<std::int64_t>{groups, rows})
        throw Error::inFile(ts.fileOf(name), u"tensor '" + name + u"' has shape " + shapeString(t.shape) +
                                                 u", expected " + shapeString({groups, rows}));
    const std::vector<float> s = ts.readF32(name, FiniteCheck::Throw);
    std::vector<float> out(s.size());
    for (std::int64_t g = 0; g < groups; ++g)
        for (std::int64_t r = 0; r < rows; ++r)
            out[std::size_t(r * groups + g)] = s[std::size_t(g * rows + r)];
    return out;
}

} // namespace

QuantizedTensor readGptqLayer(const TensorStore& ts, const QString& module, const HfQuantConfig& c,
                              std::int64_t rows, std::int64_t cols)
{
    QuantizedTensor q;
    q.spec = hfLayerSpec(c);
    q.rows = rows;
    q.cols = cols;
    const int bits = c.bits;
    auto fail = [&](const QString& what) {
        return Error::inFile(ts.fileOf(module + u".qweight"), u"layer '" + module + u"': " + what);
    };
    if ((cols * bits) % 32 != 0 || (rows * bits) % 32 != 0)
        throw fail(
            QStringLiteral("[%1, %2] cannot be packed in %3-bit int32 words").arg(rows).arg(cols).arg(bits));
    const std::int64_t groups = q.spec.groupsPerRow(cols);
    const std::vector<std::uint32_t> t = gptqUnpackRows(
        requireInts(ts, module, QStringLiteral(".qweight"), {cols * bits / 32, rows}), cols, rows, bits);
    q.codes.resize(std::size_t(rows * cols));
    for (std::int64_t r = 0; r < rows; ++r)
        for (std::int64_t col = 0; col < cols; ++col)
            q.codes[std::size_t(r * cols + col)] = std::uint8_t(t[std::size_t(col * rows + r)]);
    const std::vector<std::uint32_t> z = gptqUnpackCols(
        requireInts(ts, module, QStringLiteral(".qzeros"), {groups, rows * bits / 32}), groups, rows, bits);
    q.zeros.resize(std::size_t(rows * groups));
    for (std::int64_t g = 0; g < groups; ++g)
        for (std::int64_t r = 0; r < rows; ++r) {
            const std::uint32_t v = z[std::size_t(g * rows + r)];
            q.zeros[std::size_t(r * groups + g)] = float(c.zeroMinusOne ? v + 1 : v); // v1 stores zero - 1
        }
    q.scales = readScales(ts, module, groups, rows);
    if (ts.contains(module + u".g_idx")) {
        const std::int32_t* g = requireInts(ts, module, QStringLiteral(".g_idx"), {cols});
        bool trivial = true;
        for (std::int64_t col = 0; col < cols; ++col) {
            if (g[col] < 0 || g[col] >= groups)
                throw fail(QStringLiteral(".g_idx holds group %1 outside 0..%2").arg(g[col]).arg(groups - 1));
            trivial = trivial && g[col] == col / q.spec.groupLength(cols);
        }
        if (!trivial)
            q.groupIndex.assign(g, g + cols);
    }
    return q;
}

QuantizedTensor readAwqLayer(const TensorStore& ts, const QString& module, const HfQuantConfig& c,
                             std::int64_t rows, std::int64_t cols)
{
    QuantizedTensor q;
    q.spec = hfLayerSpec(c);
    q.rows = rows;
    q.cols = cols;
    if (rows % 8 != 0 || cols % c.groupSize != 0)
        throw Error::inFile(ts.fileOf(module + u".qweight"),
                            u"layer '" + module +
                                QStringLiteral("': [%1, %2] does not fit AWQ packing with group size %3")
                                    .arg(rows)
                                    .arg(cols)
                                    .arg(c.groupSize));
    const std::int64_t groups = cols / c.groupSize;
    const std::vector<std::uint32_t> t =
        awqUnpack(requireInts(ts, module, QStringLiteral(".qweight"), {cols, rows / 8}), cols, rows);
    q.codes.resize(std::size_t(rows * cols));
    for (std::int64_t r = 0; r < rows; ++r)
        for (std::int64_t col = 0; col < cols; ++col)
            q.codes[std::size_t(r * cols + col)] = std::uint8_t(t[std::size_t(col * rows + r)]);
    const std::vector<std::uint32_t> z =
        awqUnpack(requireInts(ts, module, QStringLiteral(".qzeros"), {groups, rows / 8}), groups, rows);
    q.zeros.resize(std::size_t(rows * groups));
    for (std::int64_t g = 0; g < groups; ++g)
        for (std::int64_t r = 0; r < rows; ++r)
            q.zeros[std::size_t(r * groups + g)] = float(z[std::size_t(g * rows + r)]);
    q.scales = readScales(ts, module, groups, rows);
    return q;
}

QuantizedTensor readHfQuantLayer(const TensorStore& ts, const QString& module, std::int64_t rows,
                                 std::int64_t cols)
{
    const QString dir = QFileInfo(ts.fileOf(module + u".qweight")).absolutePath();
    const std::optional<HfQuantConfig> c = readHfQuantConfig(dir);
    if (!c)
        throw Error::inFile(QDir(dir).filePath(QStringLiteral("config.json")),
                            u"layer '" + module +
                                u"' is stored as GPTQ/AWQ int32 words but config.json has no "
                                u"gptq/awq quantization_config");
    const HfQuantConfig layer = hfLayerConfig(*c, module);
    return c->format == HfQuantFormat::Gptq ? readGptqLayer(ts, module, layer, rows, cols)
                                            : readAwqLayer(ts, module, layer, rows, cols);
}

} // namespace qs
