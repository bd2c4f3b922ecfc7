#include "Cli.h"
#include "CliOptions.h"
#include "model/SyntheticModel.h"
#include "util/Error.h"

#include <QCommandLineParser>
#include <QDir>
#include <QFileInfo>
#include <QStorageInfo>

namespace cli {

namespace {

qs::DType synthDtype(const QString& name)
{
    if (name == u"bf16")
        return qs::DType::BF16;
    if (name == u"f16")
        return qs::DType::F16;
    if (name == u"f32")
        return qs::DType::F32;
    throw qs::Error(QStringLiteral("--dtype %1: expected bf16, f16 or f32").arg(name));
}

QString shapeHelp()
{
    QString s;
    for (const qs::SyntheticShape& shape : qs::syntheticShapes())
        s += QStringLiteral("\n  %1 %2")
                 .arg(QString::fromLatin1(shape.name).leftJustified(5), QString::fromUtf8(shape.summary));
    return s;
}

/// OUT must not exist, or be an empty folder: synth never mixes its files into other ones.
void checkOutput(const QString& out)
{
    const QFileInfo info(out);
    if (!info.exists())
        return;
    if (!info.isDir())
        throw qs::Error::inFile(out, QStringLiteral("exists and is not a folder"));
    if (!QDir(out).isEmpty(QDir::AllEntries | QDir::NoDotAndDotDot | QDir::Hidden | QDir::System))
        throw qs::Error::inFile(out, QStringLiteral("exists and is not empty (synth writes a new folder)"));
}

} // namespace

int runSynth(const QStringList& args)
{
    QCommandLineParser p;
    p.setApplicationDescription(
        QStringLiteral(
            "Writes a Llama-shaped Hugging Face folder (config.json, model.safetensors, a byte-level "
            "tokenizer.json) with random weights N(0, 1/sqrt(fan_in)), for benchmarks. The weights "
            "are generated and written piece by piece (64 MiB at a time), so an 8B model needs no "
            "more memory than a small one. OUT must not exist or be empty.\n\nshapes:") +
        shapeHelp());
    p.addHelpOption();
    p.addPositionalArgument(QStringLiteral("OUT"), QStringLiteral("Folder to create"));
    p.addOptions({
        {QStringLiteral("shape"),
         QStringLiteral("Model shape: %1.").arg(qs::syntheticShapeNames().join(u", ")),
         QStringLiteral("NAME")},
        {QStringLiteral("layers"), QStringLiteral("Number of blocks (default: the shape's)."),
         QStringLiteral("N")},
        {QStringLiteral("dtype"), QStringLiteral("Weight type: bf16 (default), f16 or f32."),
         QStringLiteral("TYPE"), QStringLiteral("bf16")},
        {QStringLiteral("seed"), QStringLiteral("Random seed (default 1)."), QStringLiteral("S"),
         QStringLiteral("1")},
        {QStringLiteral("quiet"), QStringLiteral("No progress on stderr.")},
    });
    p.process(args);
    if (const QString m = usageProblem(p, 1, QStringLiteral("one OUT folder"), {QStringLiteral("shape")});
        !m.isEmpty())
        return usageError(p, m);
    qs::SyntheticModelSpec spec = qs::syntheticSpec(p.value(QStringLiteral("shape")));
    if (p.isSet(QStringLiteral("layers"))) {
        bool ok = false;
        spec.layers = p.value(QStringLiteral("layers")).toInt(&ok);
        if (!ok || spec.layers < 1 || spec.layers > 1024)
            throw qs::Error(QStringLiteral("--layers %1: expected a number of blocks from 1 to 1024")
                                .arg(p.value(QStringLiteral("layers"))));
    }
    spec.dtype = synthDtype(p.value(QStringLiteral("dtype")));
    bool seedOk = false;
    spec.seed = p.value(QStringLiteral("seed")).toULongLong(&seedOk);
    if (!seedOk)
        throw qs::Error(QStringLiteral("--seed %1: expected a non-negative integer")
                            .arg(p.value(QStringLiteral("seed"))));

    const QString outDir = p.positionalArguments().front();
    checkOutput(outDir);
    const std::uint64_t bytes = qs::syntheticWeightBytes(spec);
    const QString existing =
        QFileInfo(outDir).exists() ? outDir : QFileInfo(QFileInfo(outDir).absolutePath()).absoluteFilePath();
    const QStorageInfo storage(existing);
    if (storage.isValid() && storage.bytesAvailable() > 0 &&
        std::uint64_t(storage.bytesAvailable()) < bytes + (64u << 20))
        throw qs::Error::inFile(outDir, QStringLiteral("needs %1 MiB of disk, %2 MiB free")
                                            .arg(bytes >> 20)
                                            .arg(std::uint64_t(storage.bytesAvailable()) >> 20));
    const bool quiet = p.isSet(QStringLiteral("quiet"));
    qs::JobContext job;
    job.progress = terminalProgress(quiet);
    qs::writeSyntheticModel(outDir, spec, job);
    if (!quiet)
        err() << '\n';
    out() << "wrote " << outDir << " (" << p.value(QStringLiteral("shape")).toLower() << ", " << spec.layers
          << " blocks, " << p.value(QStringLiteral("dtype")) << ", " << (bytes >> 20) << " MiB of weights)\n";
    out().flush();
    return kExitOk;
}

} // namespace cli
