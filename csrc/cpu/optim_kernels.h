// The table of fused-optimizer kernels one CPU backend provides, one set per parameter type:
// float32, float64 (double state and math), bfloat16 and float16 (float32 state and math,
// converted on load and store). The scalar reference (optim_scalar.cpp) and the AVX2+FMA path
// (optim_avx2.cpp) each fill one; dispatch.cpp picks one at run time from the CPU's features.
#pragma once
#include <type_traits>

#include "cpu/reduced_float.h"
#include "cpu/tensor_table.h"
#include "fusednn/optim_math.h"

namespace fusednn::cpu {

// The state and coefficient type of a parameter type: double for double, float otherwise.
template <class P>
using RealOf = typename std::conditional<std::is_same<P, double>::value, double, float>::type;

template <class P>
struct OptimDtypeKernels {
  using Table = TensorTableT<P, RealOf<P>>;
  using R = RealOf<P>;
  void (*sgd)(const Table&, const SgdCoeffs<R>&, bool momentum);
  void (*adagrad)(const Table&, const AdagradCoeffs<R>&);
  void (*rmsprop)(const Table&, const RmspropCoeffs<R>&, bool centered, bool momentum);
  void (*adam)(const Table&, const AdamCoeffs<R>&, bool amsgrad);
  // Sum of squares of every gradient element, accumulated in double. Non-finite if and only
  // if some gradient element is (for float64 gradients, also when the sum overflows).
  double (*grad_sum_squares)(const Table&);
};

struct OptimKernels {
  OptimDtypeKernels<float> f32;
  OptimDtypeKernels<double> f64;
  OptimDtypeKernels<Bf16> bf16;
  OptimDtypeKernels<Half> f16;
};

extern const OptimKernels kScalarOptimKernels;
extern const OptimKernels kAvx2OptimKernels;

}  // namespace fusednn::cpu
