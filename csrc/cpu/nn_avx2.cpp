// Layer kernels, AVX2+FMA path: 8 floats at a time through the same engine and activation
// math as the scalar reference (nn_scalar.cpp), with the vector exp/tanh/erf of vec_avx2.h.
// Compiled with -mavx2 -mfma; only called after dispatch.cpp has seen both features.
#include "cpu/vec_avx2.h"
#include "cpu/nn_engine.h"

namespace fusednn::cpu {

const NnKernels kAvx2NnKernels = make_nn_kernels<Avx2Vec>();

}  // namespace fusednn::cpu
