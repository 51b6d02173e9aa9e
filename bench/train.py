"""Whole training epochs: dlcore against PyTorch eager on the same models, data, batch size and optimizer.

    python bench/train.py [--epochs 5] [--threads 2] [--models cnn,lstm,conv1d]

Models (Keras layouts in dlcore, the PyTorch equivalents in NCHW / batch_first):
  cnn   Conv2D(32, 3x3, relu) -> MaxPool 2x2 -> Conv2D(64, 3x3, relu) -> MaxPool 2x2 -> Flatten
        -> Dense(64, relu) -> Dense(10, softmax) on the bundled digits upsampled to 28x28x1
  lstm  LSTM(64, return_sequences=True) -> LSTM(64) -> Dense(10, softmax), reading each 28x28 digit
        as 28 time steps of 28 features
  conv1d  a small strided classifier of short sequences: Conv1D(32, 5, strides=2, relu) ->
        Conv1D(32, 3, strides=2, relu) -> Conv1D(32, 3, strides=2, relu) -> Flatten -> Dense(10) on
        2048 generated sequences of 40 steps x 25 channels (labels from a fixed random rule)
Adam(lr=1e-3), batch size 32, shuffled each epoch, (sparse) categorical cross-entropy.
Epochs of the two alternate (so both see the same machine load); prints the median epoch time of
each after one warm-up epoch, the ratio dlcore / PyTorch (target <= 1.0), and the process RSS after
each dlcore epoch (it must not grow epoch over epoch).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import dlcore as dl  # noqa: E402


def rss_mib() -> float:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    try:
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    except Exception:
        return float("nan")


def conv1d_data(n=2048, steps=40, channels=25, seed=0):
    """Sequences of `steps` x `channels` and 10 labels from a fixed random rule (the argmax of a
    projection of the sequence's local averages), so that the model has something to learn."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, steps, channels)).astype(np.float32)
    smooth = (x[:, :-2] + x[:, 1:-1] + x[:, 2:]) / 3
    proj = rng.standard_normal((smooth.shape[1] * channels, 10)).astype(np.float32)
    y = np.argmax(smooth.reshape(n, -1) @ proj, axis=1).astype(np.int64)
    return x, y


def dl_model(kind):
    L = dl.layers
    if kind == "conv1d":
        return dl.Sequential([
            L.Conv1D(32, 5, strides=2, activation="relu", input_shape=(40, 25)),
            L.Conv1D(32, 3, strides=2, activation="relu"), L.Conv1D(32, 3, strides=2, activation="relu"),
            L.Flatten(), L.Dense(10, activation="softmax")])
    if kind == "cnn":
        return dl.Sequential([
            L.Conv2D(32, (3, 3), activation="relu", input_shape=(28, 28, 1)), L.MaxPooling2D((2, 2)),
            L.Conv2D(64, (3, 3), activation="relu"), L.MaxPooling2D((2, 2)), L.Flatten(),
            L.Dense(64, activation="relu"), L.Dense(10, activation="softmax")])
    return dl.Sequential([L.LSTM(64, return_sequences=True, input_shape=(28, 28)), L.LSTM(64),
                          L.Dense(10, activation="softmax")])


def dlcore_epoch_runner(kind, x, y, batch_size):
    """A function that trains the dlcore model for one epoch and returns the seconds it took."""
    dl.manual_seed(0)
    model = dl_model(kind)
    model.compile(optimizer=dl.optimizers.Adam(learning_rate=1e-3), loss="sparse_categorical_crossentropy")

    def run():
        t0 = time.perf_counter()
        model.fit(x, y, epochs=1, batch_size=batch_size, verbose=0)
        return time.perf_counter() - t0
    return run


def torch_epoch_runner(kind, x, y, batch_size, threads):
    """The same for the PyTorch eager model (NCHW / batch_first layouts, logits + CrossEntropyLoss)."""
    import torch
    from torch import nn
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    if kind == "conv1d":  # NCL: channels first
        model = nn.Sequential(nn.Conv1d(25, 32, 5, stride=2), nn.ReLU(), nn.Conv1d(32, 32, 3, stride=2), nn.ReLU(),
                              nn.Conv1d(32, 32, 3, stride=2), nn.ReLU(), nn.Flatten(), nn.Linear(96, 10))
        xt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 2, 1)))
    elif kind == "cnn":
        model = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                              nn.MaxPool2d(2), nn.Flatten(), nn.Linear(1600, 64), nn.ReLU(), nn.Linear(64, 10))
        xt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    else:
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.lstm = nn.LSTM(28, 64, num_layers=2, batch_first=True)
                self.fc = nn.Linear(64, 10)

            def forward(self, v):
                out, _ = self.lstm(v)
                return self.fc(out[:, -1])
        model = Net()
        xt = torch.from_numpy(np.ascontiguousarray(x))
    yt = torch.from_numpy(y)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    rng = np.random.default_rng(0)

    def run():
        t0 = time.perf_counter()
        order = torch.from_numpy(rng.permutation(len(xt)))
        for i in range(0, len(xt), batch_size):
            idx = order[i:i + batch_size]
            opt.zero_grad()
            loss = loss_fn(model(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
        return time.perf_counter() - t0
    return run


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=5, help="timed epochs after one warm-up (default 5)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--models", default="cnn,lstm,conv1d")
    p.add_argument("--no-torch", action="store_true")
    p.add_argument("--results", default="", help="put the table in this machine's section of this file "
                   "(bench/RESULTS.md), leaving other machines' sections alone")
    args = p.parse_args(argv)
    dl.set_num_threads(args.threads)
    (x, y), _ = dl.datasets.load_digits(size=28)
    y = y.astype(np.int64)
    from common import cpu_model
    head = (f"{cpu_model()}; dlcore {dl.__version__}: ISA {dl.cpu_isa()}, {dl.get_num_threads()} threads; "
            f"{len(x)} samples of 28x28 (conv1d: 2048 of 40x25), batch {args.batch_size}, Adam(1e-3); median of "
            f"{args.epochs} epochs after 1 warm-up")
    print(head)
    try:
        if args.no_torch:
            raise ImportError
        import torch
        torch_version = torch.__version__
    except ImportError:
        torch_version = None
        print("PyTorch not installed: dlcore times only")
    rows = []
    for kind in args.models.split(","):
        if kind == "conv1d":
            xk, yk = conv1d_data()
        else:
            xk, yk = (x if kind == "cnn" else x[..., 0]), y
        run_dl = dlcore_epoch_runner(kind, xk, yk, args.batch_size)
        run_torch = torch_epoch_runner(kind, xk, yk, args.batch_size, args.threads) if torch_version else None
        # epochs alternate between the two so that both see the same machine load; epoch 0 is warm-up
        times, ttimes, rss = [], [], []
        for epoch in range(args.epochs + 1):
            times.append(run_dl())
            rss.append(rss_mib())
            if run_torch is not None:
                ttimes.append(run_torch())
        d = statistics.median(times[1:])
        tt = statistics.median(ttimes[1:]) if ttimes else float("nan")
        growth = rss[-1] - rss[1] if len(rss) > 2 else 0.0
        rows.append((kind, d, tt, rss, growth))
    print()
    lines = [f"{'model':6} {'dlcore s/epoch':>15} {'torch s/epoch':>14} {'ratio':>7}  RSS MiB per dlcore epoch"]
    for kind, d, tt, rss, growth in rows:
        lines.append(f"{kind:6} {d:15.3f} {tt:14.3f} {d / tt:7.2f}  {' '.join(f'{r:.0f}' for r in rss)} "
                     f"(growth after warm-up {growth:+.1f} MiB)")
    if torch_version:
        lines.append(f"\nPyTorch {torch_version} eager, {args.threads} threads. Target: ratio <= 1.00 "
                     f"({'met' if all(r[1] <= r[2] for r in rows) else 'NOT met'} for all models)")
    print("\n".join(lines))
    if args.results and torch_version:
        from common import cpu_model
        from results import target, update
        update(args.results, cpu_model(), cpu_model(), "train",
               f"### Training epochs: `python bench/train.py --models {args.models}`\n\n```\n{head}\n\n"
               + "\n".join(lines) + "\n```",
               {f"{kind} epoch time / PyTorch's": target(d / tt, 1.0, "lower") for kind, d, tt, _, _ in rows})
    return rows


if __name__ == "__main__":
    main()
