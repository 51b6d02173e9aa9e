"""CallbackList: the callbacks of one fit / evaluate / predict run, called as one (Keras's)."""
from __future__ import annotations

from .base import Callback
from .history import History, ProgbarLogger


class CallbackList(Callback):
    """Calls each hook on every callback in order (what fit uses to drive the callbacks given to it).

    Args:
        callbacks: the callbacks.
        add_history: add a `History` unless `callbacks` holds one (Keras); with `model`, it becomes
            `model.history`.
        add_progbar: add a `ProgbarLogger` unless `callbacks` holds one (Keras); it prints as the
            params' `verbose` says (1, a progress bar, when they do not say).
        model: the model, given to every callback (set_model).
        **params: the run's parameters (epochs, steps, verbose), given to every callback (set_params).

    Example:

    ```python
    import dlcore as dl

    callbacks = dl.callbacks.CallbackList(add_history=True, epochs=1, steps=1, verbose=0)
    callbacks.on_train_begin()
    callbacks.on_epoch_end(0, {"loss": 0.5})
    history = callbacks.callbacks[0]
    print(type(history).__name__, history.history)   # History {'loss': [0.5]}
    ```
    """

    def __init__(self, callbacks=None, add_history=False, add_progbar=False, model=None, **params):
        super().__init__()
        self.callbacks = list(callbacks or [])
        self._history = next((cb for cb in self.callbacks if isinstance(cb, History)), None)
        if self._history is None and add_history:
            self._history = History()
            self.callbacks.append(self._history)
        if add_progbar and not any(isinstance(cb, ProgbarLogger) for cb in self.callbacks):
            verbose = params.get("verbose", 1)
            self.callbacks.append(ProgbarLogger(verbose=1 if verbose == "auto" else verbose))
        if model is not None:
            self.set_model(model)
        if params:
            self.set_params(params)

    def append(self, cb):
        self.callbacks.append(cb)

    def set_model(self, model):
        self.model = model
        if self._history is not None and model is not None:
            model.history = self._history  # Keras: the History of the run is the model's
        for cb in self.callbacks:
            cb.set_model(model)

    def set_params(self, params):
        self.params = params
        for cb in self.callbacks:
            cb.set_params(params)

    def _call(self, name, *args):
        for cb in self.callbacks:
            getattr(cb, name)(*args)


for _hook in ("on_train_begin", "on_train_end", "on_test_begin", "on_test_end", "on_predict_begin",
              "on_predict_end"):
    setattr(CallbackList, _hook, (lambda name: lambda self, logs=None: self._call(name, logs))(_hook))
for _hook in ("on_epoch_begin", "on_epoch_end", "on_batch_begin", "on_batch_end", "on_train_batch_begin",
              "on_train_batch_end", "on_test_batch_begin", "on_test_batch_end", "on_predict_batch_begin",
              "on_predict_batch_end"):
    setattr(CallbackList, _hook, (lambda name: lambda self, i, logs=None: self._call(name, i, logs))(_hook))
