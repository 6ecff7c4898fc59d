// The plain C++ interface of the CUDA module: launchers on raw device addresses and a stream.
// No CUDA or pybind11 type appears here, so the bindings compile with the host compiler and
// the kernels with nvcc.
#pragma once
#include <cstdint>
#include <vector>

#include "fusednn/geometry.h"
#include "fusednn/optim_hparams.h"
#include "fusednn/step_control.h"

namespace fusednn::cuda {

enum class DType : int { f32 = 0, f16 = 1, bf16 = 2 };

using Addresses = std::vector<uintptr_t>;

// One fused step over many tensors. `steps`: one device float per tensor holding its step
// count (Adam, Adagrad), read by the kernel; empty to use the count in the hyperparameters.
// `lr`: a device float overriding the hyperparameter's lr, or 0. `control`: the device
// StepControl written by finish_grad_norm (clip scale, skip flag), or 0.
struct StepLists {
  Addresses params, grads;
  std::vector<Addresses> states;  // float32, one list per state tensor of the optimizer
  Addresses steps;
  std::vector<int64_t> sizes;
  DType dtype;  // of params and grads
};

struct DeviceScalars {
  uintptr_t lr = 0;
  uintptr_t control = 0;
};

void sgd_step(const StepLists& l, const SgdHparams& h, const DeviceScalars& d, uintptr_t stream);
void adagrad_step(const StepLists& l, const AdagradHparams& h, const DeviceScalars& d,
                  uintptr_t stream);
void rmsprop_step(const StepLists& l, const RmspropHparams& h, const DeviceScalars& d,
                  uintptr_t stream);
void adam_step(const StepLists& l, const AdamHparams& h, const DeviceScalars& d,
               uintptr_t stream);

// Global gradient norm on the device, in two launches: per-chunk sums of squares into a
// workspace (grad_norm_workspace_bytes), then one block that sums them in a fixed order and
// writes the StepControl: scale = min(1, max_norm / (norm + 1e-6)) when max_norm > 0, and
// skip = check_finite && the norm is not finite. No host synchronization.
int64_t grad_norm_workspace_bytes(const std::vector<int64_t>& sizes);
void grad_norm(const Addresses& grads, const std::vector<int64_t>& sizes, DType dtype,
               uintptr_t workspace, uintptr_t control, double max_norm, bool check_finite,
               uintptr_t stream);
constexpr int64_t kControlBytes = sizeof(StepControl);

// steps[i] += 1 for each tensor, unless the StepControl (if any) says skip.
void advance_steps(const Addresses& steps, uintptr_t control, uintptr_t stream);

void dropout(uintptr_t x, uintptr_t y, int64_t n, double p, uint64_t seed, uint64_t offset,
             uintptr_t stream);
void philox(uintptr_t out, int64_t n, uint64_t seed, uint64_t offset, uintptr_t stream);

// ---- layers (nn.cu: element-wise and data-movement kernels; layers.cu: the GEMMs) ----------
// Shapes as the CPU twins (csrc/cpu/nn_kernels.h, layers.h, pool.h); act is a fusednn::Act code.
void bias_act_forward(uintptr_t z, uintptr_t bias, uintptr_t y, uintptr_t saved, int64_t outer,
                      int64_t channels, int64_t inner, int act, float slope, uintptr_t stream);
void bias_act_backward(uintptr_t dy, uintptr_t saved, uintptr_t dz, uintptr_t dbias, int64_t outer,
                       int64_t channels, int64_t inner, int act, float slope, uintptr_t stream);
// out[c] = sum of g[o, c, i] over o and i.
void channel_sum(uintptr_t g, uintptr_t out, int64_t outer, int64_t channels, int64_t inner,
                 uintptr_t stream);
// out[j] = (accumulate ? out[j] : 0) + the sum over i < count of slices[i * n + j].
void sum_slices(uintptr_t slices, int64_t count, int64_t n, uintptr_t out, bool accumulate,
                uintptr_t stream);
// col[n] = im2col(x[n]) for `count` consecutive samples, and the reverse (overwriting x).
void im2col(uintptr_t x, uintptr_t col, int64_t count, const ConvGeometry& g, uintptr_t stream);
void col2im(uintptr_t col, uintptr_t x, int64_t count, const ConvGeometry& g, uintptr_t stream);
void max_pool2d_forward(uintptr_t x, uintptr_t y, uintptr_t argmax, const PoolGeometry& g,
                        uintptr_t stream);
void max_pool2d_backward(uintptr_t dy, uintptr_t argmax, uintptr_t dx, const PoolGeometry& g,
                         uintptr_t stream);
void avg_pool2d_forward(uintptr_t x, uintptr_t y, const PoolGeometry& g, bool include_pad,
                        uintptr_t stream);
void avg_pool2d_backward(uintptr_t dy, uintptr_t dx, const PoolGeometry& g, bool include_pad,
                         uintptr_t stream);
void softmax_xent(uintptr_t logits, int64_t rows, int64_t classes, uintptr_t target_index,
                  uintptr_t target_prob, uintptr_t weight, int64_t ignore_index, uintptr_t loss,
                  uintptr_t dlogits, float grad_scale, uintptr_t stream);

void linear_forward(uintptr_t x, uintptr_t w, uintptr_t bias, uintptr_t y, uintptr_t saved,
                    int64_t batch, int64_t in, int64_t out, int act, float slope, uintptr_t stream);
void linear_backward(uintptr_t x, uintptr_t w, uintptr_t dy, uintptr_t saved, uintptr_t dz,
                     uintptr_t dx, uintptr_t dw, uintptr_t dbias, int64_t batch, int64_t in,
                     int64_t out, int act, float slope, uintptr_t stream);
// The device scratch a conv takes (its im2col chunk and, backward with dw, the per-sample
// weight-gradient partials), in bytes: the caller allocates it from its array library's pool
// and passes it as `workspace` (at least this many bytes, 256-byte aligned; 0: none needed).
size_t conv2d_workspace_bytes(const ConvGeometry& g, int64_t batch, int64_t out_channels,
                              bool backward, bool weight_grad);
void conv2d_forward(uintptr_t x, uintptr_t w, uintptr_t bias, uintptr_t y, uintptr_t saved,
                    int64_t batch, int64_t out_channels, const ConvGeometry& g, int act,
                    float slope, uintptr_t workspace, size_t workspace_bytes, uintptr_t stream);
void conv2d_backward(uintptr_t x, uintptr_t w, uintptr_t dy, uintptr_t saved, uintptr_t dz,
                     uintptr_t dx, uintptr_t dw, uintptr_t dbias, int64_t batch,
                     int64_t out_channels, const ConvGeometry& g, int act, float slope,
                     uintptr_t workspace, size_t workspace_bytes, uintptr_t stream);

// Row-major C[m, n] = op(A)[m, k] op(B)[k, n] + beta C through cuBLAS (FP32 compute).
void gemm_rowmajor(uintptr_t stream, bool ta, bool tb, int64_t m, int64_t n, int64_t k,
                   uintptr_t a, int64_t lda, uintptr_t b, int64_t ldb, float beta, uintptr_t c,
                   int64_t ldc);

// ---- recurrent layers (rnn.cu): the CPU twins' contract (csrc/cpu/rnn.h), cell codes of
// fusednn/rnn_math.h, `mask` a device (steps, batch) uint8 array or 0, `rec_mask` a device
// (batch, hidden) float recurrent-dropout mask or 0 ---------------------------------------------
// The device scratch rnn_forward (backward=False) / rnn_backward take as `workspace`, in
// bytes, for a call with or without recurrent dropout, h0 and (backward) dw_hh.
size_t rnn_workspace_bytes(int cell, int64_t steps, int64_t batch, int64_t hidden, bool backward,
                           bool rec_dropout, bool h0, bool weight_grad_hh);
void rnn_forward(int cell, int64_t steps, int64_t batch, int64_t input, int64_t hidden,
                 bool reverse, uintptr_t mask, uintptr_t x, uintptr_t w_ih, uintptr_t w_hh,
                 uintptr_t b_ih, uintptr_t b_hh, uintptr_t h0, uintptr_t c0, uintptr_t y,
                 uintptr_t h_n, uintptr_t c_n, uintptr_t gates, uintptr_t aux, uintptr_t rec_mask,
                 uintptr_t workspace, size_t workspace_bytes, uintptr_t stream);
void rnn_backward(int cell, int64_t steps, int64_t batch, int64_t input, int64_t hidden,
                  bool reverse, uintptr_t mask, uintptr_t x, uintptr_t w_ih, uintptr_t w_hh,
                  uintptr_t h0, uintptr_t c0, uintptr_t y, uintptr_t gates, uintptr_t aux,
                  uintptr_t dy, uintptr_t dh_n, uintptr_t dc_n, uintptr_t dx, uintptr_t dw_ih,
                  uintptr_t dw_hh, uintptr_t db_ih, uintptr_t db_hh, uintptr_t dh0,
                  uintptr_t dc0, uintptr_t dgates, uintptr_t dgates_rec, uintptr_t rec_mask,
                  uintptr_t workspace, size_t workspace_bytes, uintptr_t stream);

}  // namespace fusednn::cuda
