// The optimizer update loops of optim_loops.h compiled for AVX2 (this file's flags come from its name).
#include "cpu/optim_loops.h"

namespace dlcore::cpu {
namespace {
struct TagAVX2 {};
}  // namespace

const OptimKernels<float> optim_avx2_f32 = optim_loops::make_table<TagAVX2, float>();
const OptimKernels<double> optim_avx2_f64 = optim_loops::make_table<TagAVX2, double>();

}  // namespace dlcore::cpu
