// dlcore._cuda recurrent layers over whole sequences (csrc/cuda/rnn.cu has the shapes and the cache).
// Sizes: B batch, T steps, I input features, H units. h0 / c0 / dhs may be 0 (absent).
#include "cuda/rnn.cuh"
#include "python/cuda/bind_cuda.h"

namespace dlcore {
using namespace cuda_bind;

namespace {
void sizes_ok(int64_t B, int64_t T, int64_t I, int64_t H, const char* op) {
  require(B >= 0 && T >= 0 && I >= 0 && H >= 0, std::string(op) + ": negative size");
}
}  // namespace

void register_cuda_rnn(py::module_& m) {
  m.def("lstm_forward", [](int64_t B, int64_t T, int64_t I, int64_t H, Ptr x, Ptr h0, Ptr c0, Ptr W, Ptr U, Ptr bias,
                           Ptr hs, Ptr gates, Ptr cs, bool f64, Ptr s) {
    sizes_ok(B, T, I, H, "lstm_forward");
    const int64_t G = 4 * H;
    py::gil_scoped_release nogil;
    dispatch_float(f64, [&](auto zero) {
      using Tp = decltype(zero);
      cuda::lstm_forward<Tp>(B, T, I, H, data<const Tp>(x, B * T * I, "lstm_forward: x"), ptr<const Tp>(h0),
                             ptr<const Tp>(c0), data<const Tp>(W, I * G, "lstm_forward: kernel"),
                             data<const Tp>(U, H * G, "lstm_forward: recurrent_kernel"),
                             data<const Tp>(bias, G, "lstm_forward: bias"), data<Tp>(hs, B * T * H, "lstm_forward: hs"),
                             data<Tp>(gates, B * T * G, "lstm_forward: gates"), data<Tp>(cs, B * T * H, "lstm_forward: cs"),
                             stream(s));
    });
  });
  m.def("lstm_backward", [](int64_t B, int64_t T, int64_t I, int64_t H, Ptr x, Ptr h0, Ptr c0, Ptr W, Ptr U, Ptr gates,
                            Ptr cs, Ptr hs, Ptr dhs, Ptr dh, Ptr dc, Ptr dz, Ptr dx, Ptr dW, Ptr dU, Ptr db, bool f64,
                            Ptr s) {
    sizes_ok(B, T, I, H, "lstm_backward");
    const int64_t G = 4 * H;
    py::gil_scoped_release nogil;
    dispatch_float(f64, [&](auto zero) {
      using Tp = decltype(zero);
      cuda::lstm_backward<Tp>(B, T, I, H, data<const Tp>(x, B * T * I, "lstm_backward: x"), ptr<const Tp>(h0),
                              ptr<const Tp>(c0), data<const Tp>(W, I * G, "lstm_backward: kernel"),
                              data<const Tp>(U, H * G, "lstm_backward: recurrent_kernel"),
                              data<const Tp>(gates, B * T * G, "lstm_backward: gates"),
                              data<const Tp>(cs, B * T * H, "lstm_backward: cs"),
                              data<const Tp>(hs, B * T * H, "lstm_backward: hs"), ptr<const Tp>(dhs),
                              data<Tp>(dh, B * H, "lstm_backward: dh"), data<Tp>(dc, B * H, "lstm_backward: dc"),
                              data<Tp>(dz, B * T * G, "lstm_backward: dz"), data<Tp>(dx, B * T * I, "lstm_backward: dx"),
                              data<Tp>(dW, I * G, "lstm_backward: dkernel"), data<Tp>(dU, H * G, "lstm_backward: drecurrent"),
                              data<Tp>(db, G, "lstm_backward: dbias"), stream(s));
    });
  });
  m.def("gru_forward", [](int64_t B, int64_t T, int64_t I, int64_t H, Ptr x, Ptr h0, Ptr W, Ptr U, Ptr bias, Ptr hs,
                          Ptr gates, Ptr hzh, Ptr work, bool f64, Ptr s) {
    sizes_ok(B, T, I, H, "gru_forward");
    const int64_t G = 3 * H;
    py::gil_scoped_release nogil;
    dispatch_float(f64, [&](auto zero) {
      using Tp = decltype(zero);
      cuda::gru_forward<Tp>(B, T, I, H, data<const Tp>(x, B * T * I, "gru_forward: x"), ptr<const Tp>(h0),
                            data<const Tp>(W, I * G, "gru_forward: kernel"),
                            data<const Tp>(U, H * G, "gru_forward: recurrent_kernel"),
                            data<const Tp>(bias, 2 * G, "gru_forward: bias"), data<Tp>(hs, B * T * H, "gru_forward: hs"),
                            data<Tp>(gates, B * T * G, "gru_forward: gates"), data<Tp>(hzh, B * T * H, "gru_forward: hzh"),
                            data<Tp>(work, B * G, "gru_forward: work"), stream(s));
    });
  });
  m.def("gru_backward", [](int64_t B, int64_t T, int64_t I, int64_t H, Ptr x, Ptr h0, Ptr W, Ptr U, Ptr gates, Ptr hzh,
                           Ptr hs, Ptr dhs, Ptr dh, Ptr dxz, Ptr dhz, Ptr dx, Ptr dW, Ptr dU, Ptr db, bool f64, Ptr s) {
    sizes_ok(B, T, I, H, "gru_backward");
    const int64_t G = 3 * H;
    py::gil_scoped_release nogil;
    dispatch_float(f64, [&](auto zero) {
      using Tp = decltype(zero);
      cuda::gru_backward<Tp>(B, T, I, H, data<const Tp>(x, B * T * I, "gru_backward: x"), ptr<const Tp>(h0),
                             data<const Tp>(W, I * G, "gru_backward: kernel"),
                             data<const Tp>(U, H * G, "gru_backward: recurrent_kernel"),
                             data<const Tp>(gates, B * T * G, "gru_backward: gates"),
                             data<const Tp>(hzh, B * T * H, "gru_backward: hzh"),
                             data<const Tp>(hs, B * T * H, "gru_backward: hs"), ptr<const Tp>(dhs),
                             data<Tp>(dh, B * H, "gru_backward: dh"), data<Tp>(dxz, B * T * G, "gru_backward: dxz"),
                             data<Tp>(dhz, B * T * G, "gru_backward: dhz"), data<Tp>(dx, B * T * I, "gru_backward: dx"),
                             data<Tp>(dW, I * G, "gru_backward: dkernel"), data<Tp>(dU, H * G, "gru_backward: drecurrent"),
                             data<Tp>(db, 2 * G, "gru_backward: dbias"), stream(s));
    });
  });
  m.def("simple_rnn_forward", [](int64_t B, int64_t T, int64_t I, int64_t H, Ptr x, Ptr h0, Ptr W, Ptr U, Ptr bias,
                                 Ptr hs, bool f64, Ptr s) {
    sizes_ok(B, T, I, H, "simple_rnn_forward");
    py::gil_scoped_release nogil;
    dispatch_float(f64, [&](auto zero) {
      using Tp = decltype(zero);
      cuda::simple_rnn_forward<Tp>(B, T, I, H, data<const Tp>(x, B * T * I, "simple_rnn_forward: x"), ptr<const Tp>(h0),
                                   data<const Tp>(W, I * H, "simple_rnn_forward: kernel"),
                                   data<const Tp>(U, H * H, "simple_rnn_forward: recurrent_kernel"),
                                   data<const Tp>(bias, H, "simple_rnn_forward: bias"),
                                   data<Tp>(hs, B * T * H, "simple_rnn_forward: hs"), stream(s));
    });
  });
  m.def("simple_rnn_backward", [](int64_t B, int64_t T, int64_t I, int64_t H, Ptr x, Ptr h0, Ptr W, Ptr U, Ptr hs,
                                  Ptr dhs, Ptr dh, Ptr dz, Ptr dx, Ptr dW, Ptr dU, Ptr db, bool f64, Ptr s) {
    sizes_ok(B, T, I, H, "simple_rnn_backward");
    py::gil_scoped_release nogil;
    dispatch_float(f64, [&](auto zero) {
      using Tp = decltype(zero);
      cuda::simple_rnn_backward<Tp>(B, T, I, H, data<const Tp>(x, B * T * I, "simple_rnn_backward: x"), ptr<const Tp>(h0),
                                    data<const Tp>(W, I * H, "simple_rnn_backward: kernel"),
                                    data<const Tp>(U, H * H, "simple_rnn_backward: recurrent_kernel"),
                                    data<const Tp>(hs, B * T * H, "simple_rnn_backward: hs"), ptr<const Tp>(dhs),
                                    data<Tp>(dh, B * H, "simple_rnn_backward: dh"),
                                    data<Tp>(dz, B * T * H, "simple_rnn_backward: dz"),
                                    data<Tp>(dx, B * T * I, "simple_rnn_backward: dx"),
                                    data<Tp>(dW, I * H, "simple_rnn_backward: dkernel"),
                                    data<Tp>(dU, H * H, "simple_rnn_backward: drecurrent"),
                                    data<Tp>(db, H, "simple_rnn_backward: dbias"), stream(s));
    });
  });
}

}  // namespace dlcore
