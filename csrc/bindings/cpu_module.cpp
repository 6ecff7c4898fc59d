// fusednn._cpu: the CPU kernels, bound with pybind11. Private: users reach these through
// fusednn.optim.functional and the optimizer classes, whose kernel front (fusednn/_backend.py)
// validates every array and hands over addresses. The GIL is released around every kernel.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "build_config.h"
#include "cpu/dispatch.h"
#include "cpu/optim.h"

namespace py = pybind11;
using namespace fusednn;
using cpu::Addresses;
using Sizes = std::vector<int64_t>;

namespace {

cpu::StepArgs step_args(Addresses params, Addresses grads, Sizes sizes,
                        std::vector<std::pair<const char*, Addresses>> states) {
  cpu::StepArgs a{std::move(params), std::move(grads), {}, std::move(sizes)};
  // Unused states (momentum off, not centered, no amsgrad) arrive as empty lists.
  for (auto& [name, addresses] : states) {
    if (!addresses.empty()) a.states.push_back({name, std::move(addresses)});
  }
  return a;
}

py::dict build_info() {
  py::dict d;
  d["version"] = FUSEDNN_VERSION;
  d["compiler"] = FUSEDNN_COMPILER;
  d["cuda_option"] = FUSEDNN_CUDA_OPTION;
  d["cuda_toolkit"] = FUSEDNN_CUDA_TOOLKIT;
#ifdef _OPENMP
  d["openmp"] = true;
#else
  d["openmp"] = false;
#endif
  d["kernel_paths"] = py::make_tuple("scalar", "avx2");
  return d;
}

py::dict features() {
  const cpu::CpuFeatures f = cpu::cpu_features();
  py::dict d;
  d["sse4.2"] = f.sse42;
  d["avx"] = f.avx;
  d["avx2"] = f.avx2;
  d["fma"] = f.fma;
  d["avx512f"] = f.avx512f;
  return d;
}

}  // namespace

PYBIND11_MODULE(_cpu, m) {
  m.doc() = "fusednn CPU kernels (scalar reference and AVX2+FMA, OpenMP-threaded)";
  const auto nogil = py::call_guard<py::gil_scoped_release>();

  m.def("build_info", &build_info);
  m.def("cpu_features", &features);
  m.def("kernel_path", &cpu::kernel_path);
  m.def("set_kernel_path", &cpu::set_kernel_path, py::arg("path"));
  m.def("num_threads", &cpu::num_threads);

  m.def("grad_sum_squares", &cpu::grad_sum_squares, py::arg("grads"), py::arg("sizes"), nogil);

  m.def(
      "sgd_step",
      [](Addresses params, Addresses grads, Addresses momentum_buffers, Sizes sizes, double lr,
         double momentum, double dampening, bool nesterov, double weight_decay, bool maximize,
         double l1, double grad_scale, bool first_step) {
        // Built by value, with the GIL held, before the guard below releases it.
        const cpu::StepArgs a = step_args(std::move(params), std::move(grads), std::move(sizes),
                                          {{"momentum_buffers", std::move(momentum_buffers)}});
        const SgdHparams h{lr, momentum, dampening, weight_decay, l1, grad_scale,
                           nesterov, maximize, first_step};
        py::gil_scoped_release release;
        cpu::sgd_step(a, h);
      },
      py::arg("params"), py::arg("grads"), py::arg("momentum_buffers"), py::arg("sizes"),
      py::kw_only(), py::arg("lr"), py::arg("momentum"), py::arg("dampening"),
      py::arg("nesterov"), py::arg("weight_decay"), py::arg("maximize"), py::arg("l1"),
      py::arg("grad_scale"), py::arg("first_step"));

  m.def(
      "adagrad_step",
      [](Addresses params, Addresses grads, Addresses state_sums, Sizes sizes, double lr,
         double lr_decay, double weight_decay, double eps, bool maximize, double l1,
         double grad_scale, int64_t step) {
        const cpu::StepArgs a = step_args(std::move(params), std::move(grads), std::move(sizes),
                                          {{"state_sums", std::move(state_sums)}});
        const AdagradHparams h{lr, lr_decay, weight_decay, eps, l1, grad_scale, step, maximize};
        py::gil_scoped_release release;
        cpu::adagrad_step(a, h);
      },
      py::arg("params"), py::arg("grads"), py::arg("state_sums"), py::arg("sizes"),
      py::kw_only(), py::arg("lr"), py::arg("lr_decay"), py::arg("weight_decay"),
      py::arg("eps"), py::arg("maximize"), py::arg("l1"), py::arg("grad_scale"), py::arg("step"));

  m.def(
      "rmsprop_step",
      [](Addresses params, Addresses grads, Addresses square_avgs, Addresses momentum_buffers,
         Addresses grad_avgs, Sizes sizes, double lr, double alpha, double eps,
         double weight_decay, double momentum, bool centered, bool maximize, double l1,
         double grad_scale) {
        // State order matches RmspropUpdate: square_avg, momentum_buffer, grad_avg.
        const cpu::StepArgs a = step_args(std::move(params), std::move(grads), std::move(sizes),
                                          {{"square_avgs", std::move(square_avgs)},
                                           {"momentum_buffers", std::move(momentum_buffers)},
                                           {"grad_avgs", std::move(grad_avgs)}});
        const RmspropHparams h{lr, alpha, eps, weight_decay, momentum, l1, grad_scale,
                               centered, maximize};
        py::gil_scoped_release release;
        cpu::rmsprop_step(a, h);
      },
      py::arg("params"), py::arg("grads"), py::arg("square_avgs"), py::arg("momentum_buffers"),
      py::arg("grad_avgs"), py::arg("sizes"), py::kw_only(), py::arg("lr"), py::arg("alpha"),
      py::arg("eps"), py::arg("weight_decay"), py::arg("momentum"), py::arg("centered"),
      py::arg("maximize"), py::arg("l1"), py::arg("grad_scale"));

  m.def(
      "adam_step",
      [](Addresses params, Addresses grads, Addresses exp_avgs, Addresses exp_avg_sqs,
         Addresses max_exp_avg_sqs, Sizes sizes, double lr, double beta1, double beta2,
         double eps, double weight_decay, bool decoupled, bool amsgrad, bool maximize,
         double l1, double grad_scale, int64_t step) {
        const cpu::StepArgs a = step_args(std::move(params), std::move(grads), std::move(sizes),
                                          {{"exp_avgs", std::move(exp_avgs)},
                                           {"exp_avg_sqs", std::move(exp_avg_sqs)},
                                           {"max_exp_avg_sqs", std::move(max_exp_avg_sqs)}});
        const AdamHparams h{lr, beta1, beta2, eps, weight_decay, l1, grad_scale,
                            step, amsgrad, maximize, decoupled};
        py::gil_scoped_release release;
        cpu::adam_step(a, h);
      },
      py::arg("params"), py::arg("grads"), py::arg("exp_avgs"), py::arg("exp_avg_sqs"),
      py::arg("max_exp_avg_sqs"), py::arg("sizes"), py::kw_only(), py::arg("lr"),
      py::arg("beta1"), py::arg("beta2"), py::arg("eps"), py::arg("weight_decay"),
      py::arg("decoupled"), py::arg("amsgrad"), py::arg("maximize"), py::arg("l1"),
      py::arg("grad_scale"), py::arg("step"));
}
