"""Arguments that were accepted and then did something wrong, silently: each now does what it says
or raises, naming the object, the argument, what was expected and what was received."""
import numpy as np
import pytest

import dlcore as dl
import dlcore.functional as F
from dlcore import kernels as K


# ------------------------------------------------------------------------------------- optimizers

@pytest.mark.parametrize("kwargs, match", [
    ({"clipvalue": -1.0}, "Adam: clipvalue must be a finite number in (0.0, inf)"),  # moved every parameter by +lr
    ({"clipvalue": 0.0}, "clipvalue"),
    ({"clipnorm": -2.0}, "clipnorm"),
    ({"global_clipnorm": float("nan")}, "global_clipnorm"),
    ({"learning_rate": float("nan")}, "learning_rate"),
    ({"learning_rate": float("inf")}, "learning_rate"),
    ({"learning_rate": -0.1}, "learning_rate"),
    ({"weight_decay": -0.1}, "weight_decay"),
    ({"epsilon": -1e-7}, "epsilon"),
    ({"beta_1": 1.0}, "beta_1"),
    ({"beta_2": float("nan")}, "beta_2"),
    ({"betas": (0.9,)}, "betas"),
])
def test_adam_arguments_are_validated(kwargs, match):
    with pytest.raises(ValueError, match=match.replace("(", r"\(").replace("[", r"\[").replace("]", r"\]")
                       .replace(")", r"\)")):
        dl.optimizers.Adam(**kwargs)


@pytest.mark.parametrize("cls, kwargs, match", [
    (dl.optimizers.SGD, {"momentum": -0.5}, "momentum"),
    (dl.optimizers.SGD, {"momentum": float("nan")}, "momentum"),
    (dl.optimizers.RMSprop, {"rho": 1.5}, "rho"),
    (dl.optimizers.RMSprop, {"momentum": -1}, "momentum"),
    (dl.optimizers.Adagrad, {"initial_accumulator_value": -1}, "initial_accumulator_value"),
    (dl.optimizers.Adagrad, {"epsilon": float("inf")}, "epsilon"),
])
def test_other_optimizer_arguments_are_validated(cls, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cls(**kwargs)


def test_optimizer_arguments_of_the_wrong_type_are_type_errors():
    with pytest.raises(TypeError, match="Adam: beta_1 must be a number, got str"):
        dl.optimizers.Adam(beta_1="0.9")
    with pytest.raises(TypeError, match="SGD: clipvalue must be a number"):
        dl.optimizers.SGD(clipvalue=[1.0])
    assert dl.optimizers.Adam(learning_rate=np.float32(0.01), clipvalue=np.float64(1.0)).clipvalue == 1.0


def test_clipvalue_clips_in_both_directions():
    p = dl.Parameter(np.zeros(4, np.float32))
    opt = dl.optimizers.SGD([p], learning_rate=1.0, clipvalue=0.5)
    p.grad = np.array([-3.0, -0.25, 0.25, 3.0], np.float32)
    opt.step()
    np.testing.assert_array_equal(p.numpy(), [0.5, 0.25, -0.25, -0.5])


def test_optimizer_state_follows_model_to_dtype():
    # model.to(dtype=float64) after compile left float32 moments, and the next step failed inside adam_update
    model = dl.Sequential([dl.layers.Dense(2, input_shape=(3,))])
    model.compile("adam", "mse")
    x, y = np.ones((4, 3), np.float32), np.ones((4, 2), np.float32)
    model.fit(x, y, verbose=0)
    model.to(dtype=np.float64)
    model.fit(x.astype(np.float64), y.astype(np.float64), verbose=0)
    assert all(w.dtype == np.float64 for w in model.get_weights())
    assert all(s.dtype == np.float64 for st in model.optimizer.state for s in st.values())


# ------------------------------------------------------------------------------------ class_weight

def test_class_weight_keys_must_be_class_indices():
    model = dl.Sequential([dl.layers.Dense(3, activation="softmax", input_shape=(2,))])
    model.compile("sgd", "sparse_categorical_crossentropy")
    x, y = np.ones((6, 2), np.float32), np.array([0, 1, 2, 0, 1, 2])
    with pytest.raises(ValueError, match=r"class_weight: keys must be class indices \(ints >= 0\), got -1"):
        model.fit(x, y, class_weight={-1: 5.0}, verbose=0)  # reweighed the last class, silently
    with pytest.raises(ValueError, match="class_weight: keys"):
        model.fit(x, y, class_weight={"a": 5.0}, verbose=0)
    with pytest.raises(ValueError, match="class_weight: weights must be finite"):
        model.fit(x, y, class_weight={0: float("nan")}, verbose=0)
    with pytest.raises(TypeError, match="class_weight must be a dict"):
        model.fit(x, y, class_weight=[1.0, 2.0, 3.0], verbose=0)
    with pytest.raises(ValueError, match="negative class index -1"):
        model.fit(x, np.array([0, 1, -1, 0, 1, 2]), class_weight={0: 2.0}, verbose=0)


def test_class_weight_weighs_the_named_class():
    from dlcore.data import class_weights_to_sample_weights
    w = class_weights_to_sample_weights(np.array([0, 1, 2, 1]), {1: 3.0, np.int64(2): 0.5})
    np.testing.assert_array_equal(w, [1.0, 3.0, 0.5, 3.0])
    w = class_weights_to_sample_weights(np.eye(3)[[2, 0]], {2: 4.0})  # one-hot rows
    np.testing.assert_array_equal(w, [4.0, 1.0])
    w = class_weights_to_sample_weights(np.array([[0.9], [0.2]]), {1: 2.0})  # binary targets, rounded (Keras)
    np.testing.assert_array_equal(w, [2.0, 1.0])
    # a huge label allocates no table of that size
    w = class_weights_to_sample_weights(np.array([10 ** 12, 0]), {0: 2.0})
    np.testing.assert_array_equal(w, [1.0, 2.0])


# -------------------------------------------------------------------------------- loss y shapes

@pytest.mark.parametrize("loss", ["mse", "mae", "binary_crossentropy", "categorical_crossentropy", "huber"])
def test_a_transposed_y_is_refused_not_reshaped(loss):
    # (2, N) against predictions (N, 2): the same number of values, and used to be reshaped silently
    y_pred = dl.tensor(np.full((5, 2), 0.5, np.float32))
    y_true = np.zeros((2, 5), np.float32)
    with pytest.raises(ValueError, match=r"y_true \(2, 5\) and y_pred \(5, 2\)"):
        dl.losses.get(loss)(y_true, y_pred)


def test_a_trailing_axis_of_one_is_still_fine():
    y_pred = dl.tensor(np.full((5, 1), 0.25, np.float32))
    a = F.mse(np.zeros(5, np.float32), y_pred).item()
    b = F.mse(np.zeros((5, 1), np.float32), y_pred).item()
    assert a == b == pytest.approx(0.0625)
    assert F.mse(np.zeros((5, 1), np.float32), dl.tensor(np.full(5, 0.25, np.float32))).item() == pytest.approx(0.0625)


def test_sparse_labels_of_the_wrong_shape_are_refused():
    logits = dl.tensor(np.zeros((4, 3, 5), np.float32))
    with pytest.raises(ValueError, match=r"labels must have shape \(4, 3\)"):
        F.sparse_categorical_cross_entropy(np.zeros((3, 4), np.int64), logits, from_logits=True)
    F.sparse_categorical_cross_entropy(np.zeros((4, 3), np.int64), logits, from_logits=True)
    F.sparse_categorical_cross_entropy(np.zeros((4, 3, 1), np.int64), logits, from_logits=True)


def test_metrics_refuse_a_transposed_y():
    m = dl.metrics.get("mse")
    with pytest.raises(ValueError, match="y_true must have the shape of y_pred"):
        m.update_state(np.zeros((2, 5)), np.zeros((5, 2)))
    with pytest.raises(ValueError, match="y_true must have the shape of y_pred"):
        dl.metrics.get("sparse_categorical_accuracy").update_state(np.zeros((1, 5)), np.zeros((5, 3)))


def test_a_model_with_a_transposed_y_fails_in_fit():
    model = dl.Sequential([dl.layers.Dense(2, input_shape=(3,))])
    model.compile("sgd", "mse")
    with pytest.raises(ValueError, match="y_true"):
        model.train_on_batch(np.ones((4, 3), np.float32), np.ones((2, 4), np.float32))


# ------------------------------------------------------------------------- module attribute tracking

class Blocks(dl.Module):
    def __init__(self):
        super().__init__()
        self._blocks = {"a": dl.layers.Dense(2, input_dim=3), "b": dl.layers.Dense(1, input_dim=2)}
        self._extra = {"scale": dl.Parameter(np.ones(1, np.float32))}
        for layer in self._blocks.values():
            layer.build((None, layer.batch_input_shape[1]))

    def forward(self, x):
        return self._blocks["b"](self._blocks["a"](x)) * self._extra["scale"]


def test_dicts_under_underscore_names_are_tracked_like_lists():
    m = Blocks()
    names = [n for n, _ in m.named_parameters()]
    assert names == ["_blocks.a.kernel", "_blocks.a.bias", "_blocks.b.kernel", "_blocks.b.bias", "_extra.scale"]
    assert list(m.state_dict()) == names
    opt = dl.optimizers.SGD(m.parameters(), learning_rate=0.1)
    before = m._blocks["a"].kernel.numpy().copy()
    m(dl.tensor(np.ones((2, 3), np.float32))).sum().backward()
    opt.step()
    assert not np.array_equal(before, m._blocks["a"].kernel.numpy())


def test_kernel_optimizer_aliasing_is_refused_by_the_kernel_api():
    p, g, m = np.zeros(4, np.float32), np.ones(4, np.float32), np.zeros(4, np.float32)
    with pytest.raises(ValueError, match="adam_update: 'v' must not share memory with 'm'"):
        K.adam_update(p, g, m, m, 0.1, 1)
