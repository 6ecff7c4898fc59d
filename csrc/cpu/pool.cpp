#include "cpu/pool.h"

#include <cstring>

#include "cpu/dispatch.h"

namespace fusednn::cpu {

namespace {

constexpr int64_t kPoolParallelMin = int64_t(1) << 14;

// The window pool_kernels.h runs in one pass: 2x2, stride 2, no padding, no dilation, torch's
// output size, and plane indices exact in float.
bool is_2x2(const PoolGeometry& g) {
  return g.kernel_h == 2 && g.kernel_w == 2 && g.stride_h == 2 && g.stride_w == 2 &&
         g.pad_h == 0 && g.pad_w == 0 && g.dilation_h == 1 && g.dilation_w == 1 &&
         g.out_h == g.height / 2 && g.out_w == g.width / 2 &&
         g.height * g.width <= kPool2x2MaxPlane;
}

Pool2x2Args args_2x2(const PoolGeometry& g) {
  return Pool2x2Args{g.planes, g.height, g.width, nullptr, nullptr, nullptr, nullptr, nullptr,
                     nullptr};
}

}  // namespace

void max_pool2d_forward(const float* x, float* y, int32_t* argmax, const PoolGeometry& g) {
  if (is_2x2(g)) {
    Pool2x2Args a = args_2x2(g);
    a.x = x, a.y = y, a.argmax = argmax;
    return pool_kernels().max_pool2x2_forward(a);
  }
  const int64_t in_plane = g.height * g.width, out_plane = g.out_h * g.out_w;
#pragma omp parallel for schedule(static) if (g.planes * out_plane >= kPoolParallelMin)
  for (int64_t p = 0; p < g.planes; ++p) {
    const float* xp = x + p * in_plane;
    for (int64_t oh = 0; oh < g.out_h; ++oh) {
      for (int64_t ow = 0; ow < g.out_w; ++ow) {
        const WindowMax m = window_max(g, pool_window(g, oh, ow, true), xp);
        y[p * out_plane + oh * g.out_w + ow] = m.value;
        argmax[p * out_plane + oh * g.out_w + ow] = int32_t(m.at);
      }
    }
  }
}

void max_pool2d_backward(const float* dy, const int32_t* argmax, float* dx, const PoolGeometry& g) {
  if (is_2x2(g)) {
    Pool2x2Args a = args_2x2(g);
    a.dy = dy, a.saved_argmax = argmax, a.dx = dx;
    return pool_kernels().max_pool2x2_backward(a);
  }
  const int64_t in_plane = g.height * g.width, out_plane = g.out_h * g.out_w;
#pragma omp parallel for schedule(static) if (g.planes * out_plane >= kPoolParallelMin)
  for (int64_t p = 0; p < g.planes; ++p) {
    float* dxp = dx + p * in_plane;
    std::memset(dxp, 0, sizeof(float) * size_t(in_plane));
    for (int64_t o = 0; o < out_plane; ++o) {
      const int32_t at = argmax[p * out_plane + o];
      // -1: a window of padding only. An index outside the plane (argmax handed in from
      // elsewhere) sends nothing, as in the one-pass kernels: never a write outside dx.
      if (at >= 0 && at < in_plane) dxp[at] += dy[p * out_plane + o];
    }
  }
}

void avg_pool2d_forward(const float* x, float* y, const PoolGeometry& g, bool count_include_pad) {
  if (is_2x2(g)) {  // no padding: the divisor is 4 either way
    Pool2x2Args a = args_2x2(g);
    a.x = x, a.y = y;
    return pool_kernels().avg_pool2x2_forward(a);
  }
  const int64_t in_plane = g.height * g.width, out_plane = g.out_h * g.out_w;
#pragma omp parallel for schedule(static) if (g.planes * out_plane >= kPoolParallelMin)
  for (int64_t p = 0; p < g.planes; ++p) {
    const float* xp = x + p * in_plane;
    for (int64_t oh = 0; oh < g.out_h; ++oh) {
      for (int64_t ow = 0; ow < g.out_w; ++ow) {
        y[p * out_plane + oh * g.out_w + ow] =
            window_mean(g, pool_window(g, oh, ow, count_include_pad), xp);
      }
    }
  }
}

void avg_pool2d_backward(const float* dy, float* dx, const PoolGeometry& g, bool count_include_pad) {
  if (is_2x2(g)) {
    Pool2x2Args a = args_2x2(g);
    a.dy = dy, a.dx = dx;
    return pool_kernels().avg_pool2x2_backward(a);
  }
  const int64_t in_plane = g.height * g.width, out_plane = g.out_h * g.out_w;
#pragma omp parallel for schedule(static) if (g.planes * out_plane >= kPoolParallelMin)
  for (int64_t p = 0; p < g.planes; ++p) {
    float* dxp = dx + p * in_plane;
    std::memset(dxp, 0, sizeof(float) * size_t(in_plane));
    for (int64_t oh = 0; oh < g.out_h; ++oh) {
      for (int64_t ow = 0; ow < g.out_w; ++ow) {
        const PoolWindow w = pool_window(g, oh, ow, count_include_pad);
        const float share = dy[p * out_plane + oh * g.out_w + ow] / float(w.area);
        for_each_tap(g, w, [&](int64_t i) { dxp[i] += share; });
      }
    }
  }
}

}  // namespace fusednn::cpu
