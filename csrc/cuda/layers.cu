// ============================================================================================
// GEMM-backed layers on the GPU. Row-major tensors are handed to the column-major BLAS as
// their transposes: Y[B,O] = X[B,I] W[O,I]^T is, column-major, Y^T(OxB) = W^T... with W read
// as its stored IxO column-major matrix under op T.
//
// Linear: one cuBLASLt matmul whose epilogue adds the bias (BIAS); the activation, ReLU too
// (cuBLASLt's RELU epilogues may turn a NaN into 0), runs in one element-wise pass after it,
// as on the CPU. Backward: one
// element-wise pass for dz = dy * act'(.), then dW through cuBLASLt with the BGRADB epilogue
// (the bias gradient summed inside the GEMM) and dX through a plain GEMM. Where cuBLASLt
// offers no algorithm for an epilogue, the same result comes from a plain GEMM plus the
// element-wise / reduction kernels of nn.cu. cuBLASLt's algorithm choice is cached per
// configuration.
//
// Conv: im2col over a chunk of samples, one strided-batched SGEMM (the weight shared by every
// sample), the epilogue pass; backward: the samples' dW by one strided-batched SGEMM and one
// summing pass, dcol by one strided-batched SGEMM, col2im. FP32 compute (no TF32), as torch's
// default for matmul.
// ============================================================================================
#include <cublasLt.h>
#include <cublas_v2.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <tuple>
#include <utility>
#include <string>
#include <vector>

#include "cuda/common.cuh"
#include "cuda/launch.h"
#include "cuda/workspace.h"
#include "fusednn/act_math.h"

namespace fusednn::cuda {
namespace {

#define FUSEDNN_CUBLAS_CHECK(expr)                                                         \
  do {                                                                                     \
    const cublasStatus_t fusednn_st_ = (expr);                                             \
    if (fusednn_st_ != CUBLAS_STATUS_SUCCESS) {                                            \
      throw std::runtime_error(std::string(__FILE__) + ":" + std::to_string(__LINE__) +    \
                               ": " #expr " failed with cuBLAS status " +                  \
                               std::to_string(int(fusednn_st_)));                          \
    }                                                                                      \
  } while (0)

constexpr size_t kWorkspaceBytes = size_t(32) << 20;
// Streams that get a cuBLASLt workspace of their own; GEMMs on further streams run with none
// (cuBLASLt then picks among algorithms that need none).
constexpr size_t kMaxWorkspaceStreams = 32;
// im2col buffers are cut into sample chunks of at most this many floats.
constexpr int64_t kColChunkFloats = int64_t(64) << 20;

int current_device() {
  int device = 0;
  FUSEDNN_CUDA_CHECK(cudaGetDevice(&device));
  return device;
}

// cuBLAS handles per (thread, device): cublasSetStream and the GEMM after it run with the GIL
// released, so a handle shared between threads could send one thread's GEMM to the other's
// stream. Created on first use; never destroyed (a handle per thread that ever ran a GEMM).
cublasHandle_t blas_on(uintptr_t stream) {
  thread_local std::vector<cublasHandle_t> per_device;
  const int device = current_device();
  if (per_device.size() <= size_t(device)) per_device.resize(size_t(device) + 1, nullptr);
  cublasHandle_t& h = per_device[size_t(device)];
  if (!h) {
    FUSEDNN_CUBLAS_CHECK(cublasCreate(&h));
    FUSEDNN_CUBLAS_CHECK(cublasSetMathMode(h, CUBLAS_DEFAULT_MATH));
  }
  FUSEDNN_CUBLAS_CHECK(cublasSetStream(h, as_stream(stream)));
  return h;
}

// The cuBLASLt handle of the current device (a handle holds no stream or workspace, and may be
// shared between threads) and a workspace for `stream`: GEMMs on two streams may run at the
// same time, so each stream has its own. Entries live as long as the process (a std::map's
// nodes do not move when it grows).
struct LtContext {
  int device;
  cublasLtHandle_t lt;
  void* workspace;
  size_t workspace_bytes;
};

LtContext lt_context(uintptr_t stream) {
  static std::mutex mu;
  static std::map<int, cublasLtHandle_t> handles;
  static std::map<std::pair<int, uintptr_t>, void*> workspaces;
  const int device = current_device();
  std::lock_guard<std::mutex> lock(mu);
  cublasLtHandle_t& lt = handles[device];
  if (!lt) FUSEDNN_CUBLAS_CHECK(cublasLtCreate(&lt));
  const auto key = std::make_pair(device, stream);
  auto found = workspaces.find(key);
  if (found == workspaces.end()) {
    if (workspaces.size() >= kMaxWorkspaceStreams) return LtContext{device, lt, nullptr, 0};
    void* w = nullptr;
    FUSEDNN_CUDA_CHECK(cudaMalloc(&w, kWorkspaceBytes));
    found = workspaces.emplace(key, w).first;
  }
  return LtContext{device, lt, found->second, kWorkspaceBytes};
}

// The alignment, in bytes (a power of two up to 256), that cuBLASLt may assume for a matrix
// starting at p whose columns are ld floats apart.
uint32_t alignment_of(const void* p, int64_t ld) {
  const uint64_t bits = uint64_t(reinterpret_cast<uintptr_t>(p)) | (uint64_t(ld) * sizeof(float)) | 256u;
  return uint32_t(bits & (~bits + 1));  // the lowest set bit
}

// One matmul configuration: device, transposes, shape, leading dimensions, epilogue, the
// alignments cuBLASLt may assume, workspace size.
using PlanKey = std::tuple<int, bool, bool, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                           int, uint32_t, uint32_t, uint32_t, size_t>;

// The descriptors of one configuration and cuBLASLt's algorithm for it (none: the caller
// falls back to GEMM + epilogue pass). Making four descriptors and asking the heuristic cost
// more than a small matmul, so they are made once per configuration; per thread, because the
// bias pointer is set on the descriptor at each call (a descriptor shared between threads
// could run one thread's matmul with the other's bias). Never destroyed while in the cache.
struct LtPlan {
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t la = nullptr, lb = nullptr, ld = nullptr;
  std::optional<cublasLtMatmulAlgo_t> algo;

  void destroy() {
    if (ld) cublasLtMatrixLayoutDestroy(ld);
    if (lb) cublasLtMatrixLayoutDestroy(lb);
    if (la) cublasLtMatrixLayoutDestroy(la);
    if (op) cublasLtMatmulDescDestroy(op);
    *this = LtPlan{};
  }
};

// Configurations one thread keeps; past this the cache starts over (a model has a few dozen).
constexpr size_t kMaxPlansPerThread = 512;

void set_bias(cublasLtMatmulDesc_t op, const float* bias) {
  FUSEDNN_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof(bias)));
}

// This thread's plan for `key` (made on first use; the bias pointer is the first call's, so
// the heuristic sees a real one).
const LtPlan& lt_plan(const PlanKey& key, cublasLtHandle_t lt, const float* bias) {
  thread_local std::map<PlanKey, LtPlan> plans;
  const auto found = plans.find(key);
  if (found != plans.end()) return found->second;
  if (plans.size() >= kMaxPlansPerThread) {
    for (auto& entry : plans) entry.second.destroy();
    plans.clear();
  }
  const auto& [device, ta, tb, m, n, k, lda, ldb, ldd, epilogue_code, align_a, align_b, align_d,
               ws] = key;
  const cublasLtEpilogue_t epilogue = cublasLtEpilogue_t(epilogue_code);
  LtPlan plan;
  cublasLtMatmulPreference_t pref = nullptr;
  try {
    FUSEDNN_CUBLAS_CHECK(cublasLtMatmulDescCreate(&plan.op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    const cublasOperation_t opa = ta ? CUBLAS_OP_T : CUBLAS_OP_N, opb = tb ? CUBLAS_OP_T : CUBLAS_OP_N;
    FUSEDNN_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan.op, CUBLASLT_MATMUL_DESC_TRANSA, &opa, sizeof(opa)));
    FUSEDNN_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan.op, CUBLASLT_MATMUL_DESC_TRANSB, &opb, sizeof(opb)));
    FUSEDNN_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan.op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue, sizeof(epilogue)));
    if (bias) set_bias(plan.op, bias);
    FUSEDNN_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&plan.la, CUDA_R_32F, ta ? k : m, ta ? m : k, lda));
    FUSEDNN_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&plan.lb, CUDA_R_32F, tb ? n : k, tb ? k : n, ldb));
    FUSEDNN_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&plan.ld, CUDA_R_32F, m, n, ldd));
    FUSEDNN_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref));
    FUSEDNN_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(
        pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof(ws)));
    // Without these cuBLASLt assumes 256-byte-aligned matrices: a slice such as x[1:] then
    // gets no algorithm, or one that faults.
    FUSEDNN_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(
        pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &align_a, sizeof(align_a)));
    FUSEDNN_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(
        pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &align_b, sizeof(align_b)));
    FUSEDNN_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(
        pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &align_d, sizeof(align_d)));
    FUSEDNN_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(
        pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &align_d, sizeof(align_d)));
    cublasLtMatmulHeuristicResult_t result{};
    int count = 0;
    if (cublasLtMatmulAlgoGetHeuristic(lt, plan.op, plan.la, plan.lb, plan.ld, plan.ld, pref, 1,
                                       &result, &count) == CUBLAS_STATUS_SUCCESS && count > 0) {
      plan.algo = result.algo;
    }
  } catch (...) {
    if (pref) cublasLtMatmulPreferenceDestroy(pref);
    plan.destroy();
    throw;
  }
  cublasLtMatmulPreferenceDestroy(pref);
  return plans.emplace(key, plan).first->second;
}

const float kOne = 1.f, kZero = 0.f;

// FUSEDNN_CUBLASLT=off sends every layer GEMM through plain cuBLAS with the epilogue pass after
// it (to compare the two paths on one machine); auto, the default, tries cuBLASLt first.
bool cublaslt_allowed() {
  const char* setting = std::getenv("FUSEDNN_CUBLASLT");
  if (setting == nullptr || *setting == '\0' || std::strcmp(setting, "auto") == 0) return true;
  if (std::strcmp(setting, "off") == 0) return false;
  throw std::invalid_argument(std::string("FUSEDNN_CUBLASLT must be auto or off, got '") +
                              setting + "'");
}

// Column-major D[m,n] = op(A)[m,k] op(B)[k,n] with an epilogue through cuBLASLt. Returns false
// (having launched nothing) when cuBLASLt has no algorithm for this shape, epilogue and these
// alignments, or refuses the call: the caller then computes the same with a plain GEMM and the
// element-wise kernels.
bool lt_matmul(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
               const float* b, int64_t ldb, float* d, int64_t ldd, cublasLtEpilogue_t epilogue,
               const float* bias, uintptr_t stream) {
  if (!cublaslt_allowed()) return false;
  // The bias epilogues read the bias in 16-byte vectors.
  if (bias && reinterpret_cast<uintptr_t>(bias) % 16 != 0) return false;
  const LtContext ctx = lt_context(stream);
  const PlanKey key{ctx.device, ta, tb, m, n, k, lda, ldb, ldd, int(epilogue),
                    alignment_of(a, lda), alignment_of(b, ldb), alignment_of(d, ldd),
                    ctx.workspace_bytes};
  const LtPlan& plan = lt_plan(key, ctx.lt, bias);
  if (!plan.algo) return false;
  if (bias) set_bias(plan.op, bias);
  return cublasLtMatmul(ctx.lt, plan.op, &kOne, a, plan.la, b, plan.lb, &kZero, d, plan.ld, d,
                        plan.ld, &*plan.algo, ctx.workspace, ctx.workspace_bytes,
                        as_stream(stream)) == CUBLAS_STATUS_SUCCESS;
}

void sgemm(uintptr_t stream, bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* a,
           int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  FUSEDNN_CUBLAS_CHECK(cublasSgemm(blas_on(stream), ta ? CUBLAS_OP_T : CUBLAS_OP_N,
                                   tb ? CUBLAS_OP_T : CUBLAS_OP_N, int(m), int(n), int(k), &kOne,
                                   a, int(lda), b, int(ldb), &beta, c, int(ldc)));
}

template <class T>
const float* cf(T v) { return reinterpret_cast<const float*>(v); }
template <class T>
float* f(T v) { return reinterpret_cast<float*>(v); }

void check_dims(std::initializer_list<int64_t> dims) {
  for (int64_t d : dims) {
    if (d < 0 || d > int64_t(0x7fffffff)) throw std::invalid_argument("GEMM dimension out of the 32-bit range");
  }
}

// Samples per im2col chunk (all of them for a pointwise conv, which needs no col); K * P > 0.
int64_t chunk_samples(const ConvGeometry& geo, int64_t batch) {
  if (geo.is_pointwise()) return batch;
  return std::max<int64_t>(1, std::min<int64_t>(batch, kColChunkFloats / (geo.col_rows() * geo.col_cols())));
}

// Per-sample weight gradients summed at a time (at most kColChunkFloats of them).
int64_t partial_samples(const ConvGeometry& geo, int64_t chunk, int64_t out_channels) {
  return std::max<int64_t>(1, std::min<int64_t>(chunk, kColChunkFloats / (geo.col_rows() * out_channels)));
}

// Where a conv's scratch lies in its workspace: the im2col chunk, then (backward with dw)
// the per-sample weight-gradient partials.
struct ConvScratch {
  WorkspaceLayout layout;
  size_t col_bytes = 0, partial_bytes = 0, col = 0, partial = 0;

  ConvScratch(const ConvGeometry& geo, int64_t batch, int64_t out_channels, bool backward,
              bool weight_grad) {
    const int64_t K = geo.col_rows(), P = geo.col_cols();
    if (batch <= 0 || K <= 0 || P <= 0 || out_channels <= 0) return;  // nothing to lower
    const int64_t chunk = chunk_samples(geo, batch);
    if (!geo.is_pointwise()) col_bytes = sizeof(float) * size_t(chunk * K * P);
    if (backward && weight_grad) {
      partial_bytes = sizeof(float) * size_t(partial_samples(geo, chunk, out_channels) * K * out_channels);
    }
    col = layout.add(col_bytes);
    partial = layout.add(partial_bytes);
  }
};

}  // namespace

void gemm_rowmajor(uintptr_t stream, bool ta, bool tb, int64_t m, int64_t n, int64_t k,
                   uintptr_t a, int64_t lda, uintptr_t b, int64_t ldb, float beta, uintptr_t c,
                   int64_t ldc) {
  // Row-major C = op(A) op(B) is, column-major, C^T = op(B)^T op(A)^T.
  check_dims({m, n, k, lda, ldb, ldc});
  sgemm(stream, tb, ta, n, m, k, cf(b), ldb, cf(a), lda, beta, f(c), ldc);
}

void linear_forward(uintptr_t x, uintptr_t w, uintptr_t bias, uintptr_t y, uintptr_t saved,
                    int64_t batch, int64_t in, int64_t out, int act, float slope, uintptr_t stream) {
  check_dims({batch, in, out});
  if (batch == 0 || out == 0) return;
  const Act a = static_cast<Act>(act);
  if (in == 0) {
    FUSEDNN_CUDA_CHECK(cudaMemsetAsync(f(y), 0, sizeof(float) * size_t(batch * out), as_stream(stream)));
    bias_act_forward(y, bias, y, saved, batch, out, 1, act, slope, stream);
    return;
  }
  // D (out x batch, column-major) = W (stored in x out, op T) * X (stored in x batch). Only
  // the bias rides in cuBLASLt's epilogue: its RELU epilogues may turn a NaN into 0, where
  // the activation pass (and the CPU) keep it NaN.
  if (bias && lt_matmul(true, false, out, batch, in, cf(w), in, cf(x), in, f(y), out,
                        CUBLASLT_EPILOGUE_BIAS, cf(bias), stream)) {
    if (a != Act::kIdentity) bias_act_forward(y, 0, y, saved, batch, out, 1, act, slope, stream);
    return;
  }
  sgemm(stream, true, false, out, batch, in, cf(w), in, cf(x), in, 0.f, f(y), out);
  if (bias || a != Act::kIdentity) bias_act_forward(y, bias, y, saved, batch, out, 1, act, slope, stream);
}

void linear_backward(uintptr_t x, uintptr_t w, uintptr_t dy, uintptr_t saved, uintptr_t dz,
                     uintptr_t dx, uintptr_t dw, uintptr_t dbias, int64_t batch, int64_t in,
                     int64_t out, int act, float slope, uintptr_t stream) {
  check_dims({batch, in, out});
  uintptr_t g = dy;
  if (static_cast<Act>(act) != Act::kIdentity) {
    bias_act_backward(dy, saved, dz, 0, batch, out, 1, act, slope, stream);
    g = dz;
  }
  if (dw) {
    // dW^T (in x out, column-major) = X (in x batch) * G^T, G stored out x batch.
    const bool fused = dbias && batch > 0 &&
        lt_matmul(false, true, in, out, batch, cf(x), in, cf(g), out, f(dw), in,
                  CUBLASLT_EPILOGUE_BGRADB, cf(dbias), stream);
    if (!fused) {
      if (batch == 0) FUSEDNN_CUDA_CHECK(cudaMemsetAsync(f(dw), 0, sizeof(float) * size_t(in * out), as_stream(stream)));
      else sgemm(stream, false, true, in, out, batch, cf(x), in, cf(g), out, 0.f, f(dw), in);
      if (dbias) channel_sum(g, dbias, batch, out, 1, stream);
    }
  } else if (dbias) {
    channel_sum(g, dbias, batch, out, 1, stream);
  }
  if (dx && batch > 0) {
    // dX^T (in x batch) = W^T... W stored in x out (column-major) times G (out x batch).
    if (out == 0) FUSEDNN_CUDA_CHECK(cudaMemsetAsync(f(dx), 0, sizeof(float) * size_t(batch * in), as_stream(stream)));
    else sgemm(stream, false, false, in, batch, out, cf(w), in, cf(g), out, 0.f, f(dx), in);
  }
}

size_t conv2d_workspace_bytes(const ConvGeometry& geo, int64_t batch, int64_t out_channels,
                              bool backward, bool weight_grad) {
  return ConvScratch(geo, batch, out_channels, backward, weight_grad).layout.total();
}

void conv2d_forward(uintptr_t x, uintptr_t w, uintptr_t bias, uintptr_t y, uintptr_t saved,
                    int64_t batch, int64_t out_channels, const ConvGeometry& geo, int act,
                    float slope, uintptr_t workspace, size_t workspace_bytes, uintptr_t stream) {
  const int64_t K = geo.col_rows(), P = geo.col_cols(), image = geo.channels * geo.height * geo.width;
  check_dims({K, P, out_channels});
  if (batch == 0 || out_channels == 0 || P == 0) return;  // y is empty
  if (K == 0) {  // no input channels: y is the bias alone
    FUSEDNN_CUDA_CHECK(cudaMemsetAsync(f(y), 0, sizeof(float) * size_t(batch * out_channels * P), as_stream(stream)));
  }
  const ConvScratch scratch(geo, batch, out_channels, false, false);
  float* col = scratch.layout.at(workspace, workspace_bytes, scratch.col, scratch.col_bytes,
                                 "conv2d_forward");
  const int64_t chunk = chunk_samples(geo, batch);
  for (int64_t n0 = 0; K > 0 && n0 < batch; n0 += chunk) {
    const int64_t count = std::min(chunk, batch - n0);
    const float* cols = cf(x) + n0 * image;
    if (!geo.is_pointwise()) {
      im2col(uintptr_t(cf(x) + n0 * image), uintptr_t(col), count, geo, stream);
      cols = col;
    }
    // Per sample, column-major: Y^T (P x O) = col^T (P x K) * W^T (K x O).
    FUSEDNN_CUBLAS_CHECK(cublasSgemmStridedBatched(
        blas_on(stream), CUBLAS_OP_N, CUBLAS_OP_N, int(P), int(out_channels), int(K), &kOne,
        cols, int(P), K * P, cf(w), int(K), 0, &kZero, f(y) + n0 * out_channels * P, int(P),
        out_channels * P, int(count)));
  }
  if (bias || static_cast<Act>(act) != Act::kIdentity) {
    bias_act_forward(y, bias, y, saved, batch, out_channels, P, act, slope, stream);
  }
}

void conv2d_backward(uintptr_t x, uintptr_t w, uintptr_t dy, uintptr_t saved, uintptr_t dz,
                     uintptr_t dx, uintptr_t dw, uintptr_t dbias, int64_t batch,
                     int64_t out_channels, const ConvGeometry& geo, int act, float slope,
                     uintptr_t workspace, size_t workspace_bytes, uintptr_t stream) {
  const int64_t K = geo.col_rows(), P = geo.col_cols(), image = geo.channels * geo.height * geo.width;
  check_dims({K, P, out_channels});
  const ConvScratch scratch(geo, batch, out_channels, true, dw != 0);
  float* col = scratch.layout.at(workspace, workspace_bytes, scratch.col, scratch.col_bytes,
                                 "conv2d_backward");
  float* partial = scratch.layout.at(workspace, workspace_bytes, scratch.partial,
                                     scratch.partial_bytes, "conv2d_backward");
  uintptr_t g = dy;
  if (static_cast<Act>(act) != Act::kIdentity) {
    bias_act_backward(dy, saved, dz, dbias, batch, out_channels, P, act, slope, stream);
    g = dz;
  } else if (dbias) {
    channel_sum(dy, dbias, batch, out_channels, P, stream);
  }
  // Nothing sums into dW (no samples, or empty output planes) and nothing into dx (empty
  // output planes): both are zero, written here rather than by zero-sized GEMMs.
  if (dw && (batch == 0 || P == 0 || out_channels == 0)) {
    FUSEDNN_CUDA_CHECK(cudaMemsetAsync(f(dw), 0, sizeof(float) * size_t(K * out_channels), as_stream(stream)));
    dw = 0;
  }
  if (dx && (P == 0 || out_channels == 0)) {
    FUSEDNN_CUDA_CHECK(cudaMemsetAsync(f(dx), 0, sizeof(float) * size_t(batch * image), as_stream(stream)));
    dx = 0;
  }
  if (K == 0 || (!dw && !dx)) return;
  const int64_t chunk = chunk_samples(geo, batch);
  const int64_t group = partial_samples(geo, chunk, out_channels);
  for (int64_t n0 = 0; n0 < batch; n0 += chunk) {
    const int64_t count = std::min(chunk, batch - n0);
    const float* gz = cf(g) + n0 * out_channels * P;
    if (dw) {
      const float* cols = cf(x) + n0 * image;
      if (!geo.is_pointwise()) {
        im2col(uintptr_t(cf(x) + n0 * image), uintptr_t(col), count, geo, stream);
        cols = col;
      }
      // Each sample's dW^T (K x O) = col (K x P, stored P x K, op T) * G (P x O), side by side
      // in `partial` by one strided-batched GEMM, then summed into dW in sample order: two
      // launches per group of samples instead of one GEMM per sample.
      for (int64_t i0 = 0; i0 < count; i0 += group) {
        const int64_t m = std::min(group, count - i0);
        FUSEDNN_CUBLAS_CHECK(cublasSgemmStridedBatched(
            blas_on(stream), CUBLAS_OP_T, CUBLAS_OP_N, int(K), int(out_channels), int(P), &kOne,
            cols + i0 * K * P, int(P), K * P, gz + i0 * out_channels * P, int(P),
            out_channels * P, &kZero, partial, int(K), K * out_channels, int(m)));
        sum_slices(uintptr_t(partial), m, K * out_channels, dw, n0 + i0 > 0, stream);
      }
    }
    if (dx) {
      float* target = geo.is_pointwise() ? f(dx) + n0 * image : col;
      // Per sample: dcol^T (P x K) = G^T (P x O) * W (O x K, stored K x O, op T).
      FUSEDNN_CUBLAS_CHECK(cublasSgemmStridedBatched(
          blas_on(stream), CUBLAS_OP_N, CUBLAS_OP_T, int(P), int(K), int(out_channels), &kOne,
          gz, int(P), out_channels * P, cf(w), int(K), 0, &kZero, target, int(P), K * P,
          int(count)));
      if (!geo.is_pointwise()) col2im(uintptr_t(col), uintptr_t(f(dx) + n0 * image), count, geo, stream);
    }
  }
}

}  // namespace fusednn::cuda
