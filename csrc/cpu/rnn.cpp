// Recurrent layers over a sequence: GEMMs (blas.h) around the fused cell passes of the active
// backend (rnn_kernels.h). See rnn.h.
#include "cpu/rnn.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "cpu/blas.h"
#include "cpu/dispatch.h"
#include "cpu/parallel.h"

namespace fusednn::cpu {

namespace {

// The step processed k-th.
int64_t step_at(const RnnSequence& s, int64_t k) { return s.reverse ? s.steps - 1 - k : k; }

// out[n] = sum over the rows of a [rows, n]: per thread a block of rows summed in double,
// column by column (the inner loop runs along a row, so it vectorizes), then the threads'
// partial sums added in thread order.
void column_sums(const float* a, int64_t rows, int64_t n, float* out) {
  const int threads = rows * n >= (int64_t(1) << 16) ? max_threads() : 1;
  std::vector<double> partial(size_t(threads) * size_t(n), 0.0);
  parallel_ranges(rows, threads, [&](int tid, int64_t lo, int64_t hi) {
    double* acc = partial.data() + size_t(tid) * size_t(n);
    for (int64_t r = lo; r < hi; ++r) {
      const float* row = a + r * n;
      for (int64_t j = 0; j < n; ++j) acc[j] += double(row[j]);
    }
  });
  for (int64_t j = 0; j < n; ++j) {
    double total = 0.0;
    for (int t = 0; t < threads; ++t) total += partial[size_t(t) * size_t(n) + size_t(j)];
    out[j] = float(total);
  }
}

// Rows never meet inside the recurrence: each thread can run every step over its own block of
// rows (single-threaded GEMMs and passes, no synchronization between steps), but then every
// thread packs all of W_hh at every step instead of its share of the columns. Measured on a
// 2-core AVX-512 machine (T 50, B 64, I 64; fwd + bwd): rows win at hidden 128 (LSTM 5%, GRU
// 20%), lose about 3-9% with a 1 MiB W_hh (LSTM at hidden 256). So rows are split when W_hh is
// at most half a MiB and every thread gets at least 8 rows; otherwise one block whose GEMMs
// and passes split instead.
constexpr int64_t kRowsPerThreadMin = 8;
constexpr int64_t kRowSplitMaxWeightBytes = int64_t(1) << 19;

int row_threads(int64_t batch, int64_t weight_floats) {
  const int t = max_threads();
  const bool small_weight = weight_floats * int64_t(sizeof(float)) <= kRowSplitMaxWeightBytes;
  return small_weight && batch >= kRowsPerThreadMin * t ? t : 1;
}

// A view of rows [lo, hi) of a [.., B, width] array at step t.
template <class P>
P at(P base, int64_t t, int64_t lo, int64_t batch, int64_t width) {
  return base ? base + (t * batch + lo) * width : nullptr;
}

}  // namespace

void rnn_forward(const RnnSequence& s, const float* x, const float* w_ih, const float* w_hh,
                 const float* b_ih, const float* b_hh, const float* h0, const float* c0, float* y,
                 float* h_n, float* c_n, float* gates, float* aux) {
  const int64_t T = s.steps, B = s.batch, H = s.hidden, GH = rnn_gates(s.cell) * H;
  if (T == 0 || B == 0) return;
  // The input part of every step at once, its bias added in the same pass over the rows.
  sgemm(false, true, T * B, GH, s.input, 1.f, x, s.input, w_ih, s.input, 0.f, gates, GH);
  if (b_ih) {
    nn_kernels().bias_act_forward(BiasActForwardArgs{gates, b_ih, gates, nullptr,
                                                     ChannelShape{T * B, GH, 1}, Act::kIdentity,
                                                     0.f});
  }
  // W_hh^T once, so each step's product is a plain (not transposed) GEMM: OpenBLAS runs the
  // small per-step shape faster that way (64x512x128: about 15%).
  std::vector<float> w_hh_t(static_cast<size_t>(H * GH));
  for (int64_t r = 0; r < GH; ++r) {
    for (int64_t c = 0; c < H; ++c) w_hh_t[size_t(c * GH + r)] = w_hh[r * H + c];
  }
  const RnnKernels& kernels = rnn_kernels();
  const int threads = row_threads(B, GH * H);
  const SgemmFn gemm = sgemm_for_team(threads);
  parallel_ranges(B, threads, [&](int, int64_t lo, int64_t hi) {
    const int64_t rows = hi - lo;
    if (rows == 0) return;
    const std::vector<float> zeros(size_t(rows * H), 0.f);
    std::vector<float> rec(static_cast<size_t>(rows * GH));
    std::vector<float> h_masked(s.rec_mask ? static_cast<size_t>(rows * H) : 0);
    const float* rec_mask = s.rec_mask ? s.rec_mask + lo * H : nullptr;
    for (int64_t k = 0; k < T; ++k) {
      const int64_t t = step_at(s, k), prev = step_at(s, k - 1);
      const float* h_prev = k == 0 ? (h0 ? h0 + lo * H : zeros.data()) : at(y, prev, lo, B, H);
      const float* c_prev =
          k == 0 ? (c0 ? c0 + lo * H : zeros.data()) : at(aux, prev, lo, B, H);
      const float* h_rec = h_prev;
      if (rec_mask) {  // recurrent dropout: the product reads the masked state
        for (int64_t i = 0; i < rows * H; ++i) h_masked[size_t(i)] = h_prev[i] * rec_mask[i];
        h_rec = h_masked.data();
      }
      float* gates_t = at(gates, t, lo, B, GH);
      float* aux_t = at(aux, t, lo, B, H);
      const uint8_t* active = at(s.mask, t, lo, B, 1);
      if (s.cell == RnnCell::kGruResetBefore) {  // r and z, then u = r h_rec against W_hn
        gemm(false, false, rows, 2 * H, H, 1.f, h_rec, H, w_hh_t.data(), GH, 0.f, rec.data(),
             GH);
        kernels.gru_reset_forward(GruResetForwardArgs{rows, H, gates_t, rec.data(), b_hh,
                                                      h_rec, aux_t, active});
        gemm(false, false, rows, H, H, 1.f, aux_t, H, w_hh_t.data() + 2 * H, GH, 0.f,
             rec.data() + 2 * H, GH);
      } else {
        gemm(false, false, rows, GH, H, 1.f, h_rec, H, w_hh_t.data(), GH, 0.f, rec.data(), GH);
      }
      kernels.step_forward(RnnStepForwardArgs{s.cell, rows, H, gates_t, rec.data(),
                                              b_hh, h_prev, c_prev, at(y, t, lo, B, H), aux_t,
                                              active});
    }
  });
  const int64_t last = step_at(s, T - 1);
  if (h_n) std::memcpy(h_n, y + last * B * H, size_t(B * H) * sizeof(float));
  if (c_n && s.cell == RnnCell::kLstm) {
    std::memcpy(c_n, aux + last * B * H, size_t(B * H) * sizeof(float));
  }
}

void rnn_backward(const RnnSequence& s, const float* x, const float* w_ih, const float* w_hh,
                  const float* h0, const float* c0, const float* y, const float* gates,
                  const float* aux, const float* dy, const float* dh_n, const float* dc_n,
                  float* dx, float* dw_ih, float* dw_hh, float* db_ih, float* db_hh, float* dh0,
                  float* dc0, float* dgates, float* dgates_rec) {
  const int64_t T = s.steps, B = s.batch, H = s.hidden, I = s.input;
  const int64_t GH = rnn_gates(s.cell) * H, BH = B * H;
  const bool gru = s.cell == RnnCell::kGru;
  const bool reset_before = s.cell == RnnCell::kGruResetBefore;
  float* drec = gru ? dgates_rec : dgates;  // the recurrent part's pre-activation gradient
  // The rows of W_hh the step's state h_rec multiplies: all but the reset-before GRU's n rows,
  // which multiply u = r h_rec (kept in aux).
  const int64_t state_rows = reset_before ? 2 * H : GH;
  const RnnKernels& kernels = rnn_kernels();
  const int threads = row_threads(B, GH * H);
  const SgemmFn gemm = sgemm_for_team(threads);
  parallel_ranges(B, threads, [&](int, int64_t lo, int64_t hi) {
    const int64_t rows = hi - lo, RH = rows * H;
    if (rows == 0) return;
    const std::vector<float> zeros(size_t(RH), 0.f);
    std::vector<float> dh(size_t(RH), 0.f), dh_prev(static_cast<size_t>(RH)), dc(size_t(RH), 0.f);
    std::vector<float> dmasked(s.rec_mask || reset_before ? static_cast<size_t>(RH) : 0);
    std::vector<float> du(reset_before ? static_cast<size_t>(RH) : 0);
    std::vector<float> h_masked(reset_before && s.rec_mask ? static_cast<size_t>(RH) : 0);
    const float* rec_mask = s.rec_mask ? s.rec_mask + lo * H : nullptr;
    if (dh_n) std::memcpy(dh.data(), dh_n + lo * H, size_t(RH) * sizeof(float));
    if (dc_n && s.cell == RnnCell::kLstm) {
      std::memcpy(dc.data(), dc_n + lo * H, size_t(RH) * sizeof(float));
    }
    for (int64_t k = T - 1; k >= 0; --k) {
      const int64_t t = step_at(s, k), prev = step_at(s, k - 1);
      if (dy) {
        const float* d = at(dy, t, lo, B, H);
        for (int64_t i = 0; i < RH; ++i) dh[size_t(i)] += d[i];
      }
      const float* h_prev = k == 0 ? (h0 ? h0 + lo * H : zeros.data()) : at(y, prev, lo, B, H);
      const float* c_prev =
          k == 0 ? (c0 ? c0 + lo * H : zeros.data()) : at(aux, prev, lo, B, H);
      const float* gates_t = at(gates, t, lo, B, GH);
      float* dgates_t = at(dgates, t, lo, B, GH);
      const uint8_t* active = at(s.mask, t, lo, B, 1);
      kernels.step_backward(RnnStepBackwardArgs{
          s.cell, rows, H, gates_t, at(aux, t, lo, B, H), h_prev, c_prev, at(y, t, lo, B, H),
          dh.data(), dc.data(), dgates_t, gru ? at(dgates_rec, t, lo, B, GH) : nullptr,
          dh_prev.data(), active});
      // The gradient reaching the state the product read (h_prev, or h_prev * mask): straight
      // into dh_prev without a mask, else masked on the way.
      float* dh_rec = rec_mask ? dmasked.data() : dh_prev.data();
      float beta = rec_mask ? 0.f : 1.f;
      if (reset_before) {  // through u = r h_rec first, then the r and z rows
        const float* h_rec = h_prev;
        if (rec_mask) {
          for (int64_t i = 0; i < RH; ++i) h_masked[size_t(i)] = h_prev[i] * rec_mask[i];
          h_rec = h_masked.data();
          std::memset(dmasked.data(), 0, size_t(RH) * sizeof(float));
        }
        gemm(false, false, rows, H, H, 1.f, dgates_t + 2 * H, GH, w_hh + 2 * H * H, H, 0.f,
             du.data(), H);
        kernels.gru_reset_backward(GruResetBackwardArgs{rows, H, gates_t, h_rec, du.data(),
                                                        dgates_t, dh_rec, active});
        beta = 1.f;
      }
      gemm(false, false, rows, H, state_rows, 1.f, at(drec, t, lo, B, GH), GH, w_hh, H, beta,
           dh_rec, H);
      if (rec_mask) {  // the product read h_prev * mask: its gradient is masked the same way
        for (int64_t i = 0; i < RH; ++i) dh_prev[size_t(i)] += dmasked[size_t(i)] * rec_mask[i];
      }
      dh.swap(dh_prev);
    }
    if (dh0) std::memcpy(dh0 + lo * H, dh.data(), size_t(RH) * sizeof(float));
    if (dc0) {
      if (s.cell == RnnCell::kLstm) {
        std::memcpy(dc0 + lo * H, dc.data(), size_t(RH) * sizeof(float));
      } else {
        std::memset(dc0 + lo * H, 0, size_t(RH) * sizeof(float));
      }
    }
  });
  if (dx) sgemm(false, false, T * B, I, GH, 1.f, dgates, GH, w_ih, I, 0.f, dx, I);
  if (dw_ih) sgemm(true, false, GH, I, T * B, 1.f, dgates, GH, x, I, 0.f, dw_ih, I);
  if (dw_hh) {
    // Step t's recurrent input is the state of the step processed before it: the outputs
    // shifted by one step, and h0 at the first step processed (each masked under recurrent
    // dropout).
    std::vector<float> masked_y, masked_h0;
    const float* states = y;
    const float* first_state = h0;
    if (s.rec_mask) {
      masked_y.resize(size_t(T * BH));
      for (int64_t i = 0; i < T * BH; ++i) masked_y[size_t(i)] = y[i] * s.rec_mask[i % BH];
      states = masked_y.data();
      if (h0) {
        masked_h0.resize(size_t(BH));
        for (int64_t i = 0; i < BH; ++i) masked_h0[size_t(i)] = h0[i] * s.rec_mask[i];
        first_state = masked_h0.data();
      }
    }
    std::memset(dw_hh, 0, size_t(state_rows * H) * sizeof(float));
    if (T > 1) {
      const float* dr = s.reverse ? drec : drec + B * GH;
      const float* hp = s.reverse ? states + BH : states;
      sgemm(true, false, state_rows, H, (T - 1) * B, 1.f, dr, GH, hp, H, 0.f, dw_hh, H);
    }
    if (first_state) {
      const int64_t first = step_at(s, 0);
      sgemm(true, false, state_rows, H, B, 1.f, drec + first * B * GH, GH, first_state, H, 1.f,
            dw_hh, H);
    }
    if (reset_before) {  // the n rows against u, every step's own
      sgemm(true, false, H, H, T * B, 1.f, drec + 2 * H, GH, aux, H, 0.f, dw_hh + 2 * H * H, H);
    }
  }
  if (db_ih) column_sums(dgates, T * B, GH, db_ih);
  if (db_hh) {  // the same sum unless the GRU's recurrent n part differs from its input part
    if (drec == dgates && db_ih) std::memcpy(db_hh, db_ih, size_t(GH) * sizeof(float));
    else column_sums(drec, T * B, GH, db_hh);
  }
}

}  // namespace fusednn::cpu
