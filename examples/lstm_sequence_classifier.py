"""A stacked LSTM classifies noisy waveforms: sine, square or sawtooth.

Each sequence is 30 time steps of one feature: a waveform of random frequency, phase and amplitude
plus Gaussian noise (generated with a fixed seed). Two LSTM layers (the first with
return_sequences=True feeding the second), then a softmax. Target: test accuracy >= 90%.
"""
import sys

import numpy as np

import dlcore as dl

TARGET = 0.90
STEPS = 30


def make_waves(n, seed):
    rng = np.random.default_rng(seed)
    kind = rng.integers(0, 3, size=n)
    t = np.arange(STEPS)[None, :]
    freq = rng.uniform(0.04, 0.12, size=(n, 1))
    phase = rng.uniform(0, 1, size=(n, 1))
    amp = rng.uniform(0.6, 1.2, size=(n, 1))
    cycle = (freq * t + phase) % 1.0
    sine = np.sin(2 * np.pi * cycle)
    square = np.where(cycle < 0.5, 1.0, -1.0)
    saw = 2 * cycle - 1
    x = np.choose(kind[:, None], [sine, square, saw]) * amp + 0.15 * rng.normal(size=(n, STEPS))
    return x[..., None].astype(np.float32), kind.astype(np.int64)


def main():
    dl.manual_seed(0)
    x_train, y_train = make_waves(1200, seed=1)
    x_test, y_test = make_waves(400, seed=2)
    model = dl.Sequential([
        dl.layers.LSTM(32, return_sequences=True, input_shape=(STEPS, 1)),
        dl.layers.LSTM(32),
        dl.layers.Dense(3, activation="softmax"),
    ])
    model.compile(optimizer=dl.optimizers.Adam(learning_rate=0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.summary()
    model.fit(x_train, y_train, epochs=10, batch_size=32, validation_split=0.1, verbose=2)
    loss, acc = model.evaluate(x_test, y_test)
    met = acc >= TARGET
    print(f"test loss {loss:.4f}, accuracy {acc * 100:.2f}%")
    print(f"RESULT lstm_sequence_classifier: accuracy={acc:.4f} target>={TARGET}: {'met' if met else 'NOT met'}")
    return met


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
