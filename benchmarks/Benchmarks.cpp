#include "Benchmarks.h"

#include <QFile>
#include <QSysInfo>
#include <QThread>
#include <chrono>

namespace qs::bench {

const std::vector<Benchmark>& all()
{
    static const std::vector<Benchmark> table{
        {"convert", "bf16/f16 → f32 row conversion throughput (GB/s) at 1 and 2 threads vs memcpy",
         convertThroughput},
        {"inspect", "model open + summary time on sparse synthetic checkpoints of growing size",
         inspectScaling},
        {"gptq-model",
         "whole-model GPTQ int4 g32 on stories260K, 128 x 512 calibration tokens: seconds, peak RSS",
         quantizeModel},
        {"eval",
         "pp512/tg128 tokens/s and peak RSS per GGUF format (1 and 2 threads) vs llama-bench (--llama-cpp)",
         evalThroughput},
        {"gptq", "GPTQ int4 g128 on a 4096×11008 down_proj (1 and 2 threads) vs a per-column implementation",
         gptqThroughput},
        {"ggml-quant",
         "ggml block quantization (Q4_0 … Q6_K, IQ4) of 1024×4096 f32 rows: MB/s in, 1 and 2 threads, ± "
         "imatrix",
         ggmlQuantThroughput},
        {"kernels",
         "matmul per weight format (f32, f16, bf16; Eigen f32 yardstick), 4096×4096 and 14336×4096: GEMV "
         "GB/s vs memcpy, GEMM n=512 GFLOP/s vs a 1-core f32 FMA (and vdpbf16ps) peak, 1 and 2 threads",
         kernelThroughput},
    };
    return table;
}

const Benchmark* find(const QString& name)
{
    for (const Benchmark& b : all()) {
        if (name == QLatin1String(b.name))
            return &b;
    }
    return nullptr;
}

QString listText()
{
    QString s;
    for (const Benchmark& b : all())
        s += QStringLiteral("  %1 %2\n")
                 .arg(QString::fromLatin1(b.name).leftJustified(10), QString::fromUtf8(b.summary));
    return s;
}

double nowSeconds()
{
    using namespace std::chrono;
    return duration<double>(steady_clock::now().time_since_epoch()).count();
}

QJsonObject machineInfo()
{
    return QJsonObject{{QStringLiteral("cpu_threads"), QThread::idealThreadCount()},
                       {QStringLiteral("kernel"), QSysInfo::kernelVersion()},
                       {QStringLiteral("arch"), QSysInfo::currentCpuArchitecture()}};
}

double loadAverage()
{
    QFile f(QStringLiteral("/proc/loadavg"));
    if (!f.open(QIODevice::ReadOnly))
        return -1.0;
    bool ok = false;
    const double v = f.readLine().split(' ').value(0).toDouble(&ok);
    return ok ? v : -1.0;
}

} // namespace qs::bench
