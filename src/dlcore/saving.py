"""Saving and loading models: one file, no pickle, atomic writes, hostile files rejected.

A model file (`model.save("m.dlc")`) is a zip archive holding:

    dlcore.json            format tag and version, the architecture (layer class names +
                           get_config()), the build input shape and the compile settings
    model.safetensors      the weights, by state_dict() name
    optimizer.safetensors  the optimizer's array state (moments, ...), if compiled
    optimizer.json         the optimizer's scalar state (step count, ...) and its layout

Weights go in uncompressed (they do not compress, and `stored` members let the loader check that
no member claims more bytes than the file holds); the JSON members are deflated.

Writes are atomic: the archive is written to a temporary file in the destination folder, flushed,
fsync'ed, then renamed over the destination (os.replace). A process killed mid-save leaves the
previous file as it was.

Loading trusts nothing: member sizes are checked before anything is read (no zip bombs), JSON is
parsed with the standard parser, classes are looked up by name in the registry below (never
imported or evaluated), weight names and shapes are checked against the rebuilt model before any
weight is assigned. While the architecture is rebuilt, every weight it creates is counted against
the values the file stores before it is allocated (`charge_weight`, called by Module.add_weight):
a small file cannot make the loader allocate more weights than it holds, and weights about to be
replaced by the file's are allocated as zeros, never initialised. Every problem raises ValueError.
docs/security.md says what loading a file can and cannot do.

The registry is the one table of what a file may name: layers and models (kind "layer"), losses,
metrics, optimizers, and loss / metric functions. This module imports no model code (only leaves):
the modules that define the base classes declare them with `register_kind`, dlcore's own layers
and models register themselves when their class is defined (Module.__init_subclass__), and users
register theirs with `@register_serializable`, or pass them to one `load_model(custom_objects=...)`
call (registered for that call only, as Keras scopes them). A model is
reached through its methods (get_config / from_config, build, state_dict / load_state_dict,
compile, get_compile_config, load_optimizer_state) and the `_build_input_shape` it was built for.

The file format itself (the members, the limits, the safe archive reader, safetensors bytes, the
optimizer state's JSON and the architecture's plausibility check) is dlcore.model_file.
"""
from __future__ import annotations

import contextlib
import contextvars
import json
import math
import numbers
import os
import zipfile

import numpy as np

from ._version import __version__
from .io_utils import atomic_write
from .model_file import (ARCH_MEMBER, FORMAT, FORMAT_VERSION, MAX_ARRAY_BYTES, MAX_NESTING, OPT_ARRAYS_MEMBER,
                         OPT_JSON_MEMBER, WEIGHTS_MEMBER, _Archive, _arrays_to_bytes, _bytes_to_arrays,
                         _check_plausible, _flatten_state, _short, _to_numpy, _unflatten_state)

# the rest of the format's constants, defined with it in dlcore.model_file; still importable from here
from .model_file import KNOWN_MEMBERS, MAX_INPUT_ELEMENTS, MAX_JSON_BYTES, MAX_MEMBERS  # noqa: F401

__all__ = ["save_model", "load_model", "save_weights", "load_weights", "register_serializable",
           "register_kind", "get_registered_object", "serialize_layer", "deserialize_layer", "serialize_model",
           "deserialize_model", "serialize_compile", "deserialize_compile", "atomic_write"]


# --------------------------------------------------------------------------------------------
# Registry of classes a file may name
# --------------------------------------------------------------------------------------------

_BASES = []      # (kind, base class), in declaration order: how a class's kind is found
_REGISTRY = {}   # kind -> {name: class or function}
# load_model(custom_objects=...): {kind: {name: object}} seen by lookups in this context only
_SCOPED = contextvars.ContextVar("dlcore_saving_custom_objects", default=None)


def register_kind(kind: str, base: type) -> None:
    """Declare that subclasses of `base` are registered and looked up as `kind` ("layer", "loss", ...).

    Called by the modules that own the base classes (dlcore.module for layers and models, the
    compile utilities for losses, metrics and optimizers), so that this module imports none of them.
    """
    _BASES.append((kind, base))
    _REGISTRY.setdefault(kind, {})


def _kind_of(obj):
    if isinstance(obj, type):
        return next((kind for kind, base in _BASES if issubclass(obj, base)), None)
    return "function" if callable(obj) else None


def _checked_kind(obj, where):
    kind = _kind_of(obj)
    if kind is None:
        raise TypeError(f"{where}: expected a layer, model, loss, metric or optimizer class, or "
                        f"a loss / metric function; got {_short(obj)}")
    return kind


def register_serializable(cls=None, *, name=None):
    """Let files name your own layer, model, loss, metric or optimizer class (or loss / metric function).

    Use as a decorator on the class; `name` defaults to its __name__. dlcore's own classes are
    registered already. Only registered classes can be rebuilt from a file.
    """
    def wrap(obj):
        kind = _checked_kind(obj, "register_serializable")
        _REGISTRY.setdefault(kind, {})[name or obj.__name__] = obj
        return obj
    return wrap(cls) if cls is not None else wrap


@contextlib.contextmanager
def _custom_objects(custom_objects, where):
    """Within the block (this thread / context only), lookups also find `custom_objects` {name: obj},
    ahead of the registry; nothing is registered for later."""
    if custom_objects is None:
        yield
        return
    if not isinstance(custom_objects, dict):
        raise TypeError(f"{where}: custom_objects must be a dict {{name: class or function}}, "
                        f"got {type(custom_objects).__name__}")
    scoped = {kind: dict(names) for kind, names in (_SCOPED.get() or {}).items()}
    for name, obj in custom_objects.items():
        if not isinstance(name, str):
            raise TypeError(f"{where}: custom_objects keys must be names (str), got {_short(name)}")
        kind = _checked_kind(obj, f"{where}: custom_objects[{name!r}]")
        scoped.setdefault(kind, {})[name] = obj
    token = _SCOPED.set(scoped)
    try:
        yield
    finally:
        _SCOPED.reset(token)


def get_registered_object(kind: str, name: str):
    """The class (or function) registered as `name` for `kind` (or given to the load_model call in
    progress as a custom object), or None."""
    scoped = _SCOPED.get()
    if scoped:
        obj = scoped.get(kind, {}).get(name)
        if obj is not None:
            return obj
    return _REGISTRY.get(kind, {}).get(name)


def serialize_layer(layer) -> dict:
    """{'class_name': ..., 'config': layer.get_config()} (nested models serialize themselves)."""
    if not hasattr(layer, "get_config"):
        raise ValueError(f"cannot save {type(layer).__name__}: it has no get_config(); "
                         "save its weights with save_weights() instead")
    config = layer.get_config()
    out = {"class_name": type(layer).__name__, "config": _jsonable(config, type(layer).__name__)}
    build_shape = getattr(layer, "_build_input_shape", None)
    if build_shape is not None:
        out["build_input_shape"] = _shape_to_json(build_shape)
    return out


def deserialize_layer(spec, depth: int = 0):
    """Rebuild a layer (or nested model) from serialize_layer's dict, by registry lookup only."""
    if depth > MAX_NESTING:
        raise ValueError("model file: layers nested too deeply")
    if not isinstance(spec, dict) or not isinstance(spec.get("class_name"), str) \
            or not isinstance(spec.get("config", {}), dict):
        raise ValueError(f"model file: a layer entry must be {{'class_name': str, 'config': dict}}, got {_short(spec)}")
    name = spec["class_name"]
    cls = get_registered_object("layer", name)
    if cls is None:
        raise ValueError(f"model file: unknown layer class {name!r}; only dlcore's layers and classes "
                         "registered with dlcore.saving.register_serializable can be loaded")
    config = dict(spec.get("config", {}))
    try:
        if hasattr(cls, "from_config"):
            takes_depth = getattr(cls, "_from_config_takes_depth", False)
            layer = cls.from_config(config, _depth=depth + 1) if takes_depth else cls.from_config(config)
        else:
            layer = cls(**config)
    except ValueError:
        raise
    except Exception as e:  # TypeError for unknown arguments and the like
        raise ValueError(f"model file: cannot build {name} from its config: {type(e).__name__}: {e}") from None
    return layer


def _shape_to_json(shape):
    if shape is None:
        return None
    if isinstance(shape, (list, tuple)) and shape and isinstance(shape[0], (list, tuple)):
        return [_shape_to_json(s) for s in shape]
    return [None if d is None else int(d) for d in shape]


def _jsonable(obj, where):
    """Check that a config is plain JSON data (and turn tuples and NumPy scalars into JSON)."""
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, numbers.Integral):
        return int(obj)
    if isinstance(obj, numbers.Real):
        return float(obj)
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v, where) for v in obj]
    if isinstance(obj, dict):
        return {str(k): _jsonable(v, where) for k, v in obj.items()}
    if hasattr(obj, "get_config"):
        return {"class_name": type(obj).__name__, "config": _jsonable(obj.get_config(), where)}
    raise ValueError(f"cannot save {where}: its config holds a {type(obj).__name__} ({_short(obj)}), "
                     "which is not JSON data")


def serialize_model(model) -> dict:
    """The architecture entry of a model file: serialize_layer of a model whose class files may name."""
    name = type(model).__name__
    if get_registered_object("layer", name) is None:
        raise ValueError(f"cannot save {name} whole: it is a subclassed model; decorate the class with "
                         "@dlcore.saving.register_serializable and give it get_config(), or use save_weights()")
    return serialize_layer(model)


def deserialize_model(spec):
    """Rebuild a model from its architecture entry (fresh weights), built for its recorded input shape."""
    if not isinstance(spec, dict):
        raise ValueError("model file: the architecture is missing or malformed")
    model = deserialize_layer(spec)
    if not callable(getattr(model, "get_compile_config", None)):
        raise ValueError(f"model file: the top level is a {type(model).__name__}, not a model")
    shape = spec.get("build_input_shape")
    if shape is not None and not model.built:
        try:
            model.build(_shape_from_json(shape))
        except (TypeError, ValueError) as e:
            raise ValueError(f"model file: cannot build the model for input shape {shape} ({e})") from None
    return model


def _shape_from_json(shape):
    if isinstance(shape, list) and shape and isinstance(shape[0], list):
        return [_shape_from_json(s) for s in shape]
    if isinstance(shape, numbers.Integral):
        return (int(shape),)
    return tuple(None if d is None else int(d) for d in shape)


def serialize_compile(optimizer, loss, metrics, loss_weights=None, weighted_metrics=None) -> dict:
    """The compile settings entry: names stay names, objects become {'class_name', 'config'}; lists
    and dicts (one loss / metrics per output) keep their structure."""
    def ident(obj):
        if isinstance(obj, str) or obj is None:
            return obj
        if isinstance(obj, dict):
            return {"__outputs__": {str(k): ident(v) for k, v in obj.items()}}
        if isinstance(obj, (list, tuple)):
            return [ident(v) for v in obj]
        if hasattr(obj, "get_config"):
            return {"class_name": type(obj).__name__, "config": obj.get_config()}
        name = getattr(obj, "__name__", None)
        if name:
            return name
        raise ValueError(f"cannot save the compile settings: {obj!r} has no get_config()")
    out = {"optimizer": ident(optimizer), "loss": ident(loss), "metrics": ident(list(metrics) if isinstance(
        metrics, tuple) else metrics)}
    if loss_weights is not None:
        out["loss_weights"] = loss_weights
    if weighted_metrics:
        out["weighted_metrics"] = ident(weighted_metrics)
    return _jsonable(out, "compile settings")


def deserialize_compile(comp) -> dict:
    """compile() arguments from serialize_compile's entry: classes by registry lookup only; names are
    kept for compile() to resolve, unless a loss / metric function is registered under that name."""
    if not isinstance(comp, dict):
        raise ValueError("model file: malformed compile settings")

    def resolve(spec, kind, depth=0):
        if depth > MAX_NESTING:
            raise ValueError("model file: compile settings nested too deeply")
        if spec is None and kind != "optimizer":
            return None
        if isinstance(spec, list) and kind != "optimizer":
            return [resolve(s, kind, depth + 1) for s in spec]
        if isinstance(spec, dict) and set(spec) == {"__outputs__"} and isinstance(spec["__outputs__"], dict):
            return {k: resolve(v, kind, depth + 1) for k, v in spec["__outputs__"].items()}
        if isinstance(spec, str):
            return (kind != "optimizer" and get_registered_object("function", spec)) or spec
        if isinstance(spec, dict) and isinstance(spec.get("class_name"), str) and isinstance(spec.get("config"), dict):
            cls = get_registered_object(kind, spec["class_name"])
            if not isinstance(cls, type):
                raise ValueError(f"model file: unknown {kind} class {spec['class_name']!r}")
            try:
                return cls.from_config(spec["config"]) if hasattr(cls, "from_config") else cls(**spec["config"])
            except Exception as e:
                raise ValueError(f"model file: cannot rebuild {kind} {spec['class_name']}: {e}") from None
        raise ValueError(f"model file: malformed {kind} entry {spec!r:.80}")

    metrics = comp.get("metrics") or []
    if not isinstance(metrics, (list, dict)):
        raise ValueError("model file: malformed metrics list")
    out = {"optimizer": resolve(comp.get("optimizer"), "optimizer"), "loss": resolve(comp.get("loss"), "loss"),
           "metrics": resolve(metrics, "metric")}
    weights = comp.get("loss_weights")
    if weights is not None:
        if not isinstance(weights, (numbers.Real, list, dict)):
            raise ValueError("model file: malformed loss_weights")
        out["loss_weights"] = weights
    if comp.get("weighted_metrics"):
        out["weighted_metrics"] = resolve(comp["weighted_metrics"], "metric")
    return out


# --------------------------------------------------------------------------------------------
# Save / load
# --------------------------------------------------------------------------------------------

def _model_weights(model) -> dict:
    out = {}
    for name, v in model.state_dict().items():
        a = _to_numpy(v)
        if a is None:
            raise ValueError(f"cannot save weight {name}: it is a {type(v).__name__}")
        out[name] = a
    return out


def save_model(model, path, include_optimizer: bool = True, overwrite: bool = True) -> None:
    """Write `model` (architecture, weights, optimizer state) to one file, atomically."""
    path = os.fspath(path)
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"save: {path} exists and overwrite=False")
    if not callable(getattr(model, "get_compile_config", None)):
        raise ValueError(f"cannot save {type(model).__name__}: not a dlcore model")
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "dlcore_version": __version__,
        "model": serialize_model(model),
        "compile": model.get_compile_config() if include_optimizer else None,
    }
    weights = _model_weights(model)
    opt_arrays, opt_json = {}, None
    optimizer = getattr(model, "optimizer", None)
    if include_optimizer and optimizer is not None and hasattr(optimizer, "state_dict"):
        opt_json = _flatten_state(optimizer.state_dict(), "", opt_arrays)
    meta_bytes = json.dumps(meta, indent=1, allow_nan=False).encode("utf-8")
    with atomic_write(path) as f:
        with zipfile.ZipFile(f, "w") as z:
            z.writestr(ARCH_MEMBER, meta_bytes, compress_type=zipfile.ZIP_DEFLATED)
            z.writestr(WEIGHTS_MEMBER, _arrays_to_bytes(weights), compress_type=zipfile.ZIP_STORED)
            if opt_json is not None:
                z.writestr(OPT_JSON_MEMBER, json.dumps(opt_json, allow_nan=True).encode("utf-8"),
                           compress_type=zipfile.ZIP_DEFLATED)
                z.writestr(OPT_ARRAYS_MEMBER, _arrays_to_bytes(opt_arrays), compress_type=zipfile.ZIP_STORED)


def _check_and_assign_weights(model, arrays: dict, where: str):
    """Compare names, shapes and dtypes with the model's, then assign all weights at once (NaN is data)."""
    current = _model_weights(model)
    missing = sorted(set(current) - set(arrays))
    unexpected = sorted(set(arrays) - set(current))
    if missing or unexpected:
        raise ValueError(f"{where}: the weights do not match the model: missing {missing[:10]}, "
                         f"unexpected {unexpected[:10]}")
    ready = {}
    for name, cur in current.items():
        new = arrays[name]
        if tuple(new.shape) != tuple(cur.shape):
            raise ValueError(f"{where}: weight {name} has shape {tuple(new.shape)}, the model expects "
                             f"{tuple(cur.shape)}")
        if not np.issubdtype(new.dtype, np.floating) and np.issubdtype(cur.dtype, np.floating):
            raise ValueError(f"{where}: weight {name} has dtype {new.dtype}, expected {cur.dtype}")
        ready[name] = np.array(new, dtype=cur.dtype, copy=True)
    model.load_state_dict(ready)


class _WeightBudget:
    """The weight values a model file stores: what rebuilding its architecture may allocate."""

    def __init__(self, limit: int, path):
        self.limit, self.used, self.path = limit, 0, path


_BUDGET = contextvars.ContextVar("dlcore_saving_weight_budget", default=None)


def charge_weight(shape, where: str) -> bool:
    """Count a weight about to be created against the load in progress, BEFORE it is allocated.

    Module.add_weight calls this first. Inside load_model, the weights the architecture creates may
    total at most the values the file stores (it holds every weight, so a real model never needs
    more): a ValueError names the weight that would pass that, and nothing of it is allocated.
    Returns True inside a load -- the caller then allocates zeros rather than running the
    initializer, since the file's values replace them -- and False anywhere else.
    """
    budget = _BUDGET.get()
    if budget is None:
        return False
    dims = tuple(shape)
    if not all(isinstance(d, numbers.Integral) and d >= 0 for d in dims):
        raise ValueError(f"cannot load {budget.path}: {where} would have the shape {dims!r}")
    budget.used += math.prod(int(d) for d in dims)
    if budget.used > budget.limit:
        raise ValueError(f"cannot load {budget.path}: the architecture needs more weight values than the "
                         f"{budget.limit} the file stores ({where} of shape {dims} passes that); "
                         f"the file is corrupted or hostile")
    return True


def load_model(path, compile: bool = True, custom_objects=None):
    """Rebuild a model saved with model.save(path): same architecture, weights and optimizer state.

    custom_objects: {name: class or function} for the classes and loss / metric functions of your own
    that the file names, for this call only (as Keras); or register them once with
    @register_serializable. Rebuilding allocates no more weights than the file stores.
    """
    with _custom_objects(custom_objects, "load_model"):
        return _load_model(path, compile)


def _load_model(path, compile):
    with _Archive(path) as ar:
        meta = ar.read_json(ARCH_MEMBER)
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise ValueError(f"cannot load {path}: not a dlcore model file (format tag missing)")
        if not isinstance(meta.get("format_version"), int) or meta["format_version"] > FORMAT_VERSION:
            raise ValueError(f"cannot load {path}: format version {meta.get('format_version')!r} is newer than "
                             f"this dlcore reads ({FORMAT_VERSION}); upgrade dlcore")
        weights = _bytes_to_arrays(ar.read(WEIGHTS_MEMBER), WEIGHTS_MEMBER)
        _check_plausible(meta.get("model"), weights, path)
        token = _BUDGET.set(_WeightBudget(sum(math.prod(a.shape) for a in weights.values()), path))
        try:
            model = deserialize_model(meta.get("model"))
        except RecursionError:
            raise ValueError(f"cannot load {path}: the architecture is nested too deeply") from None
        finally:
            _BUDGET.reset(token)
        _check_and_assign_weights(model, weights, f"cannot load {path}")
        comp = meta.get("compile")
        if compile and comp:
            _restore_compile(model, comp)
            if ar.has(OPT_JSON_MEMBER) and ar.has(OPT_ARRAYS_MEMBER) and model.optimizer is not None:
                arrays = _bytes_to_arrays(ar.read(OPT_ARRAYS_MEMBER), OPT_ARRAYS_MEMBER)
                state = _unflatten_state(ar.read_json(OPT_JSON_MEMBER), arrays)
                try:
                    model.load_optimizer_state(state)
                except ValueError:
                    raise
                except Exception as e:
                    raise ValueError(f"cannot load {path}: optimizer state does not fit the model "
                                     f"({type(e).__name__}: {e})") from None
    return model


def _restore_compile(model, comp):
    kwargs = deserialize_compile(comp)
    try:
        model.compile(**kwargs)
    except (TypeError, ValueError) as e:
        raise ValueError(f"model file: cannot restore the compile settings ({e})") from None


def save_weights(model, path, overwrite: bool = True) -> None:
    """Write only the weights, as a safetensors file (atomically)."""
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"save_weights: {path} exists and overwrite=False")
    data = _arrays_to_bytes(_model_weights(model))
    with atomic_write(path) as f:
        f.write(data)


def load_weights(model, path) -> None:
    """Load weights written by save_weights (a .safetensors file) or model.save (a model file)."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError as e:
        raise ValueError(f"cannot load weights from {path}: {e.strerror or e}") from None
    if head == b"PK\x03\x04":
        with _Archive(path) as ar:
            arrays = _bytes_to_arrays(ar.read(WEIGHTS_MEMBER), WEIGHTS_MEMBER)
    else:
        size = os.path.getsize(path)
        if size > MAX_ARRAY_BYTES:
            raise ValueError(f"cannot load weights from {path}: {size} bytes is over the limit")
        with open(path, "rb") as f:
            data = f.read()
        arrays = _bytes_to_arrays(data, os.path.basename(path))
    if not model.built:
        raise ValueError("load_weights: build the model first (call it on data, or give input_shape)")
    _check_and_assign_weights(model, arrays, f"cannot load weights from {path}")
