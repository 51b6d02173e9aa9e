// dlcore._cuda recurrent layers over whole sequences (csrc/cuda/rnn.cu has the shapes and the cache).
// Sizes: B batch, T steps, I input features, H units. h0 / c0 / dhs may be 0 (absent).
#include "cuda/rnn.cuh"
#include "python/cuda/bind_cuda.h"

namespace dlcore {
using namespace cuda_bind;

namespace {
// The element counts of every buffer of a recurrent call with `gates` gates per unit (4 LSTM, 3 GRU,
// 1 SimpleRNN), each product checked (python/checked.h).
struct Sizes {
  int64_t G, G2;     // gates * H, and twice that (the GRU's two bias rows)
  int64_t x, hs, zg;  // B*T*I, B*T*H, B*T*G
  int64_t w, u;      // I*G, H*G
  int64_t bh, bg;    // B*H, B*G
};
Sizes sizes(int64_t B, int64_t T, int64_t I, int64_t H, int64_t gates, const char* op) {
  require(B >= 0 && T >= 0 && I >= 0 && H >= 0, std::string(op) + ": negative size");
  const std::string what = std::string(op) + ": sizes";
  const char* w = what.c_str();
  Sizes sz;
  sz.G = checked::mul(gates, H, w);
  sz.G2 = checked::mul(sz.G, 2, w);
  sz.x = checked::product({B, T, I}, w);
  sz.hs = checked::product({B, T, H}, w);
  sz.zg = checked::product({B, T, sz.G}, w);
  sz.w = checked::mul(I, sz.G, w);
  sz.u = checked::mul(H, sz.G, w);
  sz.bh = checked::mul(B, H, w);
  sz.bg = checked::mul(B, sz.G, w);
  return sz;
}
}  // namespace

void register_cuda_rnn(py::module_& m) {
  m.def("lstm_forward", [](int64_t B, int64_t T, int64_t I, int64_t H, Ptr x, Ptr h0, Ptr c0, Ptr W, Ptr U, Ptr bias,
                           Ptr hs, Ptr gates, Ptr cs, bool f64, Ptr s) {
    const Sizes sz = sizes(B, T, I, H, 4, "lstm_forward");
    py::gil_scoped_release nogil;
    dispatch_float(f64, [&](auto zero) {
      using Tp = decltype(zero);
      cuda::lstm_forward<Tp>(B, T, I, H, data<const Tp>(x, sz.x, "lstm_forward: x"), ptr<const Tp>(h0),
                             ptr<const Tp>(c0), data<const Tp>(W, sz.w, "lstm_forward: kernel"),
                             data<const Tp>(U, sz.u, "lstm_forward: recurrent_kernel"),
                             data<const Tp>(bias, sz.G, "lstm_forward: bias"), data<Tp>(hs, sz.hs, "lstm_forward: hs"),
                             data<Tp>(gates, sz.zg, "lstm_forward: gates"), data<Tp>(cs, sz.hs, "lstm_forward: cs"),
                             stream(s));
    });
  });
  m.def("lstm_backward", [](int64_t B, int64_t T, int64_t I, int64_t H, Ptr x, Ptr h0, Ptr c0, Ptr W, Ptr U, Ptr gates,
                            Ptr cs, Ptr hs, Ptr dhs, Ptr dh, Ptr dc, Ptr dz, Ptr dx, Ptr dW, Ptr dU, Ptr db, bool f64,
                            Ptr s) {
    const Sizes sz = sizes(B, T, I, H, 4, "lstm_backward");
    py::gil_scoped_release nogil;
    dispatch_float(f64, [&](auto zero) {
      using Tp = decltype(zero);
      cuda::lstm_backward<Tp>(B, T, I, H, data<const Tp>(x, sz.x, "lstm_backward: x"), ptr<const Tp>(h0),
                              ptr<const Tp>(c0), data<const Tp>(W, sz.w, "lstm_backward: kernel"),
                              data<const Tp>(U, sz.u, "lstm_backward: recurrent_kernel"),
                              data<const Tp>(gates, sz.zg, "lstm_backward: gates"),
                              data<const Tp>(cs, sz.hs, "lstm_backward: cs"),
                              data<const Tp>(hs, sz.hs, "lstm_backward: hs"), ptr<const Tp>(dhs),
                              data<Tp>(dh, sz.bh, "lstm_backward: dh"), data<Tp>(dc, sz.bh, "lstm_backward: dc"),
                              data<Tp>(dz, sz.zg, "lstm_backward: dz"), data<Tp>(dx, sz.x, "lstm_backward: dx"),
                              data<Tp>(dW, sz.w, "lstm_backward: dkernel"), data<Tp>(dU, sz.u, "lstm_backward: drecurrent"),
                              data<Tp>(db, sz.G, "lstm_backward: dbias"), stream(s));
    });
  });
  m.def("gru_forward", [](int64_t B, int64_t T, int64_t I, int64_t H, Ptr x, Ptr h0, Ptr W, Ptr U, Ptr bias, Ptr hs,
                          Ptr gates, Ptr hzh, Ptr work, bool f64, Ptr s) {
    const Sizes sz = sizes(B, T, I, H, 3, "gru_forward");
    py::gil_scoped_release nogil;
    dispatch_float(f64, [&](auto zero) {
      using Tp = decltype(zero);
      cuda::gru_forward<Tp>(B, T, I, H, data<const Tp>(x, sz.x, "gru_forward: x"), ptr<const Tp>(h0),
                            data<const Tp>(W, sz.w, "gru_forward: kernel"),
                            data<const Tp>(U, sz.u, "gru_forward: recurrent_kernel"),
                            data<const Tp>(bias, sz.G2, "gru_forward: bias"), data<Tp>(hs, sz.hs, "gru_forward: hs"),
                            data<Tp>(gates, sz.zg, "gru_forward: gates"), data<Tp>(hzh, sz.hs, "gru_forward: hzh"),
                            data<Tp>(work, sz.bg, "gru_forward: work"), stream(s));
    });
  });
  m.def("gru_backward", [](int64_t B, int64_t T, int64_t I, int64_t H, Ptr x, Ptr h0, Ptr W, Ptr U, Ptr gates, Ptr hzh,
                           Ptr hs, Ptr dhs, Ptr dh, Ptr dxz, Ptr dhz, Ptr dx, Ptr dW, Ptr dU, Ptr db, bool f64, Ptr s) {
    const Sizes sz = sizes(B, T, I, H, 3, "gru_backward");
    py::gil_scoped_release nogil;
    dispatch_float(f64, [&](auto zero) {
      using Tp = decltype(zero);
      cuda::gru_backward<Tp>(B, T, I, H, data<const Tp>(x, sz.x, "gru_backward: x"), ptr<const Tp>(h0),
                             data<const Tp>(W, sz.w, "gru_backward: kernel"),
                             data<const Tp>(U, sz.u, "gru_backward: recurrent_kernel"),
                             data<const Tp>(gates, sz.zg, "gru_backward: gates"),
                             data<const Tp>(hzh, sz.hs, "gru_backward: hzh"),
                             data<const Tp>(hs, sz.hs, "gru_backward: hs"), ptr<const Tp>(dhs),
                             data<Tp>(dh, sz.bh, "gru_backward: dh"), data<Tp>(dxz, sz.zg, "gru_backward: dxz"),
                             data<Tp>(dhz, sz.zg, "gru_backward: dhz"), data<Tp>(dx, sz.x, "gru_backward: dx"),
                             data<Tp>(dW, sz.w, "gru_backward: dkernel"), data<Tp>(dU, sz.u, "gru_backward: drecurrent"),
                             data<Tp>(db, sz.G2, "gru_backward: dbias"), stream(s));
    });
  });
  m.def("simple_rnn_forward", [](int64_t B, int64_t T, int64_t I, int64_t H, Ptr x, Ptr h0, Ptr W, Ptr U, Ptr bias,
                                 Ptr hs, bool f64, Ptr s) {
    const Sizes sz = sizes(B, T, I, H, 1, "simple_rnn_forward");
    py::gil_scoped_release nogil;
    dispatch_float(f64, [&](auto zero) {
      using Tp = decltype(zero);
      cuda::simple_rnn_forward<Tp>(B, T, I, H, data<const Tp>(x, sz.x, "simple_rnn_forward: x"), ptr<const Tp>(h0),
                                   data<const Tp>(W, sz.w, "simple_rnn_forward: kernel"),
                                   data<const Tp>(U, sz.u, "simple_rnn_forward: recurrent_kernel"),
                                   data<const Tp>(bias, H, "simple_rnn_forward: bias"),
                                   data<Tp>(hs, sz.hs, "simple_rnn_forward: hs"), stream(s));
    });
  });
  m.def("simple_rnn_backward", [](int64_t B, int64_t T, int64_t I, int64_t H, Ptr x, Ptr h0, Ptr W, Ptr U, Ptr hs,
                                  Ptr dhs, Ptr dh, Ptr dz, Ptr dx, Ptr dW, Ptr dU, Ptr db, bool f64, Ptr s) {
    const Sizes sz = sizes(B, T, I, H, 1, "simple_rnn_backward");
    py::gil_scoped_release nogil;
    dispatch_float(f64, [&](auto zero) {
      using Tp = decltype(zero);
      cuda::simple_rnn_backward<Tp>(B, T, I, H, data<const Tp>(x, sz.x, "simple_rnn_backward: x"), ptr<const Tp>(h0),
                                    data<const Tp>(W, sz.w, "simple_rnn_backward: kernel"),
                                    data<const Tp>(U, sz.u, "simple_rnn_backward: recurrent_kernel"),
                                    data<const Tp>(hs, sz.hs, "simple_rnn_backward: hs"), ptr<const Tp>(dhs),
                                    data<Tp>(dh, sz.bh, "simple_rnn_backward: dh"),
                                    data<Tp>(dz, sz.hs, "simple_rnn_backward: dz"),
                                    data<Tp>(dx, sz.x, "simple_rnn_backward: dx"),
                                    data<Tp>(dW, sz.w, "simple_rnn_backward: dkernel"),
                                    data<Tp>(dU, sz.u, "simple_rnn_backward: drecurrent"),
                                    data<Tp>(db, H, "simple_rnn_backward: dbias"), stream(s));
    });
  });
}

}  // namespace dlcore
