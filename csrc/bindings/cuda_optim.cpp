// fusednn._cuda: the fused optimizer steps on the GPU. Each binding takes every kernel call of
// a step at once — (hparams, params, grads, states, prefix, steps, lr, advance_steps) — checks
// all their arrays through the kernel front before anything launches, then runs each call on
// the arrays' device and stream: the step counters advanced on the device first when asked
// (unless the StepControl says skip), then the update, which reads the clip scale and skip flag
// from the StepControl the gradient-norm pass wrote. Nothing synchronizes with the host.
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

template <class H,
          void (*Launch)(const cuda::StepLists&, const H&, const cuda::DeviceScalars&, uintptr_t)>
void step(py::sequence calls, py::handle control) {
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
      bindings::check_same_device(a.params[k], device, prefix + "params[" + std::to_string(k) + "]");
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
  if (work.empty()) return;
  const uintptr_t control_ptr = control_address(control, device);
  py::gil_scoped_release release;
  bindings::DeviceGuard guard(launch.device);
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

template <class H,
          void (*Launch)(const cuda::StepLists&, const H&, const cuda::DeviceScalars&, uintptr_t)>
void bind_step(py::module_& m, const char* name) {
  m.def(name, &step<H, Launch>, py::arg("calls"), py::arg("control") = py::none());
}

std::vector<front::Array> read_grads(py::handle grads) {
  return front::get_list(grads, front::named("grads"),
                         front::Want{bindings::kGpuParamTypes, true, false});
}

}  // namespace

void bind_cuda_optim(py::module_& m) {
  bind_step<SgdHparams, cuda::sgd_step>(m, "sgd_step");
  bind_step<AdagradHparams, cuda::adagrad_step>(m, "adagrad_step");
  bind_step<RmspropHparams, cuda::rmsprop_step>(m, "rmsprop_step");
  bind_step<AdamHparams, cuda::adam_step>(m, "adam_step");

  m.def(
      "grad_norm_workspace_bytes",
      [](py::handle grads) {
        std::vector<int64_t> sizes;
        for (const front::Array& g : read_grads(grads)) sizes.push_back(g.size);
        return cuda::grad_norm_workspace_bytes(sizes);
      },
      py::arg("grads"));
  // The global norm of `grads` (one element type), the clip scale and the skip decision,
  // written into `control` on the device.
  m.def(
      "grad_norm",
      [](py::handle grads, py::handle workspace, py::handle control, double max_norm,
         bool check_finite) {
        const std::vector<front::Array> g = read_grads(grads);
        if (g.empty()) return;
        const bindings::GpuLaunch launch = bindings::launch_for(g[0], "grads[0]");
        std::vector<int64_t> sizes;
        for (size_t i = 0; i < g.size(); ++i) {
          if (g[i].dtype != g[0].dtype) {
            throw py::type_error("grads[" + std::to_string(i) + "]: is " +
                                 front::dtype_name(g[i].dtype) + " but grads[0] is " +
                                 front::dtype_name(g[0].dtype));
          }
          bindings::check_same_device(g[i], launch.device, "grads[" + std::to_string(i) + "]");
          sizes.push_back(g[i].size);
        }
        const front::Array ws = front::get(workspace, front::named("workspace"), kBytes);
        if (ws.size < cuda::grad_norm_workspace_bytes(sizes)) {
          throw py::value_error("workspace: too small for these gradients");
        }
        bindings::check_same_device(ws, launch.device, "workspace");
        const uintptr_t control_ptr = control_address(control, launch.device);
        const auto addresses = bindings::addresses(g);
        const auto dtype = static_cast<cuda::DType>(int(g[0].dtype));
        py::gil_scoped_release release;
        bindings::DeviceGuard guard(launch.device);
        cuda::grad_norm(addresses, sizes, dtype, ws.data, control_ptr, max_norm, check_finite,
                        launch.stream);
      },
      py::arg("grads"), py::arg("workspace"), py::arg("control"), py::arg("max_norm"),
      py::arg("check_finite"));
}
