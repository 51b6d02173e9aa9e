// Per-thread scratch memory that outlives the call: 64-byte aligned buffers, grown as needed and
// kept for the thread's lifetime. A kernel that allocated its megabytes of workspace afresh on
// every call would pay for the page faults (and the kernel zeroing the pages) every time: measured,
// a third of a Winograd convolution's time and a quarter of an LSTM backward pass's.
//
// Each slot is one buffer per thread. Buffers that are live at the same time on one thread need
// different slots, so the slots are listed here, once for the whole library. A slot's memory is
// the largest request seen so far on that thread (like a caching allocator's).
#pragma once
#include <cstdint>
#include <cstdlib>
#include <new>
#include <vector>

namespace dlcore::cpu {

enum class Slot : int {
  gemm_a,            // gemm.cpp: packed A blocks
  gemm_b,            // gemm.cpp: packed B blocks
  gemm_b_edge,       // gemm.cpp: B's edge panel, packed by a split call's caller for all its tasks
  conv_block,        // conv2d.cpp: im2col slices, Winograd tile blocks (inside the parallel regions)
  conv_filters,      // conv2d.cpp: packed filters, Winograd U and the filter-gradient partial sums
  conv_filters_packed,  // conv2d.cpp: Winograd U packed for the microkernel
  conv_rotated,      // conv2d.cpp: the rotated filters of backward-data run as a forward pass
  rnn_grad_a,        // rnn.cpp: gate gradients of every step
  rnn_grad_b,        // rnn.cpp: the GRU's second set of gate gradients
  rnn_wgrad,         // rnn.cpp: a thread's share of the weight gradients, before it is copied out
  upsample_rows,     // upsample2d_kernels.h: a dx row's output rows summed, before the column pass
};

// std::vector storage aligned to 64 bytes (a cache line; the packed GEMM panels' alignment).
template <typename T>
struct AlignedAllocator {
  using value_type = T;
  AlignedAllocator() = default;
  template <typename U>
  AlignedAllocator(const AlignedAllocator<U>&) {}
  T* allocate(size_t n) {
    void* p = std::aligned_alloc(64, (n * sizeof(T) + 63) / 64 * 64);
    if (!p) throw std::bad_alloc();
    return static_cast<T*>(p);
  }
  void deallocate(T* p, size_t) { std::free(p); }
  template <typename U>
  bool operator==(const AlignedAllocator<U>&) const { return true; }
  template <typename U>
  bool operator!=(const AlignedAllocator<U>&) const { return false; }
};

// This thread's buffer for slot S, at least n elements (contents unspecified).
template <typename T, Slot S>
T* scratch(int64_t n) {
  thread_local std::vector<T, AlignedAllocator<T>> buf;
  if (int64_t(buf.size()) < n) {
    buf.clear();
    buf.shrink_to_fit();
    buf.resize(size_t(n));
  }
  return buf.data();
}

}  // namespace dlcore::cpu
