// fusednn._cuda: the fused optimizer steps on the GPU. Each binding takes every kernel call of
// a step at once — (hparams, params, grads, states, prefix, steps, lr, advance_steps) — checks
// all their arrays through the kernel front before anything launches, then runs on the
// arrays' device and stream: the gradient-norm pass when asked (writing the clip scale and the
// skip flag into the StepControl), then per call the step counters advanced on the device
// (unless the StepControl says skip) and the update, which reads that scale and flag. Nothing
// synchronizes with the host.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "bindings/cuda_launch.h"
#include "bindings/optim_args.h"
#include "cuda/launch.h"

namespace py = pybind11;
using namespace fusednn;

namespace {

const front::Want kDeviceScalar{front::mask({front::DType::f32}), true, false};
const front::Want kCounter{front::mask({front::DType::f32}), true, true};
const front::Want kBytes{front::mask({front::DType::u8}), true, true};

// The StepControl buffer, or 0 for none.
uintptr_t control_address(py::handle control, int device) {
  if (control.is_none()) return 0;
  const front::Array c = front::get(control, front::named("control"), kBytes);
  if (c.size < cuda::kControlBytes) {
    throw py::value_error("control: needs " + std::to_string(cuda::kControlBytes) + " bytes");
  }
  bindings::check_same_device(c, device, "control");
  return c.data;
}

// The gradient-norm pass of a step (clipping, the non-finite check) over every gradient of
// every call, checked with the rest of the step before anything launches.
struct NormPass {
  cuda::Addresses grads;
  std::vector<int64_t> sizes;
  cuda::DType dtype = cuda::DType::f32;
  uintptr_t workspace = 0;
  double max_norm = 0.0;
  bool check_finite = false;
};

// Returns 0 once the step is launched, or, having checked everything and launched nothing,
// the workspace bytes the norm pass needs when `norm` = (workspace, max_norm, check_finite)
// brings none or too few, or no `control` came with it: the caller makes them and calls again.
template <class H,
          void (*Launch)(const cuda::StepLists&, const H&, const cuda::DeviceScalars&, uintptr_t)>
int64_t step(py::sequence calls, py::handle control, py::handle norm) {
  bindings::StepCalls<H> c = bindings::read_calls<H>(calls, true, bindings::kGpuParamTypes);
  struct Prepared {
    cuda::StepLists lists;
    cuda::DeviceScalars scalars;
    bool advance = false;
  };
  std::vector<Prepared> work;
  int device = -1;
  bindings::GpuLaunch launch;
  for (size_t i = 0; i < c.arrays.size(); ++i) {
    const bindings::StepArrays& a = c.arrays[i];
    if (a.params.empty()) continue;
    const std::string& prefix = c.prefixes[i];
    if (device < 0) {
      launch = bindings::launch_for(a.params[0], prefix + "params[0]");
      device = launch.device;
    }
    Prepared p;
    p.lists.params = bindings::addresses(a.params);
    p.lists.grads = bindings::addresses(a.grads);
    for (const auto& s : a.states) p.lists.states.push_back(bindings::addresses(s));
    p.lists.sizes = a.sizes;
    p.lists.dtype = static_cast<cuda::DType>(int(a.params[0].dtype));
    for (size_t k = 0; k < a.params.size(); ++k) {
      const std::string at = "[" + std::to_string(k) + "]";
      bindings::check_same_device(a.params[k], device, prefix + "params" + at);
      bindings::check_same_device(a.grads[k], device, prefix + "grads" + at);
      for (size_t s = 0; s < a.states.size(); ++s) {
        bindings::check_same_device(a.states[s][k], device, prefix + "states[" +
                                    std::to_string(s) + "]" + at);
      }
    }
    // extras: steps (None or one device counter per tensor), lr (None or a device scalar),
    // advance_steps.
    const py::tuple extras = c.extras[i];
    if (extras.size() > 0 && !extras[0].is_none()) {
      const auto steps = front::get_list(extras[0], front::Name{prefix.c_str(), "steps"}, kCounter);
      if (steps.size() != a.params.size()) {
        throw py::value_error(prefix + "steps: one step counter per parameter");
      }
      for (const front::Array& s : steps) {
        if (s.size != 1) throw py::value_error(prefix + "steps: each counter has one element");
        bindings::check_same_device(s, device, prefix + "steps");
        p.lists.steps.push_back(s.data);
      }
    }
    if (extras.size() > 1 && !extras[1].is_none()) {
      const front::Array lr = front::get(extras[1], front::named("lr"), kDeviceScalar);
      if (lr.size != 1) throw py::value_error("lr: a device scalar must have one element");
      bindings::check_same_device(lr, device, "lr");
      p.scalars.lr = lr.data;
    }
    p.advance = extras.size() > 2 && extras[2].cast<bool>() && !p.lists.steps.empty();
    work.push_back(std::move(p));
  }
  if (work.empty()) return 0;
  const uintptr_t control_ptr = control_address(control, device);
  NormPass pass;
  const bool norm_pass = !norm.is_none();
  if (norm_pass) {
    const py::tuple t = norm.cast<py::tuple>();
    if (t.size() != 3) throw py::value_error("norm: (workspace, max_norm, check_finite)");
    const front::Array* first = nullptr;
    for (size_t i = 0; i < c.arrays.size(); ++i) {
      for (size_t k = 0; k < c.arrays[i].grads.size(); ++k) {
        const front::Array& g = c.arrays[i].grads[k];
        if (first == nullptr) first = &g;
        if (g.dtype != first->dtype) {
          throw py::type_error(c.prefixes[i] + "grads[" + std::to_string(k) + "]: is " +
                               front::dtype_name(g.dtype) + " but the first gradient is " +
                               front::dtype_name(first->dtype) +
                               "; the global norm takes one gradient type");
        }
        pass.grads.push_back(g.data);
        pass.sizes.push_back(g.size);
      }
    }
    pass.dtype = static_cast<cuda::DType>(int(first->dtype));
    const int64_t needed = cuda::grad_norm_workspace_bytes(pass.sizes);
    if (control_ptr == 0 || t[0].is_none()) return needed;
    const front::Array ws = front::get(t[0], front::named("workspace"), kBytes);
    if (ws.size < needed) return needed;
    bindings::check_same_device(ws, device, "workspace");
    pass.workspace = ws.data;
    pass.max_norm = t[1].cast<double>();
    pass.check_finite = t[2].cast<bool>();
  }
  {  // the GIL is released for the launches only
    py::gil_scoped_release release;
    bindings::DeviceGuard guard(launch.device);
    if (norm_pass) {
      cuda::grad_norm(pass.grads, pass.sizes, pass.dtype, pass.workspace, control_ptr,
                      pass.max_norm, pass.check_finite, launch.stream);
    }
    for (size_t i = 0, j = 0; i < c.arrays.size(); ++i) {
      if (c.arrays[i].params.empty()) continue;
      Prepared& p = work[j++];
      p.scalars.control = control_ptr;
      H h = c.hparams[i];
      h.grad_scale = 1.0;  // the clip scale comes from the StepControl
      if (p.advance) cuda::advance_steps(p.lists.steps, control_ptr, launch.stream);
      Launch(p.lists, h, p.scalars, launch.stream);
    }
  }
  // Launched (the device may still skip it): autograd learns of the write now, as torch's
  // fused step tells it at launch.
  bindings::bump_param_versions(c);
  return 0;
}

template <class H,
          void (*Launch)(const cuda::StepLists&, const H&, const cuda::DeviceScalars&, uintptr_t)>
void bind_step(py::module_& m, const char* name) {
  m.def(name, &step<H, Launch>, py::arg("calls"), py::arg("control") = py::none(),
        py::arg("norm") = py::none());
}

}  // namespace

void bind_cuda_optim(py::module_& m) {
  bind_step<SgdHparams, cuda::sgd_step>(m, "sgd_step");
  bind_step<AdagradHparams, cuda::adagrad_step>(m, "adagrad_step");
  bind_step<RmspropHparams, cuda::rmsprop_step>(m, "rmsprop_step");
  bind_step<AdamHparams, cuda::adam_step>(m, "adam_step");
}
