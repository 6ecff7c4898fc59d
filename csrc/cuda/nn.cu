// ============================================================================================
// The layer kernels on the GPU: the bias + activation epilogue and its backward (the same
// per-element math as the CPU twins, fusednn/act_math.h), the per-channel bias-gradient sum,
// im2col / col2im over a whole batch, max / average pooling, and softmax cross-entropy with
// one warp per row. Grid-stride loops with 64-bit indices throughout.
// ============================================================================================
#include <cfloat>
#include <cstdint>

#include "cuda/common.cuh"
#include "cuda/launch.h"
#include "cuda/layer_kernels.cuh"
#include "fusednn/act_math.h"
#include "fusednn/vec_scalar.h"

namespace fusednn::cuda {
namespace {

constexpr int kThreads = 256;

#define FUSEDNN_GRID_STRIDE(i, n) \
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < (n); i += int64_t(gridDim.x) * blockDim.x)

template <Act A>
__global__ void bias_act_forward_kernel(const float* z, const float* bias, float* y, float* saved,
                                        int64_t n, int64_t channels, int64_t inner, float slope) {
  FUSEDNN_GRID_STRIDE(i, n) {
    float v = z[i];
    if (bias) v += bias[(i / inner) % channels];
    if (act_saves_input(A) && saved) saved[i] = v;
    y[i] = act_forward<A>(v, slope);
  }
}

template <Act A>
__global__ void bias_act_backward_kernel(const float* dy, const float* s, float* dz, int64_t n,
                                         float slope) {
  FUSEDNN_GRID_STRIDE(i, n) {
    dz[i] = act_backward<A>(dy[i], A == Act::kIdentity ? 0.f : s[i], slope);
  }
}

// One block per channel: dbias[c] = sum over outer and inner of g[o, c, i], each thread's
// share from layer::channel_share, then a tree over the block.
constexpr int kSumThreads = 512;
__global__ void __launch_bounds__(kSumThreads)
    channel_sum_kernel(const float* __restrict__ g, float* __restrict__ out, int64_t outer,
                       int64_t channels, int64_t inner) {
  __shared__ float partial[kSumThreads];
  const float acc = layer::channel_share(g, outer, channels, inner, blockIdx.x, threadIdx.x,
                                         blockDim.x);
  partial[threadIdx.x] = acc;
  __syncthreads();
  for (int s = blockDim.x / 2; s > 0; s >>= 1) {
    if (int(threadIdx.x) < s) partial[threadIdx.x] += partial[threadIdx.x + s];
    __syncthreads();
  }
  if (threadIdx.x == 0) out[blockIdx.x] = partial[0];
}

__global__ void max_pool_forward_kernel(const float* x, float* y, int32_t* argmax, PoolGeometry g) {
  const int64_t out_plane = g.out_h * g.out_w, total = g.planes * out_plane;
  FUSEDNN_GRID_STRIDE(idx, total) {
    const int64_t p = idx / out_plane, o = idx % out_plane;
    const WindowMax m = window_max(g, pool_window(g, o / g.out_w, o % g.out_w, true),
                                   x + p * g.height * g.width);
    y[idx] = m.value;
    argmax[idx] = int32_t(m.at);
  }
}

__global__ void max_pool_backward_kernel(const float* dy, const int32_t* argmax, float* dx,
                                         PoolGeometry g) {
  const int64_t out_plane = g.out_h * g.out_w, total = g.planes * out_plane;
  FUSEDNN_GRID_STRIDE(idx, total) {
    const int32_t at = argmax[idx];
    if (at >= 0) atomicAdd(dx + idx / out_plane * g.height * g.width + at, dy[idx]);
  }
}

__global__ void avg_pool_forward_kernel(const float* x, float* y, PoolGeometry g, bool include_pad) {
  const int64_t out_plane = g.out_h * g.out_w, total = g.planes * out_plane;
  FUSEDNN_GRID_STRIDE(idx, total) {
    const int64_t p = idx / out_plane, o = idx % out_plane;
    y[idx] = window_mean(g, pool_window(g, o / g.out_w, o % g.out_w, include_pad),
                         x + p * g.height * g.width);
  }
}

__global__ void avg_pool_backward_kernel(const float* dy, float* dx, PoolGeometry g, bool include_pad) {
  const int64_t out_plane = g.out_h * g.out_w, total = g.planes * out_plane;
  FUSEDNN_GRID_STRIDE(idx, total) {
    const int64_t p = idx / out_plane, o = idx % out_plane;
    const PoolWindow w = pool_window(g, o / g.out_w, o % g.out_w, include_pad);
    float* dxp = dx + p * g.height * g.width;
    const float share = dy[idx] / float(w.area);
    for_each_tap(g, w, [&](int64_t i) { atomicAdd(dxp + i, share); });
  }
}

__device__ float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}
__device__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// One warp per row; the row's math is the CPU engine's (nn_engine.h softmax_xent_row).
__global__ void softmax_xent_kernel(const float* logits, int64_t rows, int64_t C,
                                    const int64_t* tidx, const float* tprob, const float* weight,
                                    int64_t ignore_index, float* loss, float* dlogits,
                                    float scale) {
  const int lane = threadIdx.x % 32;
  const int64_t warps = int64_t(gridDim.x) * (blockDim.x / 32);
  for (int64_t r = int64_t(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32; r < rows; r += warps) {
    const float* x = logits + r * C;
    float* dx = dlogits ? dlogits + r * C : nullptr;
    if (tidx && tidx[r] == ignore_index) {
      if (lane == 0) loss[r] = 0.f;
      if (dx) for (int64_t c = lane; c < C; c += 32) dx[c] = 0.f;
      continue;
    }
    float m = -FLT_MAX;
    for (int64_t c = lane; c < C; c += 32) m = fmaxf(m, x[c]);
    m = warp_max(m);
    float s = 0.f;
    for (int64_t c = lane; c < C; c += 32) s += expf(x[c] - m);
    s = warp_sum(s);
    const float lse = m + logf(s);
    if (tidx) {
      const int64_t t = tidx[r];
      const float w = weight ? weight[t] : 1.f;
      if (lane == 0) loss[r] = w * (lse - x[t]);
      if (dx) {
        for (int64_t c = lane; c < C; c += 32) {
          dx[c] = (w * (expf(x[c] - m) / s) - (c == t ? w : 0.f)) * scale;
        }
      }
      continue;
    }
    const float* q = tprob + r * C;
    float l = 0.f, mass = 0.f;
    for (int64_t c = lane; c < C; c += 32) {
      const float wq = (weight ? weight[c] : 1.f) * q[c];
      l += wq * (lse - x[c]);
      mass += wq;
    }
    l = warp_sum(l);
    mass = warp_sum(mass);
    if (lane == 0) loss[r] = l;
    if (dx) {
      for (int64_t c = lane; c < C; c += 32) {
        dx[c] = (expf(x[c] - m) / s * mass - (weight ? weight[c] : 1.f) * q[c]) * scale;
      }
    }
  }
}

// out[j] (+)= the sum over i of slices[i * n + j], in i order.
__global__ void sum_slices_kernel(const float* slices, int64_t count, int64_t n, float* out,
                                  bool accumulate) {
  FUSEDNN_GRID_STRIDE(j, n) {
    float acc = accumulate ? out[j] : 0.f;
    for (int64_t i = 0; i < count; ++i) acc += slices[i * n + j];
    out[j] = acc;
  }
}

inline unsigned grid(int64_t n) { return blocks_for(n, kThreads, int64_t(1) << 20); }

}  // namespace

void bias_act_forward(uintptr_t z, uintptr_t bias, uintptr_t y, uintptr_t saved, int64_t outer,
                      int64_t channels, int64_t inner, int act, float slope, uintptr_t stream) {
  const int64_t n = outer * channels * inner;
  if (n <= 0) return;
  with_act(static_cast<Act>(act), [&](auto tag) {
    constexpr Act A = decltype(tag)::value;
    bias_act_forward_kernel<A><<<grid(n), kThreads, 0, as_stream(stream)>>>(
        reinterpret_cast<const float*>(z), reinterpret_cast<const float*>(bias),
        reinterpret_cast<float*>(y), reinterpret_cast<float*>(saved), n, channels, inner, slope);
  });
  FUSEDNN_CUDA_CHECK_LAUNCH();
}

void bias_act_backward(uintptr_t dy, uintptr_t saved, uintptr_t dz, uintptr_t dbias, int64_t outer,
                       int64_t channels, int64_t inner, int act, float slope, uintptr_t stream) {
  const int64_t n = outer * channels * inner;
  if (n > 0) {
    with_act(static_cast<Act>(act), [&](auto tag) {
      constexpr Act A = decltype(tag)::value;
      bias_act_backward_kernel<A><<<grid(n), kThreads, 0, as_stream(stream)>>>(
          reinterpret_cast<const float*>(dy), reinterpret_cast<const float*>(saved),
          reinterpret_cast<float*>(dz), n, slope);
    });
    FUSEDNN_CUDA_CHECK_LAUNCH();
  }
  if (dbias) channel_sum(dz, dbias, outer, channels, inner, stream);
}

void channel_sum(uintptr_t g, uintptr_t out, int64_t outer, int64_t channels, int64_t inner,
                 uintptr_t stream) {
  if (channels <= 0) return;
  if (channels > INT32_MAX) throw std::invalid_argument("channel_sum: over 2^31-1 channels");
  channel_sum_kernel<<<unsigned(channels), kSumThreads, 0, as_stream(stream)>>>(
      reinterpret_cast<const float*>(g), reinterpret_cast<float*>(out), outer, channels, inner);
  FUSEDNN_CUDA_CHECK_LAUNCH();
}

void sum_slices(uintptr_t slices, int64_t count, int64_t n, uintptr_t out, bool accumulate,
                uintptr_t stream) {
  if (n <= 0) return;
  sum_slices_kernel<<<grid(n), kThreads, 0, as_stream(stream)>>>(
      reinterpret_cast<const float*>(slices), count, n, reinterpret_cast<float*>(out), accumulate);
  FUSEDNN_CUDA_CHECK_LAUNCH();
}

// The in-plane index math of im2col/col2im is 32-bit: a plane, a col row and every window
// extent must stay under 2^31 (a single plane of 8 GiB; refused rather than wrapped).
static void check_conv_fits_32_bits(const ConvGeometry& g, const char* where) {
  const int64_t limit = INT32_MAX;
  const int64_t reach_h = (g.out_h - 1) * g.stride_h + (g.kernel_h - 1) * g.dilation_h;
  const int64_t reach_w = (g.out_w - 1) * g.stride_w + (g.kernel_w - 1) * g.dilation_w;
  if (g.height * g.width > limit || g.col_cols() > limit || reach_h > limit || reach_w > limit ||
      g.pad_h > limit || g.pad_w > limit || g.kernel_h * g.kernel_w > limit) {
    throw std::invalid_argument(std::string(where) +
                                ": a plane or window over 2^31-1 elements is not supported on "
                                "the GPU");
  }
}

void im2col(uintptr_t x, uintptr_t col, int64_t count, const ConvGeometry& g, uintptr_t stream) {
  const int64_t rows = count * g.col_rows();
  if (rows <= 0 || g.col_cols() <= 0) return;
  check_conv_fits_32_bits(g, "im2col");
  const layer::RowBlocks rb = layer::row_blocks(rows, g.col_cols());
  layer::im2col_kernel<<<rb.grid, rb.block, 0, as_stream(stream)>>>(
      reinterpret_cast<const float*>(x), reinterpret_cast<float*>(col), rows, g);
  FUSEDNN_CUDA_CHECK_LAUNCH();
}

void col2im(uintptr_t col, uintptr_t x, int64_t count, const ConvGeometry& g, uintptr_t stream) {
  const int64_t planes = count * g.channels;
  if (planes <= 0 || g.height * g.width <= 0) return;
  check_conv_fits_32_bits(g, "col2im");
  const layer::RowBlocks rb = layer::row_blocks(planes, g.height * g.width);
  layer::col2im_kernel<<<rb.grid, rb.block, 0, as_stream(stream)>>>(
      reinterpret_cast<const float*>(col), reinterpret_cast<float*>(x), planes, g);
  FUSEDNN_CUDA_CHECK_LAUNCH();
}

void max_pool2d_forward(uintptr_t x, uintptr_t y, uintptr_t argmax, const PoolGeometry& g,
                        uintptr_t stream) {
  const int64_t total = g.planes * g.out_h * g.out_w;
  if (total <= 0) return;
  max_pool_forward_kernel<<<grid(total), kThreads, 0, as_stream(stream)>>>(
      reinterpret_cast<const float*>(x), reinterpret_cast<float*>(y),
      reinterpret_cast<int32_t*>(argmax), g);
  FUSEDNN_CUDA_CHECK_LAUNCH();
}

void max_pool2d_backward(uintptr_t dy, uintptr_t argmax, uintptr_t dx, const PoolGeometry& g,
                         uintptr_t stream) {
  FUSEDNN_CUDA_CHECK(cudaMemsetAsync(reinterpret_cast<void*>(dx), 0,
                                     sizeof(float) * size_t(g.planes * g.height * g.width),
                                     as_stream(stream)));
  const int64_t total = g.planes * g.out_h * g.out_w;
  if (total <= 0) return;
  max_pool_backward_kernel<<<grid(total), kThreads, 0, as_stream(stream)>>>(
      reinterpret_cast<const float*>(dy), reinterpret_cast<const int32_t*>(argmax),
      reinterpret_cast<float*>(dx), g);
  FUSEDNN_CUDA_CHECK_LAUNCH();
}

void avg_pool2d_forward(uintptr_t x, uintptr_t y, const PoolGeometry& g, bool include_pad,
                        uintptr_t stream) {
  const int64_t total = g.planes * g.out_h * g.out_w;
  if (total <= 0) return;
  avg_pool_forward_kernel<<<grid(total), kThreads, 0, as_stream(stream)>>>(
      reinterpret_cast<const float*>(x), reinterpret_cast<float*>(y), g, include_pad);
  FUSEDNN_CUDA_CHECK_LAUNCH();
}

void avg_pool2d_backward(uintptr_t dy, uintptr_t dx, const PoolGeometry& g, bool include_pad,
                         uintptr_t stream) {
  FUSEDNN_CUDA_CHECK(cudaMemsetAsync(reinterpret_cast<void*>(dx), 0,
                                     sizeof(float) * size_t(g.planes * g.height * g.width),
                                     as_stream(stream)));
  const int64_t total = g.planes * g.out_h * g.out_w;
  if (total <= 0) return;
  avg_pool_backward_kernel<<<grid(total), kThreads, 0, as_stream(stream)>>>(
      reinterpret_cast<const float*>(dy), reinterpret_cast<float*>(dx), g, include_pad);
  FUSEDNN_CUDA_CHECK_LAUNCH();
}

void softmax_xent(uintptr_t logits, int64_t rows, int64_t classes, uintptr_t target_index,
                  uintptr_t target_prob, uintptr_t weight, int64_t ignore_index, uintptr_t loss,
                  uintptr_t dlogits, float grad_scale, uintptr_t stream) {
  if (rows <= 0) return;
  const int warps_per_block = kThreads / 32;
  softmax_xent_kernel<<<blocks_for(rows, warps_per_block, int64_t(1) << 20), kThreads, 0,
                        as_stream(stream)>>>(
      reinterpret_cast<const float*>(logits), rows, classes,
      reinterpret_cast<const int64_t*>(target_index), reinterpret_cast<const float*>(target_prob),
      reinterpret_cast<const float*>(weight), ignore_index, reinterpret_cast<float*>(loss),
      reinterpret_cast<float*>(dlogits), grad_scale);
  FUSEDNN_CUDA_CHECK_LAUNCH();
}

}  // namespace fusednn::cuda
