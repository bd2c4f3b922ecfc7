#include "model/ModelCheck.h"

#include "model/Model.h"
#include "util/Threads.h"

#include <QJsonArray>
#include <algorithm>
#include <cmath>

namespace qs {

namespace {

constexpr std::int64_t kChunkValues = std::int64_t(1) << 22; // 16 MB of f32 per read

bool readable(const TensorInfo& t)
{
    return t.ggmlType.has_value() || dtypeInfo(t.dtype).isFloat;
}

/// The counts of rows [0, n) of `buf` (cols values each); rows numbered from row0 for the first bad value.
void countRows(const float* buf, std::int64_t n, std::int64_t cols, std::int64_t row0, TensorValueStats& s)
{
    struct Row
    {
        std::int64_t nan = 0, inf = 0, subnormal = 0, firstBad = -1;
        bool zero = true;
        double maxAbs = 0;
    };
    std::vector<Row> rows(static_cast<std::size_t>(n));
    forEachRowRange(n, cols, [&](std::int64_t first, std::int64_t count) {
        for (std::int64_t r = first; r < first + count; ++r) {
            Row& row = rows[std::size_t(r)];
            const float* v = buf + r * cols;
            for (std::int64_t c = 0; c < cols; ++c) {
                switch (std::fpclassify(v[c])) {
                case FP_NAN:
                    ++row.nan;
                    row.firstBad = row.firstBad < 0 ? c : row.firstBad;
                    row.zero = false;
                    break;
                case FP_INFINITE:
                    ++row.inf;
                    row.firstBad = row.firstBad < 0 ? c : row.firstBad;
                    row.zero = false;
                    break;
                case FP_ZERO:
                    break;
                case FP_SUBNORMAL:
                    ++row.subnormal;
                    row.zero = false;
                    row.maxAbs = std::max(row.maxAbs, double(std::fabs(v[c])));
                    break;
                default:
                    row.zero = false;
                    row.maxAbs = std::max(row.maxAbs, double(std::fabs(v[c])));
                }
            }
        }
    });
    for (std::int64_t r = 0; r < n; ++r) {
        const Row& row = rows[std::size_t(r)];
        s.nan += row.nan;
        s.inf += row.inf;
        s.subnormal += row.subnormal;
        s.zeroRows += row.zero && cols > 0 ? 1 : 0;
        s.maxAbs = std::max(s.maxAbs, row.maxAbs);
        if (row.firstBad >= 0 && s.firstBadRow < 0) {
            s.firstBadRow = row0 + r;
            s.firstBadCol = row.firstBad;
        }
    }
}

} // namespace

ModelValueCheck checkModelValues(const Model& model, const JobContext& job)
{
    const TensorStore& ts = model.tensors();
    ModelValueCheck out;
    double total = 0, done = 0;
    for (const QString& name : ts.names())
        total += double(ts.info(name).bytes());
    std::vector<float> buf;
    for (const QString& name : ts.names()) {
        job.checkCancelled();
        const TensorInfo& t = ts.info(name);
        TensorValueStats s;
        s.name = name;
        s.file = ts.fileOf(name);
        s.values = t.numel();
        if (!readable(t)) {
            s.read = false;
        } else {
            const std::int64_t rows = t.rows(), cols = t.cols();
            const std::int64_t step =
                std::max<std::int64_t>(1, kChunkValues / std::max<std::int64_t>(1, cols));
            for (std::int64_t r0 = 0; r0 < rows; r0 += step) {
                job.checkCancelled();
                const std::int64_t n = std::min(step, rows - r0);
                buf.resize(std::size_t(n * cols));
                ts.readRowsF32(name, r0, n, buf.data());
                countRows(buf.data(), n, cols, r0, s);
                job.report(total > 0 ? (done + double(t.bytes()) * double(r0 + n) / double(rows)) / total
                                     : -1,
                           QStringLiteral("checking"), name);
            }
            ts.releasePages(name);
            out.values += s.values;
            out.nan += s.nan;
            out.inf += s.inf;
            out.subnormal += s.subnormal;
            out.zeroRows += s.zeroRows;
        }
        done += double(t.bytes());
        out.tensors.push_back(s);
    }
    return out;
}

QString ModelValueCheck::toText() const
{
    QString t;
    int skipped = 0;
    for (const TensorValueStats& s : tensors) {
        if (!s.read) {
            ++skipped;
            continue;
        }
        if (s.nan == 0 && s.inf == 0 && s.subnormal == 0 && s.zeroRows == 0)
            continue;
        t += QStringLiteral("%1: ").arg(s.name);
        QStringList parts;
        if (s.nan || s.inf)
            parts << QStringLiteral("%1 NaN, %2 Inf (first at row %3, column %4 in %5)")
                         .arg(s.nan)
                         .arg(s.inf)
                         .arg(s.firstBadRow)
                         .arg(s.firstBadCol)
                         .arg(s.file);
        if (s.subnormal)
            parts << QStringLiteral("%1 subnormal").arg(s.subnormal);
        if (s.zeroRows)
            parts << QStringLiteral("%1 all-zero rows").arg(s.zeroRows);
        t += parts.join(QStringLiteral(", ")) + u'\n';
    }
    t += QStringLiteral("checked %1 tensors, %2 values: %3 NaN, %4 Inf, %5 subnormal, %6 all-zero rows")
             .arg(tensors.size() - std::size_t(skipped))
             .arg(values)
             .arg(nan)
             .arg(inf)
             .arg(subnormal)
             .arg(zeroRows);
    if (skipped)
        t += QStringLiteral(" (%1 tensors of integer codes or indices not read)").arg(skipped);
    return t + u'\n';
}

QJsonObject ModelValueCheck::toJson() const
{
    QJsonArray list;
    for (const TensorValueStats& s : tensors)
        list.append(QJsonObject{{QStringLiteral("name"), s.name},
                                {QStringLiteral("read"), s.read},
                                {QStringLiteral("values"), qint64(s.values)},
                                {QStringLiteral("nan"), qint64(s.nan)},
                                {QStringLiteral("inf"), qint64(s.inf)},
                                {QStringLiteral("subnormal"), qint64(s.subnormal)},
                                {QStringLiteral("zero_rows"), qint64(s.zeroRows)},
                                {QStringLiteral("first_bad_row"), qint64(s.firstBadRow)},
                                {QStringLiteral("first_bad_col"), qint64(s.firstBadCol)},
                                {QStringLiteral("max_abs"), s.maxAbs}});
    return QJsonObject{{QStringLiteral("tensors"), list},
                       {QStringLiteral("values"), qint64(values)},
                       {QStringLiteral("nan"), qint64(nan)},
                       {QStringLiteral("inf"), qint64(inf)},
                       {QStringLiteral("subnormal"), qint64(subnormal)},
                       {QStringLiteral("zero_rows"), qint64(zeroRows)}};
}

} // namespace qs
