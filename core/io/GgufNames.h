#pragma once

#include <QString>
#include <array>
#include <cstdint>
#include <optional>

namespace qs {

// The names llama.cpp gives things in GGUF files and their Hugging Face counterparts, one table per
// kind of name (as llama.cpp's LLM_TENSOR_NAMES and LLM_KV_NAMES in src/llama-arch.cpp): tensors,
// metadata keys, token types. The reader, the exporter, the imatrix, the tokenizer and the recipe
// export all read them here.

// ---- tensors --------------------------------------------------------------------------------

/// The kinds of linear layer in a Llama-family model, in the order they run inside a block.
enum class LinearKind { Q, K, V, O, Gate, Up, Down, Head };

struct LinearKindInfo
{
    LinearKind kind;
    const char* name;   ///< HF module name: "q_proj", …, "lm_head"
    const char* module; ///< parent module in HF names: "self_attn", "mlp", "" for the head
    const char* gguf;   ///< GGUF name: "attn_q" (blk.N.attn_q.weight), …, "output" (output.weight)
};

inline constexpr std::array<LinearKindInfo, 8> kLinearKinds{{
    {LinearKind::Q, "q_proj", "self_attn", "attn_q"},
    {LinearKind::K, "k_proj", "self_attn", "attn_k"},
    {LinearKind::V, "v_proj", "self_attn", "attn_v"},
    {LinearKind::O, "o_proj", "self_attn", "attn_output"},
    {LinearKind::Gate, "gate_proj", "mlp", "ffn_gate"},
    {LinearKind::Up, "up_proj", "mlp", "ffn_up"},
    {LinearKind::Down, "down_proj", "mlp", "ffn_down"},
    {LinearKind::Head, "lm_head", "", "output"},
}};
inline constexpr const LinearKindInfo& linearKindInfo(LinearKind k)
{
    return kLinearKinds[std::size_t(k)];
}
inline QString linearKindName(LinearKind k)
{
    return QLatin1String(linearKindInfo(k).name);
}
constexpr int kLinearsPerBlock = 7;

/// Per-block tensors that are not linear layers (RMSNorm weights).
enum class BlockNorm { Attn, Ffn, QNorm, KNorm };

struct BlockNormInfo
{
    BlockNorm norm;
    const char* gguf; ///< "attn_norm" (blk.N.attn_norm.weight)
    const char* hf;   ///< "input_layernorm" (model.layers.N.input_layernorm.weight)
};

inline constexpr std::array<BlockNormInfo, 4> kBlockNorms{{
    {BlockNorm::Attn, "attn_norm", "input_layernorm"},
    {BlockNorm::Ffn, "ffn_norm", "post_attention_layernorm"},
    {BlockNorm::QNorm, "attn_q_norm", "self_attn.q_norm"},
    {BlockNorm::KNorm, "attn_k_norm", "self_attn.k_norm"},
}};
inline constexpr const BlockNormInfo& blockNormInfo(BlockNorm n)
{
    return kBlockNorms[std::size_t(n)];
}

/// Tensors outside the blocks that are not linear layers.
enum class ModelTensor { TokenEmbd, OutputNorm, RopeFreqs };

struct ModelTensorInfo
{
    ModelTensor tensor;
    const char* gguf; ///< "token_embd.weight"
    const char* hf;   ///< "model.embed_tokens.weight"; empty where HF has no tensor (rope_freqs)
};

inline constexpr std::array<ModelTensorInfo, 3> kModelTensors{{
    {ModelTensor::TokenEmbd, "token_embd.weight", "model.embed_tokens.weight"},
    {ModelTensor::OutputNorm, "output_norm.weight", "model.norm.weight"},
    {ModelTensor::RopeFreqs, "rope_freqs.weight", ""},
}};
inline QString ggufTensorName(ModelTensor t)
{
    return QLatin1String(kModelTensors[std::size_t(t)].gguf);
}
inline QString hfTensorName(ModelTensor t)
{
    return QLatin1String(kModelTensors[std::size_t(t)].hf);
}

/// "blk.3.attn_norm.weight": a tensor of block `block` (`suffix` "weight" or "bias").
QString ggufBlockTensorName(int block, const char* part, const char* suffix = "weight");
/// The GGUF name of a linear layer's weight (or bias): "blk.3.ffn_down.weight"; "output.weight"
/// for the head (or any layer outside the blocks, block < 0).
QString ggufLinearTensorName(LinearKind kind, int block, const char* suffix = "weight");
QString ggufBlockNormName(BlockNorm norm, int block);
/// "model.layers.3.": the Hugging Face prefix of block `block`'s tensors.
QString hfBlockPrefix(int block);
/// "model.layers.3.input_layernorm.weight".
QString hfBlockNormName(BlockNorm norm, int block);

/// What a GGUF tensor name stands for in Hugging Face's layout.
struct HfTensorName
{
    QString name;                     ///< "model.layers.3.self_attn.q_proj.weight"
    std::optional<LinearKind> linear; ///< set for linear layers' weights and biases
    bool bias = false;                ///< a ".bias" tensor
};
/// The HF name of a GGUF tensor of the Llama family; nullopt for names outside it and for
/// rope_freqs.weight (computed, not a model tensor).
std::optional<HfTensorName> hfTensorOfGguf(const QString& ggufName);

// ---- metadata keys --------------------------------------------------------------------------

namespace gguf_key {
inline constexpr char kArchitecture[] = "general.architecture";
inline constexpr char kName[] = "general.name";
inline constexpr char kFileType[] = "general.file_type";
inline constexpr char kQuantizationVersion[] = "general.quantization_version";

// Hyperparameters, under the architecture's prefix ("llama.block_count"): see ggufArchKey.
inline constexpr char kBlockCount[] = "block_count";
inline constexpr char kContextLength[] = "context_length";
inline constexpr char kEmbeddingLength[] = "embedding_length";
inline constexpr char kFeedForwardLength[] = "feed_forward_length";
inline constexpr char kVocabSize[] = "vocab_size";
inline constexpr char kHeadCount[] = "attention.head_count";
inline constexpr char kHeadCountKv[] = "attention.head_count_kv";
inline constexpr char kKeyLength[] = "attention.key_length";
inline constexpr char kValueLength[] = "attention.value_length";
inline constexpr char kRmsNormEps[] = "attention.layer_norm_rms_epsilon";
inline constexpr char kSlidingWindow[] = "attention.sliding_window";
inline constexpr char kRopeFreqBase[] = "rope.freq_base";
inline constexpr char kRopeDimensionCount[] = "rope.dimension_count";
inline constexpr char kRopeScalingType[] = "rope.scaling.type";

inline constexpr char kTokenizerPrefix[] = "tokenizer.";
inline constexpr char kTokenizerModel[] = "tokenizer.ggml.model";
inline constexpr char kTokenizerPre[] = "tokenizer.ggml.pre";
inline constexpr char kTokens[] = "tokenizer.ggml.tokens";
inline constexpr char kScores[] = "tokenizer.ggml.scores";
inline constexpr char kTokenType[] = "tokenizer.ggml.token_type";
inline constexpr char kMerges[] = "tokenizer.ggml.merges";
inline constexpr char kBosTokenId[] = "tokenizer.ggml.bos_token_id";
inline constexpr char kEosTokenId[] = "tokenizer.ggml.eos_token_id";
inline constexpr char kUnknownTokenId[] = "tokenizer.ggml.unknown_token_id";
inline constexpr char kPaddingTokenId[] = "tokenizer.ggml.padding_token_id";
inline constexpr char kAddBosToken[] = "tokenizer.ggml.add_bos_token";
inline constexpr char kAddEosToken[] = "tokenizer.ggml.add_eos_token";
inline constexpr char kAddSpacePrefix[] = "tokenizer.ggml.add_space_prefix";
} // namespace gguf_key

/// A key under the architecture's prefix: ggufArchKey("llama", gguf_key::kBlockCount) is
/// "llama.block_count".
inline QString ggufArchKey(const QString& arch, const char* key)
{
    return arch + u'.' + QLatin1String(key);
}
inline QString ggufKey(const char* key)
{
    return QLatin1String(key);
}

// ---- token types ----------------------------------------------------------------------------

/// llama.cpp's token types (tokenizer.ggml.token_type; llama_token_type).
enum class GgufTokenType : std::int32_t {
    Undefined = 0,
    Normal = 1,
    Unknown = 2,
    Control = 3,
    UserDefined = 4,
    Unused = 5,
    Byte = 6,
};

} // namespace qs
