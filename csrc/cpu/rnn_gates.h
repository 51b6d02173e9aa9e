// The gate math of the recurrent layers, one fused pass per time step, written once and compiled once
// per instruction set: rnn.cpp (baseline x86-64), rnn_gates_avx2.cpp and rnn_gates_avx512.cpp each
// include this header and build a table RnnGateKernels<T> from it (declared in rnn.h).
//
// Everything here has internal linkage (anonymous namespace) on purpose: the same inline function
// compiled with AVX-512 flags in one file and baseline flags in another must never be merged by the
// linker, or the baseline path could end up running AVX-512 instructions.
//
// float: where the table is built with an ISA's vector traits V (rnn_gates_avx2.cpp,
// rnn_gates_avx512.cpp), the passes that evaluate sigmoid or tanh run whole vectors of hidden units
// through the vector math of simd_math.h (a reciprocal estimate and a Newton step instead of a
// divide, AVX-512's scalef for 2^n) and leave the last H % W units to the scalar loop. The scalar
// loop is a branch-free exp (Cephes' expf: range reduction to [-ln2/2, ln2/2] plus a degree-6
// polynomial, ~1 ulp) that the compiler vectorizes; sigmoid and tanh are built on it. double
// (gradient checks) uses the C library's exp.
//
// LSTM (Keras, gates i, f, c, o):
//   i = sig(a_i)  f = sig(a_f)  c~ = tanh(a_c)  o = sig(a_o)
//   c_t = f * c_{t-1} + i * c~          h_t = o * tanh(c_t)
// backward, with dh the total gradient w.r.t. h_t and dc the gradient w.r.t. c_t from step t+1:
//   dc_t  = dc + dh * o * (1 - tanh(c_t)^2)
//   da_i = dc_t * c~ * i (1 - i)    da_f = dc_t * c_{t-1} * f (1 - f)
//   da_c = dc_t * i * (1 - c~^2)    da_o = dh * tanh(c_t) * o (1 - o)
//   dc_{t-1} = dc_t * f
//
// GRU (Keras reset_after=True, gates z, r, h; gx = x W + b_in, gh = h_{t-1} U + b_rec):
//   z = sig(gx_z + gh_z)   r = sig(gx_r + gh_r)   h~ = tanh(gx_h + r * gh_h)
//   h_t = z * h_{t-1} + (1 - z) * h~
// backward:
//   dz = dh (h_{t-1} - h~)      dh~ = dh (1 - z)     da_h = dh~ (1 - h~^2)
//   da_z = dz z (1 - z)         da_r = da_h gh_h r (1 - r)
//   input side:  dgx = (da_z, da_r, da_h)     recurrent side: dgh = (da_z, da_r, da_h * r)
//   dh_{t-1} = dh * z + dgh @ U^T
//
// SimpleRNN: h_t = tanh(x W + h_{t-1} U + b);  da = dh (1 - h_t^2);  dh_{t-1} = da @ U^T.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "cpu/rnn.h"
#include "cpu/simd_math.h"

// The scalar loops below only vectorize when the compiler may assume that floating-point operations
// do not trap (GCC otherwise refuses to if-convert the clamps in rnn_exp). dlcore never enables FP
// exceptions, so this changes no result; it is scoped to this header's functions. Not in a unit
// with vector traits (DLCORE_RNN_GATES_SIMD): there the scalar loops only take the last H % W units,
// and GCC does not inline functions compiled with other optimization options (the traits' and the
// vector math's) into these, which would make every vector operation a call.
#if defined(__GNUC__) && !defined(__clang__) && !defined(DLCORE_RNN_GATES_SIMD)
#define DLCORE_RNN_GATES_NO_TRAPPING 1
#pragma GCC push_options
#pragma GCC optimize("no-trapping-math")
#endif

namespace dlcore::cpu {
namespace {

// V for a table without a vector path (the baseline build, and float64 everywhere).
struct NoSimd {};

// Whether the passes run vectors of V for element type T.
template <typename T, class V>
constexpr bool kVector = std::is_same_v<T, float> && !std::is_same_v<V, NoSimd>;

// ---- scalar activations, vectorizable ------------------------------------------------------------

inline float rnn_exp(float x) {
  // exp(x) = 2^n * exp(r), n = round(x / ln2), r = x - n ln2 (ln2 split in two for exactness).
  x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
  // Adding 1.5 * 2^23 rounds x / ln2 to the nearest integer n and leaves n in the low mantissa bits:
  // no float-to-int conversion, which the compiler will not vectorize under strict FP semantics.
  const float magic = 12582912.0f;
  const float shifted = x * 1.44269504088896341f + magic;
  const float fn = shifted - magic;
  const int32_t n = __builtin_bit_cast(int32_t, shifted) - __builtin_bit_cast(int32_t, magic);
  const float r = (x - fn * 0.693359375f) - fn * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float er = p * (r * r) + r + 1.0f;
  // 2^n as a float: n in [-126, 127] after the clamp. Unsigned: a NaN x passes the clamp and makes n
  // garbage, and a signed shift of it would be undefined (the result is NaN either way, from er).
  const uint32_t bits = (uint32_t(n) + 127u) << 23;
  return er * __builtin_bit_cast(float, bits);
}
inline double rnn_exp(double x) { return std::exp(x); }

template <typename T>
inline T rnn_sigmoid(T x) {
  return T(1) / (T(1) + rnn_exp(-x));
}

inline float rnn_tanh(float x) {
  // Near 0, 1 - 2/(e^2x + 1) cancels: use Cephes' odd polynomial there (|x| < 0.625).
  const float z = x * x;
  float p = -5.70498872745e-3f;
  p = p * z + 2.06390887954e-2f;
  p = p * z - 5.37397155531e-2f;
  p = p * z + 1.33314422036e-1f;
  p = p * z - 3.33332819422e-1f;
  const float small = p * z * x + x;
  const float large = 1.0f - 2.0f / (rnn_exp(2.0f * x) + 1.0f);
  return z < 0.390625f ? small : large;
}
inline double rnn_tanh(double x) { return std::tanh(x); }

// ---- LSTM ----------------------------------------------------------------------------------------

template <typename T, class V>
void lstm_forward_rows(int64_t rows, int64_t H, const T* bias, T* g, int64_t ldg, const T* c_prev, int64_t ldcp,
                       T* c, int64_t ldc, T* h, int64_t ldh, T* h_next, int64_t ldhn) {
  const T* __restrict bi = bias;
  const T* __restrict bf = bias + H;
  const T* __restrict bc = bias + 2 * H;
  const T* __restrict bo = bias + 3 * H;
  for (int64_t b = 0; b < rows; ++b) {
    T* __restrict gi = g + b * ldg;
    T* __restrict gf = gi + H;
    T* __restrict gc = gi + 2 * H;
    T* __restrict go = gi + 3 * H;
    const T* __restrict cp = c_prev + b * ldcp;
    T* __restrict cb = c + b * ldc;
    T* __restrict hb = h + b * ldh;
    int64_t j0 = 0;
    if constexpr (kVector<T, V>) {
      using R = typename V::R;
      for (; j0 + V::W <= H; j0 += V::W) {
        const int64_t j = j0;
        const R i = simd::vsigmoid<V>(V::add(V::loadu(gi + j), V::loadu(bi + j)));
        const R f = simd::vsigmoid<V>(V::add(V::loadu(gf + j), V::loadu(bf + j)));
        const R cc = simd::vtanh<V>(V::add(V::loadu(gc + j), V::loadu(bc + j)));
        const R o = simd::vsigmoid<V>(V::add(V::loadu(go + j), V::loadu(bo + j)));
        const R ct = V::fma(f, V::loadu(cp + j), V::mul(i, cc));
        V::storeu(gi + j, i);
        V::storeu(gf + j, f);
        V::storeu(gc + j, cc);
        V::storeu(go + j, o);
        V::storeu(cb + j, ct);
        V::storeu(hb + j, V::mul(o, simd::vtanh<V>(ct)));
      }
    }
#pragma omp simd
    for (int64_t j = j0; j < H; ++j) {
      const T i = rnn_sigmoid(gi[j] + bi[j]), f = rnn_sigmoid(gf[j] + bf[j]), cc = rnn_tanh(gc[j] + bc[j]),
              o = rnn_sigmoid(go[j] + bo[j]);
      const T ct = f * cp[j] + i * cc;
      gi[j] = i;
      gf[j] = f;
      gc[j] = cc;
      go[j] = o;
      cb[j] = ct;
      hb[j] = o * rnn_tanh(ct);
    }
    if (h_next) std::memcpy(h_next + b * ldhn, hb, sizeof(T) * size_t(H));
  }
}

template <typename T, class V>
void lstm_backward_rows(int64_t rows, int64_t H, const T* g, int64_t ldg, const T* c_prev, int64_t ldcp,
                        const T* c, int64_t ldc, const T* dh, int64_t lddh, T* dc, int64_t lddc, T* dg,
                        int64_t lddg) {
  for (int64_t b = 0; b < rows; ++b) {
    const T* __restrict gi = g + b * ldg;
    const T* __restrict cp = c_prev + b * ldcp;
    const T* __restrict cb = c + b * ldc;
    const T* __restrict dhb = dh + b * lddh;
    T* __restrict dcb = dc + b * lddc;
    T* __restrict dgb = dg + b * lddg;
    int64_t j0 = 0;
    if constexpr (kVector<T, V>) {
      using R = typename V::R;
      const R one = V::set1(1.0f);
      for (; j0 + V::W <= H; j0 += V::W) {
        const int64_t j = j0;
        const R i = V::loadu(gi + j), f = V::loadu(gi + H + j), cc = V::loadu(gi + 2 * H + j);
        const R o = V::loadu(gi + 3 * H + j), dhj = V::loadu(dhb + j);
        const R tc = simd::vtanh<V>(V::loadu(cb + j));
        const R dct = V::fma(V::mul(dhj, o), V::fnma(tc, tc, one), V::loadu(dcb + j));
        V::storeu(dgb + j, V::mul(V::mul(dct, cc), V::fnma(i, i, i)));
        V::storeu(dgb + H + j, V::mul(V::mul(dct, V::loadu(cp + j)), V::fnma(f, f, f)));
        V::storeu(dgb + 2 * H + j, V::mul(V::mul(dct, i), V::fnma(cc, cc, one)));
        V::storeu(dgb + 3 * H + j, V::mul(V::mul(dhj, tc), V::fnma(o, o, o)));
        V::storeu(dcb + j, V::mul(dct, f));
      }
    }
#pragma omp simd
    for (int64_t j = j0; j < H; ++j) {
      const T i = gi[j], f = gi[H + j], cc = gi[2 * H + j], o = gi[3 * H + j];
      const T tc = rnn_tanh(cb[j]);
      const T dct = dcb[j] + dhb[j] * o * (T(1) - tc * tc);
      dgb[j] = dct * cc * i * (T(1) - i);
      dgb[H + j] = dct * cp[j] * f * (T(1) - f);
      dgb[2 * H + j] = dct * i * (T(1) - cc * cc);
      dgb[3 * H + j] = dhb[j] * tc * o * (T(1) - o);
      dcb[j] = dct * f;
    }
  }
}

// ---- GRU -----------------------------------------------------------------------------------------

template <typename T, class V>
void gru_forward_rows(int64_t rows, int64_t H, T* gx, int64_t ldgx, const T* gh, int64_t ldgh, const T* b_rec,
                      const T* h_prev, int64_t ldhp, T* hh_rec, int64_t ldhr, T* h, int64_t ldh, T* h_next,
                      int64_t ldhn) {
  for (int64_t b = 0; b < rows; ++b) {
    T* __restrict x = gx + b * ldgx;
    const T* __restrict r_ = gh + b * ldgh;
    const T* __restrict hp = h_prev + b * ldhp;
    T* __restrict hr = hh_rec + b * ldhr;
    T* __restrict hb = h + b * ldh;
    int64_t j0 = 0;
    if constexpr (kVector<T, V>) {
      using R = typename V::R;
      for (; j0 + V::W <= H; j0 += V::W) {
        const int64_t j = j0;
        const R z = simd::vsigmoid<V>(V::add(V::add(V::loadu(x + j), V::loadu(r_ + j)), V::loadu(b_rec + j)));
        const R r = simd::vsigmoid<V>(
            V::add(V::add(V::loadu(x + H + j), V::loadu(r_ + H + j)), V::loadu(b_rec + H + j)));
        const R rec_h = V::add(V::loadu(r_ + 2 * H + j), V::loadu(b_rec + 2 * H + j));
        const R hh = simd::vtanh<V>(V::fma(r, rec_h, V::loadu(x + 2 * H + j)));
        V::storeu(x + j, z);
        V::storeu(x + H + j, r);
        V::storeu(x + 2 * H + j, hh);
        V::storeu(hr + j, rec_h);
        V::storeu(hb + j, V::fma(z, V::loadu(hp + j), V::mul(V::sub(V::set1(1.0f), z), hh)));
      }
    }
#pragma omp simd
    for (int64_t j = j0; j < H; ++j) {
      const T z = rnn_sigmoid(x[j] + r_[j] + b_rec[j]);
      const T r = rnn_sigmoid(x[H + j] + r_[H + j] + b_rec[H + j]);
      const T rec_h = r_[2 * H + j] + b_rec[2 * H + j];
      const T hh = rnn_tanh(x[2 * H + j] + r * rec_h);
      x[j] = z;
      x[H + j] = r;
      x[2 * H + j] = hh;
      hr[j] = rec_h;
      hb[j] = z * hp[j] + (T(1) - z) * hh;
    }
    if (h_next) std::memcpy(h_next + b * ldhn, hb, sizeof(T) * size_t(H));
  }
}

template <typename T>
void gru_backward_rows(int64_t rows, int64_t H, const T* g, int64_t ldg, const T* hh_rec, int64_t ldhr,
                       const T* h_prev, int64_t ldhp, const T* dh, int64_t lddh, T* dgx, int64_t lddgx, T* dgh,
                       int64_t lddgh, T* dh_direct, int64_t lddhd) {
  for (int64_t b = 0; b < rows; ++b) {
    const T* __restrict gb = g + b * ldg;
    const T* __restrict hr = hh_rec + b * ldhr;
    const T* __restrict hp = h_prev + b * ldhp;
    const T* __restrict dhb = dh + b * lddh;
    T* __restrict dx = dgx + b * lddgx;
    T* __restrict dr_ = dgh + b * lddgh;
    T* __restrict dd = dh_direct + b * lddhd;
#pragma omp simd
    for (int64_t j = 0; j < H; ++j) {
      const T z = gb[j], r = gb[H + j], hh = gb[2 * H + j];
      const T d = dhb[j];
      const T dz = d * (hp[j] - hh);
      const T dah = d * (T(1) - z) * (T(1) - hh * hh);
      const T daz = dz * z * (T(1) - z);
      const T dar = dah * hr[j] * r * (T(1) - r);
      dx[j] = daz;
      dx[H + j] = dar;
      dx[2 * H + j] = dah;
      dr_[j] = daz;
      dr_[H + j] = dar;
      dr_[2 * H + j] = dah * r;
      dd[j] = d * z;
    }
  }
}

// ---- SimpleRNN -----------------------------------------------------------------------------------

template <typename T, class V>
void rnn_forward_rows(int64_t rows, int64_t H, T* p, int64_t ldp, T* h, int64_t ldh, T* h_next, int64_t ldhn) {
  for (int64_t b = 0; b < rows; ++b) {
    T* __restrict pb = p + b * ldp;
    T* __restrict hb = h + b * ldh;
    int64_t j0 = 0;
    if constexpr (kVector<T, V>) {
      for (; j0 + V::W <= H; j0 += V::W) {
        const typename V::R v = simd::vtanh<V>(V::loadu(pb + j0));
        V::storeu(pb + j0, v);
        V::storeu(hb + j0, v);
      }
    }
#pragma omp simd
    for (int64_t j = j0; j < H; ++j) {
      const T v = rnn_tanh(pb[j]);
      pb[j] = v;
      hb[j] = v;
    }
    if (h_next) std::memcpy(h_next + b * ldhn, hb, sizeof(T) * size_t(H));
  }
}

template <typename T>
void rnn_backward_rows(int64_t rows, int64_t H, const T* hact, int64_t ldha, const T* dh, int64_t lddh, T* dp,
                       int64_t lddp) {
  for (int64_t b = 0; b < rows; ++b) {
    const T* __restrict hb = hact + b * ldha;
    const T* __restrict dhb = dh + b * lddh;
    T* __restrict dpb = dp + b * lddp;
#pragma omp simd
    for (int64_t j = 0; j < H; ++j) dpb[j] = dhb[j] * (T(1) - hb[j] * hb[j]);
  }
}

// The table for element type T; V: the ISA's float32 vector traits, or NoSimd.
template <typename T, class V = NoSimd>
constexpr RnnGateKernels<T> make_rnn_gate_kernels() {
  return {&lstm_forward_rows<T, V>, &lstm_backward_rows<T, V>, &gru_forward_rows<T, V>,
          &gru_backward_rows<T>,    &rnn_forward_rows<T, V>,   &rnn_backward_rows<T>};
}

}  // namespace
}  // namespace dlcore::cpu

#ifdef DLCORE_RNN_GATES_NO_TRAPPING
#pragma GCC pop_options
#undef DLCORE_RNN_GATES_NO_TRAPPING
#endif
