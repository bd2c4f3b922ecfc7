#include "tokenizer/Regex.h"

#include "tokenizer/Utf8.h"
#include "util/Error.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

namespace qs {

namespace {

QString pcre2Message(int code)
{
    PCRE2_UCHAR buf[256];
    const int n = pcre2_get_error_message(code, buf, sizeof buf);
    return n < 0 ? QStringLiteral("PCRE2 error %1").arg(code)
                 : QString::fromUtf8(reinterpret_cast<const char*>(buf), n);
}

/// Per-thread match state: match data for one pair of offsets and a JIT stack larger than the
/// 32 KiB default, so long runs of whitespace under `\s+(?!\S)` cannot exhaust it.
struct MatchState
{
    pcre2_match_data* data = pcre2_match_data_create(1, nullptr);
    pcre2_match_context* context = pcre2_match_context_create(nullptr);
    pcre2_jit_stack* stack = pcre2_jit_stack_create(32 * 1024, 8 * 1024 * 1024, nullptr);

    MatchState()
    {
        if (context && stack) pcre2_jit_stack_assign(context, nullptr, stack);
    }
    ~MatchState()
    {
        pcre2_jit_stack_free(stack);
        pcre2_match_context_free(context);
        pcre2_match_data_free(data);
    }
    MatchState(const MatchState&) = delete;
    MatchState& operator=(const MatchState&) = delete;
};

} // namespace

Regex::Regex(std::string_view pattern) : m_pattern(pattern)
{
    int err = 0;
    PCRE2_SIZE offset = 0;
    m_code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                           PCRE2_UTF | PCRE2_UCP, &err, &offset, nullptr);
    if (!m_code)
        throw Error(QStringLiteral("cannot compile regex /%1/: %2 at offset %3")
                        .arg(QString::fromUtf8(pattern.data(), qsizetype(pattern.size())), pcre2Message(err))
                        .arg(qulonglong(offset)));
    // JIT is an optimisation only: when it is unavailable pcre2_match interprets.
    pcre2_jit_compile(m_code, PCRE2_JIT_COMPLETE);
}

Regex::~Regex()
{
    pcre2_code_free(m_code);
}

void Regex::findAll(std::string_view s, std::vector<Span>& out) const
{
    thread_local MatchState state;
    const auto* subject = reinterpret_cast<PCRE2_SPTR>(s.data());
    std::size_t start = 0;
    while (start <= s.size()) {
        const int rc =
            pcre2_match(m_code, subject, s.size(), start, PCRE2_NO_UTF_CHECK, state.data, state.context);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0)
            throw Error(QStringLiteral("regex /%1/ failed at byte %2: %3")
                            .arg(QString::fromStdString(m_pattern))
                            .arg(qulonglong(start))
                            .arg(pcre2Message(rc)));
        const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(state.data);
        out.emplace_back(ov[0], ov[1]);
        if (ov[1] > ov[0])
            start = ov[1];
        else if (ov[0] >= s.size())
            break;
        else
            start = ov[0] + std::size_t(utf8::seqLength(static_cast<unsigned char>(s[ov[0]])));
    }
}

} // namespace qs
