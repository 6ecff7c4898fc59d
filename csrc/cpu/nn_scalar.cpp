// Layer kernels (bias + activation, softmax cross-entropy), scalar reference: the readable
// spec, the path on CPUs without AVX2+FMA, and the oracle the AVX2 path is tested against.
#include "cpu/vec_scalar_policy.h"
#include "cpu/nn_engine.h"

namespace fusednn::cpu {

const NnKernels kScalarNnKernels = make_nn_kernels<ScalarVec>();

}  // namespace fusednn::cpu
