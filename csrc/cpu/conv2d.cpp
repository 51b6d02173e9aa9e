// 2-D convolution on the CPU (NHWC), forward and backward, built on the packed GEMM.
// Shapes, layouts and the formula: see conv2d.h.
//
// How each pass maps onto the GEMM (M = N*Ho*Wo output pixels, K = kh*kw*Cin):
//
//   forward          y (M x Cout)   = im2col(x) (M x K) @ w (K x Cout), bias + activation fused
//   backward-data    dcol (M x K)   = dy (M x Cout) @ w^T (Cout x K), then col2im: scatter-add
//                                     every row of dcol back onto the input pixels it was read from
//   backward-filter  dw (K x Cout)  = im2col(x)^T (K x M) @ dy (M x Cout)
//   backward-bias    db (Cout)      = the column sums of dy
//
// im2col(x) row (n, oh, ow) holds the receptive field of that output pixel in the order of w's
// rows: (i, j, c) for tap (i, j) and channel c, zero where the tap falls into the padding. In NHWC a
// tap's Cin channels are contiguous, and with dilation 1 so is a whole filter row (kw*Cin values).
// The im2col matrix is never built whole (it is 9x the input for a 3x3 filter):
//
//   forward: an implicit GEMM. im2col(x) row m is, tap by tap, Cin contiguous channels of one
//     input pixel, so the GEMM's rows microkernel (gemm.h) reads A through row pointers into x
//     (a zero row for a tap in the padding) and nothing of A is packed; the filters are packed
//     once, and K is blocked along the taps (forward_implicit_gemm). Threads split the M output
//     pixels; each computes its own rows of y, no synchronization.
//   backward-data, stride 1: itself a convolution of dy with the rotated filters, so it runs as a
//     forward pass (backward_data_as_forward). Otherwise: per image, chunks of output rows,
//     dcol = dy @ w^T into a small buffer (about kChunkBytes), then col2im; threads split the
//     images (windows of one image overlap, so col2im of two threads must not meet in one image).
//   backward-filter: Cout a multiple of the microkernel's NR: the k-pointer microkernel sums each
//     (MR channels of one tap) x NR tile of dw over the pixels, reading x where it lies through one
//     pointer per pixel and dy's rows in place (backward_filter_kptr). Otherwise the GEMM with a
//     packer for A = im2col(x)^T (gemm_packed_a): an MR-tall panel is MR channels of one tap, at
//     each pixel a short contiguous copy from x, so im2col is never written out. Either way threads
//     split the output pixels (the GEMM's K) and sum into private copies of dw, added at the end.
//   3x3, stride 1: Winograd F(2x2, 3x3) instead, for all three passes where it pays off
//     (forward_winograd, backward_filter_winograd; backward-data through the forward), with
//     2.25x fewer multiplies.
//
// Special cases:
//   1x1 filter, stride 1, no padding: im2col(x) is x itself, so each pass is one plain GEMM.
//   Few input channels (Cin = 1 grey, 3 RGB: a first layer): K = kh*kw*Cin is tiny, so the direct
//     kernels of conv2d_kernels.h run instead (per ISA): the forward up to Cin = 8, the filter
//     gradient up to 4, backward-data for Cin = 1 and at stride 1 up to 6 (see direct_forward).
#include "cpu/conv2d.h"


#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

#include "cpu/cpu.h"
#include "cpu/parallel.h"
#include "cpu/scratch.h"
#include "cpu/thread_pool.h"

// The portable copy of the per-ISA kernels (conv2d_kernels.h).
#define DLCORE_CONV_NS conv_generic
#define DLCORE_CONV_VEC_BYTES 16
#include "cpu/conv2d_kernels.h"
#undef DLCORE_CONV_NS
#undef DLCORE_CONV_VEC_BYTES

namespace dlcore::cpu {
namespace {

constexpr int64_t kChunkBytes = 384 << 10;
// Winograd pays off once the GEMMs dominate its transforms (see winograd_applies).
constexpr int64_t kWinogradMinCin = 16, kWinogradMinCout = 16;

bool is_pointwise(const Conv2dGeometry& s) {  // 1x1, stride 1, no padding: im2col(x) == x
  return s.kh == 1 && s.kw == 1 && s.sh == 1 && s.sw == 1 && s.pt == 0 && s.pb == 0 && s.pl == 0 && s.pr == 0;
}

// Output rows (of Wo pixels each) per chunk, so that a chunk's im2col slice is about kChunkBytes.
template <typename T>
int64_t rows_per_chunk(const Conv2dGeometry& s) {
  const int64_t row_bytes = s.wo * s.k() * int64_t(sizeof(T));
  return std::max<int64_t>(1, kChunkBytes / std::max<int64_t>(row_bytes, 1));
}

// col2im, the adjoint of im2col (conv2d_kernels.h): the copy for the active ISA.
template <typename T>
void col2im_add(const Conv2dGeometry& s, const T* dcol, int64_t r0, int64_t r1, T* dx) {
  switch (active_isa()) {
    case Isa::avx512: return conv_avx512::col2im_add<T>(s, dcol, r0, r1, dx);
    case Isa::avx2: return conv_avx2::col2im_add<T>(s, dcol, r0, r1, dx);
    default: return conv_generic::col2im_add<T>(s, dcol, r0, r1, dx);
  }
}

// ---- forward as an implicit GEMM: the microkernel reads the input pixels where they lie ----------
//
// For the forward pass A is im2col(x): row m (an output pixel) is, for each filter tap, the Cin
// channels of one input pixel, contiguous in x (NHWC). So A needs no packing at all: the GEMM's
// rows kernel (gemm.h) reads each tap's MR rows through pointers into x, or into a zero row for a
// tap in the padding. B (the filters) is the same for every output pixel, so it is packed once,
// into NR-wide panels for each K block, and shared by all threads.
// K blocks follow the taps: several whole taps per block when Cin is small, otherwise one tap's
// channels in chunks. Per thread: M blocks of mc pixels, then K blocks, then the microkernel over
// MR x NR tiles, with bias + activation applied to a tile after its last K block.

int64_t round_up64(int64_t n, int64_t elems_per_64b) { return (n + elems_per_64b - 1) / elems_per_64b * elems_per_64b; }

struct KBlock {
  int64_t t0, taps;  // filter taps t0 .. t0 + taps - 1 (t = i * kw + j)
  int64_t c0, kc;    // channels c0 .. c0 + kc - 1 of each
};

// K blocks of about kc_cap values: whole taps while Cin <= kc_cap, else channel chunks of one tap.
// Balanced so that the last block is not a thin one.
std::vector<KBlock> k_blocks(const Conv2dGeometry& s, int64_t kc_cap) {
  const int64_t n_taps = s.kh * s.kw;
  std::vector<KBlock> blocks;
  if (s.cin <= kc_cap) {
    const int64_t per = kc_cap / s.cin, n_b = (n_taps + per - 1) / per, per_b = (n_taps + n_b - 1) / n_b;
    for (int64_t t0 = 0; t0 < n_taps; t0 += per_b) blocks.push_back({t0, std::min(per_b, n_taps - t0), 0, s.cin});
  } else {
    const int64_t n_c = (s.cin + kc_cap - 1) / kc_cap, kc = (s.cin + n_c - 1) / n_c;
    for (int64_t t = 0; t < n_taps; ++t)
      for (int64_t c0 = 0; c0 < s.cin; c0 += kc) blocks.push_back({t, 1, c0, std::min(kc, s.cin - c0)});
  }
  return blocks;
}

// Rows 0 .. depth-1 of a (depth x C) matrix, row q at row(q), as NR-wide column panels for the
// microkernel: panel jp at dst + jp * b_panel holds b[q * NR + j], zero-padded past C.
template <typename T, class Row>
void pack_b_panels(int64_t depth, int64_t C, int nr, int64_t b_panel, T* dst, Row row) {
  for (int64_t jp = 0; jp * nr < C; ++jp) {
    T* d = dst + jp * b_panel;
    const int64_t cols = std::min<int64_t>(nr, C - jp * nr);
    for (int64_t q = 0; q < depth; ++q) {
      const T* src = row(q) + jp * nr;
      for (int64_t j = 0; j < cols; ++j) d[q * nr + j] = src[j];
      for (int64_t j = cols; j < nr; ++j) d[q * nr + j] = T(0);
    }
  }
}

template <typename T>
void forward_implicit_gemm(const Conv2dGeometry& s, const T* x, const T* w, const GemmEpilogue<T>& ep, T* y) {
  const GemmUkrInfo<T>& u = gemm_ukr<T>();
  const int mr = u.mr, nr = u.nr;
  const int64_t M = s.n * s.ho * s.wo, K = s.k(), C = s.cout;
  const int64_t e64 = 64 / int64_t(sizeof(T));  // elements per 64 bytes: panel alignment
  const CacheSizes& cs = cache_sizes();
  // Blocks as deep as the GEMM's (measured here: 384..512 beat 128 by ~10%).
  const int64_t kc_cap = kGemmKc;
  const std::vector<KBlock> blocks = k_blocks(s, kc_cap);
  const int64_t n_kb = int64_t(blocks.size()), n_panels = (C + nr - 1) / nr;

  // Pack w (K x Cout, row-major) once: block kb, column panel jp holds rows (t, c0 + p) of w in
  // order, b[(tt * kc + p) * NR + j] for tap t = t0 + tt, zero-padded past Cout.
  std::vector<int64_t> b_off(size_t(n_kb + 1), 0);
  int64_t depth_max = 0, taps_max = 0;
  for (int64_t kb = 0; kb < n_kb; ++kb) {
    const KBlock& bl = blocks[size_t(kb)];
    depth_max = std::max(depth_max, bl.taps * bl.kc);
    taps_max = std::max(taps_max, bl.taps);
    b_off[size_t(kb + 1)] = b_off[size_t(kb)] + n_panels * round_up64(bl.taps * bl.kc * nr, e64);
  }
  T* const bpack = scratch<T, Slot::conv_filters>(b_off[size_t(n_kb)]);
  for (int64_t kb = 0; kb < n_kb; ++kb) {
    const KBlock& bl = blocks[size_t(kb)];
    const int64_t depth = bl.taps * bl.kc;
    pack_b_panels(depth, C, nr, round_up64(depth * nr, e64), bpack + b_off[size_t(kb)],
                  [&](int64_t q) { return w + ((bl.t0 + q / bl.kc) * s.cin + bl.c0 + q % bl.kc) * C; });
  }
  const std::vector<T> zeros(size_t(depth_max), T(0));  // the row a tap in the padding reads

  // M blocks: the input rows an M block reads in one K block (about mc x depth values) fill about
  // half of L2, and every thread gets some.
  int nt = std::min(num_threads(), threads_for(2 * M * K * C));
  int64_t mc = std::max<int64_t>(mr, (cs.l2 / 2) / (depth_max * int64_t(sizeof(T))) / mr * mr);
  if (nt > 1) mc = std::min(mc, std::max<int64_t>(mr, (M + 2 * nt - 1) / (2 * nt) / mr * mr + mr));
  const int64_t n_mb = (M + mc - 1) / mc, pixels_per_image = s.ho * s.wo;
  nt = int(std::min<int64_t>(nt, n_mb));

  parallel_ranges(n_mb, nt, nt, [&](int64_t mb_begin, int64_t mb_end) {
    // Per pixel of the M block: its window origin, the offset of that origin in x and whether the
    // whole window lies inside the image (then a tap's row is that offset plus the tap's, one add;
    // only the pixels along the padded border take the bounds checks), and the row pointers of one
    // K block. With Cout one column panel the pointers of a tile serve one microkernel call, and the
    // checks for every tap of every pixel showed (64x14x14x16->32 3x3 stride 2 on one Zen 4 core:
    // 335 us with them, 311 without).
    const size_t n_px = static_cast<size_t>(mc);
    std::vector<int64_t> org_h(n_px), org_w(n_px), org_off(n_px);
    std::vector<char> interior(n_px);
    std::vector<int64_t> tap_off(static_cast<size_t>(taps_max)), tap_h(static_cast<size_t>(taps_max)),
        tap_w(static_cast<size_t>(taps_max));
    std::vector<const T*> rows_ptr(static_cast<size_t>((mc + mr - 1) / mr * taps_max * mr));
    const int64_t span_h = (s.kh - 1) * s.dh, span_w = (s.kw - 1) * s.dw;
    for (int64_t mb = mb_begin; mb < mb_end; ++mb) {
      const int64_t m0 = mb * mc, mcb = std::min(mc, M - m0), a_panels = (mcb + mr - 1) / mr;
      for (int64_t i = 0; i < mcb; ++i) {
        const int64_t m = m0 + i, n = m / pixels_per_image, rem = m % pixels_per_image;
        const int64_t oh = (rem / s.wo) * s.sh - s.pt, ow = (rem % s.wo) * s.sw - s.pl;
        org_h[size_t(i)] = oh, org_w[size_t(i)] = ow;
        org_off[size_t(i)] = ((n * s.h + oh) * s.w + ow) * s.cin;
        interior[size_t(i)] = oh >= 0 && oh + span_h < s.h && ow >= 0 && ow + span_w < s.w;
      }
      for (int64_t kb = 0; kb < n_kb; ++kb) {
        const KBlock& bl = blocks[size_t(kb)];
        const T beta = kb == 0 ? T(0) : T(1);
        for (int64_t tt = 0; tt < bl.taps; ++tt) {
          const int64_t t = bl.t0 + tt;
          tap_h[size_t(tt)] = (t / s.kw) * s.dh, tap_w[size_t(tt)] = (t % s.kw) * s.dw;
          tap_off[size_t(tt)] = (tap_h[size_t(tt)] * s.w + tap_w[size_t(tt)]) * s.cin + bl.c0;
        }
        // rows_ptr[(ip * taps + tt) * MR + i]: pixel m0 + ip*MR + i at tap t0 + tt, channel c0
        for (int64_t ip = 0; ip < a_panels; ++ip)
          for (int64_t i = 0; i < mr; ++i) {
            const int64_t pi = ip * mr + i;
            const T** dst = rows_ptr.data() + ip * bl.taps * mr + i;
            if (pi < mcb && interior[size_t(pi)]) {
              const T* o = x + org_off[size_t(pi)];
              for (int64_t tt = 0; tt < bl.taps; ++tt) dst[tt * mr] = o + tap_off[size_t(tt)];
              continue;
            }
            for (int64_t tt = 0; tt < bl.taps; ++tt) {
              const int64_t ih = pi < mcb ? org_h[size_t(pi)] + tap_h[size_t(tt)] : -1;
              const int64_t iw = pi < mcb ? org_w[size_t(pi)] + tap_w[size_t(tt)] : -1;
              const bool inside = ih >= 0 && ih < s.h && iw >= 0 && iw < s.w;
              dst[tt * mr] = inside ? x + (org_off[size_t(pi)] + tap_off[size_t(tt)]) : zeros.data();
            }
          }
        const int64_t b_panel = round_up64(bl.taps * bl.kc * nr, e64);
        for (int64_t jp = 0; jp < n_panels; ++jp) {
          const T* bp = bpack + b_off[size_t(kb)] + jp * b_panel;
          const int64_t cols = std::min<int64_t>(nr, C - jp * nr);
          for (int64_t ip = 0; ip < a_panels; ++ip) {
            const int64_t rows = std::min<int64_t>(mr, mcb - ip * mr);
            T* ct = y + (m0 + ip * mr) * C + jp * nr;
            u.ukr_rows(rows, cols, bl.taps, bl.kc, rows_ptr.data() + ip * bl.taps * mr, bp, nr, ct, C, T(1), beta);
            if (kb == n_kb - 1) {
              GemmEpilogue<T> ep_t = ep;
              if (ep_t.bias) ep_t.bias += jp * nr;
              apply_epilogue(ct, C, rows, cols, ep_t);
            }
          }
        }
      }
    }
  });
}

// Which compiled copy of the Winograd tile transforms (conv2d_kernels.h) to run.
template <typename T>
void winograd_input_tile(const T* const* src, int64_t ci, T* v, int64_t vs) {
  switch (active_isa()) {
    case Isa::avx512: return conv_avx512::winograd_input_tile<T>(src, ci, v, vs);
    case Isa::avx2: return conv_avx2::winograd_input_tile<T>(src, ci, v, vs);
    default: return conv_generic::winograd_input_tile<T>(src, ci, v, vs);
  }
}
template <typename T>
void winograd_output_tile(const T* m, int64_t ms, int64_t co, T* const* dst) {
  switch (active_isa()) {
    case Isa::avx512: return conv_avx512::winograd_output_tile<T>(m, ms, co, dst);
    case Isa::avx2: return conv_avx2::winograd_output_tile<T>(m, ms, co, dst);
    default: return conv_generic::winograd_output_tile<T>(m, ms, co, dst);
  }
}

template <typename T>
void winograd_grad_tile(const T* const* src, int64_t co, T* z, int64_t zs) {
  switch (active_isa()) {
    case Isa::avx512: return conv_avx512::winograd_grad_tile<T>(src, co, z, zs);
    case Isa::avx2: return conv_avx2::winograd_grad_tile<T>(src, co, z, zs);
    default: return conv_generic::winograd_grad_tile<T>(src, co, z, zs);
  }
}

// ---- Winograd F(2x2, 3x3): 3x3 filters, stride 1, no dilation --------------------------------
//
// Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks" (2016). Each 2x2 block of
// output pixels (a tile) comes from a 4x4 block of input pixels d through
//   Y = A^T [ (G g G^T) . (B^T d B) ] A        (. elementwise, per input/output channel pair)
// so the 36 multiplies of direct convolution per tile and channel pair become 16: for each of the
// 16 positions xi of the 4x4 transformed tile, a GEMM  M_xi (tiles x Cout) = V_xi (tiles x Cin) @
// U_xi (Cin x Cout), 2.25x fewer flops in all. Transforms are adds (and halves, for G), vectorized
// over channels. Tiles go in blocks sized so that a block's V and M stay in L2; per block: input
// transform into V, 16 GEMMs on the rows microkernel (V read in place), output transform of M
// into y with the bias and activation. Float32 rounding: the transforms only add, so results stay
// within a few ulps of the direct sum's (the tests hold it to the same tolerance).

// Blocks of at most `cap` tiles, as many as a multiple of the threads so that they share them
// evenly (9 blocks on 2 threads would leave one idle a ninth of the time; measured on
// 64x13x13x32->64, fwd+bwd 5.1 -> 4.5 ms), and the threads worth waking for `flops`.
struct TileBlocks {
  int64_t tb, n_blocks;
  int nt;
};
TileBlocks tile_blocks(int64_t tiles, int64_t cap, int64_t flops) {
  cap = std::max<int64_t>(cap, 8);
  int nt = std::min(num_threads(), threads_for(flops));
  int64_t nb = (tiles + cap - 1) / cap;
  if (nt > 1) nb = (std::max<int64_t>(nb, nt) + nt - 1) / nt * nt;
  const int64_t tb = (tiles + nb - 1) / nb;  // (rounding tb to MR gained nothing, measured)
  nb = (tiles + tb - 1) / tb;
  return {tb, nb, int(std::min<int64_t>(nt, nb))};
}

// Where Winograd runs. The filter transform is redone every call (in parallel over the input
// channels), so a call needs output pixels enough to repay it; the GEMMs save 2.25x of the flops
// (1.7x on a 7x7 output, whose 16 tiles cover 64 pixels). Measured on the Zen 4, two threads,
// against the implicit GEMM, forward / backward-data / backward-filter:
//   8x7x7x32 (392 pixels)   0.74 / 0.86 / 0.91x     8x7x7x64    1.09 / 1.06 / 0.98x
//   8x7x7x256               1.28 / 1.19 / 1.15x     2x14x14x64  1.24 / 1.15 / 1.26x
//   4x14x14x32 (784)        1.04 / 1.12 / 1.12x     16x7x7x256  1.48 / 1.33 / 1.31x
//   2x7x7x256 (98)          0.99 / 1.01 / 0.52x     4x7x7x512   1.91 / 1.11 / 0.72x
//   32x7x7x512              1.59 / 1.52 / 1.58x     64x13x13x32->64  1.31 / 1.18 / 1.43x
// So: pixels x the smaller channel count at least 16K (or, as before, pixels at least 64x the larger
// one). The filter gradient also needs tiles enough to repay the threads' private copies of dL/dU
// (16 x Cin x Cout each, summed at the end): at least 128 (winograd_filter_applies).
bool winograd_applies(const Conv2dGeometry& s) {
  if (!(s.kh == 3 && s.kw == 3 && s.sh == 1 && s.sw == 1 && s.dh == 1 && s.dw == 1 && s.cin >= kWinogradMinCin &&
        s.cout >= kWinogradMinCout))
    return false;
  const int64_t px = s.n * s.ho * s.wo;
  return px * std::min(s.cin, s.cout) >= 16384 || px >= 64 * std::max(s.cin, s.cout);
}

bool winograd_filter_applies(const Conv2dGeometry& s) {
  return winograd_applies(s) && s.n * ((s.ho + 1) / 2) * ((s.wo + 1) / 2) >= 128;
}

// The tiles of a Winograd pass: 2x2 output pixels each, tiles_w per row, in image order.
struct WinogradTiles {
  const Conv2dGeometry& s;
  int64_t tiles_w, tiles_img, tiles;
  explicit WinogradTiles(const Conv2dGeometry& s_)
      : s(s_), tiles_w((s_.wo + 1) / 2), tiles_img((s_.ho + 1) / 2 * tiles_w), tiles(s_.n * tiles_img) {}

  // src[a * 4 + b]: the Cin channels of input pixel (a, b) of the tile's 4x4 window, or `zeros`
  // where the window leaves the image.
  template <typename T>
  void input_rows(const T* x, int64_t tile, const T* zeros, const T** src) const {
    const int64_t n = tile / tiles_img, r = tile % tiles_img;
    const int64_t ih0 = (r / tiles_w) * 2 - s.pt, iw0 = (r % tiles_w) * 2 - s.pl;
    for (int a = 0; a < 4; ++a)
      for (int b = 0; b < 4; ++b) {
        const int64_t ih = ih0 + a, iw = iw0 + b;
        src[a * 4 + b] = ih >= 0 && ih < s.h && iw >= 0 && iw < s.w ? x + ((n * s.h + ih) * s.w + iw) * s.cin : zeros;
      }
  }
  // Input transform of tiles [t0, t0 + cnt): v[(xi * tb + tt) * Cin + c] = (B^T d B)[xi] of tile
  // t0 + tt, channel c.
  template <typename T>
  void transform_inputs(const T* x, int64_t t0, int64_t cnt, const T* zeros, T* v, int64_t tb) const {
    for (int64_t tt = 0; tt < cnt; ++tt) {
      const T* src[16];
      input_rows(x, t0 + tt, zeros, src);
      winograd_input_tile<T>(src, s.cin, v + tt * s.cin, tb * s.cin);
    }
  }
  // dst[a * 2 + b]: the Cout values of output pixel (a, b) of the tile in y (or dy), or `outside`
  // for a pixel past the image's edge (a tile of an odd-sized output).
  template <typename P>
  void output_pixels(P* y, int64_t tile, P* outside, P** dst) const {
    const int64_t n = tile / tiles_img, r = tile % tiles_img;
    const int64_t oh0 = (r / tiles_w) * 2, ow0 = (r % tiles_w) * 2;
    for (int a = 0; a < 2; ++a)
      for (int b = 0; b < 2; ++b)
        dst[a * 2 + b] = oh0 + a < s.ho && ow0 + b < s.wo ? y + ((n * s.ho + oh0 + a) * s.wo + ow0 + b) * s.cout
                                                           : outside;
  }
};

template <typename T>
void forward_winograd(const Conv2dGeometry& s, const T* x, const T* w, const GemmEpilogue<T>& ep, T* y) {
  const GemmUkrInfo<T>& u = gemm_ukr<T>();
  const int mr = u.mr, nr = u.nr;
  const int64_t ci = s.cin, co = s.cout, e64 = 64 / int64_t(sizeof(T));
  const WinogradTiles wt(s);
  const int64_t tiles = wt.tiles;

  // U_xi = G g G^T for every (c, o), vectorized over o, written straight into the microkernel's
  // packed panels: per xi, K chunks of at most kGemmKc input channels, NR-wide column panels, row c
  // of chunk kb at upack + ((xi * n_kc + kb) * n_panels + jp) * b_panel + (c - c0) * NR, zeros past
  // Cout. Input channels in parallel: done on one thread, the transform and its packing took a
  // fifth of a forward with 256 channels and few pixels (16x7x7x256 on two Zen 4 cores).
  const int64_t n_kc = (ci + kGemmKc - 1) / kGemmKc, kc_max = (ci + n_kc - 1) / n_kc;
  const int64_t n_panels = (co + nr - 1) / nr, b_panel = round_up64(kc_max * nr, e64);
  T* const upack = scratch<T, Slot::conv_filters_packed>(16 * n_kc * n_panels * b_panel);
  parallel_rows(ci, 16 * co, [&](int64_t c) {
    const int64_t kb = c / kc_max, q = c - kb * kc_max;
    const T* g[9];
    for (int t = 0; t < 9; ++t) g[t] = w + (t * ci + c) * co;
    for (int64_t jp = 0; jp < n_panels; ++jp) {
      const int64_t o0 = jp * nr, cols = std::min<int64_t>(nr, co - o0);
      T* uc[16];
      for (int xi = 0; xi < 16; ++xi) uc[xi] = upack + ((xi * n_kc + kb) * n_panels + jp) * b_panel + q * nr;
#pragma omp simd
      for (int64_t j = 0; j < cols; ++j) {
        const int64_t o = o0 + j;
        T gg[4][3];  // G g: rows g0, (g0 + g1 + g2) / 2, (g0 - g1 + g2) / 2, g2
        for (int jj = 0; jj < 3; ++jj) {
          const T a = g[jj][o], b = g[3 + jj][o], d = g[6 + jj][o];
          gg[0][jj] = a, gg[1][jj] = T(0.5) * (a + b + d), gg[2][jj] = T(0.5) * (a - b + d), gg[3][jj] = d;
        }
        for (int r = 0; r < 4; ++r) {  // (G g) G^T, the same on each row
          const T a = gg[r][0], b = gg[r][1], d = gg[r][2];
          uc[r * 4 + 0][j] = a, uc[r * 4 + 1][j] = T(0.5) * (a + b + d);
          uc[r * 4 + 2][j] = T(0.5) * (a - b + d), uc[r * 4 + 3][j] = d;
        }
      }
      for (int xi = 0; xi < 16; ++xi) std::fill(uc[xi] + cols, uc[xi] + nr, T(0));
    }
  });
  const std::vector<T> zeros(static_cast<size_t>(std::max(ci, co)), T(0));

  // Tiles per block: V (16 x tb x ci) and M (16 x tb x co) fill about half of L2 together.
  const CacheSizes& cs = cache_sizes();
  const TileBlocks tbk =
      tile_blocks(tiles, (cs.l2 / 2) / (16 * (ci + co) * int64_t(sizeof(T))), 2 * s.n * s.ho * s.wo * 9 * ci * co);
  const int64_t tb = tbk.tb, n_blocks = tbk.n_blocks;
  const int nt = tbk.nt;

  parallel_ranges(n_blocks, nt, nt, [&](int64_t blk_begin, int64_t blk_end) {
    // V and M of a block live in the thread's scratch buffer, reused across calls.
    T* const V = scratch<T, Slot::conv_block>(16 * tb * (ci + co) + co);
    T* const M = V + 16 * tb * ci;
    T* const sink = M + 16 * tb * co;
    const T* rows_ptr[32];  // MR <= 32
    for (int64_t blk = blk_begin; blk < blk_end; ++blk) {
      const int64_t t0 = blk * tb, cnt = std::min(tb, tiles - t0);
      wt.transform_inputs(x, t0, cnt, zeros.data(), V, tb);
      // M_xi = V_xi @ U_xi, V read in place by the rows microkernel.
      for (int64_t xi = 0; xi < 16; ++xi)
        for (int64_t kb = 0; kb < n_kc; ++kb) {
          const int64_t c0 = kb * kc_max, kc = std::min(kc_max, ci - c0);
          const T beta = kb == 0 ? T(0) : T(1);
          for (int64_t jp = 0; jp < n_panels; ++jp) {
            const T* bp = upack + ((xi * n_kc + kb) * n_panels + jp) * b_panel;
            const int64_t cols = std::min<int64_t>(nr, co - jp * nr);
            for (int64_t i0 = 0; i0 < cnt; i0 += mr) {
              const int64_t rows = std::min<int64_t>(mr, cnt - i0);
              for (int64_t i = 0; i < mr; ++i)
                rows_ptr[i] = V + (xi * tb + i0 + (i < rows ? i : 0)) * ci + c0;
              u.ukr_rows(rows, cols, 1, kc, rows_ptr, bp, nr, M + (xi * tb + i0) * co + jp * nr, co,
                         T(1), beta);
            }
          }
        }
      // Output transform: y (2x2 per tile) = A^T M A, then bias + activation.
      for (int64_t tt = 0; tt < cnt; ++tt) {
        T* dst[4];  // output pixels past the image's edge go to a sink row
        wt.output_pixels(y, t0 + tt, sink, dst);
        winograd_output_tile<T>(M + tt * co, tb * co, co, dst);
        for (int q = 0; q < 4; ++q)
          if (dst[q] != sink) apply_epilogue(dst[q], co, 1, co, ep);
      }
    }
  });
}

// Backward-filter by the same transform. y = A^T [U . V] A is linear in U = G g G^T, so
//   dL/dU_xi = sum over tiles of V_xi . Z_xi,  Z = A dY A^T (the 2x2 output gradient of a tile, 4x4)
//   dw = G^T (dL/dU) G
// For each xi, dL/dU_xi (Cin x Cout) = V_xi^T (Cin x tiles) @ Z_xi (tiles x Cout): 16 GEMMs whose K is
// the tiles, 2.25x fewer flops than im2col(x)^T @ dy. Threads take blocks of tiles and sum into
// private copies of dL/dU, added and transformed back at the end.
template <typename T>
void backward_filter_winograd(const Conv2dGeometry& s, const T* dy, const T* x, T* dw) {
  const int64_t ci = s.cin, co = s.cout;
  const WinogradTiles wt(s);
  const int64_t tiles = wt.tiles, du_size = 16 * ci * co;
  // Tiles per block: the GEMMs' K. V and Z of a block (16 x tb x (ci + co)) stay in L3.
  const TileBlocks tbk = tile_blocks(tiles, kGemmKc / 2, 2 * s.n * s.ho * s.wo * 9 * ci * co);
  const int64_t tb = tbk.tb, n_blocks = tbk.n_blocks;
  const int nt = tbk.nt;
  T* const du = scratch<T, Slot::conv_filters>(nt * du_size);
  std::fill(du, du + nt * du_size, T(0));
  const std::vector<T> zeros(static_cast<size_t>(std::max(ci, co)), T(0));

  parallel_tasks(nt, nt, [&](int64_t tid) {  // task tid sums its share of the blocks into its own dL/dU
    T* acc = du + tid * du_size;
    T* const V = scratch<T, Slot::conv_block>(16 * tb * (ci + co));  // V and Z of a block, reused across calls
    T* const Z = V + 16 * tb * ci;
    for (int64_t blk = n_blocks * tid / nt; blk < n_blocks * (tid + 1) / nt; ++blk) {
      const int64_t t0 = blk * tb, cnt = std::min(tb, tiles - t0);
      wt.transform_inputs(x, t0, cnt, zeros.data(), V, tb);
      for (int64_t tt = 0; tt < cnt; ++tt) {
        const T* g[4];  // the tile's output gradient; pixels past the edge are zero
        wt.output_pixels(dy, t0 + tt, zeros.data(), g);
        winograd_grad_tile<T>(g, co, Z + tt * co, tb * co);
      }
      for (int64_t xi = 0; xi < 16; ++xi)  // acc_xi += V_xi^T @ Z_xi
        gemm<T>(ci, co, cnt, T(1), V + xi * tb * ci, 1, ci, Z + xi * tb * co, co, 1, T(1),
                acc + xi * ci * co, co, {}, 1);
    }
  });
  // dw[i, j] = (G^T dU G)[i, j] with dU the sum of the threads' copies, vectorized over o, input
  // channels in parallel. G^T u = (u0 + (u1 + u2) / 2, (u1 - u2) / 2, (u1 + u2) / 2 + u3).
  parallel_rows(ci, 16 * co * nt, [&](int64_t c) {
    T* u[16];
    for (int xi = 0; xi < 16; ++xi) {
      u[xi] = du + (xi * ci + c) * co;
      for (int t = 1; t < nt; ++t) {
        const T* p = du + t * du_size + (xi * ci + c) * co;
#pragma omp simd
        for (int64_t o = 0; o < co; ++o) u[xi][o] += p[o];
      }
    }
    T* d[9];
    for (int t = 0; t < 9; ++t) d[t] = dw + (t * ci + c) * co;
#pragma omp simd
    for (int64_t o = 0; o < co; ++o) {
      T h[3][4];  // G^T dU: the three rows
      for (int b = 0; b < 4; ++b) {
        const T u0 = u[b][o], u1 = u[4 + b][o], u2 = u[8 + b][o], u3 = u[12 + b][o];
        h[0][b] = u0 + T(0.5) * (u1 + u2), h[1][b] = T(0.5) * (u1 - u2), h[2][b] = T(0.5) * (u1 + u2) + u3;
      }
      for (int i = 0; i < 3; ++i) {  // (G^T dU) G
        d[i * 3 + 0][o] = h[i][0] + T(0.5) * (h[i][1] + h[i][2]);
        d[i * 3 + 1][o] = T(0.5) * (h[i][1] - h[i][2]);
        d[i * 3 + 2][o] = T(0.5) * (h[i][1] + h[i][2]) + h[i][3];
      }
    }
  });
}

// The direct kernels (conv2d_kernels.h) for few input channels: the first layer of an image network
// (Cin = 1 grey, 3 RGB). There K = kh*kw*Cin is too small for the implicit GEMM to pay off (27 for a
// 3x3 RGB filter: each microkernel call does little beside reading its rows); they loop over the
// window, vectorized over Cout, 8 output pixels at a time. Up to these Cin, from an A/B on the
// 2-core Zen 5 (3x3, 32x32 images, Cout 32-128, and 5x5 / 7x7 at stride 2): the forward took
// 0.33-0.66x the implicit GEMM's time up to Cin = 6, 0.63-0.93x at 8; the filter gradient
// 0.27-0.87x up to Cin = 6, but 1.1-2.0x at 8.
constexpr int64_t kDirectMaxCinForward = 8, kDirectMaxCinFilter = 4, kDirectMaxCinData = 6;  // see backward-data
template <typename T>
void direct_forward(const Conv2dGeometry& s, const T* x, const T* w, const T* bias, Epilogue act, T* y) {
  switch (active_isa()) {
    case Isa::avx512: return conv_avx512::conv_direct_forward<T>(s, x, w, bias, act, y);
    case Isa::avx2: return conv_avx2::conv_direct_forward<T>(s, x, w, bias, act, y);
    default: return conv_generic::conv_direct_forward<T>(s, x, w, bias, act, y);
  }
}
template <typename T>
void direct_backward_filter(const Conv2dGeometry& s, const T* dy, const T* x, T* dw) {
  switch (active_isa()) {
    case Isa::avx512: return conv_avx512::conv_direct_backward_filter<T>(s, dy, x, dw);
    case Isa::avx2: return conv_avx2::conv_direct_backward_filter<T>(s, dy, x, dw);
    default: return conv_generic::conv_direct_backward_filter<T>(s, dy, x, dw);
  }
}
// false: no direct kernel for this window (more than 64 taps with Cin > 1).
template <typename T>
bool direct_backward_data(const Conv2dGeometry& s, const T* dy, const T* w, T* dx) {
  switch (active_isa()) {
    case Isa::avx512: return conv_avx512::conv_direct_backward_data<T>(s, dy, w, dx);
    case Isa::avx2: return conv_avx2::conv_direct_backward_data<T>(s, dy, w, dx);
    default: return conv_generic::conv_direct_backward_data<T>(s, dy, w, dx);
  }
}

// Threads for the chunk loop: every thread when each gets at least one chunk and the work is
// worth waking them, else 1 (and the GEMMs thread instead).
int chunk_threads(int64_t n_chunks, int64_t flops) {
  const int nt = std::min(num_threads(), threads_for(flops));
  return n_chunks >= nt ? nt : 1;
}

// With stride 1, backward-data is itself a convolution: dx = conv(dy, w') where w' is w rotated by
// 180 degrees in (i, j) with Cin and Cout swapped, and dy is padded by (k-1)*d - p on each side
// (the "full" padding minus the forward's). It then runs on the forward (Winograd or the implicit
// GEMM), with no col2im pass. Used when that padding is non-negative and either Winograd runs it
// or the output is not much larger than dy (for "valid" convolutions of small images the border
// zeros would cost the implicit GEMM more than col2im; measured with Winograd, 64x13x13x32->64
// valid, it is 1.2x faster than col2im all the same). Returns false when it does not apply.
template <typename T>
bool backward_data_as_forward(const Conv2dGeometry& s, const T* dy, const T* w, T* dx) {
  if (s.sh != 1 || s.sw != 1) return false;
  Conv2dGeometry t;
  t.n = s.n, t.h = s.ho, t.w = s.wo, t.cin = s.cout, t.cout = s.cin;
  t.kh = s.kh, t.kw = s.kw, t.dh = s.dh, t.dw = s.dw;
  t.pt = (s.kh - 1) * s.dh - s.pt, t.pb = (s.kh - 1) * s.dh - s.pb;
  t.pl = (s.kw - 1) * s.dw - s.pl, t.pr = (s.kw - 1) * s.dw - s.pr;
  if (t.pt < 0 || t.pb < 0 || t.pl < 0 || t.pr < 0) return false;
  if (!t.finish() || t.ho != s.h || t.wo != s.w) return false;
  // More than ~12% extra work on zeros is not worth it, unless Winograd (2.25x fewer flops) runs it.
  if (s.h * s.w * 8 > s.ho * s.wo * 9 && !winograd_applies(t)) return false;
  const int64_t ci = s.cin, co = s.cout;
  T* const wr = scratch<T, Slot::conv_rotated>(s.kh * s.kw * ci * co);
  parallel_rows(s.kh * s.kw * ci, co, [&](int64_t r) {  // row r = (i, j, c) of w
    const int64_t i = r / (s.kw * ci), j = r / ci % s.kw, c = r % ci;
    T* dst = wr + ((s.kh - 1 - i) * s.kw + (s.kw - 1 - j)) * co * ci + c;
    const T* src = w + r * co;
    for (int64_t o = 0; o < co; ++o) dst[o * ci] = src[o];
  });
  if (winograd_applies(t))
    forward_winograd<T>(t, dy, wr, GemmEpilogue<T>{}, dx);
  else
    forward_implicit_gemm<T>(t, dy, wr, GemmEpilogue<T>{}, dx);
  return true;
}

// ---- backward-filter: dw (K x Cout) = im2col(x)^T (K x M) @ dy (M x Cout) ----------------------
//
// A GEMM whose A operand, im2col(x)^T, is gathered straight from x by its packer (gemm.h,
// GemmAPacker): row kk = (tap, channel) of A, column = output pixel. An MR-tall panel whose rows
// lie in one tap is, at each pixel, MR consecutive channels of one input pixel: a short contiguous
// copy (zeros in the padding). dy is B, row-major, read in place or packed by the GEMM.

template <typename T>
struct Im2colT {
  const Conv2dGeometry* s;
  const T* x;
  int64_t m0;  // the GEMM's column p is output pixel m0 + p
};

// npan panels of `rows` rows of A each, all in the tap of row i0, rows [i0, i0 + npan * rows),
// columns [p0, p0 + kc): panel q's column p goes to dst[q * pstride + p * ld + i], zeros for pixels
// whose tap falls in the padding. Pixels go in blocks of 16: their source rows are found once,
// then each panel gets the block's values (16 * ld contiguous values written, the 16 input pixels
// staying in L1 across the panels; writing one pixel to all npan panels at once instead would
// touch npan lines a panel apart, which alias in L1 when kc * MR is a multiple of 4 KiB).
// NR > 0: rows == NR, known at compile time (a few vector moves).
template <typename T, int NR>
void pack_tap(const Im2colT<T>& g, int64_t i0, int64_t rows, int64_t npan, int64_t p0, int64_t kc, int64_t ld,
              int64_t pstride, T* dst) {
  constexpr int64_t kBlock = 16;
  const Conv2dGeometry& s = *g.s;
  const int64_t nrows = NR > 0 ? NR : rows;
  const int64_t t = i0 / s.cin, c0 = i0 % s.cin, di = (t / s.kw) * s.dh - s.pt, dj = (t % s.kw) * s.dw - s.pl;
  const int64_t m = g.m0 + p0;
  int64_t n = m / (s.ho * s.wo), oh = (m / s.wo) % s.ho, ow = m % s.wo;
  const T* src[kBlock];
  for (int64_t pb = 0; pb < kc; pb += kBlock) {
    const int64_t cnt = std::min(kBlock, kc - pb);
    for (int64_t p = 0; p < cnt; ++p) {
      const int64_t ih = oh * s.sh + di, iw = ow * s.sw + dj;
      const bool inside = ih >= 0 && ih < s.h && iw >= 0 && iw < s.w;
      src[p] = inside ? g.x + ((n * s.h + ih) * s.w + iw) * s.cin + c0 : nullptr;
      if (++ow == s.wo) {
        ow = 0;
        if (++oh == s.ho) oh = 0, ++n;
      }
    }
    for (int64_t q = 0; q < npan; ++q) {
      T* d = dst + q * pstride + pb * ld;
      for (int64_t p = 0; p < cnt; ++p, d += ld) {
        if (src[p])
          std::memcpy(d, src[p] + q * nrows, sizeof(T) * size_t(nrows));
        else
          std::memset(static_cast<void*>(d), 0, sizeof(T) * size_t(nrows));
      }
    }
  }
}

template <typename T>
void pack_im2col_t(const void* ctx, int64_t i0, int64_t rows, int64_t p0, int64_t kc, int mr, T* dst) {
  const Im2colT<T>& g = *static_cast<const Im2colT<T>*>(ctx);
  const int64_t cin = g.s->cin, panel = kc * mr, n_pan = (rows + mr - 1) / mr;
  for (int64_t q = 0; q < n_pan;) {
    const int64_t r = q * mr, first = i0 + r;
    // The common case: full panels inside one tap, packed together.
    const int64_t full = std::min((rows - r) / mr, (cin - first % cin) / mr);
    if (full > 0 && (mr == 4 || mr == 6 || mr == 8 || mr == 12 || mr == 14)) {
      T* d = dst + q * panel;
      if (mr == 4) pack_tap<T, 4>(g, first, mr, full, p0, kc, mr, panel, d);
      if (mr == 6) pack_tap<T, 6>(g, first, mr, full, p0, kc, mr, panel, d);
      if (mr == 8) pack_tap<T, 8>(g, first, mr, full, p0, kc, mr, panel, d);
      if (mr == 12) pack_tap<T, 12>(g, first, mr, full, p0, kc, mr, panel, d);
      if (mr == 14) pack_tap<T, 14>(g, first, mr, full, p0, kc, mr, panel, d);
      q += full;
      continue;
    }
    // Otherwise this panel in runs of rows, each within one tap (Cin not a multiple of MR, or the
    // last, partial panel).
    T* d = dst + q * panel;
    const int64_t prow = std::min<int64_t>(mr, rows - r);
    if (prow < mr) std::memset(static_cast<void*>(d), 0, sizeof(T) * size_t(panel));
    for (int64_t rr = 0; rr < prow;) {
      const int64_t run = std::min(prow - rr, cin - (first + rr) % cin);
      pack_tap<T, 0>(g, first + rr, run, 1, p0, kc, mr, panel, d + rr);
      rr += run;
    }
    ++q;
  }
}

}  // namespace

template <typename T>
void conv2d_forward(const Conv2dGeometry& s, const T* x, const T* w, const T* bias, Epilogue act, T* y) {
  const int64_t M = s.n * s.ho * s.wo, K = s.k(), C = s.cout;
  if (M == 0 || C == 0) return;
  const GemmEpilogue<T> ep{bias, act};
  if (K == 0) {  // an empty sum: y = act(bias)
    gemm<T>(M, C, 0, T(1), x, 0, 1, w, C, 1, T(0), y, C, ep);
    return;
  }
  if (is_pointwise(s)) {
    gemm<T>(M, C, K, T(1), x, K, 1, w, C, 1, T(0), y, C, ep);
    return;
  }
  if (s.cin <= kDirectMaxCinForward) return direct_forward<T>(s, x, w, bias, act, y);

  if (winograd_applies(s)) return forward_winograd<T>(s, x, w, ep, y);
  forward_implicit_gemm<T>(s, x, w, ep, y);
}

template <typename T>
void conv2d_backward_data(const Conv2dGeometry& s, const T* dy, const T* w, T* dx) {
  const int64_t M = s.n * s.ho * s.wo, K = s.k(), C = s.cout;
  const int64_t x_size = s.n * s.h * s.w * s.cin;
  if (x_size == 0) return;
  if (is_pointwise(s)) {  // dx (M x Cin) = dy (M x Cout) @ w^T (Cout x Cin)
    gemm<T>(M, s.cin, C, T(1), dy, C, 1, w, 1, C, T(0), dx, s.cin);
    return;
  }
  // The direct kernel: Cin = 1 always; a few channels at stride 1, where the alternative (the
  // forward pass below, with Cin output channels) leaves most of each microkernel tile empty.
  // Measured on two Zen 5 cores, 3x3 on 32x32 images: 0.16-0.74x the time up to Cin = 6 (64 RGB
  // images to 32 channels: 3.2 -> 0.72 ms); at stride 2 (4x4, Cin 3) the GEMM path is faster.
  const bool unit_stride = s.sh == 1 && s.sw == 1;
  if ((s.cin == 1 || (s.cin <= kDirectMaxCinData && unit_stride)) && C > 0 && direct_backward_data<T>(s, dy, w, dx))
    return;
  if (M > 0 && C > 0 && K > 0 && backward_data_as_forward<T>(s, dy, w, dx)) return;
  std::fill(dx, dx + x_size, T(0));
  if (M == 0 || C == 0 || K == 0) return;

  // w^T as a contiguous (Cout x K) matrix, so the GEMM packs it with unit stride.
  std::vector<T> wt(size_t(C * K));
  for (int64_t kk = 0; kk < K; ++kk)
    for (int64_t co = 0; co < C; ++co) wt[size_t(co * K + kk)] = w[kk * C + co];

  // A chunk never holds part of an image beside another, and one image belongs to one thread:
  // windows of neighbouring output rows overlap in the input, so col2im of two chunks of one image
  // may add to one pixel. Small images go several to a chunk (whole images, at most a quarter of a
  // thread's share), so that the GEMM gets more than a few row panels: a 7x7 output is 49 rows,
  // six full 8-row panels and one with a single row.
  const int64_t rows_cap = rows_per_chunk<T>(s), rpc = std::min(rows_cap, s.ho);
  const int64_t chunks_per_image = (s.ho + rpc - 1) / rpc;
  const int nt = chunk_threads(s.n, 2 * M * K * C);
  const int64_t per = rpc < s.ho ? 1 : std::clamp<int64_t>(std::min(rows_cap / s.ho, s.n / (4 * int64_t(nt))), 1, s.n);
  parallel_tasks((s.n + per - 1) / per, nt, [&](int64_t task) {
    const int64_t n0 = task * per, n1 = std::min(s.n, n0 + per);
    T* dcol = scratch<T, Slot::conv_block>(per * rpc * s.wo * K);
    for (int64_t ci = 0; ci < chunks_per_image; ++ci) {
      // rows [r0, r1): chunk ci of image n0, or images n0 .. n1-1 whole (per > 1 only when rpc == ho)
      const int64_t r0 = n0 * s.ho + ci * rpc, r1 = std::min(n1 * s.ho, r0 + per * rpc), m = (r1 - r0) * s.wo;
      gemm<T>(m, K, C, T(1), dy + r0 * s.wo * C, C, 1, wt.data(), K, 1, T(0), dcol, K, {}, nt > 1 ? 1 : 0);
      col2im_add(s, dcol, r0, r1, dx);
    }
  });
}

namespace {

// dw += each of the `count` buffers of `size` values end to end at `partial` (the threads' private
// sums of a filter gradient), in parallel over dw.
template <typename T>
void add_partials(T* dw, const T* partial, int count, int64_t size) {
  if (count <= 0) return;
  parallel_chunks(size, [&](int64_t b, int64_t e) {
    for (int t = 0; t < count; ++t) {
      const T* p = partial + t * size;
#pragma omp simd
      for (int64_t i = b; i < e; ++i) dw[i] += p[i];
    }
  });
}

// ---- backward-filter with the k-pointer microkernel: nothing of im2col(x) is packed -------------
//
// dw[(tap, c), o] = sum over pixels p of x[p's input pixel at tap, c] * dy[p, o]: a tile of MR
// channels of one tap by NR output channels keeps its sum in registers while the kernel walks the
// pixels, reading each pixel's MR channels where they lie in x through one pointer per pixel (a row
// of zeros for a tap in the padding) and dy's rows in place. Per block of pixels the pointers are
// built once per tap (one per pixel, where the packer copies MR values per pixel and panel), then
// every (tap, channel panel) tile runs over the block, one B panel at a time, while the block's
// slice of that panel (block x NR) stays in L1.
//
// Only for Cout a multiple of NR (dy's rows are the kernel's B rows, read NR at a time). Measured
// on one Zen 4 core against the packer (gemm_packed_a), median of interleaved runs: 64x14x14x16->32
// 3x3 stride 2 358 -> 328 us (PyTorch 347); 32x28x28x64->128 stride 2 9.98 -> 9.74 ms;
// 16x8x8x128->128 2.84 -> 2.80 ms; 8x7x7x256->256 4.25 -> 4.30 ms. With an edge panel it lost
// (Cout 48, its 16-wide edge tile: 484 -> 518 us), so those keep the packer.
template <typename T>
bool backward_filter_kptr(const Conv2dGeometry& s, const T* dy, const T* x, T* dw) {
  const GemmUkrInfo<T>& u = gemm_ukr<T>();
  const int mr = u.mr, nr = u.nr;
  const int64_t M = s.n * s.ho * s.wo, K = s.k(), C = s.cout, taps = s.kh * s.kw, cin = s.cin;
  if (!u.ukr_kptr || C % nr != 0) return false;
  const int64_t n_panels = C / nr, c_panels = (cin + mr - 1) / mr;
  const int64_t block = std::max<int64_t>(32, cache_sizes().l1d / 2 / (nr * int64_t(sizeof(T))));
  // Threads split the pixels, each summing into its own copy of dw (thread 0 into dw itself); with
  // too few pixels to share, they split the (tap, channel panel) tiles instead, each tile's rows of
  // dw being its own.
  const int nt = std::min(num_threads(), threads_for(2 * M * K * C));
  const int parts = M >= int64_t(nt) * 256 ? nt : 1;
  const int64_t units = taps * c_panels, unit_tasks = parts == 1 ? std::min<int64_t>(units, int64_t(nt) * 4) : 1;
  std::vector<T> partial(size_t(parts - 1) * size_t(K * C));
  const std::vector<T> zeros(size_t(cin), T(0));
  const size_t n_tap = static_cast<size_t>(taps);
  std::vector<int64_t> tap_h(n_tap), tap_w(n_tap), tap_off(n_tap);
  for (int64_t t = 0; t < taps; ++t) {
    tap_h[size_t(t)] = (t / s.kw) * s.dh, tap_w[size_t(t)] = (t % s.kw) * s.dw;
    tap_off[size_t(t)] = (tap_h[size_t(t)] * s.w + tap_w[size_t(t)]) * cin;
  }
  const int64_t span_h = (s.kh - 1) * s.dh, span_w = (s.kw - 1) * s.dw;
  parallel_tasks(parts * unit_tasks, int(std::min<int64_t>(nt, parts * unit_tasks)), [&](int64_t task) {
    const int64_t part = task / unit_tasks, ut = task % unit_tasks;
    const int64_t m0 = M * part / parts, m1 = M * (part + 1) / parts;
    const int64_t u0 = units * ut / unit_tasks, u1 = units * (ut + 1) / unit_tasks;
    const int64_t t0 = u0 / c_panels, t1 = (u1 + c_panels - 1) / c_panels;
    T* acc = part == 0 ? dw : partial.data() + size_t(part - 1) * size_t(K * C);
    std::vector<const T*> ptr(size_t(block * (t1 - t0)));  // ptr[(t - t0) * block + p]
    for (int64_t pb = m0; pb < m1; pb += block) {
      const int64_t cnt = std::min(block, m1 - pb);
      const T beta = pb == m0 ? T(0) : T(1);
      // Each pixel's window origin; a window inside the image gets its taps' rows by one add each.
      int64_t n = pb / (s.ho * s.wo), oh = (pb / s.wo) % s.ho, ow = pb % s.wo;
      for (int64_t p = 0; p < cnt; ++p) {
        const int64_t ih0 = oh * s.sh - s.pt, iw0 = ow * s.sw - s.pl;
        const int64_t org = ((n * s.h + ih0) * s.w + iw0) * cin;
        const bool interior = ih0 >= 0 && ih0 + span_h < s.h && iw0 >= 0 && iw0 + span_w < s.w;
        for (int64_t t = t0; t < t1; ++t) {
          const int64_t ih = ih0 + tap_h[size_t(t)], iw = iw0 + tap_w[size_t(t)];
          const bool inside = interior || (ih >= 0 && ih < s.h && iw >= 0 && iw < s.w);
          ptr[size_t((t - t0) * block + p)] = inside ? x + (org + tap_off[size_t(t)]) : zeros.data();
        }
        if (++ow == s.wo) {
          ow = 0;
          if (++oh == s.ho) oh = 0, ++n;
        }
      }
      for (int64_t jp = 0; jp < n_panels; ++jp)
        for (int64_t un = u0; un < u1; ++un) {
          const int64_t t = un / c_panels, cp = un % c_panels;
          u.ukr_kptr(std::min<int64_t>(mr, cin - cp * mr), nr, cnt, ptr.data() + (t - t0) * block, cp * mr,
                     dy + pb * C + jp * nr, C, acc + (t * cin + cp * mr) * C + jp * nr, C, T(1), beta);
        }
    }
  });
  add_partials(dw, partial.data(), parts - 1, K * C);
  return true;
}

}  // namespace

template <typename T>
void conv2d_backward_filter(const Conv2dGeometry& s, const T* dy, const T* x, T* dw) {
  const int64_t M = s.n * s.ho * s.wo, K = s.k(), C = s.cout;
  if (K == 0 || C == 0) return;
  if (M == 0) {
    std::fill(dw, dw + K * C, T(0));
    return;
  }
  if (is_pointwise(s)) {  // dw (Cin x Cout) = x^T (Cin x M) @ dy (M x Cout)
    gemm<T>(K, C, M, T(1), x, 1, K, dy, C, 1, T(0), dw, C);
    return;
  }
  if (s.cin <= kDirectMaxCinFilter) return direct_backward_filter<T>(s, dy, x, dw);
  if (winograd_filter_applies(s)) return backward_filter_winograd<T>(s, dy, x, dw);
  if (backward_filter_kptr<T>(s, dy, x, dw)) return;

  // Threads split the output pixels (the GEMM's K); each runs one single-threaded GEMM over its
  // range into its own K x Cout buffer (thread 0 into dw itself), added at the end. Too few pixels
  // to share: one GEMM call, threaded over the rows of dw instead.
  const int nt = std::min(num_threads(), threads_for(2 * M * K * C));
  const int parts = M >= int64_t(nt) * 256 ? nt : 1;
  std::vector<T> partial(size_t(parts - 1) * size_t(K * C));
  parallel_tasks(parts, parts, [&](int64_t part) {
    const int64_t m0 = M * part / parts, m1 = M * (part + 1) / parts;
    T* acc = part == 0 ? dw : partial.data() + size_t(part - 1) * size_t(K * C);
    const Im2colT<T> g{&s, x, m0};
    const GemmAPacker<T> packer{&pack_im2col_t<T>, &g};
    gemm_packed_a<T>(K, C, m1 - m0, T(1), packer, dy + m0 * C, C, 1, T(0), acc, C, {}, parts > 1 ? 1 : 0);
  });
  add_partials(dw, partial.data(), parts - 1, K * C);
}

template <typename T>
void conv2d_backward_bias(int64_t m, int64_t cout, const T* dy, T* db) {
  std::fill(db, db + cout, T(0));
  if (m == 0 || cout == 0) return;
  const int nt = std::min<int64_t>(threads_for(m * cout * 4), m);
  std::vector<T> partial(size_t(nt - 1) * size_t(cout));
  parallel_tasks(nt, nt, [&](int64_t tid) {
    T* acc = tid == 0 ? db : partial.data() + size_t(tid - 1) * size_t(cout);
    if (tid > 0) std::fill(acc, acc + cout, T(0));
    for (int64_t i = m * tid / nt; i < m * (tid + 1) / nt; ++i) {
      const T* row = dy + i * cout;
#pragma omp simd
      for (int64_t c = 0; c < cout; ++c) acc[c] += row[c];
    }
  });
  for (int t = 1; t < nt; ++t)
    for (int64_t c = 0; c < cout; ++c) db[c] += partial[size_t(t - 1) * size_t(cout) + size_t(c)];
}

#define DLCORE_CONV_INSTANTIATE(T)                                                                    \
  template void conv2d_forward<T>(const Conv2dGeometry&, const T*, const T*, const T*, Epilogue, T*); \
  template void conv2d_backward_data<T>(const Conv2dGeometry&, const T*, const T*, T*);               \
  template void conv2d_backward_filter<T>(const Conv2dGeometry&, const T*, const T*, T*);             \
  template void conv2d_backward_bias<T>(int64_t, int64_t, const T*, T*);
DLCORE_CONV_INSTANTIATE(float)
DLCORE_CONV_INSTANTIATE(double)
#undef DLCORE_CONV_INSTANTIATE

}  // namespace dlcore::cpu
