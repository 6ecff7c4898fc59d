// ============================================================================================
// Dropout and the raw Philox stream on the GPU, from the same header as the CPU twins
// (fusednn/philox.h): one thread per Philox block, i.e. 8 dropout elements or 4 stream words,
// in a grid-stride loop with 64-bit indices. Element i's bits depend on (seed, offset, i)
// only, so the masks equal the CPU's bit for bit.
// ============================================================================================
#include <cstdint>

#include "cuda/common.cuh"
#include "cuda/launch.h"
#include "fusednn/philox.h"

namespace fusednn::cuda {
namespace {

constexpr int kThreads = 256;

template <bool kVector>
__global__ void __launch_bounds__(kThreads)
    dropout_kernel(const float* x, float* y, int64_t n,  // y may be x: no __restrict__
                   DropoutParams d) {
  const int64_t blocks = (n + 7) / 8;
  for (int64_t j = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; j < blocks;
       j += int64_t(gridDim.x) * blockDim.x) {
    const Philox4 r = philox_block(d.seed, d.offset, uint64_t(j));
    const int64_t base = 8 * j;
    if (kVector && base + 8 <= n) {  // 32-byte aligned: two 16-byte loads and stores
      const float4 a = reinterpret_cast<const float4*>(x + base)[0];
      const float4 b = reinterpret_cast<const float4*>(x + base)[1];
      const float4 ya = {dropout_one(a.x, draw16(r, 0), d), dropout_one(a.y, draw16(r, 1), d),
                         dropout_one(a.z, draw16(r, 2), d), dropout_one(a.w, draw16(r, 3), d)};
      const float4 yb = {dropout_one(b.x, draw16(r, 4), d), dropout_one(b.y, draw16(r, 5), d),
                         dropout_one(b.z, draw16(r, 6), d), dropout_one(b.w, draw16(r, 7), d)};
      reinterpret_cast<float4*>(y + base)[0] = ya;
      reinterpret_cast<float4*>(y + base)[1] = yb;
    } else {
      for (int e = 0; e < 8 && base + e < n; ++e) {
        y[base + e] = dropout_one(x[base + e], draw16(r, e), d);
      }
    }
  }
}

__global__ void __launch_bounds__(kThreads)
    philox_kernel(uint32_t* __restrict__ out, int64_t n, uint64_t seed, uint64_t offset) {
  const int64_t blocks = (n + 3) / 4;
  for (int64_t j = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; j < blocks;
       j += int64_t(gridDim.x) * blockDim.x) {
    const Philox4 r = philox_block(seed, offset, uint64_t(j));
    for (int w = 0; w < 4 && 4 * j + w < n; ++w) out[4 * j + w] = r.v[w];
  }
}

}  // namespace

void dropout(uintptr_t x, uintptr_t y, int64_t n, double p, uint64_t seed, uint64_t offset,
             uintptr_t stream) {
  if (!(p >= 0.0 && p <= 1.0)) throw std::invalid_argument("p must be in [0, 1]");
  if (n <= 0) return;
  const DropoutParams d = make_dropout_params(p, seed, offset);
  const unsigned grid = blocks_for((n + 7) / 8, kThreads, 65535);
  const bool aligned = (x % 32 == 0) && (y % 32 == 0);
  const float* xp = reinterpret_cast<const float*>(x);
  float* yp = reinterpret_cast<float*>(y);
  if (aligned) dropout_kernel<true><<<grid, kThreads, 0, as_stream(stream)>>>(xp, yp, n, d);
  else dropout_kernel<false><<<grid, kThreads, 0, as_stream(stream)>>>(xp, yp, n, d);
  FUSEDNN_CUDA_CHECK_LAUNCH();
}

void philox(uintptr_t out, int64_t n, uint64_t seed, uint64_t offset, uintptr_t stream) {
  if (n <= 0) return;
  const unsigned grid = blocks_for((n + 3) / 4, kThreads, 65535);
  philox_kernel<<<grid, kThreads, 0, as_stream(stream)>>>(reinterpret_cast<uint32_t*>(out), n,
                                                          seed, offset);
  FUSEDNN_CUDA_CHECK_LAUNCH();
}

}  // namespace fusednn::cuda
