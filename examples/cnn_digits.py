"""The tutorials' CNN on the bundled digits upsampled to 28x28x1 (MNIST-shaped).

Conv2D(32, 3x3, relu) -> MaxPooling2D -> Conv2D(64, 3x3, relu) -> MaxPooling2D -> Flatten
-> Dense(64, relu) -> Dense(10, softmax); Adam, sparse categorical cross-entropy.
Target: test accuracy >= 97%.
"""
import sys
import time

import dlcore as dl

TARGET = 0.97


def main(epochs=13):
    dl.manual_seed(0)
    (x_train, y_train), (x_test, y_test) = dl.datasets.load_digits(size=28)
    L = dl.layers
    model = dl.Sequential([
        L.Conv2D(32, (3, 3), activation="relu", input_shape=(28, 28, 1)),
        L.MaxPooling2D((2, 2)),
        L.Conv2D(64, (3, 3), activation="relu"),
        L.MaxPooling2D((2, 2)),
        L.Flatten(),
        L.Dense(64, activation="relu"),
        L.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.summary()
    t0 = time.perf_counter()
    model.fit(x_train, y_train, epochs=epochs, batch_size=32, verbose=2)
    per_epoch = (time.perf_counter() - t0) / epochs
    loss, acc = model.evaluate(x_test, y_test, batch_size=256)
    met = acc >= TARGET
    print(f"test loss {loss:.4f}, accuracy {acc * 100:.2f}%, {per_epoch:.2f} s/epoch "
          f"(ISA {dl.cpu_isa()}, {dl.get_num_threads()} threads)")
    print(f"RESULT cnn_digits: accuracy={acc:.4f} target>={TARGET}: {'met' if met else 'NOT met'}")
    return met


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
