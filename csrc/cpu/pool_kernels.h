// The table of pooling kernels one CPU backend provides (scalar reference: pool_scalar.cpp;
// AVX2: pool_avx2.cpp) for the common window: 2x2, stride 2, no padding, no dilation (what
// MaxPooling2D() and AveragePooling2D() default to). Each is one pass over the planes at
// memory speed; pool.cpp sends every other geometry to its general loops. dispatch.cpp picks
// the table.
#pragma once
#include <cstdint>

namespace fusednn::cpu {

// `planes` planes of height x width in, (height / 2) x (width / 2) out; an odd last row or
// column is in no window (its gradient is 0). height * width is below 2^24 (pool.cpp checks).
struct Pool2x2Args {
  int64_t planes, height, width;
  const float* x;   // forward in
  float* y;         // forward out
  int32_t* argmax;  // max forward out: the flat index in the plane of each window's maximum
  const int32_t* saved_argmax;  // max backward in: what the forward wrote
  const float* dy;  // backward in
  float* dx;        // backward out, every element written
};

struct PoolKernels {
  // y = the window maximum, argmax where it is (the first NaN wins, else the first maximum).
  void (*max_pool2x2_forward)(const Pool2x2Args&);
  // dx = dy at argmax, 0 elsewhere.
  void (*max_pool2x2_backward)(const Pool2x2Args&);
  // y = the window mean, its taps summed in order; dx = dy / 4 on every tap.
  void (*avg_pool2x2_forward)(const Pool2x2Args&);
  void (*avg_pool2x2_backward)(const Pool2x2Args&);
};

extern const PoolKernels kScalarPoolKernels;
extern const PoolKernels kAvx2PoolKernels;

}  // namespace fusednn::cpu
