#include "cpu/optim.h"

#include <stdexcept>
#include <string>
#include <type_traits>

#include "cpu/dispatch.h"
#include "cpu/optim_kernels.h"
#include "cpu/tensor_table.h"

namespace fusednn::cpu {
namespace {

// Owns the pointer arrays a TensorTableT points into.
template <class P>
struct Table {
  using S = RealOf<P>;
  std::vector<int64_t> offsets;
  std::vector<P*> params;
  std::vector<const P*> grads;
  std::vector<S*> states[kMaxStates];
  TensorTableT<P, S> view{};
};

template <class T>
std::vector<T*> pointers(const Addresses& xs) {
  std::vector<T*> out(xs.size());
  for (size_t i = 0; i < xs.size(); ++i) out[i] = reinterpret_cast<T*>(xs[i]);
  return out;
}

void check_lengths(const StepArgs& a, int expected_states) {
  const size_t n = a.sizes.size();
  if (a.params.size() != n || a.grads.size() != n) {
    throw std::invalid_argument("params, grads and sizes must have the same length");
  }
  if (n > 0 && int(a.states.size()) != expected_states) {
    throw std::invalid_argument("internal: wrong number of optimizer state lists");
  }
  for (const Addresses& s : a.states) {
    if (s.size() != n) throw std::invalid_argument("one state entry per parameter");
  }
  auto check = [&](uintptr_t address, size_t i) {
    if (a.sizes[i] > 0 && address == 0) throw std::invalid_argument("null array address");
  };
  for (size_t i = 0; i < n; ++i) {
    if (a.sizes[i] < 0) throw std::invalid_argument("negative tensor size");
    check(a.params[i], i);
    check(a.grads[i], i);
    for (const Addresses& s : a.states) check(s[i], i);
  }
}

template <class P>
Table<P> make_table(const Addresses& params, const Addresses& grads,
                    const std::vector<Addresses>& states, const std::vector<int64_t>& sizes) {
  Table<P> t;
  const size_t n = sizes.size();
  t.offsets.assign(n + 1, 0);
  for (size_t i = 0; i < n; ++i) t.offsets[i + 1] = t.offsets[i] + sizes[i];
  t.params = pointers<P>(params);
  t.grads = pointers<const P>(grads);
  for (size_t s = 0; s < states.size(); ++s) t.states[s] = pointers<typename Table<P>::S>(states[s]);
  t.view.num_tensors = int64_t(n);
  t.view.offsets = t.offsets.data();
  t.view.params = t.params.data();
  t.view.grads = t.grads.data();
  for (int s = 0; s < kMaxStates; ++s) t.view.states[s] = t.states[s].data();
  return t;
}

// run(kernels-for-P, table) with P the parameters' type.
template <class Run>
void with_type(const StepArgs& a, const Run& run) {
  const OptimKernels& k = optim_kernels();
  switch (a.type) {
    case ParamType::f32: run(k.f32, make_table<float>(a.params, a.grads, a.states, a.sizes)); break;
    case ParamType::f64: run(k.f64, make_table<double>(a.params, a.grads, a.states, a.sizes)); break;
    case ParamType::bf16: run(k.bf16, make_table<Bf16>(a.params, a.grads, a.states, a.sizes)); break;
    case ParamType::f16: run(k.f16, make_table<Half>(a.params, a.grads, a.states, a.sizes)); break;
    default: throw std::invalid_argument("unknown parameter type");
  }
}

}  // namespace

double grad_sum_squares(ParamType type, const Addresses& grads, const std::vector<int64_t>& sizes) {
  if (grads.size() != sizes.size()) {
    throw std::invalid_argument("grads and sizes must have the same length");
  }
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (sizes[i] < 0) throw std::invalid_argument("negative tensor size");
    if (sizes[i] > 0 && grads[i] == 0) {
      throw std::invalid_argument("grads[" + std::to_string(i) + "] is null");
    }
  }
  StepArgs a{type, grads, grads, {}, sizes};  // the kernel reads only the gradients
  double sum = 0.0;
  with_type(a, [&](const auto& kernels, const auto& t) { sum = kernels.grad_sum_squares(t.view); });
  return sum;
}

void sgd_step(const StepArgs& a, const SgdHparams& h) {
  const bool momentum = h.momentum != 0.0;
  check_lengths(a, momentum ? 1 : 0);
  with_type(a, [&](const auto& kernels, const auto& t) {
    using R = typename std::decay_t<decltype(t)>::S;
    kernels.sgd(t.view, make_coeffs<R>(h), momentum);
  });
}

void adagrad_step(const StepArgs& a, const AdagradHparams& h) {
  check_lengths(a, 1);
  with_type(a, [&](const auto& kernels, const auto& t) {
    using R = typename std::decay_t<decltype(t)>::S;
    kernels.adagrad(t.view, make_coeffs<R>(h));
  });
}

void rmsprop_step(const StepArgs& a, const RmspropHparams& h) {
  const bool momentum = h.momentum > 0.0;
  check_lengths(a, 1 + int(momentum) + int(h.centered));
  with_type(a, [&](const auto& kernels, const auto& t) {
    using R = typename std::decay_t<decltype(t)>::S;
    kernels.rmsprop(t.view, make_coeffs<R>(h), h.centered, momentum);
  });
}

void adam_step(const StepArgs& a, const AdamHparams& h) {
  check_lengths(a, h.amsgrad ? 3 : 2);
  with_type(a, [&](const auto& kernels, const auto& t) {
    using R = typename std::decay_t<decltype(t)>::S;
    kernels.adam(t.view, make_coeffs<R>(h), h.amsgrad);
  });
}

}  // namespace fusednn::cpu
