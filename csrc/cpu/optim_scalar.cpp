// Fused optimizers, scalar reference: one element at a time through the shared math of
// optim_math.h. Compiled for baseline x86-64 (no AVX), it is the path on CPUs without
// AVX2+FMA, the readable spec, and the oracle the AVX2 path is tested against.
#include "cpu/optim_engine.h"
#include "cpu/vec_scalar_policy.h"

namespace fusednn::cpu {

const OptimKernels kScalarOptimKernels = make_optim_kernels<ScalarVec, ScalarVecF64>();

}  // namespace fusednn::cpu
