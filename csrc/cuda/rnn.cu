// CUDA recurrent layers over whole sequences: LSTM, GRU (Keras reset_after=True) and SimpleRNN.
//
// Shapes (Keras layouts; G = 4 for LSTM, 3 for GRU, 1 for SimpleRNN):
//   x (B, T, I)   h0, c0 (B, H) or null (zeros)   kernel W (I, G*H)   recurrent kernel U (H, G*H)
//   bias (G*H,) — GRU: (2, 3H), row 0 the input bias, row 1 the recurrent bias
//   hs (B, T, H): every step's output.  Gate order: LSTM i, f, c, o;  GRU z, r, h.
//
// The cache the forward leaves for the backward (also the CuPy fallback's layout):
//   LSTM  gates (B, T, 4H) the activated gates [i, f, g, o];  cs (B, T, H) the cell states
//   GRU   gates (B, T, 3H) [z, r, hh];  hzh (B, T, H) the recurrent candidate term h_prev @ U_h + b_rh
//   SimpleRNN: hs is enough.
//
// The plan, with GEMM doing the heavy work (cuda/gemm.cuh):
//   forward:  gates = x @ W + b for all T steps at once (one GEMM, m = B*T); then per step t
//             gates[:, t] += h_{t-1} @ U (GEMM, m = B) and a pointwise kernel (one thread per
//             (b, j)) applies the gate math and writes c_t, h_t.  SimpleRNN fuses its tanh into the
//             GEMM epilogue.
//   backward: per step t from T-1 down, a pointwise kernel turns dh (+ dhs[:, t]) and dc into the
//             pre-activation gradients dz[:, t] and dc_{t-1}; dh_{t-1} = dz[:, t] @ U^T (GEMM).
//             Then dx = dz @ W^T, dW = x^T @ dz (one GEMM each, over all steps),
//             dU = sum_t h_{t-1}^T @ dz[:, t], db = column sums of dz.
// A (B, T, X) array's step t is the B x X matrix at offset t*X with row stride T*X.
#include "common/scalar_math.h"
#include "cuda/common.cuh"
#include "cuda/gemm.cuh"
#include "cuda/rnn.cuh"

namespace dlcore::cuda {

namespace {

constexpr int kThreads = 256;

#define DLCORE_FOR_BH(idx, B, H) \
  for (int64_t idx = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; idx < (B) * (H); idx += int64_t(gridDim.x) * blockDim.x)

// z: the step's 4H pre-activations (row stride zs), activated in place; c_prev (row stride ps) or null.
template <typename T>
__global__ void lstm_step_forward_kernel(int64_t B, int64_t H, T* z, int64_t zs, const T* c_prev, int64_t ps, T* c,
                                         T* h, int64_t hs) {
  DLCORE_FOR_BH(idx, B, H) {
    const int64_t b = idx / H, j = idx % H;
    T* zr = z + b * zs;
    const T i = math::sigmoid(zr[j]), f = math::sigmoid(zr[H + j]), g = math::tanh(zr[2 * H + j]),
            o = math::sigmoid(zr[3 * H + j]);
    zr[j] = i, zr[H + j] = f, zr[2 * H + j] = g, zr[3 * H + j] = o;
    const T cp = c_prev ? c_prev[b * ps + j] : T(0);
    const T cn = f * cp + i * g;
    c[b * hs + j] = cn;
    h[b * hs + j] = o * math::tanh(cn);
  }
}

// dh, dc (B, H) contiguous: in, the gradients w.r.t. h_t, c_t (dh without dhs[:, t], added here);
// out: dc := dc_{t-1}. dz (row stride zs) receives the 4H pre-activation gradients.
template <typename T>
__global__ void lstm_step_backward_kernel(int64_t B, int64_t H, const T* gates, int64_t zs, const T* c, int64_t hs,
                                          const T* c_prev, int64_t ps, const T* dhs, const T* dh, T* dc, T* dz) {
  DLCORE_FOR_BH(idx, B, H) {
    const int64_t b = idx / H, j = idx % H;
    const T* gr = gates + b * zs;
    const T i = gr[j], f = gr[H + j], g = gr[2 * H + j], o = gr[3 * H + j];
    const T tc = math::tanh(c[b * hs + j]);
    const T dht = dh[idx] + (dhs ? dhs[b * hs + j] : T(0));
    const T dct = dc[idx] + dht * o * (T(1) - tc * tc);
    const T cp = c_prev ? c_prev[b * ps + j] : T(0);
    T* d = dz + b * zs;
    d[j] = dct * g * i * (T(1) - i);
    d[H + j] = dct * cp * f * (T(1) - f);
    d[2 * H + j] = dct * i * (T(1) - g * g);
    d[3 * H + j] = dht * tc * o * (T(1) - o);
    dc[idx] = dct * f;
  }
}

// xz: the step's 3H input pre-activations x @ W + b_i (row stride zs), overwritten with [z, r, hh];
// hz (B, 3H) contiguous: h_prev @ U + b_r.
template <typename T>
__global__ void gru_step_forward_kernel(int64_t B, int64_t H, T* xz, int64_t zs, const T* hz, const T* h_prev,
                                        int64_t ps, T* hzh, T* h, int64_t hs) {
  DLCORE_FOR_BH(idx, B, H) {
    const int64_t b = idx / H, j = idx % H;
    T* xr = xz + b * zs;
    const T* hr = hz + b * 3 * H;
    const T z = math::sigmoid(xr[j] + hr[j]), r = math::sigmoid(xr[H + j] + hr[H + j]);
    const T hh = math::tanh(xr[2 * H + j] + r * hr[2 * H + j]);
    const T hp = h_prev ? h_prev[b * ps + j] : T(0);
    xr[j] = z, xr[H + j] = r, xr[2 * H + j] = hh;
    hzh[b * hs + j] = hr[2 * H + j];
    h[b * hs + j] = z * hp + (T(1) - z) * hh;
  }
}

// dh (B, H): in dL/dh_t without dhs[:, t]; out the direct part z * dh_total of dL/dh_{t-1} (the GEMM
// with U^T adds the rest). dxz, dhz (row stride zs): gradients of the input and recurrent pre-activations.
template <typename T>
__global__ void gru_step_backward_kernel(int64_t B, int64_t H, const T* gates, int64_t zs, const T* hzh, int64_t hs,
                                         const T* h_prev, int64_t ps, const T* dhs, T* dh, T* dxz, T* dhz) {
  DLCORE_FOR_BH(idx, B, H) {
    const int64_t b = idx / H, j = idx % H;
    const T* gr = gates + b * zs;
    const T z = gr[j], r = gr[H + j], hh = gr[2 * H + j];
    const T hp = h_prev ? h_prev[b * ps + j] : T(0);
    const T dht = dh[idx] + (dhs ? dhs[b * hs + j] : T(0));
    const T dah = dht * (T(1) - z) * (T(1) - hh * hh);     // through hh = tanh(a_h)
    const T daz = dht * (hp - hh) * z * (T(1) - z);        // through z
    const T dar = dah * hzh[b * hs + j] * r * (T(1) - r);  // through r, which scales the recurrent term
    T *dx = dxz + b * zs, *dr = dhz + b * zs;
    dx[j] = daz, dx[H + j] = dar, dx[2 * H + j] = dah;
    dr[j] = daz, dr[H + j] = dar, dr[2 * H + j] = dah * r;
    dh[idx] = dht * z;
  }
}

template <typename T>
__global__ void rnn_step_backward_kernel(int64_t B, int64_t H, const T* h, int64_t hs, const T* dhs, const T* dh,
                                         T* dz) {
  DLCORE_FOR_BH(idx, B, H) {
    const int64_t b = idx / H, j = idx % H;
    const T y = h[b * hs + j];
    dz[b * hs + j] = (dh[idx] + (dhs ? dhs[b * hs + j] : T(0))) * (T(1) - y * y);
  }
}

// h_{t-1} of step t: the previous output, or h0 (row stride H), or null for zeros.
template <typename T>
const T* prev_state(const T* seq, const T* init, int64_t t, int64_t H, int64_t Tn, int64_t& stride) {
  if (t > 0) {
    stride = Tn * H;
    return seq + (t - 1) * H;
  }
  stride = H;
  return init;
}

// The weight gradients common to all three layers, from dz (B, T, G*H) (and, for the GRU, a
// separate recurrent-side gradient dzr): dx = dz @ W^T, dW = x^T @ dz, dU = sum_t h_{t-1}^T dzr_t.
template <typename T>
void weight_grads(int64_t B, int64_t Tn, int64_t I, int64_t H, int64_t G, const T* x, const T* h0, const T* W,
                  const T* hs, const T* dz, const T* dzr, T* dx, T* dW, T* dU, cudaStream_t s) {
  const int64_t GH = G * H, rows = B * Tn;
  gemm<T>(rows, I, GH, T(1), dz, GH, 1, W, 1, GH, T(0), dx, I, nullptr, Epilogue::none, false, s);
  gemm<T>(I, GH, rows, T(1), x, 1, I, dz, GH, 1, T(0), dW, GH, nullptr, Epilogue::none, false, s);
  check(cudaMemsetAsync(dU, 0, size_t(H * GH) * sizeof(T), s), "rnn backward: memset dU");
  for (int64_t t = 0; t < Tn; ++t) {
    int64_t ps = 0;
    const T* hp = prev_state(hs, h0, t, H, Tn, ps);
    if (!hp) continue;
    gemm<T>(H, GH, B, T(1), hp, 1, ps, dzr + t * GH, Tn * GH, 1, T(1), dU, GH, nullptr, Epilogue::none, false, s);
  }
}

}  // namespace

// ---- LSTM ----------------------------------------------------------------------------------------

template <typename T>
void lstm_forward(int64_t B, int64_t Tn, int64_t I, int64_t H, const T* x, const T* h0, const T* c0, const T* W,
                  const T* U, const T* bias, T* hs, T* gates, T* cs, cudaStream_t s) {
  if (B <= 0 || Tn <= 0 || H <= 0) return;
  const int64_t G = 4 * H;
  gemm<T>(B * Tn, G, I, T(1), x, I, 1, W, G, 1, T(0), gates, G, bias, Epilogue::none, false, s);
  for (int64_t t = 0; t < Tn; ++t) {
    int64_t hps = 0, cps = 0;
    const T* hp = prev_state(hs, h0, t, H, Tn, hps);
    const T* cp = prev_state(cs, c0, t, H, Tn, cps);
    if (hp) gemm<T>(B, G, H, T(1), hp, hps, 1, U, G, 1, T(1), gates + t * G, Tn * G, nullptr, Epilogue::none, false, s);
    lstm_step_forward_kernel<T><<<grid_for(B * H, kThreads), kThreads, 0, s>>>(B, H, gates + t * G, Tn * G, cp, cps,
                                                                                cs + t * H, hs + t * H, Tn * H);
    DLCORE_CUDA_CHECK_LAUNCH("lstm_step_forward_kernel");
  }
}

template <typename T>
void lstm_backward(int64_t B, int64_t Tn, int64_t I, int64_t H, const T* x, const T* h0, const T* c0, const T* W,
                   const T* U, const T* gates, const T* cs, const T* hs, const T* dhs, T* dh, T* dc, T* dz, T* dx,
                   T* dW, T* dU, T* db, cudaStream_t s) {
  const int64_t G = 4 * H;
  if (H <= 0) return;
  if (B <= 0 || Tn <= 0) {  // no steps: zero weight gradients, dh0 = dh_T and dc0 = dc_T stay as given
    check(cudaMemsetAsync(dW, 0, size_t(I * G) * sizeof(T), s), "lstm_backward: memset");
    check(cudaMemsetAsync(dU, 0, size_t(H * G) * sizeof(T), s), "lstm_backward: memset");
    check(cudaMemsetAsync(db, 0, size_t(G) * sizeof(T), s), "lstm_backward: memset");
    return;
  }
  for (int64_t t = Tn - 1; t >= 0; --t) {
    int64_t cps = 0;
    const T* cp = prev_state(cs, c0, t, H, Tn, cps);
    lstm_step_backward_kernel<T><<<grid_for(B * H, kThreads), kThreads, 0, s>>>(
        B, H, gates + t * G, Tn * G, cs + t * H, Tn * H, cp, cps, dhs ? dhs + t * H : nullptr, dh, dc, dz + t * G);
    DLCORE_CUDA_CHECK_LAUNCH("lstm_step_backward_kernel");
    gemm<T>(B, H, G, T(1), dz + t * G, Tn * G, 1, U, 1, G, T(0), dh, H, nullptr, Epilogue::none, false, s);
  }
  weight_grads<T>(B, Tn, I, H, 4, x, h0, W, hs, dz, dz, dx, dW, dU, s);
  column_sum<T>(B * Tn, G, dz, db, false, s);
}

// ---- GRU -----------------------------------------------------------------------------------------

template <typename T>
void gru_forward(int64_t B, int64_t Tn, int64_t I, int64_t H, const T* x, const T* h0, const T* W, const T* U,
                 const T* bias, T* hs, T* gates, T* hzh, T* work, cudaStream_t s) {
  if (B <= 0 || Tn <= 0 || H <= 0) return;
  const int64_t G = 3 * H;
  gemm<T>(B * Tn, G, I, T(1), x, I, 1, W, G, 1, T(0), gates, G, bias, Epilogue::none, false, s);
  for (int64_t t = 0; t < Tn; ++t) {
    int64_t ps = 0;
    const T* hp = prev_state(hs, h0, t, H, Tn, ps);
    // work = h_prev @ U + b_r; with no h_prev, k = 0 leaves just the bias.
    gemm<T>(B, G, hp ? H : 0, T(1), hp ? hp : U, hp ? ps : 0, 1, U, G, 1, T(0), work, G, bias + G, Epilogue::none,
            false, s);
    gru_step_forward_kernel<T><<<grid_for(B * H, kThreads), kThreads, 0, s>>>(B, H, gates + t * G, Tn * G, work, hp, ps,
                                                                               hzh + t * H, hs + t * H, Tn * H);
    DLCORE_CUDA_CHECK_LAUNCH("gru_step_forward_kernel");
  }
}

template <typename T>
void gru_backward(int64_t B, int64_t Tn, int64_t I, int64_t H, const T* x, const T* h0, const T* W, const T* U,
                  const T* gates, const T* hzh, const T* hs, const T* dhs, T* dh, T* dxz, T* dhz, T* dx, T* dW,
                  T* dU, T* db, cudaStream_t s) {
  const int64_t G = 3 * H;
  if (H <= 0) return;
  if (B <= 0 || Tn <= 0) {
    check(cudaMemsetAsync(dW, 0, size_t(I * G) * sizeof(T), s), "gru_backward: memset");
    check(cudaMemsetAsync(dU, 0, size_t(H * G) * sizeof(T), s), "gru_backward: memset");
    check(cudaMemsetAsync(db, 0, size_t(2 * G) * sizeof(T), s), "gru_backward: memset");
    return;
  }
  for (int64_t t = Tn - 1; t >= 0; --t) {
    int64_t ps = 0;
    const T* hp = prev_state(hs, h0, t, H, Tn, ps);
    gru_step_backward_kernel<T><<<grid_for(B * H, kThreads), kThreads, 0, s>>>(
        B, H, gates + t * G, Tn * G, hzh + t * H, Tn * H, hp, ps, dhs ? dhs + t * H : nullptr, dh, dxz + t * G,
        dhz + t * G);
    DLCORE_CUDA_CHECK_LAUNCH("gru_step_backward_kernel");
    gemm<T>(B, H, G, T(1), dhz + t * G, Tn * G, 1, U, 1, G, T(1), dh, H, nullptr, Epilogue::none, false, s);
  }
  weight_grads<T>(B, Tn, I, H, 3, x, h0, W, hs, dxz, dhz, dx, dW, dU, s);
  column_sum<T>(B * Tn, G, dxz, db, false, s);
  column_sum<T>(B * Tn, G, dhz, db + G, false, s);
}

// ---- SimpleRNN -----------------------------------------------------------------------------------

template <typename T>
void simple_rnn_forward(int64_t B, int64_t Tn, int64_t I, int64_t H, const T* x, const T* h0, const T* W, const T* U,
                        const T* bias, T* hs, cudaStream_t s) {
  if (B <= 0 || Tn <= 0 || H <= 0) return;
  gemm<T>(B * Tn, H, I, T(1), x, I, 1, W, H, 1, T(0), hs, H, bias, Epilogue::none, false, s);
  for (int64_t t = 0; t < Tn; ++t) {
    int64_t ps = 0;
    const T* hp = prev_state(hs, h0, t, H, Tn, ps);
    // h_t = tanh(h_prev @ U + (x_t @ W + b)): beta = 1 keeps the input part, the epilogue applies tanh.
    gemm<T>(B, H, hp ? H : 0, T(1), hp ? hp : U, hp ? ps : 0, 1, U, H, 1, T(1), hs + t * H, Tn * H, nullptr,
            Epilogue::tanh, false, s);
  }
}

template <typename T>
void simple_rnn_backward(int64_t B, int64_t Tn, int64_t I, int64_t H, const T* x, const T* h0, const T* W,
                         const T* U, const T* hs, const T* dhs, T* dh, T* dz, T* dx, T* dW, T* dU, T* db,
                         cudaStream_t s) {
  if (H <= 0) return;
  if (B <= 0 || Tn <= 0) {
    check(cudaMemsetAsync(dW, 0, size_t(I * H) * sizeof(T), s), "simple_rnn_backward: memset");
    check(cudaMemsetAsync(dU, 0, size_t(H * H) * sizeof(T), s), "simple_rnn_backward: memset");
    check(cudaMemsetAsync(db, 0, size_t(H) * sizeof(T), s), "simple_rnn_backward: memset");
    return;
  }
  for (int64_t t = Tn - 1; t >= 0; --t) {
    rnn_step_backward_kernel<T><<<grid_for(B * H, kThreads), kThreads, 0, s>>>(B, H, hs + t * H, Tn * H,
                                                                                dhs ? dhs + t * H : nullptr, dh, dz + t * H);
    DLCORE_CUDA_CHECK_LAUNCH("rnn_step_backward_kernel");
    gemm<T>(B, H, H, T(1), dz + t * H, Tn * H, 1, U, 1, H, T(0), dh, H, nullptr, Epilogue::none, false, s);
  }
  weight_grads<T>(B, Tn, I, H, 1, x, h0, W, hs, dz, dz, dx, dW, dU, s);
  column_sum<T>(B * Tn, H, dz, db, false, s);
}

#define DLCORE_RNN_INSTANTIATE(T)                                                                                    \
  template void lstm_forward<T>(int64_t, int64_t, int64_t, int64_t, const T*, const T*, const T*, const T*, const T*, \
                                const T*, T*, T*, T*, cudaStream_t);                                                 \
  template void lstm_backward<T>(int64_t, int64_t, int64_t, int64_t, const T*, const T*, const T*, const T*,         \
                                 const T*, const T*, const T*, const T*, const T*, T*, T*, T*, T*, T*, T*, T*,       \
                                 cudaStream_t);                                                                      \
  template void gru_forward<T>(int64_t, int64_t, int64_t, int64_t, const T*, const T*, const T*, const T*, const T*,  \
                               T*, T*, T*, T*, cudaStream_t);                                                        \
  template void gru_backward<T>(int64_t, int64_t, int64_t, int64_t, const T*, const T*, const T*, const T*, const T*, \
                                const T*, const T*, const T*, T*, T*, T*, T*, T*, T*, T*, cudaStream_t);             \
  template void simple_rnn_forward<T>(int64_t, int64_t, int64_t, int64_t, const T*, const T*, const T*, const T*,     \
                                      const T*, T*, cudaStream_t);                                                   \
  template void simple_rnn_backward<T>(int64_t, int64_t, int64_t, int64_t, const T*, const T*, const T*, const T*,    \
                                       const T*, const T*, T*, T*, T*, T*, T*, T*, cudaStream_t);
DLCORE_RNN_INSTANTIATE(float)
DLCORE_RNN_INSTANTIATE(double)

}  // namespace dlcore::cuda
