// ============================================================================================
// Fused optimizers on the GPU: the per-element math of optim_math.h (shared with the scalar
// and AVX2 CPU paths) inside the multi-tensor engine of multi_tensor.cuh, plus the
// device-side global gradient norm that drives fused clipping and the non-finite skip.
// ============================================================================================
#include <cstdint>

#include "cuda/multi_tensor.cuh"
#include "cuda/update_kernels.cuh"
#include "fusednn/optim_hparams.h"
#include "fusednn/optim_math.h"

namespace fusednn::cuda {
namespace {

template <class Update, class Hparams>
void run_update(const StepLists& l, const Hparams& h, const DeviceScalars& d, uintptr_t stream) {
  constexpr int S = Update::kStates;
  if (int(l.states.size()) != S) throw std::invalid_argument("wrong number of state lists");
  with_dtype(l.dtype, [&](auto tag) {
    using P = decltype(tag);
    for_each_launch<S>(l, [&](const Chunks<S>& c, int blocks) {
      update::update_kernel<P, Update, Hparams><<<blocks, kThreads, 0, as_stream(stream)>>>(
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
    control->steps += 1;
    if (control->skip) control->last_skipped = control->steps;
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
