// One transformer block of GPT-2, forward and backward, over a range of positions.
//
//     x = x + attn(ln_1(x))
//     x = x + mlp(ln_2(x))
//
// Activations are time-major: a (T, B, C) buffer holds position t of batch row b in
// row t*B + b. The positions [s, e) of every batch row are then the contiguous rows
// [s*B, e*B), so a pass over a range of positions (the latent loop computes one
// position at a time) is one GEMM per weight, whatever the range.
//
// Contract: forward(s, e) needs the activations of positions [0, s) from earlier
// calls (the KV cache is the k and v of those positions) and writes the activations
// of [s, e). backward(s, e) runs after the backward of every later range; it
// accumulates (+=) into the parameter gradients, into dk and dv of positions [0, e)
// (the cached positions' share), and into the residual-stream gradient of [s, e).
//
// A model with rotary positions (kernels/rotary.hpp) passes its table and the
// position ids (T, B); q and k are rotated after the heads are split, so the KV
// cache holds rotated keys. Without a table (GPT-2) positions are in the input.
#pragma once

#include <cstdint>

#include "coconut/kernels.hpp"

namespace coconut::nn {

// Pointers to one block's parameters (or to their gradients: same shapes).
template <class T>
struct BlockParams {
  T* ln_1_weight;      // (C)
  T* ln_1_bias;        // (C)
  T* c_attn_weight;    // (3C, C)
  T* c_attn_bias;      // (3C)
  T* attn_proj_weight; // (C, C)
  T* attn_proj_bias;   // (C)
  T* ln_2_weight;      // (C)
  T* ln_2_bias;        // (C)
  T* c_fc_weight;      // (4C, C)
  T* c_fc_bias;        // (4C)
  T* mlp_proj_weight;  // (C, 4C)
  T* mlp_proj_bias;    // (C)
};

// Pointers to one block's saved activations.
template <class T>
struct BlockActivations {
  T* ln_1;       // (T, B, C)
  T* ln_1_mean;  // (T, B)
  T* ln_1_rstd;  // (T, B)
  T* qkv;        // (T, B, 3C)
  T* q;          // (B, NH, T, hs)
  T* k;          // (B, NH, T, hs)   the KV cache
  T* v;          // (B, NH, T, hs)
  T* att;        // (B, NH, T, T)    attention probabilities
  T* atty;       // (B, NH, T, hs)   attention output per head
  T* attn_y;     // (T, B, C)        heads side by side
  T* attn_proj;  // (T, B, C)
  T* res_attn;   // (T, B, C)        x + attn(ln_1(x))
  T* ln_2;       // (T, B, C)
  T* ln_2_mean;  // (T, B)
  T* ln_2_rstd;  // (T, B)
  T* fc;         // (T, B, 4C)
  T* fc_gelu;    // (T, B, 4C)
  T* mlp_proj;   // (T, B, C)
  T* out;        // (T, B, C)        res_attn + mlp(ln_2(res_attn))
};

// Gradient buffers. dq, dk, dv belong to one block and live for the whole backward
// (later ranges add into earlier positions' dk, dv); the rest is scratch shared by
// all blocks, used only for the rows of the range at hand.
template <class T>
struct BlockGradients {
  T* dq;         // (B, NH, T, hs)
  T* dk;         // (B, NH, T, hs)
  T* dv;         // (B, NH, T, hs)
  T* dqkv;       // (T, B, 3C)
  T* datty;      // (B, NH, T, hs)
  T* dattn_y;    // (T, B, C)
  T* dln;        // (T, B, C)
  T* dfc;        // (T, B, 4C)
  T* dfc_gelu;   // (T, B, 4C)
};

struct BlockShape {
  Index B, T, C, NH;
  kernels::AttentionShape attention() const { return {B, NH, T, C / NH}; }
};

namespace detail {
template <class T>
inline void zero_rows(T* p, Index row_size, Index s, Index e, Index B) {
  std::fill(p + s * B * row_size, p + e * B * row_size, T(0));
}
}  // namespace detail

// in (T, B, C) -> a.out (T, B, C), for positions [s, e).
template <class T>
void block_forward(const BlockParams<T>& p, const BlockActivations<T>& a, const T* in, const std::uint8_t* mask,
                   const BlockShape& d, Index s, Index e, const kernels::RotaryTable<T>* rotary = nullptr,
                   const int* positions = nullptr) {
  using namespace kernels;
  const Index C = d.C, n = (e - s) * d.B, r = s * d.B;  // n rows starting at row r
  const auto ad = d.attention();

  // x + attn(ln_1(x))
  layernorm_forward(a.ln_1 + r * C, a.ln_1_mean + r, a.ln_1_rstd + r, in + r * C, p.ln_1_weight, p.ln_1_bias, n, C);
  matmul_forward(a.qkv + r * 3 * C, a.ln_1 + r * C, p.c_attn_weight, p.c_attn_bias, n, C, 3 * C);
  split_heads(a.q, a.k, a.v, a.qkv, ad, s, e);
  if (rotary) rotary_forward(a.q, a.k, *rotary, positions, ad, s, e);
  attention_forward(a.atty, a.att, a.q, a.k, a.v, mask, ad, s, e);
  merge_heads(a.attn_y, a.atty, ad, s, e);
  matmul_forward(a.attn_proj + r * C, a.attn_y + r * C, p.attn_proj_weight, p.attn_proj_bias, n, C, C);
  residual_forward(a.res_attn + r * C, in + r * C, a.attn_proj + r * C, n * C);

  // x + mlp(ln_2(x))
  layernorm_forward(a.ln_2 + r * C, a.ln_2_mean + r, a.ln_2_rstd + r, a.res_attn + r * C, p.ln_2_weight, p.ln_2_bias,
                    n, C);
  matmul_forward(a.fc + r * 4 * C, a.ln_2 + r * C, p.c_fc_weight, p.c_fc_bias, n, C, 4 * C);
  gelu_forward(a.fc_gelu + r * 4 * C, a.fc + r * 4 * C, n * 4 * C);
  matmul_forward(a.mlp_proj + r * C, a.fc_gelu + r * 4 * C, p.mlp_proj_weight, p.mlp_proj_bias, n, 4 * C, C);
  residual_forward(a.out + r * C, a.res_attn + r * C, a.mlp_proj + r * C, n * C);
}

// dres (T, B, C) holds d(loss)/d(block output) on rows [s, e) and leaves holding
// d(loss)/d(block input) there: the residual stream's gradient passes through and
// each branch adds its share.
template <class T>
void block_backward(const BlockParams<T>& p, const BlockParams<T>& dp, const BlockActivations<T>& a,
                    const BlockGradients<T>& g, T* dres, const T* in, const BlockShape& d, Index s, Index e,
                    const kernels::RotaryTable<T>* rotary = nullptr, const int* positions = nullptr) {
  using namespace kernels;
  const Index C = d.C, n = (e - s) * d.B, r = s * d.B;
  const auto ad = d.attention();

  // mlp branch
  detail::zero_rows(g.dfc_gelu, 4 * C, s, e, d.B);
  matmul_backward(g.dfc_gelu + r * 4 * C, dp.mlp_proj_weight, dp.mlp_proj_bias, dres + r * C, a.fc_gelu + r * 4 * C,
                  p.mlp_proj_weight, n, 4 * C, C);
  detail::zero_rows(g.dfc, 4 * C, s, e, d.B);
  gelu_backward(g.dfc + r * 4 * C, a.fc + r * 4 * C, g.dfc_gelu + r * 4 * C, n * 4 * C);
  detail::zero_rows(g.dln, C, s, e, d.B);
  matmul_backward(g.dln + r * C, dp.c_fc_weight, dp.c_fc_bias, g.dfc + r * 4 * C, a.ln_2 + r * C, p.c_fc_weight, n,
                  C, 4 * C);
  layernorm_backward(dres + r * C, dp.ln_2_weight, dp.ln_2_bias, g.dln + r * C, a.res_attn + r * C, p.ln_2_weight,
                     a.ln_2_mean + r, a.ln_2_rstd + r, n, C);

  // attention branch
  detail::zero_rows(g.dattn_y, C, s, e, d.B);
  matmul_backward(g.dattn_y + r * C, dp.attn_proj_weight, dp.attn_proj_bias, dres + r * C, a.attn_y + r * C,
                  p.attn_proj_weight, n, C, C);
  merge_heads_backward(g.datty, g.dattn_y, ad, s, e);
  attention_backward(g.dq, g.dk, g.dv, g.datty, a.att, a.q, a.k, a.v, ad, s, e);
  // dk, dv of [s, e) are complete now: every query that sees them (in this range
  // or a later one) has been through backward.
  if (rotary) rotary_backward(g.dq, g.dk, *rotary, positions, ad, s, e);
  split_heads_backward(g.dqkv, g.dq, g.dk, g.dv, ad, s, e);
  detail::zero_rows(g.dln, C, s, e, d.B);
  matmul_backward(g.dln + r * C, dp.c_attn_weight, dp.c_attn_bias, g.dqkv + r * 3 * C, a.ln_1 + r * C,
                  p.c_attn_weight, n, C, 3 * C);
  layernorm_backward(dres + r * C, dp.ln_1_weight, dp.ln_1_bias, g.dln + r * C, in + r * C, p.ln_1_weight,
                     a.ln_1_mean + r, a.ln_1_rstd + r, n, C);
}

}  // namespace coconut::nn
