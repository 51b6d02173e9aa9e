// CPU recurrent layers: LSTM, GRU (reset_after=True) and SimpleRNN over whole sequences, forward and
// backward through time. Keras layouts and gate orders:
//
//   x                (B, T, I)   batch-major sequences, C-contiguous
//   h0, c0           (B, H)      initial states, C-contiguous
//   kernel           (I, G*H)    input weights,     any element strides (k_rs, k_cs)
//   recurrent_kernel (H, G*H)    recurrent weights, any element strides (r_rs, r_cs)
//   LSTM  G = 4, gates i, f, c, o; bias (4H,)
//   GRU   G = 3, gates z, r, h;    bias (2, 3H): row 0 input bias, row 1 recurrent bias
//   RNN   G = 1, tanh;             bias (H,)
//
// The work is split the way the data dependencies allow:
//   1. The input projection of every time step at once: ONE GEMM  x (B*T, I) @ kernel + bias.
//   2. The time loop, in one C++ call: per step the recurrent product h_{t-1} @ recurrent_kernel
//      (a GEMM built from the GEMM microkernel on a recurrent kernel packed once for the whole
//      sequence) and the gate math, fused in one pass over the step's rows. Batch rows never talk
//      to each other, so every thread owns a slice of the batch for the whole sequence: no barrier
//      per step.
//   3. Backward through time: the same loop run backwards (gate gradients + dh_{t-1} = dgates @ R^T)
//      followed by the weight gradients as a few LARGE GEMMs over all B*T rows (x^T @ dgates,
//      h_prev^T @ dgates, dgates @ kernel^T) and a column sum for the bias.
//
// Caches (written by forward, read by backward; all C-contiguous, owned by the caller):
//   LSTM: gates (B, T, 4H) the activated gates i, f, c~, o;  cs (B, T, H) the cell states c_t;
//         h_prev (B, T, H) the state each step started from (h_prev[:, 0] = h0).
//   GRU:  gates (B, T, 3H) the activated z, r, h~;  hh_rec (B, T, H) = h_{t-1} @ U_h + b_rec_h (the
//         recurrent part that r multiplies);  h_prev (B, T, H).
//   RNN:  hs_act (B, T, H) = h_t;  h_prev (B, T, H).
#pragma once
#include <cstdint>

namespace dlcore::cpu {

// A matrix with general element strides: element (i, j) is data[i * rs + j * cs].
template <typename T>
struct Strided {
  const T* data;
  int64_t rs, cs;
};

// ---- LSTM ----------------------------------------------------------------------------------------
template <typename T>
void lstm_forward(int64_t B, int64_t T_, int64_t I, int64_t H, const T* x, const T* h0, const T* c0,
                  Strided<T> kernel, Strided<T> recurrent, const T* bias,  // outputs:
                  T* hs, T* gates, T* cs, T* h_prev);

// dhs (B, T, H), dh_T, dc_T (B, H) may be null (zero). Outputs: dx (B, T, I), dh0, dc0 (B, H),
// dkernel (I, 4H), drecurrent (H, 4H), dbias (4H,), all C-contiguous.
template <typename T>
void lstm_backward(int64_t B, int64_t T_, int64_t I, int64_t H, const T* dhs, const T* dh_T, const T* dc_T,
                   const T* x, const T* c0, Strided<T> kernel, Strided<T> recurrent, const T* gates, const T* cs,
                   const T* h_prev,  // outputs:
                   T* dx, T* dh0, T* dc0, T* dkernel, T* drecurrent, T* dbias);

// ---- GRU (reset_after=True) ----------------------------------------------------------------------
template <typename T>
void gru_forward(int64_t B, int64_t T_, int64_t I, int64_t H, const T* x, const T* h0, Strided<T> kernel,
                 Strided<T> recurrent, const T* bias /* (2, 3H) */,  // outputs:
                 T* hs, T* gates, T* hh_rec, T* h_prev);

template <typename T>
void gru_backward(int64_t B, int64_t T_, int64_t I, int64_t H, const T* dhs, const T* dh_T, const T* x,
                  Strided<T> kernel, Strided<T> recurrent, const T* gates, const T* hh_rec,
                  const T* h_prev,  // outputs:
                  T* dx, T* dh0, T* dkernel, T* drecurrent, T* dbias /* (2, 3H) */);

// ---- SimpleRNN (tanh) ----------------------------------------------------------------------------
template <typename T>
void simple_rnn_forward(int64_t B, int64_t T_, int64_t I, int64_t H, const T* x, const T* h0, Strided<T> kernel,
                        Strided<T> recurrent, const T* bias,  // outputs:
                        T* hs, T* hs_act, T* h_prev);

template <typename T>
void simple_rnn_backward(int64_t B, int64_t T_, int64_t I, int64_t H, const T* dhs, const T* dh_T, const T* x,
                         Strided<T> kernel, Strided<T> recurrent, const T* hs_act,
                         const T* h_prev,  // outputs:
                         T* dx, T* dh0, T* dkernel, T* drecurrent, T* dbias);

// ---- The fused per-step gate passes, one table per ISA (rnn_gates.h, compiled once per ISA) -------
//
// Each function handles `rows` batch rows of one time step; every argument pointer is the first row
// and ld* its row stride. See rnn_gates.h for the formulas.
template <typename T>
struct RnnGateKernels {
  // g: (rows, 4H) pre-activations without the bias in, activated gates out; bias (4H,) is added
  // here, in the pass that reads g anyway. c_prev in, c and h out; h also copied to h_next (the next
  // step's h_prev slot) when h_next is not null.
  void (*lstm_forward)(int64_t rows, int64_t H, const T* bias, T* g, int64_t ldg, const T* c_prev, int64_t ldcp,
                       T* c, int64_t ldc, T* h, int64_t ldh, T* h_next, int64_t ldhn);
  // dh (rows, H): the total gradient w.r.t. h_t; dc (rows, H): in dc_t from above, out dc_{t-1}.
  // dg (rows, 4H): gradients w.r.t. the gate pre-activations.
  void (*lstm_backward)(int64_t rows, int64_t H, const T* g, int64_t ldg, const T* c_prev, int64_t ldcp,
                        const T* c, int64_t ldc, const T* dh, int64_t lddh, T* dc, int64_t lddc, T* dg,
                        int64_t lddg);
  // gx: (rows, 3H) input projections (input bias included) in, activated z, r, h~ out.
  // gh: (rows, 3H) h_prev @ U (no bias). b_rec: (3H,). hh_rec out: U_h part + bias (rows, H).
  void (*gru_forward)(int64_t rows, int64_t H, T* gx, int64_t ldgx, const T* gh, int64_t ldgh, const T* b_rec,
                      const T* h_prev, int64_t ldhp, T* hh_rec, int64_t ldhr, T* h, int64_t ldh, T* h_next,
                      int64_t ldhn);
  // dgx, dgh: (rows, 3H) gradients w.r.t. the input-side and recurrent-side pre-activations;
  // dh_direct (rows, H) out: dh * z, the part of dh_{t-1} that does not go through U.
  void (*gru_backward)(int64_t rows, int64_t H, const T* g, int64_t ldg, const T* hh_rec, int64_t ldhr,
                       const T* h_prev, int64_t ldhp, const T* dh, int64_t lddh, T* dgx, int64_t lddgx, T* dgh,
                       int64_t lddgh, T* dh_direct, int64_t lddhd);
  // p: (rows, H) pre-activations in, tanh out; also written to h and h_next.
  void (*rnn_forward)(int64_t rows, int64_t H, T* p, int64_t ldp, T* h, int64_t ldh, T* h_next, int64_t ldhn);
  void (*rnn_backward)(int64_t rows, int64_t H, const T* hact, int64_t ldha, const T* dh, int64_t lddh, T* dp,
                       int64_t lddp);
};

extern const RnnGateKernels<float> rnn_gates_generic_f32, rnn_gates_avx2_f32, rnn_gates_avx512_f32;
extern const RnnGateKernels<double> rnn_gates_generic_f64, rnn_gates_avx2_f64, rnn_gates_avx512_f64;

}  // namespace dlcore::cpu
