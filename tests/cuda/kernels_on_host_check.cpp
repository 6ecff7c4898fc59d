// Host-side check of the GPU kernels that use no shared memory and no barriers: the layer
// kernels of csrc/cuda/layer_kernels.cuh and the optimizer update of
// csrc/cuda/update_kernels.cuh. Their threads, run one after another on the CPU, compute
// exactly what the GPU does, so their index math and their paths are checked here without a GPU:
// - im2col and col2im, launched as nn.cu launches them (and with a grid too small, so that the
//   row-stride loop wraps), against direct loops over the convolution's definition;
// - the threads' shares of a channel sum, added up, against the sum in double;
// - the optimizer update, with the tables for_each_launch builds: the float4 path (every
//   stream 16-byte aligned) and the element path (one stream 4 bytes off) against one plain
//   loop of the same per-element math, bit for bit, sizes with tails included; and SGD's
//   first-step rule taken from the device count of applied steps.
// Runs without a GPU (nvcc hands a .cpp to the host compiler with CUDA's headers; no device
// code is built):
//   nvcc -std=c++17 -O1 -Xcompiler=-Wno-unknown-pragmas -Icsrc/include -Icsrc
//       tests/cuda/kernels_on_host_check.cpp -o check && ./check
#include <cuda_runtime.h>

// The built-in indices, set by launch() below before each emulated thread; occupancy hints
// mean nothing here.
uint3 threadIdx, blockIdx;
dim3 blockDim, gridDim;
#define __launch_bounds__(...)

#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "cuda/layer_kernels.cuh"
#include "cuda/update_kernels.cuh"

using namespace fusednn;
using namespace fusednn::cuda;

namespace {

int failures = 0;
void fail(const char* what, int trial) {
  if (failures++ < 12) std::printf("trial %d: %s\n", trial, what);
}

template <class Kernel>
void launch(unsigned grid, dim3 block, Kernel&& kernel) {
  gridDim = dim3(grid);
  blockDim = block;
  for (unsigned b = 0; b < grid; ++b) {
    for (unsigned y = 0; y < block.y; ++y) {
      for (unsigned x = 0; x < block.x; ++x) {
        blockIdx = uint3{b, 0, 0};
        threadIdx = uint3{x, y, 0};
        kernel();
      }
    }
  }
}

// ---- im2col / col2im ---------------------------------------------------------------------
ConvGeometry random_geometry(std::mt19937_64& rng) {
  ConvGeometry g{};
  for (;;) {
    g.channels = 1 + int64_t(rng() % 3);
    g.height = 1 + int64_t(rng() % 13);
    g.width = 1 + int64_t(rng() % 13);
    g.kernel_h = 1 + int64_t(rng() % 4);
    g.kernel_w = 1 + int64_t(rng() % 4);
    g.stride_h = 1 + int64_t(rng() % 3);
    g.stride_w = 1 + int64_t(rng() % 3);
    g.pad_h = int64_t(rng() % 3);
    g.pad_w = int64_t(rng() % 3);
    g.dilation_h = 1 + int64_t(rng() % 2);
    g.dilation_w = 1 + int64_t(rng() % 2);
    const int64_t reach_h = (g.kernel_h - 1) * g.dilation_h + 1;
    const int64_t reach_w = (g.kernel_w - 1) * g.dilation_w + 1;
    if (g.height + 2 * g.pad_h < reach_h || g.width + 2 * g.pad_w < reach_w) continue;
    g.out_h = (g.height + 2 * g.pad_h - reach_h) / g.stride_h + 1;
    g.out_w = (g.width + 2 * g.pad_w - reach_w) / g.stride_w + 1;
    return g;
  }
}

// The value col[n][(c, kh, kw)][(oh, ow)] must hold: the input pixel that tap reads, or 0.
float col_entry(const std::vector<float>& x, const ConvGeometry& g, int64_t n, int64_t row,
                int64_t p) {
  const int64_t kw = row % g.kernel_w, kh = row / g.kernel_w % g.kernel_h;
  const int64_t c = row / (g.kernel_w * g.kernel_h);
  const int64_t ih = p / g.out_w * g.stride_h - g.pad_h + kh * g.dilation_h;
  const int64_t iw = p % g.out_w * g.stride_w - g.pad_w + kw * g.dilation_w;
  if (ih < 0 || ih >= g.height || iw < 0 || iw >= g.width) return 0.f;
  return x[((n * g.channels + c) * g.height + ih) * g.width + iw];
}

void check_lowering(std::mt19937_64& rng, int trial) {
  const ConvGeometry g = random_geometry(rng);
  const int64_t count = 1 + int64_t(rng() % 3);
  const int64_t K = g.col_rows(), P = g.col_cols();
  const int64_t image = g.channels * g.height * g.width;
  std::uniform_real_distribution<float> uniform(-1.f, 1.f);
  std::vector<float> x(size_t(count * image));
  for (float& v : x) v = uniform(rng);

  // im2col, as nn.cu launches it and with a one-block grid (the row loop then wraps).
  for (int small : {0, 1}) {
    std::vector<float> col(size_t(count * K * P), std::nanf(""));
    const layer::RowBlocks rb = layer::row_blocks(count * K, P);
    launch(small ? 1u : rb.grid, rb.block, [&] {
      layer::im2col_kernel(x.data(), col.data(), count * K, g);
    });
    for (int64_t n = 0; n < count; ++n) {
      for (int64_t row = 0; row < K; ++row) {
        for (int64_t p = 0; p < P; ++p) {
          const float got = col[size_t((n * K + row) * P + p)];
          if (!(got == col_entry(x, g, n, row, p))) {
            fail("im2col: an entry is not the pixel its tap reads", trial);
            return;
          }
        }
      }
    }
  }

  // col2im: each pixel is the sum of the col entries it fed, in tap order (kh, then kw); the
  // reference scatters them in that same order, so the sums are the same bits.
  std::vector<float> col(size_t(count * K * P));
  for (float& v : col) v = uniform(rng);
  std::vector<float> expected(x.size(), 0.f);
  for (int64_t n = 0; n < count; ++n) {
    for (int64_t c = 0; c < g.channels; ++c) {
      for (int64_t ih = 0; ih < g.height; ++ih) {
        for (int64_t iw = 0; iw < g.width; ++iw) {
          float acc = 0.f;
          for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
            for (int64_t kw = 0; kw < g.kernel_w; ++kw) {
              const int64_t th = ih + g.pad_h - kh * g.dilation_h;
              const int64_t tw = iw + g.pad_w - kw * g.dilation_w;
              if (th < 0 || tw < 0 || th % g.stride_h || tw % g.stride_w) continue;
              const int64_t oh = th / g.stride_h, ow = tw / g.stride_w;
              if (oh >= g.out_h || ow >= g.out_w) continue;
              const int64_t row = (c * g.kernel_h + kh) * g.kernel_w + kw;
              acc += col[size_t((n * K + row) * P + oh * g.out_w + ow)];
            }
          }
          expected[size_t(((n * g.channels + c) * g.height + ih) * g.width + iw)] = acc;
        }
      }
    }
  }
  for (int small : {0, 1}) {
    std::vector<float> got(x.size(), std::nanf(""));
    const layer::RowBlocks rb = layer::row_blocks(count * g.channels, g.height * g.width);
    launch(small ? 1u : rb.grid, rb.block, [&] {
      layer::col2im_kernel(col.data(), got.data(), count * g.channels, g);
    });
    if (std::memcmp(got.data(), expected.data(), got.size() * sizeof(float)) != 0) {
      fail("col2im: a pixel is not the sum of the col entries it fed", trial);
    }
  }
}

// ---- the channel sum ----------------------------------------------------------------------
void check_channel_shares(std::mt19937_64& rng, int trial) {
  const int64_t outer = 1 + int64_t(rng() % 9), channels = 1 + int64_t(rng() % 5);
  const int64_t inner = rng() % 2 ? 1 + int64_t(rng() % 7) : 1 + int64_t(rng() % 3000);
  const unsigned threads = 1u << (rng() % 10);  // 1 to 512, below and above inner
  std::uniform_real_distribution<float> uniform(-1.f, 1.f);
  std::vector<float> g(size_t(outer * channels * inner));
  for (float& v : g) v = uniform(rng);
  for (int64_t c = 0; c < channels; ++c) {
    double expected = 0.0, got = 0.0, magnitude = 0.0;
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t i = 0; i < inner; ++i) {
        expected += g[size_t((o * channels + c) * inner + i)];
        magnitude += std::fabs(g[size_t((o * channels + c) * inner + i)]);
      }
    }
    for (unsigned t = 0; t < threads; ++t) {
      got += layer::channel_share(g.data(), outer, channels, inner, c, t, threads);
    }
    if (std::fabs(got - expected) > 1e-5 * (1.0 + magnitude)) {
      fail("channel sum: the threads' shares do not add up to the channel's sum", trial);
    }
  }
}

// ---- the optimizer update ----------------------------------------------------------------
// 16-byte aligned storage: std::vector<float> only promises alignof(float).
struct Aligned {
  std::vector<float4> storage;
  explicit Aligned(size_t floats) : storage((floats + 3) / 4 + 1) {}
  float* data() { return reinterpret_cast<float*>(storage.data()); }
};

AdamHparams adam_hparams(int64_t step) {
  AdamHparams h{};
  h.lr = 1e-2;
  h.beta1 = 0.9;
  h.beta2 = 0.999;
  h.eps = 1e-8;
  h.weight_decay = 0.01;
  h.grad_scale = 1.0;
  h.step = step;
  h.decoupled = true;
  return h;
}

void check_adam_update(std::mt19937_64& rng, int trial) {
  const int n = 1 + int(rng() % 6);
  std::vector<int64_t> sizes;
  for (int t = 0; t < n; ++t) {
    const int kind = int(rng() % 3);
    sizes.push_back(kind == 0 ? 1 + int64_t(rng() % 9)
                    : kind == 1 ? 1 + int64_t(rng() % 5000)
                                : 1 + int64_t(rng() % (3 * kChunk)));
  }
  std::uniform_real_distribution<float> uniform(-1.f, 1.f);
  // The starting values: p, g, exp_avg (any sign), exp_avg_sq (non-negative).
  std::vector<std::vector<std::vector<float>>> start(static_cast<size_t>(n));
  for (int t = 0; t < n; ++t) {
    for (int k = 0; k < 4; ++k) {
      std::vector<float> v(size_t(sizes[size_t(t)]));
      for (float& e : v) e = k == 3 ? std::fabs(uniform(rng)) : uniform(rng);
      start[size_t(t)].push_back(v);
    }
  }
  const int64_t step = 1 + int64_t(rng() % 5);
  const AdamUpdate<false> update{make_coeffs(adam_hparams(step))};

  // Reference: the per-element math in one plain loop.
  std::vector<std::vector<std::vector<float>>> expected = start;
  for (int t = 0; t < n; ++t) {
    auto& v = expected[size_t(t)];
    for (size_t i = 0; i < v[0].size(); ++i) {
      float s[2] = {v[2][i], v[3][i]};
      update(v[0][i], v[1][i], s);
      v[2][i] = s[0];
      v[3][i] = s[1];
    }
  }
  for (int misaligned : {0, 1}) {
    // One tensor 4 bytes off in the misaligned run (its gradient), the rest aligned.
    const int odd = int(rng() % unsigned(n));
    std::vector<std::vector<Aligned>> memory(static_cast<size_t>(n));
    StepLists l;
    l.states.resize(2);
    l.dtype = DType::f32;
    std::vector<std::vector<float*>> arrays(static_cast<size_t>(n));
    for (int t = 0; t < n; ++t) {
      for (int k = 0; k < 4; ++k) {
        memory[size_t(t)].emplace_back(size_t(sizes[size_t(t)]) + 1);
        float* a = memory[size_t(t)].back().data() + (misaligned && t == odd && k == 1 ? 1 : 0);
        std::memcpy(a, start[size_t(t)][size_t(k)].data(), sizeof(float) * size_t(sizes[size_t(t)]));
        arrays[size_t(t)].push_back(a);
      }
      l.params.push_back(uintptr_t(arrays[size_t(t)][0]));
      l.grads.push_back(uintptr_t(arrays[size_t(t)][1]));
      l.states[0].push_back(uintptr_t(arrays[size_t(t)][2]));
      l.states[1].push_back(uintptr_t(arrays[size_t(t)][3]));
      l.sizes.push_back(sizes[size_t(t)]);
    }
    const AdamHparams h = adam_hparams(step);
    for_each_launch<2>(l, [&](const Chunks<2>& c, int blocks) {
      launch(unsigned(blocks), dim3(kThreads), [&] {
        update::update_kernel<float, AdamUpdate<false>, AdamHparams>(c, h, nullptr, nullptr);
      });
    }, 1 + int(rng() % 7));
    for (int t = 0; t < n; ++t) {
      for (int k : {0, 2, 3}) {
        if (std::memcmp(arrays[size_t(t)][size_t(k)], expected[size_t(t)][size_t(k)].data(),
                        sizeof(float) * size_t(sizes[size_t(t)])) != 0) {
          fail(misaligned ? "adam update, element path: not the reference's bits"
                          : "adam update, float4 path: not the reference's bits", trial);
        }
      }
    }
  }
}

// SGD with momentum reads its first-step rule from the device count of applied steps: count 1
// (the first applied step) takes the buffer from the gradient, a later count blends into it.
void check_sgd_first_step(int trial) {
  const int64_t size = 37;
  for (float applied : {1.f, 2.f}) {
    Aligned p(size), g(size), buf(size);
    for (int64_t i = 0; i < size; ++i) {
      p.data()[i] = 1.f;
      g.data()[i] = 0.5f + float(i);
      buf.data()[i] = 3.f;
    }
    StepLists l;
    l.params = {uintptr_t(p.data())};
    l.grads = {uintptr_t(g.data())};
    l.states = {{uintptr_t(buf.data())}};
    l.steps = {uintptr_t(&applied)};
    l.sizes = {size};
    SgdHparams h{};
    h.lr = 0.1;
    h.momentum = 0.9;
    h.dampening = 0.5;
    h.grad_scale = 1.0;
    for_each_launch<1>(l, [&](const Chunks<1>& c, int blocks) {
      launch(unsigned(blocks), dim3(kThreads), [&] {
        update::update_kernel<float, SgdUpdate<true>, SgdHparams>(c, h, nullptr, nullptr);
      });
    });
    for (int64_t i = 0; i < size; ++i) {
      const float gi = 0.5f + float(i);
      const float want = applied == 1.f ? gi : 0.9f * 3.f + 0.5f * gi;
      if (std::fabs(buf.data()[i] - want) > 1e-5f * std::fabs(want)) {
        fail(applied == 1.f ? "sgd: the first applied step does not start from the gradient"
                            : "sgd: a later step does not blend into the buffer", trial);
        break;
      }
    }
  }
}

}  // namespace

int main() {
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 200; ++trial) check_lowering(rng, trial);
  for (int trial = 0; trial < 200; ++trial) check_channel_shares(rng, trial);
  for (int trial = 0; trial < 40; ++trial) check_adam_update(rng, trial);
  check_sgd_first_step(0);
  std::printf("kernels on the host: %d failures\n", failures);
  return failures == 0 ? 0 : 1;
}
