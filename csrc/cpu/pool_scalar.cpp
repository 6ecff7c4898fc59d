// Pooling kernels, scalar reference: the readable spec, the path on CPUs without AVX2+FMA, and
// the oracle the AVX2 path is tested against.
#include "cpu/vec_scalar_policy.h"
#include "cpu/pool_engine.h"

namespace fusednn::cpu {

const PoolKernels kScalarPoolKernels = make_pool_kernels<ScalarVec>();

}  // namespace fusednn::cpu
