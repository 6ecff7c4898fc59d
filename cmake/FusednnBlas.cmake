# Finds OpenBLAS for the CPU GEMMs: the scipy-openblas32 wheel (a build requirement and a
# run-time dependency of fusednn; its symbols carry a scipy_ prefix, so it cannot clash with
# another BLAS in the process). Sets FUSEDNN_OPENBLAS_INCLUDE_DIR, FUSEDNN_OPENBLAS_LIBRARY and
# FUSEDNN_OPENBLAS_VERSION.
execute_process(
  COMMAND "${Python_EXECUTABLE}" -c
    "import scipy_openblas32 as s; print(s.get_include_dir()); print(s.get_lib_dir()); print(s.__version__)"
  OUTPUT_VARIABLE _openblas_info OUTPUT_STRIP_TRAILING_WHITESPACE
  ERROR_VARIABLE _openblas_error RESULT_VARIABLE _openblas_rc)
if(NOT _openblas_rc EQUAL 0)
  message(FATAL_ERROR "fusednn needs OpenBLAS from the scipy-openblas32 wheel for its CPU GEMMs, "
                      "and ${Python_EXECUTABLE} cannot import it: pip install scipy-openblas32\n"
                      "${_openblas_error}")
endif()
string(REPLACE "\n" ";" _openblas_info "${_openblas_info}")
list(GET _openblas_info 0 FUSEDNN_OPENBLAS_INCLUDE_DIR)
list(GET _openblas_info 1 _openblas_lib_dir)
list(GET _openblas_info 2 FUSEDNN_OPENBLAS_VERSION)
find_library(FUSEDNN_OPENBLAS_LIBRARY NAMES scipy_openblas HINTS "${_openblas_lib_dir}" NO_DEFAULT_PATH)
if(NOT FUSEDNN_OPENBLAS_LIBRARY)
  message(FATAL_ERROR "scipy-openblas32 is installed but libscipy_openblas was not found in ${_openblas_lib_dir}")
endif()
message(STATUS "fusednn: OpenBLAS ${FUSEDNN_OPENBLAS_VERSION} from ${FUSEDNN_OPENBLAS_LIBRARY}")
