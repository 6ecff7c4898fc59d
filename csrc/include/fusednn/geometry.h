// Window geometry of a 2-D convolution or pooling over NCHW data, shared by the CPU and CUDA
// kernels and bound to Python field by field from the X-lists below.
#pragma once
#include <math.h>

#include <cstdint>
#include <stdexcept>
#include <type_traits>
#include <vector>

#include "fusednn/macros.h"

namespace fusednn {

// height/width: the input plane; out_h/out_w: the output plane.
#define FUSEDNN_WINDOW_FIELDS(X)                                                            \
  X(int64_t, height) X(int64_t, width) X(int64_t, kernel_h) X(int64_t, kernel_w)             \
  X(int64_t, stride_h) X(int64_t, stride_w) X(int64_t, pad_h) X(int64_t, pad_w)              \
  X(int64_t, dilation_h) X(int64_t, dilation_w) X(int64_t, out_h) X(int64_t, out_w)
#define FUSEDNN_CONV_FIELDS(X) X(int64_t, channels) FUSEDNN_WINDOW_FIELDS(X)
#define FUSEDNN_POOL_FIELDS(X) X(int64_t, planes) FUSEDNN_WINDOW_FIELDS(X) X(bool, ceil_mode)

struct Window2d {
#define FUSEDNN_WINDOW_FIELD(type, name) type name;
  FUSEDNN_WINDOW_FIELDS(FUSEDNN_WINDOW_FIELD)
#undef FUSEDNN_WINDOW_FIELD
};

// A convolution's input sample has `channels` planes; im2col's col has channels*kh*kw rows
// (channel-major, then kernel row, then kernel column: torch's weight layout
// (out_c, in_c, kh, kw) flattened) and out_h*out_w columns.
struct ConvGeometry : Window2d {
  int64_t channels;
  FUSEDNN_HD int64_t col_rows() const { return channels * kernel_h * kernel_w; }
  FUSEDNN_HD int64_t col_cols() const { return out_h * out_w; }
  // A 1x1, stride-1, unpadded kernel: col is the input itself.
  FUSEDNN_HD bool is_pointwise() const {
    return kernel_h == 1 && kernel_w == 1 && stride_h == 1 && stride_w == 1 && pad_h == 0 &&
           pad_w == 0;
  }
};

// The largest plane (height * width) the one-pass 2x2 pooling and the fused conv + pool take:
// their plane indices travel as float32, exact below 2^24. Larger planes take the general loops.
constexpr int64_t kPool2x2MaxPlane = int64_t(1) << 24;

// The output extent of a window sliding over `size` inputs (torch's rule): windows that fit
// the padded input, or with ceil_mode one more partial window at the end, as long as it
// starts inside the input or its left padding. 0 when not even one window fits.
FUSEDNN_HD inline int64_t window_output_size(int64_t size, int64_t kernel, int64_t stride,
                                             int64_t pad, int64_t dilation, bool ceil_mode) {
  const int64_t span = size + 2 * pad - dilation * (kernel - 1) - 1 + (ceil_mode ? stride - 1 : 0);
  if (span < 0) return 0;  // rounded down, the last window would start before the first
  int64_t out = span / stride + 1;
  if (ceil_mode && (out - 1) * stride >= size + pad) --out;
  return out;
}

// Pooling runs over `planes` = batch * channels independent planes; `ceil_mode` says which
// of window_output_size's rules gave out_h and out_w (the windows themselves are clipped to
// the input either way).
struct PoolGeometry : Window2d {
  int64_t planes;
  bool ceil_mode;
};

// The window of pooling output (oh, ow): input rows [h0, h1) and columns [w0, w1), stepped
// by the dilation and clipped to the image; `area` is average pooling's divisor (torch's: the
// window clipped to the padded image when padding counts, the real taps otherwise).
struct PoolWindow {
  int64_t h0, h1, w0, w1, area;
};

FUSEDNN_HD inline PoolWindow pool_window(const PoolGeometry& g, int64_t oh, int64_t ow,
                                         bool count_include_pad) {
  PoolWindow w;
  const int64_t hs = oh * g.stride_h - g.pad_h, ws = ow * g.stride_w - g.pad_w;
  const int64_t he = hs + (g.kernel_h - 1) * g.dilation_h + 1;
  const int64_t we = ws + (g.kernel_w - 1) * g.dilation_w + 1;
  // Clipped starts stay on the dilation grid.
  w.h0 = hs < 0 ? hs + (-hs + g.dilation_h - 1) / g.dilation_h * g.dilation_h : hs;
  w.w0 = ws < 0 ? ws + (-ws + g.dilation_w - 1) / g.dilation_w * g.dilation_w : ws;
  w.h1 = he < g.height ? he : g.height;
  w.w1 = we < g.width ? we : g.width;
  if (count_include_pad) {
    w.area = ((he < g.height + g.pad_h ? he : g.height + g.pad_h) - hs) *
             ((we < g.width + g.pad_w ? we : g.width + g.pad_w) - ws);
  } else {
    w.area = ((w.h1 - w.h0 + g.dilation_h - 1) / g.dilation_h) *
             ((w.w1 - w.w0 + g.dilation_w - 1) / g.dilation_w);
  }
  return w;
}

// fn(index in the plane) for every input tap of window w, row by row.
template <class Fn>
FUSEDNN_HD inline void for_each_tap(const PoolGeometry& g, const PoolWindow& w, Fn&& fn) {
  for (int64_t ih = w.h0; ih < w.h1; ih += g.dilation_h) {
    for (int64_t iw = w.w0; iw < w.w1; iw += g.dilation_w) fn(ih * g.width + iw);
  }
}

// The maximum of window w over one plane and where it is (-1 for an empty window); the first
// NaN wins, as in torch.
struct WindowMax {
  float value;
  int64_t at;
};

FUSEDNN_HD inline WindowMax window_max(const PoolGeometry& g, const PoolWindow& w,
                                       const float* plane) {
  // A window that covers only padding (possible with dilation) has no tap: -inf, as torch
  // gives, and no position (-1) for the backward to send a gradient to.
  WindowMax m{-INFINITY, (w.h0 < w.h1 && w.w0 < w.w1) ? w.h0 * g.width + w.w0 : -1};
  for (int64_t ih = w.h0; ih < w.h1; ih += g.dilation_h) {
    for (int64_t iw = w.w0; iw < w.w1; iw += g.dilation_w) {
      const float v = plane[ih * g.width + iw];
      if (v > m.value || v != v) {
        m = WindowMax{v, ih * g.width + iw};
        if (v != v) return m;
      }
    }
  }
  return m;
}

FUSEDNN_HD inline float window_mean(const PoolGeometry& g, const PoolWindow& w,
                                    const float* plane) {
  float sum = 0.f;
  for_each_tap(g, w, [&](int64_t i) { sum += plane[i]; });
  return sum / float(w.area);
}

}  // namespace fusednn
