#pragma once

#include "jobs/Job.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace qs {

class Tokenizer;
class Transformer;

struct GenerateOptions
{
    int maxTokens = 64;
    float temperature = 0.8f; ///< 0 = greedy
    float topP = 0.95f;       ///< nucleus sampling; 1 = off
    std::uint64_t seed = 42;
    bool stopAtEos = true;
};

struct GenerateResult
{
    std::vector<int> promptTokens;
    std::vector<int> tokens; ///< generated ids (without the prompt)
    std::string text;        ///< decoded generated text
    double seconds = 0;
    double tokensPerSecond = 0;
};

/// Prefills the prompt in one batch, then decodes token by token through the KV cache.
/// `onToken` receives each new piece of text as it is produced (for live display).
GenerateResult generate(const Transformer& model, const Tokenizer& tokenizer, const std::string& prompt,
                        const GenerateOptions& opt, const std::function<void(const std::string&)>& onToken = {},
                        const JobContext& job = {});

/// Picks the next token from logits: greedy at temperature 0, else temperature + top-p sampling.
int sampleToken(const float* logits, int vocab, float temperature, float topP, std::uint64_t& rngState);

} // namespace qs
