#include "cpu/cpu.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <stdexcept>

#include "cpu/thread_pool.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
#define DLCORE_X86 1
#endif

namespace dlcore::cpu {
namespace {

#ifdef DLCORE_X86
uint64_t xgetbv0() {
  uint32_t eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (uint64_t(edx) << 32) | eax;
}
#endif

Isa detect() {
#ifdef DLCORE_X86
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return Isa::generic;
  const bool osxsave = c & (1u << 27), fma = c & (1u << 12), avx = c & (1u << 28);
  if (!(osxsave && avx && fma)) return Isa::generic;
  const uint64_t xcr0 = xgetbv0();
  if ((xcr0 & 0x6) != 0x6) return Isa::generic;  // OS saves XMM and YMM state
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return Isa::generic;
  const bool avx2 = b & (1u << 5);
  if (!avx2) return Isa::generic;
  const bool avx512f = b & (1u << 16), avx512dq = b & (1u << 17), avx512bw = b & (1u << 30),
             avx512vl = b & (1u << 31);
  const bool os_zmm = (xcr0 & 0xe6) == 0xe6;  // opmask, ZMM_Hi256, Hi16_ZMM
  if (avx512f && avx512dq && avx512bw && avx512vl && os_zmm) return Isa::avx512;
  return Isa::avx2;
#else
  return Isa::generic;
#endif
}

Isa initial_isa() {
  Isa best = best_supported_isa();
  if (const char* env = std::getenv("DLCORE_CPU_ISA"); env && *env) {
    Isa want = parse_isa(env);  // an unknown name fails loudly at import rather than silently
    return std::min(want, best);
  }
  return best;
}

std::atomic<int>& isa_slot() {
  static std::atomic<int> slot{static_cast<int>(initial_isa())};
  return slot;
}

int64_t sysconf_or(int name, int64_t fallback) {
  long v = sysconf(name);
  return v > 0 ? int64_t(v) : fallback;
}

}  // namespace

Isa best_supported_isa() {
  static const Isa best = detect();
  return best;
}

Isa active_isa() { return static_cast<Isa>(isa_slot().load(std::memory_order_relaxed)); }

void set_isa(Isa isa) { isa_slot().store(static_cast<int>(std::min(isa, best_supported_isa()))); }

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::avx512: return "avx512";
    case Isa::avx2: return "avx2";
    default: return "generic";
  }
}

Isa parse_isa(const std::string& name) {
  if (name == "avx512") return Isa::avx512;
  if (name == "avx2") return Isa::avx2;
  if (name == "generic") return Isa::generic;
  throw std::invalid_argument("DLCORE_CPU_ISA / set_isa: expected 'avx512', 'avx2' or 'generic', got '" +
                              name + "'");
}

const CacheSizes& cache_sizes() {
  // glibc answers these from cpuid. Virtual machines sometimes report nonsense (0, or the whole
  // socket's L3 as hundreds of MB), so clamp to ranges real cores have.
  static const CacheSizes sizes = [] {
    CacheSizes s;
    s.l1d = std::clamp<int64_t>(sysconf_or(_SC_LEVEL1_DCACHE_SIZE, 32 << 10), 16 << 10, 64 << 10);
    s.l2 = std::clamp<int64_t>(sysconf_or(_SC_LEVEL2_CACHE_SIZE, 512 << 10), 256 << 10, 4 << 20);
    s.l3 = std::clamp<int64_t>(sysconf_or(_SC_LEVEL3_CACHE_SIZE, 8 << 20), 2 << 20, 64 << 20);
    return s;
  }();
  return sizes;
}

int num_threads() { return pool_num_threads(); }

void set_num_threads(int n) { pool_set_num_threads(n); }

int threads_for(int64_t total_flops) {
  if (total_flops < 50000) return 1;
  return num_threads();
}

}  // namespace dlcore::cpu
