// Fused optimizers, AVX2+FMA path: 8 floats at a time through the same shared math as the
// scalar reference (optim_scalar.cpp); 4 doubles at a time for float64 parameters. Compiled
// with -mavx2 -mfma -mf16c, and only called after dispatch.cpp has seen those on the CPU.
#include "cpu/vec_avx2.h"
#include "cpu/optim_engine.h"

namespace fusednn::cpu {

const OptimKernels kAvx2OptimKernels = make_optim_kernels<Avx2Vec, Avx2VecF64>();

}  // namespace fusednn::cpu
