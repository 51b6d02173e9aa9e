"""dlcore: a small deep-learning library with hand-written C++ and CUDA kernels."""
try:
    from . import _C  # noqa: F401  (the compiled CPU kernels)
except ImportError as _e:  # most often: importing the source checkout, which has no compiled _C
    raise ImportError(
        "dlcore's compiled CPU kernels (dlcore._C) were not found next to " + __file__ + ". Install the "
        "package (pip install .) and run from outside the source checkout, or use an editable install "
        "(pip install -e .)") from _e
from . import kernels
from ._system import cpu_isa, get_num_threads, set_cpu_isa, set_num_threads, supported_isas

# tensors, autograd and the framework on top of the kernels
from . import cuda
from ._random import manual_seed
from .tensor import (Parameter, Tensor, arange, concatenate, enable_grad, from_dlpack, full, is_grad_enabled,
                     no_grad, ones, ones_like, rand, randn, stack, tensor, zeros, zeros_like)
from .autograd import grad, inference_mode, set_grad_enabled
from .tensor_functions import (argmax, argmin, clamp, clip, cumsum, einsum, eq, equal, ge, greater, greater_equal, gt,
                               le, less, less_equal, logical_and, logical_not, logical_or, lt, maximum, minimum, ne,
                               not_equal, std, var, where)
from .tensor_functions_rearrange import (argsort, broadcast_to, chunk, flip, gather, index_select, pad,
                                         repeat_interleave, sort, split, take, take_along_axis, tile, topk)
from . import autograd, functional, testing
from . import activations, initializers, regularizers
from .module import Module
from . import layers
from . import losses, metrics, optimizers, schedules
from . import optim

# Keras-style models and training
from . import callbacks, data, datasets, utils
from . import models
from . import distributed
from ._version import __version__
from .models import Input, Model, Sequential

# Keras's and PyTorch's namespaces: keras.ops, keras.backend, keras.preprocessing, torch.nn
from . import backend, nn, ops, preprocessing
from .layers import Layer  # keras.Layer, keras.Loss, keras.Metric, keras.Optimizer, keras.KerasTensor
from .losses import Loss
from .metrics import Metric
from .models import KerasTensor
from .optimizers import Optimizer

__all__ = ["kernels", "set_num_threads", "get_num_threads", "cpu_isa", "set_cpu_isa", "supported_isas",
           "__version__",
           "tensor", "Tensor", "Parameter", "zeros", "ones", "full", "randn", "rand", "arange", "zeros_like",
           "ones_like", "no_grad", "enable_grad", "is_grad_enabled", "manual_seed", "from_dlpack", "concatenate",
           "stack", "cuda", "functional", "testing",
           "activations", "initializers", "regularizers", "Module", "layers", "losses",
           "metrics", "optimizers", "schedules", "optim"]
__all__ += ["Sequential", "Model", "Input", "models", "callbacks", "data", "datasets", "utils"]
__all__ += ["distributed"]
__all__ += ["autograd", "grad", "set_grad_enabled", "inference_mode", "where", "maximum", "minimum", "clamp", "clip",
            "eq", "ne", "lt", "le", "gt", "ge", "equal", "not_equal", "less", "less_equal", "greater", "greater_equal",
            "logical_and", "logical_or", "logical_not", "var", "std", "cumsum", "argmax", "argmin", "split", "chunk",
            "tile", "repeat_interleave", "flip", "gather", "take_along_axis", "index_select", "take", "sort", "argsort",
            "topk", "broadcast_to", "einsum", "pad"]
__all__ += ["ops", "nn", "backend", "preprocessing", "Layer", "Loss", "Metric", "Optimizer", "KerasTensor"]
