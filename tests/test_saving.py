"""model.save / load_model / save_weights / load_weights: round trips, atomicity, hostile files."""
import json
import os
import pathlib
import signal
import subprocess
import sys
import textwrap
import time
import zipfile

import numpy as np
import pytest

import dlcore as dl
from dlcore import model_file, saving

ROOT = pathlib.Path(__file__).resolve().parent.parent


def small_model(units=8, compile=True):
    dl.manual_seed(0)
    m = dl.Sequential([dl.layers.Dense(units, activation="relu", input_shape=(5,)),
                       dl.layers.Dropout(0.1),
                       dl.layers.Dense(3, activation="softmax")])
    if compile:
        m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return m


def data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 1).astype(np.int64)
    return x, y


def test_roundtrip_same_predictions_and_optimizer_state(tmp_path):
    x, y = data()
    m = small_model()
    m.fit(x, y, epochs=2, batch_size=16, verbose=0, shuffle=False)
    path = tmp_path / "m.dlc"
    m.save(path)
    m2 = dl.models.load_model(path)
    assert type(m2) is dl.Sequential and len(m2.layers) == 3
    np.testing.assert_array_equal(m.predict(x), m2.predict(x))
    for a, b in zip(m.get_weights(), m2.get_weights()):
        np.testing.assert_array_equal(a, b)
    # training resumes where it stopped: the same next steps give the same weights
    dl.manual_seed(5)  # the same dropout masks for both
    m.fit(x, y, epochs=1, batch_size=16, verbose=0, shuffle=False)
    dl.manual_seed(5)
    m2.fit(x, y, epochs=1, batch_size=16, verbose=0, shuffle=False)
    for a, b in zip(m.get_weights(), m2.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert m2.evaluate(x, y, verbose=0) == pytest.approx(m.evaluate(x, y, verbose=0), rel=1e-6)


def test_file_layout_no_pickle(tmp_path):
    m = small_model()
    x, y = data()
    m.fit(x, y, epochs=1, verbose=0)
    path = tmp_path / "m.dlc"
    m.save(path)
    with zipfile.ZipFile(path) as z:
        names = set(z.namelist())
        meta = json.loads(z.read("dlcore.json"))
        for name in names:
            assert not z.read(name).startswith(b"\x80")  # no pickle protocol header
    assert names == {"dlcore.json", "model.safetensors", "optimizer.safetensors", "optimizer.json"}
    assert meta["format"] == "dlcore.model"
    assert [l["class_name"] for l in meta["model"]["config"]["layers"]] == ["Dense", "Dropout", "Dense"]
    assert meta["compile"]["loss"] == "sparse_categorical_crossentropy"


# the two modules that may import pickle: the restricted reader of the IMDB / Reuters files (it rebuilds
# lists of ints and refuses every global but NumPy's array reconstruction), and the DataLoader workers
# (batches between processes of the same program, as multiprocessing sends them anyway)
PICKLE_ALLOWED = {"datasets/_npz.py", "data_workers.py"}


def test_source_has_no_pickle():
    for p in (ROOT / "src" / "dlcore").rglob("*.py"):
        text = p.read_text()
        rel = p.relative_to(ROOT / "src" / "dlcore").as_posix()
        assert ("import pickle" not in text or rel in PICKLE_ALLOWED) and "allow_pickle=True" not in text, p


def test_unfitted_and_uncompiled_models_roundtrip(tmp_path):
    m = small_model(compile=False)
    path = tmp_path / "u.dlc"
    m.save(path)
    m2 = dl.models.load_model(path)
    x, _ = data()
    np.testing.assert_array_equal(m.predict(x), m2.predict(x))
    with pytest.raises(RuntimeError, match="compile"):
        m2.fit(x, x[:, 0], verbose=0)


def test_nested_sequential_and_functional_roundtrip(tmp_path):
    dl.manual_seed(1)
    enc = dl.Sequential([dl.layers.Dense(4, activation="relu", input_shape=(6,)), dl.layers.Dense(2)])
    dec = dl.Sequential([dl.layers.Dense(4, activation="relu", input_shape=(2,)), dl.layers.Dense(6)])
    ae = dl.Sequential([enc, dec])
    ae.compile(optimizer="sgd", loss="mse")
    x = np.random.default_rng(0).normal(size=(10, 6)).astype(np.float32)
    ae.fit(x, x, epochs=1, verbose=0)
    ae.save(tmp_path / "ae.dlc")
    ae2 = dl.models.load_model(tmp_path / "ae.dlc")
    np.testing.assert_array_equal(ae.predict(x), ae2.predict(x))
    assert isinstance(ae2.layers[0], dl.Sequential)

    inp = dl.Input((6,))
    h = dl.layers.Dense(5, activation="tanh")(inp)
    out = dl.layers.Dense(1)(h)
    f = dl.Model(inp, out)
    f.compile(optimizer="adam", loss="mse")
    f.fit(x, x[:, :1], epochs=1, verbose=0)
    f.save(tmp_path / "f.dlc")
    f2 = dl.models.load_model(tmp_path / "f.dlc")
    np.testing.assert_array_equal(f.predict(x), f2.predict(x))


def test_save_and_load_weights(tmp_path):
    m = small_model()
    x, y = data()
    m.fit(x, y, epochs=1, verbose=0)
    m.save_weights(tmp_path / "w.safetensors")
    m2 = small_model(units=8)
    dl.manual_seed(99)
    m2 = dl.Sequential([dl.layers.Dense(8, activation="relu", input_shape=(5,)), dl.layers.Dropout(0.1),
                        dl.layers.Dense(3, activation="softmax")])
    m2.load_weights(tmp_path / "w.safetensors")
    np.testing.assert_array_equal(m.predict(x), m2.predict(x))
    m.save(tmp_path / "m.dlc")
    m3 = small_model()
    m3.set_weights([w * 0 for w in m3.get_weights()])
    m3.load_weights(tmp_path / "m.dlc")
    np.testing.assert_array_equal(m.predict(x), m3.predict(x))
    wrong = dl.Sequential([dl.layers.Dense(9, activation="relu", input_shape=(5,)), dl.layers.Dropout(0.1),
                           dl.layers.Dense(3, activation="softmax")])
    before = wrong.get_weights()
    with pytest.raises(ValueError, match="shape"):
        wrong.load_weights(tmp_path / "w.safetensors")
    for a, b in zip(before, wrong.get_weights()):  # nothing half-updated
        np.testing.assert_array_equal(a, b)


def test_failed_save_leaves_previous_file(tmp_path, monkeypatch):
    m = small_model()
    path = tmp_path / "m.dlc"
    m.save(path)
    before = path.read_bytes()

    def boom(arrays):
        raise RuntimeError("disk full")
    monkeypatch.setattr(saving, "_arrays_to_bytes", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        m.save(path)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["m.dlc"]  # no temporary file left behind


@pytest.mark.slow
def test_killed_mid_save_leaves_previous_file_intact(tmp_path):
    """A process SIGKILLed while saving a big model must leave the old file loadable."""
    path = tmp_path / "big.dlc"
    small_model().save(path)
    old = path.read_bytes()
    script = textwrap.dedent(f"""
        import dlcore as dl
        m = dl.Sequential([dl.layers.Dense(4096, input_shape=(4096,)), dl.layers.Dense(4096)])  # 128 MiB
        m.compile(optimizer="adam", loss="mse")
        print("ready", flush=True)
        while True:
            m.save({str(path)!r})
    """)
    # cwd outside the source tree: the child must import the installed dlcore, not ./dlcore
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        assert proc.stdout.readline().strip() == "ready"
        deadline = time.time() + 60
        killed_mid_save = False
        while time.time() < deadline:
            tmps = [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]
            if tmps:
                proc.send_signal(signal.SIGKILL)
                killed_mid_save = True
                break
            time.sleep(0.001)
        assert killed_mid_save, "never saw the save in progress"
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # either the old file (killed before the rename) or a complete new one: both must load
    data_now = path.read_bytes()
    model = dl.models.load_model(path)
    if data_now == old:
        assert model.layers[0].units == 8
    else:
        assert model.layers[0].units == 4096


# ---------------------------------------------------------------------------------------------
# hostile and damaged files
# ---------------------------------------------------------------------------------------------

@pytest.fixture
def saved(tmp_path):
    m = small_model()
    x, y = data()
    m.fit(x, y, epochs=1, verbose=0)
    path = tmp_path / "m.dlc"
    m.save(path)
    return path


def rewrite(path, replace=None, drop=(), add=None, meta_fn=None):
    """Rebuild the archive with some members replaced / dropped / added."""
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    if meta_fn is not None:
        meta = json.loads(members["dlcore.json"])
        meta_fn(meta)
        members["dlcore.json"] = json.dumps(meta).encode()
    members.update(replace or {})
    members.update(add or {})
    for d in drop:
        members.pop(d, None)
    with zipfile.ZipFile(path, "w") as z:
        for n, b in members.items():
            z.writestr(n, b, compress_type=zipfile.ZIP_STORED if n.endswith("safetensors") else zipfile.ZIP_DEFLATED)


def expect_error(path, match=None):
    with pytest.raises(ValueError, match=match):
        dl.models.load_model(path)


def test_truncated_file(saved):
    raw = saved.read_bytes()
    for cut in (len(raw) // 2, len(raw) - 10, 100, 3, 0):
        saved.write_bytes(raw[:cut])
        expect_error(saved)


def test_not_a_model_file(tmp_path):
    p = tmp_path / "x.dlc"
    p.write_bytes(b"hello world")
    expect_error(p, "not a dlcore model file")
    expect_error(tmp_path / "missing.dlc", "cannot load")
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("other.txt", "x")
    expect_error(p, "missing")


def test_corrupted_bytes(saved):
    raw = bytearray(saved.read_bytes())
    i = raw.find(b"model.safetensors")
    assert i > 0
    raw[i + 200:i + 260] = b"\xff" * 60  # inside the stored weights: CRC / header mismatch
    saved.write_bytes(bytes(raw))
    expect_error(saved)


def test_unknown_layer_class_executes_nothing(saved, tmp_path):
    marker = tmp_path / "pwned"

    def evil(meta):
        meta["model"]["config"]["layers"][0] = {
            "class_name": "__import__('os').system('touch " + str(marker) + "')", "config": {}}
    rewrite(saved, meta_fn=evil)
    expect_error(saved, "unknown layer class")
    assert not marker.exists()
    rewrite(saved, meta_fn=lambda m: m["model"]["config"]["layers"].__setitem__(0, {"class_name": "Popen",
                                                                                    "config": {"args": "ls"}}))
    expect_error(saved, "unknown layer class")


def test_bad_json_and_bad_config(saved):
    raw = saved.read_bytes()
    rewrite(saved, replace={"dlcore.json": b"{not json"})
    expect_error(saved, "not valid JSON")
    saved.write_bytes(raw)
    rewrite(saved, replace={"dlcore.json": b"[" * 100000 + b"]" * 100000})
    expect_error(saved)
    saved.write_bytes(raw)
    rewrite(saved, meta_fn=lambda m: m["model"]["config"]["layers"][0]["config"].__setitem__("no_such_arg", 1))
    expect_error(saved, "cannot build Dense")
    saved.write_bytes(raw)
    rewrite(saved, meta_fn=lambda m: m.__setitem__("format_version", 999))
    expect_error(saved, "newer")
    saved.write_bytes(raw)
    rewrite(saved, meta_fn=lambda m: m.__setitem__("format", "something else"))
    expect_error(saved, "format")
    saved.write_bytes(raw)
    rewrite(saved, meta_fn=lambda m: m.__setitem__("model", 5))
    expect_error(saved, "architecture")


def test_wrong_shapes(saved):
    rewrite(saved, meta_fn=lambda m: m["model"]["config"]["layers"][0]["config"].__setitem__("units", 9))
    expect_error(saved, "shape")


def test_missing_and_extra_weights(saved):
    from safetensors.numpy import load, save
    with zipfile.ZipFile(saved) as z:
        w = load(z.read("model.safetensors"))
    raw = saved.read_bytes()
    first = sorted(w)[0]
    rewrite(saved, replace={"model.safetensors": save({k: v for k, v in w.items() if k != first})})
    expect_error(saved, "missing")
    saved.write_bytes(raw)
    rewrite(saved, replace={"model.safetensors": save({**w, "extra": np.zeros(2, np.float32)})})
    expect_error(saved, "unexpected")
    saved.write_bytes(raw)
    rewrite(saved, replace={"model.safetensors": b"\x08\x00\x00\x00\x00\x00\x00\x00{}garbage"})
    expect_error(saved, "safetensors")


def test_zip_bomb_sizes(saved, monkeypatch):
    # a deflated member claiming more than the JSON limit is refused before it is inflated
    monkeypatch.setattr(model_file, "MAX_JSON_BYTES", 1 << 20)  # the archive reader's limit
    rewrite(saved, replace={"dlcore.json": b" " * (2 << 20)})
    expect_error(saved, "claims")
    # a stored member whose header claims more bytes than the file holds
    raw = bytearray(saved.read_bytes())
    rewrite(saved)
    raw = bytearray(saved.read_bytes())
    cd = raw.rfind(b"PK\x01\x02")
    while cd >= 0:
        name_len = int.from_bytes(raw[cd + 28:cd + 30], "little")
        name = bytes(raw[cd + 46:cd + 46 + name_len])
        if name == b"model.safetensors":
            raw[cd + 20:cd + 24] = (0xFFFFFFF0).to_bytes(4, "little")  # compressed size
            raw[cd + 24:cd + 28] = (0xFFFFFFF0).to_bytes(4, "little")  # uncompressed size
        cd = raw.rfind(b"PK\x01\x02", 0, cd)
    saved.write_bytes(bytes(raw))
    expect_error(saved)


def test_optimizer_state_malformed(saved):
    rewrite(saved, replace={"optimizer.json": b'{"__array__": "nope"}'})
    expect_error(saved, "optimizer")


def test_absurd_sizes_refused_before_allocation(saved):
    raw = saved.read_bytes()
    rewrite(saved, meta_fn=lambda m: m["model"]["config"]["layers"][0]["config"].__setitem__("units", 10 ** 9))
    expect_error(saved, "larger than")
    saved.write_bytes(raw)
    rewrite(saved, meta_fn=lambda m: m["model"].__setitem__("build_input_shape", [None, 10 ** 6, 10 ** 6]))
    expect_error(saved, "implausible shape")
    saved.write_bytes(raw)
    rewrite(saved, meta_fn=lambda m: m["model"]["config"]["layers"].extend(
        [{"class_name": "Dropout", "config": {"rate": 0.1}}] * 1000))
    expect_error(saved, "layers for")


def test_registered_subclassed_model_roundtrip(tmp_path):
    @saving.register_serializable
    class TwoLayerNet(dl.Model):
        def __init__(self, units=8, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.hidden = dl.layers.Dense(units, activation="tanh")
            self.out = dl.layers.Dense(2)

        def call(self, x, training=None):
            return self.out(self.hidden(x))

        def get_config(self):
            return {"units": self.units, "name": self.name}

    x, _ = data(20)
    m = TwoLayerNet(units=6)
    m.compile(optimizer="adam", loss="mse")
    m.fit(x, x[:, :2], epochs=2, verbose=0)
    m.save(tmp_path / "sub.dlc")
    m2 = dl.models.load_model(tmp_path / "sub.dlc")
    assert type(m2) is TwoLayerNet and m2.units == 6
    np.testing.assert_array_equal(m.predict(x), m2.predict(x))


# ---------------------------------------------------------------------------------------------
# the file format is stable; one registry names layers, models, losses, metrics and optimizers
# ---------------------------------------------------------------------------------------------

def _stored_weights(path):
    from safetensors.numpy import load
    with zipfile.ZipFile(path) as z:
        return load(z.read("model.safetensors"))


def test_files_written_by_earlier_versions_still_load():
    """tests/data/format_v1_*.dlc were written by dlcore 0.1.0 before models.py was split: a fitted
    Sequential (Dense relu, Dense) compiled with Adam, Huber(delta=2) and 'mae', and an uncompiled
    functional model (Dense tanh, Dense) on inputs of shape (2,)."""
    x = np.arange(8, dtype=np.float32).reshape(4, 2)
    path = ROOT / "tests" / "data" / "format_v1_sequential.dlc"
    m = dl.models.load_model(path)
    w = _stored_weights(path)
    hidden = np.maximum(x @ w["layers.0.kernel"] + w["layers.0.bias"], 0)
    np.testing.assert_allclose(m.predict(x), hidden @ w["layers.1.kernel"] + w["layers.1.bias"], rtol=1e-5)
    assert type(m) is dl.Sequential and m.name == "seq" and [layer.name for layer in m.layers] == ["dense", "dense_1"]
    assert isinstance(m.optimizer, dl.optimizers.Adam) and m.optimizer.iterations == 1
    assert isinstance(m.loss, dl.losses.Huber) and m.loss.delta == 2.0 and m.metrics_names == ["loss", "mae"]

    path = ROOT / "tests" / "data" / "format_v1_functional.dlc"
    f = dl.models.load_model(path)
    w = _stored_weights(path)
    hidden = np.tanh(x @ w["layers.0.kernel"] + w["layers.0.bias"])
    np.testing.assert_allclose(f.predict(x), hidden @ w["layers.1.kernel"] + w["layers.1.bias"], rtol=1e-5)
    assert type(f) is dl.Model and f.name == "fun" and f.optimizer is None


def test_saved_layout_is_unchanged(tmp_path):
    """A model saved now writes the same JSON as the files above (weights aside)."""
    for name in ("sequential", "functional"):
        old = ROOT / "tests" / "data" / f"format_v1_{name}.dlc"
        m = dl.models.load_model(old)
        m.save(tmp_path / "again.dlc")
        with zipfile.ZipFile(old) as a, zipfile.ZipFile(tmp_path / "again.dlc") as b:
            assert json.loads(a.read("dlcore.json")) == json.loads(b.read("dlcore.json"))
            assert sorted(a.namelist()) == sorted(b.namelist())


def test_one_registry_for_losses_metrics_and_optimizers(tmp_path):
    @saving.register_serializable
    class TripledMSE(dl.losses.MeanSquaredError):
        def __init__(self, factor=3.0, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def _compute(self, y_true, y_pred, reduction, sample_weight):
            return super()._compute(y_true, y_pred, reduction, sample_weight) * self.factor

        def get_config(self):
            return {**super().get_config(), "factor": self.factor}

    class HalvedSGD(dl.optimizers.SGD):  # given to load_model as a custom object
        pass

    def worst_error(y_true, y_pred):
        return np.abs(y_true - y_pred).max(axis=-1)

    x, _ = data(32)
    y = x[:, :2]
    m = dl.Sequential([dl.layers.Dense(2, input_shape=(5,))])
    m.compile(optimizer=HalvedSGD(learning_rate=0.05), loss=TripledMSE(factor=2.5),
              metrics=[worst_error, dl.metrics.MeanSquaredError()])
    m.fit(x, y, epochs=1, verbose=0)
    m.save(tmp_path / "custom.dlc")
    with pytest.raises(ValueError, match="unknown optimizer class 'HalvedSGD'"):
        dl.models.load_model(tmp_path / "custom.dlc")
    m2 = dl.models.load_model(tmp_path / "custom.dlc",
                              custom_objects={"HalvedSGD": HalvedSGD, "worst_error": worst_error})
    assert type(m2.optimizer) is HalvedSGD and m2.optimizer.learning_rate == pytest.approx(0.05)
    assert type(m2.loss) is TripledMSE and m2.loss.factor == 2.5
    # losses and metrics both have a MeanSquaredError: each kind finds its own
    assert m2.metrics_names == m.metrics_names == ["loss", "worst_error", "mean_squared_error"]
    assert m2.evaluate(x, y, return_dict=True) == pytest.approx(m.evaluate(x, y, return_dict=True))


def test_registry_holds_dlcore_classes_and_only_registered_user_classes():
    for kind, name, cls in [("layer", "Dense", dl.layers.Dense), ("layer", "Sequential", dl.Sequential),
                            ("layer", "Model", dl.Model), ("loss", "Huber", dl.losses.Huber),
                            ("loss", "MeanSquaredError", dl.losses.MeanSquaredError),
                            ("metric", "MeanSquaredError", dl.metrics.MeanSquaredError),
                            ("optimizer", "Adam", dl.optimizers.Adam)]:
        assert saving.get_registered_object(kind, name) is cls

    class UnregisteredLayer(dl.layers.Layer):
        def call(self, inputs, training=None):
            return inputs
    assert saving.get_registered_object("layer", "UnregisteredLayer") is None
    with pytest.raises(TypeError, match="expected a layer, model, loss, metric or optimizer class"):
        saving.register_serializable(int)
    with pytest.raises(TypeError, match=r"custom_objects\['three'\]"):
        dl.models.load_model("never-read.dlc", custom_objects={"three": 3})


def test_saving_imports_no_model_code():
    """saving names classes through the registry: it imports only leaf modules, and the model code
    (module, graph, models, trainer, saving) is in no import cycle."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("check_imports", ROOT / ".ci" / "check_imports.py")
    check = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(check)
    graph = check.edges(ROOT / "src" / "dlcore")
    assert graph["dlcore.saving"] <= {"dlcore._version", "dlcore.io_utils", "dlcore.model_file"}
    assert graph["dlcore.model_file"] == set()
    ours = {"dlcore", "dlcore.saving", "dlcore.module", "dlcore.graph", "dlcore.trainer", "dlcore.compile_utils",
            "dlcore.summary_utils", "dlcore.data", "dlcore.callbacks", "dlcore.utils"} | \
        {m for m in graph if m.startswith("dlcore.models")}
    for cycle in check.cycles(graph):
        assert not set(cycle) & ours, cycle
