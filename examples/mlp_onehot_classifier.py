"""A Dense classifier on the bundled 8x8 digits, with one-hot labels and categorical cross-entropy.

Labels go through dlcore.data.to_categorical; the images are flattened to 64 features.
Target: test accuracy >= 95%.
"""
import sys

import dlcore as dl
from dlcore.data import to_categorical

TARGET = 0.95


def main():
    dl.manual_seed(0)
    (x_train, y_train), (x_test, y_test) = dl.datasets.load_digits(size=8)
    x_train, x_test = x_train.reshape(len(x_train), -1), x_test.reshape(len(x_test), -1)
    y_train, y_test = to_categorical(y_train, 10), to_categorical(y_test, 10)

    model = dl.Sequential([
        dl.layers.Dense(128, activation="relu", input_shape=(64,)),
        dl.layers.Dropout(0.2),
        dl.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    model.summary()
    model.fit(x_train, y_train, epochs=50, batch_size=32, verbose=2)

    loss, acc = model.evaluate(x_test, y_test)
    met = acc >= TARGET
    print(f"test loss {loss:.4f}, accuracy {acc * 100:.2f}%")
    print(f"RESULT mlp_onehot_classifier: accuracy={acc:.4f} target>={TARGET}: {'met' if met else 'NOT met'}")
    return met


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
