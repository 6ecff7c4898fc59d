// fusednn._cuda: the layer kernels (bindings/layer_bindings.h) on the CUDA launchers, each on
// the arrays' device and stream.
#include <pybind11/pybind11.h>

#include "bindings/cuda_launch.h"
#include "bindings/layer_bindings.h"
#include "bindings/rnn_bindings.h"
#include "cuda/launch.h"

namespace py = pybind11;
using namespace fusednn;

namespace {

struct CudaBackend {
  static constexpr bool kGpu = true;
  using Launch = bindings::GpuLaunch;
  static Launch prepare(const bindings::Reader& r) {
    if (!r.has_first) throw py::value_error("no GPU array in this call");
    const Launch l = bindings::launch_for(r.first, "x");
    if (r.device >= 0 && r.device != l.device) {
      throw py::value_error("the arguments are on cuda:" + std::to_string(r.device) +
                            " and cuda:" + std::to_string(l.device));
    }
    return l;
  }

  static void bias_act_forward(uintptr_t z, uintptr_t bias, uintptr_t y, uintptr_t saved,
                               int64_t outer, int64_t channels, int64_t inner, int act,
                               float slope, Launch l) {
    bindings::DeviceGuard guard(l.device);
    cuda::bias_act_forward(z, bias, y, saved, outer, channels, inner, act, slope, l.stream);
  }
  static void bias_act_backward(uintptr_t dy, uintptr_t saved, uintptr_t dz, uintptr_t dbias,
                                int64_t outer, int64_t channels, int64_t inner, int act,
                                float slope, Launch l) {
    bindings::DeviceGuard guard(l.device);
    cuda::bias_act_backward(dy, saved, dz, dbias, outer, channels, inner, act, slope, l.stream);
  }
  static void linear_forward(uintptr_t x, uintptr_t w, uintptr_t bias, uintptr_t y,
                             uintptr_t saved, int64_t batch, int64_t in, int64_t out, int act,
                             float slope, Launch l) {
    bindings::DeviceGuard guard(l.device);
    cuda::linear_forward(x, w, bias, y, saved, batch, in, out, act, slope, l.stream);
  }
  static void linear_backward(uintptr_t x, uintptr_t w, uintptr_t dy, uintptr_t saved,
                              uintptr_t dz, uintptr_t dx, uintptr_t dw, uintptr_t dbias,
                              int64_t batch, int64_t in, int64_t out, int act, float slope,
                              Launch l) {
    bindings::DeviceGuard guard(l.device);
    cuda::linear_backward(x, w, dy, saved, dz, dx, dw, dbias, batch, in, out, act, slope,
                          l.stream);
  }
  static size_t conv2d_workspace_bytes(const ConvGeometry& g, int64_t batch,
                                       int64_t out_channels, bool backward, bool weight_grad) {
    return cuda::conv2d_workspace_bytes(g, batch, out_channels, backward, weight_grad);
  }
  static void conv2d_forward(uintptr_t x, uintptr_t w, uintptr_t bias, uintptr_t y,
                             uintptr_t saved, int64_t batch, int64_t out_channels,
                             const ConvGeometry& g, int act, float slope, uintptr_t workspace,
                             size_t workspace_bytes, Launch l) {
    bindings::DeviceGuard guard(l.device);
    cuda::conv2d_forward(x, w, bias, y, saved, batch, out_channels, g, act, slope, workspace,
                         workspace_bytes, l.stream);
  }
  static void conv2d_backward(uintptr_t x, uintptr_t w, uintptr_t dy, uintptr_t saved,
                              uintptr_t dz, uintptr_t dx, uintptr_t dw, uintptr_t dbias,
                              int64_t batch, int64_t out_channels, const ConvGeometry& g, int act,
                              float slope, uintptr_t workspace, size_t workspace_bytes, Launch l) {
    bindings::DeviceGuard guard(l.device);
    cuda::conv2d_backward(x, w, dy, saved, dz, dx, dw, dbias, batch, out_channels, g, act, slope,
                          workspace, workspace_bytes, l.stream);
  }
  static void max_pool2d_forward(uintptr_t x, uintptr_t y, uintptr_t argmax,
                                 const PoolGeometry& g, Launch l) {
    bindings::DeviceGuard guard(l.device);
    cuda::max_pool2d_forward(x, y, argmax, g, l.stream);
  }
  static void max_pool2d_backward(uintptr_t dy, uintptr_t argmax, uintptr_t dx,
                                  const PoolGeometry& g, Launch l) {
    bindings::DeviceGuard guard(l.device);
    cuda::max_pool2d_backward(dy, argmax, dx, g, l.stream);
  }
  static void avg_pool2d_forward(uintptr_t x, uintptr_t y, const PoolGeometry& g,
                                 bool count_include_pad, Launch l) {
    bindings::DeviceGuard guard(l.device);
    cuda::avg_pool2d_forward(x, y, g, count_include_pad, l.stream);
  }
  static void avg_pool2d_backward(uintptr_t dy, uintptr_t dx, const PoolGeometry& g,
                                  bool count_include_pad, Launch l) {
    bindings::DeviceGuard guard(l.device);
    cuda::avg_pool2d_backward(dy, dx, g, count_include_pad, l.stream);
  }
  static void softmax_xent(uintptr_t logits, int64_t rows, int64_t classes,
                           uintptr_t target_index, uintptr_t target_prob, uintptr_t weight,
                           int64_t ignore_index, uintptr_t loss, uintptr_t dlogits,
                           float grad_scale, Launch l) {
    bindings::DeviceGuard guard(l.device);
    cuda::softmax_xent(logits, rows, classes, target_index, target_prob, weight, ignore_index,
                       loss, dlogits, grad_scale, l.stream);
  }
  static void dropout(uintptr_t x, uintptr_t y, int64_t n, double p, uint64_t seed,
                      uint64_t offset, Launch l) {
    bindings::DeviceGuard guard(l.device);
    cuda::dropout(x, y, n, p, seed, offset, l.stream);
  }
  static void philox(uintptr_t out, int64_t n, uint64_t seed, uint64_t offset, Launch l) {
    bindings::DeviceGuard guard(l.device);
    cuda::philox(out, n, seed, offset, l.stream);
  }
  static void rnn_forward(RnnCell cell, int64_t steps, int64_t batch, int64_t input,
                          int64_t hidden, bool reverse, const uint8_t* mask, uintptr_t x,
                          uintptr_t w_ih, uintptr_t w_hh, uintptr_t b_ih, uintptr_t b_hh,
                          uintptr_t h0, uintptr_t c0, uintptr_t y, uintptr_t h_n, uintptr_t c_n,
                          uintptr_t gates, uintptr_t aux, uintptr_t rec_mask,
                          uintptr_t workspace, size_t workspace_bytes, Launch l) {
    bindings::DeviceGuard guard(l.device);
    cuda::rnn_forward(int(cell), steps, batch, input, hidden, reverse,
                      reinterpret_cast<uintptr_t>(mask), x, w_ih, w_hh, b_ih, b_hh, h0, c0, y,
                      h_n, c_n, gates, aux, rec_mask, workspace, workspace_bytes, l.stream);
  }
  static void rnn_backward(RnnCell cell, int64_t steps, int64_t batch, int64_t input,
                           int64_t hidden, bool reverse, const uint8_t* mask, uintptr_t x,
                           uintptr_t w_ih, uintptr_t w_hh, uintptr_t h0, uintptr_t c0,
                           uintptr_t y, uintptr_t gates, uintptr_t aux, uintptr_t dy,
                           uintptr_t dh_n, uintptr_t dc_n, uintptr_t dx, uintptr_t dw_ih,
                           uintptr_t dw_hh, uintptr_t db_ih, uintptr_t db_hh, uintptr_t dh0,
                           uintptr_t dc0, uintptr_t dgates, uintptr_t dgates_rec,
                           uintptr_t rec_mask, uintptr_t workspace, size_t workspace_bytes,
                           Launch l) {
    bindings::DeviceGuard guard(l.device);
    cuda::rnn_backward(int(cell), steps, batch, input, hidden, reverse,
                       reinterpret_cast<uintptr_t>(mask), x, w_ih, w_hh, h0, c0, y, gates, aux,
                       dy, dh_n, dc_n, dx, dw_ih, dw_hh, db_ih, db_hh, dh0, dc0, dgates,
                       dgates_rec, rec_mask, workspace, workspace_bytes, l.stream);
  }
  static size_t rnn_workspace_bytes(RnnCell cell, int64_t steps, int64_t batch, int64_t hidden,
                                    bool backward, bool rec_dropout, bool h0,
                                    bool weight_grad_hh) {
    return cuda::rnn_workspace_bytes(int(cell), steps, batch, hidden, backward, rec_dropout, h0,
                                     weight_grad_hh);
  }
};

}  // namespace

void bind_cuda_layers(py::module_& m) {
  bindings::bind_layers<CudaBackend>(m);
  bindings::bind_rnn<CudaBackend>(m);
}
