#include "cpu/layers.h"

#include <cstring>
#include <vector>

#include "cpu/blas.h"
#include "cpu/dispatch.h"

namespace fusednn::cpu {

namespace {

void epilogue_forward(float* y, float* saved, const ChannelShape& shape, const Epilogue& e) {
  if (!e.bias && e.act == Act::kIdentity) return;
  nn_kernels().bias_act_forward(
      BiasActForwardArgs{y, e.bias, y, act_saves_input(e.act) ? saved : nullptr, shape, e.act, e.slope});
}

// dz = dy * act'(saved) and dbias; returns the gradient to feed the GEMMs (dy itself when
// there is nothing to apply).
const float* epilogue_backward(const float* dy, const float* saved, float* dz, float* dbias,
                               const ChannelShape& shape, Act act, float slope) {
  if (act == Act::kIdentity && !dbias) return dy;
  nn_kernels().bias_act_backward(BiasActBackwardArgs{dy, saved, dz, dbias, shape, act, slope});
  return dz;
}

}  // namespace

void linear_forward(const float* x, const float* w, float* y, float* saved, int64_t batch,
                    int64_t in, int64_t out, const Epilogue& e) {
  if (in == 0) {
    std::memset(y, 0, sizeof(float) * size_t(batch * out));
  } else {
    sgemm(false, true, batch, out, in, 1.f, x, in, w, in, 0.f, y, out);
  }
  epilogue_forward(y, saved, ChannelShape{batch, out, 1}, e);
}

void linear_backward(const float* x, const float* w, const float* dy, const float* saved,
                     float* dz, float* dx, float* dw, float* dbias, int64_t batch, int64_t in,
                     int64_t out, Act act, float slope) {
  const float* g = epilogue_backward(dy, saved, dz, dbias, ChannelShape{batch, out, 1}, act, slope);
  if (dx) {
    if (out == 0) std::memset(dx, 0, sizeof(float) * size_t(batch * in));
    else sgemm(false, false, batch, in, out, 1.f, g, out, w, in, 0.f, dx, in);
  }
  if (dw) {
    if (batch == 0) std::memset(dw, 0, sizeof(float) * size_t(out * in));
    else sgemm(true, false, out, in, batch, 1.f, g, out, x, in, 0.f, dw, in);
  }
}

void conv2d_forward(const float* x, const float* w, float* y, float* saved, int64_t batch,
                    int64_t out_channels, const ConvGeometry& g, const Epilogue& e) {
  const int64_t K = g.col_rows(), P = g.col_cols(), image = g.channels * g.height * g.width;
  std::vector<float> col(g.is_pointwise() ? 0 : size_t(K * P));
  for (int64_t n = 0; n < batch; ++n) {
    const float* cols = x + n * image;
    if (!g.is_pointwise()) {
      im2col(x + n * image, col.data(), g);
      cols = col.data();
    }
    sgemm(false, false, out_channels, P, K, 1.f, w, K, cols, P, 0.f, y + n * out_channels * P, P);
  }
  epilogue_forward(y, saved, ChannelShape{batch, out_channels, P}, e);
}

void conv2d_backward(const float* x, const float* w, const float* dy, const float* saved,
                     float* dz, float* dx, float* dw, float* dbias, int64_t batch,
                     int64_t out_channels, const ConvGeometry& g, Act act, float slope) {
  const int64_t K = g.col_rows(), P = g.col_cols(), image = g.channels * g.height * g.width;
  const float* gz = epilogue_backward(dy, saved, dz, dbias,
                                      ChannelShape{batch, out_channels, P}, act, slope);
  std::vector<float> col(g.is_pointwise() ? 0 : size_t(K * P));
  if (dw && batch == 0) std::memset(dw, 0, sizeof(float) * size_t(out_channels * K));
  for (int64_t n = 0; n < batch; ++n) {
    const float* gn = gz + n * out_channels * P;
    if (dw) {
      const float* cols = x + n * image;
      if (!g.is_pointwise()) {
        im2col(x + n * image, col.data(), g);
        cols = col.data();
      }
      sgemm(false, true, out_channels, K, P, 1.f, gn, P, cols, P, n == 0 ? 0.f : 1.f, dw, K);
    }
    if (dx) {
      if (g.is_pointwise()) {
        sgemm(true, false, K, P, out_channels, 1.f, w, K, gn, P, 0.f, dx + n * image, P);
      } else {
        sgemm(true, false, K, P, out_channels, 1.f, w, K, gn, P, 0.f, col.data(), P);
        col2im(col.data(), dx + n * image, g);
      }
    }
  }
}

}  // namespace fusednn::cpu
