#include "tokenizer/HfBpeModel.h"

#include "tokenizer/HfJson.h"
#include "tokenizer/Utf8.h"

#include <QJsonArray>
#include <algorithm>
#include <cstdio>

namespace qs::hf {

std::string byteTokenName(unsigned char b)
{
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", unsigned(b));
    return name;
}

int BpeModel::find(std::string_view token) const
{
    const auto it = vocab.find(token);
    return it == vocab.end() ? -1 : it->second;
}

void BpeModel::addMerge(int a, int b, int merged, int rank)
{
    m_merges[key(a, b)] = {rank, merged};
}

void BpeModel::findByteTokens()
{
    for (int b = 0; b < 256; ++b)
        byteIds[std::size_t(b)] = find(byteTokenName(static_cast<unsigned char>(b)));
}

void BpeModel::tokenize(std::string_view word, std::vector<int>& out) const
{
    // Words repeat a lot in natural text; long ones (a whole SentencePiece-style text) do not.
    constexpr std::size_t kMaxCached = 128;
    if (word.size() > kMaxCached) {
        tokenizeUncached(word, out);
        return;
    }
    {
        std::lock_guard lock(m_cacheMutex);
        const auto it = m_cache.find(word);
        if (it != m_cache.end()) {
            out.insert(out.end(), it->second.begin(), it->second.end());
            return;
        }
    }
    const std::size_t first = out.size();
    tokenizeUncached(word, out);
    std::lock_guard lock(m_cacheMutex);
    if (m_cache.size() >= 200000)
        m_cache.clear();
    m_cache.emplace(std::string(word), std::vector<int>(out.begin() + std::ptrdiff_t(first), out.end()));
}

void BpeModel::tokenizeUncached(std::string_view w, std::vector<int>& out) const
{
    if (ignoreMerges) {
        const auto it = vocab.find(w);
        if (it != vocab.end()) {
            out.push_back(it->second);
            return;
        }
    }
    std::vector<Symbol> syms = symbols(w);
    if (syms.size() > 1)
        mergeAll(syms);
    for (const Symbol& sym : syms)
        if (sym.alive)
            out.push_back(sym.id);
}

/// HF merge_word: one symbol per character; unknown characters become their <0xNN> tokens
/// (byte_fallback) or unk (consecutive ones fused when fuse_unk).
std::vector<BpeModel::Symbol> BpeModel::symbols(std::string_view w) const
{
    std::vector<Symbol> syms;
    syms.reserve(w.size());
    auto add = [&](int id) {
        const int n = int(syms.size());
        if (n > 0)
            syms.back().next = n;
        syms.push_back({id, n - 1, -1, true});
    };
    bool pendingUnk = false;
    std::string tmp;
    std::size_t i = 0;
    while (i < w.size()) {
        const std::size_t j =
            std::min(w.size(), i + std::size_t(utf8::seqLength(static_cast<unsigned char>(w[i]))));
        std::string_view s = w.substr(i, j - i);
        const bool first = i == 0, last = j == w.size();
        if ((!first && !prefix.empty()) || (last && !suffix.empty())) {
            tmp.assign(first ? std::string() : prefix);
            tmp.append(s);
            if (last)
                tmp.append(suffix);
            s = tmp;
        }
        i = j;
        const auto it = vocab.find(s);
        if (it != vocab.end()) {
            if (pendingUnk) {
                add(unkId);
                pendingUnk = false;
            }
            add(it->second);
            continue;
        }
        if (byteFallback && std::all_of(s.begin(), s.end(), [&](char c) {
                return byteIds[static_cast<unsigned char>(c)] >= 0;
            })) {
            for (char c : s)
                add(byteIds[static_cast<unsigned char>(c)]);
            continue;
        }
        if (unkId >= 0) {
            if (pendingUnk && !fuseUnk)
                add(unkId);
            pendingUnk = true;
        }
    }
    if (pendingUnk)
        add(unkId);
    return syms;
}

/// HF Word::merge_all: a heap of (rank, position) applies the lowest-ranked merge first,
/// leftmost among equals; entries whose pair changed since are skipped.
void BpeModel::mergeAll(std::vector<Symbol>& syms) const
{
    struct Cand
    {
        int rank, pos, id;
    };
    const auto lower = [](const Cand& a, const Cand& b) {
        return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos;
    };
    std::vector<Cand> heap;
    heap.reserve(syms.size());
    for (std::size_t k = 0; k + 1 < syms.size(); ++k) {
        const auto it = m_merges.find(key(syms[k].id, syms[k + 1].id));
        if (it != m_merges.end())
            heap.push_back({it->second.rank, int(k), it->second.id});
    }
    std::make_heap(heap.begin(), heap.end(), lower);
    auto push = [&](int pos) {
        const int nx = syms[std::size_t(pos)].next;
        if (nx < 0)
            return;
        const auto it = m_merges.find(key(syms[std::size_t(pos)].id, syms[std::size_t(nx)].id));
        if (it != m_merges.end()) {
            heap.push_back({it->second.rank, pos, it->second.id});
            std::push_heap(heap.begin(), heap.end(), lower);
        }
    };
    while (!heap.empty()) {
        std::pop_heap(heap.begin(), heap.end(), lower);
        const Cand top = heap.back();
        heap.pop_back();
        Symbol& cur = syms[std::size_t(top.pos)];
        if (!cur.alive || cur.next < 0)
            continue;
        Symbol& right = syms[std::size_t(cur.next)];
        const auto it = m_merges.find(key(cur.id, right.id));
        if (it == m_merges.end() || it->second.id != top.id)
            continue; // stale
        cur.id = top.id;
        right.alive = false;
        cur.next = right.next;
        if (right.next >= 0)
            syms[std::size_t(right.next)].prev = top.pos;
        if (cur.prev >= 0)
            push(cur.prev);
        push(top.pos);
    }
}

namespace {

/// The vocabulary and options of the "model" object.
void readVocabAndOptions(const JsonReader& json, const QJsonObject& m, BpeModel& model)
{
    const QString where = QStringLiteral("model");
    const QJsonObject vocab = m.value(u"vocab").toObject();
    if (vocab.isEmpty())
        json.fail(where, QStringLiteral("\"vocab\" is missing or empty"));
    model.vocab.reserve(std::size_t(vocab.size()));
    for (auto it = vocab.begin(); it != vocab.end(); ++it) {
        model.vocab[it.key().toStdString()] =
            json.tokenId(it.value(), where + u".vocab", u"the id of '" + it.key() + u'\'');
    }
    model.prefix = json.str(m, QStringLiteral("continuing_subword_prefix"), where, "");
    model.suffix = json.str(m, QStringLiteral("end_of_word_suffix"), where, "");
    model.fuseUnk = json.boolean(m, QStringLiteral("fuse_unk"), false);
    model.byteFallback = json.boolean(m, QStringLiteral("byte_fallback"), false);
    model.ignoreMerges = json.boolean(m, QStringLiteral("ignore_merges"), false);
    const std::string unk = json.str(m, QStringLiteral("unk_token"), where, "");
    if (!unk.empty()) {
        const auto it = model.vocab.find(unk);
        if (it == model.vocab.end())
            json.fail(where, u"unk_token '" + fromStd(unk) + u"' is not in the vocabulary");
        model.unkId = it->second;
    }
    model.findByteTokens();
}

/// The "merges" list; rank = position in the list.
void readMerges(const JsonReader& json, const QJsonArray& merges, BpeModel& model)
{
    model.reserveMerges(std::size_t(merges.size()) * 2);
    for (qsizetype r = 0; r < merges.size(); ++r) {
        const auto where = [r] { return QStringLiteral("model.merges[%1]").arg(r); }; // only for errors
        std::string a, b;
        const QJsonValue mv = merges[r];
        if (mv.isString()) {
            const std::string s = mv.toString().toStdString();
            const std::size_t sp = s.find(' ');
            if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos)
                json.fail(where(), QStringLiteral("expected \"a b\""));
            a = s.substr(0, sp);
            b = s.substr(sp + 1);
        } else if (mv.isArray() && mv.toArray().size() == 2) {
            a = mv.toArray()[0].toString().toStdString();
            b = mv.toArray()[1].toString().toStdString();
        } else {
            json.fail(where(), QStringLiteral("expected \"a b\" or [a, b]"));
        }
        const auto ia = model.vocab.find(a), ib = model.vocab.find(b);
        if (ia == model.vocab.end() || ib == model.vocab.end())
            json.fail(where(),
                      u"token '" + fromStd(ia == model.vocab.end() ? a : b) + u"' is not in the vocabulary");
        std::string merged = a;
        merged += !model.prefix.empty() && startsWith(b, model.prefix) ? b.substr(model.prefix.size()) : b;
        const auto im = model.vocab.find(merged);
        if (im == model.vocab.end())
            json.fail(where(), u"merged token '" + fromStd(merged) + u"' is not in the vocabulary");
        model.addMerge(ia->second, ib->second, im->second, int(r));
    }
}

} // namespace

void readBpeModel(const JsonReader& json, const QJsonObject& m, BpeModel& model)
{
    const QString where = QStringLiteral("model");
    QString type = m.value(u"type").toString();
    if (type.isEmpty() && m.contains(u"merges"))
        type = QStringLiteral("BPE"); // untagged older files
    if (type != u"BPE")
        json.fail(where, u"unsupported model type '" + (type.isEmpty() ? QStringLiteral("(none)") : type) +
                             u"' (supported: BPE)");
    const QJsonValue dropout = m.value(u"dropout");
    if (dropout.isDouble() && dropout.toDouble() > 0.0)
        json.fail(where, QStringLiteral("BPE dropout is not supported (encoding would be random)"));
    readVocabAndOptions(json, m, model);
    readMerges(json, m.value(u"merges").toArray(), model);
}

} // namespace qs::hf
