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
//   forward: an implicit GEMM. The GEMM packs A into MR-tall panels anyway, so the packer reads
//     im2col(x) straight from x into those panels (8x8 register transposes, conv2d_kernels.h), the
//     filters are packed once, and the microkernel runs on them (forward_implicit_gemm). Threads
//     split the M output pixels; each computes its own rows of y, no synchronization.
//   backward-data, stride 1: itself a convolution of dy with the rotated filters, so it runs on
//     the same implicit GEMM (backward_data_as_forward). Otherwise: per image, chunks of output
//     rows, dcol = dy @ w^T into a small buffer, then col2im; threads split the images (windows
//     of one image overlap, so col2im of two threads must not meet in one image).
//   backward-filter: chunks of output rows whose im2col slice fits in about kChunkBytes (it stays
//     in L2 while the GEMM packs it), dw += slice^T @ dy_chunk; threads take whole chunks, each
//     chunk's GEMM single-threaded (max_threads = 1) into a per-thread dw, summed at the end.
//     With fewer chunks than threads, the chunks run in order and the GEMM itself is threaded.
//
// Special cases:
//   1x1 filter, stride 1, no padding: im2col(x) is x itself, so each pass is one plain GEMM.
//   Cin = 1: K = kh*kw is tiny, so the direct kernels of conv2d_kernels.h run instead (per ISA).
#include "cpu/conv2d.h"

#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

#include "cpu/cpu.h"

// The portable copy of the per-ISA kernels (conv2d_kernels.h).
#define DLCORE_CONV_NS conv_generic
#define DLCORE_CONV_VEC_BYTES 16
#include "cpu/conv2d_kernels.h"
#undef DLCORE_CONV_NS
#undef DLCORE_CONV_VEC_BYTES

namespace dlcore::cpu {
namespace {

constexpr int64_t kChunkBytes = 384 << 10;

// std::vector storage aligned to 64 bytes (the packed GEMM panels' requirement).
template <typename T>
struct AlignedAllocator {
  using value_type = T;
  AlignedAllocator() = default;
  template <typename U>
  AlignedAllocator(const AlignedAllocator<U>&) {}
  T* allocate(size_t n) {
    void* p = std::aligned_alloc(64, (n * sizeof(T) + 63) / 64 * 64);
    if (!p) throw std::bad_alloc();
    return static_cast<T*>(p);
  }
  void deallocate(T* p, size_t) { std::free(p); }
  template <typename U>
  bool operator==(const AlignedAllocator<U>&) const { return true; }
  template <typename U>
  bool operator!=(const AlignedAllocator<U>&) const { return false; }
};

// A per-thread scratch buffer for im2col slices, reused across calls.
template <typename T>
T* col_buffer(int64_t n) {
  thread_local std::vector<T> buf;
  if (int64_t(buf.size()) < n) buf.resize(size_t(n));
  return buf.data();
}

bool is_pointwise(const Conv2dShape& s) {  // 1x1, stride 1, no padding: im2col(x) == x
  return s.kh == 1 && s.kw == 1 && s.sh == 1 && s.sw == 1 && s.pt == 0 && s.pb == 0 && s.pl == 0 && s.pr == 0;
}

// Output rows (of Wo pixels each) per chunk, so that a chunk's im2col slice is about kChunkBytes.
template <typename T>
int64_t rows_per_chunk(const Conv2dShape& s) {
  const int64_t row_bytes = s.wo * s.k() * int64_t(sizeof(T));
  return std::max<int64_t>(1, kChunkBytes / std::max<int64_t>(row_bytes, 1));
}

// im2col of output rows [r0, r1) (r = n*Ho + oh) into col, one row of K values per output pixel.
template <typename T>
void im2col(const Conv2dShape& s, const T* x, int64_t r0, int64_t r1, T* col) {
  const int64_t K = s.k(), run = s.kw * s.cin;  // run: one filter row of a pixel's window
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t n = r / s.ho, oh = r % s.ho;
    for (int64_t ow = 0; ow < s.wo; ++ow) {
      T* dst = col + ((r - r0) * s.wo + ow) * K;
      const int64_t iw0 = ow * s.sw - s.pl;
      for (int64_t i = 0; i < s.kh; ++i, dst += run) {
        const int64_t ih = oh * s.sh + i * s.dh - s.pt;
        if (ih < 0 || ih >= s.h) {
          std::memset(static_cast<void*>(dst), 0, sizeof(T) * size_t(run));
          continue;
        }
        const T* src = x + ((n * s.h + ih) * s.w) * s.cin;
        if (s.dw == 1 && iw0 >= 0 && iw0 + s.kw <= s.w) {  // the whole filter row is inside
          std::memcpy(dst, src + iw0 * s.cin, sizeof(T) * size_t(run));
          continue;
        }
        for (int64_t j = 0; j < s.kw; ++j) {
          const int64_t iw = iw0 + j * s.dw;
          if (iw < 0 || iw >= s.w)
            std::memset(static_cast<void*>(dst + j * s.cin), 0, sizeof(T) * size_t(s.cin));
          else
            std::memcpy(dst + j * s.cin, src + iw * s.cin, sizeof(T) * size_t(s.cin));
        }
      }
    }
  }
}

// col2im: the adjoint of im2col. Adds every value of dcol (rows [r0, r1)) onto the input pixel it
// was copied from; taps in the padding are dropped.
template <typename T>
void col2im_add(const Conv2dShape& s, const T* dcol, int64_t r0, int64_t r1, T* dx) {
  const int64_t K = s.k();
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t n = r / s.ho, oh = r % s.ho;
    for (int64_t ow = 0; ow < s.wo; ++ow) {
      const T* src = dcol + ((r - r0) * s.wo + ow) * K;
      const int64_t iw0 = ow * s.sw - s.pl;
      for (int64_t i = 0; i < s.kh; ++i) {
        const int64_t ih = oh * s.sh + i * s.dh - s.pt;
        if (ih < 0 || ih >= s.h) continue;
        T* drow = dx + ((n * s.h + ih) * s.w) * s.cin;
        const T* srow = src + i * s.kw * s.cin;
        for (int64_t j = 0; j < s.kw; ++j) {
          const int64_t iw = iw0 + j * s.dw;
          if (iw < 0 || iw >= s.w) continue;
          T* d = drow + iw * s.cin;
          const T* g = srow + j * s.cin;
#pragma omp simd
          for (int64_t c = 0; c < s.cin; ++c) d[c] += g[c];
        }
      }
    }
  }
}

// ---- forward as an implicit GEMM: im2col straight into the GEMM's packed panels -----------------
//
// The GEMM packs A into MR-tall panels (dst[p*MR + i] for row i, column p) before its microkernel
// runs. For the forward pass A is im2col(x), so building an im2col slice and then packing it would
// copy every value twice; here the packing reads x directly. B (the filters) is the same for every
// output pixel, so it is packed once, into NR-wide panels for each K block, and shared by all threads.
// The loops are the GEMM's (gemm.h): K blocks of kc, M blocks of mc pixels per thread, then the
// microkernel over MR x NR tiles, with bias + activation applied to a tile after its last K block.

int64_t round_up64(int64_t n, int64_t elems_per_64b) { return (n + elems_per_64b - 1) / elems_per_64b * elems_per_64b; }

// Which compiled copy of the im2col panel packer (conv2d_kernels.h) to run.
template <typename T>
void pack_im2col_panel(const Conv2dShape& s, const T* x, int64_t m0, int64_t rows, int64_t pc, int64_t kc, int mr,
                       T* dst) {
  switch (active_isa()) {
    case Isa::avx512: return conv_avx512::pack_im2col_panel<T>(s, x, m0, rows, pc, kc, mr, dst);
    case Isa::avx2: return conv_avx2::pack_im2col_panel<T>(s, x, m0, rows, pc, kc, mr, dst);
    default: return conv_generic::pack_im2col_panel<T>(s, x, m0, rows, pc, kc, mr, dst);
  }
}

template <typename T>
void forward_implicit_gemm(const Conv2dShape& s, const T* x, const T* w, const GemmEpilogue<T>& ep, T* y) {
  const GemmUkrInfo<T>& u = gemm_ukr<T>();
  const int mr = u.mr, nr = u.nr;
  const int64_t M = s.n * s.ho * s.wo, K = s.k(), C = s.cout;
  if (mr > 32) {  // the packer's limit; no microkernel is that tall today: im2col slices + GEMM
    const int64_t rows = s.n * s.ho, rpc = rows_per_chunk<T>(s);
    T* col = col_buffer<T>(rpc * s.wo * K);
    for (int64_t r0 = 0; r0 < rows; r0 += rpc) {
      const int64_t r1 = std::min(rows, r0 + rpc);
      im2col(s, x, r0, r1, col);
      gemm<T>((r1 - r0) * s.wo, C, K, T(1), col, K, 1, w, C, 1, T(0), y + r0 * s.wo * C, C, ep);
    }
    return;
  }
  const int64_t e64 = 64 / int64_t(sizeof(T));  // elements per 64 bytes: panel alignment
  const CacheSizes& cs = cache_sizes();
  // K blocks: a B micro-panel (kc x NR) fills about half of L1; balanced so the last is not tiny.
  const int64_t kc_cap = std::clamp<int64_t>((cs.l1d / 2) / (nr * int64_t(sizeof(T))), 32, 1024);
  const int64_t n_kb = (K + kc_cap - 1) / kc_cap, kc_max = (K + n_kb - 1) / n_kb;
  const int64_t n_panels = (C + nr - 1) / nr;
  const int64_t b_panel = round_up64(kc_max * nr, e64), a_panel = round_up64(kc_max * mr, e64);

  // Pack w (K x Cout, row-major) once: for K block kb and column panel jp, b[p*NR + j], zero-padded.
  std::vector<T, AlignedAllocator<T>> bpack(size_t(n_kb * n_panels * b_panel));
  for (int64_t kb = 0; kb < n_kb; ++kb) {
    const int64_t pc = kb * kc_max, kc = std::min(kc_max, K - pc);
    for (int64_t jp = 0; jp < n_panels; ++jp) {
      T* d = bpack.data() + (kb * n_panels + jp) * b_panel;
      const int64_t cols = std::min<int64_t>(nr, C - jp * nr);
      for (int64_t p = 0; p < kc; ++p) {
        const T* src = w + (pc + p) * C + jp * nr;
        for (int64_t j = 0; j < cols; ++j) d[p * nr + j] = src[j];
        for (int64_t j = cols; j < nr; ++j) d[p * nr + j] = T(0);
      }
    }
  }

  // M blocks: an A block (mc x kc) fills about half of L2, and every thread gets some.
  int nt = std::min(num_threads(), threads_for(2 * M * K * C));
  int64_t mc = std::max<int64_t>(mr, (cs.l2 / 2) / (kc_max * int64_t(sizeof(T))) / mr * mr);
  if (nt > 1) mc = std::min(mc, std::max<int64_t>(mr, (M + 2 * nt - 1) / (2 * nt) / mr * mr + mr));
  const int64_t n_mb = (M + mc - 1) / mc;
  nt = int(std::min<int64_t>(nt, n_mb));

#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
  for (int64_t mb = 0; mb < n_mb; ++mb) {
    const int64_t m0 = mb * mc, mcb = std::min(mc, M - m0), a_panels = (mcb + mr - 1) / mr;
    T* apack = col_buffer<T>(a_panels * a_panel + e64);
    apack = reinterpret_cast<T*>((reinterpret_cast<uintptr_t>(apack) + 63) & ~uintptr_t(63));
    for (int64_t kb = 0; kb < n_kb; ++kb) {
      const int64_t pc = kb * kc_max, kc = std::min(kc_max, K - pc);
      const T beta = kb == 0 ? T(0) : T(1);
      for (int64_t ip = 0; ip < a_panels; ++ip)
        pack_im2col_panel(s, x, m0 + ip * mr, std::min<int64_t>(mr, mcb - ip * mr), pc, kc, mr,
                          apack + ip * a_panel);
      for (int64_t jp = 0; jp < n_panels; ++jp) {
        const T* bp = bpack.data() + (kb * n_panels + jp) * b_panel;
        const int64_t cols = std::min<int64_t>(nr, C - jp * nr);
        for (int64_t ip = 0; ip < a_panels; ++ip) {
          const int64_t rows = std::min<int64_t>(mr, mcb - ip * mr);
          T* ct = y + (m0 + ip * mr) * C + jp * nr;
          u.ukr(rows, cols, kc, apack + ip * a_panel, bp, nr, ct, C, T(1), beta);
          if (kb == n_kb - 1) {
            GemmEpilogue<T> ep_t = ep;
            if (ep_t.bias) ep_t.bias += jp * nr;
            apply_epilogue(ct, C, rows, cols, ep_t);
          }
        }
      }
    }
  }
}

// Which compiled copy of the direct Cin = 1 kernels to run.
template <typename T>
void cin1_forward(const Conv2dShape& s, const T* x, const T* w, const T* bias, Activation act, T* y) {
  switch (active_isa()) {
    case Isa::avx512: return conv_avx512::conv_cin1_forward<T>(s, x, w, bias, act, y);
    case Isa::avx2: return conv_avx2::conv_cin1_forward<T>(s, x, w, bias, act, y);
    default: return conv_generic::conv_cin1_forward<T>(s, x, w, bias, act, y);
  }
}
template <typename T>
void cin1_backward_filter(const Conv2dShape& s, const T* dy, const T* x, T* dw) {
  switch (active_isa()) {
    case Isa::avx512: return conv_avx512::conv_cin1_backward_filter<T>(s, dy, x, dw);
    case Isa::avx2: return conv_avx2::conv_cin1_backward_filter<T>(s, dy, x, dw);
    default: return conv_generic::conv_cin1_backward_filter<T>(s, dy, x, dw);
  }
}
template <typename T>
void cin1_backward_data(const Conv2dShape& s, const T* dy, const T* w, T* dx) {
  switch (active_isa()) {
    case Isa::avx512: return conv_avx512::conv_cin1_backward_data<T>(s, dy, w, dx);
    case Isa::avx2: return conv_avx2::conv_cin1_backward_data<T>(s, dy, w, dx);
    default: return conv_generic::conv_cin1_backward_data<T>(s, dy, w, dx);
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
// (the "full" padding minus the forward's). It then runs on the implicit-GEMM forward, with no
// col2im pass. Used when that padding is non-negative and the output is not much larger than dy
// (for "valid" convolutions of small images the border zeros would cost more than col2im).
// Returns false when it does not apply.
template <typename T>
bool backward_data_as_forward(const Conv2dShape& s, const T* dy, const T* w, T* dx) {
  if (s.sh != 1 || s.sw != 1) return false;
  Conv2dShape t;
  t.n = s.n, t.h = s.ho, t.w = s.wo, t.cin = s.cout, t.cout = s.cin;
  t.kh = s.kh, t.kw = s.kw, t.dh = s.dh, t.dw = s.dw;
  t.pt = (s.kh - 1) * s.dh - s.pt, t.pb = (s.kh - 1) * s.dh - s.pb;
  t.pl = (s.kw - 1) * s.dw - s.pl, t.pr = (s.kw - 1) * s.dw - s.pr;
  if (t.pt < 0 || t.pb < 0 || t.pl < 0 || t.pr < 0) return false;
  if (!t.finish() || t.ho != s.h || t.wo != s.w) return false;
  if (s.h * s.w * 8 > s.ho * s.wo * 9) return false;  // more than ~12% extra work on zeros
  const int64_t ci = s.cin, co = s.cout;
  std::vector<T> wr(size_t(s.kh * s.kw * ci * co));
  for (int64_t i = 0; i < s.kh; ++i)
    for (int64_t j = 0; j < s.kw; ++j)
      for (int64_t c = 0; c < ci; ++c)
        for (int64_t o = 0; o < co; ++o)
          wr[size_t((((s.kh - 1 - i) * s.kw + (s.kw - 1 - j)) * co + o) * ci + c)] = w[((i * s.kw + j) * ci + c) * co + o];
  forward_implicit_gemm<T>(t, dy, wr.data(), GemmEpilogue<T>{}, dx);
  return true;
}

}  // namespace

template <typename T>
void conv2d_forward(const Conv2dShape& s, const T* x, const T* w, const T* bias, Activation act, T* y) {
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
  if (s.cin == 1) return cin1_forward<T>(s, x, w, bias, act, y);

  forward_implicit_gemm<T>(s, x, w, ep, y);
}

template <typename T>
void conv2d_backward_data(const Conv2dShape& s, const T* dy, const T* w, T* dx) {
  const int64_t M = s.n * s.ho * s.wo, K = s.k(), C = s.cout;
  const int64_t x_size = s.n * s.h * s.w * s.cin;
  if (x_size == 0) return;
  if (is_pointwise(s)) {  // dx (M x Cin) = dy (M x Cout) @ w^T (Cout x Cin)
    gemm<T>(M, s.cin, C, T(1), dy, C, 1, w, 1, C, T(0), dx, s.cin);
    return;
  }
  if (s.cin == 1 && C > 0) return cin1_backward_data<T>(s, dy, w, dx);
  if (M > 0 && C > 0 && K > 0 && backward_data_as_forward<T>(s, dy, w, dx)) return;
  std::fill(dx, dx + x_size, T(0));
  if (M == 0 || C == 0 || K == 0) return;

  // w^T as a contiguous (Cout x K) matrix, so the GEMM packs it with unit stride.
  std::vector<T> wt(size_t(C * K));
  for (int64_t kk = 0; kk < K; ++kk)
    for (int64_t co = 0; co < C; ++co) wt[size_t(co * K + kk)] = w[kk * C + co];

  // Chunks never cross an image, and one image belongs to one thread: windows of neighbouring
  // output rows overlap in the input, so col2im of two chunks of one image may add to one pixel.
  const int64_t rpc = std::min(rows_per_chunk<T>(s), s.ho), chunks_per_image = (s.ho + rpc - 1) / rpc;
  const int nt = chunk_threads(s.n, 2 * M * K * C);
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
  for (int64_t n = 0; n < s.n; ++n) {
    T* dcol = col_buffer<T>(rpc * s.wo * K);
    for (int64_t ci = 0; ci < chunks_per_image; ++ci) {
      const int64_t r0 = n * s.ho + ci * rpc, r1 = std::min(n * s.ho + s.ho, r0 + rpc), m = (r1 - r0) * s.wo;
      gemm<T>(m, K, C, T(1), dy + r0 * s.wo * C, C, 1, wt.data(), K, 1, T(0), dcol, K, {}, nt > 1 ? 1 : 0);
      col2im_add(s, dcol, r0, r1, dx);
    }
  }
}

template <typename T>
void conv2d_backward_filter(const Conv2dShape& s, const T* dy, const T* x, T* dw) {
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
  if (s.cin == 1) return cin1_backward_filter<T>(s, dy, x, dw);

  // Each thread sums im2col(x_chunk)^T @ dy_chunk over its chunks (beta = 1) into its own K x Cout
  // buffer (thread 0 into dw itself); the buffers are added at the end.
  const int64_t rows = s.n * s.ho, rpc = rows_per_chunk<T>(s), n_chunks = (rows + rpc - 1) / rpc;
  const int nt = chunk_threads(n_chunks, 2 * M * K * C);
  std::vector<T> partial(size_t(nt - 1) * size_t(K * C));
  std::fill(dw, dw + K * C, T(0));
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    const int tid = omp_get_thread_num();
    T* acc = tid == 0 ? dw : partial.data() + size_t(tid - 1) * size_t(K * C);
    if (tid > 0) std::fill(acc, acc + K * C, T(0));
#pragma omp for schedule(static)
    for (int64_t ci = 0; ci < n_chunks; ++ci) {
      const int64_t r0 = ci * rpc, r1 = std::min(rows, r0 + rpc), m = (r1 - r0) * s.wo;
      T* col = col_buffer<T>(rpc * s.wo * K);
      im2col(s, x, r0, r1, col);
      gemm<T>(K, C, m, T(1), col, 1, K, dy + r0 * s.wo * C, C, 1, T(1), acc, C, {}, nt > 1 ? 1 : 0);
    }
  }
  for (int t = 1; t < nt; ++t) {
    const T* p = partial.data() + size_t(t - 1) * size_t(K * C);
    for (int64_t i = 0; i < K * C; ++i) dw[i] += p[i];
  }
}

template <typename T>
void conv2d_backward_bias(int64_t m, int64_t cout, const T* dy, T* db) {
  std::fill(db, db + cout, T(0));
  if (m == 0 || cout == 0) return;
  const int nt = std::min<int64_t>(threads_for(m * cout * 4), m);
  std::vector<T> partial(size_t(nt - 1) * size_t(cout));
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    const int tid = omp_get_thread_num();
    T* acc = tid == 0 ? db : partial.data() + size_t(tid - 1) * size_t(cout);
    if (tid > 0) std::fill(acc, acc + cout, T(0));
#pragma omp for schedule(static)
    for (int64_t i = 0; i < m; ++i) {
      const T* row = dy + i * cout;
#pragma omp simd
      for (int64_t c = 0; c < cout; ++c) acc[c] += row[c];
    }
  }
  for (int t = 1; t < nt; ++t)
    for (int64_t c = 0; c < cout; ++c) db[c] += partial[size_t(t - 1) * size_t(cout) + size_t(c)];
}

#define DLCORE_CONV_INSTANTIATE(T)                                                                     \
  template void conv2d_forward<T>(const Conv2dShape&, const T*, const T*, const T*, Activation, T*); \
  template void conv2d_backward_data<T>(const Conv2dShape&, const T*, const T*, T*);                \
  template void conv2d_backward_filter<T>(const Conv2dShape&, const T*, const T*, T*);              \
  template void conv2d_backward_bias<T>(int64_t, int64_t, const T*, T*);
DLCORE_CONV_INSTANTIATE(float)
DLCORE_CONV_INSTANTIATE(double)
#undef DLCORE_CONV_INSTANTIATE

}  // namespace dlcore::cpu
