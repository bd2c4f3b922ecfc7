#pragma once

#include <cstdint>

namespace qs::e8 {

/// QuIP#'s lattice codebooks over vectors of 8 weights (Tseng et al. 2024, "QuIP#: Even Better LLM
/// Quantization with Hadamard Incoherence and Lattice Codebooks", section 4).
///
/// E8P ("E8 padded", 2 bits a weight, 16-bit codes): points of D̂8 ± ¼, where D̂8 is the set of
/// half-integer vectors ((Z + ½)^8) with an even coordinate sum. A point is an absolute-value pattern a
/// from a table of 256 (the 227 patterns of D̂8 with ‖a‖² ≤ 10 and 29 of ‖a‖² = 12), a sign per
/// coordinate — 7 stored, the 8th fixed by the even sum (each flip changes the sum by an odd 2·a_i) — and
/// a shift of +¼ or −¼ on every coordinate. Both shifts lie in E8 + ¼ (D̂8 − ½ ⊂ D8). Code layout: bits
/// 0–7 the pattern, 8–14 the signs of coordinates 0–6 (1 = negative), bit 15 the shift (1 = −¼).
///
/// E8 shell (1 bit a weight, 8-bit codes), the second stage of 3-bit residual quantization: the origin,
/// the 240 minimal vectors of E8 (norm² 2) and 15 of the next shell (±2 on one coordinate, without −2 on
/// the last), in a fixed order.
inline constexpr int kDim = 8;
inline constexpr int kPatterns = 256;
inline constexpr int kShellPoints = 256;

/// The point of E8P code `code` into out[8].
void decodeE8P(std::uint16_t code, float* out);
/// The E8P point nearest to v[8] (Euclidean; ties to the lower shift, then the lower pattern); its code,
/// and the point into `point` when not null. Exact: for each shift and pattern, the signs follow v and
/// a wrong parity flips the coordinate that costs least.
std::uint16_t encodeE8P(const float* v, float* point = nullptr);

/// The shell point of code `code` into out[8].
void decodeShell(std::uint8_t code, float* out);
/// The shell point nearest to v[8] (ties to the lower code), and the point into `point` when not null.
std::uint8_t encodeShell(const float* v, float* point = nullptr);

/// The absolute-value pattern `index` of E8P's table (8 values, each ½, 3⁄2 or 5⁄2).
const float* e8pPattern(int index);

/// QuIP#'s codes as QuantScope stores them, `bits` (2–4) bits a weight, one chunk per weight of a vector
/// of 8: the low 2 bits of the 8 chunks form the first stage's 16-bit E8P code (chunk i holds bits 2i and
/// 2i + 1), the high bits the second stage's code of the residual: at 3 bits an 8-bit shell code (one bit a
/// chunk), at 4 bits a second E8P code. A row's values are divided by its scale before encoding:
/// kScaleOverRms[bits] times the row's root mean square, the scale that gives the least mean squared error
/// on Gaussian values (the distribution incoherence processing makes), and the residual stage works at
/// kResidualScale[bits] of it. Both were found by a grid search on 20000 Gaussian vectors (mean squared
/// error per value at the optimum: 0.0922 at 2 bits, 0.0292 at 3 and 0.0082 at 4, below the best scalar
/// quantizers' 0.1175, 0.0345 and 0.0095). A row that does not split into whole vectors ends in a piece of
/// 1–7 values rounded one by one to a symmetric uniform grid of 2^bits levels (the best step for Gaussian
/// values).
inline constexpr float kScaleOverRms[5] = {0, 0, 0.96f, 1.00f, 1.12f};
inline constexpr float kResidualScale[5] = {0, 0, 0, 0.50f, 0.26f};
/// The chunks of v[len] (len 1–8, already divided by the row's scale) into codes[len], and the decoded
/// values (also divided by the scale) into point[len].
void encodeQuip(int bits, const float* v, int len, std::uint8_t* codes, float* point);
/// The values (divided by the row's scale) of the chunks codes[len].
void decodeQuip(int bits, const std::uint8_t* codes, int len, float* point);

/// dotQuipRow at 2 bits from the vectors' 16-bit E8P codes (PackedInt's vectorWords2), `vectors` of them:
/// acc[t] += Σ_v point(codes[v]) · x[t·ldx + 8v …]. `portable` as dotQuipRow's.
void dotE8PWords(const std::uint16_t* codes, std::int64_t vectors, const float* x, std::int64_t n,
                 std::int64_t ldx, float* acc, bool portable = false);

/// A row of `cols` chunks decoded and multiplied by `scale` into out[cols]: decodeQuip vector by vector, the
/// same values (the residual stage added after its product, not fused), with AVX2 a vector at a time.
void decodeQuipRow(int bits, const std::uint8_t* codes, std::int64_t cols, float scale, float* out);

/// The most inputs dotQuipRow takes at once (a decode step's tokens; more go through decoded tiles).
inline constexpr std::int64_t kMaxDotTokens = 8;
/// The row of `cols` chunks `codes` times n ≤ kMaxDotTokens inputs: acc[t] += Σ_j point_j · x[t·ldx + j]
/// (points divided by the row's scale, as decodeQuip gives them). Each vector's point is built in
/// registers from the pattern, sign and shell tables and never stored: the decode path of the layer.
/// `portable` takes the path without SIMD intrinsics that other CPUs run (for tests).
void dotQuipRow(int bits, const std::uint8_t* codes, std::int64_t cols, const float* x, std::int64_t n,
                std::int64_t ldx, float* acc, bool portable = false);

} // namespace qs::e8
