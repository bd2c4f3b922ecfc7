#pragma once

#include "eval/Kld.h"
#include "eval/Perplexity.h"
#include "eval/Speed.h"
#include "jobs/Job.h"

#include <QJsonObject>
#include <QStringList>
#include <optional>

namespace qs {

class Model;
class Tokenizer;
class Transformer;

/// Parameters of one evaluation run over a text file.
struct EvaluationParams
{
    QString textPath;
    PerplexityOptions perplexity;
    QString saveBasePath; ///< store this run's logits as a KLD base (atomic write)
    QString kldBasePath;  ///< compare against a stored base
    /// After the perplexity run: measure prefill/decode speed and memory of the model as it runs
    /// (SpeedMeasurement); 0 tokens skips it.
    int speedPrefillTokens = 128;
    int speedDecodeTokens = 32;
};

struct EvaluationResult
{
    QString model;
    QString textPath;
    QString tokenizer;
    std::uint64_t modelBytes = 0; ///< as stored (quantized sizes for quantized checkpoints)
    double bitsPerWeight = 0;
    double linearBitsPerWeight = 0;
    double tokenizeSeconds = 0;
    PerplexityResult perplexity;
    std::optional<KldStats> kld;
    std::optional<SpeedMeasurement> speed;
    QStringList warnings;
    QJsonObject toJson() const;
    QString toText() const;
};

/// Reads the text (UTF-8 checked), tokenizes it once with BOS, runs perplexity and, when asked,
/// stores or compares against a KLD base while streaming — memory bounded by one window.
EvaluationResult runEvaluation(const Transformer& model, const Tokenizer& tokenizer,
                               const EvaluationParams& params, const JobContext& job = {});

/// What runEvaluation would refuse, checked before a long job spends its time: the text (missing, not
/// UTF-8, too short for the protocol), the tokenizer against the model, and a KLD base made from another
/// model, text or protocol. Throws qs::Error naming the file; evaluates nothing.
void checkEvaluationInputs(const Model& model, const Tokenizer& tokenizer, const EvaluationParams& params);

/// Errors when the tokenizer cannot drive the model (ids beyond the embedding table); a named
/// warning when the model's table is larger (padding rows are common and harmless).
QStringList checkTokenizerAgainstModel(const Tokenizer& tokenizer, const Transformer& model);

/// Reads a whole text file as UTF-8; throws qs::Error naming the file when missing or empty.
QByteArray readTextFile(const QString& path);

} // namespace qs
