// The activations, per element, written once for every kernel path: V is float (the scalar
// reference and CUDA) or the AVX2 vector (csrc/cpu/vec_avx2.h). Each activation has a forward
// and a backward; the backward reads what act_saves_input says: the activation's output where
// it determines the derivative (ReLU, sigmoid, tanh), its input otherwise (GELU, and leaky ReLU,
// whose slope may be negative).
//
// The formulas are torch's: relu' uses y > 0, leaky uses z > 0, GELU is the erf form and
// GELU-tanh the tanh approximation.
#pragma once
#include <cstdint>
#include <type_traits>

#include "fusednn/macros.h"

namespace fusednn {

enum class Act : int32_t {
  kIdentity = 0,
  kRelu = 1,
  kLeakyRelu = 2,
  kSigmoid = 3,
  kTanh = 4,
  kGelu = 5,
  kGeluTanh = 6,
};
constexpr int32_t kNumActs = 7;

FUSEDNN_HD constexpr bool act_saves_input(Act a) {
  return a == Act::kLeakyRelu || a == Act::kGelu || a == Act::kGeluTanh;
}

namespace act_detail {
constexpr float kSqrtHalf = 0.70710678118654752f;       // 1/sqrt(2)
constexpr float kInvSqrt2Pi = 0.39894228040143268f;     // 1/sqrt(2*pi)
constexpr float kSqrt2OverPi = 0.79788456080286536f;    // sqrt(2/pi)
constexpr float kGeluCubic = 0.044715f;
}  // namespace act_detail

template <Act A, class V>
FUSEDNN_HD FUSEDNN_INLINE V act_forward(V z, float slope) {
  using namespace act_detail;
  if constexpr (A == Act::kIdentity) {
    return z;
  } else if constexpr (A == Act::kRelu) {
    return vmax(V(0.f), z);  // operand order keeps a NaN input NaN
  } else if constexpr (A == Act::kLeakyRelu) {
    return vselect_pos(z, z, z * V(slope));
  } else if constexpr (A == Act::kSigmoid) {
    return V(1.f) / (V(1.f) + vexp(V(0.f) - z));
  } else if constexpr (A == Act::kTanh) {
    return vtanh(z);
  } else if constexpr (A == Act::kGelu) {
    return V(0.5f) * z * (V(1.f) + verf(z * V(kSqrtHalf)));
  } else {
    static_assert(A == Act::kGeluTanh, "unhandled activation");
    const V inner = V(kSqrt2OverPi) * (z + V(kGeluCubic) * z * z * z);
    return V(0.5f) * z * (V(1.f) + vtanh(inner));
  }
}

// dL/dz given dL/dy and s = y or z (act_saves_input).
template <Act A, class V>
FUSEDNN_HD FUSEDNN_INLINE V act_backward(V dy, V s, float slope) {
  using namespace act_detail;
  if constexpr (A == Act::kIdentity) {
    return dy;
  } else if constexpr (A == Act::kRelu) {
    return vselect_pos(s, dy, V(0.f));
  } else if constexpr (A == Act::kLeakyRelu) {
    return vselect_pos(s, dy, dy * V(slope));
  } else if constexpr (A == Act::kSigmoid) {
    return dy * (V(1.f) - s) * s;
  } else if constexpr (A == Act::kTanh) {
    return dy * (V(1.f) - s * s);
  } else if constexpr (A == Act::kGelu) {
    const V cdf = V(0.5f) * (V(1.f) + verf(s * V(kSqrtHalf)));
    const V pdf = V(kInvSqrt2Pi) * vexp(V(-0.5f) * s * s);
    return dy * (cdf + s * pdf);
  } else {
    static_assert(A == Act::kGeluTanh, "unhandled activation");
    const V s2 = s * s;
    const V t = vtanh(V(kSqrt2OverPi) * (s + V(kGeluCubic) * s2 * s));
    const V dinner = V(kSqrt2OverPi) * (V(1.f) + V(3.f * kGeluCubic) * s2);
    return dy * (V(0.5f) * (V(1.f) + t) + V(0.5f) * s * (V(1.f) - t * t) * dinner);
  }
}

template <Act A>
using ActTag = std::integral_constant<Act, A>;

// f(ActTag<A>{}) with the activation known at compile time: a generic lambda reads it back as
// `constexpr Act A = decltype(tag)::value`.
template <class F>
decltype(auto) with_act(Act act, F&& f) {
  switch (act) {
    case Act::kIdentity: return f(ActTag<Act::kIdentity>{});
    case Act::kRelu: return f(ActTag<Act::kRelu>{});
    case Act::kLeakyRelu: return f(ActTag<Act::kLeakyRelu>{});
    case Act::kSigmoid: return f(ActTag<Act::kSigmoid>{});
    case Act::kTanh: return f(ActTag<Act::kTanh>{});
    case Act::kGelu: return f(ActTag<Act::kGelu>{});
    default: return f(ActTag<Act::kGeluTanh>{});
  }
}

}  // namespace fusednn
