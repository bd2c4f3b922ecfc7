#pragma once

#include <QString>
#include <QStringList>
#include <vector>

namespace qs {

/// One argument for a POSIX shell: as is when it holds only letters, digits and -_=./:+, (and is
/// not empty), else in single quotes (a quote inside becomes '\'').
QString shellQuote(const QString& arg);
/// argv as one shell command line, each item shellQuote()d. With `breakBefore` (indices into
/// argv), those items start a continued line (" \\" newline, two spaces) for a readable listing
/// that still pastes as one command.
QString shellCommandLine(const QStringList& argv, const std::vector<int>& breakBefore = {});

} // namespace qs
