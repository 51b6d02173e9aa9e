"""The backend layer of dlcore.kernels (kernels/backend.py): which backend runs a call, the testing
hook that forces the fallback, and what importing dlcore must not do. The kernels themselves are
tested per family (tests/test_<family>.py), on every backend through conftest's `backend` fixture."""
import ast
import pathlib
import re
import subprocess
import sys
import threading

import numpy as np
import pytest

import dlcore.kernels as K
from dlcore.kernels import backend as B
from harness import raises

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "kernel_api.md"
KERNELS = ROOT / "src" / "dlcore" / "kernels"
FALLBACK = KERNELS / "fallback"
CUDA_BINDINGS = ROOT / "csrc" / "python" / "cuda"


def test_importing_dlcore_imports_no_gpu_module(tmp_path):
    code = ("import sys, numpy as np, dlcore\n"
            "import dlcore.kernels as K\n"
            "from dlcore.kernels.backend import is_gpu_array\n"
            "assert not is_gpu_array(np.zeros(3)) and not is_gpu_array(1.0) and not is_gpu_array([1])\n"
            "K.relu_forward(np.zeros(3))\n"
            "with K.backend.use('fallback'):\n"
            "    K.conv2d_forward(np.zeros((1, 3, 3, 1)), np.zeros((2, 2, 1, 1)))\n"
            "assert 'cupy' not in sys.modules, 'cupy was imported'\n"
            "assert 'dlcore._cuda' not in sys.modules, 'dlcore._cuda was imported'\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path)  # import the installed dlcore


def test_every_documented_kernel_is_public():
    documented = set(re.findall(r"`([a-z][a-z0-9_]*)\(", DOC.read_text()))
    documented -= {"act", "max"}  # formulas quoted in the document, not kernels
    missing = sorted(n for n in documented if not callable(getattr(K, n, None)) or n not in K.__all__)
    assert not missing, f"documented in docs/kernel_api.md but not public in dlcore.kernels: {missing}"


def test_the_fallback_is_written_with_xp_only():
    """Every fallback module but _xp.py (the pieces NumPy and CuPy do not share) uses the array
    module it is given: no import of CuPy or NumPy, no module-level array library."""
    for path in sorted(FALLBACK.glob("*.py")):
        if path.name == "_xp.py":
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + ([node.module] if isinstance(node, ast.ImportFrom) else [])
                bad = [n for n in names if n and n.split(".")[0] in ("numpy", "cupy", "cupyx", "cupy_backends")]
                assert not bad, f"{path.name} imports {bad}: the fallback takes xp instead"
            if isinstance(node, ast.Name) and node.id in ("np", "cp", "cupy", "numpy"):
                raise AssertionError(f"{path.name}:{node.lineno} names {node.id}: the fallback takes xp instead")


def test_numpy_arrays_run_the_cpu_unless_the_fallback_is_forced():
    x = np.ones(3)
    assert B.select("op", ("x",), x) == (np, "cpu")
    assert B.select("op", ("x", "y"), x, None) == (np, "cpu")
    with B.use("fallback"):
        assert B.select("op", ("x",), x) == (np, "fallback")
        with B.use("auto"):
            assert B.select("op", ("x",), x) == (np, "cpu")
        assert B.select("op", ("x",), x) == (np, "fallback")
    with B.use("cuda"):  # forcing dlcore._cuda concerns CuPy arrays only
        assert B.select("op", ("x",), x) == (np, "cpu")
    assert B.select("op", ("x",), x) == (np, "cpu")
    assert B.select("op", ("x",), [1.0]) == (np, "cpu")  # not arrays: the argument checks name them


def test_use_is_per_thread():
    seen = {}

    def other():
        seen["other"] = B.select("op", None, np.ones(1))[1]

    with B.use("fallback"):
        t = threading.Thread(target=other)
        t.start()
        t.join()
        seen["this"] = B.select("op", None, np.ones(1))[1]
    assert seen == {"other": "cpu", "this": "fallback"}


def test_use_rejects_unknown_backends():
    with raises(ValueError, "backend.use", "'gpu'"):
        with B.use("gpu"):
            pass


def test_set_tf32_is_public_and_off_by_default(monkeypatch):
    assert K.tf32_enabled() is False
    K.set_tf32(True)
    try:
        assert K.tf32_enabled() is True
    finally:
        K.set_tf32(False)


@pytest.mark.cuda
def test_cupy_arrays_run_cuda_or_the_fallback(monkeypatch):
    cp = B.cupy()
    x = cp.ones(3)
    expect = "cuda" if B.cuda_module() is not None else "fallback"
    assert B.select("op", ("x",), x) == (cp, expect)
    monkeypatch.setenv("DLCORE_CUDA_KERNELS", "0")
    assert B.select("op", ("x",), x) == (cp, "fallback")
    with B.use("fallback"):
        monkeypatch.setenv("DLCORE_CUDA_KERNELS", "1")
        assert B.select("op", ("x",), x) == (cp, "fallback")
    if B.cuda_module() is None:
        with B.use("cuda"), raises(RuntimeError, "relu_forward", "dlcore._cuda is not built"):
            K.relu_forward(x)


@pytest.mark.cuda
def test_mixed_numpy_and_cupy_arrays_raise_naming_the_op():
    cp = B.cupy()
    with raises(TypeError, "conv2d_backward_filter", "'dy'", "'x'", "NumPy", "one device"):
        K.conv2d_backward_filter(cp.ones((1, 2, 2, 1)), np.ones((1, 3, 3, 1)), (2, 2, 1, 1))
    with raises(TypeError, "global_norm", "arrays[0]", "arrays[1]"):
        K.global_norm([np.ones(2), cp.ones(2)])
    with raises(TypeError, "softmax_cross_entropy", "'labels'", "NumPy"):
        K.softmax_cross_entropy(cp.ones((2, 3)), np.zeros(2, np.int64))


def _cuda_bindings():
    """{name: number of arguments} of every dlcore._cuda function, read from its pybind11 registration."""
    src = "".join(p.read_text() for p in sorted(CUDA_BINDINGS.glob("register_*.cpp")))
    return {m.group(1): len([a for a in m.group(2).split(",") if a.strip()])
            for m in re.finditer(r'm\.def\(\s*"(\w+)",\s*\[\]\(([^)]*)\)', src)}


def _cuda_calls():
    """(file, line, binding name, call node, enclosing function) of every `cuda().<name>(...)` call
    in the kernel modules."""
    for path in sorted(KERNELS.glob("*.py")):
        tree = ast.parse(path.read_text())
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef):
                continue
            for node in ast.walk(fn):
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                        and isinstance(node.func.value, ast.Call) and isinstance(node.func.value.func, ast.Name)
                        and node.func.value.func.id == "cuda"):
                    yield path.name, node.lineno, node.func.attr, node, fn, tree


def test_cuda_calls_match_the_bindings():
    """No GPU runs here, so read the "cuda" backend's calls against csrc/python/cuda/register_*.cpp:
    every call names a binding, passes exactly its number of arguments positionally, and every name
    in its arguments is defined where it is used (an undefined `k` once made every GEMM through
    dlcore._cuda raise NameError); every binding is called somewhere."""
    import builtins
    bindings = _cuda_bindings()
    assert len(bindings) > 25, "could not read the dlcore._cuda bindings"
    called = set()
    for file, line, name, call, fn, tree in _cuda_calls():
        where = f"{file}:{line} cuda().{name}"
        assert name in bindings, f"{where}: dlcore._cuda has no {name}"
        assert not call.keywords and not any(isinstance(a, ast.Starred) for a in call.args), f"{where}: positional only"
        assert len(call.args) == bindings[name], \
            f"{where}: {len(call.args)} arguments, the binding takes {bindings[name]}"
        defined = set(dir(builtins))
        defined |= {a.arg for a in fn.args.args + fn.args.kwonlyargs}
        defined |= {n.id for n in ast.walk(fn) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        for top in tree.body:  # module-level names: imports, functions, classes, assignments
            if isinstance(top, (ast.Import, ast.ImportFrom)):
                defined |= {(a.asname or a.name).split(".")[0] for a in top.names}
            elif isinstance(top, (ast.FunctionDef, ast.ClassDef)):
                defined.add(top.name)
            elif isinstance(top, ast.Assign):
                defined |= {n.id for t in top.targets for n in ast.walk(t) if isinstance(n, ast.Name)}
        used = {n.id for a in call.args for n in ast.walk(a) if isinstance(n, ast.Name)}
        assert used <= defined, f"{where}: undefined names {sorted(used - defined)}"
        called.add(name)
    assert called == set(bindings), f"dlcore._cuda functions no kernel calls: {sorted(set(bindings) - called)}"
