#include "cpu/im2col.h"

#include <cstring>

namespace fusednn::cpu {

// Rows are independent: one per (channel, kernel row, kernel column); threads split them.
void im2col(const float* image, float* col, const ConvGeometry& g) {
  const int64_t rows = g.col_rows(), cols = g.col_cols();
#pragma omp parallel for schedule(static) if (rows * cols >= (int64_t(1) << 16))
  for (int64_t row = 0; row < rows; ++row) {
    const int64_t kw = row % g.kernel_w, kh = row / g.kernel_w % g.kernel_h;
    const int64_t c = row / (g.kernel_w * g.kernel_h);
    const float* plane = image + c * g.height * g.width;
    float* out = col + row * cols;
    for (int64_t oh = 0; oh < g.out_h; ++oh) {
      const int64_t ih = oh * g.stride_h - g.pad_h + kh * g.dilation_h;
      float* line = out + oh * g.out_w;
      if (ih < 0 || ih >= g.height) {
        std::memset(line, 0, sizeof(float) * size_t(g.out_w));
        continue;
      }
      const float* src = plane + ih * g.width;
      const int64_t shift = kw * g.dilation_w - g.pad_w;
      for (int64_t ow = 0; ow < g.out_w; ++ow) {
        const int64_t iw = ow * g.stride_w + shift;
        line[ow] = (iw >= 0 && iw < g.width) ? src[iw] : 0.f;
      }
    }
  }
}

// Channels are independent (a pixel only receives from its own channel's rows).
void col2im(const float* col, float* image, const ConvGeometry& g) {
  const int64_t cols = g.col_cols(), kk = g.kernel_h * g.kernel_w;
#pragma omp parallel for schedule(static) if (g.col_rows() * cols >= (int64_t(1) << 16))
  for (int64_t c = 0; c < g.channels; ++c) {
    float* plane = image + c * g.height * g.width;
    std::memset(plane, 0, sizeof(float) * size_t(g.height * g.width));
    for (int64_t k = 0; k < kk; ++k) {
      const int64_t kh = k / g.kernel_w, kw = k % g.kernel_w;
      const float* in = col + (c * kk + k) * cols;
      for (int64_t oh = 0; oh < g.out_h; ++oh) {
        const int64_t ih = oh * g.stride_h - g.pad_h + kh * g.dilation_h;
        if (ih < 0 || ih >= g.height) continue;
        float* dst = plane + ih * g.width;
        const float* line = in + oh * g.out_w;
        const int64_t shift = kw * g.dilation_w - g.pad_w;
        for (int64_t ow = 0; ow < g.out_w; ++ow) {
          const int64_t iw = ow * g.stride_w + shift;
          if (iw >= 0 && iw < g.width) dst[iw] += line[ow];
        }
      }
    }
  }
}

}  // namespace fusednn::cpu
