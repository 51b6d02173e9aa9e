"""dlcore.kernels: the raw kernels on arrays.

NumPy arrays in, NumPy arrays out (the C++ kernels of dlcore._C); CuPy arrays in, CuPy arrays out
(dlcore's CUDA kernels in dlcore._cuda, or the CuPy fallback where those were not built). One module
per kernel family, named like its C++ files: gemm, conv2d (also conv1d), depthwise_conv2d, pool2d,
upsample2d, activation, loss, optim, rnn. Every function validates its arguments once, for every
backend alike, and raises TypeError/ValueError naming the kernel and the shapes before any kernel
runs; then one `if` picks the backend (see backend.py; the fallback is the package fallback/). This
is the layer that tests/ compares with the float64 references and bench/ times. docs/kernel_api.md
is the contract.
"""
from . import backend
from .activation import *  # noqa: F401,F403
from .activation import __all__ as _activation_all
from .backend import set_tf32, tf32_enabled
from .conv2d import *  # noqa: F401,F403
from .conv2d import __all__ as _conv2d_all
from .gemm import *  # noqa: F401,F403
from .gemm import __all__ as _gemm_all
from .loss import *  # noqa: F401,F403
from .loss import __all__ as _loss_all
from .optim import *  # noqa: F401,F403
from .optim import __all__ as _optim_all
from .pool2d import *  # noqa: F401,F403
from .pool2d import __all__ as _pool2d_all
from .rnn import *  # noqa: F401,F403
from .rnn import __all__ as _rnn_all
from .upsample2d import *  # noqa: F401,F403
from .upsample2d import __all__ as _upsample2d_all
from .depthwise_conv2d import *  # noqa: F401,F403
from .depthwise_conv2d import __all__ as _depthwise_conv2d_all

__all__ = ["backend", "set_tf32", "tf32_enabled"]
__all__ += _gemm_all + _conv2d_all + _pool2d_all + _activation_all + _loss_all + _optim_all + _rnn_all
__all__ += _upsample2d_all + _depthwise_conv2d_all
