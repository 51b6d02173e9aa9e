"""Reading .npz files that hold object arrays (IMDB, Reuters) without running any code from them.

NumPy stores an object array as a pickle, and unpickling can call any function the file names. This
reader rebuilds only what those data sets hold -- a 1-D array of lists of ints -- from a pickle that
names nothing but NumPy's array reconstruction: any other global (os.system, builtins.eval, ...)
raises before it is looked up, and a pickle that rebuilds anything but lists of ints is refused once
read. Plain numeric members are read with allow_pickle=False.
"""
from __future__ import annotations

import io
import pickle
import zipfile

import numpy as np

# what numpy.save writes for an object array, and nothing else
_ALLOWED_GLOBALS = frozenset({
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
})
MAX_MEMBER_BYTES = 1 << 30


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"the pickle asks for {module}.{name}, which a data file has no reason to name")

    def persistent_load(self, pid):
        raise pickle.UnpicklingError("the pickle holds a persistent id")


def _int_lists(obj, member, where):
    """`obj` must be a 1-D object array whose items are lists of Python ints."""
    if not isinstance(obj, np.ndarray) or obj.dtype != object or obj.ndim != 1:
        got = f"a {obj.dtype} array of shape {obj.shape}" if isinstance(obj, np.ndarray) else type(obj).__name__
        raise ValueError(f"{where}: member {member!r} rebuilds {got}, expected a 1-D array of integer sequences")
    for i, seq in enumerate(obj):
        if type(seq) is not list or any(type(v) is not int for v in seq):
            raise ValueError(f"{where}: member {member!r} item {i} is not a list of ints "
                             f"(a {type(seq).__name__}); the file is not the expected data set")
    return obj


def _read_member(raw: bytes, member, where):
    fp = io.BytesIO(raw)
    version = np.lib.format.read_magic(fp)
    if version == (1, 0):
        shape, _, dtype = np.lib.format.read_array_header_1_0(fp)
    elif version in ((2, 0), (3, 0)):
        shape, _, dtype = np.lib.format.read_array_header_2_0(fp)
    else:
        raise ValueError(f"{where}: member {member!r} has an unknown .npy version {version}")
    if not dtype.hasobject:
        fp.seek(0)
        return np.lib.format.read_array(fp, allow_pickle=False)
    if dtype != object:
        raise ValueError(f"{where}: member {member!r} has dtype {dtype}, which holds Python objects")
    try:
        obj = _RestrictedUnpickler(fp).load()
    except Exception as e:  # UnpicklingError, and whatever a malformed pickle makes NumPy raise
        raise ValueError(f"{where}: refusing to read member {member!r}: {e}. The file is corrupted or was "
                         f"crafted; nothing in it was run.") from None
    obj = _int_lists(obj, member, where)
    if obj.shape != tuple(shape):
        raise ValueError(f"{where}: member {member!r} rebuilds shape {obj.shape}, its header says {shape}")
    return obj


def load_npz(path, where):
    """{name: array} of every .npy member of the .npz file at `path`, read as the module docstring says."""
    out = {}
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as e:
        raise ValueError(f"{where}: {path} is not an .npz file ({e})") from None
    with archive:
        for info in archive.infolist():
            if not info.filename.endswith(".npy"):
                continue
            if info.file_size > MAX_MEMBER_BYTES:
                raise ValueError(f"{where}: member {info.filename!r} claims {info.file_size} bytes")
            name = info.filename[:-4]
            out[name] = _read_member(archive.read(info), name, where)
    return out
