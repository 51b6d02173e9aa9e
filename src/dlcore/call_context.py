"""What a layer call knows besides its arguments: the training flag of the outermost call, and masks.

Training mode (Keras 3's CallContext, beside PyTorch's train() / eval()):

    model(x)                     inference, unless the model was put in train mode by .train()
    model(x, training=True)      training for every layer and model nested inside, whatever their mode
    model.train(); model(x)      training (a PyTorch-style loop); model.eval() goes back to inference

A call that is given `training=True/False` opens a context that every nested call without its own
`training=` inherits (`training_context`); a call that is given nothing reads the context, and
without one its module's mode (`Module.training`, False until `.train()`). `resolve_training` is
that rule, in one place. fit() / evaluate() / predict() open the context (True / False / False)
and leave every module's mode as it was.

Masks (Keras's `_keras_mask`): a Tensor cannot carry attributes, so the mask of a layer's output is
kept here, by the tensor's identity, for as long as the tensor lives (`set_mask` / `get_mask`).
Layers read the mask of their input from here and record the mask of their output (see
`dlcore.layers.base.Layer`); the compiled loss and metrics read the mask of the model's output.

This module imports nothing from dlcore: the graph, modules, layers and the trainer all use it.
"""
from __future__ import annotations

import contextlib
import threading
import weakref

__all__ = ["training_context", "current_training", "resolve_training", "set_mask", "get_mask"]

_STATE = threading.local()


@contextlib.contextmanager
def training_context(training):
    """Every layer call inside runs with `training` (True / False) unless it is given its own."""
    previous = getattr(_STATE, "training", None)
    _STATE.training = bool(training)
    try:
        yield
    finally:
        _STATE.training = previous


def current_training():
    """The training flag of the enclosing call (None outside any call given training=)."""
    return getattr(_STATE, "training", None)


def resolve_training(training, module_mode):
    """The rule: the call's own `training=`, else the enclosing call's, else the module's mode."""
    if training is not None:
        return bool(training)
    inherited = current_training()
    if inherited is not None:
        return inherited
    return bool(module_mode)


# --------------------------------------------------------------------------------------------
# Masks, by tensor identity
# --------------------------------------------------------------------------------------------

_MASKS: dict = {}


def _forget(key):
    _MASKS.pop(key, None)


def set_mask(tensor, mask):
    """Attach `mask` (a boolean array, or None to remove it) to `tensor` for its lifetime."""
    key = id(tensor)
    if mask is None:
        _MASKS.pop(key, None)
        return
    _MASKS[key] = (weakref.ref(tensor, lambda _ref, k=key: _forget(k)), mask)


def get_mask(tensor):
    """The mask attached to `tensor` by `set_mask`, or None."""
    entry = _MASKS.get(id(tensor))
    if entry is None or entry[0]() is not tensor:
        return None
    return entry[1]
