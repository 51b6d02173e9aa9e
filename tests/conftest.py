import numpy as np
import pytest

import dlcore


@pytest.fixture(params=dlcore.supported_isas())
def isa(request):
    """Run the test once per CPU instruction-set path this machine (and DLCORE_CPU_ISA) allows."""
    before = dlcore.cpu_isa()
    dlcore.set_cpu_isa(request.param)
    yield request.param
    dlcore.set_cpu_isa(before)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def pytest_collection_modifyitems(config, items):
    try:
        import cupy  # noqa: F401
        has_gpu = cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        has_gpu = False
    if not has_gpu:
        skip = pytest.mark.skip(reason="no CUDA GPU (needs CuPy and an NVIDIA device)")
        for item in items:
            if item.get_closest_marker("cuda"):
                item.add_marker(skip)
