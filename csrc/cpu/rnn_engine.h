// ============================================================================================
// The CPU engine behind the recurrent-cell kernels of rnn_kernels.h, written once against a Vec
// policy (ScalarVec: vec_scalar_policy.h, Avx2Vec: vec_avx2.h) and the per-element math of
// fusednn/rnn_math.h. A step is `batch` independent rows; large steps split the rows across
// the threads. A row marked inactive (a padded step) carries its state through unchanged.
//
// Included by exactly one translation unit per backend; internal linkage throughout.
// ============================================================================================
#pragma once
#include <cstdint>
#include <cstring>

#include "cpu/parallel.h"
#include "cpu/rnn_kernels.h"
#include "cpu/vec_loops.h"
#include "fusednn/rnn_math.h"

namespace fusednn::cpu {
namespace {

// Below this many gate elements a step runs on one thread.
constexpr int64_t kRnnParallelMin = int64_t(1) << 14;

template <class Body>
void for_each_row(int64_t rows, int64_t elements, const Body& body) {
  // A thread that owns a block of rows already (rnn.cpp) runs its step alone.
  parallel_ranges(rows, elements >= kRnnParallelMin && !in_parallel() ? max_threads() : 1,
                  [&](int, int64_t lo, int64_t hi) {
                    for (int64_t b = lo; b < hi; ++b) body(b);
                  });
}

template <class Vec>
void step_forward(const RnnStepForwardArgs& a) {
  using V = typename Vec::V;
  const int64_t H = a.hidden, GH = rnn_gates(a.cell) * H;
  auto bias = [&](int64_t offset, int lanes) {
    return a.b_hh ? load_n<Vec>(a.b_hh + offset, lanes) : V(0.f);
  };
  for_each_row(a.batch, a.batch * GH, [&](int64_t b) {
    float* gates = a.gates + b * GH;
    const float* rec = a.rec + b * GH;
    const float* h_prev = a.h_prev + b * H;
    float* h = a.h + b * H;
    if (a.active && !a.active[b]) {
      std::memmove(h, h_prev, size_t(H) * sizeof(float));
      if (a.cell == RnnCell::kLstm) std::memmove(a.aux + b * H, a.c_prev + b * H, size_t(H) * 4);
      return;
    }
    for_each_vector<Vec>(H, [&](int64_t j, int lanes) {
      auto ld = [&](const float* p, int64_t gate) { return load_n<Vec>(p + gate * H + j, lanes); };
      auto rc = [&](int64_t gate) { return ld(rec, gate) + bias(gate * H + j, lanes); };
      switch (a.cell) {
        case RnnCell::kRnnTanh:
        case RnnCell::kRnnRelu: {
          const V y = a.cell == RnnCell::kRnnRelu ? elman_forward<true>(ld(gates, 0), rc(0))
                                                  : elman_forward<false>(ld(gates, 0), rc(0));
          store_n<Vec>(gates + j, y, lanes);
          store_n<Vec>(h + j, y, lanes);
          break;
        }
        case RnnCell::kLstm: {
          V c, y;
          const LstmGates<V> g = lstm_forward<V>(
              {ld(gates, 0), ld(gates, 1), ld(gates, 2), ld(gates, 3)},
              {rc(0), rc(1), rc(2), rc(3)}, load_n<Vec>(a.c_prev + b * H + j, lanes), c, y);
          store_n<Vec>(gates + j, g.i, lanes);
          store_n<Vec>(gates + H + j, g.f, lanes);
          store_n<Vec>(gates + 2 * H + j, g.g, lanes);
          store_n<Vec>(gates + 3 * H + j, g.o, lanes);
          store_n<Vec>(a.aux + b * H + j, c, lanes);
          store_n<Vec>(h + j, y, lanes);
          break;
        }
        case RnnCell::kGru: {
          V y;
          const V rn = rc(2);
          const GruGates<V> g = gru_forward<V>({ld(gates, 0), ld(gates, 1), ld(gates, 2)},
                                               {rc(0), rc(1), rn},
                                               load_n<Vec>(h_prev + j, lanes), y);
          store_n<Vec>(gates + j, g.r, lanes);
          store_n<Vec>(gates + H + j, g.z, lanes);
          store_n<Vec>(gates + 2 * H + j, g.n, lanes);
          store_n<Vec>(a.aux + b * H + j, rn, lanes);
          store_n<Vec>(h + j, y, lanes);
          break;
        }
        case RnnCell::kGruResetBefore: {
          V n;
          const V y = gru_reset_state<V>(ld(gates, 2) + rc(2), ld(gates, 1),
                                         load_n<Vec>(h_prev + j, lanes), n);
          store_n<Vec>(gates + 2 * H + j, n, lanes);
          store_n<Vec>(h + j, y, lanes);
          break;
        }
      }
    });
  });
}

template <class Vec>
void step_backward(const RnnStepBackwardArgs& a) {
  using V = typename Vec::V;
  const int64_t H = a.hidden, GH = rnn_gates(a.cell) * H;
  for_each_row(a.batch, a.batch * GH, [&](int64_t b) {
    const float* gates = a.gates + b * GH;
    const float* dh = a.dh + b * H;
    float* dgates = a.dgates + b * GH;
    float* dgates_rec = a.dgates_rec ? a.dgates_rec + b * GH : nullptr;
    float* dh_prev = a.dh_prev + b * H;
    if (a.active && !a.active[b]) {
      std::memset(dgates, 0, size_t(GH) * sizeof(float));
      if (dgates_rec) std::memset(dgates_rec, 0, size_t(GH) * sizeof(float));
      std::memmove(dh_prev, dh, size_t(H) * sizeof(float));  // dc passes through in place
      return;
    }
    for_each_vector<Vec>(H, [&](int64_t j, int lanes) {
      auto ld = [&](const float* p, int64_t gate) { return load_n<Vec>(p + gate * H + j, lanes); };
      const V d = load_n<Vec>(dh + j, lanes);
      switch (a.cell) {
        case RnnCell::kRnnTanh:
        case RnnCell::kRnnRelu: {
          const V y = ld(gates, 0);
          const V da = a.cell == RnnCell::kRnnRelu ? elman_backward<true>(d, y)
                                                   : elman_backward<false>(d, y);
          store_n<Vec>(dgates + j, da, lanes);
          store_n<Vec>(dh_prev + j, V(0.f), lanes);
          break;
        }
        case RnnCell::kLstm: {
          V dc_prev;
          const LstmGates<V> g = lstm_backward<V>(
              {ld(gates, 0), ld(gates, 1), ld(gates, 2), ld(gates, 3)},
              load_n<Vec>(a.aux + b * H + j, lanes), load_n<Vec>(a.c_prev + b * H + j, lanes), d,
              load_n<Vec>(a.dc + b * H + j, lanes), dc_prev);
          store_n<Vec>(dgates + j, g.i, lanes);
          store_n<Vec>(dgates + H + j, g.f, lanes);
          store_n<Vec>(dgates + 2 * H + j, g.g, lanes);
          store_n<Vec>(dgates + 3 * H + j, g.o, lanes);
          store_n<Vec>(a.dc + b * H + j, dc_prev, lanes);
          store_n<Vec>(dh_prev + j, V(0.f), lanes);
          break;
        }
        case RnnCell::kGru: {
          V direct;
          const GruGates<V> g = gru_backward<V>(
              {ld(gates, 0), ld(gates, 1), ld(gates, 2)}, load_n<Vec>(a.aux + b * H + j, lanes),
              load_n<Vec>(a.h_prev + b * H + j, lanes), d, direct);
          store_n<Vec>(dgates + j, g.r, lanes);
          store_n<Vec>(dgates + H + j, g.z, lanes);
          store_n<Vec>(dgates + 2 * H + j, g.n, lanes);
          store_n<Vec>(dgates_rec + j, g.r, lanes);
          store_n<Vec>(dgates_rec + H + j, g.z, lanes);
          store_n<Vec>(dgates_rec + 2 * H + j, g.n * ld(gates, 0), lanes);
          store_n<Vec>(dh_prev + j, direct, lanes);
          break;
        }
        case RnnCell::kGruResetBefore: {
          V dz, dn, direct;
          gru_reset_state_backward<V>(ld(gates, 1), ld(gates, 2),
                                      load_n<Vec>(a.h_prev + b * H + j, lanes), d, dz, dn, direct);
          store_n<Vec>(dgates + H + j, dz, lanes);
          store_n<Vec>(dgates + 2 * H + j, dn, lanes);
          store_n<Vec>(dh_prev + j, direct, lanes);
          break;
        }
      }
    });
  });
}

template <class Vec>
void gru_reset_forward(const GruResetForwardArgs& a) {
  using V = typename Vec::V;
  const int64_t H = a.hidden, GH = 3 * H;
  for_each_row(a.batch, a.batch * GH, [&](int64_t b) {
    float* gates = a.gates + b * GH;
    float* u = a.u + b * H;
    if (a.active && !a.active[b]) {
      std::memset(u, 0, size_t(H) * sizeof(float));
      return;
    }
    const float* rec = a.rec + b * GH;
    for_each_vector<Vec>(H, [&](int64_t j, int lanes) {
      auto rc = [&](int64_t gate) {
        const V bias = a.b_hh ? load_n<Vec>(a.b_hh + gate * H + j, lanes) : V(0.f);
        return load_n<Vec>(rec + gate * H + j, lanes) + bias;
      };
      V r, z;
      const V ur = gru_reset_gates<V>(load_n<Vec>(gates + j, lanes), rc(0),
                                      load_n<Vec>(gates + H + j, lanes), rc(1),
                                      load_n<Vec>(a.h_rec + b * H + j, lanes), r, z);
      store_n<Vec>(gates + j, r, lanes);
      store_n<Vec>(gates + H + j, z, lanes);
      store_n<Vec>(u + j, ur, lanes);
    });
  });
}

template <class Vec>
void gru_reset_backward(const GruResetBackwardArgs& a) {
  using V = typename Vec::V;
  const int64_t H = a.hidden, GH = 3 * H;
  for_each_row(a.batch, a.batch * GH, [&](int64_t b) {
    float* dgates = a.dgates + b * GH;
    if (a.active && !a.active[b]) {
      std::memset(dgates, 0, size_t(H) * sizeof(float));
      return;
    }
    float* dh_rec = a.dh_rec + b * H;
    for_each_vector<Vec>(H, [&](int64_t j, int lanes) {
      V through_u;
      const V dr = fusednn::gru_reset_backward<V>(
          load_n<Vec>(a.gates + b * GH + j, lanes), load_n<Vec>(a.h_rec + b * H + j, lanes),
          load_n<Vec>(a.du + b * H + j, lanes), through_u);
      store_n<Vec>(dgates + j, dr, lanes);
      store_n<Vec>(dh_rec + j, load_n<Vec>(dh_rec + j, lanes) + through_u, lanes);
    });
  });
}

template <class Vec>
constexpr RnnKernels make_rnn_kernels() {
  return RnnKernels{&step_forward<Vec>, &step_backward<Vec>, &gru_reset_forward<Vec>,
                    &gru_reset_backward<Vec>};
}

}  // namespace
}  // namespace fusednn::cpu
