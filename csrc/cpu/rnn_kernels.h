// The table of recurrent-cell kernels one CPU backend provides (scalar reference:
// rnn_scalar.cpp; AVX2: rnn_avx2.cpp): the fused pass of one time step, forward and backward,
// over a batch of rows. The GEMMs around them are in rnn.cpp. dispatch.cpp picks the table.
#pragma once
#include <cstdint>

#include "fusednn/rnn_math.h"

namespace fusednn::cpu {

// One step of `batch` rows of `hidden` units, G = rnn_gates(cell) gates each.
struct RnnStepForwardArgs {
  RnnCell cell;
  int64_t batch, hidden;
  float* gates;          // [batch, G*H] in: the input part a; out: the activated gates
  const float* rec;      // [batch, G*H] h_prev W_hh^T (no bias)
  const float* b_hh;     // [G*H] nullable
  const float* h_prev;   // [batch, H]
  const float* c_prev;   // [batch, H] LSTM's cell
  float* h;              // [batch, H] out
  float* aux;            // [batch, H] out: LSTM's c, GRU's r_n; unused by the plain RNN (and
                         // by the reset-before GRU, whose u the first pass wrote)
  const uint8_t* active; // [batch] nullable: a row marked 0 keeps h_prev (and c_prev)
};

struct RnnStepBackwardArgs {
  RnnCell cell;
  int64_t batch, hidden;
  const float* gates;    // [batch, G*H] the activated gates of the forward
  const float* aux;      // [batch, H] LSTM's c, GRU's r_n (the reset-before GRU: u, unread)
  const float* h_prev;   // [batch, H]
  const float* c_prev;   // [batch, H] LSTM
  const float* h;        // [batch, H] the step's output state (the plain RNN's derivative)
  const float* dh;       // [batch, H] the gradient reaching h
  float* dc;             // [batch, H] LSTM: in the gradient reaching c, out the one reaching c_prev
  float* dgates;         // [batch, G*H] out: dA (the reset-before GRU: z and n columns)
  float* dgates_rec;     // [batch, G*H] out: dR (kGru only; the other cells' dR is dA)
  float* dh_prev;        // [batch, H] out: what reaches h_prev other than through W_hh
  const uint8_t* active; // [batch] nullable: a row marked 0 passes dh (and dc) through
};

// The GRU with the reset before the product (RnnCell::kGruResetBefore) splits a step in two:
// this pass after the product of the r and z rows, step_forward after the product of u with
// the n rows (which reads z from gates and leaves aux, u, as this pass wrote it).
struct GruResetForwardArgs {
  int64_t batch, hidden;
  float* gates;          // [batch, 3H] in: the input parts; out: r and z activated (n untouched)
  const float* rec;      // [batch, 3H] h_rec W_hh^T in the r and z columns (no bias)
  const float* b_hh;     // [3H] nullable
  const float* h_rec;    // [batch, H] the state the product read
  float* u;              // [batch, H] out: r h_rec (0 on an inactive row)
  const uint8_t* active; // [batch] nullable
};

// Its backward, after step_backward (which writes the z and n columns of dgates) and the
// product du = dA_n W_hn: r's column of dgates, and dh_rec += du r.
struct GruResetBackwardArgs {
  int64_t batch, hidden;
  const float* gates;    // [batch, 3H] the activated gates of the forward
  const float* h_rec;    // [batch, H]
  const float* du;       // [batch, H]
  float* dgates;         // [batch, 3H] out: the r columns
  float* dh_rec;         // [batch, H] accumulated into
  const uint8_t* active; // [batch] nullable: an inactive row gets dA_r = 0 and adds nothing
};

struct RnnKernels {
  void (*step_forward)(const RnnStepForwardArgs&);
  void (*step_backward)(const RnnStepBackwardArgs&);
  void (*gru_reset_forward)(const GruResetForwardArgs&);
  void (*gru_reset_backward)(const GruResetBackwardArgs&);
};

extern const RnnKernels kScalarRnnKernels;
extern const RnnKernels kAvx2RnnKernels;

}  // namespace fusednn::cpu
