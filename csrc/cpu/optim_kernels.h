// The table of fused-optimizer kernels one CPU backend provides. The scalar reference
// (optim_scalar.cpp) and the AVX2+FMA path (optim_avx2.cpp) each fill one; dispatch.cpp picks
// one at run time from the CPU's features.
#pragma once
#include "cpu/tensor_table.h"
#include "fusednn/optim_math.h"

namespace fusednn::cpu {

struct OptimKernels {
  void (*sgd)(const TensorTable&, const SgdCoeffs&, bool momentum);
  void (*adagrad)(const TensorTable&, const AdagradCoeffs&);
  void (*rmsprop)(const TensorTable&, const RmspropCoeffs&, bool centered, bool momentum);
  void (*adam)(const TensorTable&, const AdamCoeffs&, bool amsgrad);
  // Sum of squares of every gradient element, accumulated in double. Non-finite if and only
  // if some gradient element is (a float32 square cannot overflow a double sum).
  double (*grad_sum_squares)(const TensorTable&);
};

extern const OptimKernels kScalarOptimKernels;
extern const OptimKernels kAvx2OptimKernels;

}  // namespace fusednn::cpu
