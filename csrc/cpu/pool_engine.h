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

// The four taps of n windows side by side: top-left, top-right, bottom-left, bottom-right.
template <class V>
struct Taps {
  V t00, t01, t10, t11;
};

// The taps of the windows whose top-left input is p, in rows `width` apart.
template <class Vec>
FUSEDNN_INLINE Taps<typename Vec::V> load_taps(const float* p, int64_t width, int n) {
  Taps<typename Vec::V> t;
  load_pairs_n<Vec>(p, n, t.t00, t.t01);
  load_pairs_n<Vec>(p + width, n, t.t10, t.t11);
  return t;
}
template <class Vec>
FUSEDNN_INLINE void store_taps(float* p, int64_t width, const Taps<typename Vec::V>& t, int n) {
  store_pairs_n<Vec>(p, t.t00, t.t01, n);
  store_pairs_n<Vec>(p + width, t.t10, t.t11, n);
}

// The plane's flat index of each tap (the window's top-left one given).
template <class V>
FUSEDNN_INLINE Taps<V> tap_indices(V top_left, int64_t width) {
  return {top_left, top_left + V(1.f), top_left + V(float(width)),
          top_left + V(float(width + 1))};
}

// The taps a gradient d goes to: the one at `where`, 0 at the others.
template <class V>
FUSEDNN_INLINE Taps<V> route_to(V where, V d, const Taps<V>& at) {
  const V zero(0.f);
  return {vselect_eq(where, at.t00, d, zero), vselect_eq(where, at.t01, d, zero),
          vselect_eq(where, at.t10, d, zero), vselect_eq(where, at.t11, d, zero)};
}

// The maximum of the taps scanned in order and the index of the one it came from (torch's
// rule: a larger value, or the first NaN, takes over); `with` rides along: the same lane of
// the tap chosen (the conv epilogue's pre-activation).
template <class V>
FUSEDNN_INLINE void window_max(const Taps<V>& v, const Taps<V>& at, const Taps<V>& with, V& best,
                               V& where, V& chosen) {
  best = v.t00, where = at.t00, chosen = with.t00;
  auto take = [&](V cand, V cand_at, V cand_with) {
    where = vselect_takes_max(cand, best, cand_at, where);
    chosen = vselect_takes_max(cand, best, cand_with, chosen);
    best = vselect_takes_max(cand, best, cand, best);
  };
  take(v.t01, at.t01, with.t01);
  take(v.t10, at.t10, with.t10);
  take(v.t11, at.t11, with.t11);
}

// The rows and the column of plane p that no window covers get a zero gradient.
void zero_uncovered(float* dx, int64_t p, int64_t height, int64_t width) {
  float* plane = dx + p * height * width;
  if (width % 2) {
    for (int64_t h = 0; h < height - height % 2; ++h) plane[h * width + width - 1] = 0.f;
  }
  if (height % 2) std::memset(plane + (height - 1) * width, 0, size_t(width) * sizeof(float));
}

// body(plane, in, out, n, top_left) for every vector of n windows, the planes spread over the
// threads: `in` the offset of the windows' top-left taps in the input planes, `out` of their
// outputs, top_left the taps' flat indices in the plane. A backward passes its dx as
// `zeroed`: each plane's uncovered elements are zeroed by the thread that writes the plane.
template <class Vec, class Body>
void for_each_window(const Pool2x2Args& a, float* zeroed, const Body& body) {
  const int64_t W = a.width, out_h = a.height / 2, out_w = W / 2;
  const int threads = a.planes * out_h * out_w >= kPoolVecParallelMin ? max_threads() : 1;
  parallel_ranges(a.planes, threads, [&](int, int64_t lo, int64_t hi) {
    for (int64_t p = lo; p < hi; ++p) {
      for (int64_t oh = 0; oh < out_h; ++oh) {
        const int64_t in = (p * a.height + 2 * oh) * W, out = (p * out_h + oh) * out_w;
        for_each_vector<Vec>(out_w, [&](int64_t ow, int n) {
          using V = typename Vec::V;
          const V top_left = V(float(2 * oh * W + 2 * ow)) + Vec::iota() * V(2.f);
          body(p, in + 2 * ow, out + ow, n, top_left);
        });
      }
      if (zeroed) zero_uncovered(zeroed, p, a.height, W);
    }
  });
}

template <class Vec>
void max_pool2x2_forward(const Pool2x2Args& a) {
  using V = typename Vec::V;
  for_each_window<Vec>(a, nullptr, [&](int64_t, int64_t in, int64_t out, int n, V top_left) {
    const Taps<V> x = load_taps<Vec>(a.x + in, a.width, n);
    V best, where, unused;
    window_max(x, tap_indices(top_left, a.width), x, best, where, unused);
    store_n<Vec>(a.y + out, best, n);
    store_index_n<Vec>(a.argmax + out, where, n);
  });
}

template <class Vec>
void max_pool2x2_backward(const Pool2x2Args& a) {
  using V = typename Vec::V;
  for_each_window<Vec>(a, a.dx, [&](int64_t, int64_t in, int64_t out, int n, V top_left) {
    const V d = load_n<Vec>(a.dy + out, n);
    const V where = load_index_n<Vec>(a.saved_argmax + out, n);
    store_taps<Vec>(a.dx + in, a.width, route_to(where, d, tap_indices(top_left, a.width)), n);
  });
}

template <class Vec>
void avg_pool2x2_forward(const Pool2x2Args& a) {
  using V = typename Vec::V;
  for_each_window<Vec>(a, nullptr, [&](int64_t, int64_t in, int64_t out, int n, V) {
    const Taps<V> x = load_taps<Vec>(a.x + in, a.width, n);
    // the taps in pool.cpp's order, then its division by the area (exact: a power of two)
    store_n<Vec>(a.y + out, (((x.t00 + x.t01) + x.t10) + x.t11) * V(0.25f), n);
  });
}

template <class Vec>
void avg_pool2x2_backward(const Pool2x2Args& a) {
  using V = typename Vec::V;
  for_each_window<Vec>(a, a.dx, [&](int64_t, int64_t in, int64_t out, int n, V) {
    const V share = load_n<Vec>(a.dy + out, n) * V(0.25f);
    store_taps<Vec>(a.dx + in, a.width, Taps<V>{share, share, share, share}, n);
  });
}

template <class Vec>
void conv_pool_forward(const ConvPoolForwardArgs& a) {
  using V = typename Vec::V;
  const Pool2x2Args planes{a.planes, a.height, a.width, a.z, a.y, a.argmax,
                           nullptr,  nullptr,  nullptr};
  with_act(a.act, [&](auto tag) {
    constexpr Act A = decltype(tag)::value;
    for_each_window<Vec>(planes, nullptr, [&](int64_t p, int64_t in, int64_t out, int n,
                                              V top_left) {
      // bias_act_forward's z + bias and activation, then max_pool2x2_forward's scan
      const V bias(a.bias ? a.bias[p % a.channels] : 0.f);
      const Taps<V> z = load_taps<Vec>(a.z + in, a.width, n);
      const Taps<V> pre{z.t00 + bias, z.t01 + bias, z.t10 + bias, z.t11 + bias};
      const Taps<V> y{act_forward<A>(pre.t00, a.slope), act_forward<A>(pre.t01, a.slope),
                      act_forward<A>(pre.t10, a.slope), act_forward<A>(pre.t11, a.slope)};
      V best, where, chosen;
      window_max(y, tap_indices(top_left, a.width), pre, best, where, chosen);
      store_n<Vec>(a.y + out, best, n);
      store_index_n<Vec>(a.argmax + out, where, n);
      if (act_saves_input(A) && a.saved_input) store_n<Vec>(a.saved_input + out, chosen, n);
    });
  });
}

template <class Vec>
void conv_pool_backward(const ConvPoolBackwardArgs& a) {
  using V = typename Vec::V;
  const Pool2x2Args planes{a.planes, a.height, a.width, nullptr, nullptr, nullptr,
                           a.argmax, a.dy,     a.dz};
  // Each plane's gradient sum, added to by the thread that owns the plane.
  std::vector<double> plane_sums(a.dbias ? size_t(a.planes) : 0, 0.0);
  with_act(a.act, [&](auto tag) {
    constexpr Act A = decltype(tag)::value;
    for_each_window<Vec>(planes, a.dz, [&](int64_t p, int64_t in, int64_t out, int n,
                                           V top_left) {
      const V s = A == Act::kIdentity ? V(0.f) : load_n<Vec>(a.saved + out, n);
      // lanes past n read dy = 0 and s = 0: their d is 0 for every activation
      const V d = act_backward<A>(load_n<Vec>(a.dy + out, n), s, a.slope);
      const V where = load_index_n<Vec>(a.argmax + out, n);
      store_taps<Vec>(a.dz + in, a.width, route_to(where, d, tap_indices(top_left, a.width)),
                      n);
      if (a.dbias) plane_sums[size_t(p)] += double(Vec::hsum(d));
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
