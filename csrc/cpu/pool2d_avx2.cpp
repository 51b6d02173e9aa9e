// The pooling kernels (pool2d_kernels.h) compiled with AVX2 flags. Called only after
// pool2d.cpp has checked active_isa().
#define DLCORE_POOL_NS pool_avx2
#define DLCORE_POOL_VEC_BYTES 32
#include "cpu/pool2d_kernels.h"
