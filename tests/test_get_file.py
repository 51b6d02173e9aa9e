"""get_file against a local HTTP server: cache, hashes, atomic writes, errors, the lock, extraction."""
import hashlib
import io
import os
import signal
import subprocess
import sys
import tarfile
import textwrap
import time
import zipfile

import pytest

from dlcore import file_utils, utils
from dlcore.file_utils import DownloadError, get_file
from local_server import LocalServer, NetworkBlocked, block_network

DATA = bytes(range(256)) * 4000  # 1 MB
SHA = hashlib.sha256(DATA).hexdigest()
MD5 = hashlib.md5(DATA).hexdigest()


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    """No test here touches the network or the user's cache."""
    blocked = block_network(monkeypatch)
    monkeypatch.setenv("DLCORE_HOME", str(tmp_path / "home"))
    yield blocked
    assert not blocked, f"a test tried to reach the network: {blocked}"


@pytest.fixture
def server():
    with LocalServer() as s:
        yield s


def _cache(tmp_path):
    return tmp_path / "home" / "datasets"


def _leftovers(folder):
    return sorted(n for n in os.listdir(folder) if not n.endswith(".lock")) if os.path.isdir(folder) else []


def test_happy_path_downloads_once_then_uses_the_cache(server, tmp_path, capsys):
    server.add("/data.bin", DATA)
    path = get_file("data.bin", server.url("/data.bin"), file_hash=SHA)
    assert path == str(_cache(tmp_path) / "data.bin")
    assert open(path, "rb").read() == DATA
    assert "Downloading data from " + server.url("/data.bin") in capsys.readouterr().out
    assert get_file("data.bin", server.url("/data.bin"), file_hash=SHA) == path
    assert server.count("/data.bin") == 1
    assert _leftovers(_cache(tmp_path)) == ["data.bin"]  # no temporary file left behind


def test_md5_hashes_fname_from_the_url_and_cache_dir(server, tmp_path):
    server.add("/sub/file.txt", b"hello")
    path = get_file(origin=server.url("/sub/file.txt"), file_hash=hashlib.md5(b"hello").hexdigest(),
                    cache_dir=tmp_path / "elsewhere", cache_subdir="mine")
    assert path == str(tmp_path / "elsewhere" / "mine" / "file.txt")
    assert utils.validate_file(path, hashlib.md5(b"hello").hexdigest())
    assert utils.hash_file(path, "md5") == hashlib.md5(b"hello").hexdigest()


def test_wrong_hash_raises_and_caches_nothing(server, tmp_path):
    server.add("/data.bin", DATA)
    wrong = "0" * 64
    with pytest.raises(ValueError, match=f"has sha256 {SHA}, expected {wrong}.*Nothing was cached"):
        get_file("data.bin", server.url("/data.bin"), file_hash=wrong)
    assert _leftovers(_cache(tmp_path)) == []
    with pytest.raises(ValueError, match="has md5"):
        get_file("data.bin", server.url("/data.bin"), file_hash="0" * 32)
    assert _leftovers(_cache(tmp_path)) == []
    assert open(get_file("data.bin", server.url("/data.bin"), file_hash=SHA), "rb").read() == DATA


def test_a_cached_file_with_the_wrong_hash_is_downloaded_again(server, tmp_path, capsys):
    server.add("/data.bin", DATA)
    folder = _cache(tmp_path)
    folder.mkdir(parents=True)
    (folder / "data.bin").write_bytes(b"stale")
    path = get_file("data.bin", server.url("/data.bin"), file_hash=SHA)
    assert open(path, "rb").read() == DATA and server.count("/data.bin") == 1
    assert "does not have the expected sha256" in capsys.readouterr().out
    get_file("data.bin", server.url("/data.bin"), file_hash=SHA, force_download=True)
    assert server.count("/data.bin") == 2


def test_truncated_transfer_raises_and_caches_nothing(server, tmp_path):
    server.add("/data.bin", DATA)
    server.fail("/data.bin", "truncate")
    with pytest.raises(DownloadError, match=f"the transfer ended after {len(DATA) // 2} of {len(DATA)} bytes"):
        get_file("data.bin", server.url("/data.bin"), file_hash=SHA)
    assert _leftovers(_cache(tmp_path)) == []
    # without a hash the length check alone still refuses the short file
    with pytest.raises(DownloadError, match="ended after"):
        get_file("data.bin", server.url("/data.bin"))
    assert _leftovers(_cache(tmp_path)) == []


@pytest.mark.parametrize("status", [404, 500])
def test_http_errors_name_the_url_the_path_the_hash_and_the_way_out(server, tmp_path, status):
    server.add("/data.bin", DATA)
    server.fail("/data.bin", status)
    with pytest.raises(DownloadError) as e:
        get_file("data.bin", server.url("/data.bin"), file_hash=SHA)
    msg = str(e.value)
    assert f"HTTP {status}" in msg and server.url("/data.bin") in msg
    assert str(_cache(tmp_path) / "data.bin") in msg and SHA in msg and "copy it to that path" in msg
    assert isinstance(e.value, OSError)
    assert _leftovers(_cache(tmp_path)) == []


def test_offline_error_is_clear(tmp_path):
    s = __import__("socket").socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there: connection refused, as when offline
    url = f"http://127.0.0.1:{port}/mnist.npz"
    with pytest.raises(DownloadError, match="could not download 'mnist.npz' from " + url) as e:
        get_file("mnist.npz", url, file_hash=SHA)
    assert "Without a network" in str(e.value) and "DLCORE_HOME" in str(e.value)


def test_the_guard_fails_a_test_that_reaches_the_network(offline):
    with pytest.raises(NetworkBlocked):
        get_file("x.bin", "https://example.com/x.bin")
    assert offline == ["example.com"]
    offline.clear()  # seen: the fixture's own check would fail this test otherwise


def test_interrupted_download_then_a_good_one(server, tmp_path):
    server.add("/data.bin", DATA)
    server.fail("/data.bin", "truncate", times=1)
    with pytest.raises(DownloadError):
        get_file("data.bin", server.url("/data.bin"), file_hash=SHA)
    assert open(get_file("data.bin", server.url("/data.bin"), file_hash=SHA), "rb").read() == DATA
    assert server.count("/data.bin") == 2


def test_ctrl_c_during_a_download_leaves_nothing(server, tmp_path, monkeypatch):
    server.add("/data.bin", DATA, chunk=1 << 14)
    calls = []

    def update(self, done, final=False):
        calls.append(done)
        if len(calls) == 3:
            raise KeyboardInterrupt
    monkeypatch.setattr(file_utils._Progress, "update", update)
    with pytest.raises(KeyboardInterrupt):
        get_file("data.bin", server.url("/data.bin"), file_hash=SHA)
    assert _leftovers(_cache(tmp_path)) == []


def _child_script(url, sha, fname="data.bin"):
    return textwrap.dedent(f"""
        from dlcore.utils import get_file
        path = get_file({fname!r}, {url!r}, file_hash={sha!r})
        print("OK", path, flush=True)
    """)


def test_a_killed_download_leaves_nothing_a_later_call_trusts(server, tmp_path):
    server.add("/data.bin", DATA, chunk=1 << 12, delay=0.01)  # about 2.5 s in all
    env = dict(os.environ, DLCORE_HOME=str(tmp_path / "home"))
    child = subprocess.Popen([sys.executable, "-c", _child_script(server.url("/data.bin"), SHA)], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 30
    while not any(n.endswith(".part") for n in _leftovers(_cache(tmp_path))) and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    left = _leftovers(_cache(tmp_path))
    assert "data.bin" not in left and any(n.endswith(".part") for n in left)
    server.add("/data.bin", DATA)  # full speed now
    path = get_file("data.bin", server.url("/data.bin"), file_hash=SHA)
    assert open(path, "rb").read() == DATA
    assert _leftovers(_cache(tmp_path)) == ["data.bin"]  # the dead download's part file was cleaned up


def test_two_processes_loading_at_once_download_once(server, tmp_path):
    server.add("/data.bin", DATA, chunk=1 << 13, delay=0.02)  # about 2.5 s: the two calls overlap
    env = dict(os.environ, DLCORE_HOME=str(tmp_path / "home"))
    gate = tmp_path / "go"
    children = []
    for k in range(2):  # each waits at the gate, so that both call get_file at the same moment
        script = textwrap.dedent(f"""
            import os, time
            from dlcore.utils import get_file
            open({str(tmp_path / f"ready{k}")!r}, "w").close()
            while not os.path.exists({str(gate)!r}):
                time.sleep(0.005)
        """) + _child_script(server.url("/data.bin"), SHA)  # (imported first: both start the call together)
        children.append(subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE, text=True))
    deadline = time.time() + 60
    while not all((tmp_path / f"ready{k}").exists() for k in range(2)) and time.time() < deadline:
        time.sleep(0.01)
    gate.touch()
    outs = [c.communicate(timeout=120) for c in children]
    for c, (out, err) in zip(children, outs):
        assert c.returncode == 0, err
        assert "OK " + str(_cache(tmp_path) / "data.bin") in out
    assert server.count("/data.bin") == 1
    assert sum("Waiting for another process" in out for out, _ in outs) == 1  # one waited on the lock
    assert open(_cache(tmp_path) / "data.bin", "rb").read() == DATA


def test_progress_bar_only_on_a_terminal(server, monkeypatch):
    server.add("/a.bin", DATA, chunk=1 << 15)
    server.add("/b.bin", DATA, chunk=1 << 15)

    class Terminal(io.StringIO):
        def isatty(self):
            return True
    term = Terminal()
    monkeypatch.setattr(sys, "stdout", term)
    get_file("a.bin", server.url("/a.bin"), file_hash=SHA)
    assert "\r" in term.getvalue() and "1.0 MB/1.0 MB [" + "=" * 30 + "]" in term.getvalue()
    plain = io.StringIO()
    monkeypatch.setattr(sys, "stdout", plain)
    get_file("b.bin", server.url("/b.bin"), file_hash=SHA)
    assert "\r" not in plain.getvalue() and plain.getvalue().startswith("Downloading data from")


def _tar_bytes(members):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_extract_a_tar_archive_into_its_folder(server, tmp_path):
    archive = _tar_bytes({"pack/a.txt": b"a", "pack/sub/b.txt": b"b"})
    server.add("/pack.tar.gz", archive)
    sha = hashlib.sha256(archive).hexdigest()
    folder = get_file("pack.tar.gz", server.url("/pack.tar.gz"), file_hash=sha, extract=True)
    assert folder == str(_cache(tmp_path) / "pack_extracted")
    assert open(os.path.join(folder, "pack", "sub", "b.txt")).read() == "b"
    assert get_file("pack.tar.gz", server.url("/pack.tar.gz"), file_hash=sha, extract=True) == folder
    assert server.count("/pack.tar.gz") == 1
    # without a dot in fname: the archive gets an _archive suffix, the folder the name
    folder2 = get_file("pack2", server.url("/pack.tar.gz"), file_hash=sha, extract=True)
    assert folder2 == str(_cache(tmp_path) / "pack2") and os.path.isfile(folder2 + "_archive")


def test_extract_zip(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("x/y.txt", "zip")
    (tmp_path / "a.zip").write_bytes(buf.getvalue())
    assert utils.extract_archive(tmp_path / "a.zip", tmp_path / "out")
    assert (tmp_path / "out" / "x" / "y.txt").read_text() == "zip"
    (tmp_path / "plain.txt").write_text("not an archive")
    assert not utils.extract_archive(tmp_path / "plain.txt", tmp_path / "out2")


@pytest.mark.parametrize("kind", ["dotdot", "absolute", "symlink"])
def test_extraction_refuses_members_that_escape(tmp_path, kind):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo({"dotdot": "../evil.txt", "absolute": "/tmp/evil.txt", "symlink": "link"}[kind])
        if kind == "symlink":
            info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
            tar.addfile(info)
        else:
            info.size = 4
            tar.addfile(info, io.BytesIO(b"evil"))
    (tmp_path / "bad.tar.gz").write_bytes(buf.getvalue())
    with pytest.raises(ValueError, match="extract_archive"):
        utils.extract_archive(tmp_path / "bad.tar.gz", tmp_path / "out")
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path / "out").exists()
    assert [n for n in os.listdir(tmp_path) if n.startswith(".out")] == []


@pytest.mark.parametrize("kwargs, match", [
    ({"origin": None}, "'origin' must be the URL"),
    ({"origin": "ftp://host/x"}, "http, https or file URL"),
    ({"fname": "a/b.txt"}, "'fname' must be a file name without folders"),
    ({"file_hash": "xyz"}, "'file_hash' must be a hexadecimal"),
    ({"file_hash": "ab" * 20}, "has 40 hex digits"),
    ({"file_hash": SHA, "hash_algorithm": "md5"}, "has 64 hex digits"),
    ({"hash_algorithm": "sha1"}, "'hash_algorithm' must be"),
    ({"archive_format": "zip"}, "only with extract=True"),
])
def test_bad_arguments(kwargs, match):
    args = {"fname": "x.bin", "origin": "http://127.0.0.1:9/x.bin", **kwargs}
    with pytest.raises(ValueError, match=match):
        get_file(**args)
