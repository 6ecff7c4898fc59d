// Optimizer hyperparameters as users give them, and their conversion (in double, once per
// step) into the float coefficients the per-element math in optim_math.h reads. Shared by
// the CPU front end and the CUDA kernels, which convert on the device when lr or the step
// count live in device memory (so a step needs no host synchronization).
#pragma once
#include <math.h>
#include <stdint.h>

#include "fusednn/optim_math.h"

namespace fusednn {

struct SgdHparams {
  double lr, momentum, dampening, weight_decay, l1, grad_scale;
  bool nesterov, maximize, first_step;
};

struct AdagradHparams {
  double lr, lr_decay, weight_decay, eps, l1, grad_scale;
  int64_t step;  // 1-based, after this step's increment
  bool maximize;
};

struct RmspropHparams {
  double lr, alpha, eps, weight_decay, momentum, l1, grad_scale;
  bool centered, maximize;
};

struct AdamHparams {
  double lr, beta1, beta2, eps, weight_decay, l1, grad_scale;
  int64_t step;  // 1-based, after this step's increment
  bool amsgrad, maximize, decoupled;
};

FUSEDNN_HD inline GradTerms make_grad_terms(double grad_scale, bool maximize, double coupled_decay, double l1) {
  return GradTerms{float(maximize ? -grad_scale : grad_scale), float(coupled_decay), float(l1)};
}

FUSEDNN_HD inline SgdCoeffs make_coeffs(const SgdHparams& h) {
  return SgdCoeffs{make_grad_terms(h.grad_scale, h.maximize, h.weight_decay, h.l1),
                   float(h.lr), float(h.momentum), float(1.0 - h.dampening), h.nesterov,
                   h.first_step};
}

FUSEDNN_HD inline AdagradCoeffs make_coeffs(const AdagradHparams& h) {
  const double clr = h.lr / (1.0 + double(h.step - 1) * h.lr_decay);
  return AdagradCoeffs{make_grad_terms(h.grad_scale, h.maximize, h.weight_decay, h.l1),
                       float(clr), float(h.eps)};
}

FUSEDNN_HD inline RmspropCoeffs make_coeffs(const RmspropHparams& h) {
  return RmspropCoeffs{make_grad_terms(h.grad_scale, h.maximize, h.weight_decay, h.l1),
                       float(h.lr), float(h.alpha), float(1.0 - h.alpha), float(h.eps),
                       float(h.momentum)};
}

FUSEDNN_HD inline AdamCoeffs make_coeffs(const AdamHparams& h) {
  const double t = double(h.step);
  const double bias1 = 1.0 - pow(h.beta1, t);
  const double bias2 = 1.0 - pow(h.beta2, t);
  const double coupled = h.decoupled ? 0.0 : h.weight_decay;
  const double keep = h.decoupled ? 1.0 - h.lr * h.weight_decay : 1.0;
  return AdamCoeffs{make_grad_terms(h.grad_scale, h.maximize, coupled, h.l1),
                    float(1.0 - h.beta1), float(h.beta2), float(1.0 - h.beta2),
                    float(h.lr / bias1), float(1.0 / sqrt(bias2)), float(h.eps),
                    float(keep)};
}

// Where a step count enters the math; the CUDA kernels set it per tensor from device memory.
FUSEDNN_HD inline void set_step(SgdHparams&, int64_t) {}
FUSEDNN_HD inline void set_step(RmspropHparams&, int64_t) {}
FUSEDNN_HD inline void set_step(AdagradHparams& h, int64_t step) { h.step = step; }
FUSEDNN_HD inline void set_step(AdamHparams& h, int64_t step) { h.step = step; }

}  // namespace fusednn
