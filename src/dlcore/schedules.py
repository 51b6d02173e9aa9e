"""Learning-rate schedules (Keras names), usable as any optimizer's `learning_rate`.

A schedule is called with the optimizer's step count (0 for the first update) and returns the
learning rate for that step. get_config()/from_config() make them saveable.
"""
from __future__ import annotations

import math
from .utils import Configurable


class LearningRateSchedule(Configurable):
    def __call__(self, step):  # pragma: no cover - interface
        raise NotImplementedError


class _RateDecay(LearningRateSchedule):
    """The arguments Keras's ExponentialDecay and InverseTimeDecay share, and their progress
    step / decay_steps (rounded down with staircase)."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False):
        if decay_steps <= 0:
            raise ValueError(f"{type(self).__name__}: decay_steps must be > 0, got {decay_steps}")
        self.initial_learning_rate, self.decay_steps = float(initial_learning_rate), int(decay_steps)
        self.decay_rate, self.staircase = float(decay_rate), bool(staircase)

    def _progress(self, step):
        p = step / self.decay_steps
        return math.floor(p) if self.staircase else p


class ExponentialDecay(_RateDecay):
    """initial_learning_rate * decay_rate ** (step / decay_steps) (integer division with staircase)."""

    def __call__(self, step):
        return self.initial_learning_rate * self.decay_rate ** self._progress(step)


class InverseTimeDecay(_RateDecay):
    """initial_learning_rate / (1 + decay_rate * step / decay_steps) (integer division with staircase)."""

    def __call__(self, step):
        return self.initial_learning_rate / (1 + self.decay_rate * self._progress(step))


class CosineDecay(LearningRateSchedule):
    """Optional linear warmup to warmup_target, then cosine decay to alpha * the start over decay_steps."""

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, warmup_target=None, warmup_steps=0):
        if decay_steps <= 0:
            raise ValueError(f"CosineDecay: decay_steps must be > 0, got {decay_steps}")
        self.initial_learning_rate, self.decay_steps, self.alpha = float(initial_learning_rate), int(decay_steps), alpha
        self.warmup_target, self.warmup_steps = warmup_target, int(warmup_steps)

    def __call__(self, step):
        start = self.initial_learning_rate
        if self.warmup_target is not None and step < self.warmup_steps:
            return start + (self.warmup_target - start) * step / self.warmup_steps
        top = self.warmup_target if self.warmup_target is not None else start
        t = min(max(step - self.warmup_steps, 0), self.decay_steps) / self.decay_steps
        cosine = 0.5 * (1 + math.cos(math.pi * t))
        return top * ((1 - self.alpha) * cosine + self.alpha)


class StepDecay(LearningRateSchedule):
    """initial_learning_rate * gamma ** (step // step_size) (PyTorch's StepLR)."""

    def __init__(self, initial_learning_rate, step_size, gamma=0.1):
        if step_size <= 0:
            raise ValueError(f"StepDecay: step_size must be > 0, got {step_size}")
        self.initial_learning_rate, self.step_size, self.gamma = float(initial_learning_rate), int(step_size), gamma

    def __call__(self, step):
        return self.initial_learning_rate * self.gamma ** (step // self.step_size)


class PiecewiseConstantDecay(LearningRateSchedule):
    """values[i] while step <= boundaries[i] (values has one more entry than boundaries)."""

    def __init__(self, boundaries, values):
        if len(values) != len(boundaries) + 1:
            raise ValueError(f"PiecewiseConstantDecay: values must have len(boundaries) + 1 = {len(boundaries) + 1} "
                             f"entries, got {len(values)}")
        if list(boundaries) != sorted(boundaries):
            raise ValueError(f"PiecewiseConstantDecay: boundaries must be increasing, got {boundaries}")
        self.boundaries, self.values = list(boundaries), list(values)

    def __call__(self, step):
        for b, v in zip(self.boundaries, self.values):
            if step <= b:
                return v
        return self.values[-1]


_ALL = {c.__name__: c for c in (ExponentialDecay, InverseTimeDecay, CosineDecay, StepDecay, PiecewiseConstantDecay)}


def serialize(schedule):
    return {"class_name": type(schedule).__name__, "config": schedule.get_config()}


def deserialize(config):
    cls = _ALL.get(config["class_name"])
    if cls is None:
        raise ValueError(f"unknown learning-rate schedule {config['class_name']!r}")
    return cls.from_config(config["config"])
