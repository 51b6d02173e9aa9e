// The GEMM framework: blocking, packing, threading and the epilogue around the per-ISA
// microkernels. The algorithm and the microkernel contract are described in gemm.h.
#include "cpu/gemm/gemm.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <new>
#include <numeric>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#include <xmmintrin.h>
#endif

#include "common/scalar_math.h"
#include "cpu/cpu.h"
#include "cpu/scratch.h"
#include "cpu/thread_pool.h"

namespace dlcore::cpu {
namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

// Packing space: per-thread buffers kept across calls (scratch.h), so a GEMM call does not pay for
// malloc + page faults of megabytes of packing space.
template <typename T>
T* scratch_a(int64_t n) {
  return scratch<T, Slot::gemm_a>(n);
}
template <typename T>
T* scratch_b(int64_t n) {
  return scratch<T, Slot::gemm_b>(n);
}
// The caller's B edge panel, packed once for every task of a split call (split_c, run).
template <typename T>
T* scratch_b_edge(int64_t n) {
  return scratch<T, Slot::gemm_b_edge>(n);
}

// ---- Packing ----------------------------------------------------------------------------------
//
// Both operands are packed by the same two routines. A panel of `w` vectors of length kc is written
// as dst[p * w + i] (p < kc, i < w), vectors i >= cnt zero-filled:
//   - an A panel: the vectors are MR rows of op(A), element (i, p);
//   - a B panel:  the vectors are NR columns of op(B), element (p, i).
// What differs is where consecutive elements lie in memory, which picks the routine.

// Element (p, i) at src[p * ld + i]: each step p copies cnt consecutive values (A stored
// column-major, i.e. trans_a of a row-major array; B stored row-major).
template <typename T, int W>
void pack_rows_full(int64_t kc, const T* src, int64_t ld, T* dst) {  // cnt == w == W: fixed-size copies
  for (int64_t p = 0; p < kc; ++p) std::memcpy(dst + p * W, src + p * ld, sizeof(T) * W);
}

template <typename T>
void pack_rows(int64_t cnt, int64_t kc, const T* src, int64_t ld, int w, T* dst) {
  if (cnt == w) {
    switch (w) {
      case 4: return pack_rows_full<T, 4>(kc, src, ld, dst);
      case 6: return pack_rows_full<T, 6>(kc, src, ld, dst);
      case 8: return pack_rows_full<T, 8>(kc, src, ld, dst);
      case 16: return pack_rows_full<T, 16>(kc, src, ld, dst);
      case 12: return pack_rows_full<T, 12>(kc, src, ld, dst);
      case 14: return pack_rows_full<T, 14>(kc, src, ld, dst);
      case 32: return pack_rows_full<T, 32>(kc, src, ld, dst);
      default: break;
    }
  }
  for (int64_t p = 0; p < kc; ++p) {
    T* d = dst + p * w;
    const T* s = src + p * ld;
    for (int64_t i = 0; i < cnt; ++i) d[i] = s[i];
    for (int64_t i = cnt; i < w; ++i) d[i] = T(0);
  }
}

// Element (p, i) at src[i * ld + p]: a transpose (A stored row-major; B = W^T of a row-major W).
// Read cnt streams along p and write them interleaved; four streams at a time go through a 4 x 4
// register transpose for float, two through a 2 x 2 one for double (SSE2, part of every x86-64).
template <typename T>
void pack_cols(int64_t cnt, int64_t kc, const T* src, int64_t ld, int w, T* dst) {
  if (cnt < w) std::memset(static_cast<void*>(dst), 0, sizeof(T) * size_t(kc * w));
  int64_t i = 0;
#if defined(__SSE2__)
  if constexpr (std::is_same_v<T, float>) {
    for (; i + 4 <= cnt; i += 4) {
      const float *s0 = src + i * ld, *s1 = s0 + ld, *s2 = s1 + ld, *s3 = s2 + ld;
      int64_t p = 0;
      for (; p + 4 <= kc; p += 4) {
        __m128 r0 = _mm_loadu_ps(s0 + p), r1 = _mm_loadu_ps(s1 + p);
        __m128 r2 = _mm_loadu_ps(s2 + p), r3 = _mm_loadu_ps(s3 + p);
        _MM_TRANSPOSE4_PS(r0, r1, r2, r3);  // now r_q holds element p + q of the four streams
        _mm_storeu_ps(dst + (p + 0) * w + i, r0);
        _mm_storeu_ps(dst + (p + 1) * w + i, r1);
        _mm_storeu_ps(dst + (p + 2) * w + i, r2);
        _mm_storeu_ps(dst + (p + 3) * w + i, r3);
      }
      for (; p < kc; ++p) {
        float* d = dst + p * w + i;
        d[0] = s0[p], d[1] = s1[p], d[2] = s2[p], d[3] = s3[p];
      }
    }
  } else {
    for (; i + 2 <= cnt; i += 2) {
      const double *s0 = src + i * ld, *s1 = s0 + ld;
      int64_t p = 0;
      for (; p + 2 <= kc; p += 2) {
        const __m128d r0 = _mm_loadu_pd(s0 + p), r1 = _mm_loadu_pd(s1 + p);
        _mm_storeu_pd(dst + p * w + i, _mm_unpacklo_pd(r0, r1));
        _mm_storeu_pd(dst + (p + 1) * w + i, _mm_unpackhi_pd(r0, r1));
      }
      for (; p < kc; ++p) dst[p * w + i] = s0[p], dst[p * w + i + 1] = s1[p];
    }
  }
#endif
  for (; i < cnt; ++i) {
    const T* s = src + i * ld;
    for (int64_t p = 0; p < kc; ++p) dst[p * w + i] = s[p];
  }
}

// Any strides: element (p, i) at src[p * sp + i * si].
template <typename T>
void pack_strided(int64_t cnt, int64_t kc, const T* src, int64_t sp, int64_t si, int w, T* dst) {
  for (int64_t p = 0; p < kc; ++p) {
    T* d = dst + p * w;
    const T* s = src + p * sp;
    for (int64_t i = 0; i < cnt; ++i) d[i] = s[i * si];
    for (int64_t i = cnt; i < w; ++i) d[i] = T(0);
  }
}

// Pack `cnt` (<= w) vectors of length kc; element (p, i) at src[p * sp + i * si].
template <typename T>
void pack_panel(int64_t cnt, int64_t kc, const T* src, int64_t sp, int64_t si, int w, T* dst) {
  if (si == 1)
    pack_rows(cnt, kc, src, sp, w, dst);
  else if (sp == 1)
    pack_cols(cnt, kc, src, si, w, dst);
  else
    pack_strided(cnt, kc, src, sp, si, w, dst);
}

struct Blocking {
  int64_t kc, mc, nc;
  int64_t b_in_place_max;  // the largest B (elements) read in place by driver 2
};

template <typename T>
Blocking blocking_for(const GemmUkrInfo<T>& u) {
  const CacheSizes& cs = cache_sizes();
  const GemmTuning& tu = gemm_tuning();
  const int64_t sz = sizeof(T);
  Blocking b;
  // KC: the depth of one pass over a C tile. Deeper passes load and store C less often: on Zen 4
  // 384..512 were best, 256 10% and 128 20% slower at 1024^3. The B micro-panel (KC x NR) then
  // lives in L2, which streams it at several times the kernel's rate, and the A micro-panel in L1.
  // The tuning pass measures it (gemm_tuning().kc, 512 by default).
  b.kc = tu.kc;
  // MC: an A block (MC x KC) fills about half of L2 (the tuning pass may choose less) ...
  b.mc = std::max<int64_t>(u.mr, (cs.l2 / tu.a_block_l2_div) / (b.kc * sz) / u.mr * u.mr);
  // ... and NC: a B block (KC x NC) a quarter of L3 (shared by the threads).
  b.nc = std::clamp<int64_t>((cs.l3 / 4) / (b.kc * sz) / u.nr * u.nr, u.nr, 8192);
  // Driver 2 reads B in place only while B fits in that quarter of L3 too: a larger B (the weight
  // gradient of a long sequence, K = batch * steps) comes from DRAM, and the microkernel's strided
  // panel reads stall on it where packing streams it. On Zen 4, B of 13-26 MB: packed 8-47% faster;
  // B of 0.25-2 MB: in place 4-30% faster.
  b.b_in_place_max = (cs.l3 / 4) / sz;
  return b;
}

template <typename T>
void scale_rows(T* c, int64_t ldc, int64_t m, int64_t n, T beta) {
  for (int64_t i = 0; i < m; ++i) {
    T* row = c + i * ldc;
    if (beta == T(0))
      std::fill(row, row + n, T(0));
    else
      for (int64_t j = 0; j < n; ++j) row[j] *= beta;
  }
}

// One GEMM call: C (m x n, row stride ldc) := alpha * op(A) op(B) + beta * C, then the epilogue.
template <typename T>
struct Problem {
  int64_t m, n, k;
  T alpha;
  const T* a;
  int64_t rs_a, cs_a;
  const T* b;
  int64_t rs_b, cs_b;
  T beta;
  T* c;
  int64_t ldc;
  GemmEpilogue<T> ep;
  const GemmAPacker<T>* pa = nullptr;  // when set, op(A) comes from pa (rows from a_i0), not from a
  int64_t a_i0 = 0;
  // When set, B's last n % NR columns, packed for all k rows into an NR-wide panel by the caller,
  // shared by the tasks of a call split by rows (each would pack the same panel otherwise).
  const T* b_edge = nullptr;
};

// How many rows `stride_bytes` apart a cache of `sets` sets of 8 ways holds before they evict each
// other: rows a multiple of 64 bytes apart fall into sets / gcd(stride in lines, sets) of its sets.
// Rows that straddle lines spread over all of them (no limit). 8 ways: the fewest dlcore meets.
int64_t rows_held(int64_t stride_bytes, int64_t sets) {
  constexpr int64_t kLine = 64, kWays = 8;
  if (stride_bytes % kLine != 0) return INT64_MAX;
  sets = std::max<int64_t>(sets, 1);
  const int64_t g = std::gcd(stride_bytes / kLine % sets, sets);
  return sets / (g == 0 ? sets : g) * kWays;
}

// Whether a B micro-panel read in place (kc rows, rs_b elements apart) keeps its place in L2 while
// the A panels of a block stream past it. Rows a power-of-two multiple of 64 bytes apart share
// few L2 sets: 4 KiB apart, a 1 MiB 16-way L2 holds 256 such rows, fewer than one panel of
// KC = 512, and each A panel would fetch the B panel from L3 again. Those strides (B 1024 floats
// wide, say) are packed instead. The count assumes 8 ways, the fewest of the caches dlcore meets.
bool b_panel_fits_l2(int64_t rs_b_bytes, int64_t kc) {
  return rows_held(rs_b_bytes, cache_sizes().l2 / 64 / 8) >= 2 * kc;
}

// Whether the MR rows of A that the rows kernel reads in place, rs_a_bytes apart, spread over enough
// L1 sets. An L1 indexed by the page offset has 4 KiB of lines per way, so rows 4 KiB apart all fall
// in one set and evict each other: 1024x16x1024 through the rows kernel (rows 4 KiB apart) took
// 408 us on one Zen 4 core, against 97 us for 1024x16x512 (2 KiB apart, eight rows per set). The
// count assumes 8 ways, the fewest of the caches dlcore meets.
bool rows_spread_in_l1(int64_t rs_a_bytes, int mr) { return rows_held(rs_a_bytes, 4096 / 64) >= mr; }

// Split K into equal blocks of at most kc (no thin last block).
int64_t balanced_kc(int64_t k, int64_t kc) { return ceil_div(k, ceil_div(k, kc)); }

// The two inner loops around the microkernel for one K block of depth kc: C block `c` (mc rows,
// B panels jp0..jp1 of an nc-wide block) += packed A block `ap` times the B panels. bpanel(jp)
// gives panel jp as (pointer, row stride). `ep` (bias already offset to the block) is applied to
// each tile right after it is final; nullptr while later K blocks are still to come.
template <typename T, class BPanel>
void macro_kernel(const GemmUkrInfo<T>& u, int64_t mc, int64_t nc, int64_t jp0, int64_t jp1, int64_t kc,
                  const T* ap, BPanel bpanel, T* c, int64_t ldc, T alpha, T beta, const GemmEpilogue<T>* ep) {
  const int mr = u.mr, nr = u.nr;
  auto tile = [&](int64_t ir, int64_t jp) {
    const int64_t jr = jp * nr, ncols = std::min<int64_t>(nr, nc - jr);
    const int64_t rows = std::min<int64_t>(mr, mc - ir);
    const auto [bp, ldb] = bpanel(jp);
    const GemmUkr<T> ukr = u.ukr_edge && ncols <= u.nr_edge ? u.ukr_edge : u.ukr;
    T* ct = c + ir * ldc + jr;
    ukr(rows, ncols, kc, ap + ir * kc, bp, ldb, ct, ldc, alpha, beta);
    if (ep) {
      GemmEpilogue<T> ep_t = *ep;
      if (ep_t.bias) ep_t.bias += jr;
      apply_epilogue(ct, ldc, rows, ncols, ep_t);
    }
  };
  // A shallow block (kc * the block's B panels within half of L1: K = 4, n = 1024) does a few FMAs
  // per value of C, and writing C is the work: the tiles go row panel by row panel, each row of C
  // written as one run. Down a column panel instead, rows ldc apart land in the same few L1 sets when
  // ldc is near a multiple of 4 KiB (n = 1023..1025, 2048), and every store evicts one
  // (1024x1024x4 on one thread: 3.4x slower than 1024x1000x4). A deep block keeps the usual order,
  // its B micro-panel in L1 while the A panels stream past it.
  if (kc * (jp1 - jp0) * nr * int64_t(sizeof(T)) <= cache_sizes().l1d / 2) {
    for (int64_t ir = 0; ir < mc; ir += mr)
      for (int64_t jp = jp0; jp < jp1; ++jp) tile(ir, jp);
    return;
  }
  for (int64_t jp = jp0; jp < jp1; ++jp)
    for (int64_t ir = 0; ir < mc; ir += mr) tile(ir, jp);
}

// Pack the A block op(A)[ic:ic+mc, pc:pc+kc], panels p0..p1, into MR-tall panels at `ap`.
template <typename T>
void pack_a_block(const Problem<T>& P, int mr, int64_t ic, int64_t mc, int64_t pc, int64_t kc, T* ap, int64_t p0,
                  int64_t p1) {
  if (P.pa) {
    if (p1 > p0)
      P.pa->pack(P.pa->ctx, P.a_i0 + ic + p0 * mr, std::min(mc, p1 * mr) - p0 * mr, pc, kc, mr, ap + p0 * mr * kc);
    return;
  }
  for (int64_t ip = p0; ip < p1; ++ip)
    pack_panel(std::min<int64_t>(mr, mc - ip * mr), kc, P.a + (ic + ip * mr) * P.rs_a + pc * P.cs_a, P.cs_a,
               P.rs_a, mr, ap + ip * mr * kc);
}

// ---- Driver 1: narrow problems as dot products ------------------------------------------------
//
// When n is small (a classifier head: n = 10) and A is row-major, every element of C is a dot
// product of a row of A, read in place, with a row of B^T, packed once (n x k, tiny). The dot
// kernel runs its vectors along k, so it wastes no lanes on a narrow C and packs nothing of A.
template <typename T>
void gemm_dot_rows(const Problem<T>& P, const GemmUkrInfo<T>& u) {
  const int mr = u.dot_mr, nj = 4;
  // K blocks keep a few rows of A and all of B^T in L1/L2; when all of B^T fits in 64 KiB there is
  // one block, so that each row of A is streamed once, start to end (in blocks of 512, A's rows
  // were walked in 2 KiB pieces a row apart, which the prefetchers follow poorly).
  const int64_t kc_max = P.n * P.k * int64_t(sizeof(T)) <= (64 << 10) ? P.k : balanced_kc(P.k, 512);
  const int64_t ldbt = round_up(kc_max, 16);
  T* bt = scratch_b<T>(P.n * ldbt);
  for (int64_t pc = 0; pc < P.k; pc += kc_max) {
    const int64_t kc = std::min(kc_max, P.k - pc);
    const T beta = pc == 0 ? P.beta : T(1);
    const bool last = pc + kc == P.k;
    // B^T row j, element p = op(B)(pc + p, j)
    pack_panel(kc, P.n, P.b + pc * P.rs_b, P.cs_b, P.rs_b, int(ldbt), bt);
    for (int64_t i = 0; i < P.m; i += mr) {
      const int64_t rows = std::min<int64_t>(mr, P.m - i);
      for (int64_t j = 0; j < P.n; j += nj) {
        const int64_t cols = std::min<int64_t>(nj, P.n - j);
        T* ct = P.c + i * P.ldc + j;
        u.dot[cols - 1](rows, cols, kc, P.a + i * P.rs_a + pc, P.rs_a, bt + j * ldbt, ldbt, ct, P.ldc, P.alpha, beta);
        if (last) {
          GemmEpilogue<T> ep = P.ep;
          if (ep.bias) ep.bias += j;
          apply_epilogue(ct, P.ldc, rows, cols, ep);
        }
      }
    }
  }
}

// ---- Driver 0: a few rows of A and a row-major B: the row-vector kernel ---------------------------
//
// A vector-matrix product (batch-1 inference, m = 1) reads each element of B once and does one FMA
// with it: it is bound by reading B. Packing B would read it twice and write it once; the register
// tile would waste MR - m of its rows. The row-vector kernel streams B's rows where they lie.

// C := beta C + the sum of the `parts` (m x n, row-major; beta == 0: C not read), then the epilogue.
template <typename T>
void rowvec_finish(const Problem<T>& P, T* const* parts, int64_t nparts) {
  const int64_t n = P.n;
  for (int64_t i = 0; i < P.m; ++i) {
    T* ci = P.c + i * P.ldc;
    const T* p0 = parts[0] + i * n;
    if (P.beta == T(0))
      for (int64_t j = 0; j < n; ++j) ci[j] = p0[j];
    else
      for (int64_t j = 0; j < n; ++j) ci[j] = P.beta * ci[j] + p0[j];
    for (int64_t q = 1; q < nparts; ++q) {
      const T* pq = parts[q] + i * n;
      for (int64_t j = 0; j < n; ++j) ci[j] += pq[j];
    }
  }
  apply_epilogue(P.c, P.ldc, P.m, P.n, P.ep);
}

// One thread, one block of C's columns (split_c).
template <typename T>
void gemm_rowvec_rows(const Problem<T>& P, const GemmUkrInfo<T>& u) {
  u.rowvec(P.m, P.n, P.k, P.a, P.rs_a, P.cs_a, P.b, P.rs_b, P.c, P.ldc, P.alpha, P.beta);
  apply_epilogue(P.c, P.ldc, P.m, P.n, P.ep);
}

// Tasks per thread of a split C (or K): a few, so that a thread the OS runs late (a neighbour's pool
// spinning on its core) holds up only a small share of the call (thread_pool.h).
constexpr int kTasksPerThread = 4;
// A task this large (tens of microseconds on one core) costs far more than claiming it: work cut
// into such pieces goes one piece per task, so that the threads end together.
constexpr int64_t kMinTaskFlops = int64_t(4) << 20;

// Several threads and a deep B: each task takes a contiguous range of B's rows (one stretch of
// memory when B is dense, which the prefetchers stream at full rate) and sums its share of the K loop
// into a buffer of its own; C is their sum. Splitting N instead (split_c) hands each task pieces of
// B's rows n / tasks wide, k of them ldb apart: too short for the prefetchers to lock on
// (1x4096x4096 on two threads: 0.55x NumPy against 0.91x split this way, best of 180 calls).
// Each task takes at least kRowvecMinRows rows, so that the buffers stay a small share of B.
constexpr int64_t kRowvecMinRows = 256;

template <typename T>
void gemm_rowvec_split_k(const Problem<T>& P, const GemmUkrInfo<T>& u, int nt) {
  const int64_t m = P.m, n = P.n, k = P.k, stride = round_up(m * n, 64 / int64_t(sizeof(T)));
  // As many tasks for every thread: k = 1023 made three (two threads: one ran two thirds of the rows,
  // 1x1023x1023 on the Zen 4 40 us against 32 us for k = 1024's four).
  int64_t tasks = std::min<int64_t>(int64_t(nt) * kTasksPerThread, k / kRowvecMinRows);
  if (tasks > nt) tasks = tasks / nt * nt;
  T* buf = scratch_b<T>(tasks * stride);
  std::vector<T*> parts(size_t(tasks), nullptr);
  auto row0 = [&](int64_t q) { return k * q / tasks / 8 * 8; };  // whole passes of the kernel (8 rows)
  parallel_tasks(tasks, nt, [&](int64_t q) {
    const int64_t p0 = row0(q), p1 = q + 1 == tasks ? k : row0(q + 1);
    const T* b = P.b + p0 * P.rs_b;
    T* acc = parts[size_t(q)] = buf + q * stride;
    u.rowvec(m, n, p1 - p0, P.a + p0 * P.cs_a, P.rs_a, P.cs_a, b, P.rs_b, acc, n, P.alpha, T(0));
  });
  rowvec_finish(P, parts.data(), tasks);
}

// ---- Driver 2: B read in place (row-major B), one thread ----------------------------------------
//
// The full NR-wide column panels of B are handed to the microkernel where they lie, and so is the
// last panel when it is exactly the edge kernel's width (n = 48 with NR = 32: 16 columns); another
// narrower panel is packed (zero-padded). Packing B costs a full read and write of B, which a small
// or thin problem (few rows of A to reuse each B panel) never earns back.
//
// A problem whose A and B fit in twice L1 together (48^3: 18 KiB, 64^3: 32 KiB) and whose K is one
// block packs nothing of A either: the rows kernel reads A's rows where they lie, through MR row
// pointers per panel. Packing A is a transpose of all of A, which a panel used by one or two B
// panels does not repay (48^3 on one Zen 5 core: 2.0 us a call with A packed and the 16-column edge
// packed, of which about 0.5 us is the call from Python). Up to twice L1, not L1: on the Zen 4
// (32 KiB L1), 64x64x65 took 6.05 us with A packed, 5.69 us read in place; 80^3 10.6 -> 10.2 us.
// Nor does a C of one column panel (n = 16 on the 16-wide narrow kernel), whatever the size of A:
// each A panel meets one B panel, and the tile runs the whole K in registers while A's rows stream
// past and the k x NR panel of B stays in L2.
template <typename T>
void gemm_b_in_place(const Problem<T>& P, const GemmUkrInfo<T>& u, const Blocking& blk) {
  const int mr = u.mr, nr = u.nr;
  const int64_t kc_max = balanced_kc(P.k, blk.kc);
  const int64_t mc_max = std::min(blk.mc, round_up(P.m, mr));
  const int64_t n_full = P.n / nr, edge = P.n - n_full * nr;
  const int64_t n_panels = n_full + (edge > 0);
  const bool edge_in_place = edge > 0 && u.ukr_edge && edge == u.nr_edge;
  const bool a_in_place = !P.pa && P.cs_a == 1 && mr <= 64 &&
                          kc_max == P.k &&
                          ((u.ukr_rows_edge && (P.m * P.k + P.k * P.n) * int64_t(sizeof(T)) <= 2 * cache_sizes().l1d) ||
                           (n_panels == 1 && rows_spread_in_l1(P.rs_a * int64_t(sizeof(T)), mr)));
  const bool own_edge = edge && !edge_in_place && !P.b_edge;  // packed here, K block by K block
  T* bedge_own = own_edge ? scratch_b<T>((a_in_place ? P.k : kc_max) * nr) : nullptr;
  const T* bedge = P.b_edge ? P.b_edge : bedge_own;
  if (a_in_place) {
    if (own_edge) pack_panel(edge, P.k, P.b + n_full * nr, P.rs_b, int64_t(1), nr, bedge_own);
    const T* rows[64];  // every kernel table's MR is at most 16
    for (int64_t ir = 0; ir < P.m; ir += mr) {
      const int64_t m_t = std::min<int64_t>(mr, P.m - ir);
      for (int i = 0; i < mr; ++i) rows[i] = P.a + (ir + std::min<int64_t>(i, m_t - 1)) * P.rs_a;  // rows >= m: any row
      for (int64_t jp = 0; jp < n_panels; ++jp) {
        const int64_t jr = jp * nr, ncols = std::min<int64_t>(nr, P.n - jr);
        const bool packed = jp == n_full && bedge;
        T* ct = P.c + ir * P.ldc + jr;
        const GemmRowsUkr<T> ukr = ncols <= u.nr_edge ? u.ukr_rows_edge : u.ukr_rows;
        ukr(m_t, ncols, 1, P.k, rows, packed ? bedge : P.b + jr, packed ? nr : P.rs_b, ct, P.ldc, P.alpha, P.beta);
        GemmEpilogue<T> ep_t = P.ep;
        if (ep_t.bias) ep_t.bias += jr;
        apply_epilogue(ct, P.ldc, m_t, ncols, ep_t);
      }
    }
    return;
  }
  T* ap = scratch_a<T>(mc_max * kc_max);
  for (int64_t pc = 0; pc < P.k; pc += kc_max) {
    const int64_t kc = std::min(kc_max, P.k - pc);
    const T beta = pc == 0 ? P.beta : T(1);
    const bool last = pc + kc == P.k;
    const T* bk = P.b + pc * P.rs_b;
    if (own_edge) pack_panel(edge, kc, bk + n_full * nr, P.rs_b, int64_t(1), nr, bedge_own);
    const T* be = P.b_edge ? P.b_edge + pc * nr : bedge_own;  // a panel's rows are NR apart
    auto bpanel = [&](int64_t jp) {
      return jp < n_full || !be ? std::pair<const T*, int64_t>(bk + jp * nr, P.rs_b)
                                : std::pair<const T*, int64_t>(be, nr);
    };
    for (int64_t ic = 0; ic < P.m; ic += mc_max) {
      const int64_t mc = std::min(mc_max, P.m - ic);
      pack_a_block(P, mr, ic, mc, pc, kc, ap, 0, ceil_div(mc, mr));
      macro_kernel(u, mc, P.n, 0, n_panels, kc, ap, bpanel, P.c + ic * P.ldc, P.ldc, P.alpha, beta,
                   last ? &P.ep : nullptr);
    }
  }
}

// Whether split_c cuts C by rows (else by column panels). Every block of rows reads all of B:
// `b_costly` says that is too dear (B read in place from beyond L2 by a few rows), and C is then cut
// by columns when it has enough of them, each block of columns reading its own stripe of B.
bool split_by_rows(int64_t m, int64_t n, int mr, int nr, int nt, bool b_costly = false) {
  const int64_t row_panels = ceil_div(m, mr), col_panels = ceil_div(n, nr);
  if (b_costly && col_panels >= 2 * nt) return false;
  return row_panels >= 2 * nt || row_panels >= col_panels;
}

// Threads take disjoint blocks of C (rows when there are enough, else column panels, in multiples
// of mr and nr) and each runs serial(sub-problem) on its block: no barriers, and nothing shared but
// P.b_edge (kept only when C is cut by rows, every block's edge then being the same columns).
// `first`, when given, runs as one more task, the first claimed (run: the last columns of C that
// the dot driver computes, so that one call is one dispatch of the pool).
template <typename T, class Serial, class First = std::nullptr_t>
void split_c_by(const Problem<T>& P, bool by_rows, int mr, int nr, int nt, int64_t tasks_per_thread, Serial serial,
                First first = nullptr) {
  const int64_t parts = by_rows ? ceil_div(P.m, mr) : ceil_div(P.n, nr);
  nt = int(std::min<int64_t>(nt, parts + !std::is_null_pointer_v<First>));
  const int64_t tasks = nt > 1 ? std::min<int64_t>(parts, int64_t(nt) * tasks_per_thread) : 1;
  auto part = [&](int64_t t) {
    if constexpr (!std::is_null_pointer_v<First>) {
      if (t-- == 0) return first();
    }
    const int64_t p0 = parts * t / tasks, p1 = parts * (t + 1) / tasks;
    Problem<T> S = P;
    if (by_rows) {
      const int64_t r0 = p0 * mr, r1 = std::min(P.m, p1 * mr);
      S.m = r1 - r0, S.c += r0 * P.ldc;
      if (P.pa)
        S.a_i0 += r0;
      else
        S.a += r0 * P.rs_a;
    } else {
      const int64_t c0 = p0 * nr, c1 = std::min(P.n, p1 * nr);
      S.n = c1 - c0, S.b += c0 * P.cs_b, S.c += c0, S.b_edge = nullptr;
      if (S.ep.bias) S.ep.bias += c0;
    }
    if (S.m > 0 && S.n > 0) serial(S);
  };
  parallel_tasks(tasks + !std::is_null_pointer_v<First>, nt, part);
}

template <typename T, class Serial, class First = std::nullptr_t>
void split_c(const Problem<T>& P, int mr, int nr, int nt, Serial serial, First first = nullptr, bool b_costly = false) {
  split_c_by(P, split_by_rows(P.m, P.n, mr, nr, nt, b_costly), mr, nr, nt, kTasksPerThread, serial, first);
}

// ---- Driver 3: B packed once and shared by the threads (large problems) --------------------------
//
// For each B block: the threads pack its panels (one task per share), then compute with it. When m
// has enough MR panels for every thread to get a full-height block, each task packs and multiplies
// its own A blocks (split ic); otherwise each A block is packed by all and multiplied by all, each
// task taking a range of B panels (split jr). The end of each parallel_tasks call is the barrier.
template <typename T>
void gemm_packed(const Problem<T>& P, const GemmUkrInfo<T>& u, const Blocking& blk, int nt) {
  const int mr = u.mr, nr = u.nr;
  const int64_t m = P.m, n = P.n, k = P.k;

  int64_t n_ic = ceil_div(m, blk.mc);
  bool split_ic = false;
  int64_t mc_eff = std::min(blk.mc, round_up(m, mr));
  if (nt > 1 && m >= int64_t(nt) * 4 * mr) {
    n_ic = round_up(std::max<int64_t>(n_ic, nt), nt);
    mc_eff = round_up(ceil_div(m, n_ic), mr);
    n_ic = ceil_div(m, mc_eff);
    split_ic = n_ic >= nt;
  }

  const int64_t nc_max = std::min(blk.nc, round_up(n, nr));
  const int64_t kc_max = balanced_kc(k, blk.kc);
  T* bbuf = scratch_b<T>(kc_max * nc_max);
  T* abuf_shared = split_ic ? nullptr : scratch_a<T>(mc_eff * kc_max);

  for (int64_t jc = 0; jc < n; jc += nc_max) {
    const int64_t nc = std::min(nc_max, n - jc);
    const int64_t n_panels = ceil_div(nc, nr);
    GemmEpilogue<T> ep_j = P.ep;
    if (ep_j.bias) ep_j.bias += jc;
    for (int64_t pc = 0; pc < k; pc += kc_max) {
      const int64_t kc = std::min(kc_max, k - pc);
      const T beta = pc == 0 ? P.beta : T(1);
      const GemmEpilogue<T>* ep = pc + kc == k ? &ep_j : nullptr;

      parallel_ranges(n_panels, int64_t(nt) * kTasksPerThread, nt, [&](int64_t jp0, int64_t jp1) {
        for (int64_t jp = jp0; jp < jp1; ++jp)
          pack_panel(std::min<int64_t>(nr, nc - jp * nr), kc, P.b + pc * P.rs_b + (jc + jp * nr) * P.cs_b, P.rs_b,
                     P.cs_b, nr, bbuf + jp * nr * kc);
      });
      auto bpanel = [&](int64_t jp) { return std::pair<const T*, int64_t>(bbuf + jp * nr * kc, nr); };

      if (split_ic) {
        // A few tasks per thread, not one per A block: a block of 256 rows with K = 9 (an im2col
        // GEMM) takes about a microsecond, and on the 2-vCPU Zen 5, in spells (minutes long) where
        // the two threads sharing the task counters is slow, one task per block made two threads
        // slower than one: 43264x32x9 took 246-252 us on two threads (200 on one), and takes
        // 129-132 us with 8 tasks in the same spell (113 us outside it, either way).
        //
        // Blocks of a few megaflops or more are one task each instead: ranges of unequal length
        // (10 blocks in 8 ranges, two of them of two blocks) end the K block with one thread doing
        // a two-block range alone. 2049^3 on the 2-core Zen 4, 10 blocks of 208 rows: 99 ms in
        // 8 ranges, against 83 ms for 2048^3 (8 blocks of 256).
        const int64_t block_flops = 2 * mc_eff * nc * kc;
        const int64_t tasks = block_flops >= kMinTaskFlops ? n_ic : std::min<int64_t>(n_ic, int64_t(nt) * kTasksPerThread);
        parallel_ranges(n_ic, tasks, nt, [&](int64_t bi0, int64_t bi1) {
          T* ap = scratch_a<T>(mc_eff * kc_max);  // the running thread's own
          for (int64_t bi = bi0; bi < bi1; ++bi) {
            const int64_t ic = bi * mc_eff, mc = std::min(mc_eff, m - ic);
            pack_a_block(P, mr, ic, mc, pc, kc, ap, 0, ceil_div(mc, mr));
            macro_kernel(u, mc, nc, 0, n_panels, kc, ap, bpanel, P.c + ic * P.ldc + jc, P.ldc, P.alpha, beta, ep);
          }
        });
      } else {
        for (int64_t ic = 0; ic < m; ic += mc_eff) {
          const int64_t mc = std::min(mc_eff, m - ic);
          parallel_ranges(ceil_div(mc, mr), nt, nt, [&](int64_t p0, int64_t p1) {
            pack_a_block(P, mr, ic, mc, pc, kc, abuf_shared, p0, p1);
          });
          parallel_ranges(n_panels, int64_t(nt) * kTasksPerThread, nt, [&](int64_t jp0, int64_t jp1) {
            macro_kernel(u, mc, nc, jp0, jp1, kc, abuf_shared, bpanel, P.c + ic * P.ldc + jc, P.ldc, P.alpha, beta,
                         ep);
          });
        }
      }
    }
  }
}

}  // namespace

template <typename T>
void apply_epilogue(T* c, int64_t ldc, int64_t m, int64_t n, const GemmEpilogue<T>& ep) {
  if (!ep.bias && ep.act == Epilogue::none) return;
  for (int64_t i = 0; i < m; ++i) {
    T* row = c + i * ldc;
    if (ep.bias)
      for (int64_t j = 0; j < n; ++j) row[j] += ep.bias[j];
    switch (ep.act) {
      case Epilogue::relu:
        for (int64_t j = 0; j < n; ++j) row[j] = math::relu(row[j]);
        break;
      case Epilogue::sigmoid:
        for (int64_t j = 0; j < n; ++j) row[j] = math::sigmoid(row[j]);
        break;
      case Epilogue::tanh:
        for (int64_t j = 0; j < n; ++j) row[j] = math::tanh(row[j]);
        break;
      case Epilogue::none: break;
    }
  }
}

template <typename T>
const GemmUkrInfo<T>& with_narrow(const GemmUkrInfo<T>& u, int64_t n) {
  return u.narrow && n <= u.narrow->nr ? *u.narrow : u;
}

namespace {
GemmTuning& tuning_slot() {
  static GemmTuning t;
  return t;
}
}  // namespace

const GemmTuning& gemm_tuning() { return tuning_slot(); }

int gemm_ukr_f32_variants(Isa isa) {
  switch (isa) {
    case Isa::avx512: return int(std::size(gemm_ukr_avx512_f32));
    case Isa::avx2: return int(std::size(gemm_ukr_avx2_f32));
    default: return int(std::size(gemm_ukr_generic_f32));
  }
}

const GemmUkrInfo<float>& gemm_ukr_f32_variant(Isa isa, int i) {
  if (i < 0 || i >= gemm_ukr_f32_variants(isa))
    throw std::invalid_argument("gemm_ukr_f32_variant: no variant " + std::to_string(i) + " for " + isa_name(isa));
  switch (isa) {
    case Isa::avx512: return gemm_ukr_avx512_f32[i];
    case Isa::avx2: return gemm_ukr_avx2_f32[i];
    default: return gemm_ukr_generic_f32[i];
  }
}

void set_gemm_tuning(const GemmTuning& t) {
  for (Isa isa : {Isa::generic, Isa::avx2, Isa::avx512}) {
    const int v = t.ukr_f32[int(isa)];
    if (v < 0 || v >= gemm_ukr_f32_variants(isa))
      throw std::invalid_argument(std::string("set_gemm_tuning: ukr_f32 for ") + isa_name(isa) + " must be in [0, " +
                                  std::to_string(gemm_ukr_f32_variants(isa)) + "), got " + std::to_string(v));
  }
  if (t.kc < 64 || t.kc > 2048)
    throw std::invalid_argument("set_gemm_tuning: kc must be in [64, 2048], got " + std::to_string(t.kc));
  if (t.a_block_l2_div < 1 || t.a_block_l2_div > 8)
    throw std::invalid_argument("set_gemm_tuning: a_block_l2_div must be in [1, 8], got " +
                                std::to_string(t.a_block_l2_div));
  tuning_slot() = t;
}

template <>
const GemmUkrInfo<float>& gemm_ukr<float>(int64_t n) {
  const Isa isa = active_isa();
  return with_narrow(gemm_ukr_f32_variant(isa, tuning_slot().ukr_f32[int(isa)]), n);
}

template <>
const GemmUkrInfo<double>& gemm_ukr<double>(int64_t n) {
  switch (active_isa()) {
    case Isa::avx512: return with_narrow(gemm_ukr_avx512_f64, n);
    case Isa::avx2: return with_narrow(gemm_ukr_avx2_f64, n);
    default: return gemm_ukr_generic_f64;
  }
}

// Largest packed call (in flops) whose threads each multiply their own block of C (run).
constexpr int64_t kMaxIndependentFlops = int64_t(600) << 20;

// Smallest call (in flops) that uses more than one thread.
constexpr int64_t kMinParallelFlops = int64_t(1) << 20;

namespace {

enum class Driver { dot, b_in_place, b_packed, rowvec };

// The choice for one call (gemm.h describes the drivers).
template <typename T>
struct Choice {
  Driver driver;
  const GemmUkrInfo<T>* u;
  Blocking blk;
  int nt;
  int64_t edge_dot = 0;  // the last columns, run by the dot driver instead (see run)
};

template <typename T>
Choice<T> choose(int64_t m, int64_t n, int64_t k, bool a_packer, int64_t rs_a, int64_t cs_a, int64_t rs_b,
                 int64_t cs_b, int max_threads) {
  Choice<T> c;
  c.u = &gemm_ukr<T>(n);
  // Below about a million flops a call takes ~10 microseconds on one core: waking a second thread
  // costs more than it saves.
  int nt = max_threads > 0 ? max_threads : num_threads();
  if (2 * m * n * k < kMinParallelFlops) nt = 1;
  c.nt = std::min(nt, threads_for(2 * m * n * k));
  // One column panel of C that the tile kernel fills (n = 16 on the 16-wide narrow kernel), A
  // row-major and K one block: B and A both read in place (driver 2 with the rows kernel), C's tiles
  // summed in registers over the whole K, no lane wasted and no horizontal sum. On one Zen 4 core,
  // against the dot driver: 256x16x64 12.1 -> 6.4 us, 64x16x512 19.2 -> 7.0-7.9 us, 1024x16x64
  // 23.7 -> 15.0 us (NumPy 6.7, 11.6, 18.0); with the AVX2 kernels 1024x16x512 ran at 165 GFLOP/s,
  // 1024x15x512 on the dot driver at 94. A deeper K stays with the dot driver (1024x16x1024 through
  // the rows kernel: 408 us, A's rows 4 KiB apart; dot driver 257), as do rows that share L1 sets.
  const bool one_panel = n % c.u->nr == 0 && n <= c.u->nr && !a_packer && cs_a == 1 && cs_b == 1 &&
                         k <= gemm_tuning().kc && rows_spread_in_l1(rs_a * int64_t(sizeof(T)), c.u->mr);
  // Narrow C with row-major A: dot products, nothing of A packed (driver 1).
  if (const GemmUkrInfo<T>& ud = gemm_ukr<T>(); ud.dot[0] && !a_packer && cs_a == 1 && n <= 16 && k >= 16 &&
                                                !one_panel) {
    c.driver = Driver::dot, c.u = &ud, c.blk = Blocking{balanced_kc(k, 512), ud.dot_mr, 4, 0};
    return c;
  }
  // At most four rows of A and a row-major B: the row-vector kernel (driver 0).
  if (const GemmUkrInfo<T>& ur = gemm_ukr<T>(); ur.rowvec && !a_packer && m <= 4 && cs_b == 1) {
    c.driver = Driver::rowvec, c.u = &ur, c.blk = Blocking{k, m, 64, 0};
    return c;
  }
  // A short C (a few row panels): the float32 variant whose MR pads m least (the tuned one on a tie),
  // so that m = 16 does not run two 12-row panels.
  if constexpr (std::is_same_v<T, float>) {
    const Isa isa = active_isa();
    if (c.u == &gemm_ukr<T>() && m <= 4 * c.u->mr)
      for (int v = 0; v < gemm_ukr_f32_variants(isa); ++v) {
        const GemmUkrInfo<T>& cand = gemm_ukr_f32_variant(isa, v);
        if (round_up(m, cand.mr) < round_up(m, c.u->mr)) c.u = &cand;
      }
  }
  c.blk = blocking_for(*c.u);
  c.blk.kc = balanced_kc(k, c.blk.kc);  // the depth the drivers use (equal blocks)
  // Row-major B whose panels keep their place in L2, at most a couple of A blocks per thread to
  // reuse each B panel, and B cache-sized or few rows of A (a B from DRAM is read once in place;
  // packing it would read it twice and write it once): packing B would cost more than it saves
  // (driver 2). Otherwise pack B once, shared by the threads (driver 3).
  //
  // Few rows of A over a B larger than L2 whose rows fold onto a few L2 sets (a row stride of a
  // multiple of 4 KiB) read each B panel back from L3 or memory for every row panel of A: with more
  // than two row panels B is packed. 64x1024x4096 on the 2-core AMD EPYC (Zen 5) on a day of slow
  // memory: 2.5 ms in place (0.89x NumPy), 1.6 ms packed (1.47x); 64x4096x1024 2.3 -> 1.7 ms.
  // So is a B too large for its quarter of L3 (from memory), whatever its stride, read by more than
  // two row panels: the microkernel's first pass over each panel waits on memory row by row, where
  // packing streams it. 64x1000x4096 on the 2-core Zen 4: 4.9 ms in place, 3.1-3.2 ms packed (NumPy
  // 3.4-3.7).
  const bool few_rows = m <= 64;  // each B panel read at most eight times (MR >= 8)
  const bool fits = b_panel_fits_l2(rs_b * int64_t(sizeof(T)), c.blk.kc);
  const bool from_memory = k * n > c.blk.b_in_place_max;
  const bool few_in_place =
      m <= 2 * c.u->mr || (fits && !from_memory) || k * n * int64_t(sizeof(T)) <= cache_sizes().l2;
  const bool in_place = cs_b == 1 && (one_panel || (m <= 2 * c.blk.mc && ((few_rows && few_in_place) ||
                                                                         (k * n <= c.blk.b_in_place_max && fits))));
  c.driver = in_place ? Driver::b_in_place : Driver::b_packed;
  // A C a few columns wider than a multiple of the narrowest tile (n = 33, 65): those columns would
  // cost a whole tile's work each. With A row-major they go to the dot driver instead.
  const int64_t w = c.u->ukr_edge ? c.u->nr_edge : c.u->nr, e = n % w;
  if (n > w && e > 0 && e <= 4 && !a_packer && cs_a == 1 && k >= 16 && gemm_ukr<T>().dot[0]) c.edge_dot = e;
  return c;
}

// Driver 2 on c.nt threads (split_c), plus `first` as one more task when given. When C is cut by
// rows, B's edge panel (n % NR columns that the microkernel cannot read in place) is packed here
// once for all the tasks, which each packed it for themselves before: 128x127x128 on two threads of
// the Zen 5 (eight tasks, eight packs of a 128x31 panel) took 1.14-1.20x the time of 128^3 in the
// same process, and takes 0.98-1.08x with the panel packed once.
//
// Cut by rows, every task reads all of B. A B larger than L2 read by a few rows of A comes from L3
// or memory for each of them: 64x1000x4096 (a 16 MB B) on two threads of the 2-core Zen 4 read B
// eight times over, 13-15 ms against NumPy's 3.6. Such a C is cut by columns instead.
bool b_reread_costly(int64_t m, int64_t n, int64_t k, int mr, int64_t elem) {
  const int64_t b_bytes = k * n * elem;
  return b_bytes > cache_sizes().l2 && (ceil_div(m, mr) <= 8 || b_bytes > cache_sizes().l3 / 4);
}

template <typename T, class First = std::nullptr_t>
void split_in_place(const Problem<T>& P, const GemmUkrInfo<T>& u, const Choice<T>& c, First first = nullptr) {
  Problem<T> Q = P;
  const int64_t edge = P.n % u.nr;
  const bool b_costly = b_reread_costly(P.m, P.n, P.k, u.mr, int64_t(sizeof(T)));
  if (c.nt > 1 && edge && !(u.ukr_edge && edge == u.nr_edge) && split_by_rows(P.m, P.n, u.mr, u.nr, c.nt, b_costly)) {
    T* be = scratch_b_edge<T>(P.k * u.nr);
    pack_panel(edge, P.k, P.b + (P.n - edge) * P.cs_b, P.rs_b, P.cs_b, u.nr, be);
    Q.b_edge = be;
  }
  split_c(Q, u.mr, u.nr, c.nt, [&](const Problem<T>& S) { gemm_b_in_place(S, u, c.blk); }, first, b_costly);
}

template <typename T>
void run(const Problem<T>& P, int max_threads) {
  const int64_t m = P.m, n = P.n, k = P.k;
  if (m <= 0 || n <= 0) return;
  if (k <= 0 || P.alpha == T(0)) {  // BLAS semantics: A and B are not read
    scale_rows(P.c, P.ldc, m, n, P.beta);
    apply_epilogue(P.c, P.ldc, m, n, P.ep);
    return;
  }
  const Choice<T> c = choose<T>(m, n, k, P.pa != nullptr, P.rs_a, P.cs_a, P.rs_b, P.cs_b, max_threads);
  if (c.edge_dot) {
    Problem<T> L = P, R = P;
    L.n = n - c.edge_dot;
    R.n = c.edge_dot, R.b += L.n * P.cs_b, R.c += L.n;
    if (R.ep.bias) R.ep.bias += L.n;
    // The rest of C in place on several threads: R's dot products are one more of its tasks, one
    // dispatch of the pool instead of two. 129^3 on two threads of the 2-core Zen 5, as a multiple
    // of 128^3's time in the same process: 1.14x as two calls, 1.06-1.10x as one. Otherwise the two
    // parts are two calls.
    const Choice<T> cl = choose<T>(m, L.n, k, P.pa != nullptr, P.rs_a, P.cs_a, P.rs_b, P.cs_b, max_threads);
    if (cl.driver == Driver::b_in_place && cl.nt > 1 && !cl.edge_dot) {
      const GemmUkrInfo<T>& ud = gemm_ukr<T>();
      return split_in_place(L, *cl.u, cl, [&] { gemm_dot_rows(R, ud); });
    }
    run(L, max_threads);
    return run(R, max_threads);
  }
  const GemmUkrInfo<T>& u = *c.u;
  // One thread, B in place and a last row panel of at most four rows (m = 65: one row): those rows
  // go to the row-vector kernel, which does their FMAs and no more, where the tile kernel would do a
  // whole panel's (65x64x64 on one Zen 4 core: 7.1 us, of which the one-row panel took ~0.5 us).
  if (const GemmUkrInfo<T>& ur = gemm_ukr<T>(); c.driver == Driver::b_in_place && c.nt == 1 && !P.pa && ur.rowvec &&
                                                m > u.mr && m % u.mr != 0 && m % u.mr <= 4) {
    Problem<T> top = P, tail = P;
    top.m = m - m % u.mr;
    tail.m = m % u.mr, tail.a += top.m * P.rs_a, tail.c += top.m * P.ldc;
    gemm_b_in_place(top, u, c.blk);
    return gemm_rowvec_rows(tail, ur);
  }
  switch (c.driver) {
    case Driver::dot:
      return split_c(P, u.dot_mr, 4, c.nt, [&](const Problem<T>& S) { gemm_dot_rows(S, u); });
    case Driver::b_in_place: return split_in_place(P, u, c);
    case Driver::b_packed:
      // A call of at most a few hundred megaflops, B cache-sized and a block or two of rows per
      // thread: each thread multiplies its own block of C (the columns when m <= n, packing A whole
      // and its own B panels; else the rows, packing B whole), with nothing shared and no barrier.
      // B packed once and shared costs a barrier after each packing step, and each thread reads the
      // panels the other packed from the other core's cache; on the 2-vCPU Zen 4 that path ran at
      // one thread's speed in the host's spells while the FMA peak of both threads held. The two
      // paths in turns in one process (medians of 30 ms turns over 45 s, shared -> independent):
      // 128x512x784 546 -> 496 us, 90th percentile 873 -> 571; 64x1024x784 598 -> 532, p90 686 ->
      // 607; beside NumPy's turns 784x512x128 549 -> 483 us (NumPy 518-545). Larger calls keep the
      // shared B: 1024^3 took 10.1 ms shared, 15.6 with each thread on its own.
      if (c.nt > 1 && 2 * m * n * k <= kMaxIndependentFlops && k * n <= c.blk.b_in_place_max &&
          m <= 2 * c.nt * c.blk.mc) {
        const bool by_rows = m > n;  // duplicate the smaller operand's packing
        return split_c_by(P, by_rows, u.mr, u.nr, c.nt, 1, [&](const Problem<T>& S) { gemm_packed(S, u, c.blk, 1); });
      }
      return gemm_packed(P, u, c.blk, c.nt);
    case Driver::rowvec:
      if (c.nt > 1 && k >= 2 * kRowvecMinRows) return gemm_rowvec_split_k(P, u, c.nt);
      return split_c(P, 4, 64, c.nt, [&](const Problem<T>& S) { gemm_rowvec_rows(S, u); });
  }
}

}  // namespace

template <typename T>
void gemm(int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t rs_a, int64_t cs_a, const T* b,
          int64_t rs_b, int64_t cs_b, T beta, T* c, int64_t ldc, const GemmEpilogue<T>& ep,
          int max_threads) {
  run(Problem<T>{m, n, k, alpha, a, rs_a, cs_a, b, rs_b, cs_b, beta, c, ldc, ep}, max_threads);
}

template <typename T>
void gemm_packed_a(int64_t m, int64_t n, int64_t k, T alpha, const GemmAPacker<T>& a, const T* b, int64_t rs_b,
                   int64_t cs_b, T beta, T* c, int64_t ldc, const GemmEpilogue<T>& ep, int max_threads) {
  run(Problem<T>{m, n, k, alpha, nullptr, 0, 0, b, rs_b, cs_b, beta, c, ldc, ep, &a, 0}, max_threads);
}

template <typename T>
void gemm_pack_panel(int64_t cnt, int64_t kc, const T* src, int64_t sp, int64_t si, int w, T* dst) {
  pack_panel(cnt, kc, src, sp, si, w, dst);
}

template <typename T>
GemmPlan gemm_plan(int64_t m, int64_t n, int64_t k, int64_t rs_a, int64_t cs_a, int64_t rs_b, int64_t cs_b,
                   int max_threads) {
  const Choice<T> c = choose<T>(m, n, k, false, rs_a, cs_a, rs_b, cs_b, max_threads);
  static const char* const names[] = {"dot", "b_in_place", "b_packed", "rowvec"};
  const bool dot = c.driver == Driver::dot;
  return {names[int(c.driver)], c.u->name, dot ? c.u->dot_mr : c.u->mr, dot ? 4 : c.u->nr,
          dot || !c.u->ukr_edge ? (dot ? 4 : c.u->nr) : c.u->nr_edge, int(c.edge_dot), c.nt, c.blk.kc, c.blk.mc,
          c.blk.nc};
}

template void gemm<float>(int64_t, int64_t, int64_t, float, const float*, int64_t, int64_t, const float*,
                          int64_t, int64_t, float, float*, int64_t, const GemmEpilogue<float>&, int);
template void gemm<double>(int64_t, int64_t, int64_t, double, const double*, int64_t, int64_t, const double*,
                           int64_t, int64_t, double, double*, int64_t, const GemmEpilogue<double>&, int);
template void gemm_packed_a<float>(int64_t, int64_t, int64_t, float, const GemmAPacker<float>&, const float*,
                                   int64_t, int64_t, float, float*, int64_t, const GemmEpilogue<float>&, int);
template void gemm_packed_a<double>(int64_t, int64_t, int64_t, double, const GemmAPacker<double>&, const double*,
                                    int64_t, int64_t, double, double*, int64_t, const GemmEpilogue<double>&, int);
template GemmPlan gemm_plan<float>(int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int);
template GemmPlan gemm_plan<double>(int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int);
template void gemm_pack_panel<float>(int64_t, int64_t, const float*, int64_t, int64_t, int, float*);
template void gemm_pack_panel<double>(int64_t, int64_t, const double*, int64_t, int64_t, int, double*);
template void apply_epilogue<float>(float*, int64_t, int64_t, int64_t, const GemmEpilogue<float>&);
template void apply_epilogue<double>(double*, int64_t, int64_t, int64_t, const GemmEpilogue<double>&);

}  // namespace dlcore::cpu
