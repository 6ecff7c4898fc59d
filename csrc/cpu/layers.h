// GEMM-backed layers on the CPU: OpenBLAS for the products, then one pass of the active
// backend's bias + activation kernel (nn_kernels.h) over the result, and the reverse for the
// backward. Shapes are checked by the Python front; pointers are to C-contiguous float32.
#pragma once
#include <cstdint>

#include "cpu/im2col.h"
#include "fusednn/act_math.h"

namespace fusednn::cpu {

struct Epilogue {
  const float* bias;  // nullable
  Act act;
  float slope;
};

// y[batch, out] = act(x[batch, in] w[out, in]^T + bias); saved (when act_saves_input) gets the
// pre-activation.
void linear_forward(const float* x, const float* w, float* y, float* saved, int64_t batch,
                    int64_t in, int64_t out, const Epilogue& e);

// From dy (and saved: y or the pre-activation), dz = dy * act'(.), then
// dx = dz w, dw = dz^T x, dbias = sum of dz over the batch. dz is scratch [batch, out] and may
// be dy itself; dx, dw, dbias are each nullable.
void linear_backward(const float* x, const float* w, const float* dy, const float* saved,
                     float* dz, float* dx, float* dw, float* dbias, int64_t batch, int64_t in,
                     int64_t out, Act act, float slope);

// y[n, out_c, out_h, out_w] = act(conv(x[n], w[out_c, c, kh, kw]) + bias), per sample one
// im2col and one GEMM.
void conv2d_forward(const float* x, const float* w, float* y, float* saved, int64_t batch,
                    int64_t out_channels, const ConvGeometry& g, const Epilogue& e);

// The conv's backward: dz as for linear_backward, then per sample dw += dz col^T and
// dx = col2im(w^T dz).
void conv2d_backward(const float* x, const float* w, const float* dy, const float* saved,
                     float* dz, float* dx, float* dw, float* dbias, int64_t batch,
                     int64_t out_channels, const ConvGeometry& g, Act act, float slope);

// Conv2D followed by a 2x2 stride-2 max-pool, the epilogue and the pool in one pass
// (pool_kernels.h ConvPoolForwardArgs): z [n, out_c, out_h, out_w] is scratch for the raw conv
// output; y, argmax and saved (nullable unless the activation reads its input) are pooled
// [n, out_c, out_h / 2, out_w / 2]. Equal to conv2d_forward then max_pool2d_forward.
void conv2d_pool_forward(const float* x, const float* w, float* z, float* y, int32_t* argmax,
                         float* saved, int64_t batch, int64_t out_channels,
                         const ConvGeometry& g, const Epilogue& e);

// Its backward: dz (scratch, the conv's output shape) from the pooled dy, argmax and saved (y
// or the pre-activation), dbias with it, then the conv's GEMMs as conv2d_backward's.
void conv2d_pool_backward(const float* x, const float* w, const float* dy,
                          const int32_t* argmax, const float* saved, float* dz, float* dx,
                          float* dw, float* dbias, int64_t batch, int64_t out_channels,
                          const ConvGeometry& g, Act act, float slope);

}  // namespace fusednn::cpu
