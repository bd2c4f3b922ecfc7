// The tokenizer a GGUF file's metadata describes (llama.cpp's semantics for plain text): GGUFs
// written at run time with the exporter's own tokenizer metadata must give the same ids as the
// model's tokenizer.json on whole test sets; hand-made vocabularies pin the SentencePiece merge
// order, byte fallback, user-defined and control tokens and the pre-tokenizer table; round trips;
// and each malformed-metadata error names the file and the key.
#include "TestSupport.h"
#include "io/Gguf.h"
#include "checkpoint/GgufExport.h"
#include "model/Model.h"
#include "tokenizer/GgufTokenizer.h"
#include "tokenizer/Tokenizer.h"
#include "tokenizer/Utf8.h"
#include "util/Error.h"

#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QTest>
#include <algorithm>
#include <string>
#include <vector>

using namespace qs;

Q_DECLARE_METATYPE(qs::GgufValue)

namespace {

QByteArray readAll(const QString& path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return {};
    return f.readAll();
}

std::string_view view(const QByteArray& b)
{
    return std::string_view(b.constData(), std::size_t(b.size()));
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

/// A GGUF holding only the tokenizer metadata the exporter writes for the model in `modelDir`.
QString writeExportedTokenizer(const QString& modelDir, const QString& outPath)
{
    const auto model = Model::open(modelDir);
    GgufWriter w;
    ggufWriteTokenizer(w, *model);
    w.write(outPath);
    return outPath;
}

using Keys = std::vector<GgufKeyValue>;

void writeKeys(const Keys& keys, const QString& path)
{
    GgufWriter w;
    for (const GgufKeyValue& kv : keys)
        w.set(kv.key, kv.value);
    w.write(path);
}

std::unique_ptr<Tokenizer> tokenizerOf(const Keys& keys, const QString& path)
{
    writeKeys(keys, path);
    return Tokenizer::fromGguf(*GgufFile::open(path));
}

const std::string kSpace = "\xE2\x96\x81";

/// A small "llama" vocabulary: <unk>, <s>, </s>, ▁, a, b, c, ab (-1), bc (score from the
/// caller), the user-defined "<|x|>", the control "<|y|>", then the 256 <0xXX> byte tokens.
Keys spmKeys(float bcScore = -1.0f)
{
    QStringList tokens{QStringLiteral("<unk>"), QStringLiteral("<s>"),
                       QStringLiteral("</s>"),  QString::fromStdString(kSpace),
                       QStringLiteral("a"),     QStringLiteral("b"),
                       QStringLiteral("c"),     QStringLiteral("ab"),
                       QStringLiteral("bc"),    QStringLiteral("<|x|>"),
                       QStringLiteral("<|y|>")};
    std::vector<float> scores{0, 0, 0, -5, -6, -6, -6, -1, bcScore, 0, 0};
    std::vector<std::int32_t> types{2, 3, 3, 1, 1, 1, 1, 1, 1, 4, 3};
    for (int b = 0; b < 256; ++b) {
        tokens << u"<0x" + QString::number(b, 16).toUpper().rightJustified(2, u'0') + u'>';
        scores.push_back(0);
        types.push_back(6);
    }
    return {
        {QStringLiteral("tokenizer.ggml.model"), GgufValue("llama")},
        {QStringLiteral("tokenizer.ggml.tokens"), GgufValue::array(tokens)},
        {QStringLiteral("tokenizer.ggml.scores"), GgufValue::array(scores)},
        {QStringLiteral("tokenizer.ggml.token_type"), GgufValue::array(types)},
        {QStringLiteral("tokenizer.ggml.bos_token_id"), GgufValue(std::uint32_t(1))},
        {QStringLiteral("tokenizer.ggml.eos_token_id"), GgufValue(std::uint32_t(2))},
    };
}
constexpr int kByte0 = 11; ///< id of <0x00> in spmKeys

/// A small "gpt2" vocabulary: the 256 byte-level characters (id = byte), "he" (merge "h e"), "Ġt"
/// (merge "Ġ t"), the user-defined "<|user|>", the control "<|eot|>" and "12" (merge "1 2").
Keys bpeKeys(const QString& pre)
{
    const utf8::ByteLevelMap& map = utf8::ByteLevelMap::instance();
    QStringList tokens;
    std::vector<std::int32_t> types;
    for (int b = 0; b < 256; ++b) {
        tokens << QString::fromStdString(map.byteToUtf8[std::size_t(b)]);
        types.push_back(1);
    }
    tokens << QStringLiteral("he") << QString::fromStdString(map.byteToUtf8[' '] + "t")
           << QStringLiteral("<|user|>") << QStringLiteral("<|eot|>") << QStringLiteral("12");
    types.insert(types.end(), {1, 1, 4, 3, 1});
    return {
        {QStringLiteral("tokenizer.ggml.model"), GgufValue("gpt2")},
        {QStringLiteral("tokenizer.ggml.pre"), GgufValue(pre)},
        {QStringLiteral("tokenizer.ggml.tokens"), GgufValue::array(tokens)},
        {QStringLiteral("tokenizer.ggml.token_type"), GgufValue::array(types)},
        {QStringLiteral("tokenizer.ggml.merges"),
         GgufValue::array(QStringList{QStringLiteral("h e"),
                                      QString::fromStdString(map.byteToUtf8[' '] + " t"),
                                      QStringLiteral("1 2")})},
        {QStringLiteral("tokenizer.ggml.bos_token_id"), GgufValue(std::uint32_t(259))},
        {QStringLiteral("tokenizer.ggml.eos_token_id"), GgufValue(std::uint32_t(259))},
    };
}

Keys withKey(Keys keys, const QString& key, const GgufValue& value)
{
    for (GgufKeyValue& kv : keys)
        if (kv.key == key) {
            kv.value = value;
            return keys;
        }
    keys.push_back({key, value});
    return keys;
}

Keys withoutKey(Keys keys, const QString& key)
{
    std::erase_if(keys, [&](const GgufKeyValue& kv) { return kv.key == key; });
    return keys;
}

} // namespace

class TestGgufTokenizer : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void matchesTokenizerJson_data();
    void matchesTokenizerJson();
    void metadata();
    void roundTrip_data();
    void roundTrip();
    void storiesSpecialCases();
    void spmAlgorithm_data();
    void spmAlgorithm();
    void spmDecode();
    void bpeAlgorithm_data();
    void bpeAlgorithm();
    void errors_data();
    void errors();

private:
    QTemporaryDir m_dir;
    QString m_stories, m_kjv; ///< exported tokenizer GGUFs, empty when the data is absent
};

void TestGgufTokenizer::initTestCase()
{
    QVERIFY(m_dir.isValid());
    if (const QString d = test::dataPath(QStringLiteral("stories260K")); !d.isEmpty())
        m_stories = writeExportedTokenizer(d, m_dir.filePath(QStringLiteral("stories260K.gguf")));
    if (const QString d = test::dataPath(QStringLiteral("kjv7M")); !d.isEmpty())
        m_kjv = writeExportedTokenizer(d, m_dir.filePath(QStringLiteral("kjv7M.gguf")));
}

void TestGgufTokenizer::matchesTokenizerJson_data()
{
    QTest::addColumn<QString>("model");
    QTest::addColumn<QString>("text");
    QTest::addColumn<int>("minLines");
    QTest::newRow("stories260K wiki.test.raw")
        << QStringLiteral("stories260K") << QStringLiteral("wikitext-2-raw/wiki.test.raw") << 2800;
    QTest::newRow("kjv7M kjv test.txt") << QStringLiteral("kjv7M") << QStringLiteral("kjv/test.txt") << 1500;
    QTest::newRow("kjv7M wiki.test.raw")
        << QStringLiteral("kjv7M") << QStringLiteral("wikitext-2-raw/wiki.test.raw") << 2800;
}

void TestGgufTokenizer::matchesTokenizerJson()
{
    // Every line must give the tokenizer.json ids, except where tokenizer.json matches a special
    // token's text (wikitext's "<unk>"): llama.cpp (parse_special = false, as llama-perplexity)
    // tokenizes that text as text, and so do we.
    QFETCH(QString, model);
    QFETCH(QString, text);
    QFETCH(int, minLines);
    const QString gguf = model == u"kjv7M" ? m_kjv : m_stories;
    if (gguf.isEmpty())
        QSKIP(qPrintable(test::skipMessage(model)));
    const QString textPath = test::dataPath(text);
    if (textPath.isEmpty())
        QSKIP(qPrintable(test::skipMessage(text)));
    const auto ours = Tokenizer::load(gguf);
    const auto json = Tokenizer::fromTokenizerJson(test::dataPath(model + u"/tokenizer.json"));
    const auto& g = dynamic_cast<const GgufTokenizer&>(*ours);

    std::vector<std::string> specialTexts;
    for (int id = 0; id < g.vocabSize(); ++id)
        if (g.tokenType(id) == GgufTokenType::Control || g.tokenType(id) == GgufTokenType::Unknown)
            specialTexts.push_back(g.piece(id));

    const QList<QByteArray> lines = readAll(textPath).split('\n');
    int compared = 0, withSpecialText = 0;
    for (qsizetype i = 0; i < lines.size(); ++i) {
        const std::string_view line = view(lines[i]);
        const std::vector<int> got = ours->encode(line, false);
        const bool special = std::any_of(specialTexts.begin(), specialTexts.end(), [&](const std::string& s) {
            return line.find(s) != std::string_view::npos;
        });
        if (special) {
            ++withSpecialText;
            for (int id : got)
                QVERIFY2(
                    g.tokenType(id) != GgufTokenType::Control && g.tokenType(id) != GgufTokenType::Unknown,
                    qPrintable(QStringLiteral("line %1: special id %2 from plain text").arg(i + 1).arg(id)));
            QVERIFY2(ours->decode(got) == line,
                     qPrintable(QStringLiteral("line %1 does not round-trip").arg(i + 1)));
            continue;
        }
        const QString diff = idDiff(got, json->encode(line, false));
        QVERIFY2(diff.isEmpty(), qPrintable(QStringLiteral("line %1: %2").arg(i + 1).arg(diff)));
        ++compared;
    }
    qInfo("%d lines identical to tokenizer.json; %d lines hold a special token's text", compared,
          withSpecialText);
    QVERIFY(compared >= minLines);

    // With BOS, as the model's add_bos_token says (both models: yes).
    const std::vector<int> withBos = ours->encode("Once upon a time", true);
    QCOMPARE(withBos.front(), json->bosId());
    QVERIFY(idDiff(withBos, json->encode("Once upon a time", true)).isEmpty());
}

void TestGgufTokenizer::metadata()
{
    if (m_stories.isEmpty() || m_kjv.isEmpty())
        QSKIP("stories260K or kjv7M not found");
    const auto stories = Tokenizer::load(m_stories);
    QCOMPARE(stories->description(),
             QStringLiteral("GGUF tokenizer: llama (SentencePiece scores), 512 tokens"));
    QCOMPARE(stories->path(), m_stories);
    QCOMPARE(stories->vocabSize(), 512);
    QCOMPARE(stories->bosId(), 1);
    QCOMPARE(stories->eosId(), 2);
    QCOMPARE(stories->piece(1), std::string("<s>"));

    const auto kjv = Tokenizer::load(m_kjv);
    const auto json = Tokenizer::fromTokenizerJson(test::dataPath(QStringLiteral("kjv7M/tokenizer.json")));
    QCOMPARE(kjv->description(),
             QStringLiteral("GGUF tokenizer: gpt2 (byte-level BPE, pre-tokenizer llama-bpe), %1 tokens")
                 .arg(json->vocabSize()));
    QCOMPARE(kjv->vocabSize(), json->vocabSize());
    QCOMPARE(kjv->bosId(), json->bosId());
    QCOMPARE(kjv->eosId(), json->eosId());
    for (int id = 0; id < kjv->vocabSize(); ++id)
        QCOMPARE(kjv->piece(id), json->piece(id));
}

void TestGgufTokenizer::roundTrip_data()
{
    QTest::addColumn<QString>("model");
    QTest::addColumn<QString>("text");
    const char* const texts[][2] = {
        {"empty", ""},
        {"plain", "Once upon a time there was a little girl."},
        {"leading space", " leading"},
        {"leading spaces", "   three leading"},
        {"multiple spaces", "a  b   c    d"},
        {"trailing space", "end "},
        {"only spaces", "   "},
        {"newlines", "line one\nline two\n\n\nafter blank lines\n"},
        {"tabs and CR", "tab\there\r\nwindows"},
        {"non-ASCII Latin", "Ünïcödé façade naïve"},
        {"CJK not in vocab", "日本語のテキスト"},
        {"emoji", "llama \xF0\x9F\xA6\x99 emoji"},
        {"special texts", "<s> </s> <unk> <|begin_of_text|> <|end_of_text|>"},
        {"punctuation and digits", "It's 12,345.67 -- isn't it? (yes!) [x] {y} $100"},
    };
    for (const char* model : {"stories260K", "kjv7M"})
        for (const auto& t : texts)
            QTest::newRow(qPrintable(QStringLiteral("%1 %2").arg(QLatin1String(model), QLatin1String(t[0]))))
                << QString::fromLatin1(model) << QString::fromUtf8(t[1]);
}

void TestGgufTokenizer::roundTrip()
{
    QFETCH(QString, model);
    QFETCH(QString, text);
    const QString gguf = model == u"kjv7M" ? m_kjv : m_stories;
    if (gguf.isEmpty())
        QSKIP(qPrintable(test::skipMessage(model)));
    const auto tok = Tokenizer::load(gguf);
    const std::string s = text.toStdString();
    const std::vector<int> ids = tok->encode(s, false);
    QCOMPARE(QString::fromStdString(tok->decode(ids)), text);
    // BOS decodes to nothing.
    QCOMPARE(QString::fromStdString(tok->decode(tok->encode(s, true))), text);
    if (s.empty())
        QVERIFY(ids.empty());
}

void TestGgufTokenizer::storiesSpecialCases()
{
    if (m_stories.isEmpty())
        QSKIP(qPrintable(test::skipMessage(QStringLiteral("stories260K"))));
    const auto tok = Tokenizer::load(m_stories);
    QVERIFY(tok->encode("", false).empty());
    QCOMPARE(tok->encode("", true), std::vector<int>{1});

    // A character not in the vocabulary falls back to its UTF-8 bytes (<0xE6><0x97><0xA5> for 日).
    const std::vector<int> ids = tok->encode("\xE6\x97\xA5", false);
    std::vector<std::string> pieces;
    for (int id : ids)
        pieces.push_back(tok->piece(id));
    QCOMPARE(pieces, (std::vector<std::string>{kSpace, "<0xE6>", "<0x97>", "<0xA5>"}));

    // Control and unknown texts are plain text: "<s>" is not BOS.
    for (int id : tok->encode("<s> and <unk>", false))
        QVERIFY(id > 2);
    // Spaces: every one is kept (no squeezing), one is prepended.
    QCOMPARE(tok->encode("a  b", false).size(), tok->encode("a b", false).size() + 1);
    // Invalid UTF-8 is an error naming the offset; out-of-range ids in decode name the file.
    QS_VERIFY_ERROR(test::errorOf([&] { tok->encode("ok\xFF", false); }), {QStringLiteral("2")});
    QS_VERIFY_ERROR(test::errorOf([&] { tok->decode({512}); }), {m_stories, QStringLiteral("512")});
}

void TestGgufTokenizer::spmAlgorithm_data()
{
    QTest::addColumn<float>("bcScore");
    QTest::addColumn<bool>("spacePrefix");
    QTest::addColumn<QString>("text");
    QTest::addColumn<QList<int>>("ids");
    QTest::addColumn<QString>("decoded"); // empty: the text itself
    const int z = kByte0 + 'z', lt = kByte0 + '<', gt = kByte0 + '>', s = kByte0 + 's', bar = kByte0 + '|',
              y = kByte0 + 'y';
    // "ab" and "bc" tie at -1: the leftmost pair merges first.
    QTest::newRow("tie: leftmost") << -1.0f << true << QStringLiteral("abc") << QList<int>{3, 7, 6}
                                   << QString();
    QTest::newRow("higher score first")
        << -0.5f << true << QStringLiteral("abc") << QList<int>{3, 4, 8} << QString();
    QTest::newRow("no space prefix") << -1.0f << false << QStringLiteral("abc") << QList<int>{7, 6}
                                     << QString();
    QTest::newRow("spaces") << -1.0f << true << QStringLiteral("a  b") << QList<int>{3, 4, 3, 3, 5}
                            << QString();
    QTest::newRow("byte fallback") << -1.0f << true << QStringLiteral("z") << QList<int>{3, z} << QString();
    QTest::newRow("byte fallback, multi-byte")
        << -1.0f << false << QStringLiteral("é") << QList<int>{kByte0 + 0xC3, kByte0 + 0xA9} << QString();
    // A user-defined token is split out; the text after it gets the space prefix again.
    QTest::newRow("user-defined") << -1.0f << true << QStringLiteral("a<|x|>b") << QList<int>{3, 4, 9, 3, 5}
                                  << QStringLiteral("a<|x|> b"); // as llama.cpp: the prefix space stays
    QTest::newRow("user-defined first")
        << -1.0f << true << QStringLiteral("<|x|>ab") << QList<int>{9, 3, 7} << QStringLiteral("<|x|> ab");
    QTest::newRow("user-defined only")
        << -1.0f << true << QStringLiteral("<|x|><|x|>") << QList<int>{9, 9} << QString();
    // Control tokens are not matched in plain text.
    QTest::newRow("control is text") << -1.0f << false << QStringLiteral("<|y|>")
                                     << QList<int>{lt, bar, y, bar, gt} << QString();
    QTest::newRow("bos is text") << -1.0f << false << QStringLiteral("<s>") << QList<int>{lt, s, gt}
                                 << QString();
    QTest::newRow("empty") << -1.0f << true << QString() << QList<int>{} << QString();
}

void TestGgufTokenizer::spmAlgorithm()
{
    QFETCH(float, bcScore);
    QFETCH(bool, spacePrefix);
    QFETCH(QString, text);
    QFETCH(QList<int>, ids);
    QFETCH(QString, decoded);
    Keys keys = spmKeys(bcScore);
    if (!spacePrefix)
        keys.push_back({QStringLiteral("tokenizer.ggml.add_space_prefix"), GgufValue(false)});
    const auto tok = tokenizerOf(keys, m_dir.filePath(QStringLiteral("spm.gguf")));
    const std::vector<int> got = tok->encode(text.toStdString(), false);
    const QString diff = idDiff(got, std::vector<int>(ids.begin(), ids.end()));
    QVERIFY2(diff.isEmpty(), qPrintable(diff));
    QCOMPARE(QString::fromStdString(tok->decode(got)), decoded.isEmpty() ? text : decoded);
    // BOS as add_bos_token says (default true for "llama").
    QCOMPARE(tok->encode(text.toStdString(), true).front(), 1);
}

void TestGgufTokenizer::spmDecode()
{
    const auto tok = tokenizerOf(spmKeys(), m_dir.filePath(QStringLiteral("spmdecode.gguf")));
    // Control and unknown tokens decode to nothing; one leading space is removed; bytes reassemble.
    QCOMPARE(tok->decode({1, 3, 4, 3, 5, 2, 0}), std::string("a b"));
    QCOMPARE(tok->decode({kByte0 + 0xC3, kByte0 + 0xA9}), std::string("é"));
    QCOMPARE(tok->decode({kByte0 + 0xC3}), std::string("\xEF\xBF\xBD")); // a lone lead byte: U+FFFD
    QCOMPARE(tok->decode({9, 3, 4}), std::string("<|x|> a"));
    QCOMPARE(tok->description(), QStringLiteral("GGUF tokenizer: llama (SentencePiece scores), 267 tokens"));
    // Out-of-range ids other than BOS are ignored as llama.cpp does (its own stories260K.gguf has
    // padding_token_id = 2^32 - 1); EOS keeps llama.cpp's default.
    Keys odd = withKey(spmKeys(), QStringLiteral("tokenizer.ggml.padding_token_id"),
                       GgufValue(std::uint32_t(0xFFFFFFFFu)));
    odd = withKey(odd, QStringLiteral("tokenizer.ggml.eos_token_id"), GgufValue(std::uint32_t(5000)));
    QCOMPARE(tokenizerOf(odd, m_dir.filePath(QStringLiteral("spmodd.gguf")))->eosId(), 2);
    // add_bos_token false: no BOS.
    const auto noBos =
        tokenizerOf(withKey(spmKeys(), QStringLiteral("tokenizer.ggml.add_bos_token"), GgufValue(false)),
                    m_dir.filePath(QStringLiteral("spmnobos.gguf")));
    QCOMPARE(noBos->encode("a", true), (std::vector<int>{3, 4}));
}

void TestGgufTokenizer::bpeAlgorithm_data()
{
    QTest::addColumn<QString>("pre");
    QTest::addColumn<QString>("text");
    QTest::addColumn<QList<int>>("ids");
    const int he = 256, spaceT = 257, user = 258, twelve = 260;
    QTest::newRow("merges") << QStringLiteral("gpt-2") << QStringLiteral("hehe") << QList<int>{he, he};
    QTest::newRow("space merges") << QStringLiteral("llama-bpe") << QStringLiteral("he the")
                                  << QList<int>{he, spaceT, he};
    QTest::newRow("user-defined split")
        << QStringLiteral("llama-bpe") << QStringLiteral("he<|user|> t") << QList<int>{he, user, spaceT};
    QTest::newRow("control is text") << QStringLiteral("llama-bpe") << QStringLiteral("<|eot|>")
                                     << QList<int>{'<', '|', 'e', 'o', 't', '|', '>'};
    // Digits: Llama 3 groups up to three, Qwen2 and SmolLM split each, GPT-2 keeps the run.
    QTest::newRow("llama-bpe digits")
        << QStringLiteral("llama-bpe") << QStringLiteral("1212") << QList<int>{twelve, '1', '2'};
    QTest::newRow("qwen2 digits") << QStringLiteral("qwen2") << QStringLiteral("12") << QList<int>{'1', '2'};
    QTest::newRow("smollm digits") << QStringLiteral("smollm") << QStringLiteral("12")
                                   << QList<int>{'1', '2'};
    QTest::newRow("gpt-2 digits") << QStringLiteral("gpt-2") << QStringLiteral("1212")
                                  << QList<int>{twelve, twelve};
    QTest::newRow("default digits") << QStringLiteral("default") << QStringLiteral("12")
                                    << QList<int>{twelve};
    QTest::newRow("default") << QStringLiteral("default") << QStringLiteral("he, the")
                             << QList<int>{he, ',', spaceT, he};
    QTest::newRow("missing pre is default") << QString() << QStringLiteral("hehe") << QList<int>{he, he};
    QTest::newRow("spaces") << QStringLiteral("llama-bpe") << QStringLiteral("  t")
                            << QList<int>{' ', spaceT};
}

void TestGgufTokenizer::bpeAlgorithm()
{
    QFETCH(QString, pre);
    QFETCH(QString, text);
    QFETCH(QList<int>, ids);
    Keys keys = bpeKeys(pre);
    if (pre.isEmpty())
        keys = withoutKey(keys, QStringLiteral("tokenizer.ggml.pre"));
    const auto tok = tokenizerOf(keys, m_dir.filePath(QStringLiteral("bpe.gguf")));
    const std::vector<int> got = tok->encode(text.toStdString(), false);
    const QString diff = idDiff(got, std::vector<int>(ids.begin(), ids.end()));
    QVERIFY2(diff.isEmpty(), qPrintable(diff));
    QCOMPARE(QString::fromStdString(tok->decode(got)), text);
    // BOS: llama.cpp adds it by default for the Llama 3 pre-tokenizer only.
    const std::vector<int> withBos = tok->encode(text.toStdString(), true);
    QCOMPARE(!withBos.empty() && withBos.front() == 259, pre == u"llama-bpe");
    QCOMPARE(tok->decode({259}), std::string()); // control: nothing
}

void TestGgufTokenizer::errors_data()
{
    QTest::addColumn<bool>("bpe");
    QTest::addColumn<QString>("key"); // to change (or remove, when `value` is invalid)
    QTest::addColumn<GgufValue>("value");
    QTest::addColumn<bool>("remove");
    QTest::addColumn<QString>("expected"); // besides the file name and the key
    const GgufValue none;
    QTest::newRow("missing tokens") << false << QStringLiteral("tokenizer.ggml.tokens") << none << true
                                    << QStringLiteral("missing");
    QTest::newRow("empty tokens") << false << QStringLiteral("tokenizer.ggml.tokens")
                                  << GgufValue::array(QStringList{}) << false << QStringLiteral("empty");
    QTest::newRow("tokens not strings")
        << false << QStringLiteral("tokenizer.ggml.tokens")
        << GgufValue::array(std::vector<std::int32_t>{1, 2}) << false << QStringLiteral("array of strings");
    QTest::newRow("scores length") << false << QStringLiteral("tokenizer.ggml.scores")
                                   << GgufValue::array(std::vector<float>{0.0f, 1.0f}) << false
                                   << QStringLiteral("2 scores for 267 tokens");
    QTest::newRow("token_type length") << false << QStringLiteral("tokenizer.ggml.token_type")
                                       << GgufValue::array(std::vector<std::int32_t>{1}) << false
                                       << QStringLiteral("1 token types for 267 tokens");
    QTest::newRow("missing model") << false << QStringLiteral("tokenizer.ggml.model") << none << true
                                   << QStringLiteral("missing");
    QTest::newRow("unknown model") << false << QStringLiteral("tokenizer.ggml.model") << GgufValue("bert")
                                   << false << QStringLiteral("unknown tokenizer model 'bert'");
    QTest::newRow("bos out of range")
        << false << QStringLiteral("tokenizer.ggml.bos_token_id") << GgufValue(std::uint32_t(267)) << false
        << QStringLiteral("token id 267 is out of range");
    QTest::newRow("bos out of range, gpt2")
        << true << QStringLiteral("tokenizer.ggml.bos_token_id") << GgufValue(std::uint32_t(1000)) << false
        << QStringLiteral("token id 1000 is out of range");
    QTest::newRow("merges missing") << true << QStringLiteral("tokenizer.ggml.merges") << none << true
                                    << QStringLiteral("missing");
    QTest::newRow("merge not a token") << true << QStringLiteral("tokenizer.ggml.merges")
                                       << GgufValue::array(QStringList{QStringLiteral("x y")}) << false
                                       << QStringLiteral("'xy' is not a token");
    QTest::newRow("merge without space")
        << true << QStringLiteral("tokenizer.ggml.merges")
        << GgufValue::array(QStringList{QStringLiteral("he")}) << false << QStringLiteral("entry 0");
    QTest::newRow("unknown pre-tokenizer")
        << true << QStringLiteral("tokenizer.ggml.pre") << GgufValue("gpt-5") << false
        << QStringLiteral("unknown pre-tokenizer 'gpt-5'");
}

void TestGgufTokenizer::errors()
{
    QFETCH(bool, bpe);
    QFETCH(QString, key);
    QFETCH(GgufValue, value);
    QFETCH(bool, remove);
    QFETCH(QString, expected);
    Keys keys = bpe ? bpeKeys(QStringLiteral("llama-bpe")) : spmKeys();
    keys = remove ? withoutKey(keys, key) : withKey(keys, key, value);
    const QString path = m_dir.filePath(QStringLiteral("bad.gguf"));
    writeKeys(keys, path);
    QS_VERIFY_ERROR(test::errorOf([&] { Tokenizer::load(path); }), {path, key, expected});
}

QTEST_GUILESS_MAIN(TestGgufTokenizer)
#include "tst_gguftokenizer.moc"
