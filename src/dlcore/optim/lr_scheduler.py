"""PyTorch's `torch.optim.lr_scheduler`: schedulers that set `param_groups[i]["lr"]` of a
PyTorch-style optimizer, with torch's formulas (the chainable, recursive forms, so that a learning
rate changed by hand between steps is followed as torch follows it).

    opt = dl.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = dl.optim.lr_scheduler.StepLR(opt, step_size=30, gamma=0.1)
    for epoch in range(100):
        train(...)                 # opt.step() inside
        scheduler.step()

A scheduler steps once when it is made (epoch 0: the initial rates), then once per `step()`.
Keras-style optimizers take a schedule as their `learning_rate` instead
(`dl.optimizers.schedules`); a scheduler refuses them.
"""
from __future__ import annotations

import math
from bisect import bisect_right
from collections import Counter

from ..optimizers.base import Optimizer

__all__ = ["LRScheduler", "LambdaLR", "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "OneCycleLR",
           "ReduceLROnPlateau"]


def _check_optimizer(op, optimizer):
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{op}: {type(optimizer).__name__} is not a dlcore optimizer")
    if optimizer.api != "torch":
        raise TypeError(f"{op}: drives a PyTorch-style optimizer's param_groups; this {type(optimizer).__name__} was "
                        f"built with Keras's arguments: give it a dl.optimizers.schedules schedule as learning_rate, "
                        f"or build it PyTorch's way ({type(optimizer).__name__}(model.parameters(), lr=...))")


def _per_group(op, name, optimizer, value):
    if isinstance(value, (list, tuple)):
        if len(value) != len(optimizer.param_groups):
            raise ValueError(f"{op}: {name} must have one value per param group ({len(optimizer.param_groups)}), "
                             f"got {len(value)}")
        return list(value)
    return [value] * len(optimizer.param_groups)


class LRScheduler:
    """Base class: subclasses define `get_lr()` (the rates of step `last_epoch`, from the groups'
    current rates or from `base_lrs`).

    Args:
        optimizer: a PyTorch-style dlcore optimizer.
        last_epoch: the index of the last step when resuming (-1: start afresh, recording each
            group's rate as "initial_lr").

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    class Halving(dl.optim.lr_scheduler.LRScheduler):
        def get_lr(self):
            return [base / 2 ** self.last_epoch for base in self.base_lrs]

    opt = dl.optim.SGD([dl.Parameter(np.zeros(2))], lr=1.0)
    scheduler = Halving(opt)
    scheduler.step()
    print(scheduler.get_last_lr())     # [0.5]
    ```
    """

    def __init__(self, optimizer, last_epoch=-1):
        op = type(self).__name__
        _check_optimizer(op, optimizer)
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(f"{op}: param 'initial_lr' is not specified in param_groups[{i}] when resuming a "
                                   f"scheduler with last_epoch >= 0 (load the optimizer's state first)")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._step_count = 0
        self._is_initial = True
        self.step()
        self._is_initial = False

    def get_lr(self):  # pragma: no cover - interface
        raise NotImplementedError

    def step(self):
        """Advance one step (call it after optimizer.step()) and set every group's lr."""
        self._step_count += 1
        self.last_epoch += 1
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self):
        """The rates the last step() set, one per param group."""
        return list(self._last_lr)

    def state_dict(self):
        """Everything but the optimizer (as torch)."""
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict):
        self.__dict__.update(state_dict)

    def _group_lrs(self):
        return [group["lr"] for group in self.optimizer.param_groups]


class LambdaLR(LRScheduler):
    """lr = initial lr * lr_lambda(epoch), one function for all groups or one per group.

    Args:
        optimizer: a PyTorch-style dlcore optimizer.
        lr_lambda: a function of the step count, or a list of them (one per param group).
        last_epoch: see `LRScheduler`.

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    opt = dl.optim.Adam([dl.Parameter(np.zeros(2))], lr=0.1)
    warmup = dl.optim.lr_scheduler.LambdaLR(opt, lambda epoch: min(1.0, (epoch + 1) / 5))
    print(opt.param_groups[0]["lr"])   # 0.02 (about: the first of five warm-up steps)
    ```
    """

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        _check_optimizer("LambdaLR", optimizer)
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != len(optimizer.param_groups):
                raise ValueError(f"LambdaLR: expected {len(optimizer.param_groups)} lr_lambdas, got {len(lr_lambda)}")
            self.lr_lambdas = list(lr_lambda)
        else:
            self.lr_lambdas = [lr_lambda] * len(optimizer.param_groups)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [base * f(self.last_epoch) for f, base in zip(self.lr_lambdas, self.base_lrs)]

    def state_dict(self):
        """As torch: the functions themselves are not saved (only callable objects' attributes)."""
        state = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "lr_lambdas")}
        state["lr_lambdas"] = [None if type(f).__name__ == "function" else dict(vars(f)) for f in self.lr_lambdas]
        return state

    def load_state_dict(self, state_dict):
        state_dict = dict(state_dict)
        lambdas = state_dict.pop("lr_lambdas")
        self.__dict__.update(state_dict)
        for f, attrs in zip(self.lr_lambdas, lambdas):
            if attrs is not None:
                vars(f).update(attrs)


class StepLR(LRScheduler):
    """Multiply every group's lr by gamma every step_size steps.

    Args:
        optimizer: a PyTorch-style dlcore optimizer.
        step_size: the period of the decay, in steps.
        gamma: the factor. Defaults to 0.1.
        last_epoch: see `LRScheduler`.

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    opt = dl.optim.SGD([dl.Parameter(np.zeros(2))], lr=1.0)
    scheduler = dl.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    lrs = []
    for epoch in range(5):
        lrs.append(scheduler.get_last_lr()[0])
        scheduler.step()
    print(lrs)                          # [1.0, 1.0, 0.5, 0.5, 0.25]
    ```
    """

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        if isinstance(step_size, bool) or not isinstance(step_size, int) or step_size <= 0:
            raise ValueError(f"StepLR: step_size must be a positive int, got {step_size!r}")
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._group_lrs()
        return [lr * self.gamma for lr in self._group_lrs()]

    def _get_closed_form_lr(self):
        return [base * self.gamma ** (self.last_epoch // self.step_size) for base in self.base_lrs]


class MultiStepLR(LRScheduler):
    """Multiply every group's lr by gamma at each milestone (a milestone listed twice: gamma^2).

    Args:
        optimizer: a PyTorch-style dlcore optimizer.
        milestones: increasing step indices.
        gamma: the factor. Defaults to 0.1.
        last_epoch: see `LRScheduler`.

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    opt = dl.optim.SGD([dl.Parameter(np.zeros(2))], lr=1.0)
    scheduler = dl.optim.lr_scheduler.MultiStepLR(opt, milestones=[1, 3], gamma=0.1)
    for _ in range(3):
        scheduler.step()
    print(scheduler.get_last_lr())     # [0.01] (about)
    ```
    """

    def __init__(self, optimizer, milestones, gamma=0.1, last_epoch=-1):
        self.milestones, self.gamma = Counter(milestones), gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch not in self.milestones:
            return self._group_lrs()
        return [lr * self.gamma ** self.milestones[self.last_epoch] for lr in self._group_lrs()]

    def _get_closed_form_lr(self):
        milestones = sorted(self.milestones.elements())
        return [base * self.gamma ** bisect_right(milestones, self.last_epoch) for base in self.base_lrs]


class ExponentialLR(LRScheduler):
    """Multiply every group's lr by gamma every step.

    Args:
        optimizer: a PyTorch-style dlcore optimizer.
        gamma: the factor per step.
        last_epoch: see `LRScheduler`.

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    opt = dl.optim.SGD([dl.Parameter(np.zeros(2))], lr=1.0)
    scheduler = dl.optim.lr_scheduler.ExponentialLR(opt, gamma=0.5)
    scheduler.step()
    scheduler.step()
    print(scheduler.get_last_lr())     # [0.25]
    ```
    """

    def __init__(self, optimizer, gamma, last_epoch=-1):
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self._is_initial:
            return self._group_lrs()
        return [lr * self.gamma for lr in self._group_lrs()]

    def _get_closed_form_lr(self):
        return [base * self.gamma ** self.last_epoch for base in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """Cosine annealing from the initial lr to eta_min over T_max steps (then back up: the cosine
    continues, as in torch, which has no restarts here):

        lr_t = eta_min + (initial_lr - eta_min) * (1 + cos(pi * t / T_max)) / 2

    computed in torch's recursive form (each step from the previous group lr).

    Args:
        optimizer: a PyTorch-style dlcore optimizer.
        T_max: the half period, in steps.
        eta_min: the minimum rate. Defaults to 0.
        last_epoch: see `LRScheduler`.

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    opt = dl.optim.SGD([dl.Parameter(np.zeros(2))], lr=1.0)
    scheduler = dl.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=4)
    for _ in range(2):
        scheduler.step()
    print(scheduler.get_last_lr())     # [0.5] (about)
    ```
    """

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        if isinstance(T_max, bool) or not isinstance(T_max, int) or T_max <= 0:
            raise ValueError(f"CosineAnnealingLR: T_max must be a positive int, got {T_max!r}")
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        t, T, lo = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return self._group_lrs()
        if self._step_count == 1 and t > 0:
            return [lo + (base - lo) * (1 + math.cos(t * math.pi / T)) / 2 for base in self.base_lrs]
        if (t - 1 - T) % (2 * T) == 0:
            return [lr + (base - lo) * (1 - math.cos(math.pi / T)) / 2
                    for base, lr in zip(self.base_lrs, self._group_lrs())]
        return [(1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T)) * (lr - lo) + lo
                for lr in self._group_lrs()]

    def _get_closed_form_lr(self):
        return [self.eta_min + (base - self.eta_min) * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
                for base in self.base_lrs]


class OneCycleLR(LRScheduler):
    """The 1cycle policy: lr from max_lr / div_factor up to max_lr over pct_start of the steps, then
    down to initial_lr / final_div_factor (three_phase: back to the initial rate first), with the
    momentum (or Adam's beta1) cycled the opposite way between max_momentum and base_momentum.
    Step it after every batch.

    Args:
        optimizer: a PyTorch-style dlcore optimizer.
        max_lr: the peak rate (one per group or one for all).
        total_steps: the number of steps (or give epochs and steps_per_epoch).
        epochs, steps_per_epoch: total_steps = epochs * steps_per_epoch.
        pct_start: the fraction of the steps spent increasing the rate. Defaults to 0.3.
        anneal_strategy: "cos" or "linear". Defaults to "cos".
        cycle_momentum: cycle the momentum / beta1 too. Defaults to True.
        base_momentum, max_momentum: the momentum's range. Defaults to 0.85, 0.95.
        div_factor: initial_lr = max_lr / div_factor. Defaults to 25.
        final_div_factor: min_lr = initial_lr / final_div_factor. Defaults to 1e4.
        three_phase: use three phases (up, down to initial, down to min). Defaults to False.
        last_epoch: see `LRScheduler`.

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    opt = dl.optim.SGD([dl.Parameter(np.zeros(2))], lr=0.1, momentum=0.9)
    scheduler = dl.optim.lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=10)
    print(scheduler.get_last_lr(), opt.param_groups[0]["momentum"])   # [0.04] 0.95 (about)
    ```
    """

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None, pct_start=0.3,
                 anneal_strategy="cos", cycle_momentum=True, base_momentum=0.85, max_momentum=0.95, div_factor=25.0,
                 final_div_factor=1e4, three_phase=False, last_epoch=-1):
        op = "OneCycleLR"
        _check_optimizer(op, optimizer)

        def positive_int(name, v):
            if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
                raise ValueError(f"{op}: expected a positive integer {name}, got {v!r}")
            return v

        if total_steps is not None:
            self.total_steps = positive_int("total_steps", total_steps)
        elif epochs is not None and steps_per_epoch is not None:
            self.total_steps = positive_int("epochs", epochs) * positive_int("steps_per_epoch", steps_per_epoch)
        else:
            raise ValueError(f"{op}: give total_steps, or epochs and steps_per_epoch")
        if not isinstance(pct_start, float) or not 0 <= pct_start <= 1:
            raise ValueError(f"{op}: pct_start must be a float in [0, 1], got {pct_start!r}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"{op}: anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
        self.anneal_strategy = anneal_strategy
        n = self.total_steps
        if three_phase:
            self._phases = [(float(pct_start * n) - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                            (float(2 * pct_start * n) - 2, "max_lr", "initial_lr", "base_momentum", "max_momentum"),
                            (n - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum")]
        else:
            self._phases = [(float(pct_start * n) - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                            (n - 1, "max_lr", "min_lr", "base_momentum", "max_momentum")]
        max_lrs = _per_group(op, "max_lr", optimizer, max_lr)
        if last_epoch == -1:
            for m, group in zip(max_lrs, optimizer.param_groups):
                group["initial_lr"] = m / div_factor
                group["max_lr"] = m
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = bool(cycle_momentum)
        if self.cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError(f"{op}: the optimizer must support momentum or beta1 with cycle_momentum=True")
            self.use_beta1 = "betas" in optimizer.defaults
            highs = _per_group(op, "max_momentum", optimizer, max_momentum)
            lows = _per_group(op, "base_momentum", optimizer, base_momentum)
            if last_epoch == -1:
                for hi, lo, group in zip(highs, lows, optimizer.param_groups):
                    if self.use_beta1:
                        group["betas"] = (hi, *group["betas"][1:])
                    else:
                        group["momentum"] = hi
                    group["max_momentum"], group["base_momentum"] = hi, lo
        super().__init__(optimizer, last_epoch)

    def _anneal(self, start, end, pct):
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self):
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(f"OneCycleLR: tried to step {step} times; the specified number of total steps is "
                             f"{self.total_steps}")
        lrs = []
        for group in self.optimizer.param_groups:
            start = 0.0
            for i, (end, lr0, lr1, m0, m1) in enumerate(self._phases):
                if step <= end or i == len(self._phases) - 1:
                    pct = (step - start) / (end - start)
                    lr = self._anneal(group[lr0], group[lr1], pct)
                    if self.cycle_momentum:
                        momentum = self._anneal(group[m0], group[m1], pct)
                    break
                start = end
            lrs.append(lr)
            if self.cycle_momentum:
                if self.use_beta1:
                    group["betas"] = (momentum, *group["betas"][1:])
                else:
                    group["momentum"] = momentum
        return lrs


class ReduceLROnPlateau(LRScheduler):
    """Multiply the rates by factor when a metric has stopped improving for patience steps.

    `step(metrics)` takes the monitored value (a validation loss, ...). An improvement is a value
    better than best * (1 - threshold) (mode "min", threshold_mode "rel"), best - threshold ("abs"),
    or the same upwards for mode "max". After a reduction, cooldown steps pass before bad steps
    count again; a rate never goes below min_lr, and a change smaller than eps is skipped.

    Args:
        optimizer: a PyTorch-style dlcore optimizer.
        mode: "min" or "max". Defaults to "min".
        factor: the factor (< 1). Defaults to 0.1.
        patience: the number of bad steps tolerated. Defaults to 10.
        threshold: the significance of an improvement. Defaults to 1e-4.
        threshold_mode: "rel" or "abs". Defaults to "rel".
        cooldown: steps to wait after a reduction. Defaults to 0.
        min_lr: the lower bound (one per group or one for all). Defaults to 0.
        eps: the smallest change applied. Defaults to 1e-8.

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    opt = dl.optim.SGD([dl.Parameter(np.zeros(2))], lr=1.0)
    scheduler = dl.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=1, factor=0.5)
    for val_loss in [1.0, 0.9, 0.95, 0.95]:
        scheduler.step(val_loss)
    print(scheduler.get_last_lr())     # [0.5]
    ```
    """

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4, threshold_mode="rel",
                 cooldown=0, min_lr=0, eps=1e-8):
        op = "ReduceLROnPlateau"
        if factor >= 1.0:
            raise ValueError(f"{op}: factor must be < 1.0, got {factor!r}")
        if mode not in ("min", "max"):
            raise ValueError(f"{op}: mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"{op}: threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}")
        _check_optimizer(op, optimizer)
        self.optimizer, self.factor = optimizer, factor
        self.default_min_lr = None if isinstance(min_lr, (list, tuple)) else min_lr
        self.min_lrs = _per_group(op, "min_lr", optimizer, min_lr)
        self.patience, self.cooldown, self.eps = patience, cooldown, eps
        self.mode, self.threshold, self.threshold_mode = mode, threshold, threshold_mode
        self.mode_worse = math.inf if mode == "min" else -math.inf
        self.last_epoch = 0
        self._last_lr = self._group_lrs()
        self.best, self.cooldown_counter, self.num_bad_epochs = self.mode_worse, 0, 0

    def _is_better(self, a, best):
        if self.mode == "min":
            return a < best * (1.0 - self.threshold) if self.threshold_mode == "rel" else a < best - self.threshold
        return a > best * (self.threshold + 1.0) if self.threshold_mode == "rel" else a > best + self.threshold

    @property
    def in_cooldown(self):
        return self.cooldown_counter > 0

    def step(self, metrics):
        """Record one value of the monitored metric; reduce the rates after patience bad steps."""
        current = float(metrics)
        self.last_epoch += 1
        if self._is_better(current, self.best):
            self.best, self.num_bad_epochs = current, 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            if len(self.min_lrs) != len(self.optimizer.param_groups):
                if self.default_min_lr is None:
                    raise RuntimeError(f"ReduceLROnPlateau: the optimizer has {len(self.optimizer.param_groups)} "
                                       f"param groups but {len(self.min_lrs)} min_lrs were given")
                self.min_lrs = [self.default_min_lr] * len(self.optimizer.param_groups)
            for group, low in zip(self.optimizer.param_groups, self.min_lrs):
                old = float(group["lr"])
                new = max(old * self.factor, low)
                if old - new > self.eps:
                    group["lr"] = new
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        self._last_lr = self._group_lrs()
