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

// Which rows take step t (all of them without a mask).
const uint8_t* active_rows(const RnnSequence& s, int64_t t) {
  return s.mask ? s.mask + t * s.batch : nullptr;
}

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
  const std::vector<float> zeros(size_t(B * H), 0.f);
  std::vector<float> rec(static_cast<size_t>(B * GH));
  std::vector<float> h_masked(s.rec_mask ? static_cast<size_t>(B * H) : 0);
  // W_hh^T once, so each step's product is a plain (not transposed) GEMM: OpenBLAS runs the
  // small per-step shape faster that way (64x512x128: about 15%).
  std::vector<float> w_hh_t(static_cast<size_t>(H * GH));
  for (int64_t r = 0; r < GH; ++r) {
    for (int64_t c = 0; c < H; ++c) w_hh_t[size_t(c * GH + r)] = w_hh[r * H + c];
  }
  const RnnKernels& kernels = rnn_kernels();
  for (int64_t k = 0; k < T; ++k) {
    const int64_t t = step_at(s, k), prev = step_at(s, k - 1);
    const float* h_prev = k == 0 ? (h0 ? h0 : zeros.data()) : y + prev * B * H;
    const float* c_prev = k == 0 ? (c0 ? c0 : zeros.data()) : aux + prev * B * H;
    const float* h_rec = h_prev;
    if (s.rec_mask) {  // recurrent dropout: the product reads the masked state
      for (int64_t i = 0; i < B * H; ++i) h_masked[size_t(i)] = h_prev[i] * s.rec_mask[i];
      h_rec = h_masked.data();
    }
    float* gates_t = gates + t * B * GH;
    if (s.cell == RnnCell::kGruResetBefore) {  // r and z, then u = r h_rec against W_hn
      sgemm(false, false, B, 2 * H, H, 1.f, h_rec, H, w_hh_t.data(), GH, 0.f, rec.data(), GH);
      kernels.gru_reset_forward(GruResetForwardArgs{B, H, gates_t, rec.data(), b_hh, h_rec,
                                                    aux + t * B * H, active_rows(s, t)});
      sgemm(false, false, B, H, H, 1.f, aux + t * B * H, H, w_hh_t.data() + 2 * H, GH, 0.f,
            rec.data() + 2 * H, GH);
    } else {
      sgemm(false, false, B, GH, H, 1.f, h_rec, H, w_hh_t.data(), GH, 0.f, rec.data(), GH);
    }
    kernels.step_forward(RnnStepForwardArgs{s.cell, B, H, gates_t, rec.data(), b_hh,
                                            h_prev, c_prev, y + t * B * H, aux + t * B * H,
                                            active_rows(s, t)});
  }
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
  const std::vector<float> zeros(size_t(BH), 0.f);
  std::vector<float> dh(size_t(BH), 0.f), dh_prev(static_cast<size_t>(BH)), dc(size_t(BH), 0.f);
  std::vector<float> dmasked(s.rec_mask || reset_before ? static_cast<size_t>(BH) : 0);
  std::vector<float> du(reset_before ? static_cast<size_t>(BH) : 0);
  std::vector<float> h_masked(reset_before && s.rec_mask ? static_cast<size_t>(BH) : 0);
  if (dh_n) std::memcpy(dh.data(), dh_n, size_t(BH) * sizeof(float));
  if (dc_n && s.cell == RnnCell::kLstm) std::memcpy(dc.data(), dc_n, size_t(BH) * sizeof(float));
  const RnnKernels& kernels = rnn_kernels();
  for (int64_t k = T - 1; k >= 0; --k) {
    const int64_t t = step_at(s, k), prev = step_at(s, k - 1);
    if (dy) {
      const float* d = dy + t * BH;
      for (int64_t i = 0; i < BH; ++i) dh[size_t(i)] += d[i];
    }
    const float* h_prev = k == 0 ? (h0 ? h0 : zeros.data()) : y + prev * BH;
    const float* c_prev = k == 0 ? (c0 ? c0 : zeros.data()) : aux + prev * BH;
    float* dgates_t = dgates + t * B * GH;
    kernels.step_backward(RnnStepBackwardArgs{
        s.cell, B, H, gates + t * B * GH, aux + t * BH, h_prev, c_prev, y + t * BH, dh.data(),
        dc.data(), dgates_t, gru ? dgates_rec + t * B * GH : nullptr, dh_prev.data(),
        active_rows(s, t)});
    // The gradient reaching the state the product read (h_prev, or h_prev * mask): straight
    // into dh_prev without a mask, else masked on the way.
    float* dh_rec = s.rec_mask ? dmasked.data() : dh_prev.data();
    float beta = s.rec_mask ? 0.f : 1.f;
    if (reset_before) {  // through u = r h_rec first, then the r and z rows
      const float* h_rec = h_prev;
      if (s.rec_mask) {
        for (int64_t i = 0; i < BH; ++i) h_masked[size_t(i)] = h_prev[i] * s.rec_mask[i];
        h_rec = h_masked.data();
        std::memset(dmasked.data(), 0, size_t(BH) * sizeof(float));
      }
      sgemm(false, false, B, H, H, 1.f, dgates_t + 2 * H, GH, w_hh + 2 * H * H, H, 0.f,
            du.data(), H);
      kernels.gru_reset_backward(GruResetBackwardArgs{B, H, gates + t * B * GH, h_rec, du.data(),
                                                      dgates_t, dh_rec, active_rows(s, t)});
      beta = 1.f;
    }
    sgemm(false, false, B, H, state_rows, 1.f, drec + t * B * GH, GH, w_hh, H, beta, dh_rec, H);
    if (s.rec_mask) {  // the product read h_prev * mask: its gradient is masked the same way
      for (int64_t i = 0; i < BH; ++i) dh_prev[size_t(i)] += dmasked[size_t(i)] * s.rec_mask[i];
    }
    dh.swap(dh_prev);
  }
  if (dh0) std::memcpy(dh0, dh.data(), size_t(BH) * sizeof(float));
  if (dc0) {
    if (s.cell == RnnCell::kLstm) std::memcpy(dc0, dc.data(), size_t(BH) * sizeof(float));
    else std::memset(dc0, 0, size_t(BH) * sizeof(float));
  }
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
  if (db_hh) column_sums(drec, T * B, GH, db_hh);
}

}  // namespace fusednn::cpu
