// The table of pooling kernels one CPU backend provides (scalar reference: pool_scalar.cpp;
// AVX2: pool_avx2.cpp) for the common window: 2x2, stride 2, no padding, no dilation (what
// MaxPooling2D() and AveragePooling2D() default to). Each is one pass over the planes at
// memory speed; pool.cpp sends every other geometry to its general loops. dispatch.cpp picks
// the table.
#pragma once
#include <cstdint>

#include "fusednn/act_math.h"

namespace fusednn::cpu {

// `planes` planes of height x width in, (height / 2) x (width / 2) out; an odd last row or
// column is in no window (its gradient is 0). height * width is at most kPool2x2MaxPlane
// (fusednn/geometry.h; pool.cpp checks).
struct Pool2x2Args {
  int64_t planes, height, width;
  const float* x;   // forward in
  float* y;         // forward out
  int32_t* argmax;  // max forward out: the flat index in the plane of each window's maximum
  const int32_t* saved_argmax;  // max backward in: what the forward wrote
  const float* dy;  // backward in
  float* dx;        // backward out, every element written
};

// A conv's epilogue and the 2x2 max-pool after it in one pass over the conv's raw output z
// [planes = batch * channels, height, width]: each window's four z + bias are activated and
// the largest activated value taken by max_pool2x2_forward's rule, so y and argmax are
// exactly what bias_act_forward then max_pool2x2_forward give; saved_input (when the
// activation's derivative reads its input) gets the chosen tap's z + bias.
struct ConvPoolForwardArgs {
  const float* z;
  const float* bias;  // nullable: one per channel
  int64_t planes, channels, height, width;
  Act act;
  float slope;
  float* y;            // [planes, height / 2, width / 2]
  int32_t* argmax;     // same shape
  float* saved_input;  // same shape; nullable (not written) unless act_saves_input
};

// Its backward: dz = dy * act'(saved) at each window's argmax and 0 elsewhere (every element
// written), saved being y or saved_input (act_saves_input); dbias[c] = the sum of dz over
// channel c, in double, plane by plane.
struct ConvPoolBackwardArgs {
  const float* dy;
  const int32_t* argmax;
  const float* saved;
  int64_t planes, channels, height, width;
  Act act;
  float slope;
  float* dz;     // [planes, height, width]
  float* dbias;  // nullable
};

struct PoolKernels {
  // y = the window maximum, argmax where it is (the first NaN wins, else the first maximum).
  void (*max_pool2x2_forward)(const Pool2x2Args&);
  // dx = dy at argmax, 0 elsewhere.
  void (*max_pool2x2_backward)(const Pool2x2Args&);
  // y = the window mean, its taps summed in order; dx = dy / 4 on every tap.
  void (*avg_pool2x2_forward)(const Pool2x2Args&);
  void (*avg_pool2x2_backward)(const Pool2x2Args&);
  void (*conv_pool_forward)(const ConvPoolForwardArgs&);
  void (*conv_pool_backward)(const ConvPoolBackwardArgs&);
};

extern const PoolKernels kScalarPoolKernels;
extern const PoolKernels kAvx2PoolKernels;

}  // namespace fusednn::cpu
