// The kernel front: the one place where Python objects become arrays a kernel may touch.
//
// Every binding of fusednn._cpu and fusednn._cuda takes its arrays as Python objects and reads
// them here, on every call: numpy arrays (through numpy's C structures), torch tensors
// (through DLPack — torch's C exchange table where it has one, else an exported capsule — and
// is_neg(); torch is never linked), objects exposing
// __cuda_array_interface__ (CuPy and others), and fusednn.Tensor (its .data). Each array is
// checked against what the kernel needs — element type, C-contiguity, alignment, writability,
// device, shape — and anything else raises TypeError/ValueError naming the argument, before any
// kernel runs. Nothing is remembered between calls: an array that moved, was resized or
// re-pointed (p.data = ...) is read as it is now.
//
// Names are built only when an error is raised, so the per-array cost on the hot path is the
// reads themselves: about 30 ns for a numpy array, 0.15 us for a torch tensor (0.3 us where
// torch has no C exchange table).
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace fusednn::front {

namespace py = pybind11;

// Element types an array may hold; the numbering is the contract with the CUDA launchers
// (cuda::DType) for the first three.
enum class DType : int { f32 = 0, f16 = 1, bf16 = 2, f64 = 3, i32 = 4, i64 = 5, u32 = 6, u8 = 7,
                         c64 = 8, other = 99 };
constexpr int kNumDTypes = 9;

inline const char* dtype_name(DType t) {
  switch (t) {
    case DType::f32: return "float32";
    case DType::f16: return "float16";
    case DType::bf16: return "bfloat16";
    case DType::f64: return "float64";
    case DType::i32: return "int32";
    case DType::i64: return "int64";
    case DType::u32: return "uint32";
    case DType::u8: return "uint8";
    case DType::c64: return "complex64";
    default: return "another type";
  }
}

inline int64_t dtype_size(DType t) {
  switch (t) {
    case DType::f16: case DType::bf16: return 2;
    case DType::f64: case DType::i64: case DType::c64: return 8;
    case DType::u8: return 1;
    default: return 4;
  }
}

enum class Kind : uint8_t { numpy, torch, cuda_interface };

constexpr int kMaxDims = 8;

// An argument's name as the user knows it: "params[3]", "param_groups[1].grads[0]", "x".
// Formatted only for error messages.
struct Name {
  const char* prefix = "";
  const char* base = "";
  int64_t index = -1;

  std::string str() const {
    std::string s = std::string(prefix) + base;
    if (index >= 0) s += "[" + std::to_string(index) + "]";
    return s;
  }
};

inline Name named(const char* base) { return Name{"", base, -1}; }

struct Array {
  uintptr_t data = 0;
  int64_t size = 0;
  DType dtype = DType::other;
  Kind kind = Kind::numpy;
  bool gpu = false;
  int device = -1;          // CUDA ordinal; -1 when the object does not say (read by _cuda)
  bool has_stream = false;  // __cuda_array_interface__ named the producer's stream
  uintptr_t stream = 0;
  bool writable = true;
  bool complex_pairs = false;  // a complex64 array read as float32 (re, im) pairs
  int ndim = 0;
  int64_t shape[kMaxDims] = {};
  py::handle object;  // the array object itself (borrowed for the duration of the call)

  int64_t nbytes() const { return size * dtype_size(dtype); }
  bool same_shape(const Array& o) const {
    return ndim == o.ndim && std::equal(shape, shape + ndim, o.shape);
  }
  std::string shape_str() const { return format_shape(shape, ndim); }
  // "torch tensor of float32 on cuda:0, shape (4,)"
  std::string summary() const {
    const char* lib = kind == Kind::numpy ? "numpy array" : kind == Kind::torch ? "torch tensor"
                                                                                : "GPU array";
    std::string where = gpu ? (device >= 0 ? " on cuda:" + std::to_string(device) : " on the GPU")
                            : std::string();
    return std::string(lib) + " of " + dtype_name(dtype) + where + ", shape " + shape_str();
  }
  static std::string format_shape(const int64_t* s, int n) {
    std::string out = "(";
    for (int d = 0; d < n; ++d) {
      out += std::to_string(s[d]);
      if (n == 1) out += ",";
      else if (d + 1 < n) out += ", ";
    }
    return out + ")";
  }
};

// What a kernel needs of one argument.
struct Want {
  unsigned dtypes = 1u << int(DType::f32);  // bit mask over DType
  bool gpu = false;
  bool writable = false;
  // complex64 read as float32 (re, im) pairs — a trailing axis of 2 — as torch.optim's
  // view_as_real reads complex parameters for elementwise updates
  bool complex_pairs = false;

  bool accepts(DType t) const { return t != DType::other && (dtypes >> int(t)) & 1u; }
};

inline unsigned mask(std::initializer_list<DType> ts) {
  unsigned m = 0;
  for (DType t : ts) m |= 1u << int(t);
  return m;
}

// DLPack's tensor description (dlpack.h, the ABI every exporter shares).
namespace dlpack {
struct Device {
  int32_t device_type;  // 1 CPU, 2 CUDA
  int32_t device_id;
};
struct DataType {
  uint8_t code;  // 0 int, 1 uint, 2 float, 4 bfloat
  uint8_t bits;
  uint16_t lanes;
};
struct Tensor {
  void* data;
  Device device;
  int32_t ndim;
  DataType dtype;
  int64_t* shape;
  int64_t* strides;  // null: compact row-major
  uint64_t byte_offset;
};
struct ManagedTensor {
  Tensor dl_tensor;
  void* manager_ctx;
  void (*deleter)(ManagedTensor*);
};
// DLPack 1.3's exchange table, as far as the front reads it: a producer's C functions, shared
// through a capsule named "dlpack_exchange_api" on its tensor type.
struct Version {
  uint32_t major, minor;
};
struct ExchangeAPI {
  Version version;
  const ExchangeAPI* prev_api;
  void* managed_tensor_allocator;
  void* managed_tensor_from_py_object_no_sync;
  void* managed_tensor_to_py_object_no_sync;
  // Fills `out` with a view of `py_object` (no copy, no reference taken, no stream sync): valid
  // while the object lives and is not changed. 0 on success; -1 with a Python error set. May be
  // null.
  int (*dltensor_from_py_object_no_sync)(void* py_object, Tensor* out);
  void* current_work_stream;
};

inline DType dtype_of(const DataType& t) {
  if (t.lanes != 1) return DType::other;
  if (t.code == 2 && t.bits == 32) return DType::f32;
  if (t.code == 2 && t.bits == 16) return DType::f16;
  if (t.code == 2 && t.bits == 64) return DType::f64;
  if (t.code == 4 && t.bits == 16) return DType::bf16;
  if (t.code == 0 && t.bits == 32) return DType::i32;
  if (t.code == 0 && t.bits == 64) return DType::i64;
  if (t.code == 1 && t.bits == 32) return DType::u32;
  if (t.code == 1 && t.bits == 8) return DType::u8;
  if (t.code == 5 && t.bits == 64) return DType::c64;
  return DType::other;
}
}  // namespace dlpack

// Kinds of object the front knows, found once per process: torch.Tensor only after the user
// imported torch (the front never imports it), fusednn.Tensor when fusednn registers it.
struct Registry {
  PyObject* fusednn_tensor = nullptr;  // type
  PyObject* torch_tensor = nullptr;    // type
  PyObject* torch_dtypes[kNumDTypes] = {};  // torch's dtype objects, in DType order
  PyObject* torch_strided = nullptr;
  // Unbound C methods of torch.Tensor, called directly (no bound-method object per call).
  PyObject* data_ptr = nullptr;
  PyObject* is_contiguous = nullptr;
  PyObject* is_neg = nullptr;
  PyObject* is_conj = nullptr;
  PyObject* get_device = nullptr;
  PyObject* to_dlpack = nullptr;  // torch._C._to_dlpack: the tensor's layout in one call
  // torch.Tensor.__dlpack_c_exchange_api__ (DLPack 1.3; torch 2.13 has it): the same layout read
  // by a C call into torch that builds no capsule; null where torch lacks it.
  const dlpack::ExchangeAPI* exchange_api = nullptr;
  const dlpack::ExchangeAPI* exchange_api_found = nullptr;  // kept while tests turn it off
  // torch._C._increment_version(tensors): tells autograd a list of tensors changed in place.
  PyObject* increment_version = nullptr;
  // torch._C._cuda_getCurrentRawStream(device): the current stream's handle as an int, without
  // the Python Stream object torch.cuda.current_stream builds (about 8 us a call).
  PyObject* raw_stream = nullptr;
};

inline Registry& registry() {
  static Registry r;
  return r;
}

inline void find_torch();

// Each compiled module holds its own registry (its symbols are hidden from the other's), so
// each binds this, and fusednn registers its Tensor type with every module it loads.
inline void bind_register_tensor_type(py::module_& m) {
  m.def("register_tensor_type", [](py::handle type) {
    Registry& r = registry();
    Py_XDECREF(r.fusednn_tensor);
    r.fusednn_tensor = type.inc_ref().ptr();
  }, py::arg("type"), "fusednn.Tensor: the front reads its .data");
  // Tests read torch tensors both ways: through the exchange table and through a capsule.
  m.def("_use_torch_exchange_api", [](bool use) {
    find_torch();
    Registry& r = registry();
    const bool was = r.exchange_api != nullptr;
    if (use && !was) r.exchange_api = r.exchange_api_found;
    if (!use) r.exchange_api = nullptr;
    return was;
  }, py::arg("use"), "Whether torch tensors are read through DLPack's exchange table (where "
     "torch has one; else the exported capsule). Returns the previous setting.");
}

// Takes torch's exchange table when it is a DLPack 1.x table with the non-owning read; anything
// else leaves the capsule path in place.
inline void find_exchange_api(py::handle tensor_type) {
  PyObject* capsule = PyObject_GetAttrString(tensor_type.ptr(), "__dlpack_c_exchange_api__");
  if (!capsule) {
    PyErr_Clear();
    return;
  }
  if (PyCapsule_IsValid(capsule, "dlpack_exchange_api")) {
    auto* api = static_cast<const dlpack::ExchangeAPI*>(
        PyCapsule_GetPointer(capsule, "dlpack_exchange_api"));
    if (api && api->version.major == 1 && api->dltensor_from_py_object_no_sync) {
      registry().exchange_api = registry().exchange_api_found = api;
      return;  // the capsule stays referenced: the table lives as long as torch
    }
  }
  Py_DECREF(capsule);
}

inline void find_torch() {
  Registry& r = registry();
  if (r.torch_tensor) return;
  PyObject* modules = PyImport_GetModuleDict();  // borrowed
  PyObject* torch = PyDict_GetItemString(modules, "torch");
  if (!torch) return;
  py::handle t(torch);
  if (!py::hasattr(t, "Tensor") || !py::hasattr(t, "bfloat16")) return;  // torch mid-import
  for (int i = 0; i < kNumDTypes; ++i) {
    const char* name = dtype_name(DType(i));
    r.torch_dtypes[i] = py::hasattr(t, name) ? py::object(t.attr(name)).release().ptr() : nullptr;
  }
  r.torch_strided = py::object(t.attr("strided")).release().ptr();
  py::object tensor = t.attr("Tensor");
  r.data_ptr = py::object(tensor.attr("data_ptr")).release().ptr();
  r.is_contiguous = py::object(tensor.attr("is_contiguous")).release().ptr();
  r.is_neg = py::object(tensor.attr("is_neg")).release().ptr();
  r.is_conj = py::object(tensor.attr("is_conj")).release().ptr();
  r.get_device = py::object(tensor.attr("get_device")).release().ptr();
  py::object c = t.attr("_C");
  if (py::hasattr(c, "_to_dlpack")) r.to_dlpack = py::object(c.attr("_to_dlpack")).release().ptr();
  find_exchange_api(tensor);
  if (py::hasattr(c, "_increment_version")) {
    r.increment_version = py::object(c.attr("_increment_version")).release().ptr();
  }
  if (py::hasattr(c, "_cuda_getCurrentRawStream")) {
    r.raw_stream = py::object(c.attr("_cuda_getCurrentRawStream")).release().ptr();
  }
  r.torch_tensor = tensor.inc_ref().ptr();
}

[[noreturn]] inline void type_error(const Name& n, const std::string& what) {
  throw py::type_error(n.str() + ": " + what);
}
[[noreturn]] inline void value_error(const Name& n, const std::string& what) {
  throw py::value_error(n.str() + ": " + what);
}

inline py::object call0(PyObject* method, PyObject* self) {
  PyObject* r = PyObject_CallOneArg(method, self);
  if (!r) throw py::error_already_set();
  return py::reinterpret_steal<py::object>(r);
}

// Attribute names are interned once: CPython's type-attribute cache only serves interned
// names, and a miss walks torch.Tensor's whole MRO (about 1 us per read).
struct Names {
  PyObject* dtype = PyUnicode_InternFromString("dtype");
  PyObject* layout = PyUnicode_InternFromString("layout");
  PyObject* is_cpu = PyUnicode_InternFromString("is_cpu");
  PyObject* is_cuda = PyUnicode_InternFromString("is_cuda");
  PyObject* is_nested = PyUnicode_InternFromString("is_nested");
  PyObject* shape = PyUnicode_InternFromString("shape");
  PyObject* device = PyUnicode_InternFromString("device");
  PyObject* data = PyUnicode_InternFromString("data");
  PyObject* cuda_array_interface = PyUnicode_InternFromString("__cuda_array_interface__");
};

inline const Names& names() {
  static const Names n;
  return n;
}

inline py::object attr(PyObject* obj, PyObject* name) {
  PyObject* r = PyObject_GetAttr(obj, name);
  if (!r) throw py::error_already_set();
  return py::reinterpret_steal<py::object>(r);
}

inline std::string describe(py::handle h) {
  return py::repr(py::type::handle_of(h)).cast<std::string>();
}

// ---- numpy ------------------------------------------------------------------------------------
inline DType numpy_dtype(int type_num, char byteorder) {
  using api = py::detail::npy_api;
  if (byteorder == '>') return DType::other;  // non-native byte order
  if (type_num == api::NPY_FLOAT_) return DType::f32;
  if (type_num == api::NPY_DOUBLE_) return DType::f64;
  if (type_num == 23 /* NPY_HALF */) return DType::f16;
  if (type_num == api::NPY_INT32_) return DType::i32;
  if (type_num == api::NPY_INT64_ || type_num == api::NPY_LONGLONG_) return DType::i64;
  if (type_num == api::NPY_UINT32_) return DType::u32;
  if (type_num == api::NPY_UBYTE_) return DType::u8;
  if (type_num == api::NPY_CFLOAT_) return DType::c64;
  return DType::other;
}

inline Array read_numpy(py::handle h, const Name& n) {
  auto* a = py::detail::array_proxy(h.ptr());
  auto* d = py::detail::array_descriptor_proxy(a->descr);
  Array out;
  out.object = h;
  out.kind = Kind::numpy;
  out.dtype = numpy_dtype(d->type_num, d->byteorder);
  out.data = reinterpret_cast<uintptr_t>(a->data);
  out.ndim = a->nd;
  if (out.ndim > kMaxDims) value_error(n, "has more than 8 dimensions");
  out.size = 1;
  for (int i = 0; i < a->nd; ++i) {
    out.shape[i] = a->dimensions[i];
    out.size *= a->dimensions[i];
  }
  out.writable = a->flags & py::detail::npy_api::NPY_ARRAY_WRITEABLE_;
  if (out.dtype == DType::other) {
    type_error(n, "expected float32, got " + py::str(py::handle(a->descr)).cast<std::string>() +
                      " (numpy array of " + py::str(py::handle(a->descr)).cast<std::string>() +
                      ", shape " + Array::format_shape(out.shape, out.ndim) + ")");
  }
  if (out.size > 1 && !(a->flags & py::detail::npy_api::NPY_ARRAY_C_CONTIGUOUS_)) {
    value_error(n, "must be C-contiguous (got strides " + py::str(h.attr("strides")).cast<std::string>() +
                       "); use np.ascontiguousarray on a copy you keep");
  }
  // A view whose owner was resized in place (ndarray.resize(refcheck=False)) points into freed
  // memory: its range must still lie inside the owner's buffer.
  PyObject* base = a->base;
  if (base && py::isinstance<py::array>(base) && out.size > 0) {
    auto* b = py::detail::array_proxy(base);
    const int64_t itemsize = py::reinterpret_borrow<py::dtype>(b->descr).itemsize();
    int64_t items = 1;
    for (int i = 0; i < b->nd; ++i) items *= b->dimensions[i];
    const uintptr_t lo = reinterpret_cast<uintptr_t>(b->data);
    const uintptr_t hi = lo + uintptr_t(items) * uintptr_t(itemsize);
    if ((b->flags & py::detail::npy_api::NPY_ARRAY_C_CONTIGUOUS_) &&
        (out.data < lo || out.data + uintptr_t(out.nbytes()) > hi)) {
      value_error(n, "is a view outside its base array's memory (was the base resized in "
                     "place?); make the views again from the array as it is now");
    }
  }
  return out;
}

// ---- torch ------------------------------------------------------------------------------------
inline DType torch_dtype(PyObject* dtype) {
  const Registry& r = registry();
  for (int i = 0; i < kNumDTypes; ++i) {
    if (dtype == r.torch_dtypes[i]) return DType(i);
  }
  return DType::other;
}

// A torch tensor's DLPack description copied into `out`. False when it is nothing the front
// reads this way (not C-contiguous, neither CPU nor CUDA, too many dimensions).
inline bool from_dltensor(const dlpack::Tensor& d, Array& out) {
  if (d.ndim > kMaxDims || (d.device.device_type != 1 && d.device.device_type != 2)) return false;
  out.dtype = dlpack::dtype_of(d.dtype);
  out.gpu = d.device.device_type == 2;
  out.device = out.gpu ? d.device.device_id : -1;
  out.ndim = d.ndim;
  out.size = 1;
  for (int i = 0; i < d.ndim; ++i) {
    out.shape[i] = d.shape[i];
    out.size *= d.shape[i];
  }
  if (d.strides && out.size > 1) {
    int64_t step = 1;
    for (int i = d.ndim - 1; i >= 0; --i) {
      if (d.shape[i] != 1 && d.strides[i] != step) return false;  // not C-contiguous
      step *= d.shape[i];
    }
  }
  out.data = reinterpret_cast<uintptr_t>(d.data) + uintptr_t(d.byte_offset);
  return true;
}

// A torch tensor through DLPack: one call gives its element type, device, shape, strides and
// address — through the exchange table when torch has one, else through an exported capsule
// (dropped unused, which frees the export). DLPack carries no neg bit, so is_neg() is asked
// separately. Returns false when the export is refused (sparse and other non-strided layouts,
// tensors without storage, ...), for the attribute path to name the problem.
inline bool read_torch_dlpack(PyObject* t, Array& out) {
  const Registry& r = registry();
  if (r.exchange_api) {
    dlpack::Tensor d;
    if (r.exchange_api->dltensor_from_py_object_no_sync(t, &d) != 0) {
      PyErr_Clear();
      return false;
    }
    return from_dltensor(d, out);
  }
  PyObject* capsule = PyObject_CallOneArg(r.to_dlpack, t);
  if (!capsule) {
    PyErr_Clear();
    return false;
  }
  py::object owner = py::reinterpret_steal<py::object>(capsule);
  auto* m = static_cast<dlpack::ManagedTensor*>(PyCapsule_GetPointer(capsule, "dltensor"));
  if (!m) {
    PyErr_Clear();
    return false;
  }
  return from_dltensor(m->dl_tensor, out);
}

inline Array read_torch_attributes(py::handle h, const Name& n);

// DLPack carries neither of torch's lazy bits: a negated or (complex) conjugated view would be
// read as the memory holds it, the opposite sign of what the tensor says. Refused instead.
inline void check_lazy_bits(PyObject* t, DType dtype, const Name& n) {
  const Registry& r = registry();
  if (call0(r.is_neg, t).ptr() != Py_False) {
    value_error(n, "is a lazily negated view; call .resolve_neg() first");
  }
  if (dtype == DType::c64 && call0(r.is_conj, t).ptr() != Py_False) {
    value_error(n, "is a lazily conjugated view; call .resolve_conj() first");
  }
}

inline Array read_torch(py::handle h, const Name& n) {
  const Registry& r = registry();
  if (r.exchange_api || r.to_dlpack) {
    Array out;
    out.object = h;
    out.kind = Kind::torch;
    if (read_torch_dlpack(h.ptr(), out) && out.dtype != DType::other) {
      check_lazy_bits(h.ptr(), out.dtype, n);
      return out;
    }
  }
  return read_torch_attributes(h, n);
}

// The attribute path: every property read one by one; names what is wrong with a tensor the
// DLPack path did not take.
inline Array read_torch_attributes(py::handle h, const Name& n) {
  const Registry& r = registry();
  PyObject* t = h.ptr();
  Array out;
  out.object = h;
  out.kind = Kind::torch;
  py::object dtype = attr(t, names().dtype);
  out.dtype = torch_dtype(dtype.ptr());
  if (attr(t, names().is_cpu).ptr() != Py_True) {
    if (attr(t, names().is_cuda).ptr() != Py_True) {
      value_error(n, "is on " + py::str(attr(t, names().device)).cast<std::string>() +
                         ", which fusednn cannot run on");
    }
    out.gpu = true;
    out.device = call0(r.get_device, t).cast<int>();
  }
  if (attr(t, names().is_nested).ptr() == Py_True) {  // whose layout may still say strided
    type_error(n, "nested tensors are not supported; pass a dense tensor");
  }
  // A dense contiguous tensor answers is_contiguous() with True; anything else (a strided
  // view, a sparse or other non-strided layout, which may also raise) is refused, with the
  // layout read only then.
  PyObject* contiguous = PyObject_CallOneArg(r.is_contiguous, t);
  const bool ok = contiguous == Py_True;
  if (contiguous) Py_DECREF(contiguous); else PyErr_Clear();
  if (!ok) {
    if (attr(t, names().layout).ptr() != r.torch_strided) {
      type_error(n, py::str(attr(t, names().layout)).cast<std::string>() +
                        " tensors are not supported; pass a dense tensor");
    }
    value_error(n, "must be contiguous (got strides " +
                       py::str(h.attr("stride")()).cast<std::string>() + ")");
  }
  py::object shape = attr(t, names().shape);
  const Py_ssize_t nd = PyTuple_GET_SIZE(shape.ptr());
  if (nd > kMaxDims) value_error(n, "has more than 8 dimensions");
  out.ndim = int(nd);
  out.size = 1;
  for (Py_ssize_t i = 0; i < nd; ++i) {
    out.shape[i] = PyLong_AsLongLong(PyTuple_GET_ITEM(shape.ptr(), i));
    out.size *= out.shape[i];
  }
  if (out.dtype == DType::other) {
    type_error(n, "expected torch.float32, got " + py::str(dtype).cast<std::string>());
  }
  check_lazy_bits(t, out.dtype, n);
  out.data = call0(r.data_ptr, t).cast<uintptr_t>();
  return out;
}

// ---- __cuda_array_interface__ -----------------------------------------------------------------
inline DType typestr_dtype(const std::string& s) {
  if (s == "<f4") return DType::f32;
  if (s == "<f2") return DType::f16;
  if (s == "<f8") return DType::f64;
  if (s == "<i4") return DType::i32;
  if (s == "<i8") return DType::i64;
  if (s == "<u4") return DType::u32;
  if (s == "|u1") return DType::u8;
  if (s == "<c8") return DType::c64;
  return DType::other;
}

inline Array read_cuda_interface(py::handle h, const py::dict& cai, const Name& n) {
  Array out;
  out.object = h;
  out.kind = Kind::cuda_interface;
  out.gpu = true;
  const std::string typestr = cai["typestr"].cast<std::string>();
  out.dtype = typestr_dtype(typestr);
  py::tuple shape = cai["shape"];
  if (shape.size() > size_t(kMaxDims)) value_error(n, "has more than 8 dimensions");
  out.ndim = int(shape.size());
  out.size = 1;
  for (int i = 0; i < out.ndim; ++i) {
    out.shape[i] = shape[i].cast<int64_t>();
    out.size *= out.shape[i];
  }
  if (out.dtype == DType::other) type_error(n, "expected float32, got typestr " + typestr);
  py::tuple data = cai["data"];
  out.data = data[0].cast<uintptr_t>();
  out.writable = !data[1].cast<bool>();
  if (cai.contains("strides") && !cai["strides"].is_none() && out.size > 1) {
    py::tuple strides = cai["strides"];
    int64_t step = dtype_size(out.dtype);
    for (int d = out.ndim - 1; d >= 0; --d) {
      if (out.shape[d] != 1 && strides[d].cast<int64_t>() != step) {
        value_error(n, "must be C-contiguous (got strides " + py::str(strides).cast<std::string>() + ")");
      }
      step *= out.shape[d];
    }
  }
  if (cai.contains("stream") && !cai["stream"].is_none()) {
    out.has_stream = true;
    out.stream = cai["stream"].cast<uintptr_t>();
  }
  // CuPy arrays say which device they are on; other producers leave it to the CUDA module.
  if (py::hasattr(h, "device")) {
    py::object dev = h.attr("device");
    if (py::hasattr(dev, "id")) out.device = dev.attr("id").cast<int>();
  }
  return out;
}

// ---- any array --------------------------------------------------------------------------------
// Reads what `h` is; raises TypeError when it is no array the front knows.
inline Array read(py::handle h, const Name& n) {
  Registry& r = registry();
  if (r.fusednn_tensor && PyObject_TypeCheck(h.ptr(), reinterpret_cast<PyTypeObject*>(r.fusednn_tensor))) {
    return read(attr(h.ptr(), names().data), n);  // the Tensor keeps its array alive
  }
  if (py::isinstance<py::array>(h)) return read_numpy(h, n);
  find_torch();
  if (r.torch_tensor && PyObject_TypeCheck(h.ptr(), reinterpret_cast<PyTypeObject*>(r.torch_tensor))) {
    return read_torch(h, n);
  }
  PyObject* cai = PyObject_GetAttr(h.ptr(), names().cuda_array_interface);
  if (cai) {
    py::object owned = py::reinterpret_steal<py::object>(cai);
    return read_cuda_interface(h, owned.cast<py::dict>(), n);
  }
  PyErr_Clear();
  type_error(n, "expected a numpy.ndarray, a torch.Tensor or a GPU array (CuPy, "
                "__cuda_array_interface__), got " + describe(h));
}

// Reads `h` and checks it against `want`.
inline Array get(py::handle h, const Name& n, const Want& want) {
  Array a = read(h, n);
  if (want.complex_pairs && a.dtype == DType::c64) {
    if (a.ndim == kMaxDims) value_error(n, "has more than 7 dimensions (complex)");
    a.dtype = DType::f32;
    a.complex_pairs = true;
    a.shape[a.ndim++] = 2;
    a.size *= 2;
  }
  if (a.gpu != want.gpu) {
    const std::string what = " (" + a.summary() + ")";
    if (a.gpu) {
      value_error(n, "is a GPU array" + what + ", but this is a CPU kernel; fusednn never "
                     "copies between devices implicitly");
    }
    value_error(n, "is a CPU array" + what + ", but this call runs on the GPU; fusednn never "
                   "copies between devices implicitly");
  }
  if (!want.accepts(a.dtype)) {
    std::string wanted;
    for (int t = 0; t < kNumDTypes; ++t) {
      if (want.accepts(DType(t))) wanted += std::string(wanted.empty() ? "" : " or ") + dtype_name(DType(t));
    }
    if (a.kind == Kind::torch) wanted = "torch." + wanted;
    type_error(n, "expected " + wanted + ", got " + (a.kind == Kind::torch ? "torch." : "") +
                      dtype_name(a.dtype));
  }
  if (a.data % uintptr_t(dtype_size(a.dtype)) != 0 && a.size > 0) {
    value_error(n, "is not aligned to its element size (address " + std::to_string(a.data) +
                       "); copy it into a fresh array");
  }
  if (want.writable && !a.writable) {
    value_error(n, "is read-only, but the kernel writes it in place");
  }
  return a;
}

// A list argument: a list or tuple of arrays, or one array (a list of one).
inline std::vector<Array> get_list(py::handle h, const Name& n, const Want& want) {
  std::vector<Array> out;
  if (PyList_Check(h.ptr()) || PyTuple_Check(h.ptr())) {
    py::sequence seq = py::reinterpret_borrow<py::sequence>(h);
    const size_t len = seq.size();
    out.reserve(len);
    for (size_t i = 0; i < len; ++i) {
      out.push_back(get(seq[i], Name{n.prefix, n.base, int64_t(i)}, want));
    }
  } else {
    out.push_back(get(h, n, want));
  }
  return out;
}

inline void check_shape(const Array& a, const Name& n, const Array& like, const Name& like_name) {
  if (!a.same_shape(like)) {
    value_error(n, "shape " + Array::format_shape(a.shape, a.ndim) + " does not match " +
                       like_name.str() + " shape " + Array::format_shape(like.shape, like.ndim));
  }
}

// Tells torch's autograd that the torch tensors among `arrays` were written in place, as
// torch's own in-place ops do: a graph that saved their old values then refuses to
// backpropagate instead of silently using the new ones. One call into torch for the lot.
inline void bump_torch_versions(const std::vector<const std::vector<Array>*>& lists) {
  const Registry& r = registry();
  if (!r.increment_version) return;
  py::list tensors;
  for (const std::vector<Array>* arrays : lists) {
    for (const Array& a : *arrays) {
      if (a.kind == Kind::torch) tensors.append(a.object);
    }
  }
  if (tensors.empty()) return;
  PyObject* done = PyObject_CallOneArg(r.increment_version, tensors.ptr());
  if (!done) throw py::error_already_set();
  Py_DECREF(done);
}

// ---- memory overlap ---------------------------------------------------------------------------
// Everything a kernel writes must be disjoint from everything else it touches: an output that
// shares memory with an input would be read after it was overwritten.
struct Span {
  uintptr_t begin, end;
  Name name;
  bool written;
};

class Spans {
 public:
  void add(const Array& a, const Name& n, bool written) {
    if (a.size > 0) spans_.push_back({a.data, a.data + uintptr_t(a.nbytes()), n, written});
  }
  void check() {
    // Stable: of two arrays at one address, the one added first is named first.
    std::stable_sort(spans_.begin(), spans_.end(),
              [](const Span& a, const Span& b) { return a.begin < b.begin; });
    for (size_t i = 0; i < spans_.size(); ++i) {
      for (size_t j = i + 1; j < spans_.size() && spans_[j].begin < spans_[i].end; ++j) {
        if (spans_[i].written || spans_[j].written) {
          throw py::value_error(spans_[i].name.str() + " and " + spans_[j].name.str() +
                                " share memory; each array a kernel writes must have its own "
                                "storage");
        }
      }
    }
  }
  void reserve(size_t n) { spans_.reserve(n); }

 private:
  std::vector<Span> spans_;
};

}  // namespace fusednn::front
