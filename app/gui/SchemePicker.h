#pragma once

#include "spec/QuantSpec.h"

#include <QWidget>
#include <vector>

class QCheckBox;
class QComboBox;
class QLineEdit;

namespace qs {

/// The candidate schemes of a sensitivity sweep, picked from the tables instead of typed: one
/// checkbox per ggml weight type (QuantSpec::ggmlTypeChoices, with "imatrix"), one row per
/// weight-only method of kQuantMethods with a checkbox per bit width and a granularity choice,
/// and "keep f16". The advanced text line (object name "sweepSchemes") is the list itself: a
/// checkbox adds or removes its scheme there and leaves the others alone, and typing updates the
/// checkboxes, so the two never disagree.
class SchemePicker : public QWidget
{
    Q_OBJECT
public:
    explicit SchemePicker(QWidget* parent = nullptr);

    /// The comma-separated list (what the sweep parses).
    QString text() const;
    void setText(const QString& schemes);
    /// The default list: llama.cpp k-quants Q2_K, Q3_K, Q4_K, Q6_K (a plan of them exports as
    /// GGUF, needs no calibration text, and every row length has a llama-quantize fallback).
    static QString defaultSchemes();

Q_SIGNALS:
    void changed(const QString& schemes);

private:
    struct MethodRow
    {
        QuantMethod method;
        QComboBox* group = nullptr;
        std::vector<std::pair<int, QCheckBox*>> bits;
    };
    /// The scheme a checkbox stands for (its normalised short name), or empty when the table's
    /// choice is not a valid scheme (the box is disabled then).
    QString ggmlName(GgmlType type) const;
    QString methodName(const MethodRow& row, int bits) const;
    /// Adds or removes `name` in the text (normalised names compare).
    void toggle(const QString& name, bool on);
    void syncBoxes();

    QLineEdit* m_text = nullptr;
    QCheckBox* m_imatrix = nullptr;
    QCheckBox* m_float = nullptr;
    std::vector<std::pair<GgmlType, QCheckBox*>> m_ggml;
    std::vector<MethodRow> m_methods;
    bool m_syncing = false;
};

} // namespace qs
