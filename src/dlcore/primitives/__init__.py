"""The primitive ops: Functions on arrays, each one class with `forward` and `backward` side by side.

An op never sees a Tensor in `forward`/`backward`: `forward` takes arrays (NumPy or CuPy) and
configuration, `backward` the gradient of its output(s); `backward_graph` is the same rule written
with Tensor ops, for second derivatives. The engine in `dlcore.autograd` records and runs them, and
the Tensor methods (`dlcore.tensor`) and `dlcore.functional` apply them. Files by family:

    math.py        Add Sub Mul Div Neg PowScalar Pow MatMul Exp Log Sqrt Abs Clip Cast Where Maximum
    shape.py       GetItem ScatterAdd SetItem Reshape Transpose BroadcastTo Concatenate Split Stack Tile
                   Pad Clone
    reduce.py      Sum Mean Max (max and min) Cumsum
    einsum.py      Einsum (and `parse`, which makes its subscripts explicit)
    activation.py  Relu Sigmoid Tanh LeakyRelu Elu Gelu GeluGrad Softplus Silu Softmax LogSoftmax

The other families (linear, conv, pooling, recurrent, normalization, dropout, embedding, losses)
keep their Functions beside their argument checks in `dlcore.functional`.
"""
from ._helpers import get_array_module
from .activation import (Elu, Gelu, GeluGrad, LeakyRelu, LogSoftmax, Relu, Sigmoid, Silu, Softmax, Softplus,
                         Tanh)
from .einsum import Einsum
from .math import (Abs, Add, Cast, Clip, Div, Exp, Log, MatMul, Maximum, Mul, Neg, Pow, PowScalar, Sqrt, Sub,
                   Where)
from .reduce import Cumsum, Max, Mean, Sum
from .shape import (BroadcastTo, Clone, Concatenate, GetItem, Pad, Reshape, ScatterAdd, SetItem, Split, Stack,
                    Tile, Transpose)

__all__ = ["get_array_module", "Add", "Sub", "Mul", "Div", "Neg", "PowScalar", "Pow", "MatMul", "Exp", "Log", "Sqrt",
           "Abs", "Clip", "Cast", "Where", "Maximum", "GetItem", "ScatterAdd", "SetItem", "Reshape", "Transpose",
           "BroadcastTo", "Concatenate", "Split", "Stack", "Tile", "Pad", "Clone", "Sum", "Mean", "Max", "Cumsum",
           "Einsum", "Relu", "Sigmoid", "Tanh", "LeakyRelu", "Elu", "Gelu", "GeluGrad", "Softplus", "Silu", "Softmax",
           "LogSoftmax"]
