"""Names of `dlcore.utils` offered under Keras's older `keras.preprocessing` spellings."""
from __future__ import annotations

from .. import utils


def forwarder(module, names):
    """A module __getattr__ resolving `names` to the attributes of dlcore.utils when they are used."""
    names = tuple(names)

    def __getattr__(name):
        if name in names:
            value = getattr(utils, name, None)
            if value is not None:
                return value
            raise AttributeError(f"{module}.{name} is dlcore.utils.{name}, which this build of dlcore does not "
                                 f"provide")
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    return __getattr__
