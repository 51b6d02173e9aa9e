// DLCORE_HD marks a small function callable from host and device code: __host__ __device__ under
// nvcc, plain inline in the C++ compiler. The headers of csrc/common/ use it; nothing else lives here.
#pragma once

#if defined(__CUDACC__)
#define DLCORE_HD __host__ __device__ __forceinline__
#else
#define DLCORE_HD inline
#endif
