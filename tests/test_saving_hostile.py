"""load_model on hostile files: a file can never make the loader allocate much more than the weights
it stores; custom_objects are scoped to the call; a tampered entry is a ValueError.

The allocation checks run in a subprocess under an address-space limit, so that a regression fails
with a MemoryError there instead of taking the machine's memory.
"""
import json
import os
import subprocess
import sys
import textwrap
import tracemalloc
import zipfile

import numpy as np
import pytest
from safetensors.numpy import save as st_save

import dlcore as dl
from dlcore import saving


def tiny_weights_file(path, arch, weights=None):
    """A model file whose architecture is `arch` (the "model" entry) and whose weights are `weights`."""
    meta = {"format": saving.FORMAT, "format_version": saving.FORMAT_VERSION, "dlcore_version": "0",
            "model": arch, "compile": None}
    weights = weights if weights is not None else {"w": np.zeros(4, np.float32)}
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(saving.ARCH_MEMBER, json.dumps(meta), compress_type=zipfile.ZIP_DEFLATED)
        z.writestr(saving.WEIGHTS_MEMBER, st_save(weights), compress_type=zipfile.ZIP_STORED)
    return path


def sequential(layers, input_shape):
    return {"class_name": "Sequential", "config": {"name": "s", "layers": layers},
            "build_input_shape": [None, *input_shape]}


def conv_8gib(path):
    """The issue's 644-byte file: Conv2D(1024 filters of 16x16) on 4096 channels, 4 GiB of float32
    weights (8 GiB initialised in float64), every number under the per-number bound."""
    layer = {"class_name": "Conv2D", "config": {"filters": 1024, "kernel_size": [16, 16], "use_bias": False}}
    return tiny_weights_file(path, sequential([layer], [16, 16, 4096]))


def dense_stack_25gib(path):
    """The issue's second file: 400 Dense(4096) layers (25 GiB)."""
    layers = [{"class_name": "Dense", "config": {"units": 4096, "use_bias": False}} for _ in range(400)]
    weights = {f"w{i}": np.zeros(1, np.float32) for i in range(100)}  # enough tensors for the layer-count bound
    return tiny_weights_file(path, sequential(layers, [4096]), weights)


def test_hostile_architectures_are_refused_before_allocation(tmp_path):
    paths = [conv_8gib(tmp_path / "conv.dlc"), dense_stack_25gib(tmp_path / "dense.dlc")]
    assert paths[0].stat().st_size < 1000
    for path in paths:  # in this process: refused, having allocated little
        with pytest.raises(ValueError, match="needs more weight values than the"):
            dl.models.load_model(path)
    if "libasan" in os.environ.get("LD_PRELOAD", ""):
        pytest.skip("the address-space limit below cannot be combined with AddressSanitizer's shadow memory")
    script = textwrap.dedent(f"""
        import resource, sys
        resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))  # far below what the files ask for
        import dlcore as dl
        for path in {[str(p) for p in paths]!r}:
            try:
                dl.models.load_model(path)
            except ValueError as e:
                print("ValueError:", e)
            except MemoryError:
                print("MemoryError")
        """)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                         env={"DLCORE_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "PATH": ""})
    lines = run.stdout.splitlines()
    assert run.returncode == 0, run.stderr[-2000:]
    assert len(lines) == 2, run.stdout + run.stderr[-2000:]
    for line in lines:
        assert line.startswith("ValueError:") and "needs more weight values than the" in line, line


def traced_peak(fn):
    tracemalloc.start()
    try:
        fn()
    except ValueError:
        pass
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def test_loading_allocates_about_the_file_size(tmp_path):
    # a refused architecture allocates (almost) nothing: 64 MiB of weights asked for by a 1 KiB file
    hostile = tiny_weights_file(tmp_path / "h.dlc", sequential(
        [{"class_name": "Dense", "config": {"units": 4096}} for _ in range(4)], [1024]))
    assert traced_peak(lambda: dl.models.load_model(hostile)) < (4 << 20)
    # a real model: its weights are allocated once as zeros (no float64 initialisation), then the
    # file's values are copied in -- a few times the file's size, not more
    dl.manual_seed(0)
    model = dl.Sequential([dl.layers.Dense(512, input_shape=(1024,)), dl.layers.Dense(256)])
    path = tmp_path / "real.dlc"
    model.save(path)
    size = path.stat().st_size
    assert size > (2 << 20)
    assert traced_peak(lambda: dl.models.load_model(path)) < 4 * size + (4 << 20)


def test_loading_does_not_run_initializers_or_move_the_random_stream(tmp_path):
    model = dl.Sequential([dl.layers.Dense(3, input_shape=(4,))])
    path = tmp_path / "m.dlc"
    model.save(path)
    dl.manual_seed(7)
    a = dl.randn(5).numpy()
    dl.manual_seed(7)
    loaded = dl.models.load_model(path)
    b = dl.randn(5).numpy()
    np.testing.assert_array_equal(a, b)
    for w, v in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(w, v)


def test_an_architecture_asking_one_value_more_than_stored_is_refused(tmp_path):
    arch = sequential([{"class_name": "Dense", "config": {"units": 3}}], [4])  # 12 + 3 weight values
    weights = {"layers.0.kernel": np.zeros((4, 3), np.float32), "layers.0.bias": np.zeros(2, np.float32)}
    with pytest.raises(ValueError, match="needs more weight values than the 14 the file stores"):
        dl.models.load_model(tiny_weights_file(tmp_path / "m.dlc", arch, weights))


# --------------------------------------------------------------------------------- custom objects

class Scaled(dl.layers.Layer):
    """A user layer (not registered): y = 2 x."""

    def call(self, inputs, training=None):
        return inputs * 2.0


def test_custom_objects_are_scoped_to_the_call(tmp_path):
    model = dl.Sequential([dl.layers.Dense(2, input_shape=(3,)), Scaled()])
    path = tmp_path / "m.dlc"
    model.save(path)
    assert saving.get_registered_object("layer", "Scaled") is None
    loaded = dl.models.load_model(path, custom_objects={"Scaled": Scaled})
    x = np.ones((1, 3), np.float32)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    # Keras scopes custom objects to the call: nothing is registered for later loads
    assert saving.get_registered_object("layer", "Scaled") is None
    with pytest.raises(ValueError, match="unknown layer class 'Scaled'"):
        dl.models.load_model(path)
    with pytest.raises(TypeError, match="custom_objects"):
        dl.models.load_model(path, custom_objects=[Scaled])
    with pytest.raises(TypeError, match=r"custom_objects\['x'\]"):
        dl.models.load_model(path, custom_objects={"x": 5})


def test_a_failed_load_leaves_no_custom_object_behind(tmp_path):
    path = tmp_path / "bad.dlc"
    path.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(ValueError):
        dl.models.load_model(path, custom_objects={"Scaled": Scaled})
    assert saving.get_registered_object("layer", "Scaled") is None


# ------------------------------------------------------------------------------ tampered entries

@pytest.fixture
def trained(tmp_path):
    model = dl.Sequential([dl.layers.Dense(2, input_shape=(3,))])
    model.compile("adam", "mse")
    model.fit(np.ones((4, 3), np.float32), np.ones((4, 2), np.float32), verbose=0)
    path = tmp_path / "m.dlc"
    model.save(path)
    return path


def replace_member(path, name, data):
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    members[name] = data
    with zipfile.ZipFile(path, "w") as z:
        for n, b in members.items():
            z.writestr(n, b, compress_type=zipfile.ZIP_STORED if n.endswith("safetensors") else zipfile.ZIP_DEFLATED)


@pytest.mark.parametrize("entry", [
    {"__dict__": [[["a", "list", "as", "key"], 1]]},   # an unhashable key raised TypeError
    {"__dict__": [[{"k": 1}, 1]]},
    {"__dict__": [["iterations", "many"], ["state", []]]},
    {"__dict__": [["iterations", [1]], ["state", [{"__dict__": [["m", 3]]}]]]},
    {"__list__": [1, 2], "tuple": "yes"},
    [1, 2, 3],
])
def test_tampered_optimizer_entries_are_value_errors(trained, entry):
    replace_member(trained, saving.OPT_JSON_MEMBER, json.dumps(entry).encode())
    with pytest.raises(ValueError):
        dl.models.load_model(trained)
