"""Functional models built on dicts of inputs and outputs, as Keras's `Model(inputs={...}, outputs={...})`:
structure (names, order), fit / evaluate / predict with dicts and per-output losses, metrics and loss
weights against a float64 reference, lists for sorted dicts, errors for wrong keys, model-file round
trips, a dict model nested in another functional model, summary, subclassed models returning dicts;
Keras 3 with copied weights where it is installed."""
import inspect
import os
import re
import textwrap

import numpy as np
import pytest

import dlcore as dl
from harness import assert_close, raises

L = dl.layers


def keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    k = pytest.importorskip("keras")
    if k.backend.backend() != "torch":
        pytest.skip("keras is installed with another backend than torch")
    return k


def dict_model():
    """Inputs given as {"b", "a"} and outputs as {"z", "y"}: not in sorted order, on purpose."""
    a, b = dl.Input(shape=(3,), name="a"), dl.Input(shape=(2,), name="b")
    h = L.concatenate([a, b])
    y = L.Dense(1, name="dense_y")(h)
    z = L.Dense(2, activation="tanh", name="dense_z")(h)
    return dl.Model(inputs={"b": b, "a": a}, outputs={"z": z, "y": y}, name="dicts")


def data(rng, n=24):
    x = {"a": rng.random((n, 3), dtype=np.float32), "b": rng.random((n, 2), dtype=np.float32)}
    y = {"y": rng.random((n, 1), dtype=np.float32), "z": rng.random((n, 2), dtype=np.float32) - 0.5}
    return x, y


def numpy_forward(model, x):
    """float64 reference of dict_model's forward pass from its weights."""
    ky, by = (w.astype(np.float64) for w in model.get_layer("dense_y").get_weights())
    kz, bz = (w.astype(np.float64) for w in model.get_layer("dense_z").get_weights())
    h = np.concatenate([x["a"], x["b"]], axis=1).astype(np.float64)
    return {"y": h @ ky + by, "z": np.tanh(h @ kz + bz)}


def test_structure_names_and_order():
    model = dict_model()
    # flat order and names: the sorted keys (Keras's tree.flatten of a dict); input / output: the dicts as given
    assert model.input_names == ["a", "b"] and model.output_names == ["y", "z"]
    assert [t.name for t in model.inputs] == ["a", "b"] and [t.shape for t in model.outputs] == [(None, 1), (None, 2)]
    assert list(model.input) == ["b", "a"] and list(model.output) == ["z", "y"]
    assert model.input["a"] is model.inputs[0] and model.output["z"] is model.outputs[1]


def test_call_and_predict_return_dicts_by_output_name(rng):
    model = dict_model()
    x, _ = data(rng)
    expect = numpy_forward(model, x)
    out = model({k: dl.tensor(v) for k, v in x.items()})
    assert sorted(out) == ["y", "z"]
    pred = model.predict(x, batch_size=5, verbose=0)  # several batches, concatenated by name
    assert isinstance(pred, dict) and sorted(pred) == ["y", "z"]
    for k in ("y", "z"):
        assert_close(out[k].numpy(), expect[k], dtype=np.float32, what=k)
        assert_close(pred[k], expect[k], dtype=np.float32, what=k)
    assert sorted(model.predict_on_batch(x)) == ["y", "z"]


def test_fit_evaluate_with_per_output_losses_metrics_and_weights_by_name(rng):
    model = dict_model()
    model.compile(optimizer="adam", loss={"y": "mse", "z": "mae"}, loss_weights={"y": 0.25, "z": 2.0},
                  metrics={"y": ["mae"], "z": ["mse"]})
    x, y = data(rng)
    logs = model.evaluate(x, y, batch_size=len(y["y"]), verbose=0, return_dict=True)
    p = numpy_forward(model, x)
    y_loss, z_loss = ((p["y"] - y["y"]) ** 2).mean(), np.abs(p["z"] - y["z"]).mean()
    expect = {"loss": 0.25 * y_loss + 2.0 * z_loss, "y_loss": y_loss, "z_loss": z_loss,
              "y_mae": np.abs(p["y"] - y["y"]).mean(), "z_mse": ((p["z"] - y["z"]) ** 2).mean()}
    assert set(logs) == set(expect)
    for k, v in expect.items():
        assert_close(np.float64(logs[k]), v, dtype=np.float32, what=k)
    history = model.fit(x, y, batch_size=8, epochs=5, verbose=0, validation_data=(x, y))
    assert set(history.history) == {*expect, *("val_" + k for k in expect)}
    assert history.history["loss"][-1] < history.history["loss"][0]
    # the other entry points take the dicts too
    assert set(model.fit(x, y, epochs=1, verbose=0, validation_split=0.25).history) >= {"val_y_loss", "val_z_mse"}
    assert model.train_on_batch(x, y, return_dict=True).keys() == expect.keys()
    assert model.test_on_batch(x, y, return_dict=True).keys() == expect.keys()


def test_one_output_given_as_a_dict(rng):
    a = dl.Input(shape=(3,), name="a")
    model = dl.Model({"a": a}, {"out": L.Dense(2)(a)})
    x, y = {"a": rng.random((8, 3), dtype=np.float32)}, rng.random((8, 2), dtype=np.float32)
    assert model.output_names == ["out"] and list(model.predict(x, verbose=0)) == ["out"]
    for loss, metrics, target in (("mse", ["mae"], y), ({"out": "mse"}, {"out": ["mae"]}, {"out": y})):
        model.compile(optimizer="sgd", loss=loss, metrics=metrics)
        assert set(model.fit(x, target, epochs=1, verbose=0).history) == {"loss", "mae"}  # as Keras: no prefix
    assert model.predict(x["a"], verbose=0)["out"].shape == (8, 2)  # one input: the bare array works too


def test_a_list_is_taken_only_for_a_dict_given_in_sorted_order(rng):
    x, _ = data(rng)
    a, b = dl.Input(shape=(3,), name="a"), dl.Input(shape=(2,), name="b")
    h = L.concatenate([a, b])
    sorted_model = dl.Model({"a": a, "b": b}, L.Dense(1)(h))
    np.testing.assert_array_equal(sorted_model.predict([x["a"], x["b"]], verbose=0), sorted_model.predict(x, verbose=0))
    unsorted_model = dl.Model({"b": b, "a": a}, L.Dense(1)(h), name="unsorted")
    with raises(ValueError, "unsorted", "not in sorted order", "['a', 'b']"):
        unsorted_model.predict([x["a"], x["b"]], verbose=0)
    p, q = dl.Input(shape=(3,)), dl.Input(shape=(2,))
    with raises(ValueError, "unsorted", "not in sorted order"):
        unsorted_model([p, q])  # refused when the graph is built, not when it first runs


def test_wrong_keys_raise_naming_the_model_and_the_keys(rng):
    model = dict_model()
    model.compile(optimizer="sgd", loss={"y": "mse", "z": "mse"})
    x, y = data(rng)
    with raises(ValueError, "dicts", "input names ['a', 'b']", "got keys ['a']", "missing ['b']"):
        model.predict({"a": x["a"]}, verbose=0)
    with raises(ValueError, "dicts", "got keys ['a', 'b', 'c']", "unexpected ['c']"):
        model.fit({**x, "c": x["a"]}, y, epochs=1, verbose=0)
    with raises(ValueError, "dicts", "missing ['b']", "unexpected ['c']"):
        model.evaluate({"a": x["a"], "c": x["b"]}, y, verbose=0)
    with raises(ValueError, "dicts", "y is a dict with keys ['w', 'y']", "outputs are ['y', 'z']"):
        model.fit(x, {"y": y["y"], "w": y["z"]}, epochs=1, verbose=0)
    with raises(ValueError, "compile", "'loss'", "['w']", "['y', 'z']"):
        model.compile(optimizer="sgd", loss={"y": "mse", "w": "mse"})
    with raises(ValueError, "dicts", "missing ['b']"):
        model({"a": dl.Input(shape=(3,)), "c": dl.Input(shape=(2,))})  # nested: checked when the graph is built


def test_bad_dicts_to_the_constructor():
    a = dl.Input(shape=(3,))
    with raises(ValueError, "Model(inputs, outputs)", "empty dict"):
        dl.Model({}, a)
    with raises(TypeError, "Model(inputs, outputs)", "outputs", "keyed by names", "[0]"):
        dl.Model(a, {0: L.Dense(1)(a)})
    with raises(TypeError, "Model(inputs, outputs)", "KerasTensors", "ndarray"):
        dl.Model({"a": a}, {"y": np.zeros(3)})


def test_save_and_load_model_keep_the_dicts(tmp_path, rng):
    model = dict_model()
    model.compile(optimizer="adam", loss={"y": "mse", "z": "mae"}, loss_weights={"y": 0.5, "z": 1.0},
                  metrics={"z": ["mse"]})
    x, y = data(rng)
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    model.save(tmp_path / "m.dlc")
    loaded = dl.models.load_model(tmp_path / "m.dlc")
    assert loaded.input_names == ["a", "b"] and loaded.output_names == ["y", "z"]
    assert list(loaded.input) == ["b", "a"] and list(loaded.output) == ["z", "y"]
    assert [t.name for t in loaded.inputs] == ["a", "b"]
    p, q = model.predict(x, verbose=0), loaded.predict(x, verbose=0)
    assert sorted(q) == ["y", "z"]
    for k in p:
        np.testing.assert_array_equal(p[k], q[k])
    assert loaded.evaluate(x, y, verbose=0, return_dict=True) == pytest.approx(
        model.evaluate(x, y, verbose=0, return_dict=True))
    loaded.fit(x, y, epochs=1, verbose=0)  # the compile settings and optimizer came back with it


def test_inputs_named_apart_from_their_keys_keep_both_through_a_model_file(tmp_path, rng):
    a, b = dl.Input(shape=(3,), name="first"), dl.Input(shape=(2,))
    model = dl.Model({"x1": a, "x2": b}, L.Dense(1)(L.concatenate([a, b])))
    model.save(tmp_path / "m.dlc")
    loaded = dl.models.load_model(tmp_path / "m.dlc")
    assert loaded.input_names == ["x1", "x2"] and loaded.inputs[0].name == "first"
    x = {"x1": rng.random((4, 3), dtype=np.float32), "x2": rng.random((4, 2), dtype=np.float32)}
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_a_dict_model_nested_in_a_functional_model(tmp_path, rng):
    inner = dict_model()
    p, q = dl.Input(shape=(3,), name="p"), dl.Input(shape=(2,), name="q")
    out = inner({"b": q, "a": p})  # KerasTensors by the inner model's output names
    assert sorted(out) == ["y", "z"] and out["z"].shape == (None, 2)
    total = L.Add(name="total")([out["y"], L.Dense(1, name="head")(out["z"])])
    outer = dl.Model({"p": p, "q": q}, {"total": total, "z": out["z"]})
    x, y = data(rng)
    xo = {"p": x["a"], "q": x["b"]}
    pred, ref = outer.predict(xo, verbose=0), numpy_forward(inner, x)
    kh, bh = outer.get_layer("head").get_weights()
    assert_close(pred["z"], ref["z"], dtype=np.float32, what="z")
    assert_close(pred["total"], ref["y"] + ref["z"] @ kh.astype(np.float64) + bh, dtype=np.float32, what="total")
    lines = []
    outer.summary(print_fn=lines.append)
    row = next(line for line in "\n".join(lines).splitlines() if line.lstrip().startswith("dicts (Model)"))
    assert "(None, 1), (None, 2)" in row and row.split()[-1] == str(inner.count_params())
    outer.compile(optimizer="adam", loss={"total": "mse", "z": "mse"})
    before = inner.get_layer("dense_y").get_weights()[0].copy()
    outer.fit(xo, {"total": y["y"], "z": y["z"]}, epochs=2, verbose=0)
    assert not np.array_equal(inner.get_layer("dense_y").get_weights()[0], before)  # the inner model trains
    outer.save(tmp_path / "outer.dlc")
    loaded = dl.models.load_model(tmp_path / "outer.dlc")
    for k, v in outer.predict(xo, verbose=0).items():
        np.testing.assert_array_equal(loaded.predict(xo, verbose=0)[k], v)
    # a list-input outer model calling the dict model works too
    r, s = dl.Input(shape=(3,)), dl.Input(shape=(2,))
    listed = dl.Model([r, s], inner({"a": r, "b": s})["y"])
    assert_close(listed.predict([x["a"], x["b"]], verbose=0), numpy_forward(inner, x)["y"], dtype=np.float32)


def test_summary_lists_the_inputs_by_name():
    lines = []
    dict_model().summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "a (InputLayer)" in text and "b (InputLayer)" in text and "Total params: 18" in text


def test_a_subclassed_model_taking_and_returning_dicts(rng):
    class TwoHeads(dl.Model):
        def __init__(self):
            super().__init__()
            self.dense_y, self.dense_z = L.Dense(1), L.Dense(2)

        def call(self, inputs, training=None):
            return {"z": self.dense_z(inputs["b"]), "y": self.dense_y(inputs["a"])}

    model = TwoHeads()
    x, y = data(rng)
    assert sorted(model.predict(x, verbose=0)) == ["y", "z"]
    model.compile(optimizer="adam", loss={"y": "mse", "z": "mae"}, loss_weights={"y": 1.0, "z": 0.5})
    assert set(model.fit(x, y, epochs=1, verbose=0).history) == {"loss", "y_loss", "z_loss"}
    logs = model.evaluate(x, y, batch_size=len(y["y"]), verbose=0, return_dict=True)
    assert_close(np.float64(logs["loss"]), logs["y_loss"] + 0.5 * logs["z_loss"], dtype=np.float32)


def test_the_model_docstring_example_runs():
    block = re.search(r"Example:\s*\n\s*```python\n(.*?)\n\s*```", inspect.getdoc(dl.Model), re.S)
    exec(compile(textwrap.dedent(block.group(1)), "<example of dlcore.Model>", "exec"), {"__name__": "__example__"})


# ---- Keras 3 as the anchor -----------------------------------------------------------------------------

def test_matches_keras_with_copied_weights(rng):
    k = keras()
    a, b = k.Input(shape=(3,), name="a"), k.Input(shape=(2,), name="b")
    h = k.layers.Concatenate()([a, b])
    y = k.layers.Dense(1, name="dense_y")(h)
    z = k.layers.Dense(2, activation="tanh", name="dense_z")(h)
    km = k.Model(inputs={"b": b, "a": a}, outputs={"z": z, "y": y})
    model = dict_model()
    for name in ("dense_y", "dense_z"):
        model.get_layer(name).set_weights(km.get_layer(name).get_weights())
    assert list(km.input) == list(model.input) and list(km.output) == list(model.output)
    assert [t.name for t in km.inputs] == [t.name for t in model.inputs]
    x, yd = data(rng)
    kp, dp = km.predict(x, verbose=0), model.predict(x, verbose=0)
    assert isinstance(kp, dict) and sorted(kp) == sorted(dp)
    for key in kp:
        assert_close(dp[key], np.asarray(kp[key], np.float64), dtype=np.float32, what=key)
    with pytest.raises(ValueError):  # Keras too refuses a list for a dict given out of sorted order
        km.predict([x["a"], x["b"]], verbose=0)
    compile_args = dict(optimizer="sgd", loss={"y": "mse", "z": "mae"}, loss_weights={"y": 0.25, "z": 2.0},
                        metrics={"y": ["mae"], "z": ["mse"]})
    km.compile(**compile_args)
    model.compile(**compile_args)
    klogs = km.evaluate(x, yd, batch_size=len(yd["y"]), verbose=0, return_dict=True)
    dlogs = model.evaluate(x, yd, batch_size=len(yd["y"]), verbose=0, return_dict=True)
    assert set(klogs) == set(dlogs)
    for key in klogs:
        assert_close(np.float64(dlogs[key]), np.float64(klogs[key]), dtype=np.float32, what=key)
