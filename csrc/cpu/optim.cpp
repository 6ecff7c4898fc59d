#include "cpu/optim.h"

#include <algorithm>
#include <stdexcept>

#include "cpu/dispatch.h"
#include "cpu/optim_kernels.h"
#include "cpu/tensor_table.h"

namespace fusednn::cpu {
namespace {

// Owns the pointer arrays a TensorTable points into.
struct Table {
  std::vector<int64_t> offsets;
  std::vector<float*> params;
  std::vector<const float*> grads;
  std::vector<float*> states[kMaxStates];
  TensorTable view{};
};

Table make_table(const StepArgs& a, int expected_states) {
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
  Table t;
  t.offsets.assign(n + 1, 0);
  auto check = [&](uintptr_t address, size_t i) {
    if (a.sizes[i] > 0 && address == 0) throw std::invalid_argument("null array address");
  };
  for (size_t i = 0; i < n; ++i) {
    if (a.sizes[i] < 0) throw std::invalid_argument("negative tensor size");
    t.offsets[i + 1] = t.offsets[i] + a.sizes[i];
    check(a.params[i], i);
    check(a.grads[i], i);
    for (const Addresses& s : a.states) check(s[i], i);
  }

  auto as_floats = [](const Addresses& xs) {
    std::vector<float*> out(xs.size());
    std::transform(xs.begin(), xs.end(), out.begin(),
                   [](uintptr_t x) { return reinterpret_cast<float*>(x); });
    return out;
  };
  t.params = as_floats(a.params);
  t.grads.assign(t.params.size(), nullptr);
  std::transform(a.grads.begin(), a.grads.end(), t.grads.begin(),
                 [](uintptr_t x) { return reinterpret_cast<const float*>(x); });
  for (size_t s = 0; s < a.states.size(); ++s) t.states[s] = as_floats(a.states[s]);

  t.view.num_tensors = int64_t(n);
  t.view.offsets = t.offsets.data();
  t.view.params = t.params.data();
  t.view.grads = t.grads.data();
  for (int s = 0; s < kMaxStates; ++s) t.view.states[s] = t.states[s].data();
  return t;
}

}  // namespace

double grad_sum_squares(const Addresses& grads, const std::vector<int64_t>& sizes) {
  if (grads.size() != sizes.size()) {
    throw std::invalid_argument("grads and sizes must have the same length");
  }
  Table t;
  t.offsets.assign(sizes.size() + 1, 0);
  t.grads.resize(grads.size());
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (sizes[i] < 0) throw std::invalid_argument("negative tensor size");
    if (sizes[i] > 0 && grads[i] == 0) {
      throw std::invalid_argument("grads[" + std::to_string(i) + "] is null");
    }
    t.offsets[i + 1] = t.offsets[i] + sizes[i];
    t.grads[i] = reinterpret_cast<const float*>(grads[i]);
  }
  t.view.num_tensors = int64_t(sizes.size());
  t.view.offsets = t.offsets.data();
  t.view.grads = t.grads.data();
  return optim_kernels().grad_sum_squares(t.view);
}

void sgd_step(const StepArgs& a, const SgdHparams& h) {
  const bool momentum = h.momentum != 0.0;
  Table t = make_table(a, momentum ? 1 : 0);
  optim_kernels().sgd(t.view, make_coeffs(h), momentum);
}

void adagrad_step(const StepArgs& a, const AdagradHparams& h) {
  Table t = make_table(a, 1);
  optim_kernels().adagrad(t.view, make_coeffs(h));
}

void rmsprop_step(const StepArgs& a, const RmspropHparams& h) {
  const bool momentum = h.momentum > 0.0;
  Table t = make_table(a, 1 + int(momentum) + int(h.centered));
  optim_kernels().rmsprop(t.view, make_coeffs(h), h.centered, momentum);
}

void adam_step(const StepArgs& a, const AdamHparams& h) {
  Table t = make_table(a, h.amsgrad ? 3 : 2);
  optim_kernels().adam(t.view, make_coeffs(h), h.amsgrad);
}

}  // namespace fusednn::cpu
