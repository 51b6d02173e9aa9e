// What the processor offers and how the CPU kernels use it: the instruction-set level chosen at run
// time, the cache sizes that size the GEMM blocks, and the thread count of the one pool
// (thread_pool.h).
//
// The ISA is the highest of avx512 > avx2 > generic that both the processor and the OS support
// (cpuid + xgetbv). DLCORE_CPU_ISA=avx512|avx2|generic, read once, forces a lower level so that
// every path is testable on one machine; asking for a level the machine lacks falls back to the best
// it has. Kernel families keep one function table per ISA and pick with `active_isa()`.
#pragma once
#include <cstdint>
#include <string>

namespace dlcore::cpu {

enum class Isa : int { generic = 0, avx2 = 1, avx512 = 2 };

Isa best_supported_isa();   // what the hardware and OS allow
Isa active_isa();           // what the kernels use (the override applied)
void set_isa(Isa isa);      // clamped to best_supported_isa(); for tests and benchmarks
const char* isa_name(Isa isa);
Isa parse_isa(const std::string& name);  // throws std::invalid_argument

struct CacheSizes {
  int64_t l1d, l2, l3;  // bytes, per core for l1d/l2
};
// The geometry the kernels block for: what the machine reports (detected_cache_sizes) unless
// set_cache_sizes replaced it (dlcore does at import from DLCORE_CACHE_SIZES, so that tests and
// benchmarks can run the blocking logic under another machine's geometry). Set it only while no
// kernel runs.
const CacheSizes& cache_sizes();
CacheSizes detected_cache_sizes();
void set_cache_sizes(const CacheSizes& sizes);  // each in [4 KiB, 1 GiB], else invalid_argument

// The processor as cpuid names it: the brand string, then family / model / stepping
// ("AMD EPYC 9R45 (family 26, model 2, stepping 1)"); what the tuning cache is keyed on.
std::string cpu_model();

int num_threads();
void set_num_threads(int n);  // n >= 1

// Threads to use for `work` units of roughly `unit_cost` flops each: one thread below ~50k flops of
// total work (thread wake-up costs more than it saves), then up to num_threads().
int threads_for(int64_t total_flops);

}  // namespace dlcore::cpu
