"""Run under mpiexec: the last rank raises in the middle of fit while the others are inside a collective.

The job must end, non-zero, within seconds (MPI_Abort from `python -m mpi4py`, or from the
exception hook dlcore.distributed.init installs when the script runs without it).
"""
import numpy as np

import dlcore as dl

D = dl.distributed
D.init()


class Boom(dl.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        if D.rank() == D.size() - 1 and batch == 2:
            raise RuntimeError("boom on the last rank")


x = np.random.default_rng(0).standard_normal((64, 4)).astype(np.float32)
model = dl.Sequential([dl.layers.Dense(1, input_shape=(4,))])
model.compile(optimizer=D.DistributedOptimizer(dl.optimizers.SGD(learning_rate=0.01)), loss="mse")
model.fit(x, x[:, :1], epochs=100, batch_size=2, verbose=0, callbacks=[Boom()])
print("UNREACHABLE: training finished", flush=True)
