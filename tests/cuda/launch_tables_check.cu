// Host-side check of the CUDA optimizers' launch tables (csrc/cuda/multi_tensor.cuh): for
// random lists of tensors (empty, small, and large enough to be split across launches), every
// chunk of every tensor is handed to exactly one block, every table stays within its limits,
// and each slot carries its own tensor's pointers and size. Runs without a GPU:
//   nvcc -std=c++17 -Icsrc/include -Icsrc tests/cuda/launch_tables_check.cu -o check && ./check
#include <cstdio>
#include <map>
#include <random>
#include <utility>

#include "cuda/multi_tensor.cuh"

using namespace fusednn::cuda;

int main() {
  std::mt19937_64 rng(1);
  int failures = 0;
  auto fail = [&](const char* what, int trial) {
    if (failures++ < 10) std::printf("trial %d: %s\n", trial, what);
  };
  for (int trial = 0; trial < 300; ++trial) {
    StepLists l;
    const int n = 1 + int(rng() % 120);
    for (int t = 0; t < n; ++t) {
      const int64_t kind = int64_t(rng() % 4);
      const int64_t size = kind == 0   ? 0
                           : kind == 1 ? 1 + int64_t(rng() % 100)
                           : kind == 2 ? 1 + int64_t(rng() % (3 * kChunk))
                                       : 1 + int64_t(rng() % (300 * kChunk));
      l.params.push_back(0x1000u * uintptr_t(t + 1));
      l.grads.push_back(0x100000u * uintptr_t(t + 1));
      l.sizes.push_back(size);
    }
    l.states = {Addresses(n), Addresses(n)};
    for (int t = 0; t < n; ++t) {
      l.states[0][t] = 7u * uintptr_t(t + 1);
      l.states[1][t] = 11u * uintptr_t(t + 1);
    }
    std::map<std::pair<int, int64_t>, int> seen;
    for_each_launch<2>(l, [&](const Chunks<2>& c, int blocks) {
      if (blocks < 1 || blocks > kMaxBlocks) fail("block count out of range", trial);
      for (int b = 0; b < blocks; ++b) {
        const int slot = c.tensor_of_block[b];
        if (slot >= kMaxTensors) {
          fail("slot out of range", trial);
          continue;
        }
        const int t = int(reinterpret_cast<uintptr_t>(c.params[slot]) / 0x1000u) - 1;
        if (reinterpret_cast<uintptr_t>(c.grads[slot]) != l.grads[t] ||
            reinterpret_cast<uintptr_t>(c.states[0][slot]) != l.states[0][t] ||
            reinterpret_cast<uintptr_t>(c.states[1][slot]) != l.states[1][t] ||
            c.sizes[slot] != l.sizes[t]) {
          fail("slot holds another tensor's pointers", trial);
        }
        if (int64_t(c.chunk_of_block[b]) * kChunk >= l.sizes[t]) fail("chunk past the end", trial);
        seen[{t, c.chunk_of_block[b]}]++;
      }
    });
    for (int t = 0; t < n; ++t) {
      for (int64_t k = 0; k * kChunk < l.sizes[t]; ++k) {
        if (seen[{t, k}] != 1) fail("a chunk was not handed to exactly one block", trial);
      }
    }
  }
  std::printf("launch tables: %d failures in 300 random trials\n", failures);
  return failures == 0 ? 0 : 1;
}
