// Tokenizers on the real fixtures: golden ids (stories260K, kjv7M, WikiText-2), tokenizer.json vs
// tokenizer.model agreement, ids from the reference Python encoders, round trips, error paths.
#include "TestSupport.h"
#include "eval/Evaluation.h"
#include "model/Model.h"
#include "model/Transformer.h"
#include "results/RunResults.h"
#include "results/RunSummaryJson.h"
#include "tokenizer/HfTokenizer.h"
#include "tokenizer/Tokenizer.h"
#include "util/Error.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTest>
#include <string>
#include <tuple>
#include <vector>

using namespace qs;

namespace {

QByteArray readAll(const QString& path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return {};
    return f.readAll();
}

QJsonObject readJson(const QString& path)
{
    return QJsonDocument::fromJson(readAll(path)).object();
}

std::vector<int> toIds(const QJsonArray& a)
{
    std::vector<int> v;
    for (const QJsonValue x : a)
        v.push_back(x.toInt());
    return v;
}

std::vector<int> toIds(const QList<int>& a)
{
    return std::vector<int>(a.begin(), a.end());
}

/// Empty when equal, else where and how they differ (QCOMPARE cannot print std::vector).
QString idDiff(const std::vector<int>& got, const std::vector<int>& want)
{
    const std::size_t n = std::min(got.size(), want.size());
    for (std::size_t i = 0; i < n; ++i)
        if (got[i] != want[i])
            return QStringLiteral("id %1 differs: got %2, expected %3").arg(i).arg(got[i]).arg(want[i]);
    if (got.size() != want.size())
        return QStringLiteral("got %1 ids, expected %2").arg(got.size()).arg(want.size());
    return {};
}

std::string_view view(const QByteArray& b)
{
    return std::string_view(b.constData(), std::size_t(b.size()));
}

/// SentencePiece's remove_extra_whitespaces: strip ' ' at both ends, collapse runs of ' '.
std::string squeezeSpaces(std::string_view s)
{
    std::string out;
    for (char c : s)
        if (c != ' ' || (!out.empty() && out.back() != ' '))
            out.push_back(c);
    while (!out.empty() && out.back() == ' ')
        out.pop_back();
    return out;
}

/// A tokenizer file of the shared data, or a QSKIP.
#define QS_LOAD_TOKENIZER(var, relative)                                                                     \
    const QString var##Path = test::dataPath(relative);                                                      \
    if (var##Path.isEmpty())                                                                                 \
        QSKIP(qPrintable(test::skipMessage(relative)));                                                      \
    const auto var = (var##Path).endsWith(u".model") ? Tokenizer::fromSentencePiece(var##Path)               \
                                                     : Tokenizer::fromTokenizerJson(var##Path);

} // namespace

class TestTokenizer : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void loadAndMetadata_data();
    void loadAndMetadata();
    void goldenSentence_data();
    void goldenSentence();
    void goldenWholeFile_data();
    void goldenWholeFile();
    void jsonMatchesSentencePiece_data();
    void jsonMatchesSentencePiece();
    void referenceIds_data();
    void referenceIds();
    void addedTokensInText();
    void roundTrip_data();
    void roundTrip();
    void syntheticComponents();
    void syntheticByteLevel();
    void invalidUtf8_data();
    void invalidUtf8();
    void corruptFiles_data();
    void corruptFiles();
    void missingFiles();
};

void TestTokenizer::loadAndMetadata_data()
{
    QTest::addColumn<QString>("folder");
    QTest::addColumn<QString>("descriptionStart");
    QTest::addColumn<int>("vocab");
    QTest::addColumn<int>("bos");
    QTest::addColumn<int>("eos");
    QTest::newRow("stories260K") << QStringLiteral("stories260K")
                                 << QStringLiteral("tokenizer.json: BPE, byte fallback") << 512 << 1 << 2;
    QTest::newRow("kjv7M") << QStringLiteral("kjv7M") << QStringLiteral("tokenizer.json: BPE, byte-level")
                           << 4096 << 4094 << 4095;
}

void TestTokenizer::loadAndMetadata()
{
    QFETCH(QString, folder);
    QFETCH(QString, descriptionStart);
    QFETCH(int, vocab);
    QFETCH(int, bos);
    QFETCH(int, eos);
    const QString dir = test::dataPath(folder);
    if (dir.isEmpty())
        QSKIP(qPrintable(test::skipMessage(folder)));
    const auto t = Tokenizer::load(dir); // prefers tokenizer.json
    QVERIFY2(t->description().startsWith(descriptionStart), qPrintable(t->description()));
    QCOMPARE(t->path(), QDir(dir).filePath(QStringLiteral("tokenizer.json")));
    QCOMPARE(t->vocabSize(), vocab);
    QCOMPARE(t->bosId(), bos);
    QCOMPARE(t->eosId(), eos);
    if (QFile::exists(QDir(dir).filePath(QStringLiteral("tokenizer.model")))) {
        const auto sp = Tokenizer::fromSentencePiece(QDir(dir).filePath(QStringLiteral("tokenizer.model")));
        QCOMPARE(sp->vocabSize(), vocab);
        QCOMPARE(sp->bosId(), bos);
        QCOMPARE(sp->eosId(), eos);
        QCOMPARE(sp->piece(bos), std::string("<s>"));
        QCOMPARE(t->piece(300), sp->piece(300));
    }
}

void TestTokenizer::goldenSentence_data()
{
    QTest::addColumn<QString>("file");
    QTest::newRow("stories260K tokenizer.json") << QStringLiteral("stories260K/tokenizer.json");
    QTest::newRow("stories260K tokenizer.model") << QStringLiteral("stories260K/tokenizer.model");
    QTest::newRow("stories260K-bf16 tokenizer.json") << QStringLiteral("stories260K-bf16/tokenizer.json");
    QTest::newRow("kjv7M tokenizer.json") << QStringLiteral("kjv7M/tokenizer.json");
}

void TestTokenizer::goldenSentence()
{
    QFETCH(QString, file);
    QS_LOAD_TOKENIZER(tok, file);
    const QJsonObject golden = readJson(QFileInfo(tokPath).dir().filePath(QStringLiteral("golden.json")));
    const QJsonObject sentence = golden.value(u"sentence").toObject();
    const QByteArray text = sentence.value(u"text").toString().toUtf8();
    const std::vector<int> want = toIds(sentence.value(u"token_ids").toArray());
    QVERIFY(!want.empty());
    const std::vector<int> got = tok->encode(view(text), true);
    const QString diff = idDiff(got, want);
    QVERIFY2(diff.isEmpty(), qPrintable(diff));
    QCOMPARE(tok->decode(got), text.toStdString());
}

void TestTokenizer::goldenWholeFile_data()
{
    QTest::addColumn<QString>("tokenizer");
    QTest::addColumn<QString>("text");
    QTest::addColumn<QString>("goldenKey"); // path inside golden.json, '/'-separated
    QTest::newRow("stories260K wiki.test.raw")
        << QStringLiteral("stories260K/tokenizer.json") << QStringLiteral("wikitext-2-raw/wiki.test.raw")
        << QStringLiteral("wikitext2_test/wiki.test.raw");
    QTest::newRow("stories260K wiki.test.reconstructed.raw")
        << QStringLiteral("stories260K/tokenizer.json")
        << QStringLiteral("wikitext-2-raw/wiki.test.reconstructed.raw")
        << QStringLiteral("wikitext2_test/wiki.test.reconstructed.raw");
    QTest::newRow("kjv7M wiki.test.raw")
        << QStringLiteral("kjv7M/tokenizer.json") << QStringLiteral("wikitext-2-raw/wiki.test.raw")
        << QStringLiteral("wikitext2_test");
    QTest::newRow("kjv7M kjv test.txt") << QStringLiteral("kjv7M/tokenizer.json")
                                        << QStringLiteral("kjv/test.txt") << QStringLiteral("kjv_test");
}

void TestTokenizer::goldenWholeFile()
{
    QFETCH(QString, tokenizer);
    QFETCH(QString, text);
    QFETCH(QString, goldenKey);
    QS_LOAD_TOKENIZER(tok, tokenizer);
    const QString textPath = test::dataPath(text);
    if (textPath.isEmpty())
        QSKIP(qPrintable(test::skipMessage(text)));
    QJsonObject golden = readJson(QFileInfo(tokPath).dir().filePath(QStringLiteral("golden.json")));
    for (const QString& key : goldenKey.split(u'/'))
        golden = golden.value(key).toObject();
    const QByteArray bytes = readAll(textPath);

    QElapsedTimer timer;
    timer.start();
    const std::vector<int> ids = tok->encode(view(bytes), true); // whole file, one call, as the goldens
    const qint64 ms = timer.elapsed();
    qInfo("%s: %lld tokens in %lld ms", qPrintable(QString::fromUtf8(QTest::currentDataTag())),
          static_cast<long long>(ids.size()), ms);
    QVERIFY2(ms < 30000, "encoding is pathologically slow");

    QCOMPARE(qint64(ids.size()), golden.value(u"n_tokens_with_bos").toInteger());
    const std::vector<int> first = toIds(golden.value(u"first_64_token_ids").toArray());
    QCOMPARE(first.size(), std::size_t(64));
    const QString diff = idDiff(std::vector<int>(ids.begin(), ids.begin() + 64), first);
    QVERIFY2(diff.isEmpty(), qPrintable(diff));
    // The byte-level tokenizer reproduces the file exactly.
    if (tok->description().contains(u"byte-level"))
        QVERIFY(tok->decode(ids) == bytes.toStdString());
}

void TestTokenizer::jsonMatchesSentencePiece_data()
{
    QTest::addColumn<QString>("text");
    QTest::newRow("wiki.test.raw") << QStringLiteral("wikitext-2-raw/wiki.test.raw");
    QTest::newRow("kjv test.txt") << QStringLiteral("kjv/test.txt");
}

void TestTokenizer::jsonMatchesSentencePiece()
{
    // tokenizer.model squeezes spaces (remove_extra_whitespaces) and tokenizer.json does not: once a
    // line is squeezed the same way, both must give the same ids (data README).
    QFETCH(QString, text);
    QS_LOAD_TOKENIZER(json, QStringLiteral("stories260K/tokenizer.json"));
    QS_LOAD_TOKENIZER(spm, QStringLiteral("stories260K/tokenizer.model"));
    const QString textPath = test::dataPath(text);
    if (textPath.isEmpty())
        QSKIP(qPrintable(test::skipMessage(text)));
    const QByteArray bytes = readAll(textPath);
    const QList<QByteArray> lines = bytes.split('\n');
    int rawDiffer = 0;
    for (qsizetype i = 0; i < lines.size(); ++i) {
        const std::string_view line = view(lines[i]);
        const std::vector<int> want = spm->encode(line, false);
        const std::vector<int> got = json->encode(squeezeSpaces(line), false);
        const QString diff = idDiff(got, want);
        QVERIFY2(diff.isEmpty(), qPrintable(QStringLiteral("line %1: %2").arg(i + 1).arg(diff)));
        rawDiffer += json->encode(line, false) != want;
    }
    qInfo("%lld lines agree; %d differ before squeezing spaces", static_cast<long long>(lines.size()),
          rawDiffer);

    QElapsedTimer timer;
    timer.start();
    const std::vector<int> whole = spm->encode(view(bytes), true);
    qInfo("tokenizer.model whole file: %lld tokens in %lld ms", static_cast<long long>(whole.size()),
          timer.elapsed());
    QCOMPARE(whole.front(), spm->bosId());
}

void TestTokenizer::referenceIds_data()
{
    // Expected ids generated at development time with the reference encoders in ../shared/tools:
    // tokenizer_json_check.py (TokenizerJson) for stories260K and kjv_bpe.py (ByteBPE) for kjv7M,
    // encode without BOS.
    QTest::addColumn<QString>("file");
    QTest::addColumn<QByteArray>("text");
    QTest::addColumn<QList<int>>("ids");
    const QString s = QStringLiteral("stories260K/tokenizer.json");
    const QString k = QStringLiteral("kjv7M/tokenizer.json");
    QTest::newRow("stories double spaces") << s << QByteArray("Hello, World!  Two  spaces")
                                           << QList<int>{346, 306, 414, 432, 410, 448, 304, 341, 443, 410,
                                                         274, 424, 414, 410, 262, 427, 412, 331, 419};
    QTest::newRow("stories edge spaces")
        << s << QByteArray(" leading and trailing ")
        << QList<int>{410, 278, 411, 380, 299, 269, 259, 420, 412, 290, 299, 410};
    QTest::newRow("stories byte fallback")
        << s << QByteArray("caf\xC3\xA9 \xE4\xB8\xAD\xE6\x96\x87 \xF0\x9F\x98\x80")
        << QList<int>{280, 412, 431, 485, 410, 231, 187, 176, 233, 153, 138, 410, 243, 162, 155, 131};
    QTest::newRow("stories tab newline")
        << s << QByteArray("tab\tand\nnewline")
        << QList<int>{259, 412, 430, 12, 412, 264, 13, 416, 411, 424, 421, 271, 411};
    QTest::newRow("stories sentence")
        << s << QByteArray("Once upon a time, Lily's dog ran.")
        << QList<int>{403, 407, 261, 378, 432, 317, 439, 419, 400, 428, 352, 303, 426};
    QTest::newRow("stories empty") << s << QByteArray() << QList<int>{};
    QTest::newRow("kjv quotes") << k << QByteArray("And the LORD said, \"I'll go.\"\n\n")
                                << QList<int>{296, 258, 337, 389, 11, 220, 1,  40,
                                              6,   275, 409, 13,  1,  198, 198};
    QTest::newRow("kjv contractions digits")
        << k << QByteArray("don't WON'T they're 123456 7.5")
        << QList<int>{67,  284, 6,  83, 991, 46, 45, 6,   51, 338, 6, 269,
                      220, 16,  17, 18, 19,  20, 21, 220, 22, 13,  20};
    QTest::newRow("kjv non-ASCII")
        << k << QByteArray("caf\xC3\xA9 \xE4\xB8\xAD\xE6\x96\x87 \xF0\x9F\x98\x80 \t tabs   \n")
        << QList<int>{66,  64,  69,  127, 102, 220, 160, 116, 255, 162, 244, 229, 220,
                      172, 253, 246, 222, 220, 197, 862, 82,  220, 220, 220, 198};
    QTest::newRow("kjv case-insensitive contraction")
        << k << QByteArray("The's 'S 'LL  x")
        << QList<int>{448, 502, 220, 6, 50, 220, 6, 43, 43, 220, 220, 87};
    QTest::newRow("kjv CRLF") << k << QByteArray("   spaces\r\n\r\nend ")
                              << QList<int>{220, 220, 421, 1238, 201, 198, 201, 198, 1200, 220};
    QTest::newRow("kjv empty") << k << QByteArray() << QList<int>{};
}

void TestTokenizer::referenceIds()
{
    QFETCH(QString, file);
    QFETCH(QByteArray, text);
    QFETCH(QList<int>, ids);
    QS_LOAD_TOKENIZER(tok, file);
    const QString diff = idDiff(tok->encode(view(text), false), toIds(ids));
    QVERIFY2(diff.isEmpty(), qPrintable(diff));
}

void TestTokenizer::addedTokensInText()
{
    // Added tokens are matched literally before normalisation (HF), and each text segment around
    // them is normalised on its own: the Prepend "▁" applies after "<s>" too.
    QS_LOAD_TOKENIZER(stories, QStringLiteral("stories260K/tokenizer.json"));
    std::vector<int> want{1};
    for (int id : stories->encode("Hello", false))
        want.push_back(id);
    want.push_back(2);
    QString diff = idDiff(stories->encode("<s>Hello</s>", false), want);
    QVERIFY2(diff.isEmpty(), qPrintable(diff));
    QCOMPARE(stories->decode(want), std::string("Hello")); // special tokens are skipped

    QS_LOAD_TOKENIZER(kjv, QStringLiteral("kjv7M/tokenizer.json"));
    want = {4094};
    for (int id : kjv->encode("In the beginning", false))
        want.push_back(id);
    want.push_back(4095);
    diff = idDiff(kjv->encode("<|begin_of_text|>In the beginning<|end_of_text|>", false), want);
    QVERIFY2(diff.isEmpty(), qPrintable(diff));
    QCOMPARE(kjv->piece(4094), std::string("<|begin_of_text|>"));
}

void TestTokenizer::roundTrip_data()
{
    QTest::addColumn<QString>("file");
    QTest::addColumn<QByteArray>("text");
    const QList<QByteArray> texts{
        QByteArray("Once upon a time, there was a little girl."),
        QByteArray("caf\xC3\xA9 na\xC3\xAFve \xC3\xA9l\xC3\xA8ve"),                // é, ï, è
        QByteArray("\xE4\xB8\xAD\xE6\x96\x87\xE6\xB5\x8B\xE8\xAF\x95"),            // 中文测试
        QByteArray("emoji \xF0\x9F\x98\x80\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD done"), // 😀👍🏽
        QByteArray("line one\nline two\ttab"),
        QByteArray("x"),
    };
    for (const QString& file :
         {QStringLiteral("stories260K/tokenizer.json"), QStringLiteral("stories260K/tokenizer.model"),
          QStringLiteral("kjv7M/tokenizer.json")})
        for (qsizetype i = 0; i < texts.size(); ++i)
            QTest::addRow("%s #%d", qPrintable(file), int(i)) << file << texts[i];
    // tokenizer.json keeps every space; tokenizer.model squeezes them, so only the former round-trips these.
    QTest::newRow("stories json spaces")
        << QStringLiteral("stories260K/tokenizer.json") << QByteArray("  two  leading, trailing  ");
    QTest::newRow("kjv json spaces") << QStringLiteral("kjv7M/tokenizer.json")
                                     << QByteArray("  two  leading, trailing  \r\n");
}

void TestTokenizer::roundTrip()
{
    QFETCH(QString, file);
    QFETCH(QByteArray, text);
    QS_LOAD_TOKENIZER(tok, file);
    for (bool bos : {false, true}) {
        const std::vector<int> ids = tok->encode(view(text), bos);
        QCOMPARE(tok->decode(ids), text.toStdString());
    }
}

void TestTokenizer::syntheticComponents()
{
    // A hand-made tokenizer.json for components the fixtures do not use: Metaspace (prepend_scheme
    // "first", split), Digits, unk with fuse_unk, [a, b] merges, Metaspace decoder. Expected ids
    // are worked out by hand from HF's rules.
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString path = dir.filePath(QStringLiteral("tokenizer.json"));
    const QByteArray json = R"({
      "added_tokens": [{"id": 9, "content": "<s>", "special": true, "normalized": false}],
      "normalizer": null,
      "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
        {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first", "split": true},
        {"type": "Digits", "individual_digits": true}]},
      "post_processor": null,
      "decoder": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first", "split": true},
      "model": {"type": "BPE", "unk_token": "<unk>", "fuse_unk": FUSE, "byte_fallback": false,
        "vocab": {"<unk>": 0, "\u2581": 1, "a": 2, "b": 3, "\u2581a": 4, "ab": 5, "\u2581ab": 6, "1": 7, "2": 8},
        "merges": [["\u2581", "a"], ["a", "b"], ["\u2581a", "b"]]}
    })";
    for (bool fuse : {true, false}) {
        QVERIFY(test::writeFile(path, QByteArray(json).replace("FUSE", fuse ? "true" : "false")));
        const auto tok = Tokenizer::fromTokenizerJson(path);
        QCOMPARE(tok->bosId(), -1); // no post-processor and no tokenizer_config.json
        // "ab ab" → "▁ab▁ab" → "▁ab" "▁ab"; "▁ab": (▁,a) rank 0, then (▁a,b) rank 2
        QString diff = idDiff(tok->encode("ab ab", false), {6, 6});
        QVERIFY2(diff.isEmpty(), qPrintable(diff));
        QCOMPARE(tok->decode({6, 6}), std::string("ab ab"));
        // Digits splits "▁a12" into "▁a" "1" "2"
        diff = idDiff(tok->encode("a12", false), {4, 7, 8});
        QVERIFY2(diff.isEmpty(), qPrintable(diff));
        // unknown characters: one <unk> for the run when fused, one each otherwise
        diff =
            idDiff(tok->encode("xyz", false), fuse ? std::vector<int>{1, 0} : std::vector<int>{1, 0, 0, 0});
        QVERIFY2(diff.isEmpty(), qPrintable(diff));
        // prepend_scheme "first": no "▁" for the segment after an added token
        diff = idDiff(tok->encode("<s>ab", false), {9, 5});
        QVERIFY2(diff.isEmpty(), qPrintable(diff));
        const auto* hf = dynamic_cast<const HfTokenizer*>(tok.get());
        QVERIFY(hf);
        QCOMPARE(hf->preTokenize("a b12"), (std::vector<std::string>{"\xE2\x96\x81"
                                                                     "a",
                                                                     "\xE2\x96\x81"
                                                                     "b",
                                                                     "1", "2"}));
    }
}

void TestTokenizer::syntheticByteLevel()
{
    // ByteLevel with add_prefix_space and the GPT-2 regex, and ignore_merges (Llama-3): a word that
    // is itself in the vocabulary is one token even without merges. Expected ids worked out by hand.
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString path = dir.filePath(QStringLiteral("tokenizer.json"));
    const QByteArray json = R"({
      "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": true, "use_regex": true},
      "decoder": {"type": "ByteLevel"},
      "model": {"type": "BPE", "ignore_merges": IGNORE,
        "vocab": {"a": 0, "b": 1, "\u0120": 2, "ab": 3, "\u0120ab": 4, "!": 5}, "merges": []}
    })";
    for (bool ignore : {true, false}) {
        QVERIFY(test::writeFile(path, QByteArray(json).replace("IGNORE", ignore ? "true" : "false")));
        const auto tok = Tokenizer::fromTokenizerJson(path);
        const std::vector<int> ids = tok->encode("ab ab!", false); // " ab" " ab" "!"
        const QString diff =
            idDiff(ids, ignore ? std::vector<int>{4, 4, 5} : std::vector<int>{2, 0, 1, 2, 0, 1, 5});
        QVERIFY2(diff.isEmpty(), qPrintable(diff));
        QCOMPARE(tok->decode(ids), std::string(" ab ab!")); // the prefix space stays, as in HF
    }
}

void TestTokenizer::invalidUtf8_data()
{
    QTest::addColumn<QString>("file");
    QTest::addColumn<QByteArray>("text");
    QTest::addColumn<int>("offset");
    const QList<std::tuple<const char*, QByteArray, int>> cases{
        {"stray continuation", QByteArray("ok\x80"), 2},
        {"truncated", QByteArray("ab\xC3"), 2},
        {"overlong", QByteArray("\xC0\xAF"), 0},
        {"surrogate", QByteArray("abc \xED\xA0\x80"), 4},
        {"above U+10FFFF", QByteArray("\xC3\xA9\xF4\x90\x80\x80"), 2},
        {"0xFF", QByteArray("xyz\xFF"), 3},
    };
    for (const QString& file :
         {QStringLiteral("stories260K/tokenizer.json"), QStringLiteral("stories260K/tokenizer.model"),
          QStringLiteral("kjv7M/tokenizer.json")})
        for (const auto& [name, bytes, offset] : cases)
            QTest::addRow("%s %s", qPrintable(file), name) << file << bytes << offset;
}

void TestTokenizer::invalidUtf8()
{
    QFETCH(QString, file);
    QFETCH(QByteArray, text);
    QFETCH(int, offset);
    QS_LOAD_TOKENIZER(tok, file);
    try {
        tok->encode(view(text), true);
        QFAIL("no qs::Error for invalid UTF-8");
    } catch (const Error& e) {
        QVERIFY2(e.message().contains(QStringLiteral("byte offset %1").arg(offset)), qPrintable(e.message()));
    }
}

void TestTokenizer::corruptFiles_data()
{
    QTest::addColumn<QString>("name");
    QTest::addColumn<QByteArray>("content");
    QTest::addColumn<QString>("mentions");
    const QByteArray vocab = R"("vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"])";
    QTest::newRow("invalid JSON") << QStringLiteral("tokenizer.json") << QByteArray("{\"model\": {")
                                  << QStringLiteral("invalid JSON");
    QTest::newRow("not an object") << QStringLiteral("tokenizer.json") << QByteArray("[1, 2]")
                                   << QStringLiteral("not a JSON object");
    QTest::newRow("unknown model") << QStringLiteral("tokenizer.json")
                                   << QByteArray(R"({"model": {"type": "Unigram", "vocab": [["a", 0.0]]}})")
                                   << QStringLiteral("unsupported model type 'Unigram'");
    QTest::newRow("unknown normalizer")
        << QStringLiteral("tokenizer.json")
        << QByteArray(
               R"({"normalizer": {"type": "Sequence", "normalizers": [{"type": "Precompiled"}]}, "model": {"type": "BPE", )" +
               vocab + "}}")
        << QStringLiteral("normalizer.normalizers[0]: unsupported normalizer type 'Precompiled'");
    QTest::newRow("unknown pre_tokenizer")
        << QStringLiteral("tokenizer.json")
        << QByteArray(R"({"pre_tokenizer": {"type": "UnicodeScripts"}, "model": {"type": "BPE", )" + vocab +
                      "}}")
        << QStringLiteral("unsupported pre_tokenizer type 'UnicodeScripts'");
    QTest::newRow("unknown decoder")
        << QStringLiteral("tokenizer.json")
        << QByteArray(R"({"decoder": {"type": "CTC"}, "model": {"type": "BPE", )" + vocab + "}}")
        << QStringLiteral("unsupported decoder type 'CTC'");
    QTest::newRow("bad regex")
        << QStringLiteral("tokenizer.json")
        << QByteArray(
               R"({"pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(a"}}, "model": {"type": "BPE", )" +
               vocab + "}}")
        << QStringLiteral("cannot compile regex");
    QTest::newRow("merge outside vocab")
        << QStringLiteral("tokenizer.json")
        << QByteArray(R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": ["a b"]}})")
        << QStringLiteral("merged token 'ab' is not in the vocabulary");
    // Found by fuzz_tokenizer_json: an id of 5e18 wrapped to an int, a large one sized the id table
    // (std::bad_alloc from a 13 kB file).
    QTest::newRow("vocab id beyond int")
        << QStringLiteral("tokenizer.json")
        << QByteArray(
               R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 5090071992547409939}, "merges": []}})")
        << QStringLiteral("the id of 'b' must be an integer from 0 to 2147483646");
    QTest::newRow("vocab id far beyond the vocabulary")
        << QStringLiteral("tokenizer.json")
        << QByteArray(R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 2000000000}, "merges": []}})")
        << QStringLiteral("token id 2000000000 leaves more than 65536 ids unused");
    QTest::newRow("added token id beyond int")
        << QStringLiteral("tokenizer.json")
        << QByteArray(
               R"({"added_tokens": [{"id": 4294967296, "content": "<s>"}], "model": {"type": "BPE", )" +
               vocab + "}}")
        << QStringLiteral("added_tokens[0]: \"id\" must be an integer");
    // Found by fuzz_sentencepiece: libsentencepiece threw Darts::Details::Exception ("zero-length
    // key") for a piece starting with a NUL byte, and the exception ended the program.
    QTest::newRow("tokenizer.model with a piece starting with NUL")
        << QStringLiteral("tokenizer.model")
        << QByteArray::fromBase64("Cg4KBTx1bms+FQAAAAAYAgoMCgoAPHMoFQCAAA4K")
        << QStringLiteral("not a valid SentencePiece model");
    QTest::newRow("corrupt tokenizer.model")
        << QStringLiteral("tokenizer.model") << QByteArray("this is not a protobuf \x01\x02\x03")
        << QStringLiteral("SentencePiece");
}

void TestTokenizer::corruptFiles()
{
    QFETCH(QString, name);
    QFETCH(QByteArray, content);
    QFETCH(QString, mentions);
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString path = dir.filePath(name);
    QVERIFY(test::writeFile(path, content));
    for (int via = 0; via < 2; ++via) {
        try {
            if (via == 0)
                Tokenizer::load(dir.path());
            else if (name.endsWith(u".json"))
                Tokenizer::fromTokenizerJson(path);
            else
                Tokenizer::fromSentencePiece(path);
            QFAIL("no qs::Error for a corrupt file");
        } catch (const Error& e) {
            QVERIFY2(e.message().contains(path), qPrintable(e.message()));
            QVERIFY2(e.message().contains(mentions), qPrintable(e.message()));
        }
    }
}

void TestTokenizer::missingFiles()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    QVERIFY_THROWS_EXCEPTION(Error, Tokenizer::load(dir.path()));
    const QString missing = dir.filePath(QStringLiteral("tokenizer.model"));
    try {
        Tokenizer::fromSentencePiece(missing);
        QFAIL("no qs::Error for a missing file");
    } catch (const Error& e) {
        QVERIFY2(e.message().contains(missing), qPrintable(e.message()));
    }
    QVERIFY_THROWS_EXCEPTION(Error,
                             Tokenizer::fromTokenizerJson(dir.filePath(QStringLiteral("tokenizer.json"))));

    // A broken tokenizer.json next to a good tokenizer.model: load() falls back to the latter.
    QS_REQUIRE_DATA(model, "stories260K/tokenizer.model");
    QVERIFY(QFile::copy(model, dir.filePath(QStringLiteral("tokenizer.model"))));
    QVERIFY(test::writeFile(dir.filePath(QStringLiteral("tokenizer.json")), "{"));
    QTest::ignoreMessage(QtWarningMsg,
                         QRegularExpression(QStringLiteral("invalid JSON.*using .*tokenizer.model instead")));
    const auto t = Tokenizer::load(dir.path());
    QVERIFY(t->description().startsWith(u"tokenizer.model"));
    // … and says so: both files and why, kept with the tokenizer for the results that use it.
    QVERIFY2(t->loadWarning().contains(dir.filePath(QStringLiteral("tokenizer.json"))) &&
                 t->loadWarning().contains(dir.filePath(QStringLiteral("tokenizer.model"))) &&
                 t->loadWarning().contains(QStringLiteral("invalid JSON")),
             qPrintable(t->loadWarning()));
    QS_REQUIRE_DATA(stories, "stories260K");
    QS_REQUIRE_DATA(text, "wikitext-2-raw/wiki.test.raw");
    EvaluationParams p;
    p.textPath = text;
    p.perplexity.ctx = 64;
    p.perplexity.maxChunks = 1;
    p.speedPrefillTokens = 0;
    const EvaluationResult r = runEvaluation(Transformer(Model::open(stories)), *t, p);
    QVERIFY2(!r.warnings.isEmpty() && r.warnings.front() == t->loadWarning(),
             qPrintable(r.warnings.join(u'|')));
    // The run record keeps which tokenizer was used and why, through a save and a reload.
    RunSummary run;
    run.name = QStringLiteral("fallback");
    run.readEvaluation(r.toJson());
    const RunSummary kept = runSummaryFromJson(runSummaryToJson(run), QStringLiteral("test"));
    QVERIFY2(kept.tokenizer.contains(dir.filePath(QStringLiteral("tokenizer.model"))),
             qPrintable(kept.tokenizer));
    QCOMPARE(kept.warnings, r.warnings);
    QVERIFY(Tokenizer::load(stories)->loadWarning().isEmpty());

    // The other way round: a good tokenizer.json beside a garbage tokenizer.model. The json is
    // used either way, but the unreadable file is named rather than ignored.
    QS_REQUIRE_DATA(json, "stories260K/tokenizer.json");
    QTemporaryDir other;
    QVERIFY(other.isValid());
    QVERIFY(QFile::copy(json, other.filePath(QStringLiteral("tokenizer.json"))));
    QVERIFY(test::writeFile(other.filePath(QStringLiteral("tokenizer.model")), "not a protobuf"));
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QStringLiteral("tokenizer.model.*is used")));
    const auto j = Tokenizer::load(other.path());
    QVERIFY(j->description().startsWith(u"tokenizer.json"));
    QVERIFY2(j->loadWarning().contains(other.filePath(QStringLiteral("tokenizer.model"))) &&
                 j->loadWarning().contains(other.filePath(QStringLiteral("tokenizer.json"))),
             qPrintable(j->loadWarning()));
}

QTEST_GUILESS_MAIN(TestTokenizer)
#include "tst_tokenizer.moc"
