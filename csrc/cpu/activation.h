// CPU activations, forward and backward, and softmax / log-softmax along an axis.
//
// Elementwise kernels take n contiguous elements; the output may be the input itself (in place).
// Backward kernels compute dx = dy * f'(.) where the second operand z is the forward OUTPUT y for
// relu, sigmoid and tanh (what a layer keeps) and the forward INPUT x for every other activation;
// dx may alias dy or z.
//
// Softmax works on an array viewed as (outer, n, inner) and normalizes along the middle axis of
// length n: the last axis is inner == 1 (the fast path: one contiguous row at a time), any other axis
// has inner > 1.
//
// float32 runs the SIMD kernels of the active ISA (activation_avx512.cpp, activation_avx2.cpp; the
// math in activation_simd.h) or the portable ones; float64 always runs the portable kernels, which
// use the C++ library's exp/tanh/erfc (these are the precision path: gradient checks, references).
// Above kParallelThreshold elements the work is split over the OpenMP pool.
#pragma once
#include <cstdint>

#include "common/codes.h"  // enum class Activation

namespace dlcore::cpu {

// `param`: negative_slope for leaky_relu, alpha for elu, ignored otherwise.
template <typename T>
void activation_forward(Activation act, const T* x, T* y, int64_t n, T param);
template <typename T>
void activation_backward(Activation act, const T* dy, const T* z, T* dx, int64_t n, T param);

// y = softmax(x) (log_softmax when `log`) along the middle axis of (outer, n, inner).
template <typename T>
void softmax_forward(const T* x, T* y, int64_t outer, int64_t n, int64_t inner, bool log);
// softmax:     dx = y * (dy - sum(dy * y))        (y the softmax output)
// log_softmax: dx = dy - exp(y) * sum(dy)         (y the log-softmax output)
template <typename T>
void softmax_backward(const T* dy, const T* y, T* dx, int64_t outer, int64_t n, int64_t inner, bool log);

// One row of softmax cross-entropy: g = scale * softmax(x); stores the shift m = max(x) in *shift and
// returns log(sum(exp(x - m))), so that logsumexp(x) - x_c = (m - x_c) + the returned value keeps
// full precision for large logits (adding m first would round it to m's ulp). Used by loss.cpp.
template <typename T>
T softmax_xent_row(const T* x, T* g, int64_t n, T scale, T* shift);

// ---- the per-ISA float32 table -------------------------------------------------------------------
// Single-threaded kernels on contiguous data; the threading is done by the callers above.
struct ActKernelsF32 {
  void (*forward)(Activation act, const float* x, float* y, int64_t n, float param);
  void (*backward)(Activation act, const float* dy, const float* z, float* dx, int64_t n, float param);
  void (*softmax_row)(const float* x, float* y, int64_t n, bool log);
  void (*softmax_backward_row)(const float* dy, const float* y, float* dx, int64_t n, bool log);
  float (*xent_row)(const float* x, float* g, int64_t n, float scale, float* shift);
  // The vector math itself, exposed so tests can measure its error on a dense grid:
  // fn 0 exp, 1 expm1, 2 tanh, 3 log1p (on [0, 1]), 4 erfc (on [0, inf)).
  void (*math)(int fn, const float* x, float* y, int64_t n);
  const char* name;
};
extern const ActKernelsF32 act_kernels_generic_f32, act_kernels_avx2_f32, act_kernels_avx512_f32;
const ActKernelsF32& act_kernels_f32();  // the active ISA's

}  // namespace dlcore::cpu
