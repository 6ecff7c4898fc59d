// Dropout and the Philox stream, scalar reference: one Philox block (4 words) at a time
// through fusednn/philox.h. The AVX2 twin (dropout_avx2.cpp) must match it bit for bit.
#include "cpu/dropout_engine.h"

namespace fusednn::cpu {
namespace {

struct ScalarPhilox {
  static void words32(uint32_t* out, uint64_t seed, uint64_t offset, int64_t first) {
    scalar_words(out, seed, offset, first, kChunk);
  }
  static void dropout32(const float* x, float* y, int64_t first, const DropoutParams& d) {
    uint32_t words[kChunk];
    words32(words, d.seed, d.offset, first);
    for (int64_t i = 0; i < kChunk; ++i) y[i] = dropout_one(x[i], words[i], d);
  }
};

}  // namespace

const DropoutKernels kScalarDropoutKernels = make_dropout_kernels<ScalarPhilox>();

}  // namespace fusednn::cpu
