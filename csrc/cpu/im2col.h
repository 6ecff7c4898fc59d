// im2col / col2im for one NCHW sample: the lowering that turns a convolution into a GEMM.
// The col layout is ConvGeometry's (fusednn/geometry.h); the kernels that move the data are
// the active path's (nn_kernels.h LoweringArgs, lowering_engine.h).
#pragma once
#include <cstdint>
#include <vector>

#include "fusednn/geometry.h"

namespace fusednn::cpu {

// A conv's lowering, chosen once per call. Output rows of kTableBelowWidth columns or more
// are moved row by row. Narrower ones (the tutorial CNN's 11 and 3) cost more in per-row
// setup than in copying, so there every element moves by a lookup in index tables built here
// (planes and cols below 2^31 elements). Both ways give the same col and the same image, bit
// for bit; FUSEDNN_CONV_LOWERING=rows|tables forces one of them (auto: the width rule).
//   im2col: col [col_rows, col_cols] from image [channels, height, width], padding read as
//           0; col's rows ld apart (ld >= col_cols: several samples' cols side by side).
//   col2im: image = the sum of every col entry into the pixel it came from (overwritten).
class Lowering {
 public:
  static constexpr int64_t kTableBelowWidth = 16;
  explicit Lowering(const ConvGeometry& g);
  void im2col(const float* image, float* col, int64_t ld) const;
  void col2im(const float* col, float* image, int64_t ld) const;

 private:
  ConvGeometry g_;
  bool by_table_;
  std::vector<int32_t> tap_sources_;  // [taps, out_h * out_w]
  std::vector<int32_t> pixel_cols_;   // [taps, height * width]
};

// Samples [n0, n0 + count) of a [batch, M, P] tensor and a [M, count * P] chunk whose row m
// holds the samples' planes m side by side (a batched GEMM's output, or its gradient), one
// into the other, through the active path's copies (nn_kernels.h ChunkArgs).
void nchw_to_chunk(const float* nchw, float* chunk, int64_t n0, int64_t count, int64_t M,
                   int64_t P);
void chunk_to_nchw(const float* chunk, float* nchw, int64_t n0, int64_t count, int64_t M,
                   int64_t P);

}  // namespace fusednn::cpu
