// Fuzz target for the sharded checkpoint index (io/TensorStore: model.safetensors.index.json):
// the input is the index; the two shards it may name (written once by SafetensorsWriter) stay in a
// scratch folder on /dev/shm, and TensorStore::open reads the folder as a model folder. Any index
// either gives a store whose every listed tensor is found in its shard, or a qs::Error.
#include "FuzzTarget.h"
#include "io/SafetensorsWriter.h"
#include "io/TensorStore.h"

#include <QJsonDocument>
#include <QJsonObject>

namespace {

const QString kShard1 = QStringLiteral("model-00001-of-00002.safetensors");
const QString kShard2 = QStringLiteral("model-00002-of-00002.safetensors");

const qs::fuzz::ScratchFolder& folderWithShards()
{
    static const qs::fuzz::ScratchFolder& folder = []() -> const qs::fuzz::ScratchFolder& {
        const qs::fuzz::ScratchFolder& f = qs::fuzz::ScratchFolder::instance();
        qs::SafetensorsWriter a, b;
        a.addTensorF32(QStringLiteral("model.embed_tokens.weight"), qs::DType::F32, {2, 2}, {1, 2, 3, 4});
        a.addTensorF32(QStringLiteral("model.norm.weight"), qs::DType::BF16, {2}, {1, 1});
        b.addTensorF32(QStringLiteral("lm_head.weight"), qs::DType::F16, {2, 2}, {1, 0, 0, 1});
        a.write(f.file(kShard1));
        b.write(f.file(kShard2));
        return f;
    }();
    return folder;
}

void one(const std::uint8_t* data, std::size_t size)
{
    const qs::fuzz::ScratchFolder& f = folderWithShards();
    f.write(QStringLiteral("model.safetensors.index.json"),
            QByteArray(reinterpret_cast<const char*>(data), qsizetype(size)));
    const qs::TensorStore store = qs::TensorStore::open(f.path());
    for (const QString& name : store.names())
        if (store.info(name).name != name)
            qs::fuzz::broken(u"tensor lookup: " + name);
}

std::vector<qs::fuzz::Seed> seeds()
{
    const auto index = [](const QJsonObject& map, bool withMetadata) {
        QJsonObject o{{QStringLiteral("weight_map"), map}};
        if (withMetadata)
            o.insert(QStringLiteral("metadata"), QJsonObject{{QStringLiteral("total_size"), 36}});
        return QJsonDocument(o).toJson();
    };
    return {{QStringLiteral("two-shards.json"), index({{QStringLiteral("model.embed_tokens.weight"), kShard1},
                                                       {QStringLiteral("model.norm.weight"), kShard1},
                                                       {QStringLiteral("lm_head.weight"), kShard2}},
                                                      true)},
            {QStringLiteral("one-shard.json"), index({{QStringLiteral("lm_head.weight"), kShard2}}, false)}};
}

std::vector<QByteArray> dictionary()
{
    std::vector<QByteArray> d = qs::fuzz::jsonDictionary();
    for (const char* k :
         {"\"weight_map\"", "\"model-00001-of-00002.safetensors\"", "\"model-00002-of-00002.safetensors\"",
          "\"../\"", "\"/\"", "\"model.norm.weight\"", "\"lm_head.weight\""})
        d.emplace_back(k);
    return d;
}

} // namespace

const qs::fuzz::Target& qs::fuzz::target()
{
    static const Target t{"safetensors_index", one, seeds, dictionary};
    return t;
}
