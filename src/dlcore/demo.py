"""Train the tutorials' CNN on the bundled hand-written digits: `python -m dlcore.demo`.

    Conv2D(32, 3x3, relu) -> MaxPooling2D(2x2) -> Conv2D(64, 3x3, relu) -> MaxPooling2D(2x2)
    -> Flatten -> Dense(64, relu) -> Dense(10, softmax)

on the UCI digits upsampled to 28x28x1 (MNIST-shaped), with Adam and sparse categorical
cross-entropy; prints the progress bar, then the test accuracy, the time per epoch and what ran it
(CPU instruction set, threads, device). Needs no download: the digits ship with dlcore.

`--dataset mnist` (or fashion_mnist) trains Keras's "simple MNIST convnet" instead -- the same two
convolutions, then Flatten -> Dropout(0.5) -> Dense(10, softmax), categorical cross-entropy on
one-hot labels, batch size 128, 15 epochs, 10 % of the training images for validation -- on the
real data, downloaded once into ~/.dlcore/datasets. Without a network it says so and how to go on.
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np


def build_cnn(dl):
    L = dl.layers
    return dl.Sequential([
        L.Conv2D(32, (3, 3), activation="relu", input_shape=(28, 28, 1)),
        L.MaxPooling2D((2, 2)),
        L.Conv2D(64, (3, 3), activation="relu"),
        L.MaxPooling2D((2, 2)),
        L.Flatten(),
        L.Dense(64, activation="relu"),
        L.Dense(10, activation="softmax"),
    ])


def build_keras_mnist_convnet(dl):
    """Keras's "simple MNIST convnet" (keras.io/examples/vision/mnist_convnet)."""
    L = dl.layers
    return dl.Sequential([
        L.Conv2D(32, (3, 3), activation="relu", input_shape=(28, 28, 1)),
        L.MaxPooling2D((2, 2)),
        L.Conv2D(64, (3, 3), activation="relu"),
        L.MaxPooling2D((2, 2)),
        L.Flatten(),
        L.Dropout(0.5),
        L.Dense(10, activation="softmax"),
    ])


def load_downloaded(dl, name):
    """(x_train, y_train), (x_test, y_test) of MNIST or Fashion-MNIST as float32 NHWC in [0, 1] and one-hot
    labels, or None after saying why they could not be had and how to continue offline."""
    module = getattr(dl.datasets, name)
    try:
        (x_train, y_train), (x_test, y_test) = module.load_data()
    except OSError as e:
        print(f"The {name} data set could not be downloaded, and it is not in the cache.\n{e}\n\n"
              f"To continue offline: run `python -m dlcore.demo` (the bundled digits, no download), or copy the "
              f"file(s) named above into {dl.utils.dlcore_home()}/datasets/ (set DLCORE_HOME to use another "
              f"folder) and run this again.", file=sys.stderr)
        return None
    prep = [x.astype("float32")[..., None] / 255.0 for x in (x_train, x_test)]
    return (prep[0], dl.utils.to_categorical(y_train, 10)), (prep[1], dl.utils.to_categorical(y_test, 10))


def main(argv=None):
    import dlcore as dl
    p = argparse.ArgumentParser(prog="python -m dlcore.demo", description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default="digits", choices=("digits", "mnist", "fashion_mnist"),
                   help="digits (bundled, default), or mnist / fashion_mnist (downloaded once)")
    p.add_argument("--epochs", type=int, default=None, help="training epochs (default 13 on digits, 15 otherwise)")
    p.add_argument("--batch-size", type=int, default=None, help="batch size (default 32 on digits, 128 otherwise)")
    p.add_argument("--quick", action="store_true", help="a smoke run: 3 epochs on digits, 1 otherwise")
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default: all the pool has)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2))
    args = p.parse_args(argv)
    if args.threads:
        dl.set_num_threads(args.threads)
    dl.manual_seed(args.seed)
    if args.dataset != "digits":
        return _train_downloaded(dl, args)
    epochs = 3 if args.quick else (args.epochs or 13)
    args.batch_size = args.batch_size or 32

    (x_train, y_train), (x_test, y_test) = dl.datasets.load_digits(size=28)
    print(f"UCI hand-written digits, 28x28x1: {len(x_train)} training and {len(x_test)} test images")
    model = build_cnn(dl)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.summary()

    epoch_times = []
    timer = dl.callbacks.LambdaCallback(
        on_epoch_begin=lambda epoch, logs: epoch_times.append(-time.perf_counter()),
        on_epoch_end=lambda epoch, logs: epoch_times.__setitem__(-1, epoch_times[-1] + time.perf_counter()))
    model.fit(x_train, y_train, epochs=epochs, batch_size=args.batch_size, verbose=args.verbose,
              callbacks=[timer])
    loss, acc = model.evaluate(x_test, y_test, batch_size=256)
    device = model._device() or "cpu"
    print(f"test accuracy: {acc * 100:.2f}%  (loss {loss:.4f}; target >= 97%: {'met' if acc >= 0.97 else 'NOT met'})")
    print(f"time per epoch: {np.median(epoch_times):.2f} s (median of {len(epoch_times)} epochs, "
          f"{len(x_train)} images, batch size {args.batch_size})")
    print(f"ran on: device={device}, CPU ISA={dl.cpu_isa()}, threads={dl.get_num_threads()}")
    return acc


def _train_downloaded(dl, args):
    data = load_downloaded(dl, args.dataset)
    if data is None:
        raise SystemExit(1)
    (x_train, y_train), (x_test, y_test) = data
    epochs = 1 if args.quick else (args.epochs or 15)
    batch_size = args.batch_size or 128
    print(f"{args.dataset}, 28x28x1: {len(x_train)} training and {len(x_test)} test images")
    model = build_keras_mnist_convnet(dl)
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    model.summary()
    model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, validation_split=0.1, verbose=args.verbose)
    loss, acc = model.evaluate(x_test, y_test, batch_size=256)
    print(f"test accuracy: {acc * 100:.2f}%  (loss {loss:.4f})")
    print(f"ran on: device={model._device() or 'cpu'}, CPU ISA={dl.cpu_isa()}, threads={dl.get_num_threads()}")
    return acc


if __name__ == "__main__":
    main()
