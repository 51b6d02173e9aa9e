"""The primitive ops: Functions on arrays, each one class with `forward` and `backward` side by side.

An op never sees a Tensor: `forward` takes arrays (NumPy or CuPy) and configuration, `backward` the
gradient of its output(s); the engine in `dlcore.autograd` records and runs them, and the Tensor
methods (`dlcore.tensor`) and `dlcore.functional` apply them. Files by family:

    math.py        Add Sub Mul Div Neg PowScalar Pow MatMul Exp Log Sqrt Abs Clip Cast
    shape.py       GetItem Reshape Transpose Concatenate Stack
    reduce.py      Sum Mean Max (max and min)
    activation.py  Relu Sigmoid Tanh LeakyRelu Elu Gelu Softplus Silu Softmax LogSoftmax

The other families (linear, conv, pooling, recurrent, normalization, dropout, embedding, losses)
keep their Functions beside their argument checks in `dlcore.functional`.
"""
from ._helpers import get_array_module
from .activation import Elu, Gelu, LeakyRelu, LogSoftmax, Relu, Sigmoid, Silu, Softmax, Softplus, Tanh
from .math import Abs, Add, Cast, Clip, Div, Exp, Log, MatMul, Mul, Neg, Pow, PowScalar, Sqrt, Sub
from .reduce import Max, Mean, Sum
from .shape import Concatenate, GetItem, Reshape, Stack, Transpose

__all__ = ["get_array_module", "Add", "Sub", "Mul", "Div", "Neg", "PowScalar", "Pow", "MatMul", "Exp", "Log", "Sqrt",
           "Abs", "Clip", "Cast", "GetItem", "Reshape", "Transpose", "Concatenate", "Stack", "Sum", "Mean", "Max",
           "Relu", "Sigmoid", "Tanh", "LeakyRelu", "Elu", "Gelu", "Softplus", "Silu", "Softmax", "LogSoftmax"]
