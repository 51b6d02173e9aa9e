// Integer-factor upsampling along one axis, shared by the CPU kernels (csrc/cpu/upsample2d.cpp) and
// the CUDA kernels (csrc/cuda/upsample2d.cu): which input positions an output position reads, with
// which weights, and which outputs read a given input (for the backward pass, which gathers).
//
// An axis of `len` input positions upsampled by `f` has len * f outputs. Output o reads
//
//   nearest:   input o / f, weight 1 (Keras's UpSampling "nearest": every value repeated f times);
//   bilinear:  src = (o + 0.5) / f - 0.5, the half-pixel centre of o in input coordinates, clamped
//              at 0; i0 = floor(src), i1 = min(i0 + 1, len - 1), weights 1 - (src - i0) on i0 and
//              src - i0 on i1 (tf.image.resize and torch's interpolate with align_corners=False,
//              which Keras's UpSampling2D "bilinear" runs; at the borders both taps read the edge).
//
// A 2-D output pixel is the product of the two axes' taps: sum over (a, b) of wh_a * ww_b * x[ha, wb].
#pragma once
#include <cstdint>

#include "common/codes.h"
#include "common/host_device.h"

namespace dlcore {

// The two taps of output position o: value = (1 - w1) * x[i0] + w1 * x[i1] (nearest: i0 = i1, w1 = 0).
struct UpsampleTaps {
  int64_t i0, i1;
  double w1;
};

DLCORE_HD UpsampleTaps upsample_taps(int64_t o, int64_t f, int64_t len, Interpolation mode) {
  if (mode == Interpolation::nearest) return {o / f, o / f, 0.0};
  double src = (double(o) + 0.5) / double(f) - 0.5;
  if (src < 0.0) src = 0.0;
  int64_t i0 = int64_t(src);  // src >= 0: truncation is floor
  if (i0 > len - 1) i0 = len - 1;
  const int64_t i1 = i0 + 1 < len ? i0 + 1 : len - 1;
  return {i0, i1, src - double(i0)};
}

// The weight with which output o reads input i (0 when it does not read it).
DLCORE_HD double upsample_weight(int64_t i, int64_t o, int64_t f, int64_t len, Interpolation mode) {
  const UpsampleTaps t = upsample_taps(o, f, len, mode);
  return (t.i0 == i ? 1.0 - t.w1 : 0.0) + (t.i1 == i ? t.w1 : 0.0);
}

// The outputs [lo, hi) that may read input i (a superset for bilinear: test with upsample_weight).
// Nearest: exactly i*f .. i*f + f - 1. Bilinear: o reads i only when src(o) lies in [i - 1, i + 1)
// (or at a clamped border), which puts o inside [(i - 1) * f, (i + 2) * f).
DLCORE_HD void upsample_readers(int64_t i, int64_t f, int64_t len, Interpolation mode, int64_t* lo, int64_t* hi) {
  const int64_t out = len * f;
  if (mode == Interpolation::nearest) {
    *lo = i * f;
    *hi = i * f + f;
    return;
  }
  *lo = i >= 1 ? (i - 1) * f : 0;
  *hi = (i + 2) * f < out ? (i + 2) * f : out;
}

}  // namespace dlcore
