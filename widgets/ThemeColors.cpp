#include "ThemeColors.h"

#include <QApplication>
#include <QEvent>
#include <QWidget>

namespace qs::theme {

namespace {

/// Keeps a widget's text in its tone: re-applied when the application's or its own palette changes.
class ToneKeeper : public QObject
{
public:
    ToneKeeper(QWidget* widget, Tone tone) : QObject(widget), m_widget(widget), m_tone(tone)
    {
        widget->installEventFilter(this);
        apply();
    }

protected:
    bool eventFilter(QObject* watched, QEvent* event) override
    {
        if (watched == m_widget &&
            (event->type() == QEvent::ApplicationPaletteChange || event->type() == QEvent::PaletteChange))
            apply();
        return false;
    }

private:
    void apply()
    {
        const QColor color = toneColor(m_tone, QApplication::palette(m_widget));
        if (m_widget->palette().color(QPalette::WindowText) == color &&
            m_widget->palette().color(QPalette::Text) == color)
            return; // already so: setting it again would only send another PaletteChange
        QPalette p = m_widget->palette();
        p.setColor(QPalette::WindowText, color);
        p.setColor(QPalette::Text, color);
        m_widget->setPalette(p);
    }

    QWidget* m_widget;
    Tone m_tone;
};

} // namespace

bool isDark(const QPalette& palette)
{
    return palette.color(QPalette::Base).lightnessF() < 0.5;
}

QColor tint(const QColor& accent, const QPalette& palette)
{
    const QColor base = palette.color(QPalette::Base);
    const double t = isDark(palette) ? 0.35 : 0.55; // how much of the accent
    return QColor::fromRgbF(float(base.redF() + (accent.redF() - base.redF()) * t),
                            float(base.greenF() + (accent.greenF() - base.greenF()) * t),
                            float(base.blueF() + (accent.blueF() - base.blueF()) * t));
}

QColor matchTint(const QPalette& palette)
{
    return tint(QColor(255, 205, 40), palette);
}

QColor fallbackTint(const QPalette& palette)
{
    return tint(QColor(255, 150, 40), palette);
}

QColor toneColor(Tone tone, const QPalette& palette)
{
    const bool dark = isDark(palette);
    switch (tone) {
    case Tone::Hint: { // between text and base, nearer the text
        const QColor text = palette.color(QPalette::Text), base = palette.color(QPalette::Base);
        return QColor::fromRgbF(float(text.redF() + (base.redF() - text.redF()) * 0.38),
                                float(text.greenF() + (base.greenF() - text.greenF()) * 0.38),
                                float(text.blueF() + (base.blueF() - text.blueF()) * 0.38));
    }
    case Tone::Warning:
        return dark ? QColor(240, 170, 80) : QColor(160, 80, 0);
    case Tone::Error:
        return dark ? QColor(255, 120, 110) : QColor(176, 0, 0);
    }
    return palette.color(QPalette::Text);
}

void setTextTone(QWidget* widget, Tone tone)
{
    new ToneKeeper(widget, tone);
}

} // namespace qs::theme
