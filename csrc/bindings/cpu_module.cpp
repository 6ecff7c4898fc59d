// fusednn._cpu: the CPU kernels, bound with pybind11, and the contracts Python shares with them.
// Private: users reach these through fusednn.optim, fusednn.ops and fusednn.nn. Every binding
// takes arrays and reads them through the kernel front (bindings/front.h); the GIL is released
// around every kernel. The bindings live beside their concern: cpu_optim.cpp, cpu_layers.cpp.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "build_config.h"
#include "bindings/contracts.h"
#include "cpu/dispatch.h"
#include "fusednn/philox.h"

namespace py = pybind11;
using namespace fusednn;
void bind_cpu_optim(py::module_& m);
void bind_cpu_layers(py::module_& m);

namespace {

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
  d["blas"] = std::string("OpenBLAS ") + FUSEDNN_OPENBLAS_VERSION + " (scipy-openblas32)";
  return d;
}

py::dict features() {
  const cpu::CpuFeatures f = cpu::cpu_features();
  py::dict d;
  d["sse4.2"] = f.sse42;
  d["avx"] = f.avx;
  d["avx2"] = f.avx2;
  d["fma"] = f.fma;
  d["f16c"] = f.f16c;
  d["avx512f"] = f.avx512f;
  return d;
}

}  // namespace

PYBIND11_MODULE(_cpu, m) {
  m.doc() = "fusednn CPU kernels (scalar reference and AVX2+FMA, OpenMP-threaded)";
  m.def("build_info", &build_info);
  m.def("cpu_features", &features);
  m.def("kernel_path", &cpu::kernel_path);
  m.def("set_kernel_path", &cpu::set_kernel_path, py::arg("path"));
  m.def("num_threads", &cpu::num_threads);
  m.def("set_num_threads", &cpu::set_num_threads, py::arg("n"));

  // The bare generator, for known-answer tests: (counter words, key words) -> 4 words.
  m.def("philox4x32_10", [](uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0,
                            uint32_t k1) {
    const Philox4 r = philox4x32_10(Philox4{{c0, c1, c2, c3}}, k0, k1);
    return py::make_tuple(r.v[0], r.v[1], r.v[2], r.v[3]);
  });

  bindings::bind_shared_contracts(m);
  bind_cpu_optim(m);
  bind_cpu_layers(m);
}
