// Optimizer hyperparameters as users give them, and their conversion (in double, once per
// step) into the float coefficients the per-element math in optim_math.h reads. Shared by
// the CPU front end and the CUDA kernels, which convert on the device when lr or the step
// count live in device memory (so a step needs no host synchronization).
#pragma once
#include <math.h>
#include <stdint.h>

#include "fusednn/optim_math.h"

namespace fusednn {

// Each optimizer's hyperparameters are listed once, as X(type, name) entries: the structs
// below and their Python classes (fusednn._cpu.AdamHparams & co., bound field by field from the
// same lists) both come from them. `grad_scale` is the clip coefficient the step computes;
// `step` is the 1-based step being taken (after this step's increment). Two switches give
// Keras's update rules where they differ from torch's: `eps_inside_sqrt` (Adagrad, RMSprop:
// sqrt(v + eps) instead of sqrt(v) + eps) and `eps_before_bias_correction` (Adam: eps added to
// the uncorrected sqrt(v)). `decoupled` makes weight_decay decoupled on every optimizer (the
// parameter scaled by 1 - lr * weight_decay before its update: AdamW's, and Keras's weight_decay
// on all of its optimizers) instead of torch's L2 term in the gradient. `buffer_lr` (SGD,
// RMSprop) is the rate the momentum buffer was built at, when that differs from `lr`: Keras
// keeps its velocity at the old rate's scale (v = momentum * v - lr * g), which in torch's form
// b = -v / lr is a buffer decay of momentum * buffer_lr / lr for this step; 0 means lr.
#define FUSEDNN_SGD_FIELDS(X)                                                              \
  X(double, lr) X(double, momentum) X(double, dampening) X(double, weight_decay)           \
  X(double, l1) X(double, grad_scale) X(bool, nesterov) X(bool, maximize) X(bool, first_step) \
  X(bool, decoupled) X(double, buffer_lr)
#define FUSEDNN_ADAGRAD_FIELDS(X)                                                          \
  X(double, lr) X(double, lr_decay) X(double, weight_decay) X(double, eps) X(double, l1)   \
  X(double, grad_scale) X(int64_t, step) X(bool, maximize) X(bool, eps_inside_sqrt)       \
  X(bool, decoupled)
#define FUSEDNN_RMSPROP_FIELDS(X)                                                          \
  X(double, lr) X(double, alpha) X(double, eps) X(double, weight_decay) X(double, momentum) \
  X(double, l1) X(double, grad_scale) X(bool, centered) X(bool, maximize)                  \
  X(bool, eps_inside_sqrt) X(bool, decoupled) X(double, buffer_lr)
#define FUSEDNN_ADAM_FIELDS(X)                                                             \
  X(double, lr) X(double, beta1) X(double, beta2) X(double, eps) X(double, weight_decay)   \
  X(double, l1) X(double, grad_scale) X(int64_t, step) X(bool, amsgrad) X(bool, maximize)  \
  X(bool, decoupled) X(bool, eps_before_bias_correction)

#define FUSEDNN_DECLARE_FIELD(type, name) type name;

struct SgdHparams {
  FUSEDNN_SGD_FIELDS(FUSEDNN_DECLARE_FIELD)
};
struct AdagradHparams {
  FUSEDNN_ADAGRAD_FIELDS(FUSEDNN_DECLARE_FIELD)
};
struct RmspropHparams {
  FUSEDNN_RMSPROP_FIELDS(FUSEDNN_DECLARE_FIELD)
};
struct AdamHparams {
  FUSEDNN_ADAM_FIELDS(FUSEDNN_DECLARE_FIELD)
};

// The state tensors each optimizer keeps per parameter, in the order its per-element math
// (optim_math.h) reads them, under torch.optim's state keys; `uses` says which of them the
// hyperparameters switch on. Python builds and names its state from these.
template <class H>
struct OptimState;

template <>
struct OptimState<SgdHparams> {
  static constexpr int kMax = 1;
  static constexpr const char* keys[kMax] = {"momentum_buffer"};
  static constexpr const char* lists[kMax] = {"momentum_buffers"};
  static bool uses(const SgdHparams& h, int) { return h.momentum != 0.0; }
  static constexpr bool kCountsSteps = false;
};
template <>
struct OptimState<AdagradHparams> {
  static constexpr int kMax = 1;
  static constexpr const char* keys[kMax] = {"sum"};
  static constexpr const char* lists[kMax] = {"state_sums"};
  static bool uses(const AdagradHparams&, int) { return true; }
  static constexpr bool kCountsSteps = true;
};
template <>
struct OptimState<RmspropHparams> {
  static constexpr int kMax = 3;
  static constexpr const char* keys[kMax] = {"square_avg", "momentum_buffer", "grad_avg"};
  static constexpr const char* lists[kMax] = {"square_avgs", "momentum_buffers", "grad_avgs"};
  static bool uses(const RmspropHparams& h, int s) {
    return s == 0 || (s == 1 && h.momentum > 0.0) || (s == 2 && h.centered);
  }
  static constexpr bool kCountsSteps = true;  // torch keeps a step for RMSprop (unused in math)
};
template <>
struct OptimState<AdamHparams> {
  static constexpr int kMax = 3;
  static constexpr const char* keys[kMax] = {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
  static constexpr const char* lists[kMax] = {"exp_avgs", "exp_avg_sqs", "max_exp_avg_sqs"};
  static bool uses(const AdamHparams& h, int s) { return s < 2 || h.amsgrad; }
  static constexpr bool kCountsSteps = true;
};

// The coefficients in R (float for float32/float16/bfloat16 parameters, double for float64),
// computed in double and rounded once.
template <class R>
FUSEDNN_HD inline GradTerms<R> make_grad_terms(double grad_scale, bool maximize,
                                               double coupled_decay, double l1) {
  return GradTerms<R>{R(maximize ? -grad_scale : grad_scale), R(coupled_decay), R(l1)};
}

// The gradient terms, with weight decay as torch's L2 term (none when it is decoupled), and
// the parameter's factor: 1 - lr * weight_decay when decoupled (at the step's rate), else 1.
template <class R, class H>
FUSEDNN_HD inline GradTerms<R> grad_terms(const H& h) {
  return make_grad_terms<R>(h.grad_scale, h.maximize, h.decoupled ? 0.0 : h.weight_decay, h.l1);
}
template <class H>
FUSEDNN_HD inline double param_keep(const H& h, double lr) {
  return h.decoupled ? 1.0 - lr * h.weight_decay : 1.0;
}

// The momentum buffer's decay this step (see buffer_lr). A rate of 0 moves nothing, and the
// buffer restarts from the gradient at it, since b = -v / lr has no value there.
template <class H>
FUSEDNN_HD inline double buffer_decay(const H& h) {
  if (h.buffer_lr == 0.0 || h.buffer_lr == h.lr) return h.momentum;
  return h.lr == 0.0 ? 0.0 : h.momentum * (h.buffer_lr / h.lr);
}

template <class R = float>
FUSEDNN_HD inline SgdCoeffs<R> make_coeffs(const SgdHparams& h) {
  return SgdCoeffs<R>{grad_terms<R>(h), R(h.lr), R(h.momentum), R(buffer_decay(h)),
                      R(1.0 - h.dampening), R(param_keep(h, h.lr)), h.nesterov, h.first_step};
}

template <class R = float>
FUSEDNN_HD inline AdagradCoeffs<R> make_coeffs(const AdagradHparams& h) {
  const double clr = h.lr / (1.0 + double(h.step - 1) * h.lr_decay);
  return AdagradCoeffs<R>{grad_terms<R>(h), R(clr), R(h.eps_inside_sqrt ? h.eps : 0.0),
                          R(h.eps_inside_sqrt ? 0.0 : h.eps), R(param_keep(h, clr))};
}

template <class R = float>
FUSEDNN_HD inline RmspropCoeffs<R> make_coeffs(const RmspropHparams& h) {
  return RmspropCoeffs<R>{grad_terms<R>(h), R(h.lr), R(h.alpha), R(1.0 - h.alpha),
                          R(h.eps_inside_sqrt ? h.eps : 0.0), R(h.eps_inside_sqrt ? 0.0 : h.eps),
                          R(buffer_decay(h)), R(param_keep(h, h.lr))};
}

template <class R = float>
FUSEDNN_HD inline AdamCoeffs<R> make_coeffs(const AdamHparams& h) {
  const double t = double(h.step);
  const double bias1 = 1.0 - pow(h.beta1, t);
  const double bias2 = 1.0 - pow(h.beta2, t);
  // (sqrt(v) + eps) / sqrt(bias2) = sqrt(v) / sqrt(bias2) + eps / sqrt(bias2)
  const double eps = h.eps_before_bias_correction ? h.eps / sqrt(bias2) : h.eps;
  return AdamCoeffs<R>{grad_terms<R>(h), R(1.0 - h.beta1), R(h.beta2), R(1.0 - h.beta2),
                       R(h.lr / bias1), R(1.0 / sqrt(bias2)), R(eps), R(param_keep(h, h.lr))};
}

// Where a step count enters the math; the CUDA kernels set it per tensor from device memory.
// SGD counts no steps for torch, but on the GPU each momentum buffer carries a device count of
// the steps applied to it, so that the first applied one (not merely the first attempted: a
// skipped step leaves the buffer untouched) takes the buffer from the gradient.
FUSEDNN_HD inline void set_step(SgdHparams& h, int64_t applied) { h.first_step = applied == 1; }
FUSEDNN_HD inline void set_step(RmspropHparams&, int64_t) {}
FUSEDNN_HD inline void set_step(AdagradHparams& h, int64_t step) { h.step = step; }
FUSEDNN_HD inline void set_step(AdamHparams& h, int64_t step) { h.step = step; }

}  // namespace fusednn
