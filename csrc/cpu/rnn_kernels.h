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
  float* aux;            // [batch, H] out: LSTM's c, GRU's r_n; unused by the plain RNN
  const uint8_t* active; // [batch] nullable: a row marked 0 keeps h_prev (and c_prev)
};

struct RnnStepBackwardArgs {
  RnnCell cell;
  int64_t batch, hidden;
  const float* gates;    // [batch, G*H] the activated gates of the forward
  const float* aux;      // [batch, H] LSTM's c, GRU's r_n
  const float* h_prev;   // [batch, H]
  const float* c_prev;   // [batch, H] LSTM
  const float* h;        // [batch, H] the step's output state (the plain RNN's derivative)
  const float* dh;       // [batch, H] the gradient reaching h
  float* dc;             // [batch, H] LSTM: in the gradient reaching c, out the one reaching c_prev
  float* dgates;         // [batch, G*H] out: dA
  float* dgates_rec;     // [batch, G*H] out: dR (GRU only; the other cells' dR is dA)
  float* dh_prev;        // [batch, H] out: what reaches h_prev other than through W_hh
  const uint8_t* active; // [batch] nullable: a row marked 0 passes dh (and dc) through
};

struct RnnKernels {
  void (*step_forward)(const RnnStepForwardArgs&);
  void (*step_backward)(const RnnStepBackwardArgs&);
};

extern const RnnKernels kScalarRnnKernels;
extern const RnnKernels kAvx2RnnKernels;

}  // namespace fusednn::cpu
