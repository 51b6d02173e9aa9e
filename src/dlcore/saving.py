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
parsed with the standard parser, layer classes are looked up by name in a registry of dlcore's
layers (never imported or evaluated), weight names and shapes are checked against the rebuilt
model before any weight is assigned. Every problem raises ValueError.
"""
from __future__ import annotations

import json
import numbers
import os
import zipfile

import numpy as np

from ._version import __version__
from .io_utils import atomic_write

__all__ = ["save_model", "load_model", "save_weights", "load_weights", "register_serializable",
           "serialize_layer", "deserialize_layer", "atomic_write"]

FORMAT = "dlcore.model"
FORMAT_VERSION = 1
ARCH_MEMBER = "dlcore.json"
WEIGHTS_MEMBER = "model.safetensors"
OPT_ARRAYS_MEMBER = "optimizer.safetensors"
OPT_JSON_MEMBER = "optimizer.json"
KNOWN_MEMBERS = (ARCH_MEMBER, WEIGHTS_MEMBER, OPT_ARRAYS_MEMBER, OPT_JSON_MEMBER)

MAX_JSON_BYTES = 64 << 20        # the architecture and scalar state are small
MAX_ARRAY_BYTES = 64 << 30       # 64 GiB of weights, and never more than the file holds
MAX_MEMBERS = 16
MAX_NESTING = 64                 # models nested inside models, JSON depth


# --------------------------------------------------------------------------------------------
# Registry of classes a file may name
# --------------------------------------------------------------------------------------------

_CUSTOM = {}


def register_serializable(cls=None, *, name=None):
    """Let files name your own layer (or model) class: use as a decorator on the class.

    Only registered classes and dlcore's own layers can be rebuilt from a file.
    """
    def wrap(c):
        _CUSTOM[name or c.__name__] = c
        return c
    return wrap(cls) if cls is not None else wrap


def _registry():
    """name -> class for every class a model file may name: dlcore's layers, models, custom ones."""
    from . import layers as _layers
    from . import models as _models
    from .module import Module
    table = {}
    for mod in (_layers,):
        for n in dir(mod):
            obj = getattr(mod, n)
            if isinstance(obj, type) and issubclass(obj, Module) and not n.startswith("_"):
                table[n] = obj
                table.setdefault(obj.__name__, obj)
    for n in ("Sequential", "Model", "Functional", "InputLayer"):
        if hasattr(_models, n):
            table[n] = getattr(_models, n)
    table.update(_CUSTOM)
    return table


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
    cls = _registry().get(name)
    if cls is None:
        raise ValueError(f"model file: unknown layer class {name!r}; only dlcore's layers and classes "
                         "registered with dlcore.saving.register_serializable can be loaded")
    config = dict(spec.get("config", {}))
    try:
        if hasattr(cls, "from_config"):
            layer = cls.from_config(config, _depth=depth + 1) if _takes_depth(cls) else cls.from_config(config)
        else:
            layer = cls(**config)
    except ValueError:
        raise
    except Exception as e:  # TypeError for unknown arguments and the like
        raise ValueError(f"model file: cannot build {name} from its config: {type(e).__name__}: {e}") from None
    return layer


def _takes_depth(cls) -> bool:
    return getattr(cls, "_from_config_takes_depth", False)


def _short(obj, n=120) -> str:
    s = repr(obj)
    return s if len(s) <= n else s[:n] + "..."


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


# --------------------------------------------------------------------------------------------
# Arrays <-> safetensors bytes, nested state <-> (arrays, JSON)
# --------------------------------------------------------------------------------------------

def _to_numpy(v):
    if isinstance(v, np.ndarray):
        return v
    if hasattr(v, "numpy") and callable(v.numpy):
        return np.asarray(v.numpy())
    if hasattr(v, "get") and hasattr(v, "__cuda_array_interface__"):  # a CuPy array
        return v.get()
    return None


def _arrays_to_bytes(arrays: dict) -> bytes:
    from safetensors.numpy import save
    return save({k: np.ascontiguousarray(v) for k, v in arrays.items()})


def _bytes_to_arrays(data: bytes, what: str) -> dict:
    from safetensors.numpy import load
    try:
        arrays = load(data)
    except Exception as e:
        raise ValueError(f"model file: {what} is not valid safetensors data ({type(e).__name__}: {e})") from None
    return arrays


def _flatten_state(obj, prefix, arrays):
    """Split a nested state (dicts, lists, arrays, scalars) into JSON and a name -> array dict.

    Arrays are replaced in the JSON by {"__array__": name}.
    """
    arr = _to_numpy(obj) if not isinstance(obj, (dict, list, tuple, str, bytes, numbers.Number, type(None))) else None
    if isinstance(obj, np.ndarray) or arr is not None:
        a = obj if isinstance(obj, np.ndarray) else arr
        name = prefix or "value"
        arrays[name] = a
        return {"__array__": name}
    if isinstance(obj, np.generic):
        return obj.item()
    if obj is None or isinstance(obj, (bool, str, int, float)):
        return obj
    if isinstance(obj, dict):
        return {"__dict__": [[_jsonable_key(k), _flatten_state(v, f"{prefix}.{k}" if prefix else str(k), arrays)]
                             for k, v in obj.items()]}
    if isinstance(obj, (list, tuple)):
        return {"__list__": [_flatten_state(v, f"{prefix}.{i}" if prefix else str(i), arrays)
                             for i, v in enumerate(obj)], "tuple": isinstance(obj, tuple)}
    raise ValueError(f"cannot save optimizer state: {prefix} is a {type(obj).__name__}")


def _jsonable_key(k):
    if isinstance(k, (bool, str, int, float)) or k is None:
        return k
    if isinstance(k, np.integer):
        return int(k)
    raise ValueError(f"cannot save optimizer state: key {k!r} is a {type(k).__name__}")


def _unflatten_state(obj, arrays, depth=0):
    if depth > MAX_NESTING:
        raise ValueError("model file: optimizer state nested too deeply")
    if isinstance(obj, dict):
        if set(obj) == {"__array__"}:
            name = obj["__array__"]
            if not isinstance(name, str) or name not in arrays:
                raise ValueError(f"model file: optimizer state names a missing array {_short(name)}")
            return arrays[name]
        if set(obj) == {"__dict__"} and isinstance(obj["__dict__"], list):
            out = {}
            for item in obj["__dict__"]:
                if not (isinstance(item, list) and len(item) == 2):
                    raise ValueError("model file: malformed optimizer state")
                out[item[0]] = _unflatten_state(item[1], arrays, depth + 1)
            return out
        if set(obj) == {"__list__", "tuple"} and isinstance(obj["__list__"], list):
            items = [_unflatten_state(v, arrays, depth + 1) for v in obj["__list__"]]
            return tuple(items) if obj["tuple"] else items
        raise ValueError("model file: malformed optimizer state")
    if obj is None or isinstance(obj, (bool, str, int, float)):
        return obj
    raise ValueError("model file: malformed optimizer state")


# --------------------------------------------------------------------------------------------
# Reading an archive safely
# --------------------------------------------------------------------------------------------

class _Archive:
    """A model archive opened read-only, with every member's declared size checked up front."""

    def __init__(self, path):
        self.path = os.fspath(path)
        try:
            self.size = os.path.getsize(self.path)
            with open(self.path, "rb") as f:
                head = f.read(4)
        except OSError as e:
            raise ValueError(f"cannot load {self.path}: {e.strerror or e}") from None
        if head != b"PK\x03\x04":
            raise ValueError(f"cannot load {self.path}: not a dlcore model file (not a zip archive); "
                             "was it written by model.save()?")
        try:
            self.zip = zipfile.ZipFile(self.path, "r")
            infos = self.zip.infolist()
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
            raise ValueError(f"cannot load {self.path}: the archive is truncated or corrupted ({e})") from None
        if len(infos) > MAX_MEMBERS:
            raise ValueError(f"cannot load {self.path}: {len(infos)} members, a model file has at most {MAX_MEMBERS}")
        self.infos = {}
        for info in infos:
            if info.filename in self.infos:
                raise ValueError(f"cannot load {self.path}: member {info.filename!r} appears twice")
            if info.filename not in KNOWN_MEMBERS:
                continue  # ignored, never read
            limit = MAX_JSON_BYTES if info.filename.endswith(".json") else MAX_ARRAY_BYTES
            if info.file_size > limit:
                raise ValueError(f"cannot load {self.path}: member {info.filename} claims {info.file_size} bytes "
                                 f"(limit {limit})")
            if info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size:
                raise ValueError(f"cannot load {self.path}: member {info.filename} has inconsistent sizes")
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise ValueError(f"cannot load {self.path}: member {info.filename} uses an unsupported compression")
            if info.compress_size > self.size:
                raise ValueError(f"cannot load {self.path}: member {info.filename} is larger than the file "
                                 "(truncated?)")
            self.infos[info.filename] = info

    def has(self, name) -> bool:
        return name in self.infos

    def read(self, name) -> bytes:
        if name not in self.infos:
            raise ValueError(f"cannot load {self.path}: member {name} is missing")
        info = self.infos[name]
        try:
            with self.zip.open(info) as f:
                data = f.read(info.file_size + 1)  # never more than declared (+1 to notice lies)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, RuntimeError) as e:
            raise ValueError(f"cannot load {self.path}: member {name} is corrupted ({e})") from None
        except Exception as e:  # zlib.error and friends
            raise ValueError(f"cannot load {self.path}: member {name} is corrupted ({type(e).__name__}: {e})") from None
        if len(data) != info.file_size:
            raise ValueError(f"cannot load {self.path}: member {name} is corrupted (size mismatch)")
        return data

    def read_json(self, name):
        data = self.read(name)
        try:
            return json.loads(data.decode("utf-8"), parse_constant=_reject_constant)
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError, ValueError) as e:
            raise ValueError(f"cannot load {self.path}: member {name} is not valid JSON ({type(e).__name__}: {e})") \
                from None

    def close(self):
        self.zip.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _reject_constant(name):
    raise ValueError(f"{name} is not allowed")


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
    if not hasattr(model, "_serialize_architecture"):
        raise ValueError(f"cannot save {type(model).__name__}: not a dlcore model")
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "dlcore_version": __version__,
        "model": model._serialize_architecture(),
        "compile": model._serialize_compile() if include_optimizer else None,
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
    """Compare names, shapes and dtypes with the model's, then assign all weights at once."""
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
        if np.issubdtype(new.dtype, np.floating) and not np.all(np.isfinite(new)):
            pass  # NaN weights are legal data (a diverged model); keep them
        ready[name] = np.array(new, dtype=cur.dtype, copy=True)
    model.load_state_dict(ready)


MAX_INPUT_ELEMENTS = 1 << 28     # one sample of the recorded input shape (used to build the model)


def _check_plausible(arch, weights: dict, path):
    """Refuse architectures whose sizes the weights file cannot back, BEFORE anything is allocated.

    Building a model allocates its weights, so a hostile file could ask for Dense(10**6) layers and
    exhaust memory before the weight check runs. In a real model every size in a layer config
    (units, filters, kernel sizes, ...) is at most the number of weight values saved, and the file
    holds at most a few layers per saved tensor; input shapes are bounded separately.
    """
    total = sum(int(np.prod(a.shape)) for a in weights.values())
    bound = max(total, 4096)
    n_layers = [0]

    def walk(obj, key, depth):
        if depth > MAX_NESTING:
            raise ValueError(f"cannot load {path}: the architecture is nested too deeply")
        if isinstance(obj, dict):
            if "class_name" in obj:
                n_layers[0] += 1
            for k, v in obj.items():
                walk(v, str(k), depth + 1)
        elif isinstance(obj, list):
            if "shape" in key or key in ("inputs",):
                dims = [d for d in obj if isinstance(d, int) and not isinstance(d, bool)]
                if any(d < 0 for d in dims) or (dims and int(np.prod([max(d, 1) for d in dims], dtype=np.float64))
                                                > MAX_INPUT_ELEMENTS):
                    raise ValueError(f"cannot load {path}: implausible shape {obj[:8]} in the architecture")
                for v in obj:
                    if isinstance(v, list):
                        walk(v, key, depth + 1)
                return
            for v in obj:
                walk(v, key, depth + 1)
        elif isinstance(obj, int) and not isinstance(obj, bool):
            if abs(obj) > bound:
                raise ValueError(f"cannot load {path}: {key}={obj} in the architecture is larger than the "
                                 f"{total} weight values the file holds")
    walk(arch, "", 0)
    if n_layers[0] > 4 * len(weights) + 256:
        raise ValueError(f"cannot load {path}: {n_layers[0]} layers for {len(weights)} saved weight tensors")


def load_model(path, compile: bool = True, custom_objects=None):
    """Rebuild a model saved with model.save(path): same architecture, weights and optimizer state."""
    if custom_objects:
        for name, cls in custom_objects.items():
            register_serializable(cls, name=name)
    with _Archive(path) as ar:
        meta = ar.read_json(ARCH_MEMBER)
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise ValueError(f"cannot load {path}: not a dlcore model file (format tag missing)")
        if not isinstance(meta.get("format_version"), int) or meta["format_version"] > FORMAT_VERSION:
            raise ValueError(f"cannot load {path}: format version {meta.get('format_version')!r} is newer than "
                             f"this dlcore reads ({FORMAT_VERSION}); upgrade dlcore")
        from .models import model_from_config
        weights = _bytes_to_arrays(ar.read(WEIGHTS_MEMBER), WEIGHTS_MEMBER)
        _check_plausible(meta.get("model"), weights, path)
        try:
            model = model_from_config(meta.get("model"))
        except RecursionError:
            raise ValueError(f"cannot load {path}: the architecture is nested too deeply") from None
        _check_and_assign_weights(model, weights, f"cannot load {path}")
        comp = meta.get("compile")
        if compile and comp:
            model._deserialize_compile(comp)
            if ar.has(OPT_JSON_MEMBER) and ar.has(OPT_ARRAYS_MEMBER) and model.optimizer is not None:
                arrays = _bytes_to_arrays(ar.read(OPT_ARRAYS_MEMBER), OPT_ARRAYS_MEMBER)
                state = _unflatten_state(ar.read_json(OPT_JSON_MEMBER), arrays)
                try:
                    model._load_optimizer_state(state)
                except ValueError:
                    raise
                except Exception as e:
                    raise ValueError(f"cannot load {path}: optimizer state does not fit the model "
                                     f"({type(e).__name__}: {e})") from None
    return model


def save_weights(model, path) -> None:
    """Write only the weights, as a safetensors file (atomically)."""
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
