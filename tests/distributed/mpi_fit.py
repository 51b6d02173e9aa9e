"""Run under mpiexec: model.fit with a DistributedOptimizer.

Cases: the shards cover the training data every epoch with equal step counts (validation_split cut
first); validation metrics equal an evaluate() over the whole validation set; the logs and the
weights (BatchNorm statistics included) are the same on every rank; progress, checkpoints and CSV
logs come from rank 0 only; every rank stops at the same point (a callback on one rank,
TerminateOnNaN, Ctrl-C on one rank, EarlyStopping); fit with shuffle=False equals one process on
the global batch; loaders with a DistributedSampler; mismatched step counts raise everywhere.

Rank 0 prints `RESULT <json>`. argv[1]: a folder for the files (one sub-folder per rank).
"""
import json
import os
import signal
import sys

import numpy as np

import dlcore as dl

D = dl.distributed
D.init()
r, n = D.rank(), D.size()
L = dl.layers
out_dir = os.path.join(sys.argv[1], f"rank{r}")
os.makedirs(out_dir, exist_ok=True)
res = {}


def same_everywhere(value):
    values = D.allgather_object(value)
    return all(v == values[0] for v in values)


def weights_blob(model):
    return b"".join(np.ascontiguousarray(w).tobytes() for w in model.get_weights())


class Recorder(dl.Model):
    """Records the ids (feature 0 * 1000) of the samples it trains on."""

    def __init__(self):
        super().__init__()
        self.hidden = L.Dense(8)
        self.norm = L.BatchNormalization()
        self.out = L.Dense(3, activation="softmax")
        self.seen = []

    def call(self, x, training=None):
        if training:
            self.seen.append(np.rint(x.numpy()[:, 0] * 1000).astype(int))
        return self.out(self.norm(self.hidden(x), training=training).relu())


class Steps(dl.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.per_epoch, self.batches = [], 0

    def on_epoch_begin(self, epoch, logs=None):
        self.per_epoch.append(0)

    def on_train_batch_end(self, batch, logs=None):
        self.per_epoch[-1] += 1
        self.batches += 1


def data(count, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((count, 6)).astype(np.float32)
    x[:, 0] = np.arange(count) / 1000
    y = (x[:, 1] + x[:, 2] > 0).astype(np.int64) + (x[:, 3] > 1)
    return x, y


def compiled(model, optimizer=None):
    model.compile(optimizer=D.DistributedOptimizer(optimizer or dl.optimizers.Adam(learning_rate=0.01)),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


# ---- A: sharding, validation, logs, files --------------------------------------------------------
dl.manual_seed(r)  # different initial weights on every rank: fit must start them alike
x, y = data(103)
model = compiled(Recorder())
steps = Steps()
model.seen = []
epoch_seen = []


class EpochSeen(dl.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        epoch_seen.append(np.concatenate(model.seen).tolist())
        model.seen.clear()


ckpt = dl.callbacks.ModelCheckpoint(os.path.join(out_dir, "ckpt-{epoch}.weights.safetensors"), save_weights_only=True)
csv_log = dl.callbacks.CSVLogger(os.path.join(out_dir, "log.csv"))
history = model.fit(x, y, epochs=3, batch_size=5, validation_split=0.2, verbose=2,
                    callbacks=[steps, EpochSeen(), ckpt, csv_log])
n_val = int(103 * 0.2)
train_ids = set(range(103 - n_val))
coverage = []
for e in range(3):
    ids = [i for part in D.allgather_object(epoch_seen[e]) for i in part]
    coverage.append({"covers": set(ids) == train_ids, "count": len(ids), "no_validation": not set(ids) - train_ids})
res["coverage"] = coverage
res["steps"] = D.allgather_object(steps.per_epoch)
full = model.evaluate(x[-n_val:], y[-n_val:], batch_size=7, return_dict=True)   # the whole validation set, here
res["val"] = {"history": [history.history["val_loss"][-1], history.history["val_accuracy"][-1]],
              "evaluate": [full["loss"], full["accuracy"]]}
res["history_same"] = same_everywhere(json.dumps(history.history, sort_keys=True))
res["weights_same"] = same_everywhere(weights_blob(model))
res["files"] = D.allgather_object(sorted(os.listdir(out_dir)))

# ---- B: stopping together ----------------------------------------------------------------------
class StopOnOneRank(dl.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if r == n - 1 and epoch == 1:
            self.model.stop_training = True


class InterruptOneRank(dl.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        if r == n - 1 and batch == 3:
            os.kill(os.getpid(), signal.SIGINT)   # as if Ctrl-C reached this process only


dl.manual_seed(0)
x, y = data(80)
for name, cbs, ydata in [
        ("callback_on_one_rank", [StopOnOneRank()], y),
        ("interrupt_on_one_rank", [InterruptOneRank()], y),
        ("terminate_on_nan", [dl.callbacks.TerminateOnNaN()], np.where(np.arange(80) == 57, -1, y)),
        ("early_stopping", [dl.callbacks.EarlyStopping(monitor="loss", min_delta=100.0, patience=0)], y)]:
    model = compiled(dl.Sequential([L.Dense(8, activation="relu", input_shape=(6,)), L.Dense(3, activation="softmax")]))
    counter = Steps()
    if name == "terminate_on_nan":  # a label out of range makes that sample's loss NaN
        model.compile(optimizer=D.DistributedOptimizer(dl.optimizers.SGD(learning_rate=0.01)), loss="mse")
        ydata = np.where(np.arange(80)[:, None] == 57, np.nan, np.ones((80, 3), np.float32))
    h = model.fit(x, ydata, epochs=4, batch_size=4, verbose=0, callbacks=cbs + [counter])
    res[name] = D.allgather_object([len(h.history.get("loss", [])), counter.batches])

# ---- C: fit(shuffle=False) on N ranks x b samples == one process on N*b ---------------------------
x, y = data(96, seed=1)


def small():
    dl.manual_seed(7)
    return dl.Sequential([L.Dense(8, activation="tanh", input_shape=(6,)), L.Dense(3, activation="softmax")])


ref = small()
ref.compile(optimizer=dl.optimizers.SGD(learning_rate=0.1, momentum=0.5), loss="sparse_categorical_crossentropy")
ref.fit(x, y, epochs=2, batch_size=4 * n, shuffle=False, verbose=0)
par = small()
par.compile(optimizer=D.DistributedOptimizer(dl.optimizers.SGD(learning_rate=0.1, momentum=0.5)),
            loss="sparse_categorical_crossentropy")
par.fit(x, y, epochs=2, batch_size=4, shuffle=False, verbose=0)
res["equivalence"] = max(float(np.max(np.abs(a - b)) / max(1.0, float(np.max(np.abs(a)))))
                         for a, b in zip(ref.get_weights(), par.get_weights()))

# ---- D: loaders ----------------------------------------------------------------------------------
x, y = data(50, seed=2)
dataset = dl.data.TensorDataset(x, y)
sampler = D.DistributedSampler(dataset, shuffle=True, seed=3)
model = Recorder()   # not built: fit builds it in the first step, then starts the replicas alike
dl.manual_seed(100 + r)
compiled(model)
counter = Steps()
xv, yv = data(30, seed=5)
h = model.fit(dl.data.DataLoader(dataset, batch_size=4, sampler=sampler), epochs=2, verbose=0, callbacks=[counter],
              validation_data=dl.data.DataLoader(dl.data.TensorDataset(xv, yv), batch_size=8))
full = model.evaluate(xv, yv, batch_size=30, return_dict=True)
res["loader"] = {"steps": D.allgather_object(counter.per_epoch), "epoch_set": sampler.epoch,
                 "weights_same": same_everywhere(weights_blob(model)),
                 "val": [h.history["val_loss"][-1], h.history["val_accuracy"][-1], full["loss"], full["accuracy"]]}
short = dl.data.DataLoader(dl.data.TensorDataset(x[:20 + (r == 0) * 4], y[:20 + (r == 0) * 4]), batch_size=4)
try:
    compiled(Recorder()).fit(short, epochs=1, verbose=0)
    res["unequal_loaders"] = "no error"
except ValueError as e:
    res["unequal_loaders"] = str(e)


def generator():
    while True:
        yield x[:4], y[:4]


try:
    compiled(Recorder()).fit(generator(), epochs=1, verbose=0)
    res["generator_without_steps"] = "no error"
except ValueError as e:
    res["generator_without_steps"] = str(e)
res["errors_everywhere"] = D.allreduce_object(int(res["unequal_loaders"] != "no error"
                                                  and res["generator_without_steps"] != "no error"), op="min")

# ---- E: weighted validation, sample and class weights -------------------------------------------
x, y = data(64, seed=4)
sw = np.linspace(0.5, 2.0, 64).astype(np.float32)
model = compiled(dl.Sequential([L.Dense(3, activation="softmax", input_shape=(6,))]))
h = model.fit(x[:48], y[:48], sample_weight=sw[:48], class_weight={0: 1.0, 1: 2.0, 2: 0.5}, epochs=1, batch_size=6,
              validation_data=(x[48:], y[48:], sw[48:]), verbose=0)
full = model.evaluate(x[48:], y[48:], sample_weight=sw[48:], batch_size=16, return_dict=True)
res["weighted_val"] = {"history": [h.history["val_loss"][0], h.history["val_accuracy"][0]],
                       "evaluate": [full["loss"], full["accuracy"]]}

if r == 0:
    print("RESULT " + json.dumps({"size": n, "res": res}), flush=True)
