// The table of layer kernels one CPU backend provides (scalar reference: nn_scalar.cpp; AVX2:
// nn_avx2.cpp): the epilogue that follows a GEMM (bias + activation) and its backward,
// softmax cross-entropy, and a conv's lowering (im2col / col2im). dispatch.cpp picks the table
// at run time.
#pragma once
#include <cstdint>

#include "fusednn/act_math.h"
#include "fusednn/geometry.h"

namespace fusednn::cpu {

// A tensor seen as [outer, channels, inner]: a Dense output is [batch, units, 1], a conv
// output [batch, filters, height*width]. The bias, one per channel, broadcasts over the rest.
struct ChannelShape {
  int64_t outer, channels, inner;
  int64_t size() const { return outer * channels * inner; }
};

// y = act(z + bias); saved_input (when act_saves_input) receives z + bias. y may alias z.
struct BiasActForwardArgs {
  const float* z;
  const float* bias;  // nullable
  float* y;
  float* saved_input;  // nullable: not written when null (the caller keeps z itself)
  ChannelShape shape;
  Act act;
  float slope;
};

// dz = dy * act'(saved), saved = y or z + bias (act_saves_input); dbias[c] = sum of dz over
// channel c. dz may alias dy.
struct BiasActBackwardArgs {
  const float* dy;
  const float* saved;  // ignored for the identity
  float* dz;
  float* dbias;  // nullable
  ChannelShape shape;
  Act act;
  float slope;
};

// Softmax cross-entropy over rows of `classes` logits, per row:
//   class-index targets:  loss = w[t] * (logsumexp(x) - x[t]);   dx = w[t] * (softmax(x) - onehot(t))
//   probability targets:  loss = sum_c w[c] q[c] (logsumexp(x) - x[c]);
//                         dx = softmax(x) * sum_c w[c] q[c] - w * q
// dx is then multiplied by grad_scale. A row whose index target equals ignore_index has loss
// 0 and dx 0. Targets are checked in range before the call.
struct SoftmaxXentArgs {
  const float* logits;
  int64_t rows, classes;
  const int64_t* target_index;  // exactly one of target_index and target_prob
  const float* target_prob;
  const float* weight;  // nullable: all ones
  int64_t ignore_index;
  float* loss;     // [rows]
  float* dlogits;  // nullable: [rows, classes]
  float grad_scale;  // dlogits is multiplied by this (e.g. 1/N for a mean)
};

// One sample's im2col or col2im (lowering_engine.h; im2col.h's Lowering picks the way). The
// col has geometry->col_rows() rows, `ld` floats apart, of col_cols() columns each.
//   im2col: in = the image [channels, height, width], out = the col; padding reads as 0.
//   col2im: in = the col, out = the image, each element the sum of the col entries it fed
//           (overwritten, not accumulated into).
// table: null to move the data row by row; else every element by lookup, im2col through
// [taps, col_cols] (the plane element each col column of tap k reads, -1 for padding) and
// col2im through [taps, height * width] (the col column each plane element feeds through
// tap k, -1 for none); taps = kernel_h * kernel_w.
struct LoweringArgs {
  const ConvGeometry* geometry;
  const int32_t* table;
  int64_t ld;
  const float* in;
  float* out;
};

// Samples [n0, n0 + count) of a [batch, channels, plane] tensor and a [channels, count *
// plane] chunk whose row m holds the samples' planes m side by side (a batched conv GEMM's
// output, or its gradient): nchw_to_chunk reads the tensor into the chunk, chunk_to_nchw the
// reverse. `in` is what is read, `out` what is written.
struct ChunkArgs {
  const float* in;
  float* out;
  int64_t n0, count, channels, plane;
};

struct NnKernels {
  void (*bias_act_forward)(const BiasActForwardArgs&);
  void (*bias_act_backward)(const BiasActBackwardArgs&);
  void (*softmax_xent)(const SoftmaxXentArgs&);
  void (*im2col)(const LoweringArgs&);
  void (*col2im)(const LoweringArgs&);
  void (*nchw_to_chunk)(const ChunkArgs&);
  void (*chunk_to_nchw)(const ChunkArgs&);
};

extern const NnKernels kScalarNnKernels;
extern const NnKernels kAvx2NnKernels;

}  // namespace fusednn::cpu
