// CPU optimizer updates: the portable build of the loops (optim_loops.h), the choice of the active
// ISA's table and the threading. Formulas in optim.h.
#include "cpu/optim.h"


#include <vector>

#include "cpu/cpu.h"
#include "cpu/optim_loops.h"
#include "cpu/parallel.h"

namespace dlcore::cpu {
namespace {
struct TagGeneric {};

template <typename T>
const OptimKernels<T>& table();

template <>
const OptimKernels<float>& table<float>() {
  switch (active_isa()) {
    case Isa::avx512: return optim_avx512_f32;
    case Isa::avx2: return optim_avx2_f32;
    default: return optim_generic_f32;
  }
}
template <>
const OptimKernels<double>& table<double>() {
  switch (active_isa()) {
    case Isa::avx512: return optim_avx512_f64;
    case Isa::avx2: return optim_avx2_f64;
    default: return optim_generic_f64;
  }
}

template <typename T>
T* at(T* p, int64_t i) { return p ? p + i : nullptr; }

}  // namespace

const OptimKernels<float> optim_generic_f32 = optim_loops::make_table<TagGeneric, float>();
const OptimKernels<double> optim_generic_f64 = optim_loops::make_table<TagGeneric, double>();

template <typename T>
void sgd_update(T* p, const T* g, T* velocity, int64_t n, const SgdArgs<T>& a) {
  const auto& k = table<T>();
  parallel_chunks(n, [&](int64_t b, int64_t e) { k.sgd(p + b, g + b, at(velocity, b), e - b, a); });
}

template <typename T>
void adagrad_update(T* p, const T* g, T* acc, int64_t n, double lr, double eps, double weight_decay) {
  const auto& k = table<T>();
  parallel_chunks(n, [&](int64_t b, int64_t e) { k.adagrad(p + b, g + b, acc + b, e - b, lr, eps, weight_decay); });
}

template <typename T>
void rmsprop_update(T* p, const T* g, T* sq, T* mom_buf, T* grad_avg, int64_t n, const RmspropArgs<T>& a) {
  const auto& k = table<T>();
  parallel_chunks(n, [&](int64_t b, int64_t e) {
    k.rmsprop(p + b, g + b, sq + b, at(mom_buf, b), at(grad_avg, b), e - b, a);
  });
}

template <typename T>
void adam_update(T* p, const T* g, T* m, T* v, T* v_max, int64_t n, const AdamArgs<T>& a) {
  const auto& k = table<T>();
  parallel_chunks(n, [&](int64_t b, int64_t e) { k.adam(p + b, g + b, m + b, v + b, at(v_max, b), e - b, a); });
}

// Per-chunk partial sums added in chunk order: the result does not depend on which thread ran
// which chunk.
template <typename T>
double sum_squares(const T* x, int64_t n) {
  const auto& k = table<T>();
  const int nt = n >= kParallelThreshold ? num_threads() : 1;
  const int64_t parts = nt > 1 ? int64_t(nt) * kChunksPerThread : 1;
  std::vector<double> part(size_t(parts), 0.0);
  parallel_tasks(parts, nt, [&](int64_t q) {
    const int64_t b = n * q / parts, e = n * (q + 1) / parts;
    part[size_t(q)] = k.sum_squares(x + b, e - b);
  });
  double s = 0.0;
  for (double v : part) s += v;
  return s;
}

template <typename T>
void scale_inplace(T* x, int64_t n, T s) {
  const auto& k = table<T>();
  parallel_chunks(n, [&](int64_t b, int64_t e) { k.scale(x + b, e - b, s); });
}

#define DLCORE_INSTANTIATE(T)                                                                       \
  template void sgd_update<T>(T*, const T*, T*, int64_t, const SgdArgs<T>&);                        \
  template void adagrad_update<T>(T*, const T*, T*, int64_t, double, double, double);                              \
  template void rmsprop_update<T>(T*, const T*, T*, T*, T*, int64_t, const RmspropArgs<T>&);        \
  template void adam_update<T>(T*, const T*, T*, T*, T*, int64_t, const AdamArgs<T>&);              \
  template double sum_squares<T>(const T*, int64_t);                                                \
  template void scale_inplace<T>(T*, int64_t, T);
DLCORE_INSTANTIATE(float)
DLCORE_INSTANTIATE(double)
#undef DLCORE_INSTANTIATE

}  // namespace dlcore::cpu
