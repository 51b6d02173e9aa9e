// The upsampling kernels (upsample2d_kernels.h) compiled with AVX512 flags. Called only after
// upsample2d.cpp has checked active_isa().
#define DLCORE_UPSAMPLE_NS upsample_avx512
#include "cpu/upsample2d_kernels.h"
