// Fused optimizers, AVX2+FMA path: 8 floats at a time through the same shared math as the
// scalar reference (optim_scalar.cpp). This translation unit alone is compiled with
// -mavx2 -mfma, and is only called after dispatch.cpp has seen both features on the CPU.
#include "cpu/vec_avx2.h"
#include "cpu/optim_engine.h"

namespace fusednn::cpu {

const OptimKernels kAvx2OptimKernels = make_optim_kernels<Avx2Vec>();

}  // namespace fusednn::cpu
