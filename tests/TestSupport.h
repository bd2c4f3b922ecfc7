#pragma once

#include <QByteArray>
#include <QProcessEnvironment>
#include <QString>
#include <QStringList>
#include <cstddef>
#include <cstdint>
#include <functional>

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
/// The same, in the environment `env` (a fault-injection library preloaded, say).
CliResult runCli(const QStringList& args, const QProcessEnvironment& env, int timeoutMs = 600000);

/// `quantscope-cli quantize MODEL --method rtn --bits BITS --group GROUP --out OUT --runs off`: the
/// quantized checkpoint folder, or empty (the CLI's error printed as a warning) when it failed.
QString quantizeRtn(const QString& model, const QString& out, int bits, int group);

/// Writes bytes to a file (creating folders); returns false on failure.
bool writeFile(const QString& path, const QByteArray& bytes);

/// SplitMix64: a tiny deterministic generator for test data and the fuzz driver (the same numbers
/// on every platform, unlike the distributions of <random>).
struct SplitMix
{
    std::uint64_t s;
    std::uint64_t next()
    {
        std::uint64_t z = (s += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    /// Uniform-ish in [0, n) (0 when n is 0).
    std::size_t below(std::size_t n) { return n == 0 ? 0 : std::size_t(next() % n); }
};

/// Runs f and returns the qs::Error message it throws (empty when it does not throw).
QString errorOf(const std::function<void()>& f);
/// "" when msg is an error message containing every part, else what is wrong.
QString checkMessage(const QString& msg, const QStringList& parts);

} // namespace qs::test

/// Skips the current test with a clear message when a shared data item is absent.
#define QS_REQUIRE_DATA(var, relative)                                                                       \
    const QString var = qs::test::dataPath(QStringLiteral(relative));                                        \
    if (var.isEmpty())                                                                                       \
        QSKIP(qPrintable(qs::test::skipMessage(QStringLiteral(relative))));

/// Verifies that `msg` (from errorOf) is an error naming every given part.
#define QS_VERIFY_ERROR(msg, ...)                                                                            \
    do {                                                                                                     \
        const QString problem_ = qs::test::checkMessage(msg, __VA_ARGS__);                                   \
        QVERIFY2(problem_.isEmpty(), qPrintable(problem_));                                                  \
    } while (false)
