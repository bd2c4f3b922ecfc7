#pragma once

namespace qs {

class GgufWriter;
class Model;

/// Sets the tokenizer.ggml.* metadata exportGguf writes for `model` (as convert_hf_to_gguf.py
/// does: tokenizer.model as "llama" with scores, a byte-level BPE tokenizer.json as "gpt2" with
/// merges, special ids and add_bos/eos flags; a GGUF model's own tokenizer keys as they are).
/// Throws qs::Error naming the tokenizer file when it cannot be described.
void ggufWriteTokenizer(GgufWriter& writer, const Model& model);

} // namespace qs
