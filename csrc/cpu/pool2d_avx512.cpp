// The pooling kernels (pool2d_kernels.h) compiled with AVX512 flags. Called only after
// pool2d.cpp has checked active_isa().
#define DLCORE_POOL_NS pool_avx512
#define DLCORE_POOL_VEC_BYTES 64
#include "cpu/pool2d_kernels.h"
