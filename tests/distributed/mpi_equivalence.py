"""Run under mpiexec: N processes on B/N samples each give the weights of one process on B.

Each rank trains a reference model alone (plain optimizer, the whole batch of B samples, no
communication) and the same model data-parallel (DistributedOptimizer, its B/N samples), starting
from rank 0's weights (the data-parallel model starts from rank-dependent weights and gets rank 0's
by broadcast_parameters), then compares. float64 throughout, so that the only difference is the
order of the floating-point sums (the batch split in N parts): the tolerance is a few ulps of
float64 times the number of steps, far below any real discrepancy (a missing average, clipping of
the local instead of the global gradient, a skipped parameter would be off by 1e-3 or more).
Also: replicas stay bit-identical, a gradient mismatch between ranks raises everywhere, and
apply_gradients / broadcast_optimizer_state.

Rank 0 prints `RESULT <json>`.
"""
import json
import sys

import numpy as np

import dlcore as dl

D = dl.distributed
D.init()
r, n = D.rank(), D.size()
B, STEPS = 24, 6
TOL = 1e-10
results = {}


class Branchy(dl.Module):
    """Two heads; head b only runs on even steps, so its weights get no gradient on odd steps."""

    def __init__(self, width=16):
        super().__init__()
        self.body = dl.layers.Dense(width, activation="tanh", input_dim=5, dtype="float64")
        self.a = dl.layers.Dense(3, input_dim=width, dtype="float64")
        self.b = dl.layers.Dense(3, input_dim=width, dtype="float64")

    def forward(self, x, use_b=True):
        h = self.body(x)
        return self.a(h) + self.b(h) if use_b else self.a(h)


# a body kernel of 5 x 104858 float64, 4 MiB and 16 bytes: over buckets.SOLO_BYTES, so its gradient is
# reduce-scattered straight from the array (HostPlane.average_into), with a tail of 2 elements on 4 ranks
WIDE = 104858


def make(seed, width=16):
    dl.manual_seed(seed)
    m = Branchy(width)
    m(dl.tensor(np.zeros((1, 5))))  # build the weights now (they are created on the first call)
    return m


def batches():
    rng = np.random.default_rng(123)
    for step in range(STEPS):
        yield step, rng.standard_normal((B, 5)), rng.standard_normal((B, 3))


def loss_of(model, x, y, step, branch):
    out = model(dl.tensor(x), use_b=(step % 2 == 0) if branch else True)
    return dl.functional.mse(dl.tensor(y), out)


def train(optimizer_factory, distributed, branch=False, keras_style=False, width=16, accumulate=False,
          shared=True, clip=None, zero_in_place=False):
    model = make(0 if not distributed or r == 0 else 100 + r, width)   # other ranks start elsewhere: broadcast fixes it
    opt = optimizer_factory(model.parameters())
    if distributed:
        opt = D.DistributedOptimizer(opt, shared_memory=shared)
        D.broadcast_parameters(model.state_dict(), root=0)
    for step, x, y in batches():
        if distributed:
            part = slice(r * B // n, (r + 1) * B // n)
            x, y = x[part], y[part]
        if keras_style:
            model.zero_grad()
            loss_of(model, x, y, step, branch).backward()
            opt.apply_gradients([(p.grad, p) for p in model.parameters()])
        else:
            if not accumulate or step % 2 == 0:   # accumulate: a .grad left from the last step gets added to
                opt.zero_grad(set_to_none=not zero_in_place)
            loss_of(model, x, y, step, branch).backward()
            if clip is not None:   # Horovod's pattern: average, clip the averaged gradients in place, step
                if distributed:
                    opt.synchronize()
                dl.nn.utils.clip_grad_norm_(model.parameters(), clip)
            opt.step()
    return model


def compare(name, factory, branch=False, keras_style=False, width=16, accumulate=False, **kw):
    ref = train(factory, False, branch, keras_style, width, accumulate, **kw)
    got = train(factory, True, branch, keras_style, width, accumulate, **kw)
    err = max(float(np.max(np.abs(a - b)) / max(1.0, float(np.max(np.abs(a)))))
              for a, b in zip(ref.state_dict().values(), got.state_dict().values()))
    moved = max(float(np.max(np.abs(a - b))) for a, b in zip(ref.state_dict().values(),
                                                               make(0, width).state_dict().values()))
    blobs = D.allgather_object(b"".join(np.ascontiguousarray(v).tobytes() for v in got.state_dict().values()))
    read_only = [not p.grad.flags.writeable for p in got.parameters() if p.grad is not None]
    results[name] = {"max_rel_err": err, "moved": moved, "identical": all(b == blobs[0] for b in blobs),
                     "read_only": all(read_only) if read_only and all(read_only) == any(read_only) else None}
    return got


compare("sgd_momentum", lambda p: dl.optimizers.SGD(p, lr=0.1, momentum=0.9))
compare("adam_global_clipnorm", lambda p: dl.optimizers.Adam(p, learning_rate=0.05, global_clipnorm=0.05))
compare("adam_clipnorm", lambda p: dl.optimizers.Adam(p, learning_rate=0.05, clipnorm=0.02))
compare("branch_rmsprop", lambda p: dl.optimizers.RMSprop(p, lr=0.01), branch=True)
compare("apply_gradients_adamw", lambda p: dl.optimizers.AdamW(p, lr=0.05), keras_style=True)
# a large gradient (its own bucket, no packing), and .grad kept between steps: the next backward adds
# into the view of the exchange buffer that the last step left there
compare("wide_adam_accumulate", lambda p: dl.optimizers.Adam(p, learning_rate=0.05, global_clipnorm=0.05),
        width=WIDE, accumulate=True)
# a bucket of several arrays over node.WHOLE_BYTES (3.9 MB of float64, each array under SOLO_BYTES): its
# pieces go into the shared slot array by array
compare("packed_pieces", lambda p: dl.optimizers.Adam(p, learning_rate=0.05), width=40000)
# the same through MPI's allreduce on each process's own buffers (shared_memory=False): the packed
# buckets and the reduce-scatter straight from a large gradient
compare("sgd_momentum_mpi", lambda p: dl.optimizers.SGD(p, lr=0.1, momentum=0.9), shared=False)
compare("wide_adam_accumulate_mpi", lambda p: dl.optimizers.Adam(p, learning_rate=0.05, global_clipnorm=0.05),
        width=WIDE, accumulate=True, shared=False)
# synchronize(), then clip_grad_norm_ on the averaged gradients (read-only where shared: clipped into
# copies), then step(); and zero_grad(set_to_none=False) on gradients that may be read-only
compare("synchronize_clip_grad_norm", lambda p: dl.optimizers.SGD(p, lr=0.1), clip=0.05)
last = compare("zero_grad_in_place", lambda p: dl.optimizers.SGD(p, lr=0.1, momentum=0.5), zero_in_place=True,
        accumulate=True)

# negative control: clipping each rank's own gradient and then averaging (the bug the wrapper avoids by
# averaging first) ends far outside the tolerance, so the comparisons above have teeth
model = make(0)
opt = dl.optimizers.Adam(model.parameters(), lr=0.05)
for step, x, y in batches():
    part = slice(r * B // n, (r + 1) * B // n)
    opt.zero_grad()
    loss_of(model, x[part], y[part], step, False).backward()
    norm = np.sqrt(sum(float((p.grad ** 2).sum()) for p in model.parameters()))
    for p in model.parameters():
        p.grad = D.allreduce(p.grad * min(1.0, 0.05 / norm))
    opt.step()
ref = train(lambda p: dl.optimizers.Adam(p, learning_rate=0.05, global_clipnorm=0.05), False)
results["local_clip_error"] = max(float(np.max(np.abs(a - b))) for a, b in
                                  zip(ref.state_dict().values(), model.state_dict().values()))

# a gradient mismatch (rank 0 ran head b, the others did not) raises on every rank, naming the parameters
model = make(0)
opt = D.DistributedOptimizer(dl.optimizers.SGD(model.parameters(), lr=0.1))
x = np.ones((4, 5))
opt.zero_grad()
out = model(dl.tensor(x), use_b=(r == 0))
out.sum().backward()
try:
    opt.step()
    results["mismatch"] = "no error"
except ValueError as e:
    results["mismatch"] = str(e)
results["mismatch_all_raised"] = D.allreduce_object(int("no error" != results["mismatch"]), op="min")
# inside skip_synchronize() (Horovod's), step() does not average: each replica takes its own gradient
model = make(0)
opt = D.DistributedOptimizer(dl.optimizers.SGD(model.parameters(), lr=0.1))
opt.zero_grad()
(model(dl.tensor(x + r), use_b=True) ** 2).sum().backward()
with opt.skip_synchronize():
    opt.step()
blobs = D.allgather_object(b"".join(np.ascontiguousarray(v).tobytes() for v in model.state_dict().values()))
results["skip_synchronize_local"] = len(set(blobs)) == n
before = [np.array(v) for v in model.state_dict().values()]
opt.zero_grad()
(model(dl.tensor(x + r), use_b=True) ** 2).sum().backward()
opt.step()                                 # outside the block again: averaged, the same update everywhere
delta = np.concatenate([(np.asarray(v) - b).ravel() for v, b in zip(model.state_dict().values(), before)])
deltas = D.allgather_object(delta)   # equal up to the rounding of p - lr g on replicas that differ
results["step_after_skip_averages"] = bool(all(np.allclose(d, deltas[0], rtol=1e-9, atol=1e-12) for d in deltas) and \
    np.abs(delta).max() > 1e-3)

# Horovod's name= on a collective: the same name everywhere goes through, different names raise everywhere
results["same_name"] = float(D.allreduce(np.ones(2), op=D.Sum, name="g")[0])
try:
    D.allreduce(np.ones(2), name=f"g{r}")
    results["name_mismatch"] = "no error"
except ValueError as e:
    results["name_mismatch"] = str(e)
try:
    D.broadcast_object(1, root_rank=0, name=f"o{r}")
    results["object_name_mismatch"] = "no error"
except ValueError as e:
    results["object_name_mismatch"] = str(e)

# the same with Horovod's named_parameters: the message uses those names
opt = D.DistributedOptimizer(dl.optimizers.SGD(model.parameters(), lr=0.1), named_parameters=model.named_parameters())
opt.zero_grad()
model(dl.tensor(x), use_b=(r == 0)).sum().backward()
try:
    opt.step()
    results["mismatch_named"] = "no error"
except ValueError as e:
    results["mismatch_named"] = str(e)
results["names"] = [n for n, _ in model.named_parameters()]

# shapes differ between ranks (a different model): also one clear error
model = make(0) if r == 0 else dl.Sequential([dl.layers.Dense(3, input_shape=(5,), dtype="float64")])
opt = D.DistributedOptimizer(dl.optimizers.SGD(model.parameters(), lr=0.1))
opt.zero_grad()
(model(dl.tensor(x)) if r else model(dl.tensor(x))).sum().backward()
try:
    opt.step()
    results["model_mismatch"] = "no error"
except ValueError as e:
    results["model_mismatch"] = str(e)

# broadcast_optimizer_state: rank-dependent Adam state becomes rank 0's
model = make(0)
opt = dl.optimizers.Adam(model.parameters(), lr=0.01)
for step, x, y in batches():
    opt.zero_grad()
    loss_of(model, x + r, y, step, False).backward()
    opt.step()
    if step == r:
        break
D.broadcast_optimizer_state(opt, root=0)
blob = b"".join(np.asarray(v).tobytes() for s in opt.state for v in s.values()) + bytes([opt.iterations])
blobs = D.allgather_object(blob)
results["optimizer_state_identical"] = all(b == blobs[0] for b in blobs)

# BatchNorm moving statistics passed as buffers are averaged at every step: replicas stay identical
dl.manual_seed(0)
bn_model = dl.Sequential([dl.layers.Dense(4, input_shape=(5,), dtype="float64"),
                          dl.layers.BatchNormalization(dtype="float64")])
bn_layer = bn_model.layers[1]
opt = D.DistributedOptimizer(dl.optimizers.SGD(bn_model.parameters(), lr=0.1),
                             buffers=[bn_layer.moving_mean, bn_layer.moving_variance])
for step, x, y in batches():
    part = slice(r * B // n, (r + 1) * B // n)
    bn_model.train()
    opt.zero_grad()
    dl.functional.mse(dl.tensor(y[part, :3]), bn_model(dl.tensor(x[part]), training=True)[:, :3]).backward()
    opt.step()
blobs = D.allgather_object(bn_layer.moving_mean.numpy().tobytes() + bn_layer.moving_variance.numpy().tobytes())
results["bn_buffers_identical"] = all(b == blobs[0] for b in blobs)

# four processes as two machines of two: each pair sums through its shared windows, then the pairs'
# shares are summed over MPI (the hierarchical path)
if n == 4:
    kept = [p.grad for p in last.parameters()]   # views of the shared windows, read after shutdown()
    D.shutdown()
    D.init()
    from dlcore.distributed.collectives import plane
    from dlcore.distributed.world import world
    w = world()
    w.local_comm.Free()
    w.local_comm = w.comm.Split(color=r // 2, key=r)
    w.local_rank, w.local_size = w.local_comm.Get_rank(), w.local_comm.Get_size()
    got = compare("two_machines", lambda p: dl.optimizers.Adam(p, learning_rate=0.05, global_clipnorm=0.05),
                  width=WIDE, accumulate=True)
    results["two_machines_cross"] = plane(w, "host")._node[1] is not None
    results["kept_after_shutdown"] = float(sum(float(np.abs(g).sum()) for g in kept))

if r == 0:
    print("RESULT " + json.dumps({"size": n, "tol": TOL, "results": results}), flush=True)
sys.stdout.flush()
