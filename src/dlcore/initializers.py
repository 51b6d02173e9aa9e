"""Weight initializers with Keras names and defaults; all draw from dlcore's one generator.

`dl.initializers.get("glorot_uniform")` -> an Initializer; calling it with a shape (and dtype)
returns a NumPy array. Fan-in / fan-out follow Keras: for a Dense kernel (in, out), fan_in = in,
fan_out = out; for a conv kernel (kh, kw, c_in, c_out), fan_in = kh*kw*c_in, fan_out = kh*kw*c_out.
"""
from __future__ import annotations

import math

import numpy as np

from ._random import generator
from .utils import Configurable


def _fans(shape):
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = int(np.prod(shape[:-2]))
    return shape[-2] * receptive, shape[-1] * receptive


class Initializer(Configurable):
    """Base class: __call__(shape, dtype='float32') -> array; get_config() -> dict of arguments."""

    def __call__(self, shape, dtype="float32"):
        return self.sample(tuple(int(s) for s in shape)).astype(dtype)

    def sample(self, shape):  # pragma: no cover - interface
        raise NotImplementedError


class Zeros(Initializer):
    def sample(self, shape):
        return np.zeros(shape)


class Ones(Initializer):
    def sample(self, shape):
        return np.ones(shape)


class Constant(Initializer):
    def __init__(self, value=0.0):
        self.value = float(value)

    def sample(self, shape):
        return np.full(shape, self.value)


class RandomNormal(Initializer):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def sample(self, shape):
        return self.mean + self.stddev * _rng(self.seed).standard_normal(shape)


class RandomUniform(Initializer):
    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval, self.maxval, self.seed = minval, maxval, seed

    def sample(self, shape):
        return _rng(self.seed).uniform(self.minval, self.maxval, shape)


class TruncatedNormal(Initializer):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def sample(self, shape):
        return self.mean + self.stddev * _truncated(_rng(self.seed), shape)


class VarianceScaling(Initializer):
    """Keras's VarianceScaling: std = sqrt(scale / n), n = fan_in, fan_out or their mean."""

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None):
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"VarianceScaling: mode must be 'fan_in', 'fan_out' or 'fan_avg', got {mode!r}")
        if distribution not in ("truncated_normal", "untruncated_normal", "uniform", "normal"):
            raise ValueError(f"VarianceScaling: unknown distribution {distribution!r}")
        self.scale, self.mode, self.distribution, self.seed = scale, mode, distribution, seed

    def sample(self, shape):
        fan_in, fan_out = _fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        var = self.scale / max(1.0, n)
        rng = _rng(self.seed)
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * var)
            return rng.uniform(-limit, limit, shape)
        if self.distribution in ("untruncated_normal", "normal"):
            return math.sqrt(var) * rng.standard_normal(shape)
        return math.sqrt(var) / 0.87962566103423978 * _truncated(rng, shape)


class GlorotUniform(VarianceScaling):
    def __init__(self, seed=None):
        super().__init__(1.0, "fan_avg", "uniform", seed)

    def get_config(self):
        return {"seed": self.seed}


class GlorotNormal(VarianceScaling):
    def __init__(self, seed=None):
        super().__init__(1.0, "fan_avg", "truncated_normal", seed)

    def get_config(self):
        return {"seed": self.seed}


class HeNormal(VarianceScaling):
    def __init__(self, seed=None):
        super().__init__(2.0, "fan_in", "truncated_normal", seed)

    def get_config(self):
        return {"seed": self.seed}


class HeUniform(VarianceScaling):
    def __init__(self, seed=None):
        super().__init__(2.0, "fan_in", "uniform", seed)

    def get_config(self):
        return {"seed": self.seed}


class LecunNormal(VarianceScaling):
    def __init__(self, seed=None):
        super().__init__(1.0, "fan_in", "truncated_normal", seed)

    def get_config(self):
        return {"seed": self.seed}


class LecunUniform(VarianceScaling):
    def __init__(self, seed=None):
        super().__init__(1.0, "fan_in", "uniform", seed)

    def get_config(self):
        return {"seed": self.seed}


class Orthogonal(Initializer):
    """A (semi-)orthogonal matrix from the QR decomposition of a Gaussian one (recurrent kernels)."""

    def __init__(self, gain=1.0, seed=None):
        self.gain, self.seed = gain, seed

    def sample(self, shape):
        rows = int(np.prod(shape[:-1])) if len(shape) > 1 else 1
        cols = shape[-1]
        a = _rng(self.seed).standard_normal((max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        q *= np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return np.ascontiguousarray(self.gain * q[:rows, :cols]).reshape(shape)


def _rng(seed):
    return generator() if seed is None else np.random.default_rng(seed)


def _truncated(rng, shape):
    """Standard normal samples redrawn until within two standard deviations."""
    out = rng.standard_normal(shape)
    bad = np.abs(out) > 2
    while bad.any():
        out[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(out) > 2
    return out


ALL = {
    "zeros": Zeros, "ones": Ones, "constant": Constant, "random_normal": RandomNormal,
    "random_uniform": RandomUniform, "truncated_normal": TruncatedNormal, "variance_scaling": VarianceScaling,
    "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal, "he_normal": HeNormal,
    "he_uniform": HeUniform, "lecun_normal": LecunNormal, "lecun_uniform": LecunUniform,
    "orthogonal": Orthogonal, "uniform": RandomUniform, "normal": RandomNormal,
}
_CLASS_NAMES = {cls.__name__: cls for cls in ALL.values()}

# lower-case function-style aliases, as in keras.initializers
zeros, ones, glorot_uniform, glorot_normal = Zeros, Ones, GlorotUniform, GlorotNormal
he_normal, he_uniform, lecun_normal, orthogonal = HeNormal, HeUniform, LecunNormal, Orthogonal


def get(identifier):
    """An Initializer from a Keras name ("glorot_uniform"), a class name, a config dict or a callable."""
    if isinstance(identifier, Initializer):
        return identifier
    if isinstance(identifier, str):
        cls = ALL.get(identifier.lower()) or _CLASS_NAMES.get(identifier)
        if cls is None:
            raise ValueError(f"unknown initializer {identifier!r}; expected one of {sorted(ALL)}")
        return cls()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, type) and issubclass(identifier, Initializer):
        return identifier()
    if callable(identifier):
        return identifier
    raise TypeError(f"initializer must be a name, an Initializer or a callable, got {type(identifier).__name__}")


def serialize(init):
    """{'class_name': ..., 'config': {...}} (JSON-able) for get_config."""
    if isinstance(init, Initializer):
        return {"class_name": type(init).__name__, "config": init.get_config()}
    return getattr(init, "__name__", str(init))


def deserialize(config):
    if isinstance(config, str):
        return get(config)
    if not isinstance(config.get("class_name"), str):
        raise ValueError(f"an initializer config must be {{'class_name': ..., 'config': {{...}}}}, got {config!r:.80}")
    cls = _CLASS_NAMES.get(config["class_name"]) or ALL.get(config["class_name"])
    if cls is None:
        raise ValueError(f"unknown initializer class {config['class_name']!r}")
    return cls.from_config(config.get("config", {}))
