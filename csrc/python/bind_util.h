// Helpers shared by the register_<area>.cpp files: turning NumPy arrays into pointer + shape +
// element strides, and the last-line-of-defence checks. The friendly, Keras-quality validation
// lives in src/dlcore/kernels/ (one place per op); these checks only guarantee that a direct call to
// dlcore._C with bad arguments raises ValueError instead of touching memory it should not.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "python/checked.h"  // checked::mul / add / product: every size product of a binding

namespace dlcore::py_util {
namespace py = pybind11;

inline void require(bool ok, const std::string& msg) {
  if (!ok) throw std::invalid_argument(msg);
}

// Whether dtype `a` is `b` for the kernels: the same type in the same (native) byte order. Compared by
// value (NumPy's PyArray_EquivTypes), never by object identity: a dtype is not always NumPy's
// singleton (an unpickled float32 array carries its own dtype object) and must be accepted the same.
inline bool same_dtype(const py::dtype& a, const py::dtype& b) {
  return a.is(b) || py::detail::npy_api::get().PyArray_EquivTypes_(a.ptr(), b.ptr());
}

template <typename T>
struct View {
  T* data = nullptr;
  std::vector<int64_t> shape, strides;  // strides in elements
  int64_t dim(int i) const { return shape[size_t(i)]; }
  int64_t stride(int i) const { return strides[size_t(i)]; }
  int ndim() const { return int(shape.size()); }
  int64_t size() const {
    int64_t s = 1;
    for (auto d : shape) s = checked::mul(s, d, "array size");
    return s;
  }
};

// A view of `arr` as T; `what` names the op and argument for error messages.
template <typename T>
View<T> view(const py::array& arr, const char* what, bool writable = false) {
  // The messages are built only on failure: formatting a dtype costs microseconds, more than a
  // small kernel call.
  if (!(py::isinstance<py::array_t<T>>(arr) && same_dtype(arr.dtype(), py::dtype::of<T>())))
    require(false, std::string(what) + ": expected dtype " + std::string(py::str(py::dtype::of<T>())) + ", got " +
                       std::string(py::str(arr.dtype())));
  if (writable && !arr.writeable()) require(false, std::string(what) + ": output array is read-only");
  View<T> v;
  v.data = static_cast<T*>(const_cast<void*>(arr.data()));
  for (py::ssize_t i = 0; i < arr.ndim(); ++i) {
    v.shape.push_back(arr.shape(i));
    if (arr.strides(i) % py::ssize_t(sizeof(T)) != 0)
      require(false, std::string(what) + ": strides must be a multiple of the item size");
    v.strides.push_back(arr.strides(i) / py::ssize_t(sizeof(T)));
  }
  return v;
}

// Calls f(T{}) with T = float or double, the element type of `arr` (the array whose dtype decides,
// usually the output), and returns what f returns. Any other dtype raises ValueError naming `what`
// (the op and that argument); view<T>() then requires every other array of the call to be T too.
//
//   dispatch_float(out, "gemm: out", [&](auto zero) { using T = decltype(zero); gemm_impl<T>(...); });
template <class F>
auto dispatch_float(const py::array& arr, const char* what, F&& f) {
  const py::dtype dt = arr.dtype();
  if (same_dtype(dt, py::dtype::of<float>())) return f(float{});
  if (!same_dtype(dt, py::dtype::of<double>()))
    throw std::invalid_argument(std::string(what) + ": expected dtype float32 or float64, got " +
                                std::string(py::str(dt)));
  return f(double{});
}

template <typename T>
bool is_c_contiguous(const View<T>& v) {
  int64_t expect = 1;
  for (int i = v.ndim() - 1; i >= 0; --i) {
    if (v.dim(i) != 1 && v.stride(i) != expect) return false;
    expect *= v.dim(i);
  }
  return true;
}

}  // namespace dlcore::py_util
