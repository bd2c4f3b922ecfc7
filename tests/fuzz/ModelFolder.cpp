#include "ModelFolder.h"

#include "FuzzTarget.h"
#include "model/LinearLoader.h"
#include "model/SyntheticModel.h"
#include "quant/QuantizeJob.h"
#include "recipe/LayerPlan.h"

#include <QDir>
#include <QTemporaryDir>

namespace qs::fuzz {

void withQuantizedSyntheticModel(
    const std::function<void(const Model& base, const QuantizeResult& result, const QString& tmp)>& save)
{
    QTemporaryDir tmp;
    SyntheticModelSpec spec;
    // As small as keeps every tensor, two groups in the widest layer and GPTQ-packable outputs: each
    // execution writes, opens and builds the whole model (a 64-wide model ran 1.2k executions/s under ASan).
    spec.hidden = 32;
    spec.intermediate = 64;
    spec.layers = 1;
    spec.heads = 4;
    spec.kvHeads = 4; // k/v outputs a multiple of 32: GPTQ's qzeros pack along the output
    spec.vocab = 32;
    spec.maxPositions = 128;
    spec.dtype = DType::F16;
    const QString baseDir = tmp.filePath(QStringLiteral("base"));
    writeSyntheticModel(baseDir, spec);
    const auto base = Model::open(baseDir);
    QuantSpec rtn;
    rtn.method = QuantMethod::Rtn;
    rtn.bits = 4;
    rtn.symmetric = false;
    rtn.granularity = Granularity::PerGroup;
    rtn.groupSize = 32;
    LayerPlan plan = LayerPlan::uniform(*base, rtn);
    QuantSpec keep;
    keep.method = QuantMethod::Float;
    keep.floatType = DType::F16;
    plan.entries.back().spec = keep; // lm_head
    const QuantizeResult result = runQuantization(base, plan, CalibrationSettings(), nullptr);
    save(*base, result, tmp.path());
}

void openModelFolder(const QString& dir)
{
    const auto model = Model::open(dir);
    for (const LinearLayerInfo& l : model->linears())
        (void)loadLinearLayer(model, l);
}

QByteArray fileIn(const QString& dir, const QString& name)
{
    return readBack(QDir(dir).filePath(name));
}

} // namespace qs::fuzz
