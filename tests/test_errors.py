"""Errors with a misleading type or message, each now a TypeError / ValueError naming the op or layer,
the argument, what was expected and what was received; and values that were refused although right."""
import numpy as np
import pytest

import dlcore as dl
from dlcore import kernels as K
from harness import raises

L = dl.layers
F32 = np.float32


def test_gemm_scalars_must_be_real_numbers():
    a = np.ones((2, 2), F32)
    with raises(TypeError, "gemm", "'alpha' must be a real number", "complex"):  # was float()'s message
        K.gemm(a, a, alpha=1j)
    with raises(TypeError, "gemm", "'beta'", "str"):
        K.gemm(a, a, beta="1")
    np.testing.assert_array_equal(K.gemm(a, a, alpha=np.float32(0.5)), np.ones((2, 2)))  # NumPy scalars are fine


def test_activation_parameters_must_be_finite_real_numbers():
    x = np.ones(3, F32)
    with raises(TypeError, "leaky_relu_forward", "'negative_slope'", "str"):  # was "could not convert string"
        K.leaky_relu_forward(x, "0.2")
    with raises(ValueError, "leaky_relu_backward", "'negative_slope'", "finite"):
        K.leaky_relu_backward(x, x, float("nan"))
    with raises(TypeError, "elu_forward", "'alpha'", "complex"):
        K.elu_forward(x, 1j)
    np.testing.assert_array_equal(K.elu_forward(-x, np.float64(2.0)), 2.0 * np.expm1(-x))


def test_evaluate_on_no_samples_is_an_error_not_nan():
    model = dl.Sequential([L.Dense(3, activation="softmax", input_shape=(4,))])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    with raises(ValueError, "evaluate", "no samples"):  # returned [nan, 0.0]
        model.evaluate(np.zeros((0, 4), F32), np.zeros(0, np.int64))


def test_numpy_scalars_are_accepted_where_python_ones_are():
    assert L.Dropout(np.float32(0.5)).rate == 0.5  # was refused
    assert L.Conv2D(np.int64(4), np.int64(3)).kernel_size == (3, 3)  # filters refused, kernel_size misread
    assert L.Conv2D(4, (np.int32(3), 2)).kernel_size == (3, 2)
    bn = L.BatchNormalization(axis=np.int64(-1), momentum=np.float32(0.9), epsilon=np.float64(1e-3))
    assert (bn.axis, bn.epsilon) == (-1, 1e-3) and bn.momentum == pytest.approx(0.9)
    assert L.LayerNormalization(axis=(np.int64(1), 2)).axis == (1, 2)


def test_layer_numbers_of_the_wrong_type_or_range():
    with raises(TypeError, "Dropout", "'rate' must be a number", "str"):
        L.Dropout("0.5")
    with raises(ValueError, "Dropout", "'rate'", "nan"):
        L.Dropout(float("nan"))
    with raises(TypeError, "BatchNormalization", "'momentum' must be a number", "str"):  # was Python's '<=' message
        L.BatchNormalization(momentum="0.9")
    with raises(ValueError, "BatchNormalization", "'epsilon'"):  # NaN was accepted
        L.BatchNormalization(epsilon=float("nan"))
    with raises(TypeError, "LayerNormalization", "'axis'"):
        L.LayerNormalization(axis="last")
    with raises(ValueError, "LayerNormalization", "'epsilon'"):
        L.LayerNormalization(epsilon=0)


def test_ragged_and_non_numeric_tensors():
    with raises(ValueError, "dl.tensor", "ragged"):  # was NumPy's "inhomogeneous shape" message
        dl.tensor([[1, 2], [3]])
    with raises(TypeError, "dl.tensor"):  # became a tensor of strings
        dl.tensor([1, "a"])
    assert dl.tensor(["a", "b"]).data.dtype.kind == "U"  # strings alone are a string tensor (StringLookup's)


def test_constructor_shapes_name_the_constructor():
    with raises(ValueError, "dl.zeros", "non-negative ints", "(-1,)"):  # was NumPy's message
        dl.zeros(-1)
    with raises(ValueError, "dl.randn", "non-negative ints"):
        dl.randn(2, "a")
    assert dl.ones(np.int64(2), 3).shape == (2, 3)


def test_a_scalar_input_to_dense_is_a_value_error():
    d = L.Dense(2)
    d(np.ones((1, 3), F32))
    with raises(ValueError, "Dense", "expected input with last dimension 3", "shape ()"):  # was an IndexError
        d(np.float32(1.0))


# ----------------------------------------------------------------------------------- masked arrays

MASKED = np.ma.masked_array(np.ones((2, 3), F32), mask=[[0, 1, 0], [0, 0, 0]])


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")  # np.matrix's own warning
def test_masked_arrays_are_refused_everywhere_they_enter():
    # np.asarray drops the mask, so every kernel computed with the hidden values
    with raises(TypeError, "relu_forward", "'x'", "masked array", "filled"):
        K.relu_forward(MASKED)
    with raises(TypeError, "gemm", "'a'", "masked array"):
        K.gemm(MASKED, np.ones((3, 2), F32))
    with raises(TypeError, "dl.tensor", "masked array"):
        dl.tensor(MASKED)
    with raises(TypeError, "Dense", "'inputs'", "masked array"):
        L.Dense(2)(MASKED)
    model = dl.Sequential([L.Dense(2, input_shape=(3,))])
    model.compile("sgd", "mse")
    with raises(TypeError, "masked array"):
        model.fit(MASKED, np.zeros((2, 2), F32), verbose=0)
    with raises(TypeError, "masked array"):
        model.predict(MASKED)
    with raises(TypeError, "np.matrix"):
        K.relu_forward(np.matrix([[1.0, -1.0]]))
    np.testing.assert_array_equal(K.relu_forward(MASKED.filled(0.0)), [[1, 0, 1], [1, 1, 1]])
