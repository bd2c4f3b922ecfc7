#pragma once

#include "recipe/LayerPlan.h"
#include "recipe/Recipe.h"

#include <QJsonValue>
#include <QObject>
#include <QStringList>
#include <QUndoStack>
#include <memory>
#include <vector>

namespace qs {

class Model;

/// The per-layer quantization plan being edited, for one model. The document IS a recipe
/// (defaults + regex rules, last match wins + keep_float): every edit — a table cell, a bulk edit
/// of selected layers, a rule typed in the rule editor, a preset, an allocated plan — changes the
/// recipe, and the plan is always recipe.resolve(model). So what the user sees is exactly what
/// "Save recipe" writes and what every exporter reads. Every edit is one QUndoCommand holding
/// the recipe before and after; an edit whose result does not resolve is refused (the error
/// names the layer) and leaves nothing on the stack.
class PlanDocument : public QObject
{
    Q_OBJECT
public:
    explicit PlanDocument(QObject* parent = nullptr);

    /// Starts a new plan for `model` (clears the undo stack).
    void setModel(std::shared_ptr<const Model> model, const Recipe& recipe);
    std::shared_ptr<const Model> model() const { return m_model; }
    const Recipe& recipe() const { return m_recipe; }
    const LayerPlan& plan() const { return m_plan; }
    /// Rules and keep_float entries that match no layer of the model (one line each).
    const QStringList& warnings() const { return m_warnings; }
    QUndoStack* undoStack() { return &m_undo; }

    /// Sets one QuantSpec field (a recipe key: "method", "bits", "group_size" with "granularity",
    /// "symmetric", …) for the given layers (Model::linears() indices) by appending a rule whose
    /// anchored patterns cover exactly those layers, or updating the rule an earlier edit of the
    /// very same layers made. Throws qs::Error (nothing changes) when the result is invalid.
    void setField(const std::vector<int>& layers, const QJsonObject& fields, const QString& description);
    /// Replaces the whole recipe (load, preset, allocated plan) as one undoable step.
    void replaceRecipe(const Recipe& recipe, const QString& description);
    void addRule(const RecipeRule& rule);
    void removeRule(int index);
    void moveRule(int from, int to);

    /// Loads a recipe file (errors name the file); warnings list rules that match nothing here.
    void loadRecipe(const QString& path);
    void saveRecipe(const QString& path) const;

    /// Totals of the plan: bytes of the model before/after, bits per weight of the linear layers.
    std::uint64_t floatBytes() const;
    std::uint64_t plannedBytes() const;
    double linearBitsPerWeight() const;

Q_SIGNALS:
    /// The plan (and the recipe) changed; views re-read everything.
    void planChanged();

private:
    friend class RecipeCommand;
    /// Resolves `recipe` and, when it works, makes it current (no undo entry).
    void apply(const Recipe& recipe);
    void push(const Recipe& after, const QString& description);

    std::shared_ptr<const Model> m_model;
    Recipe m_recipe;
    LayerPlan m_plan;
    QStringList m_warnings;
    QUndoStack m_undo;
};

/// Built-in starting points (names are translated by the caller's tr()):
/// uniform GPTQ int4 g128; attention 8-bit + MLP 4-bit; first and last block 8-bit, the rest
/// 4-bit; RTN int8 per channel; SmoothQuant W8A8.
struct RecipePreset
{
    const char* name;
    Recipe recipe;
};
std::vector<RecipePreset> recipePresets(const Model& model);

} // namespace qs
