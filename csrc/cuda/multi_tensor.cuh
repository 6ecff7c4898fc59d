// ============================================================================================
// The multi-tensor engine of the CUDA optimizers: many tensors per launch.
//
// Each block updates one chunk (kChunk elements) of one tensor. A launch takes up to
// kMaxTensors tensor slots; the blocks of a slot are a run of consecutive block indices
// (block_start) over consecutive chunks of its tensor (from first_chunk), so a large tensor
// is one launch of as many blocks as it has chunks, with no per-block table. The table
// travels as a kernel argument (under 4 KB), filled on the host by for_each_launch; a tensor
// is split across launches only past max_blocks. Indices are 64-bit, so tensors over 2^31
// elements are fine.
// ============================================================================================
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>

#include "cuda/common.cuh"
#include "cuda/launch.h"
#include "fusednn/macros.h"
#include "fusednn/step_control.h"

namespace fusednn::cuda {

constexpr int kMaxTensors = 32;
constexpr int kMaxBlocks = 1 << 24;  // per launch, far under the grid's 2^31 - 1
constexpr int64_t kChunk = 16384;
constexpr int kThreads = 512;

template <int S>
struct Chunks {
  void* params[kMaxTensors];
  const void* grads[kMaxTensors];
  float* states[S > 0 ? S : 1][kMaxTensors];
  const float* steps[kMaxTensors];
  int64_t sizes[kMaxTensors];
  int64_t first_chunk[kMaxTensors];  // the slot's first chunk in this launch
  int block_start[kMaxTensors + 1];  // slot s takes blocks [block_start[s], block_start[s+1])
  int slots;

  // The slot of block b (a scan of at most kMaxTensors entries, the same for the whole block).
  FUSEDNN_HD int slot_of(int b) const {
    int s = 0;
    while (s + 1 < slots && b >= block_start[s + 1]) ++s;
    return s;
  }
  // The first element of block b's chunk, in slot s's tensor.
  FUSEDNN_HD int64_t begin_of(int b, int s) const {
    return (first_chunk[s] + (b - block_start[s])) * kChunk;
  }
};
static_assert(sizeof(Chunks<3>) + 256 <= 4096, "kernel arguments must stay under 4 KB");

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

// Fills Chunks tables from the lists and calls launch(table, number of blocks) for each: a new
// launch when the slots run out or the blocks reach max_blocks (a parameter so that the host
// check of these tables can make splits happen at small sizes).
template <int S, class Launch>
void for_each_launch(const StepLists& l, Launch&& launch, int max_blocks = kMaxBlocks) {
  Chunks<S> c{};
  int blocks = 0;
  auto flush = [&] {
    if (blocks > 0) {
      c.block_start[c.slots] = blocks;
      launch(c, blocks);
    }
    c.slots = 0;
    blocks = 0;
  };
  for (size_t t = 0; t < l.sizes.size(); ++t) {
    if (l.sizes[t] == 0) continue;
    const int64_t chunks = (l.sizes[t] + kChunk - 1) / kChunk;
    for (int64_t done = 0; done < chunks;) {
      if (c.slots == kMaxTensors || blocks == max_blocks) flush();
      const int64_t room = max_blocks - blocks;
      const int64_t take = chunks - done < room ? chunks - done : room;
      const int s = c.slots++;
      c.params[s] = reinterpret_cast<void*>(l.params.empty() ? 0 : l.params[t]);
      c.grads[s] = reinterpret_cast<const void*>(l.grads[t]);
      for (int k = 0; k < S; ++k) c.states[k][s] = reinterpret_cast<float*>(l.states[k][t]);
      c.steps[s] = reinterpret_cast<const float*>(l.steps.empty() ? 0 : l.steps[t]);
      c.sizes[s] = l.sizes[t];
      c.first_chunk[s] = done;
      c.block_start[s] = blocks;
      blocks += int(take);
      done += take;
    }
  }
  flush();
}

}  // namespace fusednn::cuda
