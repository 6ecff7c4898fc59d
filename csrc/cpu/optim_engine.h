// ============================================================================================
// The one multi-tensor engine behind every CPU optimizer kernel.
//
// A step is one streaming pass: the elements of all tensors are split into one contiguous
// range per thread (one OpenMP region per step, whatever the number of tensors), and each
// range is walked tensor by tensor, Vec::kWidth elements at a time, applying an *Update
// functor from optim_math.h. Vec supplies V, kWidth, load/store and, for widths above one,
// masked load_partial/store_partial so the tail goes through the same math. Parameters and
// gradients of type P are converted to V on load and back on store, in registers (one pass
// over memory whatever P is); the state is V's own type.
//
// Included by exactly one translation unit per backend; everything here has internal linkage
// so the AVX2 unit's instantiations can never stand in for the portable ones.
// ============================================================================================
#pragma once
#include <cstdint>

#include "cpu/optim_kernels.h"
#include "cpu/tensor_table.h"
#include "fusednn/optim_math.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace fusednn::cpu {
namespace {

// Below this many elements a step runs on one thread: waking the pool costs more.
constexpr int64_t kParallelMin = int64_t(1) << 15;
// Thread ranges start on 16-element boundaries so a 64-byte line of an aligned arena is
// written by one thread only.
constexpr int64_t kSplitAlign = 16;
constexpr int kMaxThreads = 256;

template <class Table>
inline int64_t total_elements(const Table& t) { return t.offsets[t.num_tensors]; }

// body(lo, hi) once per thread on disjoint ranges covering [0, total).
template <class Body>
void for_each_thread_range(int64_t total, const Body& body) {
#ifdef _OPENMP
  int threads = omp_get_max_threads();
  if (threads > kMaxThreads) threads = kMaxThreads;
#pragma omp parallel num_threads(threads) if (total >= kParallelMin)
  {
    const int64_t n = omp_get_num_threads(), t = omp_get_thread_num();
    auto cut = [&](int64_t k) {
      if (k == n) return total;
      const int64_t c = total / n * k + total % n * k / n;
      return c - c % kSplitAlign;
    };
    body(t, cut(t), cut(t + 1));
  }
#else
  body(int64_t(0), int64_t(0), total);
#endif
}

// body(k, begin, end) for each piece [begin, end) of tensor k inside the global range [lo, hi).
template <class Table, class Body>
void for_each_segment(const Table& t, int64_t lo, int64_t hi, const Body& body) {
  int64_t a = 0, b = t.num_tensors;  // first tensor that ends after lo
  while (a < b) {
    const int64_t m = (a + b) / 2;
    if (t.offsets[m + 1] <= lo) a = m + 1; else b = m;
  }
  for (int64_t k = a; k < t.num_tensors && t.offsets[k] < hi; ++k) {
    const int64_t begin = (lo > t.offsets[k] ? lo : t.offsets[k]) - t.offsets[k];
    const int64_t end = (hi < t.offsets[k + 1] ? hi : t.offsets[k + 1]) - t.offsets[k];
    if (begin < end) body(k, begin, end);
  }
}

template <class Vec, class Table, class Update>
void update_segment(const Table& t, int64_t k, int64_t begin, int64_t end,
                    const Update& update) {
  using V = typename Vec::V;
  using P = typename Table::Param;
  constexpr int W = Vec::kWidth;
  constexpr int S = Update::kStates;
  P* __restrict__ p = t.params[k];
  const P* __restrict__ g = t.grads[k];
  typename Table::State* st[S > 0 ? S : 1] = {};
  for (int s = 0; s < S; ++s) st[s] = t.states[s][k];
  V sv[S > 0 ? S : 1];

  int64_t i = begin;
  for (; i + W <= end; i += W) {
    if constexpr (W > 1) {
      // Two cores cannot keep enough misses in flight on 4-6 streams by hardware prefetch
      // alone: asking 1 KiB ahead measured 5-10% faster at 10M parameters (2 KiB: no better).
      // A prefetch past the end of a tensor is harmless.
      constexpr int64_t ahead = 1024 / sizeof(typename Table::State);
      __builtin_prefetch(p + i + ahead, 1);
      __builtin_prefetch(g + i + ahead, 0);
      for (int s = 0; s < S; ++s) __builtin_prefetch(st[s] + i + ahead, 1);
    }
    V pv = Vec::load(p + i);
    for (int s = 0; s < S; ++s) sv[s] = Vec::load(st[s] + i);
    update(pv, Vec::load(g + i), sv);
    Vec::store(p + i, pv);
    for (int s = 0; s < S; ++s) Vec::store(st[s] + i, sv[s]);
  }
  if constexpr (W > 1) {
    if (i < end) {
      const int n = int(end - i);
      V pv = Vec::load_partial(p + i, n);
      for (int s = 0; s < S; ++s) sv[s] = Vec::load_partial(st[s] + i, n);
      update(pv, Vec::load_partial(g + i, n), sv);
      Vec::store_partial(p + i, pv, n);
      for (int s = 0; s < S; ++s) Vec::store_partial(st[s] + i, sv[s], n);
    }
  }
}

template <class Vec, class Table, class Update>
void run_update(const Table& t, const Update& update) {
  for_each_thread_range(total_elements(t), [&](int64_t, int64_t lo, int64_t hi) {
    for_each_segment(t, lo, hi, [&](int64_t k, int64_t begin, int64_t end) {
      update_segment<Vec>(t, k, begin, end, update);
    });
  });
}

template <class Vec, class Table>
double grad_sum_squares(const Table& t) {
  // Fixed slots summed in thread order: the same inputs and thread count give the same bits.
  double partial[kMaxThreads] = {};
  for_each_thread_range(total_elements(t), [&](int64_t thread, int64_t lo, int64_t hi) {
    double acc = 0.0;
    for_each_segment(t, lo, hi, [&](int64_t k, int64_t begin, int64_t end) {
      acc += Vec::sum_squares(t.grads[k] + begin, end - begin);
    });
    partial[thread] = acc;
  });
  double sum = 0.0;
  for (int i = 0; i < kMaxThreads; ++i) sum += partial[i];
  return sum;
}

// Runtime flags become template parameters here, once, so the inner loops carry no branches.
template <class Vec, class P>
struct Steps {
  using R = RealOf<P>;
  using Table = TensorTableT<P, R>;

  static void sgd(const Table& t, const SgdCoeffs<R>& c, bool momentum) {
    if (momentum) run_update<Vec>(t, SgdUpdate<true, R>{c});
    else run_update<Vec>(t, SgdUpdate<false, R>{c});
  }
  static void adagrad(const Table& t, const AdagradCoeffs<R>& c) {
    run_update<Vec>(t, AdagradUpdate<R>{c});
  }
  static void rmsprop(const Table& t, const RmspropCoeffs<R>& c, bool centered, bool momentum) {
    if (centered && momentum) run_update<Vec>(t, RmspropUpdate<true, true, R>{c});
    else if (centered) run_update<Vec>(t, RmspropUpdate<true, false, R>{c});
    else if (momentum) run_update<Vec>(t, RmspropUpdate<false, true, R>{c});
    else run_update<Vec>(t, RmspropUpdate<false, false, R>{c});
  }
  static void adam(const Table& t, const AdamCoeffs<R>& c, bool amsgrad) {
    if (amsgrad) run_update<Vec>(t, AdamUpdate<true, R>{c});
    else run_update<Vec>(t, AdamUpdate<false, R>{c});
  }
  static constexpr OptimDtypeKernels<P> table() {
    return OptimDtypeKernels<P>{&sgd, &adagrad, &rmsprop, &adam, &grad_sum_squares<Vec, Table>};
  }
};

// VecF: float vectors (float32, bfloat16 and float16 parameters); VecD: double vectors.
template <class VecF, class VecD>
constexpr OptimKernels make_optim_kernels() {
  return OptimKernels{Steps<VecF, float>::table(), Steps<VecD, double>::table(),
                      Steps<VecF, Bf16>::table(), Steps<VecF, Half>::table()};
}

}  // namespace
}  // namespace fusednn::cpu
