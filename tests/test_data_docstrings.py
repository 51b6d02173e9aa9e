"""Every `Example:` block in the docstrings of the data side (loaders, get_file, dataset utilities,
preprocessing layers) runs as written -- offline: the data sets' origins point at a closed local port,
so their examples take their documented no-network branch."""
import inspect
import re
import socket

import pytest

import dlcore.data_loader
import dlcore.dataset_utils
import dlcore.file_utils
import dlcore.image_utils
import dlcore.layers.preprocessing.image
import dlcore.layers.preprocessing.lookup
import dlcore.layers.preprocessing.normalization
import dlcore.layers.preprocessing.text_vectorization
from dlcore import datasets
from dlcore.datasets import _common
from local_server import block_network

MODULES = [dlcore.file_utils, dlcore.data_loader, dlcore.dataset_utils, dlcore.image_utils,
           dlcore.layers.preprocessing.image, dlcore.layers.preprocessing.lookup,
           dlcore.layers.preprocessing.normalization, dlcore.layers.preprocessing.text_vectorization,
           datasets.mnist, datasets.fashion_mnist, datasets.cifar10, datasets.cifar100, datasets.imdb, datasets.reuters,
           datasets.boston_housing]
BLOCK = re.compile(r"Example:\s*\n\s*```python\n(.*?)\n\s*```", re.S)


def _examples():
    out = []
    for module in MODULES:
        for name, obj in vars(module).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
                continue
            if not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue
            docs = [(name, inspect.getdoc(obj) or "")]
            if inspect.isclass(obj):
                docs += [(f"{name}.{m}", inspect.getdoc(f) or "") for m, f in vars(obj).items()
                         if inspect.isfunction(f) and not m.startswith("_")]
            for where, doc in docs:
                for code in BLOCK.findall(doc):
                    out.append(pytest.param(code, id=f"{module.__name__.split('.')[-1]}.{where}"))
    return out


EXAMPLES = _examples()


def test_every_public_name_of_the_data_side_has_an_example():
    documented = {p.id for p in EXAMPLES}
    for module in MODULES:
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if (inspect.isclass(obj) or inspect.isfunction(obj)) and obj.__module__ == module.__name__ \
                    and not issubclass(obj if inspect.isclass(obj) else type, Exception):
                assert f"{module.__name__.split('.')[-1]}.{name}" in documented, f"{module.__name__}.{name}"


@pytest.mark.parametrize("code", EXAMPLES)
def test_example_runs(code, monkeypatch, tmp_path):
    blocked = block_network(monkeypatch)
    monkeypatch.setenv("DLCORE_HOME", str(tmp_path))
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    dead = f"http://127.0.0.1:{s.getsockname()[1]}/"
    s.close()
    for source in _common.BASE_URLS:
        monkeypatch.setitem(_common.BASE_URLS, source, dead)
    exec(compile(code, "<example>", "exec"), {})
    assert not blocked
