"""What a layer call knows besides its arguments: the training flag of the outermost call, and masks.

Training mode (Keras 3's CallContext, beside PyTorch's train() / eval()):

    model(x)                     Keras model or layer: inference, unless put in train mode by .train()
    net(x)                       PyTorch-style Module subclass: training, unless put in eval mode
    model(x, training=True)      training for every layer and model nested inside, whatever their mode
    model.train(); model(x)      training (a PyTorch-style loop); model.eval() goes back to inference

A call that is given `training=True/False` opens a forced context that every nested call inherits,
whatever its module's mode; a call that is given nothing takes its module's mode (set by .train() /
.eval(), else inherited from the enclosing call, else the class's default) and passes it on to the
modules inside that have no mode of their own. `resolve_training` is that rule, in one place.
fit() / evaluate() / predict() open a forced context (True / False / False) and leave every
module's mode as it was.

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
def training_context(training, forced=True):
    """Every layer call inside runs with `training` (True / False) unless it is given its own.

    `forced` (a call given `training=`, fit / evaluate / predict): it wins over every nested module's
    own mode. Not forced (a call that took its module's mode): a nested module whose mode was set by
    `.train()` / `.eval()` keeps that mode; the others inherit it.
    """
    previous = getattr(_STATE, "training", None)
    _STATE.training = (bool(training), bool(forced))
    try:
        yield
    finally:
        _STATE.training = previous


def current_training():
    """(mode, forced) of the enclosing call, or None outside any call."""
    return getattr(_STATE, "training", None)


def resolve_training(training, own_mode, default_mode):
    """The rule, in one place.

    1. the call's own `training=`;
    2. else a forced mode of an enclosing call (`training=` given there, or fit / evaluate / predict);
    3. else the module's own mode, when `.train()` / `.eval()` set it;
    4. else the mode of the enclosing call;
    5. else the module's default: training for a PyTorch-style `Module` (as `torch.nn.Module`),
       inference for Keras layers and models (a Keras `model(x)` is inference).
    """
    if training is not None:
        return bool(training)
    inherited = current_training()
    if inherited is not None and inherited[1]:
        return inherited[0]
    if own_mode is not None:
        return bool(own_mode)
    if inherited is not None:
        return inherited[0]
    return bool(default_mode)


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
