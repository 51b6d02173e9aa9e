// AVX-512 activation kernels (float32, 16 lanes): the kernels of activation_simd.h with the traits of
// simd_f32_avx512.h.
#include "cpu/activation_simd.h"
#include "cpu/simd_f32_avx512.h"

namespace dlcore::cpu {

const ActKernelsF32 act_kernels_avx512_f32 = simd::make_table<F32x16>("avx512");

}  // namespace dlcore::cpu
