"""dlcore.kernels: the raw kernels on arrays.

NumPy arrays in, NumPy arrays out (CPU, the C++ kernels in dlcore._C). Every function validates its
arguments once and raises TypeError/ValueError naming the kernel and the shapes before any
kernel runs. This is the layer that tests/ compares with the float64 references and bench/ times.
"""
from .gemm import GEMM_ACTIVATIONS, gemm
from . import activation, loss, optim
from .activation import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .optim import *  # noqa: F401,F403

__all__ = ["gemm", "GEMM_ACTIVATIONS"]
__all__ += activation.__all__ + loss.__all__ + optim.__all__
