"""Weight regularizers (Keras names): L1, L2, L1L2; `layer.losses` lists their penalty terms."""
from __future__ import annotations

from .utils import Configurable


class Regularizer(Configurable):
    """__call__(weight Tensor) -> a scalar penalty Tensor (differentiable)."""

    def __call__(self, w):  # pragma: no cover - interface
        raise NotImplementedError


class L1L2(Regularizer):
    """l1 * sum(|w|) + l2 * sum(w^2)."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1, self.l2 = float(l1), float(l2)

    def __call__(self, w):
        penalty = None
        if self.l1:
            penalty = abs(w).sum() * self.l1
        if self.l2:
            term = (w * w).sum() * self.l2
            penalty = term if penalty is None else penalty + term
        return penalty if penalty is not None else (w * 0.0).sum()


class L1(L1L2):
    def __init__(self, l1=0.01):
        super().__init__(l1=l1)

    def get_config(self):
        return {"l1": self.l1}


class L2(L1L2):
    def __init__(self, l2=0.01):
        super().__init__(l2=l2)

    def get_config(self):
        return {"l2": self.l2}


def l1(l1=0.01):
    return L1(l1)


def l2(l2=0.01):
    return L2(l2)


def l1_l2(l1=0.01, l2=0.01):
    return L1L2(l1, l2)


_CLASSES = {"L1": L1, "L2": L2, "L1L2": L1L2}


def get(identifier):
    """A Regularizer from None, a name ("l1", "l2", "l1_l2"), a config dict or a callable."""
    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    if isinstance(identifier, str):
        table = {"l1": L1, "l2": L2, "l1_l2": L1L2, "l1l2": L1L2}
        if identifier.lower() not in table:
            raise ValueError(f"unknown regularizer {identifier!r}; expected 'l1', 'l2' or 'l1_l2'")
        return table[identifier.lower()]()
    if isinstance(identifier, dict):
        if identifier.get("class_name") not in _CLASSES:
            raise ValueError(f"a regularizer config must be {{'class_name': one of {sorted(_CLASSES)}, 'config': "
                             f"{{...}}}}, got {identifier!r:.80}")
        return _CLASSES[identifier["class_name"]].from_config(identifier.get("config", {}))
    if callable(identifier):
        return identifier
    raise TypeError(f"regularizer must be a name, a Regularizer or a callable, got {type(identifier).__name__}")


def serialize(reg):
    if reg is None:
        return None
    if isinstance(reg, Regularizer):
        return {"class_name": type(reg).__name__, "config": reg.get_config()}
    return getattr(reg, "__name__", str(reg))
