// fusednn._cpu: the layer kernels (bindings/layer_bindings.h) on the CPU backend.
#include <pybind11/pybind11.h>

#include "bindings/conv_pool_bindings.h"
#include "bindings/layer_bindings.h"
#include "bindings/rnn_bindings.h"
#include "cpu/dispatch.h"
#include "cpu/dropout.h"
#include "cpu/layers.h"
#include "cpu/nn_kernels.h"
#include "cpu/pool.h"
#include "cpu/rnn.h"

namespace py = pybind11;
using namespace fusednn;

namespace {

template <class T = float>
T* at(uintptr_t address) { return reinterpret_cast<T*>(address); }

// The CPU adapter of bind_layers: raw addresses to the typed CPU entry points.
struct CpuBackend {
  static constexpr bool kGpu = false;
  struct Launch {};
  static Launch prepare(const bindings::Reader&) { return {}; }

  static void bias_act_forward(uintptr_t z, uintptr_t bias, uintptr_t y, uintptr_t saved,
                               int64_t outer, int64_t channels, int64_t inner, int act,
                               float slope, Launch) {
    cpu::nn_kernels().bias_act_forward(cpu::BiasActForwardArgs{
        at(z), at(bias), at(y), at(saved), cpu::ChannelShape{outer, channels, inner}, Act(act),
        slope});
  }
  static void bias_act_backward(uintptr_t dy, uintptr_t saved, uintptr_t dz, uintptr_t dbias,
                                int64_t outer, int64_t channels, int64_t inner, int act,
                                float slope, Launch) {
    cpu::nn_kernels().bias_act_backward(cpu::BiasActBackwardArgs{
        at(dy), at(saved), at(dz), at(dbias), cpu::ChannelShape{outer, channels, inner}, Act(act),
        slope});
  }
  static void linear_forward(uintptr_t x, uintptr_t w, uintptr_t bias, uintptr_t y,
                             uintptr_t saved, int64_t batch, int64_t in, int64_t out, int act,
                             float slope, Launch) {
    cpu::linear_forward(at(x), at(w), at(y), at(saved), batch, in, out,
                        cpu::Epilogue{at(bias), Act(act), slope});
  }
  static void linear_backward(uintptr_t x, uintptr_t w, uintptr_t dy, uintptr_t saved,
                              uintptr_t dz, uintptr_t dx, uintptr_t dw, uintptr_t dbias,
                              int64_t batch, int64_t in, int64_t out, int act, float slope,
                              Launch) {
    cpu::linear_backward(at(x), at(w), at(dy), at(saved), at(dz), at(dx), at(dw), at(dbias),
                         batch, in, out, Act(act), slope);
  }
  // The CPU conv keeps its own per-thread scratch (cpu/layers.cpp): it takes no workspace.
  static size_t conv2d_workspace_bytes(const ConvGeometry&, int64_t, int64_t, bool, bool) {
    return 0;
  }
  static void conv2d_forward(uintptr_t x, uintptr_t w, uintptr_t bias, uintptr_t y,
                             uintptr_t saved, int64_t batch, int64_t out_channels,
                             const ConvGeometry& g, int act, float slope, uintptr_t, size_t,
                             Launch) {
    cpu::conv2d_forward(at(x), at(w), at(y), at(saved), batch, out_channels, g,
                        cpu::Epilogue{at(bias), Act(act), slope});
  }
  static void conv2d_backward(uintptr_t x, uintptr_t w, uintptr_t dy, uintptr_t saved,
                              uintptr_t dz, uintptr_t dx, uintptr_t dw, uintptr_t dbias,
                              int64_t batch, int64_t out_channels, const ConvGeometry& g, int act,
                              float slope, uintptr_t, size_t, Launch) {
    cpu::conv2d_backward(at(x), at(w), at(dy), at(saved), at(dz), at(dx), at(dw), at(dbias),
                         batch, out_channels, g, Act(act), slope);
  }
  static void max_pool2d_forward(uintptr_t x, uintptr_t y, uintptr_t argmax,
                                 const PoolGeometry& g, Launch) {
    cpu::max_pool2d_forward(at(x), at(y), at<int32_t>(argmax), g);
  }
  static void max_pool2d_backward(uintptr_t dy, uintptr_t argmax, uintptr_t dx,
                                  const PoolGeometry& g, Launch) {
    cpu::max_pool2d_backward(at(dy), at<const int32_t>(argmax), at(dx), g);
  }
  static void avg_pool2d_forward(uintptr_t x, uintptr_t y, const PoolGeometry& g,
                                 bool count_include_pad, Launch) {
    cpu::avg_pool2d_forward(at(x), at(y), g, count_include_pad);
  }
  static void avg_pool2d_backward(uintptr_t dy, uintptr_t dx, const PoolGeometry& g,
                                  bool count_include_pad, Launch) {
    cpu::avg_pool2d_backward(at(dy), at(dx), g, count_include_pad);
  }
  static void softmax_xent(uintptr_t logits, int64_t rows, int64_t classes,
                           uintptr_t target_index, uintptr_t target_prob, uintptr_t weight,
                           int64_t ignore_index, uintptr_t loss, uintptr_t dlogits,
                           float grad_scale, Launch) {
    cpu::nn_kernels().softmax_xent(cpu::SoftmaxXentArgs{
        at<const float>(logits), rows, classes, at<const int64_t>(target_index),
        at<const float>(target_prob), at<const float>(weight), ignore_index, at(loss),
        at(dlogits), grad_scale});
  }
  static void dropout(uintptr_t x, uintptr_t y, int64_t n, double p, uint64_t seed,
                      uint64_t offset, Launch) {
    cpu::dropout(x, y, n, p, seed, offset);
  }
  static void philox(uintptr_t out, int64_t n, uint64_t seed, uint64_t offset, Launch) {
    cpu::philox(out, n, seed, offset);
  }
  // The CPU recurrent kernels keep their own scratch: no workspace.
  static size_t rnn_workspace_bytes(RnnCell, int64_t, int64_t, int64_t, bool, bool, bool, bool) {
    return 0;
  }
  static void rnn_forward(RnnCell cell, int64_t steps, int64_t batch, int64_t input,
                          int64_t hidden, bool reverse, const uint8_t* mask, uintptr_t x,
                          uintptr_t w_ih, uintptr_t w_hh, uintptr_t b_ih, uintptr_t b_hh,
                          uintptr_t h0, uintptr_t c0, uintptr_t y, uintptr_t h_n, uintptr_t c_n,
                          uintptr_t gates, uintptr_t aux, uintptr_t rec_mask, uintptr_t,
                          size_t, Launch) {
    cpu::rnn_forward(cpu::RnnSequence{cell, steps, batch, input, hidden, reverse, mask,
                                      at<const float>(rec_mask)},
                     at(x), at(w_ih), at(w_hh), at(b_ih), at(b_hh), at(h0), at(c0), at(y),
                     at(h_n), at(c_n), at(gates), at(aux));
  }
  static void rnn_backward(RnnCell cell, int64_t steps, int64_t batch, int64_t input,
                           int64_t hidden, bool reverse, const uint8_t* mask, uintptr_t x,
                           uintptr_t w_ih, uintptr_t w_hh, uintptr_t h0, uintptr_t c0,
                           uintptr_t y, uintptr_t gates, uintptr_t aux, uintptr_t dy,
                           uintptr_t dh_n, uintptr_t dc_n, uintptr_t dx, uintptr_t dw_ih,
                           uintptr_t dw_hh, uintptr_t db_ih, uintptr_t db_hh, uintptr_t dh0,
                           uintptr_t dc0, uintptr_t dgates, uintptr_t dgates_rec,
                           uintptr_t rec_mask, uintptr_t, size_t, Launch) {
    cpu::rnn_backward(cpu::RnnSequence{cell, steps, batch, input, hidden, reverse, mask,
                                       at<const float>(rec_mask)},
                      at(x), at(w_ih), at(w_hh), at(h0), at(c0), at(y), at(gates), at(aux),
                      at(dy), at(dh_n), at(dc_n), at(dx), at(dw_ih), at(dw_hh), at(db_ih),
                      at(db_hh), at(dh0), at(dc0), at(dgates), at(dgates_rec));
  }
};

}  // namespace

void bind_cpu_layers(py::module_& m) {
  bindings::bind_layers<CpuBackend>(m);
  bindings::bind_rnn<CpuBackend>(m);
  bindings::bind_conv_pool(m);
}
