"""Learning-rate schedules (Keras's `keras.optimizers.schedules`), usable as any Keras-style
optimizer's `learning_rate`.

A schedule is called with the optimizer's step count (0 for the first update) and returns the
learning rate for that step. get_config()/from_config() make them saveable. For PyTorch-style
optimizers, `dl.optim.lr_scheduler` drives `param_groups[i]["lr"]` instead.
"""
from __future__ import annotations

import math

from .utils import Configurable

__all__ = ["LearningRateSchedule", "ExponentialDecay", "InverseTimeDecay", "PolynomialDecay", "CosineDecay",
           "CosineDecayRestarts", "PiecewiseConstantDecay", "StepDecay", "serialize", "deserialize"]


def _positive(op, name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"{op}: {name} must be > 0, got {value!r}")
    return value


class LearningRateSchedule(Configurable):
    """Base class: subclasses define `__call__(step) -> learning rate` and keep their arguments as
    attributes (get_config returns them).

    Example:

    ```python
    import dlcore as dl

    class Halving(dl.optimizers.schedules.LearningRateSchedule):
        def __init__(self, initial_learning_rate):
            self.initial_learning_rate = initial_learning_rate

        def __call__(self, step):
            return self.initial_learning_rate / 2 ** step

    opt = dl.optimizers.SGD(learning_rate=Halving(0.1))
    print(opt.learning_rate)            # 0.1 (step 0)
    ```
    """

    def __call__(self, step):  # pragma: no cover - interface
        raise NotImplementedError


class _RateDecay(LearningRateSchedule):
    """The arguments Keras's ExponentialDecay and InverseTimeDecay share, and their progress
    step / decay_steps (rounded down with staircase)."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name=None):
        _positive(type(self).__name__, "decay_steps", decay_steps)
        self.initial_learning_rate, self.decay_steps = float(initial_learning_rate), int(decay_steps)
        self.decay_rate, self.staircase = float(decay_rate), bool(staircase)
        self.name = name or type(self).__name__

    def _progress(self, step):
        p = step / self.decay_steps
        return math.floor(p) if self.staircase else p


class ExponentialDecay(_RateDecay):
    """initial_learning_rate * decay_rate ** (step / decay_steps) (integer division with staircase).

    Args:
        initial_learning_rate: the learning rate at step 0.
        decay_steps: steps over which the rate is multiplied by decay_rate (> 0).
        decay_rate: the factor per decay_steps.
        staircase: decay in discrete intervals (floor of step / decay_steps). Defaults to False.
        name: the schedule's name.

    Example:

    ```python
    import dlcore as dl

    s = dl.optimizers.schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    print(s(0), s(10), s(20))           # 0.1 0.05 0.025
    opt = dl.optimizers.Adam(learning_rate=s)
    ```
    """

    def __call__(self, step):
        return self.initial_learning_rate * self.decay_rate ** self._progress(step)


class InverseTimeDecay(_RateDecay):
    """initial_learning_rate / (1 + decay_rate * step / decay_steps) (integer division with staircase).

    Args:
        initial_learning_rate, decay_steps, decay_rate, staircase, name: as in `ExponentialDecay`.

    Example:

    ```python
    import dlcore as dl

    s = dl.optimizers.schedules.InverseTimeDecay(1.0, decay_steps=1, decay_rate=0.5)
    print(s(0), s(2))                   # 1.0 0.5
    ```
    """

    def __call__(self, step):
        return self.initial_learning_rate / (1 + self.decay_rate * self._progress(step))


class PolynomialDecay(LearningRateSchedule):
    """A polynomial decay from initial_learning_rate to end_learning_rate over decay_steps:

        (initial - end) * (1 - min(step, decay_steps) / decay_steps) ** power + end

    With cycle=True, decay_steps is stretched to the first multiple of itself at or above step
    (restarting the decay), as in Keras.

    Args:
        initial_learning_rate: the learning rate at step 0.
        decay_steps: the length of the decay (> 0).
        end_learning_rate: the final learning rate. Defaults to 0.0001.
        power: the power of the polynomial. Defaults to 1.0 (linear).
        cycle: restart after decay_steps. Defaults to False.
        name: the schedule's name.

    Example:

    ```python
    import dlcore as dl

    s = dl.optimizers.schedules.PolynomialDecay(1.0, decay_steps=10, end_learning_rate=0.0)
    print(s(0), s(5), s(20))            # 1.0 0.5 0.0
    ```
    """

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001, power=1.0, cycle=False,
                 name=None):
        _positive("PolynomialDecay", "decay_steps", decay_steps)
        self.initial_learning_rate, self.decay_steps = float(initial_learning_rate), int(decay_steps)
        self.end_learning_rate, self.power, self.cycle = float(end_learning_rate), float(power), bool(cycle)
        self.name = name or "PolynomialDecay"

    def __call__(self, step):
        decay_steps = float(self.decay_steps)
        if self.cycle:
            decay_steps *= 1.0 if step == 0 else math.ceil(step / self.decay_steps)
        else:
            step = min(step, decay_steps)
        p = step / decay_steps
        return (self.initial_learning_rate - self.end_learning_rate) * (1 - p) ** self.power + self.end_learning_rate


class CosineDecay(LearningRateSchedule):
    """Optional linear warmup to warmup_target, then cosine decay to alpha * the start over decay_steps.

        warmup (step < warmup_steps): initial + (warmup_target - initial) * step / warmup_steps
        decay: top * ((1 - alpha) * 0.5 * (1 + cos(pi * t)) + alpha),  t = min(step - warmup_steps,
               decay_steps) / decay_steps, top = warmup_target (or initial_learning_rate)

    Args:
        initial_learning_rate: the learning rate at step 0.
        decay_steps: the length of the cosine decay (> 0).
        alpha: the final rate as a fraction of the top rate. Defaults to 0.
        warmup_target: the rate the warmup reaches (None: no warmup). Defaults to None.
        warmup_steps: the length of the warmup. Defaults to 0.
        name: the schedule's name.

    Example:

    ```python
    import dlcore as dl

    s = dl.optimizers.schedules.CosineDecay(1.0, decay_steps=100)
    print(s(0), s(50), s(100))          # 1.0 0.5 0.0 (up to rounding)
    ```
    """

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, warmup_target=None, warmup_steps=0, name=None):
        _positive("CosineDecay", "decay_steps", decay_steps)
        self.initial_learning_rate, self.decay_steps, self.alpha = float(initial_learning_rate), int(decay_steps), alpha
        self.warmup_target, self.warmup_steps = warmup_target, int(warmup_steps)
        self.name = name or "CosineDecay"

    def __call__(self, step):
        start = self.initial_learning_rate
        if self.warmup_target is not None and step < self.warmup_steps:
            return start + (self.warmup_target - start) * step / self.warmup_steps
        top = self.warmup_target if self.warmup_target is not None else start
        t = min(max(step - self.warmup_steps, 0), self.decay_steps) / self.decay_steps
        cosine = 0.5 * (1 + math.cos(math.pi * t))
        return top * ((1 - self.alpha) * cosine + self.alpha)


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR): period i lasts first_decay_steps * t_mul**i steps
    and starts from initial_learning_rate * m_mul**i.

    Args:
        initial_learning_rate: the learning rate at step 0.
        first_decay_steps: the length of the first period (> 0).
        t_mul: the factor between successive periods' lengths. Defaults to 2.0.
        m_mul: the factor between successive periods' starting rates. Defaults to 1.0.
        alpha: the minimum rate as a fraction of initial_learning_rate. Defaults to 0.
        name: the schedule's name.

    Example:

    ```python
    import dlcore as dl

    s = dl.optimizers.schedules.CosineDecayRestarts(1.0, first_decay_steps=10, t_mul=1.0)
    print(s(0), s(5), s(10))            # 1.0 0.5 1.0 (up to rounding): restarted at step 10
    ```
    """

    def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0, alpha=0.0, name=None):
        _positive("CosineDecayRestarts", "first_decay_steps", first_decay_steps)
        _positive("CosineDecayRestarts", "t_mul", t_mul)
        self.initial_learning_rate, self.first_decay_steps = float(initial_learning_rate), int(first_decay_steps)
        self.t_mul, self.m_mul, self.alpha = float(t_mul), float(m_mul), float(alpha)
        self.name = name or "SGDRDecay"

    def __call__(self, step):
        fraction = step / self.first_decay_steps
        if self.t_mul == 1.0:
            i_restart = math.floor(fraction)
            fraction -= i_restart
        else:
            i_restart = math.floor(math.log(1.0 - fraction * (1.0 - self.t_mul)) / math.log(self.t_mul))
            sum_r = (1.0 - self.t_mul ** i_restart) / (1.0 - self.t_mul)
            fraction = (fraction - sum_r) / self.t_mul ** i_restart
        cosine = 0.5 * self.m_mul ** i_restart * (1.0 + math.cos(math.pi * fraction))
        return self.initial_learning_rate * ((1 - self.alpha) * cosine + self.alpha)


class StepDecay(LearningRateSchedule):
    """initial_learning_rate * gamma ** (step // step_size): PyTorch's StepLR as a Keras schedule
    (not a Keras name).

    Args:
        initial_learning_rate: the learning rate at step 0.
        step_size: the number of steps between decays (> 0).
        gamma: the factor per decay. Defaults to 0.1.

    Example:

    ```python
    import dlcore as dl

    s = dl.schedules.StepDecay(1.0, step_size=5, gamma=0.1)
    print(s(4), s(5))                   # 1.0 0.1
    ```
    """

    def __init__(self, initial_learning_rate, step_size, gamma=0.1):
        _positive("StepDecay", "step_size", step_size)
        self.initial_learning_rate, self.step_size, self.gamma = float(initial_learning_rate), int(step_size), gamma

    def __call__(self, step):
        return self.initial_learning_rate * self.gamma ** (step // self.step_size)


class PiecewiseConstantDecay(LearningRateSchedule):
    """values[i] while step <= boundaries[i] (values has one more entry than boundaries).

    Args:
        boundaries: increasing step counts.
        values: the learning rates: values[0] up to boundaries[0], ..., values[-1] after the last.
        name: the schedule's name.

    Example:

    ```python
    import dlcore as dl

    s = dl.optimizers.schedules.PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1])
    print(s(10), s(11), s(21))          # 1.0 0.5 0.1
    ```
    """

    def __init__(self, boundaries, values, name=None):
        if len(values) != len(boundaries) + 1:
            raise ValueError(f"PiecewiseConstantDecay: values must have len(boundaries) + 1 = {len(boundaries) + 1} "
                             f"entries, got {len(values)}")
        if list(boundaries) != sorted(boundaries):
            raise ValueError(f"PiecewiseConstantDecay: boundaries must be increasing, got {boundaries}")
        self.boundaries, self.values = list(boundaries), list(values)
        self.name = name or "PiecewiseConstant"

    def __call__(self, step):
        for b, v in zip(self.boundaries, self.values):
            if step <= b:
                return v
        return self.values[-1]


_ALL = {c.__name__: c for c in (ExponentialDecay, InverseTimeDecay, PolynomialDecay, CosineDecay, CosineDecayRestarts,
                                StepDecay, PiecewiseConstantDecay)}


def serialize(schedule):
    """{"class_name", "config"} of a schedule."""
    return {"class_name": type(schedule).__name__, "config": schedule.get_config()}


def deserialize(config):
    """The schedule a serialize() dict describes."""
    cls = _ALL.get(config["class_name"])
    if cls is None:
        raise ValueError(f"unknown learning-rate schedule {config['class_name']!r}")
    return cls.from_config(config["config"])
