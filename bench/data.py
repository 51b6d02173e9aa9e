"""One CNN epoch on 28x28 images with augmentation done in the main process vs in DataLoader workers.

    python bench/data.py [--n 6000] [--epochs 3] [--workers 2] [--threads 2] [--context fork]

The model is the demo's CNN (Conv2D 32 -> pool -> Conv2D 64 -> pool -> Dense 64 -> Dense 10, Adam,
batch 32) on the bundled digits upsampled to 28x28, repeated to --n images. Each batch is augmented
the way a Keras tutorial does it -- a random rotation (+-10 degrees), zoom (+-10 %) and shift (+-10 %)
per image, bilinear, reflect fill, plus Gaussian noise -- by a transform given to the DataLoader:
with num_workers=0 the main process augments a batch, then trains on it; with num_workers=n, n
worker processes (persistent, prefetch_factor 2) augment the next batches while the main process
trains. Both loaders use the same seed, so they produce the same batches (checked on the first
batches before timing).

Epochs alternate between the variants so that both see the same machine load; the first epoch of
each is a warm-up. Prints the median epoch time of each, the ratio, and the time the main process
spends augmenting one epoch alone (what workers can hide). On a 2-core machine the workers compete
with the training step's own threads for the same 2 cores, so expect little or no gain there; with
more cores than the kernels' threads, the augmentation runs beside the training step and the epoch
approaches the pure training time.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import dlcore as dl  # noqa: E402
from dlcore.image_utils import affine_sample  # noqa: E402


def augment(x, rng):
    """Random rotation, zoom and shift per image (one affine resampling), then Gaussian noise."""
    n, h, w, _ = x.shape
    theta = rng.uniform(-np.pi / 18, np.pi / 18, n)
    zoom = 1.0 + rng.uniform(-0.1, 0.1, n)
    dy, dx = rng.uniform(-0.1, 0.1, n) * h, rng.uniform(-0.1, 0.1, n) * w
    c, s = np.cos(theta) * zoom, np.sin(theta) * zoom
    cx, cy = (w - 1) / 2, (h - 1) / 2
    t = np.stack([c, -s, cx - c * cx + s * cy - dx, s, c, cy - s * cx - c * cy - dy], 1)
    out = affine_sample(x, t, interpolation="bilinear", fill_mode="reflect")
    return np.clip(out + rng.normal(0.0, 0.02, out.shape).astype(out.dtype), 0.0, 1.0)


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def build_model():
    L = dl.layers
    model = dl.Sequential([
        L.Conv2D(32, (3, 3), activation="relu", input_shape=(28, 28, 1)), L.MaxPooling2D((2, 2)),
        L.Conv2D(64, (3, 3), activation="relu"), L.MaxPooling2D((2, 2)), L.Flatten(),
        L.Dense(64, activation="relu"), L.Dense(10, activation="softmax")])
    model.compile(optimizer=dl.optimizers.Adam(learning_rate=1e-3), loss="sparse_categorical_crossentropy")
    return model


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=6000, help="training images (the digits repeated; default 6000)")
    p.add_argument("--epochs", type=int, default=3, help="timed epochs per variant after one warm-up (default 3)")
    p.add_argument("--workers", type=int, default=2, help="worker processes of the second variant (default 2)")
    p.add_argument("--threads", type=int, default=2, help="dlcore kernel threads (default 2)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--context", default=None, help="multiprocessing start method (default: the platform's)")
    args = p.parse_args(argv)
    dl.set_num_threads(args.threads)
    (x, y), _ = dl.datasets.load_digits(size=28)
    reps = -(-args.n // len(x))
    x, y = np.concatenate([x] * reps)[:args.n], np.concatenate([y] * reps)[:args.n].astype(np.int64)
    print(f"dlcore {dl.__version__} on {cpu_name()} ({os.cpu_count()} logical CPUs), ISA {dl.cpu_isa()}, "
          f"{dl.get_num_threads()} kernel threads; {len(x)} images 28x28, batch {args.batch_size}; median of "
          f"{args.epochs} epochs after 1 warm-up")

    def loader(workers):
        kw = {"num_workers": workers, "persistent_workers": True, "multiprocessing_context": args.context} \
            if workers else {}
        return dl.data.DataLoader((x, y), batch_size=args.batch_size, shuffle=True, seed=0, transform=augment, **kw)

    variants = {"main process": loader(0), f"{args.workers} workers": loader(args.workers)}
    # the same seed: the same augmented batches, whoever computes them
    a, b = (next(iter(v)) for v in variants.values())
    assert all(np.array_equal(p_, q_) for p_, q_ in zip(a, b)), "the variants do not produce the same batches"

    t0 = time.perf_counter()
    for _ in variants["main process"]:
        pass
    augment_only = time.perf_counter() - t0

    models = {name: build_model() for name in variants}
    times = {name: [] for name in variants}
    for epoch in range(args.epochs + 1):
        for name, ld in variants.items():
            t0 = time.perf_counter()
            models[name].fit(ld, epochs=1, verbose=0)
            if epoch:
                times[name].append(time.perf_counter() - t0)
    for ld in variants.values():
        ld.close()
    base = statistics.median(times["main process"])
    print(f"{'variant':<16} {'epoch (s)':>10} {'vs main':>8}")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"{name:<16} {med:>10.2f} {med / base:>8.2f}")
    print(f"loading + augmenting one epoch alone, main process: {augment_only:.2f} s")


if __name__ == "__main__":
    main()
