#include "cpu/pool.h"

#include <math.h>

#include <cstring>
#include <limits>

namespace fusednn::cpu {

namespace {

constexpr int64_t kPoolParallelMin = int64_t(1) << 14;

}  // namespace

void max_pool2d_forward(const float* x, float* y, int32_t* argmax, const PoolGeometry& g) {
  const int64_t in_plane = g.height * g.width, out_plane = g.out_h * g.out_w;
#pragma omp parallel for schedule(static) if (g.planes * out_plane >= kPoolParallelMin)
  for (int64_t p = 0; p < g.planes; ++p) {
    const float* xp = x + p * in_plane;
    for (int64_t oh = 0; oh < g.out_h; ++oh) {
      for (int64_t ow = 0; ow < g.out_w; ++ow) {
        const PoolWindow w = pool_window(g, oh, ow, true);
        float best = -std::numeric_limits<float>::infinity();
        int64_t at = w.h0 * g.width + w.w0;
        for (int64_t ih = w.h0; ih < w.h1; ih += g.dilation_h) {
          for (int64_t iw = w.w0; iw < w.w1; iw += g.dilation_w) {
            const float v = xp[ih * g.width + iw];
            if (v > best || isnan(v)) {
              best = v;
              at = ih * g.width + iw;
              if (isnan(v)) goto done;
            }
          }
        }
      done:
        y[p * out_plane + oh * g.out_w + ow] = best;
        argmax[p * out_plane + oh * g.out_w + ow] = int32_t(at);
      }
    }
  }
}

void max_pool2d_backward(const float* dy, const int32_t* argmax, float* dx, const PoolGeometry& g) {
  const int64_t in_plane = g.height * g.width, out_plane = g.out_h * g.out_w;
#pragma omp parallel for schedule(static) if (g.planes * out_plane >= kPoolParallelMin)
  for (int64_t p = 0; p < g.planes; ++p) {
    float* dxp = dx + p * in_plane;
    std::memset(dxp, 0, sizeof(float) * size_t(in_plane));
    for (int64_t o = 0; o < out_plane; ++o) dxp[argmax[p * out_plane + o]] += dy[p * out_plane + o];
  }
}

void avg_pool2d_forward(const float* x, float* y, const PoolGeometry& g, bool count_include_pad) {
  const int64_t in_plane = g.height * g.width, out_plane = g.out_h * g.out_w;
#pragma omp parallel for schedule(static) if (g.planes * out_plane >= kPoolParallelMin)
  for (int64_t p = 0; p < g.planes; ++p) {
    const float* xp = x + p * in_plane;
    for (int64_t oh = 0; oh < g.out_h; ++oh) {
      for (int64_t ow = 0; ow < g.out_w; ++ow) {
        const PoolWindow w = pool_window(g, oh, ow, count_include_pad);
        float sum = 0.f;
        for (int64_t ih = w.h0; ih < w.h1; ih += g.dilation_h) {
          for (int64_t iw = w.w0; iw < w.w1; iw += g.dilation_w) sum += xp[ih * g.width + iw];
        }
        y[p * out_plane + oh * g.out_w + ow] = sum / float(w.area);
      }
    }
  }
}

void avg_pool2d_backward(const float* dy, float* dx, const PoolGeometry& g, bool count_include_pad) {
  const int64_t in_plane = g.height * g.width, out_plane = g.out_h * g.out_w;
#pragma omp parallel for schedule(static) if (g.planes * out_plane >= kPoolParallelMin)
  for (int64_t p = 0; p < g.planes; ++p) {
    float* dxp = dx + p * in_plane;
    std::memset(dxp, 0, sizeof(float) * size_t(in_plane));
    for (int64_t oh = 0; oh < g.out_h; ++oh) {
      for (int64_t ow = 0; ow < g.out_w; ++ow) {
        const PoolWindow w = pool_window(g, oh, ow, count_include_pad);
        const float share = dy[p * out_plane + oh * g.out_w + ow] / float(w.area);
        for (int64_t ih = w.h0; ih < w.h1; ih += g.dilation_h) {
          for (int64_t iw = w.w0; iw < w.w1; iw += g.dilation_w) dxp[ih * g.width + iw] += share;
        }
      }
    }
  }
}

}  // namespace fusednn::cpu
