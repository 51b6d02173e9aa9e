// Helpers shared by the dlcore._cuda bindings.
//
// The Python side (src/dlcore/kernels/_gpu/) reads each CuPy array's __cuda_array_interface__ once,
// checks dtype, shape and contiguity, allocates outputs from CuPy's pool, and passes plain ints:
// device pointers, sizes, the dtype as `f64` (false float32, true float64) and the CUDA stream
// (cupy.cuda.get_current_stream().ptr). The bindings turn the ints back into typed pointers, check
// the cheap invariants (non-negative sizes, no null pointer where data is expected) and launch.
// Launch errors come back as std::runtime_error naming the kernel (RuntimeError in Python); a failed
// `require` is std::invalid_argument (ValueError).
#pragma once
#include <cuda_runtime.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "python/checked.h"  // checked::mul / add / product: every size product of a binding

namespace dlcore::cuda_bind {
namespace py = pybind11;

using Ptr = std::uintptr_t;  // a device pointer as Python passes it (0 = none)

inline void require(bool ok, const std::string& msg) {
  if (!ok) throw std::invalid_argument(msg);
}

inline cudaStream_t stream(Ptr s) { return reinterpret_cast<cudaStream_t>(s); }

template <typename T>
T* ptr(Ptr p) {
  return reinterpret_cast<T*>(p);
}

// A pointer that must be there when `count` elements are to be read or written.
template <typename T>
T* data(Ptr p, int64_t count, const char* what) {
  require(count >= 0, std::string(what) + ": negative size");
  require(count == 0 || p != 0, std::string(what) + ": null device pointer");
  return reinterpret_cast<T*>(p);
}

// Calls f(T{}) with T = double when `f64`, else float: the CUDA twin of python/bind_util.h's
// dispatch_float (the Python side has checked the dtype and passes it as this flag).
//
//   dispatch_float(f64, [&](auto zero) { using T = decltype(zero); cuda::gemm<T>(...); });
template <class F>
void dispatch_float(bool f64, F&& f) {
  if (f64)
    f(double{});
  else
    f(float{});
}

}  // namespace dlcore::cuda_bind
