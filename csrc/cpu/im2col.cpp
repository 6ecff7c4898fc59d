#include "cpu/im2col.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

#include "cpu/dispatch.h"

namespace fusednn::cpu {

namespace {

// Whether this conv is lowered by tables: rows under kTableBelowWidth wide, unless
// FUSEDNN_CONV_LOWERING=rows|tables says otherwise (to compare the two on one shape). Tables
// need plane and col indices that fit int32.
bool lowers_by_table(const ConvGeometry& g) {
  if (g.height * g.width > INT32_MAX || g.col_cols() > INT32_MAX) return false;
  const char* forced = std::getenv("FUSEDNN_CONV_LOWERING");
  if (forced == nullptr || std::strcmp(forced, "auto") == 0 || *forced == '\0') {
    return g.out_w < Lowering::kTableBelowWidth;
  }
  if (std::strcmp(forced, "tables") == 0) return true;
  if (std::strcmp(forced, "rows") == 0) return false;
  throw std::invalid_argument(
      std::string("FUSEDNN_CONV_LOWERING must be auto, rows or tables, got '") + forced + "'");
}

}  // namespace

Lowering::Lowering(const ConvGeometry& g) : g_(g), by_table_(lowers_by_table(g)) {
  if (!by_table_) return;
  const int64_t taps = g.kernel_h * g.kernel_w, cols = g.col_cols(), plane = g.height * g.width;
  tap_sources_.assign(size_t(taps * cols), -1);
  pixel_cols_.assign(size_t(taps * plane), -1);
  for (int64_t k = 0; k < taps; ++k) {
    const int64_t kh = k / g.kernel_w, kw = k % g.kernel_w;
    for (int64_t oh = 0; oh < g.out_h; ++oh) {
      const int64_t ih = oh * g.stride_h - g.pad_h + kh * g.dilation_h;
      if (ih < 0 || ih >= g.height) continue;
      for (int64_t ow = 0; ow < g.out_w; ++ow) {
        const int64_t iw = ow * g.stride_w - g.pad_w + kw * g.dilation_w;
        if (iw < 0 || iw >= g.width) continue;
        tap_sources_[size_t(k * cols + oh * g.out_w + ow)] = int32_t(ih * g.width + iw);
        pixel_cols_[size_t(k * plane + ih * g.width + iw)] = int32_t(oh * g.out_w + ow);
      }
    }
  }
}

void Lowering::im2col(const float* image, float* col, int64_t ld) const {
  nn_kernels().im2col(
      LoweringArgs{&g_, by_table_ ? tap_sources_.data() : nullptr, ld, image, col});
}

void Lowering::col2im(const float* col, float* image, int64_t ld) const {
  nn_kernels().col2im(
      LoweringArgs{&g_, by_table_ ? pixel_cols_.data() : nullptr, ld, col, image});
}

void nchw_to_chunk(const float* nchw, float* chunk, int64_t n0, int64_t count, int64_t M,
                   int64_t P) {
  nn_kernels().nchw_to_chunk(ChunkArgs{nchw, chunk, n0, count, M, P});
}

void chunk_to_nchw(const float* chunk, float* nchw, int64_t n0, int64_t count, int64_t M,
                   int64_t P) {
  nn_kernels().chunk_to_nchw(ChunkArgs{chunk, nchw, n0, count, M, P});
}

}  // namespace fusednn::cpu
