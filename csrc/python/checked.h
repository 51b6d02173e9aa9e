// Checked size arithmetic for the bindings (dlcore._C and dlcore._cuda): the one place where a
// binding multiplies or adds sizes that come from its arguments; and the overlap check of the
// buffers that one fused kernel reads and writes.
//
// The bindings promise a ValueError for any argument, however large. A product of caller-given
// sizes (N * D, outer * n * inner, (ho - 1) * sh + kh, ...) can pass 2^63 and wrap around to a
// small or negative number that then passes a size check and lets a kernel read or write out of
// bounds; it is also undefined behaviour in C++. Every such product therefore goes through these
// helpers, which throw std::invalid_argument (ValueError in Python) naming `what` instead.
//
//   const int64_t total = checked::product({outer, n, inner}, "softmax_forward: (outer, n, inner)");
#pragma once
#include <cstdint>
#include <initializer_list>
#include <stdexcept>
#include <string>

namespace dlcore::checked {

[[noreturn]] inline void fail(const char* what, const char* why) {
  throw std::invalid_argument(std::string(what) + ": " + why);
}

// a * b for sizes (both >= 0); ValueError naming `what` when one is negative or the product
// does not fit in int64.
inline int64_t mul(int64_t a, int64_t b, const char* what) {
  int64_t r;
  if (a < 0 || b < 0) fail(what, "negative size");
  if (__builtin_mul_overflow(a, b, &r)) fail(what, "size too large (the product overflows int64)");
  return r;
}

// a + b for sizes and offsets (both >= 0); ValueError when the sum does not fit in int64.
inline int64_t add(int64_t a, int64_t b, const char* what) {
  int64_t r;
  if (a < 0 || b < 0) fail(what, "negative size");
  if (__builtin_add_overflow(a, b, &r)) fail(what, "size too large (the sum overflows int64)");
  return r;
}

// The product of `dims` (each >= 0), checked step by step. A zero anywhere still requires every
// partial product of the others to fit: the kernels form such products (n * h, n * h * w, ...)
// while indexing, so a huge dimension next to an empty one is refused rather than trusted.
inline int64_t product(std::initializer_list<int64_t> dims, const char* what) {
  int64_t r = 1, nonzero = 1;
  for (int64_t d : dims) {
    if (d < 0) fail(what, "negative size");
    r = mul(r, d, what);
    if (d != 0) nonzero = mul(nonzero, d, what);
  }
  return r;
}

// One buffer of a fused in-place kernel: its name, its first byte (null: absent) and whether the
// kernel writes it.
struct Buffer {
  const char* name;
  const void* data;
  bool written;
};

// ValueError naming `op` and both buffers when a written buffer of `bytes` bytes overlaps another
// one: the fused optimizer updates read every buffer and write some in one pass, so a state passed
// twice (adam_update(p, g, m, m)) or a parameter that is its own gradient would be read after it
// was written, silently.
inline void require_disjoint(const char* op, int64_t bytes, std::initializer_list<Buffer> buffers) {
  if (bytes <= 0) return;
  const auto u = static_cast<uint64_t>(bytes);
  for (auto a = buffers.begin(); a != buffers.end(); ++a)
    for (auto b = a + 1; b != buffers.end(); ++b) {
      if (!a->data || !b->data || !(a->written || b->written)) continue;
      const auto pa = reinterpret_cast<uintptr_t>(a->data), pb = reinterpret_cast<uintptr_t>(b->data);
      if (pa < pb + u && pb < pa + u)
        throw std::invalid_argument(std::string(op) + ": '" + a->name + "' and '" + b->name +
                                    "' share memory (each buffer of the update must be a separate array)");
    }
}

}  // namespace dlcore::checked
