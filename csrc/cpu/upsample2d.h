// 2-D upsampling by integer factors on the CPU, NHWC (Keras's layout), forward and backward.
//
//   x  (N, H, W, C)              input, channels last (contiguous)
//   y  (N, H*fh, W*fw, C)        output
//
//   y[n, oh, ow, c] = sum over the taps (ha, wa) of (oh, ow) of wt_h(oh, ha) * wt_w(ow, wa) * x[n, ha, wa, c]
//
// with the taps and weights of csrc/common/upsample.h: nearest repeats every pixel fh x fw times,
// bilinear interpolates with half-pixel centres (Keras's UpSampling2D, interpolation="bilinear").
// The backward pass is the adjoint: dx[n, h, w, c] = sum over the outputs that read (h, w) of their
// weight times dy. It gathers (each input row sums the output rows that read it), so threads never
// write the same dx pixel and the result does not depend on the thread count.
//
// Channels are contiguous, so every inner loop runs over C and vectorizes; threads split the rows.
// Kernels trust their preconditions; validation lives in src/dlcore/kernels/upsample2d.py and the
// binding.
#pragma once
#include <cstdint>

#include "common/codes.h"     // Interpolation
#include "common/geometry.h"  // Upsample2dGeometry

namespace dlcore::cpu {

template <typename T>
void upsample2d_forward(const Upsample2dGeometry& s, Interpolation mode, const T* x, T* y);
template <typename T>
void upsample2d_backward(const Upsample2dGeometry& s, Interpolation mode, const T* dy, T* dx);

// One axis of the upsampling, tabulated once per call by upsample2d.cpp from common/upsample.h:
//   taps     output o reads w0[o] * x[i0[o]] + w1[o] * x[i1[o]]            (forward)
//   readers  input i is read by outputs o[k] with weight wt[k],
//            k in [begin[i], begin[i + 1]), zero weights left out          (backward)
template <typename T>
struct UpsampleAxis {
  const int64_t *i0, *i1;
  const T *w0, *w1;
  const int64_t *begin, *o;
  const T* wt;
};

// One compiled copy of the kernels per ISA (upsample2d_kernels.h, built by upsample2d.cpp,
// upsample2d_avx2.cpp and upsample2d_avx512.cpp); the functions above pick one with active_isa().
#define DLCORE_UPSAMPLE_DECLARE(ns)                                                                    \
  namespace ns {                                                                                       \
  template <typename T>                                                                                \
  void nearest_fwd(const Upsample2dGeometry& s, const T* x, T* y);                                     \
  template <typename T>                                                                                \
  void bilinear_fwd(const Upsample2dGeometry& s, const UpsampleAxis<T>& ah, const UpsampleAxis<T>& aw, \
                    const T* x, T* y);                                                                 \
  template <typename T>                                                                                \
  void bwd(const Upsample2dGeometry& s, const UpsampleAxis<T>& ah, const UpsampleAxis<T>& aw,          \
           int64_t taps_per_output, const T* dy, T* dx);                                               \
  }
DLCORE_UPSAMPLE_DECLARE(upsample_generic)
DLCORE_UPSAMPLE_DECLARE(upsample_avx2)
DLCORE_UPSAMPLE_DECLARE(upsample_avx512)
#undef DLCORE_UPSAMPLE_DECLARE

}  // namespace dlcore::cpu
