#include "model/Generate.h"

#include "model/Transformer.h"
#include "tokenizer/Tokenizer.h"
#include "util/Error.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <random>

namespace qs {

int sampleToken(const float* logits, int vocab, float temperature, float topP, std::uint64_t& rngState)
{
    if (temperature <= 0.0f)
        return int(std::max_element(logits, logits + vocab) - logits);
    const float mx = *std::max_element(logits, logits + vocab);
    std::vector<double> p(static_cast<std::size_t>(vocab));
    double sum = 0;
    for (int v = 0; v < vocab; ++v)
        sum += p[std::size_t(v)] = std::exp(double(logits[v] - mx) / double(temperature));
    std::vector<int> order(p.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](int a, int b) { return p[std::size_t(a)] > p[std::size_t(b)]; });
    double kept = 0;
    std::size_t cut = 0;
    while (cut < order.size() && (cut == 0 || kept < double(topP) * sum))
        kept += p[std::size_t(order[cut++])];
    std::mt19937_64 rng(rngState);
    rngState = rng();
    const double r = std::uniform_real_distribution<double>(0.0, kept)(rng);
    double acc = 0;
    for (std::size_t i = 0; i < cut; ++i) {
        acc += p[std::size_t(order[i])];
        if (r < acc)
            return order[i];
    }
    return order[cut - 1];
}

GenerateResult generate(const Transformer& model, const Tokenizer& tokenizer, const std::string& prompt,
                        const GenerateOptions& opt, const std::function<void(const std::string&)>& onToken,
                        const JobContext& job)
{
    GenerateResult r;
    r.promptTokens = tokenizer.encode(prompt, true);
    const int capacity = int(std::min<std::int64_t>(model.config().maxPositionEmbeddings,
                                                    std::int64_t(r.promptTokens.size()) + opt.maxTokens));
    if (int(r.promptTokens.size()) >= capacity)
        throw Error(QStringLiteral("the prompt (%1 tokens) leaves no room in the model's context (%2)")
                        .arg(r.promptTokens.size())
                        .arg(model.config().maxPositionEmbeddings));
    KvCache cache = model.makeCache(capacity);
    const int V = model.vocabSize();
    std::vector<float> logits(static_cast<std::size_t>(V));
    const auto t0 = std::chrono::steady_clock::now();
    model.forward(cache, r.promptTokens.data(), int(r.promptTokens.size()), logits.data(),
                  int(r.promptTokens.size()) - 1);
    std::uint64_t rng = opt.seed;
    std::string emitted;
    while (int(r.tokens.size()) < opt.maxTokens && cache.length() < capacity) {
        job.checkCancelled();
        const int next = sampleToken(logits.data(), V, opt.temperature, opt.topP, rng);
        if (opt.stopAtEos && next == tokenizer.eosId())
            break;
        r.tokens.push_back(next);
        const std::string text = tokenizer.decode(r.tokens);
        if (onToken && text.size() > emitted.size() && text.compare(0, emitted.size(), emitted) == 0)
            onToken(text.substr(emitted.size()));
        emitted = text;
        job.report(double(r.tokens.size()) / opt.maxTokens, QStringLiteral("generating"));
        if (cache.length() >= capacity)
            break;
        model.forward(cache, &next, 1, logits.data());
    }
    r.text = tokenizer.decode(r.tokens);
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    r.tokensPerSecond = r.seconds > 0 ? double(r.tokens.size()) / r.seconds : 0;
    return r;
}

} // namespace qs
