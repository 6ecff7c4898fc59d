// Walking a row in vectors of a Vec policy (ScalarVec: vec_scalar_policy.h, Avx2Vec:
// vec_avx2.h): full vectors, then one masked tail. Shared by the layer engines (nn_engine.h,
// rnn_engine.h); internal linkage, like everything an engine instantiates.
#pragma once
#include <cstdint>

#include "fusednn/macros.h"

namespace fusednn::cpu {
namespace {

// fn(offset, lanes) over [0, n) in full vectors, then one masked tail.
template <class Vec, class Fn>
FUSEDNN_INLINE void for_each_vector(int64_t n, const Fn& fn) {
  constexpr int W = Vec::kWidth;
  int64_t i = 0;
  for (; i + W <= n; i += W) fn(i, W);
  if (i < n) fn(i, int(n - i));
}

template <class Vec>
FUSEDNN_INLINE typename Vec::V load_n(const float* p, int lanes) {
  return lanes == Vec::kWidth ? Vec::load(p) : Vec::load_partial(p, lanes);
}
template <class Vec>
FUSEDNN_INLINE void store_n(float* p, typename Vec::V v, int lanes) {
  if (lanes == Vec::kWidth) Vec::store(p, v); else Vec::store_partial(p, v, lanes);
}

}  // namespace
}  // namespace fusednn::cpu
