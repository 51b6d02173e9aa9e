// dlcore._C recurrent kernels: lstm_*, gru_*, simple_rnn_* (whole sequences, forward and backward).
//
// The friendly validation lives in src/dlcore/kernels/rnn.py; here every array is checked once more
// (dtype, shape, contiguity, writability) so that a direct call with bad arguments raises
// ValueError instead of touching memory it should not. Weights may have any element strides; every
// other array must be C-contiguous.
#include <optional>
#include <string>
#include <vector>

#include "cpu/rnn.h"
#include "python/bind_util.h"

namespace dlcore {
namespace py = pybind11;
using namespace py_util;

namespace {

using Opt = std::optional<py::array>;

std::string shape_str(const std::vector<int64_t>& s) {
  std::string r = "(";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + (s.size() == 1 ? ",)" : ")");
}

// `arr` as T with exactly `shape`; C-contiguous unless `any_strides`; writable if `out`.
template <typename T>
View<T> arg(const py::array& arr, const std::string& what, const std::vector<int64_t>& shape, bool out = false,
            bool any_strides = false) {
  View<T> v = view<T>(arr, what.c_str(), out);
  require(v.shape == shape, what + ": expected shape " + shape_str(shape) + ", got " + shape_str(v.shape));
  require(any_strides || v.size() == 0 || is_c_contiguous(v), what + ": must be C-contiguous");
  return v;
}

template <typename T>
const T* opt_arg(const Opt& arr, const std::string& what, const std::vector<int64_t>& shape) {
  return arr ? arg<T>(*arr, what, shape).data : nullptr;
}

template <typename T>
cpu::Strided<T> weight(const py::array& arr, const std::string& what, const std::vector<int64_t>& shape) {
  View<T> v = arg<T>(arr, what, shape, false, true);
  return {v.data, v.stride(0), v.stride(1)};
}

struct Dims {
  int64_t B, T, I, H, G;  // G = gates * H: the width of the kernels and the gate buffers
};

template <typename T>
Dims dims_of(const py::array& x, const py::array& recurrent, const char* op, int64_t gates) {
  View<T> xv = view<T>(x, (std::string(op) + ": x").c_str());
  View<T> rv = view<T>(recurrent, (std::string(op) + ": recurrent_kernel").c_str());
  require(xv.ndim() == 3, std::string(op) + ": x must be 3-D (B, T, I)");
  require(rv.ndim() == 2, std::string(op) + ": recurrent_kernel must be 2-D");
  const int64_t H = rv.dim(0);
  return {xv.dim(0), xv.dim(1), xv.dim(2), H, checked::mul(gates, H, op)};
}

// ---- LSTM ----------------------------------------------------------------------------------------

template <typename T>
void lstm_fwd(const py::array& x, const py::array& h0, const py::array& c0, const py::array& kernel,
              const py::array& recurrent, const py::array& bias, const py::array& hs, const py::array& gates,
              const py::array& cs, const py::array& h_prev) {
  const char* op = "lstm_forward";
  const auto [B, T_, I, H, G] = dims_of<T>(x, recurrent, op, 4);
  const std::string o(op);
  auto xv = arg<T>(x, o + ": x", {B, T_, I});
  auto h0v = arg<T>(h0, o + ": h0", {B, H});
  auto c0v = arg<T>(c0, o + ": c0", {B, H});
  auto k = weight<T>(kernel, o + ": kernel", {I, G});
  auto r = weight<T>(recurrent, o + ": recurrent_kernel", {H, G});
  auto bv = arg<T>(bias, o + ": bias", {G});
  auto hsv = arg<T>(hs, o + ": hs", {B, T_, H}, true);
  auto gv = arg<T>(gates, o + ": gates", {B, T_, G}, true);
  auto csv = arg<T>(cs, o + ": cs", {B, T_, H}, true);
  auto hpv = arg<T>(h_prev, o + ": h_prev", {B, T_, H}, true);
  py::gil_scoped_release nogil;
  cpu::lstm_forward<T>(B, T_, I, H, xv.data, h0v.data, c0v.data, k, r, bv.data, hsv.data, gv.data, csv.data,
                       hpv.data);
}

template <typename T>
void lstm_bwd(const Opt& dhs, const Opt& dh_T, const Opt& dc_T, const py::array& x, const py::array& c0,
              const py::array& kernel, const py::array& recurrent, const py::array& gates, const py::array& cs,
              const py::array& h_prev, const py::array& dx, const py::array& dh0, const py::array& dc0,
              const py::array& dkernel, const py::array& drecurrent, const py::array& dbias) {
  const char* op = "lstm_backward";
  const auto [B, T_, I, H, G] = dims_of<T>(x, recurrent, op, 4);
  const std::string o(op);
  const T* dhs_p = opt_arg<T>(dhs, o + ": dhs", {B, T_, H});
  const T* dhT_p = opt_arg<T>(dh_T, o + ": dh_T", {B, H});
  const T* dcT_p = opt_arg<T>(dc_T, o + ": dc_T", {B, H});
  auto xv = arg<T>(x, o + ": x", {B, T_, I});
  auto c0v = arg<T>(c0, o + ": c0", {B, H});
  auto k = weight<T>(kernel, o + ": kernel", {I, G});
  auto r = weight<T>(recurrent, o + ": recurrent_kernel", {H, G});
  auto gv = arg<T>(gates, o + ": gates", {B, T_, G});
  auto csv = arg<T>(cs, o + ": cs", {B, T_, H});
  auto hpv = arg<T>(h_prev, o + ": h_prev", {B, T_, H});
  auto dxv = arg<T>(dx, o + ": dx", {B, T_, I}, true);
  auto dh0v = arg<T>(dh0, o + ": dh0", {B, H}, true);
  auto dc0v = arg<T>(dc0, o + ": dc0", {B, H}, true);
  auto dkv = arg<T>(dkernel, o + ": dkernel", {I, G}, true);
  auto drv = arg<T>(drecurrent, o + ": drecurrent_kernel", {H, G}, true);
  auto dbv = arg<T>(dbias, o + ": dbias", {G}, true);
  py::gil_scoped_release nogil;
  cpu::lstm_backward<T>(B, T_, I, H, dhs_p, dhT_p, dcT_p, xv.data, c0v.data, k, r, gv.data, csv.data, hpv.data,
                        dxv.data, dh0v.data, dc0v.data, dkv.data, drv.data, dbv.data);
}

// ---- GRU -----------------------------------------------------------------------------------------

template <typename T>
void gru_fwd(const py::array& x, const py::array& h0, const py::array& kernel, const py::array& recurrent,
             const py::array& bias, const py::array& hs, const py::array& gates, const py::array& hh_rec,
             const py::array& h_prev) {
  const char* op = "gru_forward";
  const auto [B, T_, I, H, G] = dims_of<T>(x, recurrent, op, 3);
  const std::string o(op);
  auto xv = arg<T>(x, o + ": x", {B, T_, I});
  auto h0v = arg<T>(h0, o + ": h0", {B, H});
  auto k = weight<T>(kernel, o + ": kernel", {I, G});
  auto r = weight<T>(recurrent, o + ": recurrent_kernel", {H, G});
  auto bv = arg<T>(bias, o + ": bias", {2, G});
  auto hsv = arg<T>(hs, o + ": hs", {B, T_, H}, true);
  auto gv = arg<T>(gates, o + ": gates", {B, T_, G}, true);
  auto hrv = arg<T>(hh_rec, o + ": hh_rec", {B, T_, H}, true);
  auto hpv = arg<T>(h_prev, o + ": h_prev", {B, T_, H}, true);
  py::gil_scoped_release nogil;
  cpu::gru_forward<T>(B, T_, I, H, xv.data, h0v.data, k, r, bv.data, hsv.data, gv.data, hrv.data, hpv.data);
}

template <typename T>
void gru_bwd(const Opt& dhs, const Opt& dh_T, const py::array& x, const py::array& kernel,
             const py::array& recurrent, const py::array& gates, const py::array& hh_rec, const py::array& h_prev,
             const py::array& dx, const py::array& dh0, const py::array& dkernel, const py::array& drecurrent,
             const py::array& dbias) {
  const char* op = "gru_backward";
  const auto [B, T_, I, H, G] = dims_of<T>(x, recurrent, op, 3);
  const std::string o(op);
  const T* dhs_p = opt_arg<T>(dhs, o + ": dhs", {B, T_, H});
  const T* dhT_p = opt_arg<T>(dh_T, o + ": dh_T", {B, H});
  auto xv = arg<T>(x, o + ": x", {B, T_, I});
  auto k = weight<T>(kernel, o + ": kernel", {I, G});
  auto r = weight<T>(recurrent, o + ": recurrent_kernel", {H, G});
  auto gv = arg<T>(gates, o + ": gates", {B, T_, G});
  auto hrv = arg<T>(hh_rec, o + ": hh_rec", {B, T_, H});
  auto hpv = arg<T>(h_prev, o + ": h_prev", {B, T_, H});
  auto dxv = arg<T>(dx, o + ": dx", {B, T_, I}, true);
  auto dh0v = arg<T>(dh0, o + ": dh0", {B, H}, true);
  auto dkv = arg<T>(dkernel, o + ": dkernel", {I, G}, true);
  auto drv = arg<T>(drecurrent, o + ": drecurrent_kernel", {H, G}, true);
  auto dbv = arg<T>(dbias, o + ": dbias", {2, G}, true);
  py::gil_scoped_release nogil;
  cpu::gru_backward<T>(B, T_, I, H, dhs_p, dhT_p, xv.data, k, r, gv.data, hrv.data, hpv.data, dxv.data, dh0v.data,
                       dkv.data, drv.data, dbv.data);
}

// ---- SimpleRNN -----------------------------------------------------------------------------------

template <typename T>
void rnn_fwd(const py::array& x, const py::array& h0, const py::array& kernel, const py::array& recurrent,
             const py::array& bias, const py::array& hs, const py::array& hs_act, const py::array& h_prev) {
  const char* op = "simple_rnn_forward";
  const auto [B, T_, I, H, G] = dims_of<T>(x, recurrent, op, 1);
  const std::string o(op);
  auto xv = arg<T>(x, o + ": x", {B, T_, I});
  auto h0v = arg<T>(h0, o + ": h0", {B, H});
  auto k = weight<T>(kernel, o + ": kernel", {I, H});
  auto r = weight<T>(recurrent, o + ": recurrent_kernel", {H, H});
  auto bv = arg<T>(bias, o + ": bias", {H});
  auto hsv = arg<T>(hs, o + ": hs", {B, T_, H}, true);
  auto hav = arg<T>(hs_act, o + ": hs_act", {B, T_, H}, true);
  auto hpv = arg<T>(h_prev, o + ": h_prev", {B, T_, H}, true);
  py::gil_scoped_release nogil;
  cpu::simple_rnn_forward<T>(B, T_, I, H, xv.data, h0v.data, k, r, bv.data, hsv.data, hav.data, hpv.data);
}

template <typename T>
void rnn_bwd(const Opt& dhs, const Opt& dh_T, const py::array& x, const py::array& kernel,
             const py::array& recurrent, const py::array& hs_act, const py::array& h_prev, const py::array& dx,
             const py::array& dh0, const py::array& dkernel, const py::array& drecurrent, const py::array& dbias) {
  const char* op = "simple_rnn_backward";
  const auto [B, T_, I, H, G] = dims_of<T>(x, recurrent, op, 1);
  const std::string o(op);
  const T* dhs_p = opt_arg<T>(dhs, o + ": dhs", {B, T_, H});
  const T* dhT_p = opt_arg<T>(dh_T, o + ": dh_T", {B, H});
  auto xv = arg<T>(x, o + ": x", {B, T_, I});
  auto k = weight<T>(kernel, o + ": kernel", {I, H});
  auto r = weight<T>(recurrent, o + ": recurrent_kernel", {H, H});
  auto hav = arg<T>(hs_act, o + ": hs_act", {B, T_, H});
  auto hpv = arg<T>(h_prev, o + ": h_prev", {B, T_, H});
  auto dxv = arg<T>(dx, o + ": dx", {B, T_, I}, true);
  auto dh0v = arg<T>(dh0, o + ": dh0", {B, H}, true);
  auto dkv = arg<T>(dkernel, o + ": dkernel", {I, H}, true);
  auto drv = arg<T>(drecurrent, o + ": drecurrent_kernel", {H, H}, true);
  auto dbv = arg<T>(dbias, o + ": dbias", {H}, true);
  py::gil_scoped_release nogil;
  cpu::simple_rnn_backward<T>(B, T_, I, H, dhs_p, dhT_p, xv.data, k, r, hav.data, hpv.data, dxv.data, dh0v.data,
                              dkv.data, drv.data, dbv.data);
}

}  // namespace

void register_rnn(py::module_& m) {
  using A = const py::array&;
  m.def(
      "lstm_forward",
      [](A x, A h0, A c0, A k, A r, A b, A hs, A gates, A cs, A h_prev) {
        dispatch_float(x, "lstm_forward: x", [&](auto zero) {
          lstm_fwd<decltype(zero)>(x, h0, c0, k, r, b, hs, gates, cs, h_prev);
        });
      },
      "LSTM over a whole sequence; fills hs and the cache arrays gates, cs, h_prev.");
  m.def(
      "lstm_backward",
      [](const Opt& dhs, const Opt& dh_T, const Opt& dc_T, A x, A c0, A k, A r, A gates, A cs, A h_prev, A dx,
         A dh0, A dc0, A dk, A dr, A db) {
        dispatch_float(x, "lstm_backward: x", [&](auto zero) {
          lstm_bwd<decltype(zero)>(dhs, dh_T, dc_T, x, c0, k, r, gates, cs, h_prev, dx, dh0, dc0, dk, dr, db);
        });
      },
      "LSTM backward through time; fills dx, dh0, dc0, dkernel, drecurrent_kernel, dbias.");
  m.def(
      "gru_forward",
      [](A x, A h0, A k, A r, A b, A hs, A gates, A hh_rec, A h_prev) {
        dispatch_float(x, "gru_forward: x", [&](auto zero) {
          gru_fwd<decltype(zero)>(x, h0, k, r, b, hs, gates, hh_rec, h_prev);
        });
      },
      "GRU (reset_after=True) over a whole sequence; fills hs and the cache arrays.");
  m.def(
      "gru_backward",
      [](const Opt& dhs, const Opt& dh_T, A x, A k, A r, A gates, A hh_rec, A h_prev, A dx, A dh0, A dk, A dr, A db) {
        dispatch_float(x, "gru_backward: x", [&](auto zero) {
          gru_bwd<decltype(zero)>(dhs, dh_T, x, k, r, gates, hh_rec, h_prev, dx, dh0, dk, dr, db);
        });
      },
      "GRU backward through time.");
  m.def(
      "simple_rnn_forward",
      [](A x, A h0, A k, A r, A b, A hs, A hs_act, A h_prev) {
        dispatch_float(x, "simple_rnn_forward: x", [&](auto zero) {
          rnn_fwd<decltype(zero)>(x, h0, k, r, b, hs, hs_act, h_prev);
        });
      },
      "SimpleRNN (tanh) over a whole sequence.");
  m.def(
      "simple_rnn_backward",
      [](const Opt& dhs, const Opt& dh_T, A x, A k, A r, A hs_act, A h_prev, A dx, A dh0, A dk, A dr, A db) {
        dispatch_float(x, "simple_rnn_backward: x", [&](auto zero) {
          rnn_bwd<decltype(zero)>(dhs, dh_T, x, k, r, hs_act, h_prev, dx, dh0, dk, dr, db);
        });
      },
      "SimpleRNN backward through time.");
}

}  // namespace dlcore
