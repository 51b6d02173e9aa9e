// The optimizer update loops (formulas in optim.h), written once as plain C++ and compiled by three
// translation units with different instruction-set flags. `Tag` is a type private to each
// translation unit, so that the three compilations of one template never merge at link time.
//
// Each loop reads and writes every array exactly once; the branches on the arguments (momentum,
// nesterov, centered, amsgrad, ...) are outside the element loop (template parameters), so the
// element loop is straight-line code the compiler vectorizes (`omp simd`).
#pragma once
#include <cmath>
#include <cstdint>

#include "cpu/optim.h"

namespace dlcore::cpu::optim_loops {

template <class Tag, typename T, bool kMomentum, bool kNesterov, bool kDecay>
void sgd_loop(T* __restrict p, const T* __restrict g, T* __restrict b, int64_t n, const SgdArgs<T>& a) {
  const T lr = T(a.lr), mu = T(a.momentum), wd = T(a.weight_decay);
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    T gi = g[i];
    if (kDecay) gi += wd * p[i];
    T d = gi;
    if (kMomentum) {
      const T bi = mu * b[i] + gi;
      b[i] = bi;
      d = kNesterov ? gi + mu * bi : bi;
    }
    p[i] -= lr * d;
  }
}

template <class Tag, typename T>
void sgd(T* p, const T* g, T* b, int64_t n, const SgdArgs<T>& a) {
  const bool mom = a.momentum != 0.0 && b, decay = a.weight_decay != 0.0;
  if (!mom) return decay ? sgd_loop<Tag, T, false, false, true>(p, g, b, n, a) : sgd_loop<Tag, T, false, false, false>(p, g, b, n, a);
  if (a.nesterov)
    return decay ? sgd_loop<Tag, T, true, true, true>(p, g, b, n, a) : sgd_loop<Tag, T, true, true, false>(p, g, b, n, a);
  return decay ? sgd_loop<Tag, T, true, false, true>(p, g, b, n, a) : sgd_loop<Tag, T, true, false, false>(p, g, b, n, a);
}

template <class Tag, typename T>
void adagrad(T* __restrict p, const T* __restrict g, T* __restrict acc, int64_t n, double lr_, double eps_,
             double wd_) {
  const T lr = T(lr_), eps = T(eps_), wd = T(wd_);
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    const T gi = g[i] + wd * p[i];
    const T s = acc[i] + gi * gi;
    acc[i] = s;
    p[i] -= lr * gi / (std::sqrt(s) + eps);
  }
}

template <class Tag, typename T, bool kCentered, bool kMomentum>
void rmsprop_loop(T* __restrict p, const T* __restrict g, T* __restrict sq, T* __restrict mb, T* __restrict ga,
                  int64_t n, const RmspropArgs<T>& a) {
  const T lr = T(a.lr), rho = T(a.rho), eps = T(a.eps), mu = T(a.momentum), wd = T(a.weight_decay);
  const T one_m = T(1.0 - a.rho);
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    const T gi = g[i] + wd * p[i];
    const T s = rho * sq[i] + one_m * gi * gi;
    sq[i] = s;
    T var = s;
    if (kCentered) {
      const T m = rho * ga[i] + one_m * gi;
      ga[i] = m;
      var = s - m * m;
    }
    const T step = gi / (std::sqrt(var) + eps);
    if (kMomentum) {
      const T bi = mu * mb[i] + step;
      mb[i] = bi;
      p[i] -= lr * bi;
    } else {
      p[i] -= lr * step;
    }
  }
}

template <class Tag, typename T>
void rmsprop(T* p, const T* g, T* sq, T* mb, T* ga, int64_t n, const RmspropArgs<T>& a) {
  const bool c = a.centered && ga, m = a.momentum != 0.0 && mb;
  if (c) return m ? rmsprop_loop<Tag, T, true, true>(p, g, sq, mb, ga, n, a) : rmsprop_loop<Tag, T, true, false>(p, g, sq, mb, ga, n, a);
  return m ? rmsprop_loop<Tag, T, false, true>(p, g, sq, mb, ga, n, a) : rmsprop_loop<Tag, T, false, false>(p, g, sq, mb, ga, n, a);
}

template <class Tag, typename T, bool kDecoupled, bool kAmsgrad>
void adam_loop(T* __restrict p, const T* __restrict g, T* __restrict m, T* __restrict v, T* __restrict vmax,
               int64_t n, const AdamArgs<T>& a) {
  // the scalars of this step, computed once in double precision
  const double bc1 = 1.0 - std::pow(a.beta1, double(a.step));
  const double bc2 = 1.0 - std::pow(a.beta2, double(a.step));
  const T step_size = T(a.lr / bc1), inv_sqrt_bc2 = T(1.0 / std::sqrt(bc2));
  const T b1 = T(a.beta1), b2 = T(a.beta2), eps = T(a.eps), one_m1 = T(1.0 - a.beta1), one_m2 = T(1.0 - a.beta2);
  const T wd = kDecoupled ? T(0) : T(a.weight_decay);                        // coupled: into the gradient
  const T shrink = kDecoupled ? T(1.0 - a.lr * a.weight_decay) : T(1);  // decoupled: on the parameter
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    const T pi = p[i] * shrink;
    const T gi = g[i] + wd * p[i];
    const T mi = b1 * m[i] + one_m1 * gi;
    T vi = b2 * v[i] + one_m2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    if (kAmsgrad) {
      vi = vmax[i] > vi ? vmax[i] : vi;
      vmax[i] = vi;
    }
    p[i] = pi - step_size * mi / (std::sqrt(vi) * inv_sqrt_bc2 + eps);
  }
}

template <class Tag, typename T>
void adam(T* p, const T* g, T* m, T* v, T* vmax, int64_t n, const AdamArgs<T>& a) {
  const bool ams = a.amsgrad && vmax;
  if (a.decoupled_weight_decay)
    return ams ? adam_loop<Tag, T, true, true>(p, g, m, v, vmax, n, a) : adam_loop<Tag, T, true, false>(p, g, m, v, vmax, n, a);
  return ams ? adam_loop<Tag, T, false, true>(p, g, m, v, vmax, n, a) : adam_loop<Tag, T, false, false>(p, g, m, v, vmax, n, a);
}

template <class Tag, typename T>
double sum_squares(const T* __restrict x, int64_t n) {
  double s = 0.0;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < n; ++i) s += double(x[i]) * double(x[i]);
  return s;
}

template <class Tag, typename T>
void scale(T* __restrict x, int64_t n, T s) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) x[i] *= s;
}

template <class Tag, typename T>
constexpr OptimKernels<T> make_table() {
  return OptimKernels<T>{&sgd<Tag, T>, &adagrad<Tag, T>, &rmsprop<Tag, T>, &adam<Tag, T>, &sum_squares<Tag, T>,
                         &scale<Tag, T>};
}

}  // namespace dlcore::cpu::optim_loops
