#include "cpu/cpu.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>

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

namespace {

// A cache's size from sysfs (/sys/devices/system/cpu/cpu0/cache/index*/), which reports what one
// core can use (a CCD's L3 on AMD, not the socket's), or 0.
int64_t sysfs_cache_size(int level, bool data) {
  for (int i = 0; i < 8; ++i) {
    const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(i) + "/";
    std::ifstream lv(dir + "level"), ty(dir + "type"), sz(dir + "size");
    int l = 0;
    std::string type, size;
    if (!(lv >> l) || !(ty >> type) || !(sz >> size)) break;
    if (l != level || (type == "Instruction") || (data && type != "Data" && type != "Unified")) continue;
    int64_t v = 0;
    size_t pos = 0;
    try {
      v = std::stoll(size, &pos);
    } catch (const std::exception&) {
      return 0;
    }
    const char unit = pos < size.size() ? size[pos] : 'B';
    return unit == 'K' ? v << 10 : unit == 'M' ? v << 20 : unit == 'G' ? v << 30 : v;
  }
  return 0;
}

CacheSizes& current_cache_sizes() {
  static CacheSizes sizes = detected_cache_sizes();
  return sizes;
}

}  // namespace

CacheSizes detected_cache_sizes() {
  // sysfs first: glibc answers from cpuid, which on AMD reports the whole socket's L3 (384 MiB on a
  // 12-CCD EPYC) although a core reaches only its CCD's. Virtual machines sometimes report
  // nonsense (0, or hundreds of MB), so clamp to ranges real cores have.
  auto pick = [](int64_t sysfs, int name, int64_t fallback) {
    return sysfs > 0 ? sysfs : sysconf_or(name, fallback);
  };
  CacheSizes s;
  s.l1d = std::clamp<int64_t>(pick(sysfs_cache_size(1, true), _SC_LEVEL1_DCACHE_SIZE, 32 << 10), 16 << 10, 64 << 10);
  s.l2 = std::clamp<int64_t>(pick(sysfs_cache_size(2, true), _SC_LEVEL2_CACHE_SIZE, 512 << 10), 256 << 10, 4 << 20);
  s.l3 = std::clamp<int64_t>(pick(sysfs_cache_size(3, true), _SC_LEVEL3_CACHE_SIZE, 8 << 20), 2 << 20, 64 << 20);
  return s;
}

const CacheSizes& cache_sizes() { return current_cache_sizes(); }

void set_cache_sizes(const CacheSizes& s) {
  for (int64_t v : {s.l1d, s.l2, s.l3})
    if (v < (4 << 10) || v > (int64_t(1) << 30))
      throw std::invalid_argument("set_cache_sizes: every size must be between 4 KiB and 1 GiB, got " +
                                  std::to_string(v));
  current_cache_sizes() = s;
}

std::string cpu_model() {
#ifdef DLCORE_X86
  unsigned regs[12] = {};
  unsigned a, b, c, d;
  std::string brand;
  if (__get_cpuid(0x80000000u, &a, &b, &c, &d) && a >= 0x80000004u) {
    for (unsigned leaf = 0; leaf < 3; ++leaf)
      __get_cpuid(0x80000002u + leaf, &regs[leaf * 4], &regs[leaf * 4 + 1], &regs[leaf * 4 + 2], &regs[leaf * 4 + 3]);
    brand.assign(reinterpret_cast<const char*>(regs), sizeof(regs));
    brand = brand.c_str();  // up to the first NUL
    while (!brand.empty() && brand.back() == ' ') brand.pop_back();
    while (!brand.empty() && brand.front() == ' ') brand.erase(brand.begin());
  }
  if (!__get_cpuid(1, &a, &b, &c, &d)) return brand.empty() ? "unknown x86-64" : brand;
  const unsigned base_family = (a >> 8) & 0xf, base_model = (a >> 4) & 0xf, stepping = a & 0xf;
  const unsigned family = base_family == 0xf ? base_family + ((a >> 20) & 0xff) : base_family;
  const unsigned model = base_family == 0x6 || base_family == 0xf ? (((a >> 16) & 0xf) << 4) | base_model : base_model;
  return (brand.empty() ? std::string("x86-64") : brand) + " (family " + std::to_string(family) + ", model " +
         std::to_string(model) + ", stepping " + std::to_string(stepping) + ")";
#else
  return "unknown (not x86-64)";
#endif
}

int num_threads() { return pool_num_threads(); }

void set_num_threads(int n) { pool_set_num_threads(n); }

int threads_for(int64_t total_flops) {
  if (total_flops < 50000) return 1;
  return num_threads();
}

}  // namespace dlcore::cpu
