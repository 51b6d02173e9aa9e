// dlcore._C optimizer updates, in place (src/dlcore/kernels/optim.py validates; formulas in csrc/cpu/optim.h).
#include "cpu/optim.h"
#include "python/bind_util.h"

namespace dlcore {
namespace py = pybind11;
using namespace py_util;

namespace {

// A contiguous array of T with n elements (n = -1: any), or null for None.
template <typename T>
T* flat(const std::optional<py::array>& arr, const char* what, int64_t& n, bool writable) {
  if (!arr) return nullptr;
  auto v = view<T>(*arr, what, writable);
  require(v.size() == 0 || is_c_contiguous(v), std::string(what) + ": must be C-contiguous");
  require(n < 0 || v.size() == n, std::string(what) + ": size differs from the parameter's");
  n = v.size();
  return v.data;
}

template <typename T>
void sgd(const py::array& p, const py::array& g, const std::optional<py::array>& vel, double lr, double mu,
         bool nesterov, double wd) {
  int64_t n = -1;
  T* pp = flat<T>(p, "sgd_update: param", n, true);
  const T* pg = flat<T>(g, "sgd_update: grad", n, false);
  T* pv = flat<T>(vel, "sgd_update: velocity", n, true);
  require(mu == 0.0 || pv, "sgd_update: momentum needs a velocity array");
  checked::require_disjoint("sgd_update", checked::mul(n, int64_t(sizeof(T)), "sgd_update: size"),
                            {{"param", pp, true}, {"velocity", pv, true}, {"grad", pg, false}});
  cpu::SgdArgs<T> a{lr, mu, wd, nesterov};
  py::gil_scoped_release nogil;
  cpu::sgd_update<T>(pp, pg, pv, n, a);
}

template <typename T>
void adagrad(const py::array& p, const py::array& g, const py::array& acc, double lr, double eps, double wd) {
  int64_t n = -1;
  T* pp = flat<T>(p, "adagrad_update: param", n, true);
  const T* pg = flat<T>(g, "adagrad_update: grad", n, false);
  T* pa = flat<T>(acc, "adagrad_update: accum", n, true);
  checked::require_disjoint("adagrad_update", checked::mul(n, int64_t(sizeof(T)), "adagrad_update: size"),
                            {{"param", pp, true}, {"accum", pa, true}, {"grad", pg, false}});
  py::gil_scoped_release nogil;
  cpu::adagrad_update<T>(pp, pg, pa, n, lr, eps, wd);
}

template <typename T>
void rmsprop(const py::array& p, const py::array& g, const py::array& sq, const std::optional<py::array>& mb,
             const std::optional<py::array>& ga, double lr, double rho, double eps, double mu, bool centered,
             double wd) {
  int64_t n = -1;
  T* pp = flat<T>(p, "rmsprop_update: param", n, true);
  const T* pg = flat<T>(g, "rmsprop_update: grad", n, false);
  T* ps = flat<T>(sq, "rmsprop_update: sq_avg", n, true);
  T* pm = flat<T>(mb, "rmsprop_update: mom_buf", n, true);
  T* pa = flat<T>(ga, "rmsprop_update: grad_avg", n, true);
  require(mu == 0.0 || pm, "rmsprop_update: momentum needs mom_buf");
  require(!centered || pa, "rmsprop_update: centered needs grad_avg");
  checked::require_disjoint("rmsprop_update", checked::mul(n, int64_t(sizeof(T)), "rmsprop_update: size"),
                            {{"param", pp, true}, {"sq_avg", ps, true}, {"mom_buf", pm, true},
                             {"grad_avg", pa, true}, {"grad", pg, false}});
  cpu::RmspropArgs<T> a{lr, rho, eps, mu, wd, centered};
  py::gil_scoped_release nogil;
  cpu::rmsprop_update<T>(pp, pg, ps, pm, pa, n, a);
}

template <typename T>
void adam(const py::array& p, const py::array& g, const py::array& m, const py::array& v,
          const std::optional<py::array>& vmax, double lr, int64_t step, double b1, double b2, double eps, double wd,
          bool decoupled, bool amsgrad) {
  int64_t n = -1;
  T* pp = flat<T>(p, "adam_update: param", n, true);
  const T* pg = flat<T>(g, "adam_update: grad", n, false);
  T* pm = flat<T>(m, "adam_update: m", n, true);
  T* pv = flat<T>(v, "adam_update: v", n, true);
  T* px = flat<T>(vmax, "adam_update: v_max", n, true);
  require(!amsgrad || px, "adam_update: amsgrad needs v_max");
  require(step >= 1, "adam_update: step must be >= 1");
  checked::require_disjoint("adam_update", checked::mul(n, int64_t(sizeof(T)), "adam_update: size"),
                            {{"param", pp, true}, {"m", pm, true}, {"v", pv, true}, {"v_max", px, true},
                             {"grad", pg, false}});
  cpu::AdamArgs<T> a{lr, b1, b2, eps, wd, step, decoupled, amsgrad};
  py::gil_scoped_release nogil;
  cpu::adam_update<T>(pp, pg, pm, pv, px, n, a);
}

}  // namespace

void register_optim(py::module_& m) {
  m.def("sgd_update", [](const py::array& p, const py::array& g, const std::optional<py::array>& vel, double lr,
                         double mu, bool nesterov, double wd) {
    dispatch_float(p, "sgd_update: param", [&](auto zero) { sgd<decltype(zero)>(p, g, vel, lr, mu, nesterov, wd); });
  }, py::arg("param"), py::arg("grad"), py::arg("velocity"), py::arg("lr"), py::arg("momentum"),
     py::arg("nesterov"), py::arg("weight_decay"));
  m.def("adagrad_update", [](const py::array& p, const py::array& g, const py::array& acc, double lr, double eps,
                             double wd) {
    dispatch_float(p, "adagrad_update: param", [&](auto zero) { adagrad<decltype(zero)>(p, g, acc, lr, eps, wd); });
  }, py::arg("param"), py::arg("grad"), py::arg("accum"), py::arg("lr"), py::arg("eps"), py::arg("weight_decay"));
  m.def("rmsprop_update", [](const py::array& p, const py::array& g, const py::array& sq,
                             const std::optional<py::array>& mb, const std::optional<py::array>& ga, double lr,
                             double rho, double eps, double mu, bool centered, double wd) {
    dispatch_float(p, "rmsprop_update: param", [&](auto zero) {
      rmsprop<decltype(zero)>(p, g, sq, mb, ga, lr, rho, eps, mu, centered, wd);
    });
  }, py::arg("param"), py::arg("grad"), py::arg("sq_avg"), py::arg("mom_buf"), py::arg("grad_avg"), py::arg("lr"),
     py::arg("rho"), py::arg("eps"), py::arg("momentum"), py::arg("centered"), py::arg("weight_decay"));
  m.def("adam_update", [](const py::array& p, const py::array& g, const py::array& mm, const py::array& v,
                          const std::optional<py::array>& vmax, double lr, int64_t step, double b1, double b2,
                          double eps, double wd, bool decoupled, bool amsgrad) {
    dispatch_float(p, "adam_update: param", [&](auto zero) {
      adam<decltype(zero)>(p, g, mm, v, vmax, lr, step, b1, b2, eps, wd, decoupled, amsgrad);
    });
  }, py::arg("param"), py::arg("grad"), py::arg("m"), py::arg("v"), py::arg("v_max"), py::arg("lr"), py::arg("step"),
     py::arg("beta1"), py::arg("beta2"), py::arg("eps"), py::arg("weight_decay"), py::arg("decoupled_weight_decay"),
     py::arg("amsgrad"));
  m.def("sum_squares", [](const py::array& x) {
    return dispatch_float(x, "sum_squares: x", [&](auto zero) {
      using T = decltype(zero);
      int64_t n = -1;
      const T* p = flat<T>(x, "sum_squares: x", n, false);
      py::gil_scoped_release nogil;
      return cpu::sum_squares<T>(p, n);
    });
  }, py::arg("x"), "sum of x^2 over a contiguous array, accumulated in float64");
  m.def("scale_inplace", [](const py::array& x, double s) {
    dispatch_float(x, "scale_inplace: x", [&](auto zero) {
      using T = decltype(zero);
      int64_t n = -1;
      T* p = flat<T>(x, "scale_inplace: x", n, true);
      py::gil_scoped_release nogil;
      cpu::scale_inplace<T>(p, n, T(s));
    });
  }, py::arg("x"), py::arg("factor"));
}

}  // namespace dlcore
