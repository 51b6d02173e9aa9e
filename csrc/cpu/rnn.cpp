// CPU recurrent layers: LSTM, GRU and SimpleRNN, whole sequences, forward and backward through time.
// Shapes, layouts and the plan of the computation are in rnn.h; the fused gate math is rnn_gates.h.
//
// The building blocks:
//   - cpu::gemm (gemm.h) for the big products that do not depend on the recurrence: the input
//     projection of all time steps, and after the backward time loop the weight gradients and dx.
//   - the GEMM microkernel itself (gemm_ukr<T>(), its contract in gemm.h) for the per-step products
//     h_{t-1} @ U and dgates @ U^T. These are small (B x H times H x G*H) and run T times against the
//     SAME matrix, so U (and U^T for backward) is packed into microkernel panels once per call and
//     only the few rows of h_{t-1} are packed per step.
//   - one pool task per slice of the batch around the whole time loop (thread_pool.h). The
//     recurrence couples time steps but never batch rows, so each task takes a slice of the batch
//     (whole microkernel row panels) and runs every step for it: recurrent product, then the gate
//     pass on the rows it just computed, while they are still in cache. No barrier per step.
#include "cpu/rnn.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <new>
#include <optional>
#include <utility>

#include "cpu/cpu.h"
#include "cpu/scratch.h"
#include "cpu/gemm/gemm.h"
#include "cpu/rnn_gates.h"
#include "cpu/thread_pool.h"

namespace dlcore::cpu {

// The baseline gate passes (the AVX2 / AVX-512 tables live in rnn_gates_<isa>.cpp).
const RnnGateKernels<float> rnn_gates_generic_f32 = make_rnn_gate_kernels<float>();
const RnnGateKernels<double> rnn_gates_generic_f64 = make_rnn_gate_kernels<double>();

namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

template <typename T>
const RnnGateKernels<T>& gate_kernels();
template <>
const RnnGateKernels<float>& gate_kernels<float>() {
  switch (active_isa()) {
    case Isa::avx512: return rnn_gates_avx512_f32;
    case Isa::avx2: return rnn_gates_avx2_f32;
    default: return rnn_gates_generic_f32;
  }
}
template <>
const RnnGateKernels<double>& gate_kernels<double>() {
  switch (active_isa()) {
    case Isa::avx512: return rnn_gates_avx512_f64;
    case Isa::avx2: return rnn_gates_avx2_f64;
    default: return rnn_gates_generic_f64;
  }
}

// A 64-byte aligned, uninitialised array of n elements.
template <typename T>
struct Buffer {
  struct Free {
    void operator()(T* p) const { std::free(p); }
  };
  std::unique_ptr<T[], Free> ptr;
  explicit Buffer(int64_t n) {
    const size_t bytes = size_t(round_up(std::max<int64_t>(n, 1) * int64_t(sizeof(T)), 64));
    ptr.reset(static_cast<T*>(std::aligned_alloc(64, bytes)));
    if (!ptr) throw std::bad_alloc();
  }
  T* get() const { return ptr.get(); }
};

// op(B), a K x N matrix with element (p, j) at b[p * rs + j * cs], packed once for the microkernel:
// K is cut into balanced blocks of at most kGemmKc (512) rows, each block into NR-wide panels laid out
// kc x NR, zero-padded to NR columns. The per-step products walk each row panel of C along all of B's
// column panels, so B streams from L2 whatever the block depth, and a deeper block means fewer passes
// over C: blocks that fit half of L1 (kc = 128 and 171 for the LSTM's K = 256 and 1024 on a 48 KiB
// L1) ran B=64 T=100 I=128 H=256 forward + backward in 38.3 ms against 37.1 with blocks up to 512
// (medians of an A/B in one process on the 2-core AMD EPYC, Zen 5; forward alone 12.4 vs 12.2).
template <typename T>
struct PackedRhs {
  int64_t k, n, kc, nr, n_pad;
  Buffer<T> data;

  PackedRhs(int64_t k_, int64_t n_, const T* b, int64_t rs, int64_t cs, const GemmUkrInfo<T>& u)
      : k(k_), n(n_), kc(0), nr(u.nr), n_pad(round_up(n_, u.nr)), data(k_ * round_up(n_, u.nr)) {
    kc = k > 0 ? ceil_div(k, ceil_div(k, kGemmKc)) : 1;  // balanced blocks
    for (int64_t pc = 0; pc < k; pc += kc) {
      const int64_t kcq = std::min(kc, k - pc);
      for (int64_t jp = 0; jp * nr < n; ++jp)
        gemm_pack_panel(std::min(nr, n - jp * nr), kcq, b + pc * rs + jp * nr * cs, rs, cs, int(nr),
                        panel(pc, kcq, jp));
    }
  }
  T* panel(int64_t pc, int64_t kcq, int64_t jp) const { return data.get() + pc * n_pad + jp * nr * kcq; }
};

// One product of rows_times_packed: C[0:rows, 0:pb.n] := beta * C + A @ op(B), B packed.
template <typename T>
struct PackedProduct {
  const PackedRhs<T>* pb;
  T* c;
  int64_t ldc;
  T beta;
};

// The products A[0:rows, 0:k] @ op(B_q) for each q, A row-major with row stride lda, every B_q packed
// with the same k (so the same K blocks). A is read in place by the rows kernel (gemm.h), each of
// its MR-row panels serving every product while it is in L1: as fast as packing A per step (the
// GEMM's transposing pack) in an A/B in one process (LSTM B=64 T=100 I=128 H=256 forward + backward,
// 37.7 vs 37.9 ms on the 2-core AMD EPYC, Zen 5), with no buffer to pack into. Single-threaded: the
// caller runs it on its own slice of rows inside its parallel region.
template <typename T>
void rows_times_packed(const GemmUkrInfo<T>& u, int64_t rows, const T* a, int64_t lda,
                       std::initializer_list<PackedProduct<T>> products) {
  if (rows <= 0 || products.size() == 0) return;
  const PackedRhs<T>& first = *products.begin()->pb;
  const int64_t k = first.k, kc = first.kc, mr = u.mr;
  if (k == 0) {
    for (const PackedProduct<T>& q : products)
      for (int64_t i = 0; i < rows; ++i)
        for (int64_t j = 0; j < q.pb->n; ++j) q.c[i * q.ldc + j] = q.beta == T(0) ? T(0) : q.beta * q.c[i * q.ldc + j];
    return;
  }
  const T* ap[64];  // every kernel table's MR is at most 16
  for (int64_t pc = 0; pc < k; pc += kc) {
    const int64_t kcq = std::min(kc, k - pc);
    // Row panels outer, column panels inner: each C row panel is walked along its full width (one
    // batch row's gates of a step are a contiguous 4H), with the A micro-panel in L1 and the B panels
    // streaming from L2. The other order (each B panel kept in L1 for all row panels) ran the forward
    // time loop 10-15% slower at B=64 H=256; the backward loop was unchanged.
    for (int64_t i0 = 0; i0 < rows; i0 += mr) {
      const int64_t m_t = std::min(mr, rows - i0);
      for (int64_t i = 0; i < mr; ++i) ap[i] = a + (i0 + std::min(i, m_t - 1)) * lda + pc;  // rows >= m: any row
      for (const PackedProduct<T>& q : products) {
        const PackedRhs<T>& pb = *q.pb;
        const T beta_p = pc == 0 ? q.beta : T(1);
        for (int64_t jp = 0; jp * pb.nr < pb.n; ++jp)
          u.ukr_rows(m_t, std::min(pb.nr, pb.n - jp * pb.nr), 1, kcq, ap, pb.panel(pc, kcq, jp), pb.nr,
                     q.c + i0 * q.ldc + jp * pb.nr, q.ldc, T(1), beta_p);
      }
    }
  }
}

// Threads worth using for one call doing `flops` of work: each should get about 50 microseconds of
// it (4 Mflop at ~100 GFLOP/s per core), well above the few microseconds a fork/join costs on
// dedicated cores. On a machine whose cores are oversubscribed a wake-up can take a scheduler time
// slice instead; use one thread there (dlcore.set_num_threads(1)) rather than tuning this.
constexpr int64_t kMinFlopsPerThread = int64_t(4) << 20;
int rnn_threads(int64_t flops) {
  return int(std::clamp<int64_t>(flops / kMinFlopsPerThread, 1, threads_for(flops)));
}

// How the batch is shared out for the time loop: whole MR row panels per thread, at most
// rnn_threads(flops) threads.
struct BatchSplit {
  int nt = 0;
  int64_t B = 0, mr = 1, blocks = 0, max_rows = 0;
  BatchSplit(int64_t B_, int64_t mr_, int64_t flops) : B(B_), mr(mr_) {
    blocks = ceil_div(B, mr);
    if (B <= 0) return;
    nt = int(std::min<int64_t>(rnn_threads(flops), blocks));
    nt = std::max(nt, 1);
    max_rows = ceil_div(blocks, nt) * mr;
  }
  int64_t begin(int tid) const { return std::min(B, blocks * tid / nt * mr); }
  int64_t end(int tid) const { return std::min(B, blocks * (tid + 1) / nt * mr); }
};

// Per-thread scratch: one allocation cut into nt 64-byte aligned chunks of `per_thread` elements.
template <typename T>
struct ThreadScratch {
  int64_t stride;
  Buffer<T> buf;
  ThreadScratch(int nt, int64_t per_thread)
      : stride(round_up(std::max<int64_t>(per_thread, 1), 64 / int64_t(sizeof(T)))), buf(stride * std::max(nt, 1)) {}
  T* at(int tid) const { return buf.get() + stride * tid; }
};

// The input projection of rows [r0, r0 + rows) of the B*T rows: out = x @ kernel + bias.
template <typename T>
void project(int64_t r0, int64_t rows, int64_t I, int64_t G, const T* x, Strided<T> kernel, const T* bias, T* out,
             int max_threads) {
  gemm<T>(rows, G, I, T(1), x + r0 * I, I, 1, kernel.data, kernel.rs, kernel.cs, T(0), out + r0 * G, G,
          GemmEpilogue<T>{bias}, max_threads);
}

// dx for rows [r0, r0 + rows) of the B*T rows: dx = dg_in @ kernel^T.
template <typename T>
void input_gradient(int64_t r0, int64_t rows, int64_t I, int64_t G, const T* dg_in, Strided<T> kernel, T* dx,
                    int max_threads) {
  gemm<T>(rows, I, G, T(1), dg_in + r0 * G, G, 1, kernel.data, kernel.cs, kernel.rs, T(0), dx + r0 * I, I, {},
          max_threads);
}

// The operand A of the weight-gradient GEMM: op(A) = [X_0 | X_1 | 1]^T, the columns of up to two
// row-major N-row matrices side by side (x and h_prev) and a column of ones, so that one GEMM with
// the gate gradients dg (N x G) gives
//   [X_0 | X_1 | 1]^T @ dg  =  [X_0^T dg; X_1^T dg; column sums of dg]  =  [dkernel; drecurrent; dbias].
// One GEMM instead of two shares the packing of dg (the operand that streams from memory: N = B*T
// rows), and the bias gradient costs one more row of a microkernel panel instead of a pass over dg.
//
// Row r of X_s is part[s] + r * width[s] by default; with segments (seg > 0), row r is row r % seg
// of segment r / seg at part[s] + (r % seg) * row_stride[s] + (r / seg) * seg_stride[s] (the rows
// of a few time steps of a slice of the batch, InLoopWeightGrad below).
template <typename T>
struct StackedColumns {
  const T* part[2] = {nullptr, nullptr};
  int64_t width[2] = {0, 0};
  int64_t seg = 0;
  int64_t row_stride[2] = {0, 0}, seg_stride[2] = {0, 0};
  int64_t m() const { return width[0] + width[1] + 1; }  // op(A)'s rows, the ones column included

  const T* row(int s, int64_t r) const {
    return seg > 0 ? part[s] + (r % seg) * row_stride[s] + (r / seg) * seg_stride[s] : part[s] + r * width[s];
  }
  // Rows r.. that lie at one stride from each other (to the end of r's segment) and that stride.
  int64_t run_end(int64_t r) const { return seg > 0 ? (r / seg + 1) * seg : INT64_MAX; }
  int64_t stride(int s) const { return seg > 0 ? row_stride[s] : width[s]; }

  // Element (row r of X, column col) of [X_0 | X_1 | 1].
  T at(int64_t r, int64_t col) const {
    for (int s = 0; s < 2; col -= width[s], ++s)
      if (col < width[s]) return row(s, r)[col];
    return T(1);
  }

  // GemmAPacker::pack: op(A)[i0 : i0 + rows, p0 : p0 + kc], i.e. columns i0.. of rows p0.. of X.
  // A panel inside one part is the GEMM's own transposed pack (one per run of equally spaced rows);
  // only the panel holding the ones column (and one straddling the two parts) is gathered element by
  // element.
  static void pack(const void* ctx, int64_t i0, int64_t rows, int64_t p0, int64_t kc, int mr, T* dst) {
    const StackedColumns& a = *static_cast<const StackedColumns*>(ctx);
    for (int64_t q = 0; q * mr < rows; ++q, dst += mr * kc) {
      const int64_t c0 = i0 + q * mr, cnt = std::min<int64_t>(mr, rows - q * mr);
      int64_t off = 0;
      int s = 0;
      while (s < 2 && c0 >= off + a.width[s]) off += a.width[s++];
      if (s < 2 && c0 + cnt <= off + a.width[s]) {
        for (int64_t p = p0; p < p0 + kc;) {
          const int64_t e = std::min(p0 + kc, a.run_end(p));
          gemm_pack_panel(cnt, e - p, a.row(s, p) + (c0 - off), a.stride(s), int64_t(1), mr, dst + (p - p0) * mr);
          p = e;
        }
        continue;
      }
      for (int64_t p = 0; p < kc; ++p)
        for (int64_t i = 0; i < mr; ++i) dst[p * mr + i] = i < cnt ? a.at(p0 + p, c0 + i) : T(0);
    }
  }
};

// Thread `tid` of `nt`'s share of one weight-gradient GEMM, once every row of dg (N x G) exists:
// columns [j0, j1) of G (whole NR panels) of [X_0 | X_1 | 1]^T @ dg, the rows of each part written
// to out[0], out[1] (width[s] x G) and the last row to dbias (G). A single-threaded GEMM with K = N:
// large, and no synchronisation between threads. Its result goes through this thread's scratch and
// is copied out (a few hundred kilobytes: the destinations are separate arrays).
template <typename T>
void stacked_gradient_share(int tid, int nt, int64_t nr, int64_t N, int64_t G, const StackedColumns<T>& a,
                            const T* dg, T* const out[2], T* dbias) {
  const int64_t panels = ceil_div(G, nr);
  const int64_t j0 = std::min(G, panels * tid / nt * nr), j1 = std::min(G, panels * (tid + 1) / nt * nr);
  const int64_t n = j1 - j0, m = a.m();
  if (n <= 0) return;
  T* c = scratch<T, Slot::rnn_wgrad>(m * n);
  const GemmAPacker<T> packer{&StackedColumns<T>::pack, &a};
  gemm_packed_a<T>(m, n, N, T(1), packer, dg ? dg + j0 : nullptr, G, 1, T(0), c, n, {}, 1);
  int64_t row = 0;
  for (int s = 0; s < 2; ++s)
    for (int64_t i = 0; i < a.width[s]; ++i, ++row) std::copy(c + row * n, c + row * n + n, out[s] + i * G + j0);
  std::copy(c + row * n, c + row * n + n, dbias + j0);
}

// Thread `tid` of `nt`'s share of the weight gradients (over all N = B*T rows):
//   dkernel (I, G) = x^T @ dg_in    drecurrent (H, G) = h_prev^T @ dg_rec
//   dbias_in = column sums of dg_in, dbias_rec (GRU only, else null) = column sums of dg_rec.
// One stacked GEMM when both sides share their gate gradients (LSTM, SimpleRNN), else one per side.
template <typename T>
void weight_gradient_share(int tid, int nt, int64_t nr, int64_t N, int64_t I, int64_t H, int64_t G, const T* x,
                           const T* h_prev, const T* dg_in, const T* dg_rec, T* dkernel, T* drecurrent, T* dbias_in,
                           T* dbias_rec) {
  if (!dbias_rec) {
    StackedColumns<T> a;
    a.part[0] = x, a.width[0] = I, a.part[1] = h_prev, a.width[1] = H;
    T* const out[2] = {dkernel, drecurrent};
    return stacked_gradient_share(tid, nt, nr, N, G, a, dg_in, out, dbias_in);
  }
  StackedColumns<T> ax, ah;
  ax.part[0] = x, ax.width[0] = I;
  ah.part[0] = h_prev, ah.width[0] = H;
  T* const out_x[2] = {dkernel, nullptr};
  T* const out_h[2] = {drecurrent, nullptr};
  stacked_gradient_share(tid, nt, nr, N, G, ax, dg_in, out_x, dbias_in);
  stacked_gradient_share(tid, nt, nr, N, G, ah, dg_rec, out_h, dbias_rec);
}

// Scratch for the gradients a backward gate pass writes (slot S, n elements), placed half a page
// from `read`, the array the same pass reads at the same offsets, modulo 4 KB. Rows of both are the
// same distance apart, so when the two arrays lie a multiple of 4 KB apart every row's loads share
// their low address bits with the stores just issued, and the core holds the loads back as if they
// depended on them (4K aliasing): measured 8% of a whole LSTM backward pass at B=64 T=100 H=256.
template <typename T, Slot S>
T* gradient_scratch(int64_t n, const T* read) {
  constexpr int64_t kPage = 4096, kLine = 64;
  T* p = scratch<T, S>(n + kPage / int64_t(sizeof(T)));
  const int64_t a = int64_t(reinterpret_cast<uintptr_t>(p) % kPage);
  const int64_t r = int64_t(reinterpret_cast<uintptr_t>(read) % kPage);
  const int64_t shift = (r + kPage / 2 - a + kPage) % kPage / kLine * kLine;  // keeps p's 64-byte alignment
  return p + shift / int64_t(sizeof(T));
}

// The weight gradients of a layer whose gate gradients serve both sides (LSTM, SimpleRNN), summed
// inside the backward time loop instead of after it. Each thread keeps the gate gradients of its
// last S steps in a ring (its rows only, row stride G) and, every S steps, adds
// [x | h_prev | 1]^T @ dg over those S * rows rows (K = S * rows >= 256) to its own partial sums,
// (I + H + 1) x G; after the loop the threads' partial sums are added into dkernel, drecurrent and
// dbias, a share of the columns each. The gate gradients are read back while they are in cache
// instead of from memory by a GEMM over all B*T rows after the loop (which also packed x and h_prev
// once per thread). B=64 T=100 I=128 H=256 forward + backward on the 2-core AMD EPYC (Zen 5), A/B in
// one process: 35.4 vs 36.2 ms. Used when the partial sums of all threads take no more memory than
// the gate gradients of every step would (threads * (I + H + 1) <= B * T); a short sequence or a
// wide layer keeps the GEMM after the loop.
template <typename T>
struct InLoopWeightGrad {
  int64_t T_, I, H, G, S, ring_stride = 0, acc_stride = 0;
  const T* x;
  const T* h_prev;
  T* rings = nullptr;  // thread tid's ring at rings + tid * ring_stride
  T* acc = nullptr;    // its partial sums at acc + tid * acc_stride
  // `wanted`: the loop computes dx (so the weight gradients are all that is left after it). The
  // buffers are the caller's scratch, taken before the parallel region: a task may run on any
  // thread, and two tasks on one thread must not share that thread's own scratch.
  InLoopWeightGrad(bool wanted, int nt, int64_t B, int64_t max_rows, int64_t T__, int64_t I_, int64_t H_,
                   int64_t G_, const T* x_, const T* h_prev_, const T* gates)
      : T_(T__), I(I_), H(H_), G(G_), S(std::clamp<int64_t>(ceil_div(256, std::max<int64_t>(max_rows, 1)), 1,
                                                             std::max<int64_t>(T__, 1))),
        x(x_), h_prev(h_prev_) {
    if (!wanted || nt * m() > B * T_) return;
    ring_stride = round_up(S * max_rows * G, 16);
    acc_stride = round_up(m() * G, 16);
    rings = gradient_scratch<T, Slot::rnn_grad_a>(nt * ring_stride, gates);
    acc = scratch<T, Slot::rnn_wgrad>(nt * acc_stride);
  }
  int64_t m() const { return I + H + 1; }
  bool enabled() const { return rings != nullptr; }

  // Thread tid: zeroes its partial sums and returns its ring of S slots of rows x G.
  T* begin(int tid) const {
    std::fill(acc + tid * acc_stride, acc + tid * acc_stride + m() * G, T(0));
    return rings + tid * ring_stride;
  }
  // Step t's gate gradients in the ring (row stride G): slot (T-1-t) % S, as the loop runs t down.
  T* slot(T* ring, int64_t t, int64_t rows) const { return ring + (T_ - 1 - t) % S * rows * G; }
  // After step t (rows b0.. of the batch): when the ring is full, or at t = 0, add its product.
  void after_step(int tid, T* ring, int64_t t, int64_t b0, int64_t rows) const {
    const int64_t slots = (T_ - 1 - t) % S + 1;
    if (slots < S && t > 0) return;
    const int64_t t_hi = t + slots - 1;  // slot s holds step t_hi - s
    StackedColumns<T> a;
    a.part[0] = x + (b0 * T_ + t_hi) * I, a.width[0] = I;
    a.part[1] = h_prev + (b0 * T_ + t_hi) * H, a.width[1] = H;
    a.seg = rows;  // row s * rows + b: batch row b0 + b, step t_hi - s
    for (int q = 0; q < 2; ++q) a.row_stride[q] = T_ * a.width[q], a.seg_stride[q] = -a.width[q];
    const GemmAPacker<T> packer{&StackedColumns<T>::pack, &a};
    gemm_packed_a<T>(m(), G, slots * rows, T(1), packer, ring, G, 1, T(1), acc + tid * acc_stride, G, {}, 1);
  }
  // Thread tid of nt (after every thread's loop): its share of the columns of the sums.
  void reduce(int tid, int nt, T* dkernel, T* drecurrent, T* dbias) const {
    const int64_t blocks = ceil_div(G, 16);
    const int64_t j0 = std::min(G, blocks * tid / nt * 16), j1 = std::min(G, blocks * (tid + 1) / nt * 16);
    for (int64_t r = 0; r < m(); ++r) {
      T* dst = r < I ? dkernel + r * G : r < I + H ? drecurrent + (r - I) * G : dbias;
      const T* a0 = acc + r * G;
      std::copy(a0 + j0, a0 + j1, dst + j0);
      for (int q = 1; q < nt; ++q) {
        const T* __restrict aq = acc + q * acc_stride + r * G;
        T* __restrict d = dst;
        for (int64_t j = j0; j < j1; ++j) d[j] += aq[j];
      }
    }
  }
};

// h_prev[:, 0] = h0 (or zeros): the state the first step starts from.
template <typename T>
void seed_h_prev(int64_t B, int64_t T_, int64_t H, const T* h0, T* h_prev) {
  for (int64_t b = 0; b < B; ++b) {
    T* dst = h_prev + b * T_ * H;
    if (h0)
      std::memcpy(dst, h0 + b * H, sizeof(T) * size_t(H));
    else
      std::fill(dst, dst + H, T(0));
  }
}

// rows x H block: dst[r] = src[r] (or zeros when src is null).
template <typename T>
void copy_rows(int64_t rows, int64_t H, const T* src, int64_t lds, T* dst, int64_t ldd) {
  for (int64_t r = 0; r < rows; ++r) {
    if (src)
      std::memcpy(dst + r * ldd, src + r * lds, sizeof(T) * size_t(H));
    else
      std::fill(dst + r * ldd, dst + r * ldd + H, T(0));
  }
}

// dh[r] += dhs[r] for a rows x H block (dhs may be null).
template <typename T>
void add_rows(int64_t rows, int64_t H, const T* dhs, int64_t lds, T* dh, int64_t ldd) {
  if (!dhs) return;
  for (int64_t r = 0; r < rows; ++r) {
    const T* __restrict s = dhs + r * lds;
    T* __restrict d = dh + r * ldd;
    for (int64_t j = 0; j < H; ++j) d[j] += s[j];
  }
}

}  // namespace

// The threading plan shared by every family. Each thread owns whole MR panels of batch rows for the
// whole call. Its rows of the input projection are the contiguous rows [b0*T, b1*T) of x (B*T, I),
// so when the batch split gives every thread the projection would use, a thread projects its own
// rows right before its time loop (no barrier); likewise dx in backward. The weight gradients need
// the gate gradients of every row: one barrier, then each thread takes a share of their columns.
// Small or degenerate cases fall back to the threaded GEMM before/after the loop.
// Known limit: a batch of fewer than MR * threads rows runs its time loop on fewer threads (a split of
// the hidden units with one barrier per step would serve small batches with large H better).

// What every forward pass sets up before its time loop, for G columns of gates (G = 4H, 3H or H):
// the batch split; the input projection of all B*T rows into `proj` (done here unless every thread
// projects its own rows in its loop, own_projection); h_prev[:, 0]; U packed for the
// per-step products; and per-thread scratch of `extra` elements.
template <typename T>
struct ForwardPlan {
  const GemmUkrInfo<T>& u = gemm_ukr<T>();
  BatchSplit split;
  bool own_projection;
  PackedRhs<T> U;
  int64_t extra;
  ThreadScratch<T> scratch;
  ForwardPlan(int64_t B, int64_t T_, int64_t I, int64_t H, int64_t G, const T* x, const T* h0, Strided<T> kernel,
              Strided<T> recurrent, const T* bias, T* proj, T* h_prev, int64_t extra_per_row)
      : split(B, gemm_ukr<T>().mr, 2 * B * T_ * G * (H + I)),
        own_projection(split.nt >= rnn_threads(2 * B * T_ * G * I)),
        U(H, G, recurrent.data, recurrent.rs, recurrent.cs, gemm_ukr<T>()),
        extra(round_up(split.max_rows * extra_per_row, 16)),
        scratch(split.nt, extra) {
    if (!own_projection) project<T>(0, B * T_, I, G, x, kernel, bias, proj, rnn_threads(2 * B * T_ * G * I));
    seed_h_prev(B, T_, H, h0, h_prev);
  }
  // Thread tid's scratch: `extra` elements.
  T* extra_at(int tid) const { return scratch.at(tid); }
};

// The same for a backward pass: the split, whether each thread computes dx of its own rows
// (own_dx), U^T packed, and per-thread scratch of two rows x H blocks (the gradients carried from
// step to step). `fused_kernel`: for a layer whose time loop produces dx's operand (LSTM and
// SimpleRNN: dx = dgates @ W^T with the same dgates that go through U^T), W^T is packed too (Wt),
// and each step computes its rows of dx from the gate gradients it multiplies by U^T while they are
// in cache, instead of a GEMM that packs every gate gradient back from memory afterwards. (B=64
// T=100 I=128 H=256 on the 2-core AMD EPYC, Zen 5: that GEMM took 4.6 ms of a 25 ms backward pass,
// ~65% of the FMA peak; fused, forward + backward went from 37.8 to 37.4 ms, medians of an A/B in
// one process.)
template <typename T>
struct BackwardPlan {
  const GemmUkrInfo<T>& u = gemm_ukr<T>();
  BatchSplit split;
  bool own_dx;
  PackedRhs<T> Ut;
  std::optional<PackedRhs<T>> Wt;
  int64_t hblock;
  ThreadScratch<T> scratch;
  BackwardPlan(int64_t B, int64_t T_, int64_t I, int64_t H, int64_t G, Strided<T> recurrent,
               const Strided<T>* fused_kernel = nullptr)
      : split(B, gemm_ukr<T>().mr, 2 * B * T_ * G * (2 * H + 2 * I)),
        own_dx(split.nt >= rnn_threads(2 * B * T_ * G * I)),
        Ut(G, H, recurrent.data, recurrent.cs, recurrent.rs, gemm_ukr<T>()),
        hblock(round_up(split.max_rows * H, 16)),
        scratch(split.nt, 2 * hblock) {
    if (fused_kernel && own_dx) Wt.emplace(G, I, fused_kernel->data, fused_kernel->cs, fused_kernel->rs, u);
  }
  T* dh_at(int tid) const { return scratch.at(tid); }
  T* dnext_at(int tid) const { return scratch.at(tid) + hblock; }
  // dh_{t-1} (beta_dh * dh_{t-1} + ...) = a @ U^T for the rows of one step, and when W^T is packed
  // that step's rows of dx = a @ W^T (row stride ldx), each A panel serving both.
  void step_products(int64_t rows, const T* a, int64_t lda, T* dh, T beta_dh, T* dx_t, int64_t ldx) const {
    if (Wt)
      rows_times_packed(u, rows, a, lda, {{&Ut, dh, H(), beta_dh}, {&*Wt, dx_t, ldx, T(0)}});
    else
      rows_times_packed(u, rows, a, lda, {{&Ut, dh, H(), beta_dh}});
  }
  int64_t H() const { return Ut.n; }
};

// ================================================================================================ LSTM

template <typename T>
void lstm_forward(int64_t B, int64_t T_, int64_t I, int64_t H, const T* x, const T* h0, const T* c0,
                  Strided<T> kernel, Strided<T> recurrent, const T* bias, T* hs, T* gates, T* cs, T* h_prev) {
  const int64_t G = 4 * H, N = B * T_;
  if (N == 0 || H == 0) return;
  const RnnGateKernels<T>& gk = gate_kernels<T>();
  // 1. The input projection: gates (B*T, 4H) = x (B*T, I) @ kernel, here for all steps unless every
  //    thread does its own in its loop (the gate pass adds the bias: a GEMM epilogue would be one more
  //    pass over every tile).
  const ForwardPlan<T> plan(B, T_, I, H, G, x, h0, kernel, recurrent, nullptr, gates, h_prev, 0);
  const GemmUkrInfo<T>& u = plan.u;
  const BatchSplit& split = plan.split;

  // 2. The time loop: gates_t (+)= h_{t-1} @ U, then the gate pass, per thread on its batch rows.
  const int64_t ldg = T_ * G, ldh = T_ * H;  // row strides of a time step's slice
  // When every thread projects its own rows, it does so step by step: gates_t = x_t @ W (W packed
  // once, x_t read in place) right before gates_t += h_{t-1} @ U, while gates_t is in cache, instead
  // of projecting all its rows before the loop, which wrote them to memory for the loop to read back
  // (B=64 T=100 I=128 H=256 forward on the 2-core AMD EPYC, Zen 5, A/B in one process: 11.54 vs
  // 11.67 ms).
  std::optional<PackedRhs<T>> W;
  if (plan.own_projection) W.emplace(I, G, kernel.data, kernel.rs, kernel.cs, u);
  parallel_tasks(split.nt, split.nt, [&](int64_t task) {
    const int tid = int(task);
    const int64_t b0 = split.begin(tid), rows = split.end(tid) - b0;
    for (int64_t t = 0; t < T_; ++t) {
      T* g_t = gates + b0 * ldg + t * G;
      const T* hp_t = h_prev + b0 * ldh + t * H;
      if (W) rows_times_packed(u, rows, x + (b0 * T_ + t) * I, T_ * I, {{&*W, g_t, ldg, T(0)}});
      rows_times_packed(u, rows, hp_t, ldh, {{&plan.U, g_t, ldg, T(1)}});
      const T* c_prev = t == 0 ? c0 + b0 * H : cs + b0 * ldh + (t - 1) * H;
      const int64_t ldcp = t == 0 ? H : ldh;
      T* h_next = t + 1 < T_ ? h_prev + b0 * ldh + (t + 1) * H : nullptr;
      gk.lstm_forward(rows, H, bias, g_t, ldg, c_prev, ldcp, cs + b0 * ldh + t * H, ldh, hs + b0 * ldh + t * H, ldh,
                      h_next, ldh);
    }
  });
}

template <typename T>
void lstm_backward(int64_t B, int64_t T_, int64_t I, int64_t H, const T* dhs, const T* dh_T, const T* dc_T,
                   const T* x, const T* c0, Strided<T> kernel, Strided<T> recurrent, const T* gates, const T* cs,
                   const T* h_prev, T* dx, T* dh0, T* dc0, T* dkernel, T* drecurrent, T* dbias) {
  const int64_t G = 4 * H, N = B * T_;
  const GemmUkrInfo<T>& u = gemm_ukr<T>();
  if (B == 0 || H == 0) {  // nothing flows back through time: zeros (and dh0 = dh_T, dc0 = dc_T)
    copy_rows(B, H, dh_T, H, dh0, H);
    copy_rows(B, H, dc_T, H, dc0, H);
    input_gradient<T>(0, N, I, G, nullptr, kernel, dx, 1);
    weight_gradient_share<T>(0, 1, u.nr, 0, I, H, G, x, h_prev, nullptr, nullptr, dkernel, drecurrent, dbias, nullptr);
    return;
  }
  const RnnGateKernels<T>& gk = gate_kernels<T>();
  const BackwardPlan<T> plan(B, T_, I, H, G, recurrent, &kernel);  // U^T: (4H, H), W^T: (4H, I)
  const BatchSplit& split = plan.split;
  // With dx in the loop (plan.Wt), the weight gradients are summed there too where that pays;
  // otherwise every step's gate gradients are kept for the GEMMs after the loop.
  const InLoopWeightGrad<T> wg(bool(plan.Wt), split.nt, B, split.max_rows, T_, I, H, G, x, h_prev, gates);
  T* dgates = wg.enabled() ? nullptr : gradient_scratch<T, Slot::rnn_grad_a>(N * G, gates);
  const int64_t ldg = T_ * G, ldh = T_ * H, ldx = T_ * I;
  parallel_tasks(split.nt, split.nt, [&](int64_t task) {
    const int tid = int(task);
    const int64_t b0 = split.begin(tid), rows = split.end(tid) - b0;
    T* dh = plan.dh_at(tid);     // rows x H: gradient w.r.t. h_t (all paths)
    T* dc = plan.dnext_at(tid);  // rows x H: gradient w.r.t. c_t from step t+1
    T* ring = wg.enabled() ? wg.begin(tid) : nullptr;
    // Backward through time on this thread's batch rows, carrying dh and dc from step to step.
    copy_rows(rows, H, dh_T ? dh_T + b0 * H : nullptr, H, dh, H);
    copy_rows(rows, H, dc_T ? dc_T + b0 * H : nullptr, H, dc, H);
    for (int64_t t = T_ - 1; t >= 0; --t) {
      add_rows(rows, H, dhs ? dhs + b0 * ldh + t * H : nullptr, ldh, dh, H);
      const T* c_prev = t == 0 ? c0 + b0 * H : cs + b0 * ldh + (t - 1) * H;
      const int64_t ldcp = t == 0 ? H : ldh;
      T* dg_t = ring ? wg.slot(ring, t, rows) : dgates + b0 * ldg + t * G;
      const int64_t lddg = ring ? G : ldg;
      gk.lstm_backward(rows, H, gates + b0 * ldg + t * G, ldg, c_prev, ldcp, cs + b0 * ldh + t * H, ldh, dh, H, dc,
                       H, dg_t, lddg);
      // dh_{t-1} = dgates_t @ U^T, and this step's dx = dgates_t @ W^T
      plan.step_products(rows, dg_t, lddg, dh, T(0), dx + b0 * ldx + t * I, ldx);
      if (ring) wg.after_step(tid, ring, t, b0, rows);
    }
    copy_rows(rows, H, dh, H, dh0 + b0 * H, H);
    copy_rows(rows, H, dc, H, dc0 + b0 * H, H);
  });
  // The weight gradients: the threads' sums added up, or (after every thread's rows exist) large
  // GEMMs over all B*T rows, a share of the columns each.
  parallel_tasks(split.nt, split.nt, [&](int64_t task) {
    const int tid = int(task);
    if (wg.enabled())
      wg.reduce(tid, split.nt, dkernel, drecurrent, dbias);
    else
      weight_gradient_share<T>(tid, split.nt, u.nr, N, I, H, G, x, h_prev, dgates, dgates, dkernel, drecurrent,
                               dbias, nullptr);
  });
  if (!plan.own_dx) input_gradient<T>(0, N, I, G, dgates, kernel, dx, rnn_threads(2 * N * G * I));
}

// ================================================================================================= GRU

template <typename T>
void gru_forward(int64_t B, int64_t T_, int64_t I, int64_t H, const T* x, const T* h0, Strided<T> kernel,
                 Strided<T> recurrent, const T* bias, T* hs, T* gates, T* hh_rec, T* h_prev) {
  const int64_t G = 3 * H, N = B * T_;
  if (N == 0 || H == 0) return;
  const RnnGateKernels<T>& gk = gate_kernels<T>();
  // 1. Input projection (input bias, row 0 of bias, fused).
  // 2. The time loop: gh = h_{t-1} @ U into per-thread scratch (it must stay apart from the input
  //    side: reset_after multiplies only its h-part by r), then the gate pass.
  const ForwardPlan<T> plan(B, T_, I, H, G, x, h0, kernel, recurrent, bias, gates, h_prev, G);
  const GemmUkrInfo<T>& u = plan.u;
  const BatchSplit& split = plan.split;
  const int64_t ldg = T_ * G, ldh = T_ * H;
  const T* b_rec = bias + G;
  parallel_tasks(split.nt, split.nt, [&](int64_t task) {
    const int tid = int(task);
    const int64_t b0 = split.begin(tid), rows = split.end(tid) - b0;
    T* gh = plan.extra_at(tid);
    if (plan.own_projection) project<T>(b0 * T_, rows * T_, I, G, x, kernel, bias, gates, 1);
    for (int64_t t = 0; t < T_; ++t) {
      const T* hp_t = h_prev + b0 * ldh + t * H;
      rows_times_packed(u, rows, hp_t, ldh, {{&plan.U, gh, G, T(0)}});
      T* h_next = t + 1 < T_ ? h_prev + b0 * ldh + (t + 1) * H : nullptr;
      gk.gru_forward(rows, H, gates + b0 * ldg + t * G, ldg, gh, G, b_rec, hp_t, ldh, hh_rec + b0 * ldh + t * H,
                     ldh, hs + b0 * ldh + t * H, ldh, h_next, ldh);
    }
  });
}

template <typename T>
void gru_backward(int64_t B, int64_t T_, int64_t I, int64_t H, const T* dhs, const T* dh_T, const T* x,
                  Strided<T> kernel, Strided<T> recurrent, const T* gates, const T* hh_rec, const T* h_prev, T* dx,
                  T* dh0, T* dkernel, T* drecurrent, T* dbias) {
  const int64_t G = 3 * H, N = B * T_;
  const GemmUkrInfo<T>& u = gemm_ukr<T>();
  if (B == 0 || H == 0) {
    copy_rows(B, H, dh_T, H, dh0, H);
    input_gradient<T>(0, N, I, G, nullptr, kernel, dx, 1);
    weight_gradient_share<T>(0, 1, u.nr, 0, I, H, G, x, h_prev, nullptr, nullptr, dkernel, drecurrent, dbias,
                             dbias + G);
    return;
  }
  T* dgx = gradient_scratch<T, Slot::rnn_grad_a>(N * G, gates);
  T* dgh = gradient_scratch<T, Slot::rnn_grad_b>(N * G, gates);
  const RnnGateKernels<T>& gk = gate_kernels<T>();
  const BackwardPlan<T> plan(B, T_, I, H, G, recurrent);  // U^T: (3H, H)
  const BatchSplit& split = plan.split;
  const int64_t ldg = T_ * G, ldh = T_ * H;
  parallel_tasks(split.nt, split.nt, [&](int64_t task) {
    const int tid = int(task);
    const int64_t b0 = split.begin(tid), rows = split.end(tid) - b0;
    T* dh = plan.dh_at(tid);
    T* dnext = plan.dnext_at(tid);
    copy_rows(rows, H, dh_T ? dh_T + b0 * H : nullptr, H, dh, H);
    for (int64_t t = T_ - 1; t >= 0; --t) {
      add_rows(rows, H, dhs ? dhs + b0 * ldh + t * H : nullptr, ldh, dh, H);
      T* dgh_t = dgh + b0 * ldg + t * G;
      gk.gru_backward(rows, H, gates + b0 * ldg + t * G, ldg, hh_rec + b0 * ldh + t * H, ldh,
                      h_prev + b0 * ldh + t * H, ldh, dh, H, dgx + b0 * ldg + t * G, ldg, dgh_t, ldg, dnext, H);
      plan.step_products(rows, dgh_t, ldg, dnext, T(1), nullptr, 0);  // dh_{t-1} = dh z + dgh @ U^T
      std::swap(dh, dnext);
    }
    copy_rows(rows, H, dh, H, dh0 + b0 * H, H);
    if (plan.own_dx) input_gradient<T>(b0 * T_, rows * T_, I, G, dgx, kernel, dx, 1);
  });
  parallel_tasks(split.nt, split.nt, [&](int64_t task) {
    const int tid = int(task);
    weight_gradient_share<T>(tid, split.nt, u.nr, N, I, H, G, x, h_prev, dgx, dgh, dkernel, drecurrent, dbias,
                             dbias + G);
  });
  if (!plan.own_dx) input_gradient<T>(0, N, I, G, dgx, kernel, dx, rnn_threads(2 * N * G * I));
}

// =========================================================================================== SimpleRNN

template <typename T>
void simple_rnn_forward(int64_t B, int64_t T_, int64_t I, int64_t H, const T* x, const T* h0, Strided<T> kernel,
                        Strided<T> recurrent, const T* bias, T* hs, T* hs_act, T* h_prev) {
  const int64_t N = B * T_;
  if (N == 0 || H == 0) return;
  const RnnGateKernels<T>& gk = gate_kernels<T>();
  const ForwardPlan<T> plan(B, T_, I, H, H, x, h0, kernel, recurrent, bias, hs_act, h_prev, 0);
  const GemmUkrInfo<T>& u = plan.u;
  const BatchSplit& split = plan.split;
  const int64_t ldh = T_ * H;
  parallel_tasks(split.nt, split.nt, [&](int64_t task) {
    const int tid = int(task);
    const int64_t b0 = split.begin(tid), rows = split.end(tid) - b0;
    if (plan.own_projection) project<T>(b0 * T_, rows * T_, I, H, x, kernel, bias, hs_act, 1);
    for (int64_t t = 0; t < T_; ++t) {
      T* p_t = hs_act + b0 * ldh + t * H;
      rows_times_packed(u, rows, h_prev + b0 * ldh + t * H, ldh, {{&plan.U, p_t, ldh, T(1)}});
      T* h_next = t + 1 < T_ ? h_prev + b0 * ldh + (t + 1) * H : nullptr;
      gk.rnn_forward(rows, H, p_t, ldh, hs + b0 * ldh + t * H, ldh, h_next, ldh);
    }
  });
}

template <typename T>
void simple_rnn_backward(int64_t B, int64_t T_, int64_t I, int64_t H, const T* dhs, const T* dh_T, const T* x,
                         Strided<T> kernel, Strided<T> recurrent, const T* hs_act, const T* h_prev, T* dx, T* dh0,
                         T* dkernel, T* drecurrent, T* dbias) {
  const int64_t N = B * T_;
  const GemmUkrInfo<T>& u = gemm_ukr<T>();
  if (B == 0 || H == 0) {
    copy_rows(B, H, dh_T, H, dh0, H);
    input_gradient<T>(0, N, I, H, nullptr, kernel, dx, 1);
    weight_gradient_share<T>(0, 1, u.nr, 0, I, H, H, x, h_prev, nullptr, nullptr, dkernel, drecurrent, dbias, nullptr);
    return;
  }
  const RnnGateKernels<T>& gk = gate_kernels<T>();
  const BackwardPlan<T> plan(B, T_, I, H, H, recurrent, &kernel);
  const BatchSplit& split = plan.split;
  const InLoopWeightGrad<T> wg(bool(plan.Wt), split.nt, B, split.max_rows, T_, I, H, H, x, h_prev, hs_act);
  T* dp = wg.enabled() ? nullptr : gradient_scratch<T, Slot::rnn_grad_a>(N * H, hs_act);
  const int64_t ldh = T_ * H, ldx = T_ * I;
  parallel_tasks(split.nt, split.nt, [&](int64_t task) {
    const int tid = int(task);
    const int64_t b0 = split.begin(tid), rows = split.end(tid) - b0;
    T* dh = plan.dh_at(tid);
    T* ring = wg.enabled() ? wg.begin(tid) : nullptr;
    copy_rows(rows, H, dh_T ? dh_T + b0 * H : nullptr, H, dh, H);
    for (int64_t t = T_ - 1; t >= 0; --t) {
      add_rows(rows, H, dhs ? dhs + b0 * ldh + t * H : nullptr, ldh, dh, H);
      T* dp_t = ring ? wg.slot(ring, t, rows) : dp + b0 * ldh + t * H;
      const int64_t lddp = ring ? H : ldh;
      gk.rnn_backward(rows, H, hs_act + b0 * ldh + t * H, ldh, dh, H, dp_t, lddp);
      plan.step_products(rows, dp_t, lddp, dh, T(0), dx + b0 * ldx + t * I, ldx);  // dh_{t-1}, dx_t
      if (ring) wg.after_step(tid, ring, t, b0, rows);
    }
    copy_rows(rows, H, dh, H, dh0 + b0 * H, H);
  });
  parallel_tasks(split.nt, split.nt, [&](int64_t task) {
    const int tid = int(task);
    if (wg.enabled())
      wg.reduce(tid, split.nt, dkernel, drecurrent, dbias);
    else
      weight_gradient_share<T>(tid, split.nt, u.nr, N, I, H, H, x, h_prev, dp, dp, dkernel, drecurrent, dbias,
                               nullptr);
  });
  if (!plan.own_dx) input_gradient<T>(0, N, I, H, dp, kernel, dx, rnn_threads(2 * N * H * I));
}

// ======================================================================================= instantiations

#define DLCORE_RNN_INSTANTIATE(T)                                                                              \
  template void lstm_forward<T>(int64_t, int64_t, int64_t, int64_t, const T*, const T*, const T*, Strided<T>,   \
                                Strided<T>, const T*, T*, T*, T*, T*);                                         \
  template void lstm_backward<T>(int64_t, int64_t, int64_t, int64_t, const T*, const T*, const T*, const T*,    \
                                 const T*, Strided<T>, Strided<T>, const T*, const T*, const T*, T*, T*, T*, T*, \
                                 T*, T*);                                                                       \
  template void gru_forward<T>(int64_t, int64_t, int64_t, int64_t, const T*, const T*, Strided<T>, Strided<T>,  \
                               const T*, T*, T*, T*, T*);                                                       \
  template void gru_backward<T>(int64_t, int64_t, int64_t, int64_t, const T*, const T*, const T*, Strided<T>,   \
                                Strided<T>, const T*, const T*, const T*, T*, T*, T*, T*, T*);                  \
  template void simple_rnn_forward<T>(int64_t, int64_t, int64_t, int64_t, const T*, const T*, Strided<T>,       \
                                      Strided<T>, const T*, T*, T*, T*);                                        \
  template void simple_rnn_backward<T>(int64_t, int64_t, int64_t, int64_t, const T*, const T*, const T*,        \
                                       Strided<T>, Strided<T>, const T*, const T*, T*, T*, T*, T*, T*);

DLCORE_RNN_INSTANTIATE(float)
DLCORE_RNN_INSTANTIATE(double)
#undef DLCORE_RNN_INSTANTIATE

}  // namespace dlcore::cpu
