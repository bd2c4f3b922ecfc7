#include "util/ShellQuote.h"

#include <algorithm>

namespace qs {

QString shellQuote(const QString& arg)
{
    static const QString safe = QStringLiteral("-_=./:+,");
    bool plain = !arg.isEmpty();
    for (const QChar c : arg)
        plain = plain && ((c.isLetterOrNumber() && c.unicode() < 128) || safe.contains(c));
    if (plain)
        return arg;
    QString q = arg;
    q.replace(u'\'', QStringLiteral("'\\''"));
    return u'\'' + q + u'\'';
}

QString shellCommandLine(const QStringList& argv, const std::vector<int>& breakBefore)
{
    QString line;
    for (int i = 0; i < int(argv.size()); ++i) {
        if (i > 0)
            line += std::find(breakBefore.begin(), breakBefore.end(), i) != breakBefore.end()
                        ? QStringLiteral(" \\\n  ")
                        : QStringLiteral(" ");
        line += shellQuote(argv[i]);
    }
    return line;
}

} // namespace qs
