"""Keras-style callbacks (Keras's `keras.callbacks`): hooks the fit loop calls at the start and end of
training, epochs and batches.

    model.fit(x, y, epochs=50, validation_split=0.1,
              callbacks=[EarlyStopping(patience=3, restore_best_weights=True),
                         ModelCheckpoint("best.dlc", save_best_only=True)])

A callback sees `self.model` (set by fit) and `self.params` ({'epochs', 'steps', 'verbose'}).
`logs` are dicts of floats: per batch the running averages of loss and metrics, per epoch the
epoch's averages plus the val_* values.
"""
from .base import Callback
from .callback_list import CallbackList
from .csv_logger import CSVLogger
from .early_stopping import EarlyStopping
from .history import History, ProgbarLogger
from .lambda_callback import LambdaCallback, TerminateOnNaN
from .learning_rate import LearningRateScheduler, ReduceLROnPlateau, get_learning_rate, set_learning_rate
from .model_checkpoint import ModelCheckpoint

__all__ = [
    "Callback", "CallbackList", "History", "ProgbarLogger", "EarlyStopping", "ModelCheckpoint",
    "LearningRateScheduler", "ReduceLROnPlateau", "CSVLogger", "TerminateOnNaN", "LambdaCallback",
    "get_learning_rate", "set_learning_rate",
]
