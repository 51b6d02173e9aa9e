import os
import tempfile

import numpy as np
import pytest

# The GEMM tuning cache of the test run (and of the child processes it starts) goes to a
# folder of its own, never to the user's ~/.cache/dlcore; set before dlcore is first imported.
os.environ.setdefault("DLCORE_CACHE_DIR", tempfile.mkdtemp(prefix="dlcore-test-cache-"))

import dlcore  # noqa: E402
from dlcore.kernels import backend as kernel_backend  # noqa: E402
from harness import Backend  # noqa: E402


def _gpu_present() -> bool:
    try:
        import cupy
        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


@pytest.fixture(params=dlcore.supported_isas())
def isa(request):
    """Run the test once per CPU instruction-set path this machine (and DLCORE_CPU_ISA) allows."""
    before = dlcore.cpu_isa()
    dlcore.set_cpu_isa(request.param)
    yield request.param
    dlcore.set_cpu_isa(before)


BACKENDS = ([f"cpu-{isa}" for isa in dlcore.supported_isas()] + ["fallback"]
            + [pytest.param(name, marks=pytest.mark.cuda) for name in ("cuda", "cupy")])


def _run_on(request):
    name = request.param
    if name.startswith("cpu-"):
        before = dlcore.cpu_isa()
        dlcore.set_cpu_isa(name[4:])
        try:
            yield Backend(name, np)
        finally:
            dlcore.set_cpu_isa(before)
        return
    if name == "cuda" and kernel_backend.cuda_module() is None:
        pytest.skip("dlcore._cuda was not built")
    xp = kernel_backend.cupy() if name in ("cuda", "cupy") else np
    with kernel_backend.use("cuda" if name == "cuda" else "fallback"):
        yield Backend(name, xp)


@pytest.fixture(params=BACKENDS)
def backend(request):
    """Run a kernel test once per backend (see harness.Backend):

    - ``cpu-<isa>``: NumPy arrays on dlcore._C, once per CPU instruction-set path (as `isa`);
    - ``fallback``: NumPy arrays on the array-API fallback (``dlcore.kernels.backend.use("fallback")``);
    - ``cuda``: CuPy arrays on dlcore._cuda (skipped where it was not built);
    - ``cupy``: CuPy arrays on the fallback.

    The GPU ones carry the ``cuda`` mark and skip where no GPU is present. The test moves its NumPy
    inputs with ``backend.to`` and its results back with ``backend.back``.
    """
    yield from _run_on(request)


@pytest.fixture(params=[pytest.param(name, marks=pytest.mark.cuda) for name in ("cuda", "cupy")])
def gpu_backend(request):
    """The GPU backends alone (``cuda`` and ``cupy``, as in `backend`), for GPU-only tests."""
    yield from _run_on(request)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def pytest_collection_modifyitems(config, items):
    if not _gpu_present():
        skip = pytest.mark.skip(reason="no CUDA GPU (needs CuPy and an NVIDIA device)")
        for item in items:
            if item.get_closest_marker("cuda"):
                item.add_marker(skip)
