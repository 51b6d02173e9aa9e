// The depthwise convolution kernels (depthwise_conv2d_kernels.h) compiled with AVX2 flags. Called
// only after depthwise_conv2d.cpp has checked active_isa().
#define DLCORE_DEPTHWISE_NS depthwise_avx2
#define DLCORE_DEPTHWISE_VEC_BYTES 32
#include "cpu/depthwise_conv2d_kernels.h"
