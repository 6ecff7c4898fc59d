#include "cpu/dispatch.h"

#include <cpuid.h>

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
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  const bool f16c = __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & bit_F16C);
  return CpuFeatures{bool(__builtin_cpu_supports("sse4.2")), bool(__builtin_cpu_supports("avx")),
                     bool(__builtin_cpu_supports("avx2")), bool(__builtin_cpu_supports("fma")),
                     f16c, bool(__builtin_cpu_supports("avx512f"))};
}

bool avx2_usable() {
  // Every AVX2 CPU has F16C too; the AVX2 optimizers use it for float16 parameters.
  const CpuFeatures f = cpu_features();
  return f.avx2 && f.fma && f.f16c;
}

namespace {

// One kernel path: every kernel table built for it.
struct Backend {
  const char* name;
  const OptimKernels* optim;
  const DropoutKernels* dropout;
  const NnKernels* nn;
  const RnnKernels* rnn;
  const PoolKernels* pool;
};

const Backend kScalar{"scalar", &kScalarOptimKernels, &kScalarDropoutKernels, &kScalarNnKernels,
                      &kScalarRnnKernels, &kScalarPoolKernels};
const Backend kAvx2{"avx2", &kAvx2OptimKernels, &kAvx2DropoutKernels, &kAvx2NnKernels,
                    &kAvx2RnnKernels, &kAvx2PoolKernels};

const Backend* resolve(const std::string& path) {
  if (path == "scalar") return &kScalar;
  if (path == "avx2") {
    if (!avx2_usable()) {
      throw std::runtime_error("kernel path 'avx2' requested but this CPU lacks AVX2+FMA+F16C");
    }
    return &kAvx2;
  }
  if (path == "auto" || path.empty()) return avx2_usable() ? &kAvx2 : &kScalar;
  throw std::invalid_argument("unknown CPU kernel path '" + path +
                              "' (expected 'auto', 'scalar' or 'avx2')");
}

const Backend* initial_backend() {
  const char* env = std::getenv("FUSEDNN_CPU");
  try {
    return resolve(env ? env : "auto");
  } catch (const std::exception&) {
    // A bad environment value must not make `import fusednn` fail; the Python side reports it.
    return resolve("auto");
  }
}

std::atomic<const Backend*>& active() {
  static std::atomic<const Backend*> backend{initial_backend()};
  return backend;
}

}  // namespace

const char* kernel_path() { return active().load()->name; }

void set_kernel_path(const std::string& path) { active().store(resolve(path)); }

const OptimKernels& optim_kernels() { return *active().load()->optim; }

const DropoutKernels& dropout_kernels() { return *active().load()->dropout; }

const NnKernels& nn_kernels() { return *active().load()->nn; }

const RnnKernels& rnn_kernels() { return *active().load()->rnn; }

const PoolKernels& pool_kernels() { return *active().load()->pool; }

int num_threads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

void set_num_threads(int n) {
  if (n < 1) throw std::invalid_argument("the number of threads must be >= 1");
#ifdef _OPENMP
  omp_set_num_threads(n);
#endif
}

}  // namespace fusednn::cpu
