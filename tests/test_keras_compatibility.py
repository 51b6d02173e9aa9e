"""docs/keras_compatibility.md stays true to the code (no Keras needed).

- Every table of the page whose second column is "status": the names of a row whose status begins
  with "supported" exist, those of a row that begins with "not provided" raise AttributeError. A
  name without a dot is looked up in its section's namespace (a model for "Model methods"), a dotted
  one from `dlcore` ("keras." dropped), as the page says.
- The layers and model methods the page calls supported take Keras 3's argument names (the tables
  below: each layer is built with all of them, by keyword); the arguments the page calls "not
  taken" raise TypeError; the values the page says are refused raise the error it names.

When the code changes what Keras code finds, change the page's row and these tables together.
"""
import inspect
import re
from pathlib import Path

import numpy as np
import pytest

import dlcore as dl

PAGE = Path(__file__).resolve().parent.parent / "docs" / "keras_compatibility.md"
NAME = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")
SECTION_NAMESPACE = {"Layers": "layers", "Optimizers": "optimizers", "Losses": "losses", "Metrics": "metrics",
                     "Callbacks": "callbacks", "Keras ops": "ops", "Model methods": "model",
                     "Namespaces": None, "Utilities, datasets, backend": None}


def page_rows():
    """(section, [names], status) for every row of the page's status tables."""
    rows, section, in_status_table = [], None, False
    for line in PAGE.read_text().splitlines():
        if line.startswith("## "):
            section, in_status_table = line[3:].strip(), False
        if not line.startswith("|"):
            in_status_table = False
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[1] == "status":
            in_status_table = True
        elif in_status_table and set(cells[0]) != {"-"}:
            assert len(cells) == 2, f"{section}: a status row with {len(cells)} cells: {line[:80]}"
            names = [n for n in re.findall(r"`([^`]+)`", cells[0]) if NAME.fullmatch(n)]
            rows.append((section, names, cells[1]))
    return rows


ROWS = page_rows()


def _model():
    model = dl.Sequential([dl.Input(shape=(3,)), dl.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    return model


def _functional():
    x = dl.Input(shape=(3,))
    return dl.Model(x, dl.layers.Dense(2)(x))


def resolve(section, name, model=None):
    """The object the page's `name` stands for in `section` (AttributeError if it is missing)."""
    if "." in name:
        obj, parts = dl, name.removeprefix("keras.").split(".")
    else:
        assert SECTION_NAMESPACE[section] is not None, f"section {section!r}: {name!r} needs a dotted name"
        namespace = SECTION_NAMESPACE[section]
        obj, parts = (model if namespace == "model" else getattr(dl, namespace)), [name]
    for part in parts:
        obj = getattr(obj, part)
    return obj


def _row_id(row):
    section, names, status = row
    return f"{section}:{names[0] if names else '?'}"


def test_the_page_has_status_tables_in_every_section():
    assert {section for section, _, _ in ROWS} == set(SECTION_NAMESPACE)
    assert len(ROWS) > 80


@pytest.mark.parametrize("row", ROWS, ids=_row_id)
def test_every_row_names_things_and_has_a_known_status(row):
    section, names, status = row
    assert names, f"{section}: a row without names: {status[:60]!r}"
    assert status.startswith(("supported", "not provided")), f"{section} {names[:3]}: status {status[:40]!r}"


@pytest.mark.parametrize("row", [r for r in ROWS if r[2].startswith("supported")], ids=_row_id)
def test_what_the_page_calls_supported_exists(row):
    section, names, _ = row
    model = _model() if section == "Model methods" else None
    missing = []
    for name in names:
        try:
            resolve(section, name, model)
        except AttributeError:
            missing.append(name)
    assert not missing, f"{section}: the page calls {missing} supported, but dlcore lacks them"


@pytest.mark.parametrize("row", [r for r in ROWS if r[2].startswith("not provided")], ids=_row_id)
def test_what_the_page_calls_not_provided_raises_attribute_error(row):
    section, names, _ = row
    models = [_model(), _functional()] if section == "Model methods" else [None]
    present = []
    for name in names:
        for model in models:
            try:
                resolve(section, name, model)
                present.append(name)
            except AttributeError:
                pass
    assert not present, f"{section}: the page says {present} are not provided, but dlcore has them"


# ---- layers: Keras 3's argument names, each given by keyword ------------------------------------------------

# a valid value for each Keras argument name (Keras's default where that is a valid example)
VALUES = dict(
    activation="tanh", recurrent_activation="sigmoid", use_bias=True, kernel_initializer="glorot_uniform",
    recurrent_initializer="orthogonal", bias_initializer="zeros", depthwise_initializer="glorot_uniform",
    pointwise_initializer="glorot_uniform", embeddings_initializer="uniform", alpha_initializer="zeros",
    beta_initializer="zeros", gamma_initializer="ones", moving_mean_initializer="zeros",
    moving_variance_initializer="ones", kernel_regularizer="l2", recurrent_regularizer=None, bias_regularizer=None,
    depthwise_regularizer=None, pointwise_regularizer=None, embeddings_regularizer=None, alpha_regularizer=None,
    beta_regularizer=None, gamma_regularizer=None, alpha_constraint=None,
    units=4, filters=4, kernel_size=3, strides=1, padding="valid", data_format="channels_last", dilation_rate=1,
    groups=1, depth_multiplier=1, output_padding=None, pool_size=2, keepdims=False,
    rate=0.5, noise_shape=None, seed=1, stddev=0.1, dropout=0.0, recurrent_dropout=0.0,
    return_sequences=False, return_state=False, go_backwards=False, stateful=False, unroll=False,
    unit_forget_bias=True, reset_after=True, merge_mode="concat", backward_layer=None,
    axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
    input_dim=10, output_dim=3, mask_zero=False, weights=None, mask_value=0.0, target_shape=(-1,), dims=(1,), n=2,
    size=2, cropping=1, function=abs, output_shape=None, mask=None, arguments=None,
    use_scale=False, score_mode="dot", num_heads=2, key_dim=4, value_dim=None, attention_axes=None,
    flash_attention=None, axes=1, normalize=False, alpha=1.0, max_value=None, negative_slope=0.3, threshold=0.0,
    shared_axes=None, offset=0.0, mean=None, variance=None, invert=False, num_tokens=3, output_mode="int",
    sparse=False, ragged=False, max_tokens=None, num_oov_indices=1, mask_token=None, vocabulary=None,
    vocabulary_dtype="int64", idf_weights=None, pad_to_max_tokens=False, encoding="utf-8",
    standardize="lower_and_strip_punctuation", split="whitespace", ngrams=None, output_sequence_length=None,
    height=4, width=4, interpolation="bilinear", crop_to_aspect_ratio=False, pad_to_aspect_ratio=False,
    fill_mode="constant", fill_value=0.0, antialias=False, factor=0.1, height_factor=0.1, width_factor=0.1,
    value_range=(0, 255), mode="horizontal",
)
OVERRIDES = {"ZeroPadding1D": dict(padding=1), "ZeroPadding2D": dict(padding=1), "Rescaling": dict(scale=0.5),
             "CategoryEncoding": dict(output_mode="multi_hot"), "StringLookup": dict(oov_token="[UNK]"),
             "IntegerLookup": dict(oov_token=-1), "UpSampling2D": dict(interpolation="nearest")}
FACTORIES = {"layer": lambda: dl.layers.LSTM(2)}  # Bidirectional, TimeDistributed
COMMON = "name trainable dtype"

_CONV = "filters kernel_size strides padding data_format dilation_rate activation use_bias kernel_initializer " \
        "bias_initializer kernel_regularizer bias_regularizer"
_DEPTHWISE = "kernel_size strides padding depth_multiplier data_format dilation_rate activation use_bias " \
             "depthwise_initializer bias_initializer depthwise_regularizer bias_regularizer"
_SEPARABLE = "filters kernel_size strides padding data_format dilation_rate depth_multiplier activation use_bias " \
             "depthwise_initializer pointwise_initializer bias_initializer depthwise_regularizer " \
             "pointwise_regularizer bias_regularizer"
_POOL, _GLOBAL = "pool_size strides padding data_format", "data_format keepdims"
_RNN = "units activation use_bias kernel_initializer recurrent_initializer bias_initializer kernel_regularizer " \
       "recurrent_regularizer bias_regularizer dropout recurrent_dropout seed return_sequences return_state " \
       "go_backwards stateful unroll"
_NORM = "axis epsilon center scale beta_initializer gamma_initializer beta_regularizer gamma_regularizer"
_LOOKUP = "max_tokens num_oov_indices mask_token oov_token vocabulary idf_weights invert output_mode sparse " \
          "pad_to_max_tokens"
_AFFINE = "fill_mode interpolation seed fill_value data_format"

# every layer the page calls supported, with Keras 3's arguments that dlcore takes
LAYER_ARGS = {
    "Dense": "units activation use_bias kernel_initializer bias_initializer kernel_regularizer bias_regularizer",
    "Activation": "activation",
    "Embedding": "input_dim output_dim embeddings_initializer embeddings_regularizer mask_zero weights",
    "Masking": "mask_value",
    "Lambda": "function output_shape mask arguments",
    "Conv1D": _CONV + " groups", "Conv2D": _CONV + " groups",
    "Conv1DTranspose": _CONV + " output_padding", "Conv2DTranspose": _CONV + " output_padding",
    "DepthwiseConv1D": _DEPTHWISE, "DepthwiseConv2D": _DEPTHWISE,
    "SeparableConv1D": _SEPARABLE, "SeparableConv2D": _SEPARABLE,
    "MaxPooling1D": _POOL, "MaxPool1D": _POOL, "MaxPooling2D": _POOL, "MaxPool2D": _POOL,
    "AveragePooling1D": _POOL, "AvgPool1D": _POOL, "AveragePooling2D": _POOL, "AvgPool2D": _POOL,
    "GlobalAveragePooling1D": _GLOBAL, "GlobalAvgPool1D": _GLOBAL, "GlobalAveragePooling2D": _GLOBAL,
    "GlobalAvgPool2D": _GLOBAL, "GlobalMaxPooling1D": _GLOBAL, "GlobalMaxPool1D": _GLOBAL,
    "GlobalMaxPooling2D": _GLOBAL, "GlobalMaxPool2D": _GLOBAL,
    "BatchNormalization": _NORM + " momentum moving_mean_initializer moving_variance_initializer",
    "LayerNormalization": _NORM,
    "GroupNormalization": _NORM + " groups",
    "SimpleRNN": _RNN,
    "LSTM": _RNN + " recurrent_activation unit_forget_bias",
    "GRU": _RNN + " recurrent_activation reset_after",
    "Bidirectional": "layer merge_mode backward_layer",
    "TimeDistributed": "layer",
    "Attention": "use_scale score_mode dropout seed",
    "MultiHeadAttention": "num_heads key_dim value_dim dropout use_bias output_shape attention_axes flash_attention "
                          "kernel_initializer bias_initializer kernel_regularizer bias_regularizer seed",
    **{name: "" for name in ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum")},
    "Concatenate": "axis",
    "Dot": "axes normalize",
    "ReLU": "max_value negative_slope threshold",
    "LeakyReLU": "negative_slope",
    "PReLU": "alpha_initializer alpha_regularizer alpha_constraint shared_axes",
    "ELU": "alpha",
    "Softmax": "axis",
    "Dropout": "rate noise_shape seed",
    "SpatialDropout1D": "rate seed", "SpatialDropout2D": "rate data_format seed",
    "SpatialDropout3D": "rate data_format seed",
    "GaussianNoise": "stddev seed", "GaussianDropout": "rate seed",
    "Flatten": "data_format",
    "Reshape": "target_shape", "Permute": "dims", "RepeatVector": "n",
    "UpSampling1D": "size", "UpSampling2D": "size data_format interpolation",
    "ZeroPadding1D": "padding", "ZeroPadding2D": "padding data_format",
    "Cropping1D": "cropping", "Cropping2D": "cropping data_format",
    "Rescaling": "scale offset",
    "Normalization": "axis mean variance invert",
    "CategoryEncoding": "num_tokens output_mode sparse",
    "StringLookup": _LOOKUP + " encoding",
    "IntegerLookup": _LOOKUP + " vocabulary_dtype",
    "TextVectorization": "max_tokens standardize split ngrams output_mode output_sequence_length pad_to_max_tokens "
                         "vocabulary idf_weights sparse ragged encoding",
    "Resizing": "height width interpolation crop_to_aspect_ratio pad_to_aspect_ratio fill_mode fill_value antialias "
                "data_format",
    "CenterCrop": "height width data_format",
    "RandomFlip": "mode seed data_format",
    "RandomRotation": "factor " + _AFFINE,
    "RandomZoom": "height_factor width_factor " + _AFFINE,
    "RandomTranslation": "height_factor width_factor " + _AFFINE,
    "RandomCrop": "height width seed data_format",
    "RandomContrast": "factor value_range seed data_format",
}

_CONSTRAINTS = "kernel_constraint bias_constraint"
# the Keras arguments the page calls "not taken" (besides activity_regularizer and autocast, for every layer)
NOT_TAKEN = {
    "Dense": "lora_rank lora_alpha quantization_config " + _CONSTRAINTS,
    "Embedding": "lora_rank lora_alpha quantization_config embeddings_constraint",
    "Conv1D": "lora_rank lora_alpha " + _CONSTRAINTS, "Conv2D": "lora_rank lora_alpha " + _CONSTRAINTS,
    "Conv2DTranspose": _CONSTRAINTS, "DepthwiseConv2D": "depthwise_constraint bias_constraint",
    "SeparableConv2D": "depthwise_constraint pointwise_constraint bias_constraint",
    "BatchNormalization": "renorm renorm_clipping renorm_momentum synchronized beta_constraint gamma_constraint",
    "LayerNormalization": "beta_constraint gamma_constraint", "GroupNormalization": "beta_constraint gamma_constraint",
    "SimpleRNN": "zero_output_for_mask recurrent_constraint " + _CONSTRAINTS,
    "LSTM": "use_cudnn zero_output_for_mask recurrent_constraint " + _CONSTRAINTS,
    "GRU": "use_cudnn zero_output_for_mask recurrent_constraint " + _CONSTRAINTS,
    "MultiHeadAttention": "use_gate sliding_window " + _CONSTRAINTS,
    "ZeroPadding1D": "data_format",
    "StringLookup": "oov_method salt vocabulary_dtype", "IntegerLookup": "oov_method salt",
    **{name: "bounding_box_format" for name in ("Resizing", "CenterCrop", "RandomFlip", "RandomRotation", "RandomZoom",
                                                "RandomTranslation", "RandomCrop", "RandomContrast")},
}


def layer_kwargs(name):
    kwargs = {}
    for arg in LAYER_ARGS[name].split() + COMMON.split():
        if arg in FACTORIES:
            kwargs[arg] = FACTORIES[arg]()
        elif arg == "name":
            kwargs[arg] = f"{name.lower()}_with_keras_arguments"
        elif arg == "trainable":
            kwargs[arg] = True
        elif arg == "dtype":
            kwargs[arg] = "float32"
        else:
            kwargs[arg] = OVERRIDES[name][arg] if arg in OVERRIDES.get(name, {}) else VALUES[arg]
    return kwargs


def test_the_argument_table_covers_every_layer_the_page_calls_supported():
    rows = [names for section, names, status in ROWS if section == "Layers" and status.startswith("supported")]
    classes = {n for names in rows for n in names if "." not in n and inspect.isclass(getattr(dl.layers, n))}
    assert classes - {"Layer"} == set(LAYER_ARGS), "keep LAYER_ARGS and the page's Layers table in step"


@pytest.mark.parametrize("name", sorted(LAYER_ARGS))
def test_layer_takes_keras_argument_names(name):
    layer = getattr(dl.layers, name)(**layer_kwargs(name))
    assert isinstance(layer, dl.layers.Layer)


@pytest.mark.parametrize("name", sorted(LAYER_ARGS))
def test_layer_refuses_the_arguments_the_page_calls_not_taken(name):
    for arg in ["activity_regularizer", "autocast"] + NOT_TAKEN.get(name, "").split():
        with pytest.raises(TypeError, match=arg):
            getattr(dl.layers, name)(**layer_kwargs(name), **{arg: None})


def test_layer_common_arguments():
    dense = dl.layers.Dense(2, input_shape=(3,), name="d", trainable=False, dtype="float64")
    assert dense.built and dense.kernel.dtype == np.float64 and not dense.trainable
    assert dl.layers.Dense(2, input_dim=3).kernel.shape == (3, 2)
    assert dl.layers.Dense(2, batch_input_shape=(None, 3)).built
    for kwargs in (dict(shape=(3,), batch_size=4, dtype="float32", name="x"), dict(batch_shape=(4, 3))):
        assert dl.Input(**kwargs).shape == (4, 3)
    for arg in ("sparse", "ragged", "tensor", "optional"):
        with pytest.raises(TypeError):
            dl.Input(shape=(3,), **{arg: None})


def _call(layer, x):
    return layer(np.asarray(x, np.float32))


def _custom_layer_with_weight(**kwargs):
    class Scale(dl.layers.Layer):  # Keras 3's add_weight: no name, keywords in any order
        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones", **kwargs)

        def call(self, x):
            return x * self.w
    return Scale()(np.ones((1, 3), np.float32))


def _keras_style_train_step():
    class M(dl.Model):
        def train_step(self, data):
            return super().train_step(data)
    x = dl.Input(shape=(3,))
    model = M(x, dl.layers.Dense(1)(x))
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.ones((4, 3), np.float32), np.ones((4, 1), np.float32), verbose=0)


def _fit(**kwargs):
    _model().fit(np.ones((4, 3), np.float32), np.ones((4, 2), np.float32), verbose=0, **kwargs)


def _on_batch_end_is_called():
    calls = []

    class Counter(dl.callbacks.Callback):
        def on_batch_end(self, batch, logs=None):
            calls.append(batch)
    _fit(callbacks=[Counter()])
    return calls


L, seq, img = dl.layers, np.zeros((2, 5, 3), np.float32), np.zeros((2, 4, 4, 3), np.float32)

# the values (and calls) the page says are refused, and the error it names
REFUSED = {
    "Conv1D padding='causal'": (lambda: L.Conv1D(2, 3, padding="causal"), ValueError),
    "Conv2D channels_first": (lambda: L.Conv2D(2, 3, data_format="channels_first"), ValueError),
    "Flatten channels_first": (lambda: L.Flatten(data_format="channels_first"), ValueError),
    "Dense dtype policy": (lambda: L.Dense(2, dtype="mixed_float16"), ValueError),
    "Activation selu": (lambda: L.Activation("selu"), ValueError),
    "LayerNormalization first axis": (lambda: _call(L.LayerNormalization(axis=1), seq), ValueError),
    "GroupNormalization groups=-1": (lambda: L.GroupNormalization(groups=-1), ValueError),
    "LSTM activation relu": (lambda: L.LSTM(2, activation="relu"), ValueError),
    "LSTM recurrent_activation": (lambda: L.LSTM(2, recurrent_activation="hard_sigmoid"), ValueError),
    "GRU reset_after=False": (lambda: L.GRU(2, reset_after=False), ValueError),
    "Bidirectional(Conv1D)": (lambda: L.Bidirectional(L.Conv1D(2, 3)), TypeError),
    "Bidirectional(stateful)": (lambda: L.Bidirectional(L.LSTM(2, stateful=True)), ValueError),
    "MultiHeadAttention attention_axes": (lambda: L.MultiHeadAttention(2, 2, attention_axes=(1, 2)), ValueError),
    "MultiHeadAttention flash_attention": (lambda: L.MultiHeadAttention(2, 2, flash_attention=True), ValueError),
    "PReLU constraint name": (lambda: L.PReLU(alpha_constraint="non_neg"), TypeError),
    "UpSampling2D bicubic": (lambda: L.UpSampling2D(interpolation="bicubic"), ValueError),
    "CategoryEncoding sparse": (lambda: L.CategoryEncoding(3, sparse=True), ValueError),
    "TextVectorization ragged": (lambda: L.TextVectorization(ragged=True), ValueError),
    "StringLookup sparse": (lambda: L.StringLookup(sparse=True), ValueError),
    "Resizing antialias": (lambda: L.Resizing(2, 2, antialias=True), ValueError),
    "Resizing bicubic": (lambda: L.Resizing(2, 2, interpolation="bicubic"), ValueError),
    "RandomFlip channels_first": (lambda: L.RandomFlip(data_format="channels_first"), ValueError),
    "Embedding input_length": (lambda: L.Embedding(10, 2, input_length=4)(np.zeros((2, 5), np.int64)), ValueError),
    "add_weight autocast": (lambda: _custom_layer_with_weight(autocast=False), TypeError),
    "add_weight aggregation": (lambda: _custom_layer_with_weight(aggregation="sum"), TypeError),
    "add_weight overwrite_with_gradient": (lambda: _custom_layer_with_weight(overwrite_with_gradient=False),
                                           TypeError),
    "Model with dict inputs": (lambda: dl.Model({"a": dl.Input(shape=(3,))}, dl.Input(shape=(3,))), TypeError),
    "compile steps_per_execution": (lambda: _model().compile(loss="mse", steps_per_execution=2), ValueError),
    "fit validation_freq of another type": (lambda: _fit(validation_data=(np.ones((2, 3)), np.ones((2, 2))),
                                                         validation_freq="1"), TypeError),
    "train_step(self, data)": (_keras_style_train_step, TypeError),
    "load_model(filepath=)": (lambda: dl.models.load_model(filepath="m.dlc"), TypeError),
    "SGD nesterov without momentum": (lambda: dl.optimizers.SGD(learning_rate=0.1, nesterov=True), ValueError),
    "optim capturable": (lambda: dl.optim.Adam([dl.Parameter(np.zeros(2))], capturable=True), ValueError),
    "lr_scheduler step(epoch)": (lambda: dl.optim.lr_scheduler.StepLR(dl.optim.SGD([dl.Parameter(np.zeros(2))],
                                                                                      lr=0.1), 2).step(1), TypeError),
    "BinaryCrossentropy axis": (lambda: dl.losses.BinaryCrossentropy(axis=0)(np.ones((2, 2)), np.ones((2, 2)) / 2),
                                ValueError),
    "CategoricalCrossentropy 3-D": (lambda: dl.losses.CategoricalCrossentropy()(np.ones((2, 2, 2)) / 2,
                                                                                np.ones((2, 2, 2)) / 2), ValueError),
    "SparseCategoricalCrossentropy ignore_class": (lambda: dl.losses.SparseCategoricalCrossentropy(ignore_class=0),
                                                   TypeError),
    "Loss dtype": (lambda: dl.losses.MeanSquaredError(dtype="float32"), TypeError),
    "metric name of a loss": (lambda: dl.metrics.get("binary_crossentropy"), ValueError),
    "ModelCheckpoint save_freq": (lambda: dl.callbacks.ModelCheckpoint("m.dlc", save_freq=2), ValueError),
    "TerminateOnNaN raise_error": (lambda: dl.callbacks.TerminateOnNaN(raise_error=True), TypeError),
    "ops.dot rank 3": (lambda: dl.ops.dot(np.ones((2, 2, 2)), np.ones((2, 2))), ValueError),
    "ops.max initial": (lambda: dl.ops.max(np.ones(2), initial=0.0), TypeError),
    "ops.normalize order 1": (lambda: dl.ops.normalize(np.ones((2, 2)), order=1), ValueError),
    "ops.moments synchronized": (lambda: dl.ops.moments(np.ones(2), [0], synchronized=True), ValueError),
    "ops.one_hot axis": (lambda: dl.ops.one_hot(np.array([0, 1]), 2, axis=0), ValueError),
    "ops.conv 3-D": (lambda: dl.ops.conv(np.ones((1, 3, 3, 3, 1)), np.ones((2, 2, 2, 1, 1))), ValueError),
    "ops.max_pool 1-D": (lambda: dl.ops.max_pool(np.ones((1, 4, 1)), 2), ValueError),
    "to_categorical(x=)": (lambda: dl.utils.to_categorical(x=np.array([0, 1])), TypeError),
    "Progbar stateful_metrics": (lambda: dl.utils.Progbar(2, stateful_metrics=None), TypeError),
    "set_floatx float64": (lambda: dl.backend.set_floatx("float64"), ValueError),
    "set_image_data_format": (lambda: dl.backend.set_image_data_format("channels_first"), ValueError),
    "initializer identity": (lambda: dl.initializers.get("identity"), ValueError),
}


@pytest.mark.parametrize("what", sorted(REFUSED))
def test_what_the_page_says_is_refused_raises(what, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    make, error = REFUSED[what]
    with pytest.raises(error):
        make()


def test_keras_forms_that_work():
    # the page says so: add_weight without a name, in Keras 3's argument order; expand_dims with a tuple
    assert _custom_layer_with_weight(dtype="float32", trainable=True).numpy().tolist() == [[1.0, 1.0, 1.0]]
    assert dl.ops.expand_dims(np.ones(2), (0, 2)).shape == (1, 2, 1)


def test_callback_batch_aliases_are_called():
    # the page says so (as Keras 3: on_batch_end is an alias of on_train_batch_end); fit runs 1 batch of 4
    assert _on_batch_end_is_called() == [0]


def test_callback_list_add_history_and_add_progbar_add_them():
    # the page says so (as Keras)
    callbacks = dl.callbacks.CallbackList([], add_history=True, add_progbar=True)
    assert [type(c) for c in callbacks.callbacks] == [dl.callbacks.History, dl.callbacks.ProgbarLogger]


def test_the_attention_layers_read_the_masks_their_inputs_carry():
    # the page says so (as Keras); tests/test_attention.py checks the values
    ids = np.array([[3, 4, 0, 0], [1, 2, 5, 0]])
    emb = dl.layers.Embedding(10, 4, mask_zero=True)
    masked, plain, mask = emb(ids), emb.embeddings.numpy()[ids], ids != 0
    att = dl.layers.Attention()
    np.testing.assert_array_equal(att([masked, masked]).numpy(), att([plain, plain], mask=[mask, mask]).numpy())
    mha = dl.layers.MultiHeadAttention(2, 2)
    np.testing.assert_array_equal(mha(masked, masked).numpy(),
                                  mha(plain, plain, query_mask=mask, value_mask=mask).numpy())


# ---- model methods ---------------------------------------------------------------------------------------

MODEL_ARGS = {
    "compile": "optimizer loss loss_weights metrics weighted_metrics run_eagerly steps_per_execution jit_compile "
               "auto_scale_loss",
    "fit": "x y batch_size epochs verbose callbacks validation_split validation_data shuffle class_weight "
           "sample_weight initial_epoch steps_per_epoch validation_steps validation_batch_size validation_freq",
    "evaluate": "x y batch_size verbose sample_weight steps callbacks return_dict",
    "predict": "x batch_size verbose steps callbacks",
    "train_on_batch": "x y sample_weight class_weight return_dict",
    "test_on_batch": "x y sample_weight return_dict",
    "predict_on_batch": "x",
    "summary": "line_length print_fn",
    "save": "filepath overwrite",
    "save_weights": "filepath overwrite",
    "load_weights": "filepath",
    "get_layer": "name index",
    "set_weights": "weights",
    "from_config": "config",
    "add": "layer",
}
MODEL_NOT_TAKEN = {"summary": "positions expand_nested show_trainable layer_range", "save": "zipped",
                   "save_weights": "max_shard_size", "load_weights": "skip_mismatch", "from_config": "custom_objects",
                   "add": "rebuild", "pop": "rebuild"}


def _parameters(model, method):
    return inspect.signature(getattr(model, method)).parameters


@pytest.mark.parametrize("model", [_model, _functional], ids=["Sequential", "functional"])
@pytest.mark.parametrize("method", sorted(MODEL_ARGS))
def test_model_method_takes_keras_argument_names(model, method):
    model = model()
    if method == "add" and not isinstance(model, dl.Sequential):
        pytest.skip("Sequential only")
    params = _parameters(model, method)
    missing = [a for a in MODEL_ARGS[method].split() if a not in params]
    assert not missing, f"{method}: Keras's {missing} are not taken"


@pytest.mark.parametrize("method", sorted(MODEL_NOT_TAKEN))
def test_model_method_refuses_what_the_page_calls_not_taken(method):
    params = _parameters(_model(), method)
    assert not any(p.kind is p.VAR_KEYWORD for p in params.values())
    taken = [a for a in MODEL_NOT_TAKEN[method].split() if a in params]
    assert not taken, f"{method}: the page says {taken} are not taken"


def test_model_keras_calls_run(tmp_path):
    x, y = np.random.default_rng(0).random((8, 3), np.float32), np.random.default_rng(1).random((8, 2), np.float32)
    model = _model()
    model.compile(optimizer="adam", loss="mse", metrics=["mae"], weighted_metrics=["mse"], run_eagerly=True,
                  jit_compile=False, auto_scale_loss=True)
    history = model.fit(x, y, batch_size=4, epochs=2, verbose=0, validation_split=0.25, shuffle=False,
                        sample_weight=np.ones(8), initial_epoch=0, validation_batch_size=2, validation_freq=1)
    assert {"loss", "mae", "mse", "val_loss"} <= set(history.history)
    history = model.fit(x, y, epochs=3, verbose=0, validation_data=(x, y), validation_freq=[2, 3])  # Keras's list
    assert len(history.history["val_loss"]) == 2
    assert model.evaluate(x, y, return_dict=True, verbose=0).keys() >= {"loss", "mae"}
    assert model.predict(x, verbose=0).shape == (8, 2) and model.predict_on_batch(x).shape == (8, 2)
    assert model.train_on_batch(x, y, return_dict=True)["loss"] >= 0
    assert model.get_layer(index=0) is model.layers[0]
    model.save(str(tmp_path / "m.keras"))  # dlcore's format whatever the extension
    assert dl.models.load_model(str(tmp_path / "m.keras")).count_params() == model.count_params()
    model.save_weights(str(tmp_path / "w.weights.h5"))
    model.load_weights(str(tmp_path / "w.weights.h5"))


# ---- optimizers ------------------------------------------------------------------------------------------

_OPT_COMMON = "learning_rate weight_decay clipnorm clipvalue global_clipnorm name"
OPTIMIZER_ARGS = {
    "SGD": "momentum nesterov", "RMSprop": "rho momentum epsilon centered", "Adam": "beta_1 beta_2 epsilon amsgrad",
    "AdamW": "beta_1 beta_2 epsilon amsgrad", "Adagrad": "initial_accumulator_value epsilon",
    "Adadelta": "rho epsilon", "Adamax": "beta_1 beta_2 epsilon", "Nadam": "beta_1 beta_2 epsilon",
    "Lion": "beta_1 beta_2",
}
OPT_VALUES = dict(learning_rate=0.01, weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                  name="opt", momentum=0.0, nesterov=False, rho=0.9, epsilon=1e-7, centered=False, beta_1=0.9,
                  beta_2=0.999, amsgrad=False, initial_accumulator_value=0.1)
OPT_NOT_TAKEN = "use_ema ema_momentum ema_overwrite_frequency loss_scale_factor gradient_accumulation_steps"


@pytest.mark.parametrize("name", sorted(OPTIMIZER_ARGS))
def test_optimizer_takes_keras_argument_names(name):
    args = {a: OPT_VALUES[a] for a in (OPTIMIZER_ARGS[name] + " " + _OPT_COMMON).split()}
    opt = getattr(dl.optimizers, name)(**args)
    assert opt.api == "keras"
    for arg in OPT_NOT_TAKEN.split():
        with pytest.raises(TypeError, match=arg):
            getattr(dl.optimizers, name)(**args, **{arg: None})
    for attr in ("variables", "exclude_from_weight_decay", "add_variable", "scale_loss"):
        assert not hasattr(opt, attr), f"the page says optimizers have no {attr}"
