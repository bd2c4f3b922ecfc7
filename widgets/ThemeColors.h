#pragma once

#include <QColor>
#include <QPalette>

class QWidget;

namespace qs {

/// Colours that stay readable in the light and the dark theme: marks are the accent mixed into
/// the palette's base (the palette's text stays readable on them), text tones are a dark shade on
/// a light palette and a light shade on a dark one.
namespace theme {

enum class Tone { Hint, Warning, Error };

/// True when the palette's base is dark (the dark theme, or a dark system palette).
bool isDark(const QPalette& palette);
/// A background that marks cells (a regex match, a llama.cpp fallback): `accent` mixed into the
/// palette's base, so the palette's text colour stays readable on it.
QColor tint(const QColor& accent, const QPalette& palette);
/// The yellow of matched (highlighted) rows and the orange of cells that fell back, as tints.
QColor matchTint(const QPalette& palette);
QColor fallbackTint(const QPalette& palette);
/// The text colour of a tone on this palette.
QColor toneColor(Tone tone, const QPalette& palette);
/// Shows a widget's text in a tone, chosen again whenever the application's palette changes
/// (the theme switched at run time).
void setTextTone(QWidget* widget, Tone tone);

} // namespace theme
} // namespace qs
