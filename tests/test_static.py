"""Static checks of the source tree: pyflakes (through ruff), the package's import graph and the
size of its files and classes.

An undefined name in a code path no test reaches (the GPU backends on a machine without a GPU) is
found here rather than by a user; an import cycle, even one hidden inside a function, fails here;
so does a file or class grown past the size where it should be split ("rooms of their own").
"""
import ast
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


MAX_FILE_LINES = 600   # a Python file under src/dlcore
MAX_CLASS_LINES = 300  # a class, from its `class` line to its last line


def too_long(root):
    """(files, classes) past the limits under `root`, each as 'path (n lines)' / 'path:line Name (n lines)'."""
    files, classes = [], []
    for path in sorted(root.rglob("*.py")):
        text = path.read_text()
        rel = path.relative_to(root.parent).as_posix()
        n = len(text.splitlines())
        if n > MAX_FILE_LINES:
            files.append(f"{rel} ({n} lines)")
        for node in ast.walk(ast.parse(text, filename=rel)):
            if isinstance(node, ast.ClassDef) and node.end_lineno - node.lineno + 1 > MAX_CLASS_LINES:
                classes.append(f"{rel}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1} lines)")
    return files, classes


def test_no_file_or_class_is_too_long():
    files, classes = too_long(ROOT / "src" / "dlcore")
    assert not files and not classes, (
        f"split along a real seam (a mixin in a module of its own, as Module and Optimizer are): "
        f"files over {MAX_FILE_LINES} lines: {files or 'none'}; classes over {MAX_CLASS_LINES} lines: "
        f"{classes or 'none'}")


def test_the_size_check_names_the_offenders(tmp_path):
    pkg = tmp_path / "dlcore"
    pkg.mkdir()
    (pkg / "small.py").write_text("class Fine:\n" + "    x = 1\n" * (MAX_CLASS_LINES - 1))
    (pkg / "big.py").write_text("x = 1\n" * MAX_FILE_LINES + "class Big:\n" + "    y = 2\n" * MAX_CLASS_LINES)
    files, classes = too_long(pkg)
    assert files == [f"dlcore/big.py ({MAX_FILE_LINES + MAX_CLASS_LINES + 1} lines)"]
    assert classes == [f"dlcore/big.py:{MAX_FILE_LINES + 1} Big ({MAX_CLASS_LINES + 1} lines)"]
