// The device scratch of one kernel call, carved from a workspace the caller allocated from its
// array library (CuPy's pool, torch's caching allocator): that pool serves it, frees it in
// stream order and counts it, where a cudaMallocAsync of our own would bypass it (out of
// memory while the pool holds free blocks). The size query a binding answers and the kernel
// itself build the same layout from the same arguments, so they cannot disagree.
#pragma once
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace fusednn::cuda {

// Pieces laid out in the order they are added, each at a 256-byte aligned offset; the total
// is rounded up to 256 bytes too.
class WorkspaceLayout {
 public:
  static constexpr size_t kAlign = 256;

  // A piece of `bytes` (none when 0: its offset is never used); returns its offset.
  size_t add(size_t bytes) {
    if (bytes == 0) return 0;
    const size_t at = total_;
    total_ = round_up(at + bytes);
    return at;
  }
  size_t total() const { return total_; }

  // The piece at `offset` of a workspace of `given` bytes, or an error naming the shortfall
  // (nullptr for an empty piece).
  float* at(uintptr_t workspace, size_t given, size_t offset, size_t bytes,
            const char* what) const {
    if (bytes == 0) return nullptr;
    if (workspace == 0 || given < total_) {
      throw std::invalid_argument(std::string(what) + ": workspace: " +
                                  std::to_string(workspace ? given : 0) + " bytes given, " +
                                  std::to_string(total_) + " needed");
    }
    return reinterpret_cast<float*>(workspace + offset);
  }

 private:
  static size_t round_up(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }
  size_t total_ = 0;
};

}  // namespace fusednn::cuda
