"""dlcore.utils.plot_history and the public names of the models package."""
import builtins
import sys

import pytest

import dlcore as dl


def fake_history():
    h = dl.callbacks.History()
    h.history = {"loss": [1.0, 0.5, 0.3], "val_loss": [1.1, 0.7, 0.6], "accuracy": [0.5, 0.8, 0.9],
                 "val_accuracy": [0.4, 0.7, 0.8]}
    h.epoch = [0, 1, 2]
    return h


def test_plot_history_without_matplotlib_names_the_extra(monkeypatch):
    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ImportError("No module named 'matplotlib'")
        return real_import(name, *args, **kwargs)
    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    for mod in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, mod)
    with pytest.raises(ImportError, match=r"pip install dlcore\[plot\]"):
        dl.utils.plot_history(fake_history(), "never.png")


def test_plot_history_writes_png(tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "history.png"
    dl.utils.plot_history(fake_history(), str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="nothing to plot"):
        dl.utils.plot_history({"val_loss": [1.0]}, str(path))


def test_public_names():
    for name in ("Sequential", "Model", "Input", "models", "callbacks", "data", "datasets", "utils"):
        assert hasattr(dl, name), name
    assert dl.models.load_model is not None and dl.models.Sequential is dl.Sequential
    for name in ("History", "EarlyStopping", "ModelCheckpoint", "LearningRateScheduler", "ReduceLROnPlateau",
                 "CSVLogger", "TerminateOnNaN", "LambdaCallback"):
        assert hasattr(dl.callbacks, name), name
