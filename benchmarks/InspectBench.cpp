#include "Benchmarks.h"

#include "model/Model.h"
#include "model/ModelSummary.h"
#include "model/SyntheticModel.h"

#include <QDir>
#include <QFileInfo>
#include <QJsonArray>
#include <QTemporaryDir>

#include <sys/resource.h>
#include <sys/stat.h>

namespace qs::bench {

QJsonObject inspectScaling(const Options& opt)
{
    QTemporaryDir tmp;
    struct Size
    {
        const char* label;
        int hidden, intermediate, vocab;
    };
    // Same tensor count (2 blocks), growing dims: ~4 MB, ~270 MB, ~4.3 GB of f32 data.
    std::vector<Size> sizes{{"4MB", 128, 344, 2048}, {"270MB", 1024, 2752, 32000}, {"4GB", 4096, 11008, 128256}};
    if (opt.quick)
        sizes.pop_back();
    QJsonArray rows;
    for (const Size& s : sizes) {
        SyntheticModelSpec spec;
        spec.hidden = s.hidden;
        spec.intermediate = s.intermediate;
        spec.vocab = s.vocab;
        spec.layers = 2;
        spec.heads = 8;
        spec.kvHeads = 4;
        spec.sparse = true;
        const QString dir = tmp.filePath(QLatin1String(s.label));
        writeSyntheticModel(dir, spec);
        const QString file = QDir(dir).filePath(QStringLiteral("model.safetensors"));
        struct stat st{};
        ::stat(QFile::encodeName(file).constData(), &st);
        const int reps = 20;
        double best = 1e30;
        rusage before{}, after{};
        getrusage(RUSAGE_SELF, &before);
        qint64 params = 0;
        for (int r = 0; r < reps; ++r) {
            const double t0 = nowSeconds();
            const auto model = Model::open(dir);
            const QString text = modelSummaryText(*model);
            best = std::min(best, nowSeconds() - t0);
            params = model->totals().params;
            Q_UNUSED(text);
        }
        getrusage(RUSAGE_SELF, &after);
        rows.append(QJsonObject{{QStringLiteral("file_bytes"), qint64(st.st_size)},
                                {QStringLiteral("disk_bytes_allocated"), qint64(st.st_blocks) * 512},
                                {QStringLiteral("params"), params},
                                {QStringLiteral("best_seconds"), best},
                                {QStringLiteral("page_faults_per_open"), double(after.ru_minflt - before.ru_minflt +
                                                                                after.ru_majflt - before.ru_majflt) /
                                                                             reps}});
        if (opt.log)
            opt.log(QStringLiteral("inspect %1 (%2 bytes): %3 ms").arg(QString::fromLatin1(s.label)).arg(st.st_size).arg(best * 1e3, 0, 'f', 3));
    }
    return QJsonObject{{QStringLiteral("benchmark"), QStringLiteral("inspect")},
                       {QStringLiteral("note"), QStringLiteral("sparse files: tensor data is never read, so time "
                                                               "and page faults stay flat as the file grows")},
                       {QStringLiteral("results"), rows}};
}

} // namespace qs::bench
