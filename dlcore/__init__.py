"""dlcore: a small deep-learning library with hand-written C++ and CUDA kernels."""
from . import _C  # noqa: F401  (the compiled CPU kernels)
from . import kernels
from ._system import cpu_isa, get_num_threads, set_cpu_isa, set_num_threads, supported_isas

__version__ = "0.1.0"

__all__ = ["kernels", "set_num_threads", "get_num_threads", "cpu_isa", "set_cpu_isa", "supported_isas",
           "__version__"]
