"""dl.optim.lr_scheduler against torch.optim.lr_scheduler (optional anchor) and closed forms."""
import math

import numpy as np
import pytest

import dlcore as dl

S = dl.optim.lr_scheduler

# (scheduler, its arguments, optimizer class, optimizer arguments, steps)
CASES = [
    ("StepLR", {"step_size": 3, "gamma": 0.5}, "SGD", {}, 10),
    ("MultiStepLR", {"milestones": [2, 5, 5], "gamma": 0.1}, "SGD", {}, 8),
    ("ExponentialLR", {"gamma": 0.9}, "Adam", {}, 8),
    ("CosineAnnealingLR", {"T_max": 5, "eta_min": 0.01}, "SGD", {}, 17),
    ("LambdaLR", {"lr_lambda": lambda e: 1.0 / (1 + e)}, "Adam", {}, 6),
    ("OneCycleLR", {"max_lr": 1.0, "total_steps": 12}, "SGD", {"momentum": 0.9}, 11),
    ("OneCycleLR", {"max_lr": [1.0, 0.5], "epochs": 2, "steps_per_epoch": 5, "three_phase": True,
                    "anneal_strategy": "linear"}, "Adam", {}, 10),
]


def _run_ours(name, kwargs, opt_cls, opt_kwargs, steps, groups=2):
    ps = [dl.Parameter(np.zeros(2)) for _ in range(groups)]
    opt = getattr(dl.optim, opt_cls)([{"params": [p], "lr": 0.1 * (i + 1)} for i, p in enumerate(ps)], lr=0.1,
                                     **opt_kwargs)
    sched = getattr(S, name)(opt, **kwargs)
    out = []
    for _ in range(steps):
        g = opt.param_groups[0]
        out.append(sched.get_last_lr() + [g.get("momentum", g.get("betas", (None,))[0])])
        opt.step()
        sched.step()
    return out


def _run_torch(torch, name, kwargs, opt_cls, opt_kwargs, steps, groups=2):
    ps = [torch.zeros(2, requires_grad=True) for _ in range(groups)]
    opt = getattr(torch.optim, opt_cls)([{"params": [p], "lr": 0.1 * (i + 1)} for i, p in enumerate(ps)], lr=0.1,
                                        **opt_kwargs)
    sched = getattr(torch.optim.lr_scheduler, name)(opt, **kwargs)
    out = []
    for _ in range(steps):
        g = opt.param_groups[0]
        out.append(sched.get_last_lr() + [g.get("momentum", g.get("betas", (None,))[0])])
        opt.step()
        sched.step()
    return out


@pytest.mark.parametrize("name, kwargs, opt_cls, opt_kwargs, steps", CASES, ids=[f"{c[0]}-{i}" for i, c in
                                                                                    enumerate(CASES)])
def test_matches_torch(name, kwargs, opt_cls, opt_kwargs, steps):
    torch = pytest.importorskip("torch")
    ours = _run_ours(name, kwargs, opt_cls, opt_kwargs, steps)
    theirs = _run_torch(torch, name, kwargs, opt_cls, opt_kwargs, steps)
    np.testing.assert_allclose(np.array(ours, dtype=float), np.array(theirs, dtype=float), rtol=1e-12, atol=1e-15)


def test_closed_forms():
    """The recursive forms (torch's) equal the closed forms while nobody touches the rates."""
    lrs = _run_ours("CosineAnnealingLR", {"T_max": 5, "eta_min": 0.01}, "SGD", {}, 12, groups=1)
    expected = [0.01 + (0.1 - 0.01) * (1 + math.cos(math.pi * t / 5)) / 2 for t in range(12)]
    np.testing.assert_allclose([r[0] for r in lrs], expected, rtol=1e-12)
    lrs = _run_ours("StepLR", {"step_size": 3, "gamma": 0.5}, "SGD", {}, 10, groups=1)
    np.testing.assert_allclose([r[0] for r in lrs], [0.1 * 0.5 ** (t // 3) for t in range(10)], rtol=1e-12)
    lrs = _run_ours("MultiStepLR", {"milestones": [2, 5, 5]}, "SGD", {}, 7, groups=1)
    np.testing.assert_allclose([r[0] for r in lrs], [0.1, 0.1, 0.01, 0.01, 0.01, 1e-4, 1e-4], rtol=1e-12)


def test_a_rate_changed_by_hand_is_followed():
    """The chainable forms multiply the group's current rate, as torch's do."""
    opt = dl.optim.SGD([dl.Parameter(np.zeros(2))], lr=1.0)
    sched = S.ExponentialLR(opt, gamma=0.5)
    sched.step()
    opt.param_groups[0]["lr"] = 10.0
    sched.step()
    assert sched.get_last_lr() == [5.0]


def test_reduce_lr_on_plateau():
    opt = dl.optim.SGD([dl.Parameter(np.zeros(2))], lr=1.0)
    sched = S.ReduceLROnPlateau(opt, mode="max", patience=1, factor=0.5, cooldown=1, min_lr=0.2)
    lrs = []
    for acc in [0.5, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6]:
        sched.step(acc)
        lrs.append(sched.get_last_lr()[0])
    assert lrs == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.2]


def test_reduce_lr_on_plateau_matches_torch():
    torch = pytest.importorskip("torch")
    values = [1.0, 0.9, 0.9, 0.95, 0.89999, 0.9, 0.9, 0.7, 0.8, 0.8, 0.8, 0.8]
    ours_opt = dl.optim.Adam([dl.Parameter(np.zeros(2))], lr=1.0)
    theirs_opt = torch.optim.Adam([torch.zeros(2, requires_grad=True)], lr=1.0)
    kwargs = {"patience": 1, "factor": 0.3, "threshold": 0.01, "cooldown": 1}
    ours, theirs = S.ReduceLROnPlateau(ours_opt, **kwargs), torch.optim.lr_scheduler.ReduceLROnPlateau(theirs_opt,
                                                                                                        **kwargs)
    for v in values:
        ours.step(v)
        theirs.step(v)
        assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr())


def test_state_dict_resumes():
    def make():
        opt = dl.optim.SGD([dl.Parameter(np.zeros(2))], lr=1.0)
        return opt, S.CosineAnnealingLR(opt, T_max=6)

    opt, sched = make()
    for _ in range(4):
        sched.step()
    opt2, sched2 = make()
    opt2.load_state_dict(opt.state_dict())
    sched2.load_state_dict(sched.state_dict())
    for _ in range(3):
        sched.step()
        sched2.step()
    assert sched2.get_last_lr() == sched.get_last_lr() and sched2.last_epoch == 7


def test_errors():
    keras_style = dl.optimizers.SGD(learning_rate=0.1)
    with pytest.raises(TypeError, match="StepLR: drives a PyTorch-style optimizer"):
        S.StepLR(keras_style, 2)
    with pytest.raises(TypeError, match="is not a dlcore optimizer"):
        S.ExponentialLR(object(), 0.5)
    opt = dl.optim.SGD([dl.Parameter(np.zeros(2))], lr=1.0)
    with pytest.raises(ValueError, match="StepLR: step_size must be a positive int"):
        S.StepLR(opt, 0)
    with pytest.raises(ValueError, match="OneCycleLR: give total_steps"):
        S.OneCycleLR(opt, max_lr=1.0)
    with pytest.raises(ValueError, match="must support momentum or beta1"):
        S.OneCycleLR(dl.optim.Adagrad([dl.Parameter(np.zeros(2))]), max_lr=1.0, total_steps=3)
    sched = S.OneCycleLR(opt, max_lr=1.0, total_steps=2, cycle_momentum=False)
    sched.step()
    sched.step()
    with pytest.raises(ValueError, match="tried to step 3 times"):
        sched.step()
    with pytest.raises(ValueError, match="factor must be < 1.0"):
        S.ReduceLROnPlateau(opt, factor=1.0)
    with pytest.raises(KeyError, match="initial_lr"):
        S.StepLR(dl.optim.SGD([dl.Parameter(np.zeros(2))], lr=1.0), 2, last_epoch=3)
