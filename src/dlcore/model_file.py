"""The model file format: what a dlcore model file holds, and reading one without trusting it.

A model file is a zip archive of the members named below (dlcore.saving's docstring says what each
holds). This module knows the format and nothing of models: the members and the limits on their
sizes, the archive opened with every declared size checked before anything is read (`_Archive`),
arrays to and from safetensors bytes, a nested optimizer state split into JSON and named arrays and
joined again, and the check that an architecture asks for no more than its weights can back
(`_check_plausible`, run before anything is built). Every problem raises ValueError.
dlcore.saving builds the models, the registry and save / load on it; like dlcore.saving, this
module imports no other part of dlcore.
"""
from __future__ import annotations

import json
import numbers
import os
import zipfile

import numpy as np

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


def _short(obj, n=120) -> str:
    s = repr(obj)
    return s if len(s) <= n else s[:n] + "..."


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
    # np.require, not np.ascontiguousarray, which turns a 0-d weight (a learned scalar) into shape (1,)
    return save({k: np.require(v, requirements="C") for k, v in arrays.items()})


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
                if not (isinstance(item, list) and len(item) == 2) or not (
                        item[0] is None or isinstance(item[0], (bool, str, int, float))):
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
# An architecture checked against the weights it comes with
# --------------------------------------------------------------------------------------------

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
            if key in ("vocabulary", "idf_weights"):  # a lookup layer's tokens: data, not sizes
                return
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
