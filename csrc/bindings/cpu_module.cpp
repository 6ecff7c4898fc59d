// fusednn._cpu: the CPU kernels, bound with pybind11. Private: users reach these through
// fusednn.optim.functional and the optimizer classes, whose kernel front (fusednn/_backend.py)
// validates every array and hands over addresses. The GIL is released around every kernel.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "build_config.h"
#include "cpu/dispatch.h"
#include "cpu/dropout.h"
#include "cpu/layers.h"
#include "cpu/pool.h"
#include "cpu/optim.h"
#include "fusednn/philox.h"

namespace py = pybind11;
using namespace fusednn;
using cpu::Addresses;
using Sizes = std::vector<int64_t>;

namespace {

// Arrays cross as addresses (0 for none), checked by the Python front (fusednn/nn/_kernels.py).
template <class T = float>
T* at(uintptr_t address) { return reinterpret_cast<T*>(address); }

Act act_of(int32_t code) {
  if (code < 0 || code >= kNumActs) throw py::value_error("unknown activation code " + std::to_string(code));
  return static_cast<Act>(code);
}

cpu::StepArgs step_args(Addresses params, Addresses grads, Sizes sizes,
                        std::vector<std::pair<const char*, Addresses>> states) {
  cpu::StepArgs a{std::move(params), std::move(grads), {}, std::move(sizes)};
  // Unused states (momentum off, not centered, no amsgrad) arrive as empty lists.
  for (auto& [name, addresses] : states) {
    if (!addresses.empty()) a.states.push_back({name, std::move(addresses)});
  }
  return a;
}

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
  d["avx512f"] = f.avx512f;
  return d;
}

// numpy arrays are validated here, in C++: reading their flags and address from Python costs
// more than the kernel does for a small tensor. Returns (address, size, shape); the messages
// match the Python front's, which handles every other kind of array.
py::tuple numpy_span(py::handle h, const std::string& what, bool writable) {
  if (!py::isinstance<py::array>(h)) throw py::type_error(what + ": expected a numpy.ndarray");
  auto a = py::reinterpret_borrow<py::array>(h);
  if (!a.dtype().equal(py::dtype::of<float>())) {
    throw py::type_error(what + ": expected float32, got " + py::str(a.dtype()).cast<std::string>() +
                         " (numpy array of " + py::str(a.dtype()).cast<std::string>() +
                         ", shape " + py::str(h.attr("shape")).cast<std::string>() + ")");
  }
  if (!(a.flags() & py::array::c_style)) {
    throw py::value_error(what + ": must be C-contiguous (got strides " +
                          py::str(h.attr("strides")).cast<std::string>() +
                          "); use np.ascontiguousarray on a copy you keep");
  }
  if (writable && !a.writeable()) {
    throw py::value_error(what + ": is read-only, but the optimizer updates it in place");
  }
  py::tuple shape(a.ndim());
  for (py::ssize_t d = 0; d < a.ndim(); ++d) shape[d] = a.shape(d);
  return py::make_tuple(reinterpret_cast<uintptr_t>(a.data()), a.size(), shape);
}

// numpy_span over a list: (addresses, sizes, shapes).
py::tuple numpy_spans(const py::list& arrays, const std::string& name, bool writable) {
  py::list addresses, sizes, shapes;
  for (size_t i = 0; i < arrays.size(); ++i) {
    py::tuple span = numpy_span(arrays[i], name + "[" + std::to_string(i) + "]", writable);
    addresses.append(span[0]);
    sizes.append(span[1]);
    shapes.append(span[2]);
  }
  return py::make_tuple(addresses, sizes, shapes);
}

// Reads, through the CPython API, what must hold for a torch tensor to be handed to a CPU
// kernel: float32, strided, on the CPU, contiguous, no lazy negation. This runs for every
// gradient on every step, where Python attribute reads would cost more than a small tensor's
// update. torch is not linked: these are the tensor's public Python attributes.
// Returns (addresses, sizes, index of the first tensor that fails or -1); the Python front
// then describes the failure.
py::tuple torch_spans(const py::list& tensors, const py::object& float32,
                      const py::object& strided) {
  static PyObject* const kDtype = PyUnicode_InternFromString("dtype");
  static PyObject* const kLayout = PyUnicode_InternFromString("layout");
  static PyObject* const kIsCpu = PyUnicode_InternFromString("is_cpu");
  static PyObject* const kIsContiguous = PyUnicode_InternFromString("is_contiguous");
  static PyObject* const kIsNeg = PyUnicode_InternFromString("is_neg");
  static PyObject* const kNumel = PyUnicode_InternFromString("numel");
  static PyObject* const kDataPtr = PyUnicode_InternFromString("data_ptr");
  auto attr_is = [](PyObject* obj, PyObject* name, PyObject* expected) {
    PyObject* value = PyObject_GetAttr(obj, name);
    if (!value) throw py::error_already_set();
    const bool same = value == expected;
    Py_DECREF(value);
    return same;
  };
  auto call = [](PyObject* obj, PyObject* name) {
    PyObject* value = PyObject_CallMethodObjArgs(obj, name, nullptr);
    if (!value) throw py::error_already_set();
    return py::reinterpret_steal<py::object>(value);
  };
  py::list addresses, sizes;
  const size_t n = tensors.size();
  for (size_t i = 0; i < n; ++i) {
    PyObject* t = tensors[i].ptr();
    const bool ok = attr_is(t, kDtype, float32.ptr()) && attr_is(t, kLayout, strided.ptr()) &&
                    attr_is(t, kIsCpu, Py_True) && call(t, kIsContiguous).ptr() == Py_True &&
                    call(t, kIsNeg).ptr() == Py_False;
    if (!ok) return py::make_tuple(addresses, sizes, py::int_(int64_t(i)));
    sizes.append(call(t, kNumel));
    addresses.append(call(t, kDataPtr));
  }
  return py::make_tuple(addresses, sizes, py::int_(-1));
}

}  // namespace

PYBIND11_MODULE(_cpu, m) {
  m.doc() = "fusednn CPU kernels (scalar reference and AVX2+FMA, OpenMP-threaded)";
  const auto nogil = py::call_guard<py::gil_scoped_release>();

  m.def("build_info", &build_info);
  m.def("cpu_features", &features);
  m.def("kernel_path", &cpu::kernel_path);
  m.def("set_kernel_path", &cpu::set_kernel_path, py::arg("path"));
  m.def("num_threads", &cpu::num_threads);
  m.def("set_num_threads", &cpu::set_num_threads, py::arg("n"));

  m.def("torch_spans", &torch_spans, py::arg("tensors"), py::arg("float32"), py::arg("strided"));
  m.def("numpy_span", &numpy_span, py::arg("array"), py::arg("name"), py::arg("writable"));
  // The data address of a numpy array (the layers' kernel front passes arrays it made itself);
  // 10x cheaper than reading ndarray.ctypes.data from Python.
  m.def("address", [](py::handle h) -> uintptr_t {
    if (h.is_none()) return 0;
    if (!py::isinstance<py::array>(h)) throw py::type_error("address: expected a numpy.ndarray");
    return reinterpret_cast<uintptr_t>(py::reinterpret_borrow<py::array>(h).data());
  });
  m.def("numpy_spans", &numpy_spans, py::arg("arrays"), py::arg("name"), py::arg("writable"));
  m.def("dropout", &cpu::dropout, py::arg("x"), py::arg("y"), py::arg("n"), py::arg("p"),
        py::arg("seed"), py::arg("offset"), nogil);
  m.def("philox", &cpu::philox, py::arg("out"), py::arg("n"), py::arg("seed"),
        py::arg("offset"), nogil);

  // The bare generator, for known-answer tests: (counter words, key words) -> 4 words.
  m.def("philox4x32_10", [](uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0,
                            uint32_t k1) {
    const Philox4 r = philox4x32_10(Philox4{{c0, c1, c2, c3}}, k0, k1);
    return py::make_tuple(r.v[0], r.v[1], r.v[2], r.v[3]);
  });

  m.def("grad_sum_squares", &cpu::grad_sum_squares, py::arg("grads"), py::arg("sizes"), nogil);

  m.def(
      "sgd_step",
      [](Addresses params, Addresses grads, Addresses momentum_buffers, Sizes sizes, double lr,
         double momentum, double dampening, bool nesterov, double weight_decay, bool maximize,
         double l1, double grad_scale, bool first_step) {
        // Built by value, with the GIL held, before the guard below releases it.
        const cpu::StepArgs a = step_args(std::move(params), std::move(grads), std::move(sizes),
                                          {{"momentum_buffers", std::move(momentum_buffers)}});
        const SgdHparams h{lr, momentum, dampening, weight_decay, l1, grad_scale,
                           nesterov, maximize, first_step};
        py::gil_scoped_release release;
        cpu::sgd_step(a, h);
      },
      py::arg("params"), py::arg("grads"), py::arg("momentum_buffers"), py::arg("sizes"),
      py::kw_only(), py::arg("lr"), py::arg("momentum"), py::arg("dampening"),
      py::arg("nesterov"), py::arg("weight_decay"), py::arg("maximize"), py::arg("l1"),
      py::arg("grad_scale"), py::arg("first_step"));

  m.def(
      "adagrad_step",
      [](Addresses params, Addresses grads, Addresses state_sums, Sizes sizes, double lr,
         double lr_decay, double weight_decay, double eps, bool maximize, double l1,
         double grad_scale, int64_t step) {
        const cpu::StepArgs a = step_args(std::move(params), std::move(grads), std::move(sizes),
                                          {{"state_sums", std::move(state_sums)}});
        const AdagradHparams h{lr, lr_decay, weight_decay, eps, l1, grad_scale, step, maximize};
        py::gil_scoped_release release;
        cpu::adagrad_step(a, h);
      },
      py::arg("params"), py::arg("grads"), py::arg("state_sums"), py::arg("sizes"),
      py::kw_only(), py::arg("lr"), py::arg("lr_decay"), py::arg("weight_decay"),
      py::arg("eps"), py::arg("maximize"), py::arg("l1"), py::arg("grad_scale"), py::arg("step"));

  m.def(
      "rmsprop_step",
      [](Addresses params, Addresses grads, Addresses square_avgs, Addresses momentum_buffers,
         Addresses grad_avgs, Sizes sizes, double lr, double alpha, double eps,
         double weight_decay, double momentum, bool centered, bool maximize, double l1,
         double grad_scale) {
        // State order matches RmspropUpdate: square_avg, momentum_buffer, grad_avg.
        const cpu::StepArgs a = step_args(std::move(params), std::move(grads), std::move(sizes),
                                          {{"square_avgs", std::move(square_avgs)},
                                           {"momentum_buffers", std::move(momentum_buffers)},
                                           {"grad_avgs", std::move(grad_avgs)}});
        const RmspropHparams h{lr, alpha, eps, weight_decay, momentum, l1, grad_scale,
                               centered, maximize};
        py::gil_scoped_release release;
        cpu::rmsprop_step(a, h);
      },
      py::arg("params"), py::arg("grads"), py::arg("square_avgs"), py::arg("momentum_buffers"),
      py::arg("grad_avgs"), py::arg("sizes"), py::kw_only(), py::arg("lr"), py::arg("alpha"),
      py::arg("eps"), py::arg("weight_decay"), py::arg("momentum"), py::arg("centered"),
      py::arg("maximize"), py::arg("l1"), py::arg("grad_scale"));

  m.def(
      "adam_step",
      [](Addresses params, Addresses grads, Addresses exp_avgs, Addresses exp_avg_sqs,
         Addresses max_exp_avg_sqs, Sizes sizes, double lr, double beta1, double beta2,
         double eps, double weight_decay, bool decoupled, bool amsgrad, bool maximize,
         double l1, double grad_scale, int64_t step) {
        const cpu::StepArgs a = step_args(std::move(params), std::move(grads), std::move(sizes),
                                          {{"exp_avgs", std::move(exp_avgs)},
                                           {"exp_avg_sqs", std::move(exp_avg_sqs)},
                                           {"max_exp_avg_sqs", std::move(max_exp_avg_sqs)}});
        const AdamHparams h{lr, beta1, beta2, eps, weight_decay, l1, grad_scale,
                            step, amsgrad, maximize, decoupled};
        py::gil_scoped_release release;
        cpu::adam_step(a, h);
      },
      py::arg("params"), py::arg("grads"), py::arg("exp_avgs"), py::arg("exp_avg_sqs"),
      py::arg("max_exp_avg_sqs"), py::arg("sizes"), py::kw_only(), py::arg("lr"),
      py::arg("beta1"), py::arg("beta2"), py::arg("eps"), py::arg("weight_decay"),
      py::arg("decoupled"), py::arg("amsgrad"), py::arg("maximize"), py::arg("l1"),
      py::arg("grad_scale"), py::arg("step"));

  // ---- layers: GEMM + fused bias/activation, convolution, pooling, softmax cross-entropy ----
  m.def(
      "bias_act_forward",
      [](uintptr_t z, uintptr_t bias, uintptr_t y, uintptr_t saved, int64_t outer,
         int64_t channels, int64_t inner, int32_t act, float slope) {
        const cpu::BiasActForwardArgs a{at(z), at(bias), at(y), at(saved),
                                        cpu::ChannelShape{outer, channels, inner}, act_of(act), slope};
        py::gil_scoped_release release;
        cpu::nn_kernels().bias_act_forward(a);
      },
      py::arg("z"), py::arg("bias"), py::arg("y"), py::arg("saved"), py::arg("outer"),
      py::arg("channels"), py::arg("inner"), py::arg("act"), py::arg("slope"));
  m.def(
      "bias_act_backward",
      [](uintptr_t dy, uintptr_t saved, uintptr_t dz, uintptr_t dbias, int64_t outer,
         int64_t channels, int64_t inner, int32_t act, float slope) {
        const cpu::BiasActBackwardArgs a{at(dy), at(saved), at(dz), at(dbias),
                                         cpu::ChannelShape{outer, channels, inner}, act_of(act), slope};
        py::gil_scoped_release release;
        cpu::nn_kernels().bias_act_backward(a);
      },
      py::arg("dy"), py::arg("saved"), py::arg("dz"), py::arg("dbias"), py::arg("outer"),
      py::arg("channels"), py::arg("inner"), py::arg("act"), py::arg("slope"));
  m.def(
      "linear_forward",
      [](uintptr_t x, uintptr_t w, uintptr_t bias, uintptr_t y, uintptr_t saved, int64_t batch,
         int64_t in, int64_t out, int32_t act, float slope) {
        const cpu::Epilogue e{at(bias), act_of(act), slope};
        py::gil_scoped_release release;
        cpu::linear_forward(at(x), at(w), at(y), at(saved), batch, in, out, e);
      },
      py::arg("x"), py::arg("w"), py::arg("bias"), py::arg("y"), py::arg("saved"),
      py::arg("batch"), py::arg("in_features"), py::arg("out_features"), py::arg("act"),
      py::arg("slope"));
  m.def(
      "linear_backward",
      [](uintptr_t x, uintptr_t w, uintptr_t dy, uintptr_t saved, uintptr_t dz, uintptr_t dx,
         uintptr_t dw, uintptr_t dbias, int64_t batch, int64_t in, int64_t out, int32_t act,
         float slope) {
        const Act a = act_of(act);
        py::gil_scoped_release release;
        cpu::linear_backward(at(x), at(w), at(dy), at(saved), at(dz), at(dx), at(dw), at(dbias),
                             batch, in, out, a, slope);
      },
      py::arg("x"), py::arg("w"), py::arg("dy"), py::arg("saved"), py::arg("dz"), py::arg("dx"),
      py::arg("dw"), py::arg("dbias"), py::arg("batch"), py::arg("in_features"),
      py::arg("out_features"), py::arg("act"), py::arg("slope"));
  m.def(
      "conv2d_forward",
      [](uintptr_t x, uintptr_t w, uintptr_t bias, uintptr_t y, uintptr_t saved, int64_t batch,
         int64_t out_channels, const Sizes& geometry, int32_t act, float slope) {
        const ConvGeometry g = from_sequence<ConvGeometry>(geometry);
        const cpu::Epilogue e{at(bias), act_of(act), slope};
        py::gil_scoped_release release;
        cpu::conv2d_forward(at(x), at(w), at(y), at(saved), batch, out_channels, g, e);
      },
      py::arg("x"), py::arg("w"), py::arg("bias"), py::arg("y"), py::arg("saved"),
      py::arg("batch"), py::arg("out_channels"), py::arg("geometry"), py::arg("act"),
      py::arg("slope"));
  m.def(
      "conv2d_backward",
      [](uintptr_t x, uintptr_t w, uintptr_t dy, uintptr_t saved, uintptr_t dz, uintptr_t dx,
         uintptr_t dw, uintptr_t dbias, int64_t batch, int64_t out_channels,
         const Sizes& geometry, int32_t act, float slope) {
        const ConvGeometry g = from_sequence<ConvGeometry>(geometry);
        const Act a = act_of(act);
        py::gil_scoped_release release;
        cpu::conv2d_backward(at(x), at(w), at(dy), at(saved), at(dz), at(dx), at(dw), at(dbias),
                             batch, out_channels, g, a, slope);
      },
      py::arg("x"), py::arg("w"), py::arg("dy"), py::arg("saved"), py::arg("dz"), py::arg("dx"),
      py::arg("dw"), py::arg("dbias"), py::arg("batch"), py::arg("out_channels"),
      py::arg("geometry"), py::arg("act"), py::arg("slope"));
  m.def(
      "max_pool2d_forward",
      [](uintptr_t x, uintptr_t y, uintptr_t argmax, const Sizes& geometry) {
        const PoolGeometry g = from_sequence<PoolGeometry>(geometry);
        py::gil_scoped_release release;
        cpu::max_pool2d_forward(at(x), at(y), at<int32_t>(argmax), g);
      },
      py::arg("x"), py::arg("y"), py::arg("argmax"), py::arg("geometry"));
  m.def(
      "max_pool2d_backward",
      [](uintptr_t dy, uintptr_t argmax, uintptr_t dx, const Sizes& geometry) {
        const PoolGeometry g = from_sequence<PoolGeometry>(geometry);
        py::gil_scoped_release release;
        cpu::max_pool2d_backward(at(dy), at<const int32_t>(argmax), at(dx), g);
      },
      py::arg("dy"), py::arg("argmax"), py::arg("dx"), py::arg("geometry"));
  m.def(
      "avg_pool2d_forward",
      [](uintptr_t x, uintptr_t y, const Sizes& geometry, bool count_include_pad) {
        const PoolGeometry g = from_sequence<PoolGeometry>(geometry);
        py::gil_scoped_release release;
        cpu::avg_pool2d_forward(at(x), at(y), g, count_include_pad);
      },
      py::arg("x"), py::arg("y"), py::arg("geometry"), py::arg("count_include_pad"));
  m.def(
      "avg_pool2d_backward",
      [](uintptr_t dy, uintptr_t dx, const Sizes& geometry, bool count_include_pad) {
        const PoolGeometry g = from_sequence<PoolGeometry>(geometry);
        py::gil_scoped_release release;
        cpu::avg_pool2d_backward(at(dy), at(dx), g, count_include_pad);
      },
      py::arg("dy"), py::arg("dx"), py::arg("geometry"), py::arg("count_include_pad"));
  m.def(
      "softmax_xent",
      [](uintptr_t logits, int64_t rows, int64_t classes, uintptr_t target_index,
         uintptr_t target_prob, uintptr_t weight, int64_t ignore_index, uintptr_t loss,
         uintptr_t dlogits, float grad_scale) {
        const cpu::SoftmaxXentArgs a{at<const float>(logits), rows, classes,
                                     at<const int64_t>(target_index), at<const float>(target_prob),
                                     at<const float>(weight), ignore_index, at(loss), at(dlogits),
                                     grad_scale};
        py::gil_scoped_release release;
        cpu::nn_kernels().softmax_xent(a);
      },
      py::arg("logits"), py::arg("rows"), py::arg("classes"), py::arg("target_index"),
      py::arg("target_prob"), py::arg("weight"), py::arg("ignore_index"), py::arg("loss"),
      py::arg("dlogits"), py::arg("grad_scale"));
}
