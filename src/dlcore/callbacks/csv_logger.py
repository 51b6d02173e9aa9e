"""CSVLogger: one CSV row of logs per epoch."""
from __future__ import annotations

import csv
import os

from .base import Callback


class CSVLogger(Callback):
    """Write one CSV row per epoch: epoch, then every log value (columns fixed by the first epoch).

    Args:
        filename: the CSV file.
        separator: the column separator. Defaults to ",".
        append: append to an existing file (no second header). Defaults to False.

    Example:

    ```python
    import os
    import tempfile
    import numpy as np
    import dlcore as dl

    x = np.random.default_rng(0).standard_normal((64, 4)).astype("float32")
    y = x @ np.ones((4, 1), "float32")
    model = dl.Sequential([dl.layers.Dense(1, input_shape=(4,))])
    model.compile(optimizer="sgd", loss="mse")
    path = os.path.join(tempfile.mkdtemp(), "log.csv")
    model.fit(x, y, epochs=2, verbose=0, callbacks=[dl.callbacks.CSVLogger(path)])
    print(open(path).read().splitlines()[0])  # epoch,loss
    ```
    """

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.filename = os.fspath(filename)
        self.sep = separator
        self.append = append
        self.keys = None
        self._file = None
        self._writer = None

    def on_train_begin(self, logs=None):
        has_header = self.append and os.path.exists(self.filename) and os.path.getsize(self.filename) > 0
        self._file = open(self.filename, "a" if self.append else "w", newline="")
        self._has_header = has_header
        self.keys = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
            self._writer = csv.DictWriter(self._file, fieldnames=["epoch"] + self.keys, delimiter=self.sep,
                                          extrasaction="ignore")
            if not self._has_header:
                self._writer.writeheader()
        row = {"epoch": epoch}
        row.update({k: logs.get(k, "NA") for k in self.keys})
        self._writer.writerow(row)
        self._file.flush()

    def on_train_end(self, logs=None):
        if self._file is not None:
            self._file.close()
            self._file = None


