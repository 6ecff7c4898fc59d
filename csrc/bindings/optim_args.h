// The arguments of one fused optimizer step, read through the kernel front: parameters,
// gradients and the state lists the hyperparameters switch on (OptimState<H>), every array
// checked and shaped like its parameter, nothing written aliasing anything else. Shared by the
// CPU and CUDA bindings, which differ only in the device and element types they accept.
#pragma once
#include <pybind11/pybind11.h>

#include <string>
#include <vector>

#include "bindings/front.h"
#include "fusednn/optim_hparams.h"

namespace fusednn::bindings {

namespace py = pybind11;

// What a GPU step takes for parameters and gradients (state is float32).
inline const unsigned kGpuParamTypes =
    front::mask({front::DType::f32, front::DType::f16, front::DType::bf16});
// What a CPU step takes (state is float32, or float64 for float64 parameters).
inline const unsigned kCpuParamTypes =
    front::mask({front::DType::f32, front::DType::f64, front::DType::f16, front::DType::bf16});

// The optimizer state's type for parameters of type `param`.
inline front::DType state_type(front::DType param, bool gpu) {
  return !gpu && param == front::DType::f64 ? front::DType::f64 : front::DType::f32;
}

struct StepArrays {
  std::vector<front::Array> params, grads;
  std::vector<std::vector<front::Array>> states;  // the used state lists, in kernel order
  std::vector<int64_t> sizes;
};

inline std::vector<uintptr_t> addresses(const std::vector<front::Array>& arrays) {
  std::vector<uintptr_t> out(arrays.size());
  for (size_t i = 0; i < arrays.size(); ++i) out[i] = arrays[i].data;
  return out;
}

// `states`: one list per state the hyperparameters use, in OptimState<H> order. `prefix` goes
// before every argument name in messages ("param_groups[1]."). `param_types`: what params and
// grads may hold; all of one call share one type, and the state's is state_type() of it.
template <class H>
StepArrays read_step(const H& h, py::handle params, py::handle grads, py::sequence states,
                     const std::string& prefix, bool gpu, unsigned param_types,
                     front::Spans& spans) {
  using S = OptimState<H>;
  const char* pre = prefix.c_str();
  StepArrays a;
  // complex parameters update as torch.optim updates them: their (re, im) pairs, elementwise
  a.params = front::get_list(params, front::Name{pre, "params"},
                             front::Want{param_types, gpu, true, true});
  a.grads = front::get_list(grads, front::Name{pre, "grads"},
                            front::Want{param_types, gpu, false, true});
  const size_t n = a.params.size();
  const front::DType type = n ? a.params[0].dtype : front::DType::f32;
  for (size_t i = 1; i < n; ++i) {
    if (a.params[i].dtype != type) {
      throw py::type_error(front::Name{pre, "params", int64_t(i)}.str() + ": is " +
                           front::dtype_name(a.params[i].dtype) + " but " +
                           front::Name{pre, "params", 0}.str() + " is " + front::dtype_name(type) +
                           "; one call takes one parameter type (an optimizer splits its calls "
                           "by type)");
    }
  }
  if (a.grads.size() != n) {
    throw py::value_error(prefix + "grads has " + std::to_string(a.grads.size()) +
                          " entries but params has " + std::to_string(n));
  }
  std::vector<const char*> names;
  for (int s = 0; s < S::kMax; ++s) {
    if (S::uses(h, s)) names.push_back(S::lists[s]);
  }
  if (states.size() != names.size()) {
    throw py::value_error("expected " + std::to_string(names.size()) + " state lists for these "
                          "hyperparameters, got " + std::to_string(states.size()));
  }
  for (size_t s = 0; s < names.size(); ++s) {
    a.states.push_back(front::get_list(states[s], front::Name{pre, names[s]},
                                       front::Want{front::mask({state_type(type, gpu)}), gpu, true,
                                                   true}));
    if (a.states.back().size() != n) {
      throw py::value_error(prefix + names[s] + " has " + std::to_string(a.states.back().size()) +
                            " entries but params has " + std::to_string(n));
    }
  }
  a.sizes.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const front::Name pn{pre, "params", int64_t(i)};
    const front::Array& p = a.params[i];
    for (size_t s = 0; s <= names.size(); ++s) {  // a complex parameter's arrays are complex
      const front::Array& other = s == 0 ? a.grads[i] : a.states[s - 1][i];
      if (other.complex_pairs != p.complex_pairs) {
        const front::Name on = s == 0 ? front::Name{pre, "grads", int64_t(i)}
                                      : front::Name{pre, names[s - 1], int64_t(i)};
        throw py::type_error(on.str() + ": is " + (other.complex_pairs ? "complex64" : "real") +
                             " but " + pn.str() + " is " +
                             (p.complex_pairs ? "complex64" : "real"));
      }
    }
    front::check_shape(a.grads[i], front::Name{pre, "grads", int64_t(i)}, p, pn);
    if (a.grads[i].dtype != p.dtype) {
      throw py::type_error(front::Name{pre, "grads", int64_t(i)}.str() + ": is " +
                           front::dtype_name(a.grads[i].dtype) + " but " + pn.str() + " is " +
                           front::dtype_name(p.dtype) + "; parameters and gradients share one type");
    }
    a.sizes[i] = p.size;
    spans.add(p, pn, true);
    spans.add(a.grads[i], front::Name{pre, "grads", int64_t(i)}, false);
    for (size_t s = 0; s < names.size(); ++s) {
      const front::Name sn{pre, names[s], int64_t(i)};
      front::check_shape(a.states[s][i], sn, p, pn);
      spans.add(a.states[s][i], sn, true);
    }
  }
  return a;
}

// One optimizer step: every call's arrays (one call per param group, or per set of tensors
// sharing a step count), each with its hyperparameters and the prefix of its names. Nothing
// written by one call may share memory with anything another call touches.
template <class H>
struct StepCalls {
  std::vector<H> hparams;
  std::vector<StepArrays> arrays;
  std::vector<std::string> prefixes;
  std::vector<py::object> extras;  // what follows the four arrays in each call tuple
};

// `calls`: a sequence of (hparams, params, grads, states, prefix[, ...extras]) tuples.
template <class H>
StepCalls<H> read_calls(py::sequence calls, bool gpu, unsigned param_types) {
  StepCalls<H> out;
  const size_t n = calls.size();
  out.prefixes.reserve(n);  // names point into these strings: no reallocation
  front::Spans spans;
  for (size_t i = 0; i < n; ++i) {
    py::sequence call = calls[i];
    if (call.size() < 5) throw py::value_error("a step call is (hparams, params, grads, states, prefix, ...)");
    out.hparams.push_back(call[0].cast<H>());
    out.prefixes.push_back(call[4].cast<std::string>());
    out.arrays.push_back(read_step(out.hparams.back(), call[1], call[2], call[3], out.prefixes.back(),
                                   gpu, param_types, spans));
    out.extras.push_back(py::tuple(call)[py::slice(5, call.size(), 1)]);
  }
  spans.check();
  return out;
}

// After a step wrote its parameters: autograd learns of it (front::bump_torch_versions).
template <class H>
void bump_param_versions(const StepCalls<H>& c) {
  std::vector<const std::vector<front::Array>*> written;
  for (const StepArrays& a : c.arrays) written.push_back(&a.params);
  front::bump_torch_versions(written);
}

// The clip coefficient torch.nn.utils.clip_grad_norm_ uses.
inline double clip_coefficient(double max_norm, double norm) {
  const double c = max_norm / (norm + 1e-6);
  return c < 1.0 ? c : 1.0;
}

}  // namespace fusednn::bindings
