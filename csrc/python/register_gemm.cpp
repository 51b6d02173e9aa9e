// dlcore._C.gemm: out := alpha * op(a) @ op(b) + beta * out, then act(out + bias).
#include <cstdint>
#include <new>
#include <optional>
#include <utility>

#include "cpu/gemm/gemm.h"
#include "python/bind_codes.h"
#include "python/bind_util.h"

namespace dlcore {
namespace py = pybind11;
using namespace py_util;
using bind_codes::code_arg;

namespace {

// op(a) @ op(b) through cpu::gemm with the GIL released; a and b given by their element strides along
// their own axes (s?0 rows, s?1 columns), transposed here where asked.
template <typename T>
void run_gemm(int64_t m, int64_t n, int64_t k, double alpha, const T* a, int64_t sa0, int64_t sa1, bool trans_a,
              const T* b, int64_t sb0, int64_t sb1, bool trans_b, double beta, T* c, int64_t ldc,
              const cpu::GemmEpilogue<T>& ep) {
  py::gil_scoped_release nogil;
  cpu::gemm<T>(m, n, k, T(alpha), a, trans_a ? sa1 : sa0, trans_a ? sa0 : sa1, b, trans_b ? sb1 : sb0,
               trans_b ? sb0 : sb1, T(beta), c, ldc, ep);
}

template <typename T>
void gemm_impl(const py::array& a_arr, const py::array& b_arr, const py::array& out_arr, bool trans_a,
               bool trans_b, double alpha, double beta, const std::optional<py::array>& bias_arr, int act) {
  auto a = view<T>(a_arr, "gemm: a"), b = view<T>(b_arr, "gemm: b");
  auto c = view<T>(out_arr, "gemm: out", /*writable=*/true);
  require(a.ndim() == 2 && b.ndim() == 2 && c.ndim() == 2, "gemm: a, b and out must be 2-D");
  const int ia = trans_a ? 1 : 0, ib = trans_b ? 1 : 0;
  const int64_t m = a.dim(ia), k = a.dim(1 - ia), n = b.dim(1 - ib);
  require(b.dim(ib) == k, "gemm: inner dimensions differ");
  require(c.dim(0) == m && c.dim(1) == n, "gemm: out has the wrong shape");
  require(c.stride(1) == 1 || n <= 1 || m == 0, "gemm: out must have unit column stride");
  const Epilogue epilogue = code_arg<Epilogue>(act, "gemm: act");
  const T* bias = nullptr;
  if (bias_arr) {
    auto bv = view<T>(*bias_arr, "gemm: bias");
    require(bv.ndim() == 1 && bv.dim(0) == n && (bv.stride(0) == 1 || n <= 1), "gemm: bias must be contiguous (n,)");
    bias = bv.data;
  }
  run_gemm<T>(m, n, k, alpha, a.data, a.stride(0), a.stride(1), trans_a, b.data, b.stride(0), b.stride(1), trans_b,
              beta, c.data, c.stride(0), cpu::GemmEpilogue<T>{bias, epilogue});
}

// The byte range [lo, hi) that a 2-D array's elements span (any strides, negative included).
std::pair<const char*, const char*> extent(const py::array& x) {
  const char* lo = static_cast<const char*>(x.data());
  const char* hi = lo;
  for (int i = 0; i < 2; ++i) {
    if (x.shape(i) == 0) return {lo, lo};
    const py::ssize_t reach = (x.shape(i) - 1) * x.strides(i);
    (reach < 0 ? lo : hi) += reach;
  }
  return {lo, hi + x.itemsize()};
}

bool ranges_overlap(std::pair<const char*, const char*> x, std::pair<const char*, const char*> y) {
  return x.first < x.second && y.first < y.second && x.first < y.second && y.first < x.second;
}

bool overlap(const py::array& x, const py::array& y) { return ranges_overlap(extent(x), extent(y)); }

// A 2-D array and a 1-D one.
bool overlap1(const py::array& x, const py::array& v) {
  const char* lo = static_cast<const char*>(v.data());
  const py::ssize_t reach = (v.shape(0) - 1) * v.strides(0);
  return ranges_overlap(extent(x), reach < 0 ? std::make_pair(lo + reach, lo + v.itemsize())
                                             : std::make_pair(lo, lo + reach + v.itemsize()));
}

// The wrapper's fast path (kernels/gemm.py), for the calls a training step makes thousands of times:
// a and b 2-D arrays of one float dtype in native byte order whose strides are whole elements, bias
// None or a contiguous (n,) array of that dtype, and out either None (a new C-contiguous array) or a
// writable C-contiguous array of the product's shape sharing no memory with a, b or bias. Anything
// else returns None before touching anything, and the wrapper's full checks take over (they name
// what is wrong). Checked here rather than in Python because at a few microseconds per small GEMM
// the Python checks cost as much as the product (1x1x1: 1.75 us through the wrapper's Python
// checks, 0.41 us for the binding alone).
template <typename T>
py::object gemm_fast_impl(const py::array& a, const py::array& b, const py::object& out_obj, bool trans_a,
                          bool trans_b, double alpha, double beta, const py::object& bias_obj, int act) {
  const py::ssize_t size = py::ssize_t(sizeof(T));
  if (a.ndim() != 2 || b.ndim() != 2 || !py::isinstance<py::array_t<T>>(b) ||
      !same_dtype(b.dtype(), py::dtype::of<T>()))
    return py::none();
  for (int i = 0; i < 2; ++i)
    if (a.strides(i) % size != 0 || b.strides(i) % size != 0) return py::none();
  const int ia = trans_a ? 1 : 0, ib = trans_b ? 1 : 0;
  const int64_t m = a.shape(ia), k = a.shape(1 - ia), n = b.shape(1 - ib);
  if (b.shape(ib) != k) return py::none();
  // No default-constructed py::array here: one is a new empty NumPy array, made and freed on every
  // call (two of them were a tenth of a 48^3 product's time).
  const bool fresh = out_obj.is_none();
  py::array out = fresh ? py::array(py::array_t<T>({py::ssize_t(m), py::ssize_t(n)}))
                        : py::reinterpret_borrow<py::array>(out_obj);
  if (fresh) {
    beta = 0.0;
  } else if (out.ndim() != 2 || out.shape(0) != m || out.shape(1) != n || !py::isinstance<py::array_t<T>>(out) ||
             !same_dtype(out.dtype(), py::dtype::of<T>()) || !out.writeable() ||
             !(out.flags() & py::array::c_style) || overlap(out, a) || overlap(out, b)) {
    return py::none();
  }
  const T* bias_data = nullptr;
  if (!bias_obj.is_none()) {
    if (!py::isinstance<py::array_t<T>>(bias_obj)) return py::none();
    const auto bias = py::reinterpret_borrow<py::array>(bias_obj);
    if (bias.ndim() != 1 || bias.shape(0) != n || !same_dtype(bias.dtype(), py::dtype::of<T>()) ||
        (bias.strides(0) != size && n > 1) || (!fresh && n > 0 && overlap1(out, bias)))
      return py::none();
    bias_data = static_cast<const T*>(bias.data());
  }
  run_gemm<T>(m, n, k, alpha, static_cast<const T*>(a.data()), a.strides(0) / size, a.strides(1) / size, trans_a,
              static_cast<const T*>(b.data()), b.strides(0) / size, b.strides(1) / size, trans_b, beta,
              static_cast<T*>(out.mutable_data()), n > 0 ? out.strides(0) / size : 1,
              cpu::GemmEpilogue<T>{bias_data, Epilogue(act)});
  return std::move(out);
}

py::object gemm_fast_entry(PyObject* const* args, Py_ssize_t nargs) {
  const py::handle a = args[0], b = args[1], out = args[2], trans_a = args[3], trans_b = args[4], alpha = args[5],
                   beta = args[6], bias = nargs > 7 ? args[7] : Py_None;
  int act = 0;
  if (nargs > 8) {
    const long code = PyLong_AsLong(args[8]);
    if (code == -1 && PyErr_Occurred()) throw py::error_already_set();
    act = int(code_arg<Epilogue>(code < INT32_MIN || code > INT32_MAX ? -1 : int(code), "gemm_fast: act"));
  }
  // The wrapper's own conversions are bool(trans) and float(alpha): taken here only where they cannot
  // fail or surprise (a bool, a Python float or int); anything else goes the long way. a, b, out and
  // bias: ndarrays exactly (the wrapper checked a and b), or None for out and bias.
  const auto number = [](py::handle x) { return PyFloat_CheckExact(x.ptr()) || PyLong_CheckExact(x.ptr()); };
  const auto none_or_like_a = [&](py::handle x) { return x.is_none() || Py_TYPE(x.ptr()) == Py_TYPE(a.ptr()); };
  if (!py::isinstance<py::array>(a) || Py_TYPE(b.ptr()) != Py_TYPE(a.ptr()) || !PyBool_Check(trans_a.ptr()) ||
      !PyBool_Check(trans_b.ptr()) || !number(alpha) || !number(beta) || !none_or_like_a(out) ||
      !none_or_like_a(bias))
    return py::none();
  const double al = PyFloat_AsDouble(alpha.ptr()), be = PyFloat_AsDouble(beta.ptr());
  if ((al == -1.0 || be == -1.0) && PyErr_Occurred()) {  // an int too large for a double
    PyErr_Clear();
    return py::none();
  }
  const bool ta = trans_a.ptr() == Py_True, tb = trans_b.ptr() == Py_True;
  const auto aa = py::reinterpret_borrow<py::array>(a), ba = py::reinterpret_borrow<py::array>(b);
  const auto oo = py::reinterpret_borrow<py::object>(out), bo = py::reinterpret_borrow<py::object>(bias);
  if (py::isinstance<py::array_t<float>>(aa) && same_dtype(aa.dtype(), py::dtype::of<float>()))
    return gemm_fast_impl<float>(aa, ba, oo, ta, tb, al, be, bo, act);
  if (py::isinstance<py::array_t<double>>(aa) && same_dtype(aa.dtype(), py::dtype::of<double>()))
    return gemm_fast_impl<double>(aa, ba, oo, ta, tb, al, be, bo, act);
  return py::none();
}

PyObject* gemm_fast_call(PyObject*, PyObject* const* args, Py_ssize_t nargs) {
  if (nargs < 7 || nargs > 9) {
    PyErr_SetString(PyExc_TypeError, "gemm_fast: expected 7 to 9 arguments (a, b, out, trans_a, trans_b, alpha, "
                                     "beta[, bias[, act]])");
    return nullptr;
  }
  try {
    return gemm_fast_entry(args, nargs).release().ptr();
  } catch (py::error_already_set& e) {
    e.restore();
  } catch (const std::invalid_argument& e) {
    PyErr_SetString(PyExc_ValueError, e.what());
  } catch (const std::bad_alloc&) {
    PyErr_NoMemory();
  } catch (const std::exception& e) {
    PyErr_SetString(PyExc_RuntimeError, e.what());
  }
  return nullptr;
}

}  // namespace

void register_gemm(py::module_& m) {
  // A raw METH_FASTCALL function rather than m.def: pybind11's argument dispatch alone costs about
  // 0.2 us a call, a tenth of a 48^3 product.
  static PyMethodDef gemm_fast_def = {
      "gemm_fast", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)(void)>(&gemm_fast_call)), METH_FASTCALL,
      "gemm_fast(a, b, out, trans_a, trans_b, alpha, beta, bias=None, act=0): the gemm wrapper's fast path, "
      "out := act(alpha * op(a) @ op(b) + beta * out + bias) (a new array when out is None), returned; None, "
      "with nothing done, when the arguments need the wrapper's full checks."};
  m.add_object("gemm_fast", py::reinterpret_steal<py::object>(
                                PyCFunction_NewEx(&gemm_fast_def, nullptr, m.attr("__name__").ptr())));
  m.def(
      "gemm",
      [](const py::array& a, const py::array& b, const py::array& out, bool trans_a, bool trans_b, double alpha,
         double beta, const std::optional<py::array>& bias, int act) {
        dispatch_float(out, "gemm: out", [&](auto zero) {
          gemm_impl<decltype(zero)>(a, b, out, trans_a, trans_b, alpha, beta, bias, act);
        });
      },
      py::arg("a"), py::arg("b"), py::arg("out"), py::arg("trans_a") = false, py::arg("trans_b") = false,
      py::arg("alpha") = 1.0, py::arg("beta") = 0.0, py::arg("bias") = py::none(), py::arg("act") = 0,
      "out := act(alpha * op(a) @ op(b) + beta * out + bias); float32 or float64, arrays of one dtype.");
  m.def("gemm_kernel_name", [](const std::string& dtype) {
    return std::string(dtype == "float64" ? cpu::gemm_ukr<double>().name : cpu::gemm_ukr<float>().name);
  });
}

}  // namespace dlcore
