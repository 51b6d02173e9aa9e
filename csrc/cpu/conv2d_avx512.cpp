// The per-ISA convolution kernels (conv2d_kernels.h) compiled with AVX512 flags. Called only
// after conv2d.cpp has checked active_isa().
#define DLCORE_CONV_NS conv_avx512
#define DLCORE_CONV_VEC_BYTES 64
#include "cpu/conv2d_kernels.h"
