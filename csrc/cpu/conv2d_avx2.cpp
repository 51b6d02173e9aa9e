// The per-ISA convolution kernels (conv2d_kernels.h) compiled with AVX2 flags. Called only
// after conv2d.cpp has checked active_isa().
#define DLCORE_CONV_NS conv_avx2
#define DLCORE_CONV_VEC_BYTES 32
#include "cpu/conv2d_kernels.h"
