// Recurrent layers over a whole sequence on the CPU: the input part of every step as one GEMM,
// then per step one recurrent GEMM and one fused pass of the active backend's cell kernel
// (rnn_kernels.h); the backward walks the steps in reverse with one fused pass and one GEMM
// each, and leaves the weight gradients and the input gradient to three GEMMs over all steps.
// Arrays are C-contiguous float32, time-major; shapes are checked by the binding.
#pragma once
#include <cstdint>

#include "fusednn/rnn_math.h"

namespace fusednn::cpu {

struct RnnSequence {
  RnnCell cell;
  int64_t steps, batch, input, hidden;
  bool reverse;         // process steps T-1 .. 0
  const uint8_t* mask;  // [T, B] nullable: row b takes step t where mask[t, b] != 0; elsewhere
                        // it carries its state (a padded step, before or after the data)
  const float* rec_mask;  // [B, H] nullable: recurrent dropout, Keras's rule: the recurrent
                          // product of every step reads h_prev * rec_mask (0 or 1/(1-p))
};

// x [T, B, I], w_ih [G*H, I], w_hh [G*H, H], biases [G*H] (nullable), h0/c0 [B, H] (nullable:
// zeros). Writes y [T, B, H] (the state after each step; a padded step carries the previous
// one), h_n and c_n [B, H] (nullable), and what the backward reads: gates [T, B, G*H] and
// aux [T, B, H] (LSTM's cells, GRU's recurrent n part).
void rnn_forward(const RnnSequence& s, const float* x, const float* w_ih, const float* w_hh,
                 const float* b_ih, const float* b_hh, const float* h0, const float* c0, float* y,
                 float* h_n, float* c_n, float* gates, float* aux);

// The gradients from dy [T, B, H], dh_n and dc_n [B, H] (each nullable): dx [T, B, I],
// dw_ih, dw_hh, db_ih, db_hh, dh0, dc0 (each nullable). dgates [T, B, G*H] is scratch, and so
// is dgates_rec (same shape, GRU only).
void rnn_backward(const RnnSequence& s, const float* x, const float* w_ih, const float* w_hh,
                  const float* h0, const float* c0, const float* y, const float* gates,
                  const float* aux, const float* dy, const float* dh_n, const float* dc_n,
                  float* dx, float* dw_ih, float* dw_hh, float* db_ih, float* db_hh, float* dh0,
                  float* dc0, float* dgates, float* dgates_rec);

}  // namespace fusednn::cpu
