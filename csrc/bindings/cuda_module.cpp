// fusednn._cuda: the CUDA kernels, bound with pybind11 and compiled by the host compiler; the
// kernels themselves sit behind the plain C++ launchers of csrc/cuda/launch.h. Every binding
// takes arrays and reads them through the kernel front (bindings/front.h), the same checks as
// fusednn._cpu's, and runs on the arrays' device and stream (bindings/cuda_launch.h). The
// contracts (hyperparameter structs, enums, geometry) are fusednn._cpu's classes, shared.
#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>

#include "bindings/front.h"
#include "build_config.h"
#include "cuda/launch.h"
#include "fusednn/step_control.h"

namespace py = pybind11;
using namespace fusednn;
void bind_cuda_optim(py::module_& m);
void bind_cuda_layers(py::module_& m);

namespace {

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
  // The shared contracts (hyperparameter structs, Act, geometry) are bound by fusednn._cpu.
  py::module_::import("fusednn._cpu");
  m.def("build_info", &build_info);
  m.def("device_count", &device_count);
  m.attr("control_bytes") = cuda::kControlBytes;
  front::bind_register_tensor_type(m);

  py::class_<StepControl>(m, "StepControl", "The control block of a GPU step, read back.")
      .def_static("from_bytes", [](py::bytes raw) {
        const std::string bytes = raw;
        if (bytes.size() < sizeof(StepControl)) throw py::value_error("StepControl: too few bytes");
        StepControl c;
        std::memcpy(&c, bytes.data(), sizeof(StepControl));
        return c;
      })
#define FUSEDNN_READ_FIELD(type, name) .def_readonly(#name, &StepControl::name)
      FUSEDNN_STEP_CONTROL_FIELDS(FUSEDNN_READ_FIELD)
#undef FUSEDNN_READ_FIELD
      .def("__repr__", [](const StepControl& c) {
        return "StepControl(scale=" + std::to_string(c.scale) + ", norm=" + std::to_string(c.norm) +
               ", skip=" + std::to_string(c.skip) + ", skipped=" + std::to_string(c.skipped) +
               ", steps=" + std::to_string(c.steps) + ", last_skipped=" + std::to_string(c.last_skipped) +
               ")";
      });
  bind_cuda_optim(m);
  bind_cuda_layers(m);
}
