// Recurrent-cell kernels, AVX2+FMA path: 8 floats at a time through the same engine and cell
// math as the scalar reference (rnn_scalar.cpp). Compiled with -mavx2 -mfma; only called after
// dispatch.cpp has seen both features.
#include "cpu/vec_avx2.h"
#include "cpu/rnn_engine.h"

namespace fusednn::cpu {

const RnnKernels kAvx2RnnKernels = make_rnn_kernels<Avx2Vec>();

}  // namespace fusednn::cpu
