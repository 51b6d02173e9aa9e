// The convolution kernels compiled once per ISA: the direct kernels for few input channels (Cin = 1
// grey, 3 RGB: the first layer of an image network), and the Winograd tile transforms.
//
// Few input channels:
// There K = kh*kw*Cin (27 for a 3x3 RGB filter) is too small for a GEMM to pay off. Instead every
// output pixel loops over its window and accumulates x * w[tap, :] into vectors of Cout outputs;
// the innermost loops run over Cout, which is contiguous in w, y and dy (NHWC), so they vectorize.
// The forward and the filter gradient take any Cin (conv2d.cpp decides up to which they pay);
// backward-data, Cin = 1 only.
//
// This file is included by conv2d.cpp (portable build), conv2d_avx2.cpp and conv2d_avx512.cpp, each
// with DLCORE_CONV_NS set to its own namespace, so one source gives one compiled copy per ISA.
// Shapes and layouts: see conv2d.h.
#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

#include "cpu/conv2d.h"
#include "cpu/cpu.h"
#include "cpu/thread_pool.h"

namespace dlcore::cpu::DLCORE_CONV_NS {

// The SIMD register width of this ISA, in bytes.
constexpr int64_t kVecBytes = DLCORE_CONV_VEC_BYTES;

// One SIMD register of this ISA as a GCC/Clang vector type (written once, compiled per ISA); the
// compiler's own auto-vectorization is not reliable enough here (it keeps accumulators in memory).
template <typename T>
struct Simd {
  typedef T V __attribute__((vector_size(kVecBytes)));
  static constexpr int64_t L = kVecBytes / int64_t(sizeof(T));  // lanes
  static V load(const T* p) {
    V v;
    std::memcpy(&v, p, sizeof(V));
    return v;
  }
  static void store(T* p, V v) { std::memcpy(p, &v, sizeof(V)); }
  // Every lane x. Written x - 0, which is x for every x, so that the compiler drops it and
  // broadcasts straight from memory; x + 0 is not x when x is -0, and was compiled as a scalar add
  // and a broadcast between registers.
  static V set1(T x) { return x - V{}; }
};

// P output pixels, NV vectors of Cout each: pixel q reads tap t at px[q][o[t]] (in x itself, or in
// a zero-padded copy of its rows: for_pixel_groups). Each row of w is loaded once for the P pixels:
// NV loads, P broadcasts and P * NV FMAs per tap, in P * NV independent chains.
template <typename T, int NV, int P>
inline void pixels_block(const T* const* px, const int64_t* o, int64_t taps, const T* w, int64_t C, const T* bias,
                         T* yp) {
  using S = Simd<T>;
  typename S::V a[P][NV];
  for (int q = 0; q < P; ++q)
    for (int v = 0; v < NV; ++v) a[q][v] = bias ? S::load(bias + v * S::L) : S::set1(T(0));
  for (int64_t t = 0; t < taps; ++t) {
    typename S::V wv[NV];
    for (int v = 0; v < NV; ++v) wv[v] = S::load(w + t * C + v * S::L);
    const int64_t ot = o[t];
    for (int q = 0; q < P; ++q) {
      const typename S::V xt = S::set1(px[q][ot]);
      for (int v = 0; v < NV; ++v) a[q][v] += xt * wv[v];
    }
  }
  for (int q = 0; q < P; ++q)
    for (int v = 0; v < NV; ++v) S::store(yp + q * C + v * S::L, a[q][v]);
}

// Output pixels of a convolution with few input channels in groups of G consecutive ones (across
// rows: y and dy are contiguous over them), image by image. A window is kh*kw*Cin values, its "taps"
// (i, j, c) in the order of w's rows; each image is read as H rows of W*Cin values (NHWC). With
// padding, the input rows the pixels read are first copied into a zero-padded buffer (one image
// plane is small beside the kh*kw/(sh*sw) windows that read each value, for every output channel),
// so that every window lies inside what it reads and all pixels of a group read tap t at one offset,
// rel[t] (window_offsets; row stride window_ld). f(px, cnt, p): pixel q < cnt of the group is output
// pixel p + q, its window at px[q]; the entries past cnt (the end of an image or of [p_begin, p_end))
// repeat the last pixel.
inline int64_t window_ld(const Conv2dGeometry& s) {
  return (s.pt || s.pb || s.pl || s.pr ? s.w + s.pl + s.pr : s.w) * s.cin;
}

inline void window_offsets(const Conv2dGeometry& s, int64_t* rel) {
  const int64_t ld = window_ld(s);
  for (int64_t i = 0; i < s.kh; ++i)
    for (int64_t j = 0; j < s.kw; ++j)
      for (int64_t c = 0; c < s.cin; ++c) rel[(i * s.kw + j) * s.cin + c] = i * s.dh * ld + j * s.dw * s.cin + c;
}

template <int G, typename T, class F>
void for_pixel_groups(const Conv2dGeometry& s, const T* x, int64_t p_begin, int64_t p_end, std::vector<T>& rows,
                      F&& f) {
  const int64_t plane = s.ho * s.wo, ld = window_ld(s), row = s.w * s.cin;  // a row of x: W pixels of Cin
  const bool padded = ld != row || s.pt || s.pb;
  for (int64_t n = p_begin / plane; n * plane < p_end; ++n) {
    const int64_t a = std::max(p_begin, n * plane) - n * plane, b = std::min(p_end, (n + 1) * plane) - n * plane;
    // Rows r0 .. r0 + nrows - 1 of the padded image (row r is input row r - pt) hold every window.
    const int64_t r0 = a / s.wo * s.sh, nrows = (b - 1) / s.wo * s.sh + (s.kh - 1) * s.dh + 1 - r0;
    const T* xn = x + n * s.h * row;
    const T* src = xn + r0 * row;  // row r0 of what the windows read
    if (padded) {
      rows.resize(size_t(nrows * ld));
      for (int64_t r = 0; r < nrows; ++r) {
        T* dst = rows.data() + r * ld;
        const int64_t ih = r0 + r - s.pt;
        std::fill(dst, dst + ld, T(0));
        if (ih >= 0 && ih < s.h) std::memcpy(dst + s.pl * s.cin, xn + ih * row, sizeof(T) * size_t(row));
      }
      src = rows.data();
    }
    int64_t oh = a / s.wo, ow = a % s.wo;  // the next pixel
    for (int64_t p = a; p < b; p += G) {
      const int64_t cnt = std::min<int64_t>(G, b - p);
      const T* px[G];
      for (int q = 0; q < G; ++q) {
        if (q < cnt) {
          px[q] = src + (oh * s.sh - r0) * ld + ow * s.sw * s.cin;
          if (++ow == s.wo) ow = 0, ++oh;
        } else {
          px[q] = px[q - 1];
        }
      }
      f(static_cast<const T* const*>(px), cnt, n * plane + p);
    }
  }
}

// Pixels per block of two vectors of Cout: 8, or 4 where the ISA has 16 vector registers (AVX2),
// which then hold 8 accumulators (forward) or 8 dy vectors (filter gradient).
constexpr int kPixels2 = kVecBytes >= 64 ? 8 : 4;

// y[n, oh, ow, :] = act(bias + sum over the window of x[...] * w[tap, :]). Threads split the N*Ho*Wo
// output pixels and take them in groups of 8 (for_pixel_groups; a last partial group of an image
// computes into a buffer). Cout goes two vectors at a time (pixels_block, kPixels2 pixels), then one
// vector for the 8 pixels, then the channels left over one by one.
//
// Before, pixels went four at a time, from a copy of their windows, and border pixels one at a time
// in one chain of FMAs: 64 28x28 images to 16 channels, 5x5 at stride 2 with padding 2, took 0.31 ms
// on one Zen 5 core (32 GFLOP/s: four chains of one vector leave the FMA units waiting, the copies
// cost as much as the FMAs, and a quarter of the pixels are on the border), 0.7x PyTorch's time on
// two. Now 0.12 ms on one core.
template <typename T>
void conv_direct_forward(const Conv2dGeometry& s, const T* x, const T* w, const T* bias, Epilogue act, T* y) {
  using S = Simd<T>;
  constexpr int G = 8, P2 = kPixels2;
  static_assert(G % P2 == 0, "two-vector blocks tile a group");
  const int64_t pixels = s.n * s.ho * s.wo, C = s.cout, taps = s.kh * s.kw * s.cin;  // w's rows
  if (pixels == 0) return;
  const int nt = std::min<int64_t>(threads_for(2 * pixels * taps * C), std::max<int64_t>(pixels / G, 1));
  parallel_ranges(pixels, nt, nt, [&](int64_t p_begin, int64_t p_end) {
    std::vector<int64_t> rel(static_cast<size_t>(taps));
    window_offsets(s, rel.data());
    std::vector<T> rows, ytail(static_cast<size_t>(G * C));
    for_pixel_groups<G>(s, x, p_begin, p_end, rows, [&](const T* const* px, int64_t cnt, int64_t p) {
      T* const yg = y + p * C;
      T* yp = cnt == G ? yg : ytail.data();
      int64_t c0 = 0;
      for (; c0 + 2 * S::L <= C; c0 += 2 * S::L)
        for (int q0 = 0; q0 < G; q0 += P2)
          pixels_block<T, 2, P2>(px + q0, rel.data(), taps, w + c0, C, bias ? bias + c0 : nullptr,
                                 yp + q0 * C + c0);
      if (c0 + S::L <= C) {
        pixels_block<T, 1, G>(px, rel.data(), taps, w + c0, C, bias ? bias + c0 : nullptr, yp + c0);
        c0 += S::L;
      }
      for (int q = 0; q < G && c0 < C; ++q)
        for (int64_t c = c0; c < C; ++c) {
          T acc = bias ? bias[c] : T(0);
          for (int64_t t = 0; t < taps; ++t) acc += px[q][rel[size_t(t)]] * w[t * C + c];
          yp[q * C + c] = acc;
        }
      if (cnt < G) std::memcpy(yg, ytail.data(), sizeof(T) * size_t(cnt * C));
      apply_epilogue<T>(yg, C, cnt, C, GemmEpilogue<T>{nullptr, act});
    });
  });
}

// acc[t * C + 0 : NV vectors] += sum over the P pixels q of px[q][o[t]] * g[q][0 : NV vectors], for
// every tap t: the pixels' dy vectors stay in registers for all taps; each tap's sum runs in two
// chains (even and odd pixels), and the taps' sums are independent of each other.
template <typename T, int NV, int P>
inline void filter_block(const T* const* px, const int64_t* o, int64_t taps, const T* const* g, int64_t C, T* acc) {
  using S = Simd<T>;
  static_assert(P % 2 == 0, "two chains");
  typename S::V gv[P][NV];
  for (int q = 0; q < P; ++q)
    for (int v = 0; v < NV; ++v) gv[q][v] = S::load(g[q] + v * S::L);
  for (int64_t t = 0; t < taps; ++t) {
    const int64_t ot = o[t];
    T* at = acc + t * C;
    typename S::V a0[NV], a1[NV];
    for (int v = 0; v < NV; ++v) a0[v] = S::load(at + v * S::L), a1[v] = S::set1(T(0));
    for (int q = 0; q < P; q += 2) {
      const typename S::V x0 = S::set1(px[q][ot]), x1 = S::set1(px[q + 1][ot]);
      for (int v = 0; v < NV; ++v) a0[v] += x0 * gv[q][v], a1[v] += x1 * gv[q + 1][v];
    }
    for (int v = 0; v < NV; ++v) S::store(at + v * S::L, a0[v] + a1[v]);
  }
}

// dw[tap, :] = sum over output pixels of x[pixel's tap] * dy[pixel, :]. Threads split the output
// pixels, each summing into a private (taps x Cout) buffer (added at the end), and take them in
// groups of 8 as the forward does (for_pixel_groups; the pixels past a partial group's end read a
// zero dy row). Per group, Cout goes two vectors at a time (filter_block, kPixels2 pixels at a
// time), then one vector, then the channels left over one by one.
//
// Before, each output row, tap and block of Cout summed over the row's pixels in one or two chains
// of FMAs, waiting on each: 64 28x28 images to 16 channels, 5x5 at stride 2 with padding 2, took
// 0.33 ms on two Zen 5 cores.
template <typename T>
void conv_direct_backward_filter(const Conv2dGeometry& s, const T* dy, const T* x, T* dw) {
  using S = Simd<T>;
  constexpr int G = 8, P2 = kPixels2;
  const int64_t pixels = s.n * s.ho * s.wo, C = s.cout, taps = s.kh * s.kw * s.cin;  // w's rows
  std::fill(dw, dw + taps * C, T(0));
  if (pixels == 0) return;
  const int nt = std::min<int64_t>(threads_for(2 * pixels * taps * C), std::max<int64_t>(pixels / G, 1));
  std::vector<T> partial(size_t(std::max(nt - 1, 0)) * size_t(taps * C));
  parallel_tasks(nt, nt, [&](int64_t tid) {  // task tid sums its pixels into its own buffer
    T* acc = tid == 0 ? dw : partial.data() + size_t(tid - 1) * size_t(taps * C);
    if (tid > 0) std::fill(acc, acc + taps * C, T(0));
    std::vector<int64_t> rel(static_cast<size_t>(taps));
    window_offsets(s, rel.data());
    std::vector<T> rows, zeros(static_cast<size_t>(C), T(0));
    for_pixel_groups<G>(s, x, pixels * tid / nt, pixels * (tid + 1) / nt, rows,
                        [&](const T* const* px, int64_t cnt, int64_t p) {
      const T* g[G];
      for (int q = 0; q < G; ++q) g[q] = q < cnt ? dy + (p + q) * C : zeros.data();
      int64_t c0 = 0;
      const T* gc[G];
      for (; c0 + 2 * S::L <= C; c0 += 2 * S::L) {
        for (int q = 0; q < G; ++q) gc[q] = g[q] + c0;
        for (int q0 = 0; q0 < G; q0 += P2) filter_block<T, 2, P2>(px + q0, rel.data(), taps, gc + q0, C, acc + c0);
      }
      if (c0 + S::L <= C) {
        for (int q = 0; q < G; ++q) gc[q] = g[q] + c0;
        filter_block<T, 1, G>(px, rel.data(), taps, gc, C, acc + c0);
        c0 += S::L;
      }
      for (int64_t t = 0; t < taps && c0 < C; ++t)
        for (int64_t c = c0; c < C; ++c) {
          T sum = T(0);
          for (int q = 0; q < cnt; ++q) sum += px[q][rel[size_t(t)]] * g[q][c];
          acc[t * C + c] += sum;
        }
    });
  });
  for (int t = 1; t < nt; ++t) {
    const T* p = partial.data() + size_t(t - 1) * size_t(taps * C);
    for (int64_t i = 0; i < taps * C; ++i) dw[i] += p[i];
  }
}

// dx: for each output pixel p, v[tap] = dot(dy[p, :], w[tap, :]) for all taps at once, as
// v += dy[p, c] * wt[c, :] over c with wt = w^T padded to TP taps (the taps are the SIMD lanes), for
// P pixels at a time so that P independent accumulator chains hide the FMA latency. Then v[tap] is
// added to the input value that tap read, in a zero-padded copy of the image when there is padding
// (the taps of every window at the same offsets rel[t], as in for_pixel_groups), whose interior is
// then dx. Threads split the images (windows overlap inside one). Taps are (i, j, c) for any Cin.
template <typename T, int64_t TP>
void direct_backward_data_tp(const Conv2dGeometry& s, const T* dy, const T* w, T* dx) {
  constexpr int64_t P = 8;
  const int64_t C = s.cout, taps = s.kh * s.kw * s.cin, pix = s.ho * s.wo, row = s.w * s.cin;
  const int64_t ld = window_ld(s), hp = (s.ho - 1) * s.sh + (s.kh - 1) * s.dh + 1;  // rows the windows read
  const bool padded = ld != row || s.pt || s.pb;
  std::vector<T> wt(size_t(C * TP), T(0));
  for (int64_t t = 0; t < taps; ++t)
    for (int64_t c = 0; c < C; ++c) wt[size_t(c * TP + t)] = w[t * C + c];
  const int nt = std::min<int64_t>(threads_for(2 * s.n * pix * taps * C), std::max<int64_t>(s.n, 1));
  parallel_ranges(s.n, nt, nt, [&](int64_t n_begin, int64_t n_end) {
    std::vector<int64_t> rel(static_cast<size_t>(taps));
    window_offsets(s, rel.data());
    std::vector<T> image(padded ? size_t(hp * ld) : 0);
    for (int64_t n = n_begin; n < n_end; ++n) {
      T* dxn = dx + n * s.h * row;
      T* acc = padded ? image.data() : dxn;
      std::fill(acc, acc + (padded ? hp * ld : s.h * row), T(0));
      int64_t oh = 0, ow = 0;  // the next pixel
      for (int64_t p0 = 0; p0 < pix; p0 += P) {
        const int64_t np = std::min(P, pix - p0);
        T v[P][TP];
        const T* g = dy + (n * pix + p0) * C;
        if (np == P) {
          using S = Simd<T>;
          constexpr int64_t NV = TP / S::L;  // vectors per pixel
          typename S::V a[P][NV];
          for (int64_t q = 0; q < P; ++q)
            for (int64_t k = 0; k < NV; ++k) a[q][k] = S::set1(T(0));
          for (int64_t c = 0; c < C; ++c) {
            const T* wc = wt.data() + c * TP;
            typename S::V wv[NV];
            for (int64_t k = 0; k < NV; ++k) wv[k] = S::load(wc + k * S::L);
            for (int64_t q = 0; q < P; ++q) {
              const typename S::V gq = S::set1(g[q * C + c]);
              for (int64_t k = 0; k < NV; ++k) a[q][k] += gq * wv[k];
            }
          }
          for (int64_t q = 0; q < P; ++q)
            for (int64_t k = 0; k < NV; ++k) S::store(&v[q][k * S::L], a[q][k]);
        } else {
          for (int64_t q = 0; q < np; ++q)
            for (int64_t t = 0; t < TP; ++t) v[q][t] = T(0);
          for (int64_t c = 0; c < C; ++c)
            for (int64_t q = 0; q < np; ++q)
              for (int64_t t = 0; t < TP; ++t) v[q][t] += g[q * C + c] * wt[size_t(c * TP + t)];
        }
        for (int64_t q = 0; q < np; ++q) {
          T* at = acc + oh * s.sh * ld + ow * s.sw * s.cin;
          for (int64_t t = 0; t < taps; ++t) at[rel[size_t(t)]] += v[q][t];
          if (++ow == s.wo) ow = 0, ++oh;
        }
      }
      if (padded)  // dx = the interior; input rows past the last window's read nothing: 0
        for (int64_t ih = 0; ih < s.h; ++ih) {
          const int64_t r = ih + s.pt;
          if (r < hp)
            std::memcpy(dxn + ih * row, image.data() + r * ld + s.pl * s.cin, sizeof(T) * size_t(row));
          else
            std::fill(dxn + ih * row, dxn + (ih + 1) * row, T(0));
        }
    }
  });
}

// The same by gather over dx (for windows of more than 64 taps): dx[n, ih, iw] = sum over the
// output pixels whose window covers it, through tap (i, j), of dot(dy[pixel, :], w[i, j, :]).
template <typename T>
void cin1_backward_data_gather(const Conv2dGeometry& s, const T* dy, const T* w, T* dx) {
  const int64_t rows = s.n * s.h, C = s.cout;
  const int nt = std::min<int64_t>(threads_for(2 * s.n * s.ho * s.wo * s.kh * s.kw * C), std::max<int64_t>(rows, 1));
  parallel_tasks(rows, nt, [&](int64_t r) {
    const int64_t n = r / s.h, ih = r % s.h;
    T* dxrow = dx + r * s.w;
    for (int64_t iw = 0; iw < s.w; ++iw) dxrow[iw] = T(0);
    for (int64_t i = 0; i < s.kh; ++i) {
      const int64_t th = ih + s.pt - i * s.dh;  // = oh * sh
      if (th < 0 || th % s.sh) continue;
      const int64_t oh = th / s.sh;
      if (oh >= s.ho) continue;
      for (int64_t j = 0; j < s.kw; ++j) {
        const T* wt = w + (i * s.kw + j) * C;
        for (int64_t iw = 0; iw < s.w; ++iw) {
          const int64_t tw = iw + s.pl - j * s.dw;
          if (tw < 0 || tw % s.sw) continue;
          const int64_t ow = tw / s.sw;
          if (ow >= s.wo) continue;
          const T* g = dy + ((n * s.ho + oh) * s.wo + ow) * C;
          T sum = T(0);
#pragma omp simd reduction(+ : sum)
          for (int64_t c = 0; c < C; ++c) sum += g[c] * wt[c];
          dxrow[iw] += sum;
        }
      }
    }
  });
}

template <typename T>
bool conv_direct_backward_data(const Conv2dGeometry& s, const T* dy, const T* w, T* dx) {
  const int64_t taps = s.kh * s.kw * s.cin;
  if (taps <= 16) return direct_backward_data_tp<T, 16>(s, dy, w, dx), true;
  if (taps <= 32) return direct_backward_data_tp<T, 32>(s, dy, w, dx), true;
  if (taps <= 64) return direct_backward_data_tp<T, 64>(s, dy, w, dx), true;
  if (s.cin != 1) return false;
  cin1_backward_data_gather<T>(s, dy, w, dx);
  return true;
}

// ---- Winograd F(2x2, 3x3) tile transforms (the matrices: conv2d.cpp, forward_winograd) --------
template <typename T>
void winograd_input_tile(const T* const* src, int64_t ci, T* v, int64_t vs) {
#pragma omp simd
  for (int64_t c = 0; c < ci; ++c) {
    T t[4][4];  // B^T d: rows d0 - d2, d1 + d2, d2 - d1, d1 - d3
    for (int b = 0; b < 4; ++b) {
      const T d0 = src[b][c], d1 = src[4 + b][c], d2 = src[8 + b][c], d3 = src[12 + b][c];
      t[0][b] = d0 - d2, t[1][b] = d1 + d2, t[2][b] = d2 - d1, t[3][b] = d1 - d3;
    }
    for (int a = 0; a < 4; ++a) {  // (B^T d) B, the same on each row
      v[(a * 4 + 0) * vs + c] = t[a][0] - t[a][2];
      v[(a * 4 + 1) * vs + c] = t[a][1] + t[a][2];
      v[(a * 4 + 2) * vs + c] = t[a][2] - t[a][1];
      v[(a * 4 + 3) * vs + c] = t[a][1] - t[a][3];
    }
  }
}

template <typename T>
void winograd_output_tile(const T* m, int64_t ms, int64_t co, T* const* dst) {
  T *y0 = dst[0], *y1 = dst[1], *y2 = dst[2], *y3 = dst[3];
#pragma omp simd
  for (int64_t o = 0; o < co; ++o) {
    T t[2][4];  // A^T m: rows m0 + m1 + m2, m1 - m2 - m3
    for (int b = 0; b < 4; ++b) {
      const T m0 = m[b * ms + o], m1 = m[(4 + b) * ms + o], m2 = m[(8 + b) * ms + o], m3 = m[(12 + b) * ms + o];
      t[0][b] = m0 + m1 + m2, t[1][b] = m1 - m2 - m3;
    }
    // (A^T m) A, the same on each row
    y0[o] = t[0][0] + t[0][1] + t[0][2], y1[o] = t[0][1] - t[0][2] - t[0][3];
    y2[o] = t[1][0] + t[1][1] + t[1][2], y3[o] = t[1][1] - t[1][2] - t[1][3];
  }
}

// Z = A dY A^T for the filter gradient, A = [[1, 0], [1, 1], [1, -1], [0, -1]]: A y = (y0, y0 + y1,
// y0 - y1, -y1) on each side.
template <typename T>
void winograd_grad_tile(const T* const* src, int64_t co, T* z, int64_t zs) {
  const T *g00 = src[0], *g01 = src[1], *g10 = src[2], *g11 = src[3];
#pragma omp simd
  for (int64_t o = 0; o < co; ++o) {
    const T a0 = g00[o], a1 = g01[o], b0 = g10[o], b1 = g11[o];
    const T r[4][2] = {{a0, a1}, {a0 + b0, a1 + b1}, {a0 - b0, a1 - b1}, {-b0, -b1}};  // A dY
    for (int a = 0; a < 4; ++a) {  // (A dY) A^T
      z[(a * 4 + 0) * zs + o] = r[a][0];
      z[(a * 4 + 1) * zs + o] = r[a][0] + r[a][1];
      z[(a * 4 + 2) * zs + o] = r[a][0] - r[a][1];
      z[(a * 4 + 3) * zs + o] = -r[a][1];
    }
  }
}

// col2im: the adjoint of im2col (backward-data with a stride, conv2d.cpp). Adds every value of dcol
// (rows [r0, r1) of output pixels, K = kh*kw*Cin values each) onto the input pixel it was read
// from; taps in the padding are dropped. For each output row and filter tap the output pixels whose
// tap lands inside the image form one range, found once, so the inner loop is the Cin-wide add
// alone (a 16-channel layer: one vector per tap). The loop over a tap's pixels adds
// into pixels sw apart; two taps of one output pixel never meet, and the pixels of one tap are
// distinct, so the adds of one (row, tap) pass are independent.
template <typename T>
void col2im_add(const Conv2dGeometry& s, const T* dcol, int64_t r0, int64_t r1, T* dx) {
  const int64_t K = s.k(), ci = s.cin;
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t n = r / s.ho, oh = r % s.ho;
    const T* src_row = dcol + (r - r0) * s.wo * K;
    for (int64_t i = 0; i < s.kh; ++i) {
      const int64_t ih = oh * s.sh + i * s.dh - s.pt;
      if (ih < 0 || ih >= s.h) continue;
      T* drow = dx + (n * s.h + ih) * s.w * ci;
      for (int64_t j = 0; j < s.kw; ++j) {
        // iw = ow * sw + off must lie in [0, w): ow in [lo, hi)
        const int64_t off = j * s.dw - s.pl;
        const int64_t lo = off >= 0 ? 0 : (-off + s.sw - 1) / s.sw;
        const int64_t hi = s.w - 1 - off < 0 ? 0 : std::min<int64_t>(s.wo, (s.w - 1 - off) / s.sw + 1);
        const T* g = src_row + (i * s.kw + j) * ci;
        T* d = drow + off * ci;
        const int64_t gstep = K, dstep = s.sw * ci;
        for (int64_t ow = lo; ow < hi; ++ow) {
          T* dp = d + ow * dstep;
          const T* gp = g + ow * gstep;
#pragma omp simd
          for (int64_t c = 0; c < ci; ++c) dp[c] += gp[c];
        }
      }
    }
  }
}

template void winograd_input_tile<float>(const float* const*, int64_t, float*, int64_t);
template void winograd_input_tile<double>(const double* const*, int64_t, double*, int64_t);
template void winograd_output_tile<float>(const float*, int64_t, int64_t, float* const*);
template void winograd_output_tile<double>(const double*, int64_t, int64_t, double* const*);
template void winograd_grad_tile<float>(const float* const*, int64_t, float*, int64_t);
template void winograd_grad_tile<double>(const double* const*, int64_t, double*, int64_t);

template void conv_direct_forward<float>(const Conv2dGeometry&, const float*, const float*, const float*, Epilogue,
                                       float*);
template void conv_direct_forward<double>(const Conv2dGeometry&, const double*, const double*, const double*, Epilogue,
                                        double*);
template void conv_direct_backward_filter<float>(const Conv2dGeometry&, const float*, const float*, float*);
template void conv_direct_backward_filter<double>(const Conv2dGeometry&, const double*, const double*, double*);
template bool conv_direct_backward_data<float>(const Conv2dGeometry&, const float*, const float*, float*);
template bool conv_direct_backward_data<double>(const Conv2dGeometry&, const double*, const double*, double*);
template void col2im_add<float>(const Conv2dGeometry&, const float*, int64_t, int64_t, float*);
template void col2im_add<double>(const Conv2dGeometry&, const double*, int64_t, int64_t, double*);

}  // namespace dlcore::cpu::DLCORE_CONV_NS
