// The geometry of 2-D convolution, pooling and upsampling, one plain struct each, shared by the CPU
// kernels (csrc/cpu/conv2d.h, pool2d.h, upsample2d.h) and the CUDA kernels (csrc/cuda/*.cuh).
// Images are NHWC (Keras's layout). Every field is int64_t: products such as n * ho * wo * cout pass 2^31 on
// real workloads, and the kernels index with them directly.
#pragma once
#include <cstdint>

#include "common/host_device.h"

namespace dlcore {

// x (n, h, w, cin), filters (kh, kw, cin, cout), y (n, ho, wo, cout).
// Tap (i, j) of output pixel (oh, ow) reads input pixel (oh*sh - pt + i*dh, ow*sw - pl + j*dw), and
// zero outside the image (pt / pb rows of padding at the top / bottom, pl / pr columns on the left /
// right), so ho = (h + pt + pb - ((kh-1)*dh + 1)) / sh + 1, and wo likewise.
struct Conv2dGeometry {
  int64_t n = 0, h = 0, w = 0, cin = 0, cout = 0;  // input and filter sizes
  int64_t kh = 1, kw = 1;                           // filter window
  int64_t sh = 1, sw = 1;                           // strides
  int64_t dh = 1, dw = 1;                           // dilation
  int64_t pt = 0, pb = 0, pl = 0, pr = 0;           // zero padding: top, bottom, left, right
  int64_t ho = 0, wo = 0;                           // output size
  // The CPU binding sets the padding and calls finish(); the CUDA binding is given ho / wo and sets
  // pb / pr to the padding that the last window reaches. The CUDA kernels read pt, pl, ho and wo.

  // Computes ho and wo from the rest; false when the dilated window does not fit the padded input.
  DLCORE_HD bool finish() {
    const int64_t ekh = (kh - 1) * dh + 1, ekw = (kw - 1) * dw + 1;
    if (h + pt + pb < ekh || w + pl + pr < ekw) return false;
    ho = (h + pt + pb - ekh) / sh + 1;
    wo = (w + pl + pr - ekw) / sw + 1;
    return true;
  }
  DLCORE_HD int64_t k() const { return kh * kw * cin; }  // the GEMM's inner dimension, kh*kw*cin
};

// Depthwise (one filter per channel, filters (kh, kw, cin)): channel c of output pixel (oh, ow) of
// the image at xn, init plus x * w summed over the taps inside the image. The CUDA kernel's every
// output and the CPU kernels' last cin % L channels.
template <typename T>
DLCORE_HD T depthwise_channel_sum(const Conv2dGeometry& g, const T* xn, const T* w, T init, int64_t oh, int64_t ow,
                                  int64_t c) {
  const int64_t C = g.cin;
  T acc = init;
  for (int64_t i = 0; i < g.kh; ++i) {
    const int64_t ih = oh * g.sh + i * g.dh - g.pt;
    if (ih < 0 || ih >= g.h) continue;
    for (int64_t j = 0; j < g.kw; ++j) {
      const int64_t iw = ow * g.sw + j * g.dw - g.pl;
      if (iw >= 0 && iw < g.w) acc += xn[(ih * g.w + iw) * C + c] * w[(i * g.kw + j) * C + c];
    }
  }
  return acc;
}

// x (n, h, w, c), y (n, ho, wo, c). Output pixel (oh, ow) pools rows [oh*sh - pt, oh*sh - pt + kh)
// and columns [ow*sw - pl, ow*sw - pl + kw), clipped to the image; the bottom / right padding follows
// from ho / wo.
struct Pool2dGeometry {
  int64_t n = 0, h = 0, w = 0, c = 0;
  int64_t kh = 1, kw = 1, sh = 1, sw = 1;
  int64_t pt = 0, pl = 0;  // padding above / left of the image
  int64_t ho = 0, wo = 0;
};

// x (n, h, w, c), y (n, h * fh, w * fw, c): upsampling by integer factors (common/upsample.h).
struct Upsample2dGeometry {
  int64_t n = 0, h = 0, w = 0, c = 0;
  int64_t fh = 1, fw = 1;
  DLCORE_HD int64_t ho() const { return h * fh; }
  DLCORE_HD int64_t wo() const { return w * fw; }
};

}  // namespace dlcore
