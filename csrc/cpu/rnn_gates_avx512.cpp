// The recurrent gate passes (rnn_gates.h) compiled with the avx512 flags; called only when
// cpu::active_isa() is avx512 or higher (see rnn.cpp).
#include "cpu/rnn_gates.h"

namespace dlcore::cpu {

const RnnGateKernels<float> rnn_gates_avx512_f32 = make_rnn_gate_kernels<float>();
const RnnGateKernels<double> rnn_gates_avx512_f64 = make_rnn_gate_kernels<double>();

}  // namespace dlcore::cpu
