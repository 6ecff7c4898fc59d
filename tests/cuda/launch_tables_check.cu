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
    // Splits happen at kMaxTensors slots, or at max_blocks: small in half the trials, so that
    // large tensors are split across launches here too.
    const int max_blocks = trial % 2 ? 1 + int(rng() % 700) : kMaxBlocks;
    for_each_launch<2>(l, [&](const Chunks<2>& c, int blocks) {
      if (blocks < 1 || blocks > max_blocks) fail("block count out of range", trial);
      if (c.slots < 1 || c.slots > kMaxTensors) fail("slot count out of range", trial);
      if (c.block_start[0] != 0 || c.block_start[c.slots] != blocks) {
        fail("slot block ranges do not cover the launch", trial);
      }
      for (int s = 0; s < c.slots; ++s) {
        if (c.block_start[s + 1] <= c.block_start[s]) fail("a slot without blocks", trial);
      }
      for (int b = 0; b < blocks; ++b) {
        const int slot = c.slot_of(b);
        if (b < c.block_start[slot] || b >= c.block_start[slot + 1]) {
          fail("slot_of names a slot whose range misses the block", trial);
          continue;
        }
        const int t = int(reinterpret_cast<uintptr_t>(c.params[slot]) / 0x1000u) - 1;
        if (reinterpret_cast<uintptr_t>(c.grads[slot]) != l.grads[t] ||
            reinterpret_cast<uintptr_t>(c.states[0][slot]) != l.states[0][t] ||
            reinterpret_cast<uintptr_t>(c.states[1][slot]) != l.states[1][t] ||
            c.sizes[slot] != l.sizes[t]) {
          fail("slot holds another tensor's pointers", trial);
        }
        const int64_t begin = c.begin_of(b, slot);
        if (begin % kChunk != 0 || begin >= l.sizes[t]) fail("chunk past the end", trial);
        seen[{t, begin / kChunk}]++;
      }
    }, max_blocks);
    for (int t = 0; t < n; ++t) {
      for (int64_t k = 0; k * kChunk < l.sizes[t]; ++k) {
        if (seen[{t, k}] != 1) fail("a chunk was not handed to exactly one block", trial);
      }
    }
  }
  std::printf("launch tables: %d failures in 300 random trials\n", failures);
  return failures == 0 ? 0 : 1;
}
