#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

struct pcre2_real_code_8;

namespace qs {

/// A compiled PCRE2 pattern in Unicode mode (PCRE2_UTF | PCRE2_UCP, JIT when available): the
/// regex flavour of tokenizer.json pre-tokenizers (Oniguruma there; the patterns in use are the
/// common subset). Immutable and shareable between threads.
class Regex
{
public:
    /// Throws qs::Error with PCRE2's message and the pattern offset (callers add the file).
    explicit Regex(std::string_view pattern);
    ~Regex();
    Regex(const Regex&) = delete;
    Regex& operator=(const Regex&) = delete;

    using Span = std::pair<std::size_t, std::size_t>; ///< [begin, end) byte offsets

    /// All non-overlapping matches, left to right, like Rust's find_iter: after an empty match
    /// the search resumes one character later. `s` must be valid UTF-8 (checked by callers).
    void findAll(std::string_view s, std::vector<Span>& out) const;

    const std::string& pattern() const { return m_pattern; }

private:
    std::string m_pattern;
    pcre2_real_code_8* m_code = nullptr;
};

} // namespace qs
