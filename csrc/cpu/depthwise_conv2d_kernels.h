// The depthwise convolution kernels (shapes, layouts and formulas: depthwise_conv2d.h).
//
// This file is included by depthwise_conv2d.cpp (portable build), depthwise_conv2d_avx2.cpp and
// depthwise_conv2d_avx512.cpp, each with DLCORE_DEPTHWISE_NS set to its own namespace: one source,
// one compiled copy per ISA (DLCORE_DEPTHWISE_VEC_BYTES its vector width). Every inner loop runs over
// the C contiguous channels of one pixel: a channel's value times its own filter tap, added to its
// own output.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include <immintrin.h>

#include "cpu/cpu.h"
#include "cpu/depthwise_conv2d.h"
#include "cpu/parallel.h"
#include "cpu/scratch.h"

namespace dlcore::cpu::DLCORE_DEPTHWISE_NS {

// One SIMD register of this ISA (a GCC/Clang vector type, so that the same source compiles per ISA):
// the forward pass keeps a pixel's outputs of L channels in it across all the taps.
template <typename T>
struct Vec {
  typedef T V __attribute__((vector_size(DLCORE_DEPTHWISE_VEC_BYTES)));
  static constexpr int64_t L = DLCORE_DEPTHWISE_VEC_BYTES / int64_t(sizeof(T));  // lanes
  static V load(const T* p) {
    V v;
    std::memcpy(&v, p, sizeof(V));
    return v;
  }
  static void store(T* p, V v) { std::memcpy(p, &v, sizeof(V)); }
  // Whether stream_copy (below) writes y with non-temporal stores of this ISA's width.
  static constexpr bool streams = std::is_same_v<T, float> && DLCORE_DEPTHWISE_VEC_BYTES >= 32;
};

// dst[0:n] := src[0:n] with non-temporal stores (float; the first elements up to a 64-byte boundary,
// and the last, with plain ones). For an output far larger than the caches, written once: a plain
// store first reads the line it fills (a third of the memory traffic of a forward pass).
inline void stream_copy(float* dst, const float* src, int64_t n) {
  int64_t i = 0;
  for (; i < n && reinterpret_cast<uintptr_t>(dst + i) % 64 != 0; ++i) dst[i] = src[i];
#if defined(__AVX512F__)
  for (; i + 16 <= n; i += 16) _mm512_stream_ps(dst + i, _mm512_loadu_ps(src + i));
#elif defined(__AVX__)
  for (; i + 8 <= n; i += 8) _mm256_stream_ps(dst + i, _mm256_loadu_ps(src + i));
#else
  for (; i + 4 <= n; i += 4) _mm_stream_ps(dst + i, _mm_loadu_ps(src + i));
#endif
  for (; i < n; ++i) dst[i] = src[i];
}

// One output value, channel c of pixel (oh, ow) of image xn (the last C % L channels, past the last
// whole vector): common/geometry.h's depthwise_channel_sum from the bias.
template <typename T>
T channel_value(const Conv2dGeometry& s, const T* xn, const T* w, const T* bias, int64_t oh, int64_t ow,
                int64_t c) {
  return depthwise_channel_sum(s, xn, w, bias ? bias[c] : T(0), oh, ow, c);
}

// Output columns [lo, hi) whose every tap lies inside the image (lo <= hi).
inline void interior_columns(const Conv2dGeometry& s, int64_t& lo, int64_t& hi) {
  const int64_t span = (s.kw - 1) * s.dw;  // the window's extent past its first column
  lo = std::min(s.wo, (s.pl + s.sw - 1) / s.sw);
  hi = s.w - 1 - span + s.pl >= 0 ? std::min(s.wo, (s.w - 1 - span + s.pl) / s.sw + 1) : 0;
  hi = std::max(lo, hi);
}

// A float32 output larger than the last-level cache: fwd_fixed computes it a row at a time in L1 and
// streams it out.
template <typename T>
bool fwd_streams(const Conv2dGeometry& s) {
  return std::is_same_v<T, float> && s.n * s.ho * s.wo * s.cin * int64_t(sizeof(T)) > cache_sizes().l3;
}

// A KH x KW filter (a compile-time size, the common 3x3 and 5x5): output row (n, oh), NB blocks of
// L channels at a time (two for 3x3, one for 5x5), their NB * KH * KW filter vectors held in
// registers while the blocks' outputs are walked along the row, so that a tap costs one load (x) and
// one FMA; the row's input pixels are read from L1 by the successive block passes. A filter row
// outside the image gets zero weights and reads an inside row, so every row runs the same code; the
// columns whose window lies inside the image run every tap unrolled without a bounds check, the few
// border columns check each column. (The filter read from memory beside x, two loads per FMA, took
// 74 us per 56x56x64 image on one core of an AMD EPYC, Zen 5; this, 52 us.)
template <typename T, int KH, int KW>
void fwd_fixed(const Conv2dGeometry& s, const T* x, const T* w, const T* bias, T* y) {
  using S = Vec<T>;
  using V = typename S::V;
  constexpr int NB = KH * KW <= 12 ? 2 : 1;
  const int64_t C = s.cin, H = s.h, W = s.w, Ho = s.ho, Wo = s.wo;
  const int64_t sh = s.sh, sw = s.sw, dh = s.dh, dw = s.dw, pt = s.pt, pl = s.pl;
  const int64_t Cv = C / S::L * S::L;  // channels in whole vectors
  int64_t lo, hi;
  interior_columns(s, lo, hi);
  // A float32 output larger than the last-level cache is computed a row at a time in L1 and streamed
  // out (stream_copy), and the input row the next output row reads first is prefetched along the
  // row: 32x56x56x64 on one core of the AMD EPYC (Zen 5), 94 -> 89 us per image streamed, -> 66 us
  // with the prefetch (52 us when it all fits in the caches).
  const bool stream = fwd_streams<T>(s);
  parallel_rows(s.n * Ho, 2 * Wo * KH * KW * C, [=](int64_t r) {
    const int64_t n = r / Ho, oh = r % Ho;
    const T* xn = x + n * H * W * C;
    T* const y_row = y + r * Wo * C;
    T* yr = stream ? scratch<T, Slot::conv_block>(Wo * C) : y_row;
    bool row_in[KH];
    int64_t roff[KH];  // filter row i reads input row offset roff[i] (an inside row when it is outside)
    int64_t any_row = 0;
    for (int i = 0; i < KH; ++i) {
      const int64_t ih = oh * sh + i * dh - pt;
      row_in[i] = ih >= 0 && ih < H;
      if (row_in[i]) any_row = ih;
    }
    for (int i = 0; i < KH; ++i) roff[i] = (row_in[i] ? oh * sh + i * dh - pt : any_row) * W * C;
    // The input row that the next output row reads first (its window's last row), prefetched along
    // this row's first pass.
    const int64_t ih_next = (oh + 1) * sh + (KH - 1) * dh - pt;
    const T* pf = oh + 1 < Ho && ih_next >= 0 && ih_next < H ? xn + ih_next * W * C : nullptr;
    // One group of nb blocks from channel c0: filters in registers, then every column of the row.
    auto group = [&](int64_t c0, auto nb_tag) {
      constexpr int nb = decltype(nb_tag)::value;
      V wv[nb][KH * KW], bv[nb];
#pragma GCC unroll 4
      for (int q = 0; q < nb; ++q) {
        bv[q] = bias ? S::load(bias + c0 + q * S::L) : V{};
#pragma GCC unroll 32
        for (int t = 0; t < KH * KW; ++t)
          wv[q][t] = row_in[t / KW] ? S::load(w + t * C + c0 + q * S::L) : V{};
      }
      auto checked = [&](int64_t ow) {  // a border column: taps outside the image skipped
        V acc[nb];
#pragma GCC unroll 4
        for (int q = 0; q < nb; ++q) acc[q] = bv[q];
#pragma GCC unroll 8
        for (int j = 0; j < KW; ++j) {
          const int64_t iw = ow * sw - pl + j * dw;
          if (iw < 0 || iw >= W) continue;
#pragma GCC unroll 8
          for (int i = 0; i < KH; ++i)
#pragma GCC unroll 4
            for (int q = 0; q < nb; ++q) acc[q] += S::load(xn + roff[i] + iw * C + c0 + q * S::L) * wv[q][i * KW + j];
        }
#pragma GCC unroll 4
        for (int q = 0; q < nb; ++q) S::store(yr + ow * C + c0 + q * S::L, acc[q]);
      };
      for (int64_t ow = 0; ow < lo; ++ow) checked(ow);
      const T* pfg = c0 == 0 ? pf : nullptr;
      for (int64_t ow = lo; ow < hi; ++ow) {
        const T* xp = xn + (ow * sw - pl) * C + c0;
        if (pfg)
          for (int64_t b = 0; b < sw * C; b += 64 / int64_t(sizeof(T))) __builtin_prefetch(pfg + (ow * sw - pl) * C + b);
        V acc[nb];
#pragma GCC unroll 4
        for (int q = 0; q < nb; ++q) acc[q] = bv[q];
#pragma GCC unroll 8
        for (int i = 0; i < KH; ++i)
#pragma GCC unroll 8
          for (int j = 0; j < KW; ++j)
#pragma GCC unroll 4
            for (int q = 0; q < nb; ++q) acc[q] += S::load(xp + roff[i] + j * dw * C + q * S::L) * wv[q][i * KW + j];
#pragma GCC unroll 4
        for (int q = 0; q < nb; ++q) S::store(yr + ow * C + c0 + q * S::L, acc[q]);
      }
      for (int64_t ow = hi; ow < Wo; ++ow) checked(ow);
    };
    int64_t c0 = 0;
    for (; c0 + NB * S::L <= Cv; c0 += NB * S::L) group(c0, std::integral_constant<int, NB>{});
    for (; c0 < Cv; c0 += S::L) group(c0, std::integral_constant<int, 1>{});
    for (int64_t ow = 0; ow < Wo; ++ow)  // the last C % L channels, one by one
      for (int64_t c = Cv; c < C; ++c) yr[ow * C + c] = channel_value(s, xn, w, bias, oh, ow, c);
    if constexpr (std::is_same_v<T, float>)
      if (stream) {
        stream_copy(y_row, yr, Wo * C);
        _mm_sfence();  // the streamed stores are weakly ordered: done before the task reports done
      }
  });
}

// Stride 1, dilation 1, a 3x3 filter (and 5x5 with 32 vector registers), an output within L3 (a
// larger one takes fwd_fixed, row by row): tiles of RH output rows x TW columns, every channel block
// inside a tile (the layout of bwd_filter_tiled, below, and its reasons): a block's KH*KW filter
// vectors and RH*TW sums in registers, each of the (RH + KH - 1) x (TW + KW - 1) input pixels under
// the tile loaded once; when x and y together exceed L3, the next tile's input rows prefetched and
// the tile's outputs streamed out. One core of an AMD EPYC (Zen 5), against
// fwd_fixed in the same process, per image: 3x3 32x28x28x256 106 -> 68 us, 8x56x56x64 61 -> 43 us,
// 32x14x14x512 45 -> 42 us, 32x56x56x64 67 -> 65 us; 5x5 32x28x28x144 92 -> 84 us, 32x14x14x480
// 82 -> 65 us, 8x56x56x96 192 -> 137 us.
constexpr int kFwdTileW = DLCORE_DEPTHWISE_VEC_BYTES >= 64 ? 7 : 2;
constexpr int kFwdTileH = 2;
constexpr bool kTiles5x5 = DLCORE_DEPTHWISE_VEC_BYTES >= 64;  // 25 filter vectors + a 2x3 tile: 32 registers

template <typename T, int KH, int KW, int TW, int RH>
void fwd_tiled(const Conv2dGeometry& s, const T* x, const T* w, const T* bias, T* y) {
  using S = Vec<T>;
  using V = typename S::V;
  const int64_t C = s.cin, H = s.h, W = s.w, Ho = s.ho, Wo = s.wo, pt = s.pt, pl = s.pl;
  const int64_t Cv = C / S::L * S::L;
  const int64_t tiles_h = (Ho + RH - 1) / RH;
  const bool prefetch = (s.n * H * W * C + s.n * Ho * Wo * C) * int64_t(sizeof(T)) > cache_sizes().l3;
  // The same x and y beyond L3 (float32, C whole vectors): a tile's outputs are written to a buffer
  // in L1 and each of its row segments (TW pixels, contiguous in y) streamed out with non-temporal
  // stores (stream_copy, whatever y's alignment), which write a line without first reading it.
  // 32x56x56x64 on the AMD EPYC (Zen 4), per image: one core 140 -> 88 us with y on a 64-byte
  // boundary, 117-127 us off it (the partial lines at a segment's ends are plain stores); two cores
  // 85 -> 47 and 50-62 us. 32x28x28x256 and 32x14x14x512 unchanged.
  const bool nt = S::streams && prefetch && C % S::L == 0;
  parallel_rows(s.n * tiles_h, 2 * RH * Wo * KH * KW * C, [=](int64_t task) {
    const int64_t n = task / tiles_h, oh0 = task % tiles_h * RH;
    const int nrh = int(std::min(int64_t(RH), Ho - oh0));
    const T* xn = x + n * H * W * C;
    T* yt = y + (n * Ho + oh0) * Wo * C;
    T* const tile_out = nt ? scratch<T, Slot::conv_block>(RH * TW * C) : nullptr;  // pixel (rr, t) at (rr * TW + t) * C
    bool row_in[RH + KH - 1];
    for (int q = 0; q < RH + KH - 1; ++q) row_in[q] = oh0 - pt + q >= 0 && oh0 - pt + q < H;
    int pf_x = 0;
    const int64_t ih_pf = oh0 - pt + RH + KH - 1;  // the first input row the next tile adds
    if (prefetch && oh0 + RH < Ho && ih_pf >= 0) pf_x = int(std::max<int64_t>(0, std::min<int64_t>(RH, H - ih_pf)));
    for (int64_t ow0 = 0; ow0 < Wo; ow0 += TW) {
      const int ntw = int(std::min(int64_t(TW), Wo - ow0));
      bool col_in[TW + KW - 1];
      for (int c = 0; c < TW + KW - 1; ++c) col_in[c] = ow0 - pl + c >= 0 && ow0 - pl + c < W;
      const int64_t x0 = ((oh0 - pt) * W + ow0 - pl) * C;
      for (int64_t c0 = 0; c0 < Cv; c0 += S::L) {
        if (pf_x > 0 && (c0 * int64_t(sizeof(T))) % 64 == 0)
          for (int q = 0; q < pf_x; ++q)
#pragma GCC unroll 32
            for (int c = 0; c < TW + KW - 1; ++c)
              if (col_in[c]) __builtin_prefetch(xn + (x0 + ((RH + KH - 1 + q) * W + c) * C + c0));
        V wv[KH * KW];
#pragma GCC unroll 32
        for (int k = 0; k < KH * KW; ++k) wv[k] = S::load(w + k * C + c0);
        const V b = bias ? S::load(bias + c0) : V{};
        V a[RH][TW];
#pragma GCC unroll 32
        for (int rr = 0; rr < RH; ++rr)
#pragma GCC unroll 32
          for (int t = 0; t < TW; ++t) a[rr][t] = b;
#pragma GCC unroll 32
        for (int q = 0; q < RH + KH - 1; ++q) {
          if (!row_in[q]) continue;
#pragma GCC unroll 32
          for (int c = 0; c < TW + KW - 1; ++c) {
            const V xv = col_in[c] ? S::load(xn + (x0 + (q * W + c) * C + c0)) : V{};
#pragma GCC unroll 32
            for (int rr = 0; rr < RH; ++rr) {
              const int i = q - rr;
              if (i < 0 || i >= KH) continue;
#pragma GCC unroll 32
              for (int j = 0; j < KW; ++j) {
                const int t = c - j;
                if (t >= 0 && t < TW) a[rr][t] += xv * wv[i * KW + j];
              }
            }
          }
        }
#pragma GCC unroll 32
        for (int rr = 0; rr < RH; ++rr)
#pragma GCC unroll 32
          for (int t = 0; t < TW; ++t)
            if (rr < nrh && t < ntw)
              S::store(nt ? tile_out + (rr * TW + t) * C + c0 : yt + (rr * Wo + ow0 + t) * C + c0, a[rr][t]);
      }
      if constexpr (S::streams)
        if (nt)
          for (int rr = 0; rr < nrh; ++rr) stream_copy(yt + (rr * Wo + ow0) * C, tile_out + rr * TW * C, ntw * C);
    }
    if (nt) _mm_sfence();  // the streamed stores are weakly ordered: done before the task reports done
    if (Cv < C)
      for (int rr = 0; rr < nrh; ++rr)
        for (int64_t ow = 0; ow < Wo; ++ow)
          for (int64_t c = Cv; c < C; ++c)
            yt[(rr * Wo + ow) * C + c] = channel_value(s, xn, w, bias, oh0 + rr, ow, c);
  });
}

// Output row (n, oh), pixel by pixel, L channels at a time: the accumulator starts from the bias (or
// zero), adds x * w of every tap inside the image, and is stored once. (Accumulating in memory, tap by
// tap over the pixel's C outputs, was several times slower: a load and a store per tap and vector.)
// The remaining C % L channels run the same loop one by one. 3x3 and 5x5 filters take fwd_tiled
// (stride 1, the output not streamed; 5x5 with 32 vector registers) or fwd_fixed.
template <typename T>
void fwd(const Conv2dGeometry& s, const T* x, const T* w, const T* bias, T* y) {
  using S = Vec<T>;
  const int64_t C = s.cin, H = s.h, W = s.w, Ho = s.ho, Wo = s.wo, kh = s.kh, kw = s.kw;
  const int64_t sh = s.sh, sw = s.sw, dh = s.dh, dw = s.dw, pt = s.pt, pl = s.pl;
  const bool tiled = sh == 1 && sw == 1 && dh == 1 && dw == 1 && !fwd_streams<T>(s);
  if (tiled && kh == 3 && kw == 3) return fwd_tiled<T, 3, 3, kFwdTileW, kFwdTileH>(s, x, w, bias, y);
  if constexpr (kTiles5x5)
    if (tiled && kh == 5 && kw == 5) return fwd_tiled<T, 5, 5, 3, 2>(s, x, w, bias, y);
  if (kh == 3 && kw == 3) return fwd_fixed<T, 3, 3>(s, x, w, bias, y);
  if (kh == 5 && kw == 5) return fwd_fixed<T, 5, 5>(s, x, w, bias, y);
  parallel_rows(s.n * Ho, 2 * Wo * kh * kw * C, [=](int64_t r) {
    const int64_t n = r / Ho, oh = r % Ho;
    const T* xn = x + n * H * W * C;
    for (int64_t ow = 0; ow < Wo; ++ow) {
      T* yp = y + (r * Wo + ow) * C;
      int64_t c0 = 0;
      for (; c0 + S::L <= C; c0 += S::L) {
        typename S::V acc = bias ? S::load(bias + c0) : typename S::V{};
        for (int64_t i = 0; i < kh; ++i) {
          const int64_t ih = oh * sh + i * dh - pt;
          if (ih < 0 || ih >= H) continue;
          for (int64_t j = 0; j < kw; ++j) {
            const int64_t iw = ow * sw + j * dw - pl;
            if (iw < 0 || iw >= W) continue;
            acc += S::load(xn + (ih * W + iw) * C + c0) * S::load(w + (i * kw + j) * C + c0);
          }
        }
        S::store(yp + c0, acc);
      }
      for (; c0 < C; ++c0) yp[c0] = channel_value(s, xn, w, bias, oh, ow, c0);
    }
  });
}

// Input row (n, ih): tap (i, j) of output (oh, ow) reads it when oh*sh + i*dh - pt = ih and
// ow*sw + j*dw - pl = iw; every such output adds dy * w[i, j] to the input pixel. The taps that read
// the row (filter row i, output row oh) are listed once per row, those that read the pixel's column
// once per pixel; then each block of L channels sums over them in a register and is stored once.
constexpr int64_t kMaxListedTaps = 64;  // filters wider or taller than this take bwd_data_any

template <typename T>
void bwd_data_any(const Conv2dGeometry& s, const T* dy, const T* w, T* dx) {
  const int64_t C = s.cin;
  parallel_rows(s.n * s.h, 2 * s.w * s.kh * s.kw * C, [&](int64_t r) {
    const int64_t n = r / s.h, ih = r % s.h;
    T* dxr = dx + r * s.w * C;
    for (int64_t k = 0; k < s.w * C; ++k) dxr[k] = T(0);
    for (int64_t i = 0; i < s.kh; ++i) {
      const int64_t t = ih + s.pt - i * s.dh;
      if (t < 0 || t % s.sh != 0 || t / s.sh >= s.ho) continue;
      const T* dyrow = dy + (n * s.ho + t / s.sh) * s.wo * C;
      for (int64_t iw = 0; iw < s.w; ++iw) {
        T* d = dxr + iw * C;
        for (int64_t j = 0; j < s.kw; ++j) {
          const int64_t u = iw + s.pl - j * s.dw;
          if (u < 0 || u % s.sw != 0 || u / s.sw >= s.wo) continue;
          const T* g = dyrow + (u / s.sw) * C;
          const T* wp = w + (i * s.kw + j) * C;
#pragma omp simd
          for (int64_t c = 0; c < C; ++c) d[c] += g[c] * wp[c];
        }
      }
    }
  });
}

template <typename T>
void bwd_data(const Conv2dGeometry& s, const T* dy, const T* w, T* dx) {
  if (s.kh > kMaxListedTaps || s.kw > kMaxListedTaps) return bwd_data_any(s, dy, w, dx);
  using S = Vec<T>;
  const int64_t C = s.cin, H = s.h, W = s.w, Ho = s.ho, Wo = s.wo, kh = s.kh, kw = s.kw;
  const int64_t sh = s.sh, sw = s.sw, dh = s.dh, dw = s.dw, pt = s.pt, pl = s.pl;
  // (filter column, output column) pairs reading each input column, listed once per call instead of
  // per pixel and row (divisions by the stride beside a few sums at small C: 32x112x112x32 at
  // stride 2 into a preallocated dx, one core of an AMD EPYC, Zen 5: 4.4 -> 3.6 ms).
  std::vector<int64_t> col_j(static_cast<size_t>(W * kw)), col_o(static_cast<size_t>(W * kw)), col_n(static_cast<size_t>(W));
  for (int64_t iw = 0; iw < W; ++iw) {
    int64_t nc = 0;
    for (int64_t j = 0; j < kw; ++j) {
      const int64_t u = iw + pl - j * dw;
      if (u >= 0 && u % sw == 0 && u / sw < Wo) col_j[iw * kw + nc] = j, col_o[iw * kw + nc] = u / sw, ++nc;
    }
    col_n[iw] = nc;
  }
  const int64_t *cj_all = col_j.data(), *co_all = col_o.data(), *cn_all = col_n.data();
  parallel_rows(s.n * H, 2 * W * kh * kw * C, [=](int64_t r) {
    const int64_t n = r / H, ih = r % H;
    int64_t row_i[kMaxListedTaps], row_o[kMaxListedTaps], nr = 0;  // (filter row, output row) reading ih
    for (int64_t i = 0; i < kh; ++i) {
      const int64_t t = ih + pt - i * dh;
      if (t >= 0 && t % sh == 0 && t / sh < Ho) row_i[nr] = i, row_o[nr] = t / sh, ++nr;
    }
    for (int64_t iw = 0; iw < W; ++iw) {
      const int64_t *col_j = cj_all + iw * kw, *col_o = co_all + iw * kw, nc = cn_all[iw];
      T* d = dx + (r * W + iw) * C;
      int64_t c0 = 0;
      for (; c0 + S::L <= C; c0 += S::L) {
        typename S::V acc{};
        for (int64_t a = 0; a < nr; ++a) {
          const T* dyrow = dy + (n * Ho + row_o[a]) * Wo * C + c0;
          const T* wrow = w + row_i[a] * kw * C + c0;
          for (int64_t b = 0; b < nc; ++b) acc += S::load(dyrow + col_o[b] * C) * S::load(wrow + col_j[b] * C);
        }
        S::store(d + c0, acc);
      }
      for (; c0 < C; ++c0) {
        T acc = T(0);
        for (int64_t a = 0; a < nr; ++a)
          for (int64_t b = 0; b < nc; ++b)
            acc += dy[((n * Ho + row_o[a]) * Wo + col_o[b]) * C + c0] * w[(row_i[a] * kw + col_j[b]) * C + c0];
        d[c0] = acc;
      }
    }
  });
}

// dw[i, j, c] = sum over every output pixel of x (at tap (i, j)) * dy: the output rows are cut into
// nt ranges, run as tasks; task q sums into its own kh*kw*C slice q of `scratch` (nt slices, zeroed
// by the caller, so an empty range leaves zeros), and the slices are added at the end.
//
// A 3x3 filter at stride 1 and dilation 1 takes bwd_filter_tiled (below). Otherwise a KH x KW
// filter (3x3, 5x5) sums each block of L channels in registers, the KH*KW sums of one
// block in KH*KW vectors (a tap costs a load of x and an FMA), over a few rows at a time with every
// block per chunk of rows; other sizes, and the last C % L channels, add into the slice in memory,
// tap by tap, all channels of a pixel together. (Block by block over all of a task's rows, each pass
// read every pixel's cache lines from memory again: 32x56x56x64 3x3 took 5.3 ms on one core of an
// AMD EPYC, Zen 5, against 3.3 ms in chunks of rows.)
template <typename T>
void bwd_filter_taps(const Conv2dGeometry& s, const T* dy, const T* x, int64_t r0, int64_t r1, int64_t c_lo, T* acc) {
  const int64_t C = s.cin;
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t n = r / s.ho, oh = r % s.ho;
    for (int64_t ow = 0; ow < s.wo; ++ow) {
      const T* g = dy + (r * s.wo + ow) * C;
      for (int64_t i = 0; i < s.kh; ++i) {
        const int64_t ih = oh * s.sh + i * s.dh - s.pt;
        if (ih < 0 || ih >= s.h) continue;
        const T* xrow = x + (n * s.h + ih) * s.w * C;
        for (int64_t j = 0; j < s.kw; ++j) {
          const int64_t iw = ow * s.sw + j * s.dw - s.pl;
          if (iw < 0 || iw >= s.w) continue;
          const T* xp = xrow + iw * C;
          T* a = acc + (i * s.kw + j) * C;
#pragma omp simd
          for (int64_t c = c_lo; c < C; ++c) a[c] += xp[c] * g[c];
        }
      }
    }
  }
}

template <typename T, int KH, int KW>
void bwd_filter_fixed(const Conv2dGeometry& s, const T* dy, const T* x, int64_t r0, int64_t r1, T* acc) {
  using S = Vec<T>;
  using V = typename S::V;
  const int64_t C = s.cin, H = s.h, W = s.w, Ho = s.ho, Wo = s.wo;
  const int64_t sh = s.sh, sw = s.sw, dh = s.dh, dw = s.dw, pt = s.pt, pl = s.pl;
  const int64_t Cv = C / S::L * S::L;
  int64_t lo, hi;
  interior_columns(s, lo, hi);
  // Rows in chunks of a few (their x and dy rows stay in L2), all channel blocks per chunk: a pass
  // per block over all the task's rows read each pixel's cache lines from memory once per block.
  constexpr int64_t kChunk = 4;
  for (int64_t rc = r0; rc < r1; rc += kChunk) {
    const int64_t rc1 = std::min(r1, rc + kChunk);
    for (int64_t c0 = 0; c0 < Cv; c0 += S::L) {
      V a[KH * KW];
#pragma GCC unroll 32
      for (int t = 0; t < KH * KW; ++t) a[t] = V{};
      for (int64_t r = rc; r < rc1; ++r) {
        const int64_t n = r / Ho, oh = r % Ho;
        const T* xr0 = x + (n * H + oh * sh - pt) * W * C + c0;  // filter row i: xr0 + i * dh * W * C
        const T* gr = dy + r * Wo * C + c0;
        bool row_in[KH];
        bool all_rows = true;
        for (int i = 0; i < KH; ++i) {
          const int64_t ih = oh * sh + i * dh - pt;
          row_in[i] = ih >= 0 && ih < H;
          all_rows = all_rows && row_in[i];
        }
        auto border = [&](int64_t ow) {
          const V g = S::load(gr + ow * C);
#pragma GCC unroll 8
          for (int i = 0; i < KH; ++i) {
            if (!row_in[i]) continue;
#pragma GCC unroll 8
            for (int j = 0; j < KW; ++j) {
              const int64_t iw = ow * sw - pl + j * dw;
              if (iw >= 0 && iw < W) a[i * KW + j] += S::load(xr0 + (i * dh * W + iw) * C) * g;
            }
          }
        };
        // Along the first block's pass, prefetch what row r + kChunk will read first: its dy row and
        // its window's last input row.
        const T* pf_dy = nullptr;
        const T* pf_x = nullptr;
        if (c0 == 0 && r + kChunk < r1) {
          const int64_t rn = r + kChunk, nn = rn / Ho, ihn = rn % Ho * sh + (KH - 1) * dh - pt;
          pf_dy = dy + rn * Wo * C;
          if (ihn >= 0 && ihn < H) pf_x = x + (nn * H + ihn) * W * C;
        }
        for (int64_t ow = 0; ow < lo; ++ow) border(ow);
        if (all_rows) {
          for (int64_t ow = lo; ow < hi; ++ow) {
            if (pf_dy) {
              for (int64_t b = 0; b < C; b += 64 / int64_t(sizeof(T))) __builtin_prefetch(pf_dy + ow * C + b);
              if (pf_x)
                for (int64_t b = 0; b < sw * C; b += 64 / int64_t(sizeof(T)))
                  __builtin_prefetch(pf_x + (ow * sw - pl) * C + b);
            }
            const V g = S::load(gr + ow * C);
            const T* xp = xr0 + (ow * sw - pl) * C;
#pragma GCC unroll 8
            for (int i = 0; i < KH; ++i)
#pragma GCC unroll 8
              for (int j = 0; j < KW; ++j) a[i * KW + j] += S::load(xp + (i * dh * W + j * dw) * C) * g;
          }
        } else {
          for (int64_t ow = lo; ow < hi; ++ow) border(ow);
        }
        for (int64_t ow = hi; ow < Wo; ++ow) border(ow);
      }
#pragma GCC unroll 32
      for (int t = 0; t < KH * KW; ++t) S::store(acc + t * C + c0, S::load(acc + t * C + c0) + a[t]);
    }
  }
  if (Cv < C) bwd_filter_taps(s, dy, x, r0, r1, Cv, acc);
}

// Stride 1, dilation 1, a 3x3 filter: tiles of RH output rows x TW columns, every channel block of
// a tile before the next tile. A block's RH*TW dy vectors are loaded into registers once, each of the
// (RH + 2) x (TW + 2) input pixels under the tile is loaded once and multiplied into every (tap,
// output) pair that reads it, and the block's 9 sums are read from and written back to the task's
// slice (L1: 9*C values) once per tile. Walking the blocks inside the tile reads each pixel's C
// channels in order; walking the rows inside one block, as bwd_filter_fixed does, reads one cache
// line per pixel at a stride of C values, and at C = 512 (a 2 KiB stride) all of a block's lines
// fall in two sets of L1. Per image, one core of an AMD EPYC (Zen 5), 32 images, against
// bwd_filter_fixed in the same process: 14x14x512 79 -> 51 us, 56x56x64 103 -> 56 us, 28x28x256
// 143 -> 84 us; 8x56x56x64 (in L3) 40 -> 34 us. (5x5 filters stay with bwd_filter_fixed: their 25
// sums beside a dy tile spill registers; tiles of 3x1 and 2x2 took 1.3-1.6x its time.)
// TW x RH: the dy tile, the 9 sums and one input vector in registers (32 vector registers on AVX-512,
// 16 on AVX2 and SSE).
// The walk over a tile's input pixels is written out here and in fwd_tiled: shared through one
// always-inline helper (the other operand and the sums passed as arrays), GCC kept the same FMAs
// and vector registers but spilled general registers in the 3x3 forward's block loop, 62 stack
// accesses against 18 per block of a tile (AVX-512 build).
constexpr int kTileW = DLCORE_DEPTHWISE_VEC_BYTES >= 64 ? 7 : 3;
constexpr int kTileH = 2;

template <typename T, int KH, int KW, int TW, int RH>
void bwd_filter_tiled(const Conv2dGeometry& s, const T* dy, const T* x, int64_t r0, int64_t r1, T* acc) {
  using S = Vec<T>;
  using V = typename S::V;
  const int64_t C = s.cin, H = s.h, W = s.w, Ho = s.ho, Wo = s.wo, pt = s.pt, pl = s.pl;
  const int64_t Cv = C / S::L * S::L;
  // Where x and dy do not fit in the last-level cache, the next tile's rows are prefetched along this
  // tile (32x56x56x64 on one core of the AMD EPYC, Zen 5: 110 -> 59 us per image); where they do, the
  // prefetches only cost (8x56x56x64: 35 -> 46 us).
  const bool prefetch = 2 * s.n * H * W * C * int64_t(sizeof(T)) > cache_sizes().l3;
  for (int64_t r = r0; r < r1;) {
    const int64_t n = r / Ho, oh0 = r % Ho;
    const int nrh = int(std::min({int64_t(RH), r1 - r, Ho - oh0}));  // rows of this tile
    const T* xn = x + n * H * W * C;
    const T* gn = dy + r * Wo * C;  // the tile's first dy row
    bool row_in[RH + KH - 1];  // input row oh0 - pt + q inside the image
    for (int q = 0; q < RH + KH - 1; ++q) row_in[q] = oh0 - pt + q >= 0 && oh0 - pt + q < H;
    // The next tile's rows (its dy rows, and its input rows past this tile's) prefetched along this one.
    int pf_dy = 0, pf_x = 0;
    if (prefetch && oh0 + nrh < Ho && r + nrh < r1) {
      pf_dy = int(std::min({int64_t(RH), Ho - oh0 - nrh, r1 - r - nrh}));
      const int64_t ih_pf = oh0 - pt + RH + KH - 1;  // the first input row the next tile adds
      pf_x = ih_pf >= 0 ? int(std::max<int64_t>(0, std::min<int64_t>(pf_dy, H - ih_pf))) : 0;
    }
    for (int64_t ow0 = 0; ow0 < Wo; ow0 += TW) {
      const int ntw = int(std::min(int64_t(TW), Wo - ow0));  // columns of this tile
      bool col_in[TW + KW - 1];
      for (int c = 0; c < TW + KW - 1; ++c) col_in[c] = ow0 - pl + c >= 0 && ow0 - pl + c < W;
      const int64_t x0 = ((oh0 - pt) * W + ow0 - pl) * C;  // input pixel (row q, column c): xn + x0 + (q*W + c)*C
      for (int64_t c0 = 0; c0 < Cv; c0 += S::L) {
        if (pf_dy > 0 && (c0 * int64_t(sizeof(T))) % 64 == 0) {
          for (int q = 0; q < pf_x; ++q)
#pragma GCC unroll 32
            for (int c = 0; c < TW + KW - 1; ++c)
              if (col_in[c]) __builtin_prefetch(xn + (x0 + ((RH + KH - 1 + q) * W + c) * C + c0));
          for (int q = 0; q < pf_dy; ++q)
#pragma GCC unroll 32
            for (int t = 0; t < ntw; ++t) __builtin_prefetch(gn + ((nrh + q) * Wo + ow0 + t) * C + c0);
        }
        V g[RH][TW];
#pragma GCC unroll 32
        for (int rr = 0; rr < RH; ++rr)
#pragma GCC unroll 32
          for (int t = 0; t < TW; ++t)
            g[rr][t] = rr < nrh && t < ntw ? S::load(gn + (rr * Wo + ow0 + t) * C + c0) : V{};
        V a[KH * KW];
#pragma GCC unroll 32
        for (int k = 0; k < KH * KW; ++k) a[k] = S::load(acc + k * C + c0);
#pragma GCC unroll 32
        for (int q = 0; q < RH + KH - 1; ++q) {
          if (!row_in[q]) continue;
#pragma GCC unroll 32
          for (int c = 0; c < TW + KW - 1; ++c) {
            const V xv = col_in[c] ? S::load(xn + (x0 + (q * W + c) * C + c0)) : V{};
#pragma GCC unroll 32
            for (int rr = 0; rr < RH; ++rr) {
              const int i = q - rr;  // dy row rr reads input row q through filter row i
              if (i < 0 || i >= KH) continue;
#pragma GCC unroll 32
              for (int j = 0; j < KW; ++j) {
                const int t = c - j;
                if (t >= 0 && t < TW) a[i * KW + j] += xv * g[rr][t];
              }
            }
          }
        }
#pragma GCC unroll 32
        for (int k = 0; k < KH * KW; ++k) S::store(acc + k * C + c0, a[k]);
      }
    }
    r += nrh;
  }
  if (Cv < C) bwd_filter_taps(s, dy, x, r0, r1, Cv, acc);
}

template <typename T>
void bwd_filter(const Conv2dGeometry& s, const T* dy, const T* x, int nt, T* scratch, T* dw) {
  const int64_t taps = s.kh * s.kw * s.cin, rows = s.n * s.ho;
  parallel_tasks(nt, nt, [&](int64_t q) {
    T* acc = scratch + q * taps;
    const int64_t r0 = rows * q / nt, r1 = rows * (q + 1) / nt;
    if (s.kh == 3 && s.kw == 3 && s.sh == 1 && s.sw == 1 && s.dh == 1 && s.dw == 1)
      bwd_filter_tiled<T, 3, 3, kTileW, kTileH>(s, dy, x, r0, r1, acc);
    else if (s.kh == 3 && s.kw == 3)
      bwd_filter_fixed<T, 3, 3>(s, dy, x, r0, r1, acc);
    else if (s.kh == 5 && s.kw == 5)
      bwd_filter_fixed<T, 5, 5>(s, dy, x, r0, r1, acc);
    else
      bwd_filter_taps(s, dy, x, r0, r1, 0, acc);
  });
#pragma omp simd
  for (int64_t k = 0; k < taps; ++k) dw[k] = scratch[k];
  for (int t = 1; t < nt; ++t) {
    const T* part = scratch + int64_t(t) * taps;
#pragma omp simd
    for (int64_t k = 0; k < taps; ++k) dw[k] += part[k];
  }
}

#define DLCORE_DEPTHWISE_INSTANTIATE(T)                                                 \
  template void fwd<T>(const Conv2dGeometry&, const T*, const T*, const T*, T*);        \
  template void bwd_data<T>(const Conv2dGeometry&, const T*, const T*, T*);             \
  template void bwd_filter<T>(const Conv2dGeometry&, const T*, const T*, int, T*, T*);
DLCORE_DEPTHWISE_INSTANTIATE(float)
DLCORE_DEPTHWISE_INSTANTIATE(double)
#undef DLCORE_DEPTHWISE_INSTANTIATE

}  // namespace dlcore::cpu::DLCORE_DEPTHWISE_NS
