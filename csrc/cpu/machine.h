// Measuring this machine's limits, so benchmarks can say "% of peak" from numbers taken on the
// machine they run on: the float32 FMA rate and the memory copy bandwidth, with all pool threads.
#pragma once
#include <cstdint>

namespace dlcore::cpu {

// Peak float32 FMA throughput in GFLOP/s (2 flops per FMA lane) for the active ISA, all threads.
double measure_peak_gflops(double seconds);
// Copy bandwidth in GB/s, counting bytes read + bytes written, over buffers of `bytes` each.
double measure_copy_gbps(int64_t bytes, int reps);

// The float32 GEMM (gemm.h) on m x k and k x n operands of its own, C := A B, `reps` times on up
// to `threads` threads with the current tuning; the best rate in GFLOP/s. What the tuning pass
// compares its candidates with.
double measure_gemm_gflops(int64_t m, int64_t n, int64_t k, int reps, int threads);
// The active ISA's float32 microkernel variant `variant` alone, one thread, on panels that stay in
// L1 and L2 (KC = 256, an A block of 8 panels): GFLOP/s. Set against the one-thread FMA peak, it
// says how close the register tile comes to the hardware.
double measure_ukr_gflops(int variant, double seconds);

// Per-ISA FMA loops: `iters` iterations of 12 independent vector FMAs; return a value that
// depends on the result so the loop is not optimized away.
float fma_loop_avx512(int64_t iters);
float fma_loop_avx2(int64_t iters);

}  // namespace dlcore::cpu
