// Fuzz target for the GGUF reader: any input either opens or fails with qs::Error; a crash, any
// other exception or a broken invariant (a tensor outside the file, misaligned, overlapping) is a
// bug. Built two ways:
//  - with QS_LIBFUZZER: only LLVMFuzzerTestOneInput, for clang's libFuzzer (QUANTSCOPE_FUZZ=ON);
//  - otherwise a standalone driver (g++ has no libFuzzer): seeds made by GgufWriter (plus any
//    files named on the command line) are mutated deterministically — bit flips, interesting
//    bytes, length/count/offset corruptions, truncations, splices, inserted and deleted chunks —
//    for a bounded number of iterations and seconds. ctest runs it as fuzz_gguf_smoke.
//
//   fuzz_gguf [--iterations N] [--seconds S] [--seed X] [--write-seeds DIR] [seed files…]
#include "io/Gguf.h"
#include "util/Error.h"

#include <QByteArray>
#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fcntl.h>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

[[noreturn]] void invariantBroken(const char* what, const qs::GgufTensor& t)
{
    std::fprintf(stderr, "fuzz_gguf: INVARIANT BROKEN: %s (tensor '%s')\n", what, qPrintable(t.name));
    std::abort();
}

/// Touches everything a caller could use, checking what the reader promises.
void exercise(const qs::GgufFile& g)
{
    volatile double sink = 0;
    for (const qs::GgufKeyValue& kv : g.metadata()) {
        const qs::GgufValue& v = kv.value;
        sink =
            sink + double(v.typeName().size()) + double(v.toInt().value_or(0)) + v.toDouble().value_or(0.0);
        if (const auto l = v.toStringList())
            sink = sink + double(l->size());
        if (const auto f = v.toFloatList())
            sink = sink + double(f->size());
        if (g.find(kv.key) == nullptr)
            std::abort();
    }
    const std::uint64_t dataSize = g.fileSize() > g.dataOffset() ? g.fileSize() - g.dataOffset() : 0;
    if (g.alignment() == 0 || (g.alignment() & (g.alignment() - 1)) != 0 ||
        g.dataOffset() % g.alignment() != 0)
        std::abort();
    std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges;
    for (const qs::GgufTensor& t : g.tensors()) {
        if (t.offset > dataSize || t.bytes > dataSize - t.offset)
            invariantBroken("tensor data outside the file", t);
        if (t.offset % g.alignment() != 0)
            invariantBroken("misaligned tensor", t);
        if (t.dims.size() > 4 || t.numel() < 0)
            invariantBroken("bad dims", t);
        if (g.findTensor(t.name) != &t)
            invariantBroken("name lookup", t);
        if (t.bytes > 0) {
            const unsigned char* p = g.data(t);
            sink = sink + double(p[0]) + double(p[t.bytes - 1]);
            ranges.emplace_back(t.offset, t.offset + t.bytes);
        }
        if (qs::ggufIsPlainFloat(t.type) && t.numel() <= (1 << 16)) {
            const std::vector<float> v = g.readF32(t);
            if (!v.empty())
                sink = sink + double(v.back());
        }
    }
    std::sort(ranges.begin(), ranges.end());
    for (std::size_t i = 1; i < ranges.size(); ++i) {
        if (ranges[i].first < ranges[i - 1].second) {
            std::fprintf(stderr, "fuzz_gguf: INVARIANT BROKEN: overlapping tensors\n");
            std::abort();
        }
    }
    (void)sink;
}

const QString& scratchPath()
{
    static const QString path =
        QDir(QDir::tempPath()).filePath(QStringLiteral("quantscope-fuzz-gguf-%1.gguf").arg(::getpid()));
    return path;
}

bool writeBytes(const QString& path, const std::uint8_t* data, std::size_t size)
{
    const QByteArray native = QFile::encodeName(path);
    // A fresh file each time: truncating and rewriting one makes ext4 flush it on close (auto_da_alloc).
    ::unlink(native.constData());
    const int fd = ::open(native.constData(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return false;
    std::size_t done = 0;
    while (done < size) {
        const ssize_t n = ::write(fd, data + done, size - done);
        if (n <= 0) {
            ::close(fd);
            return false;
        }
        done += std::size_t(n);
    }
    return ::close(fd) == 0;
}

/// 1 when the input opened, 0 when it was rejected with qs::Error.
int runOne(const std::uint8_t* data, std::size_t size)
{
    if (!writeBytes(scratchPath(), data, size)) {
        std::fprintf(stderr, "fuzz_gguf: cannot write %s\n", qPrintable(scratchPath()));
        std::abort();
    }
    try {
        const auto g = qs::GgufFile::open(scratchPath());
        exercise(*g);
        return 1;
    } catch (const qs::Error&) {
        return 0;
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    runOne(data, size);
    return 0;
}

#ifndef QS_LIBFUZZER

namespace {

using qs::GgmlType;
using qs::GgufValue;
using qs::GgufValueType;

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
    std::size_t below(std::size_t n) { return n == 0 ? 0 : std::size_t(next() % n); }
};

using Input = std::vector<std::uint8_t>;

/// Seeds covering every value type, nested arrays, several alignments and tensor layouts.
std::vector<qs::GgufWriter> seedWriters()
{
    std::vector<qs::GgufWriter> out;
    {
        qs::GgufWriter w;
        w.set(QStringLiteral("general.architecture"), "llama");
        w.set(QStringLiteral("u8"), std::uint8_t(1));
        w.set(QStringLiteral("i8"), std::int8_t(-1));
        w.set(QStringLiteral("u16"), std::uint16_t(2));
        w.set(QStringLiteral("i16"), std::int16_t(-2));
        w.set(QStringLiteral("u32"), std::uint32_t(3));
        w.set(QStringLiteral("i32"), std::int32_t(-3));
        w.set(QStringLiteral("f32"), 0.5f);
        w.set(QStringLiteral("b"), true);
        w.set(QStringLiteral("u64"), std::uint64_t(4));
        w.set(QStringLiteral("i64"), std::int64_t(-4));
        w.set(QStringLiteral("f64"), 0.25);
        w.set(QStringLiteral("nested"),
              GgufValue::array(
                  GgufValueType::Array,
                  {GgufValue::array(std::vector<std::int32_t>{1, 2}),
                   GgufValue::array(QStringList{QStringLiteral("a"), QStringLiteral("bc")}),
                   GgufValue::array(GgufValueType::Array, {GgufValue::array(std::vector<bool>{true})})}));
        w.addTensorF32(QStringLiteral("f32"), GgmlType::F32, {4, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
        w.addTensorF32(QStringLiteral("f16"), GgmlType::F16, {3}, {1, -2, 3});
        w.addTensorF32(QStringLiteral("bf16"), GgmlType::BF16, {2, 1, 1}, {0.5f, 4});
        w.addTensor(QStringLiteral("q4_0"), GgmlType::Q4_0, {32, 2}, QByteArray(36, '\x21'));
        w.addTensor(QStringLiteral("q4_k"), GgmlType::Q4_K, {256}, QByteArray(144, '\x42'));
        out.push_back(std::move(w));
    }
    {
        qs::GgufWriter w;
        w.setAlignment(1);
        w.set(QStringLiteral("tokenizer.ggml.tokens"),
              GgufValue::array(
                  QStringList{QStringLiteral("<unk>"), QStringLiteral("<s>"), QStringLiteral("▁a")}));
        w.set(QStringLiteral("tokenizer.ggml.scores"), GgufValue::array(std::vector<float>{0, 0, -1.5f}));
        w.set(QStringLiteral("tokenizer.ggml.token_type"),
              GgufValue::array(std::vector<std::int32_t>{2, 3, 1}));
        w.addTensorF32(QStringLiteral("a"), GgmlType::F32, {1}, {1});
        w.addTensor(QStringLiteral("b"), GgmlType::I8, {3}, QByteArray("xyz"));
        w.addTensorF32(QStringLiteral("c"), GgmlType::F16, {2}, {1, 2});
        out.push_back(std::move(w));
    }
    {
        qs::GgufWriter w;
        w.setAlignment(64);
        w.addTensorF32(QStringLiteral("scalar"), GgmlType::F32, {}, {3});
        w.addTensor(QStringLiteral("empty"), GgmlType::Q8_0, {32, 0}, QByteArray());
        w.addTensor(QStringLiteral("q8"), GgmlType::Q8_0, {32, 1, 1, 2}, QByteArray(68, '\x08'));
        out.push_back(std::move(w));
    }
    out.emplace_back(); // header only
    return out;
}

Input readInput(const QString& path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return {};
    const QByteArray b = f.readAll();
    return Input(b.begin(), b.end());
}

/// Offsets in the header part that hold plausible length/count/dim/offset/type fields: small
/// little-endian integers, which the mutator then corrupts on purpose.
struct Fields
{
    std::vector<std::size_t> u64;
    std::vector<std::size_t> u32;
};

Fields findFields(const Input& in, std::size_t headerEnd)
{
    Fields f;
    for (std::size_t i = 4; i + 4 <= headerEnd && i + 4 <= in.size(); ++i) {
        std::uint32_t v32;
        std::memcpy(&v32, in.data() + i, 4);
        if (v32 <= 64)
            f.u32.push_back(i);
        if (i + 8 <= in.size()) {
            std::uint64_t v64;
            std::memcpy(&v64, in.data() + i, 8);
            if (v64 > 0 && v64 <= (std::uint64_t(1) << 20))
                f.u64.push_back(i);
        }
    }
    return f;
}

struct Seed
{
    Input bytes;
    Fields fields;
};

template <typename T>
void poke(Input& in, std::size_t at, T v)
{
    if (at + sizeof(T) <= in.size())
        std::memcpy(in.data() + at, &v, sizeof(T));
}

void mutate(Input& in, const Seed& seed, const std::vector<Seed>& all, SplitMix& rng)
{
    static const std::uint64_t k64[] = {0,
                                        1,
                                        2,
                                        3,
                                        4,
                                        31,
                                        32,
                                        33,
                                        63,
                                        64,
                                        255,
                                        256,
                                        4096,
                                        65535,
                                        65536,
                                        0x7fffffffull,
                                        0x80000000ull,
                                        0xffffffffull,
                                        0x100000000ull,
                                        0x7fffffffffffffffull,
                                        0x8000000000000000ull,
                                        ~0ull,
                                        ~0ull - 31};
    static const std::uint32_t k32[] = {0,  1,  2,  3,  4,  5,  7,  8,           9,  12,
                                        13, 24, 30, 31, 35, 36, 39, 0x80000000u, ~0u};
    switch (rng.below(9)) {
    case 0: // bit flip
        if (!in.empty())
            in[rng.below(in.size())] ^= std::uint8_t(1u << rng.below(8));
        break;
    case 1: // interesting byte
        if (!in.empty()) {
            static const std::uint8_t bytes[] = {0, 1, 2, 0x7f, 0x80, 0xff};
            in[rng.below(in.size())] = bytes[rng.below(sizeof bytes)];
        }
        break;
    case 2: // 64-bit length / count / dim / offset corruption
        if (!seed.fields.u64.empty()) {
            const std::size_t at = seed.fields.u64[rng.below(seed.fields.u64.size())];
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
        if (!seed.fields.u32.empty())
            poke(in, seed.fields.u32[rng.below(seed.fields.u32.size())], k32[rng.below(std::size(k32))]);
        break;
    case 4: // truncate (mostly inside the header)
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
    case 6: { // splice: join the head of this input with the tail of another
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

int usage()
{
    std::fprintf(stderr,
                 "usage: fuzz_gguf [--iterations N] [--seconds S] [--seed X] [--write-seeds DIR] [files…]\n");
    return 2;
}

} // namespace

int main(int argc, char** argv)
{
    QCoreApplication app(argc, argv);
    long long iterations = 50000;
    double seconds = 5.0;
    std::uint64_t rngSeed = 0x6775676675ull;
    QString writeSeeds;
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
        else if (a.startsWith(u"--"))
            return usage();
        else
            extra << a;
    }

    // Seeds: the writer's output must open cleanly; that is the first check.
    QTemporaryDir tmp;
    if (!tmp.isValid()) {
        std::fprintf(stderr, "fuzz_gguf: no temporary folder\n");
        return 1;
    }
    QStringList seedFiles;
    const std::vector<qs::GgufWriter> writers = seedWriters();
    for (std::size_t i = 0; i < writers.size(); ++i) {
        const QString path = QDir(writeSeeds.isEmpty() ? tmp.path() : writeSeeds)
                                 .filePath(QStringLiteral("seed%1.gguf").arg(i));
        if (!writeSeeds.isEmpty())
            QDir().mkpath(writeSeeds);
        writers[i].write(path);
        seedFiles << path;
    }
    seedFiles << extra;
    std::vector<Seed> seeds;
    for (const QString& path : seedFiles) {
        Seed s;
        s.bytes = readInput(path);
        std::size_t headerEnd = s.bytes.size();
        try {
            headerEnd = std::size_t(qs::GgufFile::open(path)->dataOffset());
        } catch (const qs::Error& e) {
            if (!extra.contains(path)) {
                std::fprintf(stderr, "fuzz_gguf: writer seed does not open: %s\n", e.what());
                return 1;
            }
        }
        s.fields = findFields(s.bytes, headerEnd);
        seeds.push_back(std::move(s));
    }

    SplitMix rng{rngSeed};
    long long done = 0;
    long long opened = 0;
    const auto start = std::chrono::steady_clock::now();
    const auto elapsed = [&] {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    };
    Input in;
    for (; done < iterations; ++done) {
        if ((done & 255) == 0 && elapsed() > seconds)
            break;
        const Seed& seed = seeds[rng.below(seeds.size())];
        in = seed.bytes;
        const std::size_t rounds = 1 + rng.below(4);
        for (std::size_t r = 0; r < rounds; ++r)
            mutate(in, seed, seeds, rng);
        try {
            opened += runOne(in.data(), in.size());
        } catch (const std::exception& e) {
            const QString keep =
                QDir(QDir::tempPath()).filePath(QStringLiteral("fuzz_gguf-crash-%1.gguf").arg(done));
            writeBytes(keep, in.data(), in.size());
            std::fprintf(stderr, "fuzz_gguf: iteration %lld: unexpected exception '%s'; input kept in %s\n",
                         done, e.what(), qPrintable(keep));
            QFile::remove(scratchPath());
            return 1;
        }
    }
    QFile::remove(scratchPath());
    std::printf("fuzz_gguf: %lld inputs from %zu seeds in %.2f s (seed %llu): %lld opened, %lld rejected "
                "with qs::Error, no crashes\n",
                done, seeds.size(), elapsed(), static_cast<unsigned long long>(rngSeed), opened,
                done - opened);
    return 0;
}

#endif
