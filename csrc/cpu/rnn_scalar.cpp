// Recurrent-cell kernels, scalar reference: the readable spec, the path on CPUs without
// AVX2+FMA, and the oracle the AVX2 path is tested against.
#include "cpu/vec_scalar_policy.h"
#include "cpu/rnn_engine.h"

namespace fusednn::cpu {

const RnnKernels kScalarRnnKernels = make_rnn_kernels<ScalarVec>();

}  // namespace fusednn::cpu
