// Pooling kernels, AVX2 path: 8 outputs (16 input columns) at a time through the same engine
// as the scalar reference (pool_scalar.cpp). Compiled with -mavx2 -mfma; only called after
// dispatch.cpp has seen both features.
#include "cpu/vec_avx2.h"
#include "cpu/pool_engine.h"

namespace fusednn::cpu {

const PoolKernels kAvx2PoolKernels = make_pool_kernels<Avx2Vec>();

}  // namespace fusednn::cpu
