// fusednn._cuda: the CUDA kernels, bound with pybind11 and compiled by the host compiler; the
// kernels themselves sit behind the plain C++ launchers of csrc/cuda/launch.h. Private: the
// Python kernel front (fusednn/_backend.py) validates every array (device, dtype, contiguity,
// shapes) and passes device addresses and the caller's current stream.
#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "build_config.h"
#include "cuda/launch.h"

namespace py = pybind11;
using namespace fusednn;
using cuda::Addresses;
using Sizes = std::vector<int64_t>;

namespace {

cuda::StepLists lists(Addresses params, Addresses grads, std::vector<Addresses> states,
                      Addresses steps, Sizes sizes, int dtype) {
  if (params.size() != sizes.size() || grads.size() != sizes.size()) {
    throw std::invalid_argument("params, grads and sizes must have the same length");
  }
  std::vector<Addresses> used;
  for (Addresses& s : states) {
    if (s.empty()) continue;  // unused state (momentum off, not centered, no amsgrad)
    if (s.size() != sizes.size()) throw std::invalid_argument("one state entry per parameter");
    used.push_back(std::move(s));
  }
  if (!steps.empty() && steps.size() != sizes.size()) {
    throw std::invalid_argument("one step counter per parameter");
  }
  return cuda::StepLists{std::move(params), std::move(grads), std::move(used), std::move(steps),
                         std::move(sizes), static_cast<cuda::DType>(dtype)};
}

py::dict build_info() {
  py::dict d;
  d["version"] = FUSEDNN_VERSION;
  d["cuda_architectures"] = FUSEDNN_CUDA_ARCHITECTURES_BUILT;
  int runtime = 0;
  cudaRuntimeGetVersion(&runtime);
  d["cuda_runtime"] = runtime;
  int major = 0, minor = 0, patch = 0;
  cublasGetProperty(MAJOR_VERSION, &major);
  cublasGetProperty(MINOR_VERSION, &minor);
  cublasGetProperty(PATCH_LEVEL, &patch);
  d["cublas"] = std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
  return d;
}

// (number of devices, "" or why none could be counted), without raising.
py::tuple device_count() {
  int n = 0;
  const cudaError_t err = cudaGetDeviceCount(&n);
  if (err != cudaSuccess) {
    cudaGetLastError();  // clear the sticky error
    return py::make_tuple(0, std::string(cudaGetErrorString(err)));
  }
  return py::make_tuple(n, std::string());
}

}  // namespace

PYBIND11_MODULE(_cuda, m) {
  m.doc() = "fusednn CUDA kernels (fused optimizers, Philox dropout, layers over cuBLAS/cuBLASLt)";
  m.def("build_info", &build_info);
  m.def("device_count", &device_count);
  m.attr("control_bytes") = cuda::kControlBytes;

  const auto common = [](cuda::DeviceScalars& d, uintptr_t lr_ptr, uintptr_t control) {
    d.lr = lr_ptr;
    d.control = control;
  };

  m.def(
      "sgd_step",
      [common](Addresses params, Addresses grads, Addresses momentum_buffers, Sizes sizes,
               int dtype, double lr, double momentum, double dampening, bool nesterov,
               double weight_decay, bool maximize, double l1, double grad_scale,
               bool first_step, uintptr_t lr_ptr, uintptr_t control, uintptr_t stream) {
        const auto l = lists(std::move(params), std::move(grads), {std::move(momentum_buffers)},
                             {}, std::move(sizes), dtype);
        const SgdHparams h{lr, momentum, dampening, weight_decay, l1, grad_scale,
                           nesterov, maximize, first_step};
        cuda::DeviceScalars d;
        common(d, lr_ptr, control);
        py::gil_scoped_release release;
        cuda::sgd_step(l, h, d, stream);
      },
      py::arg("params"), py::arg("grads"), py::arg("momentum_buffers"), py::arg("sizes"),
      py::arg("dtype"), py::kw_only(), py::arg("lr"), py::arg("momentum"),
      py::arg("dampening"), py::arg("nesterov"), py::arg("weight_decay"), py::arg("maximize"),
      py::arg("l1"), py::arg("grad_scale"), py::arg("first_step"), py::arg("lr_ptr"),
      py::arg("control"), py::arg("stream"));

  m.def(
      "adagrad_step",
      [common](Addresses params, Addresses grads, Addresses state_sums, Addresses steps,
               Sizes sizes, int dtype, double lr, double lr_decay, double weight_decay,
               double eps, bool maximize, double l1, double grad_scale, int64_t step,
               uintptr_t lr_ptr, uintptr_t control, uintptr_t stream) {
        const auto l = lists(std::move(params), std::move(grads), {std::move(state_sums)},
                             std::move(steps), std::move(sizes), dtype);
        const AdagradHparams h{lr, lr_decay, weight_decay, eps, l1, grad_scale, step, maximize};
        cuda::DeviceScalars d;
        common(d, lr_ptr, control);
        py::gil_scoped_release release;
        cuda::adagrad_step(l, h, d, stream);
      },
      py::arg("params"), py::arg("grads"), py::arg("state_sums"), py::arg("steps"),
      py::arg("sizes"), py::arg("dtype"), py::kw_only(), py::arg("lr"), py::arg("lr_decay"),
      py::arg("weight_decay"), py::arg("eps"), py::arg("maximize"), py::arg("l1"),
      py::arg("grad_scale"), py::arg("step"), py::arg("lr_ptr"), py::arg("control"),
      py::arg("stream"));

  m.def(
      "rmsprop_step",
      [common](Addresses params, Addresses grads, Addresses square_avgs,
               Addresses momentum_buffers, Addresses grad_avgs, Sizes sizes, int dtype,
               double lr, double alpha, double eps, double weight_decay, double momentum,
               bool centered, bool maximize, double l1, double grad_scale, uintptr_t lr_ptr,
               uintptr_t control, uintptr_t stream) {
        const auto l = lists(std::move(params), std::move(grads),
                             {std::move(square_avgs), std::move(momentum_buffers),
                              std::move(grad_avgs)},
                             {}, std::move(sizes), dtype);
        const RmspropHparams h{lr, alpha, eps, weight_decay, momentum, l1, grad_scale,
                               centered, maximize};
        cuda::DeviceScalars d;
        common(d, lr_ptr, control);
        py::gil_scoped_release release;
        cuda::rmsprop_step(l, h, d, stream);
      },
      py::arg("params"), py::arg("grads"), py::arg("square_avgs"), py::arg("momentum_buffers"),
      py::arg("grad_avgs"), py::arg("sizes"), py::arg("dtype"), py::kw_only(), py::arg("lr"),
      py::arg("alpha"), py::arg("eps"), py::arg("weight_decay"), py::arg("momentum"),
      py::arg("centered"), py::arg("maximize"), py::arg("l1"), py::arg("grad_scale"),
      py::arg("lr_ptr"), py::arg("control"), py::arg("stream"));

  m.def(
      "adam_step",
      [common](Addresses params, Addresses grads, Addresses exp_avgs, Addresses exp_avg_sqs,
               Addresses max_exp_avg_sqs, Addresses steps, Sizes sizes, int dtype, double lr,
               double beta1, double beta2, double eps, double weight_decay, bool decoupled,
               bool amsgrad, bool maximize, double l1, double grad_scale, int64_t step,
               uintptr_t lr_ptr, uintptr_t control, uintptr_t stream) {
        const auto l = lists(std::move(params), std::move(grads),
                             {std::move(exp_avgs), std::move(exp_avg_sqs),
                              std::move(max_exp_avg_sqs)},
                             std::move(steps), std::move(sizes), dtype);
        const AdamHparams h{lr, beta1, beta2, eps, weight_decay, l1, grad_scale,
                            step, amsgrad, maximize, decoupled};
        cuda::DeviceScalars d;
        common(d, lr_ptr, control);
        py::gil_scoped_release release;
        cuda::adam_step(l, h, d, stream);
      },
      py::arg("params"), py::arg("grads"), py::arg("exp_avgs"), py::arg("exp_avg_sqs"),
      py::arg("max_exp_avg_sqs"), py::arg("steps"), py::arg("sizes"), py::arg("dtype"),
      py::kw_only(), py::arg("lr"), py::arg("beta1"), py::arg("beta2"), py::arg("eps"),
      py::arg("weight_decay"), py::arg("decoupled"), py::arg("amsgrad"), py::arg("maximize"),
      py::arg("l1"), py::arg("grad_scale"), py::arg("step"), py::arg("lr_ptr"),
      py::arg("control"), py::arg("stream"));

  m.def("grad_norm_workspace_bytes", &cuda::grad_norm_workspace_bytes, py::arg("sizes"));
  m.def(
      "grad_norm",
      [](Addresses grads, Sizes sizes, int dtype, uintptr_t workspace, uintptr_t control,
         double max_norm, bool check_finite, uintptr_t stream) {
        py::gil_scoped_release release;
        cuda::grad_norm(grads, sizes, static_cast<cuda::DType>(dtype), workspace, control,
                        max_norm, check_finite, stream);
      },
      py::arg("grads"), py::arg("sizes"), py::arg("dtype"), py::arg("workspace"),
      py::arg("control"), py::arg("max_norm"), py::arg("check_finite"), py::arg("stream"));
  m.def("advance_steps", &cuda::advance_steps, py::arg("steps"), py::arg("control"),
        py::arg("stream"), py::call_guard<py::gil_scoped_release>());
  m.def("dropout", &cuda::dropout, py::arg("x"), py::arg("y"), py::arg("n"), py::arg("p"),
        py::arg("seed"), py::arg("offset"), py::arg("stream"),
        py::call_guard<py::gil_scoped_release>());
  m.def("philox", &cuda::philox, py::arg("out"), py::arg("n"), py::arg("seed"),
        py::arg("offset"), py::arg("stream"), py::call_guard<py::gil_scoped_release>());

  // ---- layers: the same names and arguments as fusednn._cpu, plus the stream -----------------
  const auto nogil = py::call_guard<py::gil_scoped_release>();
  m.def("bias_act_forward", &cuda::bias_act_forward, py::arg("z"), py::arg("bias"), py::arg("y"),
        py::arg("saved"), py::arg("outer"), py::arg("channels"), py::arg("inner"), py::arg("act"),
        py::arg("slope"), py::arg("stream"), nogil);
  m.def("bias_act_backward", &cuda::bias_act_backward, py::arg("dy"), py::arg("saved"),
        py::arg("dz"), py::arg("dbias"), py::arg("outer"), py::arg("channels"), py::arg("inner"),
        py::arg("act"), py::arg("slope"), py::arg("stream"), nogil);
  m.def("linear_forward", &cuda::linear_forward, py::arg("x"), py::arg("w"), py::arg("bias"),
        py::arg("y"), py::arg("saved"), py::arg("batch"), py::arg("in_features"),
        py::arg("out_features"), py::arg("act"), py::arg("slope"), py::arg("stream"), nogil);
  m.def("linear_backward", &cuda::linear_backward, py::arg("x"), py::arg("w"), py::arg("dy"),
        py::arg("saved"), py::arg("dz"), py::arg("dx"), py::arg("dw"), py::arg("dbias"),
        py::arg("batch"), py::arg("in_features"), py::arg("out_features"), py::arg("act"),
        py::arg("slope"), py::arg("stream"), nogil);
  m.def(
      "conv2d_forward",
      [](uintptr_t x, uintptr_t w, uintptr_t bias, uintptr_t y, uintptr_t saved, int64_t batch,
         int64_t out_channels, const Sizes& geometry, int act, float slope, uintptr_t stream) {
        const ConvGeometry g = from_sequence<ConvGeometry>(geometry);
        py::gil_scoped_release release;
        cuda::conv2d_forward(x, w, bias, y, saved, batch, out_channels, g, act, slope, stream);
      },
      py::arg("x"), py::arg("w"), py::arg("bias"), py::arg("y"), py::arg("saved"),
      py::arg("batch"), py::arg("out_channels"), py::arg("geometry"), py::arg("act"),
      py::arg("slope"), py::arg("stream"));
  m.def(
      "conv2d_backward",
      [](uintptr_t x, uintptr_t w, uintptr_t dy, uintptr_t saved, uintptr_t dz, uintptr_t dx,
         uintptr_t dw, uintptr_t dbias, int64_t batch, int64_t out_channels,
         const Sizes& geometry, int act, float slope, uintptr_t stream) {
        const ConvGeometry g = from_sequence<ConvGeometry>(geometry);
        py::gil_scoped_release release;
        cuda::conv2d_backward(x, w, dy, saved, dz, dx, dw, dbias, batch, out_channels, g, act,
                              slope, stream);
      },
      py::arg("x"), py::arg("w"), py::arg("dy"), py::arg("saved"), py::arg("dz"), py::arg("dx"),
      py::arg("dw"), py::arg("dbias"), py::arg("batch"), py::arg("out_channels"),
      py::arg("geometry"), py::arg("act"), py::arg("slope"), py::arg("stream"));
  m.def(
      "max_pool2d_forward",
      [](uintptr_t x, uintptr_t y, uintptr_t argmax, const Sizes& geometry, uintptr_t stream) {
        const PoolGeometry g = from_sequence<PoolGeometry>(geometry);
        py::gil_scoped_release release;
        cuda::max_pool2d_forward(x, y, argmax, g, stream);
      },
      py::arg("x"), py::arg("y"), py::arg("argmax"), py::arg("geometry"), py::arg("stream"));
  m.def(
      "max_pool2d_backward",
      [](uintptr_t dy, uintptr_t argmax, uintptr_t dx, const Sizes& geometry, uintptr_t stream) {
        const PoolGeometry g = from_sequence<PoolGeometry>(geometry);
        py::gil_scoped_release release;
        cuda::max_pool2d_backward(dy, argmax, dx, g, stream);
      },
      py::arg("dy"), py::arg("argmax"), py::arg("dx"), py::arg("geometry"), py::arg("stream"));
  m.def(
      "avg_pool2d_forward",
      [](uintptr_t x, uintptr_t y, const Sizes& geometry, bool count_include_pad,
         uintptr_t stream) {
        const PoolGeometry g = from_sequence<PoolGeometry>(geometry);
        py::gil_scoped_release release;
        cuda::avg_pool2d_forward(x, y, g, count_include_pad, stream);
      },
      py::arg("x"), py::arg("y"), py::arg("geometry"), py::arg("count_include_pad"),
      py::arg("stream"));
  m.def(
      "avg_pool2d_backward",
      [](uintptr_t dy, uintptr_t dx, const Sizes& geometry, bool count_include_pad,
         uintptr_t stream) {
        const PoolGeometry g = from_sequence<PoolGeometry>(geometry);
        py::gil_scoped_release release;
        cuda::avg_pool2d_backward(dy, dx, g, count_include_pad, stream);
      },
      py::arg("dy"), py::arg("dx"), py::arg("geometry"), py::arg("count_include_pad"),
      py::arg("stream"));
  m.def("softmax_xent", &cuda::softmax_xent, py::arg("logits"), py::arg("rows"),
        py::arg("classes"), py::arg("target_index"), py::arg("target_prob"), py::arg("weight"),
        py::arg("ignore_index"), py::arg("loss"), py::arg("dlogits"), py::arg("grad_scale"),
        py::arg("stream"), nogil);
}
