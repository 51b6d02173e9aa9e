"""Utilities: the Keras-style progress bar and plot_history; get_file and the data helpers (re-exported)."""
from __future__ import annotations

import random
import re
import sys
import time

import numpy as np

from .data import normalize, to_categorical
from .dataset_utils import (image_dataset_from_directory, pad_sequences, split_dataset, text_dataset_from_directory,
                            timeseries_dataset_from_array)
from ._random import manual_seed
from .file_utils import DownloadError, dlcore_home, extract_archive, get_file, hash_file, validate_file

__all__ = ["Progbar", "plot_history", "format_time_per_step"]
__all__ += ["get_file", "dlcore_home", "hash_file", "validate_file", "extract_archive", "DownloadError",
            "to_categorical", "normalize", "pad_sequences", "split_dataset", "timeseries_dataset_from_array",
            "image_dataset_from_directory", "text_dataset_from_directory"]
__all__ += ["set_random_seed"]


def set_random_seed(seed):
    """Seed Python's `random`, NumPy's global generator and dlcore's (`dl.manual_seed`), as Keras's
    keras.utils.set_random_seed seeds Python, NumPy and its backend.

    Example:

    ```python
    import dlcore as dl

    dl.utils.set_random_seed(42)
    a = dl.randn(3).numpy()
    dl.utils.set_random_seed(42)
    print(bool((a == dl.randn(3).numpy()).all()))     # True
    ```
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"set_random_seed: seed must be an int, got {type(seed).__name__}")
    random.seed(int(seed))
    np.random.seed(int(seed) % 2 ** 32)
    manual_seed(int(seed))


def snake_case(name: str) -> str:
    """'SparseCategoricalCrossentropy' -> 'sparse_categorical_crossentropy' (Keras's default names)."""
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s).lower()


class Configurable:
    """get_config() -> the public attributes (the constructor's arguments); from_config(config) builds
    an equal object. Shared by initializers, regularizers, losses and learning-rate schedules."""

    def get_config(self):
        return {k: v for k, v in vars(self).items() if not k.startswith("_")}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _fmt_value(v) -> str:
    v = float(v)
    if v != 0 and (abs(v) >= 1e4 or abs(v) < 1e-3):
        return f"{v:.4e}"
    return f"{v:.4f}"


def format_time_per_step(seconds: float) -> str:
    """'12ms/step', '1s/step', '250us/step'."""
    if seconds >= 1:
        return f"{seconds:.0f}s/step"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/step"
    return f"{seconds * 1e6:.0f}us/step"


def _fmt_eta(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}:{(seconds % 3600) // 60:02d}:{seconds % 60:02d}"
    if seconds >= 60:
        return f"{seconds // 60}:{seconds % 60:02d}"
    return f"{seconds}s"


class Progbar:
    """A Keras-style progress bar for one epoch.

        12/45 [=======>......................] - ETA: 3s - loss: 0.4213 - accuracy: 0.8750

    verbose=1: the bar, redrawn in place (carriage return) when `stream` is a terminal; when it is
    not (a log file, CI), no redraws: one plain line at the end of the epoch.
    verbose=2: one line per epoch, no bar.  verbose=0: silent.

    Values passed to update() are running averages already (the model averages the metrics);
    the bar shows them as given.
    """

    def __init__(self, target, width: int = 30, verbose: int = 1, interval: float = 0.05, stream=None,
                 unit_name: str = "step"):
        self.target = target
        self.width = width
        self.verbose = verbose
        self.interval = interval
        self.stream = stream if stream is not None else sys.stdout
        self.unit_name = unit_name
        isatty = getattr(self.stream, "isatty", None)
        self.dynamic = bool(isatty and isatty())
        self.start = time.perf_counter()
        self._last_draw = 0.0
        self._last_len = 0
        self._values = {}
        self.seen = 0
        self._finished = False

    def update(self, current: int, values=None, finalize: bool = None):
        """Move the bar to step `current` (1-based count of steps done) with these values."""
        if values:
            for k, v in (values.items() if isinstance(values, dict) else values):
                self._values[k] = v
        self.seen = current
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        if self.verbose == 0 or self._finished:
            return
        now = time.perf_counter()
        elapsed = now - self.start
        if finalize:
            self._finished = True
        if self.verbose == 1:
            if self.dynamic:
                if not finalize and now - self._last_draw < self.interval:
                    return
                self._last_draw = now
                line = self._bar_line(current, elapsed, finalize)
                pad = max(0, self._last_len - len(line))
                self._last_len = len(line)
                self.stream.write("\r" + line + " " * pad + ("\n" if finalize else ""))
                self.stream.flush()
            elif finalize:
                self.stream.write(self._bar_line(current, elapsed, True) + "\n")
                self.stream.flush()
        elif self.verbose == 2 and finalize:
            per_step = elapsed / max(current, 1)
            parts = [f"{current}/{self.target}" if self.target else f"{current}",
                     f"{elapsed:.0f}s", format_time_per_step(per_step)]
            parts += [f"{k}: {_fmt_value(v)}" for k, v in self._values.items()]
            self.stream.write(" - ".join(parts) + "\n")
            self.stream.flush()

    def _bar_line(self, current, elapsed, finalize) -> str:
        if self.target:
            digits = len(str(self.target))
            frac = min(current / self.target, 1.0)
            filled = int(self.width * frac)
            bar = "=" * filled
            if not finalize and filled < self.width:
                bar = bar[:-1] + ">" if filled else ">"
            bar = f"{current:>{digits}}/{self.target} [{bar:.<{self.width}}]"
        else:
            bar = f"{current}/Unknown"
        per_step = elapsed / max(current, 1)
        if finalize:
            timing = f"{elapsed:.0f}s {format_time_per_step(per_step)}"
        elif self.target:
            timing = f"ETA: {_fmt_eta(per_step * (self.target - current))}"
        else:
            timing = f"{elapsed:.0f}s"
        parts = [bar, timing] + [f"{k}: {_fmt_value(v)}" for k, v in self._values.items()]
        return " - ".join(parts)


def plot_history(history, path: str = None, metrics=None, title: str = None):
    """Plot loss and metric curves (train and validation) of a fit; save a PNG at `path`.

    `history` is the History returned by fit() (or its .history dict). One panel per metric
    (loss first); validation curves (val_*) share the panel of their metric.
    Returns the matplotlib Figure. Needs matplotlib: `pip install dlcore[plot]`.
    """
    try:
        import matplotlib
        if path is not None:
            matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
        from matplotlib.ticker import MaxNLocator
    except ImportError as e:
        raise ImportError("plot_history needs matplotlib, which is not installed: "
                          "pip install dlcore[plot]  (or pip install matplotlib)") from e
    hist = history.history if hasattr(history, "history") else dict(history)
    names = [k for k in hist if not k.startswith("val_") and k not in ("lr", "learning_rate")]
    if metrics is not None:
        names = [k for k in metrics if k in hist]
    if not names:
        raise ValueError(f"plot_history: nothing to plot in history with keys {sorted(hist)}")
    fig, axes = plt.subplots(1, len(names), figsize=(5 * len(names), 3.6), squeeze=False)
    for ax, name in zip(axes[0], names):
        epochs = np.arange(1, len(hist[name]) + 1)
        ax.plot(epochs, hist[name], marker="o", label=f"train {name}")
        if f"val_{name}" in hist:
            ax.plot(np.arange(1, len(hist[f"val_{name}"]) + 1), hist[f"val_{name}"], marker="o",
                    label=f"validation {name}")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=100)
        plt.close(fig)
    return fig

