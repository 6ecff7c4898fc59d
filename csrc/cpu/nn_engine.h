// ============================================================================================
// The CPU engine behind the layer kernels of nn_kernels.h, written once against a Vec policy
// (ScalarVec: vec_scalar_policy.h, Avx2Vec: vec_avx2.h) and the per-element math of act_math.h.
//
// Bias + activation walks the tensor as rows: with inner == 1 (Dense) a row is one sample's
// `channels` values and the bias is a vector; with inner > 1 (conv) a row is one channel's
// `inner` positions and the bias a scalar, cut into pieces so that a few rows still feed
// every thread. Bias gradients are summed per thread, then added in thread order.
//
// Included by exactly one translation unit per backend; internal linkage throughout.
// ============================================================================================
#pragma once
#include <math.h>

#include <cstdint>
#include <vector>

#include "cpu/lowering_engine.h"
#include "cpu/nn_kernels.h"
#include "cpu/parallel.h"
#include "cpu/vec_loops.h"
#include "fusednn/act_math.h"


namespace fusednn::cpu {
namespace {

// Elements per piece of a long row; the bias-gradient of a piece is summed in V lanes, then
// in double across pieces.
constexpr int64_t kPiece = 2048;
// Below this many elements one thread does it all.
constexpr int64_t kNnParallelMin = int64_t(1) << 15;

// Item ranges per thread, on every thread once there are enough elements to pay for a team.
template <class Body>
void for_each_item_range(int64_t items, int64_t elements, const Body& body) {
  parallel_ranges(items, elements >= kNnParallelMin ? max_threads() : 1, body);
}

// One run of n elements. The bias is a vector (bias_vec, inner == 1) or one value (b).
template <class Vec, Act A>
void forward_run(const float* z, float* y, float* saved, int64_t n, const float* bias_vec,
                 float b, float slope) {
  using V = typename Vec::V;
  for_each_vector<Vec>(n, [&](int64_t i, int lanes) {
    V v = load_n<Vec>(z + i, lanes) + (bias_vec ? load_n<Vec>(bias_vec + i, lanes) : V(b));
    if constexpr (act_saves_input(A)) {
      if (saved) store_n<Vec>(saved + i, v, lanes);
    }
    store_n<Vec>(y + i, act_forward<A>(v, slope), lanes);
  });
}

// One run of n elements; returns the sum of dz when sum_out is set, adds dz into dbias_vec
// when that is set (inner == 1).
template <class Vec, Act A>
double backward_run(const float* dy, const float* saved, float* dz, int64_t n, float* dbias_vec,
                    bool sum_out, float slope) {
  using V = typename Vec::V;
  V acc = V(0.f);
  for_each_vector<Vec>(n, [&](int64_t i, int lanes) {
    const V s = A == Act::kIdentity ? V(0.f) : load_n<Vec>(saved + i, lanes);
    const V d = act_backward<A>(load_n<Vec>(dy + i, lanes), s, slope);
    store_n<Vec>(dz + i, d, lanes);
    if (dbias_vec) store_n<Vec>(dbias_vec + i, load_n<Vec>(dbias_vec + i, lanes) + d, lanes);
    if (sum_out) acc = acc + (lanes == Vec::kWidth ? d : load_n<Vec>(dz + i, lanes));
  });
  return sum_out ? double(Vec::hsum(acc)) : 0.0;
}

template <class Vec>
void bias_act_forward(const BiasActForwardArgs& a) {
  const ChannelShape s = a.shape;
  with_act(a.act, [&](auto tag) {
    constexpr Act A = decltype(tag)::value;
    if (s.inner == 1) {
      for_each_item_range(s.outer, s.size(), [&](int, int64_t lo, int64_t hi) {
        for (int64_t r = lo; r < hi; ++r) {
          const int64_t o = r * s.channels;
          forward_run<Vec, A>(a.z + o, a.y + o, a.saved_input ? a.saved_input + o : nullptr,
                              s.channels, a.bias, 0.f, a.slope);
        }
      });
      return;
    }
    const int64_t pieces = (s.inner + kPiece - 1) / kPiece, rows = s.outer * s.channels;
    for_each_item_range(rows * pieces, s.size(), [&](int, int64_t lo, int64_t hi) {
      for (int64_t item = lo; item < hi; ++item) {
        const int64_t r = item / pieces, p = item % pieces;
        const int64_t begin = p * kPiece, n = s.inner - begin < kPiece ? s.inner - begin : kPiece;
        const int64_t o = r * s.inner + begin;
        const float b = a.bias ? a.bias[r % s.channels] : 0.f;
        forward_run<Vec, A>(a.z + o, a.y + o, a.saved_input ? a.saved_input + o : nullptr, n,
                            nullptr, b, a.slope);
      }
    });
  });
}

template <class Vec>
void bias_act_backward(const BiasActBackwardArgs& a) {
  const ChannelShape s = a.shape;
  const int threads = max_threads();
  std::vector<double> partial(a.dbias ? size_t(threads) * size_t(s.channels) : 0, 0.0);
  with_act(a.act, [&](auto tag) {
    constexpr Act A = decltype(tag)::value;
    if (s.inner == 1) {
      for_each_item_range(s.outer, s.size(), [&](int t, int64_t lo, int64_t hi) {
        // float lanes across the rows of one thread, then double across threads
        std::vector<float> mine(a.dbias ? size_t(s.channels) : 0, 0.f);
        for (int64_t r = lo; r < hi; ++r) {
          const int64_t o = r * s.channels;
          backward_run<Vec, A>(a.dy + o, a.saved + o, a.dz + o, s.channels,
                               a.dbias ? mine.data() : nullptr, false, a.slope);
        }
        for (size_t c = 0; c < mine.size(); ++c) partial[size_t(t) * s.channels + c] = mine[c];
      });
    } else {
      const int64_t pieces = (s.inner + kPiece - 1) / kPiece, rows = s.outer * s.channels;
      for_each_item_range(rows * pieces, s.size(), [&](int t, int64_t lo, int64_t hi) {
        for (int64_t item = lo; item < hi; ++item) {
          const int64_t r = item / pieces, p = item % pieces;
          const int64_t begin = p * kPiece, n = s.inner - begin < kPiece ? s.inner - begin : kPiece;
          const int64_t o = r * s.inner + begin;
          const double sum = backward_run<Vec, A>(a.dy + o, a.saved + o, a.dz + o, n, nullptr,
                                                  a.dbias != nullptr, a.slope);
          if (a.dbias) partial[size_t(t) * s.channels + size_t(r % s.channels)] += sum;
        }
      });
    }
  });
  if (!a.dbias) return;
  for (int64_t c = 0; c < s.channels; ++c) {
    double sum = 0.0;
    for (int t = 0; t < threads; ++t) sum += partial[size_t(t) * s.channels + c];
    a.dbias[c] = float(sum);
  }
}

// One row. dx is the row's gradient, or scratch when no gradient is asked for: it first holds
// exp(x - max), so the softmax is computed once.
template <class Vec>
void softmax_xent_row(const SoftmaxXentArgs& a, int64_t r, float* dx) {
  using V = typename Vec::V;
  const int64_t C = a.classes;
  const float* x = a.logits + r * C;
  if (a.target_index && a.target_index[r] == a.ignore_index) {
    a.loss[r] = 0.f;
    for (int64_t c = 0; c < C; ++c) dx[c] = 0.f;
    return;
  }
  float m = x[0];
  for (int64_t c = 1; c < C; ++c) m = x[c] > m ? x[c] : m;
  V acc = V(0.f);
  for_each_vector<Vec>(C, [&](int64_t i, int lanes) {
    store_n<Vec>(dx + i, vexp(load_n<Vec>(x + i, lanes) - V(m)), lanes);
    acc = acc + load_n<Vec>(dx + i, lanes);  // a partial load reads the tail's lanes as 0
  });
  const double sum = Vec::hsum(acc);
  const double lse = double(m) + log(sum);
  if (a.target_index) {
    const int64_t t = a.target_index[r];
    const float w = a.weight ? a.weight[t] : 1.f;
    a.loss[r] = float(w * (lse - double(x[t])));
    const V scale = V(float(w / sum * a.grad_scale));
    for_each_vector<Vec>(C, [&](int64_t i, int lanes) {
      store_n<Vec>(dx + i, load_n<Vec>(dx + i, lanes) * scale, lanes);
    });
    dx[t] -= w * a.grad_scale;
    return;
  }
  const float* q = a.target_prob + r * C;
  double loss = 0.0, mass = 0.0;
  for (int64_t c = 0; c < C; ++c) {
    const double wq = double(a.weight ? a.weight[c] : 1.f) * q[c];
    loss += wq * (lse - double(x[c]));
    mass += wq;
  }
  a.loss[r] = float(loss);
  const float scale = float(mass / sum);
  for (int64_t c = 0; c < C; ++c) {
    dx[c] = (dx[c] * scale - (a.weight ? a.weight[c] : 1.f) * q[c]) * a.grad_scale;
  }
}

template <class Vec>
void softmax_xent(const SoftmaxXentArgs& a) {
  for_each_item_range(a.rows, a.rows * a.classes, [&](int, int64_t lo, int64_t hi) {
    std::vector<float> scratch(a.dlogits ? 0 : size_t(a.classes));
    for (int64_t r = lo; r < hi; ++r) {
      softmax_xent_row<Vec>(a, r, a.dlogits ? a.dlogits + r * a.classes : scratch.data());
    }
  });
}

template <class Vec>
constexpr NnKernels make_nn_kernels() {
  return NnKernels{&bias_act_forward<Vec>, &bias_act_backward<Vec>, &softmax_xent<Vec>,
                   &im2col<Vec>,           &col2im<Vec>,
                   &move_chunk<Vec, true>, &move_chunk<Vec, false>};
}

}  // namespace
}  // namespace fusednn::cpu
