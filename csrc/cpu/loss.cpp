// CPU losses, value and gradient in one pass (contract in loss.h). One row (sample) at a time, rows
// split over the OpenMP pool; the softmax rows run on the active ISA's SIMD kernels
// (softmax_xent_row from activation.cpp), the others are plain loops the compiler vectorizes.
#include "cpu/loss.h"

#include <algorithm>
#include <cmath>

#include "cpu/activation.h"
#include "cpu/parallel.h"

namespace dlcore::cpu {
namespace {

// Whether a probability lies strictly inside the clip range (eps, 1 - eps), or is NaN: the clipped
// losses have zero gradient outside the range (Keras's clip), and a NaN input gets a NaN gradient
// rather than a silent zero.
template <typename T>
inline bool unclipped(T q, T eps) {
  return !(q <= eps || q >= T(1) - eps);
}

// Keras's probability cross-entropy on one row, with the sum-normalization and clipping:
//   S = sum p,  q = p / S,  r = clip(q, eps, 1 - eps),  l = -sum_c t_c log r_c.
// Gradient: dl/dq_c = -t_c / r_c where q_c lies inside the clip range (0 outside), and through the
// normalization dl/dp_j = (dl/dq_j - sum_c dl/dq_c q_c) / S.
// `t` is the target row, or null with `label` the one-hot index.
template <typename T>
T categorical_row(const T* p, const T* t, int64_t label, int64_t C, T eps, T gs, T* g) {
  T S = 0;
  for (int64_t c = 0; c < C; ++c) S += p[c];
  const T invS = T(1) / S;
  T l = 0, dot = 0;
  for (int64_t c = 0; c < C; ++c) {
    const T q = p[c] * invS;
    const T r = std::min(std::max(q, eps), T(1) - eps);
    const T tc = t ? t[c] : T(c == label ? 1 : 0);
    const T dq = unclipped(q, eps) ? -tc / r : T(0);
    l -= tc == T(0) ? T(0) : tc * std::log(r);
    g[c] = dq;
    dot += dq * q;
  }
  for (int64_t c = 0; c < C; ++c) g[c] = gs * (g[c] - dot) * invS;
  return l;
}

}  // namespace

template <typename T>
void loss_dense(Loss kind, const T* pred, const T* target, const T* weight, int64_t N, int64_t D, T gscale, T eps,
                T* loss, T* grad) {
  const T invD = D > 0 ? T(1) / T(D) : T(0);
  parallel_rows(N, D * 8, [&](int64_t i) {
    const T* x = pred + i * D;
    const T* t = target + i * D;
    T* g = grad + i * D;
    const T w = weight ? weight[i] : T(1), gs = gscale * w;
    T l = 0;
    switch (kind) {
      case Loss::softmax_xent_dense: {
        // g = gs * (sum(t) softmax(x) - t),  l = sum_c t_c (lse - x_c) = sum(t) log(s) + sum_c t_c (m - x_c)
        // with lse = m + log(s): m - x_c is exact near the maximum, so large logits keep full precision
        T m;
        const T ls = softmax_xent_row(x, g, D, T(1), &m);
        T st = 0, tmx = 0;
        for (int64_t c = 0; c < D; ++c) st += t[c], tmx += t[c] * (m - x[c]);
        for (int64_t c = 0; c < D; ++c) g[c] = gs * (st * g[c] - t[c]);
        l = D > 0 ? st * ls + tmx : T(0);
        break;
      }
      case Loss::categorical_xent:
        l = D > 0 ? categorical_row(x, t, -1, D, eps, gs, g) : T(0);
        break;
      case Loss::binary_xent: {
        // l_d = -(t log q + (1 - t) log(1 - q)),  dl/dp = -(t / q - (1 - t) / (1 - q)) inside the clip
        for (int64_t d = 0; d < D; ++d) {
          const T q = std::min(std::max(x[d], eps), T(1) - eps);
          l -= t[d] * std::log(q) + (T(1) - t[d]) * std::log(T(1) - q);
          const T dq = unclipped(x[d], eps) ? -(t[d] / q - (T(1) - t[d]) / (T(1) - q)) : T(0);
          g[d] = gs * invD * dq;
        }
        l *= invD;
        break;
      }
      case Loss::binary_xent_logits: {
        // l_d = max(x, 0) - x t + log1p(exp(-|x|)),  dl/dx = sigmoid(x) - t
        for (int64_t d = 0; d < D; ++d) {
          const T xd = x[d], e = std::exp(-std::fabs(xd));
          l += std::max(xd, T(0)) - xd * t[d] + std::log1p(e);
          const T s = xd >= T(0) ? T(1) / (T(1) + e) : e / (T(1) + e);
          g[d] = gs * invD * (s - t[d]);
        }
        l *= invD;
        break;
      }
      case Loss::mse:
        for (int64_t d = 0; d < D; ++d) {
          const T r = x[d] - t[d];
          l += r * r;
          g[d] = gs * invD * T(2) * r;
        }
        l *= invD;
        break;
      case Loss::mae:
        for (int64_t d = 0; d < D; ++d) {
          const T r = x[d] - t[d];
          l += std::fabs(r);
          g[d] = gs * invD * (r > T(0) ? T(1) : r < T(0) ? T(-1) : r);  // sign(r); 0 at 0, NaN at NaN
        }
        l *= invD;
        break;
    }
    loss[i] = w * l;
  });
}

template <typename T>
void loss_sparse(Loss kind, const T* pred, const int64_t* labels, const T* weight, int64_t N, int64_t C, T gscale,
                 T eps, T* loss, T* grad) {
  parallel_rows(N, C * 8, [&](int64_t i) {
    const T* x = pred + i * C;
    T* g = grad + i * C;
    const int64_t y = labels[i];
    const T w = weight ? weight[i] : T(1), gs = gscale * w;
    T l;
    if (kind == Loss::softmax_xent_dense) {
      // g = gs * (softmax(x) - onehot(y)),  l = lse - x_y = (m - x_y) + log(s), m = max(x)
      T m;
      const T ls = softmax_xent_row(x, g, C, gs, &m);
      g[y] -= gs;
      l = (m - x[y]) + ls;
    } else {
      l = categorical_row(x, static_cast<const T*>(nullptr), y, C, eps, gs, g);
    }
    loss[i] = w * l;
  });
}

#define DLCORE_INSTANTIATE(T)                                                                             \
  template void loss_dense<T>(Loss, const T*, const T*, const T*, int64_t, int64_t, T, T, T*, T*);        \
  template void loss_sparse<T>(Loss, const T*, const int64_t*, const T*, int64_t, int64_t, T, T, T*, T*);
DLCORE_INSTANTIATE(float)
DLCORE_INSTANTIATE(double)
#undef DLCORE_INSTANTIATE

}  // namespace dlcore::cpu
