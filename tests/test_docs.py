"""Every Python example in the docs runs as written.

- README.md and docs/*.md: the fenced ```python blocks of each file, in order, in one namespace
  (a later block may use what an earlier one defined), in a temporary working folder.
- Every public docstring under `dlcore` with an `Example:` section: its fenced ```python block.

An example that says what it does checks it with `assert` (the README's PyTorch-style loop asserts
that its loss falls).
"""
import importlib
import inspect
import os
import pathlib
import pkgutil
import re

import pytest

import dlcore

ROOT = pathlib.Path(__file__).resolve().parent.parent
FENCE = re.compile(r"^```python[^\n]*\n(.*?)^```", re.S | re.M)
EXAMPLE = re.compile(r"^[ \t]*Example:[ \t]*$", re.M)  # the Keras section title (not reST's "Example::")
DOC_FILES = [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))


def python_blocks(text):
    return [inspect.cleandoc("\n" + b) if b.startswith((" ", "\t")) else b for b in FENCE.findall(text)]


@pytest.fixture
def in_tmp(tmp_path):
    before = os.getcwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(before)


# the README trains the digits CNN for 5 epochs as it says: a minute on a busy machine
@pytest.mark.parametrize("path", [pytest.param(p, marks=pytest.mark.slow) if p.name == "README.md" else p
                                  for p in DOC_FILES], ids=lambda p: p.name)
def test_markdown_python_blocks_run_in_order(path, in_tmp):
    blocks = python_blocks(path.read_text())
    namespace = {"__name__": "__doc_example__"}
    for i, block in enumerate(blocks):
        try:
            exec(compile(block, f"{path.name}[python block {i + 1}]", "exec"), namespace)
        except Exception as e:  # name the block in the failure
            raise AssertionError(f"{path.name}: python block {i + 1} failed: {type(e).__name__}: {e}\n{block}") from e


def _public_docstrings():
    """(qualified name, docstring) of every public module, class, function and method under dlcore."""
    seen, out = set(), []
    modules = [dlcore] + [importlib.import_module(m.name) for m in
                          pkgutil.walk_packages(dlcore.__path__, "dlcore.")
                          if not any(part.startswith("_") for part in m.name.split("."))]
    for module in modules:
        objects = [(module.__name__, module)]
        for name, obj in vars(module).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
                continue
            objects.append((f"{module.__name__}.{name}", obj))
            if inspect.isclass(obj):
                objects += [(f"{module.__name__}.{name}.{k}", v) for k, v in vars(obj).items()
                            if not k.startswith("_") and (inspect.isfunction(v) or isinstance(v, property))]
        for qual, obj in objects:
            doc = obj.__doc__ if not isinstance(obj, property) else obj.fget.__doc__
            if doc and EXAMPLE.search(doc) and id(doc) not in seen:
                seen.add(id(doc))
                out.append((qual, doc))
    return out


EXAMPLES = _public_docstrings()


def test_docstring_examples_are_found():
    assert any(q.endswith("Dropout") for q, _ in EXAMPLES)


@pytest.mark.parametrize("qual,doc", EXAMPLES, ids=[q for q, _ in EXAMPLES])
def test_docstring_example_runs(qual, doc, in_tmp):
    section = doc[EXAMPLE.search(doc).start():]
    blocks = python_blocks(inspect.cleandoc(section))
    assert blocks, f"{qual}: its Example: section has no ```python block"
    exec(compile(blocks[0], f"{qual} Example", "exec"), {"__name__": "__doc_example__"})
