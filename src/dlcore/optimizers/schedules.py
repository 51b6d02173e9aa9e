"""Keras's `keras.optimizers.schedules`: the learning-rate schedules of `dlcore.schedules`."""
from ..schedules import *  # noqa: F401,F403
from ..schedules import __all__  # noqa: F401
