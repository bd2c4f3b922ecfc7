#pragma once

#include <QByteArray>
#include <QString>
#include <QStringList>

namespace qs::test {

/// The shared data folder ($QUANTSCOPE_DATA or ../shared/data from the repository), or empty.
QString dataDir();
/// Path of a shared data item, or empty when absent (callers QSKIP with skipMessage()).
QString dataPath(const QString& relative);
QString skipMessage(const QString& relative);

struct CliResult
{
    int exitCode = -1;
    QByteArray out;
    QByteArray err;
};
/// Runs quantscope-cli with arguments and waits (timeout in ms).
CliResult runCli(const QStringList& args, int timeoutMs = 600000);

/// Writes bytes to a file (creating folders); returns false on failure.
bool writeFile(const QString& path, const QByteArray& bytes);

} // namespace qs::test

/// Skips the current test with a clear message when a shared data item is absent.
#define QS_REQUIRE_DATA(var, relative)                                                                            \
    const QString var = qs::test::dataPath(QStringLiteral(relative));                                             \
    if (var.isEmpty())                                                                                            \
        QSKIP(qPrintable(qs::test::skipMessage(QStringLiteral(relative))));
