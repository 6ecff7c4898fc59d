// ============================================================================================
// Recurrent layers over a sequence on the GPU, the CPU twins' algorithm (csrc/cpu/rnn.cpp):
// the input part of every step as one cuBLAS GEMM (its bias added by the epilogue pass of
// nn.cu), then per step one recurrent GEMM and one fused cell kernel; the backward walks the
// steps in reverse with one fused kernel (which also adds the step's output gradient) and one
// GEMM each, then the input and weight gradients as GEMMs over all steps and the bias
// gradients as column sums. The cell math is fusednn/rnn_math.h, shared with the CPU paths.
// Everything is queued on the caller's stream; scratch is carved from the caller's workspace.
// ============================================================================================
#include <cstdint>

#include "cuda/common.cuh"
#include "cuda/launch.h"
#include "cuda/workspace.h"
#include "fusednn/rnn_math.h"
#include "fusednn/vec_scalar.h"

namespace fusednn::cuda {
namespace {

constexpr int kThreads = 256;

#define FUSEDNN_GRID_STRIDE(i, n) \
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < (n); i += int64_t(gridDim.x) * blockDim.x)

struct StepForward {
  RnnCell cell;
  int64_t batch, hidden;
  float* gates;
  const float* rec;
  const float* b_hh;
  const float* h_prev;
  const float* c_prev;
  float* h;
  float* aux;
  const uint8_t* active;
};

struct StepBackward {
  RnnCell cell;
  int64_t batch, hidden;
  const float* gates;
  const float* aux;
  const float* h_prev;
  const float* c_prev;
  const float* dy;  // this step's output gradient, added to dh first (nullable)
  float* dh;        // in: the gradient reaching h from later steps; read only
  float* dc;        // LSTM, in place: dc_t in, dc_{t-1} out
  float* dgates;
  float* dgates_rec;
  float* dh_prev;
  const uint8_t* active;
};

// One thread per (row, unit): the same per-element math as the CPU engine (rnn_engine.h).
__global__ void step_forward_kernel(StepForward a) {
  const int64_t H = a.hidden, GH = rnn_gates(a.cell) * H;
  FUSEDNN_GRID_STRIDE(i, a.batch * H) {
    const int64_t b = i / H, j = i % H;
    float* gates = a.gates + b * GH;
    const float* rec = a.rec + b * GH;
    if (a.active && !a.active[b]) {
      a.h[i] = a.h_prev[i];
      if (a.cell == RnnCell::kLstm) a.aux[i] = a.c_prev[i];
      continue;
    }
    auto rc = [&](int64_t gate) {
      return rec[gate * H + j] + (a.b_hh ? a.b_hh[gate * H + j] : 0.f);
    };
    switch (a.cell) {
      case RnnCell::kRnnTanh:
      case RnnCell::kRnnRelu: {
        const float y = a.cell == RnnCell::kRnnRelu ? elman_forward<true>(gates[j], rc(0))
                                                    : elman_forward<false>(gates[j], rc(0));
        gates[j] = y;
        a.h[i] = y;
        break;
      }
      case RnnCell::kLstm: {
        float c, y;
        const LstmGates<float> g = lstm_forward<float>(
            {gates[j], gates[H + j], gates[2 * H + j], gates[3 * H + j]},
            {rc(0), rc(1), rc(2), rc(3)}, a.c_prev[i], c, y);
        gates[j] = g.i;
        gates[H + j] = g.f;
        gates[2 * H + j] = g.g;
        gates[3 * H + j] = g.o;
        a.aux[i] = c;
        a.h[i] = y;
        break;
      }
      case RnnCell::kGru: {
        float y;
        const float rn = rc(2);
        const GruGates<float> g = gru_forward<float>(
            {gates[j], gates[H + j], gates[2 * H + j]}, {rc(0), rc(1), rn}, a.h_prev[i], y);
        gates[j] = g.r;
        gates[H + j] = g.z;
        gates[2 * H + j] = g.n;
        a.aux[i] = rn;
        a.h[i] = y;
        break;
      }
      case RnnCell::kGruResetBefore: {  // r, z and u from gru_reset_forward_kernel
        float n;
        a.h[i] = gru_reset_state<float>(gates[2 * H + j] + rc(2), gates[H + j], a.h_prev[i], n);
        gates[2 * H + j] = n;
        break;
      }
    }
  }
}

// The reset-before GRU's first pass: r, z and u = r h_rec (rnn_kernels.h GruResetForwardArgs).
__global__ void gru_reset_forward_kernel(int64_t batch, int64_t H, float* gates, const float* rec,
                                         const float* b_hh, const float* h_rec, float* u,
                                         const uint8_t* active) {
  FUSEDNN_GRID_STRIDE(i, batch * H) {
    const int64_t b = i / H, j = i % H;
    if (active && !active[b]) {
      u[i] = 0.f;
      continue;
    }
    float* g = gates + b * 3 * H;
    const float* rc = rec + b * 3 * H;
    const float br = b_hh ? b_hh[j] : 0.f, bz = b_hh ? b_hh[H + j] : 0.f;
    float r, z;
    u[i] = gru_reset_gates<float>(g[j], rc[j] + br, g[H + j], rc[H + j] + bz, h_rec[i], r, z);
    g[j] = r;
    g[H + j] = z;
  }
}

// Its backward: r's pre-activation gradient and dh_rec += du r.
__global__ void gru_reset_backward_kernel(int64_t batch, int64_t H, const float* gates,
                                          const float* h_rec, const float* du, float* dgates,
                                          float* dh_rec, const uint8_t* active) {
  FUSEDNN_GRID_STRIDE(i, batch * H) {
    const int64_t b = i / H, j = i % H;
    if (active && !active[b]) {
      dgates[b * 3 * H + j] = 0.f;
      continue;
    }
    float through_u;
    dgates[b * 3 * H + j] = gru_reset_backward<float>(gates[b * 3 * H + j], h_rec[i], du[i],
                                                      through_u);
    dh_rec[i] += through_u;
  }
}

__global__ void step_backward_kernel(StepBackward a) {
  const int64_t H = a.hidden, GH = rnn_gates(a.cell) * H;
  FUSEDNN_GRID_STRIDE(i, a.batch * H) {
    const int64_t b = i / H, j = i % H;
    const float* gates = a.gates + b * GH;
    float* dgates = a.dgates + b * GH;
    const float d = a.dh[i] + (a.dy ? a.dy[i] : 0.f);
    if (a.active && !a.active[b]) {
      for (int64_t g = 0; g < rnn_gates(a.cell); ++g) {
        dgates[g * H + j] = 0.f;
        if (a.dgates_rec) a.dgates_rec[b * GH + g * H + j] = 0.f;
      }
      a.dh_prev[i] = d;  // dc passes through in place
      continue;
    }
    switch (a.cell) {
      case RnnCell::kRnnTanh:
      case RnnCell::kRnnRelu: {
        dgates[j] = a.cell == RnnCell::kRnnRelu ? elman_backward<true>(d, gates[j])
                                                : elman_backward<false>(d, gates[j]);
        a.dh_prev[i] = 0.f;
        break;
      }
      case RnnCell::kLstm: {
        float dc_prev;
        const LstmGates<float> g = lstm_backward<float>(
            {gates[j], gates[H + j], gates[2 * H + j], gates[3 * H + j]}, a.aux[i], a.c_prev[i],
            d, a.dc[i], dc_prev);
        dgates[j] = g.i;
        dgates[H + j] = g.f;
        dgates[2 * H + j] = g.g;
        dgates[3 * H + j] = g.o;
        a.dc[i] = dc_prev;
        a.dh_prev[i] = 0.f;
        break;
      }
      case RnnCell::kGru: {
        float direct;
        const GruGates<float> g = gru_backward<float>(
            {gates[j], gates[H + j], gates[2 * H + j]}, a.aux[i], a.h_prev[i], d, direct);
        float* dr = a.dgates_rec + b * GH;
        dgates[j] = g.r;
        dgates[H + j] = g.z;
        dgates[2 * H + j] = g.n;
        dr[j] = g.r;
        dr[H + j] = g.z;
        dr[2 * H + j] = g.n * gates[j];
        a.dh_prev[i] = direct;
        break;
      }
      case RnnCell::kGruResetBefore: {  // r's column from gru_reset_backward_kernel
        float dz, dn, direct;
        gru_reset_state_backward<float>(gates[H + j], gates[2 * H + j], a.h_prev[i], d, dz, dn,
                                        direct);
        dgates[H + j] = dz;
        dgates[2 * H + j] = dn;
        a.dh_prev[i] = direct;
        break;
      }
    }
  }
}

// out[i] = a[i] * mask[i % period] (recurrent dropout: a state, or every step's, masked).
__global__ void masked_kernel(const float* a, const float* mask, float* out, int64_t n,
                              int64_t period) {
  FUSEDNN_GRID_STRIDE(i, n) { out[i] = a[i] * mask[i % period]; }
}

// out[i] += a[i] * mask[i]
__global__ void add_masked_kernel(const float* a, const float* mask, float* out, int64_t n) {
  FUSEDNN_GRID_STRIDE(i, n) { out[i] += a[i] * mask[i]; }
}

// A recurrent call's scratch in the caller's workspace (workspace.h): the forward's zero
// state, recurrent product and masked state; the backward's zero state, state gradients and
// masked copies. The one account of it, for rnn_workspace_bytes and the kernels alike.
struct RnnScratch {
  struct Piece {
    size_t offset = 0, bytes = 0;
  };
  WorkspaceLayout layout;
  Piece zeros, rec, masked, dh, dh_prev, dc, dmasked, du, h_masked, masked_y, masked_h0;

  RnnScratch(RnnCell cell, int64_t T, int64_t B, int64_t H, bool backward, bool rec_dropout,
             bool h0, bool weight_grad_hh) {
    if (T <= 0 || B <= 0 || H <= 0) return;  // nothing runs
    const int64_t BH = B * H, GH = rnn_gates(cell) * H;
    const bool reset_before = cell == RnnCell::kGruResetBefore;
    zeros = add(BH);
    if (!backward) {
      rec = add(B * GH);
      masked = add(rec_dropout ? BH : 0);
      return;
    }
    dh = add(BH);
    dh_prev = add(BH);
    dc = add(BH);
    dmasked = add(rec_dropout ? BH : 0);
    du = add(reset_before ? BH : 0);
    h_masked = add(reset_before && rec_dropout ? BH : 0);
    masked_y = add(rec_dropout && weight_grad_hh ? T * BH : 0);
    masked_h0 = add(rec_dropout && h0 && weight_grad_hh ? BH : 0);
  }

  Piece add(int64_t floats) {
    const size_t bytes = size_t(floats) * sizeof(float);
    return Piece{layout.add(bytes), bytes};
  }
};

// One piece of the workspace as the kernels use it, zeroed on the stream when asked.
struct Buffer {
  float* p = nullptr;
  Buffer(const RnnScratch& s, const RnnScratch::Piece& piece, uintptr_t workspace,
         size_t workspace_bytes, const char* what, uintptr_t stream, bool zero = false)
      : p(s.layout.at(workspace, workspace_bytes, piece.offset, piece.bytes, what)) {
    if (p && zero) FUSEDNN_CUDA_CHECK(cudaMemsetAsync(p, 0, piece.bytes, as_stream(stream)));
  }
  uintptr_t addr() const { return reinterpret_cast<uintptr_t>(p); }
};

template <class T>
T* ptr(uintptr_t v) { return reinterpret_cast<T*>(v); }

int64_t step_at(bool reverse, int64_t steps, int64_t k) { return reverse ? steps - 1 - k : k; }

void copy(uintptr_t dst, uintptr_t src, int64_t floats, uintptr_t stream) {
  FUSEDNN_CUDA_CHECK(cudaMemcpyAsync(ptr<void>(dst), ptr<const void>(src), size_t(floats) * 4,
                                     cudaMemcpyDeviceToDevice, as_stream(stream)));
}

}  // namespace

size_t rnn_workspace_bytes(int cell_code, int64_t T, int64_t B, int64_t H, bool backward,
                           bool rec_dropout, bool h0, bool weight_grad_hh) {
  return RnnScratch(RnnCell(cell_code), T, B, H, backward, rec_dropout, h0, weight_grad_hh)
      .layout.total();
}

void rnn_forward(int cell_code, int64_t T, int64_t B, int64_t I, int64_t H, bool reverse,
                 uintptr_t mask, uintptr_t x, uintptr_t w_ih, uintptr_t w_hh, uintptr_t b_ih,
                 uintptr_t b_hh, uintptr_t h0, uintptr_t c0, uintptr_t y, uintptr_t h_n,
                 uintptr_t c_n, uintptr_t gates, uintptr_t aux, uintptr_t rec_mask,
                 uintptr_t workspace, size_t workspace_bytes, uintptr_t stream) {
  const RnnCell cell = RnnCell(cell_code);
  const int64_t GH = rnn_gates(cell) * H, BH = B * H;
  if (T == 0 || B == 0) return;
  const RnnScratch scratch(cell, T, B, H, false, rec_mask != 0, h0 != 0, false);
  const char* what = "rnn_forward";
  const Buffer zeros(scratch, scratch.zeros, workspace, workspace_bytes, what, stream, true);
  const Buffer rec(scratch, scratch.rec, workspace, workspace_bytes, what, stream);
  const Buffer masked(scratch, scratch.masked, workspace, workspace_bytes, what, stream);
  gemm_rowmajor(stream, false, true, T * B, GH, I, x, I, w_ih, I, 0.f, gates, GH);
  if (b_ih) bias_act_forward(gates, b_ih, gates, 0, T * B, GH, 1, int(Act::kIdentity), 0.f, stream);
  for (int64_t k = 0; k < T; ++k) {
    const int64_t t = step_at(reverse, T, k), prev = step_at(reverse, T, k - 1);
    const uintptr_t h_prev = k == 0 ? (h0 ? h0 : zeros.addr()) : y + uintptr_t(prev * BH * 4);
    const uintptr_t c_prev = k == 0 ? (c0 ? c0 : zeros.addr()) : aux + uintptr_t(prev * BH * 4);
    uintptr_t h_rec = h_prev;
    if (rec_mask) {  // recurrent dropout: the product reads the masked state
      masked_kernel<<<blocks_for(BH, kThreads), kThreads, 0, as_stream(stream)>>>(
          ptr<const float>(h_prev), ptr<const float>(rec_mask), masked.p, BH, BH);
      FUSEDNN_CUDA_CHECK_LAUNCH();
      h_rec = masked.addr();
    }
    const uint8_t* active = mask ? ptr<const uint8_t>(mask) + t * B : nullptr;
    if (cell == RnnCell::kGruResetBefore) {  // r and z, then u = r h_rec against W_hn
      gemm_rowmajor(stream, false, true, B, 2 * H, H, h_rec, H, w_hh, H, 0.f, rec.addr(), GH);
      gru_reset_forward_kernel<<<blocks_for(BH, kThreads), kThreads, 0, as_stream(stream)>>>(
          B, H, ptr<float>(gates) + t * B * GH, rec.p, ptr<const float>(b_hh),
          ptr<const float>(h_rec), ptr<float>(aux) + t * BH, active);
      FUSEDNN_CUDA_CHECK_LAUNCH();
      gemm_rowmajor(stream, false, true, B, H, H, aux + uintptr_t(t * BH * 4), H,
                    w_hh + uintptr_t(2 * H * H * 4), H, 0.f, rec.addr() + uintptr_t(2 * H * 4),
                    GH);
    } else {
      gemm_rowmajor(stream, false, true, B, GH, H, h_rec, H, w_hh, H, 0.f, rec.addr(), GH);
    }
    StepForward a{cell, B, H, ptr<float>(gates) + t * B * GH, rec.p, ptr<const float>(b_hh),
                  ptr<const float>(h_prev), ptr<const float>(c_prev), ptr<float>(y) + t * BH,
                  ptr<float>(aux) + t * BH, active};
    step_forward_kernel<<<blocks_for(BH, kThreads), kThreads, 0, as_stream(stream)>>>(a);
    FUSEDNN_CUDA_CHECK_LAUNCH();
  }
  const int64_t last = step_at(reverse, T, T - 1);
  if (h_n) copy(h_n, y + uintptr_t(last * BH * 4), BH, stream);
  if (c_n && cell == RnnCell::kLstm) copy(c_n, aux + uintptr_t(last * BH * 4), BH, stream);
}

void rnn_backward(int cell_code, int64_t T, int64_t B, int64_t I, int64_t H, bool reverse,
                  uintptr_t mask, uintptr_t x, uintptr_t w_ih, uintptr_t w_hh, uintptr_t h0,
                  uintptr_t c0, uintptr_t y, uintptr_t gates, uintptr_t aux, uintptr_t dy,
                  uintptr_t dh_n, uintptr_t dc_n, uintptr_t dx, uintptr_t dw_ih, uintptr_t dw_hh,
                  uintptr_t db_ih, uintptr_t db_hh, uintptr_t dh0, uintptr_t dc0,
                  uintptr_t dgates, uintptr_t dgates_rec, uintptr_t rec_mask,
                  uintptr_t workspace, size_t workspace_bytes, uintptr_t stream) {
  const RnnCell cell = RnnCell(cell_code);
  const int64_t GH = rnn_gates(cell) * H, BH = B * H;
  if (T == 0 || B == 0) return;
  const bool gru = cell == RnnCell::kGru;
  const bool reset_before = cell == RnnCell::kGruResetBefore;
  const uintptr_t drec = gru ? dgates_rec : dgates;
  // The rows of W_hh the step's state multiplies (the reset-before GRU's n rows multiply u).
  const int64_t state_rows = reset_before ? 2 * H : GH;
  const RnnScratch scratch(cell, T, B, H, true, rec_mask != 0, h0 != 0, dw_hh != 0);
  const char* what = "rnn_backward";
  auto piece = [&](const RnnScratch::Piece& p, bool zero = false) {
    return Buffer(scratch, p, workspace, workspace_bytes, what, stream, zero);
  };
  const Buffer zeros = piece(scratch.zeros, true), dh = piece(scratch.dh, true);
  const Buffer dh_prev = piece(scratch.dh_prev), dc = piece(scratch.dc, true);
  const Buffer dmasked = piece(scratch.dmasked), du = piece(scratch.du);
  const Buffer h_masked = piece(scratch.h_masked);
  if (dh_n) copy(dh.addr(), dh_n, BH, stream);
  if (dc_n && cell == RnnCell::kLstm) copy(dc.addr(), dc_n, BH, stream);
  float* cur = dh.p;
  float* nxt = dh_prev.p;
  for (int64_t k = T - 1; k >= 0; --k) {
    const int64_t t = step_at(reverse, T, k), prev = step_at(reverse, T, k - 1);
    const uintptr_t h_prev = k == 0 ? (h0 ? h0 : zeros.addr()) : y + uintptr_t(prev * BH * 4);
    const uintptr_t c_prev = k == 0 ? (c0 ? c0 : zeros.addr()) : aux + uintptr_t(prev * BH * 4);
    const uint8_t* active = mask ? ptr<const uint8_t>(mask) + t * B : nullptr;
    const uintptr_t dgates_t = dgates + uintptr_t(t * B * GH * 4);
    StepBackward a{cell, B, H, ptr<const float>(gates) + t * B * GH, ptr<const float>(aux) + t * BH,
                   ptr<const float>(h_prev), ptr<const float>(c_prev),
                   dy ? ptr<const float>(dy) + t * BH : nullptr, cur, dc.p,
                   ptr<float>(dgates_t), gru ? ptr<float>(dgates_rec) + t * B * GH : nullptr, nxt,
                   active};
    step_backward_kernel<<<blocks_for(BH, kThreads), kThreads, 0, as_stream(stream)>>>(a);
    FUSEDNN_CUDA_CHECK_LAUNCH();
    // The gradient reaching the state the product read: straight into dh_prev without a
    // mask, else masked on the way.
    float* dh_rec = rec_mask ? dmasked.p : nxt;
    float beta = rec_mask ? 0.f : 1.f;
    if (reset_before) {  // through u = r h_rec first, then the r and z rows
      uintptr_t h_rec = h_prev;
      if (rec_mask) {
        masked_kernel<<<blocks_for(BH, kThreads), kThreads, 0, as_stream(stream)>>>(
            ptr<const float>(h_prev), ptr<const float>(rec_mask), h_masked.p, BH, BH);
        FUSEDNN_CUDA_CHECK_LAUNCH();
        h_rec = h_masked.addr();
        FUSEDNN_CUDA_CHECK(cudaMemsetAsync(dmasked.p, 0, size_t(BH) * 4, as_stream(stream)));
      }
      gemm_rowmajor(stream, false, false, B, H, H, dgates_t + uintptr_t(2 * H * 4), GH,
                    w_hh + uintptr_t(2 * H * H * 4), H, 0.f, du.addr(), H);
      gru_reset_backward_kernel<<<blocks_for(BH, kThreads), kThreads, 0, as_stream(stream)>>>(
          B, H, ptr<const float>(gates) + t * B * GH, ptr<const float>(h_rec), du.p,
          ptr<float>(dgates_t), dh_rec, active);
      FUSEDNN_CUDA_CHECK_LAUNCH();
      beta = 1.f;
    }
    gemm_rowmajor(stream, false, false, B, H, state_rows, drec + uintptr_t(t * B * GH * 4), GH,
                  w_hh, H, beta, reinterpret_cast<uintptr_t>(dh_rec), H);
    if (rec_mask) {  // the product read h_prev * mask: its gradient is masked the same way
      add_masked_kernel<<<blocks_for(BH, kThreads), kThreads, 0, as_stream(stream)>>>(
          dmasked.p, ptr<const float>(rec_mask), nxt, BH);
      FUSEDNN_CUDA_CHECK_LAUNCH();
    }
    float* swap = cur;
    cur = nxt;
    nxt = swap;
  }
  if (dh0) copy(dh0, reinterpret_cast<uintptr_t>(cur), BH, stream);
  if (dc0) {
    if (cell == RnnCell::kLstm) {
      copy(dc0, dc.addr(), BH, stream);
    } else {
      FUSEDNN_CUDA_CHECK(cudaMemsetAsync(ptr<void>(dc0), 0, size_t(BH) * 4, as_stream(stream)));
    }
  }
  if (dx) gemm_rowmajor(stream, false, false, T * B, I, GH, dgates, GH, w_ih, I, 0.f, dx, I);
  if (dw_ih) gemm_rowmajor(stream, true, false, GH, I, T * B, dgates, GH, x, I, 0.f, dw_ih, I);
  if (dw_hh) {
    // The states each step's product read: the outputs shifted by one step and h0, masked
    // under recurrent dropout.
    const Buffer masked_y = piece(scratch.masked_y), masked_h0 = piece(scratch.masked_h0);
    uintptr_t states = y, first_state = h0;
    if (rec_mask) {
      masked_kernel<<<blocks_for(T * BH, kThreads), kThreads, 0, as_stream(stream)>>>(
          ptr<const float>(y), ptr<const float>(rec_mask), masked_y.p, T * BH, BH);
      FUSEDNN_CUDA_CHECK_LAUNCH();
      states = masked_y.addr();
      if (h0) {
        masked_kernel<<<blocks_for(BH, kThreads), kThreads, 0, as_stream(stream)>>>(
            ptr<const float>(h0), ptr<const float>(rec_mask), masked_h0.p, BH, BH);
        FUSEDNN_CUDA_CHECK_LAUNCH();
        first_state = masked_h0.addr();
      }
    }
    FUSEDNN_CUDA_CHECK(cudaMemsetAsync(ptr<void>(dw_hh), 0, size_t(state_rows * H) * 4,
                                       as_stream(stream)));
    if (T > 1) {
      const uintptr_t dr = reverse ? drec : drec + uintptr_t(B * GH * 4);
      const uintptr_t hp = reverse ? states + uintptr_t(BH * 4) : states;
      gemm_rowmajor(stream, true, false, state_rows, H, (T - 1) * B, dr, GH, hp, H, 0.f, dw_hh,
                    H);
    }
    if (first_state) {
      const int64_t first = step_at(reverse, T, 0);
      gemm_rowmajor(stream, true, false, state_rows, H, B, drec + uintptr_t(first * B * GH * 4),
                    GH, first_state, H, 1.f, dw_hh, H);
    }
    if (reset_before) {  // the n rows against u, every step's own
      gemm_rowmajor(stream, true, false, H, H, T * B, drec + uintptr_t(2 * H * 4), GH, aux, H,
                    0.f, dw_hh + uintptr_t(2 * H * H * 4), H);
    }
  }
  if (db_ih) channel_sum(dgates, db_ih, T * B, GH, 1, stream);
  if (db_hh) channel_sum(drec, db_hh, T * B, GH, 1, stream);
}

}  // namespace fusednn::cuda
