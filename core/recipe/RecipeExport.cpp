#include "recipe/RecipeExport.h"

#include "model/Model.h"
#include "recipe/Recipe.h"
#include "util/ShellQuote.h"

#include <QDir>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QRegularExpression>
#include <algorithm>
#include <map>
#include <set>
#include <tuple>

namespace qs {

namespace {

/// A tensor or module name split around its block index: head + N + "." + mid + end
/// ("blk." 3 "." "ffn_down" ".weight"); block -1 for names outside the blocks (whole name in head).
struct Site
{
    QString head;
    int block = -1;
    QString mid;
    QString end;
};

/// Anchored, non-overlapping regexes covering exactly the given (site, value) pairs.
class PatternGrouper
{
public:
    /// `all`: every site of the plan (mappable or not), so that "\d+" is used only when a value
    /// covers every block that has this kind of layer.
    explicit PatternGrouper(const std::vector<Site>& all)
    {
        for (const Site& s : all) {
            if (s.block >= 0)
                m_allBlocks[{s.head, s.mid, s.end}].insert(s.block);
        }
    }

    void add(const Site& s, const QString& value)
    {
        if (s.block < 0) {
            m_singles.push_back({s.head, value});
            return;
        }
        const auto key = std::make_tuple(s.head, s.mid, s.end, value);
        auto it = m_kinds.find(key);
        if (it == m_kinds.end()) {
            it = m_kinds.emplace(key, std::set<int>()).first;
            m_kindOrder.push_back(key);
        }
        it->second.insert(s.block);
    }

    /// (pattern, value) in first-seen order.
    std::vector<std::pair<QString, QString>> patterns() const
    {
        // Kinds sharing head, end, value and the same block set become one alternation.
        struct Group
        {
            QString head, end, value, blocks;
            QStringList mids;
        };
        std::vector<Group> groups;
        for (const auto& key : m_kindOrder) {
            const auto& [head, mid, end, value] = key;
            const std::set<int>& blocks = m_kinds.at(key);
            const bool everyBlock = blocks == m_allBlocks.at({head, mid, end});
            QString blockPattern;
            if (everyBlock) {
                blockPattern = QStringLiteral("\\d+");
            } else {
                QStringList numbers;
                for (int b : blocks)
                    numbers << QString::number(b);
                blockPattern = numbers.size() == 1 ? numbers.front() : u'(' + numbers.join(u'|') + u')';
            }
            // Named captures: clang before 16 cannot capture structured bindings.
            auto g =
                std::find_if(groups.begin(), groups.end(),
                             [&h = head, &e = end, &v = value, &blockPattern](const Group& x) {
                                 return x.head == h && x.end == e && x.value == v && x.blocks == blockPattern;
                             });
            if (g == groups.end())
                groups.push_back({head, end, value, blockPattern, {QRegularExpression::escape(mid)}});
            else
                g->mids << QRegularExpression::escape(mid);
        }
        std::vector<std::pair<QString, QString>> out;
        for (const Group& g : groups) {
            const QString mids = g.mids.size() == 1 ? g.mids.front() : u'(' + g.mids.join(u'|') + u')';
            out.emplace_back(u'^' + QRegularExpression::escape(g.head) + g.blocks + u"\\." + mids +
                                 QRegularExpression::escape(g.end) + u'$',
                             g.value);
        }
        for (const auto& [name, value] : m_singles)
            out.emplace_back(u'^' + QRegularExpression::escape(name) + u'$', value);
        return out;
    }

private:
    std::map<std::tuple<QString, QString, QString>, std::set<int>> m_allBlocks;
    std::map<std::tuple<QString, QString, QString, QString>, std::set<int>> m_kinds;
    std::vector<std::tuple<QString, QString, QString, QString>> m_kindOrder;
    std::vector<std::pair<QString, QString>> m_singles;
};

/// Collects per-layer problems, grouped by reason: "reason (3 layers: a, b, c)".
class Problems
{
public:
    /// A problem of the whole plan, not of particular layers.
    void add(const QString& reason) { m_items.push_back({reason, {}}); }
    void add(const QString& layer, const QString& reason)
    {
        auto it =
            std::find_if(m_items.begin(), m_items.end(), [&](const auto& x) { return x.first == reason; });
        if (it == m_items.end())
            m_items.push_back({reason, {layer}});
        else
            it->second << layer;
    }
    QStringList lines() const
    {
        QStringList out;
        for (const auto& [reason, layers] : m_items) {
            if (layers.isEmpty()) {
                out << reason;
                continue;
            }
            QStringList shown = layers.mid(0, 3);
            if (layers.size() > 3)
                shown << QStringLiteral("… %1 more").arg(layers.size() - 3);
            out << QStringLiteral("%1 (%2 layer%3: %4)")
                       .arg(reason)
                       .arg(layers.size())
                       .arg(layers.size() == 1 ? QString() : QStringLiteral("s"))
                       .arg(shown.join(QStringLiteral(", ")));
        }
        return out;
    }

private:
    std::vector<std::pair<QString, QStringList>> m_items;
};

Site ggufSite(const LinearLayerInfo& l)
{
    // Split the table's name around the block number: "blk." 3 "." "ffn_down" ".weight".
    const QString name = ggufLinearTensorName(l.kind, l.block);
    if (l.kind == LinearKind::Head || l.block < 0)
        return {name, -1, {}, {}};
    const QString kind = QLatin1String(linearKindInfo(l.kind).gguf);
    const QString number = u'.' + QString::number(l.block) + u'.';
    const qsizetype at = name.indexOf(number);
    return {name.left(at + 1), l.block, kind, name.mid(at + number.size() + kind.size())};
}

Site hfSite(const LinearLayerInfo& l)
{
    if (l.block >= 0) {
        const QString number = u'.' + QString::number(l.block) + u'.';
        const qsizetype at = l.name.indexOf(number);
        if (at >= 0)
            return {l.name.left(at + 1), l.block, l.name.mid(at + number.size()), {}};
    }
    return {l.name, -1, {}, {}};
}

/// The block of llama.cpp's legacy types (Q4_0 … Q8_0), which store what RTN/GPTQ/AWQ groups of 32 do.
constexpr int kGgufBlock = ggmlTypeInfo(GgmlType::Q4_0).blockSize;

/// The GGUF type storing `s` honestly, or empty with `why` set.
QString ggufType(const QuantSpec& s, const LinearLayerInfo& l, QString& why)
{
    // Float and gguf layers already have a llama.cpp type (gguf ones fitted to the rows by the plan).
    if (const std::optional<GgmlType> stored = s.ggufType())
        return ggmlTypeName(*stored).toLower();
    const QString label = s.label();
    if (s.decodesCodes()) {
        why = label + QStringLiteral(": %1 decodes its codes through a codebook or lattice; GGUF types are "
                                     "uniform grids")
                          .arg(quantMethodName(s.method));
        return {};
    }
    if (s.method != QuantMethod::Rtn && s.method != QuantMethod::Gptq && s.method != QuantMethod::Awq) {
        why =
            label + QStringLiteral(": GGUF types are weight-only; %1 is not").arg(quantMethodName(s.method));
        return {};
    }
    if (s.incoherence != Incoherence::None) {
        why = label +
              QStringLiteral(": incoherence processing rotates the inputs at run time; GGUF layers do not");
        return {};
    }
    if (s.method == QuantMethod::Gptq && s.actOrder && !s.staticGroups) {
        why = label + QStringLiteral(": act-order without static groups scatters group members (g_idx); GGUF "
                                     "blocks are contiguous");
        return {};
    }
    if (s.granularity != Granularity::PerGroup || s.groupSize != kGgufBlock) {
        why = label + QStringLiteral(": GGUF q4_0/q4_1/q5_0/q5_1/q8_0 use groups of %1 along the input")
                          .arg(kGgufBlock);
        return {};
    }
    if (s.scaleType != DType::F16) {
        why = label + QStringLiteral(": %1 scales; GGUF blocks store f16 scales").arg(dtypeName(s.scaleType));
        return {};
    }
    std::optional<GgmlType> legacy;
    if (s.bits == 4)
        legacy = s.symmetric ? GgmlType::Q4_0 : GgmlType::Q4_1;
    else if (s.bits == 5)
        legacy = s.symmetric ? GgmlType::Q5_0 : GgmlType::Q5_1;
    else if (s.bits == 8 && s.symmetric)
        legacy = GgmlType::Q8_0;
    if (!legacy) {
        why = label + QStringLiteral(": no GGUF block type for int%1 %2 (q4_0/q4_1, q5_0/q5_1, q8_0)")
                          .arg(s.bits)
                          .arg(s.symmetric ? QStringLiteral("sym") : QStringLiteral("asym"));
        return {};
    }
    if (l.inFeatures % kGgufBlock != 0) {
        why = label +
              QStringLiteral(": %1 input features are not a multiple of %2; llama-quantize would fall back "
                             "to another type")
                  .arg(l.inFeatures)
                  .arg(kGgufBlock);
        return {};
    }
    return ggmlTypeName(*legacy).toLower();
}

QString mostCommon(const std::vector<QString>& values)
{
    std::vector<std::pair<QString, int>> counts; // first-seen order breaks ties
    for (const QString& v : values) {
        auto it = std::find_if(counts.begin(), counts.end(), [&](const auto& c) { return c.first == v; });
        if (it == counts.end())
            counts.push_back({v, 1});
        else
            ++it->second;
    }
    QString best;
    int n = 0;
    for (const auto& [v, c] : counts) {
        if (c > n) {
            best = v;
            n = c;
        }
    }
    return best;
}

bool isFloatType(const QString& t)
{
    return t == u"f32" || t == u"f16" || t == u"bf16";
}

} // namespace

Recipe recipeForStoredModel(const Model& model, const QString& name)
{
    Recipe r;
    r.name = name;
    if (!model.isQuantized())
        return r;
    // Group layers by their stored spec (its JSON is the key), float layers by dtype.
    std::map<QString, std::int64_t> weights;
    std::vector<std::pair<int, QString>> quantized, floats;
    std::map<QString, QJsonObject> specOf;
    for (std::size_t i = 0; i < model.linears().size(); ++i) {
        const LinearLayerInfo& l = model.linears()[i];
        const bool isFloat = !l.quant || l.quant->method == QuantMethod::Float;
        if (isFloat) {
            floats.emplace_back(int(i), dtypeName(l.quant ? l.quant->floatType : l.dtype));
            continue;
        }
        const QJsonObject o = l.quant->toJson();
        const QString key = QString::fromUtf8(QJsonDocument(o).toJson(QJsonDocument::Compact));
        specOf[key] = o;
        weights[key] += l.params();
        quantized.emplace_back(int(i), key);
    }
    QString defaults;
    std::int64_t most = -1;
    for (const auto& [key, w] : weights) {
        if (w > most) {
            most = w;
            defaults = key;
        }
    }
    if (!defaults.isEmpty())
        r.defaults = QuantSpec::fromJson(specOf[defaults], model.path());
    std::vector<std::pair<int, QString>> differing;
    for (const auto& [li, key] : quantized) {
        if (key != defaults)
            differing.emplace_back(li, key);
    }
    for (const auto& [pattern, key] : layerPatterns(model, differing))
        r.rules.push_back({pattern, specOf[key]});
    for (const auto& [pattern, dtype] : layerPatterns(model, floats)) {
        KeepFloatRule k;
        k.match = pattern;
        for (const DTypeInfo& d : kDTypes) {
            if (dtype == QLatin1String(d.name))
                k.dtype = d.type;
        }
        r.keepFloat.push_back(k);
    }
    r.description = QStringLiteral("The types %1 stores").arg(model.displayName());
    return r;
}

QString ggufTensorName(const Model& model, int linearIndex)
{
    const LinearLayerInfo& l = model.linears()[std::size_t(linearIndex)];
    return ggufLinearTensorName(l.kind, l.block);
}

std::vector<std::pair<QString, QString>>
layerPatterns(const Model& model, const std::vector<std::pair<int, QString>>& layerValues)
{
    std::vector<Site> all;
    for (const LinearLayerInfo& l : model.linears())
        all.push_back(hfSite(l));
    PatternGrouper grouper(all);
    for (const auto& [linear, value] : layerValues)
        grouper.add(all.at(std::size_t(linear)), value);
    return grouper.patterns();
}

LlamaCppExport exportLlamaCpp(const LayerPlan& plan, const Model& model)
{
    LlamaCppExport out;
    std::vector<Site> all;
    for (const LayerPlanEntry& e : plan.entries)
        all.push_back(ggufSite(model.linears()[std::size_t(e.linearIndex)]));
    PatternGrouper grouper(all);
    Problems problems;
    std::vector<QString> quantized, types;
    for (std::size_t i = 0; i < plan.entries.size(); ++i) {
        const LayerPlanEntry& e = plan.entries[i];
        QString why;
        const QString type = ggufType(e.spec, model.linears()[std::size_t(e.linearIndex)], why);
        if (type.isEmpty()) {
            problems.add(e.name, u"not mappable to a GGUF type: " + why);
            continue;
        }
        grouper.add(all[i], type);
        types.push_back(type);
        if (!isFloatType(type))
            quantized.push_back(type);
    }
    for (const auto& [pattern, type] : grouper.patterns())
        out.args << QStringLiteral("--tensor-type") << pattern + u'=' + type;
    out.baseType = quantized.empty() ? mostCommon(types) : mostCommon(quantized); // empty: nothing maps
    if (quantized.empty() && !types.empty())
        out.args.clear(); // nothing quantized: the base type alone says it (llama.cpp ignores overrides then)
    if (quantized.empty() &&
        std::any_of(types.begin(), types.end(), [&](const QString& t) { return t != out.baseType; }))
        problems.add(QStringLiteral("float layers of different dtypes but nothing quantized: "
                                    "llama-quantize only honours --tensor-type when its "
                                    "base type is quantized"));
    out.problems = problems.lines();
    return out;
}

LlamaQuantizeInvocation llamaQuantizeDefaults(const Model& model, const QString& baseType)
{
    LlamaQuantizeInvocation how;
    const QFileInfo path(model.path());
    const bool gguf =
        path.isFile() && path.suffix().compare(QStringLiteral("gguf"), Qt::CaseInsensitive) == 0;
    const QString stem =
        QDir::cleanPath(path.absoluteDir().filePath(gguf ? path.completeBaseName() : path.fileName()));
    how.input = gguf ? QDir::cleanPath(path.absoluteFilePath()) : stem + QStringLiteral("-F16.gguf");
    how.output = stem + u'-' + baseType.toUpper() + QStringLiteral(".gguf");
    return how;
}

QStringList llamaQuantizeArgv(const LlamaCppExport& e, const LlamaQuantizeInvocation& how)
{
    if (e.baseType.isEmpty())
        return {};
    QStringList argv{how.binary};
    if (!how.imatrix.isEmpty())
        argv << QStringLiteral("--imatrix") << how.imatrix;
    if (!how.tokenEmbeddingType.isEmpty())
        argv << QStringLiteral("--token-embedding-type") << how.tokenEmbeddingType.toLower();
    argv << e.args << how.input << how.output << e.baseType;
    return argv;
}

QString llamaQuantizeCommandText(const QStringList& argv)
{
    std::vector<int> breaks;
    for (int i = 1; i < int(argv.size()); ++i) {
        if (argv[i].startsWith(QStringLiteral("--")) || i == int(argv.size()) - 3) // options, then the files
            breaks.push_back(i);
    }
    return shellCommandLine(argv, breaks);
}

QStringList toLlamaCppTensorTypeArgs(const LayerPlan& plan, const Model& model, QStringList* problems)
{
    LlamaCppExport e = exportLlamaCpp(plan, model);
    if (problems)
        *problems << e.problems;
    return e.args;
}

namespace {

struct GptqConfig
{
    int bits = 4;
    int groupSize = 128;
    bool descAct = false;
    bool sym = true;
    bool staticGroups = false;
    double damp = 0.01;
    bool operator==(const GptqConfig&) const = default;
};

QJsonObject gptqJson(const GptqConfig& c, const GptqConfig* base)
{
    QJsonObject o{{QStringLiteral("bits"), c.bits},
                  {QStringLiteral("group_size"), c.groupSize},
                  {QStringLiteral("desc_act"), c.descAct},
                  {QStringLiteral("sym"), c.sym}};
    if (!base || base->damp != c.damp)
        o.insert(QStringLiteral("damp_percent"), c.damp);
    if (!base || base->staticGroups != c.staticGroups)
        o.insert(QStringLiteral("static_groups"), c.staticGroups);
    return o;
}

bool gptqConfig(const QuantSpec& s, GptqConfig& c, QString& why)
{
    const QString label = s.label();
    if (s.method != QuantMethod::Gptq) {
        why = label + QStringLiteral(": not a GPTQ layer (GPTQModel would quantize it with GPTQ)");
        return false;
    }
    if (s.bits != 2 && s.bits != 3 && s.bits != 4 && s.bits != 8) {
        why = label + QStringLiteral(": GPTQModel packs 2, 3, 4 or 8 bits");
        return false;
    }
    if (s.granularity == Granularity::PerTensor) {
        why = label + QStringLiteral(": per-tensor scales (GPTQModel: per group or per channel)");
        return false;
    }
    if (!s.symmetric && s.floatZeros) {
        why = label + QStringLiteral(": float zero points (GPTQ checkpoints store integer zeros)");
        return false;
    }
    if (s.scaleType != DType::F16) {
        why = label +
              QStringLiteral(": %1 scales (GPTQ checkpoints store f16 scales)").arg(dtypeName(s.scaleType));
        return false;
    }
    c.bits = s.bits;
    c.groupSize = s.granularity == Granularity::PerGroup ? s.groupSize : -1;
    c.descAct = s.actOrder;
    c.sym = s.symmetric;
    c.staticGroups = s.staticGroups && s.granularity == Granularity::PerGroup;
    c.damp = s.dampPercent;
    return true;
}

} // namespace

QJsonObject toGptqModelDynamic(const LayerPlan& plan, const Model& model, QStringList* problems)
{
    std::vector<Site> all;
    for (const LayerPlanEntry& e : plan.entries)
        all.push_back(hfSite(model.linears()[std::size_t(e.linearIndex)]));
    Problems found;
    std::vector<GptqConfig> configs(plan.entries.size());
    std::vector<int> kind(plan.entries.size(), 0); // 0 problem, 1 gptq, 2 skip (float)
    std::vector<std::pair<GptqConfig, int>> counts;
    bool headQuantized = false;
    for (std::size_t i = 0; i < plan.entries.size(); ++i) {
        const LayerPlanEntry& e = plan.entries[i];
        if (e.spec.method == QuantMethod::Float) {
            kind[i] = 2;
            continue;
        }
        QString why;
        if (!gptqConfig(e.spec, configs[i], why)) {
            found.add(e.name, u"not expressible in GPTQModel: " + why);
            continue;
        }
        kind[i] = 1;
        if (model.linears()[std::size_t(e.linearIndex)].kind == LinearKind::Head)
            headQuantized = true;
        auto it =
            std::find_if(counts.begin(), counts.end(), [&](const auto& c) { return c.first == configs[i]; });
        if (it == counts.end())
            counts.push_back({configs[i], 1});
        else
            ++it->second;
    }
    QJsonObject base;
    GptqConfig baseConfig;
    if (counts.empty()) {
        found.add(QStringLiteral("no GPTQ layers, so no GPTQModel base config"));
    } else {
        int n = 0;
        for (const auto& [c, count] : counts) {
            if (count > n) {
                baseConfig = c;
                n = count;
            }
        }
        base = gptqJson(baseConfig, nullptr);
        if (headQuantized)
            base.insert(QStringLiteral("lm_head"), true);
    }

    std::vector<QJsonObject> overrides;
    PatternGrouper grouper(all);
    for (std::size_t i = 0; i < plan.entries.size(); ++i) {
        if (kind[i] == 2) {
            grouper.add(all[i], QStringLiteral("-"));
        } else if (kind[i] == 1 && !(configs[i] == baseConfig)) {
            const QJsonObject o = gptqJson(configs[i], &baseConfig);
            auto it = std::find(overrides.begin(), overrides.end(), o);
            if (it == overrides.end()) {
                overrides.push_back(o);
                it = overrides.end() - 1;
            }
            grouper.add(all[i], QString::number(it - overrides.begin()));
        }
    }
    QJsonObject dynamic;
    for (const auto& [pattern, value] : grouper.patterns()) {
        if (value == u"-")
            dynamic.insert(u"-:" + pattern, QJsonObject());
        else
            dynamic.insert(u"+:" + pattern, overrides[std::size_t(value.toInt())]);
    }
    if (problems)
        *problems << found.lines();
    return QJsonObject{{QStringLiteral("base"), base}, {QStringLiteral("dynamic"), dynamic}};
}

} // namespace qs
