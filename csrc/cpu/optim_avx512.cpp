// The optimizer update loops of optim_loops.h compiled for AVX512 (this file's flags come from its name).
#include "cpu/optim_loops.h"

namespace dlcore::cpu {
namespace {
struct TagAVX512 {};
}  // namespace

const OptimKernels<float> optim_avx512_f32 = optim_loops::make_table<TagAVX512, float>();
const OptimKernels<double> optim_avx512_f64 = optim_loops::make_table<TagAVX512, double>();

}  // namespace dlcore::cpu
