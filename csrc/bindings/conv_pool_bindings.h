// Conv2D followed by a 2x2 stride-2 max-pool, fused (fusednn._cpu only; the GPU runs the two
// layers' own kernels): the conv's raw output is scratch, the epilogue and the pool one pass.
// Sizes are read off the arrays and checked as the conv's; the pooled arrays are
// (N, O, out_h / 2, out_w / 2).
#pragma once
#include <pybind11/pybind11.h>

#include "bindings/layer_bindings.h"
#include "cpu/layers.h"

namespace fusednn::bindings {

template <class T>
T* ptr(const Array& a) { return reinterpret_cast<T*>(a.data); }

inline void check_poolable(const char* what, const ConvGeometry& g) {
  if (g.out_h < 2 || g.out_w < 2 || g.out_h * g.out_w > kPool2x2MaxPlane) {
    throw py::value_error(std::string(what) + ": a conv output of " + std::to_string(g.out_h) +
                          "x" + std::to_string(g.out_w) + " has no 2x2 pool here");
  }
}

inline void bind_conv_pool(py::module_& m) {
  const unsigned i32 = front::mask({DType::i32});
  m.def(
      "conv2d_pool_forward",
      [i32](py::handle x, py::handle w, py::handle bias, py::handle z, py::handle y,
            py::handle argmax, py::handle saved, const ConvGeometry& g, Act act, float slope) {
        Reader r{false};
        const Array X = r.f32(x, "x", false), W = r.f32(w, "w", false);
        const Array B = r.f32(bias, "bias", false, true), Z = r.f32(z, "z", true);
        const Array Y = r.f32(y, "y", true), A = r.get(argmax, "argmax", true, i32);
        const Array S = r.f32(saved, "saved", true, true);
        conv_sizes("conv2d_pool_forward", X, W, g);
        check_poolable("conv2d_pool_forward", g);
        const int64_t n = X.shape[0], o = W.shape[0];
        expect_shape("bias", B, {o});
        expect_shape("z", Z, {n, o, g.out_h, g.out_w});
        expect_shape("y", Y, {n, o, g.out_h / 2, g.out_w / 2});
        expect_shape("argmax", A, {n, o, g.out_h / 2, g.out_w / 2});
        expect_shape("saved", S, {n, o, g.out_h / 2, g.out_w / 2});
        if (act_saves_input(act_of(act)) && !present(S)) {
          throw py::value_error("saved: required for this activation");
        }
        r.finish();
        py::gil_scoped_release nogil;
        cpu::conv2d_pool_forward(
            ptr<const float>(X), ptr<const float>(W),
            ptr<float>(Z), ptr<float>(Y),
            ptr<int32_t>(A), ptr<float>(S), n, o, g,
            cpu::Epilogue{ptr<const float>(B), act_of(act), slope});
      },
      py::arg("x"), py::arg("w"), py::arg("bias"), py::arg("z"), py::arg("y"), py::arg("argmax"),
      py::arg("saved"), py::arg("geometry"), py::arg("act"), py::arg("slope") = 0.0f);

  m.def(
      "conv2d_pool_backward",
      [i32](py::handle x, py::handle w, py::handle dy, py::handle argmax, py::handle saved,
            py::handle dz, py::handle dx, py::handle dw, py::handle dbias,
            const ConvGeometry& g, Act act, float slope) {
        Reader r{false};
        const Array X = r.f32(x, "x", false), W = r.f32(w, "w", false);
        const Array DY = r.f32(dy, "dy", false), A = r.get(argmax, "argmax", false, i32);
        const Array S = r.f32(saved, "saved", false, true), DZ = r.f32(dz, "dz", true);
        const Array DX = r.f32(dx, "dx", true, true), DW = r.f32(dw, "dw", true, true);
        const Array DB = r.f32(dbias, "dbias", true, true);
        conv_sizes("conv2d_pool_backward", X, W, g);
        check_poolable("conv2d_pool_backward", g);
        const int64_t n = X.shape[0], o = W.shape[0];
        expect_shape("dy", DY, {n, o, g.out_h / 2, g.out_w / 2});
        expect_shape("argmax", A, {n, o, g.out_h / 2, g.out_w / 2});
        expect_shape("saved", S, {n, o, g.out_h / 2, g.out_w / 2});
        expect_shape("dz", DZ, {n, o, g.out_h, g.out_w});
        expect_conv_grads(DX, DW, DB, S, act, n, o, g);
        r.finish();
        py::gil_scoped_release nogil;
        cpu::conv2d_pool_backward(
            ptr<const float>(X), ptr<const float>(W),
            ptr<const float>(DY), ptr<const int32_t>(A),
            ptr<const float>(S), ptr<float>(DZ),
            ptr<float>(DX), ptr<float>(DW),
            ptr<float>(DB), n, o, g, act_of(act), slope);
      },
      py::arg("x"), py::arg("w"), py::arg("dy"), py::arg("argmax"), py::arg("saved"),
      py::arg("dz"), py::arg("dx"), py::arg("dw"), py::arg("dbias"), py::arg("geometry"),
      py::arg("act"), py::arg("slope") = 0.0f);
}

}  // namespace fusednn::bindings
