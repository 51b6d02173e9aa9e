// The pooling kernels (shapes, layouts and formulas: pool2d.h).
//
// This file is included by pool2d.cpp (portable build), pool2d_avx2.cpp and pool2d_avx512.cpp, each
// with DLCORE_POOL_NS set to its own namespace: one source, one compiled copy per ISA. The inner
// loops run over the C contiguous channels of one pixel and are written so the compiler vectorizes
// them (`omp simd`, branch-free selects).
#include <algorithm>
#include <cstring>
#include <vector>

#include "cpu/cpu.h"
#include "cpu/pool2d.h"
#include "cpu/thread_pool.h"

namespace dlcore::cpu::DLCORE_POOL_NS {

namespace {

// The window of output pixel (oh, ow), clipped to the image: rows [ih0, ih1), columns [iw0, iw1).
struct Window {
  int64_t ih0, ih1, iw0, iw1;
  int64_t count() const { return (ih1 - ih0) * (iw1 - iw0); }
};

inline Window window_of(const Pool2dGeometry& s, int64_t oh, int64_t ow) {
  const int64_t h0 = oh * s.sh - s.pt, w0 = ow * s.sw - s.pl;
  return {std::max<int64_t>(h0, 0), std::min(h0 + s.kh, s.h), std::max<int64_t>(w0, 0), std::min(w0 + s.kw, s.w)};
}

inline int pool_threads(int64_t work, int64_t units) {
  return int(std::min<int64_t>(threads_for(work), std::max<int64_t>(units, 1)));
}

// The input rows that backward row `oh` of image n clears and owns when windows do not overlap
// across output rows (kh <= sh): its stride band, with the first band reaching up to row 0 and the
// last down to row h. The bands of one image are disjoint and cover it.
inline void row_band(const Pool2dGeometry& s, int64_t oh, int64_t* b0, int64_t* b1) {
  *b0 = oh == 0 ? 0 : std::clamp<int64_t>(oh * s.sh - s.pt, 0, s.h);
  *b1 = oh == s.ho - 1 ? s.h : std::clamp<int64_t>((oh + 1) * s.sh - s.pt, 0, s.h);
}

// Runs body(n, oh) for every output row of the backward pass with dx cleared beforehand, in
// parallel without two threads ever adding to the same dx pixel: over N*Ho rows when windows of
// different rows are disjoint (each row clears its band first, while it is about to be hot in
// cache), else over whole images.
template <typename T, typename Body>
void backward_rows(const Pool2dGeometry& s, T* dx, int64_t work, Body body) {
  const int64_t img = s.h * s.w * s.c;
  if (s.kh <= s.sh) {
    const int64_t rows = s.n * s.ho;
    const int nt = pool_threads(work, rows);
    parallel_for(rows, nt, [&](int64_t r) {
      const int64_t n = r / s.ho, oh = r % s.ho;
      int64_t b0, b1;
      row_band(s, oh, &b0, &b1);
      std::fill(dx + n * img + b0 * s.w * s.c, dx + n * img + b1 * s.w * s.c, T(0));
      body(n, oh);
    });
  } else {
    const int nt = pool_threads(work, s.n);
    parallel_for(s.n, nt, [&](int64_t n) {
      std::fill(dx + n * img, dx + (n + 1) * img, T(0));
      for (int64_t oh = 0; oh < s.ho; ++oh) body(n, oh);
    });
  }
}

// When no two windows share a pixel (kh <= sh and kw <= sw, the usual 2x2 / stride 2), the backward
// pass can write each dx pixel once instead of clearing dx and adding into it: every pixel is
// either in exactly one window (written by body(n, oh)) or in none (cleared here). Threads split
// the N*Ho output rows; row oh owns its stride band of input rows (row_band).
template <typename T, typename Body>
void backward_rows_disjoint(const Pool2dGeometry& s, T* dx, int64_t work, Body body) {
  const int64_t C = s.c, img = s.h * s.w * C, rows = s.n * s.ho;
  const int nt = pool_threads(work, rows);
  parallel_for(rows, nt, [&](int64_t r) {
    const int64_t n = r / s.ho, oh = r % s.ho;
    int64_t b0, b1;
    row_band(s, oh, &b0, &b1);
    const Window rw = window_of(s, oh, 0);  // the row range is the same for every ow
    T* dxn = dx + n * img;
    for (int64_t ih = b0; ih < b1; ++ih) {
      T* row = dxn + ih * s.w * C;
      if (ih < rw.ih0 || ih >= rw.ih1) {
        std::fill(row, row + s.w * C, T(0));
        continue;
      }
      int64_t next = 0;  // clear the columns between and around the windows
      for (int64_t ow = 0; ow < s.wo; ++ow) {
        const Window cw = window_of(s, oh, ow);
        if (cw.iw0 > next) std::fill(row + next * C, row + cw.iw0 * C, T(0));
        next = std::max(next, cw.iw1);
      }
      if (next < s.w) std::fill(row + next * C, row + s.w * C, T(0));
    }
    body(n, oh);
  });
}

inline bool windows_disjoint(const Pool2dGeometry& s) { return s.kh <= s.sh && s.kw <= s.sw; }

}  // namespace

// ------------------------------------------------------------------------------------ max pooling

// The channel loops run on one SIMD register of this ISA at a time (a GCC/Clang vector type, so
// the same source compiles per ISA), then on the remaining C % L channels one by one.
template <typename T>
struct Simd {
  typedef T V __attribute__((vector_size(DLCORE_POOL_VEC_BYTES)));
  static constexpr int64_t L = DLCORE_POOL_VEC_BYTES / int64_t(sizeof(T));  // lanes
  static V load(const T* p) {
    V v;
    std::memcpy(&v, p, sizeof(V));
    return v;
  }
  static void store(T* p, V v) { std::memcpy(p, &v, sizeof(V)); }
};

// The maximum over the window of channels [c0, c0 + L): seeded with the first pixel. A NaN anywhere
// in the window makes the maximum NaN (NumPy's and PyTorch's max): `v > m || v != v` takes v when it
// is larger or NaN, and once m is NaN nothing is larger than it.
template <typename T>
inline typename Simd<T>::V window_max(const T* xn, const Pool2dGeometry& s, const Window& win, int64_t c0) {
  using S = Simd<T>;
  const int64_t C = s.c;
  typename S::V m = S::load(xn + (win.ih0 * s.w + win.iw0) * C + c0);
  for (int64_t ih = win.ih0; ih < win.ih1; ++ih)
    for (int64_t iw = ih == win.ih0 ? win.iw0 + 1 : win.iw0; iw < win.iw1; ++iw) {
      const typename S::V v = S::load(xn + (ih * s.w + iw) * C + c0);
      m = (v > m) | (v != v) ? v : m;
    }
  return m;
}

template <typename T>
inline T window_max_scalar(const T* xn, const Pool2dGeometry& s, const Window& win, int64_t c) {
  const int64_t C = s.c;
  T m = xn[(win.ih0 * s.w + win.iw0) * C + c];
  for (int64_t ih = win.ih0; ih < win.ih1; ++ih)
    for (int64_t iw = ih == win.ih0 ? win.iw0 + 1 : win.iw0; iw < win.iw1; ++iw) {
      const T v = xn[(ih * s.w + iw) * C + c];
      m = (v > m || v != v) ? v : m;
    }
  return m;
}

template <typename T>
void max_fwd(const Pool2dGeometry& s, const T* x, T* y) {
  using S = Simd<T>;
  const int64_t rows = s.n * s.ho, C = s.c;
  const int nt = pool_threads(rows * s.wo * s.kh * s.kw * C, rows);
  parallel_for(rows, nt, [&](int64_t r) {
    const int64_t n = r / s.ho, oh = r % s.ho;
    const T* xn = x + n * s.h * s.w * C;
    for (int64_t ow = 0; ow < s.wo; ++ow) {
      const Window win = window_of(s, oh, ow);
      T* yp = y + (r * s.wo + ow) * C;
      int64_t c0 = 0;
      for (; c0 + S::L <= C; c0 += S::L) S::store(yp + c0, window_max(xn, s, win, c0));
      for (; c0 < C; ++c0) yp[c0] = window_max_scalar(xn, s, win, c0);
    }
  });
}

// For each output pixel: recompute the window's maximum per channel, then walk the window in
// order; the first pixel equal to the maximum (the first NaN, when the maximum is NaN) receives the
// remaining gradient `rem`, which then drops to zero, so later equal pixels receive nothing.
// Branch-free over channels.
template <typename T>
void max_bwd(const Pool2dGeometry& s, const T* dy, const T* x, T* dx) {
  using S = Simd<T>;
  const int64_t C = s.c, img = s.h * s.w * C;
  const bool disjoint = windows_disjoint(s);
  auto row = [&](int64_t n, int64_t oh) {
    const T* xn = x + n * img;
    T* dxn = dx + n * img;
    const typename S::V zero = {};
    for (int64_t ow = 0; ow < s.wo; ++ow) {
      const Window win = window_of(s, oh, ow);
      const T* g = dy + ((n * s.ho + oh) * s.wo + ow) * C;
      int64_t c0 = 0;
      for (; c0 + S::L <= C; c0 += S::L) {
        const typename S::V m = window_max(xn, s, win, c0);
        typename S::V rem = S::load(g + c0);
        for (int64_t ih = win.ih0; ih < win.ih1; ++ih)
          for (int64_t iw = win.iw0; iw < win.iw1; ++iw) {
            const int64_t at = (ih * s.w + iw) * C + c0;
            const typename S::V xv = S::load(xn + at);
            const auto hit = (xv == m) | ((xv != xv) & (m != m));
            const typename S::V add = hit ? rem : zero;
            S::store(dxn + at, disjoint ? add : S::load(dxn + at) + add);  // disjoint: this window alone covers it
            rem = hit ? zero : rem;
          }
      }
      for (; c0 < C; ++c0) {
        const T m = window_max_scalar(xn, s, win, c0);
        T rem = g[c0];
        for (int64_t ih = win.ih0; ih < win.ih1; ++ih)
          for (int64_t iw = win.iw0; iw < win.iw1; ++iw) {
            const int64_t at = (ih * s.w + iw) * C + c0;
            const bool hit = xn[at] == m || (xn[at] != xn[at] && m != m);
            const T add = hit ? rem : T(0);
            dxn[at] = disjoint ? add : dxn[at] + add;
            rem = hit ? T(0) : rem;
          }
      }
    }
  };
  const int64_t work = s.n * s.ho * s.wo * s.kh * s.kw * C * 3;
  if (disjoint)
    backward_rows_disjoint<T>(s, dx, work, row);
  else
    backward_rows<T>(s, dx, work, row);
}

// -------------------------------------------------------------------------------- average pooling

template <typename T>
void avg_fwd(const Pool2dGeometry& s, const T* x, T* y) {
  const int64_t rows = s.n * s.ho, C = s.c;
  const int nt = pool_threads(rows * s.wo * s.kh * s.kw * C, rows);
  parallel_for(rows, nt, [&](int64_t r) {
    const int64_t n = r / s.ho, oh = r % s.ho;
    const T* xn = x + n * s.h * s.w * C;
    for (int64_t ow = 0; ow < s.wo; ++ow) {
      const Window win = window_of(s, oh, ow);
      T* yp = y + (r * s.wo + ow) * C;
      std::fill(yp, yp + C, T(0));
      for (int64_t ih = win.ih0; ih < win.ih1; ++ih)
        for (int64_t iw = win.iw0; iw < win.iw1; ++iw) {
          const T* p = xn + (ih * s.w + iw) * C;
#pragma omp simd
          for (int64_t c = 0; c < C; ++c) yp[c] += p[c];
        }
      const T inv = T(1) / T(win.count());
#pragma omp simd
      for (int64_t c = 0; c < C; ++c) yp[c] *= inv;
    }
  });
}

template <typename T>
void avg_bwd(const Pool2dGeometry& s, const T* dy, T* dx) {
  const int64_t C = s.c, img = s.h * s.w * C;
  const bool disjoint = windows_disjoint(s);
  auto row = [&](int64_t n, int64_t oh) {
    T* dxn = dx + n * img;
    for (int64_t ow = 0; ow < s.wo; ++ow) {
      const Window win = window_of(s, oh, ow);
      const T* g = dy + ((n * s.ho + oh) * s.wo + ow) * C;
      const T inv = T(1) / T(win.count());
      for (int64_t ih = win.ih0; ih < win.ih1; ++ih)
        for (int64_t iw = win.iw0; iw < win.iw1; ++iw) {
          T* d = dxn + (ih * s.w + iw) * C;
          if (disjoint) {
#pragma omp simd
            for (int64_t c = 0; c < C; ++c) d[c] = g[c] * inv;
          } else {
#pragma omp simd
            for (int64_t c = 0; c < C; ++c) d[c] += g[c] * inv;
          }
        }
    }
  };
  const int64_t work = s.n * s.ho * s.wo * s.kh * s.kw * C;
  if (disjoint)
    backward_rows_disjoint<T>(s, dx, work, row);
  else
    backward_rows<T>(s, dx, work, row);
}

// ------------------------------------------------------------------------- global average pooling

template <typename T>
void gavg_fwd(int64_t n, int64_t hw, int64_t c, const T* x, T* y) {
  const int nt = pool_threads(n * hw * c, n);
  const T inv = T(1) / T(hw);
  parallel_for(n, nt, [&](int64_t i) {
    T* yp = y + i * c;
    std::fill(yp, yp + c, T(0));
    for (int64_t p = 0; p < hw; ++p) {
      const T* xp = x + (i * hw + p) * c;
#pragma omp simd
      for (int64_t k = 0; k < c; ++k) yp[k] += xp[k];
    }
#pragma omp simd
    for (int64_t k = 0; k < c; ++k) yp[k] *= inv;
  });
}

template <typename T>
void gavg_bwd(int64_t n, int64_t hw, int64_t c, const T* dy, T* dx) {
  const int64_t rows = n * hw;
  const int nt = pool_threads(rows * c, rows);
  const T inv = T(1) / T(hw);
  parallel_for(rows, nt, [&](int64_t r) {
    const T* g = dy + (r / hw) * c;
    T* d = dx + r * c;
#pragma omp simd
    for (int64_t k = 0; k < c; ++k) d[k] = g[k] * inv;
  });
}

#define DLCORE_POOL_INSTANTIATE(T)                                         \
  template void max_fwd<T>(const Pool2dGeometry&, const T*, T*);           \
  template void max_bwd<T>(const Pool2dGeometry&, const T*, const T*, T*); \
  template void avg_fwd<T>(const Pool2dGeometry&, const T*, T*);           \
  template void avg_bwd<T>(const Pool2dGeometry&, const T*, T*);           \
  template void gavg_fwd<T>(int64_t, int64_t, int64_t, const T*, T*);      \
  template void gavg_bwd<T>(int64_t, int64_t, int64_t, const T*, T*);
DLCORE_POOL_INSTANTIATE(float)
DLCORE_POOL_INSTANTIATE(double)
#undef DLCORE_POOL_INSTANTIATE

}  // namespace dlcore::cpu::DLCORE_POOL_NS
