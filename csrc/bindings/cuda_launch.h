// Where a GPU call runs: the arrays' device and their producer's stream, found while the GIL is
// held — torch's current stream on that device for torch tensors, the `stream` of
// __cuda_array_interface__ otherwise (CuPy exports its current stream there; none means the
// producer needs no ordering, and the legacy default stream is used). A device the array does
// not name is asked of the driver. Kernels then launch under a guard that makes that device
// current and restores the caller's.
#pragma once
#include <cuda_runtime_api.h>
#include <pybind11/pybind11.h>

#include <string>

#include "bindings/front.h"

namespace fusednn::bindings {

namespace py = pybind11;

struct GpuLaunch {
  int device = 0;
  uintptr_t stream = 0;
};

inline int device_of(const front::Array& a, const std::string& name) {
  if (a.device >= 0) return a.device;
  cudaPointerAttributes attributes{};
  if (cudaPointerGetAttributes(&attributes, reinterpret_cast<const void*>(a.data)) != cudaSuccess ||
      attributes.type != cudaMemoryTypeDevice) {
    cudaGetLastError();  // clear the error the query left
    throw py::value_error(name + ": its address is not device memory the CUDA driver knows");
  }
  return attributes.device;
}

// The launch of a call whose first array is `a` (all others were checked to share its device).
inline GpuLaunch launch_for(const front::Array& a, const std::string& name) {
  GpuLaunch l;
  l.device = device_of(a, name);
  if (a.kind == front::Kind::torch) {
    PyObject* raw = front::registry().raw_stream;
    if (raw != nullptr) {
      PyObject* handle = PyObject_CallOneArg(raw, py::int_(l.device).ptr());
      if (handle == nullptr) throw py::error_already_set();
      l.stream = py::reinterpret_steal<py::object>(handle).cast<uintptr_t>();
    } else {
      py::object stream =
          py::module_::import("torch").attr("cuda").attr("current_stream")(l.device);
      l.stream = stream.attr("cuda_stream").cast<uintptr_t>();
    }
  } else if (a.has_stream) {
    l.stream = a.stream;
  }
  return l;
}

inline void check_same_device(const front::Array& a, int device, const std::string& name) {
  if (a.size > 0 && device_of(a, name) != device) {
    throw py::value_error(name + ": is on cuda:" + std::to_string(device_of(a, name)) +
                          " but the other arguments are on cuda:" + std::to_string(device));
  }
}

class DeviceGuard {
 public:
  explicit DeviceGuard(int device) {
    cudaGetDevice(&previous_);
    if (previous_ != device) cudaSetDevice(device);
  }
  ~DeviceGuard() {
    int now = -1;
    cudaGetDevice(&now);
    if (now != previous_) cudaSetDevice(previous_);
  }
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_ = 0;
};

}  // namespace fusednn::bindings
