#include "Cli.h"
#include "CliOptions.h"
#include "analysis/Playground.h"
#include "eval/Calibration.h"
#include "model/Model.h"
#include "tokenizer/Tokenizer.h"
#include "util/Error.h"

#include <QCommandLineParser>
#include <QJsonArray>
#include <QJsonObject>
#include <QSaveFile>
#include <cmath>

namespace cli {

namespace {

/// The row: a real one (MODEL --layer --row) or a synthetic distribution (--synthetic).
struct Row
{
    std::vector<float> values;
    QString label;
    std::shared_ptr<const qs::Model> model;
    int layerIndex = -1;
};

Row loadRow(const QCommandLineParser& p)
{
    Row r;
    if (p.isSet(QStringLiteral("synthetic"))) {
        if (!p.positionalArguments().isEmpty() || p.isSet(QStringLiteral("layer")) ||
            p.isSet(QStringLiteral("row")))
            throw qs::Error(QStringLiteral("give MODEL --layer [--row], or --synthetic, not both"));
        const QString d = p.value(QStringLiteral("synthetic"));
        qs::SyntheticRowSpec s;
        if (d == u"gaussian")
            s.distribution = qs::SyntheticDistribution::Gaussian;
        else if (d == u"laplace")
            s.distribution = qs::SyntheticDistribution::Laplace;
        else if (d == u"uniform")
            s.distribution = qs::SyntheticDistribution::Uniform;
        else
            throw qs::Error(QStringLiteral("--synthetic %1: expected gaussian, laplace or uniform").arg(d));
        s.count = positiveInt(p, QStringLiteral("count"), 1);
        s.seed = std::uint64_t(positiveInt(p, QStringLiteral("seed"), 0));
        s.outliers = positiveInt(p, QStringLiteral("outliers"), 0);
        bool ok = false;
        s.outlierMagnitude = p.value(QStringLiteral("magnitude")).toDouble(&ok);
        if (!ok)
            throw qs::Error(
                QStringLiteral("--magnitude %1: not a number").arg(p.value(QStringLiteral("magnitude"))));
        r.values = qs::syntheticRow(s);
        r.label = QStringLiteral("%1, %2 values, seed %3, %4 outliers at %5 sigma")
                      .arg(d)
                      .arg(s.count)
                      .arg(s.seed)
                      .arg(s.outliers)
                      .arg(s.outlierMagnitude);
        return r;
    }
    if (p.positionalArguments().size() != 1 || !p.isSet(QStringLiteral("layer")))
        throw qs::Error(QStringLiteral("give MODEL --layer NAME [--row R], or --synthetic DIST"));
    r.model = qs::Model::open(p.positionalArguments().front());
    const QString layer = p.value(QStringLiteral("layer"));
    const int row = positiveInt(p, QStringLiteral("row"), 0);
    r.values = qs::modelRow(*r.model, layer, row);
    for (std::size_t i = 0; i < r.model->linears().size(); ++i)
        if (r.model->linears()[i].name == layer)
            r.layerIndex = int(i);
    r.label = QStringLiteral("%1, row %2 (%3 values)").arg(layer).arg(row).arg(r.values.size());
    return r;
}

QJsonArray doubles(const std::vector<double>& v)
{
    QJsonArray a;
    for (double x : v)
        a.append(x);
    return a;
}

QString inputsName(qs::PlaygroundInputs i)
{
    return i == qs::PlaygroundInputs::Layer       ? QStringLiteral("layer")
           : i == qs::PlaygroundInputs::Isotropic ? QStringLiteral("isotropic")
                                                  : QStringLiteral("none");
}

QJsonObject toJson(const Row& row, const qs::PlaygroundResult& r)
{
    QJsonObject o;
    o.insert(QStringLiteral("row"), row.label);
    o.insert(QStringLiteral("values"), qint64(r.original.size()));
    o.insert(QStringLiteral("spec"), r.spec.toJson());
    o.insert(QStringLiteral("label"), r.spec.label());
    o.insert(QStringLiteral("mse"), r.mse);
    if (std::isfinite(r.snrDb))
        o.insert(QStringLiteral("snr_db"), r.snrDb);
    o.insert(QStringLiteral("max_abs_error"), r.maxAbsError);
    o.insert(QStringLiteral("bytes"), qint64(r.bytes));
    o.insert(QStringLiteral("bits_per_weight"), r.bitsPerWeight);
    o.insert(QStringLiteral("groups"), qint64(r.groups()));
    o.insert(QStringLiteral("shown_group"), qint64(r.shownGroup));
    o.insert(QStringLiteral("levels"), doubles(r.grid.levels));
    o.insert(QStringLiteral("inputs"), inputsName(r.inputs));
    if (r.inputs == qs::PlaygroundInputs::Layer)
        o.insert(QStringLiteral("input_tokens"), qint64(r.inputTokens));
    o.insert(QStringLiteral("kurtosis"), r.kurtosis);
    if (!r.rotated.empty())
        o.insert(QStringLiteral("rotated_kurtosis"), r.rotatedKurtosis);
    if (r.spec.usesCodebook()) {
        o.insert(QStringLiteral("codebook"),
                 doubles(std::vector<double>(r.codebook.begin(), r.codebook.end())));
        QJsonArray exact;
        for (std::int64_t c : r.exactColumns)
            exact.append(qint64(c));
        o.insert(QStringLiteral("exact_columns"), exact);
    }
    QJsonObject pairs;
    pairs.insert(QStringLiteral("what"), r.pairs.what);
    pairs.insert(QStringLiteral("reachable"), qint64(r.pairs.reachable));
    pairs.insert(QStringLiteral("drawn"), qint64(r.pairs.pointX.size()));
    pairs.insert(QStringLiteral("sampled"), r.pairs.sampled);
    o.insert(QStringLiteral("codebook_points"), pairs);
    if (!r.note.isEmpty())
        o.insert(QStringLiteral("note"), r.note);
    return o;
}

/// index, original, reconstructed, error, group (and the rotated row and its reconstruction).
void writeValues(const QString& path, const qs::PlaygroundResult& r)
{
    QString csv = QStringLiteral("index,original,reconstructed,error,group");
    const bool rotated = !r.rotated.empty();
    if (rotated)
        csv += QStringLiteral(",rotated,rotated_reconstructed");
    csv += u'\n';
    for (std::size_t i = 0; i < r.original.size(); ++i) {
        csv += QStringLiteral("%1,%2,%3,%4,%5")
                   .arg(i)
                   .arg(double(r.original[i]), 0, 'g', 9)
                   .arg(double(r.reconstructed[i]), 0, 'g', 9)
                   .arg(double(r.errors[i]), 0, 'g', 9)
                   .arg(r.groupOf(std::int64_t(i)));
        if (rotated)
            csv += QStringLiteral(",%1,%2")
                       .arg(double(r.rotated[i]), 0, 'g', 9)
                       .arg(double(r.rotatedReconstructed[i]), 0, 'g', 9);
        csv += u'\n';
    }
    QSaveFile f(path); // never a half-written file
    if (!f.open(QIODevice::WriteOnly) || f.write(csv.toUtf8()) < 0 || !f.commit())
        throw qs::Error::inFile(path, QStringLiteral("cannot write: %1").arg(f.errorString()));
}

} // namespace

int runPlayground(const QStringList& args)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral(
        "The GUI's playground on the command line: one row (a real weight row of MODEL, or a synthetic "
        "distribution) quantized with one scheme through the real quantizers; prints MSE, SNR, max error, "
        "storage and bits per weight, the levels of a group, the kurtosis before and after a Hadamard "
        "rotation. SqueezeLLM, QuIP# and AQLM get isotropic inputs (X^T X = I) unless --calib computes the "
        "layer's statistics."));
    p.addHelpOption();
    p.addPositionalArgument(QStringLiteral("MODEL"), QStringLiteral("Model folder or file (for a real row)"));
    p.addOptions({
        {QStringLiteral("scheme"),
         QStringLiteral("Scheme: rtn-w4-g32, rtn-w4-ch-had, hqq-w3-g64, squeezellm-w3-ch-sp1, quipsharp-w2, "
                        "aqlm-w2-4x4, gguf-q4_k, …"),
         QStringLiteral("S")},
        {QStringLiteral("layer"), QStringLiteral("Linear layer of MODEL."), QStringLiteral("NAME")},
        {QStringLiteral("row"), QStringLiteral("Row of the layer (default 0)."), QStringLiteral("R"),
         QStringLiteral("0")},
        {QStringLiteral("synthetic"), QStringLiteral("A synthetic row: gaussian, laplace or uniform."),
         QStringLiteral("DIST")},
        {QStringLiteral("count"), QStringLiteral("Synthetic: values (default 256)."), QStringLiteral("N"),
         QStringLiteral("256")},
        {QStringLiteral("seed"), QStringLiteral("Synthetic: seed (default 1)."), QStringLiteral("S"),
         QStringLiteral("1")},
        {QStringLiteral("outliers"), QStringLiteral("Synthetic: outliers (default 0)."), QStringLiteral("K"),
         QStringLiteral("0")},
        {QStringLiteral("magnitude"), QStringLiteral("Synthetic: outlier size in sigma (default 10)."),
         QStringLiteral("M"), QStringLiteral("10")},
        {QStringLiteral("calib"), QStringLiteral("Real row: the layer's statistics from this text."),
         QStringLiteral("TEXT")},
        {QStringLiteral("samples"), QStringLiteral("Calibration windows (default 16)."), QStringLiteral("N"),
         QStringLiteral("16")},
        {QStringLiteral("seq-len"), QStringLiteral("Calibration window length (default 128)."),
         QStringLiteral("L"), QStringLiteral("128")},
        {QStringLiteral("group"),
         QStringLiteral("The group (or vector) whose levels are listed (default 0)."), QStringLiteral("G"),
         QStringLiteral("0")},
        {QStringLiteral("values"),
         QStringLiteral("Write index, original, reconstructed, error, group as CSV."),
         QStringLiteral("FILE")},
        {QStringLiteral("json"), QStringLiteral("Print JSON instead of text.")},
    });
    p.process(args);
    if (!p.isSet(QStringLiteral("scheme")))
        return usageError(p, QStringLiteral("--scheme is required"));
    const qs::QuantSpec spec = qs::QuantSpec::fromShortName(p.value(QStringLiteral("scheme")));
    const Row row = loadRow(p);
    std::unique_ptr<qs::LinearInputStats> stats;
    if (p.isSet(QStringLiteral("calib"))) {
        if (!row.model)
            throw qs::Error(QStringLiteral("--calib needs a real row (MODEL --layer)"));
        if (!spec.needsCalibration())
            throw qs::Error(
                QStringLiteral("--calib: %1 uses no calibration statistics").arg(spec.shortName()));
        qs::CalibrationSettings cal;
        cal.text = p.value(QStringLiteral("calib"));
        cal.samples = positiveInt(p, QStringLiteral("samples"), 1);
        cal.seqLen = positiveInt(p, QStringLiteral("seq-len"), 2);
        const auto tokenizer = qs::Tokenizer::load(row.model->path());
        stats = std::make_unique<qs::LinearInputStats>(
            qs::layerInputStatistics(row.model, *tokenizer, row.layerIndex, cal));
    }
    const qs::PlaygroundResult r =
        qs::quantizeRow(row.values, spec, positiveInt(p, QStringLiteral("group"), 0), 60, stats.get());
    if (p.isSet(QStringLiteral("values")))
        writeValues(p.value(QStringLiteral("values")), r);
    if (p.isSet(QStringLiteral("json"))) {
        printJson(QJsonDocument(toJson(row, r)));
        return kExitOk;
    }
    out() << "row:      " << row.label << '\n';
    out() << "scheme:   " << r.spec.label() << " (" << r.spec.shortName() << ")\n";
    if (r.inputs != qs::PlaygroundInputs::None)
        out() << "inputs:   "
              << (r.inputs == qs::PlaygroundInputs::Layer
                      ? QStringLiteral("the layer's statistics (%1 tokens of %2)")
                            .arg(r.inputTokens)
                            .arg(p.value(QStringLiteral("calib")))
                      : QStringLiteral("isotropic (X^T X = I): the weights' own error"))
              << '\n';
    out() << "MSE       " << QString::number(r.mse, 'g', 5) << '\n';
    out() << "SNR       "
          << (std::isfinite(r.snrDb) ? QStringLiteral("%1 dB").arg(r.snrDb, 0, 'f', 2)
                                     : QStringLiteral("exact"))
          << '\n';
    out() << "max |err| " << QString::number(r.maxAbsError, 'g', 5) << '\n';
    out() << "storage   " << r.bytes << " bytes, " << QString::number(r.bitsPerWeight, 'f', 3)
          << " bits per weight\n";
    out() << "kurtosis  " << QString::number(r.kurtosis, 'f', 3);
    if (!r.rotated.empty())
        out() << " (rotated: " << QString::number(r.rotatedKurtosis, 'f', 3) << ')';
    out() << '\n';
    QStringList levels;
    for (double l : r.grid.levels)
        levels << QString::number(l, 'g', 5);
    if (!levels.isEmpty())
        out() << "levels    "
              << (r.groups() > 1 ? QStringLiteral("of group %1: ").arg(r.shownGroup) : QString())
              << levels.join(QStringLiteral(" ")) << '\n';
    if (!r.exactColumns.empty())
        out() << "exact     " << r.exactColumns.size() << " weights in the sparse matrix\n";
    out() << "points    " << r.pairs.what << ": " << r.pairs.reachable
          << (r.pairs.sampled ? " (sampled)" : "") << '\n';
    if (!r.note.isEmpty())
        out() << "note:     " << r.note << '\n';
    out().flush();
    return kExitOk;
}

} // namespace cli
