#pragma once

#include "tokenizer/HfText.h"

#include <QJsonObject>
#include <array>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

/// Internal to core/tokenizer: the BPE model of tokenizer.json, which turns one pre-tokenized
/// word into ids.
namespace qs::hf {

class JsonReader;

/// "<0xNN>", the token byte-fallback vocabularies have for byte b (HF: format!("<{b:#04X}>")).
std::string byteTokenName(unsigned char b);

class BpeModel
{
public:
    StringMap<int> vocab;
    int unkId = -1;
    bool fuseUnk = false, byteFallback = false, ignoreMerges = false;
    std::string prefix, suffix;     ///< continuing_subword_prefix, end_of_word_suffix
    std::array<int, 256> byteIds{}; ///< byte_fallback: each byte's <0xNN> token, -1 when none

    /// The id of `token`, -1 when it is not in the vocabulary.
    int find(std::string_view token) const;
    /// Records that tokens a and b merge into `merged` with priority `rank` (lower first); a later
    /// call for the same pair replaces the earlier one.
    void addMerge(int a, int b, int merged, int rank);
    void reserveMerges(std::size_t n) { m_merges.reserve(n); }
    /// Fills byteIds from the vocabulary.
    void findByteTokens();

    /// Appends the ids of one word (HF's BPE::tokenize), with a cache of short words.
    void tokenize(std::string_view word, std::vector<int>& out) const;

private:
    struct Merge
    {
        int rank;
        int id;
    };
    struct Symbol
    {
        int id;
        int prev;
        int next;
        bool alive;
    };

    static std::uint64_t key(int a, int b)
    {
        return (std::uint64_t(std::uint32_t(a)) << 32) | std::uint32_t(b);
    }
    void tokenizeUncached(std::string_view w, std::vector<int>& out) const;
    std::vector<Symbol> symbols(std::string_view w) const;
    void mergeAll(std::vector<Symbol>& syms) const;

    std::unordered_map<std::uint64_t, Merge> m_merges;
    mutable std::mutex m_cacheMutex;
    mutable StringMap<std::vector<int>> m_cache;
};

/// Reads the "model" object (type BPE; merges as "a b" strings or [a, b] pairs) into `model`.
void readBpeModel(const JsonReader& json, const QJsonObject& m, BpeModel& model);

} // namespace qs::hf
