// The recurrent gate passes (rnn_gates.h) compiled with the avx2 flags; called only when
// cpu::active_isa() is avx2 or higher (see rnn.cpp).
#define DLCORE_RNN_GATES_SIMD 1  // float32 passes run vectors of F32x8 (see rnn_gates.h)
#include "cpu/simd_f32_avx2.h"
#include "cpu/rnn_gates.h"

namespace dlcore::cpu {

const RnnGateKernels<float> rnn_gates_avx2_f32 = make_rnn_gate_kernels<float, F32x8>();
const RnnGateKernels<double> rnn_gates_avx2_f64 = make_rnn_gate_kernels<double>();

}  // namespace dlcore::cpu
