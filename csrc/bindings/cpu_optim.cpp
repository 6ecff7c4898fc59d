// fusednn._cpu: the fused optimizer steps and their contracts.
//
// One binding per optimizer, all from one template, taking every kernel call of a step at once
// (one per param group, or per set of tensors sharing a step count): read all their arrays
// through the kernel front (nothing written may overlap anything else across the calls), then
// — with the GIL released — the global gradient norm when clipping or checking asks for it,
// the skip decision, and each call's update with the clip coefficient applied inside it. A
// refused or skipped step writes nothing; an applied one bumps the autograd version of every
// torch parameter it wrote. Returns (applied, norm or None).
#include <math.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>

#include "bindings/contracts.h"
#include "bindings/optim_args.h"
#include "cpu/optim.h"

namespace py = pybind11;
using namespace fusednn;

namespace {

cpu::ParamType param_type(front::DType t) {
  switch (t) {
    case front::DType::f64: return cpu::ParamType::f64;
    case front::DType::bf16: return cpu::ParamType::bf16;
    case front::DType::f16: return cpu::ParamType::f16;
    default: return cpu::ParamType::f32;
  }
}

template <class H, void (*Run)(const cpu::StepArgs&, const H&)>
py::tuple step(py::sequence calls, std::optional<double> max_grad_norm, bool check_finite) {
  bindings::StepCalls<H> c = bindings::read_calls<H>(calls, false, bindings::kCpuParamTypes);
  std::vector<cpu::StepArgs> args;
  for (const bindings::StepArrays& a : c.arrays) {
    const cpu::ParamType type = param_type(a.params.empty() ? front::DType::f32 : a.params[0].dtype);
    args.push_back({type, bindings::addresses(a.params), bindings::addresses(a.grads), {}, a.sizes});
    for (const auto& s : a.states) args.back().states.push_back(bindings::addresses(s));
  }
  const bool norm_needed = max_grad_norm.has_value() || check_finite;
  double norm = 0.0;
  bool applied = true;
  {
    py::gil_scoped_release release;
    double scale = 1.0;
    if (norm_needed) {
      double sum = 0.0;  // calls in order: the same inputs give the same bits
      for (const cpu::StepArgs& a : args) sum += cpu::grad_sum_squares(a.type, a.grads, a.sizes);
      norm = sqrt(sum);
      applied = !(check_finite && !isfinite(norm));
      if (max_grad_norm) scale = bindings::clip_coefficient(*max_grad_norm, norm);
    }
    for (size_t i = 0; applied && i < args.size(); ++i) {
      H h = c.hparams[i];
      h.grad_scale = scale;
      Run(args[i], h);
    }
  }
  if (applied) bindings::bump_param_versions(c);
  return py::make_tuple(applied, norm_needed ? py::object(py::float_(norm)) : py::object(py::none()));
}

template <class H>
py::tuple state_keys(const H& h) {
  using S = OptimState<H>;
  py::list keys;
  for (int s = 0; s < S::kMax; ++s) {
    if (S::uses(h, s)) keys.append(S::keys[s]);
  }
  return py::tuple(keys);
}

template <class H, void (*Run)(const cpu::StepArgs&, const H&), class Cls>
void bind_optimizer(py::module_& m, Cls& cls, const char* step_name) {
  using S = OptimState<H>;
  cls.def("state_keys", &state_keys<H>,
          "The per-parameter state these hyperparameters use, under torch.optim's keys, in the "
          "order the step takes them.");
  cls.attr("counts_steps") = S::kCountsSteps;
  m.def(step_name, &step<H, Run>, py::arg("calls"), py::arg("max_grad_norm") = py::none(),
        py::arg("check_finite") = false);
  // The GPU step's argument checks, for a build without fusednn._cuda: a misplaced argument
  // is named before the missing module is.
  m.def(("check_" + std::string(step_name)).c_str(),
        [](py::sequence calls) {
          bindings::read_calls<H>(calls, true, bindings::kGpuParamTypes);
        },
        py::arg("calls"));
}

}  // namespace

void bind_cpu_optim(py::module_& m) {
  // A parameter an optimizer may update: float32/float64/float16/bfloat16 on the CPU,
  // float32/float16/bfloat16 on the GPU, writable. Returns what the front read (gpu, device,
  // dtype name).
  m.def(
      "check_parameter",
      [](py::handle p, const std::string& name) {
        const front::Array a = front::read(p, front::named(name.c_str()));
        const unsigned types = a.gpu ? bindings::kGpuParamTypes : bindings::kCpuParamTypes;
        front::get(p, front::named(name.c_str()), front::Want{types, a.gpu, true, true});
        return py::make_tuple(a.gpu, a.device, front::dtype_name(a.dtype));
      },
      py::arg("param"), py::arg("name"));
  // Whether `arrays` are consecutive, gap-free pieces of `buffer`, in order, covering it: the
  // test that an arena's tensors still live in its flat buffers (read now, not remembered).
  m.def(
      "tiles",
      [](py::handle arrays, py::handle buffer) {
        const front::Array b = front::read(buffer, front::named("buffer"));
        uintptr_t next = b.data;
        int64_t total = 0;
        py::sequence seq = py::reinterpret_borrow<py::sequence>(arrays);
        for (size_t i = 0; i < seq.size(); ++i) {
          front::Array a;
          try {
            a = front::read(seq[i], front::named("arrays"));
          } catch (const std::exception&) {
            return false;  // the step's own checks will name what is wrong with it
          }
          if (a.gpu != b.gpu || a.dtype != b.dtype || a.data != next) return false;
          next += uintptr_t(a.nbytes());
          total += a.size;
        }
        return total == b.size;
      },
      py::arg("arrays"), py::arg("buffer"));

  auto sgd = FUSEDNN_BIND_STRUCT(m, SgdHparams, "SgdHparams", FUSEDNN_SGD_FIELDS);
  auto adagrad = FUSEDNN_BIND_STRUCT(m, AdagradHparams, "AdagradHparams", FUSEDNN_ADAGRAD_FIELDS);
  auto rmsprop = FUSEDNN_BIND_STRUCT(m, RmspropHparams, "RmspropHparams", FUSEDNN_RMSPROP_FIELDS);
  auto adam = FUSEDNN_BIND_STRUCT(m, AdamHparams, "AdamHparams", FUSEDNN_ADAM_FIELDS);
  bind_optimizer<SgdHparams, cpu::sgd_step>(m, sgd, "sgd_step");
  bind_optimizer<AdagradHparams, cpu::adagrad_step>(m, adagrad, "adagrad_step");
  bind_optimizer<RmspropHparams, cpu::rmsprop_step>(m, rmsprop, "rmsprop_step");
  bind_optimizer<AdamHparams, cpu::adam_step>(m, adam, "adam_step");

  m.def(
      "grad_sum_squares",
      [](py::handle grads, const std::string& prefix) {
        const auto g = front::get_list(grads, front::Name{prefix.c_str(), "grads"},
                                       front::Want{bindings::kCpuParamTypes, false, false});
        // one pass per element type, in the enum's (fixed) order
        cpu::StepArgs by_type[cpu::kNumParamTypes];
        for (const front::Array& a : g) {
          cpu::StepArgs& s = by_type[int(param_type(a.dtype))];
          s.type = param_type(a.dtype);
          s.grads.push_back(a.data);
          s.sizes.push_back(a.size);
        }
        py::gil_scoped_release release;
        double sum = 0.0;
        for (const cpu::StepArgs& s : by_type) {
          if (!s.grads.empty()) sum += cpu::grad_sum_squares(s.type, s.grads, s.sizes);
        }
        return sum;
      },
      py::arg("grads"), py::arg("prefix") = "",
      "The sum of squares of every element of every gradient (one pass, fixed order).");
}
