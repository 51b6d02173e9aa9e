"""Data-parallel training of a digits classifier: the same script on 1, 2 or 4 processes.

    python examples/distributed_digits.py                        # one process
    mpiexec -n 4 python -m mpi4py examples/distributed_digits.py  # four (or: python -m dlcore.distributed.run -n 4 ...)

The global batch stays 64 samples whatever the number of processes: each process takes
64 / size() of it (batch_size is per process in fit, as in Horovod) from its shard of the data.
fit() starts every replica from rank 0's weights, averages the gradients at every step, and
prints progress on rank 0 only, so every process count trains the same model on the same
global batches and prints the same final accuracy (up to the order of floating-point sums).
Model: Flatten -> Dense(128, relu) -> Dense(10, softmax) on the bundled 8x8 digits; Adam.
Target: test accuracy >= 95%.
"""
import sys
import time

import dlcore as dl

TARGET = 0.95
GLOBAL_BATCH = 64


def main(epochs=20):
    dist = dl.distributed
    dist.init()
    size, rank = dist.size(), dist.rank()
    if GLOBAL_BATCH % size:
        raise SystemExit(f"run on a number of processes that divides {GLOBAL_BATCH}, not {size}")
    dl.manual_seed(0)
    (x_train, y_train), (x_test, y_test) = dl.datasets.load_digits()
    # 1280 samples to train on (a multiple of the global batch), the other 158 to validate
    x_fit, y_fit, x_val, y_val = x_train[:1280], y_train[:1280], x_train[1280:], y_train[1280:]
    L = dl.layers
    model = dl.Sequential([L.Flatten(input_shape=(8, 8, 1)), L.Dense(128, activation="relu"),
                           L.Dense(10, activation="softmax")])
    model.compile(optimizer=dist.DistributedOptimizer(dl.optimizers.Adam(learning_rate=5e-3)),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    t0 = time.perf_counter()
    history = model.fit(x_fit, y_fit, batch_size=GLOBAL_BATCH // size, epochs=epochs, validation_data=(x_val, y_val),
                        verbose=2 if "--verbose" in sys.argv else 0)
    seconds = time.perf_counter() - t0
    loss, acc = model.evaluate(x_test, y_test, batch_size=256)   # every rank: the whole test set
    met = acc >= TARGET
    if rank == 0:
        print(f"{size} process(es), {dl.get_num_threads()} thread(s) each: val_accuracy "
              f"{history.history['val_accuracy'][-1]:.4f}, test loss {loss:.4f}, {seconds / epochs:.3f} s/epoch")
        print(f"RESULT distributed_digits: processes={size} accuracy={acc:.4f} target>={TARGET}: "
              f"{'met' if met else 'NOT met'}", flush=True)
    return met


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
