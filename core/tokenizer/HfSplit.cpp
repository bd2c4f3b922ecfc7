#include "tokenizer/HfSplit.h"

#include <algorithm>

namespace qs::hf {

void Pattern::find(std::string_view s, std::vector<Span>& out) const
{
    if (regex) {
        regex->findAll(s, out);
        return;
    }
    if (literal.empty())
        return;
    for (std::size_t pos = s.find(literal); pos != std::string_view::npos; pos = s.find(literal, pos)) {
        out.emplace_back(pos, pos + literal.size());
        pos += literal.size();
    }
}

std::string replaceAll(std::string_view s, const Pattern& pattern, std::string_view content)
{
    std::vector<Span> matches;
    pattern.find(s, matches);
    if (matches.empty())
        return std::string(s);
    std::string out;
    out.reserve(s.size() + matches.size() * content.size());
    std::size_t prev = 0;
    for (const auto& [b, e] : matches) {
        out.append(s.substr(prev, b - prev));
        out.append(content);
        prev = e;
    }
    out.append(s.substr(prev));
    return out;
}

namespace {

/// A stretch of the piece: a match or the text between two.
struct Event
{
    std::size_t begin, end;
    bool match;
};

/// The piece as alternating stretches; with invert, the stretches between matches count as matches.
std::vector<Event> events(std::size_t n, const std::vector<Span>& matches, bool invert)
{
    std::vector<Event> events;
    events.reserve(matches.size() * 2 + 1);
    std::size_t prev = 0;
    for (const auto& [b, e] : matches) {
        if (prev != b)
            events.push_back({prev, b, false});
        events.push_back({b, e, true});
        prev = e;
    }
    if (prev != n || events.empty())
        events.push_back({prev, n, false});
    if (invert)
        for (Event& ev : events)
            ev.match = !ev.match;
    return events;
}

/// The parts `behavior` makes of the stretches; here Event::match means "remove".
std::vector<Event> parts(const std::vector<Event>& events, Behavior behavior)
{
    std::vector<Event> parts;
    parts.reserve(events.size());
    bool prevMatch = false;
    switch (behavior) {
    case Behavior::Isolated:
        for (const Event& ev : events)
            parts.push_back({ev.begin, ev.end, false});
        break;
    case Behavior::Removed:
        parts = events;
        break;
    case Behavior::Contiguous:
        for (const Event& ev : events) {
            if (ev.match == prevMatch && !parts.empty())
                parts.back().end = ev.end;
            else
                parts.push_back({ev.begin, ev.end, false});
            prevMatch = ev.match;
        }
        break;
    case Behavior::MergedWithPrevious:
        for (const Event& ev : events) {
            if (ev.match && !prevMatch && !parts.empty())
                parts.back().end = ev.end;
            else
                parts.push_back({ev.begin, ev.end, false});
            prevMatch = ev.match;
        }
        break;
    case Behavior::MergedWithNext:
        for (auto it = events.rbegin(); it != events.rend(); ++it) {
            if (it->match && !prevMatch && !parts.empty())
                parts.back().begin = it->begin;
            else
                parts.push_back({it->begin, it->end, false});
            prevMatch = it->match;
        }
        std::reverse(parts.begin(), parts.end());
        break;
    }
    return parts;
}

} // namespace

void splitPiece(const Piece& in, const std::vector<Span>& matches, bool invert, Behavior behavior,
                Pieces& out)
{
    for (const Event& p : parts(events(in.text.size(), matches, invert), behavior))
        if (!p.match && p.end > p.begin)
            out.push_back({in.text.substr(p.begin, p.end - p.begin), -1, in.atStart && p.begin == 0});
}

} // namespace qs::hf
