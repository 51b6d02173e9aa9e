"""dlcore.kernels: the raw kernels on arrays.

NumPy arrays in, NumPy arrays out (CPU, the C++ kernels in dlcore._C). Every function validates its
arguments once and raises TypeError/ValueError naming the kernel and the shapes before any
kernel runs. This is the layer that tests/ compares with the float64 references and bench/ times.
"""
from .gemm import GEMM_ACTIVATIONS, gemm
from .conv import (CONV_ACTIVATIONS, conv1d_backward_bias, conv1d_backward_data, conv1d_backward_filter,
                   conv1d_forward, conv1d_output_shape, conv2d_backward_bias, conv2d_backward_data,
                   conv2d_backward_filter, conv2d_forward, conv2d_output_shape)
from .pool import (avg_pool2d_backward, avg_pool2d_forward, global_avg_pool2d_backward, global_avg_pool2d_forward,
                   max_pool2d_backward, max_pool2d_forward, pool2d_output_shape)

__all__ = ["gemm", "GEMM_ACTIVATIONS"]
__all__ += ["CONV_ACTIVATIONS", "conv2d_output_shape", "conv2d_forward", "conv2d_backward_data",
            "conv2d_backward_filter", "conv2d_backward_bias", "conv1d_output_shape", "conv1d_forward",
            "conv1d_backward_data", "conv1d_backward_filter", "conv1d_backward_bias"]
__all__ += ["pool2d_output_shape", "max_pool2d_forward", "max_pool2d_backward", "avg_pool2d_forward",
            "avg_pool2d_backward", "global_avg_pool2d_forward", "global_avg_pool2d_backward"]
from . import activation, loss, optim
from .activation import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .optim import *  # noqa: F401,F403

__all__ += activation.__all__ + loss.__all__ + optim.__all__
from .rnn import (gru_backward, gru_forward, lstm_backward, lstm_cell_backward, lstm_cell_forward,  # noqa: E402
                  lstm_forward, simple_rnn_backward, simple_rnn_forward)

__all__ += ["lstm_forward", "lstm_backward", "lstm_cell_forward", "lstm_cell_backward",
            "gru_forward", "gru_backward", "simple_rnn_forward", "simple_rnn_backward"]


# ---- GPU routing ---------------------------------------------------------------------------------
# Every public kernel that has a GPU version (dlcore/kernels/_gpu/) is wrapped once here: when its
# first array argument is a CuPy array the call goes to _dispatch.gpu_function(name) (dlcore._cuda,
# or the CuPy fallback); NumPy calls pay one type check and go to the CPU kernel unchanged.
def _routed(name, cpu_kernel):
    import functools

    import numpy as _np

    from ._dispatch import gpu_function, is_gpu_array

    @functools.wraps(cpu_kernel)
    def kernel(*args, **kwargs):
        first = next((a for a in args if a is not None), None)
        if first is None:
            first = next((v for v in kwargs.values() if v is not None), None)
        if isinstance(first, (list, tuple)) and first:  # global_norm(arrays), scale_(arrays, f)
            first = first[0]
        if type(first) is not _np.ndarray and is_gpu_array(first):
            return gpu_function(name)(*args, **kwargs)
        return cpu_kernel(*args, **kwargs)

    return kernel


def _route_all():
    from ._dispatch import gpu_names

    namespace = globals()
    for _name in gpu_names():
        if _name in namespace and _name in __all__:
            namespace[_name] = _routed(_name, namespace[_name])


_route_all()
