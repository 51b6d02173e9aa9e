"""The Example: blocks of the docstrings of the losses, metrics, optimizers, schedules, schedulers
and callbacks run as written (each in a fresh namespace, in a temporary directory), and every
public class and function there has one."""
import inspect
import re
import textwrap

import pytest

import dlcore as dl

MODULES = [dl.losses, dl.metrics, dl.optimizers, dl.optimizers.schedules, dl.callbacks, dl.optim.lr_scheduler,
           dl.nn.utils]
# public names that need no example of their own (aliases, helpers documented by their users)
EXEMPT = {"get_learning_rate", "set_learning_rate", "serialize", "deserialize", "reduce_weighted", "schedules",
          "MSE", "MAE", "MAPE", "MSLE", "KLD", "mse", "mae", "mape", "msle", "kld"}
BLOCK = re.compile(r"Example:\s*\n\s*```python\n(.*?)\n\s*```", re.S)


def _objects():
    seen = {}
    for module in MODULES:
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if (inspect.isclass(obj) or inspect.isfunction(obj)) and name not in EXEMPT:
                seen.setdefault(id(obj), (f"{module.__name__}.{name}", obj))
    return sorted(seen.values(), key=lambda item: item[0])


OBJECTS = _objects()


@pytest.mark.parametrize("name, obj", OBJECTS, ids=[n for n, _ in OBJECTS])
def test_example_runs(name, obj, tmp_path, monkeypatch, capsys):
    doc = inspect.getdoc(obj) or ""
    found = BLOCK.search(doc)
    assert found, f"{name} has no Example: block with a fenced python example"
    monkeypatch.chdir(tmp_path)
    exec(compile(textwrap.dedent(found.group(1)), f"<example of {name}>", "exec"), {"__name__": "__example__"})


def test_every_public_class_is_covered():
    names = {n for n, _ in OBJECTS}
    for expected in ("dlcore.optimizers.Nadam", "dlcore.metrics.AUC", "dlcore.losses.KLDivergence",
                     "dlcore.callbacks.EarlyStopping", "dlcore.optim.lr_scheduler.OneCycleLR",
                     "dlcore.optimizers.schedules.CosineDecayRestarts"):
        assert expected in names
