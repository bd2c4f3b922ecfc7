#include "PlanDocument.h"

#include "model/Model.h"
#include "recipe/RecipeExport.h"
#include "util/Error.h"

#include <QUndoCommand>

namespace qs {

/// One edit: the recipe before and after.
class RecipeCommand : public QUndoCommand
{
public:
    RecipeCommand(PlanDocument* doc, Recipe before, Recipe after, const QString& text)
        : QUndoCommand(text), m_doc(doc), m_before(std::move(before)), m_after(std::move(after))
    {}
    void redo() override { m_doc->apply(m_after); }
    void undo() override { m_doc->apply(m_before); }

private:
    PlanDocument* m_doc;
    Recipe m_before, m_after;
};

PlanDocument::PlanDocument(QObject* parent) : QObject(parent) {}

void PlanDocument::setModel(std::shared_ptr<const Model> model, const Recipe& recipe)
{
    m_undo.clear();
    m_model = std::move(model);
    if (!m_model) {
        m_recipe = recipe;
        m_plan = {};
        m_warnings.clear();
        Q_EMIT planChanged();
        return;
    }
    apply(recipe);
}

void PlanDocument::apply(const Recipe& recipe)
{
    QStringList warnings;
    LayerPlan plan = m_model ? recipe.resolve(*m_model, &warnings) : LayerPlan{};
    m_recipe = recipe;
    m_plan = std::move(plan);
    m_warnings = warnings;
    Q_EMIT planChanged();
}

void PlanDocument::push(const Recipe& after, const QString& description)
{
    if (!m_model)
        throw Error(tr("Open a model before editing its plan."));
    after.validate();
    (void)after.resolve(*m_model); // refuse an edit that does not resolve, before it is on the stack
    m_undo.push(new RecipeCommand(this, m_recipe, after, description));
}

void PlanDocument::setField(const std::vector<int>& layers, const QJsonObject& fields,
                            const QString& description)
{
    if (!m_model || layers.empty())
        return;
    std::vector<std::pair<int, QString>> marked;
    for (int li : layers)
        marked.emplace_back(li, QStringLiteral("x"));
    const auto patterns = layerPatterns(*m_model, marked);
    Recipe after = m_recipe;
    auto merge = [&](QJsonObject& overrides) {
        // A gguf layer takes bits, groups and symmetry from its type; other methods have no type.
        const QString method = fields.value(QStringLiteral("method")).toString();
        if (method == u"gguf") {
            for (const char* key : {"bits", "group_size", "granularity", "symmetric"})
                overrides.remove(QLatin1String(key));
        } else if (!method.isEmpty()) {
            overrides.remove(QStringLiteral("type"));
            overrides.remove(QStringLiteral("imatrix"));
        }
        for (auto it = fields.begin(); it != fields.end(); ++it)
            overrides.insert(it.key(), it.value());
    };
    if (patterns.size() == 1 && !after.rules.empty() && after.rules.back().match == patterns.front().first) {
        merge(after.rules.back().overrides); // another edit of the very same layers
    } else {
        for (const auto& [pattern, unused] : patterns) {
            RecipeRule rule{pattern, {}};
            merge(rule.overrides);
            after.rules.push_back(rule);
        }
    }
    // Keep-float entries would override any rule: editing a float layer's method takes it out.
    if (fields.contains(QStringLiteral("method")) &&
        fields.value(QStringLiteral("method")).toString() != u"float") {
        std::vector<KeepFloatRule> kept;
        for (const KeepFloatRule& k : after.keepFloat) {
            const QRegularExpression re(k.match);
            bool hitsEdited = false;
            for (int li : layers)
                hitsEdited = hitsEdited || re.match(m_model->linears()[std::size_t(li)].name).hasMatch();
            if (!hitsEdited)
                kept.push_back(k);
        }
        after.keepFloat = kept;
    }
    push(after, description);
}

void PlanDocument::replaceRecipe(const Recipe& recipe, const QString& description)
{
    push(recipe, description);
}

void PlanDocument::addRule(const RecipeRule& rule)
{
    Recipe after = m_recipe;
    after.rules.push_back(rule);
    push(after, tr("Add rule %1").arg(rule.match));
}

void PlanDocument::removeRule(int index)
{
    if (index < 0 || index >= int(m_recipe.rules.size()))
        return;
    Recipe after = m_recipe;
    after.rules.erase(after.rules.begin() + index);
    push(after, tr("Remove rule %1").arg(m_recipe.rules[std::size_t(index)].match));
}

void PlanDocument::moveRule(int from, int to)
{
    const int n = int(m_recipe.rules.size());
    if (from < 0 || from >= n || to < 0 || to >= n || from == to)
        return;
    Recipe after = m_recipe;
    const RecipeRule r = after.rules[std::size_t(from)];
    after.rules.erase(after.rules.begin() + from);
    after.rules.insert(after.rules.begin() + to, r);
    push(after, tr("Move rule %1").arg(r.match));
}

void PlanDocument::loadRecipe(const QString& path)
{
    replaceRecipe(Recipe::fromFile(path), tr("Load recipe %1").arg(path));
}

void PlanDocument::saveRecipe(const QString& path) const
{
    m_recipe.saveFile(path);
}

std::uint64_t PlanDocument::floatBytes() const
{
    return m_model ? m_model->totals().bytes : 0;
}

std::uint64_t PlanDocument::plannedBytes() const
{
    return m_model ? m_plan.modelBytes(*m_model) : 0;
}

double PlanDocument::linearBitsPerWeight() const
{
    return m_model ? m_plan.linearBitsPerWeight(*m_model) : 0;
}

std::vector<RecipePreset> recipePresets(const Model& model)
{
    auto gptq = [](int bits) {
        QuantSpec s;
        s.method = QuantMethod::Gptq;
        s.bits = bits;
        s.granularity = Granularity::PerGroup;
        s.groupSize = 128;
        return s;
    };
    std::vector<RecipePreset> out;
    Recipe uniform;
    uniform.name = QStringLiteral("uniform GPTQ int4 g128");
    uniform.defaults = gptq(4);
    out.push_back({QT_TRANSLATE_NOOP("Presets", "Uniform GPTQ int4 g128"), uniform});

    Recipe attn = uniform;
    attn.name = QStringLiteral("attention 8-bit, MLP 4-bit");
    attn.rules.push_back({QStringLiteral("self_attn\\."), QJsonObject{{QStringLiteral("bits"), 8}}});
    out.push_back({QT_TRANSLATE_NOOP("Presets", "Attention 8-bit + MLP 4-bit (GPTQ g128)"), attn});

    Recipe ends = uniform;
    ends.name = QStringLiteral("first and last block 8-bit");
    const int last = int(model.blocks().size()) - 1;
    ends.rules.push_back(
        {QStringLiteral("layers\\.(0|%1)\\.").arg(last), QJsonObject{{QStringLiteral("bits"), 8}}});
    out.push_back(
        {QT_TRANSLATE_NOOP("Presets", "First and last block 8-bit, the rest 4-bit (GPTQ g128)"), ends});

    Recipe rtn8;
    rtn8.name = QStringLiteral("RTN int8 per channel");
    rtn8.defaults.method = QuantMethod::Rtn;
    rtn8.defaults.bits = 8;
    rtn8.defaults.symmetric = true;
    rtn8.defaults.granularity = Granularity::PerChannel;
    out.push_back({QT_TRANSLATE_NOOP("Presets", "RTN int8 per channel (no calibration)"), rtn8});

    Recipe rtn4;
    rtn4.name = QStringLiteral("RTN int4 g32");
    rtn4.defaults.method = QuantMethod::Rtn;
    rtn4.defaults.bits = 4;
    rtn4.defaults.groupSize = 32;
    out.push_back({QT_TRANSLATE_NOOP("Presets", "RTN int4 g32 (no calibration)"), rtn4});

    Recipe w8a8;
    w8a8.name = QStringLiteral("SmoothQuant W8A8");
    w8a8.defaults.method = QuantMethod::SmoothQuant;
    w8a8.defaults.bits = 8;
    w8a8.defaults.symmetric = true;
    w8a8.defaults.granularity = Granularity::PerChannel;
    out.push_back({QT_TRANSLATE_NOOP("Presets", "SmoothQuant W8A8"), w8a8});
    return out;
}

} // namespace qs
