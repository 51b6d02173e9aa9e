// CPU GEMM:  C := alpha * op(A) * op(B) + beta * C,  then optionally C := act(C + bias)
//
// Shapes: op(A) is m x k, op(B) is k x n, C is m x n. A and B are addressed with general element
// strides (element (i, p) of op(A) is a[i * rs_a + p * cs_a]), so transposes, strided NumPy views and
// row-major/column-major all come for free: they are absorbed by packing. C is row-major with row
// stride ldc (unit column stride). All index arithmetic is int64_t.
//
// The algorithm is BLIS's (Van Zee & van de Geijn, "BLIS: A Framework for Rapidly Instantiating
// BLAS Functionality"), five loops around a microkernel:
//
//   for jc in [0, n) step NC                  B block  KC x NC   (kept in L3, shared by threads)
//     for pc in [0, k) step KC                  pack B[pc:pc+kc, jc:jc+nc] into NR-wide panels
//       for ic in [0, m) step MC                A block  MC x KC   (kept in L2, one per thread)
//         pack A[ic:ic+mc, pc:pc+kc] into MR-tall panels
//         for jr in [0, nc) step NR             one B micro-panel  KC x NR (kept in L1)
//           for ir in [0, mc) step MR
//             microkernel: C[ir:ir+MR, jr:jr+NR] (+)= A panel * B panel
//
// KC is 512 (the depth of one pass over a C tile; deeper passes load and store C less often), an A
// block fills about half of L2, a B block a quarter of L3. The bias + activation epilogue runs on
// each C tile right after its last K block, while the tile is still in cache.
//
// Four drivers share the microkernels (gemm.cpp picks one per call):
//   0. row vector: m <= 4 and B row-major (batch-1 inference). B is streamed row by row from where
//      it lies, each element read once; see the row-vector kernel below.
//   1. dot products: C narrow (n <= 16) and A row-major. Every C element is a dot product of a row
//      of A, read in place, with a row of B^T (packed, n x k, tiny); see the dot kernel below. Not
//      a C exactly one tile panel wide with K one block: driver 2 reads A's rows in place for it.
//   2. B in place: B row-major, m at most two A blocks, and B no larger than a quarter of L3 or m at
//      most four A panels. The five loops above without packing B: each full NR-wide panel of B is
//      handed to the microkernel where it lies (ldb = B's row stride), only the narrower last panel
//      is packed. Packing B (a full read and write of B) does not pay off when few rows of A reuse
//      each panel, unless B must come from DRAM for many rows, which the packing loop streams far
//      better than the microkernel. With more than four A panels, never when B's row stride is a
//      multiple of a power of two that folds a panel's rows into a few L2 sets (b_panel_fits_l2 in
//      gemm.cpp): B 1024 floats wide, read in place, would reload each panel from L3 for every A
//      panel.
//   3. B packed: everything else, the loops above as written.
// Threads: drivers 0, 1 and 2 give each thread its own block of C rows (or of C column panels when m
// has too few row panels) and run the serial driver on it, with no barrier. So does driver 3 for a
// call of a few hundred Mflop with a cache-sized B and a block or two of rows per thread (one block
// of C per thread, by columns when m <= n, each thread packing what it reads). Otherwise it packs
// each B block once, shared by the threads, then splits the ic loop when m has enough blocks for
// every thread, otherwise the jr loop. Calls under ~4 Mflop run on one thread: waking a second one, and
// waiting for it on a busy machine, costs more than it saves.
//
// ---- The microkernel contract (one per ISA and dtype, registered in gemm.cpp's table) ----------
//
//   void ukr(int64_t m, int64_t n, int64_t k, const T* a, const T* b, int64_t ldb,
//            T* c, int64_t ldc, T alpha, T beta);
//
//   a:  packed A micro-panel, k columns of MR values: a[p * MR + i]; rows i >= m are zero.
//       64-byte aligned.
//   b:  B micro-panel, k rows of NR values b[p * ldb + j], all NR of them readable. Either a
//       packed panel (ldb == NR, 64-byte aligned, columns j >= n zero) or, when B is row-major
//       with at least NR columns left, B itself read in place (ldb = B's row stride, any
//       alignment, n == NR).
//   c:  row-major tile, c[i * ldc + j] for i < m <= MR and j < n <= NR.
//   Computes C := beta * C + alpha * (a * b) on the m x n corner only, never touching memory
//   outside it (edges are handled inside the kernel with masks). beta == 0 means C is never read,
//   so NaN or uninitialised output memory is fine. k may be 0 (then C := beta * C).
//
// Every ISA also offers a rows kernel, the same tile with A read in place through row pointers
// (an implicit-GEMM convolution reads the input pixels of each filter tap where they lie):
//
//   void ukr_rows(int64_t m, int64_t n, int64_t taps, int64_t k, const T* const* a, const T* b,
//                 int64_t ldb, T* c, int64_t ldc, T alpha, T beta);
//
//   a:  taps * MR row pointers, a[t * MR + i] + p (p < k) being row i's values for tap t. All MR
//       pointers of a tap must be readable for k values; rows i >= m may point anywhere readable
//       (their results are dropped).
//   b:  taps * k rows of NR values, row (t, p) at b + (t * k + p) * ldb, the rest as for ukr.
//   Computes C := beta * C + alpha * sum_t sum_p a[t * MR + i][p] * b[(t * k + p) * ldb + j], with
//   the same edge and beta == 0 rules as ukr. It is ukr with K = taps * k when the A panel is
//   gathered from those rows.
//
// The ISAs with SIMD kernels also offer a k-pointer kernel, the same tile with one pointer into A
// per K step (a convolution's filter gradient reads MR channels of one input pixel per output
// pixel, where they lie in the input):
//
//   void ukr_kptr(int64_t m, int64_t n, int64_t k, const T* const* a, int64_t a_off, const T* b,
//                 int64_t ldb, T* c, int64_t ldc, T alpha, T beta);
//
//   a:  k pointers, a[p] + a_off + i (i < m) being A's element (i, p); only rows i < m are read.
//   b:  k rows of NR values, b + p * ldb, all NR readable (as for ukr).
//   Computes C := beta * C + alpha * sum_p a[p][a_off + i] * b[p * ldb + j], with the same edge
//   and beta == 0 rules as ukr.
//
// An ISA may also offer a `narrow` kernel with a smaller NR, used for problems with n <= its NR
// (a classifier head with 10 outputs wastes two thirds of a 32-wide tile), and dot kernels:
//
//   void dot(int64_t m, int64_t n, int64_t k, const T* a, int64_t lda, const T* bt, int64_t ldbt,
//            T* c, int64_t ldc, T alpha, T beta);         one per NJ in 1..4, n == NJ
//
//   a:  m <= DOT_MR rows of A in place, a[i * lda + p], p < k (no padding; only rows < m are read).
//   bt: NJ rows of B^T, bt[j * ldbt + p], p < k.
//   Computes C[i, j] := beta * C[i, j] + alpha * sum_p a[i, p] * bt[j, p] for i < m, j < n, with
//   the same beta == 0 rule. k >= 1.
#pragma once
#include <cstdint>

#include "common/codes.h"  // enum class Epilogue
#include "cpu/cpu.h"       // Isa

namespace dlcore::cpu {

template <typename T>
struct GemmEpilogue {
  const T* bias = nullptr;  // length n, added to every row, or nullptr
  Epilogue act = Epilogue::none;
};

template <typename T>
using GemmUkr = void (*)(int64_t m, int64_t n, int64_t k, const T* a, const T* b, int64_t ldb, T* c,
                         int64_t ldc, T alpha, T beta);

template <typename T>
using GemmDotUkr = void (*)(int64_t m, int64_t n, int64_t k, const T* a, int64_t lda, const T* bt, int64_t ldbt,
                            T* c, int64_t ldc, T alpha, T beta);

template <typename T>
using GemmRowsUkr = void (*)(int64_t m, int64_t n, int64_t taps, int64_t k, const T* const* a, const T* b,
                             int64_t ldb, T* c, int64_t ldc, T alpha, T beta);

template <typename T>
using GemmKptrUkr = void (*)(int64_t m, int64_t n, int64_t k, const T* const* a, int64_t a_off, const T* b,
                             int64_t ldb, T* c, int64_t ldc, T alpha, T beta);

// The row-vector kernel for a few rows of A against a wide B read in place (batch-1 inference:
// a vector-matrix product), the contract:
//
//   void rowvec(int64_t m, int64_t n, int64_t k, const T* a, int64_t rs_a, int64_t cs_a, const T* b,
//               int64_t ldb, T* c, int64_t ldc, T alpha, T beta);          m <= 4
//
//   a: element (i, p) at a[i * rs_a + p * cs_a]; b: row-major, b[p * ldb + j]; c: row-major.
//   Computes C := beta * C + alpha * A B on the m x n block (beta == 0: C is never read). B is
//   streamed row by row, each row read once from where it lies (contiguous, so the hardware
//   prefetches it): the product is bound by reading B, which packing would read twice.
template <typename T>
using GemmRowvecUkr = void (*)(int64_t m, int64_t n, int64_t k, const T* a, int64_t rs_a, int64_t cs_a, const T* b,
                               int64_t ldb, T* c, int64_t ldc, T alpha, T beta);

template <typename T>
struct GemmUkrInfo {
  GemmUkr<T> ukr;
  GemmRowsUkr<T> ukr_rows;
  int mr, nr;
  const char* name;
  const GemmUkrInfo* narrow = nullptr;  // used instead when n <= narrow->nr
  GemmDotUkr<T> dot[4] = {};            // dot kernels for 1..4 columns, or nullptr
  int dot_mr = 0;
  GemmRowvecUkr<T> rowvec = nullptr;    // the row-vector kernel (m <= 4), or nullptr
  // ukr with one SIMD vector of columns (NR / 2 when NR is two vectors), the same MR: the last B
  // panel of a C whose width leaves at most that many columns (n = 65 with NR = 32: the third
  // panel would do a full panel's work for one column). Or nullptr.
  GemmUkr<T> ukr_edge = nullptr;
  int nr_edge = 0;  // its width
  GemmRowsUkr<T> ukr_rows_edge = nullptr;  // the rows kernel of that width (nullptr with ukr_edge)
  GemmKptrUkr<T> ukr_kptr = nullptr;        // the k-pointer kernel (MR x NR), or nullptr
};

// One entry per ISA; defined in gemm_ukr_<isa>.cpp. The float32 tables hold the variants a tuning
// pass chooses from (index 0 the default): register tiles of different heights MR, which keep
// 2 * MR accumulators in flight (a core with two full-width FMA pipes and a 4-cycle latency needs
// at least 8; more hide load latency better, fewer leave registers for the B row).
extern const GemmUkrInfo<float> gemm_ukr_generic_f32[1], gemm_ukr_avx2_f32[1], gemm_ukr_avx512_f32[3];
extern const GemmUkrInfo<double> gemm_ukr_generic_f64, gemm_ukr_avx2_f64, gemm_ukr_avx512_f64;

// The microkernel for the active ISA (its narrow variant when one exists and n <= its NR).
template <typename T>
const GemmUkrInfo<T>& gemm_ukr(int64_t n = INT64_MAX);

// KC, the default depth of one pass over a C tile (see blocking_for in gemm.cpp); the
// implicit-GEMM convolution blocks its K the same way.
constexpr int64_t kGemmKc = 512;

// ---- Tuning: the choices a measurement on the machine at hand makes (dlcore/tune.py) ----------
//
// Set only while no kernel runs (dlcore does at import, from its tuning cache): a call that read
// one microkernel for its packing and another for its compute would be wrong.
struct GemmTuning {
  int ukr_f32[3] = {0, 0, 0};  // per ISA (generic, avx2, avx512): index into gemm_ukr_<isa>_f32
  int64_t kc = kGemmKc;        // depth of a K block, 64..2048
  int a_block_l2_div = 2;      // an A block (MC x KC) fills L2 / this, 1..8
};
const GemmTuning& gemm_tuning();
void set_gemm_tuning(const GemmTuning& t);  // throws invalid_argument for a value out of range
int gemm_ukr_f32_variants(Isa isa);         // how many float32 microkernels an ISA offers
const GemmUkrInfo<float>& gemm_ukr_f32_variant(Isa isa, int i);

// How gemm() would run one problem: the driver, its microkernel and blocking, threads. For tests
// and benchmarks (the sweep checks every geometry's plans), and the tuning pass.
struct GemmPlan {
  const char* driver;  // "rowvec", "dot", "b_in_place" or "b_packed" (gemm.h, top)
  const char* kernel;  // the microkernel's name
  int mr, nr, nr_edge;  // nr_edge: the width of the kernel of a narrow last B panel
  int edge_dot;         // the last columns (n % nr_edge <= 4) computed by the dot driver, or 0
  int threads;
  int64_t kc, mc, nc;
};
template <typename T>
GemmPlan gemm_plan(int64_t m, int64_t n, int64_t k, int64_t rs_a, int64_t cs_a, int64_t rs_b, int64_t cs_b,
                   int max_threads = 0);

// max_threads: 0 = the pool's size (cpu::num_threads()); 1 when called from inside a parallel region.
template <typename T>
void gemm(int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t rs_a, int64_t cs_a, const T* b,
          int64_t rs_b, int64_t cs_b, T beta, T* c, int64_t ldc, const GemmEpilogue<T>& ep = {},
          int max_threads = 0);

// op(A) produced by a packing routine instead of read from an array (an implicit GEMM: the
// convolution's im2col(x)^T, gathered straight from x). pack(ctx, i0, rows, p0, kc, mr, dst) writes
// op(A)[i0 : i0 + rows, p0 : p0 + kc] as ceil(rows / mr) MR-tall panels, panel q at dst + q * mr * kc
// holding dst[q * mr * kc + p * mr + i] = op(A)[i0 + q * mr + i, p0 + p], rows past `rows` zero.
template <typename T>
struct GemmAPacker {
  void (*pack)(const void* ctx, int64_t i0, int64_t rows, int64_t p0, int64_t kc, int mr, T* dst);
  const void* ctx;
};

// C := alpha * op(A) * op(B) + beta * C with op(A) (m x k) from `a`; otherwise gemm() exactly.
template <typename T>
void gemm_packed_a(int64_t m, int64_t n, int64_t k, T alpha, const GemmAPacker<T>& a, const T* b, int64_t rs_b,
                   int64_t cs_b, T beta, T* c, int64_t ldc, const GemmEpilogue<T>& ep = {}, int max_threads = 0);

// The GEMM's own panel packing, for packers: cnt (<= w) vectors of length kc written as
// dst[p * w + i] (p < kc, i < w), vectors i >= cnt zero; element (p, i) read at src[p * sp + i * si].
template <typename T>
void gemm_pack_panel(int64_t cnt, int64_t kc, const T* src, int64_t sp, int64_t si, int w, T* dst);

// Apply bias + activation to an m x n row-major block in place (also used by other kernel families).
template <typename T>
void apply_epilogue(T* c, int64_t ldc, int64_t m, int64_t n, const GemmEpilogue<T>& ep);

}  // namespace dlcore::cpu
