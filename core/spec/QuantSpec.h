#pragma once

#include "tensor/DType.h"
#include "tensor/GgmlTypes.h"

#include <QJsonObject>
#include <QString>
#include <QStringList>
#include <array>
#include <cstdint>
#include <optional>
#include <utility>

namespace qs {

/// The plain ggml type of a float dtype: F16 and BF16 themselves, anything else F32.
GgmlType ggmlPlainType(DType t);

/// Quantization methods. One row each in kQuantMethods; the CLI help, GUI choices, recipe
/// validation and exporters all read that table.
enum class QuantMethod : std::uint8_t {
    Float,
    Rtn,
    Gptq,
    Awq,
    SmoothQuant,
    LlmInt8,
    Dynamic,
    Ggml,
    Hqq,
    SqueezeLlm,
    QuipSharp,
    Aqlm
};

struct QuantMethodInfo
{
    QuantMethod method;
    const char* name;        ///< recipe / CLI spelling
    const char* displayName; ///< GUI label
    bool needsCalibration;   ///< needs input statistics from calibration text
    bool quantizesActivations;
    int minBits, maxBits;  ///< the bits it takes (the GUI and CLI offer this range)
    bool grouped;          ///< bits, groups and symmetry are chosen (not fixed by a float or ggml type)
    const char* reference; ///< the paper it follows
};

inline constexpr std::array<QuantMethodInfo, 12> kQuantMethods{{
    {QuantMethod::Float, "float", "Float (keep)", false, false, 16, 32, false, ""},
    {QuantMethod::Rtn, "rtn", "RTN", false, false, 2, 8, true,
     "round-to-nearest; optional MSE clipping search"},
    {QuantMethod::Gptq, "gptq", "GPTQ", true, false, 2, 8, true,
     "Frantar et al. 2022, GPTQ: Accurate Post-Training Quantization for Generative Pre-trained "
     "Transformers"},
    {QuantMethod::Awq, "awq", "AWQ", true, false, 2, 8, true,
     "Lin et al. 2023, AWQ: Activation-aware Weight Quantization for LLM Compression and Acceleration"},
    {QuantMethod::SmoothQuant, "smoothquant", "SmoothQuant W8A8", true, true, 8, 8, true,
     "Xiao et al. 2022, SmoothQuant: Accurate and Efficient Post-Training Quantization for LLMs"},
    {QuantMethod::LlmInt8, "llm.int8", "LLM.int8()", true, true, 8, 8, true,
     "Dettmers et al. 2022, LLM.int8(): 8-bit Matrix Multiplication for Transformers at Scale"},
    {QuantMethod::Dynamic, "dynamic", "Dynamic (per-token activations)", false, true, 4, 8, true,
     "dynamic quantization: static per-channel weights, activations quantized per token at run time"},
    {QuantMethod::Ggml, "gguf", "GGUF (llama.cpp types)", false, false, 2, 8, false,
     "llama.cpp's ggml block formats (Q4_0…Q8_0, k-quants Q2_K…Q6_K, IQ4), byte-identical to llama-quantize"},
    {QuantMethod::Hqq, "hqq", "HQQ (calibration-free)", false, false, 2, 8, true,
     "Badri & Shaji 2023, Half-Quadratic Quantization of Large Machine Learning Models: each group's zero "
     "point optimised against a sparsity-promoting l_p error (p < 1) by half-quadratic splitting, no data"},
    {QuantMethod::SqueezeLlm, "squeezellm", "SqueezeLLM (codebooks, Fisher ~ x^2)", true, false, 2, 4, true,
     "Kim et al. 2023, SqueezeLLM: Dense-and-Sparse Quantization: per output row a codebook of 2^bits "
     "values from k-means weighted by a diagonal Fisher proxy (the calibration inputs' mean x^2 per "
     "column, until a backward pass gives gradients), plus the largest and most sensitive weights kept "
     "exact in a sparse matrix"},
    {QuantMethod::QuipSharp, "quipsharp", "QuIP# (E8P lattice, LDLQ, Hadamard)", true, false, 2, 4, true,
     "Tseng et al. 2024, QuIP#: Even Better LLM Quantization with Hadamard Incoherence and Lattice "
     "Codebooks: inputs rotated by a randomized Hadamard transform, vectors of 8 weights rounded to the E8P "
     "lattice codebook (2 bits a weight; 3 and 4 bits add a residual stage) with LDLQ's Hessian-weighted "
     "error feedback, one scale per output row"},
    {QuantMethod::Aqlm, "aqlm", "AQLM (additive codebooks, beam search)", true, false, 2, 4, true,
     "Egiazarian et al. 2024, Extreme Compression of Large Language Models via Additive Quantization: each "
     "group of 8 input weights is the sum of one entry from each of M learned codebooks (2x8 or 1x16 at 2 "
     "bits a weight), codes found by beam search on the layer's output error (X^T X), codebooks and row "
     "scales refitted in turn"},
}};
inline constexpr const QuantMethodInfo& quantMethodInfo(QuantMethod m)
{
    return kQuantMethods[std::size_t(m)];
}
QString quantMethodName(QuantMethod m);
/// Parses a method name; nullopt-like: returns false when unknown.
bool quantMethodFromName(const QString& name, QuantMethod& out);
/// The method names in table order ("float", "rtn", …, "gguf"); without "float" when !withFloat.
QStringList quantMethodNames(bool withFloat = true);
/// The smallest minBits and largest maxBits of the quantizing methods (2 and 8): the range the
/// CLI help and the GUI's bit choices offer.
std::pair<int, int> quantBitRange();
/// The bit choices of `m` ("2" … "8"); empty for float and gguf (a gguf layer's type decides).
QStringList quantBitChoices(QuantMethod m);

/// The group sizes the GUI offers for grouped methods (any positive size is valid in a recipe).
inline constexpr std::array<int, 4> kOfferedGroupSizes{32, 64, 128, 256};
/// The granularity choices of a grouped method: "channel", "tensor", then kOfferedGroupSizes;
/// empty for float and gguf layers.
QStringList quantGroupChoices(QuantMethod m);

enum class Granularity : std::uint8_t { PerTensor, PerChannel, PerGroup };

/// Incoherence processing before quantization (weight-only methods RTN, GPTQ, HQQ, AQLM; always on for
/// QuIP#): the layer's input space is rotated by a randomized orthogonal transform V (kernels/Rotation.h:
/// signs, Walsh–Hadamard, an odd-size random orthogonal factor), the method quantizes W·Vᵀ (GPTQ and QuIP#
/// with V·H·Vᵀ), and the layer computes Q·(V·x). Outliers spread over all inputs, so a group's range is set
/// by typical weights.
enum class Incoherence : std::uint8_t { None, Hadamard };
QString incoherenceName(Incoherence i);
QString granularityName(Granularity g);

/// One way to quantize one linear layer: method + bits + symmetry + granularity + storage of the
/// scales/zeros + the method's parameters. Groups run along the input dimension; when the row
/// length is not a multiple of the group size, the last group of each row is shorter.
struct QuantSpec
{
    QuantMethod method = QuantMethod::Rtn;
    int bits = 4;
    bool symmetric = false;
    Granularity granularity = Granularity::PerGroup;
    int groupSize = 128;
    DType scaleType = DType::F16; ///< f16 or f32 scales
    bool floatZeros = false;      ///< asymmetric zero stored as a float (else an integer of `bits`)
    DType floatType = DType::F16; ///< storage when method == Float (f32/f16/bf16)

    // Method parameters (each used by the methods that name it).
    bool clipSearch = false;   ///< RTN/AWQ: per-group MSE search over shrink factors
    double dampPercent = 0.01; ///< GPTQ: λ = dampPercent · mean(diag H)
    bool actOrder = false;     ///< GPTQ: quantize columns by descending diag H
    /// GPTQ per group: scale and zero from the original weights (static, the default: lower KLD than
    /// dynamic at 2-3 bits on kjv7M, docs/quality.md) or from the weights as updated when the group
    /// starts (false: dynamic, the reference's and GPTQModel's default).
    bool staticGroups = true;
    int blockSize = 128;                         ///< GPTQ: lazy batch width
    int awqGrid = 20;                            ///< AWQ: α grid points over [0, 1]
    double smoothAlpha = 0.5;                    ///< SmoothQuant migration strength
    double outlierThreshold = 6;                 ///< LLM.int8: |x| above which an input feature stays 16-bit
    int activationBits = 8;                      ///< W8A8 / dynamic: per-token activation bits
    Incoherence incoherence = Incoherence::None; ///< RTN/GPTQ/HQQ: rotate the input space first
    int incoherenceSeed = 0; ///< mixed with the layer's name into the seed of its transform
    int hqqIterations = 20;  ///< HQQ: most half-quadratic steps per group (stops when the error rises)
    double hqqLpNorm = 0.7;  ///< HQQ: p of the l_p error it minimises, in (0, 1]
    /// SqueezeLLM: the share of a layer's weights kept exact in the sparse matrix, in percent (the paper's
    /// 0.45: 0.40 by magnitude, 0.05 by sensitivity); 0 keeps none.
    double sparsePercent = 0.45;
    /// AQLM: the bits of one codebook's index, even, 4–16 (16 to 65536 entries); the codebooks a group of 8
    /// weights sums are 8·bits / codebookBits, at most 8 (additiveCodebooks(): the paper's 2x8 or 1x16 at 2
    /// bits a weight; 4x4 keeps the codebooks small where a layer is small: 8 KiB for 2x8, 256 B for 4x4).
    int codebookBits = 8;
    int beamSize = 8; ///< AQLM: hypotheses the beam search keeps per group of 8 weights
    int rounds = 3;   ///< AQLM: rounds of code search and codebook refit
    /// gguf: the ggml block type (see GgmlTypes.h). bits, granularity and groupSize mirror it
    /// (nominal bits, per-group of the block size) so tables and sorting treat it like the others.
    GgmlType ggmlType = GgmlType::Q4_K;
    bool importance = false; ///< gguf: weight the rounding by calibration Σx² (llama.cpp's imatrix)

    /// The ggml types a gguf layer can take, in table order ("Q4_0", …, "Q6_K", "IQ4_NL", "IQ4_XS").
    static QStringList ggmlTypeChoices();
    /// The k-quant (or Q8_0) a gguf layer of `bits` bits takes by default: 2 → Q2_K … 6 → Q6_K,
    /// 7 and 8 → Q8_0.
    static GgmlType ggmlTypeForBits(int bits);
    /// A gguf spec for `type` with its nominal bits and block as group; throws qs::Error for a
    /// type QuantScope cannot produce.
    static QuantSpec ggml(GgmlType type, bool importance = false);
    /// The spec a layer with rows of `cols` values really gets: for gguf, llama-quantize's fallback
    /// when the type's block does not divide the row (ggmlRowFallback: Q4_K → Q5_0, …, or an f16
    /// float layer); other methods unchanged. Throws qs::Error when the type cannot store such
    /// rows and has no fallback. `note` (nullable) is set to what changed, else left alone.
    QuantSpec fittedTo(std::int64_t cols, QString* note = nullptr) const;
    /// The ggml type a GGUF file stores a layer of this spec in: gguf layers their type, float
    /// layers F32/F16/BF16 (ggmlPlainType); nullopt for the methods GGUF has no type for.
    std::optional<GgmlType> ggufType() const;
    /// Whether quantizing with this spec needs calibration statistics.
    bool needsCalibration() const;

    /// Effective group length for a row of `cols` inputs (cols for per-channel / per-tensor).
    std::int64_t groupLength(std::int64_t cols) const;
    std::int64_t groupsPerRow(std::int64_t cols) const;
    int qmax() const { return (1 << bits) - 1; }

    /// SqueezeLLM: how many weights of a [rows, cols] layer the sparse matrix holds.
    std::int64_t sparseCount(std::int64_t rows, std::int64_t cols) const;
    /// Whether the method stores a per-row codebook (SqueezeLLM) instead of scales and zeros.
    bool usesCodebook() const { return method == QuantMethod::SqueezeLlm; }
    /// Whether the codes are lattice vectors (QuIP#: kernels/E8Lattice.h, 8 weights a vector, one scale per
    /// row) rather than one integer level per weight.
    bool usesLattice() const { return method == QuantMethod::QuipSharp; }
    /// Whether a group of 8 weights is a sum of entries of the layer's learned codebooks (AQLM:
    /// kernels/AdditiveCodes.h, one scale per row).
    bool usesAdditive() const { return method == QuantMethod::Aqlm; }
    /// AQLM: the codebooks each group of 8 weights sums (8·bits / codebookBits).
    int additiveCodebooks() const { return codebookBits > 0 ? 8 * bits / codebookBits : 0; }
    /// Whether the codes are decoded through a table (codebook or lattice), not as (q − zero)·scale.
    bool decodesCodes() const { return usesCodebook() || usesLattice() || usesAdditive(); }
    /// Whether quantizing needs the inputs' Hessian XᵀX (GPTQ, QuIP#'s LDLQ, AQLM's objective), not only Σx².
    bool needsHessian() const
    {
        return method == QuantMethod::Gptq || method == QuantMethod::QuipSharp || method == QuantMethod::Aqlm;
    }

    /// Exact storage of a [rows, cols] weight: codes + scales + zeros + extra (outliers, indices).
    /// A codebook method counts its codebooks (f16) as scales and its sparse matrix (f16 values,
    /// int32 columns and row starts) as extra; `sparse` is the sparse matrix's count (-1: sparseCount).
    struct Cost
    {
        std::uint64_t codeBytes = 0, scaleBytes = 0, zeroBytes = 0, extraBytes = 0;
        std::uint64_t total() const { return codeBytes + scaleBytes + zeroBytes + extraBytes; }
        double bitsPerWeight(std::int64_t params) const
        {
            return params ? 8.0 * double(total()) / double(params) : 0;
        }
    };
    Cost cost(std::int64_t rows, std::int64_t cols, std::int64_t outlierColumns = 0,
              std::int64_t sparse = -1) const;

    /// Empty when valid, else what is wrong (bits outside the method's range, group <= 0, …).
    QString validate() const;
    /// Short label for tables: "gptq int4 g128 asym", "f16", "smoothquant w8a8".
    QString label() const;
    QJsonObject toJson() const;
    /// Compact scheme name for command lines and sweep tables: method, then dash-separated tokens
    /// wB (bits), gN / ch / tensor (granularity), sym, clip (RTN/AWQ), act (GPTQ act-order):
    /// "gptq-w4-g128", "rtn-w8-ch-sym", "awq-w4-g64-clip"; float layers are "f16", "bf16", "f32".
    QString shortName() const;
    /// Parses shortName() spellings (fields not named keep QuantSpec's defaults); throws qs::Error
    /// naming the bad token, and validates the result.
    static QuantSpec fromShortName(const QString& name);
    /// Reads fields present in `o` over `base` (recipes override defaults); errors name `path`.
    static QuantSpec fromJson(const QJsonObject& o, const QString& path, const QuantSpec& base);
    static QuantSpec fromJson(const QJsonObject& o, const QString& path);
    bool operator==(const QuantSpec&) const = default;
};

/// `s` with what QuIP# fixes: one symmetric scale per output row, inputs rotated (incoherence hadamard).
QuantSpec quipSharpDefaults(QuantSpec s);
/// `s` with what AQLM fixes: one symmetric scale per output row.
QuantSpec aqlmDefaults(QuantSpec s);

} // namespace qs
