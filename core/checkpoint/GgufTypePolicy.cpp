#include "checkpoint/GgufTypePolicy.h"

#include "checkpoint/GgufLayout.h"
#include "model/Model.h"
#include "recipe/LayerPlan.h"
#include "recipe/RecipeExport.h"
#include "util/Error.h"

#include <QRegularExpression>
#include <algorithm>
#include <map>

namespace qs {

namespace {

/// A llama-quantize preset: its file type and the base type it starts every weight from.
struct PresetInfo
{
    const char* name;
    LlamaFType fileType;
    GgmlType base;
    bool kQuantMix; ///< llama_tensor_get_type applies (the base type is quantized)
};
constexpr PresetInfo kPresets[] = {
    {"F32", LlamaFType::AllF32, GgmlType::F32, false},
    {"F16", LlamaFType::MostlyF16, GgmlType::F16, false},
    {"BF16", LlamaFType::MostlyBF16, GgmlType::BF16, false},
    {"Q8_0", LlamaFType::MostlyQ8_0, GgmlType::Q8_0, true},
    {"Q4_0", LlamaFType::MostlyQ4_0, GgmlType::Q4_0, true},
    {"Q4_1", LlamaFType::MostlyQ4_1, GgmlType::Q4_1, true},
    {"Q5_0", LlamaFType::MostlyQ5_0, GgmlType::Q5_0, true},
    {"Q5_1", LlamaFType::MostlyQ5_1, GgmlType::Q5_1, true},
    {"Q2_K", LlamaFType::MostlyQ2_K, GgmlType::Q2_K, true},
    {"Q3_K_S", LlamaFType::MostlyQ3_K_S, GgmlType::Q3_K, true},
    {"Q3_K_M", LlamaFType::MostlyQ3_K_M, GgmlType::Q3_K, true},
    {"Q3_K_L", LlamaFType::MostlyQ3_K_L, GgmlType::Q3_K, true},
    {"Q4_K_S", LlamaFType::MostlyQ4_K_S, GgmlType::Q4_K, true},
    {"Q4_K_M", LlamaFType::MostlyQ4_K_M, GgmlType::Q4_K, true},
    {"Q5_K_S", LlamaFType::MostlyQ5_K_S, GgmlType::Q5_K, true},
    {"Q5_K_M", LlamaFType::MostlyQ5_K_M, GgmlType::Q5_K, true},
    {"Q6_K", LlamaFType::MostlyQ6_K, GgmlType::Q6_K, true},
    {"IQ4_NL", LlamaFType::MostlyIQ4_NL, GgmlType::IQ4_NL, true},
    {"IQ4_XS", LlamaFType::MostlyIQ4_XS, GgmlType::IQ4_XS, true},
};

// A preset whose base type has the preset's file type is that type's own row in the type table.
constexpr bool presetsMatchTypeTable()
{
    for (const PresetInfo& p : kPresets) {
        const LlamaFType own = ggmlTypeInfo(p.base).fileType;
        const bool mix = own == LlamaFType::MostlyQ3_K_M || own == LlamaFType::MostlyQ4_K_M ||
                         own == LlamaFType::MostlyQ5_K_M;
        if (own != p.fileType && !mix)
            return false;
    }
    return true;
}
static_assert(presetsMatchTypeTable(), "kPresets and kGgmlTypes disagree on a file type");

const PresetInfo* findPreset(const QString& name)
{
    for (const PresetInfo& p : kPresets) {
        if (name.compare(QLatin1String(p.name), Qt::CaseInsensitive) == 0)
            return &p;
    }
    return nullptr;
}

int blockOf(GgmlType t)
{
    return ggmlTypeInfo(t).blockSize;
}

/// What llama_tensor_get_type looks at for one weight.
struct TensorSite
{
    LlamaFType ft;
    int layer, nLayers;
    int nGqa;            ///< query heads per key/value head
    bool is70B;          ///< llama.cpp's LLM_TYPE_70B: 80 layers with grouped-query attention
    bool withImportance; ///< an importance matrix will be used
};

bool useMoreBits(const TensorSite& s)
{
    const int n = s.nLayers;
    return s.layer < n / 8 || s.layer >= 7 * n / 8 || (s.layer - n / 8) % 3 == 2;
}

/// output.weight (or a tied token_embd): Q6_K, Q8_0 for Q8_0 files and rows the block does not divide.
GgmlType outputType(GgmlType type, std::int64_t rowLength)
{
    if (rowLength % blockOf(type) != 0)
        return GgmlType::Q8_0;
    return type == GgmlType::Q8_0 ? type : GgmlType::Q6_K;
}

GgmlType attnVType(GgmlType type, const TensorSite& s)
{
    switch (s.ft) {
    case LlamaFType::MostlyQ2_K:
        type = s.nGqa >= 4 ? GgmlType::Q4_K : GgmlType::Q3_K;
        break;
    case LlamaFType::MostlyQ3_K_M:
        type = s.layer < 2 ? GgmlType::Q5_K : GgmlType::Q4_K;
        break;
    case LlamaFType::MostlyQ3_K_L:
        type = GgmlType::Q5_K;
        break;
    case LlamaFType::MostlyQ4_K_M:
    case LlamaFType::MostlyQ5_K_M:
        if (useMoreBits(s))
            type = GgmlType::Q6_K;
        break;
    case LlamaFType::MostlyQ4_K_S:
        if (s.layer < 4)
            type = GgmlType::Q5_K;
        break;
    case LlamaFType::MostlyIQ4_NL:
    case LlamaFType::MostlyIQ4_XS:
        if (s.nGqa >= 4)
            type = GgmlType::Q5_K;
        break;
    default:
        break;
    }
    if (s.is70B && (type == GgmlType::Q3_K || type == GgmlType::Q4_K))
        type = GgmlType::Q5_K;
    return type;
}

GgmlType ffnDownType(GgmlType type, const TensorSite& s)
{
    switch (s.ft) {
    case LlamaFType::MostlyQ2_K:
        return GgmlType::Q3_K;
    case LlamaFType::MostlyQ3_K_M:
        return s.layer < s.nLayers / 16 ? GgmlType::Q5_K : GgmlType::Q4_K;
    case LlamaFType::MostlyQ3_K_L:
        return GgmlType::Q5_K;
    case LlamaFType::MostlyQ4_K_M:
    case LlamaFType::MostlyQ5_K_M:
        return useMoreBits(s) ? GgmlType::Q6_K : type;
    case LlamaFType::MostlyQ4_K_S:
        return s.layer < s.nLayers / 8 ? GgmlType::Q5_K : type;
    case LlamaFType::MostlyIQ4_NL:
    case LlamaFType::MostlyIQ4_XS:
        return !s.withImportance && s.layer < s.nLayers / 8 ? GgmlType::Q5_K : type;
    case LlamaFType::MostlyQ4_0:
    case LlamaFType::MostlyQ5_0:
        // With an importance matrix the first eighth of the layers get the type with a minimum.
        if (s.withImportance && s.layer < s.nLayers / 8)
            return s.ft == LlamaFType::MostlyQ4_0 ? GgmlType::Q4_1 : GgmlType::Q5_1;
        return type;
    default:
        return type;
    }
}

GgmlType attnOutputType(GgmlType type, const TensorSite& s)
{
    switch (s.ft) {
    case LlamaFType::MostlyQ2_K:
        return GgmlType::Q3_K;
    case LlamaFType::MostlyQ3_K_M:
        return GgmlType::Q4_K;
    case LlamaFType::MostlyQ3_K_L:
        return GgmlType::Q5_K;
    default:
        return type;
    }
}

/// llama_tensor_get_type for the llama architecture and the ftypes of kPresets, before the row fallback.
GgmlType mixType(const Model& model, const PresetInfo& p, const GgufExportTensor& t, bool withImportance)
{
    const ModelConfig& c = model.config();
    const TensorSite site{p.fileType,
                          t.block,
                          c.numLayers,
                          c.numKvHeads > 0 ? c.numHeads / c.numKvHeads : 1,
                          c.numLayers == 80 && c.numHeads != c.numKvHeads,
                          withImportance};
    const std::int64_t nx = t.rowLength();
    const bool isOutput = t.linearIndex < 0
                              ? model.headTied() // token_embd doubles as the head
                              : model.linears()[std::size_t(t.linearIndex)].kind == LinearKind::Head;
    GgmlType type = p.base;
    if (isOutput) {
        type = outputType(type, nx);
    } else if (t.linearIndex >= 0) {
        switch (model.linears()[std::size_t(t.linearIndex)].kind) {
        case LinearKind::V:
            type = attnVType(type, site);
            break;
        case LinearKind::Down:
            type = ffnDownType(type, site);
            break;
        case LinearKind::O:
            type = attnOutputType(type, site);
            break;
        default:
            break;
        }
    }
    return type;
}

/// llama_tensor_get_type: the mix's type, then the fallback for rows its block does not divide.
GgmlType chooseType(const Model& model, const PresetInfo& p, const GgufExportTensor& t, bool withImportance)
{
    const std::int64_t nx = t.rowLength();
    const GgmlType type = mixType(model, p, t, withImportance);
    // Row lengths the chosen block does not divide fall back to a type with 32-wide blocks.
    const std::optional<GgmlType> fitted = ggmlRowFallback(type, nx);
    if (!fitted)
        throw Error(QStringLiteral("preset %1: tensor %2 has rows of %3 values, which %4 cannot store "
                                   "(llama-quantize refuses it too: unsupported tensor size)")
                        .arg(QLatin1String(p.name), t.name)
                        .arg(nx)
                        .arg(ggmlTypeName(type)));
    return *fitted;
}

} // namespace

std::uint32_t ggufFileTypeFor(GgmlType t)
{
    const LlamaFType f = ggmlTypeInfo(t).fileType;
    return std::uint32_t(f == LlamaFType::None ? LlamaFType::MostlyF16 : f);
}

void GgufExportPlan::setLinear(const Model& model, int linearIndex, GgmlType type)
{
    types.insert(ggufTensorName(model, linearIndex), type);
}

QStringList ggufPresetNames()
{
    QStringList names;
    for (const PresetInfo& p : kPresets)
        names << QLatin1String(p.name);
    return names;
}

int ggufPresetFileType(const QString& name)
{
    const PresetInfo* p = findPreset(name);
    return p ? int(p->fileType) : -1;
}

GgufExportPlan ggufPreset(const Model& model, const QString& name, bool withImportance)
{
    const PresetInfo* p = findPreset(name);
    if (!p)
        throw Error(QStringLiteral("unknown GGUF preset \"%1\" (known: %2)")
                        .arg(name, ggufPresetNames().join(u", ")));
    GgufExportPlan plan;
    plan.preset = QLatin1String(p->name);
    plan.fileType = std::uint32_t(p->fileType);
    plan.defaultType = p->base;
    for (const GgufExportTensor& t : ggufExportTensors(model)) {
        if (t.role != GgufExportTensor::Role::Weight)
            continue;
        plan.types.insert(t.name, p->kQuantMix ? chooseType(model, *p, t, withImportance) : p->base);
    }
    return plan;
}

int ggufOverrideTypes(const Model& model, GgufExportPlan& plan, const QString& regex, GgmlType type)
{
    const QRegularExpression re(regex);
    if (!re.isValid())
        throw Error(QStringLiteral("invalid tensor pattern \"%1\": %2").arg(regex, re.errorString()));
    if (!ggmlTypeInfo(type).canQuantize)
        throw Error(QStringLiteral("GGUF type %1 cannot be produced").arg(ggmlTypeName(type)));
    int matched = 0;
    for (const GgufExportTensor& t : ggufExportTensors(model)) {
        if (t.role != GgufExportTensor::Role::Weight || !re.match(t.name).hasMatch())
            continue;
        if (t.rowLength() % blockOf(type) != 0)
            throw Error(QStringLiteral("tensor %1: rows of %2 values are not a multiple of the %3 block (%4)")
                            .arg(t.name)
                            .arg(t.rowLength())
                            .arg(ggmlTypeName(type))
                            .arg(blockOf(type)));
        plan.types.insert(t.name, type);
        ++matched;
    }
    return matched;
}

namespace {

/// general.file_type of a hand-made plan: the ftype of the type holding most linear weights.
void setDominantFileType(const Model& model, GgufExportPlan& plan)
{
    std::map<std::uint32_t, std::int64_t> values;
    for (const GgufExportTensor& t : ggufExportTensors(model)) {
        if (t.linearIndex >= 0)
            values[std::uint32_t(plan.typeOf(t.name))] +=
                model.linears()[std::size_t(t.linearIndex)].params();
    }
    const auto best = std::max_element(values.begin(), values.end(),
                                       [](const auto& a, const auto& b) { return a.second < b.second; });
    if (best != values.end())
        plan.fileType = ggufFileTypeFor(GgmlType(best->first));
}

} // namespace

void ggufApplyLayerPlan(const Model& model, GgufExportPlan& plan, const LayerPlan& layers)
{
    for (const LayerPlanEntry& e : layers.entries) {
        const std::optional<GgmlType> ggufType = e.spec.ggufType();
        if (!ggufType)
            throw Error(
                QStringLiteral(
                    "layer %1 is planned as %2, which GGUF cannot hold; use gguf types (or float) for "
                    "a GGUF export, or export GPTQ/AWQ with export-hf")
                    .arg(e.name, e.spec.label()));
        const GgmlType type = *ggufType;
        const LinearLayerInfo& l = model.linears()[std::size_t(e.linearIndex)];
        if (l.inFeatures % blockOf(type) != 0)
            throw Error(QStringLiteral("layer %1: rows of %2 values are not a multiple of the %3 block (%4)")
                            .arg(e.name)
                            .arg(l.inFeatures)
                            .arg(ggmlTypeName(type))
                            .arg(blockOf(type)));
        plan.setLinear(model, e.linearIndex, type);
    }
    plan.preset.clear();
    setDominantFileType(model, plan);
}

GgmlType ggufTokenEmbeddingType(const Model& model)
{
    return model.config().hiddenSize % blockOf(GgmlType::Q8_0) == 0 ? GgmlType::Q8_0 : GgmlType::F16;
}

GgufExportPlan ggufPlanForLayerPlan(const Model& model, const LayerPlan& layers)
{
    GgufExportPlan plan = ggufPreset(model, QStringLiteral("F16"));
    if (ggufTokenEmbeddingType(model) != GgmlType::F16)
        ggufOverrideTypes(model, plan, QStringLiteral("^token_embd\\.weight$"),
                          ggufTokenEmbeddingType(model));
    ggufApplyLayerPlan(model, plan, layers);
    return plan;
}

namespace {

/// llamaQuantizeDeviations, with how many of them stop llama-quantize (worse than any number of
/// tensors typed otherwise).
std::pair<int, QStringList> deviations(const Model& model, const LayerPlan& layers, const QString& baseType,
                                       bool withImportance)
{
    const std::optional<GgmlType> base = ggmlTypeFromName(baseType);
    const PresetInfo* p = nullptr;
    for (const PresetInfo& x : kPresets) {
        if (base && x.fileType == ggmlTypeInfo(*base).fileType)
            p = &x;
    }
    QStringList out;
    int stops = 0;
    if (!p || !p->kQuantMix)
        return {0, out}; // a float base: llama-quantize ignores --tensor-type (exportLlamaCpp says so)
    for (const GgufExportTensor& t : ggufExportTensors(model)) {
        if (t.role != GgufExportTensor::Role::Weight)
            continue;
        // token_embd: its type comes from --token-embedding-type, but llama-quantize types it first.
        GgmlType want = GgmlType::F32;
        bool planned = false; // a linear the plan gives a GGUF type
        if (t.linearIndex >= 0) {
            if (const std::optional<GgmlType> g =
                    layers.entries[std::size_t(t.linearIndex)].spec.ggufType()) {
                want = *g;
                planned = true;
            }
        }
        const GgmlType mix = mixType(model, *p, t, withImportance);
        const std::optional<GgmlType> fitted = ggmlRowFallback(mix, t.rowLength());
        stops += fitted ? 0 : 1;
        if (!fitted)
            out << QStringLiteral(
                       "%1: llama-quantize stops here: the %2 mix gives it %3, whose %4-value blocks do "
                       "not fit rows of %5 values (unsupported tensor size)")
                       .arg(t.name, QLatin1String(p->name), ggmlTypeName(mix))
                       .arg(blockOf(mix))
                       .arg(t.rowLength());
        else if (*fitted != mix && planned && *fitted != want)
            out << QStringLiteral(
                       "%1: rows of %2 values need llama-quantize's fallback (%3 → %4), and then it "
                       "ignores --tensor-type: it stores %4, not %5")
                       .arg(t.name)
                       .arg(t.rowLength())
                       .arg(ggmlTypeName(mix), ggmlTypeName(*fitted), ggmlTypeName(want));
    }
    return {stops, out};
}

} // namespace

QStringList llamaQuantizeDeviations(const Model& model, const LayerPlan& layers, const QString& baseType,
                                    bool withImportance)
{
    return deviations(model, layers, baseType, withImportance).second;
}

LlamaCppExport llamaQuantizeExport(const Model& model, const LayerPlan& layers, bool withImportance)
{
    LlamaCppExport e = exportLlamaCpp(layers, model);
    if (e.baseType.isEmpty())
        return e;
    // Candidates for the positional type: the one exportLlamaCpp chose, and every type whose
    // fallback gives a type of the plan (a plan fitted from Q4_K holds Q5_0 where rows are short).
    QStringList candidates{e.baseType};
    for (const LayerPlanEntry& x : layers.entries) {
        const std::optional<GgmlType> t = x.spec.ggufType();
        if (!t || !ggmlTypeInfo(*t).quantized)
            continue;
        for (const GgmlTypeInfo& info : kGgmlTypes) {
            const QString name = QString(QLatin1String(info.name)).toLower();
            if ((info.type == *t || info.rowFallback == *t) && info.canQuantize && !candidates.contains(name))
                candidates << name;
        }
    }
    std::pair<int, QStringList> best = deviations(model, layers, e.baseType, withImportance);
    for (const QString& c : candidates) {
        if (best.second.isEmpty())
            break;
        const std::pair<int, QStringList> d = deviations(model, layers, c, withImportance);
        const std::optional<GgmlType> ct = ggmlTypeFromName(c);
        const bool hasPreset =
            std::any_of(std::begin(kPresets), std::end(kPresets), [&](const PresetInfo& x) {
                return x.kQuantMix && x.fileType == ggmlTypeInfo(*ct).fileType;
            });
        // Fewest stops first (one stops llama-quantize), then fewest tensors typed otherwise.
        if (hasPreset &&
            std::make_pair(d.first, d.second.size()) < std::make_pair(best.first, best.second.size())) {
            best = d;
            e.baseType = c;
        }
    }
    e.problems << best.second;
    return e;
}

int ggufKeepStoredTypes(const Model& model, GgufExportPlan& plan)
{
    int kept = 0;
    const TensorStore& store = model.tensors();
    for (const GgufExportTensor& t : ggufExportTensors(model)) {
        if (t.role != GgufExportTensor::Role::Weight)
            continue;
        const LinearLayerInfo* l =
            t.linearIndex >= 0 ? &model.linears()[std::size_t(t.linearIndex)] : nullptr;
        std::optional<GgmlType> stored;
        if (l && l->quant)
            stored = l->quant->ggufType();
        else if (store.isGguf() && store.contains(t.source))
            stored = store.info(t.source).ggmlType;
        if (stored && ggmlTypeInfo(*stored).canQuantize) {
            plan.types.insert(t.name, *stored);
            ++kept;
        }
    }
    if (kept > 0) {
        plan.preset.clear();
        setDominantFileType(model, plan);
    }
    return kept;
}

} // namespace qs
