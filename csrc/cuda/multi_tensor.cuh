// ============================================================================================
// The multi-tensor engine of the CUDA optimizers: many tensors per launch.
//
// Each block updates one chunk (kChunk elements) of one tensor. The table saying which chunk
// of which tensor a block takes travels as a kernel argument (under 4 KB), filled on the host
// by for_each_launch: up to kMaxTensors tensors and kMaxBlocks chunks per launch, a tensor
// split across launches when it does not fit. Indices are 64-bit, so tensors over 2^31
// elements are fine.
// ============================================================================================
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>

#include "cuda/common.cuh"
#include "cuda/launch.h"
#include "fusednn/step_control.h"

namespace fusednn::cuda {

constexpr int kMaxTensors = 32;
constexpr int kMaxBlocks = 256;
constexpr int64_t kChunk = 16384;
constexpr int kThreads = 512;

template <int S>
struct Chunks {
  void* params[kMaxTensors];
  const void* grads[kMaxTensors];
  float* states[S > 0 ? S : 1][kMaxTensors];
  const float* steps[kMaxTensors];
  int64_t sizes[kMaxTensors];
  unsigned char tensor_of_block[kMaxBlocks];
  int chunk_of_block[kMaxBlocks];
};
static_assert(sizeof(Chunks<3>) + 256 <= 4096, "kernel arguments must stay under 4 KB");

static_assert(sizeof(StepControl) == kControlBytes, "launch.h states the size");

// Parameter and gradient element types: compute in float, store back in the tensor's type.
__device__ __forceinline__ float to_float(float x) { return x; }
__device__ __forceinline__ float to_float(__half x) { return __half2float(x); }
__device__ __forceinline__ float to_float(__nv_bfloat16 x) { return __bfloat162float(x); }
template <class P> __device__ __forceinline__ P from_float(float x);
template <> __device__ __forceinline__ float from_float<float>(float x) { return x; }
template <> __device__ __forceinline__ __half from_float<__half>(float x) { return __float2half_rn(x); }
template <> __device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float x) {
  return __float2bfloat16_rn(x);
}

// Runtime dtype to a type, once, at the boundary: f(P{}) with P the element type.
template <class F>
void with_dtype(DType dtype, F&& f) {
  switch (dtype) {
    case DType::f32: f(float{}); break;
    case DType::f16: f(__half{}); break;
    case DType::bf16: f(__nv_bfloat16{}); break;
    default: throw std::invalid_argument("unsupported dtype code");
  }
}

// Fills Chunks tables from the lists and calls launch(table, number of blocks) for each.
template <int S, class Launch>
void for_each_launch(const StepLists& l, Launch&& launch) {
  Chunks<S> c{};
  int slots = 0, blocks = 0;
  auto place = [&](int slot, size_t t) {
    c.params[slot] = reinterpret_cast<void*>(l.params.empty() ? 0 : l.params[t]);
    c.grads[slot] = reinterpret_cast<const void*>(l.grads[t]);
    for (int s = 0; s < S; ++s) c.states[s][slot] = reinterpret_cast<float*>(l.states[s][t]);
    c.steps[slot] = reinterpret_cast<const float*>(l.steps.empty() ? 0 : l.steps[t]);
    c.sizes[slot] = l.sizes[t];
  };
  for (size_t t = 0; t < l.sizes.size(); ++t) {
    if (l.sizes[t] == 0) continue;
    place(slots++, t);
    const int64_t chunks = (l.sizes[t] + kChunk - 1) / kChunk;
    for (int64_t k = 0; k < chunks; ++k) {
      c.tensor_of_block[blocks] = static_cast<unsigned char>(slots - 1);
      c.chunk_of_block[blocks] = static_cast<int>(k);
      ++blocks;
      const bool last_chunk = k == chunks - 1;
      if (blocks == kMaxBlocks || (slots == kMaxTensors && last_chunk)) {
        launch(c, blocks);
        blocks = 0;
        slots = 0;
        if (!last_chunk) place(slots++, t);  // the rest of this tensor goes on
      }
    }
  }
  if (blocks > 0) launch(c, blocks);
}

}  // namespace fusednn::cuda
