// Run-time choice of the CPU kernel path: AVX2+FMA when the CPU (and OS) support it, the
// scalar reference otherwise, or whatever FUSEDNN_CPU=auto|scalar|avx2 asks for.
#pragma once
#include <string>

#include "cpu/dropout_kernels.h"
#include "cpu/nn_kernels.h"
#include "cpu/optim_kernels.h"
#include "cpu/pool_kernels.h"
#include "cpu/rnn_kernels.h"

namespace fusednn::cpu {

struct CpuFeatures {
  bool sse42, avx, avx2, fma, f16c, avx512f;
};

CpuFeatures cpu_features();
bool avx2_usable();  // avx2, fma and f16c

// "scalar" or "avx2"
const char* kernel_path();
// path: "auto", "scalar" or "avx2"; throws std::invalid_argument for anything else and
// std::runtime_error for "avx2" on a CPU without it.
void set_kernel_path(const std::string& path);

// The active backend's kernel tables.
const OptimKernels& optim_kernels();
const DropoutKernels& dropout_kernels();
const NnKernels& nn_kernels();
const RnnKernels& rnn_kernels();
const PoolKernels& pool_kernels();

int num_threads();
// Threads for later kernels (OpenMP's omp_set_num_threads); n >= 1.
void set_num_threads(int n);

}  // namespace fusednn::cpu
