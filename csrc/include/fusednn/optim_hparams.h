// Optimizer hyperparameters as users give them, and their conversion (in double, once per
// step, on the host) into the float coefficients the per-element math in optim_math.h reads.
// Shared by the CPU and CUDA front ends.
#pragma once
#include <cmath>
#include <cstdint>

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

inline GradTerms make_grad_terms(double grad_scale, bool maximize, double coupled_decay, double l1) {
  return GradTerms{float(maximize ? -grad_scale : grad_scale), float(coupled_decay), float(l1)};
}

inline SgdCoeffs make_coeffs(const SgdHparams& h) {
  return SgdCoeffs{make_grad_terms(h.grad_scale, h.maximize, h.weight_decay, h.l1),
                   float(h.lr), float(h.momentum), float(1.0 - h.dampening), h.nesterov,
                   h.first_step};
}

inline AdagradCoeffs make_coeffs(const AdagradHparams& h) {
  const double clr = h.lr / (1.0 + double(h.step - 1) * h.lr_decay);
  return AdagradCoeffs{make_grad_terms(h.grad_scale, h.maximize, h.weight_decay, h.l1),
                       float(clr), float(h.eps)};
}

inline RmspropCoeffs make_coeffs(const RmspropHparams& h) {
  return RmspropCoeffs{make_grad_terms(h.grad_scale, h.maximize, h.weight_decay, h.l1),
                       float(h.lr), float(h.alpha), float(1.0 - h.alpha), float(h.eps),
                       float(h.momentum)};
}

inline AdamCoeffs make_coeffs(const AdamHparams& h) {
  const double t = double(h.step);
  const double bias1 = 1.0 - std::pow(h.beta1, t);
  const double bias2 = 1.0 - std::pow(h.beta2, t);
  const double coupled = h.decoupled ? 0.0 : h.weight_decay;
  const double keep = h.decoupled ? 1.0 - h.lr * h.weight_decay : 1.0;
  return AdamCoeffs{make_grad_terms(h.grad_scale, h.maximize, coupled, h.l1),
                    float(1.0 - h.beta1), float(h.beta2), float(1.0 - h.beta2),
                    float(h.lr / bias1), float(1.0 / std::sqrt(bias2)), float(h.eps),
                    float(keep)};
}

}  // namespace fusednn
