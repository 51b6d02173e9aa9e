// dlcore._C system functions: instruction set, threads, caches, and the machine's measured limits.
#include <atomic>
#include <string>
#include <vector>

#include "cpu/cpu.h"
#include "cpu/gemm/gemm.h"
#include "cpu/machine.h"
#include "cpu/thread_pool.h"
#include "python/bind_util.h"

// The thread count with C linkage and default visibility, for threadpoolctl: its dlcore controller
// (dlcore/_system.py) finds this library among the loaded ones and calls these through ctypes, as it
// calls openblas_get_num_threads in OpenBLAS.
extern "C" {
__attribute__((visibility("default"))) int dlcore_get_num_threads() { return dlcore::cpu::pool_num_threads(); }
__attribute__((visibility("default"))) void dlcore_set_num_threads(int n) {
  if (n >= 1) dlcore::cpu::pool_set_num_threads(n);
}
}

namespace dlcore {
namespace py = pybind11;

void register_system(py::module_& m) {
  // The lazily initialized machine facts, now, while the importing thread is the only one that
  // calls kernels (a fork while another thread initializes one would leave it half-done in the
  // child; thread_pool.cpp's fork handler covers later cases).
  (void)cpu::active_isa();
  (void)cpu::cache_sizes();
  (void)cpu::gemm_tuning();

  m.def("isa", [] { return std::string(cpu::isa_name(cpu::active_isa())); },
        "The instruction set the CPU kernels use now.");
  m.def("best_isa", [] { return std::string(cpu::isa_name(cpu::best_supported_isa())); },
        "The highest instruction set this processor and OS support.");
  m.def("set_isa", [](const std::string& name) { cpu::set_isa(cpu::parse_isa(name)); },
        "Force a lower instruction set (clamped to what the machine supports).");
  m.def("num_threads", &cpu::num_threads, "Threads of the kernels' pool (the caller included).");
  m.def("set_num_threads", &cpu::set_num_threads, "Set the pool's thread count (>= 1).");
  m.def("pool_workers_started", &cpu::pool_workers_started,
        "Worker threads the pool has started in this process (0 in a forked child before its first parallel call).");
  m.def(
      "pool_check_jobs",
      [](int64_t jobs, int nt) {
        // Back-to-back parallel jobs whose task counts change from job to job (1, 2, 3 ... 64), on
        // nt threads: each job's tasks count their runs, and any index run twice, never, or outside
        // its job is a failure. Returns the failures (0 when the pool hands out every task once).
        if (jobs < 0 || nt < 1)
          throw std::invalid_argument("pool_check_jobs: jobs must be >= 0 and threads >= 1, got jobs=" +
                                      std::to_string(jobs) + ", threads=" + std::to_string(nt));
        int64_t failures = 0;
        std::vector<std::atomic<int>> runs(64);
        py::gil_scoped_release release;
        for (int64_t j = 0; j < jobs; ++j) {
          const int64_t n = 1 + (j * 7) % 64;
          for (int64_t i = 0; i < n; ++i) runs[size_t(i)].store(0, std::memory_order_relaxed);
          std::atomic<int64_t> outside{0};
          cpu::parallel_tasks(n, nt, [&](int64_t i) {
            if (i < 0 || i >= n) outside.fetch_add(1);
            else runs[size_t(i)].fetch_add(1, std::memory_order_relaxed);
          });
          failures += outside.load();
          for (int64_t i = 0; i < n; ++i) failures += runs[size_t(i)].load() != 1;
        }
        return failures;
      },
      py::arg("jobs"), py::arg("threads"),
      "Self-check of the thread pool: run `jobs` parallel jobs of varying sizes; returns the number of tasks run "
      "other than once (0 when correct).");
  m.def("cache_sizes", [] {
    const auto& c = cpu::cache_sizes();
    py::dict d;
    d["l1d"] = c.l1d;
    d["l2"] = c.l2;
    d["l3"] = c.l3;
    return d;
  });
  m.def("detected_cache_sizes", [] {
    const auto c = cpu::detected_cache_sizes();
    py::dict d;
    d["l1d"] = c.l1d;
    d["l2"] = c.l2;
    d["l3"] = c.l3;
    return d;
  }, "The cache sizes the machine reports (sysfs, else cpuid through glibc), clamped to real ranges.");
  m.def("set_cache_sizes", [](int64_t l1d, int64_t l2, int64_t l3) { cpu::set_cache_sizes({l1d, l2, l3}); },
        py::arg("l1d"), py::arg("l2"), py::arg("l3"),
        "Block the kernels for this geometry instead (bytes; call only while no kernel runs).");
  m.def("cpu_model", &cpu::cpu_model, "The processor's brand string, family, model and stepping (cpuid).");

  // ---- GEMM tuning (dlcore/tune.py) ----
  m.def("gemm_variants", [](const std::string& isa_name) {
    const cpu::Isa isa = cpu::parse_isa(isa_name);
    py::list names;
    for (int i = 0; i < cpu::gemm_ukr_f32_variants(isa); ++i) names.append(cpu::gemm_ukr_f32_variant(isa, i).name);
    return names;
  }, py::arg("isa"), "Names of an ISA's float32 GEMM microkernels, the default first.");
  m.def("gemm_tuning", [] {
    const cpu::GemmTuning& t = cpu::gemm_tuning();
    py::dict d, ukr;
    for (cpu::Isa isa : {cpu::Isa::generic, cpu::Isa::avx2, cpu::Isa::avx512})
      ukr[cpu::isa_name(isa)] = t.ukr_f32[int(isa)];
    d["ukr_f32"] = ukr;
    d["kc"] = t.kc;
    d["a_block_l2_div"] = t.a_block_l2_div;
    return d;
  }, "The GEMM's tuned choices: float32 microkernel per ISA (an index into gemm_variants), KC, A block share of L2.");
  m.def("set_gemm_tuning", [](const py::dict& ukr, int64_t kc, int a_block_l2_div) {
    cpu::GemmTuning t = cpu::gemm_tuning();
    for (auto item : ukr) t.ukr_f32[int(cpu::parse_isa(py::cast<std::string>(item.first)))] = py::cast<int>(item.second);
    t.kc = kc;
    t.a_block_l2_div = a_block_l2_div;
    cpu::set_gemm_tuning(t);
  }, py::arg("ukr_f32"), py::arg("kc"), py::arg("a_block_l2_div"),
        "Set the GEMM's tuned choices (call only while no kernel runs).");
  m.def("gemm_plan", [](int64_t m_, int64_t n, int64_t k, bool trans_a, bool trans_b, const std::string& dtype,
                        int max_threads) {
    // Contiguous operands: op(A) m x k and op(B) k x n, stored transposed when asked.
    const int64_t rs_a = trans_a ? 1 : k, cs_a = trans_a ? m_ : 1, rs_b = trans_b ? 1 : n, cs_b = trans_b ? k : 1;
    const cpu::GemmPlan p = dtype == "float64"
                                ? cpu::gemm_plan<double>(m_, n, k, rs_a, cs_a, rs_b, cs_b, max_threads)
                                : cpu::gemm_plan<float>(m_, n, k, rs_a, cs_a, rs_b, cs_b, max_threads);
    py::dict d;
    d["driver"] = p.driver;
    d["kernel"] = p.kernel;
    d["mr"] = p.mr;
    d["nr"] = p.nr;
    d["nr_edge"] = p.nr_edge;
    d["edge_dot"] = p.edge_dot;
    d["threads"] = p.threads;
    d["kc"] = p.kc;
    d["mc"] = p.mc;
    d["nc"] = p.nc;
    return d;
  }, py::arg("m"), py::arg("n"), py::arg("k"), py::arg("trans_a") = false, py::arg("trans_b") = false,
        py::arg("dtype") = "float32", py::arg("max_threads") = 0,
        "How gemm would run this problem on contiguous operands: driver, microkernel, blocking, threads.");
  m.def("measure_gemm_gflops", [](int64_t m_, int64_t n, int64_t k, int reps, int threads) {
    const char* what = "measure_gemm_gflops: (m, n, k)";
    py_util::require(m_ > 0 && n > 0 && k > 0 && reps >= 1 && threads >= 1 &&
                         checked::mul(m_, k, what) <= (int64_t(1) << 28) &&
                         checked::mul(k, n, what) <= (int64_t(1) << 28) && checked::mul(m_, n, what) <= (int64_t(1) << 28),
                     "measure_gemm_gflops: sizes, reps and threads must be positive, each operand at most 2^28 elements");
    py::gil_scoped_release nogil;
    return cpu::measure_gemm_gflops(m_, n, k, reps, threads);
  }, py::arg("m"), py::arg("n"), py::arg("k"), py::arg("reps") = 3, py::arg("threads") = 1,
        "Best float32 GEMM rate (GFLOP/s) of `reps` calls on operands of its own, with the current tuning.");
  m.def("measure_ukr_gflops", [](int variant, double seconds) {
    py::gil_scoped_release nogil;
    return cpu::measure_ukr_gflops(variant, seconds);
  }, py::arg("variant"), py::arg("seconds") = 0.05,
        "Rate (GFLOP/s) of one float32 microkernel variant of the active ISA alone, one thread, in cache.");
  m.def("measure_peak_gflops", [](double seconds) {
    py::gil_scoped_release nogil;
    return cpu::measure_peak_gflops(seconds);
  }, py::arg("seconds") = 0.5, "Measured float32 FMA peak (GFLOP/s) of the active ISA on all pool threads.");
  m.def("measure_copy_gbps", [](int64_t bytes, int reps) {
    py::gil_scoped_release nogil;
    return cpu::measure_copy_gbps(bytes, reps);
  }, py::arg("bytes") = int64_t(256) << 20, py::arg("reps") = 5,
        "Measured copy bandwidth (GB/s, bytes read + written) on all pool threads.");
}

}  // namespace dlcore
