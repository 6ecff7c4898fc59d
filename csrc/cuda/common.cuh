// What every CUDA translation unit shares: one checking macro that throws (the bindings turn
// the exception into a Python error) and one helper for grid sizes.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#define FUSEDNN_CUDA_CHECK(expr)                                                        \
  do {                                                                                  \
    const cudaError_t fusednn_err_ = (expr);                                            \
    if (fusednn_err_ != cudaSuccess) {                                                  \
      throw std::runtime_error(std::string(__FILE__) + ":" + std::to_string(__LINE__) + \
                               ": " #expr " failed: " + cudaGetErrorString(fusednn_err_)); \
    }                                                                                   \
  } while (0)

namespace fusednn::cuda {

// Blocks for n work items of `per_block` each, capped for grid-stride loops.
inline unsigned blocks_for(int64_t n, int64_t per_block, int64_t cap = 65535) {
  const int64_t b = (n + per_block - 1) / per_block;
  return unsigned(b < 1 ? 1 : (b > cap ? cap : b));
}

inline cudaStream_t as_stream(uintptr_t s) { return reinterpret_cast<cudaStream_t>(s); }

// After a launch: report a bad configuration at once instead of at some later call.
#define FUSEDNN_CUDA_CHECK_LAUNCH() FUSEDNN_CUDA_CHECK(cudaGetLastError())

}  // namespace fusednn::cuda
