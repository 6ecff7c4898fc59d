// ============================================================================================
// The GPU optimizer update kernel (the per-element math of optim_math.h over one chunk of one
// tensor per block), apart from its launches (optim.cu) so that a host check
// (tests/cuda/kernels_on_host_check.cpp) can run it thread by thread without a GPU: it uses
// no shared memory and no barriers, so threads run one after another compute exactly what the
// GPU does.
// ============================================================================================
#pragma once
#include <cstdint>
#include <type_traits>

#include "cuda/multi_tensor.cuh"
#include "fusednn/optim_hparams.h"
#include "fusednn/optim_math.h"

namespace fusednn::cuda::update {

// Elements in flight per thread in the update kernel's scalar loop, and 16-byte vectors in its
// vector loop.
constexpr int kIlp = 4;
constexpr int kVecIlp = 2;

// The elements [first, end) of one tensor, thread by thread with a stride of the block: kIlp
// elements per thread per pass, all loaded before any is updated (without it each element's
// loads wait behind the previous element's stores: the state pointers may alias, as far as the
// compiler knows). Each of the kIlp loads is coalesced across the block.
template <class P, int S, class Update>
__device__ __forceinline__ void update_elements(const Update& update, P* __restrict__ p,
                                                const P* __restrict__ g, float* const* states,
                                                int64_t first, int64_t end) {
  for (int64_t base = first + threadIdx.x; base < end; base += int64_t(blockDim.x) * kIlp) {
    float pv[kIlp], gv[kIlp], sv[kIlp][S > 0 ? S : 1];
#pragma unroll
    for (int u = 0; u < kIlp; ++u) {
      const int64_t i = base + int64_t(u) * blockDim.x;
      if (i < end) {
        pv[u] = to_float(p[i]);
        gv[u] = to_float(g[i]);
#pragma unroll
        for (int s = 0; s < S; ++s) sv[u][s] = states[s][i];
      }
    }
#pragma unroll
    for (int u = 0; u < kIlp; ++u) {
      if (base + int64_t(u) * blockDim.x < end) update(pv[u], gv[u], sv[u]);
    }
#pragma unroll
    for (int u = 0; u < kIlp; ++u) {
      const int64_t i = base + int64_t(u) * blockDim.x;
      if (i < end) {
        p[i] = from_float<P>(pv[u]);
#pragma unroll
        for (int s = 0; s < S; ++s) states[s][i] = sv[u][s];
      }
    }
  }
}

// float32 elements [begin, end), begin a multiple of 4 and every stream 16-byte aligned: each
// thread moves kVecIlp float4 of every stream per pass (one 16-byte load or store per stream
// per vector, against four), then the last end % 4 elements one by one.
template <int S, class Update>
__device__ __forceinline__ void update_vectors(const Update& update, float* __restrict__ p,
                                               const float* __restrict__ g,
                                               float* const* states, int64_t begin,
                                               int64_t end) {
  const int64_t vec_end = begin + ((end - begin) & ~int64_t(3));
  const int64_t stride = int64_t(blockDim.x) * 4;
  for (int64_t base = begin + int64_t(threadIdx.x) * 4; base < vec_end;
       base += stride * kVecIlp) {
    float4 pv[kVecIlp], gv[kVecIlp], sv[kVecIlp][S > 0 ? S : 1];
#pragma unroll
    for (int u = 0; u < kVecIlp; ++u) {
      const int64_t i = base + stride * u;
      if (i < vec_end) {
        pv[u] = *reinterpret_cast<const float4*>(p + i);
        gv[u] = *reinterpret_cast<const float4*>(g + i);
#pragma unroll
        for (int s = 0; s < S; ++s) sv[u][s] = *reinterpret_cast<const float4*>(states[s] + i);
      }
    }
#pragma unroll
    for (int u = 0; u < kVecIlp; ++u) {
      if (base + stride * u >= vec_end) continue;
#pragma unroll
      for (int k = 0; k < 4; ++k) {  // constant indices: the lanes stay in registers
        float sk[S > 0 ? S : 1];
#pragma unroll
        for (int s = 0; s < S; ++s) sk[s] = (&sv[u][s].x)[k];
        update((&pv[u].x)[k], (&gv[u].x)[k], sk);
#pragma unroll
        for (int s = 0; s < S; ++s) (&sv[u][s].x)[k] = sk[s];
      }
    }
#pragma unroll
    for (int u = 0; u < kVecIlp; ++u) {
      const int64_t i = base + stride * u;
      if (i < vec_end) {
        *reinterpret_cast<float4*>(p + i) = pv[u];
#pragma unroll
        for (int s = 0; s < S; ++s) *reinterpret_cast<float4*>(states[s] + i) = sv[u][s];
      }
    }
  }
  update_elements<float, S>(update, p, g, states, vec_end, end);
}

// One block, one chunk of one tensor. Hyperparameters become coefficients here, on the
// device, so lr, the step count and the clip scale may all live in device memory.
template <class P, class Update, class Hparams>
__global__ void __launch_bounds__(kThreads)
    update_kernel(Chunks<Update::kStates> c, Hparams h, const float* lr,
                  const StepControl* control) {
  if (control != nullptr && control->skip) return;
  const int t = c.slot_of(blockIdx.x);
  const int64_t begin = c.begin_of(blockIdx.x, t);
  const int64_t end = begin + kChunk < c.sizes[t] ? begin + kChunk : c.sizes[t];
  if (lr != nullptr) h.lr = *lr;
  if (control != nullptr) h.grad_scale = control->scale;
  if (c.steps[t] != nullptr) set_step(h, int64_t(*c.steps[t]));
  const Update update{make_coeffs(h)};
  constexpr int S = Update::kStates;
  P* p = static_cast<P*>(c.params[t]);
  const P* g = static_cast<const P*>(c.grads[t]);
  float* states[S > 0 ? S : 1];
  uintptr_t addresses = reinterpret_cast<uintptr_t>(p) | reinterpret_cast<uintptr_t>(g);
#pragma unroll
  for (int s = 0; s < S; ++s) {
    states[s] = c.states[s][t];
    addresses |= reinterpret_cast<uintptr_t>(states[s]);
  }
  if constexpr (std::is_same_v<P, float>) {
    static_assert(kChunk % 4 == 0, "a chunk starts on a 16-byte boundary of its tensor");
    if (addresses % 16 == 0) {
      update_vectors<S>(update, p, g, states, begin, end);
      return;
    }
  }
  update_elements<P, S>(update, p, g, states, begin, end);
}

}  // namespace fusednn::cuda::update
