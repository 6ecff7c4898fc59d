// The layer kernels' bindings, written once for both modules: GEMM + bias/activation,
// convolution, pooling, softmax cross-entropy, dropout and the raw Philox stream.
//
// Each binding reads its arrays through the kernel front, checks them against each other (every
// size a kernel uses is read off the arrays; geometry objects must agree with them), refuses
// outputs that share memory with anything else, and then calls the backend with the GIL
// released. `Backend` is the CPU or CUDA module's adapter: kGpu, a Launch (device and stream,
// found while the GIL is held) and one static function per kernel on raw addresses.
#pragma once
#include <pybind11/pybind11.h>

#include <string>

#include "bindings/front.h"
#include "fusednn/act_math.h"
#include "fusednn/geometry.h"

namespace fusednn::bindings {

namespace py = pybind11;
using front::Array;
using front::DType;

// Reads the arguments of one call: each array checked, remembered for the overlap check, and
// (on the GPU) required to share one device.
struct Reader {
  bool gpu;
  front::Spans spans{};
  int device = -1;
  bool has_first = false;
  Array first{};  // the first array read: where a GPU call launches

  Array get(py::handle h, const char* name, bool written, unsigned types,
            bool optional = false) {
    if (h.is_none()) {
      if (!optional) throw py::type_error(std::string(name) + ": required, got None");
      return Array{};
    }
    Array a = front::get(h, front::named(name), front::Want{types, gpu, written});
    spans.add(a, front::named(name), written);
    if (gpu && a.device >= 0) {
      if (device >= 0 && a.device != device) {
        throw py::value_error(std::string(name) + ": is on cuda:" + std::to_string(a.device) +
                              " but the other arguments are on cuda:" + std::to_string(device));
      }
      device = a.device;
    }
    if (!has_first) {
      first = a;
      has_first = true;
    }
    return a;
  }
  Array f32(py::handle h, const char* name, bool written, bool optional = false) {
    return get(h, name, written, front::mask({DType::f32}), optional);
  }
  // Outputs must not share memory with anything else the call touches.
  void finish() { spans.check(); }
};

inline bool present(const Array& a) { return a.data != 0 || a.ndim > 0; }

inline void expect_shape(const char* name, const Array& a, std::initializer_list<int64_t> dims) {
  if (!present(a)) return;
  const int64_t* d = dims.begin();
  bool ok = a.ndim == int(dims.size());
  for (int i = 0; ok && i < a.ndim; ++i) ok = a.shape[i] == d[i];
  if (!ok) {
    throw py::value_error(std::string(name) + ": shape " + a.shape_str() + " does not match the "
                          "expected " + Array::format_shape(d, int(dims.size())));
  }
}

inline void expect_ndim(const char* name, const Array& a, int ndim) {
  if (a.ndim != ndim) {
    throw py::value_error(std::string(name) + ": expected " + std::to_string(ndim) +
                          " dimensions, got shape " + a.shape_str());
  }
}

inline Act act_of(Act a) {
  if (int32_t(a) < 0 || int32_t(a) >= kNumActs) {
    throw py::value_error("unknown activation code " + std::to_string(int32_t(a)));
  }
  return a;
}

// The window must be one torch would accept, and its output plane the one it gives (with
// ceil_mode, pooling's rounding up).
inline void check_window(const Window2d& g, const char* what, bool ceil_mode = false) {
  if (g.kernel_h < 1 || g.kernel_w < 1 || g.stride_h < 1 || g.stride_w < 1 ||
      g.dilation_h < 1 || g.dilation_w < 1 || g.pad_h < 0 || g.pad_w < 0) {
    throw py::value_error(std::string(what) + ": kernel, stride and dilation must be >= 1 and "
                          "padding >= 0");
  }
  // Below 2^31 each, so no index product of the kernels can overflow 64 bits.
  const int64_t big = int64_t(1) << 31;
  for (int64_t v : {g.height, g.width, g.kernel_h, g.kernel_w, g.stride_h, g.stride_w, g.pad_h,
                    g.pad_w, g.dilation_h, g.dilation_w}) {
    if (v >= big) throw py::value_error(std::string(what) + ": window sizes must be below 2^31");
  }
  const int64_t oh = window_output_size(g.height, g.kernel_h, g.stride_h, g.pad_h, g.dilation_h,
                                        ceil_mode);
  const int64_t ow = window_output_size(g.width, g.kernel_w, g.stride_w, g.pad_w, g.dilation_w,
                                        ceil_mode);
  if (oh < 1 || ow < 1 || oh != g.out_h || ow != g.out_w) {
    throw py::value_error(std::string(what) + ": the output plane " + std::to_string(g.out_h) +
                          "x" + std::to_string(g.out_w) + " does not follow from the window (" +
                          std::to_string(oh) + "x" + std::to_string(ow) + ")");
  }
}

// (outer, channels, inner) of an activation input: with a bias, channels is axis 1 of an
// (N, C, ...) array; without one, the whole array is one run.
struct ChannelRuns {
  int64_t outer, channels, inner;
};

inline ChannelRuns channel_runs(const Array& a, bool with_bias) {
  if (!with_bias) return {1, 1, a.size};
  if (a.ndim < 2) {
    throw py::value_error("a per-channel bias needs an input of at least 2 dimensions (N, C, ...)");
  }
  int64_t inner = 1;
  for (int d = 2; d < a.ndim; ++d) inner *= a.shape[d];
  return {a.shape[0], a.shape[1], inner};
}

// Convolution: x (N, C, H, W), w (O, C, kh, kw), y (N, O, out_h, out_w); the geometry's plane
// and channel sizes must be x's.
inline void conv_sizes(const char* what, const Array& X, const Array& W, const ConvGeometry& g) {
  expect_ndim("x", X, 4);
  expect_ndim("w", W, 4);
  check_window(g, what);
  if (g.channels != X.shape[1] || g.height != X.shape[2] || g.width != X.shape[3]) {
    throw py::value_error(std::string(what) + ": geometry is for (C, H, W) = (" +
                          std::to_string(g.channels) + ", " + std::to_string(g.height) + ", " +
                          std::to_string(g.width) + ") but x has shape " + X.shape_str());
  }
  expect_shape("w", W, {W.shape[0], g.channels, g.kernel_h, g.kernel_w});
  if (W.shape[0] < 1 || g.channels < 1) {
    throw py::value_error(std::string(what) + ": needs at least one input and output channel");
  }
}

// A conv backward's gradient outputs (each optional): dx like x, dw like w, dbias per filter;
// and the saved activation input or output its activation needs.
// A call's device scratch (bindings of fusednn._cuda; cuda/workspace.h): a uint8 array of at
// least `needed` bytes, 256-byte aligned, from the caller's array library (its pool serves
// it), or None when the call needs none (`needed` 0, as on the CPU, whose kernels keep their
// own scratch). `sizer`: the binding that tells the caller the size.
inline Array device_workspace(Reader& r, py::handle h, size_t needed, const char* what,
                              const char* sizer) {
  if (h.is_none()) {
    if (needed == 0) return Array{};
    throw py::type_error(std::string(what) + ": workspace: this call needs " +
                         std::to_string(needed) + " bytes of device scratch (" + sizer +
                         "), got None");
  }
  const Array ws = r.get(h, "workspace", true, front::mask({DType::u8}));
  if (size_t(ws.size) < needed) {
    throw py::value_error(std::string(what) + ": workspace: " + std::to_string(ws.size) +
                          " bytes given, this call needs " + std::to_string(needed) + " (" +
                          sizer + ")");
  }
  if (ws.data % 256 != 0) {
    throw py::value_error(std::string(what) + ": workspace: must be 256-byte aligned (a fresh "
                          "array is; a slice may not be)");
  }
  return ws;
}

inline void expect_conv_grads(const Array& DX, const Array& DW, const Array& DB,
                              const Array& S, Act act, int64_t n, int64_t o,
                              const ConvGeometry& g) {
  expect_shape("dx", DX, {n, g.channels, g.height, g.width});
  expect_shape("dw", DW, {o, g.channels, g.kernel_h, g.kernel_w});
  expect_shape("dbias", DB, {o});
  if (act_of(act) != Act::kIdentity && !present(S)) {
    throw py::value_error("saved: required for this activation");
  }
}

template <class Backend>
void bind_layers(py::module_& m) {
  constexpr bool gpu = Backend::kGpu;
  const unsigned f32 = front::mask({DType::f32});

  m.def(
      "bias_act_forward",
      [](py::handle z, py::handle y, Act act, float slope, py::handle bias, py::handle saved) {
        Reader r{gpu};
        const Array Z = r.f32(z, "z", false), B = r.f32(bias, "bias", false, true);
        const Array Y = r.f32(y, "y", true), S = r.f32(saved, "saved", true, true);
        const ChannelRuns c = channel_runs(Z, present(B));
        expect_shape("bias", B, {c.channels});
        if (!Y.same_shape(Z)) expect_shape("y", Y, {});  // raises, naming y
        if (present(S) && !S.same_shape(Z)) expect_shape("saved", S, {});
        if (act_saves_input(act_of(act)) && !present(S) && present(B)) {
          throw py::value_error("saved: required for this activation when a bias is added");
        }
        r.finish();
        const auto launch = Backend::prepare(r);
        py::gil_scoped_release nogil;
        Backend::bias_act_forward(Z.data, B.data, Y.data, S.data, c.outer, c.channels, c.inner,
                                  int(act), slope, launch);
      },
      py::arg("z"), py::arg("y"), py::arg("act"), py::arg("slope") = 0.0f,
      py::arg("bias") = py::none(), py::arg("saved") = py::none());

  m.def(
      "bias_act_backward",
      [](py::handle dy, py::handle saved, py::handle dz, Act act, float slope, py::handle dbias) {
        Reader r{gpu};
        const Array DY = r.f32(dy, "dy", false), S = r.f32(saved, "saved", false, true);
        const Array DZ = r.f32(dz, "dz", true), DB = r.f32(dbias, "dbias", true, true);
        const ChannelRuns c = channel_runs(DY, present(DB));
        expect_shape("dbias", DB, {c.channels});
        if (!DZ.same_shape(DY)) expect_shape("dz", DZ, {});
        if (act_of(act) != Act::kIdentity && !(present(S) && S.same_shape(DY))) {
          throw py::value_error("saved: must be shaped like dy for this activation");
        }
        r.finish();
        const auto launch = Backend::prepare(r);
        py::gil_scoped_release nogil;
        Backend::bias_act_backward(DY.data, S.data, DZ.data, DB.data, c.outer, c.channels,
                                   c.inner, int(act), slope, launch);
      },
      py::arg("dy"), py::arg("saved"), py::arg("dz"), py::arg("act"), py::arg("slope") = 0.0f,
      py::arg("dbias") = py::none());

  m.def(
      "linear_forward",
      [](py::handle x, py::handle w, py::handle bias, py::handle y, py::handle saved, Act act,
         float slope) {
        Reader r{gpu};
        const Array X = r.f32(x, "x", false), W = r.f32(w, "w", false);
        const Array B = r.f32(bias, "bias", false, true);
        const Array Y = r.f32(y, "y", true), S = r.f32(saved, "saved", true, true);
        expect_ndim("x", X, 2);
        expect_ndim("w", W, 2);
        const int64_t batch = X.shape[0], in = X.shape[1], out = W.shape[0];
        expect_shape("w", W, {out, in});
        expect_shape("bias", B, {out});
        expect_shape("y", Y, {batch, out});
        expect_shape("saved", S, {batch, out});
        if (act_saves_input(act_of(act)) && !present(S)) {
          throw py::value_error("saved: required for this activation (its backward reads the "
                                "pre-activation)");
        }
        r.finish();
        const auto launch = Backend::prepare(r);
        py::gil_scoped_release nogil;
        Backend::linear_forward(X.data, W.data, B.data, Y.data, S.data, batch, in, out, int(act),
                                slope, launch);
      },
      py::arg("x"), py::arg("w"), py::arg("bias"), py::arg("y"), py::arg("saved"),
      py::arg("act"), py::arg("slope") = 0.0f);

  m.def(
      "linear_backward",
      [](py::handle x, py::handle w, py::handle dy, py::handle saved, py::handle dz,
         py::handle dx, py::handle dw, py::handle dbias, Act act, float slope) {
        Reader r{gpu};
        const Array X = r.f32(x, "x", false), W = r.f32(w, "w", false);
        const Array DY = r.f32(dy, "dy", false), S = r.f32(saved, "saved", false, true);
        const Array DZ = r.f32(dz, "dz", true), DX = r.f32(dx, "dx", true, true);
        const Array DW = r.f32(dw, "dw", true, true), DB = r.f32(dbias, "dbias", true, true);
        expect_ndim("x", X, 2);
        expect_ndim("w", W, 2);
        const int64_t batch = X.shape[0], in = X.shape[1], out = W.shape[0];
        expect_shape("w", W, {out, in});
        expect_shape("dy", DY, {batch, out});
        expect_shape("saved", S, {batch, out});
        expect_shape("dz", DZ, {batch, out});
        expect_shape("dx", DX, {batch, in});
        expect_shape("dw", DW, {out, in});
        expect_shape("dbias", DB, {out});
        if (act_of(act) != Act::kIdentity && !present(S)) {
          throw py::value_error("saved: required for this activation");
        }
        r.finish();
        const auto launch = Backend::prepare(r);
        py::gil_scoped_release nogil;
        Backend::linear_backward(X.data, W.data, DY.data, S.data, DZ.data, DX.data, DW.data,
                                 DB.data, batch, in, out, int(act), slope, launch);
      },
      py::arg("x"), py::arg("w"), py::arg("dy"), py::arg("saved"), py::arg("dz"), py::arg("dx"),
      py::arg("dw"), py::arg("dbias"), py::arg("act"), py::arg("slope") = 0.0f);

  m.def(
      "conv2d_workspace_bytes",
      [](const ConvGeometry& g, int64_t batch, int64_t out_channels, bool backward,
         bool weight_grad) {
        if (batch < 0 || out_channels < 0) {
          throw py::value_error("conv2d_workspace_bytes: batch and out_channels must be >= 0");
        }
        return Backend::conv2d_workspace_bytes(g, batch, out_channels, backward, weight_grad);
      },
      py::arg("geometry"), py::arg("batch"), py::arg("out_channels"), py::arg("backward"),
      py::arg("weight_grad"),
      "Bytes of device scratch a conv2d_forward (backward=False) or conv2d_backward call takes "
      "as `workspace` (0 on the CPU, whose conv keeps its own).");

  m.def(
      "conv2d_forward",
      [](py::handle x, py::handle w, py::handle bias, py::handle y, py::handle saved,
         const ConvGeometry& g, Act act, float slope, py::handle workspace) {
        Reader r{gpu};
        const Array X = r.f32(x, "x", false), W = r.f32(w, "w", false);
        const Array B = r.f32(bias, "bias", false, true);
        const Array Y = r.f32(y, "y", true), S = r.f32(saved, "saved", true, true);
        conv_sizes("conv2d_forward", X, W, g);
        const int64_t n = X.shape[0], o = W.shape[0];
        expect_shape("bias", B, {o});
        expect_shape("y", Y, {n, o, g.out_h, g.out_w});
        expect_shape("saved", S, {n, o, g.out_h, g.out_w});
        if (act_saves_input(act_of(act)) && !present(S)) {
          throw py::value_error("saved: required for this activation");
        }
        const Array WS = device_workspace(r, workspace,
                                          Backend::conv2d_workspace_bytes(g, n, o, false, false),
                                          "conv2d_forward", "conv2d_workspace_bytes");
        r.finish();
        const auto launch = Backend::prepare(r);
        py::gil_scoped_release nogil;
        Backend::conv2d_forward(X.data, W.data, B.data, Y.data, S.data, n, o, g, int(act), slope,
                                WS.data, size_t(WS.size), launch);
      },
      py::arg("x"), py::arg("w"), py::arg("bias"), py::arg("y"), py::arg("saved"),
      py::arg("geometry"), py::arg("act"), py::arg("slope") = 0.0f,
      py::arg("workspace") = py::none());

  m.def(
      "conv2d_backward",
      [](py::handle x, py::handle w, py::handle dy, py::handle saved, py::handle dz,
         py::handle dx, py::handle dw, py::handle dbias, const ConvGeometry& g, Act act,
         float slope, py::handle workspace) {
        // x is read for dw only, and dz written only by an activation or a bias gradient:
        // without them both may be None (conv_transpose2d's forward is this call's dx).
        Reader r{gpu};
        const Array X = r.f32(x, "x", false, true), W = r.f32(w, "w", false);
        const Array DY = r.f32(dy, "dy", false), S = r.f32(saved, "saved", false, true);
        const Array DZ = r.f32(dz, "dz", true, true), DX = r.f32(dx, "dx", true, true);
        const Array DW = r.f32(dw, "dw", true, true), DB = r.f32(dbias, "dbias", true, true);
        if (!present(X) && (present(DW) || !present(DX))) {
          throw py::value_error("x: required for dw (and, without dx, for the sizes)");
        }
        if (!present(DZ) && (act_of(act) != Act::kIdentity || present(DB))) {
          throw py::value_error("dz: required for an activation or a bias gradient");
        }
        conv_sizes("conv2d_backward", present(X) ? X : DX, W, g);
        const int64_t n = (present(X) ? X : DX).shape[0], o = W.shape[0];
        expect_shape("dy", DY, {n, o, g.out_h, g.out_w});
        expect_shape("saved", S, {n, o, g.out_h, g.out_w});
        expect_shape("dz", DZ, {n, o, g.out_h, g.out_w});
        expect_conv_grads(DX, DW, DB, S, act, n, o, g);
        const Array WS = device_workspace(
            r, workspace, Backend::conv2d_workspace_bytes(g, n, o, true, present(DW)),
            "conv2d_backward", "conv2d_workspace_bytes");
        r.finish();
        const auto launch = Backend::prepare(r);
        py::gil_scoped_release nogil;
        Backend::conv2d_backward(X.data, W.data, DY.data, S.data, DZ.data, DX.data, DW.data,
                                 DB.data, n, o, g, int(act), slope, WS.data, size_t(WS.size),
                                 launch);
      },
      py::arg("x"), py::arg("w"), py::arg("dy"), py::arg("saved"), py::arg("dz"), py::arg("dx"),
      py::arg("dw"), py::arg("dbias"), py::arg("geometry"), py::arg("act"),
      py::arg("slope") = 0.0f, py::arg("workspace") = py::none());

  // Pooling: x (N, C, H, W) with N*C = planes; y (and argmax, int32) (N, C, out_h, out_w).
  auto pool_sizes = [](const char* what, const Array& X, const PoolGeometry& g) {
    expect_ndim("x", X, 4);
    check_window(g, what, g.ceil_mode);
    if (X.shape[0] * X.shape[1] != g.planes || X.shape[2] != g.height || X.shape[3] != g.width) {
      throw py::value_error(std::string(what) + ": geometry does not match x of shape " +
                            X.shape_str());
    }
    if (g.pad_h * 2 > g.kernel_h || g.pad_w * 2 > g.kernel_w) {
      throw py::value_error(std::string(what) + ": padding must be at most half the kernel");
    }
  };

  m.def(
      "max_pool2d_forward",
      [pool_sizes](py::handle x, py::handle y, py::handle argmax, const PoolGeometry& g) {
        Reader r{gpu};
        const Array X = r.f32(x, "x", false), Y = r.f32(y, "y", true);
        const Array A = r.get(argmax, "argmax", true, front::mask({DType::i32}));
        pool_sizes("max_pool2d_forward", X, g);
        expect_shape("y", Y, {X.shape[0], X.shape[1], g.out_h, g.out_w});
        expect_shape("argmax", A, {X.shape[0], X.shape[1], g.out_h, g.out_w});
        if (g.height * g.width >= (int64_t(1) << 31)) {
          throw py::value_error("max_pool2d_forward: planes of 2^31 elements or more");
        }
        r.finish();
        const auto launch = Backend::prepare(r);
        py::gil_scoped_release nogil;
        Backend::max_pool2d_forward(X.data, Y.data, A.data, g, launch);
      },
      py::arg("x"), py::arg("y"), py::arg("argmax"), py::arg("geometry"));

  m.def(
      "max_pool2d_backward",
      [pool_sizes](py::handle dy, py::handle argmax, py::handle dx, const PoolGeometry& g) {
        Reader r{gpu};
        const Array DY = r.f32(dy, "dy", false);
        const Array A = r.get(argmax, "argmax", false, front::mask({DType::i32}));
        const Array DX = r.f32(dx, "dx", true);
        pool_sizes("max_pool2d_backward", DX, g);
        expect_shape("dy", DY, {DX.shape[0], DX.shape[1], g.out_h, g.out_w});
        expect_shape("argmax", A, {DX.shape[0], DX.shape[1], g.out_h, g.out_w});
        r.finish();
        const auto launch = Backend::prepare(r);
        py::gil_scoped_release nogil;
        Backend::max_pool2d_backward(DY.data, A.data, DX.data, g, launch);
      },
      py::arg("dy"), py::arg("argmax"), py::arg("dx"), py::arg("geometry"));

  m.def(
      "avg_pool2d_forward",
      [pool_sizes](py::handle x, py::handle y, const PoolGeometry& g, bool count_include_pad) {
        Reader r{gpu};
        const Array X = r.f32(x, "x", false), Y = r.f32(y, "y", true);
        pool_sizes("avg_pool2d_forward", X, g);
        expect_shape("y", Y, {X.shape[0], X.shape[1], g.out_h, g.out_w});
        r.finish();
        const auto launch = Backend::prepare(r);
        py::gil_scoped_release nogil;
        Backend::avg_pool2d_forward(X.data, Y.data, g, count_include_pad, launch);
      },
      py::arg("x"), py::arg("y"), py::arg("geometry"), py::arg("count_include_pad"));

  m.def(
      "avg_pool2d_backward",
      [pool_sizes](py::handle dy, py::handle dx, const PoolGeometry& g, bool count_include_pad) {
        Reader r{gpu};
        const Array DY = r.f32(dy, "dy", false), DX = r.f32(dx, "dx", true);
        pool_sizes("avg_pool2d_backward", DX, g);
        expect_shape("dy", DY, {DX.shape[0], DX.shape[1], g.out_h, g.out_w});
        r.finish();
        const auto launch = Backend::prepare(r);
        py::gil_scoped_release nogil;
        Backend::avg_pool2d_backward(DY.data, DX.data, g, count_include_pad, launch);
      },
      py::arg("dy"), py::arg("dx"), py::arg("geometry"), py::arg("count_include_pad"));

  // Softmax cross-entropy over logits (rows, classes) against class indices (int64, rows) or
  // class probabilities (rows, classes); loss rows, and the logits' gradient when asked.
  m.def(
      "softmax_xent",
      [f32](py::handle logits, py::handle target_index, py::handle target_prob, py::handle weight,
            int64_t ignore_index, py::handle loss, py::handle dlogits, float grad_scale) {
        Reader r{gpu};
        const Array L = r.f32(logits, "logits", false);
        const Array TI = r.get(target_index, "target_index", false, front::mask({DType::i64}), true);
        const Array TP = r.f32(target_prob, "target_prob", false, true);
        const Array W = r.f32(weight, "weight", false, true);
        const Array LOSS = r.f32(loss, "loss", true), DL = r.f32(dlogits, "dlogits", true, true);
        (void)f32;
        expect_ndim("logits", L, 2);
        const int64_t rows = L.shape[0], classes = L.shape[1];
        if (present(TI) == present(TP)) {
          throw py::value_error("softmax_xent: pass exactly one of target_index and target_prob");
        }
        expect_shape("target_index", TI, {rows});
        expect_shape("target_prob", TP, {rows, classes});
        expect_shape("weight", W, {classes});
        expect_shape("loss", LOSS, {rows});
        expect_shape("dlogits", DL, {rows, classes});
        r.finish();
        const auto launch = Backend::prepare(r);
        py::gil_scoped_release nogil;
        Backend::softmax_xent(L.data, rows, classes, TI.data, TP.data, W.data, ignore_index,
                              LOSS.data, DL.data, grad_scale, launch);
      },
      py::arg("logits"), py::arg("target_index"), py::arg("target_prob"), py::arg("weight"),
      py::arg("ignore_index"), py::arg("loss"), py::arg("dlogits"), py::arg("grad_scale"));

  // y = dropout(x); y may be x itself (in place) but no other overlap.
  m.def(
      "dropout",
      [](py::handle x, py::handle y, double p, uint64_t seed, uint64_t offset,
         const std::string& name) {
        if (!(p >= 0.0 && p <= 1.0)) throw py::value_error("p must be in [0, 1]");
        const bool in_place = x.is(y);
        Reader r{gpu};
        const Array X = r.f32(x, name.c_str(), in_place);
        Array Y = X;
        if (!in_place) Y = r.f32(y, "out", true);
        if (!Y.same_shape(X)) {
          throw py::value_error("out has shape " + Y.shape_str() + " but " + name +
                                " has shape " + X.shape_str());
        }
        if (!in_place && Y.data == X.data && Y.size > 0) {
          // The same memory through two objects is in place too, not an overlap.
          r.spans = front::Spans{};
        }
        r.finish();
        const auto launch = Backend::prepare(r);
        py::gil_scoped_release nogil;
        Backend::dropout(X.data, Y.data, X.size, p, seed, offset, launch);
      },
      py::arg("x"), py::arg("out"), py::arg("p"), py::arg("seed"), py::arg("offset"),
      py::arg("name") = "x");

  m.def(
      "philox",
      [](py::handle out, uint64_t seed, uint64_t offset) {
        Reader r{gpu};
        const Array O = r.get(out, "out", true, front::mask({DType::i32, DType::u32}));
        const auto launch = Backend::prepare(r);
        py::gil_scoped_release nogil;
        Backend::philox(O.data, O.size, seed, offset, launch);
      },
      py::arg("out"), py::arg("seed"), py::arg("offset"));
}

}  // namespace fusednn::bindings
