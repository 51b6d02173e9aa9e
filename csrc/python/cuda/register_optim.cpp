// dlcore._cuda optimizer updates over flat buffers, sum of squares (global norm) and scaling.
#include "cuda/optim.cuh"
#include "python/cuda/bind_cuda.h"

namespace dlcore {
using namespace cuda_bind;

namespace {
// The buffers of one fused update must not overlap where one is written (python/checked.h).
template <typename T>
void disjoint(const char* op, int64_t n, std::initializer_list<checked::Buffer> buffers) {
  checked::require_disjoint(op, checked::mul(n, int64_t(sizeof(T)), op), buffers);
}
const void* addr(Ptr p) { return reinterpret_cast<const void*>(p); }
}  // namespace

void register_cuda_optim(py::module_& m) {
  m.def("sgd_update", [](Ptr p, Ptr g, int64_t n, double lr, double momentum, Ptr velocity, bool nesterov,
                         double weight_decay, bool f64, Ptr s) {
    require(momentum == 0.0 || velocity != 0 || n == 0, "sgd_update: momentum needs a velocity buffer");
    py::gil_scoped_release nogil;
    dispatch_float(f64, [&](auto zero) {
      using T = decltype(zero);
      disjoint<T>("sgd_update", n, {{"param", addr(p), true}, {"velocity", addr(velocity), true},
                                    {"grad", addr(g), false}});
      cuda::sgd_update<T>(data<T>(p, n, "sgd_update: param"), data<const T>(g, n, "sgd_update: grad"), n, T(lr),
                          T(momentum), ptr<T>(velocity), nesterov, T(weight_decay), stream(s));
    });
  });
  m.def("adagrad_update", [](Ptr p, Ptr g, Ptr accum, int64_t n, double lr, double eps, double weight_decay, bool f64,
                             Ptr s) {
    py::gil_scoped_release nogil;
    dispatch_float(f64, [&](auto zero) {
      using T = decltype(zero);
      disjoint<T>("adagrad_update", n, {{"param", addr(p), true}, {"accum", addr(accum), true},
                                        {"grad", addr(g), false}});
      cuda::adagrad_update<T>(data<T>(p, n, "adagrad_update: param"), data<const T>(g, n, "adagrad_update: grad"),
                              data<T>(accum, n, "adagrad_update: accum"), n, T(lr), T(eps), T(weight_decay), stream(s));
    });
  });
  m.def("rmsprop_update", [](Ptr p, Ptr g, Ptr sq_avg, int64_t n, double lr, double rho, double eps, double momentum,
                             Ptr mom_buf, Ptr grad_avg, double weight_decay, bool f64, Ptr s) {
    require(momentum == 0.0 || mom_buf != 0 || n == 0, "rmsprop_update: momentum needs mom_buf");
    py::gil_scoped_release nogil;
    dispatch_float(f64, [&](auto zero) {
      using T = decltype(zero);
      disjoint<T>("rmsprop_update", n, {{"param", addr(p), true}, {"sq_avg", addr(sq_avg), true},
                                        {"mom_buf", addr(mom_buf), true}, {"grad_avg", addr(grad_avg), true},
                                        {"grad", addr(g), false}});
      cuda::rmsprop_update<T>(data<T>(p, n, "rmsprop_update: param"), data<const T>(g, n, "rmsprop_update: grad"),
                              data<T>(sq_avg, n, "rmsprop_update: sq_avg"), n, T(lr), T(rho), T(eps), T(momentum),
                              ptr<T>(mom_buf), ptr<T>(grad_avg), T(weight_decay), stream(s));
    });
  });
  m.def("adam_update", [](Ptr p, Ptr g, Ptr m_, Ptr v, Ptr v_max, int64_t n, double lr, double beta1, double beta2,
                          double eps, double weight_decay, bool decoupled, double bias_c1, double bias_c2, bool f64,
                          Ptr s) {
    require(bias_c1 > 0.0 && bias_c2 > 0.0, "adam_update: step must be >= 1");
    py::gil_scoped_release nogil;
    dispatch_float(f64, [&](auto zero) {
      using T = decltype(zero);
      disjoint<T>("adam_update", n, {{"param", addr(p), true}, {"m", addr(m_), true}, {"v", addr(v), true},
                                     {"v_max", addr(v_max), true}, {"grad", addr(g), false}});
      cuda::adam_update<T>(data<T>(p, n, "adam_update: param"), data<const T>(g, n, "adam_update: grad"),
                           data<T>(m_, n, "adam_update: m"), data<T>(v, n, "adam_update: v"), ptr<T>(v_max), n, T(lr),
                           T(beta1), T(beta2), T(eps), T(weight_decay), decoupled, T(bias_c1), T(bias_c2), stream(s));
    });
  });
  m.def("sum_squares", [](Ptr x, int64_t n, Ptr acc, bool f64, Ptr s) {
    py::gil_scoped_release nogil;
    dispatch_float(f64, [&](auto zero) {
      using T = decltype(zero);
      cuda::sum_squares<T>(data<const T>(x, n, "sum_squares: x"), n, data<double>(acc, 1, "sum_squares: acc"), stream(s));
    });
  });
  m.def("scale_inplace", [](Ptr x, int64_t n, double factor, bool f64, Ptr s) {
    py::gil_scoped_release nogil;
    dispatch_float(f64, [&](auto zero) {
      using T = decltype(zero);
      cuda::scale_inplace<T>(data<T>(x, n, "scale_inplace: x"), n, T(factor), stream(s));
    });
  });
}

}  // namespace dlcore
