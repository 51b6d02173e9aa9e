"""The downloaded data sets, parsed from generated files in each data set's true format, served locally.

The files are small stand-ins with the real layouts (npz, gzip IDX, CIFAR's binary records in a
tar.gz, npz of pickled lists, word-index JSON); the loaders fetch them through get_file from a
server on 127.0.0.1, so shapes, dtypes, splits and label ranges are checked without the real data.
"""
import gzip
import hashlib
import io
import json
import os
import tarfile

import numpy as np
import pytest

from dlcore import datasets
from dlcore.datasets import _common, _npz
from local_server import LocalServer, block_network


@pytest.fixture
def served(monkeypatch, tmp_path):
    """publish(module, fname, data): serve `data` as the data set's file `fname`, pinned by its hash."""
    blocked = block_network(monkeypatch)
    monkeypatch.setenv("DLCORE_HOME", str(tmp_path / "home"))
    with LocalServer() as server:
        for source in _common.BASE_URLS:
            monkeypatch.setitem(_common.BASE_URLS, source, server.url(f"/{source}/"))

        def publish(module, fname, data):
            source = "toronto" if module in (datasets.cifar10, datasets.cifar100) else "keras"
            server.add(f"/{source}/{fname}", data)
            kind = hashlib.md5 if len(module.FILES[fname]) == 32 else hashlib.sha256  # as the pinned hash
            monkeypatch.setitem(module.FILES, fname, kind(data).hexdigest())
        publish.server = server
        yield publish
    assert not blocked


def _npz_bytes(**arrays):
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _objects(seqs):
    out = np.empty(len(seqs), dtype=object)
    for i, s in enumerate(seqs):
        out[i] = s
    return out


# ---- MNIST, Fashion-MNIST ---------------------------------------------------------------------

def test_mnist(served):
    rng = np.random.default_rng(0)
    arrays = {"x_train": rng.integers(0, 256, (12, 28, 28), dtype=np.uint8), "y_train": rng.integers(0, 10, 12,
                                                                                                    dtype=np.uint8),
              "x_test": rng.integers(0, 256, (5, 28, 28), dtype=np.uint8), "y_test": rng.integers(0, 10, 5,
                                                                                                 dtype=np.uint8)}
    served(datasets.mnist, "mnist.npz", _npz_bytes(**arrays))
    (x_train, y_train), (x_test, y_test) = datasets.mnist.load_data()
    assert x_train.shape == (12, 28, 28) and x_train.dtype == np.uint8 and y_train.dtype == np.uint8
    assert x_test.shape == (5, 28, 28) and y_test.shape == (5,)
    np.testing.assert_array_equal(x_train, arrays["x_train"])
    np.testing.assert_array_equal(y_test, arrays["y_test"])
    datasets.mnist.load_data()
    assert served.server.count("/keras/mnist.npz") == 1  # the second load reads the cache


def test_mnist_wrong_content_is_refused(served):
    served(datasets.mnist, "mnist.npz", _npz_bytes(x_train=np.zeros((2, 28, 28), np.float32),
                                                   y_train=np.zeros(2, np.uint8), x_test=np.zeros((1, 28, 28), np.uint8),
                                                   y_test=np.zeros(1, np.uint8)))
    with pytest.raises(ValueError, match="mnist.load_data: the data file's 'x_train' is a float32 array"):
        datasets.mnist.load_data()


def _idx_gz(a):
    header = bytes([0, 0, 0x08, a.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in a.shape)
    return gzip.compress(header + a.astype(np.uint8).tobytes())


def test_fashion_mnist_reads_gzip_idx(served):
    rng = np.random.default_rng(1)
    xs = {"train": rng.integers(0, 256, (9, 28, 28)), "t10k": rng.integers(0, 256, (4, 28, 28))}
    ys = {"train": rng.integers(0, 10, 9), "t10k": rng.integers(0, 10, 4)}
    for split in ("train", "t10k"):
        served(datasets.fashion_mnist, f"{split}-images-idx3-ubyte.gz", _idx_gz(xs[split]))
        served(datasets.fashion_mnist, f"{split}-labels-idx1-ubyte.gz", _idx_gz(ys[split]))
    (x_train, y_train), (x_test, y_test) = datasets.fashion_mnist.load_data()
    assert x_train.shape == (9, 28, 28) and x_train.dtype == np.uint8 and y_train.dtype == np.uint8
    np.testing.assert_array_equal(x_test, xs["t10k"])
    np.testing.assert_array_equal(y_train, ys["train"])
    assert len(datasets.fashion_mnist.CLASS_NAMES) == 10
    assert os.path.isfile(os.path.join(os.environ["DLCORE_HOME"], "datasets", "fashion-mnist",
                                       "t10k-labels-idx1-ubyte.gz"))


def test_fashion_mnist_refuses_an_idx_whose_header_lies(served):
    bad = gzip.compress(bytes([0, 0, 0x08, 3]) + b"".join(d.to_bytes(4, "big") for d in (5, 28, 28)) + b"\0" * 100)
    for split in ("train", "t10k"):
        served(datasets.fashion_mnist, f"{split}-images-idx3-ubyte.gz", bad)
        served(datasets.fashion_mnist, f"{split}-labels-idx1-ubyte.gz", _idx_gz(np.zeros(5)))
    with pytest.raises(ValueError, match="header announces shape"):
        datasets.fashion_mnist.load_data()


# ---- CIFAR --------------------------------------------------------------------------------------

def _tar_gz(members):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _records(labels, images):
    """CIFAR binary records: the label bytes, then the image as R, G, B planes (images are NHWC here)."""
    planes = images.transpose(0, 3, 1, 2).reshape(len(images), -1)
    return np.concatenate([labels.astype(np.uint8).reshape(len(images), -1), planes.astype(np.uint8)], 1).tobytes()


def test_cifar10_binary_records(served):
    rng = np.random.default_rng(2)
    x = rng.integers(0, 256, (5 * 3 + 4, 32, 32, 3)).astype(np.uint8)
    y = rng.integers(0, 10, len(x)).astype(np.uint8)
    members = {f"cifar-10-batches-bin/data_batch_{i}.bin": _records(y[3 * (i - 1):3 * i], x[3 * (i - 1):3 * i])
               for i in range(1, 6)}
    members["cifar-10-batches-bin/test_batch.bin"] = _records(y[15:], x[15:])
    members["cifar-10-batches-bin/batches.meta.txt"] = b"\n".join(n.encode() for n in datasets.cifar10.CLASS_NAMES)
    served(datasets.cifar10, "cifar-10-binary.tar.gz", _tar_gz(members))
    (x_train, y_train), (x_test, y_test) = datasets.cifar10.load_data()
    assert x_train.shape == (15, 32, 32, 3) and x_train.dtype == np.uint8
    assert y_train.shape == (15, 1) and y_train.dtype == np.uint8 and y_test.shape == (4, 1)
    np.testing.assert_array_equal(x_train, x[:15])   # R, G, B planes back to channels last
    np.testing.assert_array_equal(y_test[:, 0], y[15:])
    assert y_train.max() < 10
    datasets.cifar10.load_data()
    assert served.server.count("/toronto/cifar-10-binary.tar.gz") == 1


def test_cifar100_fine_and_coarse(served):
    rng = np.random.default_rng(3)
    x = rng.integers(0, 256, (7, 32, 32, 3)).astype(np.uint8)
    coarse, fine = rng.integers(0, 20, 7), rng.integers(0, 100, 7)
    labels = np.stack([coarse, fine], 1)
    served(datasets.cifar100, "cifar-100-binary.tar.gz", _tar_gz({
        "cifar-100-binary/train.bin": _records(labels[:5], x[:5]), "cifar-100-binary/test.bin": _records(labels[5:], x[5:]),
        "cifar-100-binary/fine_label_names.txt": b"apple\n"}))
    (x_train, y_train), (x_test, y_test) = datasets.cifar100.load_data()
    assert x_train.shape == (5, 32, 32, 3) and y_train.shape == (5, 1) and y_train.dtype == np.int64
    np.testing.assert_array_equal(y_train[:, 0], fine[:5])
    np.testing.assert_array_equal(x_test, x[5:])
    (_, y_coarse), _ = datasets.cifar100.load_data(label_mode="coarse")
    np.testing.assert_array_equal(y_coarse[:, 0], coarse[:5])
    with pytest.raises(ValueError, match="'label_mode' must be 'fine' or 'coarse'"):
        datasets.cifar100.load_data(label_mode="medium")


def test_cifar_refuses_bad_records(served):
    members = {f"cifar-10-batches-bin/data_batch_{i}.bin": b"\0" * 3073 for i in range(1, 6)}
    members["cifar-10-batches-bin/test_batch.bin"] = b"\x0b" + b"\0" * 3072  # label 11 of 10 classes
    served(datasets.cifar10, "cifar-10-binary.tar.gz", _tar_gz(members))
    with pytest.raises(ValueError, match="label 11 >= 10"):
        datasets.cifar10.load_data()


# ---- IMDB, Reuters: pickled lists, read by the restricted reader ---------------------------------

def _keras_recipe(xs, labels, seed, num_words, skip_top, maxlen, start_char, oov_char, index_from, test_split=None):
    """Keras's load_data, written out plainly: the expected result."""
    rng = np.random.RandomState(seed)
    if test_split is None:  # imdb: two splits, each shuffled
        parts = []
        for x, y in zip(xs, labels):
            idx = np.arange(len(x))
            rng.shuffle(idx)
            parts.append(([x[i] for i in idx], [y[i] for i in idx]))
    else:
        idx = np.arange(len(xs))
        rng.shuffle(idx)
        parts = [([xs[i] for i in idx], [labels[i] for i in idx])]
    out = []
    for x, y in parts:
        x = [([start_char] if start_char is not None else []) + [w + index_from for w in s] for s in x]
        if maxlen:
            keep = [i for i, s in enumerate(x) if len(s) < maxlen]
            x, y = [x[i] for i in keep], [y[i] for i in keep]
        out.append((x, y))
    everything = [s for x, _ in out for s in x]
    nw = num_words or max(max(s) for s in everything)
    fix = (lambda s: [w if skip_top <= w < nw else oov_char for w in s]) if oov_char is not None else \
        (lambda s: [w for w in s if skip_top <= w < nw])
    out = [([fix(s) for s in x], y) for x, y in out]
    if test_split is not None:
        x, y = out[0]
        n = int(len(x) * (1 - test_split))
        out = [(x[:n], y[:n]), (x[n:], y[n:])]
    return out


def _random_reviews(rng, n, vocab=50, longest=30):
    return [[int(w) for w in rng.integers(1, vocab, rng.integers(2, longest))] for _ in range(n)]


@pytest.mark.parametrize("kwargs", [{}, {"num_words": 20, "skip_top": 3}, {"maxlen": 20},
                                    {"start_char": None, "oov_char": None, "index_from": 0, "num_words": 30},
                                    {"seed": 7, "num_words": 10, "oov_char": 5}])
def test_imdb_matches_keras_recipe(served, kwargs):
    rng = np.random.default_rng(4)
    xtr, xte = _random_reviews(rng, 40), _random_reviews(rng, 30)
    ytr, yte = rng.integers(0, 2, 40), rng.integers(0, 2, 30)
    served(datasets.imdb, "imdb.npz", _npz_bytes(x_train=_objects(xtr), y_train=ytr, x_test=_objects(xte), y_test=yte))
    (x_train, y_train), (x_test, y_test) = datasets.imdb.load_data(**kwargs)
    args = {"seed": 113, "num_words": None, "skip_top": 0, "maxlen": None, "start_char": 1, "oov_char": 2,
            "index_from": 3, **kwargs}
    (ex, ey), (fx, fy) = _keras_recipe([xtr, xte], [ytr, yte], **args)
    assert x_train.dtype == object and x_train.ndim == 1 and y_train.dtype == np.int64
    assert list(x_train) == ex and list(y_train) == ey and list(x_test) == fx and list(y_test) == fy
    assert set(np.unique(np.concatenate([y_train, y_test]))) <= {0, 1}
    if kwargs.get("num_words"):
        assert max((max(s) for s in x_train if s), default=0) < kwargs["num_words"]


def test_imdb_word_index_and_argument_checks(served):
    index = {"the": 1, "and": 2, "film": 19}
    served(datasets.imdb, "imdb_word_index.json", json.dumps(index).encode())
    assert datasets.imdb.get_word_index() == index
    for bad in ({"num_words": -1}, {"skip_top": 1.5}, {"index_from": None}, {"maxlen": "10"}):
        with pytest.raises(ValueError, match="imdb.load_data: '"):
            datasets.imdb.load_data(**bad)
    with pytest.raises(TypeError, match="'seed' must be an int"):
        datasets.imdb.load_data(seed=1.5)


def test_reuters_matches_keras_recipe_and_names_labels(served):
    rng = np.random.default_rng(5)
    xs, ys = _random_reviews(rng, 50), rng.integers(0, 46, 50)
    served(datasets.reuters, "reuters.npz", _npz_bytes(x=_objects(xs), y=ys))
    (x_train, y_train), (x_test, y_test) = datasets.reuters.load_data(num_words=25, test_split=0.3)
    (ex, ey), (fx, fy) = _keras_recipe(xs, ys, 113, 25, 0, None, 1, 2, 3, test_split=0.3)
    assert len(x_train) == 35 and len(x_test) == 15
    assert list(x_train) == ex and list(y_test) == fy and y_train.dtype == np.int64
    assert len(datasets.reuters.get_label_names()) == 46 and y_train.max() < 46
    served(datasets.reuters, "reuters_word_index.json", json.dumps({"said": 1}).encode())
    assert datasets.reuters.get_word_index() == {"said": 1}
    with pytest.raises(ValueError, match="'test_split' must be in"):
        datasets.reuters.load_data(test_split=1.0)


def test_boston_housing_split(served):
    rng = np.random.default_rng(6)
    x, y = rng.random((50, 13)) * 100, rng.random(50) * 50
    served(datasets.boston_housing, "boston_housing.npz", _npz_bytes(x=x, y=y))
    (x_train, y_train), (x_test, y_test) = datasets.boston_housing.load_data(test_split=0.2, seed=3)
    idx = np.arange(50)
    np.random.RandomState(3).shuffle(idx)
    np.testing.assert_array_equal(x_train, x[idx[:40]])
    np.testing.assert_array_equal(y_test, y[idx[40:]])
    assert x_train.dtype == np.float64 and x_train.shape == (40, 13) and y_test.shape == (10,)


# ---- the restricted reader ----------------------------------------------------------------------

class _RunsCode:
    """Unpickling this calls os.mkdir(marker): what a hostile data file could do."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.mkdir, (self.marker,)


def _evil_npz(marker):
    a = np.empty(2, dtype=object)
    a[0], a[1] = [1, 2, 3], _RunsCode(str(marker))
    return _npz_bytes(x_train=a, y_train=np.zeros(2, np.int64), x_test=a, y_test=np.zeros(2, np.int64))


def test_a_crafted_pickle_runs_nothing(tmp_path):
    marker = tmp_path / "the_pickle_ran"
    data = _evil_npz(marker)
    assert b"mkdir" in data  # the file really asks for os.mkdir
    (tmp_path / "evil.npz").write_bytes(data)
    with pytest.raises(ValueError, match=r"refusing to read member 'x_train'.*asks for posix\.mkdir"):
        _npz.load_npz(tmp_path / "evil.npz", "imdb.load_data")
    assert not marker.exists()


def test_a_crafted_pickle_served_as_imdb_is_refused(served, tmp_path):
    marker = tmp_path / "the_pickle_ran"
    served(datasets.imdb, "imdb.npz", _evil_npz(marker))
    with pytest.raises(ValueError, match="imdb.load_data: refusing to read member"):
        datasets.imdb.load_data()
    assert not marker.exists()


def test_the_hash_is_checked_before_anything_is_parsed(served, tmp_path, monkeypatch):
    marker = tmp_path / "the_pickle_ran"
    served(datasets.imdb, "imdb.npz", b"placeholder")
    served.server.add("/keras/imdb.npz", _evil_npz(marker))  # the file changes; the pinned hash does not
    monkeypatch.setattr(_npz, "load_npz", lambda *a: pytest.fail("parsed before the hash was checked"))
    with pytest.raises(ValueError, match="has sha256"):
        datasets.imdb.load_data()
    assert not marker.exists()
    assert not os.path.exists(os.path.join(os.environ["DLCORE_HOME"], "datasets", "imdb.npz"))


@pytest.mark.parametrize("content, match", [
    (["a", "b"], "item 0 is not a list of ints"),
    ([[1, 2], [3, "x"]], "item 1 is not a list of ints"),
    ([[1, 2], [np.int64(3)]], "asks for numpy"),        # NumPy scalars need a global the reader refuses
])
def test_the_reader_rebuilds_lists_of_ints_only(tmp_path, content, match):
    (tmp_path / "f.npz").write_bytes(_npz_bytes(x=_objects(content)))
    with pytest.raises(ValueError, match=match):
        _npz.load_npz(tmp_path / "f.npz", "test")


def test_the_reader_reads_plain_and_object_members(tmp_path):
    seqs = [[1, 2, 3], [4], []]
    (tmp_path / "f.npz").write_bytes(_npz_bytes(x=_objects(seqs), y=np.arange(3)))
    out = _npz.load_npz(tmp_path / "f.npz", "test")
    assert list(out["x"]) == seqs and out["y"].tolist() == [0, 1, 2]
    (tmp_path / "g.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="is not an .npz file"):
        _npz.load_npz(tmp_path / "g.npz", "test")


def test_every_loader_is_offline_clear(monkeypatch, tmp_path):
    """Offline (connection refused), each loader fails naming its URL, the cache path and the hash."""
    blocked = block_network(monkeypatch)
    monkeypatch.setenv("DLCORE_HOME", str(tmp_path))
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    dead = f"http://127.0.0.1:{s.getsockname()[1]}/"
    s.close()
    for source in _common.BASE_URLS:
        monkeypatch.setitem(_common.BASE_URLS, source, dead)
    for module in (datasets.mnist, datasets.fashion_mnist, datasets.cifar10, datasets.cifar100, datasets.imdb,
                   datasets.reuters, datasets.boston_housing):
        fname, file_hash = next(iter(module.FILES.items()))
        with pytest.raises(OSError, match="could not download") as e:
            module.load_data()
        assert dead + fname in str(e.value) and file_hash in str(e.value), module.__name__
    assert not blocked


# ---- the demo on downloaded data ----------------------------------------------------------------

def test_demo_trains_the_keras_mnist_convnet_on_served_data(served, capsys):
    from dlcore import demo
    rng = np.random.default_rng(8)
    served(datasets.mnist, "mnist.npz", _npz_bytes(
        x_train=rng.integers(0, 256, (40, 28, 28), dtype=np.uint8), y_train=rng.integers(0, 10, 40, dtype=np.uint8),
        x_test=rng.integers(0, 256, (10, 28, 28), dtype=np.uint8), y_test=rng.integers(0, 10, 10, dtype=np.uint8)))
    acc = demo.main(["--dataset", "mnist", "--epochs", "1", "--batch-size", "16", "--verbose", "0"])
    out = capsys.readouterr().out
    assert 0.0 <= acc <= 1.0 and "mnist, 28x28x1: 40 training and 10 test images" in out
    assert "dropout" in out and "test accuracy" in out


def test_demo_without_a_network_says_how_to_continue(monkeypatch, tmp_path, capsys):
    from dlcore import demo
    blocked = block_network(monkeypatch)
    monkeypatch.setenv("DLCORE_HOME", str(tmp_path))
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    monkeypatch.setitem(_common.BASE_URLS, "keras", f"http://127.0.0.1:{s.getsockname()[1]}/")
    s.close()
    with pytest.raises(SystemExit) as e:
        demo.main(["--dataset", "fashion_mnist", "--quick"])
    assert e.value.code == 1
    err = capsys.readouterr().err
    assert "could not be downloaded" in err and "run `python -m dlcore.demo`" in err
    assert str(tmp_path / "datasets") in err and not blocked
