"""Regression with a small MLP trained by SGD (with momentum) on the mean squared error.

The target is a smooth nonlinear function of 4 inputs plus noise; the features are standardized
with dlcore.data.StandardScaler. Reports the test R^2 (1 - MSE / variance of the targets).
Target: R^2 >= 0.9.
"""
import sys

import numpy as np

import dlcore as dl
from dlcore.data import StandardScaler, train_test_split

TARGET_R2 = 0.90


def make_data(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, size=(n, 4)).astype(np.float32)
    y = np.sin(x[:, 0]) + 0.5 * x[:, 1] ** 2 - x[:, 2] * x[:, 3] * 0.5 + 0.1 * rng.normal(size=n)
    return x, y.astype(np.float32)[:, None]


def main():
    dl.manual_seed(0)
    x, y = make_data()
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, seed=0)
    scaler = StandardScaler().fit(x_train)
    x_train, x_test = scaler.transform(x_train), scaler.transform(x_test)

    model = dl.Sequential([
        dl.layers.Dense(64, activation="relu", input_shape=(4,)),
        dl.layers.Dense(64, activation="relu"),
        dl.layers.Dense(1),
    ])
    model.compile(optimizer=dl.optimizers.SGD(learning_rate=0.01, momentum=0.9), loss="mse", metrics=["mae"])
    model.fit(x_train, y_train, epochs=40, batch_size=32, validation_split=0.1, verbose=2)

    mse, mae = model.evaluate(x_test, y_test)
    r2 = 1.0 - mse / float(np.var(y_test))
    met = r2 >= TARGET_R2
    print(f"test MSE {mse:.4f}, MAE {mae:.4f}, R^2 {r2:.4f}")
    print(f"RESULT regression_mlp: R2={r2:.4f} target>={TARGET_R2}: {'met' if met else 'NOT met'}")
    return met


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
