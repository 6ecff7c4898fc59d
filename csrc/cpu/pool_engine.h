// ============================================================================================
// The CPU engine behind the pooling kernels of pool_kernels.h, written once against a Vec
// policy (ScalarVec: vec_scalar_policy.h, Avx2Vec: vec_avx2.h). A window row is two
// neighbours, so a row of outputs reads its two input rows as even/odd pairs (load_pairs) and
// the backward writes them back the same way (store_pairs): every input element is read or
// written once. Indices travel as floats inside the vectors (exact below 2^24). The output
// columns past the last full vector are one masked vector (narrow planes are common: 13).
//
// Included by exactly one translation unit per backend; internal linkage throughout.
// ============================================================================================
#pragma once
#include <cstdint>
#include <cstring>
#include <vector>

#include "cpu/parallel.h"
#include "cpu/pool_kernels.h"
#include "cpu/vec_loops.h"
#include "fusednn/act_math.h"

namespace fusednn::cpu {
namespace {

// Below this many output elements one thread does it all.
constexpr int64_t kPoolVecParallelMin = int64_t(1) << 14;

// The running maximum of a window scanned in order (torch's rule: a larger value, or the
// first NaN, takes over).
template <class V>
FUSEDNN_INLINE void take_max(V& best, V& at, V cand, V cand_at) {
  at = vselect_takes_max(cand, best, cand_at, at);
  best = vselect_takes_max(cand, best, cand, best);
}

// body(plane, in_row0, in_row1, out_row offset (oh, ow0 in the plane's outputs), ...) for
// every output row of every plane, the planes spread over the threads.
template <class Body>
void for_each_output_row(const Pool2x2Args& a, const Body& body) {
  const int64_t out_h = a.height / 2, out_w = a.width / 2;
  const int threads = a.planes * out_h * out_w >= kPoolVecParallelMin ? max_threads() : 1;
  parallel_ranges(a.planes, threads, [&](int, int64_t lo, int64_t hi) {
    for (int64_t p = lo; p < hi; ++p) {
      for (int64_t oh = 0; oh < out_h; ++oh) body(p, oh);
    }
  });
}

// n lanes (a full vector, or a masked tail) of the pair, value and index moves.
template <class Vec>
FUSEDNN_INLINE void load_pairs_n(const float* p, int n, typename Vec::V& even,
                                 typename Vec::V& odd) {
  if (n == Vec::kWidth) Vec::load_pairs(p, even, odd);
  else Vec::load_pairs_partial(p, n, even, odd);
}
template <class Vec>
FUSEDNN_INLINE void store_pairs_n(float* p, typename Vec::V even, typename Vec::V odd, int n) {
  if (n == Vec::kWidth) Vec::store_pairs(p, even, odd);
  else Vec::store_pairs_partial(p, even, odd, n);
}
template <class Vec>
FUSEDNN_INLINE typename Vec::V load_index_n(const int32_t* p, int n) {
  return n == Vec::kWidth ? Vec::load_index(p) : Vec::load_index_partial(p, n);
}
template <class Vec>
FUSEDNN_INLINE void store_index_n(int32_t* p, typename Vec::V v, int n) {
  if (n == Vec::kWidth) Vec::store_index(p, v);
  else Vec::store_index_partial(p, v, n);
}

// The flat input index of the top-left tap of output columns ow.. of output row oh.
template <class Vec>
FUSEDNN_INLINE typename Vec::V tap_index(int64_t oh, int64_t ow, int64_t width) {
  using V = typename Vec::V;
  return V(float(2 * oh * width + 2 * ow)) + Vec::iota() * V(2.f);
}

template <class Vec>
void max_pool2x2_forward(const Pool2x2Args& a) {
  using V = typename Vec::V;
  const int64_t W = a.width, in_plane = a.height * W, out_w = W / 2;
  const int64_t out_plane = (a.height / 2) * out_w;
  for_each_output_row(a, [&](int64_t p, int64_t oh) {
    const float* r0 = a.x + p * in_plane + 2 * oh * W;
    const int64_t out = p * out_plane + oh * out_w;
    for_each_vector<Vec>(out_w, [&](int64_t ow, int n) {
      V x00, x01, x10, x11;
      load_pairs_n<Vec>(r0 + 2 * ow, n, x00, x01);
      load_pairs_n<Vec>(r0 + W + 2 * ow, n, x10, x11);
      const V at = tap_index<Vec>(oh, ow, W);
      V best = x00, where = at;
      take_max(best, where, x01, at + V(1.f));
      take_max(best, where, x10, at + V(float(W)));
      take_max(best, where, x11, at + V(float(W + 1)));
      store_n<Vec>(a.y + out + ow, best, n);
      store_index_n<Vec>(a.argmax + out + ow, where, n);
    });
  });
}

// The rows and the column no window covers get a zero gradient.
void zero_uncovered(const Pool2x2Args& a, int64_t p) {
  const int64_t W = a.width, in_plane = a.height * W;
  float* plane = a.dx + p * in_plane;
  if (W % 2) {
    for (int64_t h = 0; h < a.height - a.height % 2; ++h) plane[h * W + W - 1] = 0.f;
  }
  if (a.height % 2) std::memset(plane + (a.height - 1) * W, 0, size_t(W) * sizeof(float));
}

template <class Vec>
void max_pool2x2_backward(const Pool2x2Args& a) {
  using V = typename Vec::V;
  const int64_t W = a.width, in_plane = a.height * W, out_w = W / 2;
  const int64_t out_plane = (a.height / 2) * out_w;
  for_each_output_row(a, [&](int64_t p, int64_t oh) {
    float* r0 = a.dx + p * in_plane + 2 * oh * W;
    const int64_t out = p * out_plane + oh * out_w;
    for_each_vector<Vec>(out_w, [&](int64_t ow, int n) {
      const V d = load_n<Vec>(a.dy + out + ow, n);
      const V where = load_index_n<Vec>(a.saved_argmax + out + ow, n);
      const V at = tap_index<Vec>(oh, ow, W), zero(0.f);
      store_pairs_n<Vec>(r0 + 2 * ow, vselect_eq(where, at, d, zero),
                         vselect_eq(where, at + V(1.f), d, zero), n);
      store_pairs_n<Vec>(r0 + W + 2 * ow, vselect_eq(where, at + V(float(W)), d, zero),
                         vselect_eq(where, at + V(float(W + 1)), d, zero), n);
    });
    if (oh == 0) zero_uncovered(a, p);
  });
}

template <class Vec>
void avg_pool2x2_forward(const Pool2x2Args& a) {
  using V = typename Vec::V;
  const int64_t W = a.width, in_plane = a.height * W, out_w = W / 2;
  const int64_t out_plane = (a.height / 2) * out_w;
  for_each_output_row(a, [&](int64_t p, int64_t oh) {
    const float* r0 = a.x + p * in_plane + 2 * oh * W;
    const int64_t out = p * out_plane + oh * out_w;
    for_each_vector<Vec>(out_w, [&](int64_t ow, int n) {
      V x00, x01, x10, x11;
      load_pairs_n<Vec>(r0 + 2 * ow, n, x00, x01);
      load_pairs_n<Vec>(r0 + W + 2 * ow, n, x10, x11);
      // the taps in pool.cpp's order, then its division by the area (exact: a power of two)
      store_n<Vec>(a.y + out + ow, (((x00 + x01) + x10) + x11) * V(0.25f), n);
    });
  });
}

template <class Vec>
void avg_pool2x2_backward(const Pool2x2Args& a) {
  using V = typename Vec::V;
  const int64_t W = a.width, in_plane = a.height * W, out_w = W / 2;
  const int64_t out_plane = (a.height / 2) * out_w;
  for_each_output_row(a, [&](int64_t p, int64_t oh) {
    float* r0 = a.dx + p * in_plane + 2 * oh * W;
    const int64_t out = p * out_plane + oh * out_w;
    for_each_vector<Vec>(out_w, [&](int64_t ow, int n) {
      const V share = load_n<Vec>(a.dy + out + ow, n) * V(0.25f);
      store_pairs_n<Vec>(r0 + 2 * ow, share, share, n);
      store_pairs_n<Vec>(r0 + W + 2 * ow, share, share, n);
    });
    if (oh == 0) zero_uncovered(a, p);
  });
}

template <class Vec>
void conv_pool_forward(const ConvPoolForwardArgs& a) {
  using V = typename Vec::V;
  const int64_t W = a.width, in_plane = a.height * W, out_w = W / 2;
  const int64_t out_plane = (a.height / 2) * out_w;
  const Pool2x2Args rows{a.planes, a.height, a.width, a.z, a.y, a.argmax, nullptr, nullptr,
                         nullptr};
  with_act(a.act, [&](auto tag) {
    constexpr Act A = decltype(tag)::value;
    for_each_output_row(rows, [&](int64_t p, int64_t oh) {
      const V bias(a.bias ? a.bias[p % a.channels] : 0.f);
      const float* r0 = a.z + p * in_plane + 2 * oh * W;
      const int64_t out = p * out_plane + oh * out_w;
      for_each_vector<Vec>(out_w, [&](int64_t ow, int n) {
        V z00, z01, z10, z11;
        load_pairs_n<Vec>(r0 + 2 * ow, n, z00, z01);
        load_pairs_n<Vec>(r0 + W + 2 * ow, n, z10, z11);
        const V at = tap_index<Vec>(oh, ow, W);
        // bias_act_forward's z + bias and activation, then max_pool2x2_forward's scan
        V pre = z00 + bias, best = act_forward<A>(pre, a.slope), where = at;
        auto tap = [&](V z, V z_at) {
          const V v = z + bias, y = act_forward<A>(v, a.slope);
          where = vselect_takes_max(y, best, z_at, where);
          pre = vselect_takes_max(y, best, v, pre);
          best = vselect_takes_max(y, best, y, best);
        };
        tap(z01, at + V(1.f));
        tap(z10, at + V(float(W)));
        tap(z11, at + V(float(W + 1)));
        store_n<Vec>(a.y + out + ow, best, n);
        store_index_n<Vec>(a.argmax + out + ow, where, n);
        if (act_saves_input(A) && a.saved_input) store_n<Vec>(a.saved_input + out + ow, pre, n);
      });
    });
  });
}

template <class Vec>
void conv_pool_backward(const ConvPoolBackwardArgs& a) {
  using V = typename Vec::V;
  const int64_t W = a.width, in_plane = a.height * W, out_w = W / 2;
  const int64_t out_plane = (a.height / 2) * out_w;
  const Pool2x2Args rows{a.planes, a.height, a.width, nullptr, nullptr, nullptr, a.argmax, a.dy,
                         a.dz};
  // Each plane's gradient sum; a plane's rows all run on one thread.
  std::vector<double> plane_sums(a.dbias ? size_t(a.planes) : 0, 0.0);
  with_act(a.act, [&](auto tag) {
    constexpr Act A = decltype(tag)::value;
    for_each_output_row(rows, [&](int64_t p, int64_t oh) {
      float* r0 = a.dz + p * in_plane + 2 * oh * W;
      const int64_t out = p * out_plane + oh * out_w;
      V sum(0.f);
      for_each_vector<Vec>(out_w, [&](int64_t ow, int n) {
        const V s = A == Act::kIdentity ? V(0.f) : load_n<Vec>(a.saved + out + ow, n);
        // lanes past n read dy = 0 and s = 0: their d is 0 for every activation
        const V d = act_backward<A>(load_n<Vec>(a.dy + out + ow, n), s, a.slope);
        const V where = load_index_n<Vec>(a.argmax + out + ow, n);
        const V at = tap_index<Vec>(oh, ow, W), zero(0.f);
        store_pairs_n<Vec>(r0 + 2 * ow, vselect_eq(where, at, d, zero),
                           vselect_eq(where, at + V(1.f), d, zero), n);
        store_pairs_n<Vec>(r0 + W + 2 * ow, vselect_eq(where, at + V(float(W)), d, zero),
                           vselect_eq(where, at + V(float(W + 1)), d, zero), n);
        sum = sum + d;
      });
      if (a.dbias) plane_sums[size_t(p)] += double(Vec::hsum(sum));
      if (oh == 0) zero_uncovered(rows, p);
    });
  });
  if (!a.dbias) return;
  for (int64_t c = 0; c < a.channels; ++c) {
    double total = 0.0;
    for (int64_t p = c; p < a.planes; p += a.channels) total += plane_sums[size_t(p)];
    a.dbias[c] = float(total);
  }
}

template <class Vec>
constexpr PoolKernels make_pool_kernels() {
  return PoolKernels{&max_pool2x2_forward<Vec>, &max_pool2x2_backward<Vec>,
                     &avg_pool2x2_forward<Vec>, &avg_pool2x2_backward<Vec>,
                     &conv_pool_forward<Vec>,   &conv_pool_backward<Vec>};
}

}  // namespace
}  // namespace fusednn::cpu
