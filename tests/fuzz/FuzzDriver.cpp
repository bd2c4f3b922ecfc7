// The standalone mutation driver (g++ has no libFuzzer), which ctest runs as fuzz_<name>_smoke:
// the target's seeds (made at run time by the project's writers or read from the shared fixtures,
// plus any files named on the command line) are mutated deterministically — bit flips,
// interesting bytes, corrupted length/count/offset fields, truncations, splices, dictionary
// tokens, inserted and deleted chunks — for a bounded number of iterations and seconds.
//
//   fuzz_<name> [--iterations N] [--seconds S] [--seed X] [--write-seeds DIR] [--write-dict FILE] [files…]
//
// --write-seeds / --write-dict write the seed corpus and libFuzzer dictionary (for scripts/fuzz.sh);
// with --iterations 0 nothing is fuzzed. Files named are first run as inputs (to reproduce a
// finding), then mutated as further seeds.
#include "FuzzTarget.h"
#include "TestSupport.h"
#include "util/Error.h"

#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>

namespace {

using qs::fuzz::Seed;
using qs::fuzz::target;

using qs::test::SplitMix;

using Input = std::vector<std::uint8_t>;

/// A seed with the offsets (in its first 4 KiB) of plausible length/count/dim/offset/type fields:
/// small little-endian integers, which the mutator corrupts on purpose.
struct Corpus
{
    Input bytes;
    std::vector<std::size_t> u64;
    std::vector<std::size_t> u32;
};

Corpus corpusOf(const QByteArray& b)
{
    Corpus c;
    c.bytes.assign(b.begin(), b.end());
    const std::size_t end = std::min<std::size_t>(c.bytes.size(), 4096);
    for (std::size_t i = 0; i + 4 <= end; ++i) {
        std::uint32_t v32;
        std::memcpy(&v32, c.bytes.data() + i, 4);
        if (v32 <= 64)
            c.u32.push_back(i);
        if (i + 8 <= c.bytes.size()) {
            std::uint64_t v64;
            std::memcpy(&v64, c.bytes.data() + i, 8);
            if (v64 > 0 && v64 <= (std::uint64_t(1) << 20))
                c.u64.push_back(i);
        }
    }
    return c;
}

template <typename T>
void poke(Input& in, std::size_t at, T v)
{
    if (at + sizeof(T) <= in.size())
        std::memcpy(in.data() + at, &v, sizeof(T));
}

void mutate(Input& in, const Corpus& seed, const std::vector<Corpus>& all,
            const std::vector<QByteArray>& dict, SplitMix& rng)
{
    static const std::uint64_t k64[] = {0,          1,          2,          3,           4,
                                        31,         32,         33,         63,          64,
                                        255,        256,        4096,       65535,       65536,
                                        0x7fffffff, 0x80000000, 0xffffffff, 0x100000000, 0x7fffffffffffffff,
                                        1ull << 63, ~0ull,      ~0ull - 31};
    static const std::uint32_t k32[] = {0,  1,  2,  3,  4,  5,  7,  8,           9,  12,
                                        13, 24, 30, 31, 35, 36, 39, 0x80000000u, ~0u};
    switch (rng.below(10)) {
    case 0: // bit flip
        if (!in.empty())
            in[rng.below(in.size())] ^= std::uint8_t(1u << rng.below(8));
        break;
    case 1: // interesting byte
        if (!in.empty()) {
            static const std::uint8_t bytes[] = {0, 1, 2, '"', '0', '9', '-', '[', '{', 0x7f, 0x80, 0xff};
            in[rng.below(in.size())] = bytes[rng.below(sizeof bytes)];
        }
        break;
    case 2: // 64-bit length / count / dim / offset corruption
        if (!seed.u64.empty()) {
            const std::size_t at = seed.u64[rng.below(seed.u64.size())];
            std::uint64_t v = 0;
            if (at + 8 <= in.size())
                std::memcpy(&v, in.data() + at, 8);
            const std::uint64_t choices[] = {v + 1,
                                             v - 1,
                                             v * 2,
                                             v / 2,
                                             std::uint64_t(in.size()),
                                             std::uint64_t(in.size() - std::min(at, in.size())),
                                             k64[rng.below(std::size(k64))],
                                             rng.next()};
            poke(in, at, choices[rng.below(std::size(choices))]);
        }
        break;
    case 3: // 32-bit type / n_dims / version corruption
        if (!seed.u32.empty())
            poke(in, seed.u32[rng.below(seed.u32.size())], k32[rng.below(std::size(k32))]);
        break;
    case 4: // truncate (often near the start, where headers are)
        if (!in.empty())
            in.resize(rng.below(2) ? rng.below(std::min<std::size_t>(in.size(), 512)) : rng.below(in.size()));
        break;
    case 5: { // splice: overwrite with a chunk of another seed
        const Input& other = all[rng.below(all.size())].bytes;
        if (!other.empty() && !in.empty()) {
            const std::size_t from = rng.below(other.size());
            const std::size_t len =
                std::min({other.size() - from, in.size(), std::size_t(1 + rng.below(64))});
            const std::size_t to = rng.below(in.size() - len + 1);
            std::memcpy(in.data() + to, other.data() + from, len);
        }
        break;
    }
    case 6: { // splice: the head of this input with the tail of another
        const Input& other = all[rng.below(all.size())].bytes;
        in.resize(rng.below(in.size() + 1));
        const std::size_t from = rng.below(other.size() + 1);
        in.insert(in.end(), other.begin() + std::ptrdiff_t(from), other.end());
        break;
    }
    case 7: // delete a chunk
        if (!in.empty()) {
            const std::size_t at = rng.below(in.size());
            const std::size_t len = std::min(in.size() - at, std::size_t(1 + rng.below(16)));
            in.erase(in.begin() + std::ptrdiff_t(at), in.begin() + std::ptrdiff_t(at + len));
        }
        break;
    case 8: // a dictionary token, inserted or overwriting
        if (!dict.empty()) {
            const QByteArray& t = dict[rng.below(dict.size())];
            const std::size_t at = rng.below(in.size() + 1);
            if (rng.below(2) && at + std::size_t(t.size()) <= in.size())
                std::memcpy(in.data() + at, t.constData(), std::size_t(t.size()));
            else
                in.insert(in.begin() + std::ptrdiff_t(at), t.begin(), t.end());
        }
        break;
    default: { // insert random bytes or duplicate a chunk
        const std::size_t at = rng.below(in.size() + 1);
        Input chunk(1 + rng.below(16));
        if (rng.below(2) && !in.empty()) {
            const std::size_t from = rng.below(in.size());
            chunk.assign(in.begin() + std::ptrdiff_t(from),
                         in.begin() + std::ptrdiff_t(std::min(in.size(), from + chunk.size())));
        } else {
            for (std::uint8_t& b : chunk)
                b = std::uint8_t(rng.next());
        }
        in.insert(in.begin() + std::ptrdiff_t(at), chunk.begin(), chunk.end());
        break;
    }
    }
}

bool writeFile(const QString& path, const QByteArray& bytes)
{
    QFile f(path);
    return f.open(QIODevice::WriteOnly | QIODevice::Truncate) && f.write(bytes) == bytes.size();
}

/// A libFuzzer dictionary: one quoted token a line, non-printable bytes as \xNN.
QByteArray dictionaryText(const std::vector<QByteArray>& dict)
{
    QByteArray out;
    for (const QByteArray& t : dict) {
        out += '"';
        for (char c : t) {
            const auto u = static_cast<unsigned char>(c);
            if (u < 0x20 || u >= 0x7f || c == '"' || c == '\\')
                out += QByteArray("\\x") + QByteArray::number(u, 16).rightJustified(2, '0');
            else
                out += c;
        }
        out += "\"\n";
    }
    return out;
}

int usage(const char* name)
{
    std::fprintf(stderr,
                 "usage: fuzz_%s [--iterations N] [--seconds S] [--seed X] [--write-seeds DIR] "
                 "[--write-dict FILE] [files…]\n",
                 name);
    return 2;
}

} // namespace

int main(int argc, char** argv)
{
    QCoreApplication app(argc, argv);
    const char* name = target().name;
    long long iterations = 50000;
    double seconds = 5.0;
    std::uint64_t rngSeed = 0x6775676675ull;
    QString writeSeeds, writeDict;
    QStringList extra;
    const QStringList args = app.arguments();
    for (qsizetype i = 1; i < args.size(); ++i) {
        const QString& a = args[i];
        const bool hasValue = i + 1 < args.size();
        if (a == u"--iterations" && hasValue)
            iterations = args[++i].toLongLong();
        else if (a == u"--seconds" && hasValue)
            seconds = args[++i].toDouble();
        else if (a == u"--seed" && hasValue)
            rngSeed = args[++i].toULongLong();
        else if (a == u"--write-seeds" && hasValue)
            writeSeeds = args[++i];
        else if (a == u"--write-dict" && hasValue)
            writeDict = args[++i];
        else if (a.startsWith(u"--"))
            return usage(name);
        else
            extra << a;
    }

    std::vector<Seed> seeds;
    try {
        seeds = target().seeds();
    } catch (const qs::fuzz::MissingData& m) {
        std::printf("fuzz_%s: skipped: %s\n", name, qPrintable(m.what));
        return 0;
    } catch (const qs::Error& e) {
        std::fprintf(stderr, "fuzz_%s: making the seeds failed: %s\n", name, e.what());
        return 1;
    }
    // The seeds are valid files: each must parse, which is the first check.
    for (const Seed& s : seeds) {
        try {
            target().one(reinterpret_cast<const std::uint8_t*>(s.bytes.constData()),
                         std::size_t(s.bytes.size()));
        } catch (const qs::Error& e) {
            std::fprintf(stderr, "fuzz_%s: seed %s is rejected: %s\n", name, qPrintable(s.name), e.what());
            return 1;
        }
    }
    if (!writeSeeds.isEmpty()) {
        QDir().mkpath(writeSeeds);
        for (const Seed& s : seeds)
            if (!writeFile(QDir(writeSeeds).filePath(s.name), s.bytes)) {
                std::fprintf(stderr, "fuzz_%s: cannot write seeds to %s\n", name, qPrintable(writeSeeds));
                return 1;
            }
    }
    const std::vector<QByteArray> dict =
        target().dictionary ? target().dictionary() : std::vector<QByteArray>();
    if (!writeDict.isEmpty() && !writeFile(writeDict, dictionaryText(dict))) {
        std::fprintf(stderr, "fuzz_%s: cannot write %s\n", name, qPrintable(writeDict));
        return 1;
    }
    std::vector<Corpus> corpus;
    for (const Seed& s : seeds)
        corpus.push_back(corpusOf(s.bytes));
    for (const QString& path : extra) {
        QFile f(path);
        if (!f.open(QIODevice::ReadOnly)) {
            std::fprintf(stderr, "fuzz_%s: cannot read %s\n", name, qPrintable(path));
            return 1;
        }
        const QByteArray bytes = f.readAll();
        try { // each file is first run as it is (to reproduce a finding), then used as a seed
            target().one(reinterpret_cast<const std::uint8_t*>(bytes.constData()), std::size_t(bytes.size()));
            std::printf("fuzz_%s: %s: accepted\n", name, qPrintable(path));
        } catch (const qs::Error& e) {
            std::printf("fuzz_%s: %s: rejected: %s\n", name, qPrintable(path), e.what());
        } catch (const std::exception& e) {
            std::fprintf(stderr, "fuzz_%s: %s: unexpected exception '%s'\n", name, qPrintable(path), e.what());
            return 1;
        }
        corpus.push_back(corpusOf(bytes));
    }
    if (corpus.empty() || iterations <= 0)
        return 0;

    SplitMix rng{rngSeed};
    long long done = 0, accepted = 0;
    const auto start = std::chrono::steady_clock::now();
    const auto elapsed = [&] {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    };
    Input in;
    for (; done < iterations; ++done) {
        if ((done & 63) == 0 && elapsed() > seconds)
            break;
        const Corpus& seed = corpus[rng.below(corpus.size())];
        in = seed.bytes;
        const std::size_t rounds = 1 + rng.below(4);
        for (std::size_t r = 0; r < rounds; ++r)
            mutate(in, seed, corpus, dict, rng);
        try {
            target().one(in.data(), in.size());
            ++accepted;
        } catch (const qs::Error&) {
        } catch (const std::exception& e) {
            const QString keep =
                QDir(QDir::tempPath())
                    .filePath(QStringLiteral("fuzz_%1-crash-%2").arg(QLatin1String(name)).arg(done));
            writeFile(keep, QByteArray(reinterpret_cast<const char*>(in.data()), qsizetype(in.size())));
            std::fprintf(stderr, "fuzz_%s: iteration %lld: unexpected exception '%s'; input kept in %s\n",
                         name, done, e.what(), qPrintable(keep));
            return 1;
        }
    }
    std::printf(
        "fuzz_%s: %lld inputs from %zu seeds in %.2f s (seed %llu): %lld accepted, %lld rejected with "
        "qs::Error, no crashes\n",
        name, done, corpus.size(), elapsed(), static_cast<unsigned long long>(rngSeed), accepted,
        done - accepted);
    return 0;
}
