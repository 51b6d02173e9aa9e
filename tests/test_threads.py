"""The CPU kernels' thread pool: its size and where it comes from, fork, neighbours in one process
(NumPy's OpenBLAS, PyTorch), concurrent and nested calls, and threadpoolctl.

Scenarios that could hang (fork, a busy neighbour pool) run in a child Python process with a
timeout, so that a regression fails the test instead of stalling the suite.
"""
import os
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

import dlcore
import dlcore.kernels as K
from dlcore import _system
from harness import assert_close, raises
from reference import gemm as ref_gemm

TIMEOUT = 120  # seconds for a child process; each takes a few on a quiet machine


def run_child(code: str, env=None, timeout=TIMEOUT) -> str:
    """Run `code` in a fresh interpreter; return its stdout, failing on a non-zero exit or a hang."""
    full_env = {k: v for k, v in os.environ.items() if k not in ("DLCORE_NUM_THREADS", "OMP_NUM_THREADS")}
    full_env.update(env or {})
    try:
        out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                             env=full_env, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"child process hung (no exit in {timeout} s); output so far: {e.stdout!r} {e.stderr!r}")
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


@pytest.fixture
def threads():
    """Restore the pool's size after a test that changes it."""
    before = dlcore.get_num_threads()
    yield
    dlcore.set_num_threads(before)


# ---- the thread count ----------------------------------------------------------------------------

def test_set_num_threads_checks_its_argument(threads):
    with raises(TypeError, "set_num_threads", "int", "float"):
        dlcore.set_num_threads(2.0)
    with raises(TypeError, "set_num_threads", "bool"):
        dlcore.set_num_threads(True)
    with raises(ValueError, "set_num_threads", "between 1 and", "got 0"):
        dlcore.set_num_threads(0)
    with raises(ValueError, "set_num_threads", "got 5000"):
        dlcore.set_num_threads(5000)
    dlcore.set_num_threads(3)
    assert dlcore.get_num_threads() == 3


def test_threads_from_env_reads_dlcore_then_openmp():
    env = _system.threads_from_env
    assert env({}) is None
    assert env({"OMP_NUM_THREADS": "3"}) == 3
    assert env({"OMP_NUM_THREADS": "4,2"}) == 4  # OpenMP's list: the outermost level counts
    assert env({"DLCORE_NUM_THREADS": "2", "OMP_NUM_THREADS": "5"}) == 2
    assert env({"DLCORE_NUM_THREADS": " ", "OMP_NUM_THREADS": "5"}) == 5
    with raises(ValueError, "DLCORE_NUM_THREADS", "'two'"):
        env({"DLCORE_NUM_THREADS": "two"})
    with raises(ValueError, "DLCORE_NUM_THREADS", "'0'"):
        env({"DLCORE_NUM_THREADS": "0"})
    with pytest.warns(RuntimeWarning, match="OMP_NUM_THREADS.*'-1'.*ignores"):
        assert env({"OMP_NUM_THREADS": "-1"}) is None


@pytest.mark.parametrize("env, expected", [
    ({"DLCORE_NUM_THREADS": "3"}, 3),
    ({"OMP_NUM_THREADS": "5"}, 5),
    ({"DLCORE_NUM_THREADS": "1", "OMP_NUM_THREADS": "4"}, 1),
])
def test_the_environment_sets_the_pool_at_import(env, expected):
    out = run_child("""
        import dlcore
        print(dlcore.get_num_threads(), dlcore._C.pool_workers_started())
    """, env)
    assert out.split() == [str(expected), "0"]  # no worker starts before a kernel needs one


def test_workers_start_at_the_first_call_that_needs_them():
    out = run_child("""
        import numpy as np, dlcore, dlcore.kernels as K
        dlcore.set_num_threads(3)
        a = np.ones((300, 300), np.float32)
        K.gemm(a[:4, :4], a[:4, :4])        # too small to thread
        print(dlcore._C.pool_workers_started())
        K.gemm(a, a)
        print(dlcore._C.pool_workers_started())
    """)
    assert out.split() == ["0", "2"]


# ---- results at any thread count -----------------------------------------------------------------

@pytest.mark.parametrize("nt", [1, 2, 3, 5])
def test_kernels_agree_with_the_reference_at_any_thread_count(nt, threads, rng):
    dlcore.set_num_threads(nt)
    for m, n, k in [(301, 257, 129), (64, 1030, 300), (1, 700, 513), (700, 3, 40)]:
        a = rng.standard_normal((m, k)).astype(np.float32)
        b = rng.standard_normal((k, n)).astype(np.float32)
        assert_close(K.gemm(a, b), ref_gemm(a, b))
    x = rng.standard_normal((4, 40, 25)).astype(np.float32)
    y = K.tanh_forward(np.tile(x.ravel(), 800))
    assert_close(y, np.tanh(np.tile(x.ravel(), 800).astype(np.float64)))


def test_concurrent_callers_each_get_their_own_result(threads, rng):
    """Python threads calling kernels at once (the GIL is released): one owns the pool, the others
    run inline; none may see another's work."""
    dlcore.set_num_threads(2)
    mats = [(rng.standard_normal((200, 150)).astype(np.float32), rng.standard_normal((150, 170)).astype(np.float32))
            for _ in range(6)]
    errors = []

    def work(i):
        a, b = mats[i]
        ref = ref_gemm(a, b)
        for _ in range(20):
            err = np.linalg.norm(K.gemm(a, b) - ref) / np.linalg.norm(ref)
            if not err < 1e-5:
                errors.append((i, err))

    ts = [threading.Thread(target=work, args=(i,)) for i in range(len(mats))]
    for t in ts:
        t.start()
    for t in ts:
        t.join(TIMEOUT)
    assert not any(t.is_alive() for t in ts), "a kernel call did not return"
    assert errors == []


# ---- fork ----------------------------------------------------------------------------------------

FORK_CHILD = """
    import os, multiprocessing as mp, numpy as np, dlcore, dlcore.kernels as K
    dlcore.set_num_threads(2)
    rng = np.random.default_rng(0)
    a = rng.standard_normal((400, 300)).astype(np.float32)
    b = rng.standard_normal((300, 500)).astype(np.float32)
    ref = a.astype(np.float64) @ b

    def ok():
        return float(np.linalg.norm(K.gemm(a, b) - ref) / np.linalg.norm(ref)) < 1e-5

    def child(q, nt):
        started = dlcore._C.pool_workers_started()
        if nt:
            dlcore.set_num_threads(nt)
        good = ok() and ok()
        q.put((started, good, dlcore.get_num_threads(), dlcore._C.pool_workers_started()))

    assert ok()  # the parent's pool is up
    assert dlcore._C.pool_workers_started() == 1
    ctx = mp.get_context("fork")
    for nt in (0, 3, 1):
        q = ctx.Queue()
        p = ctx.Process(target=child, args=(q, nt))
        p.start()
        started, good, threads, after = q.get(timeout=60)
        p.join(60)
        assert p.exitcode == 0, p.exitcode
        assert started == 0 and good, (started, good)
        assert threads == (nt or 2) and after == max((nt or 2) - 1, 0), (nt, threads, after)
    assert ok()  # and the parent's still works
    print("ok")
"""


CPU_AFFINITY = """
import os
import time
import numpy as np
import dlcore
import dlcore.kernels as K

cpus = sorted(os.sched_getaffinity(0))
rng = np.random.default_rng(0)
a, b = rng.standard_normal((300, 200)).astype(np.float32), rng.standard_normal((200, 150)).astype(np.float32)
want = a.astype(np.float64) @ b
dlcore.set_num_threads(2)

def check(what):
    for _ in range(200):
        got = K.gemm(a, b)
    assert np.abs(got - want).max() < 1e-3, what

def workers():
    tasks = os.listdir("/proc/self/task")
    return [int(t) for t in tasks if open(f"/proc/self/task/{t}/comm").read().strip() == "dlcore-worker"]

check("workers started with the whole mask")
# the caller bound to one CPU and each worker put there before a call: it moves to another CPU for
# the call and keeps its whole mask
os.sched_setaffinity(0, {cpus[0]})
for _ in range(20):
    for t in workers():
        os.sched_setaffinity(t, {cpus[0]})
        os.sched_setaffinity(t, set(cpus))
    assert np.abs(K.gemm(a, b) - want).max() < 1e-3
    # (a worker may still be moving when the call returns, its mask narrowed for that moment)
    deadline = time.monotonic() + 2.0
    while True:
        masks = [os.sched_getaffinity(t) for t in workers()]
        if (masks and all(m == set(cpus) for m in masks)) or time.monotonic() > deadline:
            break
        time.sleep(0.001)
    assert masks and all(m == set(cpus) for m in masks), (masks, cpus)
# a worker the user bound to the caller's CPU stays there (the move never widens a mask)
for t in workers():
    os.sched_setaffinity(t, {cpus[0]})
check("worker bound to the caller's CPU")
assert all(os.sched_getaffinity(t) == {cpus[0]} for t in workers())
print("ok")
"""


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2,
                    reason="needs Linux and two CPUs")
def test_workers_leave_the_callers_cpu_without_changing_their_masks():
    assert run_child(CPU_AFFINITY).strip() == "ok"


def test_back_to_back_jobs_run_every_task_once():
    # jobs of 1..64 tasks back to back: a worker finishing one job while the next is published must
    # never take a task of neither (the pool once let it; the caller then waited forever or the worker
    # ran a finished call's task); in a child, so that a hang fails instead of stopping the suite
    out = run_child("""
    import dlcore
    print(dlcore._C.pool_check_jobs(200000, 2), dlcore._C.pool_check_jobs(20000, 3))
    """, timeout=60)
    assert out.split() == ["0", "0"], out
    for jobs, nt in ((-1, 2), (10, 0)):
        with pytest.raises(ValueError, match="pool_check_jobs"):
            dlcore._C.pool_check_jobs(jobs, nt)


def test_kernels_with_the_process_bound_to_one_cpu():
    code = """
    import os
    import numpy as np
    import dlcore
    import dlcore.kernels as K
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    dlcore.set_num_threads(3)
    a = np.random.default_rng(0).standard_normal((400, 300)).astype(np.float32)
    for _ in range(50):
        got = K.gemm(a, a.T)
    assert np.abs(got - a.astype(np.float64) @ a.T).max() < 1e-3
    print("ok")
    """
    assert run_child(code).strip() == "ok"


def test_a_forked_child_runs_kernels_after_the_parent_did():
    assert run_child(FORK_CHILD).strip() == "ok"


def test_fork_while_another_thread_runs_kernels():
    """The fork handlers hold the pool while it forks: the child never inherits a job in flight."""
    out = run_child("""
        import os, threading, numpy as np, dlcore, dlcore.kernels as K
        dlcore.set_num_threads(2)
        a = np.ones((256, 256), np.float32)
        stop = threading.Event()

        def busy():
            while not stop.is_set():
                assert K.gemm(a, a)[0, 0] == 256

        t = threading.Thread(target=busy)
        t.start()
        for _ in range(20):
            pid = os.fork()
            if pid == 0:
                ok = K.gemm(a, a)[0, 0] == 256 and K.gemm(a, a)[5, 7] == 256
                os._exit(0 if ok else 1)
            _, status = os.waitpid(pid, 0)
            assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
        stop.set()
        t.join()
        print("ok")
    """)
    assert out.strip() == "ok"


# ---- neighbours in one process -------------------------------------------------------------------

NEIGHBOUR = """
    import threading, time, numpy as np, dlcore, dlcore.kernels as K
    dlcore.set_num_threads(2)
    rng = np.random.default_rng(0)
    na = rng.standard_normal((384, 384)).astype(np.float32)
    x = rng.standard_normal((16, 40, 25)).astype(np.float32)
    w = rng.standard_normal((1, 5, 25, 32)).astype(np.float32)
    mats = [(rng.standard_normal((m, k)).astype(np.float32), rng.standard_normal((k, n)).astype(np.float32))
            for m, n, k in [(64, 64, 64), (256, 256, 256), (128, 512, 784), (1, 1024, 1024)]]
    refs = [a.astype(np.float64) @ b for a, b in mats]
    stop = threading.Event()
    {neighbour}

    def check(rounds):
        for _ in range(rounds):
            for (a, b), ref in zip(mats, refs):
                assert np.linalg.norm(K.gemm(a, b) - ref) / np.linalg.norm(ref) < 1e-5
            y = K.conv2d_forward(x[:, None], w, strides=(1, 2))
            assert y.shape == (16, 1, 18, 32)

    check(3)                      # alone
    t = threading.Thread(target=neighbour)
    t.start()                     # now beside a neighbour keeping its own pool busy
    check(30)
    stop.set()
    t.join()
    check(3)                      # and after it, while its threads may still spin
    print("ok")
"""

OPENBLAS = """
    def neighbour():
        while not stop.is_set():
            na @ na
"""

TORCH = """
    import torch
    torch.set_num_threads(2)
    ta = torch.from_numpy(na)

    def neighbour():
        while not stop.is_set():
            ta @ ta
            torch.tanh(ta)
"""


def test_kernels_beside_a_busy_openblas_pool():
    assert run_child(NEIGHBOUR.format(neighbour=textwrap.indent(textwrap.dedent(OPENBLAS), "    "))).strip() == "ok"


def test_kernels_beside_a_busy_pytorch_pool():
    pytest.importorskip("torch")
    assert run_child(NEIGHBOUR.format(neighbour=textwrap.indent(textwrap.dedent(TORCH), "    "))).strip() == "ok"


def test_interleaved_with_numpy_calls_in_one_thread():
    """The issue's pattern: a small dlcore GEMM right after a multi-threaded NumPy matmul, over and
    over, in one thread. It must stay correct and finish (with libgomp's spinning workers it took
    20x its time alone)."""
    out = run_child("""
        import numpy as np, dlcore, dlcore.kernels as K
        dlcore.set_num_threads(2)
        rng = np.random.default_rng(0)
        na = rng.standard_normal((512, 512)).astype(np.float32)
        a, b = rng.standard_normal((256, 256)).astype(np.float32), rng.standard_normal((256, 256)).astype(np.float32)
        ref = a.astype(np.float64) @ b
        for _ in range(100):
            na @ na
            assert np.linalg.norm(K.gemm(a, b) - ref) / np.linalg.norm(ref) < 1e-5
        print("ok")
    """)
    assert out.strip() == "ok"


# ---- threadpoolctl -------------------------------------------------------------------------------

def test_threadpoolctl_sees_and_limits_the_pool(threads):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    if not hasattr(threadpoolctl, "register"):
        pytest.skip("this threadpoolctl has no custom controllers")
    dlcore.set_num_threads(3)
    entries = [e for e in threadpoolctl.threadpool_info() if e["internal_api"] == "dlcore"]
    assert len(entries) == 1, threadpoolctl.threadpool_info()
    assert entries[0]["num_threads"] == 3 and entries[0]["user_api"] == "dlcore"
    assert os.path.basename(entries[0]["filepath"]).startswith("_C.")
    with threadpoolctl.threadpool_limits(limits=1):
        assert dlcore.get_num_threads() == 1
    assert dlcore.get_num_threads() == 3
    with threadpoolctl.threadpool_limits(limits=2, user_api="dlcore"):
        assert dlcore.get_num_threads() == 2
    assert dlcore.get_num_threads() == 3
    controller = threadpoolctl.ThreadpoolController()
    with controller.limit(limits=1, user_api="dlcore"):
        assert dlcore.get_num_threads() == 1
    assert dlcore.get_num_threads() == 3
