#include "cpu/dispatch.h"

#include <atomic>
#include <cstdlib>
#include <stdexcept>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace fusednn::cpu {

CpuFeatures cpu_features() {
  // __builtin_cpu_supports also checks that the OS saves the YMM/ZMM registers.
  __builtin_cpu_init();
  return CpuFeatures{bool(__builtin_cpu_supports("sse4.2")), bool(__builtin_cpu_supports("avx")),
                     bool(__builtin_cpu_supports("avx2")), bool(__builtin_cpu_supports("fma")),
                     bool(__builtin_cpu_supports("avx512f"))};
}

bool avx2_usable() {
  const CpuFeatures f = cpu_features();
  return f.avx2 && f.fma;
}

namespace {

const OptimKernels* resolve(const std::string& path) {
  if (path == "scalar") return &kScalarOptimKernels;
  if (path == "avx2") {
    if (!avx2_usable()) {
      throw std::runtime_error("kernel path 'avx2' requested but this CPU lacks AVX2+FMA");
    }
    return &kAvx2OptimKernels;
  }
  if (path == "auto" || path.empty()) {
    return avx2_usable() ? &kAvx2OptimKernels : &kScalarOptimKernels;
  }
  throw std::invalid_argument("unknown CPU kernel path '" + path +
                              "' (expected 'auto', 'scalar' or 'avx2')");
}

const OptimKernels* initial_kernels() {
  const char* env = std::getenv("FUSEDNN_CPU");
  try {
    return resolve(env ? env : "auto");
  } catch (const std::exception&) {
    // A bad environment value must not make `import fusednn` fail; the Python side reports it.
    return resolve("auto");
  }
}

std::atomic<const OptimKernels*>& active() {
  static std::atomic<const OptimKernels*> kernels{initial_kernels()};
  return kernels;
}

}  // namespace

const char* kernel_path() { return active().load()->name; }

void set_kernel_path(const std::string& path) { active().store(resolve(path)); }

const OptimKernels& optim_kernels() { return *active().load(); }

int num_threads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

}  // namespace fusednn::cpu
