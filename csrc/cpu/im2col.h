// im2col / col2im for one NCHW sample: the lowering that turns a convolution into a GEMM.
// The col layout is ConvGeometry's (fusednn/geometry.h).
#pragma once
#include <cstdint>

#include "fusednn/geometry.h"

namespace fusednn::cpu {

// col[col_rows, col_cols] from image[channels, height, width]; padding reads as 0.
void im2col(const float* image, float* col, const ConvGeometry& g);
// image[channels, height, width] = the sum of every col entry into the pixel it came from
// (image is overwritten, not accumulated into).
void col2im(const float* col, float* image, const ConvGeometry& g);

}  // namespace fusednn::cpu
