// 2-D max and average pooling over NCHW planes (a plane is one sample's one channel).
// Window geometry as torch's (no ceil mode): out = (in + 2*pad - dilation*(k-1) - 1)/stride + 1.
#pragma once
#include <cstdint>

#include "fusednn/geometry.h"

namespace fusednn::cpu {

// y = the window maximum (a NaN in the window wins, as in torch); argmax = its flat index in
// the plane, for the backward.
void max_pool2d_forward(const float* x, float* y, int32_t* argmax, const PoolGeometry& g);
// dx = 0, then dx[argmax] += dy.
void max_pool2d_backward(const float* dy, const int32_t* argmax, float* dx, const PoolGeometry& g);

// y = the window mean; the divisor counts padding when count_include_pad (torch's default).
void avg_pool2d_forward(const float* x, float* y, const PoolGeometry& g, bool count_include_pad);
void avg_pool2d_backward(const float* dy, float* dx, const PoolGeometry& g, bool count_include_pad);

}  // namespace fusednn::cpu
