// Dropout and the Philox stream, scalar reference: one Philox block (4 words, 8 elements)
// at a time through fusednn/philox.h. The AVX2 twin (dropout_avx2.cpp) must match it bit for bit.
#include "cpu/dropout_engine.h"

namespace fusednn::cpu {
namespace {

struct ScalarPhilox {
  static void words32(uint32_t* out, uint64_t seed, uint64_t offset, int64_t first) {
    scalar_words(out, seed, offset, first, kWordChunk);
  }
  static void dropout64(const float* x, float* y, int64_t first, const DropoutParams& d) {
    scalar_dropout(x, y, first, kElementChunk, d);
  }
};

}  // namespace

const DropoutKernels kScalarDropoutKernels = make_dropout_kernels<ScalarPhilox>();

}  // namespace fusednn::cpu
