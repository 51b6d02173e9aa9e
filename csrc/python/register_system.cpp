// dlcore._C system functions: instruction set, threads, caches, and the machine's measured limits.
#include "cpu/cpu.h"
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
  m.def("cache_sizes", [] {
    const auto& c = cpu::cache_sizes();
    py::dict d;
    d["l1d"] = c.l1d;
    d["l2"] = c.l2;
    d["l3"] = c.l3;
    return d;
  });
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
