// ============================================================================================
// Fused optimizer updates: the per-element math of every optimizer, written once.
//
// Each *Update functor maps (param, grad, state...) -> (param', state'...) for one element or
// one SIMD vector. The scalar C++ reference, the AVX2 path and the CUDA path all instantiate
// these same templates with their own V (float, an AVX2 vector, float on the device); only the
// loops that walk memory differ. The math follows torch.optim's single-tensor implementations
// operation for operation, so trajectories agree with PyTorch to float32 rounding.
//
// V must provide + - * /, construction from R, and fmadd, fnmadd, vsqrt, vmax, vsign. R is the
// real type of the coefficients: float for float32/float16/bfloat16 parameters (whose math
// runs in float32), double for float64 parameters (whose math runs in double).
// ============================================================================================
#pragma once
#include "fusednn/macros.h"
#include "fusednn/vec_scalar.h"

namespace fusednn {

// ---------------------------------------------------------------------------------------------
// The gradient each optimizer sees. `scale` folds clip-by-global-norm and maximize (a negative
// scale); coupled L2 weight decay and the L1 term follow, in the order torch.optim applies
// weight decay: after the maximize sign flip, so decay always pulls towards zero.
// ---------------------------------------------------------------------------------------------
template <class R = float>
struct GradTerms {
  R scale;         // clip coefficient, negated for maximize
  R weight_decay;  // coupled L2; 0 when decoupled or off
  R l1;            // L1 strength; adds l1 * sign(param)
};

// torch's lerp(start, end, weight): from `start` when |weight| < 0.5, else from `end`, so a
// weight of 1 (beta1 = 0, alpha = 0) gives `end` exactly. The weight is one number per step,
// so the branch is uniform across a vector.
template <class V, class R>
FUSEDNN_HD FUSEDNN_INLINE V lerp(V start, V end, R weight) {
  const bool small = weight < R(0.5) && weight > R(-0.5);
  return fmadd(V(small ? weight : weight - R(1)), end - start, small ? start : end);
}

template <class V, class R>
FUSEDNN_HD FUSEDNN_INLINE V effective_grad(V g, V p, const GradTerms<R>& t) {
  g = g * V(t.scale);
  if (t.weight_decay != R(0)) g = fmadd(V(t.weight_decay), p, g);
  if (t.l1 != R(0)) g = fmadd(V(t.l1), vsign(p), g);
  return g;
}

// ---------------------------------------------------------------------------------------------
// SGD with momentum, dampening and Nesterov. States: [momentum_buffer] when momentum != 0.
// The first step copies the gradient into the buffer (no dampening), as torch.optim.SGD does.
// ---------------------------------------------------------------------------------------------
template <class R = float>
struct SgdCoeffs {
  GradTerms<R> grad;
  R lr;
  R momentum;        // Nesterov's look-ahead
  R buffer_decay;    // the old buffer's factor: momentum, rescaled when Keras's rate changes
  R dampening_keep;  // 1 - dampening
  R param_keep;      // 1 - lr * weight_decay when decoupled, else 1
  bool nesterov;
  bool first_step;
};

template <bool kMomentum, class R = float>
struct SgdUpdate {
  static constexpr int kStates = kMomentum ? 1 : 0;
  SgdCoeffs<R> c;
  template <class V>
  FUSEDNN_HD FUSEDNN_INLINE void operator()(V& p, V g, V* s) const {
    V d = effective_grad(g, p, c.grad);
    p = p * V(c.param_keep);
    if (kMomentum) {
      V& buf = s[0];
      buf = c.first_step ? d : fmadd(buf, V(c.buffer_decay), V(c.dampening_keep) * d);
      d = c.nesterov ? fmadd(V(c.momentum), buf, d) : buf;
    }
    p = fnmadd(V(c.lr), d, p);
  }
};

// ---------------------------------------------------------------------------------------------
// Adagrad. States: [sum]. `lr` arrives already decayed: lr / (1 + (step - 1) * lr_decay).
// ---------------------------------------------------------------------------------------------
// The denominator is sqrt(v + eps_in) + eps_out: torch's (eps_in = 0) or Keras's (eps_out = 0).
template <class R = float>
struct AdagradCoeffs {
  GradTerms<R> grad;
  R lr;
  R eps_in;
  R eps_out;
  R param_keep;  // 1 - lr * weight_decay when decoupled, else 1
};

template <class R = float>
struct AdagradUpdate {
  static constexpr int kStates = 1;
  AdagradCoeffs<R> c;
  template <class V>
  FUSEDNN_HD FUSEDNN_INLINE void operator()(V& p, V g, V* s) const {
    V d = effective_grad(g, p, c.grad);
    p = p * V(c.param_keep);
    s[0] = fmadd(d, d, s[0]);
    p = fnmadd(V(c.lr), d / (vsqrt(s[0] + V(c.eps_in)) + V(c.eps_out)), p);
  }
};

// ---------------------------------------------------------------------------------------------
// RMSprop. States: [square_avg, momentum_buffer if momentum, grad_avg if centered].
// The centered variance is clamped at zero: rounding can make E[g^2] - E[g]^2 a hair negative
// for a constant gradient, and sqrt would then write NaN into the parameters.
// ---------------------------------------------------------------------------------------------
template <class R = float>
struct RmspropCoeffs {
  GradTerms<R> grad;
  R lr;
  R alpha;
  R alpha_comp;  // 1 - alpha
  R eps_in;      // sqrt(var + eps_in) + eps_out, as Adagrad
  R eps_out;
  R buffer_decay;  // momentum, rescaled when Keras's rate changes (see buffer_lr)
  R param_keep;    // 1 - lr * weight_decay when decoupled, else 1
};

template <bool kCentered, bool kMomentum, class R = float>
struct RmspropUpdate {
  static constexpr int kStates = 1 + int(kMomentum) + int(kCentered);
  RmspropCoeffs<R> c;
  template <class V>
  FUSEDNN_HD FUSEDNN_INLINE void operator()(V& p, V g, V* s) const {
    V d = effective_grad(g, p, c.grad);
    p = p * V(c.param_keep);
    V& square_avg = s[0];
    square_avg = fmadd(V(c.alpha_comp) * d, d, square_avg * V(c.alpha));
    V var = square_avg;
    if (kCentered) {
      V& grad_avg = s[1 + int(kMomentum)];
      grad_avg = lerp(grad_avg, d, c.alpha_comp);
      var = vmax(fnmadd(grad_avg, grad_avg, square_avg), V(R(0)));
    }
    V step = d / (vsqrt(var + V(c.eps_in)) + V(c.eps_out));
    if (kMomentum) {
      V& buf = s[1];
      buf = fmadd(buf, V(c.buffer_decay), step);
      step = buf;
    }
    p = fnmadd(V(c.lr), step, p);
  }
};

// ---------------------------------------------------------------------------------------------
// Adam / AdamW. States: [exp_avg, exp_avg_sq, max_exp_avg_sq if amsgrad].
// Bias corrections are folded into step_size = lr / (1 - beta1^t) and
// inv_bias2_sqrt = 1 / sqrt(1 - beta2^t), computed in double on the host once per step.
// Decoupled decay (AdamW) scales the parameter by param_keep = 1 - lr * weight_decay first,
// as it does in the other optimizers when their decay is decoupled (Keras's weight_decay).
// ---------------------------------------------------------------------------------------------
template <class R = float>
struct AdamCoeffs {
  GradTerms<R> grad;
  R beta1_comp;  // 1 - beta1
  R beta2;
  R beta2_comp;  // 1 - beta2
  R step_size;
  R inv_bias2_sqrt;
  R eps;
  R param_keep;  // 1 - lr * weight_decay when decoupled, else 1
};

template <bool kAmsgrad, class R = float>
struct AdamUpdate {
  static constexpr int kStates = kAmsgrad ? 3 : 2;
  AdamCoeffs<R> c;
  template <class V>
  FUSEDNN_HD FUSEDNN_INLINE void operator()(V& p, V g, V* s) const {
    V d = effective_grad(g, p, c.grad);
    p = p * V(c.param_keep);
    V& exp_avg = s[0];
    V& exp_avg_sq = s[1];
    // lerp towards the gradient: one rounding fewer than m*beta1 + (1-beta1)*g.
    exp_avg = lerp(exp_avg, d, c.beta1_comp);
    exp_avg_sq = fmadd(V(c.beta2_comp) * d, d, exp_avg_sq * V(c.beta2));
    V second = exp_avg_sq;
    if (kAmsgrad) {
      s[2] = vmax(s[2], exp_avg_sq);
      second = s[2];
    }
    V denom = fmadd(vsqrt(second), V(c.inv_bias2_sqrt), V(c.eps));
    p = fnmadd(V(c.step_size), exp_avg / denom, p);
  }
};

}  // namespace fusednn
