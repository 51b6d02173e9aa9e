// AVX2 + FMA activation kernels (float32, 8 lanes): the kernels of activation_simd.h with the traits of
// simd_f32_avx2.h.
#include <immintrin.h>

#include "cpu/activation_simd.h"
#include "cpu/simd_f32_avx2.h"

namespace dlcore::cpu {

const ActKernelsF32 act_kernels_avx2_f32 = simd::make_table<F32x8>("avx2");

}  // namespace dlcore::cpu
