// CPU optimizer updates: one fused pass over parameter, gradient and state, in place.
//
// Every array is contiguous with n elements (one tensor, or one flat buffer holding all parameters
// of a model); the state arrays have the parameter's dtype. The formulas are PyTorch's
// (torch.optim.SGD / Adagrad / RMSprop / Adam / AdamW, foreach=False), written out at each function.
// The loops are plain C++ that the compiler vectorizes; optim_loops.h is compiled three times (the
// portable build in optim.cpp, optim_avx2.cpp, optim_avx512.cpp) and the active ISA's copy runs,
// split over the OpenMP pool above kParallelThreshold elements.
#pragma once
#include <cstdint>

namespace dlcore::cpu {

// Hyperparameters are kept in double: the loops derive 1 - beta, lr * wd, ... in double and round
// once to T, as PyTorch does with its Python-float hyperparameters (1 - 0.999f in float32 would be
// off by 1.3e-5 relative).
template <typename T>
struct SgdArgs { double lr, momentum, weight_decay; bool nesterov; };

template <typename T>
struct RmspropArgs { double lr, rho, eps, momentum, weight_decay; bool centered; };

template <typename T>
struct AdamArgs {
  double lr, beta1, beta2, eps, weight_decay;
  int64_t step;                 // >= 1, the step being taken (bias corrections use it)
  bool decoupled_weight_decay;  // AdamW
  bool amsgrad;
};

// g' = g + wd p;  velocity: b = mu b + g';  d = nesterov ? g' + mu b : b  (d = g' when mu == 0);
// p -= lr d.   `velocity` may be null when momentum == 0.
template <typename T>
void sgd_update(T* p, const T* g, T* velocity, int64_t n, const SgdArgs<T>& a);

// g' = g + wd p;  acc += g'^2;  p -= lr g' / (sqrt(acc) + eps)
template <typename T>
void adagrad_update(T* p, const T* g, T* acc, int64_t n, double lr, double eps, double weight_decay);

// g' = g + wd p;  sq = rho sq + (1 - rho) g'^2;
// centered: ga = rho ga + (1 - rho) g',  denom = sqrt(sq - ga^2) + eps;  else denom = sqrt(sq) + eps;
// momentum > 0: b = mu b + g' / denom,  p -= lr b;  else p -= lr g' / denom.
template <typename T>
void rmsprop_update(T* p, const T* g, T* sq, T* mom_buf, T* grad_avg, int64_t n, const RmspropArgs<T>& a);

// Adam: g' = g + wd p  (AdamW instead: p *= 1 - lr wd, g' = g);
// m = b1 m + (1 - b1) g';  v = b2 v + (1 - b2) g'^2;  (amsgrad: v_max = max(v_max, v), use v_max for v)
// p -= (lr / (1 - b1^t)) m / (sqrt(v) / sqrt(1 - b2^t) + eps)
template <typename T>
void adam_update(T* p, const T* g, T* m, T* v, T* v_max, int64_t n, const AdamArgs<T>& a);

// sum of x^2 accumulated in float64; x *= s
template <typename T>
double sum_squares(const T* x, int64_t n);
template <typename T>
void scale_inplace(T* x, int64_t n, T s);

// ---- the per-ISA tables (single-threaded loops over [0, n)) -----------------------------------------
template <typename T>
struct OptimKernels {
  void (*sgd)(T* p, const T* g, T* velocity, int64_t n, const SgdArgs<T>& a);
  void (*adagrad)(T* p, const T* g, T* acc, int64_t n, double lr, double eps, double weight_decay);
  void (*rmsprop)(T* p, const T* g, T* sq, T* mom_buf, T* grad_avg, int64_t n, const RmspropArgs<T>& a);
  void (*adam)(T* p, const T* g, T* m, T* v, T* v_max, int64_t n, const AdamArgs<T>& a);
  double (*sum_squares)(const T* x, int64_t n);
  void (*scale)(T* x, int64_t n, T s);
};
extern const OptimKernels<float> optim_generic_f32, optim_avx2_f32, optim_avx512_f32;
extern const OptimKernels<double> optim_generic_f64, optim_avx2_f64, optim_avx512_f64;

}  // namespace dlcore::cpu
