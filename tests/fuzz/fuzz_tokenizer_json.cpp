// Fuzz target for tokenizer.json (tokenizer/HfTokenizer): any bytes either load (and then encode,
// decode and look up pieces without a crash, every id inside the vocabulary) or fail with
// qs::Error. Seeds: the synthetic byte-level BPE tokenizer.json, plus stories260K's (SentencePiece
// style, byte fallback) and kjv7M's (byte-level BPE, cut to its first 512 pieces: cutVocabulary)
// when the shared data is present.
#include "FuzzTarget.h"
#include "TokenizerChecks.h"
#include "model/SyntheticModel.h"
#include "tokenizer/HfTokenizer.h"

#include <QHash>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

namespace {

void one(const std::uint8_t* data, std::size_t size)
{
    const auto tok = qs::HfTokenizer::fromBytes(
        QByteArray::fromRawData(reinterpret_cast<const char*>(data), qsizetype(size)),
        QStringLiteral("tokenizer.json"));
    qs::fuzz::exerciseTokenizer(*tok);
}

// A fixture's tokenizer.json cut to its first `keep` ids: the same normalizer, pre-tokenizer,
// post-processor and decoder, the merges among the kept pieces, the added tokens renumbered after
// them. kjv7M's whole file (132 kB, 4,096 pieces) made every execution parse and index all of it and
// let inputs grow to 264 kB (947 executions/s under ASan); the whole files are loaded by tst_tokenizer.
QByteArray cutVocabulary(const QByteArray& json, int keep)
{
    QJsonObject root = QJsonDocument::fromJson(json).object();
    QJsonObject model = root.value(u"model").toObject();
    const QJsonObject vocab = model.value(u"vocab").toObject();
    if (vocab.size() <= keep)
        return json;
    QJsonObject kept;
    for (auto it = vocab.begin(); it != vocab.end(); ++it)
        if (it.value().toInt() < keep)
            kept.insert(it.key(), it.value());
    QJsonArray added;
    QHash<int, int> renumbered;
    for (const QJsonValue& a : root.value(u"added_tokens").toArray()) {
        QJsonObject token = a.toObject();
        if (const int id = token.value(u"id").toInt(); id >= keep) {
            const int to = keep + int(renumbered.size());
            renumbered.insert(id, to);
            token.insert(QStringLiteral("id"), to);
            if (vocab.contains(token.value(u"content").toString()))
                kept.insert(token.value(u"content").toString(), to);
        }
        added.append(token);
    }
    // The post-processor names its special tokens' ids as well.
    QJsonObject post = root.value(u"post_processor").toObject();
    QJsonObject special = post.value(u"special_tokens").toObject();
    for (auto it = special.begin(); it != special.end(); ++it) {
        QJsonObject token = it.value().toObject();
        QJsonArray ids;
        for (const QJsonValue& id : token.value(u"ids").toArray())
            ids.append(renumbered.value(id.toInt(), id.toInt()));
        token.insert(QStringLiteral("ids"), ids);
        it.value() = token;
    }
    if (!special.isEmpty()) {
        post.insert(QStringLiteral("special_tokens"), special);
        root.insert(QStringLiteral("post_processor"), post);
    }
    QJsonArray merges;
    for (const QJsonValue& m : model.value(u"merges").toArray()) {
        const QStringList pair = m.isArray()
                                     ? QStringList{m.toArray().at(0).toString(), m.toArray().at(1).toString()}
                                     : m.toString().split(u' ');
        if (pair.size() == 2 && kept.contains(pair[0]) && kept.contains(pair[1]) &&
            kept.contains(pair[0] + pair[1]))
            merges.append(m);
    }
    model.insert(QStringLiteral("vocab"), kept);
    model.insert(QStringLiteral("merges"), merges);
    root.insert(QStringLiteral("model"), model);
    root.insert(QStringLiteral("added_tokens"), added);
    return QJsonDocument(root).toJson(QJsonDocument::Compact);
}

std::vector<qs::fuzz::Seed> seeds()
{
    std::vector<qs::fuzz::Seed> out{{QStringLiteral("synthetic.json"), qs::syntheticTokenizerJson()}};
    for (const char* fixture : {"stories260K/tokenizer.json", "kjv7M/tokenizer.json"})
        if (const QByteArray b = qs::fuzz::dataFileIfPresent(QLatin1String(fixture)); !b.isEmpty())
            out.push_back({QString::fromLatin1(fixture).replace(u'/', u'-'), cutVocabulary(b, 512)});
    return out;
}

std::vector<QByteArray> dictionary()
{
    std::vector<QByteArray> d = qs::fuzz::jsonDictionary();
    for (const char* k : {"\"type\"",
                          "\"BPE\"",
                          "\"Sequence\"",
                          "\"Split\"",
                          "\"ByteLevel\"",
                          "\"Metaspace\"",
                          "\"Replace\"",
                          "\"Prepend\"",
                          "\"NFKC\"",
                          "\"Strip\"",
                          "\"ByteFallback\"",
                          "\"Fuse\"",
                          "\"TemplateProcessing\"",
                          "\"Regex\"",
                          "\"String\"",
                          "\"merges\"",
                          "\"vocab\"",
                          "\"added_tokens\"",
                          "\"pattern\"",
                          "\"content\"",
                          "\"byte_fallback\"",
                          "\"unk_token\"",
                          "\"prepend_scheme\"",
                          "\"behavior\"",
                          "\"Isolated\"",
                          "\"(\"",
                          "\"\\\\p{L}+\"",
                          "\"[\"",
                          "\"(?=\"",
                          "\"\\u2581\""})
        d.emplace_back(k);
    return d;
}

} // namespace

const qs::fuzz::Target& qs::fuzz::target()
{
    static const Target t{"tokenizer_json", one, seeds, dictionary};
    return t;
}
