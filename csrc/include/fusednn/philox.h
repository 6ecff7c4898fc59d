// ============================================================================================
// Philox4x32-10 (Salmon, Moraes, Dror, Shaw: "Parallel random numbers: as easy as 1, 2, 3",
// SC'11), the counter-based generator behind fusednn's dropout, for host and device alike.
//
// Word w of the stream for (seed, offset) is word w % 4 of
//     philox4x32_10(counter = {lo(w/4), hi(w/4), lo(offset), hi(offset)},
//                   key     = {lo(seed), hi(seed)})
// so it is a pure function of (seed, offset, w): the scalar, AVX2 and CUDA paths, whatever
// their threads and vector widths, produce the same bits. Successive dropout calls use
// successive offsets, so their streams never overlap.
//
// Everything here is `static`: a translation unit compiled with -mavx2 must not hand the
// linker a copy the portable path would then use.
// ============================================================================================
#pragma once
#include <stdint.h>

#include "fusednn/macros.h"

namespace fusednn {

constexpr uint32_t kPhiloxM0 = 0xD2511F53u, kPhiloxM1 = 0xCD9E8D57u;  // round multipliers
constexpr uint32_t kPhiloxW0 = 0x9E3779B9u, kPhiloxW1 = 0xBB67AE85u;  // key bumps (Weyl)
constexpr int kPhiloxRounds = 10;

struct Philox4 {
  uint32_t v[4];
};

FUSEDNN_HD static FUSEDNN_INLINE void mulhilo32(uint32_t a, uint32_t b, uint32_t& hi,
                                                 uint32_t& lo) {
  const uint64_t p = uint64_t(a) * uint64_t(b);
  hi = uint32_t(p >> 32);
  lo = uint32_t(p);
}

FUSEDNN_HD static FUSEDNN_INLINE Philox4 philox4x32_10(Philox4 c, uint32_t k0, uint32_t k1) {
  for (int round = 0; round < kPhiloxRounds; ++round) {
    if (round > 0) {
      k0 += kPhiloxW0;
      k1 += kPhiloxW1;
    }
    uint32_t hi0, lo0, hi1, lo1;
    mulhilo32(kPhiloxM0, c.v[0], hi0, lo0);
    mulhilo32(kPhiloxM1, c.v[2], hi1, lo1);
    c = Philox4{{hi1 ^ c.v[1] ^ k0, lo1, hi0 ^ c.v[3] ^ k1, lo0}};
  }
  return c;
}

// The four stream words of block j (words 4j .. 4j+3).
FUSEDNN_HD static FUSEDNN_INLINE Philox4 philox_block(uint64_t seed, uint64_t offset,
                                                      uint64_t j) {
  return philox4x32_10(Philox4{{uint32_t(j), uint32_t(j >> 32), uint32_t(offset),
                                uint32_t(offset >> 32)}},
                       uint32_t(seed), uint32_t(seed >> 32));
}

// ---------------------------------------------------------------------------------------------
// Dropout on the stream. Element i draws the 16-bit half i % 2 (low half first) of stream word
// i / 2: 16 bits are plenty for a keep test, and one Philox block then serves 8 elements.
// Element i is kept when its 16-bit draw >= threshold (an integer test, the threshold
// computed once), so the drop probability is p_eff = threshold / 2^16 = round(p * 2^16) / 2^16
// (within 7.7e-6 of p), and kept elements are scaled by 1 / (1 - p_eff): the expectation is
// exact for the rate actually used. Backward is the same function applied to the incoming
// gradient: the mask is regenerated, never stored. p_eff = 1 drops everything.
// ---------------------------------------------------------------------------------------------
struct DropoutParams {
  uint64_t seed;
  uint64_t offset;
  uint32_t threshold;  // in [0, 2^16)
  float scale;
  bool drop_all;
};

FUSEDNN_HD static FUSEDNN_INLINE float dropout_one(float x, uint32_t draw16,
                                                   const DropoutParams& d) {
  return (!d.drop_all && draw16 >= d.threshold) ? x * d.scale : 0.f;
}

// The 16-bit draw of element i within its block's four words (elements 8j .. 8j+7).
FUSEDNN_HD static FUSEDNN_INLINE uint32_t draw16(const Philox4& block, int k) {
  return (block.v[k >> 1] >> ((k & 1) * 16)) & 0xFFFFu;
}

// Host-side: the parameters for drop probability p in [0, 1].
static inline DropoutParams make_dropout_params(double p, uint64_t seed, uint64_t offset) {
  const double t = p * 65536.0 + 0.5;
  const uint32_t threshold = t >= 65536.0 ? 65536u : uint32_t(t);
  DropoutParams d{seed, offset, 0u, 1.f, threshold >= 65536u};
  if (!d.drop_all && threshold > 0) {
    d.threshold = threshold;
    d.scale = float(65536.0 / double(65536u - threshold));
  }
  return d;
}

}  // namespace fusednn
