"""The int codes the kernels take, read from the enums that dlcore._C exports.

The codes are written once, in csrc/common/codes.h (shared by the CPU and CUDA kernels), and exported
to Python as ``dlcore._C.Activation``, ``Epilogue``, ``Loss``, ``PointwiseLoss`` and ``Interpolation``. The kernel API's
tables below map its own names (Keras's spellings) onto those members; nothing here spells a number.
"""
from __future__ import annotations

from .. import _C


def _ints(enum) -> dict:
    return {name: int(member) for name, member in enum.__members__.items()}


_EPILOGUE = _ints(_C.Epilogue)
_ACTIVATION = _ints(_C.Activation)
_LOSS = _ints(_C.Loss)
_POINTWISE = _ints(_C.PointwiseLoss)
_INTERPOLATION = _ints(_C.Interpolation)

# The activation a GEMM or a convolution applies to its output in the same pass (GEMM_ACTIVATIONS,
# CONV_ACTIVATIONS): None and "linear" are the identity.
EPILOGUES = {None: _EPILOGUE["none"], "linear": _EPILOGUE["none"],
             **{name: code for name, code in _EPILOGUE.items() if name != "none"}}

# The elementwise activation kernels (activation_forward / activation_backward); the kernel API
# calls the exact GELU "gelu".
ACTIVATIONS = {("gelu" if name == "gelu_erf" else name): code for name, code in _ACTIVATION.items()}

# The loss kernels, by kernel-API name: the CPU kernels (loss_dense / loss_sparse) and the CUDA
# kernel (pointwise_loss), which divide the losses differently.
CPU_LOSSES = {
    "softmax_cross_entropy": _LOSS["softmax_xent_dense"],
    "categorical_cross_entropy": _LOSS["categorical_xent"],
    "sparse_categorical_cross_entropy": _LOSS["categorical_xent"],
    "binary_cross_entropy": _LOSS["binary_xent"],
    "binary_cross_entropy_with_logits": _LOSS["binary_xent_logits"],
    "mean_squared_error": _LOSS["mse"],
    "mean_absolute_error": _LOSS["mae"],
}
CUDA_LOSSES = {
    "mean_squared_error": _POINTWISE["mse"],
    "mean_absolute_error": _POINTWISE["mae"],
    "binary_cross_entropy": _POINTWISE["binary_xent"],
    "binary_cross_entropy_with_logits": _POINTWISE["binary_xent_logits"],
    "categorical_cross_entropy": _POINTWISE["categorical_xent"],
    "sparse_categorical_cross_entropy": _POINTWISE["sparse_categorical_xent"],
}

# The upsampling interpolations (upsample2d_forward / upsample2d_backward), by Keras's names.
INTERPOLATIONS = dict(_INTERPOLATION)
