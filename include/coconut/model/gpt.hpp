// GPT-2: token and position embeddings, n_layer blocks, a final LayerNorm and an
// LM head tied to the token embedding; forward and backward by hand, exact. A
// config may trade the position table for rotary positions (model/config.hpp).
//
// What sets this model apart from a textbook GPT-2 is that it computes any range
// of positions [s, e) against the keys and values of [0, s) computed before (a KV
// cache), and runs backward range by range in reverse. Computing [0, T) in one
// range is ordinary training; the latent loop of Coconut (thought/) computes
// [0, r), then one position per continuous thought, then the rest, feeding the
// final hidden state of each position back as the input embedding of the next.
// For that, the model also returns the final hidden state of every position
// (the ln_f output, what goes into the LM head) and accepts an input embedding in
// place of a token for chosen positions.
//
// One step, as the policies in thought/ drive it:
//
//     model.set_batch(batch);         // tokens, positions, mask, targets (B, T)
//     model.forward(0, T);            // or several ranges, in order
//     T loss = model.loss();          // mean cross-entropy over the counted targets
//     model.zero_grad();              // parameter gradients (or keep, to accumulate)
//     model.start_backward();         // d(loss)/d(logits); clears activation gradients
//     model.backward(0, T);           // or the same ranges, in reverse order
//
// Shapes: B batch rows, T positions, C = n_embd, NH heads, hs = C/NH, L layers,
// V vocabulary, Vp padded vocabulary. Activations are time-major, (T, B, ...):
// see nn/block.hpp for why.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "coconut/model/config.hpp"
#include "coconut/nn/block.hpp"
#include "coconut/tensor/arena.hpp"
#include "coconut/tensor/random.hpp"

namespace coconut {

// The inputs of one batch, (B, T) row-major: row b is a sequence as a user writes it.
struct Batch {
  Index B = 0, T = 0;
  std::vector<int> tokens;           // (B, T)
  std::vector<int> positions;        // (B, T) position ids (restart at 0 after left padding)
  std::vector<std::uint8_t> mask;    // (B, T) 1 real token, 0 padding
  std::vector<int> targets;          // (B, T) next-token target of each position, or -100

  Batch() = default;
  Batch(Index B_, Index T_)
      : B(B_), T(T_), tokens(B_ * T_, 0), positions(B_ * T_, 0), mask(B_ * T_, 1), targets(B_ * T_, -100) {
    for (Index b = 0; b < B; ++b)
      for (Index t = 0; t < T; ++t) positions[b * T + t] = int(t);
  }
  Index at(Index b, Index t) const { return b * T + t; }
};

// The names and shapes of a GPT's parameters, in the Hugging Face GPT-2 naming
// (linear weights in nn.Linear's (out, in) layout).
template <class Config>
Layout gpt_parameter_layout(std::size_t element_size) {
  constexpr Index C = Config::n_embd;
  Layout l(element_size);
  l.add("wte", {Config::padded_vocab_size, C});  // (Vp, C), also the LM head
  if constexpr (position_encoding<Config>() == PositionEncoding::learned)
    l.add("wpe", {Config::block_size, C});  // (maxT, C); a rotary model has no table
  if constexpr (previous_tokens<Config>() > 0)
    l.add("previous_tokens", {previous_tokens<Config>(), C});  // (K, C): row k-1 weighs x[t-k]
  for (int i = 0; i < Config::n_layer; ++i) {
    const std::string h = "h." + std::to_string(i) + ".";
    l.add(h + "ln_1.weight", {C});
    l.add(h + "ln_1.bias", {C});
    l.add(h + "attn.c_attn.weight", {3 * C, C});
    l.add(h + "attn.c_attn.bias", {3 * C});
    l.add(h + "attn.c_proj.weight", {C, C});
    l.add(h + "attn.c_proj.bias", {C});
    l.add(h + "ln_2.weight", {C});
    l.add(h + "ln_2.bias", {C});
    l.add(h + "mlp.c_fc.weight", {4 * C, C});
    l.add(h + "mlp.c_fc.bias", {4 * C});
    l.add(h + "mlp.c_proj.weight", {C, 4 * C});
    l.add(h + "mlp.c_proj.bias", {C});
  }
  l.add("ln_f.weight", {C});
  l.add("ln_f.bias", {C});
  return l;
}

// How GPT::init sets the position embeddings (wpe).
//   normal:     N(0, 0.02), as GPT-2 (and every other weight).
//   sinusoidal: Vaswani et al.'s sines and cosines: for each pair of columns k,
//               wpe[p][2k] = a sin(p w_k) and wpe[p][2k+1] = a cos(p w_k) with
//               w_k = 10000^(-2k/C), and a = 0.02 sqrt(2), so that a row's norm is
//               a normal row's, 0.02 sqrt(C). (With an odd C the last column keeps
//               its normal value.) The dot product of rows p and p + d is then a
//               function of d alone, the same at every position: attention to
//               "d tokens back" need not be learned position by position, as it
//               must be from a random table when a model is trained from scratch.
enum class PositionInit { normal, sinusoidal };

template <class Config, class T = float>
class GPT {
  static_assert(check_config<Config>());

 public:
  using config = Config;
  using scalar = T;
  static constexpr Index L = Config::n_layer, NH = Config::n_head, C = Config::n_embd;
  static constexpr Index V = Config::vocab_size, Vp = Config::padded_vocab_size, maxT = Config::block_size;
  static constexpr bool rotary = position_encoding<Config>() == PositionEncoding::rotary;
  static constexpr Index K = previous_tokens<Config>();  // input embeddings mixed into each position's

  GPT() : params_(gpt_parameter_layout<Config>(sizeof(T))), grads_(params_.layout()) {
    if constexpr (rotary) rotary_table_.emplace(maxT, C / NH);
  }

  // ---- parameters ---------------------------------------------------------------

  Arena<T>& params() { return params_; }
  const Arena<T>& params() const { return params_; }
  Arena<T>& grads() { return grads_; }
  const Arena<T>& grads() const { return grads_; }

  // GPT-2's initialisation: weights N(0, 0.02), the two residual projections of
  // each block N(0, 0.02/sqrt(2L)), biases 0, LayerNorm weights 1. The padding
  // rows of wte stay 0. Every other parameter is the same for both `positions`
  // (a rotary model has no table to set: it takes `normal` only).
  void init(std::uint64_t seed, PositionInit positions = PositionInit::normal) {
    if (rotary && positions != PositionInit::normal)
      throw std::invalid_argument("GPT::init: model '" + std::string(Config::name) +
                                  "' has rotary positions and no position table to initialise sinusoidally");
    Rng rng(seed);
    const double residual_std = 0.02 / std::sqrt(2.0 * L);
    for (const auto& e : params_.layout().entries()) {
      T* p = params_.data() + e.offset;
      const bool is_ln = e.name.find("ln_") != std::string::npos;
      const bool is_bias = e.name.ends_with(".bias");
      if (is_ln && !is_bias) {
        std::fill(p, p + e.size, T(1));
      } else if (is_bias) {
        std::fill(p, p + e.size, T(0));
      } else {
        if (e.name == "previous_tokens") {  // start as GPT-2: no mixing
          std::fill(p, p + e.size, T(0));
          continue;
        }
        const bool residual = e.name.ends_with("c_proj.weight");
        const double std = residual ? residual_std : 0.02;
        const Index n = e.name == "wte" ? V * C : e.size;
        for (Index i = 0; i < n; ++i) p[i] = T(std * rng.normal());
      }
    }
    if (!rotary && positions == PositionInit::sinusoidal) {
      T* wpe = params_.ptr("wpe");
      const double a = 0.02 * std::sqrt(2.0);
      for (Index pos = 0; pos < maxT; ++pos)
        for (Index k = 0; 2 * k + 1 < C; ++k) {
          const double angle = double(pos) * std::pow(10000.0, -double(2 * k) / double(C));
          wpe[pos * C + 2 * k] = T(a * std::sin(angle));
          wpe[pos * C + 2 * k + 1] = T(a * std::cos(angle));
        }
    }
  }

  void zero_grad() { grads_.zero(); }

  // ---- a batch --------------------------------------------------------------------

  // Takes the batch's inputs. Activation buffers are allocated for B rows and a
  // capacity of positions (rounded up to 32); a batch with the same B that fits
  // reuses them across passes and steps (batches of one data set differ in length
  // by a few tokens), anything else allocates anew.
  void set_batch(const Batch& batch) {
    check_batch(batch);
    if (batch.B != B_ || batch.T > capacity_)
      allocate(batch.B, std::min<Index>(maxT, (batch.T + 31) / 32 * 32));
    T_ = batch.T;
    for (Index b = 0; b < B_; ++b)
      for (Index t = 0; t < T_; ++t) {
        tokens_[t * B_ + b] = batch.tokens[batch.at(b, t)];
        positions_[t * B_ + b] = batch.positions[batch.at(b, t)];
        targets_[t * B_ + b] = batch.targets[batch.at(b, t)];
        mask_[b * capacity_ + t] = batch.mask[batch.at(b, t)];  // (B, capacity): the attention kernel's layout
      }
    std::fill(overridden_.begin(), overridden_.end(), 0);
  }

  Index batch_size() const { return B_; }
  Index seq_len() const { return T_; }
  int token(Index b, Index t) const { return tokens_[t * B_ + b]; }

  // Set the token of (b, t) after set_batch (generation writes what it decodes).
  void set_token(Index b, Index t, int token) {
    if (token < 0 || token >= V)
      throw std::out_of_range("GPT::set_token: token " + std::to_string(token) + " outside the vocabulary [0, " +
                              std::to_string(V) + ")");
    tokens_[t * B_ + b] = token;
    overridden_[t * B_ + b] = 0;
  }

  // Replace the token embedding of position (b, t) by `embedding` (C values) for
  // the following forward passes; the position embedding is still added (or, in a
  // rotary model, the position still turns the queries and keys).
  void set_input_embedding(Index b, Index t, const T* embedding) {
    std::copy(embedding, embedding + C, row(embed_, b, t));
    overridden_[t * B_ + b] = 1;
  }
  bool has_input_embedding(Index b, Index t) const { return overridden_[t * B_ + b]; }

  // ---- forward ----------------------------------------------------------------------

  // Computes positions [s, e) of every row, given positions [0, s) computed before.
  void forward(Index s, Index e) {
    check_range(s, e);
    const Index n = (e - s) * B_, r = s * B_;
    // Embeddings: the token's row of wte (or the given embedding) plus wpe[position]
    // (a rotary model adds nothing here: positions turn each block's q and k).
    const T* wte = params_.ptr("wte");
    const T* wpe = rotary ? nullptr : params_.ptr("wpe");
    for (Index i = r; i < r + n; ++i) {
      T* x = embed_ + i * C;
      if (!overridden_[i]) std::copy(wte + tokens_[i] * C, wte + (tokens_[i] + 1) * C, x);
      if (wpe)
        kernels::residual_forward(encoded_ + i * C, x, wpe + positions_[i] * C, C);
      else
        std::copy(x, x + C, encoded_ + i * C);
    }
    if constexpr (K > 0) {  // + w_k * x[t-k], for the real positions t-k of the same row
      const T* w = params_.ptr("previous_tokens");
      const auto fma = [](auto acc, auto a, auto b) { return acc + a * b; };
      for (Index t = s; t < e; ++t)
        for (Index b = 0; b < B_; ++b)
          for (Index k = 1; k <= K && k <= t; ++k)
            if (real(b, t - k)) {
              T* out = row(encoded_, b, t);
              simd::transform(out, C, fma, out, w + (k - 1) * C, row(embed_, b, t - k));
            }
    }
    const nn::BlockShape d{B_, capacity_, C, NH};  // attention buffers are laid out for the capacity
    const T* in = encoded_;
    for (Index l = 0; l < L; ++l) {
      nn::block_forward(layer_params(params_, l), blocks_[l], in, mask_.data(), d, s, e, rotary_table(),
                        positions_.data());
      in = blocks_[l].out;
    }
    kernels::layernorm_forward(hidden_ + r * C, lnf_mean_ + r, lnf_rstd_ + r, in + r * C, params_.ptr("ln_f.weight"),
                               params_.ptr("ln_f.bias"), n, C);
    kernels::matmul_forward(logits_ + r * Vp, hidden_ + r * C, wte, static_cast<const T*>(nullptr), n, C, Vp);
  }

  // The final hidden state (ln_f output, C values) and the logits (Vp values) of (b, t).
  const T* hidden(Index b, Index t) const { return row(hidden_, b, t); }
  // Attention probabilities of head h of block l, query (b, t), after a forward
  // that computed t: t + 1 values, over key positions 0..t (padding keys get 0).
  std::span<const T> attention(Index l, Index b, Index h, Index t) const {
    if (l < 0 || l >= L || h < 0 || h >= NH || b < 0 || b >= B_ || t < 0 || t >= T_)
      throw std::out_of_range("GPT::attention: (layer " + std::to_string(l) + ", b " + std::to_string(b) + ", head " +
                              std::to_string(h) + ", t " + std::to_string(t) + ") outside (" + std::to_string(L) +
                              ", " + std::to_string(B_) + ", " + std::to_string(NH) + ", " + std::to_string(T_) + ")");
    const kernels::AttentionShape d{B_, NH, capacity_, C / NH};
    return {blocks_[std::size_t(l)].att + d.att_offset(b, h) + t * capacity_, std::size_t(t + 1)};
  }
  const T* logits(Index b, Index t) const { return logits_ + (t * B_ + b) * Vp; }

  // Mean cross-entropy over all positions whose target is not -100 (the whole batch).
  T loss() {
    const Index N = T_ * B_;
    counted_ = kernels::crossentropy_forward(losses_, lse_, logits_, targets_.data(), N, V, Vp);
    T sum = 0;
    for (Index i = 0; i < N; ++i) sum += losses_[i];
    return counted_ ? sum / T(counted_) : T(0);
  }
  Index counted_targets() const { return counted_; }

  // ---- backward ---------------------------------------------------------------------

  // d(loss)/d(logits) for every position, and a clean slate for the activation
  // gradients. Call after loss(), before the first backward().
  void start_backward() {
    if (!grad_acts_bound_) allocate_gradients();  // generation never gets here
    grad_acts_.zero();
    const T scale = counted_ ? T(1) / T(counted_) : T(0);
    kernels::crossentropy_backward(dlogits_, logits_, lse_, targets_.data(), scale, T_ * B_, V, Vp);
  }

  // Gradient of the loss with respect to the hidden state of (b, t). backward()
  // adds the LM head's share; a caller that used this hidden state elsewhere
  // (as the next input embedding) adds that share before backward reaches (b, t).
  T* d_hidden(Index b, Index t) {
    require_backward("d_hidden");
    return row(dhidden_, b, t);
  }
  // Gradient with respect to the input embedding of (b, t), valid after the backward
  // of the range holding (b, t).
  const T* d_input_embedding(Index b, Index t) const {
    require_backward("d_input_embedding");
    return row(dembed_, b, t);
  }

  // Backward over positions [s, e). Ranges go in the reverse order of forward.
  // Accumulates into the parameter gradients. `block_done(l)`, if given, is called
  // as soon as block l's parameter gradients of this range are added: in the last
  // range's backward they are final, and data-parallel training starts summing
  // them across processes while the blocks below are still computing.
  void backward(Index s, Index e, const std::function<void(Index)>& block_done = {}) {
    check_range(s, e);
    require_backward("backward");
    const Index n = (e - s) * B_, r = s * B_;
    const T* wte = params_.ptr("wte");
    T* dwte = grads_.ptr("wte");

    kernels::matmul_backward(dhidden_ + r * C, dwte, static_cast<T*>(nullptr), dlogits_ + r * Vp, hidden_ + r * C, wte,
                             n, C, Vp);
    const T* last = blocks_[L - 1].out;
    std::fill(dres_ + r * C, dres_ + (r + n) * C, T(0));
    kernels::layernorm_backward(dres_ + r * C, grads_.ptr("ln_f.weight"), grads_.ptr("ln_f.bias"), dhidden_ + r * C,
                                last + r * C, params_.ptr("ln_f.weight"), lnf_mean_ + r, lnf_rstd_ + r, n, C);
    const nn::BlockShape d{B_, capacity_, C, NH};  // attention buffers are laid out for the capacity
    for (Index l = L - 1; l >= 0; --l) {
      const T* in = l ? blocks_[l - 1].out : encoded_;
      nn::block_backward(layer_params(params_, l), layer_params(grads_, l), blocks_[l], block_grads_[l], dres_, in, d,
                         s, e, rotary_table(), positions_.data());
      if (block_done) block_done(l);
    }
    // Embeddings: the residual stream's gradient is the input embedding's (and wpe's).
    T* dwpe = rotary ? nullptr : grads_.ptr("wpe");
    for (Index i = r; i < r + n; ++i) {
      const T* g = dres_ + i * C;
      std::copy(g, g + C, dembed_ + i * C);
      if (dwpe) kernels::accumulate(dwpe + positions_[i] * C, g, C);
    }
    if constexpr (K > 0) {
      // x[t] also went into t+1..t+K, whose input gradients are final: those in
      // this range were just computed, later ranges' ran before.
      const T* w = params_.ptr("previous_tokens");
      T* dw = grads_.ptr("previous_tokens");
      const auto fma = [](auto acc, auto a, auto b) { return acc + a * b; };
      for (Index t = s; t < e; ++t)
        for (Index b = 0; b < B_; ++b) {
          if (!real(b, t)) continue;
          T* dx = row(dembed_, b, t);
          const T* x = row(embed_, b, t);
          for (Index k = 1; k <= K && t + k < T_; ++k) {
            const T* g = row(dres_, b, t + k);
            simd::transform(dx, C, fma, dx, w + (k - 1) * C, g);               // d x[t]
            simd::transform(dw + (k - 1) * C, C, fma, dw + (k - 1) * C, x, g);  // d w_k
          }
        }
    }
    for (Index i = r; i < r + n; ++i)
      if (!overridden_[i]) kernels::accumulate(dwte + tokens_[i] * C, dembed_ + i * C, C);
  }

 private:
  static nn::BlockParams<T> layer_params(Arena<T>& a, Index l) {
    const std::string h = "h." + std::to_string(l) + ".";
    return {a.ptr(h + "ln_1.weight"),       a.ptr(h + "ln_1.bias"),     a.ptr(h + "attn.c_attn.weight"),
            a.ptr(h + "attn.c_attn.bias"),  a.ptr(h + "attn.c_proj.weight"), a.ptr(h + "attn.c_proj.bias"),
            a.ptr(h + "ln_2.weight"),       a.ptr(h + "ln_2.bias"),     a.ptr(h + "mlp.c_fc.weight"),
            a.ptr(h + "mlp.c_fc.bias"),     a.ptr(h + "mlp.c_proj.weight"), a.ptr(h + "mlp.c_proj.bias")};
  }

  T* row(T* base, Index b, Index t) const { return base + (t * B_ + b) * C; }
  bool real(Index b, Index t) const { return mask_[b * capacity_ + t] != 0; }
  const kernels::RotaryTable<T>* rotary_table() const { return rotary_table_ ? &*rotary_table_ : nullptr; }

  void check_batch(const Batch& batch) const {
    const auto fail = [](const std::string& what) { throw std::invalid_argument("GPT::set_batch: " + what); };
    if (batch.B < 1 || batch.T < 1) fail("empty batch (B=" + std::to_string(batch.B) + ", T=" + std::to_string(batch.T) + ")");
    if (batch.T > maxT)
      fail("sequence length " + std::to_string(batch.T) + " exceeds the model's block_size " + std::to_string(maxT));
    const std::size_t n = batch.B * batch.T;
    if (batch.tokens.size() != n || batch.positions.size() != n || batch.mask.size() != n || batch.targets.size() != n)
      fail("tokens, positions, mask and targets must each hold B*T = " + std::to_string(n) + " values");
    for (Index b = 0; b < batch.B; ++b)
      for (Index t = 0; t < batch.T; ++t) {
        const Index i = batch.at(b, t);
        const std::string where = " at (b=" + std::to_string(b) + ", t=" + std::to_string(t) + ")";
        if (batch.tokens[i] < 0 || batch.tokens[i] >= V)
          fail("token " + std::to_string(batch.tokens[i]) + where + " outside the vocabulary [0, " + std::to_string(V) + ")");
        if (batch.positions[i] < 0 || batch.positions[i] >= maxT)
          fail("position id " + std::to_string(batch.positions[i]) + where + " outside [0, " + std::to_string(maxT) + ")");
        if (batch.targets[i] != kernels::kIgnoreIndex && (batch.targets[i] < 0 || batch.targets[i] >= V))
          fail("target " + std::to_string(batch.targets[i]) + where + " is neither -100 nor in the vocabulary");
      }
  }

  void require_backward(const char* what) const {
    if (!grad_acts_bound_) throw std::logic_error(std::string("GPT::") + what + ": call start_backward() first");
  }

  void check_range(Index s, Index e) const {
    if (s < 0 || e > T_ || s >= e)
      throw std::out_of_range("GPT: position range [" + std::to_string(s) + ", " + std::to_string(e) +
                              ") is empty or outside [0, " + std::to_string(T_) + ")");
  }

  // Activation and activation-gradient arenas for batches of B rows and at most
  // T_len positions. Time-major (T, B, ...) buffers do not depend on T_len but for
  // their size; the per-head ones (B, NH, T, ...) and the mask use T_len as stride.
  void allocate(Index B, Index T_len) {
    B_ = B;
    capacity_ = T_len;
    const Index hs = C / NH, N = T_len * B;
    Layout acts(sizeof(T));
    acts.add("embed", {T_len, B, C}).add("encoded", {T_len, B, C});
    for (Index l = 0; l < L; ++l) {
      const std::string h = "h." + std::to_string(l) + ".";
      acts.add(h + "ln_1", {T_len, B, C}).add(h + "ln_1.mean", {T_len, B}).add(h + "ln_1.rstd", {T_len, B});
      acts.add(h + "qkv", {T_len, B, 3 * C});
      acts.add(h + "q", {B, NH, T_len, hs}).add(h + "k", {B, NH, T_len, hs}).add(h + "v", {B, NH, T_len, hs});
      acts.add(h + "att", {B, NH, T_len, T_len}).add(h + "atty", {B, NH, T_len, hs});
      acts.add(h + "attn_y", {T_len, B, C}).add(h + "attn_proj", {T_len, B, C}).add(h + "res_attn", {T_len, B, C});
      acts.add(h + "ln_2", {T_len, B, C}).add(h + "ln_2.mean", {T_len, B}).add(h + "ln_2.rstd", {T_len, B});
      acts.add(h + "fc", {T_len, B, 4 * C}).add(h + "fc_gelu", {T_len, B, 4 * C});
      acts.add(h + "mlp_proj", {T_len, B, C}).add(h + "out", {T_len, B, C});
    }
    acts.add("ln_f", {T_len, B, C}).add("ln_f.mean", {T_len, B}).add("ln_f.rstd", {T_len, B});
    acts.add("logits", {T_len, B, Vp}).add("losses", {T_len, B}).add("lse", {T_len, B});
    acts_.reset(std::move(acts));

    grad_acts_bound_ = false;  // activation gradients: at the first backward of this shape
    grad_acts_.reset(Layout(sizeof(T)));

    blocks_.clear();
    block_grads_.clear();
    for (Index l = 0; l < L; ++l) {
      const std::string h = "h." + std::to_string(l) + ".";
      auto a = [&](const char* name) { return acts_.ptr(h + name); };
      blocks_.push_back({a("ln_1"), a("ln_1.mean"), a("ln_1.rstd"), a("qkv"), a("q"), a("k"), a("v"), a("att"),
                         a("atty"), a("attn_y"), a("attn_proj"), a("res_attn"), a("ln_2"), a("ln_2.mean"),
                         a("ln_2.rstd"), a("fc"), a("fc_gelu"), a("mlp_proj"), a("out")});
    }
    embed_ = acts_.ptr("embed");
    encoded_ = acts_.ptr("encoded");
    hidden_ = acts_.ptr("ln_f");
    lnf_mean_ = acts_.ptr("ln_f.mean");
    lnf_rstd_ = acts_.ptr("ln_f.rstd");
    logits_ = acts_.ptr("logits");
    losses_ = acts_.ptr("losses");
    lse_ = acts_.ptr("lse");
    tokens_.assign(N, 0);
    positions_.assign(N, 0);
    targets_.assign(N, kernels::kIgnoreIndex);
    overridden_.assign(N, 0);
    mask_.assign(N, 1);
  }

  // The activation gradients of the current shape, allocated by the first
  // backward: inference (generation, evaluation) never needs them.
  void allocate_gradients() {
    const Index B = B_, T_len = capacity_, hs = C / NH;
    Layout grads(sizeof(T));
    grads.add("dembed", {T_len, B, C}).add("dres", {T_len, B, C}).add("dhidden", {T_len, B, C});
    grads.add("dlogits", {T_len, B, Vp});
    for (Index l = 0; l < L; ++l) {
      const std::string h = "h." + std::to_string(l) + ".";
      grads.add(h + "dq", {B, NH, T_len, hs}).add(h + "dk", {B, NH, T_len, hs}).add(h + "dv", {B, NH, T_len, hs});
    }
    grads.add("dqkv", {T_len, B, 3 * C}).add("datty", {B, NH, T_len, hs}).add("dattn_y", {T_len, B, C});
    grads.add("dln", {T_len, B, C}).add("dfc", {T_len, B, 4 * C}).add("dfc_gelu", {T_len, B, 4 * C});
    grad_acts_.reset(std::move(grads));

    block_grads_.clear();
    for (Index l = 0; l < L; ++l) {
      const std::string h = "h." + std::to_string(l) + ".";
      auto g = [&](const std::string& name) { return grad_acts_.ptr(name); };
      block_grads_.push_back({g(h + "dq"), g(h + "dk"), g(h + "dv"), g("dqkv"), g("datty"), g("dattn_y"), g("dln"),
                              g("dfc"), g("dfc_gelu")});
    }
    dembed_ = grad_acts_.ptr("dembed");
    dres_ = grad_acts_.ptr("dres");
    dhidden_ = grad_acts_.ptr("dhidden");
    dlogits_ = grad_acts_.ptr("dlogits");
    grad_acts_bound_ = true;
  }

  Arena<T> params_, grads_;
  Arena<T> acts_, grad_acts_;
  Index B_ = 0, T_ = 0, capacity_ = 0, counted_ = 0;
  bool grad_acts_bound_ = false;  // rows, positions of this batch, positions allocated
  std::vector<int> tokens_, positions_, targets_;  // (T, B)
  std::vector<std::uint8_t> overridden_;           // (T, B) 1 where set_input_embedding was called
  std::vector<std::uint8_t> mask_;                 // (B, T)
  std::vector<nn::BlockActivations<T>> blocks_;
  std::vector<nn::BlockGradients<T>> block_grads_;
  std::optional<kernels::RotaryTable<T>> rotary_table_;  // the angles of a rotary model
  T *embed_ = nullptr, *encoded_ = nullptr, *hidden_ = nullptr, *lnf_mean_ = nullptr, *lnf_rstd_ = nullptr;
  T *logits_ = nullptr, *losses_ = nullptr, *lse_ = nullptr;
  T *dembed_ = nullptr, *dres_ = nullptr, *dhidden_ = nullptr, *dlogits_ = nullptr;
};

}  // namespace coconut
