"""Grad mode, per thread: `no_grad`, `enable_grad`, `inference_mode`, `set_grad_enabled`, `is_grad_enabled`.

The flag lives in a `threading.local`, so a `no_grad()` block in one thread (a data loader, an
evaluation thread) does not stop the graph recording of another, as in PyTorch. The engine
(`dlcore.autograd`) reads `_grad_mode.enabled` each time an op runs. This module imports nothing.
"""
from __future__ import annotations

import functools
import threading


class _GradMode(threading.local):
    enabled = True  # the class attribute is every new thread's starting value


_grad_mode = _GradMode()


class no_grad:
    """Context manager (and decorator) that turns graph recording off in the current thread.

    Other threads keep recording: grad mode is thread-local, as in PyTorch.

    Example:

    ```python
    import dlcore as dl

    w = dl.ones(3, requires_grad=True)
    with dl.no_grad():
        y = w * 2          # no graph, no saved arrays
    assert not y.requires_grad
    ```
    """

    __slots__ = ("_prev",)

    def __new__(cls, func=None):
        self = super().__new__(cls)
        return self(func) if func is not None else self  # bare @dl.no_grad decorator

    def __init__(self, func=None):
        pass

    def __enter__(self):
        self._prev = _grad_mode.enabled
        _grad_mode.enabled = False
        return self

    def __exit__(self, *exc):
        _grad_mode.enabled = self._prev
        return False

    def __call__(self, func):
        cls = type(self)

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with cls():
                return func(*args, **kwargs)
        return wrapper


class enable_grad(no_grad):
    """Context manager (and decorator) that turns graph recording back on (inside a no_grad block)."""

    __slots__ = ()

    def __enter__(self):
        self._prev = _grad_mode.enabled
        _grad_mode.enabled = True
        return self


class inference_mode(no_grad):
    """`no_grad` under PyTorch's other name (context manager or decorator); `inference_mode(False)`
    leaves grad mode as it is.

    Example:

    ```python
    import dlcore as dl

    w = dl.ones(2, requires_grad=True)
    with dl.inference_mode():
        assert not (w * 2).requires_grad
    ```
    """

    __slots__ = ("_mode",)

    def __new__(cls, mode=True):
        self = object.__new__(cls)
        if callable(mode):  # bare @dl.inference_mode decorator
            self._mode = True
            return self(mode)
        return self

    def __init__(self, mode=True):
        self._mode = True if callable(mode) else bool(mode)

    def __enter__(self):
        self._prev = _grad_mode.enabled
        if self._mode:
            _grad_mode.enabled = False
        return self

    def __call__(self, func):
        mode = self._mode

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with inference_mode(mode):
                return func(*args, **kwargs)
        return wrapper


class set_grad_enabled:
    """Set grad mode for the current thread: as a call it takes effect at once; as a context manager
    (or decorator) the previous mode comes back on exit.

    Example:

    ```python
    import dlcore as dl

    with dl.set_grad_enabled(False):
        assert not dl.is_grad_enabled()
    assert dl.is_grad_enabled()
    ```
    """

    __slots__ = ("_prev", "_mode")

    def __init__(self, mode):
        if not isinstance(mode, bool):
            raise TypeError(f"set_grad_enabled: 'mode' must be a bool, got {type(mode).__name__}")
        self._prev = _grad_mode.enabled
        self._mode = mode
        _grad_mode.enabled = mode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _grad_mode.enabled = self._prev
        return False

    def __call__(self, func):
        _grad_mode.enabled = self._prev  # used as a decorator: the mode applies inside func only
        mode = self._mode

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return func(*args, **kwargs)
        return wrapper


def is_grad_enabled() -> bool:
    """Whether graph recording is on in the current thread."""
    return _grad_mode.enabled
