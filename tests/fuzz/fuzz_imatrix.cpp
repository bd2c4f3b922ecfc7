// Fuzz target for importance matrices (quant/Imatrix): llama.cpp's legacy .dat and the GGUF
// imatrix, told apart by the magic as readImatrix does. Any bytes either read — every entry with
// finite non-negative sums and a positive count, values() defined — or fail with qs::Error.
// Seeds: writeImatrixLegacy and writeImatrixGguf output. Parsed in memory.
#include "FuzzTarget.h"
#include "quant/Imatrix.h"

#include <QTemporaryDir>
#include <cmath>

namespace {

void one(const std::uint8_t* data, std::size_t size)
{
    const qs::ImportanceMatrix m = qs::readImatrix(
        QByteArray(reinterpret_cast<const char*>(data), qsizetype(size)), QStringLiteral("imatrix.dat"));
    for (const auto& [name, e] : m.entries) {
        if (e.count < 1 || e.sumSquares.empty())
            qs::fuzz::broken(u"entry without a count or values: " + name);
        for (float v : m.values(name))
            if (!std::isfinite(v) || v < 0)
                qs::fuzz::broken(u"non-finite or negative value: " + name);
    }
    (void)m.orderedNames();
}

std::vector<qs::fuzz::Seed> seeds()
{
    qs::ImportanceMatrix m;
    m.entries[QStringLiteral("blk.0.attn_q.weight")] = {{1, 2, 3, 4}, 32, 1};
    m.entries[QStringLiteral("blk.0.ffn_down.weight")] = {{0.5f, 0, 8}, 64, 2};
    m.entries[QStringLiteral("output.weight")] = {{1e-3f, 7}, 32, 1};
    m.datasets << QStringLiteral("wiki.train.raw");
    m.chunks = 2;
    m.chunkSize = 32;
    QTemporaryDir tmp;
    const QString legacy = tmp.filePath(QStringLiteral("imatrix.dat"));
    const QString gguf = tmp.filePath(QStringLiteral("imatrix.gguf"));
    qs::writeImatrixLegacy(m, legacy);
    qs::writeImatrixGguf(m, gguf);
    return {{QStringLiteral("imatrix.dat"), qs::fuzz::readBack(legacy)},
            {QStringLiteral("imatrix.gguf"), qs::fuzz::readBack(gguf)}};
}

std::vector<QByteArray> dictionary()
{
    return {QByteArray("GGUF"),
            QByteArray(".in_sum2"),
            QByteArray(".counts"),
            QByteArray("imatrix.chunk_size"),
            QByteArray("general.type"),
            QByteArray("\xff\xff\xff\x7f", 4),
            QByteArray("\x00\x00\xc0\x7f", 4)};
}

} // namespace

const qs::fuzz::Target& qs::fuzz::target()
{
    static const Target t{"imatrix", one, seeds, dictionary};
    return t;
}
