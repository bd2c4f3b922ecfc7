#pragma once

// One parser under fuzzing. Each tests/fuzz/fuzz_<name>.cpp defines target(); FuzzDriver.cpp (the
// standalone mutation driver ctest runs) or FuzzEntry.cpp (libFuzzer's LLVMFuzzerTestOneInput)
// supplies main. The contract: any input either parses or fails with qs::Error; a crash, a hang,
// a sanitizer report, any other exception or a broken invariant (broken() aborts) is a finding.

#include "util/Error.h"

#include <QByteArray>
#include <QString>
#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

namespace qs::fuzz {

struct Seed
{
    QString name; ///< file name under --write-seeds
    QByteArray bytes;
};

/// Thrown by a seed builder whose fixtures are absent (the target then skips: exit 0).
struct MissingData
{
    QString what;
};

struct Target
{
    const char* name;
    /// Parses one input and uses the result; a rejected input throws qs::Error.
    void (*one)(const std::uint8_t* data, std::size_t size);
    /// Seeds made at run time (the project's writers, shared fixtures); may throw MissingData.
    std::vector<Seed> (*seeds)();
    /// Tokens for libFuzzer's -dict and the standalone driver's insertions (may be empty).
    std::vector<QByteArray> (*dictionary)();
};

/// Defined by each target file.
const Target& target();

/// Reports a broken invariant of a parser's result and aborts (a finding).
[[noreturn]] void broken(const QString& what);

/// A shared fixture ($QUANTSCOPE_DATA or ../shared/data): its bytes; MissingData when absent.
QByteArray dataFile(const QString& relative);
/// The same, empty when absent (for optional seeds).
QByteArray dataFileIfPresent(const QString& relative);
/// A file this process wrote (a writer's output): its bytes; aborts when it cannot be read.
QByteArray readBack(const QString& path);

/// JSON tokens (structure, literals, awkward numbers and strings).
std::vector<QByteArray> jsonDictionary();

/// Inputs made of several files: parts joined by kPartSeparator (a missing part reads as empty).
inline constexpr char kPartSeparator[] = "\n--quantscope-fuzz-next-file--\n";
QByteArray joinParts(const std::vector<QByteArray>& parts);
std::vector<QByteArray> splitParts(const std::uint8_t* data, std::size_t size, std::size_t n);

/// A folder for targets whose parser reads a folder: created once per process on a memory file
/// system (/dev/shm when there is one), removed at exit. write() replaces one file in it, unless
/// the file already holds those bytes (a mutation usually changes one part of a multi-file input;
/// the unchanged files are not written again).
class ScratchFolder
{
public:
    static ScratchFolder& instance();
    const QString& path() const { return m_path; }
    QString file(const QString& name) const;
    void write(const QString& name, const QByteArray& bytes) const;
    ~ScratchFolder();

private:
    ScratchFolder();
    QString m_path;
    mutable std::map<QString, QByteArray> m_written; ///< what each file holds now
};

} // namespace qs::fuzz
