// The recurrent cells, per element, written once for every kernel path: V is float (the
// scalar reference and CUDA) or the AVX2 vector (csrc/cpu/vec_avx2.h).
//
// torch's formulation and gate order. With a = x W_ih^T + b_ih (the input part, one GEMM over
// all steps) and r = h_prev W_hh^T + b_hh (the recurrent part, one GEMM per step):
//   RNN:  h = tanh(a + r)  or  relu(a + r)
//   LSTM: gates i, f, g, o:  i = s(a_i + r_i), f = s(a_f + r_f), g = tanh(a_g + r_g),
//         o = s(a_o + r_o);  c = f c_prev + i g;  h = o tanh(c)
//   GRU:  gates r, z, n:  r = s(a_r + r_r), z = s(a_z + r_z), n = tanh(a_n + r * r_n),
//         h = (1 - z) n + z h_prev          (torch's GRU; Keras's reset_after=True)
//   GRU with the reset before the product (Keras's reset_after=False, Cho et al. 2014): r and z
//         as above, u = r h_prev, n = tanh(a_n + u W_hn^T + b_hn), h as above. The product of
//         a step is two GEMMs, h_prev against the r and z rows of W_hh and then u against its
//         n rows, with a fused pass after each (gru_reset_* below).
// The forward keeps the activated gates (and LSTM's c, GRU's r_n) for the backward, which
// gives the pre-activation gradients of the input part (dA) and of the recurrent part (dR;
// equal to dA except GRU's n gate, dR_n = dA_n * r), the gradient reaching c_prev, and the part
// of the gradient reaching h_prev directly (GRU's dh z), the rest coming through dR W_hh.
#pragma once
#include <cstdint>

#include "fusednn/act_math.h"
#include "fusednn/macros.h"

namespace fusednn {

enum class RnnCell : int32_t {
  kRnnTanh = 0,
  kRnnRelu = 1,
  kLstm = 2,
  kGru = 3,
  kGruResetBefore = 4,
};
constexpr int32_t kNumRnnCells = 5;

FUSEDNN_HD constexpr bool is_gru(RnnCell c) {
  return c == RnnCell::kGru || c == RnnCell::kGruResetBefore;
}

// Gates per hidden unit: the rows of W_ih and W_hh are gates * hidden.
FUSEDNN_HD constexpr int64_t rnn_gates(RnnCell c) {
  return c == RnnCell::kLstm ? 4 : is_gru(c) ? 3 : 1;
}

template <class V>
FUSEDNN_HD FUSEDNN_INLINE V rnn_sigmoid(V z) { return act_forward<Act::kSigmoid>(z, 0.f); }

// ---- plain (Elman) RNN -----------------------------------------------------------------------
template <bool kRelu, class V>
FUSEDNN_HD FUSEDNN_INLINE V elman_forward(V a, V r) {
  return kRelu ? act_forward<Act::kRelu>(a + r, 0.f) : vtanh(a + r);
}
// dA (= dR) from dh and the output h.
template <bool kRelu, class V>
FUSEDNN_HD FUSEDNN_INLINE V elman_backward(V dh, V h) {
  return kRelu ? act_backward<Act::kRelu>(dh, h, 0.f) : act_backward<Act::kTanh>(dh, h, 0.f);
}

// ---- LSTM -----------------------------------------------------------------------------------
template <class V>
struct LstmGates {
  V i, f, g, o;
};

// Activated gates, the new cell and hidden state.
template <class V>
FUSEDNN_HD FUSEDNN_INLINE LstmGates<V> lstm_forward(LstmGates<V> a, LstmGates<V> r, V c_prev,
                                                     V& c, V& h) {
  LstmGates<V> gate{rnn_sigmoid(a.i + r.i), rnn_sigmoid(a.f + r.f), vtanh(a.g + r.g),
                    rnn_sigmoid(a.o + r.o)};
  c = gate.f * c_prev + gate.i * gate.g;
  h = gate.o * vtanh(c);
  return gate;
}

// Pre-activation gradients (dA = dR) from dh, dc (the gradient reaching c from later steps)
// and the saved gates and cell; dc_prev receives the gradient reaching c_prev.
template <class V>
FUSEDNN_HD FUSEDNN_INLINE LstmGates<V> lstm_backward(LstmGates<V> gate, V c, V c_prev, V dh,
                                                      V dc, V& dc_prev) {
  const V tc = vtanh(c);
  const V dct = dc + dh * gate.o * (V(1.f) - tc * tc);
  dc_prev = dct * gate.f;
  return {act_backward<Act::kSigmoid>(dct * gate.g, gate.i, 0.f),
          act_backward<Act::kSigmoid>(dct * c_prev, gate.f, 0.f),
          act_backward<Act::kTanh>(dct * gate.i, gate.g, 0.f),
          act_backward<Act::kSigmoid>(dh * tc, gate.o, 0.f)};
}

// ---- GRU ------------------------------------------------------------------------------------
template <class V>
struct GruGates {
  V r, z, n;
};

// Activated gates and the new hidden state; rn (= r_n, the recurrent part of n with its bias)
// is kept for the backward.
template <class V>
FUSEDNN_HD FUSEDNN_INLINE GruGates<V> gru_forward(GruGates<V> a, GruGates<V> rec, V h_prev,
                                                   V& h) {
  GruGates<V> gate;
  gate.r = rnn_sigmoid(a.r + rec.r);
  gate.z = rnn_sigmoid(a.z + rec.z);
  gate.n = vtanh(a.n + gate.r * rec.n);
  h = (V(1.f) - gate.z) * gate.n + gate.z * h_prev;
  return gate;
}

// dA (input part) per gate; dR_n = dA.n * r is the recurrent part of n, the other gates' dR
// equal dA; dh_direct = dh z reaches h_prev without W_hh.
template <class V>
FUSEDNN_HD FUSEDNN_INLINE GruGates<V> gru_backward(GruGates<V> gate, V rn, V h_prev, V dh,
                                                    V& dh_direct) {
  const V dan = act_backward<Act::kTanh>(dh * (V(1.f) - gate.z), gate.n, 0.f);
  dh_direct = dh * gate.z;
  return {act_backward<Act::kSigmoid>(dan * rn, gate.r, 0.f),
          act_backward<Act::kSigmoid>(dh * (h_prev - gate.n), gate.z, 0.f), dan};
}

// ---- GRU, reset before the product ----------------------------------------------------------
// The first pass of a step: r and z from their pre-activations (input part a, recurrent part
// rec, both with their biases), and u = r h_rec, where h_rec is the state the product reads
// (h_prev, masked under recurrent dropout).
template <class V>
FUSEDNN_HD FUSEDNN_INLINE V gru_reset_gates(V a_r, V rec_r, V a_z, V rec_z, V h_rec, V& r, V& z) {
  r = rnn_sigmoid(a_r + rec_r);
  z = rnn_sigmoid(a_z + rec_z);
  return r * h_rec;
}

// The second pass: n from its pre-activation (a_n + u W_hn^T + b), the new state.
template <class V>
FUSEDNN_HD FUSEDNN_INLINE V gru_reset_state(V pre_n, V z, V h_prev, V& n) {
  n = vtanh(pre_n);
  return (V(1.f) - z) * n + z * h_prev;
}

// Backward of the second pass: the pre-activation gradients of z and n, and dh_direct = dh z.
template <class V>
FUSEDNN_HD FUSEDNN_INLINE void gru_reset_state_backward(V z, V n, V h_prev, V dh, V& dz, V& dn,
                                                        V& dh_direct) {
  dn = act_backward<Act::kTanh>(dh * (V(1.f) - z), n, 0.f);
  dz = act_backward<Act::kSigmoid>(dh * (h_prev - n), z, 0.f);
  dh_direct = dh * z;
}

// Backward of u = r h_rec from du (= dn W_hn): r's pre-activation gradient, and du r, the
// gradient reaching h_rec through u.
template <class V>
FUSEDNN_HD FUSEDNN_INLINE V gru_reset_backward(V r, V h_rec, V du, V& dh_rec) {
  dh_rec = du * r;
  return act_backward<Act::kSigmoid>(du * h_rec, r, 0.f);
}

}  // namespace fusednn
