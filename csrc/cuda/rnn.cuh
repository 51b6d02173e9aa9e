// CUDA recurrent layers over whole sequences: LSTM, GRU and SimpleRNN (see rnn.cu).
// All pointers are device pointers of contiguous arrays; every launcher queues its work on `s` and returns.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

namespace dlcore::cuda {

// Whole-sequence recurrent layers; the shapes and the cache layout are in rnn.cu's header comment.
template <typename T>
void lstm_forward(int64_t B, int64_t Tn, int64_t I, int64_t H, const T* x, const T* h0, const T* c0, const T* W,
                  const T* U, const T* bias, T* hs, T* gates, T* cs, cudaStream_t s);
template <typename T>
void lstm_backward(int64_t B, int64_t Tn, int64_t I, int64_t H, const T* x, const T* h0, const T* c0, const T* W,
                   const T* U, const T* gates, const T* cs, const T* hs, const T* dhs, T* dh, T* dc, T* dz, T* dx,
                   T* dW, T* dU, T* db, cudaStream_t s);
template <typename T>
void gru_forward(int64_t B, int64_t Tn, int64_t I, int64_t H, const T* x, const T* h0, const T* W, const T* U,
                 const T* bias, T* hs, T* gates, T* hzh, T* work, cudaStream_t s);
template <typename T>
void gru_backward(int64_t B, int64_t Tn, int64_t I, int64_t H, const T* x, const T* h0, const T* W, const T* U,
                  const T* gates, const T* hzh, const T* hs, const T* dhs, T* dh, T* dxz, T* dhz, T* dx, T* dW,
                  T* dU, T* db, cudaStream_t s);
template <typename T>
void simple_rnn_forward(int64_t B, int64_t Tn, int64_t I, int64_t H, const T* x, const T* h0, const T* W, const T* U,
                        const T* bias, T* hs, cudaStream_t s);
template <typename T>
void simple_rnn_backward(int64_t B, int64_t Tn, int64_t I, int64_t H, const T* x, const T* h0, const T* W,
                         const T* U, const T* hs, const T* dhs, T* dh, T* dz, T* dx, T* dW, T* dU, T* db,
                         cudaStream_t s);

}  // namespace dlcore::cuda
