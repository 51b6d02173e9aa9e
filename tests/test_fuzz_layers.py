"""Fuzzing every layer constructor and call, and the loss and metric functions.

Layers: every public class of dlcore.layers is built from arguments drawn by parameter name (so a
layer added later is fuzzed too), valid or hostile (wrong types, ranges, NaN, huge values, NumPy
scalars, unknown keywords); then called on inputs of random rank, size, dtype and content (NaN,
empty batches, strings, masked arrays, lists). Property: it works -- the output has the shape the
layer's compute_output_shape promises, get_config round-trips -- or it raises TypeError /
ValueError naming the layer; never another exception, a crash or a hang.

Losses and metrics: each name, on y_true / y_pred of random shapes and dtypes. Property: a scalar
(NaN only when an input holds NaN), or TypeError / ValueError.

Budget as in test_fuzz_kernels.py: a bounded number of examples in the normal run, a long run
marked slow, run when DLCORE_FUZZ_EXAMPLES asks for it. Every failure found is kept below as a regular test.
"""
from __future__ import annotations

import faulthandler
import inspect
import os

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import dlcore as dl
from fuzzing import fuzz_settings, long_fuzz

FUZZ_EXAMPLES = 40
FUZZ_LONG_EXAMPLES = int(os.environ.get("DLCORE_FUZZ_EXAMPLES", "300"))
ALLOWED = (TypeError, ValueError)

LAYERS = sorted(n for n in dir(dl.layers) if isinstance(getattr(dl.layers, n), type)
                and issubclass(getattr(dl.layers, n), dl.Module) and n != "Layer")



# ------------------------------------------------------------------------------ layer arguments

ACTIVATIONS = [None, "relu", "tanh", "sigmoid", "linear", "softmax", "gelu", "elu", "leaky_relu"]
INITIALIZERS = ["zeros", "ones", "glorot_uniform", "he_normal", "orthogonal"]


@dl.saving.register_serializable()
def _identity(x):
    return x


def spatial_rank(name):
    """The number of spatial axes of a layer named ...1D / ...2D / ...3D (0 for any other)."""
    for n in (1, 2, 3):
        if f"{n}D" in name:  # Conv1DTranspose too
            return n
    return 0


def per_axis(name, values):
    """An int, or a tuple of one int per spatial axis of the layer (an int where it has none)."""
    n = spatial_rank(name)
    return st.one_of(values, st.tuples(*[values] * n)) if n else values


def valid_value(d, cls, name, param):
    """A valid value for argument `name` of layer `cls` (by name; None: leave the default)."""
    size = st.integers(1, 6)
    lname = cls.__name__
    table = {
        "units": size, "filters": size, "output_dim": size, "input_dim": size,
        "kernel_size": per_axis(lname, st.integers(1, 3)),
        "pool_size": per_axis(lname, st.integers(1, 3)),
        "strides": (st.one_of(st.just(None), per_axis(lname, st.integers(1, 3))) if "Pool" in lname
                    else per_axis(lname, st.integers(1, 2))),
        "padding": (st.sampled_from(["valid", "same"]) if isinstance(param.default, str)
                    else per_axis(lname, st.integers(0, 2))),  # ZeroPadding: sizes
        "cropping": per_axis(lname, st.integers(0, 1)),
        "size": per_axis(lname, st.integers(1, 3)) if spatial_rank(lname) > 1 else st.integers(1, 3),
        "height": size, "width": size, "n": size, "num_tokens": size, "axes": st.just(-1),
        "dims": st.just((1,)), "scale": st.floats(-2, 2), "offset": st.floats(-1, 1), "stddev": st.floats(0, 1),
        "factor": st.floats(0, 0.5), "height_factor": st.floats(0, 0.5), "width_factor": st.floats(0, 0.5),
        "mask_value": st.floats(-1, 1), "sparse": st.just(False), "function": st.just(_identity),
        "pad_to_max_tokens": st.just(False), "antialias": st.just(False),
        "ragged": st.just(False), "pad_to_aspect_ratio": st.just(False),  # exclusive with crop_to_aspect_ratio
        "groups": st.just(1), "num_heads": st.integers(1, 2), "key_dim": size,
        "reset_after": st.just(True), "recurrent_activation": st.just("sigmoid"),
        "dilation_rate": st.just(1), "rate": st.floats(0.0, 0.9), "axis": st.just(-1),
        "momentum": st.floats(0.0, 1.0), "epsilon": st.floats(1e-5, 0.1),
        # the recurrent kernels compute tanh cells only (their default): any other activation is refused
        "activation": st.just("tanh") if param.default == "tanh" else st.sampled_from(ACTIVATIONS),
        "target_shape": st.just((-1,)), "merge_mode": st.sampled_from(["concat", "sum", "mul", "ave"]),
        "data_format": st.sampled_from([None, "channels_last"]),
        "kernel_regularizer": st.sampled_from([None, "l2"]), "bias_regularizer": st.sampled_from([None, "l1"]),
    }
    if name in ("input_dim", "input_shape", "batch_input_shape", "dtype", "name") and param.default is None:
        return None  # the Keras keywords every layer takes (merge layers spell them out): the default
    if name == "layer":
        return d.draw(st.sampled_from([dl.layers.LSTM, dl.layers.GRU, dl.layers.SimpleRNN]))(
            d.draw(size), return_sequences=d.draw(st.booleans()))
    if name in table:
        return d.draw(table[name])
    if name.endswith("_initializer"):
        return d.draw(st.sampled_from(INITIALIZERS))
    if isinstance(param.default, bool):
        if name in ("stateful", "unroll", "return_state"):
            return False  # stateful needs a fixed batch size; the call below may vary it
        return d.draw(st.booleans())
    return None if param.default is inspect.Parameter.empty else param.default


# arguments whose default (None) the layer refuses: always drawn
NEEDED = {"num_tokens"}

HOSTILE = [-1, 0, 1.5, "x", None, float("nan"), float("inf"), [1, 2, 3], 2 ** 62, np.int64(2), np.float32(0.5),
           True, {}, (0, 0), -2.5, 1j]


def constructor_args(d, cls, hostile):
    params = {n: p for n, p in inspect.signature(cls.__init__).parameters.items()
              if n not in ("self", "kwargs", "unknown") and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}
    kwargs = {}
    for name, param in params.items():
        required = param.default is inspect.Parameter.empty or name in NEEDED
        if required or d.draw(st.booleans()):
            v = valid_value(d, cls, name, param)
            if v is None and required and name == "activation":
                v = "relu"
            if v is None and required:
                return None, []  # a required argument the table cannot make: no valid call drawn
            if v is not None or not required:
                kwargs[name] = v
    mutated = []
    if hostile:
        for _ in range(d.draw(st.integers(1, 2))):
            name = d.draw(st.sampled_from(sorted(params) + ["no_such_argument", "name", "dtype", "input_shape"]))
            kwargs[name] = d.draw(st.sampled_from(HOSTILE))
            mutated.append(name)
    return kwargs, mutated


# layers called on a list of two inputs of one shape
MERGE_LAYERS = {"Add", "Average", "Maximum", "Minimum", "Multiply", "Subtract", "Concatenate", "Dot", "Attention",
                "MultiHeadAttention"}

INPUT_RANK = {"Dense": 2, "Conv2D": 4, "MaxPooling2D": 4, "MaxPool2D": 4, "AveragePooling2D": 4,
              "AvgPool2D": 4, "GlobalAveragePooling2D": 4, "GlobalAvgPool2D": 4, "Conv1D": 3, "LSTM": 3,
              "GRU": 3, "SimpleRNN": 3, "Bidirectional": 3, "Embedding": 2, "Attention": 3, "MultiHeadAttention": 3,
              "TimeDistributed": 4}  # (batch, steps, ...) with the wrapped recurrent layer's (timesteps, features)
# layers whose inputs are integer ids, drawn in [0, 3) (an id beyond input_dim or num_tokens must be refused)
INTEGER_INPUT = {"Embedding", "CategoryEncoding"}


def layer_input(d, name, hostile):
    if name in MERGE_LAYERS:
        return [single_input(d, name, hostile)] * 2 if d.draw(st.booleans()) else [
            single_input(d, name, hostile), single_input(d, name, hostile)]
    return single_input(d, name, hostile)


def single_input(d, name, hostile):
    rank = INPUT_RANK.get(name) or (spatial_rank(name) + 2 if spatial_rank(name) else d.draw(st.integers(2, 4)))
    if hostile and d.draw(st.booleans()):
        rank = d.draw(st.integers(0, 5))
    shape = tuple(d.draw(st.integers(0 if i == 0 else 1, 5)) for i in range(rank))
    if rank == 4:
        shape = shape[:1] + tuple(max(s, 3) for s in shape[1:3]) + shape[3:]
    rng = np.random.default_rng(d.draw(st.integers(0, 2 ** 31)))
    x = rng.standard_normal(shape).astype(np.float32)
    if name in INTEGER_INPUT:
        x = rng.integers(0, 3, shape)
    if d.draw(st.integers(0, 4)) == 0 and x.size and x.dtype.kind == "f":
        x.reshape(-1)[0] = np.nan
    if hostile:
        kind = d.draw(st.sampled_from(["float64", "int", "bool", "strings", "list", "masked", "scalar", "huge",
                                       "none", "same"]))
        if kind == "float64":
            x = x.astype(np.float64)
        elif kind == "int":
            with np.errstate(invalid="ignore"):  # NaN to int
                x = x.astype(np.int32)
        elif kind == "bool":
            x = x > 0
        elif kind == "strings":
            x = x.astype(str)
        elif kind == "list":
            x = x.tolist()
        elif kind == "masked":
            x = np.ma.masked_array(x, mask=np.zeros(x.shape, bool))
        elif kind == "scalar":
            x = np.float32(1.0)
        elif kind == "huge" and x.ndim:
            x = np.broadcast_to(x.reshape(-1)[:1] if x.size else np.zeros(1, x.dtype), (2 ** 40,) + x.shape[1:])
        elif kind == "none":
            x = None
    return x


def names_the_layer(err, layer_cls, layer=None):
    msg = str(err)
    return layer_cls.__name__ in msg or (layer is not None and layer.name in msg)


def check_layer(name, data, hostile):
    cls = getattr(dl.layers, name)
    kwargs, mutated = constructor_args(data, cls, hostile)
    if kwargs is None:
        return
    faulthandler.dump_traceback_later(120, exit=True)
    try:
        try:
            layer = cls(**kwargs)
        except ALLOWED as e:
            assert hostile, f"{name}({kwargs}): refused valid arguments: {type(e).__name__}: {e}"
            assert names_the_layer(e, cls), f"{name}({kwargs}): the error does not name the layer: {e}"
            return
        except MemoryError:
            assert hostile and any(kwargs.get(m) == 2 ** 62 for m in mutated), f"{name}({kwargs}): MemoryError"
            return
        # the config round-trips
        try:
            config = layer.get_config()
        except ALLOWED as e:  # a layer that cannot be saved (a Lambda's array mask) says so, naming itself
            assert names_the_layer(e, cls, layer), f"{name}({kwargs}): get_config: {type(e).__name__}: {e}"
            return
        clone = type(layer).from_config(config)
        assert clone.get_config() == config, f"{name}: get_config / from_config do not round-trip"
        x = layer_input(data, name, hostile and data.draw(st.booleans()))
        try:
            with np.errstate(all="ignore"):
                y = layer(x)
        except ALLOWED as e:
            assert names_the_layer(e, cls, layer) or "dl.tensor" in str(e), \
                f"{name}({kwargs}) on {type(x).__name__} {getattr(x, 'shape', '')}: the error does not name the " \
                f"layer: {type(e).__name__}: {e}"
            return
        except MemoryError:
            assert any(isinstance(a, np.ndarray) and a.size >= 2 ** 40 for a in (x if isinstance(x, list) else [x])), \
                f"{name}({kwargs}): MemoryError"
            return
        except Exception as e:
            raise AssertionError(f"{name}({kwargs}) on {type(x).__name__} {getattr(x, 'dtype', '')} "
                                 f"{getattr(x, 'shape', '')}: {type(e).__name__}: {e}") from e
        outs = y if isinstance(y, (list, tuple)) else [y]
        for o in outs:
            assert isinstance(o, dl.Tensor), f"{name}: returned a {type(o).__name__}"
        if isinstance(x, list) and name in MERGE_LAYERS:
            return  # the promise of a merge layer is checked by its own tests
        shape = tuple(np.shape(x))
        if not shape:
            return  # no batch axis: nothing to compare with a promise for (batch, ...)
        try:
            promised = layer.compute_output_shape((None,) + shape[1:])
        except (NotImplementedError, TypeError, ValueError):
            return
        if not isinstance(y, (list, tuple)) and promised is not None and not isinstance(promised[0], (tuple, list)):
            # None in the promise: a size the input shape does not tell (a text's token count)
            assert len(promised) == y.ndim and all(p is None or p == g for p, g in zip(promised[1:], y.shape[1:])), \
                f"{name}({kwargs}): compute_output_shape promises {promised} for input {shape}, the call gave " \
                f"{tuple(y.shape)}"
    finally:
        faulthandler.cancel_dump_traceback_later()


def test_every_layer_is_fuzzed():
    assert set(CORE_LAYERS) <= set(LAYERS)
    assert {"Dense", "Conv2D", "LSTM", "Dropout", "BatchNormalization", "Embedding"} <= set(LAYERS)


# The normal run: every public layer class (their arguments and inputs drawn from the tables
# above, ~0.2 s a layer); the slow test below runs the long budget over the same classes.
CORE_LAYERS = LAYERS


@pytest.mark.parametrize("name", CORE_LAYERS)
@pytest.mark.parametrize("hostile", [False, True], ids=["valid", "hostile"])
def test_fuzz_layer(name, hostile):
    @fuzz_settings(FUZZ_EXAMPLES)
    @given(st.data())
    def prop(data):
        check_layer(name, data, hostile)
    prop()


# -------------------------------------------------------------------------------- losses, metrics

LOSS_NAMES = sorted({"mse", "mae", "binary_crossentropy", "categorical_crossentropy",
                     "sparse_categorical_crossentropy", "huber"})
METRIC_NAMES = ["accuracy", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy", "mse", "mae",
                "precision", "recall"]


def targets(d):
    n, c = d.draw(st.integers(0, 6)), d.draw(st.integers(1, 5))
    rng = np.random.default_rng(d.draw(st.integers(0, 2 ** 31)))
    pred = rng.uniform(0.01, 0.99, (n, c)).astype(d.draw(st.sampled_from([np.float32, np.float64])))
    kind = d.draw(st.sampled_from(["onehot", "labels", "column", "same", "transposed", "wrong", "int", "strings",
                                   "nan", "list", "3-D", "scalar"]))
    labels = rng.integers(0, c, n)
    y = {"onehot": np.eye(c)[labels], "labels": labels, "column": labels[:, None], "same": rng.random((n, c)),
         "transposed": rng.random((c, n)), "wrong": rng.random((n + 1, c)), "int": labels.astype(np.int8),
         "strings": labels.astype(str), "nan": np.full((n, c), np.nan), "list": labels.tolist(),
         "3-D": rng.random((n, c, 2)), "scalar": 1.0}[kind]
    if d.draw(st.integers(0, 5)) == 0 and pred.size:
        pred[0, 0] = np.nan
    return y, pred


def check_loss(name, data):
    y, pred = targets(data)
    loss = dl.losses.get(name)
    try:
        with np.errstate(all="ignore"):
            value = loss(y, dl.tensor(pred))
    except ALLOWED as e:
        assert str(e), f"{name}: an empty error message"
        return
    v = value.numpy()
    assert v.shape == (), f"{name}: a loss of shape {v.shape}"
    finite_in = np.isfinite(pred).all() and np.isfinite(np.asarray(y, dtype=np.float64)).all()
    assert np.isfinite(v) or not finite_in or pred.size == 0 and np.isnan(v), f"{name}: {v} from finite inputs"


def check_metric(name, data):
    y, pred = targets(data)
    m = dl.metrics.get(name)
    try:
        with np.errstate(all="ignore"):
            m.update_state(y, pred)
            r = m.result()
    except ALLOWED as e:
        assert str(e), f"{name}: an empty error message"
        return
    assert np.ndim(r) == 0, f"{name}: result of shape {np.shape(r)}"


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_fuzz_loss(name):
    @fuzz_settings(FUZZ_EXAMPLES)
    @given(st.data())
    def prop(data):
        check_loss(name, data)
    prop()


@pytest.mark.parametrize("name", METRIC_NAMES)
def test_fuzz_metric(name):
    @fuzz_settings(FUZZ_EXAMPLES)
    @given(st.data())
    def prop(data):
        check_metric(name, data)
    prop()


@long_fuzz
@pytest.mark.slow
@pytest.mark.parametrize("name", LAYERS)
def test_fuzz_every_layer_long(name):
    for hostile in (False, True):
        long_run(check_layer, name, hostile)


def long_run(check, *args):
    """The long budget of check(*args[:1], data, *args[1:]) (@given refuses a function with defaults)."""
    @fuzz_settings(FUZZ_LONG_EXAMPLES, long=True)
    @given(st.data())
    def prop(data):
        check(args[0], data, *args[1:])
    prop()


@long_fuzz
@pytest.mark.slow
def test_fuzz_losses_metrics_long():
    for name in LOSS_NAMES:
        long_run(check_loss, name)
    for name in METRIC_NAMES:
        long_run(check_metric, name)


# ------------------------------------------------------------------------- found by the fuzzer

@pytest.mark.parametrize("layer", [dl.layers.Flatten(), dl.layers.Reshape((-1,))])
def test_found_flatten_reshape_empty_batch(layer):
    # NumPy cannot infer a -1 beside an empty batch axis: (0, 3, 2) -> (0, 6)
    assert layer(np.zeros((0, 3, 2), np.float32)).shape == (0, 6)


@pytest.mark.parametrize("make, match", [
    (lambda: dl.layers.Activation("relu", input_shape=1.5), "Activation.*input_shape"),
    (lambda: dl.layers.Dense(2, input_dim=float("inf")), "Dense.*input_dim"),
    (lambda: dl.layers.Reshape(-1), "Reshape.*target_shape"),
    (lambda: dl.layers.Dropout(0.1, dtype={}), "Dropout.*dtype"),
    (lambda: dl.layers.Conv2D(2, 3, kernel_initializer=-2.5), "Conv2D.*initializer"),
    (lambda: dl.layers.Dense(2, bias_regularizer=2 ** 62), "Dense.*regularizer"),
    (lambda: dl.layers.BatchNormalization(beta_initializer={}), "BatchNormalization.*initializer"),
    (lambda: dl.layers.LayerNormalization(beta_regularizer={}), "LayerNormalization.*regularizer"),
    (lambda: dl.layers.Bidirectional(dl.layers.LSTM(2), backward_layer=1), "Bidirectional.*backward_layer"),
])
def test_found_constructor_errors_name_the_layer(make, match):
    with pytest.raises((TypeError, ValueError), match=match):
        make()


@pytest.mark.parametrize("layer, x, match", [
    (dl.layers.MaxPooling2D(2 ** 62, padding="same"), np.zeros((1, 3, 5, 2), np.float32), "MaxPooling2D.*pool_size"),
    (dl.layers.Bidirectional(dl.layers.GRU(3)), np.float32(1.0), "Bidirectional.*GRU"),
    (dl.layers.LayerNormalization(), np.float32(1.0), "LayerNormalization.*axis"),
    (dl.layers.Reshape((-1,)), np.float32(1.0), "Reshape.*batch axis"),
])
def test_found_call_errors_name_the_layer(layer, x, match):
    with pytest.raises(ValueError, match=match):
        layer(x)


def test_found_embedding_huge_input_fails_at_once():
    # a broadcast view of 2**40 ids: MemoryError before the id range check scans them all (it took minutes)
    ids = np.broadcast_to(np.zeros(1, np.int64), (2 ** 40,))
    with pytest.raises(MemoryError):
        dl.layers.Embedding(3, 2)(ids)


def test_found_single_input_layers_refuse_a_list():
    # a nested list reached call as a list of inputs: AttributeError ('list' has no 'ndim')
    for layer in (dl.layers.Masking(), dl.layers.ZeroPadding1D(), dl.layers.GlobalAveragePooling2D()):
        with pytest.raises(TypeError, match=f"{type(layer).__name__}.*one input"):
            layer([[[1.0, 2.0]]])


def test_found_lookup_vocabulary_file_missing():
    with pytest.raises(ValueError, match="IntegerLookup.*vocabulary"):
        dl.layers.IntegerLookup(vocabulary="no_such_vocabulary_file")


def test_found_resizing_empty_image():
    # resize_matrix on 0 pixels raised IndexError
    with pytest.raises(ValueError, match="Resizing.*no pixels"):
        dl.layers.Resizing(1, 1)(np.ones((1, 0, 3, 1), np.float32))


def test_found_normalization_0d_input():
    layer = dl.layers.Normalization(mean=0.0, variance=1.0)
    with pytest.raises(ValueError, match="Normalization.*axis"):
        layer(np.float32(1.0))


def test_found_lambda_output_shape():
    with pytest.raises(TypeError, match="Lambda.*output_shape"):
        dl.layers.Lambda(lambda x: x, output_shape={})
    # a declared output_shape the function does not honour: an error, not a wrong compute_output_shape
    with pytest.raises(ValueError, match="Lambda.*output_shape"):
        dl.layers.Lambda(lambda x: x, output_shape=(3,))(np.zeros((2, 4), np.float32))
    assert dl.layers.Lambda(lambda x: x, output_shape=(4,))(np.zeros((2, 4), np.float32)).shape == (2, 4)


@pytest.mark.parametrize("kw", [dict(mean=float("nan"), variance=1.0), dict(mean=0.0, variance=float("inf"))])
def test_found_normalization_non_finite_statistics(kw):
    # accepted before: every output NaN, and the config did not round-trip (NaN != NaN)
    with pytest.raises(ValueError, match="Normalization.*finite"):
        dl.layers.Normalization(**kw)
