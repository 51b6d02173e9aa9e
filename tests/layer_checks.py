"""Checks every new layer goes through: get_config / from_config, and a model file round trip (the
loaded model, with the saved weights, gives the same outputs)."""
import numpy as np

import dlcore as dl


def config_roundtrip(layer):
    """from_config(get_config()) rebuilds a layer with the same config (JSON-able, as saving needs)."""
    config = layer.get_config()
    again = type(layer).from_config(config)
    assert again.get_config() == config
    return again


def save_roundtrip(tmp_path, layer, *inputs, name="m.dlc", **call_kwargs):
    """A functional model around `layer` (one Input per array in `inputs`), saved and loaded: the same
    outputs, in inference mode. Returns the loaded model."""
    xs = [dl.Input(shape=x.shape[1:]) for x in inputs]
    out = layer(xs if len(xs) > 1 else xs[0], **call_kwargs)
    model = dl.Model(xs if len(xs) > 1 else xs[0], out)
    arrays = list(inputs) if len(inputs) > 1 else inputs[0]
    model.eval()  # inference (and training=False: both spellings of it)
    before = model(arrays, training=False)
    path = tmp_path / name
    model.save(path)
    loaded = dl.models.load_model(path)
    loaded.eval()
    after = loaded(arrays, training=False)
    for a, b in zip(before if isinstance(before, (list, tuple)) else [before],
                    after if isinstance(after, (list, tuple)) else [after]):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    return loaded


def sequential_roundtrip(tmp_path, layer, x):
    """The same in a Sequential model (the layer built from input_shape)."""
    model = dl.Sequential([layer], input_shape=x.shape[1:])
    before = model.predict(x, verbose=0)
    model.save(tmp_path / "seq.dlc")
    after = dl.models.load_model(tmp_path / "seq.dlc").predict(x, verbose=0)
    np.testing.assert_array_equal(before, after)
