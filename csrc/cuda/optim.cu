// ============================================================================================
// Fused optimizers on the GPU: the per-element math of optim_math.h (shared with the scalar
// and AVX2 CPU paths) inside the multi-tensor engine of multi_tensor.cuh, plus the
// device-side global gradient norm that drives fused clipping and the non-finite skip.
// ============================================================================================
#include <cstdint>
#include <type_traits>

#include "cuda/multi_tensor.cuh"
#include "fusednn/optim_hparams.h"
#include "fusednn/optim_math.h"

namespace fusednn::cuda {
namespace {

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

template <class Update, class Hparams>
void run_update(const StepLists& l, const Hparams& h, const DeviceScalars& d, uintptr_t stream) {
  constexpr int S = Update::kStates;
  if (int(l.states.size()) != S) throw std::invalid_argument("wrong number of state lists");
  with_dtype(l.dtype, [&](auto tag) {
    using P = decltype(tag);
    for_each_launch<S>(l, [&](const Chunks<S>& c, int blocks) {
      update_kernel<P, Update, Hparams><<<blocks, kThreads, 0, as_stream(stream)>>>(
          c, h, reinterpret_cast<const float*>(d.lr),
          reinterpret_cast<const StepControl*>(d.control));
      FUSEDNN_CUDA_CHECK_LAUNCH();
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Global gradient norm: per-chunk sums of squares (double), then a fixed-order sum in one
// block, so the norm and the clip scale are the same bits on every run.
// ---------------------------------------------------------------------------------------------
__device__ double block_sum(double v) {
  __shared__ double warp_sums[kThreads / 32];
  for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
  if ((threadIdx.x & 31) == 0) warp_sums[threadIdx.x >> 5] = v;
  __syncthreads();
  v = threadIdx.x < blockDim.x / 32 ? warp_sums[threadIdx.x] : 0.0;
  if (threadIdx.x < 32) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
  }
  return v;
}

template <class P>
__global__ void __launch_bounds__(kThreads)
    sum_squares_kernel(Chunks<0> c, double* partial) {
  const int t = c.slot_of(blockIdx.x);
  const int64_t begin = c.begin_of(blockIdx.x, t);
  const int64_t end = begin + kChunk < c.sizes[t] ? begin + kChunk : c.sizes[t];
  const P* __restrict__ g = static_cast<const P*>(c.grads[t]);
  double acc = 0.0;
  for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) {
    const double v = to_float(g[i]);
    acc += v * v;
  }
  acc = block_sum(acc);
  if (threadIdx.x == 0) partial[blockIdx.x] = acc;
}

__global__ void __launch_bounds__(kThreads)
    finish_norm_kernel(const double* partial, int64_t n, StepControl* control,
                       double max_norm, bool check_finite) {
  double acc = 0.0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) acc += partial[i];
  acc = block_sum(acc);
  if (threadIdx.x == 0) {
    const double norm = sqrt(acc);
    const bool finite = isfinite(norm);
    control->norm = float(norm);
    control->skip = check_finite && !finite;
    control->skipped += control->skip;
    control->scale = max_norm > 0.0 ? float(fmin(1.0, max_norm / (norm + 1e-6))) : 1.f;
  }
}

struct StepPointers {
  float* steps[kMaxTensors * 8];
  int count;
};

__global__ void advance_steps_kernel(StepPointers s, const StepControl* control) {
  if (control != nullptr && control->skip) return;
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < s.count) *s.steps[i] += 1.f;
}

int64_t total_chunks(const std::vector<int64_t>& sizes) {
  int64_t n = 0;
  for (int64_t s : sizes) n += (s + kChunk - 1) / kChunk;
  return n;
}

}  // namespace

void sgd_step(const StepLists& l, const SgdHparams& h, const DeviceScalars& d, uintptr_t s) {
  if (h.momentum != 0.0) run_update<SgdUpdate<true>>(l, h, d, s);
  else run_update<SgdUpdate<false>>(l, h, d, s);
}

void adagrad_step(const StepLists& l, const AdagradHparams& h, const DeviceScalars& d,
                  uintptr_t s) {
  run_update<AdagradUpdate<>>(l, h, d, s);
}

void rmsprop_step(const StepLists& l, const RmspropHparams& h, const DeviceScalars& d,
                  uintptr_t s) {
  const bool momentum = h.momentum > 0.0;
  if (h.centered && momentum) run_update<RmspropUpdate<true, true>>(l, h, d, s);
  else if (h.centered) run_update<RmspropUpdate<true, false>>(l, h, d, s);
  else if (momentum) run_update<RmspropUpdate<false, true>>(l, h, d, s);
  else run_update<RmspropUpdate<false, false>>(l, h, d, s);
}

void adam_step(const StepLists& l, const AdamHparams& h, const DeviceScalars& d, uintptr_t s) {
  if (h.amsgrad) run_update<AdamUpdate<true>>(l, h, d, s);
  else run_update<AdamUpdate<false>>(l, h, d, s);
}

int64_t grad_norm_workspace_bytes(const std::vector<int64_t>& sizes) {
  return (total_chunks(sizes) > 0 ? total_chunks(sizes) : 1) * int64_t(sizeof(double));
}

void grad_norm(const Addresses& grads, const std::vector<int64_t>& sizes, DType dtype,
               uintptr_t workspace, uintptr_t control, double max_norm, bool check_finite,
               uintptr_t stream) {
  const StepLists l{{}, grads, {}, {}, sizes, dtype};
  double* partial = reinterpret_cast<double*>(workspace);
  int64_t done = 0;
  with_dtype(dtype, [&](auto tag) {
    using P = decltype(tag);
    for_each_launch<0>(l, [&](const Chunks<0>& c, int blocks) {
      sum_squares_kernel<P><<<blocks, kThreads, 0, as_stream(stream)>>>(c, partial + done);
      FUSEDNN_CUDA_CHECK_LAUNCH();
      done += blocks;
    });
  });
  finish_norm_kernel<<<1, kThreads, 0, as_stream(stream)>>>(
      partial, done, reinterpret_cast<StepControl*>(control), max_norm, check_finite);
  FUSEDNN_CUDA_CHECK_LAUNCH();
}

void advance_steps(const Addresses& steps, uintptr_t control, uintptr_t stream) {
  constexpr int kPer = kMaxTensors * 8;
  for (size_t first = 0; first < steps.size(); first += kPer) {
    StepPointers s{};
    s.count = int(steps.size() - first < size_t(kPer) ? steps.size() - first : kPer);
    for (int i = 0; i < s.count; ++i) s.steps[i] = reinterpret_cast<float*>(steps[first + i]);
    advance_steps_kernel<<<1, kPer, 0, as_stream(stream)>>>(
        s, reinterpret_cast<const StepControl*>(control));
    FUSEDNN_CUDA_CHECK_LAUNCH();
  }
}

}  // namespace fusednn::cuda
