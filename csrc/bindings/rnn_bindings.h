// The recurrent layers' bindings (fusednn._cpu): a whole sequence forward, and its backward.
// Every size is read off the arrays and checked against the others (the step mask is uint8
// (steps, batch)); outputs may share memory with nothing else the call touches. The GIL is
// released for the kernels.
#pragma once
#include <pybind11/pybind11.h>

#include <string>

#include "bindings/layer_bindings.h"
#include "fusednn/rnn_math.h"

namespace fusednn::bindings {

struct RnnSizes {
  int64_t steps, batch, input, hidden, gates;
};

// Sizes from x [T, B, I] and w_hh [G*H, H]; w_ih, the biases and the states must agree.
inline RnnSizes rnn_sizes(RnnCell cell, const Array& X, const Array& W_ih, const Array& W_hh,
                          const Array& B_ih, const Array& B_hh, const Array& H0,
                          const Array& C0) {
  if (int32_t(cell) < 0 || int32_t(cell) >= kNumRnnCells) {
    throw py::value_error("unknown recurrent cell code " + std::to_string(int32_t(cell)));
  }
  expect_ndim("x", X, 3);
  expect_ndim("w_hh", W_hh, 2);
  const int64_t H = W_hh.shape[1], G = rnn_gates(cell);
  RnnSizes s{X.shape[0], X.shape[1], X.shape[2], H, G * H};
  if (H < 1 || W_hh.shape[0] != s.gates) {
    throw py::value_error("w_hh: shape " + W_hh.shape_str() + " is not (" + std::to_string(G) +
                          " * hidden, hidden) for this cell");
  }
  expect_shape("w_ih", W_ih, {s.gates, s.input});
  expect_shape("b_ih", B_ih, {s.gates});
  expect_shape("b_hh", B_hh, {s.gates});
  expect_shape("h0", H0, {s.batch, H});
  expect_shape("c0", C0, {s.batch, H});
  if (present(C0) && cell != RnnCell::kLstm) {
    throw py::value_error("c0: only an LSTM has a cell state");
  }
  return s;
}

inline const uint8_t* checked_mask(const Array& M, const RnnSizes& s) {
  if (!present(M)) return nullptr;
  expect_shape("mask", M, {s.steps, s.batch});
  return reinterpret_cast<const uint8_t*>(M.data);
}

template <class Backend>
void bind_rnn(py::module_& m) {
  constexpr bool gpu = Backend::kGpu;
  const unsigned u8 = front::mask({DType::u8});

  m.def(
      "rnn_forward",
      [u8](RnnCell cell, py::handle x, py::handle w_ih, py::handle w_hh, py::handle b_ih,
            py::handle b_hh, py::handle h0, py::handle c0, py::handle mask, bool reverse,
            py::handle y, py::handle h_n, py::handle c_n, py::handle gates, py::handle aux,
            py::handle rec_mask, py::handle workspace) {
        Reader r{gpu};
        const Array X = r.f32(x, "x", false), WI = r.f32(w_ih, "w_ih", false);
        const Array WH = r.f32(w_hh, "w_hh", false), BI = r.f32(b_ih, "b_ih", false, true);
        const Array BH = r.f32(b_hh, "b_hh", false, true), H0 = r.f32(h0, "h0", false, true);
        const Array C0 = r.f32(c0, "c0", false, true);
        const Array M = r.get(mask, "mask", false, u8, true);
        const Array Y = r.f32(y, "y", true), HN = r.f32(h_n, "h_n", true, true);
        const Array CN = r.f32(c_n, "c_n", true, true), G = r.f32(gates, "gates", true);
        const Array A = r.f32(aux, "aux", true);
        const Array RM = r.f32(rec_mask, "rec_mask", false, true);
        const RnnSizes s = rnn_sizes(cell, X, WI, WH, BI, BH, H0, C0);
        expect_shape("rec_mask", RM, {s.batch, s.hidden});
        expect_shape("y", Y, {s.steps, s.batch, s.hidden});
        expect_shape("h_n", HN, {s.batch, s.hidden});
        expect_shape("c_n", CN, {s.batch, s.hidden});
        expect_shape("gates", G, {s.steps, s.batch, s.gates});
        expect_shape("aux", A, {s.steps, s.batch, s.hidden});
        const uint8_t* active = checked_mask(M, s);
        const Array WS = device_workspace(
            r, workspace,
            Backend::rnn_workspace_bytes(cell, s.steps, s.batch, s.hidden, false, present(RM),
                                         present(H0), false),
            "rnn_forward", "rnn_workspace_bytes");
        r.finish();
        const auto launch = Backend::prepare(r);
        py::gil_scoped_release nogil;
        Backend::rnn_forward(cell, s.steps, s.batch, s.input, s.hidden, reverse, active, X.data,
                             WI.data, WH.data, BI.data, BH.data, H0.data, C0.data, Y.data,
                             HN.data, CN.data, G.data, A.data, RM.data, WS.data, size_t(WS.size),
                             launch);
      },
      py::arg("cell"), py::arg("x"), py::arg("w_ih"), py::arg("w_hh"), py::arg("b_ih"),
      py::arg("b_hh"), py::arg("h0"), py::arg("c0"), py::arg("mask"), py::arg("reverse"),
      py::arg("y"), py::arg("h_n"), py::arg("c_n"), py::arg("gates"), py::arg("aux"),
      py::arg("rec_mask") = py::none(), py::arg("workspace") = py::none());

  m.def(
      "rnn_backward",
      [u8](RnnCell cell, py::handle x, py::handle w_ih, py::handle w_hh, py::handle h0,
            py::handle c0, py::handle mask, bool reverse, py::handle y, py::handle gates,
            py::handle aux, py::handle dy, py::handle dh_n, py::handle dc_n, py::handle dx,
            py::handle dw_ih, py::handle dw_hh, py::handle db_ih, py::handle db_hh,
            py::handle dh0, py::handle dc0, py::handle dgates, py::handle dgates_rec,
            py::handle rec_mask, py::handle workspace) {
        Reader r{gpu};
        const Array X = r.f32(x, "x", false), WI = r.f32(w_ih, "w_ih", false);
        const Array WH = r.f32(w_hh, "w_hh", false), H0 = r.f32(h0, "h0", false, true);
        const Array C0 = r.f32(c0, "c0", false, true);
        const Array M = r.get(mask, "mask", false, u8, true);
        const Array Y = r.f32(y, "y", false), G = r.f32(gates, "gates", false);
        const Array A = r.f32(aux, "aux", false), DY = r.f32(dy, "dy", false, true);
        const Array DHN = r.f32(dh_n, "dh_n", false, true), DCN = r.f32(dc_n, "dc_n", false, true);
        const Array DX = r.f32(dx, "dx", true, true), DWI = r.f32(dw_ih, "dw_ih", true, true);
        const Array DWH = r.f32(dw_hh, "dw_hh", true, true);
        const Array DBI = r.f32(db_ih, "db_ih", true, true), DBH = r.f32(db_hh, "db_hh", true, true);
        const Array DH0 = r.f32(dh0, "dh0", true, true), DC0 = r.f32(dc0, "dc0", true, true);
        const Array DG = r.f32(dgates, "dgates", true);
        const Array DGR = r.f32(dgates_rec, "dgates_rec", true, true);
        const Array RM = r.f32(rec_mask, "rec_mask", false, true);
        const RnnSizes s = rnn_sizes(cell, X, WI, WH, Array{}, Array{}, H0, C0);
        expect_shape("rec_mask", RM, {s.batch, s.hidden});
        expect_shape("y", Y, {s.steps, s.batch, s.hidden});
        expect_shape("gates", G, {s.steps, s.batch, s.gates});
        expect_shape("aux", A, {s.steps, s.batch, s.hidden});
        expect_shape("dy", DY, {s.steps, s.batch, s.hidden});
        expect_shape("dh_n", DHN, {s.batch, s.hidden});
        expect_shape("dc_n", DCN, {s.batch, s.hidden});
        expect_shape("dx", DX, {s.steps, s.batch, s.input});
        expect_shape("dw_ih", DWI, {s.gates, s.input});
        expect_shape("dw_hh", DWH, {s.gates, s.hidden});
        expect_shape("db_ih", DBI, {s.gates});
        expect_shape("db_hh", DBH, {s.gates});
        expect_shape("dh0", DH0, {s.batch, s.hidden});
        expect_shape("dc0", DC0, {s.batch, s.hidden});
        expect_shape("dgates", DG, {s.steps, s.batch, s.gates});
        expect_shape("dgates_rec", DGR, {s.steps, s.batch, s.gates});
        if (cell == RnnCell::kGru && !present(DGR)) {
          throw py::value_error("dgates_rec: required for a GRU");
        }
        const uint8_t* active = checked_mask(M, s);
        const Array WS = device_workspace(
            r, workspace,
            Backend::rnn_workspace_bytes(cell, s.steps, s.batch, s.hidden, true, present(RM),
                                         present(H0), present(DWH)),
            "rnn_backward", "rnn_workspace_bytes");
        r.finish();
        const auto launch = Backend::prepare(r);
        py::gil_scoped_release nogil;
        Backend::rnn_backward(cell, s.steps, s.batch, s.input, s.hidden, reverse, active, X.data,
                              WI.data, WH.data, H0.data, C0.data, Y.data, G.data, A.data,
                              DY.data, DHN.data, DCN.data, DX.data, DWI.data, DWH.data, DBI.data,
                              DBH.data, DH0.data, DC0.data, DG.data, DGR.data, RM.data, WS.data,
                              size_t(WS.size), launch);
      },
      py::arg("cell"), py::arg("x"), py::arg("w_ih"), py::arg("w_hh"), py::arg("h0"),
      py::arg("c0"), py::arg("mask"), py::arg("reverse"), py::arg("y"), py::arg("gates"),
      py::arg("aux"), py::arg("dy"), py::arg("dh_n"), py::arg("dc_n"), py::arg("dx"),
      py::arg("dw_ih"), py::arg("dw_hh"), py::arg("db_ih"), py::arg("db_hh"), py::arg("dh0"),
      py::arg("dc0"), py::arg("dgates"), py::arg("dgates_rec"), py::arg("rec_mask") = py::none(),
      py::arg("workspace") = py::none());

  m.def(
      "rnn_workspace_bytes",
      [](RnnCell cell, int64_t steps, int64_t batch, int64_t hidden, bool backward,
         bool rec_dropout, bool h0, bool weight_grad_hh) {
        if (int32_t(cell) < 0 || int32_t(cell) >= kNumRnnCells) {
          throw py::value_error("unknown recurrent cell code " + std::to_string(int32_t(cell)));
        }
        if (steps < 0 || batch < 0 || hidden < 0) {
          throw py::value_error("rnn_workspace_bytes: steps, batch and hidden must be >= 0");
        }
        return Backend::rnn_workspace_bytes(cell, steps, batch, hidden, backward, rec_dropout,
                                            h0, weight_grad_hh);
      },
      py::arg("cell"), py::arg("steps"), py::arg("batch"), py::arg("hidden"), py::arg("backward"),
      py::arg("rec_dropout"), py::arg("h0"), py::arg("weight_grad_hh"),
      "Bytes of device scratch an rnn_forward (backward=False) or rnn_backward call takes as "
      "`workspace` (0 on the CPU, whose kernels keep their own).");
}

}  // namespace fusednn::bindings
