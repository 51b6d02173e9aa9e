// Measuring this machine's limits, so benchmarks can say "% of peak" from numbers taken on the
// machine they run on: the float32 FMA rate and the memory copy bandwidth, with all pool threads.
#pragma once
#include <cstdint>

namespace dlcore::cpu {

// Peak float32 FMA throughput in GFLOP/s (2 flops per FMA lane) for the active ISA, all threads.
double measure_peak_gflops(double seconds);
// Copy bandwidth in GB/s, counting bytes read + bytes written, over buffers of `bytes` each.
double measure_copy_gbps(int64_t bytes, int reps);

// Per-ISA FMA loops: `iters` iterations of 12 independent vector FMAs; return a value that
// depends on the result so the loop is not optimized away.
float fma_loop_avx512(int64_t iters);
float fma_loop_avx2(int64_t iters);

}  // namespace dlcore::cpu
