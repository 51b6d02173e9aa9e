// The upsampling kernels (upsample2d_kernels.h) compiled with AVX2 flags. Called only after
// upsample2d.cpp has checked active_isa().
#define DLCORE_UPSAMPLE_NS upsample_avx2
#include "cpu/upsample2d_kernels.h"
