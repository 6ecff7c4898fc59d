# Finds what a CUDA build needs: nvcc, and cuBLAS/cuBLASLt from the CUDA toolkit or from the
# nvidia-cublas wheel (nvidia/cu13 or nvidia/cu12 in site-packages; a toolkit on a machine with
# no GPU often ships cudart without cuBLAS). Sets:
#   FUSEDNN_CUDA_READY         TRUE when everything was found
#   FUSEDNN_CUDA_MISSING       what is missing, in words
#   FUSEDNN_CUBLAS_INCLUDE_DIR, FUSEDNN_CUBLAS_LIBRARY, FUSEDNN_CUBLASLT_LIBRARY
#   FUSEDNN_CUDA_TOOLKIT_DESC  one line for fusednn.info()
# Architectures come from an explicit list, never "native" (it fails on a machine with no GPU).

set(FUSEDNN_CUDA_ARCHITECTURES "80;86;89;90" CACHE STRING "CUDA architectures to compile for")
set(FUSEDNN_CUDA_READY FALSE)
set(FUSEDNN_CUDA_MISSING "")
set(FUSEDNN_CUDA_TOOLKIT_DESC "not searched (FUSEDNN_CUDA=OFF)")

if(NOT FUSEDNN_CUDA STREQUAL "OFF")
  include(CheckLanguage)
  check_language(CUDA)
  if(NOT CMAKE_CUDA_COMPILER)
    list(APPEND FUSEDNN_CUDA_MISSING "nvcc (set CUDACXX or put nvcc on PATH)")
  else()
    get_filename_component(_nvcc_bin "${CMAKE_CUDA_COMPILER}" DIRECTORY)
    get_filename_component(_cuda_root "${_nvcc_bin}" DIRECTORY)
    execute_process(
      COMMAND "${Python_EXECUTABLE}" -c
        "import sysconfig; print(sysconfig.get_paths()['purelib']); print(sysconfig.get_paths()['platlib'])"
      OUTPUT_VARIABLE _site_dirs OUTPUT_STRIP_TRAILING_WHITESPACE)
    string(REPLACE "\n" ";" _site_dirs "${_site_dirs}")
    set(_wheel_roots "")
    foreach(_site IN LISTS _site_dirs CMAKE_PREFIX_PATH)
      list(APPEND _wheel_roots "${_site}/nvidia/cu13" "${_site}/nvidia/cublas" "${_site}/nvidia/cu12")
    endforeach()
    find_path(FUSEDNN_CUBLAS_INCLUDE_DIR cublasLt.h
      HINTS "${_cuda_root}/include" ${_wheel_roots}
      PATH_SUFFIXES include NO_DEFAULT_PATH)
    find_library(FUSEDNN_CUBLAS_LIBRARY NAMES cublas libcublas.so.13 libcublas.so.12
      HINTS "${_cuda_root}/lib64" "${_cuda_root}/lib" ${_wheel_roots}
      PATH_SUFFIXES lib lib64 NO_DEFAULT_PATH)
    find_library(FUSEDNN_CUBLASLT_LIBRARY NAMES cublasLt libcublasLt.so.13 libcublasLt.so.12
      HINTS "${_cuda_root}/lib64" "${_cuda_root}/lib" ${_wheel_roots}
      PATH_SUFFIXES lib lib64 NO_DEFAULT_PATH)
    if(NOT FUSEDNN_CUBLAS_INCLUDE_DIR)
      list(APPEND FUSEDNN_CUDA_MISSING "cuBLAS headers (cublasLt.h: install the CUDA toolkit's cuBLAS or 'pip install nvidia-cublas')")
    endif()
    if(NOT FUSEDNN_CUBLAS_LIBRARY OR NOT FUSEDNN_CUBLASLT_LIBRARY)
      list(APPEND FUSEDNN_CUDA_MISSING "cuBLAS/cuBLASLt libraries (libcublas, libcublasLt)")
    endif()
  endif()
  if(FUSEDNN_CUDA_MISSING)
    string(REPLACE ";" "; " FUSEDNN_CUDA_MISSING "${FUSEDNN_CUDA_MISSING}")
    set(FUSEDNN_CUDA_TOOLKIT_DESC "incomplete: missing ${FUSEDNN_CUDA_MISSING}")
    if(FUSEDNN_CUDA STREQUAL "ON")
      message(FATAL_ERROR "FUSEDNN_CUDA=ON but the CUDA build cannot proceed; missing: ${FUSEDNN_CUDA_MISSING}")
    endif()
    message(STATUS "fusednn: CUDA toolchain incomplete (${FUSEDNN_CUDA_MISSING}); building the CPU module only")
  else()
    set(FUSEDNN_CUDA_READY TRUE)
    set(FUSEDNN_CUDA_TOOLKIT_DESC "nvcc ${CMAKE_CUDA_COMPILER}, cuBLAS ${FUSEDNN_CUBLAS_LIBRARY}, architectures ${FUSEDNN_CUDA_ARCHITECTURES}")
    message(STATUS "fusednn: CUDA toolchain found: ${FUSEDNN_CUDA_TOOLKIT_DESC}")
  endif()
endif()
