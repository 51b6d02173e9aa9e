"""Train the tutorials' CNN on the bundled hand-written digits: `python -m dlcore.demo`.

    Conv2D(32, 3x3, relu) -> MaxPooling2D(2x2) -> Conv2D(64, 3x3, relu) -> MaxPooling2D(2x2)
    -> Flatten -> Dense(64, relu) -> Dense(10, softmax)

on the UCI digits upsampled to 28x28x1 (MNIST-shaped), with Adam and sparse categorical
cross-entropy; prints the progress bar, then the test accuracy, the time per epoch and what ran it
(CPU instruction set, threads, device). Needs no download: the digits ship with dlcore.
"""
from __future__ import annotations

import argparse
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


def main(argv=None):
    import dlcore as dl
    p = argparse.ArgumentParser(prog="python -m dlcore.demo", description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=13, help="training epochs (default 13)")
    p.add_argument("--batch-size", type=int, default=32, help="batch size (default 32)")
    p.add_argument("--quick", action="store_true", help="3 epochs: a smoke run")
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default: all the pool has)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2))
    args = p.parse_args(argv)
    epochs = 3 if args.quick else args.epochs
    if args.threads:
        dl.set_num_threads(args.threads)
    dl.manual_seed(args.seed)

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


if __name__ == "__main__":
    main()
