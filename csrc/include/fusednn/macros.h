// Portability macros shared by host (C++) and device (CUDA) code.
#pragma once

#if defined(__CUDACC__)
#define FUSEDNN_HD __host__ __device__
#else
#define FUSEDNN_HD
#endif

#if defined(__CUDACC__)
#define FUSEDNN_INLINE __forceinline__
#elif defined(__GNUC__)
#define FUSEDNN_INLINE inline __attribute__((always_inline))
#else
#define FUSEDNN_INLINE inline
#endif
