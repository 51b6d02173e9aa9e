"""Static checks of the source tree: pyflakes (through ruff) and the package's import graph.

An undefined name in a code path no test reaches (the GPU backends on a machine without a GPU) is
found here rather than by a user; an import cycle, even one hidden inside a function, fails here.
"""
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_pyflakes_finds_nothing():
    ruff = shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed (it comes with the test extra: pip install '.[test]')")
    run = subprocess.run([ruff, "check", "--no-cache", "src", "tests", "bench", "examples"], cwd=ROOT,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_package_has_no_import_cycle():
    spec = importlib.util.spec_from_file_location("check_imports", ROOT / ".ci" / "check_imports.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    graph = mod.edges(ROOT / "src" / "dlcore")
    assert len(graph) > 50
    assert mod.cycles(graph) == []


def test_the_cycle_check_sees_function_level_imports(tmp_path):
    pkg = tmp_path / "dlcore"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from . import b\n")
    (pkg / "b.py").write_text("from .a import f\n")
    (pkg / "sub" / "__init__.py").write_text("from .. import _C\n")  # a compiled module is a leaf
    spec = importlib.util.spec_from_file_location("check_imports", ROOT / ".ci" / "check_imports.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.cycles(mod.edges(pkg)) == [["dlcore.a", "dlcore.b"]]
    assert subprocess.run([sys.executable, str(ROOT / ".ci" / "check_imports.py"), str(pkg)],
                          capture_output=True).returncode == 1
