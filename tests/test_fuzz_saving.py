"""Fuzzing load_model with mutated model files.

Files of a few model kinds (dense with optimizer state, convolutional with batch normalisation,
functional, recurrent) are mutated: random byte flips, truncation, values anywhere in the
architecture or the optimizer's JSON replaced by hostile ones (huge or negative numbers, wrong
types, deep nesting, NaN literals), weight tensors reshaped, recast, renamed, dropped or added,
members dropped, duplicated or added. Property: load_model returns a model that predicts, or raises
ValueError -- never another exception, a crash, a hang, or an allocation far beyond the file's size.
"""
from __future__ import annotations

import faulthandler
import io
import json
import os
import tempfile
import tracemalloc
import zipfile

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from safetensors.numpy import load as st_load
from safetensors.numpy import save as st_save

import dlcore as dl
from dlcore import saving
from fuzzing import fuzz_settings, long_fuzz

FUZZ_EXAMPLES = 60
FUZZ_LONG_EXAMPLES = int(os.environ.get("DLCORE_FUZZ_EXAMPLES", "300")) * 4
_FILES = {}



def _model(kind):
    dl.manual_seed(0)
    L = dl.layers
    if kind == "dense":
        m = dl.Sequential([L.Dense(8, activation="relu", input_shape=(5,)), L.Dropout(0.2), L.Dense(3)])
        m.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        m.fit(np.ones((8, 5), np.float32), np.zeros(8, np.int64), verbose=0)
    elif kind == "conv":
        m = dl.Sequential([L.Conv2D(4, 3, padding="same", input_shape=(6, 6, 2)), L.BatchNormalization(),
                           L.MaxPooling2D(2), L.Flatten(), L.Dense(2, activation="softmax")])
        m.compile("sgd", "categorical_crossentropy")
    elif kind == "functional":
        inputs = dl.Input((4,))
        h = L.Dense(6, activation="tanh")(inputs)
        m = dl.Model(inputs, L.Dense(1)(h))
        m.compile(dl.optimizers.RMSprop(learning_rate=0.01, momentum=0.5, centered=True), "mse")
        m.fit(np.ones((4, 4), np.float32), np.ones((4, 1), np.float32), verbose=0)
    else:
        m = dl.Sequential([L.LSTM(3, return_sequences=True, input_shape=(5, 2)), L.GRU(2)])
    return m


def model_file(kind):
    if kind not in _FILES:
        path = os.path.join(tempfile.mkdtemp(prefix="dlcore_fuzz_"), f"{kind}.dlc")
        _model(kind).save(path)
        with open(path, "rb") as f:
            _FILES[kind] = f.read()
    return _FILES[kind]


def members_of(raw):
    with zipfile.ZipFile(io.BytesIO(raw)) as z:
        return [(i.filename, z.read(i.filename)) for i in z.infolist()]


def pack(members):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members:
            z.writestr(name, data, compress_type=zipfile.ZIP_STORED if name.endswith(".safetensors")
                       else zipfile.ZIP_DEFLATED)
    return buf.getvalue()


HOSTILE_JSON = [-1, 0, 1, 2 ** 62, 10 ** 9, 4096, 1.5, -0.5, "x", "", None, [], {}, [[[[1]]]], True, False,
                [None, 10 ** 6, 10 ** 6], {"class_name": "Dense", "config": {"units": 10 ** 6}},
                {"class_name": "os.system", "config": {"command": "true"}}, {"__array__": "x"},
                {"__dict__": [[["k"], 1]]}, {"__list__": [1], "tuple": "?"}]


def _paths(tree, prefix=()):
    yield prefix
    if isinstance(tree, dict):
        for k, v in tree.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(tree, list):
        for i, v in enumerate(tree):
            yield from _paths(v, prefix + (i,))


def _set(tree, path, value):
    if not path:
        return value
    node = tree
    for p in path[:-1]:
        node = node[p]
    node[path[-1]] = value
    return tree


def mutate_json(d, data):
    tree = json.loads(data)
    paths = list(_paths(tree))
    for _ in range(d.draw(st.integers(1, 3))):
        path = d.draw(st.sampled_from(paths))
        try:
            tree = _set(tree, path, d.draw(st.sampled_from(HOSTILE_JSON)))
        except (KeyError, IndexError, TypeError):
            pass
        paths = list(_paths(tree))
    text = json.dumps(tree)
    if d.draw(st.integers(0, 9)) == 0:
        text = text.replace("0.2", "NaN", 1).replace("8", "Infinity", 1)
    if d.draw(st.integers(0, 19)) == 0:
        text = "[" * 5000 + text + "]" * 5000
    return text.encode()


def mutate_weights(d, data):
    arrays = st_load(data)
    names = sorted(arrays)
    name = d.draw(st.sampled_from(names)) if names else None
    kind = d.draw(st.sampled_from(["reshape", "int", "float16", "bool", "drop", "add", "rename", "huge dim", "nan"]))
    a = arrays.get(name)
    if a is not None:
        if kind == "reshape":
            arrays[name] = np.zeros(a.shape + (2,), a.dtype)
        elif kind == "int":
            arrays[name] = a.astype(np.int32)
        elif kind == "float16":
            arrays[name] = a.astype(np.float16)
        elif kind == "bool":
            arrays[name] = a > 0
        elif kind == "drop":
            del arrays[name]
        elif kind == "rename":
            arrays[name + "_x"] = arrays.pop(name)
        elif kind == "huge dim":
            arrays[name] = np.zeros((0,) * a.ndim + (1 << 20,), a.dtype)
        elif kind == "nan":
            arrays[name] = np.full(a.shape, np.nan, a.dtype)
    if kind == "add":
        arrays["extra"] = np.zeros(3, np.float32)
    return st_save(arrays)


def mutated_file(d):
    kind = d.draw(st.sampled_from(["dense", "conv", "functional", "recurrent"]))
    raw = model_file(kind)
    how = d.draw(st.sampled_from(["bytes", "truncate", "json", "weights", "optimizer", "members"]))
    if how == "bytes":
        raw = bytearray(raw)
        for _ in range(d.draw(st.integers(1, 8))):
            raw[d.draw(st.integers(0, len(raw) - 1))] = d.draw(st.integers(0, 255))
        return kind, how, bytes(raw)
    if how == "truncate":
        return kind, how, raw[:d.draw(st.integers(0, len(raw) - 1))]
    members = members_of(raw)
    names = [n for n, _ in members]
    if how == "json":
        target = saving.ARCH_MEMBER
    elif how == "weights":
        target = saving.WEIGHTS_MEMBER
    elif how == "optimizer":
        target = d.draw(st.sampled_from([n for n in names if n.startswith("optimizer")] or [saving.ARCH_MEMBER]))
    else:
        op = d.draw(st.sampled_from(["drop", "duplicate", "add", "empty"]))
        victim = d.draw(st.sampled_from(names))
        if op == "drop":
            members = [(n, b) for n, b in members if n != victim]
        elif op == "duplicate":
            members = members + [(victim, dict(members)[victim])]
        elif op == "add":
            members = members + [("../../evil.txt", b"x"), ("extra.json", b"{}")]
        else:
            members = [(n, b"" if n == victim else b) for n, b in members]
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # zipfile warns about the duplicate name
            return kind, f"members {op} {victim}", pack(members)
    out = []
    for n, b in members:
        if n == target:
            b = mutate_weights(d, b) if n.endswith(".safetensors") else mutate_json(d, b)
        out.append((n, b))
    return kind, f"{how} {target}", pack(out)


def check_load(d, tmpdir):
    kind, how, raw = mutated_file(d)
    path = os.path.join(tmpdir, "fuzzed.dlc")
    with open(path, "wb") as f:
        f.write(raw)
    faulthandler.dump_traceback_later(120, exit=True)
    tracemalloc.start()
    try:
        try:
            model = dl.models.load_model(path)
        except ValueError:
            return
        finally:
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
        assert peak <= 8 * len(raw) + (32 << 20), f"{kind} / {how}: {peak} bytes allocated for a {len(raw)}-byte file"
        shape = model._build_input_shape
        if shape is not None and not isinstance(shape[0], (list, tuple)):
            x = np.ones((2,) + tuple(shape[1:]), np.float32)
            try:
                with np.errstate(all="ignore"):
                    model.predict(x)
            except (ValueError, TypeError):
                pass
    finally:
        faulthandler.cancel_dump_traceback_later()


def test_fuzz_load_model(tmp_path):
    @fuzz_settings(FUZZ_EXAMPLES)
    @given(st.data())
    def prop(data):
        check_load(data, str(tmp_path))
    prop()


@long_fuzz
@pytest.mark.slow
def test_fuzz_load_model_long(tmp_path):
    @fuzz_settings(FUZZ_LONG_EXAMPLES, long=True)
    @given(st.data())
    def prop(data):
        check_load(data, str(tmp_path))
    prop()
